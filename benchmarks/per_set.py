"""Accuracy on each gold set apart, per encoder: answer@1 and overall, tuning/held-out/all.

Run from the repository root::

    python benchmarks/per_set.py [--encoders none,static,transformer] [--sets iom,lsof,...]
    PYTHONPATH=/path/to/old/checkout python benchmarks/per_set.py   # the same sets, old code

One row per set and encoder. answer@1: answerable items whose reply is found and contains
an answer; overall: every item right (unanswerable ones declined). Each cell is a percentage
for the tuning part (ids not divisible by 3), the held-out part, and the whole set. This is
how a reader change is checked set by set (benchmarks/encoders.py pools the blind sets).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from qabot import QABot
from qabot.evaluate import ItemResult, bot_asker, evaluate, load_gold

K = 5
ROOT = Path(__file__).resolve().parents[1]


def sets(names: list[str] | None) -> list[tuple[str, Path, Path]]:
    """``(name, corpus folder, questions file)``: the shipped set, then benchmark corpora."""
    out = [("iom", ROOT / "corpus", ROOT / "corpus" / "iom.questions.jsonl")]
    for folder in sorted((ROOT / "benchmarks" / "corpora").iterdir()):
        questions = folder / f"{folder.name}.questions.jsonl"
        if questions.is_file():
            out.append((folder.name, folder, questions))
    return [s for s in out if names is None or s[0] in names]


def _pct(results: list[ItemResult], answer: bool) -> str:
    rs = [r for r in results if not (answer and r.item.unanswerable)]
    if not rs:
        return "-"
    return f"{100 * sum(r.answered if answer else r.correct for r in rs) / len(rs):.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoders", default="none,static,transformer",
                        help="comma-separated encoder names")
    parser.add_argument("--sets", default="all", help="comma-separated set names, or 'all'")
    args = parser.parse_args()
    chosen = sets(None if args.sets == "all" else args.sets.split(","))
    print("| set | encoder | answer@1 tuning / held-out / all | overall tuning / held-out / all |")
    print("|---|---|---|---|")
    for name, corpus, questions in chosen:
        items = load_gold(questions)
        for encoder in args.encoders.split(","):
            bot = QABot.from_path(corpus, encoder=encoder)
            results = list(evaluate(items, bot_asker(bot, K), K).results)
            parts = [[r for r in results if not r.item.held_out],
                     [r for r in results if r.item.held_out], results]
            cells = [" / ".join(_pct(p, answer) for p in parts) for answer in (True, False)]
            print(f"| {name} | {encoder} | {cells[0]} | {cells[1]} |", flush=True)


if __name__ == "__main__":
    main()
