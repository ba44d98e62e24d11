"""Accounts: registration, sign-in with throttling, sign-out, user administration."""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from models import Department, LoginAttempt, Startup, User
from models.user import new_session_token
from models.vocabulary import ROLE_STARTUP, ROLES, Role

from .. import clock
from ..database import db
from ..errors import DomainError
from ..passwords import hash_password, needs_rehash, password_problem, verify_password
from . import audit

log = logging.getLogger("innomatch.auth")

# Per-account throttle, counted in the database so it holds across workers.
MAX_FAILURES = 10
FAILURE_WINDOW = timedelta(minutes=15)
USER_FIELDS = ("email", "display_name", "role", "locale", "department_id", "startup_id", "is_active")


def email_ref(email: str) -> str:
    """A stable pseudonym of an email for the logs (keyed HMAC: not reversible without the key)."""
    key = str(current_app.config.get("SECRET_KEY") or "").encode()
    return hmac.new(key, email.strip().lower().encode(), hashlib.sha256).hexdigest()[:16]


def password_message(problem: str) -> str:
    """Translate a password-policy problem into a message for the form."""
    return {
        "too_short": _("Password must be at least 12 characters."),
        "too_long": _("Password must be at most 128 characters."),
        "common": _("This password is too common; choose another."),
        "repetitive": _("This password repeats the same characters; choose one that is harder to guess."),
        "sequential": _("This password is a sequence such as abcdef, 123456 or qwerty; choose one that is harder to guess."),
        "service_name": _("Your password must not contain the name of this service."),
        "email": _("Your password must not contain your email address."),
        "name": _("Your password must not contain your name."),
    }[problem]


def check_password_policy(password: str, field: str = "password", *, email: str = "", name: str = "") -> None:
    """Raise DomainError if ``password`` breaks the policy (``email`` and ``name`` are the account's)."""
    problem = password_problem(password, email=email, name=name)
    if problem:
        raise DomainError(password_message(problem), field=field)


def _email_taken(email: str) -> bool:
    return db.scalar(select(func.count()).where(User.email == email.lower())) > 0


@dataclass
class StartupRegistration:
    email: str
    password: str
    display_name: str
    startup_name: str
    website: str = ""
    size: str = "1-10"
    locale: str = "en"


def register_startup(data: StartupRegistration) -> User:
    """Create a startup and its first member account."""
    email = data.email.strip().lower()
    if _email_taken(email):
        raise DomainError(_("An account with this email already exists."), field="email")
    name = data.startup_name.strip()
    if db.scalar(select(func.count()).where(func.lower(Startup.name) == name.lower())):
        raise DomainError(_("A startup with this name is already registered."), field="startup_name")
    check_password_policy(data.password, email=email, name=data.display_name)
    startup = Startup(name=name, website=data.website.strip(), size=data.size)
    db.add(startup)
    db.flush()
    user = User(
        email=email,
        password_hash=hash_password(data.password),
        display_name=data.display_name.strip(),
        role=ROLE_STARTUP,
        startup_id=startup.id,
        locale=data.locale,
    )
    db.add(user)
    db.flush()
    log.info("registration user=%s startup=%s", user.id, startup.id)
    audit.record(user, "startup.register", startup, after={"name": startup.name})
    audit.record(user, "user.create", user, after=audit.snapshot(user, USER_FIELDS))
    return user


def create_user(
    actor: User | None,
    *,
    email: str,
    password: str,
    display_name: str,
    role: str,
    department: Department | None = None,
    startup: Startup | None = None,
    locale: str = "en",
) -> User:
    """Create an account of any role (admins and the CLI)."""
    email = email.strip().lower()
    if role not in ROLES:
        raise DomainError(_("Unknown role."), field="role")
    if role == Role.OFFICER and department is None:
        raise DomainError(_("An officer must belong to a department."), field="department")
    if role == Role.STARTUP and startup is None:
        raise DomainError(_("A startup member must belong to a startup."), field="startup")
    if _email_taken(email):
        raise DomainError(_("An account with this email already exists."), field="email")
    check_password_policy(password, email=email, name=display_name)
    user = User(
        email=email,
        password_hash=hash_password(password),
        display_name=display_name.strip(),
        role=role,
        department_id=department.id if department and role == Role.OFFICER else None,
        startup_id=startup.id if startup and role == Role.STARTUP else None,
        locale=locale,
    )
    db.add(user)
    db.flush()
    log.info("account created user=%s role=%s by=%s", user.id, role, getattr(actor, "id", "cli"))
    audit.record(actor, "user.create", user, after=audit.snapshot(user, USER_FIELDS))
    return user


def recent_failures(email: str) -> int:
    """Failed sign-ins for ``email`` within the throttle window."""
    since = clock.now() - FAILURE_WINDOW
    return db.scalar(
        select(func.count()).where(
            LoginAttempt.email == email, LoginAttempt.success.is_(False), LoginAttempt.created_at >= since
        )
    ) or 0


def authenticate(email: str, password: str, ip: str = "") -> User:
    """Return the user for valid credentials; record the attempt; throttle repeated failures."""
    email = email.strip().lower()[:254]
    if recent_failures(email) >= MAX_FAILURES:
        log.warning("sign-in throttled email_ref=%s ip=%s", email_ref(email), ip)
        raise DomainError(
            _("Too many failed attempts. Please wait 15 minutes and try again."), field="email"
        )
    user = db.scalar(select(User).where(User.email == email))
    ok = verify_password(user.password_hash if user else None, password) and user is not None
    ok = ok and user.is_active  # type: ignore[union-attr]
    db.add(LoginAttempt(email=email, ip=ip[:64], success=bool(ok)))
    if not ok or user is None:
        log.info("sign-in failed email_ref=%s known=%s ip=%s", email_ref(email), user is not None, ip)
        db.flush()
        raise DomainError(_("Email or password is not correct."), field="email")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = clock.now()
    log.info("sign-in ok user=%s ip=%s", user.id, ip)
    db.flush()
    return user


def end_sessions(user: User) -> None:
    """Invalidate every session of ``user`` by rotating its session token."""
    user.session_token = new_session_token()
    db.flush()


def change_password(user: User, current: str, new: str) -> None:
    """Change the password after re-checking the current one; other sessions end."""
    if not verify_password(user.password_hash, current):
        log.warning("re-authentication failed user=%s action=password_change", user.id)
        raise DomainError(_("Your current password is not correct."), field="current_password")
    check_password_policy(new, field="new_password", email=user.email, name=user.display_name)
    user.password_hash = hash_password(new)
    user.password_changed_at = clock.now()
    end_sessions(user)
    log.info("password changed user=%s", user.id)
    audit.record(user, "user.password_change", user)


def change_email(user: User, current: str, new_email: str) -> None:
    """Change the sign-in email after re-checking the password."""
    if not verify_password(user.password_hash, current):
        log.warning("re-authentication failed user=%s action=email_change", user.id)
        raise DomainError(_("Your current password is not correct."), field="current_password")
    new_email = new_email.strip().lower()
    if new_email != user.email and _email_taken(new_email):
        raise DomainError(_("An account with this email already exists."), field="email")
    before = audit.snapshot(user, USER_FIELDS)
    user.email = new_email
    db.flush()
    log.info("email changed user=%s", user.id)
    audit.record(user, "user.email_change", user, before, audit.snapshot(user, USER_FIELDS))
