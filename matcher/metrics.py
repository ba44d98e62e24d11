"""Ranking-quality metrics for the matcher's offline evaluation (numpy only).

Conventions shared by every function here:

* ``ranked`` is the system's ranking for one query: a sequence of candidate keys,
  best first.  A key that appears again later in the same ranking is ignored
  (the first occurrence counts), as trec_eval does.
* ``qrels`` maps candidate key -> graded relevance for that query.  Grades are
  non-negative numbers; in InnoMatch's cases files they are 1 (partial fit) and
  2 (strong fit).  Keys missing from ``qrels`` are non-relevant (grade 0).
* A query with no relevant candidate scores 0.0 on every metric.  The
  evaluation harness drops such queries before averaging, so this only matters
  to direct callers.

nDCG uses the **exponential gain** ``2**grade - 1`` by default (Burges et al.
2005, the form used by most learning-to-rank toolkits and by MS MARCO/TREC
deep-learning evaluations): a strong fit (grade 2, gain 3) is worth three
partial fits (grade 1, gain 1) at the same rank.  ``gain="linear"`` uses the
grade itself (Järvelin & Kekäläinen 2002), where it is worth two.  The
discount is ``1 / log2(rank + 1)`` with ranks starting at 1, and the ideal
ranking sorts *all* judged candidates of the query by grade, so nDCG@k is 1.0
exactly when the top k are the k best-graded candidates in grade order.

Recall@k and reciprocal rank count a candidate as relevant when its grade is at
least ``min_grade`` (default 1, i.e. partial fits count).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Literal, TypeVar

import numpy as np

Gain = Literal["exponential", "linear"]
#: A candidate key (an id); ``ranked`` and ``qrels`` of one call use the same kind.
K = TypeVar("K", bound=Hashable)

__all__ = [
    "bootstrap_ci",
    "dcg",
    "ndcg_at_k",
    "paired_bootstrap_ci",
    "recall_at_k",
    "reciprocal_rank",
]


def _check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return int(k)


def _dedup(ranked: Sequence[K]) -> list[K]:
    return list(dict.fromkeys(ranked))


def _gains(grades: np.ndarray, gain: Gain) -> np.ndarray:
    if gain == "exponential":
        gains: np.ndarray = np.exp2(grades) - 1.0
        return gains
    if gain == "linear":
        return grades
    raise ValueError(f"gain must be 'exponential' or 'linear', got {gain!r}")


def dcg(grades: Sequence[float], k: int | None = None, gain: Gain = "exponential") -> float:
    """Discounted cumulative gain of grades listed in rank order (rank 1 first).

    Args:
        grades: Non-negative grades, best-ranked first.
        k: Cut-off (None = all).
        gain: ``"exponential"`` (``2**grade - 1``) or ``"linear"``.

    Returns:
        The DCG (0.0 for no grades).
    """
    g = np.asarray(grades, dtype=np.float64)
    if k is not None:
        g = g[: _check_k(k)]
    if g.size == 0:
        return 0.0
    if np.any(g < 0):
        raise ValueError("relevance grades must be non-negative")
    discounts = 1.0 / np.log2(np.arange(2, g.size + 2, dtype=np.float64))
    return float(np.dot(_gains(g, gain), discounts))


def ndcg_at_k(
    ranked: Sequence[K],
    qrels: Mapping[K, float],
    k: int = 10,
    gain: Gain = "exponential",
) -> float:
    """Normalised DCG of the top ``k`` of ``ranked`` against graded ``qrels``.

    Args:
        ranked: Candidate keys, best first.
        qrels: Candidate key -> grade.
        k: Cut-off.
        gain: ``"exponential"`` or ``"linear"``.

    Returns:
        nDCG@k in 0..1 (0.0 when nothing is relevant).
    """
    k = _check_k(k)
    ideal_grades = sorted((float(v) for v in qrels.values() if v > 0), reverse=True)
    ideal = dcg(ideal_grades, k, gain)
    if ideal == 0.0:
        return 0.0
    top = _dedup(ranked)[:k]
    got = dcg([float(qrels.get(key, 0.0)) for key in top], k, gain)
    return got / ideal


def recall_at_k(
    ranked: Sequence[K],
    qrels: Mapping[K, float],
    k: int = 10,
    min_grade: float = 1,
) -> float:
    """Share of the relevant candidates (grade >= ``min_grade``) found in the top ``k``.

    Args:
        ranked: Candidate keys, best first.
        qrels: Candidate key -> grade.
        k: Cut-off.
        min_grade: Lowest grade that counts as relevant.

    Returns:
        Recall@k in 0..1 (0.0 when nothing is relevant).
    """
    k = _check_k(k)
    relevant = {key for key, grade in qrels.items() if grade >= min_grade and grade > 0}
    if not relevant:
        return 0.0
    found = sum(1 for key in _dedup(ranked)[:k] if key in relevant)
    return found / len(relevant)


def reciprocal_rank(
    ranked: Sequence[K],
    qrels: Mapping[K, float],
    min_grade: float = 1,
    k: int | None = None,
) -> float:
    """1 / rank of the first relevant candidate.

    Args:
        ranked: Candidate keys, best first.
        qrels: Candidate key -> grade.
        min_grade: Lowest grade that counts as relevant.
        k: Cut-off (None = the whole ranking).

    Returns:
        The reciprocal rank, 0.0 if no relevant candidate is within the cut-off.
    """
    top = _dedup(ranked)
    if k is not None:
        top = top[: _check_k(k)]
    for rank, key in enumerate(top, start=1):
        grade = qrels.get(key, 0)
        if grade >= min_grade and grade > 0:
            return 1.0 / rank
    return 0.0


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    random_state: int | np.random.Generator | None = None,
    statistic: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of a per-case statistic.

    ``values`` holds one score per case (query).  Cases are resampled with
    replacement ``n_resamples`` times; the statistic (default: the mean) of each
    resample is computed and the ``(1 - confidence) / 2`` and
    ``(1 + confidence) / 2`` quantiles of those statistics are returned.
    ``statistic``, if given, receives a ``(n_resamples, n_cases)`` array and must
    return one value per row.  ``random_state`` makes the interval reproducible.
    One case gives a zero-width interval; no case gives ``(nan, nan)``.

    Args:
        values: One score per case.
        confidence: Confidence level in (0, 1).
        n_resamples: Bootstrap resamples.
        random_state: Seed or generator.
        statistic: Row-wise statistic of the resamples; default the mean.

    Returns:
        ``(low, high)``.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be positive, got {n_resamples!r}")
    x = np.asarray(values, dtype=np.float64).ravel()
    if x.size == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(random_state)
    idx = rng.integers(0, x.size, size=(n_resamples, x.size))
    samples = x[idx]
    stats = samples.mean(axis=1) if statistic is None else np.asarray(statistic(samples))
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(stats, [alpha, 1.0 - alpha])
    return (float(low), float(high))


def paired_bootstrap_ci(
    a: Sequence[float],
    b: Sequence[float],
    confidence: float = 0.95,
    n_resamples: int = 2000,
    random_state: int | np.random.Generator | None = None,
) -> tuple[float, float, float]:
    """Mean of ``a - b`` over paired cases and its bootstrap interval.

    Use it to compare two rankers on the same queries: if the interval excludes
    0 the difference is unlikely to be resampling noise.

    Args:
        a: One score per case.
        b: The other ranker's scores of the same cases, in the same order.
        confidence: Confidence level in (0, 1).
        n_resamples: Bootstrap resamples.
        random_state: Seed or generator.

    Returns:
        ``(mean_difference, low, high)``.
    """
    xa = np.asarray(a, dtype=np.float64).ravel()
    xb = np.asarray(b, dtype=np.float64).ravel()
    if xa.shape != xb.shape:
        raise ValueError(f"paired samples differ in length: {xa.size} vs {xb.size}")
    diff = xa - xb
    low, high = bootstrap_ci(diff, confidence, n_resamples, random_state)
    mean = float(diff.mean()) if diff.size else float("nan")
    return (mean, low, high)
