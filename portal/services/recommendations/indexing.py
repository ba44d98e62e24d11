"""Encoding ahead of ranking: a saved challenge or capability at once, everything in bulk
(``flask matcher reindex``), so that a page view finds its vectors in the cache.

Two kinds of text are encoded: each item's whole text, which the rankers fit on, and the
sentences an explanation may quote as evidence (:func:`evidence_texts`), which the page
that explains a match would otherwise encode itself, in every worker and again after every
restart. A saved item's whole text is encoded in the request (the ranking needs it at once);
its sentences by a job after the commit (``portal.tasks.store_evidence``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import select

import matcher
from matcher.encoders import Role
from matcher.explain import evidence_sentences
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
from .settings import ranker_config

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


def evidence_texts(
    *, passages: Sequence[matcher.Item] = (), queries: Sequence[matcher.Item] = ()
) -> list[tuple[list[str], Role]]:
    """The sentences an explanation may quote (``matcher.explain.evidence_sentences``, as
    many as the ranker considers), each once: of ``passages`` as candidates, of ``queries``
    as the side that asked. Nothing when the ranker quotes no sentences."""
    config = ranker_config()
    if not config.explain_sentences:
        return []

    def sentences(items: Sequence[matcher.Item]) -> list[str]:
        return list(dict.fromkeys(s for item in items for s in evidence_sentences(item.text, config.max_sentences)))

    work: list[tuple[list[str], Role]] = [(sentences(passages), "passage"), (sentences(queries), "query")]
    return [(texts, role) for texts, role in work if texts]


def store_evidence(
    *, challenges: Sequence[Challenge] = (), capabilities: Sequence[Capability] = (), startups: Sequence[Startup] = ()
) -> int:
    """Encode and store the evidence sentences of these rows not stored yet (a challenge is
    explained both as a candidate and as the query, a capability as a candidate, a startup's
    profile as the query); return how many sentences were looked at."""
    done = 0
    for texts, role in evidence_texts(
        passages=[challenge_item(c) for c in challenges] + [capability_item(c) for c in capabilities],
        queries=[challenge_item(c) for c in challenges] + [startup_item(s) for s in startups],
    ):
        for start in range(0, len(texts), BATCH_SIZE):
            vectors_for(texts[start : start + BATCH_SIZE], role)
        done += len(texts)
    return done


def work_to_index() -> list[tuple[list[str], Role]]:
    """What :func:`reindex` encodes, by role: the whole texts, then their evidence sentences
    (``loadtest/seed_large.py`` encodes the same in bulk)."""
    challenges = [challenge_item(c) for c in db.scalars(select(Challenge).options(*CHALLENGE_ROWS))]
    capabilities = [capability_item(c) for c in db.scalars(select(Capability).options(*CAPABILITY_ROWS))]
    startups = startup_queries()
    return [
        (dense_texts(challenges + capabilities), "passage"),
        (dense_texts(challenges + startups), "query"),
        *evidence_texts(passages=challenges + capabilities, queries=challenges + startups),
    ]


Work = list[tuple[list[str], Role]]


def index_size(work: Work | None = None) -> int:
    """How many texts :func:`reindex` goes through (challenges twice, as corpus and as
    queries; capabilities; startups with a capability, as queries; then the sentences of
    each that an explanation may quote); pass the ``work`` given to ``reindex`` to build it once."""
    return sum(len(texts) for texts, _role in (work if work is not None else work_to_index()))


def reindex(
    progress: Callable[[int], object] | None = None,
    *,
    model: str | None = None,
    checkpoint: Callable[[], object] | None = None,
    work: Work | None = None,
) -> int:
    """Encode every text the rankers use that has no cached vector; return how many texts.

    Challenges and capabilities as corpus passages, challenges and startups as queries
    (query vectors also feed the per-language centering; a symmetric encoder reuses the
    passage vectors for them), then the evidence sentences of each. ``progress`` is called with each batch's size. ``model``
    encodes for that encoder instead of the configured one (vectors ahead of a model
    change: the processes then switch to a full cache). ``checkpoint`` (the commands and the
    job pass the session's commit) is called after each batch: a long re-encoding keeps what
    it stored if it stops, and holds no lock of the embeddings' unique index for long.
    ``work`` is :func:`work_to_index`'s list when the caller built it already.
    """
    done = 0
    for texts, role in work if work is not None else work_to_index():
        for start in range(0, len(texts), BATCH_SIZE):
            batch = texts[start : start + BATCH_SIZE]
            vectors_for(batch, role, model=model)
            if checkpoint is not None:
                checkpoint()
            done += len(batch)
            if progress is not None:
                progress(len(batch))
    return done
