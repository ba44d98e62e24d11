"""The one mapping from the ORM to the matcher: challenges, capabilities and startups as
``matcher.Item`` and the texts that get encoded."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import selectinload

import matcher
from models import (
    Capability,
    CapabilityDomain,
    CapabilityTag,
    Challenge,
    ChallengeDomain,
    ChallengeTag,
    Startup,
)

from ...database import db

#: Loader options for what :func:`challenge_item` reads, to map many challenges in two queries.
CHALLENGE_ROWS = (selectinload(Challenge.domain_rows), selectinload(Challenge.tag_rows))
#: Loader options for what :func:`capability_item` reads.
CAPABILITY_ROWS = (selectinload(Capability.domain_rows), selectinload(Capability.tag_rows))


def capability_key(capability_id: int) -> str:
    """A capability's item key in the capability corpus."""
    return f"cap:{capability_id}"


def challenge_item(challenge: Challenge) -> matcher.Item:
    """The matcher's view of a challenge."""
    return matcher.Item(
        key=f"challenge:{challenge.id}",
        title=challenge.title,
        text="\n".join(p for p in (challenge.problem_statement, challenge.desired_outcomes) if p),
        domains=frozenset(challenge.domains),
        areas=frozenset([challenge.functional_area] if challenge.functional_area else ()),
        tags=frozenset(challenge.tags),
        language=challenge.language,
    )


def capability_item(capability: Capability) -> matcher.Item:
    """The matcher's view of a capability (grouped by startup: one row per startup)."""
    return matcher.Item(
        key=capability_key(capability.id),
        title=capability.name,
        text="\n".join(p for p in (capability.description, capability.deployments) if p),
        domains=frozenset(capability.domains),
        tags=frozenset(capability.technologies),
        readiness=capability.readiness,
        language=capability.language,
        group=f"startup:{capability.startup_id}",
    )


def startup_item(startup: Startup) -> matcher.Item:
    """A startup as a query: its description and all its capabilities."""
    caps = startup.capabilities
    languages = [c.language for c in caps] or [startup.language]
    return matcher.Item(
        key=f"startup:{startup.id}",
        title=" / ".join(c.name for c in caps) or startup.name,
        text="\n".join([startup.description] + [f"{c.name}. {c.description}" for c in caps]),
        domains=frozenset(d for c in caps for d in c.domains),
        tags=frozenset(t for c in caps for t in c.technologies),
        readiness=max((c.readiness for c in caps), default=None),
        language=max(set(languages), key=languages.count),
    )


def startup_queries(limit: int | None = None) -> list[matcher.Item]:
    """Every startup with a capability (the first ``limit`` by id), as the query of its
    recommendations."""
    startups = db.scalars(
        select(Startup).where(Startup.capabilities.any()).options(
            selectinload(Startup.capabilities).selectinload(Capability.domain_rows),
            selectinload(Startup.capabilities).selectinload(Capability.tag_rows),
        ).order_by(Startup.id).limit(limit)
    ).all()
    return [startup_item(s) for s in startups]


def dense_texts(items: Iterable[matcher.Item]) -> list[str]:
    """What the encoder reads of each item (title and text)."""
    return [matcher.dense_text(i.title, i.text) for i in items]


# -- lean reads for the fitted corpora: plain rows, no ORM objects -----------------------------

#: Ids per IN list when reading the rows of changed items.
IDS_CHUNK = 500


@dataclass(frozen=True)
class Row:
    """A corpus item read without the ORM: the item, its owner (a capability's startup, a
    challenge itself) and, for a challenge, its status and closing date."""

    item: matcher.Item
    owner: int
    status: str | None = None
    closing_on: date | None = None


def _children(column: Any, value: Any, where: ColumnElement[bool] | None) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    stmt = select(column, value)
    if where is not None:
        stmt = stmt.where(where)
    for owner, text in db.execute(stmt):
        out.setdefault(owner, []).append(text)
    return out


def _chunks(ids: Collection[int] | None) -> list[list[int] | None]:
    if ids is None:
        return [None]
    ordered = sorted(ids)
    return [ordered[i : i + IDS_CHUNK] for i in range(0, len(ordered), IDS_CHUNK)]


def capability_rows(ids: Collection[int] | None = None) -> list[Row]:
    """Capabilities (all, or those of ``ids`` that exist) as :class:`Row`, by id; the same
    items as :func:`capability_item` in three plain queries a chunk, no ORM objects."""
    out: list[Row] = []
    for chunk in _chunks(ids):
        cap = Capability.__table__.c
        stmt = select(cap.id, cap.startup_id, cap.name, cap.description, cap.deployments, cap.readiness, cap.language)
        if chunk is not None:
            stmt = stmt.where(cap.id.in_(chunk))
        rows = db.execute(stmt.order_by(cap.id)).all()
        domains = _children(
            CapabilityDomain.capability_id, CapabilityDomain.domain,
            None if chunk is None else CapabilityDomain.capability_id.in_(chunk),
        )
        tags = _children(
            CapabilityTag.capability_id, CapabilityTag.tag, None if chunk is None else CapabilityTag.capability_id.in_(chunk)
        )
        for cid, startup_id, name, description, deployments, readiness, language in rows:
            item = matcher.Item(
                key=capability_key(cid),
                title=name,
                text="\n".join(p for p in (description, deployments) if p),
                domains=frozenset(domains.get(cid, ())),
                tags=frozenset(tags.get(cid, ())),
                readiness=readiness,
                language=language,
                group=f"startup:{startup_id}",
            )
            out.append(Row(item, startup_id))
    return out


def challenge_rows(ids: Collection[int] | None = None, where: ColumnElement[bool] | None = None) -> list[Row]:
    """Challenges (all, those of ``ids`` that exist, and/or those ``where`` holds) as
    :class:`Row`, by id; the same items as :func:`challenge_item`, without ORM objects."""
    out: list[Row] = []
    for chunk in _chunks(ids):
        ch = Challenge.__table__.c
        stmt = select(
            ch.id, ch.title, ch.problem_statement, ch.desired_outcomes, ch.functional_area, ch.language,
            ch.status, ch.closing_on,
        )
        if chunk is not None:
            stmt = stmt.where(ch.id.in_(chunk))
        if where is not None:
            stmt = stmt.where(where)
        rows = db.execute(stmt.order_by(ch.id)).all()
        found = [r[0] for r in rows]
        if not found:
            continue
        limit = ChallengeDomain.challenge_id.in_(found) if chunk is not None or where is not None else None
        domains = _children(ChallengeDomain.challenge_id, ChallengeDomain.domain, limit)
        tags = _children(
            ChallengeTag.challenge_id, ChallengeTag.tag,
            ChallengeTag.challenge_id.in_(found) if limit is not None else None,
        )
        for cid, title, problem, outcomes, area, language, status, closing_on in rows:
            item = matcher.Item(
                key=f"challenge:{cid}",
                title=title,
                text="\n".join(p for p in (problem, outcomes) if p),
                domains=frozenset(domains.get(cid, ())),
                areas=frozenset([area]),
                tags=frozenset(tags.get(cid, ())),
                language=language,
            )
            out.append(Row(item, cid, status, closing_on))
    return out
