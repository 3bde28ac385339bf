"""The correctness rule applied to replies (``judge``) and the metrics over judged items;
``evaluate`` runs a gold set through an asker."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import QABotError
from .askers import Asker
from .gold import ALL_KINDS, GoldItem, _contains_any, normalize_answer

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
    resolved_question: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The failure-listing shape: what was expected and what came back (a follow-up
        also with its context and the question the reply says it answered)."""
        it = self.item
        extra = {"context": list(it.context),
                 "resolved_question": self.resolved_question} if it.context else {}
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
            **extra,
        }

def _score(reply: Mapping[str, Any]) -> float | None:
    score = reply.get("score")
    return float(score) if isinstance(score, int | float) else None


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
    resolved = reply.get("resolved_question")
    return ItemResult(item, found, answered, rank, section_ok, correct,
                      reply.get("section") if found else None,
                      reply.get("answer") if found else None, score,
                      resolved if isinstance(resolved, str) else None)


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
            replies.append(asker(item.question, item.context) if item.context
                           else asker(item.question))
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
    kinds = [kind for kind in ALL_KINDS if any(r.item.kind == kind for r in results)]
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
