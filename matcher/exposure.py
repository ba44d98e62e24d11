"""Fair exposure: how the top-ten places across many queries are shared among candidates,
and an optional cap on any one candidate's share.

A recommender that ranks every open challenge independently can put the same few
startups in almost every top ten ("popularity bias"): the others are never seen.
:func:`exposure_report` measures it (each candidate's share of the top-k places, the Gini
coefficient of those shares, the most and least exposed); :func:`cap_exposure` re-ranks
the lists so that no candidate holds more than ``cap`` of all top-k places, moving a
capped candidate's places to the next candidates of each list, in score order.

The cap is greedy over the queries in the given order, with the queries where the
candidate ranks worst giving up their place first (so a startup keeps the places where
it matters most). It is pure: lists in, lists out.

No Flask or SQLAlchemy here: this is library code.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["ExposureReport", "cap_exposure", "exposure_report", "gini", "max_places"]

K = TypeVar("K", bound=Hashable)


def gini(values: Sequence[float]) -> float:
    """The Gini coefficient of non-negative values (0 = all equal, near 1 = one holds all).

    Args:
        values: One value per candidate (zeros included: a candidate never shown counts).

    Returns:
        Gini in 0..1 (0 for no values or all zero).
    """
    xs = sorted(float(v) for v in values)
    n = len(xs)
    total = sum(xs)
    if n == 0 or total <= 0:
        return 0.0
    weighted = sum((i + 1) * x for i, x in enumerate(xs))
    return (2.0 * weighted) / (n * total) - (n + 1.0) / n


@dataclass(frozen=True)
class ExposureReport:
    """How top-k places are shared.

    Attributes:
        queries: Lists counted.
        places: Top-k places filled in all.
        shares: Candidate -> its share of the places (every candidate, 0 if never shown).
        gini: Gini coefficient of the shares.
        most: The most exposed candidates, most first, with their shares.
        least: The least exposed, least first.
        never: Candidates in no top-k list.
    """

    queries: int
    places: int
    shares: dict[Hashable, float]
    gini: float
    most: list[tuple[Hashable, float]]
    least: list[tuple[Hashable, float]]
    never: int


def exposure_report(
    rankings: Sequence[Sequence[K]], candidates: Sequence[K] = (), k: int = 10, show: int = 5
) -> ExposureReport:
    """Measure how often each candidate appears in the top ``k`` of the lists.

    Args:
        rankings: One ranked list of candidate keys per query.
        candidates: Every candidate (so that those never shown count in the Gini); the
            keys found in ``rankings`` are added.
        k: Places per list counted.
        show: How many most and least exposed to list.

    Returns:
        The report.
    """
    counts: Counter[Hashable] = Counter()
    for ranked in rankings:
        counts.update(list(ranked)[:k])
    everyone = list(dict.fromkeys([*candidates, *counts]))
    places = sum(counts.values())
    shares = {c: (counts[c] / places if places else 0.0) for c in everyone}
    order = sorted(everyone, key=lambda c: (-shares[c], str(c)))
    return ExposureReport(
        queries=len(rankings),
        places=places,
        shares=shares,
        gini=round(gini(list(shares.values())), 6),
        most=[(c, shares[c]) for c in order[:show]],
        least=[(c, shares[c]) for c in reversed(order[-show:])] if order else [],
        never=sum(1 for c in everyone if counts[c] == 0),
    )


def max_places(cap: float, queries: int, k: int) -> int:
    """The most top-k places one candidate may hold under ``cap`` (at least 1).

    Args:
        cap: Share of all places, in (0, 1].
        queries: Lists.
        k: Places per list.

    Returns:
        ``floor(cap * queries * k)``, but at least 1.
    """
    return max(1, math.floor(cap * queries * k + 1e-9))


def cap_exposure(
    rankings: Sequence[Sequence[K]],
    cap: float | None,
    k: int = 10,
    scores: Sequence[Mapping[K, float]] | None = None,
) -> list[list[K]]:
    """Re-rank the lists so that no candidate holds more than ``cap`` of the top-k places.

    Each list keeps its order; a candidate over the cap is dropped from the lists where
    it ranks lowest (by position, or by ``scores`` when given) and the next candidates
    of those lists move up. A list that runs out of candidates is shorter.
    With ``cap=None`` (or a cap that binds no one) the lists come back unchanged.

    The bound holds whenever it can: a list's top k is filled from its own candidates, so
    with fewer distinct candidates than ``k / cap`` some lists may stay shorter than k.

    Args:
        rankings: One ranked list of candidate keys per query (longer than ``k`` gives
            the cap room to move candidates up).
        cap: Largest share of all top-k places one candidate may hold, in (0, 1]; None = off.
        k: Places per list that count.
        scores: Per list, candidate -> score, to decide where a capped candidate gives up
            its place (lowest score first); default its position.

    Returns:
        The lists without the places given up (their first ``k`` are the new top k).

    Raises:
        ValueError: ``cap`` outside (0, 1] or ``k < 1``.
    """
    lists = [list(dict.fromkeys(r)) for r in rankings]
    if cap is None:
        return lists
    if not 0.0 < cap <= 1.0:
        raise ValueError(f"cap must be in (0, 1], got {cap!r}")
    if k < 1:
        raise ValueError("k must be >= 1")
    # The bound is on the places actually filled; filled <= queries * k.
    limit = max_places(cap, len(lists), k)

    def strength(q: int, key: K) -> tuple[float, int]:
        pos = lists[q].index(key)
        if scores is not None and key in scores[q]:
            return (float(scores[q][key]), -pos)
        return (-float(pos), -pos)

    banned: list[set[K]] = [set() for _ in lists]
    while True:
        tops = [[c for c in ranked if c not in banned[q]][:k] for q, ranked in enumerate(lists)]
        holders: dict[K, list[int]] = {}
        for q, top in enumerate(tops):
            for key in top:
                holders.setdefault(key, []).append(q)
        over = {key: qs for key, qs in holders.items() if len(qs) > limit}
        if not over:
            break
        for key, qs in over.items():
            # Give up the places where the candidate is weakest.
            weakest = sorted(qs, key=lambda q: strength(q, key))
            for q in weakest[: len(qs) - limit]:
                banned[q].add(key)
    return [[c for c in ranked if c not in banned[q]] for q, ranked in enumerate(lists)]
