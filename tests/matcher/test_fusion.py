"""Fusion functions on hand-computed examples."""

from __future__ import annotations

import numpy as np
import pytest

from matcher.ranker import RankerConfig
from matcher.registry import FUSIONS

COMPONENTS = np.array(
    [
        # semantic, lexical, structured
        [0.9, 0.0, 0.5],
        [0.5, 1.0, 0.5],
        [0.7, 0.4, 0.2],
    ]
)


def test_rrf_hand_computed() -> None:
    # semantic ranks: 1, 3, 2; lexical: c0 has 0 so gets nothing, c1 = 1, c2 = 2;
    # structured: c0 and c1 tie for rank 1, c2 is rank 3.
    expected = np.array(
        [
            1 / 61 + 0 + 1 / 61,
            1 / 63 + 1 / 61 + 1 / 61,
            1 / 62 + 1 / 62 + 1 / 63,
        ]
    ) / (3 / 61)
    fused = FUSIONS["rrf"](COMPONENTS, np.ones(3), rrf_k=60)
    np.testing.assert_allclose(fused, expected)
    assert fused.argmax() == 1


def test_rrf_weighted_and_k() -> None:
    fused = FUSIONS["rrf"](COMPONENTS, np.array([2.0, 0.0, 1.0]), rrf_k=0)
    expected = np.array([2 / 1 + 1 / 1, 2 / 3 + 1 / 1, 2 / 2 + 1 / 3]) / 3.0
    np.testing.assert_allclose(fused, expected)


def test_weighted_is_normalised_weighted_mean() -> None:
    fused = FUSIONS["weighted"](COMPONENTS, np.array([0.6, 0.2, 0.2]))
    np.testing.assert_allclose(fused, COMPONENTS @ [0.6, 0.2, 0.2])
    np.testing.assert_allclose(
        FUSIONS["weighted"](COMPONENTS, np.array([3.0, 1, 1])), COMPONENTS @ [0.6, 0.2, 0.2]
    )


def test_minmax_scales_each_column() -> None:
    fused = FUSIONS["minmax"](COMPONENTS, np.ones(3))
    scaled = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [0.5, 0.4, 0.0]])
    np.testing.assert_allclose(fused, scaled.mean(axis=1))
    assert FUSIONS["minmax"](np.ones((2, 3)), np.ones(3)).tolist() == [0.0, 0.0]


@pytest.mark.parametrize("name", sorted(FUSIONS))
def test_all_fusions_bounded_and_reject_bad_weights(name: str) -> None:
    rng = np.random.default_rng(0)
    x = rng.random((50, 3))
    fused = FUSIONS[name](x, np.array([0.5, 0.3, 0.2]), rrf_k=60)
    assert fused.shape == (50,) and fused.min() >= 0 and fused.max() <= 1 + 1e-12
    assert FUSIONS[name](np.zeros((0, 3)), np.ones(3)).shape == (0,)
    with pytest.raises(ValueError):
        FUSIONS[name](x, np.zeros(3))
    with pytest.raises(ValueError):
        FUSIONS[name](x, np.array([1.0, -1.0, 1.0]))


def test_unknown_fusion_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown fusion"):
        RankerConfig(fusion="borda")
