"""Startups: profile, capabilities, verification by the lab, the coordinators' list."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask_babel import gettext as _
from sqlalchemy import func, select, union
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from models import Capability, CapabilityTag, Proposal, Startup, Trial, User
from models.db import distinct_tags
from models.names import clean_name, name_key, weighted_length
from models.vocabulary import (
    CONTENT_LANGUAGES,
    DOMAIN_KEYS,
    STARTUP_SIZES,
    ProposalStatus,
    TrialState,
)

from .. import clock, jobs, signals
from ..access import can_edit_startup
from ..database import db
from ..errors import DomainError, NotAllowed
from . import audit, conflicts
from .paging import contains_any, paginate

log = logging.getLogger("innomatch.startups")

STARTUP_FIELDS = ("name", "website", "description", "size", "language", "verified", "verified_at")
CAPABILITY_FIELDS = (
    "startup_id", "name", "description", "technologies", "domains", "deployments", "readiness", "language",
)
# A capability in one of these trials is promised to a department and cannot be deleted.
#: A capability in a trial that went ahead is part of that trial's record (and the showcase).
KEPT_FOR_TRIAL_STATES = TrialState.WENT_AHEAD

NAME_MAX = 200
WEBSITE_MAX = 300
STARTUP_DESCRIPTION_MAX = 5000
CAPABILITY_DESCRIPTION_MIN = 30
CAPABILITY_DESCRIPTION_MAX = 10000
DEPLOYMENTS_MAX = 5000
MAX_TAGS = 12
TAG_MAX = 40


def is_web_address(url: str | None) -> bool:
    """Tell whether ``url`` is an absolute http(s) address with a host."""
    if not url or any(ch.isspace() or ord(ch) < 32 for ch in url.strip()):
        return False
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def _text(data: dict[str, Any], key: str) -> str:
    """Return ``data[key]`` stripped, or "" if it is not text."""
    value = data.get(key)
    return value.strip() if isinstance(value, str) else ""


def members(startup_id: int) -> list[User]:
    """The startup's open accounts, in the order they joined (closed ones are pseudonymised)."""
    return list(db.scalars(
        select(User).where(User.startup_id == startup_id, User.closed_at.is_(None)).order_by(User.id)
    ))


def _require_member(actor: Any, startup: Startup) -> None:
    """Raise NotAllowed unless ``actor`` is a member of ``startup``."""
    if not can_edit_startup(actor, startup):
        raise NotAllowed(_("Only members of this startup can change it."))


def _name_taken(name: str, except_id: int | None) -> bool:
    """Tell whether another startup has ``name``, compared as names are (``models.names.name_key``)."""
    query = select(func.count()).where(Startup.name_key == name_key(name))
    if except_id is not None:
        query = query.where(Startup.id != except_id)
    return bool(db.scalar(query))


def _flush_or_name_taken() -> None:
    """Flush; turn a lost race for a startup name into a DomainError."""
    try:
        db.flush()
    except IntegrityError as exc:  # another request took the name between check and write
        raise DomainError(_("A startup with this name is already registered."), field="name") from exc


def update_startup(actor: Any, startup: Startup, data: dict[str, Any]) -> Startup:
    """Change a startup's profile: name, website, description, size and content language.

    A new name (not only other letter case or spacing) takes away the lab's verified mark
    until the lab checks the registration again."""
    _require_member(actor, startup)
    name = clean_name(_text(data, "name"))
    website = _text(data, "website")
    description = _text(data, "description")
    size = data.get("size")
    language = data.get("language")
    if not name:
        raise DomainError(_("Enter your startup's name."), field="name")
    if len(name) > NAME_MAX:
        raise DomainError(_("The name must be at most %(n)d characters.", n=NAME_MAX), field="name")
    if _name_taken(name, startup.id):
        raise DomainError(_("A startup with this name is already registered."), field="name")
    if website and (len(website) > WEBSITE_MAX or not is_web_address(website)):
        raise DomainError(
            _("Enter a web address starting with http:// or https://, for example https://www.example.com."),
            field="website",
        )
    if len(description) > STARTUP_DESCRIPTION_MAX:
        raise DomainError(
            _("The description must be at most %(n)d characters.", n=STARTUP_DESCRIPTION_MAX), field="description"
        )
    if size not in STARTUP_SIZES:
        raise DomainError(_("Choose a company size."), field="size")
    if language not in CONTENT_LANGUAGES:
        raise DomainError(_("Choose the language of your content."), field="language")
    before = audit.snapshot(startup, STARTUP_FIELDS)
    if startup.verified and name_key(name) != name_key(startup.name):
        # The lab checked the registration of the company by its name: another name is
        # another claim, checked again before the mark shows (the lab's list of startups
        # not verified shows it).
        startup.verified = False
        startup.verified_at = None
    startup.name = name
    startup.website = website
    startup.description = description
    startup.size = size
    startup.language = language
    _flush_or_name_taken()
    signals.changed(actor, "startup.update", startup, before, audit.snapshot(startup, STARTUP_FIELDS))
    # The profile (description and capabilities) is the query its recommendations explain.
    jobs.enqueue("portal.tasks.store_evidence", [], [], [startup.id])
    return startup


def verify_startup(actor: Any, startup: Startup, verified: bool = True) -> Startup:
    """Mark a startup verified (or no longer verified) after the lab checked its registration."""
    if not getattr(actor, "is_staff", False):
        raise NotAllowed(_("Only lab coordinators can verify startups."))
    if conflicts.has_conflict(actor, startup.id):
        raise NotAllowed(
            _("You have a conflict of interest with this startup, so another coordinator must decide its verification.")
        )
    if startup.verified == verified:
        raise DomainError(
            _("This startup is already verified.") if verified else _("This startup is not verified.")
        )
    before = audit.snapshot(startup, ("verified", "verified_at"))
    startup.verified = verified
    startup.verified_at = clock.now() if verified else None
    db.flush()
    signals.changed(actor, "startup.verify", startup, before, audit.snapshot(startup, ("verified", "verified_at")))
    return startup


def _capability_values(data: dict[str, Any]) -> dict[str, Any]:
    """Check a capability's values and return them cleaned; raise DomainError on the first problem."""
    name = _text(data, "name")
    description = _text(data, "description")
    deployments = _text(data, "deployments")
    readiness = data.get("readiness")
    language = data.get("language")
    domains = list(dict.fromkeys(data.get("domains") or []))
    technologies = distinct_tags(data.get("technologies") or [])
    if not name:
        raise DomainError(_("Enter the capability's name."), field="name")
    if len(name) > NAME_MAX:
        raise DomainError(_("The name must be at most %(n)d characters.", n=NAME_MAX), field="name")
    if weighted_length(description) < CAPABILITY_DESCRIPTION_MIN:
        raise DomainError(
            _("Describe the capability in at least %(n)d characters.", n=CAPABILITY_DESCRIPTION_MIN),
            field="description",
        )
    if len(description) > CAPABILITY_DESCRIPTION_MAX:
        raise DomainError(
            _("The description must be at most %(n)d characters.", n=CAPABILITY_DESCRIPTION_MAX),
            field="description",
        )
    if len(deployments) > DEPLOYMENTS_MAX:
        raise DomainError(
            _("Past deployments must be at most %(n)d characters.", n=DEPLOYMENTS_MAX), field="deployments"
        )
    if isinstance(readiness, bool) or not isinstance(readiness, int) or not 1 <= readiness <= 9:
        raise DomainError(_("Choose a readiness level from 1 to 9."), field="readiness")
    if language not in CONTENT_LANGUAGES:
        raise DomainError(_("Choose the language of your content."), field="language")
    if not domains:
        raise DomainError(_("Choose at least one domain."), field="domains")
    if any(key not in DOMAIN_KEYS for key in domains):
        raise DomainError(_("Choose domains from the list."), field="domains")
    if len(technologies) > MAX_TAGS:
        raise DomainError(_("Use at most %(n)d tags.", n=MAX_TAGS), field="technologies")
    if any(len(t) > TAG_MAX for t in technologies):
        raise DomainError(_("Each tag must be at most %(n)d characters.", n=TAG_MAX), field="technologies")
    return {
        "name": name,
        "description": description,
        "deployments": deployments,
        "readiness": readiness,
        "language": language,
        "domains": domains,
        "technologies": technologies,
    }


def create_capability(actor: Any, startup: Startup, data: dict[str, Any]) -> Capability:
    """Add a capability to a startup's profile."""
    _require_member(actor, startup)
    values = _capability_values(data)
    capability = Capability(startup_id=startup.id, **values)
    db.add(capability)
    db.flush()
    signals.changed(actor, "capability.create", capability, after=audit.snapshot(capability, CAPABILITY_FIELDS))
    signals.capability_saved.send(capability, actor=actor, created=True)
    return capability


def update_capability(actor: Any, capability: Capability, data: dict[str, Any]) -> Capability:
    """Change a capability's description, domains, technologies, deployments and readiness."""
    _require_member(actor, capability.startup)
    values = _capability_values(data)
    before = audit.snapshot(capability, CAPABILITY_FIELDS)
    for key, value in values.items():
        setattr(capability, key, value)
    db.flush()
    signals.changed(actor, "capability.update", capability, before, audit.snapshot(capability, CAPABILITY_FIELDS))
    signals.capability_saved.send(capability, actor=actor, created=False)
    return capability


def deletion_problem(capability: Capability) -> str | None:
    """Return why ``capability`` cannot be deleted now, or None if it can."""
    in_trial = db.scalar(
        select(func.count()).where(Trial.capability_id == capability.id, Trial.status.in_(KEPT_FOR_TRIAL_STATES))
    )
    if in_trial:
        return _(
            "This capability is part of the record of a trial that went ahead (approved, running or completed), "
            "so it cannot be deleted. You can edit it instead."
        )
    # Proposals reference their capability with ON DELETE CASCADE: deleting would silently remove them.
    proposed = db.scalar(
        select(func.count()).where(Proposal.capability_id == capability.id, Proposal.status == ProposalStatus.SUBMITTED)
    )
    if proposed:
        return _("This capability is offered in a proposal. Withdraw the proposal before deleting it.")
    return None


def delete_capability(actor: Any, capability: Capability) -> None:
    """Delete a capability unless a proposal or a trial that went ahead relies on it."""
    _require_member(actor, capability.startup)
    problem = deletion_problem(capability)
    if problem:
        raise DomainError(problem)
    signals.changed(actor, "capability.delete", capability, before=audit.snapshot(capability, CAPABILITY_FIELDS))
    startup_id = capability.startup_id
    db.delete(capability)
    db.flush()
    jobs.enqueue("portal.tasks.store_evidence", [], [], [startup_id])  # the profile changed


@dataclass
class StartupRow:
    startup: Startup
    capability_count: int


@dataclass
class StartupPage:
    rows: list[StartupRow]
    page: int
    pages: int
    total: int


def search_startups(verified: bool | None = None, text: str = "", page: int = 1, per_page: int = 20) -> StartupPage:
    """List startups with their capability count, filtered by verification and by name or
    technology tag, one page."""
    count = (
        select(func.count(Capability.id))
        .where(Capability.startup_id == Startup.id)
        .correlate(Startup)
        .scalar_subquery()
    )
    conditions: list[ColumnElement[bool]] = []
    if verified is not None:
        conditions.append(Startup.verified.is_(verified))
    text = text.strip()
    if text:
        # The name: ILIKE on PostgreSQL (its trigram index serves it), lower() LIKE lower() on
        # SQLite. Or one of its capabilities' technology tags ("ocr"): tags are stored lower
        # case, so LIKE on the lower-cased words (a plain LIKE reads PostgreSQL's 60,000 tag
        # rows in a quarter of the time ILIKE takes).
        # Chinese in any script (paging.spellings): 衛生 finds 衞生.
        conditions.append(Startup.id.in_(union(
            select(Startup.id).where(contains_any(Startup.name, text, stored_lower=False)),
            select(Capability.startup_id).join(CapabilityTag, CapabilityTag.capability_id == Capability.id)
            .where(contains_any(CapabilityTag.tag, text)),
        )))
    found = paginate(
        select(Startup, count.label("capability_count")).where(*conditions).order_by(func.lower(Startup.name), Startup.id),
        page, per_page, rows=True, one_pass=bool(text),
    )
    return StartupPage([StartupRow(s, n) for s, n in found.items], found.page, found.pages, found.total)
