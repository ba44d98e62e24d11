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


def test_zscore_hand_computed() -> None:
    # Population z-scores per column, weighted mean, then the logistic of half of it.
    x = COMPONENTS
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    w = np.array([0.5, 0.3, 0.2])
    expected = 1.0 / (1.0 + np.exp(-(z @ w) / 2.0))
    np.testing.assert_allclose(FUSIONS["zscore"](x, w), expected)
    # Order follows the weighted z-scores: with equal weights row 2 (below average on
    # every column) is last, and the pool's average candidate scores 0.5.
    assert FUSIONS["zscore"](x, np.ones(3)).argmin() == 2
    assert np.isclose(FUSIONS["zscore"](np.array([[0.2, 0.0, 0], [0.4, 0.5, 0], [0.6, 1.0, 0]]), w)[1], 0.5)


def test_zscore_leaves_constant_columns_out_and_ignores_scale() -> None:
    x = COMPONENTS.copy()
    x[:, 2] = 0.0  # nothing filed: structured says nothing
    w = np.array([0.5, 0.3, 0.2])
    z = (x[:, :2] - x[:, :2].mean(axis=0)) / x[:, :2].std(axis=0)
    expected = 1.0 / (1.0 + np.exp(-(z @ w[:2] / 0.8) / 2.0))
    np.testing.assert_allclose(FUSIONS["zscore"](x, w), expected)
    # A column's spread does not change its say (min-max would, through an outlier).
    squeezed = x.copy()
    squeezed[:, 0] = 0.8 + squeezed[:, 0] / 100
    np.testing.assert_allclose(FUSIONS["zscore"](squeezed, w), expected)
    assert FUSIONS["zscore"](np.ones((3, 3)), w).tolist() == [0.5, 0.5, 0.5]
    assert FUSIONS["zscore"](x[:1], w).tolist() == [0.5]



def test_zscore_in_the_ranker() -> None:
    from matcher.ranker import HybridRanker
    from matcher.types import Item

    items = [
        Item("a", "mobile app for vaccination reminders"),
        Item("b", "hospital laundry logistics"),
        Item("c", "vaccination records and reminders by text message"),
    ]
    vectors = np.eye(3, dtype=np.float32)
    ranker = HybridRanker(RankerConfig(fusion="zscore", diversity=0.0, explain_sentences=False)).fit(
        items, vectors
    )
    query = Item("q", "vaccination reminders")
    matches = ranker.rank(query, query_vector=np.array([0.6, 0.0, 0.8], dtype=np.float32))
    assert [m.key for m in matches][:2] == ["c", "a"] and matches[-1].key == "b"
    assert all(0.0 < m.score < 1.0 for m in matches)


def test_zscore_against_a_reference_population() -> None:
    # The ranker passes the population each column is standardised against; the rows'
    # own statistics are then not used.
    x = COMPONENTS
    w = np.array([0.5, 0.3, 0.2])
    mean, sd = np.array([0.1, 0.2, 0.0]), np.array([0.2, 0.4, 0.0])
    z = np.column_stack([(x[:, 0] - 0.1) / 0.2, (x[:, 1] - 0.2) / 0.4])
    expected = 1.0 / (1.0 + np.exp(-(z @ w[:2] / 0.8) / 2.0))  # sd 0: left out
    np.testing.assert_allclose(FUSIONS["zscore"](x, w, reference=(mean, sd)), expected)
    # One row alone is scored as it is among its reference, not as its pool's average (0.5).
    assert FUSIONS["zscore"](x[:1], w)[0] == 0.5
    assert FUSIONS["zscore"](x[:1], w, reference=(mean, sd))[0] == pytest.approx(expected[0])
    with pytest.raises(ValueError, match="does not match"):
        FUSIONS["zscore"](x, w, reference=(mean[:2], sd[:2]))
