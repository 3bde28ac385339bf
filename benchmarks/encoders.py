"""Accuracy per encoder on every gold set, tuning and held-out parts apart.

Run from the repository root::

    python benchmarks/encoders.py [--encoders none,static,transformer]

For each encoder it prints one row per part (tuning: ids not divisible by 3; held-out: the
rest), pooled over the blind sets (every ``benchmarks/corpora/NAME`` set, written by
sessions that never read the code) and, apart, the shipped IOM set: answer@1 over
answerable items, answer@1 over paraphrase items, rejection over unanswerable items,
recall@5, and overall accuracy. The table "Encoders" in docs/accuracy.md is its output.

Run against another checkout (``PYTHONPATH=/path/to/old/checkout python
benchmarks/encoders.py --encoders default``) to measure code that has no encoders.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from qabot import QABot
from qabot.evaluate import GoldItem, bot_asker, evaluate, load_gold

K = 5
ROOT = Path(__file__).resolve().parents[1]
SHIPPED = "iom"


#: The blind sets the session-3 tables pool (docs/accuracy.md, "Encoders").
SESSION3_SETS = ("bees", "handbook", "icrc", "panama", "who")


def gold_sets(names: tuple[str, ...] | None = SESSION3_SETS
              ) -> list[tuple[str, Path, tuple[GoldItem, ...]]]:
    """``(name, corpus folder, items)`` for the shipped set, then each benchmark corpus
    named in ``names`` (every one under ``benchmarks/corpora`` when ``None``)."""
    sets = [(SHIPPED, ROOT / "corpus", load_gold(ROOT / "corpus" / "iom.questions.jsonl"))]
    for folder in sorted((ROOT / "benchmarks" / "corpora").iterdir()):
        questions = folder / f"{folder.name}.questions.jsonl"
        if questions.is_file() and (names is None or folder.name in names):
            sets.append((folder.name, folder, load_gold(questions)))
    return sets


def pct(right: int, total: int) -> str:
    return f"{100 * right / total:.1f} ({right}/{total})" if total else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoders", default="none,static,transformer",
                        help="comma-separated; 'default' builds the bot without the argument")
    parser.add_argument("--sets", default=",".join(SESSION3_SETS),
                        help="benchmark corpora pooled as 'blind' (comma-separated, or 'all')")
    args = parser.parse_args()
    sets = gold_sets(None if args.sets == "all" else tuple(args.sets.split(",")))
    print("| encoder | sets | part | answer@1 | paraphrase | rejection | recall@5 | overall |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for encoder in args.encoders.split(","):
        results = {}
        for name, corpus, items in sets:
            kwargs = {} if encoder == "default" else {"encoder": encoder}
            bot = QABot.from_path(Path(corpus), **kwargs)
            results[name] = evaluate(items, bot_asker(bot, K), K).results
        for label, names in (("blind", [n for n, _, _ in sets if n != SHIPPED]),
                             ("iom", [SHIPPED])):
            for part, held in (("tuning", False), ("held-out", True)):
                rs = [r for n in names for r in results[n] if r.item.held_out == held]
                ans = [r for r in rs if not r.item.unanswerable]
                para = [r for r in ans if r.item.kind == "paraphrase"]
                unans = [r for r in rs if r.item.unanswerable]
                print(f"| {encoder} | {label} | {part} | "
                      f"{pct(sum(r.answered for r in ans), len(ans))} | "
                      f"{pct(sum(r.answered for r in para), len(para))} | "
                      f"{pct(sum(r.correct for r in unans), len(unans))} | "
                      f"{pct(sum(r.rank is not None for r in ans), len(ans))} | "
                      f"{pct(sum(r.correct for r in rs), len(rs))} |", flush=True)


if __name__ == "__main__":
    main()
