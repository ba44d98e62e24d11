"""Challenges: post, edit, open and close a department's business need; search the list."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select, case, false, func, select, union
from sqlalchemy.orm import selectinload

from models import Challenge, ChallengeDomain, ChallengeTag, Department, Proposal, User
from models.db import distinct_tags
from models.names import weighted_length
from models.vocabulary import (
    AREA_KEYS,
    CONTENT_LANGUAGES,
    DOMAIN_KEYS,
    ChallengeStatus,
    ProposalStatus,
)

from .. import clock, signals
from ..access import can_edit_challenge
from ..database import db
from ..errors import DomainError, NotAllowed, StaleState
from . import audit, recommendations
from .inputs import ServiceInput
from .paging import Page, contains_any, paginate

log = logging.getLogger("innomatch.challenges")

#: What the audit trail records of a challenge, before and after each change.
CHALLENGE_FIELDS = (
    "title",
    "problem_statement",
    "desired_outcomes",
    "constraints",
    "domains",
    "functional_area",
    "tags",
    "duration_weeks",
    "closing_on",
    "language",
    "status",
    "opened_at",
    "department_id",
)
PUBLIC_STATUSES = ChallengeStatus.PUBLIC
TITLE_MAX = 200
STATEMENT_MIN, STATEMENT_MAX = 30, 10000
TEXT_MAX = 5000
DURATION_MIN, DURATION_MAX = 1, 104
QUERY_MAX = 200


@dataclass
class ChallengeData(ServiceInput):
    """What an officer enters about a challenge."""

    title: str = ""
    problem_statement: str = ""
    domains: list[str] = field(default_factory=list)
    functional_area: str | None = None  # None (or ""): not chosen yet, allowed on a draft only
    desired_outcomes: str = ""
    constraints: str = ""
    tags: list[str] = field(default_factory=list)
    duration_weeks: int | None = 12  # None when the form's number was missing: refused
    closing_on: date | None = None
    language: str = "en"


@dataclass
class ChallengeFilters:
    """The list's filters; empty values mean "any"."""

    q: str = ""
    domain: str = ""
    area: str = ""
    department_id: int | None = None
    status: str = ""
    #: The order: "newest" (opened last first, the default), "closing" (closing soonest first)
    #: or "match" (best match for the viewer's startup first).
    sort: str = ""


#: The orders of the challenge list.
SORTS = ("newest", "closing", "match")
#: How many ranked challenges the "best match" order places; the rest follow, newest first.
MATCH_SORT_LIMIT = 200


# -- rules -----------------------------------------------------------------------------


def _check_data(data: ChallengeData, *, complete: bool = True) -> ChallengeData:
    """Clean ``data`` and enforce the rules the forms also check (for other callers).

    ``complete=False`` is a draft's: a title is enough, and whatever else is given must be
    valid; a challenge that opens, or is open, needs its problem statement, a domain and
    its functional area (a stored draft: :func:`_open_problems`)."""
    data.title = (data.title or "").strip()
    data.problem_statement = (data.problem_statement or "").strip()
    data.desired_outcomes = (data.desired_outcomes or "").strip()
    data.constraints = (data.constraints or "").strip()
    data.domains = list(dict.fromkeys(data.domains or []))
    data.tags = distinct_tags(data.tags or [])
    if not data.title:
        raise DomainError(_("Enter a title."), field="title")
    if len(data.title) > TITLE_MAX:
        raise DomainError(_("The title must be at most %(n)d characters.", n=TITLE_MAX), field="title")
    data.functional_area = data.functional_area or None
    if len(data.problem_statement) > STATEMENT_MAX or (
        (complete or data.problem_statement) and weighted_length(data.problem_statement) < STATEMENT_MIN
    ):
        raise DomainError(
            _("Describe the problem in %(min)d to %(max)d characters.", min=STATEMENT_MIN, max=STATEMENT_MAX),
            field="problem_statement",
        )
    for name in ("desired_outcomes", "constraints"):
        if len(getattr(data, name)) > TEXT_MAX:
            raise DomainError(_("Use at most %(n)d characters.", n=TEXT_MAX), field=name)
    if complete and not data.domains:
        raise DomainError(_("Choose at least one domain."), field="domains")
    if any(key not in DOMAIN_KEYS for key in data.domains):
        raise DomainError(_("Choose domains from the list."), field="domains")
    if (complete or data.functional_area is not None) and data.functional_area not in AREA_KEYS:
        raise DomainError(_("Choose a functional area."), field="functional_area")
    if any(len(tag) > 60 for tag in data.tags):
        raise DomainError(_("Each tag must be at most %(n)d characters.", n=60), field="tags")
    if not isinstance(data.duration_weeks, int) or not DURATION_MIN <= data.duration_weeks <= DURATION_MAX:
        raise DomainError(
            _("Enter a duration from %(min)d to %(max)d weeks.", min=DURATION_MIN, max=DURATION_MAX),
            field="duration_weeks",
        )
    if data.language not in CONTENT_LANGUAGES:
        raise DomainError(_("Choose the language of the text."), field="language")
    return data


def _open_problems(challenge: Challenge) -> list[DomainError]:
    """What a stored draft lacks to open, each as the error opening it raises (empty: it can
    open). Its values were checked when saved (:func:`_check_data`), so only what a draft may
    leave out is looked at here, and the closing date (:func:`_check_can_open`)."""
    problems = []
    if weighted_length(challenge.problem_statement or "") < STATEMENT_MIN:
        problems.append(DomainError(
            _("Describe the problem in %(min)d to %(max)d characters.", min=STATEMENT_MIN, max=STATEMENT_MAX),
            field="problem_statement",
        ))
    if not challenge.domains:
        problems.append(DomainError(_("Choose at least one domain."), field="domains"))
    if challenge.functional_area not in AREA_KEYS:
        problems.append(DomainError(_("Choose a functional area."), field="functional_area"))
    try:
        _check_can_open(challenge.closing_on)
    except DomainError as error:
        problems.append(error)
    return problems


def missing_to_open(challenge: Challenge) -> list[str]:
    """What a draft still needs before it can open, each as a sentence (empty: it can open).
    The page lists them where the open button would be; :func:`open_challenge` refuses the same."""
    return [problem.message for problem in _open_problems(challenge)]


def _check_editor(officer: User, challenge: Challenge) -> None:
    if not can_edit_challenge(officer, challenge):
        raise NotAllowed(_("Only officers of the challenge's department may change it."))


def _check_can_open(closing_on: date | None) -> None:
    """Refuse to open with no closing date or one in the past."""
    if closing_on is None:
        raise DomainError(_("Set a closing date before opening the challenge."), field="closing_on")
    if closing_on < clock.today():
        raise DomainError(
            _("The closing date has passed. Choose today or a later date to open the challenge."),
            field="closing_on",
        )


def _apply(challenge: Challenge, data: ChallengeData) -> None:
    challenge.title = data.title
    challenge.problem_statement = data.problem_statement
    challenge.desired_outcomes = data.desired_outcomes
    challenge.constraints = data.constraints
    challenge.functional_area = data.functional_area
    challenge.duration_weeks = data.duration_weeks or DURATION_MIN  # validated: always a number here
    challenge.closing_on = data.closing_on
    challenge.language = data.language
    # Only replace the child rows when they change, so unchanged rows are not rewritten.
    if set(challenge.domains) != set(data.domains):
        challenge.domains = sorted(data.domains)
    if set(challenge.tags) != set(data.tags):
        challenge.tags = sorted(data.tags, key=str.casefold)


def _open(challenge: Challenge) -> None:
    challenge.status = ChallengeStatus.OPEN
    challenge.opened_at = clock.now()


# -- use cases ---------------------------------------------------------------------------


def post_challenge(
    officer: User, data: ChallengeData | Mapping[str, Any], *, publish: bool = False
) -> Challenge:
    """Create a draft challenge for the officer's department (and open it if ``publish``).
    A draft needs a title only; opening needs the rest (:func:`_check_data`)."""
    if not getattr(officer, "is_officer", False) or officer.department_id is None:
        raise NotAllowed(_("Only department officers may post challenges."))
    data = _check_data(ChallengeData.coerce(data), complete=publish)
    if publish:
        _check_can_open(data.closing_on)
    challenge = Challenge(department_id=officer.department_id, created_by_id=officer.id, status=ChallengeStatus.DRAFT)
    _apply(challenge, data)
    db.add(challenge)
    db.flush()
    signals.changed(officer, "challenge.create", challenge, after=audit.snapshot(challenge, CHALLENGE_FIELDS))
    if publish:
        before = audit.snapshot(challenge, CHALLENGE_FIELDS)
        _open(challenge)
        db.flush()
        signals.changed(officer, "challenge.open", challenge, before, audit.snapshot(challenge, CHALLENGE_FIELDS))
    signals.challenge_saved.send(challenge, actor=officer, created=True)
    if publish:
        signals.challenge_opened.send(challenge, actor=officer)
    return challenge


def update_challenge(
    officer: User, challenge: Challenge, data: ChallengeData | Mapping[str, Any], *, publish: bool = False
) -> Challenge:
    """Change a challenge's text and terms (and open a draft if ``publish``)."""
    _check_editor(officer, challenge)
    data = _check_data(ChallengeData.coerce(data), complete=publish or challenge.status != ChallengeStatus.DRAFT)
    if publish:
        if challenge.status == ChallengeStatus.OPEN:
            raise StaleState(_("This challenge is already open."))
        _check_can_open(data.closing_on)
    elif challenge.status == ChallengeStatus.OPEN and data.closing_on != challenge.closing_on:
        if data.closing_on is None:
            raise DomainError(_("An open challenge needs a closing date."), field="closing_on")
        if data.closing_on < clock.today():
            raise DomainError(
                _("The closing date of an open challenge cannot be in the past."), field="closing_on"
            )
    before = audit.snapshot(challenge, CHALLENGE_FIELDS)
    _apply(challenge, data)
    if publish:
        _open(challenge)
    # A save is a save even when only child rows (domains, tags) changed, which touch no
    # column of the row: the edit forms' stamp (portal.forms.StampedForm) reads this.
    challenge.updated_at = clock.now()
    db.flush()
    after = audit.snapshot(challenge, CHALLENGE_FIELDS)
    if before != after:
        signals.changed(officer, "challenge.update", challenge, before, after)
    signals.challenge_saved.send(challenge, actor=officer, created=False)
    if publish:
        signals.challenge_opened.send(challenge, actor=officer)
    elif before != after:
        signals.challenge_updated.send(challenge, actor=officer)
    return challenge


def open_challenge(officer: User, challenge: Challenge) -> Challenge:
    """Open a draft, or reopen a closed challenge whose closing date has not passed."""
    _check_editor(officer, challenge)
    if challenge.status == ChallengeStatus.OPEN:
        raise StaleState(_("This challenge is already open."))
    problems = _open_problems(challenge)
    if problems:
        raise problems[0]
    before = audit.snapshot(challenge, CHALLENGE_FIELDS)
    _open(challenge)
    db.flush()
    signals.changed(officer, "challenge.open", challenge, before, audit.snapshot(challenge, CHALLENGE_FIELDS))
    signals.challenge_saved.send(challenge, actor=officer, created=False)
    signals.challenge_opened.send(challenge, actor=officer)
    return challenge


def close_challenge(officer: User, challenge: Challenge) -> Challenge:
    """Close an open challenge to new proposals."""
    _check_editor(officer, challenge)
    if challenge.status != ChallengeStatus.OPEN:
        raise StaleState(_("Only an open challenge can be closed."))
    before = audit.snapshot(challenge, CHALLENGE_FIELDS)
    challenge.status = ChallengeStatus.CLOSED
    db.flush()
    signals.changed(officer, "challenge.close", challenge, before, audit.snapshot(challenge, CHALLENGE_FIELDS))
    signals.challenge_closed.send(challenge, actor=officer)
    return challenge


# -- queries -----------------------------------------------------------------------------


def may_see_drafts(viewer: Any) -> bool:
    """Whether ``viewer`` sees some drafts in the list (their department's, or all for staff)."""
    if not getattr(viewer, "is_authenticated", False):
        return False
    return bool(viewer.is_staff or viewer.is_officer)


def _department_and_units(department_id: int) -> list[int]:
    """``department_id`` and every unit below it."""
    children: dict[int | None, list[int]] = {}
    for dept_id, parent_id in db.execute(select(Department.id, Department.parent_id)):
        children.setdefault(parent_id, []).append(dept_id)
    found, pending = [], [department_id]
    while pending:
        current = pending.pop()
        if current in found:
            continue
        found.append(current)
        pending.extend(children.get(current, []))
    return found


def _visible(stmt: Select[Any], viewer: Any, status: str) -> Select[Any]:
    if status == ChallengeStatus.DRAFT:
        if not may_see_drafts(viewer):
            return stmt.where(false())
        stmt = stmt.where(Challenge.status == ChallengeStatus.DRAFT)
        if not viewer.is_staff:
            stmt = stmt.where(Challenge.department_id == viewer.department_id)
        return stmt
    if status in PUBLIC_STATUSES:
        return stmt.where(Challenge.status == status)
    return stmt.where(Challenge.status.in_(PUBLIC_STATUSES))


def _match_order(viewer: Any) -> Any:
    """An ORDER BY term putting the challenges that best match the viewer's startup first, or
    None when the viewer is not a startup member (or nothing is ranked)."""
    startup = getattr(viewer, "startup", None) if getattr(viewer, "is_startup", False) else None
    if startup is None:
        return None
    ids = recommendations.challenge_ids_by_match(startup, MATCH_SORT_LIMIT, viewer)
    if not ids:
        return None
    return case({cid: position for position, cid in enumerate(ids)}, value=Challenge.id, else_=len(ids))


def search_challenges(
    viewer: Any, filters: ChallengeFilters, page: int = 1, per_page: int | None = None
) -> Page:
    """Filter and page the challenges ``viewer`` may see: open first, then closed.

    ``page`` is clamped to the available pages, so any number is safe.
    """
    per_page = max(1, int(per_page or current_app.config.get("PAGE_SIZE", 20)))
    stmt = _visible(select(Challenge), viewer, filters.status)
    if filters.domain:
        stmt = stmt.where(Challenge.domain_rows.any(ChallengeDomain.domain == filters.domain))
    if filters.area:
        stmt = stmt.where(Challenge.functional_area == filters.area)
    if filters.department_id is not None:
        stmt = stmt.where(Challenge.department_id.in_(_department_and_units(filters.department_id)))
    q = (filters.q or "").strip()[:QUERY_MAX]
    if q:
        # search_text is the title, problem and outcomes lower-cased by the database; the
        # words are lower-cased by the same lower() (SQLite's folds ASCII only), % and _ escaped.
        # Chinese in any script: 衛生署 finds 衞生署 (contains_any).
        # Tags too ("ocr" finds a challenge tagged "ocr"; tags are stored lower case). A union of
        # ids, not an OR with EXISTS, so PostgreSQL still reads search_text through its trigram index.
        stmt = stmt.where(Challenge.id.in_(union(
            select(Challenge.id).where(contains_any(Challenge.search_text, q)),
            select(ChallengeTag.challenge_id).where(contains_any(ChallengeTag.tag, q)),
        )))
    rank = case((Challenge.status == ChallengeStatus.OPEN, 0), (Challenge.status == ChallengeStatus.CLOSED, 1), else_=2)
    newest = (func.coalesce(Challenge.opened_at, Challenge.created_at).desc(), Challenge.id.desc())
    if filters.sort == "closing":
        # Closing soonest first; challenges without a closing date last.
        ordered = stmt.order_by(rank, Challenge.closing_on.is_(None), Challenge.closing_on, *newest)
    elif filters.sort == "match" and (matched := _match_order(viewer)) is not None:
        ordered = stmt.order_by(rank, matched, *newest)
    else:
        ordered = stmt.order_by(rank, *newest)

    # The page and the total in one pass over the matches (a text search reads every
    # candidate row once, not twice).
    return paginate(
        ordered, page, per_page, one_pass=True,
        options=[selectinload(Challenge.department), selectinload(Challenge.domain_rows)],
    )


@dataclass(frozen=True)
class DepartmentChallengeRow:
    """One line of the department's own list: the columns it shows and the submitted proposals.

    Plain columns, not ORM rows: the list never needs a challenge's texts, domains or tags.
    """

    id: int
    title: str
    status: str
    closing_on: date | None
    language: str
    proposals: int


def department_challenges_page(officer: User, page: int, size: int) -> Page:
    """One page of the department's challenges with submitted proposal counts: drafts (the
    last edited first), then the open ones by closing date (the next to close first), then
    the closed ones (the last changed first)."""
    if not getattr(officer, "is_officer", False) or officer.department_id is None:
        raise NotAllowed(_("Only department officers have a department's challenges."))
    rank = case((Challenge.status == ChallengeStatus.DRAFT, 0), (Challenge.status == ChallengeStatus.OPEN, 1), else_=2)
    proposals = (
        select(func.count())
        .where(Proposal.challenge_id == Challenge.id, Proposal.status == ProposalStatus.SUBMITTED)
        .correlate(Challenge)
        .scalar_subquery()
    )
    found = paginate(
        select(Challenge.id, Challenge.title, Challenge.status, Challenge.closing_on, Challenge.language)
        .add_columns(proposals)
        .where(Challenge.department_id == officer.department_id)
        .order_by(
            rank,
            case((Challenge.status == ChallengeStatus.OPEN, Challenge.closing_on), else_=None).asc().nulls_last(),
            Challenge.updated_at.desc(),
            Challenge.id.desc(),
        ),
        page, size, rows=True,
    )
    found.items = [DepartmentChallengeRow(*row) for row in found.items]
    return found
