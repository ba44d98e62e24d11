"""Panel scoring: a challenge's published evaluation criteria, and the panel's scores of its proposals.

Each challenge publishes the criteria its proposals are assessed against, with weights that
add up to 100. They start from the lab's template (:data:`TEMPLATE`) and the challenge's
officers may change them until the challenge opens; opening fixes them (a receiver of
``challenge_opened`` stores the template for a challenge whose officers kept it).

The panel of a proposal is the lab's coordinators and the challenge's department's officers,
less anyone with a declared or detected conflict of interest with the proposing startup. Each
member scores the proposal 1 to 5 against every criterion, with a comment. A member's
weighted total is ``sum(weight * score) / sum(weight)`` (1 to 5) once they have scored every
criterion; a proposal's total is the mean of its members' totals, and its spread the
difference between the highest and the lowest. Scores lock once the lab has decided on the
proposal's trial (or the proposal was withdrawn).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import fmean
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from models import Challenge, EvaluationCriterion, PanelScore, Proposal, Startup, Trial, User
from models.vocabulary import ChallengeStatus, ProposalStatus, Role, TrialState

from .. import signals
from ..access import can_edit_challenge, can_sit_on_panel
from ..database import db
from ..errors import DomainError, NotAllowed, StaleState
from . import audit, conflicts

#: The lab's template: (key, weight). The words for each key are in ``portal.labels``.
TEMPLATE: tuple[tuple[str, int], ...] = (
    ("fit", 30),
    ("maturity", 20),
    ("feasibility", 20),
    ("privacy", 15),
    ("value", 15),
)
CRITERIA_MAX = 8
NAME_MAX = 120
DESCRIPTION_MAX = 500
COMMENT_MAX = 2000
SCORE_MIN, SCORE_MAX = 1, 5
CRITERION_FIELDS = ("position", "key", "name", "description", "weight")
SCORE_FIELDS = ("proposal_id", "criterion_id", "score", "comment")
#: A proposal's scores lock once the lab has decided on its trial, or the startup withdrew.
LOCKED_TRIAL_STATES = (*TrialState.DECIDED, TrialState.WITHDRAWN)


@dataclass(frozen=True)
class CriterionInput:
    """One criterion as an officer typed it (``key`` kept while a template criterion is unchanged)."""

    name: str
    description: str
    weight: int
    key: str | None = None


@dataclass(frozen=True)
class Criterion:
    """A criterion as pages show it: stored, or from the template while the officers kept it."""

    key: str | None
    name: str
    description: str
    weight: int
    id: int | None = None


# -- criteria ------------------------------------------------------------------------------


def stored_criteria(challenge: Challenge) -> list[EvaluationCriterion]:
    """The challenge's stored criteria, in their order (empty while it uses the template)."""
    return list(
        db.scalars(
            select(EvaluationCriterion)
            .where(EvaluationCriterion.challenge_id == challenge.id)
            .order_by(EvaluationCriterion.position)
        )
    )


def criteria_of(challenge: Challenge) -> list[Criterion]:
    """The criteria published for ``challenge``: its own, or the lab's template."""
    rows = stored_criteria(challenge)
    if rows:
        return [Criterion(r.key, r.name, r.description, r.weight, r.id) for r in rows]
    return [Criterion(key, "", "", weight) for key, weight in TEMPLATE]


def _check_criteria(items: Sequence[CriterionInput]) -> list[CriterionInput]:
    """The criteria to store, or a ``DomainError`` that says what is wrong."""
    kept = [c for c in items if c.name.strip() or c.key]
    if not kept:
        raise DomainError(_("Give at least one criterion."), field="name_1")
    if len(kept) > CRITERIA_MAX:
        raise DomainError(_("Use at most %(n)d criteria.", n=CRITERIA_MAX), field="name_1")
    for position, c in enumerate(kept, start=1):
        if len(c.name) > NAME_MAX:
            raise DomainError(_("Use at most %(n)d characters.", n=NAME_MAX), field=f"name_{position}")
        if len(c.description) > DESCRIPTION_MAX:
            raise DomainError(_("Use at most %(n)d characters.", n=DESCRIPTION_MAX), field=f"description_{position}")
        if not 1 <= c.weight <= 100:
            raise DomainError(_("Give each criterion a weight from 1 to 100."), field=f"weight_{position}")
        if c.key is not None and c.key not in dict(TEMPLATE):
            raise DomainError(_("Choose a criterion of the lab's template."), field=f"name_{position}")
    total = sum(c.weight for c in kept)
    if total != 100:
        raise DomainError(_("The weights add up to %(n)d; make them add up to 100.", n=total), field="weight_1")
    return kept


def _criteria_snapshot(challenge: Challenge) -> dict[str, Any]:
    return {
        f"criteria[{c.position}]": audit.snapshot(c, CRITERION_FIELDS) for c in stored_criteria(challenge)
    }


def save_criteria(officer: User, challenge: Challenge, items: Sequence[CriterionInput]) -> list[EvaluationCriterion]:
    """Replace the criteria of a draft challenge of the officer's department.

    Raises:
        NotAllowed: not an officer of the challenge's department.
        StaleState: the challenge is no longer a draft (its criteria are published).
        DomainError: no criterion, too many, a long text, or weights that do not add up to 100.
    """
    if not can_edit_challenge(officer, challenge):
        raise NotAllowed(_("Only the challenge's department sets its evaluation criteria."))
    if challenge.status != ChallengeStatus.DRAFT:
        raise StaleState(_("The criteria are fixed once the challenge is open."))
    kept = _check_criteria(items)
    before = _criteria_snapshot(challenge)
    for row in stored_criteria(challenge):
        db.delete(row)
    db.flush()
    rows = [
        EvaluationCriterion(
            challenge_id=challenge.id, position=position, key=c.key,
            name="" if c.key else c.name.strip(), description="" if c.key else c.description.strip(),
            weight=c.weight,
        )
        for position, c in enumerate(kept, start=1)
    ]
    db.add_all(rows)
    db.flush()
    signals.changed(officer, "challenge.criteria", challenge, before, _criteria_snapshot(challenge))
    return rows


def fix_criteria(challenge: Challenge) -> list[EvaluationCriterion]:
    """Store the template as the challenge's criteria if it has none (when it opens)."""
    rows = stored_criteria(challenge)
    if rows:
        return rows
    rows = [
        EvaluationCriterion(challenge_id=challenge.id, position=position, key=key, weight=weight)
        for position, (key, weight) in enumerate(TEMPLATE, start=1)
    ]
    db.add_all(rows)
    db.flush()
    return rows


# -- the panel -----------------------------------------------------------------------------


def panel_members(challenge: Challenge, scorers: Collection[int] = ()) -> list[User]:
    """Who sits on the challenge's panels: the lab's coordinators and its department's officers;
    an administrator (who may score, as staff) only once among ``scorers``, so that the panel
    table does not list every administrator as waiting to score."""
    return list(
        db.scalars(
            select(User)
            .where(
                User.is_active.is_(True),
                or_(
                    User.role == Role.COORDINATOR,
                    (User.role == Role.OFFICER) & (User.department_id == challenge.department_id),
                    (User.role == Role.ADMIN) & User.id.in_(list(scorers)),
                ),
            )
            .order_by(User.display_name, User.id)
        )
    )


def trial_of(proposal: Proposal) -> Trial | None:
    """The trial the proposal opened."""
    return db.scalar(select(Trial).where(Trial.proposal_id == proposal.id))


def locked_reason(proposal: Proposal, trial: Trial | None = None) -> str | None:
    """Why the proposal's scores can no longer change, or None while they can."""
    if proposal.status == ProposalStatus.WITHDRAWN:
        return _("The startup withdrew this proposal, so its scores are locked.")
    trial = trial if trial is not None else trial_of(proposal)
    if trial is not None and trial.status in LOCKED_TRIAL_STATES:
        return _("The lab has decided on this proposal, so its scores are locked.")
    return None


def check_scorer(user: User, proposal: Proposal) -> None:
    """Raise ``NotAllowed`` unless ``user`` sits on the proposal's panel (no conflict of interest)."""
    if not can_sit_on_panel(user, proposal.challenge):
        raise NotAllowed(_("Only the lab's coordinators and the challenge's department score its proposals."))
    if conflicts.has_conflict(user, proposal.startup_id):
        raise NotAllowed(_("You have a conflict of interest with this startup, so you are not on its panel."))


def scores_by(user: User, proposal: Proposal) -> dict[int, PanelScore]:
    """``user``'s scores of the proposal, by criterion id."""
    return {
        s.criterion_id: s
        for s in db.scalars(
            select(PanelScore).where(PanelScore.proposal_id == proposal.id, PanelScore.scorer_id == user.id)
        )
    }


def score_proposal(
    user: User, proposal: Proposal, scores: Mapping[int, tuple[int, str]]
) -> list[PanelScore]:
    """Record ``user``'s scores of ``proposal``: ``{criterion id: (score, comment)}`` for every criterion.

    Scoring again replaces the member's earlier scores.

    Raises:
        NotAllowed: not on the proposal's panel (role, department or conflict of interest).
        StaleState: the scores are locked (the lab decided, or the proposal was withdrawn).
        DomainError: a criterion left out or not the challenge's, a score outside 1 to 5, a long comment.
    """
    check_scorer(user, proposal)
    reason = locked_reason(proposal)
    if reason:
        raise StaleState(reason)
    criteria = fix_criteria(proposal.challenge)
    ids = {c.id for c in criteria}
    if set(scores) - ids:
        raise DomainError(_("Score the criteria of this challenge."), field=None)
    for c in criteria:
        if c.id not in scores:
            raise DomainError(_("Score every criterion."), field=f"score_{c.id}")
        score, comment = scores[c.id]
        if not SCORE_MIN <= score <= SCORE_MAX:
            raise DomainError(_("Give a score from 1 to 5."), field=f"score_{c.id}")
        if len(comment) > COMMENT_MAX:
            raise DomainError(_("Use at most %(n)d characters.", n=COMMENT_MAX), field=f"comment_{c.id}")
    existing = scores_by(user, proposal)
    saved = []
    for c in criteria:
        score, comment = scores[c.id]
        row = existing.get(c.id)
        if row is None:
            row = PanelScore(proposal_id=proposal.id, criterion_id=c.id, scorer_id=user.id,
                             score=score, comment=comment.strip())
            db.add(row)
            before = None
        else:
            before = audit.snapshot(row, SCORE_FIELDS)
            row.score, row.comment = score, comment.strip()
        try:
            db.flush()
        except IntegrityError as error:  # the same member scoring from another tab at the same moment
            raise StaleState(_("Your scores were saved from another window; reload the page.")) from error
        after = audit.snapshot(row, SCORE_FIELDS)
        if before != after:
            signals.changed(user, "proposal.score", row, before, after)
        saved.append(row)
    return saved


def declare_panel_conflict(user: User, proposal: Proposal, reason: str) -> None:
    """A panel member declares a conflict of interest with the proposing startup (off its panel)."""
    if not can_sit_on_panel(user, proposal.challenge):
        raise NotAllowed(_("Only the lab's coordinators and the challenge's department score its proposals."))
    startup = db.get(Startup, proposal.startup_id)
    if startup is None:  # pragma: no cover - the proposal's foreign key keeps it
        raise StaleState(_("This startup no longer exists."))
    conflicts.declare_conflict(user, startup, reason)


# -- the side-by-side table ---------------------------------------------------------------


@dataclass
class ProposalPanel:
    """One proposal's row of the panel table."""

    proposal: Proposal
    trial: Trial | None
    #: Mean score per criterion id over the members who scored it.
    means: dict[int, float] = field(default_factory=dict)
    #: Each member's weighted total (1 to 5), for those who scored every criterion.
    totals: dict[int, float] = field(default_factory=dict)
    #: Panel members who have not scored every criterion yet.
    pending: list[User] = field(default_factory=list)
    #: Members kept off the panel by a conflict of interest.
    conflicted: list[User] = field(default_factory=list)
    locked: str | None = None

    @property
    def total(self) -> float | None:
        """The mean of the members' weighted totals (1 to 5), or None before anyone has finished."""
        return fmean(self.totals.values()) if self.totals else None

    @property
    def spread(self) -> float | None:
        """The highest member total less the lowest (0 when they agree), or None with fewer than two."""
        return max(self.totals.values()) - min(self.totals.values()) if len(self.totals) > 1 else None

    @property
    def percent(self) -> int | None:
        """The total on a 0 to 100 scale (1 is 0, 5 is 100)."""
        return None if self.total is None else round((self.total - SCORE_MIN) / (SCORE_MAX - SCORE_MIN) * 100)


def weighted_total(criteria: Sequence[EvaluationCriterion], scores: Mapping[int, int]) -> float | None:
    """``sum(weight * score) / sum(weight)`` over ``criteria``, or None if one is not scored."""
    if any(c.id not in scores for c in criteria):
        return None
    weights = sum(c.weight for c in criteria)
    return sum(c.weight * scores[c.id] for c in criteria) / weights


def panel_table(challenge: Challenge) -> tuple[list[EvaluationCriterion] | list[Criterion], list[ProposalPanel]]:
    """The challenge's criteria and, per proposal not withdrawn, its panel's scores, best total first.

    A challenge opened before its criteria were stored (rows written outside the services,
    such as bulk imports) shows the template it will fix on its first score.
    """
    criteria = stored_criteria(challenge)
    shown: list[EvaluationCriterion] | list[Criterion] = criteria or criteria_of(challenge)
    proposals = list(
        db.scalars(
            select(Proposal)
            .where(Proposal.challenge_id == challenge.id, Proposal.status != ProposalStatus.WITHDRAWN)
            .options(selectinload(Proposal.startup))
            .order_by(Proposal.created_at, Proposal.id)
        )
    )
    if not proposals:
        return shown, []
    ids = [p.id for p in proposals]
    trials = {t.proposal_id: t for t in db.scalars(select(Trial).where(Trial.proposal_id.in_(ids)))}
    scores: dict[int, dict[int, dict[int, int]]] = {}  # proposal -> scorer -> criterion -> score
    for s in db.scalars(select(PanelScore).where(PanelScore.proposal_id.in_(ids))):
        scores.setdefault(s.proposal_id, {}).setdefault(s.scorer_id, {})[s.criterion_id] = s.score
    members = panel_members(challenge, {scorer for by_scorer in scores.values() for scorer in by_scorer})
    conflicted = {m.id: conflicts.conflicted_startup_ids(m) for m in members}
    rows = []
    for p in proposals:
        row = ProposalPanel(p, trials.get(p.id), locked=locked_reason(p, trials.get(p.id)))
        by_scorer = scores.get(p.id, {})
        for member in members:
            if p.startup_id in conflicted[member.id]:
                row.conflicted.append(member)
                continue
            total = weighted_total(criteria, by_scorer.get(member.id, {})) if criteria else None
            if total is None:
                row.pending.append(member)
            else:
                row.totals[member.id] = total
        counted = [by_scorer[m] for m in row.totals]
        for c in criteria:
            values = [s[c.id] for s in counted]
            if values:
                row.means[c.id] = fmean(values)
        rows.append(row)
    rows.sort(key=lambda r: (r.total is None, -(r.total or 0), r.proposal.id))
    return shown, rows
