"""Fusion: one score per passage from the signals' scores.

The rule in use is a weighted blend of the raw scores,
``(1 - w) * lexical + w * max(semantic, 0)``, with ``w`` per encoder (``SEMANTIC_WEIGHTS``).
Both signals are cosines in [0, 1], so no per-query normalisation is needed, and a blended
score keeps an absolute meaning that a "not found" threshold can be set on. Reciprocal-rank fusion
(``sum 1 / (k + rank)``) is kept for comparison (``benchmarks/fusion.py``): it ranked
slightly worse on the gold sets and its scores say nothing about whether the best passage
answers at all (docs/accuracy.md).
"""

from __future__ import annotations

import numpy as np

__all__ = ["RRF_K", "SEMANTIC_WEIGHT", "SEMANTIC_WEIGHTS", "blend", "reciprocal_rank"]

#: Share of the fused score that comes from the semantic signal, per encoder; chosen on the
#: pooled tuning parts of the gold sets (``benchmarks/tune_fusion.py``, docs/accuracy.md).
SEMANTIC_WEIGHTS = {"static": 0.2, "transformer": 0.5}
SEMANTIC_WEIGHT = SEMANTIC_WEIGHTS["static"]
RRF_K = 60


def blend(lexical: np.ndarray, semantic: np.ndarray | None,
          weight: float = SEMANTIC_WEIGHT) -> np.ndarray:
    """``(1 - weight) * lexical + weight * max(semantic, 0)``; ``lexical`` alone without a
    semantic signal."""
    if semantic is None:
        return lexical
    # The formula's products and sum, each written over an array made here when its result
    # has that array's type anyway: the same numbers, two corpus-long arrays instead of four
    # (on 100k passages the two spared allocations cost more than the arithmetic).
    scaled = _in_place(np.multiply, np.maximum(semantic, 0.0), weight)
    return _in_place(np.add, np.multiply(lexical, 1.0 - weight), scaled)


def _in_place(operation: np.ufunc, mine: np.ndarray, other: object) -> np.ndarray:
    """``operation(mine, other)``, written into ``mine`` (an array the caller made and
    gives up) when the result has its type, so no value is rounded differently."""
    if np.result_type(mine, other) == mine.dtype:
        return operation(mine, other, out=mine)
    return operation(mine, other)


def reciprocal_rank(*signals: np.ndarray, k: int = RRF_K) -> np.ndarray:
    """``sum over signals of 1 / (k + rank)``, rank 1 being a signal's best passage."""
    total = np.zeros(len(signals[0]), dtype=np.float64)
    for scores in signals:
        ranks = np.empty(len(scores), dtype=np.float64)
        ranks[np.argsort(-scores, kind="stable")] = np.arange(1, len(scores) + 1)
        total += 1.0 / (k + ranks)
    return total
