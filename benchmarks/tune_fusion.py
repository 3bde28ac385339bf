"""Choose the fusion weight and the "not found" gate per encoder, on tuning parts only.

Run from the repository root::

    python benchmarks/tune_fusion.py [--encoders none,static,transformer]

For every encoder it asks every gold set's questions (the shipped one and each
``benchmarks/corpora/NAME``) under a grid of semantic weights ``w``, thresholds ``t`` and
semantic-alone cosines ``a`` (``qabot.answer.SEMANTIC_ALONE``), and prints the items
right on the pooled tuning parts (ids not divisible by 3) for each point, the best point,
and only then that point's held-out numbers. The held-out parts never choose anything.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

from all_sets import K, gold_sets

import qabot.answer as answer_mod
from qabot import QABot
from qabot.evaluate import bot_asker, evaluate

WEIGHTS = (0.3, 0.4, 0.5, 0.6, 0.7)
THRESHOLDS = (0.10, 0.12, 0.14, 0.16, 0.18, 0.20, 0.22, 0.24, 0.26, 0.28, 0.30)
ALONE = (0.4, 0.5, 0.6, 0.7, 1.1)


def right(bots: dict[str, QABot], sets, held_out: bool) -> dict[str, int]:
    out = {}
    for name, _, items in sets:
        part = tuple(i for i in items if i.held_out == held_out)
        report = evaluate(part, bot_asker(bots[name], K), K)
        out[name] = sum(r.correct for r in report.results)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoders", default="static,transformer")
    args = parser.parse_args()
    sets = gold_sets()
    n_tune = sum(not i.held_out for _, _, items in sets for i in items)
    n_held = sum(i.held_out for _, _, items in sets for i in items)
    for encoder in args.encoders.split(","):
        bots = {name: QABot.from_path(Path(corpus), encoder=encoder) for name, corpus, _ in sets}
        results = []
        grid = itertools.product(WEIGHTS if encoder != "none" else (0.0,), THRESHOLDS,
                                 ALONE if encoder != "none" else (1.1,))
        for weight, threshold, alone in grid:
            answer_mod.SEMANTIC_ALONE[encoder] = alone
            for bot in bots.values():
                bot.index.semantic_weight = weight
                bot.threshold = threshold
            tune = right(bots, sets, held_out=False)
            results.append((sum(tune.values()), weight, threshold, alone))
        results.sort(key=lambda r: (-r[0], r[1], r[2]))
        print(f"## {encoder}: best 8 points on the pooled tuning parts ({n_tune} items)")
        for total, weight, threshold, alone in results[:8]:
            print(f"  w={weight:.2f} t={threshold:.2f} alone={alone:.2f}: {total}")
        _, weight, threshold, alone = results[0]
        answer_mod.SEMANTIC_ALONE[encoder] = alone
        for bot in bots.values():
            bot.index.semantic_weight = weight
            bot.threshold = threshold
        tune = right(bots, sets, held_out=False)
        held = right(bots, sets, held_out=True)
        print(f"  chosen w={weight} t={threshold} alone={alone}: tuning {sum(tune.values())}"
              f"/{n_tune}, held-out {sum(held.values())}/{n_held}; per set (tuning/held-out): "
              + ", ".join(f"{n} {tune[n]}/{held[n]}" for n in tune), flush=True)


if __name__ == "__main__":
    main()
