"""Follow-up questions: answer@1 asked alone, with their context, and as written to stand
alone, on the blind follow-up sets, tuning and held-out parts apart.

Run from the repository root::

    python benchmarks/followups.py [--encoders none,static,transformer] [--variants]

Each ``*.followups.jsonl`` (the shipped corpus's and each benchmark corpus's, written
blind) pairs an earlier question (``context``) with a follow-up. Every follow-up is asked
three ways: **alone** (the question without its context: qabot before follow-ups),
**context** (``QABot.ask(question, context=...)``: the resolver) and **standalone** (the
gold set's own rewording, the ceiling a resolver can reach). Rows give answer@1 over
answerable items, rejection over unanswerable ones and overall accuracy, per set and
pooled, for the tuning part (ids not divisible by 3) and the held-out part. The tables in
docs/accuracy.md ("Follow-up questions") are its output. ``--variants`` adds the resolver
designs that were weighed (tuning part only, pooled): **combined** (always ask the
standalone question built by ``qabot.followup``) and **safer** (ask both, keep the
combined reply only when it is found and scores at least as high as the question alone).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from qabot import QABot
from qabot.evaluate import GoldItem, judge, load_gold
from qabot.followup import resolve

K = 5
ROOT = Path(__file__).resolve().parents[1]


def followup_sets() -> list[tuple[str, Path, tuple[GoldItem, ...]]]:
    """``(name, corpus folder, items)`` of every follow-up gold set in the repository."""
    sets = [("iom", ROOT / "corpus", load_gold(ROOT / "corpus" / "iom.followups.jsonl"))]
    for folder in sorted((ROOT / "benchmarks" / "corpora").iterdir()):
        path = folder / f"{folder.name}.followups.jsonl"
        if path.is_file():
            sets.append((folder.name, folder, load_gold(path)))
    return sets


Reply = Mapping[str, Any]


def ways(bot: QABot) -> dict[str, Callable[[GoldItem], Reply]]:
    """How each column asks an item."""

    def alone(it: GoldItem) -> Reply:
        return bot.ask(it.question, K).to_dict()

    def context(it: GoldItem) -> Reply:
        return bot.ask(it.question, K, context=it.context).to_dict()

    def standalone(it: GoldItem) -> Reply:
        return bot.ask(it.standalone or it.question, K).to_dict()

    def combined(it: GoldItem) -> Reply:
        resolution = resolve(it.question, it.context)
        return bot.ask(resolution.standalone, K).to_dict()

    def safer(it: GoldItem) -> Reply:
        plain, both = alone(it), combined(it)
        keep = both["found"] and (not plain["found"] or both["score"] >= plain["score"])
        return both if keep else plain

    return {"alone": alone, "context": context, "standalone": standalone,
            "combined": combined, "safer": safer}


def pct(right: int, total: int) -> str:
    return f"{100 * right / total:.1f} ({right}/{total})" if total else "-"


def row(results: list, held: bool | None) -> tuple[str, str, str]:
    rs = [r for r in results if held is None or r.item.held_out == held]
    ans = [r for r in rs if not r.item.unanswerable]
    una = [r for r in rs if r.item.unanswerable]
    return (pct(sum(r.answered for r in ans), len(ans)),
            pct(sum(r.correct for r in una), len(una)),
            pct(sum(r.correct for r in rs), len(rs)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoders", default="none,static,transformer")
    parser.add_argument("--variants", action="store_true",
                        help="also the designs weighed, on the tuning part only")
    parser.add_argument("--show", action="store_true",
                        help="list each tuning item's resolution and verdicts")
    args = parser.parse_args()
    sets = followup_sets()
    columns = ["alone", "context", "standalone"]
    if args.variants:
        columns += ["combined", "safer"]
    print("| encoder | set | part | asked | answer@1 | rejection | overall |")
    print("|---|---|---|---|---:|---:|---:|")
    for encoder in args.encoders.split(","):
        results: dict[str, dict[str, list]] = {c: {} for c in columns}
        for name, corpus, items in sets:
            bot = QABot.from_path(corpus, encoder=encoder)
            asks = ways(bot)
            for column in columns:
                chosen = items if column in ("alone", "context", "standalone") else [
                    it for it in items if not it.held_out]
                results[column][name] = [judge(it, asks[column](it), K) for it in chosen]
            if args.show:
                for it in items:
                    if it.held_out:
                        continue
                    r = resolve(it.question, it.context)
                    verdicts = {c: next(x for x in results[c][name] if x.item is it).correct
                                for c in columns}
                    marks = " ".join(f"{c}={'Y' if ok else '-'}" for c, ok in verdicts.items())
                    print(f"  {name} {it.id} [{r.reason}] {r.standalone!r}  {marks}")
        names = [n for n, _, _ in sets]
        for label, group in [(n, [n]) for n in names] + [("pooled", names)]:
            parts = ((("tuning", False), ("held-out", True), ("all", None)))
            for part, held in parts:
                for column in columns:
                    if column not in ("alone", "context", "standalone") and held is not False:
                        continue
                    rs = [r for n in group for r in results[column][n]]
                    a, u, o = row(rs, held)
                    print(f"| {encoder} | {label} | {part} | {column} | {a} | {u} | {o} |",
                          flush=True)


if __name__ == "__main__":
    main()
