"""Every gold set at once: right items per set and part, with each lever switched off in turn.

Run from the repository root::

    python benchmarks/all_sets.py            # qabot as it is, one row
    python benchmarks/all_sets.py --levers   # plus one row per lever of benchmarks/ablation.py

The gold sets are the shipped one (``corpus/iom.questions.jsonl`` over ``corpus/``) and every
``benchmarks/corpora/NAME/NAME.questions.jsonl`` over its folder. A row gives, per set, the
items answered right (overall accuracy's numerator) on the tuning and the held-out part,
then the totals over all sets and over the blind ones (every set but the shipped one, whose
tuning part the engine was tuned on). One item is one item: with 20-36 held-out items a set,
differences of one or two are noise. The table "Levers on all four sets" in
docs/accuracy.md is this script's output.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable
from pathlib import Path

from ablation import LEVERS, nothing

from qabot import QABot
from qabot.evaluate import GoldItem, bot_asker, evaluate, load_gold

K = 5
ROOT = Path(__file__).resolve().parents[1]
SHIPPED = "iom"


def gold_sets() -> list[tuple[str, Path, tuple[GoldItem, ...]]]:
    """``(name, corpus folder, items)`` for the shipped set, then each benchmark corpus."""
    sets = [(SHIPPED, ROOT / "corpus", load_gold(ROOT / "corpus" / "iom.questions.jsonl"))]
    for folder in sorted((ROOT / "benchmarks" / "corpora").iterdir()):
        questions = folder / f"{folder.name}.questions.jsonl"
        if questions.is_file():
            sets.append((folder.name, folder, load_gold(questions)))
    return sets


def right_counts(corpus: Path, items: tuple[GoldItem, ...]) -> tuple[int, int]:
    """Items right on the tuning part and on the held-out part."""
    report = evaluate(items, bot_asker(QABot.from_path(corpus), K), K)
    tuning = sum(r.correct for r in report.results if not r.item.held_out)
    held_out = sum(r.correct for r in report.results if r.item.held_out)
    return tuning, held_out


def row(label: str, ctx: Callable[[], contextlib.AbstractContextManager[None]],
        sets: list[tuple[str, Path, tuple[GoldItem, ...]]]) -> str:
    cells = [label]
    totals = [0, 0, 0, 0]  # all tuning, all held-out, blind tuning, blind held-out
    with ctx():
        for name, corpus, items in sets:
            tuning, held_out = right_counts(corpus, items)
            cells.append(f"{tuning} / {held_out}")
            totals[0] += tuning
            totals[1] += held_out
            if name != SHIPPED:
                totals[2] += tuning
                totals[3] += held_out
    return "| " + " | ".join(cells + [str(t) for t in totals]) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levers", action="store_true",
                        help="also one row per lever of benchmarks/ablation.py switched off")
    args = parser.parse_args()
    sets = gold_sets()
    sizes = [(sum(not i.held_out for i in items), sum(i.held_out for i in items))
             for _, _, items in sets]
    head = [f"{name} ({t} / {h})" for (name, _, _), (t, h) in zip(sets, sizes, strict=True)]
    print("| configuration | " + " | ".join(head)
          + " | tuning | held-out | blind tuning | blind held-out |")
    print("|---" * (len(sets) + 5) + "|")
    rows = [("qabot (all levers)", nothing)]
    if args.levers:
        rows += [(label, ctx) for label, ctx in LEVERS if ctx is not nothing]
    for label, ctx in rows:
        print(row(label, ctx, sets), flush=True)


if __name__ == "__main__":
    main()
