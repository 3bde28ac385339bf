"""The fusion rule (qabot.retrieval.fusion): hand-checked blends and reciprocal ranks."""

from __future__ import annotations

import numpy as np
import pytest

from qabot.retrieval.fusion import RRF_K, SEMANTIC_WEIGHT, blend, reciprocal_rank


def test_blend_is_the_documented_weighted_sum() -> None:
    lexical = np.array([0.4, 0.0, 0.2])
    semantic = np.array([0.2, 0.6, -0.3])  # a negative cosine counts as 0
    assert np.allclose(blend(lexical, semantic, 0.25), [0.35, 0.15, 0.15])


def test_blend_without_a_semantic_signal_is_the_lexical_score() -> None:
    lexical = np.array([0.3, 0.1])
    assert blend(lexical, None) is lexical


@pytest.mark.parametrize("weight", [0.0, SEMANTIC_WEIGHT, 1.0])
def test_blend_stays_within_zero_one_for_cosines(weight: float) -> None:
    rng = np.random.default_rng(0)
    fused = blend(rng.random(50), rng.uniform(-1, 1, 50), weight)
    assert fused.min() >= 0.0 and fused.max() <= 1.0


@pytest.mark.parametrize("semantic_type", [np.float32, np.float64])
@pytest.mark.parametrize("weight", [SEMANTIC_WEIGHT, 0.5, np.float64(0.3), np.float32(0.3)])
def test_blend_is_the_formula_to_the_last_bit(semantic_type: type, weight: float) -> None:
    # blend reuses the arrays it makes; the numbers must be the formula's, of its type.
    rng = np.random.default_rng(1)
    lexical = rng.random(1000)
    semantic = rng.uniform(-1, 1, 1000).astype(semantic_type)
    kept = lexical.copy(), semantic.copy()
    expected = (1.0 - weight) * lexical + weight * np.maximum(semantic, 0.0)
    fused = blend(lexical, semantic, weight)
    assert fused.dtype == expected.dtype and fused.tobytes() == expected.tobytes()
    # The inputs are left as they were.
    assert lexical.tobytes() == kept[0].tobytes() and semantic.tobytes() == kept[1].tobytes()


def test_reciprocal_rank_fusion_by_hand() -> None:
    first = np.array([0.9, 0.5, 0.1])   # ranks 1, 2, 3
    second = np.array([0.2, 0.8, 0.3])  # ranks 3, 1, 2
    fused = reciprocal_rank(first, second, k=RRF_K)
    expected = [1 / 61 + 1 / 63, 1 / 62 + 1 / 61, 1 / 63 + 1 / 62]
    assert np.allclose(fused, expected)
    assert int(np.argmax(fused)) == 1  # the passage both signals rank high wins
