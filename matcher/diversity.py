"""Maximal marginal relevance (Carbonell & Goldstein 1998) re-ranking."""

from __future__ import annotations

import numpy as np

__all__ = ["mmr"]


def mmr(
    relevance: np.ndarray,
    vectors: np.ndarray,
    diversity: float,
    k: int,
    *,
    threshold: float = 0.0,
) -> np.ndarray:
    """Greedy MMR selection with a redundancy threshold.

    At each step picks ``argmax (1 - diversity) * relevance - diversity * redundancy``,
    where ``redundancy = max(0, max_sim - threshold) / (1 - threshold)`` and ``max_sim``
    is the highest cosine to an already selected item. With ``threshold=0`` this is
    classic MMR (for non-negative similarities). A threshold such as 0.6 only penalises
    near-duplicates: plain classic MMR also reorders merely related items, which looks
    like a bug in a list shown with its scores when all relevances are low.

    Args:
        relevance: ``(n,)`` relevance scores (e.g. fused scores).
        vectors: ``(n, dim)`` L2-normalised vectors aligned with ``relevance``.
        diversity: Trade-off in 0..1; 0 keeps the relevance order.
        k: Number of items to select (clipped to ``n``).
        threshold: Cosine below which two items are not redundant at all (0..1).

    Returns:
        Positions into ``relevance``, in selection order; ties go to the lower position.
    """
    n = relevance.shape[0]
    k = min(k, n)
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    rel = (1.0 - diversity) * np.asarray(relevance, dtype=np.float64)
    v = np.asarray(vectors, dtype=np.float64)
    redundancy = np.clip((v @ v.T - threshold) / (1.0 - threshold), 0.0, None)
    worst = np.zeros(n)  # highest redundancy with anything selected so far
    available = np.ones(n, dtype=bool)
    selected: list[int] = []
    for _ in range(k):
        gain = np.where(available, rel - diversity * worst, -np.inf)
        best = int(np.argmax(gain))  # argmax returns the first maximum
        selected.append(best)
        available[best] = False
        worst = np.maximum(worst, redundancy[best])
    return np.asarray(selected, dtype=np.int64)
