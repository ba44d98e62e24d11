"""Conflicts of interest between lab coordinators and startups: declared, and detected.

A coordinator declares a conflict with a startup (with a reason). Obvious conflicts are
also detected: the coordinator's email domain is the domain of a member of the startup,
or of the startup's website. Detected conflicts are stored when a coordinator is created
or signs in and when a startup member registers (``detect_conflicts_for_coordinator``,
``detect_conflicts_for_startup``), and are also recognised live by ``has_conflict``, so a
conflict counts even before detection has run. Free mail providers and reserved example
domains are never evidence of a conflict.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from models import ConflictOfInterest, Startup, User
from models.vocabulary import ROLE_ADMIN, ROLE_COORDINATOR, ROLE_OFFICER, ROLE_STARTUP

from .. import signals
from ..database import db
from ..errors import DomainError, NotAllowed
from . import audit

CONFLICT_FIELDS = ("coordinator_id", "startup_id", "source", "reason")
REASON_MAX = 1000
STAFF_ROLES = (ROLE_COORDINATOR, ROLE_ADMIN)
#: Who may have a conflict of interest: the lab, and officers (they sit on their challenges' scoring panels).
PANEL_ROLES = (ROLE_OFFICER, ROLE_COORDINATOR, ROLE_ADMIN)

#: Shared mail providers: two people using one of these have nothing else in common.
PUBLIC_EMAIL_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "hotmail.com.hk", "live.com",
        "live.hk", "msn.com", "yahoo.com", "yahoo.com.hk", "ymail.com", "icloud.com", "me.com", "mac.com",
        "aol.com", "proton.me", "protonmail.com", "pm.me", "gmx.com", "gmx.net", "mail.com", "zoho.com",
        "yandex.com", "qq.com", "foxmail.com", "163.com", "126.com", "yeah.net", "sina.com", "sina.cn",
        "sohu.com", "aliyun.com", "netvigator.com", "biznetvigator.com", "hkbn.net", "i-cable.com",
        "ymail.hk", "fastmail.com", "hey.com", "tutanota.com",
    }
)
#: Reserved names (RFC 2606 / RFC 6761) that no real organisation uses.
RESERVED_DOMAINS = frozenset({"example.com", "example.net", "example.org"})
RESERVED_TLDS = frozenset({"test", "example", "invalid", "localhost", "local"})


# -- domains -------------------------------------------------------------------------------


def _clean_host(host: str | None) -> str | None:
    host = (host or "").strip().strip(".").lower()
    host = host.removeprefix("www.")
    if not host or "." not in host or " " in host:
        return None
    return host


def email_domain(email: str | None) -> str | None:
    """The domain of an email address, lower case (None if there is none)."""
    if not email or "@" not in email:
        return None
    return _clean_host(email.rsplit("@", 1)[1])


def website_domain(website: str | None) -> str | None:
    """The host of a website address without ``www.`` (None if there is none)."""
    website = (website or "").strip()
    if not website:
        return None
    if "://" not in website:
        website = "http://" + website
    try:
        host = urlsplit(website).hostname
    except ValueError:
        return None
    return _clean_host(host)


def _ignored(domain: str) -> bool:
    extra = {d.lower() for d in current_app.config.get("CONFLICT_IGNORED_DOMAINS", ())}
    if domain in PUBLIC_EMAIL_DOMAINS or domain in RESERVED_DOMAINS or domain in extra:
        return True
    if domain.rsplit(".", 1)[-1] in RESERVED_TLDS:
        return True
    return any(domain.endswith("." + reserved) for reserved in RESERVED_DOMAINS)


def meaningful_domain(domain: str | None) -> str | None:
    """``domain`` if it can show a conflict, None for shared providers and reserved names."""
    if domain is None or _ignored(domain):
        return None
    return domain


def same_organisation(a: str | None, b: str | None) -> bool:
    """Whether two domains are the same, or one is a subdomain of the other."""
    a, b = meaningful_domain(a), meaningful_domain(b)
    if a is None or b is None:
        return False
    return a == b or a.endswith("." + b) or b.endswith("." + a)


# -- detection -----------------------------------------------------------------------------


def _detected_reason(coordinator: User, startup: Startup, member_emails: list[str]) -> str | None:
    """Why ``coordinator`` is obviously conflicted with ``startup``, or None."""
    mine = meaningful_domain(email_domain(coordinator.email))
    if mine is None:
        return None
    for email in member_emails:
        theirs = email_domain(email)
        if same_organisation(mine, theirs):
            return _("Same email domain as a member of the startup (%(domain)s).", domain=theirs)
    site = website_domain(startup.website)
    if same_organisation(mine, site):
        return _("Email domain matches the startup's website (%(domain)s).", domain=site)
    return None


def _member_emails(startup_id: int) -> list[str]:
    return list(db.scalars(select(User.email).where(User.role == ROLE_STARTUP, User.startup_id == startup_id)))


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _domain_candidates(domain: str) -> list[Startup]:
    """Startups that may share ``domain``: a member's email or the website mentions it (a superset)."""
    parts = domain.split(".")
    # The domain and its parents down to two labels, so a subdomain relation either way is found.
    related = [_escape_like(".".join(parts[i:])) for i in range(len(parts) - 1)]
    member_match = or_(
        *[User.email.like(f"%@{d}", escape="\\") for d in related],
        User.email.like(f"%.{related[0]}", escape="\\"),
    )
    startup_ids = set(
        db.scalars(select(User.startup_id).where(User.role == ROLE_STARTUP, User.startup_id.is_not(None), member_match))
    )
    website_match = or_(*[Startup.website.ilike(f"%{d}%", escape="\\") for d in related])
    startup_ids |= set(db.scalars(select(Startup.id).where(website_match)))
    if not startup_ids:
        return []
    return list(db.scalars(select(Startup).where(Startup.id.in_(startup_ids)).order_by(Startup.id)))


def detected_conflicts(coordinator: User) -> dict[int, str]:
    """The startups ``coordinator`` is obviously conflicted with, by id, with the reason (no writes)."""
    if getattr(coordinator, "role", None) not in PANEL_ROLES:
        return {}
    mine = meaningful_domain(email_domain(coordinator.email))
    if mine is None:
        return {}
    candidates = _domain_candidates(mine)
    if not candidates:
        return {}
    members: dict[int, list[str]] = {}
    for startup_id, email in db.execute(
        select(User.startup_id, User.email).where(
            User.role == ROLE_STARTUP, User.startup_id.in_([s.id for s in candidates])
        )
    ):
        if startup_id is not None:  # the query asks for members of these startups only
            members.setdefault(startup_id, []).append(email)
    found: dict[int, str] = {}
    for startup in candidates:
        reason = _detected_reason(coordinator, startup, members.get(startup.id, []))
        if reason:
            found[startup.id] = reason
    return found


def _store_detected(coordinator: User, startup_id: int, reason: str) -> ConflictOfInterest | None:
    exists = db.scalar(
        select(ConflictOfInterest.id).where(
            ConflictOfInterest.coordinator_id == coordinator.id, ConflictOfInterest.startup_id == startup_id
        )
    )
    if exists is not None:
        return None
    conflict = ConflictOfInterest(
        coordinator_id=coordinator.id, startup_id=startup_id, source="detected", reason=reason[:REASON_MAX]
    )
    try:
        with db.begin_nested():  # another request may record the same pair at the same moment
            db.add(conflict)
            db.flush()
    except IntegrityError:
        return None
    signals.changed(None, "conflict.detect", conflict, after=audit.snapshot(conflict, CONFLICT_FIELDS))
    return conflict


def detect_conflicts_for_coordinator(user: User) -> list[ConflictOfInterest]:
    """Store the obvious conflicts of a coordinator (or admin) with every startup; return the new ones."""
    if getattr(user, "role", None) not in STAFF_ROLES or user.id is None:
        return []
    new = []
    for startup_id, reason in sorted(detected_conflicts(user).items()):
        conflict = _store_detected(user, startup_id, reason)
        if conflict is not None:
            new.append(conflict)
    db.flush()
    return new


def detect_conflicts_for_startup(startup: Startup) -> list[ConflictOfInterest]:
    """Store the obvious conflicts of every coordinator (and admin) with ``startup``; return the new ones."""
    if startup.id is None:
        db.flush()
    members = _member_emails(startup.id)
    new = []
    for coordinator in db.scalars(select(User).where(User.role.in_(STAFF_ROLES)).order_by(User.id)):
        reason = _detected_reason(coordinator, startup, members)
        if reason:
            conflict = _store_detected(coordinator, startup.id, reason)
            if conflict is not None:
                new.append(conflict)
    db.flush()
    return new


# -- declaring and reading -----------------------------------------------------------------


def declare_conflict(user: User, startup: Startup, reason: str) -> ConflictOfInterest:
    """Record that ``user`` (a coordinator, or an officer on a scoring panel) has a conflict of interest with ``startup``."""
    if getattr(user, "role", None) not in PANEL_ROLES:
        raise NotAllowed(_("Only lab coordinators and officers declare conflicts of interest."))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say why you have a conflict with this startup."), field="reason")
    if len(reason) > REASON_MAX:
        raise DomainError(_("Use at most %(n)d characters.", n=REASON_MAX), field="reason")
    existing = db.scalar(
        select(ConflictOfInterest).where(
            ConflictOfInterest.coordinator_id == user.id, ConflictOfInterest.startup_id == startup.id
        )
    )
    if existing is not None and existing.source == "declared":
        raise DomainError(_("You have already declared a conflict with this startup."), field="startup_id")
    if existing is not None:
        # A detected conflict the coordinator now confirms: keep one row, now declared.
        before = audit.snapshot(existing, CONFLICT_FIELDS)
        existing.source = "declared"
        existing.reason = reason
        db.flush()
        signals.changed(user, "conflict.declare", existing, before, audit.snapshot(existing, CONFLICT_FIELDS))
        return existing
    conflict = ConflictOfInterest(coordinator_id=user.id, startup_id=startup.id, source="declared", reason=reason)
    db.add(conflict)
    try:
        db.flush()
    except IntegrityError as error:  # the same declaration from another tab at the same moment
        raise DomainError(
            _("You have already declared a conflict with this startup."), field="startup_id"
        ) from error
    signals.changed(user, "conflict.declare", conflict, after=audit.snapshot(conflict, CONFLICT_FIELDS))
    return conflict


def conflicts_of(user: User) -> list[ConflictOfInterest]:
    """The stored conflicts of coordinator ``user``, newest first, with their startups."""
    return list(
        db.scalars(
            select(ConflictOfInterest)
            .where(ConflictOfInterest.coordinator_id == user.id)
            .options(selectinload(ConflictOfInterest.startup))
            .order_by(ConflictOfInterest.created_at.desc(), ConflictOfInterest.id.desc())
        )
    )


def conflicted_startup_ids(user: Any) -> set[int]:
    """Every startup ``user`` has a conflict with: declared, detected and stored, or detected now."""
    if getattr(user, "role", None) not in PANEL_ROLES:
        return set()
    stored = set(
        db.scalars(select(ConflictOfInterest.startup_id).where(ConflictOfInterest.coordinator_id == user.id))
    )
    return stored | set(detected_conflicts(user))


def has_conflict(user: Any, startup_id: int) -> bool:
    """Whether coordinator ``user`` has a declared or detected conflict with the startup."""
    if getattr(user, "role", None) not in PANEL_ROLES:
        return False
    stored = db.scalar(
        select(ConflictOfInterest.id).where(
            ConflictOfInterest.coordinator_id == user.id, ConflictOfInterest.startup_id == startup_id
        )
    )
    if stored is not None:
        return True
    startup = db.get(Startup, startup_id)
    return startup is not None and _detected_reason(user, startup, _member_emails(startup_id)) is not None


def coordinators_conflicted_with(startup_id: int) -> list[User]:
    """The coordinators with a stored conflict with the startup (for the trial page)."""
    return list(
        db.scalars(
            select(User)
            .join(ConflictOfInterest, ConflictOfInterest.coordinator_id == User.id)
            .where(ConflictOfInterest.startup_id == startup_id)
            .order_by(User.display_name)
        )
    )
