"""Gold question sets: the JSON-lines format, loading it, and the text normalisation that
the correctness rule compares with (``normalize_answer``)."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import QABotError
from ..feedback import FEEDBACK_KIND
from ..limits import MAX_CONTEXT

#: The kinds of gold question, in the order tables list them.
KINDS = ("paraphrase", "keyword", "direct", "typo", "long", "unanswerable")
#: A follow-up: asked with its ``context``, the conversation's earlier questions.
FOLLOWUP_KIND = "followup"
#: Every kind a gold file may hold, in the order tables list them: the written kinds,
#: ``feedback``, an answerable item made from readers' votes (``qabot feedback export``),
#: and ``followup`` (answerable or not; ``*.followups.jsonl``).
ALL_KINDS = (*KINDS[:-1], FEEDBACK_KIND, FOLLOWUP_KIND, KINDS[-1])

_GOLD_KEYS = frozenset({"id", "question", "answers", "section", "kind", "unanswerable"})
#: Keys an item may add: ``review`` (true: a person should check it; ``qabot eval`` skips
#: it unless ``--include-review``), written by ``qabot feedback export``.
_OPTIONAL_KEYS = frozenset({"review"})
#: Keys a follow-up item adds: the conversation's earlier questions, newest last, and the
#: same question written to stand alone (the ceiling a resolver can reach).
_FOLLOWUP_KEYS = frozenset({"context", "standalone"})

class GoldSetError(QABotError, ValueError):
    """The gold question file is missing, unreadable or malformed (the message names the line)."""


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
    """One gold question; ``answers`` are alternatives (a right passage contains one).
    ``review`` marks an item made from readers' votes that a person should check first.

    A follow-up (kind ``"followup"``) also has ``context``, the questions asked before it,
    newest last, which the asker sends along, and may have ``standalone``, the same
    question worded to stand on its own."""

    id: str
    question: str
    answers: tuple[str, ...]
    section: str | None
    kind: str
    unanswerable: bool
    line: int = 0
    review: bool = False
    context: tuple[str, ...] = ()
    standalone: str | None = None

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
    ``answers``, ``section``, ``kind`` and ``unanswerable`` (see ``docs/gold-set.md``), and
    optionally ``review`` (a boolean): ``kind`` is one of :data:`ALL_KINDS`;
    ``unanswerable`` is true exactly when ``kind`` is
    ``"unanswerable"``, and then ``answers`` is ``[]`` and ``section`` null; otherwise
    ``answers`` holds non-empty strings and ``section`` is a string. Ids are unique.
    A follow-up item (kind ``"followup"``, answerable or not) also has ``context``, a list
    of 1 to ``MAX_CONTEXT`` earlier questions (newest last), and may have ``standalone``,
    a string; no other item has these keys.
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
    followup = obj["kind"] == FOLLOWUP_KIND
    extra = sorted(obj.keys() - _GOLD_KEYS - _OPTIONAL_KEYS
                   - (_FOLLOWUP_KEYS if followup else frozenset()))
    if extra:
        raise GoldSetError(f"{where}: unknown key(s) {', '.join(extra)}"
                           + ("" if followup or not set(extra) & _FOLLOWUP_KEYS
                              else " (context and standalone are for kind 'followup')"))
    id_, question, answers = obj["id"], obj["question"], obj["answers"]
    section, kind, unanswerable = obj["section"], obj["kind"], obj["unanswerable"]
    context, standalone = obj.get("context"), obj.get("standalone")
    if not isinstance(id_, str) or not id_.strip():
        raise GoldSetError(f"{where}: id must be a non-empty string")
    if not isinstance(question, str) or not question.strip():
        raise GoldSetError(f"{where}: question must be a non-empty string")
    if kind not in ALL_KINDS:
        raise GoldSetError(f"{where}: kind must be one of {', '.join(ALL_KINDS)}, got {kind!r}")
    review = obj.get("review", False)
    if not isinstance(review, bool):
        raise GoldSetError(f"{where}: review must be true or false, got {review!r}")
    if followup and (not isinstance(context, list) or not 1 <= len(context) <= MAX_CONTEXT
                     or not all(isinstance(q, str) and q.strip() for q in context)):
        raise GoldSetError(f"{where}: a followup item needs context, a list of 1 to "
                           f"{MAX_CONTEXT} non-empty earlier questions (newest last)")
    if standalone is not None and (not isinstance(standalone, str) or not standalone.strip()):
        raise GoldSetError(f"{where}: standalone must be a non-empty string")
    if not isinstance(unanswerable, bool) or (
            not followup and unanswerable != (kind == "unanswerable")):
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
    return GoldItem(id_, question, tuple(answers), section, kind, unanswerable, number, review,
                    tuple(context or ()), standalone)
