"""Plain-text tables of a report, its failures and a sweep, as ``qabot eval`` prints them."""

from __future__ import annotations

from .gold import _SPACE
from .metrics import Report
from .sweep import Sweep


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
        if it.context:
            lines.append(f"  after:    {it.context[-1]}")
            if r.resolved_question is not None:
                lines.append(f"  asked as: {r.resolved_question}")
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
