"""Plain value types shared by the whole matcher: what goes in and what comes out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["AREAS", "COMPONENTS", "DOMAINS", "Explanation", "Item", "Match", "Role"]

#: Business domains a challenge or capability can be filed under.
DOMAINS: tuple[str, ...] = (
    "health_regulation",
    "smart_clinic",
    "workflow_reengineering",
    "customer_service",
    "public_engagement",
    "data_collaboration",
    "other",
)
#: Functional areas of the Department of Health.
AREAS: tuple[str, ...] = ("regulation", "protection_promotion", "administration", "dental_clinical")
#: Score components, in the column order used by fusion and by ``matcher.learning``.
COMPONENTS: tuple[str, ...] = ("semantic", "lexical", "structured")
#: What a text is encoded as: asymmetric models (e5) embed queries and passages differently.
Role = Literal["query", "passage"]


def _frozen(values: Iterable[str] | None, *, lower: bool = False) -> frozenset[str]:
    if not values:
        return frozenset()
    if isinstance(values, str):
        # A bare string would otherwise be split into characters.
        values = (values,)
    return frozenset(v.strip().lower() if lower else v.strip() for v in values if v and v.strip())


@dataclass(frozen=True)
class Item:
    """A challenge or a capability, as the matcher sees it.

    Set-valued fields accept any iterable of strings (lists from JSON, sets) and are
    stored as frozensets; tags are lower-cased so that "AI" and "ai" overlap.

    Attributes:
        key: Caller's id, e.g. ``"cap:12"`` or ``"challenge:3"``; unique within a corpus.
        text: Full text used for lexical and dense scoring.
        title: Short title; prepended to the text for dense encoding (see
            ``matcher.text.dense_text``).
        domains: Keys from :data:`DOMAINS`.
        areas: Keys from :data:`AREAS`.
        tags: Technology tags.
        readiness: Technology readiness level 1..9 (candidates), or None if unknown.
        language: ``"en"`` or ``"zh-Hant"``.
        group: Results keep only the best item per group (e.g. one row per startup).
    """

    key: str
    text: str
    title: str = ""
    domains: frozenset[str] = frozenset()
    areas: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    readiness: int | None = None
    language: str = "en"
    group: str | None = None

    def __post_init__(self) -> None:
        # Frozen dataclass: normalise through object.__setattr__.
        object.__setattr__(self, "domains", _frozen(self.domains))
        object.__setattr__(self, "areas", _frozen(self.areas))
        object.__setattr__(self, "tags", _frozen(self.tags, lower=True))
        if self.readiness is not None and not 1 <= int(self.readiness) <= 9:
            raise ValueError(f"readiness must be in 1..9, got {self.readiness!r}")


@dataclass(frozen=True)
class Explanation:
    """Why a candidate matched a query; every field is derived from real overlap.

    Attributes:
        shared_domains: Domains present on both items (``"other"`` excluded).
        shared_areas: Functional areas present on both items.
        shared_tags: Technology tags present on both items.
        key_terms: Terms occurring in both texts, ordered by their contribution to the
            lexical score (best first). Each is a lower-cased, NFKC-normalised substring
            of both texts.
        best_pair: ``(query_sentence, candidate_sentence, cosine)`` of the most similar
            sentence pair, or None when no encoder was available or explanation of
            sentences was disabled.
        components: Component scores (``semantic``, ``lexical``, ``structured``), 0..1.
        raw: Absolute measures behind the components: ``"bm25"``, the pair's raw
            lexical score (the ``lexical`` component divides it by the best candidate's),
            for strengths on a fixed scale (:mod:`matcher.bands`).
    """

    shared_domains: tuple[str, ...] = ()
    shared_areas: tuple[str, ...] = ()
    shared_tags: tuple[str, ...] = ()
    key_terms: tuple[str, ...] = ()
    best_pair: tuple[str, str, float] | None = None
    components: dict[str, float] = field(default_factory=dict)
    raw: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict (lists instead of tuples).

        Returns:
            Dict with the same keys as the attributes; ``best_pair`` becomes
            ``{"query": ..., "candidate": ..., "score": ...}`` or None.
        """
        pair = None
        if self.best_pair is not None:
            q, c, s = self.best_pair
            pair = {"query": q, "candidate": c, "score": float(s)}
        return {
            "shared_domains": list(self.shared_domains),
            "shared_areas": list(self.shared_areas),
            "shared_tags": list(self.shared_tags),
            "key_terms": list(self.key_terms),
            "best_pair": pair,
            "components": {k: float(v) for k, v in self.components.items()},
            "raw": {k: float(v) for k, v in self.raw.items()},
        }


@dataclass(frozen=True)
class Match:
    """One ranked result.

    Attributes:
        index: Position of the candidate in the candidate sequence given to the ranker.
        key: The candidate's ``Item.key``.
        score: Fused score in 0..1 (higher is better). With diversity re-ranking on,
            the list order may deviate slightly from score order.
        components: ``semantic``, ``lexical`` and ``structured`` scores, each 0..1.
        explanation: Human-readable evidence for the match.
        group: The candidate's ``Item.group``.
    """

    index: int
    key: str
    score: float
    components: dict[str, float]
    explanation: Explanation
    group: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict of the match including its explanation.

        Returns:
            Dict with ``index``, ``key``, ``score``, ``components``, ``group`` and
            ``explanation`` (see :meth:`Explanation.to_dict`).
        """
        return {
            "index": self.index,
            "key": self.key,
            "score": float(self.score),
            "components": {k: float(v) for k, v in self.components.items()},
            "group": self.group,
            "explanation": self.explanation.to_dict(),
        }
