"""The threshold sweep: replies replayed as if the bot had threshold ``t``, the best
threshold chosen on the tuning part only, and its plot."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import QABotError
from .gold import GoldItem
from .metrics import _ranked, _score, compute_metrics, judge


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
