"""Structured score: overlap of the filed categories and tags, plus a readiness prior.

``structured = sum(w_p * s_p) / sum(w_p)`` over the parts p that apply to the pair:

========== ====== ===========================================================
part       weight similarity
========== ====== ===========================================================
domains    0.35   Jaccard of domains, ignoring ``"other"`` (sharing "other"
                  says nothing); applies when either side has a real domain
areas      0.20   Jaccard of functional areas; applies when either side has one
tags       0.30   overlap coefficient ``|A & B| / min(|A|, |B|)``, so a startup
                  listing many tags is not penalised; applies when both have tags
readiness  0.15   ``(TRL - 1) / 8`` of the candidate; applies when it has a TRL
========== ====== ===========================================================

Parts that do not apply are left out of the denominator, so missing metadata is
neutral rather than a penalty; a pair where nothing applies scores 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .types import Item

__all__ = ["DEFAULT_STRUCTURED_WEIGHTS", "shared", "structured_score", "structured_scores"]

DEFAULT_STRUCTURED_WEIGHTS: dict[str, float] = {
    "domains": 0.35,
    "areas": 0.20,
    "tags": 0.30,
    "readiness": 0.15,
}
_IGNORED_DOMAINS = frozenset({"other"})


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def shared(query: Item, candidate: Item) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Shared domains (without ``"other"``), areas and tags, each sorted.

    Args:
        query: Query item.
        candidate: Candidate item.

    Returns:
        ``(domains, areas, tags)``.
    """
    return (
        tuple(sorted((query.domains & candidate.domains) - _IGNORED_DOMAINS)),
        tuple(sorted(query.areas & candidate.areas)),
        tuple(sorted(query.tags & candidate.tags)),
    )


def structured_score(
    query: Item, candidate: Item, weights: Mapping[str, float] = DEFAULT_STRUCTURED_WEIGHTS
) -> float:
    """Structured similarity of one pair (see the module docstring).

    Args:
        query: Query item.
        candidate: Candidate item.
        weights: Part weights; keys ``domains``, ``areas``, ``tags``, ``readiness``.

    Returns:
        Score in 0..1.
    """
    total = weight_sum = 0.0
    qd, cd = query.domains - _IGNORED_DOMAINS, candidate.domains - _IGNORED_DOMAINS
    if qd or cd:
        total += weights.get("domains", 0.0) * _jaccard(qd, cd)
        weight_sum += weights.get("domains", 0.0)
    if query.areas or candidate.areas:
        total += weights.get("areas", 0.0) * _jaccard(query.areas, candidate.areas)
        weight_sum += weights.get("areas", 0.0)
    if query.tags and candidate.tags:
        overlap = len(query.tags & candidate.tags) / min(len(query.tags), len(candidate.tags))
        total += weights.get("tags", 0.0) * overlap
        weight_sum += weights.get("tags", 0.0)
    if candidate.readiness is not None:
        total += weights.get("readiness", 0.0) * (candidate.readiness - 1) / 8.0
        weight_sum += weights.get("readiness", 0.0)
    return total / weight_sum if weight_sum > 0 else 0.0


def structured_scores(
    query: Item,
    candidates: Sequence[Item],
    ids: np.ndarray,
    weights: Mapping[str, float] = DEFAULT_STRUCTURED_WEIGHTS,
) -> np.ndarray:
    """Structured scores of the selected candidates.

    Args:
        query: Query item.
        candidates: All candidates.
        ids: Indices into ``candidates`` to score (the ranker's candidate pool).
        weights: Part weights.

    Returns:
        float64 array aligned with ``ids``.
    """
    return np.array(
        [structured_score(query, candidates[i], weights) for i in ids.tolist()], dtype=np.float64
    )
