"""Workshops and tech forums: the lab schedules them, signed-in users take a place.

Times are stored in UTC; forms enter them in Hong Kong time. Each user holds at most one
place per workshop (a unique constraint and a check here) and a workshop never takes more
registrations than its capacity (the workshop row is locked while counting).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from icalendar import Calendar, Event, vText
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from models import Challenge, User, Workshop, WorkshopRegistration
from models.vocabulary import CONTENT_LANGUAGES, DOMAIN_KEYS, ChallengeStatus

from .. import clock, signals
from ..access import can_view_challenge
from ..database import db
from ..errors import DomainError, NotAllowed, require_confirmed_email
from . import audit
from .inputs import ServiceInput

WORKSHOP_FIELDS = (
    "title_en", "title_zh", "description", "language", "starts_at", "ends_at", "location", "capacity",
    "domains", "challenge_ids",
)
TITLE_MAX = 200
LOCATION_MAX = 200
DESCRIPTION_MAX = 5000
CAPACITY_MAX = 5000


@dataclass
class WorkshopData(ServiceInput):
    """What a coordinator enters about a workshop (times are aware datetimes)."""

    title_en: str
    starts_at: datetime
    ends_at: datetime
    title_zh: str = ""
    description: str = ""
    language: str = "en"
    location: str = ""
    capacity: int = 50
    domains: list[str] = field(default_factory=list)
    challenge_ids: list[int] = field(default_factory=list)


def _aware(value: Any, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise DomainError(_("Enter a date and time."), field=name)
    if value.tzinfo is None:
        raise DomainError(_("Enter a date and time."), field=name)
    return value.astimezone(UTC)


def _check_data(data: WorkshopData) -> WorkshopData:
    """Clean ``data`` and enforce the rules the form also checks."""
    data.title_en = (data.title_en or "").strip()
    data.title_zh = (data.title_zh or "").strip()
    data.description = (data.description or "").strip()
    data.location = (data.location or "").strip()
    data.domains = list(dict.fromkeys(data.domains or []))
    data.challenge_ids = list(dict.fromkeys(int(i) for i in data.challenge_ids or []))
    if not data.title_en:
        raise DomainError(_("Enter the English title."), field="title_en")
    for name in ("title_en", "title_zh"):
        if len(getattr(data, name)) > TITLE_MAX:
            raise DomainError(_("The title must be at most %(n)d characters.", n=TITLE_MAX), field=name)
    if len(data.description) > DESCRIPTION_MAX:
        raise DomainError(_("Use at most %(n)d characters.", n=DESCRIPTION_MAX), field="description")
    if len(data.location) > LOCATION_MAX:
        raise DomainError(_("Use at most %(n)d characters.", n=LOCATION_MAX), field="location")
    if data.language not in CONTENT_LANGUAGES:
        raise DomainError(_("Choose the language of the text."), field="language")
    data.starts_at = _aware(data.starts_at, "starts_at")
    data.ends_at = _aware(data.ends_at, "ends_at")
    if data.ends_at <= data.starts_at:
        raise DomainError(_("The workshop must end after it starts."), field="ends_at")
    if not isinstance(data.capacity, int) or not 1 <= data.capacity <= CAPACITY_MAX:
        raise DomainError(_("Enter a capacity from 1 to %(n)d.", n=CAPACITY_MAX), field="capacity")
    if any(key not in DOMAIN_KEYS for key in data.domains):
        raise DomainError(_("Choose domains from the list."), field="domains")
    if data.challenge_ids:
        found = set(db.scalars(select(Challenge.id).where(Challenge.id.in_(data.challenge_ids))))
        if found != set(data.challenge_ids):
            raise DomainError(_("Choose challenges from the list."), field="challenge_ids")
    return data


def _check_staff(user: Any) -> None:
    if not getattr(user, "is_staff", False):
        raise NotAllowed(_("Only lab coordinators can schedule workshops."))


def _apply(workshop: Workshop, data: WorkshopData) -> None:
    for name in WORKSHOP_FIELDS:
        setattr(workshop, name, getattr(data, name))


# -- use cases -------------------------------------------------------------------------------


def schedule_workshop(actor: User, data: WorkshopData | Mapping[str, Any]) -> Workshop:
    """Schedule a workshop or tech forum (coordinators)."""
    _check_staff(actor)
    data = _check_data(WorkshopData.coerce(data))
    workshop = Workshop(created_by_id=actor.id)
    _apply(workshop, data)
    db.add(workshop)
    db.flush()
    signals.changed(actor, "workshop.create", workshop, after=audit.snapshot(workshop, WORKSHOP_FIELDS))
    return workshop


def update_workshop(actor: User, workshop: Workshop, data: WorkshopData | Mapping[str, Any]) -> Workshop:
    """Change a workshop's details; the capacity cannot drop below the places taken."""
    _check_staff(actor)
    data = _check_data(WorkshopData.coerce(data))
    taken = registration_count(workshop)
    if data.capacity < taken:
        raise DomainError(
            _("%(n)d people have registered, so the capacity cannot be lower.", n=taken), field="capacity"
        )
    before = audit.snapshot(workshop, WORKSHOP_FIELDS)
    _apply(workshop, data)
    db.flush()
    after = audit.snapshot(workshop, WORKSHOP_FIELDS)
    if before != after:
        signals.changed(actor, "workshop.update", workshop, before, after)
    return workshop


def register(user: User, workshop: Workshop, now: datetime | None = None) -> WorkshopRegistration:
    """Take a place at an upcoming workshop (once per user, within its capacity)."""
    if not getattr(user, "is_authenticated", False):
        raise NotAllowed(_("Sign in to register."))
    now = now or clock.now()
    require_confirmed_email(user, _(
        "Confirm your email address before you register for a workshop: "
        "follow the link we emailed you, or ask for a new one."))
    if workshop.starts_at <= now:
        raise DomainError(_("Registration has closed: this workshop has started."))
    if registration_for(user, workshop) is not None:
        raise DomainError(_("You have already registered for this workshop."))
    # Lock the workshop row (PostgreSQL) so two last-place registrations cannot both pass.
    db.execute(select(Workshop.id).where(Workshop.id == workshop.id).with_for_update())
    if registration_count(workshop) >= workshop.capacity:
        raise DomainError(_("This workshop is full."))
    registration = WorkshopRegistration(workshop_id=workshop.id, user_id=user.id)
    db.add(registration)
    try:
        db.flush()
    except IntegrityError as error:  # the same user registering twice at the same moment
        raise DomainError(_("You have already registered for this workshop.")) from error
    return registration


def unregister(user: User, workshop: Workshop, now: datetime | None = None) -> None:
    """Give up one's place at a workshop that has not started."""
    registration = registration_for(user, workshop)
    if registration is None:
        raise DomainError(_("You are not registered for this workshop."))
    if workshop.starts_at <= (now or clock.now()):
        raise DomainError(_("This workshop has started, so the registration cannot be cancelled."))
    db.delete(registration)
    db.flush()


# -- queries ------------------------------------------------------------------------------------


def registration_for(user: Any, workshop: Workshop) -> WorkshopRegistration | None:
    """The user's registration for the workshop, if any."""
    if not getattr(user, "is_authenticated", False):
        return None
    return db.scalar(
        select(WorkshopRegistration).where(
            WorkshopRegistration.workshop_id == workshop.id, WorkshopRegistration.user_id == user.id
        )
    )


def registration_count(workshop: Workshop) -> int:
    """How many places are taken."""
    return db.scalar(
        select(func.count()).where(WorkshopRegistration.workshop_id == workshop.id)
    ) or 0


def registration_counts(workshop_ids: Iterable[int]) -> dict[int, int]:
    """Places taken per workshop."""
    ids = list(workshop_ids)
    if not ids:
        return {}
    return dict(
        db.execute(
            select(WorkshopRegistration.workshop_id, func.count())
            .where(WorkshopRegistration.workshop_id.in_(ids))
            .group_by(WorkshopRegistration.workshop_id)
        ).all()
    )


def registered_ids(user: Any) -> set[int]:
    """The workshops the user has registered for."""
    if not getattr(user, "is_authenticated", False):
        return set()
    return set(db.scalars(select(WorkshopRegistration.workshop_id).where(WorkshopRegistration.user_id == user.id)))


def registrants(workshop: Workshop) -> list[User]:
    """The registered users, in order of registration (for coordinators)."""
    return list(
        db.scalars(
            select(User)
            .join(WorkshopRegistration, WorkshopRegistration.user_id == User.id)
            .where(WorkshopRegistration.workshop_id == workshop.id)
            .order_by(WorkshopRegistration.created_at, WorkshopRegistration.id)
        )
    )


def upcoming(now: datetime | None = None) -> list[Workshop]:
    """Workshops that have not ended, soonest first."""
    now = now or clock.now()
    return list(db.scalars(select(Workshop).where(Workshop.ends_at > now).order_by(Workshop.starts_at, Workshop.id)))


def past(now: datetime | None = None, limit: int = 20) -> list[Workshop]:
    """Workshops that have ended, latest first."""
    now = now or clock.now()
    return list(
        db.scalars(
            select(Workshop).where(Workshop.ends_at <= now).order_by(Workshop.starts_at.desc()).limit(limit)
        )
    )


def linked_challenges(viewer: Any, workshop: Workshop) -> list[Challenge]:
    """The workshop's challenges that ``viewer`` may see."""
    if not workshop.challenge_ids:
        return []
    found = db.scalars(select(Challenge).where(Challenge.id.in_(workshop.challenge_ids)).order_by(Challenge.id))
    return [c for c in found if can_view_challenge(viewer, c)]


def challenge_choices() -> list[Challenge]:
    """Challenges a workshop can be about: the open and closed ones, newest first."""
    return list(
        db.scalars(
            select(Challenge)
            .where(Challenge.status.in_(ChallengeStatus.PUBLIC))
            .order_by(Challenge.status.desc(), Challenge.opened_at.desc(), Challenge.id.desc())
        )
    )


def title(workshop: Workshop, locale: str) -> tuple[str, str]:
    """The workshop's title for ``locale`` and its language tag."""
    if locale.startswith("zh") and workshop.title_zh:
        return workshop.title_zh, "zh-Hant"
    return workshop.title_en, "en"


# -- iCalendar -------------------------------------------------------------------------------


def uid_domain() -> str:
    """The domain part of calendar UIDs (``ICAL_UID_DOMAIN``); keep it stable."""
    return current_app.config.get("ICAL_UID_DOMAIN") or "innomatch.hk"


def calendar(workshops: Iterable[Workshop], url_for_workshop: Callable[[Workshop], str], locale: str,
             name: str = "InnoMatch") -> bytes:
    """An iCalendar (RFC 5545) file with one event per workshop, times in UTC."""
    cal = Calendar()
    cal.add("prodid", "-//InnoMatch//Workshops//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", vText(name))
    stamp = clock.now().replace(microsecond=0)
    for workshop in workshops:
        event = Event()
        event.add("uid", f"workshop-{workshop.id}@{uid_domain()}")
        event.add("dtstamp", stamp)
        event.add("dtstart", workshop.starts_at.astimezone(UTC).replace(microsecond=0))
        event.add("dtend", workshop.ends_at.astimezone(UTC).replace(microsecond=0))
        event.add("summary", title(workshop, locale)[0])
        if workshop.location:
            event.add("location", workshop.location)
        if workshop.description:
            event.add("description", workshop.description)
        event.add("url", url_for_workshop(workshop))
        if workshop.updated_at is not None:
            event.add("last-modified", workshop.updated_at.astimezone(UTC).replace(microsecond=0))
        cal.add_component(event)
    return cal.to_ical()
