"""Encoding ahead of ranking: a saved challenge or capability at once, everything in bulk
(``flask matcher reindex``), so that a page view finds its vectors in the cache."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select

from matcher.encoders import Role
from models import Capability, Challenge, Startup

from ... import clock
from ...database import db
from .embeddings import vectors_for
from .items import (
    CAPABILITY_ROWS,
    CHALLENGE_ROWS,
    capability_item,
    challenge_item,
    dense_texts,
    startup_item,
    startup_queries,
)

#: Texts encoded per batch by :func:`reindex`.
BATCH_SIZE = 64


def challenge_changed(challenge: Challenge) -> None:
    """Encode a saved challenge now, so its recommendations are ready."""
    # Tag and domain rows do not touch the parent row; bump it so corpus caches refresh.
    challenge.updated_at = clock.now()
    db.flush()
    texts = dense_texts([challenge_item(challenge)])
    # As a candidate for startups, and as the query that ranks capabilities for it.
    vectors_for(texts, "passage")
    vectors_for(texts, "query")


def capability_changed(capability: Capability) -> None:
    """Encode a saved capability now, so rankings include it at once."""
    capability.updated_at = clock.now()
    db.flush()
    vectors_for(dense_texts([capability_item(capability)]), "passage")
    # The startup's profile, its capabilities together, is the query of its recommendations.
    startup = db.get(Startup, capability.startup_id)
    if startup is not None:
        db.refresh(startup, ["capabilities"])
        vectors_for(dense_texts([startup_item(startup)]), "query")


def index_size() -> int:
    """How many texts :func:`reindex` goes through (challenges twice, as corpus and as
    queries; capabilities; startups with a capability, as queries)."""
    challenges = db.scalar(select(func.count()).select_from(Challenge)) or 0
    capabilities = db.scalar(select(func.count()).select_from(Capability)) or 0
    startups = db.scalar(select(func.count()).select_from(Startup).where(Startup.capabilities.any())) or 0
    return 2 * challenges + capabilities + startups


def reindex(progress: Callable[[int], object] | None = None, *, model: str | None = None) -> int:
    """Encode every text the rankers use that has no cached vector; return how many texts.

    Challenges and capabilities as corpus passages, challenges and startups as queries
    (query vectors also feed the per-language centering; a symmetric encoder reuses the
    passage vectors for them). ``progress`` is called with each batch's size. ``model``
    encodes for that encoder instead of the configured one (vectors ahead of a model
    change: the processes then switch to a full cache).
    """
    challenges = [challenge_item(c) for c in db.scalars(select(Challenge).options(*CHALLENGE_ROWS))]
    capabilities = [capability_item(c) for c in db.scalars(select(Capability).options(*CAPABILITY_ROWS))]
    work: list[tuple[list[str], Role]] = [
        (dense_texts(challenges + capabilities), "passage"),
        (dense_texts(challenges + startup_queries()), "query"),
    ]
    done = 0
    for texts, role in work:
        for start in range(0, len(texts), BATCH_SIZE):
            batch = texts[start : start + BATCH_SIZE]
            vectors_for(batch, role, model=model)
            done += len(batch)
            if progress is not None:
                progress(len(batch))
    return done
