"""Metrics checked against values worked out by hand (arithmetic in the comments)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from matcher.metrics import (
    bootstrap_ci,
    dcg,
    ndcg_at_k,
    paired_bootstrap_ci,
    recall_at_k,
    reciprocal_rank,
)

# One query: the system ranks a, b, c, d; the judges graded a=2, c=1, e=2
# (e was never retrieved).
RANKED = ["a", "b", "c", "d"]
QRELS = {"a": 2, "c": 1, "e": 2}

LOG2_3 = math.log2(3)  # 1.5849625...


def test_dcg_exponential_by_hand():
    # gains 2^g - 1 = [3, 0, 1]; discounts 1/log2(r + 1) = [1, 1/log2 3, 1/2]
    # DCG = 3*1 + 0 + 1*0.5 = 3.5
    assert dcg([2, 0, 1]) == pytest.approx(3.5)


def test_dcg_linear_by_hand():
    # gains = grades = [2, 0, 1] -> 2 + 0 + 0.5 = 2.5
    assert dcg([2, 0, 1], gain="linear") == pytest.approx(2.5)


def test_ndcg_exponential_by_hand():
    # DCG@3 (system)  = 3 + 0/log2 3 + 1/2                 = 3.5
    # IDCG@3 (grades 2,2,1) = 3 + 3/log2 3 + 1/2 = 3.5 + 1.892789 = 5.392789
    # nDCG@3 = 3.5 / 5.392789 = 0.649014
    expected = 3.5 / (3 + 3 / LOG2_3 + 0.5)
    assert expected == pytest.approx(0.649014, abs=1e-6)
    assert ndcg_at_k(RANKED, QRELS, k=3) == pytest.approx(expected)


def test_ndcg_linear_by_hand():
    # DCG@3 = 2 + 0 + 1/2 = 2.5 ; IDCG@3 = 2 + 2/log2 3 + 1/2 = 3.761859
    # nDCG@3 = 2.5 / 3.761859 = 0.664565
    expected = 2.5 / (2 + 2 / LOG2_3 + 0.5)
    assert expected == pytest.approx(0.664565, abs=1e-6)
    assert ndcg_at_k(RANKED, QRELS, k=3, gain="linear") == pytest.approx(expected)


def test_ndcg_at_1_and_perfect_ranking():
    # @1: system gain 3 (a, grade 2) / ideal gain 3 -> 1.0
    assert ndcg_at_k(RANKED, QRELS, k=1) == pytest.approx(1.0)
    # The ideal order scores exactly 1 at any k.
    assert ndcg_at_k(["a", "e", "c"], QRELS, k=10) == pytest.approx(1.0)
    # Swapping the partial fit ahead of a strong one costs:
    # DCG = 1 + 3/log2 3 + 3/2 = 4.392789 ; IDCG = 5.392789 -> 0.814570
    assert ndcg_at_k(["c", "a", "e"], QRELS, k=10) == pytest.approx(
        (1 + 3 / LOG2_3 + 1.5) / (3 + 3 / LOG2_3 + 0.5)
    )


def test_ndcg_k_longer_than_ranking_and_duplicates():
    # k=10 with 4 ranked items: DCG = 3 + 0 + 1/2 + 0 = 3.5 ; IDCG over 3 judged = 5.392789
    assert ndcg_at_k(RANKED, QRELS, k=10) == pytest.approx(3.5 / (3 + 3 / LOG2_3 + 0.5))
    # A repeated key does not earn its gain twice: [a, a, c] == [a, c]
    # DCG = 3 + 1/log2 3 = 3.630930 ; IDCG@10 = 5.392789
    assert ndcg_at_k(["a", "a", "c"], QRELS, k=10) == pytest.approx(
        (3 + 1 / LOG2_3) / (3 + 3 / LOG2_3 + 0.5)
    )


def test_no_relevant_is_zero():
    assert ndcg_at_k(RANKED, {}, k=10) == 0.0
    assert ndcg_at_k(RANKED, {"a": 0}, k=10) == 0.0
    assert recall_at_k(RANKED, {}, k=10) == 0.0
    assert reciprocal_rank(RANKED, {}) == 0.0


def test_recall_by_hand():
    # relevant = {a, c, e}; top 3 = {a, b, c} -> 2 of 3
    assert recall_at_k(RANKED, QRELS, k=3) == pytest.approx(2 / 3)
    # top 1 = {a} -> 1 of 3
    assert recall_at_k(RANKED, QRELS, k=1) == pytest.approx(1 / 3)
    # strong fits only: {a, e}; top 3 holds a -> 1 of 2
    assert recall_at_k(RANKED, QRELS, k=3, min_grade=2) == pytest.approx(0.5)


def test_reciprocal_rank_by_hand():
    assert reciprocal_rank(RANKED, QRELS) == 1.0  # a at rank 1
    assert reciprocal_rank(["b", "d", "c"], QRELS) == pytest.approx(1 / 3)  # c at rank 3
    assert reciprocal_rank(["b", "d", "c"], QRELS, min_grade=2) == 0.0  # c is only partial
    assert reciprocal_rank(["b", "d", "c"], QRELS, k=2) == 0.0  # beyond the cut-off


@pytest.mark.parametrize("k", [0, -1, 1.5, True])
def test_bad_k(k):
    with pytest.raises(ValueError):
        ndcg_at_k(RANKED, QRELS, k=k)


def test_bad_gain():
    with pytest.raises(ValueError):
        ndcg_at_k(RANKED, QRELS, gain="cubic")


def test_bootstrap_constant_values_zero_width():
    # Every resample of [0.4, 0.4, 0.4] has mean 0.4.
    assert bootstrap_ci([0.4, 0.4, 0.4], random_state=0) == pytest.approx((0.4, 0.4))


def test_bootstrap_two_cases_by_hand():
    # Resampling [0, 1] twice gives means 0 (p=1/4), 0.5 (p=1/2), 1 (p=1/4);
    # the 2.5% and 97.5% quantiles of 2000 such means are 0 and 1.
    low, high = bootstrap_ci([0.0, 1.0], random_state=1)
    assert (low, high) == (0.0, 1.0)


def test_bootstrap_reproducible_and_brackets_mean():
    rng = np.random.default_rng(7)
    values = rng.uniform(size=60)
    a = bootstrap_ci(values, random_state=42)
    b = bootstrap_ci(values, random_state=42)
    assert a == b
    assert a[0] < values.mean() < a[1]
    # A wider confidence gives a wider interval.
    c = bootstrap_ci(values, confidence=0.5, random_state=42)
    assert a[0] <= c[0] <= c[1] <= a[1]
    # Standard error of the mean ~ 0.29/sqrt(60) = 0.037 -> 95% CI half-width ~ 0.07
    assert 0.03 < (a[1] - a[0]) / 2 < 0.12


def test_bootstrap_edge_cases():
    assert all(math.isnan(v) for v in bootstrap_ci([], random_state=0))
    assert bootstrap_ci([0.7], random_state=0) == (0.7, 0.7)
    with pytest.raises(ValueError):
        bootstrap_ci([1.0], confidence=1.0)
    # A custom statistic receives the (n_resamples, n_cases) matrix.
    low, high = bootstrap_ci([1.0, 2.0, 3.0], statistic=lambda s: s.max(axis=1), random_state=0)
    assert 1.0 <= low <= high == 3.0


def test_paired_bootstrap():
    # a - b = [1, 1, 1] -> mean 1, interval (1, 1)
    assert paired_bootstrap_ci([1, 1, 1], [0, 0, 0], random_state=0) == pytest.approx((1, 1, 1))
    with pytest.raises(ValueError):
        paired_bootstrap_ci([1, 2], [1])
