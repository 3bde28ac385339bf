"""Choose each encoder's fusion weight, threshold and semantic margin on tuning parts only.

Run from the repository root::

    python benchmarks/tune_fusion.py [--encoders static,transformer]

For each encoder and each semantic weight ``w`` in ``WEIGHTS``, every question of every gold
set (the shipped one and each ``benchmarks/corpora/NAME``) is ranked once, and the facts
the "not found" gate looks at are kept: the best candidate's fused score, whether it holds
enough of the question's words (``QABot``'s coverage rule), and its semantic margin (its
cosine minus the median passage's). The gate of ``qabot.answer.QABot._answers``,

    found = fused >= t and (coverage rule or margin >= m)

is then replayed over a grid of ``t`` and ``m``. The point chosen has the most items right
on the pooled tuning parts (ids not divisible by 3) among the points whose rejection of
unanswerable tuning items is at least TF-IDF's own (encoder ``none`` at its threshold):
the semantic signal must not buy answers with false ones. Only then are that point's
held-out numbers printed; the held-out parts never choose anything.
"""

from __future__ import annotations

import argparse
import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from encoders import gold_sets

import qabot.answer as answer_mod
from qabot import QABot
from qabot.evaluate import GoldItem, normalize_answer

WEIGHTS = (0.2, 0.3, 0.4, 0.5, 0.6)
THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.08, 0.36, 0.02))
MARGINS = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 9.0)


@dataclass(frozen=True)
class Case:
    """What the gate sees for one gold item, and whether the candidate is right."""

    item: GoldItem
    candidate: bool      # False: small talk, or no passage holds the question's numbers
    score: float = 0.0
    covered: bool = False
    margin: float = 0.0
    right: bool = False

    def correct(self, threshold: float, margin: float) -> bool:
        found = self.candidate and self.score >= threshold and (
            self.covered or self.margin >= margin)
        return not found if self.item.unanswerable else found and self.right


def cases(bot: QABot, items: tuple[GoldItem, ...]) -> list[Case]:
    out = []
    for item in items:
        if answer_mod.small_talk_message(item.question) is not None:
            out.append(Case(item, False))
            continue
        query = bot.index.correct_spelling(item.question)
        numbers = answer_mod._NUMBER.findall(query)
        scores = bot.index.score(query)
        hits = bot._distinct_hits(scores.fused, max(5, answer_mod.NUMBER_SEARCH_DEPTH
                                                    if numbers else 0))
        best = next((h for h in hits if answer_mod._has_numbers(h.passage, numbers)), None)
        if best is None:
            out.append(Case(item, False))
            continue
        covered = bot._covers(query, numbers, best)
        semantic = scores.semantic
        margin = (float(semantic[best.position] - np.median(semantic))
                  if semantic is not None else -1.0)
        shown = normalize_answer(best.passage.shown)
        right = any(normalize_answer(a) in shown for a in item.answers)
        out.append(Case(item, True, best.score, covered, margin, right))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoders", default="static,transformer")
    args = parser.parse_args()
    sets = gold_sets()

    def collect(encoder: str, weight: float | None) -> list[Case]:
        out = []
        for _, corpus, items in sets:
            bot = QABot.from_path(Path(corpus), encoder=encoder)
            if weight is not None:
                bot.index.semantic_weight = weight
            out += cases(bot, items)
        return out

    def rejection(part: list[Case], threshold: float, margin: float) -> float:
        unanswerable = [c for c in part if c.item.unanswerable]
        return sum(c.correct(threshold, margin) for c in unanswerable) / len(unanswerable)

    tfidf = [c for c in collect("none", None) if not c.item.held_out]
    floor = rejection(tfidf, answer_mod.DEFAULT_THRESHOLDS["none"], 9.0)
    tfidf_right = sum(c.correct(answer_mod.DEFAULT_THRESHOLDS["none"], 9.0) for c in tfidf)
    print(f"TF-IDF alone: {tfidf_right}"
          f" of {len(tfidf)} tuning items right, rejection {floor:.1%} (the floor)")
    for encoder in args.encoders.split(","):
        best = None
        by_weight = {}
        for weight in WEIGHTS:
            all_cases = collect(encoder, weight)
            by_weight[weight] = all_cases
            tune = [c for c in all_cases if not c.item.held_out]
            for threshold, margin in itertools.product(THRESHOLDS, MARGINS):
                if rejection(tune, threshold, margin) < floor:
                    continue
                right = sum(c.correct(threshold, margin) for c in tune)
                if best is None or right > best[0]:
                    best = (right, weight, threshold, margin)
        right, weight, threshold, margin = best
        held = [c for c in by_weight[weight] if c.item.held_out]
        print(f"{encoder}: w={weight} threshold={threshold} margin={margin}: tuning {right} of "
              f"{sum(not c.item.held_out for c in by_weight[weight])} right; held-out "
              f"{sum(c.correct(threshold, margin) for c in held)} of {len(held)} right, "
              f"rejection {rejection(held, threshold, margin):.1%}", flush=True)


if __name__ == "__main__":
    main()
