"""Maximal marginal relevance (Carbonell & Goldstein 1998) re-ranking."""

from __future__ import annotations

import numpy as np

__all__ = ["mmr"]


def mmr(relevance: np.ndarray, vectors: np.ndarray, diversity: float, k: int) -> np.ndarray:
    """Greedy MMR selection.

    At each step picks ``argmax (1 - diversity) * relevance - diversity * max_sim``, where
    ``max_sim`` is the highest cosine to an already selected item. ``diversity=0`` keeps
    the relevance order; near-duplicates (cosine ~1) of a selected item are pushed down
    by about ``diversity``.

    Args:
        relevance: ``(n,)`` relevance scores (e.g. fused scores), best first or not.
        vectors: ``(n, dim)`` L2-normalised vectors aligned with ``relevance``.
        diversity: Trade-off in 0..1.
        k: Number of items to select (clipped to ``n``).

    Returns:
        Positions into ``relevance``, in selection order; ties go to the lower position.
    """
    n = relevance.shape[0]
    k = min(k, n)
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    rel = (1.0 - diversity) * np.asarray(relevance, dtype=np.float64)
    sims = np.asarray(vectors, dtype=np.float64) @ np.asarray(vectors, dtype=np.float64).T
    max_sim = np.full(n, -np.inf)
    available = np.ones(n, dtype=bool)
    selected: list[int] = []
    for _ in range(k):
        # Before anything is selected there is no redundancy penalty.
        penalty = np.where(np.isfinite(max_sim), diversity * max_sim, 0.0)
        gain = np.where(available, rel - penalty, -np.inf)
        best = int(np.argmax(gain))  # argmax returns the first maximum
        selected.append(best)
        available[best] = False
        max_sim = np.maximum(max_sim, sims[best])
    return np.asarray(selected, dtype=np.int64)
