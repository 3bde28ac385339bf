"""Answer-accuracy evaluation against a gold question set (``qabot eval``).

Everything here is a pure function over frozen dataclasses. A run is::

    items = load_gold("corpus/iom.questions.jsonl")
    report = evaluate(items, bot_asker(bot, top_k=5), k=5)

where an *asker* is any callable ``question -> reply dict`` (the JSON shape of
:meth:`qabot.answer.Answer.to_dict`). The in-process bot (:func:`bot_asker`) and a running
server (:func:`http_asker`, ``POST URL/api/chat``) are both askers, so the two share every
line of judging and arithmetic and must give the same numbers.

The one correctness rule
------------------------
Texts are compared after :func:`normalize_answer` (Unicode NFKC, casefold, curly quotes
made straight, runs of whitespace collapsed to one space). A reply's *ranked list* is its
answer passage followed by its alternatives in order; when ``found`` is false it is just
the alternatives (the nearest passages, offered as suggestions). Then, for a gold item:

* an answerable item is **answered** when ``found`` is true and the first passage contains
  at least one of its answer strings;
* it is **retrieved at rank r** when the r-th passage of the ranked list is the first to
  contain one (whether or not the bot dared to answer);
* its **section is right** when ``found`` is true and the reply's normalised section
  equals the gold section;
* an unanswerable item is **right** when ``found`` is false.

An item is *correct* when it is answered (answerable) or declined (unanswerable).

Metrics (each a fraction 0..1, ``None`` when its denominator is empty)
------------------------------------------------------------------------
With ``A`` the answerable items, ``U`` the unanswerable ones and ``rank(i)`` the rank at
which item ``i`` is retrieved (``inf`` if not within the first ``k`` passages):

* ``answer_accuracy``    = |{i in A : answered}| / |A|                  (accuracy@1)
* ``recall_at_k``        = |{i in A : rank(i) <= k}| / |A|
* ``mrr``                = sum over A of 1/rank(i) (0 when not retrieved) / |A|    (MRR@k)
* ``section_accuracy``   = |{i in A : section right}| / |A|
* ``rejection_accuracy`` = |{i in U : found is false}| / |U|
* ``false_answer_rate``  = |{i in U : found is true}| / |U|  (= 1 - rejection_accuracy)
* ``overall_accuracy``   = |{i : correct}| / (|A| + |U|)

Held-out split
--------------
:func:`is_held_out`: an item whose id's number (its digits, e.g. ``q042`` -> 42) is
divisible by 3 belongs to the held-out third, which no tuning (threshold choice included)
may look at; the rest is the *tuning* part. See ``docs/gold-set.md``.

Threshold sweep
---------------
:func:`sweep` replays replies as if the bot had threshold ``t``. The bot declines when the
best score is below its threshold (and for reasons that do not depend on it: small talk, a
passage that covers too little of the question), so a reply is *found at t* when it was
found and ``score >= t``; a reply declined at ``t`` offers the same ranked list as its
alternatives, and the same rule judges it. Asked in-process with the threshold at 0, every
reply the bot would ever answer is found, so the replay is exact for every ``t``. Over
``--url`` the server's own threshold ``T`` already declined some replies; they cannot be
un-declined, so the sweep only starts at the lowest score the replies answered (which is at
least ``T``; below it, in-process, nothing changes anyway). :func:`best_threshold` picks
the threshold with the best overall accuracy on the tuning part only, as SQuAD 2.0's
best-threshold search does.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import QABotError

__all__ = [
    "KINDS",
    "METRIC_KEYS",
    "Asker",
    "GoldItem",
    "GoldSetError",
    "ItemResult",
    "Metrics",
    "RemoteError",
    "Report",
    "Sweep",
    "SweepPoint",
    "ask_all",
    "best_threshold",
    "bot_asker",
    "compute_metrics",
    "evaluate",
    "format_failures",
    "format_report",
    "format_sweep",
    "http_asker",
    "is_held_out",
    "items_not_in",
    "judge",
    "load_gold",
    "normalize_answer",
    "plot_sweep",
    "require_plotting",
    "at_threshold",
    "report_from_replies",
    "sweep",
    "threshold_grid",
]

#: The kinds of gold question, in the order tables list them.
KINDS = ("paraphrase", "keyword", "direct", "typo", "long", "unanswerable")

#: The metric keys of :meth:`Metrics.to_dict`, in table order.
METRIC_KEYS = (
    "answer_accuracy",
    "recall_at_k",
    "mrr",
    "section_accuracy",
    "rejection_accuracy",
    "false_answer_rate",
    "overall_accuracy",
)

_GOLD_KEYS = frozenset({"id", "question", "answers", "section", "kind", "unanswerable"})

#: ``question -> reply dict`` (the shape of ``Answer.to_dict()``).
Asker = Callable[[str], Mapping[str, Any]]


class GoldSetError(QABotError, ValueError):
    """The gold question file is missing, unreadable or malformed (the message names the line)."""


class RemoteError(QABotError, ConnectionError):
    """A server being evaluated with ``--url`` is unreachable or answered with an error."""


# --------------------------------------------------------------------------- the rule


_CURLY = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"'})
_SPACE = re.compile(r"\s+")


def normalize_answer(text: str) -> str:
    """``text`` as compared by the correctness rule.

    Unicode NFKC (so ligatures, full-width and no-break forms become their plain letters),
    then casefold (a stronger lower-casing: "Straße" meets "STRASSE"), then curly quotes
    ‘ ’ “ ” made straight (the document and the questions disagree on apostrophes), then
    every run of whitespace collapsed to one space and the ends stripped (line breaks and
    double spaces in passages must not hide a match).
    """
    text = unicodedata.normalize("NFKC", text).casefold().translate(_CURLY)
    return _SPACE.sub(" ", text).strip()


def _contains_any(passage: str | None, answers: Sequence[str]) -> bool:
    if not passage:
        return False
    haystack = normalize_answer(passage)
    return any(normalize_answer(a) in haystack for a in answers)


# --------------------------------------------------------------------------- gold set


def items_not_in(items: Sequence[GoldItem], texts: Sequence[str]) -> list[GoldItem]:
    """The answerable items none of whose answers occurs anywhere in ``texts`` (the corpus's
    passages): a sign that the gold set is scored against the wrong corpus, that the
    document has changed, or that an answer lies in text the splitter drops."""
    haystack = "\n".join(normalize_answer(t) for t in texts)
    return [it for it in items if not it.unanswerable
            and not any(normalize_answer(a) in haystack for a in it.answers)]


@dataclass(frozen=True)
class GoldItem:
    """One gold question; ``answers`` are alternatives (a right passage contains one)."""

    id: str
    question: str
    answers: tuple[str, ...]
    section: str | None
    kind: str
    unanswerable: bool
    line: int = 0

    @property
    def held_out(self) -> bool:
        return is_held_out(self)


def is_held_out(item: GoldItem) -> bool:
    """Whether ``item`` is in the held-out third: the number in its id is divisible by 3.

    The number is the id's digits read as one integer (``q003`` -> 3, ``q110`` -> 110); an
    id without digits is never held out. Splitting by id rather than at random keeps the
    split stable as items are added, and the gold set interleaves kinds across ids so both
    parts hold every kind.
    """
    digits = "".join(ch for ch in item.id if ch.isdigit())
    return bool(digits) and int(digits) % 3 == 0


def load_gold(path: str | Path) -> tuple[GoldItem, ...]:
    """The items of a JSON-lines gold file, or :class:`GoldSetError` naming the bad line.

    Each non-blank line is one object with exactly the keys ``id``, ``question``,
    ``answers``, ``section``, ``kind`` and ``unanswerable`` (see ``docs/gold-set.md``):
    ``kind`` is one of :data:`KINDS`; ``unanswerable`` is true exactly when ``kind`` is
    ``"unanswerable"``, and then ``answers`` is ``[]`` and ``section`` null; otherwise
    ``answers`` holds non-empty strings and ``section`` is a string. Ids are unique.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GoldSetError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GoldSetError(f"{path}: cannot read: {exc}") from None
    items: list[GoldItem] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        item = _parse_item(path, number, line)
        if item.id in seen:
            raise GoldSetError(
                f"{path}:{number}: duplicate id {item.id!r} (first on line {seen[item.id]})"
            )
        seen[item.id] = number
        items.append(item)
    if not items:
        raise GoldSetError(f"{path}: no questions")
    return tuple(items)


def _parse_item(path: Path, number: int, line: str) -> GoldItem:
    where = f"{path}:{number}"
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise GoldSetError(f"{where}: not valid JSON: {exc.msg} (column {exc.colno})") from None
    if not isinstance(obj, dict):
        raise GoldSetError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    missing = sorted(_GOLD_KEYS - obj.keys())
    if missing:
        raise GoldSetError(f"{where}: missing key(s) {', '.join(missing)}")
    extra = sorted(obj.keys() - _GOLD_KEYS)
    if extra:
        raise GoldSetError(f"{where}: unknown key(s) {', '.join(extra)}")
    id_, question, answers = obj["id"], obj["question"], obj["answers"]
    section, kind, unanswerable = obj["section"], obj["kind"], obj["unanswerable"]
    if not isinstance(id_, str) or not id_.strip():
        raise GoldSetError(f"{where}: id must be a non-empty string")
    if not isinstance(question, str) or not question.strip():
        raise GoldSetError(f"{where}: question must be a non-empty string")
    if kind not in KINDS:
        raise GoldSetError(f"{where}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if not isinstance(unanswerable, bool) or unanswerable != (kind == "unanswerable"):
        raise GoldSetError(f"{where}: unanswerable must be true exactly when kind is "
                           f"'unanswerable' (kind {kind!r}, unanswerable {unanswerable!r})")
    if not isinstance(answers, list) or not all(isinstance(a, str) and a.strip()
                                                for a in answers):
        raise GoldSetError(f"{where}: answers must be a list of non-empty strings")
    if unanswerable:
        if answers or section is not None:
            raise GoldSetError(f"{where}: an unanswerable item needs answers [] and section null")
    else:
        if not answers:
            raise GoldSetError(f"{where}: an answerable item needs at least one answer")
        if not isinstance(section, str) or not section.strip():
            raise GoldSetError(f"{where}: section must be a non-empty string")
    return GoldItem(id_, question, tuple(answers), section, kind, unanswerable, number)


# --------------------------------------------------------------------------- askers


def bot_asker(bot: Any, top_k: int) -> Asker:
    """An asker over an in-process :class:`qabot.answer.QABot` (replies via ``to_dict``)."""

    def ask(question: str) -> Mapping[str, Any]:
        return bot.ask(question, top_k=top_k).to_dict()

    return ask


def http_asker(url: str, top_k: int, *, timeout: float = 30.0) -> Asker:
    """An asker that posts ``{"question", "top_k"}`` to ``URL/api/chat`` (urllib, JSON).

    An unreachable server, an HTTP error status or a body that is not a JSON object raise
    :class:`RemoteError` with one readable line (the server's ``error`` field if it has one).
    """
    base = url.strip().rstrip("/")
    if not re.match(r"^https?://[^/]", base, flags=re.IGNORECASE):
        raise RemoteError(f"--url must be an http:// or https:// address, got {url!r}")
    endpoint = f"{base}/api/chat"

    def ask(question: str) -> Mapping[str, Any]:
        body = json.dumps({"question": question, "top_k": top_k}).encode("utf-8")
        request = urllib.request.Request(
            endpoint, data=body, method="POST",
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            detail = _error_detail(exc.read())
            exc.close()
            raise RemoteError(
                f"{endpoint} answered HTTP {exc.code}{': ' + detail if detail else ''} "
                f"(question {question!r})"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RemoteError(f"cannot reach {endpoint}: {reason}") from None
        try:
            reply = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise RemoteError(f"{endpoint} did not answer with JSON") from None
        if not isinstance(reply, dict) or "found" not in reply:
            raise RemoteError(f"{endpoint} answered JSON without a 'found' field")
        return reply

    return ask


def _error_detail(raw: bytes) -> str:
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return raw.decode("utf-8", "replace").strip()[:200]
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            error = error.get("message", error)
        if error is not None:
            return str(error)[:200]
    return ""


# --------------------------------------------------------------------------- judging


@dataclass(frozen=True)
class ItemResult:
    """One item judged by the rule; ``rank`` is 1-based, ``None`` when not in the top k."""

    item: GoldItem
    found: bool
    answered: bool
    rank: int | None
    section_correct: bool
    correct: bool
    section: str | None
    answer: str | None
    score: float | None

    def to_dict(self) -> dict[str, Any]:
        """The failure-listing shape: what was expected and what came back."""
        it = self.item
        return {
            "id": it.id,
            "kind": it.kind,
            "held_out": it.held_out,
            "question": it.question,
            "expected_answers": list(it.answers),
            "expected_section": it.section,
            "found": self.found,
            "section": self.section,
            "answer": None if self.answer is None else self.answer[:100],
            "score": self.score,
            "rank": self.rank,
        }


def _ranked(reply: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The reply's ranked passages: the answer (when found), then the alternatives."""
    ranked: list[Mapping[str, Any]] = []
    if reply.get("found"):
        ranked.append({"answer": reply.get("answer"), "section": reply.get("section")})
    ranked.extend(reply.get("alternatives") or ())
    return ranked


def judge(item: GoldItem, reply: Mapping[str, Any], k: int) -> ItemResult:
    """Apply the correctness rule (module docstring) to one reply, looking at ``k`` passages."""
    found = bool(reply.get("found"))
    ranked = _ranked(reply)[:k]
    score = _score(reply)
    if item.unanswerable:
        answered, rank, section_ok, correct = False, None, False, not found
    else:
        rank = next((r for r, p in enumerate(ranked, start=1)
                     if _contains_any(p.get("answer"), item.answers)), None)
        answered = found and rank == 1
        got = reply.get("section")
        section_ok = (found and isinstance(got, str)
                      and normalize_answer(got) == normalize_answer(item.section or ""))
        correct = answered
    return ItemResult(item, found, answered, rank, section_ok, correct,
                      reply.get("section") if found else None,
                      reply.get("answer") if found else None, score)


@dataclass(frozen=True)
class Metrics:
    """The metrics of a set of judged items (formulas in the module docstring)."""

    n: int
    n_answerable: int
    n_unanswerable: int
    answer_accuracy: float | None
    recall_at_k: float | None
    mrr: float | None
    section_accuracy: float | None
    rejection_accuracy: float | None
    false_answer_rate: float | None
    overall_accuracy: float | None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"n": self.n, "n_answerable": self.n_answerable,
                               "n_unanswerable": self.n_unanswerable}
        for key in METRIC_KEYS:
            value = getattr(self, key)
            out[key] = None if value is None else round(value, 4)
        return out


def _ratio(count: float, total: int) -> float | None:
    return count / total if total else None


def compute_metrics(results: Iterable[ItemResult]) -> Metrics:
    """Aggregate judged items into :class:`Metrics` (``None`` for an empty denominator)."""
    results = list(results)
    ans = [r for r in results if not r.item.unanswerable]
    una = [r for r in results if r.item.unanswerable]
    return Metrics(
        n=len(results),
        n_answerable=len(ans),
        n_unanswerable=len(una),
        answer_accuracy=_ratio(sum(r.answered for r in ans), len(ans)),
        recall_at_k=_ratio(sum(r.rank is not None for r in ans), len(ans)),
        mrr=_ratio(sum(1 / r.rank for r in ans if r.rank is not None), len(ans)),
        section_accuracy=_ratio(sum(r.section_correct for r in ans), len(ans)),
        rejection_accuracy=_ratio(sum(not r.found for r in una), len(una)),
        false_answer_rate=_ratio(sum(r.found for r in una), len(una)),
        overall_accuracy=_ratio(sum(r.correct for r in results), len(results)),
    )


@dataclass(frozen=True)
class Report:
    """A whole evaluation: overall, by kind, the tuning and held-out parts, the failures."""

    k: int
    results: tuple[ItemResult, ...]
    overall: Metrics
    by_kind: tuple[tuple[str, Metrics], ...]
    tuning: Metrics
    held_out: Metrics

    @property
    def failures(self) -> tuple[ItemResult, ...]:
        return tuple(r for r in self.results if not r.correct)

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` object: overall metrics at the top level, then the breakdowns."""
        return {
            "k": self.k,
            **self.overall.to_dict(),
            "by_kind": {kind: m.to_dict() for kind, m in self.by_kind},
            "tuning": self.tuning.to_dict(),
            "held_out": self.held_out.to_dict(),
            "failures": [r.to_dict() for r in self.failures],
        }


def ask_all(items: Sequence[GoldItem], asker: Asker) -> list[Mapping[str, Any]]:
    """Each item's reply, in order; a :class:`QABotError` is re-raised naming the item."""
    replies = []
    for item in items:
        try:
            replies.append(asker(item.question))
        except QABotError as exc:
            raise type(exc)(f"{item.id} (line {item.line}): {exc}") from exc
    return replies


def evaluate(items: Sequence[GoldItem], asker: Asker, k: int) -> Report:
    """Ask every item once through ``asker`` and judge the replies looking at ``k`` passages."""
    return report_from_replies(items, ask_all(items, asker), k)


def report_from_replies(items: Sequence[GoldItem], replies: Sequence[Mapping[str, Any]],
                        k: int) -> Report:
    """The :class:`Report` of replies already collected (``replies[i]`` answers ``items[i]``)."""
    results = tuple(judge(item, reply, k) for item, reply in zip(items, replies, strict=True))
    kinds = [kind for kind in KINDS if any(r.item.kind == kind for r in results)]
    return Report(
        k=k,
        results=results,
        overall=compute_metrics(results),
        by_kind=tuple((kind, compute_metrics(r for r in results if r.item.kind == kind))
                      for kind in kinds),
        tuning=compute_metrics(r for r in results if not r.item.held_out),
        held_out=compute_metrics(r for r in results if r.item.held_out),
    )


# --------------------------------------------------------------------------- sweep


@dataclass(frozen=True)
class SweepPoint:
    """Accuracies of one part of the gold set had the bot used ``threshold``."""

    threshold: float
    answer_accuracy: float | None
    rejection_accuracy: float | None
    overall_accuracy: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"threshold": round(self.threshold, 4),
                **{k: None if v is None else round(v, 4) for k, v in (
                    ("answer_accuracy", self.answer_accuracy),
                    ("rejection_accuracy", self.rejection_accuracy),
                    ("overall_accuracy", self.overall_accuracy))}}


@dataclass(frozen=True)
class Sweep:
    """A threshold sweep: the tuning curve and the chosen threshold on every part."""

    k: int
    points: tuple[SweepPoint, ...]
    best: SweepPoint
    best_held_out: SweepPoint
    best_all: SweepPoint
    current: SweepPoint | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "part": "tuning",
            "points": [p.to_dict() for p in self.points],
            "best_threshold": round(self.best.threshold, 5),
            "best": {"tuning": self.best.to_dict(), "held_out": self.best_held_out.to_dict(),
                     "all": self.best_all.to_dict()},
            "current": None if self.current is None else self.current.to_dict(),
        }


def at_threshold(reply: Mapping[str, Any], threshold: float) -> dict[str, Any]:
    """``reply`` as the bot would have given it with ``threshold``: found when it was found
    and ``score >= threshold``; otherwise declined, its ranked list kept as alternatives."""
    score = _score(reply)
    if reply.get("found") and score is not None and score >= threshold:
        return dict(reply)
    return {**reply, "found": False, "answer": None, "section": None,
            "alternatives": list(_ranked(reply))}


def _point(items: Sequence[GoldItem], replies: Sequence[Mapping[str, Any]], k: int,
           threshold: float) -> SweepPoint:
    return _Replay(items, replies, k).point(threshold)


class _Replay:
    """Replies judged once as answered and once as declined, replayed at any threshold.

    The ranked list does not depend on the threshold, so :func:`judge` is applied to each
    reply's two versions (as given, and :func:`at_threshold` at ``+inf``) up front; the
    point at ``t`` then picks, per item, the version the bot would have given (the reply
    as given when it was found with ``score >= t``). Same rule, no re-judging per threshold.
    """

    def __init__(self, items: Sequence[GoldItem], replies: Sequence[Mapping[str, Any]],
                 k: int) -> None:
        self.cases = [
            (_score(reply) if reply.get("found") else None, judge(item, reply, k),
             judge(item, at_threshold(reply, math.inf), k))
            for item, reply in zip(items, replies, strict=True)
        ]

    def point(self, threshold: float) -> SweepPoint:
        m = compute_metrics(found if score is not None and score >= threshold else declined
                            for score, found, declined in self.cases)
        return SweepPoint(threshold, m.answer_accuracy, m.rejection_accuracy,
                          m.overall_accuracy)


def _score(reply: Mapping[str, Any]) -> float | None:
    score = reply.get("score")
    return float(score) if isinstance(score, int | float) else None


def threshold_grid(scores: Iterable[float], step: float = 0.01) -> list[float]:
    """Candidate thresholds: the lowest of ``scores`` (the answered replies' scores), every
    distinct score (where an outcome flips), and every ``step`` in between and up to just
    above the top score (where everything is declined), sorted; ``[0.0]`` without scores."""
    scores = sorted({float(s) for s in scores})
    if not scores:
        return [0.0]
    low, top = scores[0], scores[-1]
    first = math.ceil(low / step - 1e-9)
    grid = {round(i * step, 10) for i in range(first, math.floor(top / step) + 2)}
    return sorted(grid | set(scores))


def best_threshold(points: Sequence[SweepPoint]) -> float:
    """The threshold with the best overall accuracy, in the middle of the widest best plateau.

    ``points`` must be sorted by threshold and include every distinct score (as
    :func:`threshold_grid` does). Since an item is answered when ``score >= t``, the outcome
    is the same for every ``t`` in ``(c[j-1], c[j]]`` between consecutive candidates; so a run
    of tied best candidates ``c[i] .. c[j]`` stands for the interval ``(c[i-1], c[j]]``. The
    widest such interval wins and its midpoint is returned: as far as the evidence allows from
    the scores where an outcome flips, which generalises better than SQuAD's first tied score.
    """
    scored = [p.overall_accuracy for p in points if p.overall_accuracy is not None]
    if not scored:
        return points[0].threshold
    top = max(scored)
    runs: list[tuple[float, float]] = []  # (lower bound, excluded; upper bound, included)
    start: float | None = None
    for j, p in enumerate(points):
        tied = p.overall_accuracy == top
        if tied and start is None:
            start = points[j - 1].threshold if j else p.threshold
        if start is not None and (not tied or j == len(points) - 1):
            end = p.threshold if tied else points[j - 1].threshold
            runs.append((start, end))
            start = None
    low, high = max(runs, key=lambda r: r[1] - r[0])
    return (low + high) / 2


def sweep(items: Sequence[GoldItem], replies: Sequence[Mapping[str, Any]], k: int, *,
          current: float | None = None, step: float = 0.01) -> Sweep:
    """Sweep thresholds over ``replies`` (see the module docstring); choose on tuning only.

    ``replies[i]`` answers ``items[i]``, asked in-process with the threshold at 0 (exact)
    or from a server. ``points`` is the tuning curve over :func:`threshold_grid` of the
    answered tuning replies' scores; the chosen threshold (:func:`best_threshold`) is then
    applied, once, to the held-out part and to all items.
    ``current`` (the bot's configured threshold, when known) is reported for comparison.
    """
    tuning = [(i, r) for i, r in zip(items, replies, strict=True) if not i.held_out]
    held = [(i, r) for i, r in zip(items, replies, strict=True) if i.held_out]
    t_replay = _Replay([i for i, _ in tuning], [r for _, r in tuning], k)
    scores = [s for s, _, _ in t_replay.cases if s is not None]
    points = [t_replay.point(t) for t in threshold_grid(scores, step)]
    best = t_replay.point(best_threshold(points))
    points = sorted([p for p in points if p.threshold != best.threshold] + [best],
                    key=lambda p: p.threshold)
    return Sweep(
        k=k,
        points=tuple(points),
        best=best,
        best_held_out=_point([i for i, _ in held], [r for _, r in held], k, best.threshold),
        best_all=_point(items, replies, k, best.threshold),
        current=None if current is None else t_replay.point(current),
    )


# --------------------------------------------------------------------------- output


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}"


_COLUMNS = (("answer@1", "answer_accuracy"), ("recall@k", "recall_at_k"), ("MRR@k", "mrr"),
            ("section", "section_accuracy"), ("reject", "rejection_accuracy"),
            ("false-ans", "false_answer_rate"), ("overall", "overall_accuracy"))


def format_report(report: Report) -> str:
    """The human table: one row per part, metrics as percentages, ``—`` when undefined."""
    header = ["", "n", "ans", "unans"] + [h.replace("@k", f"@{report.k}") for h, _ in _COLUMNS]
    rows = [("overall", report.overall)] + [(f"  {k}", m) for k, m in report.by_kind] + [
        ("tuning", report.tuning), ("held-out", report.held_out)]
    table = [header] + [
        [name, str(m.n), str(m.n_answerable), str(m.n_unanswerable)]
        + [_pct(getattr(m, key)) for _, key in _COLUMNS]
        for name, m in rows
    ]
    widths = [max(len(r[c]) for r in table) for c in range(len(header))]
    lines = ["  ".join(cell.ljust(w) if c == 0 else cell.rjust(w)
                       for c, (cell, w) in enumerate(zip(r, widths, strict=True))).rstrip()
             for r in table]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines) + (
        f"\n\nPercentages; answer@1, recall, MRR and section over answerable items, reject and "
        f"false-ans over unanswerable ones, overall over all. k = {report.k}."
    )


def format_failures(report: Report) -> str:
    """Every wrong item: what was expected and what came back (held-out ones listed last)."""
    failures = sorted(report.failures, key=lambda r: r.item.held_out)
    if not failures:
        return "No failures."
    lines = [f"Failures: {len(failures)} of {report.overall.n}"]
    shown_held_header = False
    for r in failures:
        it = r.item
        if it.held_out and not shown_held_header:
            lines.append("\n-- held-out items (do not tune on these) --")
            shown_held_header = True
        lines.append(f"\n{it.id} [{it.kind}] {it.question}")
        if it.unanswerable:
            lines.append("  expected: no answer (found false)")
        else:
            lines.append(f"  expected: {' | '.join(it.answers)}  (section: {it.section})")
        score = "?" if r.score is None else f"{r.score:.3f}"
        rank = "not in top k" if r.rank is None else f"rank {r.rank}"
        lines.append(f"  got:      found={str(r.found).lower()} score={score} "
                     f"section={r.section!r}" + ("" if it.unanswerable else f" ({rank})"))
        if r.answer is not None:
            snippet = _SPACE.sub(" ", r.answer)[:100]
            lines.append(f"            {snippet}{'…' if len(r.answer) > 100 else ''}")
    return "\n".join(lines)


def format_sweep(result: Sweep, step: float = 0.01) -> str:
    """The tuning curve every ``step`` (until every item is declined) and the chosen threshold."""
    lines = ["Threshold sweep on the TUNING part (held-out items are not used to choose),",
             "from the lowest score answered (below it nothing changes):",
             f"{'threshold':>9}  {'answer@1':>8}  {'reject':>6}  {'overall':>7}"]
    for p in result.points:
        on_grid = abs(p.threshold / step - round(p.threshold / step)) < 1e-6
        if not on_grid and p is not result.best:
            continue
        mark = "  <- best" if p is result.best else ""
        lines.append(f"{p.threshold:9.4f}  {_pct(p.answer_accuracy):>8}  "
                     f"{_pct(p.rejection_accuracy):>6}  {_pct(p.overall_accuracy):>7}{mark}")
        if p.answer_accuracy == 0 and p.threshold > result.best.threshold:
            break  # everything is declined from here on
    b, h, a = result.best, result.best_held_out, result.best_all
    lines += [
        "",
        f"Best threshold (overall accuracy on tuning): {b.threshold:.4f}",
        f"  tuning:   answer@1 {_pct(b.answer_accuracy)}  reject {_pct(b.rejection_accuracy)}"
        f"  overall {_pct(b.overall_accuracy)}",
        f"  held-out: answer@1 {_pct(h.answer_accuracy)}  reject {_pct(h.rejection_accuracy)}"
        f"  overall {_pct(h.overall_accuracy)}",
        f"  all:      answer@1 {_pct(a.answer_accuracy)}  reject {_pct(a.rejection_accuracy)}"
        f"  overall {_pct(a.overall_accuracy)}",
    ]
    if result.current is not None:
        c = result.current
        lines.append(f"Current threshold {c.threshold:.3f} on tuning: answer@1 "
                     f"{_pct(c.answer_accuracy)}  reject {_pct(c.rejection_accuracy)}  "
                     f"overall {_pct(c.overall_accuracy)}")
    return "\n".join(lines)


def require_plotting() -> tuple[Any, Any]:
    """matplotlib's ``Figure`` and ``FigureCanvasAgg``, or :class:`QABotError` saying how to
    install the optional ``plot`` extra (checked before a sweep so it fails fast)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise QABotError(
            "--plot needs matplotlib: pip install 'qabot[plot]' (or pip install matplotlib)"
        ) from None
    return Figure, FigureCanvasAgg


def plot_sweep(result: Sweep, path: str | Path) -> None:
    """Draw the three tuning curves to ``path`` (PNG) with matplotlib, the optional extra.

    Uses matplotlib's object API with the Agg canvas (no pyplot, no global figure state).
    Raises :class:`QABotError` when matplotlib is not installed (:func:`require_plotting`).
    """
    Figure, FigureCanvasAgg = require_plotting()
    xs = [p.threshold for p in result.points]
    fig = Figure(figsize=(7, 4.8), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for key, label in (("answer_accuracy", "answer accuracy@1 (answerable)"),
                       ("rejection_accuracy", "rejection accuracy (unanswerable)"),
                       ("overall_accuracy", "overall accuracy")):
        ys = [math.nan if getattr(p, key) is None else 100 * getattr(p, key)
              for p in result.points]
        ax.plot(xs, ys, label=label, drawstyle="steps-pre",
                linewidth=2 if key == "overall_accuracy" else 1.3)
    ax.axvline(result.best.threshold, color="grey", linestyle="--", linewidth=1,
               label=f"best on tuning: {result.best.threshold:.4f}")
    last = next((p.threshold for p in result.points
                 if p.answer_accuracy == 0 and p.threshold > result.best.threshold), xs[-1])
    ax.set_xlim(0, min(xs[-1], last + 0.05))
    ax.set_ylim(0, 100)
    ax.set_xlabel("confidence threshold (best passage score)")
    ax.set_ylabel("% of tuning items")
    ax.set_title("qabot threshold sweep (tuning part)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize="small",
              frameon=False)
    fig.tight_layout()
    try:
        fig.savefig(str(path), format="png")
    except OSError as exc:
        raise QABotError(f"{path}: cannot write the plot: {exc}") from None
