"""Accounts: registration, sign-in with throttling, sign-out, user administration."""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, has_request_context, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from models import Department, LoginAlert, LoginAttempt, LoginThrottle, Startup, User
from models.user import new_session_token
from models.vocabulary import ROLE_STARTUP, ROLES, Role

from .. import clock
from ..database import db
from ..errors import DomainError
from ..passwords import hash_password, needs_rehash, password_problem, verify_password
from . import audit, mail

log = logging.getLogger("innomatch.auth")

# Sign-in throttle per account AND source (the client address through the trusted proxies),
# counted in the database so it holds across workers: after THROTTLE_AFTER failures from one
# source for one account, that source waits 2, 4, 8 ... seconds (at most MAX_DELAY) before
# each further attempt is checked. The owner, from any other source, signs in as usual.
THROTTLE_AFTER = 5
MAX_DELAY = timedelta(minutes=15)
# Failures older than this (since the source's last failure) are forgotten.
FAILURE_WINDOW = timedelta(hours=24)
# The owner is emailed when a source reaches THROTTLE_AFTER failures, at most once per window.
ALERT_WINDOW = timedelta(hours=24)
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


def register_startup(data: StartupRegistration) -> User | None:
    """Create a startup and its first member account, and email the address either way.

    The answer must not tell anyone whether an email has an account: everything else is
    checked first, then a new address gets its account and a welcome email, and an address
    that already has an account gets an email saying someone tried to register with it (no
    account is created or changed). Both take the same steps, the password hash included.
    Returns the new user, or None when the address already had an account.
    """
    email = data.email.strip().lower()
    name = data.startup_name.strip()
    if db.scalar(select(func.count()).where(func.lower(Startup.name) == name.lower())):
        raise DomainError(_("A startup with this name is already registered."), field="startup_name")
    check_password_policy(data.password, email=email, name=data.display_name)
    password_hash = hash_password(data.password)
    existing = db.scalar(select(User).where(User.email == email))
    if existing is not None:
        log.info("registration for an existing account email_ref=%s", email_ref(email))
        _email_account(existing.display_name, email, existing.locale, "existing")
        return None
    startup = Startup(name=name, website=data.website.strip(), size=data.size)
    user = User(
        email=email,
        password_hash=password_hash,
        display_name=data.display_name.strip(),
        role=ROLE_STARTUP,
        locale=data.locale,
    )
    try:  # the same address or name registered at the same moment: the route rolls back
        db.add(startup)
        db.flush()
        user.startup_id = startup.id
        db.add(user)
        db.flush()
    except IntegrityError as error:
        raise DomainError(_("Something changed while you registered. Please try again.")) from error
    log.info("registration user=%s startup=%s", user.id, startup.id)
    audit.record(user, "startup.register", startup, after={"name": startup.name})
    audit.record(user, "user.create", user, after=audit.snapshot(user, USER_FIELDS))
    _email_account(user.display_name, email, user.locale, "welcome", startup_name=startup.name)
    return user


def _email_account(name: str, email: str, locale: str, kind: str, **values: str) -> None:
    """Queue a registration email (``kind``: welcome or existing) in the recipient's language."""
    locale = locale or "en"
    with force_locale(locale):
        subject = (
            _("Welcome to InnoMatch")
            if kind == "welcome"
            else _("Someone tried to register on InnoMatch with your email address")
        )
        body = render_template(
            f"email/registration_{kind}.txt", name=name,
            sign_in_url=mail.absolute(_path("auth.login")), **values,
        )
    mail.queue(mail.build_message(name, email, subject, body, "zh-Hant-HK" if locale.startswith("zh") else "en"))


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


def throttle_delay(failures: int) -> timedelta:
    """How long a source waits after its ``failures``-th failure for one account (doubling, capped)."""
    if failures < THROTTLE_AFTER:
        return timedelta(0)
    exponent = min(failures - THROTTLE_AFTER + 1, 20)  # 2**20 s is far beyond the cap
    return min(timedelta(seconds=2**exponent), MAX_DELAY)


def _insert(table: type) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that can skip a row already there (ON CONFLICT DO NOTHING) on this database."""
    dialect = postgresql if db.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def _claim_attempt(email: str, source: str) -> int | None:
    """Count this attempt as a failure before checking it; None if the source must still wait.

    The UPDATE takes the (email, source) row's lock until the request commits, so parallel
    guesses queue behind it and each sees the failures counted before it: 25 at once get
    THROTTLE_AFTER checks, not 25. A success resets the count afterwards.
    """
    now = clock.now()
    db.execute(
        _insert(LoginThrottle)
        .values(email=email, source=source, failures=0)
        .on_conflict_do_nothing(index_elements=["email", "source"])
    )
    failures = db.execute(
        update(LoginThrottle)
        .where(
            LoginThrottle.email == email,
            LoginThrottle.source == source,
            or_(LoginThrottle.blocked_until.is_(None), LoginThrottle.blocked_until <= now),
        )
        .values(
            failures=case(
                (LoginThrottle.last_failure_at < now - FAILURE_WINDOW, 1), else_=LoginThrottle.failures + 1
            ),
            last_failure_at=now,
        )
        .returning(LoginThrottle.failures)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if failures is not None and failures >= THROTTLE_AFTER:
        db.execute(
            update(LoginThrottle)
            .where(LoginThrottle.email == email, LoginThrottle.source == source)
            .values(blocked_until=now + throttle_delay(failures))
            .execution_options(synchronize_session=False)
        )
    return failures


def _wait_message(email: str, source: str) -> str:
    blocked_until = db.scalar(
        select(LoginThrottle.blocked_until).where(LoginThrottle.email == email, LoginThrottle.source == source)
    )
    seconds = max(1, int(((blocked_until or clock.now()) - clock.now()).total_seconds() + 0.999))
    if seconds < 120:
        return _("Too many failed attempts. Wait %(seconds)d seconds and try again.", seconds=seconds)
    return _("Too many failed attempts. Wait %(minutes)d minutes and try again.", minutes=-(-seconds // 60))


def _clear_failures(email: str, source: str) -> None:
    db.execute(
        update(LoginThrottle)
        .where(LoginThrottle.email == email, LoginThrottle.source == source)
        .values(failures=0, blocked_until=None, last_failure_at=None)
        .execution_options(synchronize_session=False)
    )


def _claim_alert(email: str) -> bool:
    """Whether the owner of ``email`` is to be told now (atomically: once per ALERT_WINDOW)."""
    now = clock.now()
    # RETURNING, not rowcount: drivers report -1 for an INSERT ... ON CONFLICT DO NOTHING.
    inserted = db.execute(
        _insert(LoginAlert)
        .values(email=email, sent_at=now)
        .on_conflict_do_nothing(index_elements=["email"])
        .returning(LoginAlert.email)
    ).scalar_one_or_none()
    if inserted is not None:
        return True
    renewed = db.execute(
        update(LoginAlert)
        .where(LoginAlert.email == email, LoginAlert.sent_at < now - ALERT_WINDOW)
        .values(sent_at=now)
        .returning(LoginAlert.email)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    return renewed is not None


def _path(endpoint: str) -> str:
    """The site-relative path of ``endpoint``, inside or outside a request."""
    if has_request_context():
        return url_for(endpoint)
    root = current_app.config.get("APPLICATION_ROOT") or "/"
    return current_app.url_map.bind("localhost", script_name=root).build(endpoint)


def _alert_owner(user: User, failures: int, source: str) -> None:
    """Email the owner of an account that someone keeps failing to sign in to (once per window)."""
    if not _claim_alert(user.email):
        return
    locale = user.locale or "en"
    with force_locale(locale):
        subject = _("Failed sign-in attempts on your InnoMatch account")
        body = render_template(
            "email/sign_in_failures.txt", user=user, failures=failures, source=source or "?",
            when=clock.now(), account_url=mail.absolute(_path("auth.account")),
        )
    message = mail.build_message(
        user.display_name, user.email, subject, body, "zh-Hant-HK" if locale.startswith("zh") else "en"
    )
    mail.queue(message)
    log.warning("sign-in failures alert user=%s failures=%s ip=%s", user.id, failures, source)


def authenticate(email: str, password: str, ip: str = "") -> User:
    """Return the user for valid credentials; record the attempt; throttle this source for this account."""
    email = email.strip().lower()[:254]
    source = ip[:64]
    failures = _claim_attempt(email, source)
    if failures is None:
        log.warning("sign-in throttled email_ref=%s ip=%s", email_ref(email), ip)
        db.add(LoginAttempt(email=email, ip=source, success=False))
        db.flush()
        raise DomainError(_wait_message(email, source), field="email")
    user = db.scalar(select(User).where(User.email == email))
    ok = verify_password(user.password_hash if user else None, password) and user is not None
    ok = ok and user.is_active  # type: ignore[union-attr]
    db.add(LoginAttempt(email=email, ip=source, success=bool(ok)))
    if not ok or user is None:
        log.info("sign-in failed email_ref=%s known=%s ip=%s", email_ref(email), user is not None, ip)
        if user is not None and user.is_active and failures >= THROTTLE_AFTER:
            _alert_owner(user, failures, source)
        db.flush()
        raise DomainError(_("Email or password is not correct."), field="email")
    _clear_failures(email, source)
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
