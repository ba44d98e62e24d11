"""A challenge's proposals inbox: what the department's officers read of the proposals received,
one page at a time or two to four side by side, each with its match score and explanation."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from flask_babel import gettext as _
from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from models import Capability, Challenge, Proposal, Trial
from models.vocabulary import ProposalStatus

from ..database import db
from ..errors import DomainError
from . import recommendations
from .paging import Page, paginate

log = logging.getLogger("innomatch.inbox")

#: How many proposals the comparison page puts side by side.
COMPARE_MIN = 2
COMPARE_MAX = 4


@dataclass(frozen=True)
class Received:
    """One proposal as the inbox shows it."""

    proposal: Proposal
    #: The trial the proposal opened (its state says where the lab is with it).
    trial: Trial | None
    #: The recommender's score, components and explanation for the proposed capability.
    match: recommendations.Recommendation | None


#: A select of proposals (any filters).
Query = TypeVar("Query", bound=Select[Any])


def _with_details(stmt: Query) -> Query:
    """``stmt`` loading what a proposal's card shows, in a fixed number of queries."""
    return stmt.options(
        selectinload(Proposal.startup),
        selectinload(Proposal.capability).selectinload(Capability.domain_rows),
        selectinload(Proposal.capability).selectinload(Capability.tag_rows),
        selectinload(Proposal.shortlist_requested_by),
    )


def _received(challenge: Challenge, proposals: Sequence[Proposal]) -> list[Received]:
    """Attach each proposal's trial (one query) and match (one scoring of the challenge)."""
    startup_ids = [p.startup_id for p in proposals]
    trials = {
        t.startup_id: t
        for t in db.scalars(
            select(Trial).where(Trial.challenge_id == challenge.id, Trial.startup_id.in_(startup_ids))
        )
    } if startup_ids else {}
    try:
        matches = recommendations.pair_matches(challenge, [p.capability_id for p in proposals]) if proposals else {}
    except Exception:  # the scores help the reader; the proposals must show without them
        log.exception("match scores failed for challenge %s", challenge.id)
        matches = {}
    return [Received(p, trials.get(p.startup_id), matches.get(p.capability_id)) for p in proposals]


def received_proposals(challenge: Challenge, page: int, size: int) -> Page[Received]:
    """One page of the proposals ``challenge`` received, newest first, with trials and matches."""
    found: Page[Proposal] = paginate(
        _with_details(select(Proposal).where(Proposal.challenge_id == challenge.id))
        .order_by(Proposal.created_at.desc(), Proposal.id.desc()),
        page, size,
    )
    return Page(_received(challenge, found.items), found.total, found.page, found.pages)


def withdrawn_count(challenge: Challenge) -> int:
    """How many of ``challenge``'s proposals were withdrawn (listed, but not counted as current:
    the department's list of challenges counts the current ones)."""
    return db.scalar(
        select(func.count(Proposal.id)).where(
            Proposal.challenge_id == challenge.id, Proposal.status == ProposalStatus.WITHDRAWN
        )
    ) or 0


def compared_proposals(challenge: Challenge, proposal_ids: Sequence[int]) -> list[Received]:
    """Two to four proposals of ``challenge``, in the order asked, for the side-by-side page.

    Raises:
        DomainError: fewer than two or more than four proposals, or one not of this challenge.
    """
    wanted = list(dict.fromkeys(proposal_ids))
    if not COMPARE_MIN <= len(wanted) <= COMPARE_MAX:
        raise DomainError(
            _("Choose %(low)d to %(high)d proposals to compare.", low=COMPARE_MIN, high=COMPARE_MAX),
            field="proposal",
        )
    rows = db.scalars(
        _with_details(select(Proposal).where(Proposal.challenge_id == challenge.id, Proposal.id.in_(wanted)))
    ).all()
    by_id = {p.id: p for p in rows}
    if len(by_id) != len(wanted):
        raise DomainError(_("Choose proposals received for this challenge."), field="proposal")
    return _received(challenge, [by_id[i] for i in wanted])
