"""The one mapping from the ORM to the matcher: challenges, capabilities and startups as
``matcher.Item`` and the texts that get encoded."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import selectinload

import matcher
from models import Capability, Challenge, Startup

from ...database import db

#: Loader options for what :func:`challenge_item` reads, to map many challenges in two queries.
CHALLENGE_ROWS = (selectinload(Challenge.domain_rows), selectinload(Challenge.tag_rows))
#: Loader options for what :func:`capability_item` reads.
CAPABILITY_ROWS = (selectinload(Capability.domain_rows), selectinload(Capability.tag_rows))


def challenge_item(challenge: Challenge) -> matcher.Item:
    """The matcher's view of a challenge."""
    return matcher.Item(
        key=f"challenge:{challenge.id}",
        title=challenge.title,
        text="\n".join(p for p in (challenge.problem_statement, challenge.desired_outcomes) if p),
        domains=frozenset(challenge.domains),
        areas=frozenset([challenge.functional_area]),
        tags=frozenset(challenge.tags),
        language=challenge.language,
    )


def capability_item(capability: Capability) -> matcher.Item:
    """The matcher's view of a capability (grouped by startup: one row per startup)."""
    return matcher.Item(
        key=f"cap:{capability.id}",
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


def startup_queries() -> list[matcher.Item]:
    """Every startup with a capability, as the query of its recommendations."""
    startups = db.scalars(
        select(Startup).where(Startup.capabilities.any()).options(
            selectinload(Startup.capabilities).selectinload(Capability.domain_rows),
            selectinload(Startup.capabilities).selectinload(Capability.tag_rows),
        ).order_by(Startup.id)
    ).all()
    return [startup_item(s) for s in startups]


def dense_texts(items: Iterable[matcher.Item]) -> list[str]:
    """What the encoder reads of each item (title and text)."""
    return [matcher.dense_text(i.title, i.text) for i in items]
