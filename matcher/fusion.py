"""Fusion of component scores into one 0..1 score.

Every fusion takes ``components``, an ``(n, 3)`` array whose columns follow
``matcher.types.COMPONENTS`` (semantic, lexical, structured; each already in 0..1),
and a weight vector of length 3, and returns ``(n,)`` scores in 0..1.

* ``"weighted"``: ``sum(w * x) / sum(w)``. Components are absolute, so scores are
  comparable across queries and ``min_score`` thresholds mean something.
* ``"minmax"``: the same after min-max scaling each column over the candidate pool
  (a constant column becomes 0); scores are relative to the pool.
* ``"rrf"``: weighted reciprocal rank fusion ``sum(w / (k + rank))`` (Cormack et al.
  2009), ranks starting at 1 with tied values sharing the best rank; a candidate with
  a component of 0 gets nothing from it (it was not "retrieved" by that signal).
  Divided by ``sum(w) / (k + 1)`` so that first place everywhere scores 1.
* ``"zscore"``: each column standardised (``(x - mean) / std``; over the rows, or over the
  ``reference`` the ranker passes: its whole corpus, topped up when small;
  Montague & Aslam 2001), the weighted mean of those z-scores (a constant column, such
  as structured metadata nobody filed, is left out of the mean), through the logistic
  ``1 / (1 + exp(-z / ZSCORE_SCALE))``.  Unlike min-max it does not let one outlying
  candidate set the scale of a whole column, and a signal whose scores are bunched
  together (most cosines within a few hundredths) counts as much as one whose scores
  are spread out.  Scores
  are relative to the population standardised over: 0.5 is its average candidate.  ``ZSCORE_SCALE`` only
  sets how the scores read (the order is the z-scores'): the best candidates of a pool
  lie some 2 to 6 standard deviations above its mean, which the scale 2 spreads over
  about 0.73 to 0.95 instead of bunching them above 0.9.  In a pool of n candidates no
  z-score exceeds sqrt(n - 1), so in a very small pool (a handful of candidates) even
  the best reads lower than it would among hundreds: the ranker passes ``reference``
  statistics instead of the pool's own (its whole corpus's, topped up from the
  configured ``RankerConfig.zscore_reference`` when the corpus is small), so that a
  pair's score means the same however many candidates there are.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["FUSIONS", "ZSCORE_SCALE", "minmax_fusion", "rrf_fusion", "weighted_fusion", "zscore_fusion"]

Fusion = Callable[..., np.ndarray]

#: Divides the mean z-score before the logistic of ``zscore_fusion`` (readability only).
ZSCORE_SCALE = 2.0


def _check(components: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    x = np.asarray(components, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != w.shape[0]:
        raise ValueError(f"components {x.shape} do not match weights {w.shape}")
    total = float(w.sum())
    if total <= 0 or np.any(w < 0):
        raise ValueError("weights must be non-negative and not all zero")
    return x, w, total


def weighted_fusion(components: np.ndarray, weights: np.ndarray, **_: object) -> np.ndarray:
    """Weighted mean of the components.

    Args:
        components: ``(n, c)`` scores in 0..1.
        weights: ``(c,)`` non-negative weights.

    Returns:
        ``(n,)`` fused scores in 0..1.
    """
    x, w, total = _check(components, weights)
    fused: np.ndarray = x @ w / total
    return fused


def minmax_fusion(components: np.ndarray, weights: np.ndarray, **_: object) -> np.ndarray:
    """Weighted mean after min-max scaling each component over the rows.

    Args:
        components: ``(n, c)`` scores.
        weights: ``(c,)`` non-negative weights.

    Returns:
        ``(n,)`` fused scores in 0..1.
    """
    x, w, total = _check(components, weights)
    if x.shape[0] == 0:
        return np.zeros(0)
    lo, hi = x.min(axis=0), x.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    scaled = np.where(hi > lo, (x - lo) / span, 0.0)
    fused: np.ndarray = scaled @ w / total
    return fused


def rrf_fusion(
    components: np.ndarray, weights: np.ndarray, *, rrf_k: int = 60, **_: object
) -> np.ndarray:
    """Weighted reciprocal rank fusion.

    Args:
        components: ``(n, c)`` scores; only their order within each column matters.
        weights: ``(c,)`` non-negative weights.
        rrf_k: The RRF constant; larger values flatten the rank curve.

    Returns:
        ``(n,)`` fused scores in 0..1.
    """
    x, w, total = _check(components, weights)
    fused = np.zeros(x.shape[0])
    for col in range(x.shape[1]):
        values = x[:, col]
        # Competition ("min") ranks: 1 + number of strictly larger values.
        sorted_desc = np.sort(values)[::-1]
        ranks = 1 + np.searchsorted(-sorted_desc, -values, side="left")
        fused += np.where(values > 0, w[col] / (rrf_k + ranks), 0.0)
    return fused / (total / (rrf_k + 1))


def zscore_fusion(
    components: np.ndarray,
    weights: np.ndarray,
    *,
    reference: tuple[np.ndarray, np.ndarray] | None = None,
    **_: object,
) -> np.ndarray:
    """Logistic of the weighted mean of the components' z-scores.

    Args:
        components: ``(n, c)`` scores.
        weights: ``(c,)`` non-negative weights.
        reference: ``(mean, sd)``, each ``(c,)``: the population each column is
            standardised against; None = the rows themselves.

    Returns:
        ``(n,)`` fused scores in 0..1 (0.5 for every row when no column varies).
    """
    x, w, _total = _check(components, weights)
    if x.shape[0] == 0:
        return np.zeros(0)
    if reference is None:
        mean, sd = x.mean(axis=0), x.std(axis=0)
    else:
        mean, sd = (np.asarray(r, dtype=np.float64) for r in reference)
        if mean.shape != (x.shape[1],) or sd.shape != (x.shape[1],):
            raise ValueError(f"reference {mean.shape}, {sd.shape} does not match components {x.shape}")
    varies = sd > 1e-12
    live = float(w[varies].sum())
    if live <= 0:
        return np.full(x.shape[0], 0.5)
    z = np.where(varies, (x - mean) / np.where(varies, sd, 1.0), 0.0)
    mean_z = z @ w / live
    fused: np.ndarray = 1.0 / (1.0 + np.exp(-mean_z / ZSCORE_SCALE))
    return fused


#: Fusion registry: ``RankerConfig.fusion`` value -> function.
FUSIONS: dict[str, Fusion] = {
    "weighted": weighted_fusion,
    "minmax": minmax_fusion,
    "rrf": rrf_fusion,
    "zscore": zscore_fusion,
}
