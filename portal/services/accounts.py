"""Accounts: registration, sign-in with throttling, sign-out, password reset, email
verification and email changes, user administration.

Emailed links (password reset, email verification) are single-use rows of
``account_tokens`` holding only the SHA-256 of a random secret: a copy of the database
opens no account, a link works once (``used_at``), expires (an hour for a reset), and a
newer link, a password change or an email change voids the older ones. Signed stateless
tokens (itsdangerous) could not be revoked one by one nor carry a pending address.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, has_request_context, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from models import (
    AccountToken,
    Department,
    LoginAlert,
    LoginAttempt,
    LoginThrottle,
    OutboxMail,
    Startup,
    StartupNameHold,
    User,
)
from models.names import clean_name, name_key
from models.user import new_session_token
from models.vocabulary import ROLE_STARTUP, ROLES, Role, TokenPurpose

from .. import clock, signals
from ..database import db
from ..errors import DomainError
from ..extensions import formatting_locale
from ..passwords import hash_password, needs_rehash, password_problem, verify_password
from . import api_tokens, audit, mail

log = logging.getLogger("innomatch.auth")

# Sign-in throttle per account AND source (the client address through the trusted proxies),
# counted in the database so it holds across workers: after THROTTLE_AFTER failures from one
# source for one account, that source waits 2, 4, 8 ... seconds (at most MAX_DELAY) before
# each further attempt is checked. The owner, from any other source, signs in as usual.
THROTTLE_AFTER = 5
#: Failures for one account from every source together before each further try waits
#: (NIST SP 800-63B 5.2.2 asks for a limit per account): a guesser who changes address for
#: every try meets this one; one person mistyping from one place meets THROTTLE_AFTER first.
ACCOUNT_THROTTLE_AFTER = 20
#: The throttle's source for the count of one account's failures from every source. Sources
#: the account signed in from within KNOWN_SOURCE_AGE are not counted there, nor held by it.
ANY_SOURCE = "(any source)"
KNOWN_SOURCE_AGE = timedelta(days=90)
MAX_DELAY = timedelta(minutes=15)
# Failures older than this (since the source's last failure) are forgotten.
FAILURE_WINDOW = timedelta(hours=24)
# The owner is emailed when a source reaches THROTTLE_AFTER failures, at most once per window.
ALERT_WINDOW = timedelta(hours=24)
#: The longest name an account is shown by (``users.display_name``).
DISPLAY_NAME_MAX = 120
#: The pseudonym of a closed account (``privacy.pseudonymise``): nobody may take it as a name.
CLOSED_ACCOUNT_NAME = re.compile(r"former\s*user\s*#?\s*\d+", re.IGNORECASE)

USER_FIELDS = ("email", "display_name", "role", "locale", "department_id", "startup_id", "is_active")
#: How long an emailed link works.
TOKEN_LIFETIME = {TokenPurpose.RESET_PASSWORD: timedelta(hours=1), TokenPurpose.VERIFY_EMAIL: timedelta(days=2)}
#: Links of one purpose sent to one account per hour; more requests are answered alike but send nothing.
MAX_LINKS_PER_HOUR = 3


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
        "email": _("Your password must not contain your email address, or the part of it before the @."),
        "name": _("Your password must not contain your name."),
    }[problem]


def check_password_policy(password: str, field: str = "password", *, email: str = "", name: str = "") -> None:
    """Raise DomainError if ``password`` breaks the policy (``email`` and ``name`` are the account's)."""
    problem = password_problem(password, email=email, name=name)
    if problem:
        raise DomainError(password_message(problem), field=field)


def _email_taken(email: str) -> bool:
    return (db.scalar(select(func.count()).where(User.email == email.lower())) or 0) > 0


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

    The answer must not tell anyone whether an email has an account, nor (which would tell
    the same) whether a name is free: what the form alone decides (the password policy) is
    checked first, and after it every registration gets the same answer. A new address with
    a free name gets its account and a link to confirm it; an address that already has an
    account gets an email saying someone tried to register with it; a new address whose
    startup name is already registered gets an email saying so and what to do. No account is
    created or changed in the last two. All three take the same steps, the password hash included.
    Returns the new user, or None when no account was created.
    """
    email = data.email.strip().lower()
    name = clean_name(data.startup_name)
    check_password_policy(data.password, email=email, name=data.display_name)
    password_hash = hash_password(data.password)
    existing = db.scalar(select(User).where(User.email == email))
    key = name_key(name)
    name_taken = bool(db.scalar(select(func.count()).where(Startup.name_key == key))) or (
        db.get(StartupNameHold, key) is not None)
    if existing is not None:
        log.info("registration for an existing account email_ref=%s", email_ref(email))
        if not name_taken:
            # A new address would have taken the name with its startup: this one holds it
            # alike, or trying the name again would tell which kind of address this was.
            db.execute(_insert(StartupNameHold).values(name_key=key, created_at=clock.now())
                       .on_conflict_do_nothing(index_elements=["name_key"]))
        _tell_existing_account(existing)
        return None
    if name_taken:
        log.info("registration with a registered startup name email_ref=%s", email_ref(email))
        _notify_once(email, data.display_name.strip(), data.locale or "en", "name_taken", startup_name=name,
                     register_url=mail.absolute(_path("auth.register"), data.locale or "en"))
        return None
    # The profile is most likely written in the language the founder registered in.
    language = "zh-Hant" if (data.locale or "").startswith("zh") else "en"
    startup = Startup(name=name, website=data.website.strip(), size=data.size, language=language)
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
    signals.changed(user, "startup.register", startup, after={"name": startup.name})
    signals.changed(user, "user.create", user, after=audit.snapshot(user, USER_FIELDS))
    _send_verification(user, user.email, startup_name=startup.name)  # a welcome, and the link to confirm
    return user


#: Why an address is told that someone tried to use it (to register, or to move an account to it)
#: or that the startup name it registered with is taken: the subject and
#: the template of each email.
ADDRESS_IN_USE = {
    "registration": (_l("Someone tried to register on InnoMatch with your email address"),
                     "email/registration_existing.txt"),
    "email_change": (_l("Someone asked to move another InnoMatch account to your email address"),
                     "email/email_change_existing.txt"),
    "name_taken": (_l("Your InnoMatch registration: that startup name is already registered"),
                   "email/registration_name_taken.txt"),
}


def _tell_existing_account(user: User, why: str = "registration") -> None:
    """Tell an account's address that someone tried to register with it, or to move another
    account to it (``why``), in its language."""
    _notify_once(user.email, user.display_name, user.locale or "en", why,
                 sign_in_url=mail.absolute(_path("auth.login"), user.locale or "en"))


def _notify_once(address: str, name: str, locale: str, why: str, **context: str) -> None:
    """Email ``address`` the notice ``why`` (a key of ADDRESS_IN_USE) in ``locale``, at most
    once an hour for each: repeated attempts must not turn a form into a way to flood an inbox."""
    lazy_subject, template = ADDRESS_IN_USE[why]
    with force_locale(formatting_locale(locale)):
        subject = str(lazy_subject)
    told = db.scalar(
        select(func.count()).where(
            OutboxMail.recipient == address,
            OutboxMail.subject == subject,
            OutboxMail.created_at > clock.now() - timedelta(hours=1),
        )
    )
    if told:
        log.info("notice %s already sent this hour email_ref=%s", why, email_ref(address))
        return
    mail.queue_in_language(name, address, locale, subject, template, name=name, **context)


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
    verified: bool = False,
) -> User:
    """Create an account of any role (admins and the CLI).

    ``verified`` marks the email as confirmed (the CLI: the operator vouches for it);
    otherwise the new user is emailed a verification link.
    """
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
    signals.changed(actor, "user.create", user, after=audit.snapshot(user, USER_FIELDS))
    if verified:
        user.email_verified_at = clock.now()
    else:
        _send_verification(user, user.email)
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


def _claim_attempt(email: str, source: str, after: int = THROTTLE_AFTER) -> int | None:
    """Count this attempt as a failure before checking it; None if the source must still wait.

    The UPDATE takes the (email, source) row's lock until the request commits, so parallel
    guesses queue behind it and each sees the failures counted before it: 25 at once get
    THROTTLE_AFTER checks, not 25. A success resets the count afterwards. From the
    ``after``-th failure on, each one makes the next try wait longer.
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
    if failures is not None and failures >= after:
        db.execute(
            update(LoginThrottle)
            .where(LoginThrottle.email == email, LoginThrottle.source == source)
            .values(blocked_until=now + throttle_delay(failures - after + THROTTLE_AFTER))
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
    mail.queue_in_language(
        user.display_name, user.email, locale, _l("Failed sign-in attempts on your InnoMatch account"),
        "email/sign_in_failures.txt", user=user, failures=failures, source=source or "?",
        when=clock.now(), account_url=mail.absolute(_path("auth.account"), locale),
    )
    log.warning("sign-in failures alert user=%s failures=%s ip=%s", user.id, failures, source)


def throttle_source(ip: str) -> str:
    """The source an address's failures are counted under: an IPv6 address's /64 network
    (one subscriber's share, which hands out addresses freely), any other address as given."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        # Not an address (a misconfigured proxy's header, say): never one of the throttle's
        # own names (ANY_SOURCE, RECHECK_SOURCE).
        return ("raw:" + ip)[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def record_sign_in(user: User, ip: str) -> None:
    """Record a sign-in that did not go through the password form (an accepted invitation):
    its source is then one the account signs in from (:func:`_known_source`)."""
    db.add(LoginAttempt(email=user.email, ip=ip[:64], success=True))
    user.last_login_at = clock.now()
    db.flush()


def _account_waiting(email: str) -> bool:
    """Whether tries on the account from unfamiliar sources must still wait (read only)."""
    until = db.scalar(select(LoginThrottle.blocked_until).where(
        LoginThrottle.email == email, LoginThrottle.source == ANY_SOURCE))
    return until is not None and until > clock.now()


def _known_source(email: str, source: str) -> bool:
    """Whether the account signed in successfully from ``source`` within KNOWN_SOURCE_AGE:
    its owner, most likely, whom guesses from elsewhere must not lock out (each source
    still has its own throttle)."""
    recent = db.scalars(
        select(LoginAttempt.ip)
        .where(LoginAttempt.email == email, LoginAttempt.success.is_(True),
               LoginAttempt.created_at > clock.now() - KNOWN_SOURCE_AGE)
        .order_by(LoginAttempt.id.desc())
        .limit(50)
    )
    return any(throttle_source(ip) == source for ip in recent)


def authenticate(email: str, password: str, ip: str = "") -> User:
    """Return the user for valid credentials; record the attempt; throttle this source for
    this account, and, from sources it has not signed in from lately, the account itself
    once its failures from every such source add up."""
    email = email.strip().lower()[:254]
    source = throttle_source(ip)
    failures = _claim_attempt(email, source)
    account_failures: int | None = 0
    counted = False  # whether this attempt is counted for the account over every source
    if failures is not None and not _known_source(email, source):
        if failures <= THROTTLE_AFTER:
            # A source adds its first few failures only, so no single address can hold the
            # account: it takes guesses from several.
            account_failures = _claim_attempt(email, ANY_SOURCE, ACCOUNT_THROTTLE_AFTER)
            counted = account_failures is not None
        elif _account_waiting(email):
            account_failures = None
    if failures is None or account_failures is None:
        waiting = source if failures is None else ANY_SOURCE
        log.warning("sign-in throttled email_ref=%s ip=%s across_sources=%s", email_ref(email), ip,
                    waiting == ANY_SOURCE)
        db.add(LoginAttempt(email=email, ip=ip[:64], success=False))
        db.flush()
        raise DomainError(_wait_message(email, waiting), field="email")
    user = db.scalar(select(User).where(User.email == email))
    # The hash is checked for unknown addresses too (against a dummy), so the answer takes as
    # long whether or not the address has an account.
    password_ok = verify_password(user.password_hash if user is not None else None, password)
    ok = password_ok and user is not None and user.is_active
    db.add(LoginAttempt(email=email, ip=ip[:64], success=bool(ok)))
    if not ok or user is None:
        log.info("sign-in failed email_ref=%s known=%s active=%s ip=%s", email_ref(email), user is not None,
                 getattr(user, "is_active", None), ip)
        if user is not None and user.is_active and (
            failures >= THROTTLE_AFTER or account_failures >= ACCOUNT_THROTTLE_AFTER
        ):
            _alert_owner(user, max(failures, account_failures), source)
        db.flush()
        if password_ok:
            # Only someone who knows the password learns that the account is deactivated.
            raise DomainError(
                _("This account has been deactivated. Contact the InnoMatch administrators if you need it again."),
                field="email",
            )
        raise DomainError(_("Email or password is not correct."), field="email")
    # A success forgets this source's failures, and, when this attempt was counted there (an
    # unfamiliar source, which has now shown it knows the password), those of every source.
    _clear_failures(email, source)
    if counted:
        _clear_failures(email, ANY_SOURCE)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = clock.now()
    log.info("sign-in ok user=%s ip=%s", user.id, ip)
    db.flush()
    return user


#: The throttle's source for re-checks of the password by someone already signed in: one per
#: account, wherever the requests come from (a session taken elsewhere moves with its thief).
RECHECK_SOURCE = "(signed in)"


def recheck_password(user: User, password: str, action: str) -> None:
    """Re-check a signed-in user's password before a change that needs it (password, email,
    second step off, closing the account, a new API token), throttled per account like a sign-in: after
    THROTTLE_AFTER failures each new try waits longer (ASVS 2.2.1), so whoever holds a
    stolen session cannot guess the password it protects.

    The failure is counted before the check: the caller commits even when this raises (the
    checks come before any change, so there is nothing to undo).

    Raises:
        DomainError: on ``current_password``, when the password is wrong or tries must wait.
    """
    failures = _claim_attempt(user.email, RECHECK_SOURCE)
    if failures is None:
        log.warning("re-authentication throttled user=%s action=%s", user.id, action)
        raise DomainError(_wait_message(user.email, RECHECK_SOURCE), field="current_password")
    if not verify_password(user.password_hash, password):
        log.warning("re-authentication failed user=%s action=%s failures=%s", user.id, action, failures)
        raise DomainError(_("Your current password is not correct."), field="current_password")
    _clear_failures(user.email, RECHECK_SOURCE)


def end_sessions(user: User) -> None:
    """Invalidate every session of ``user`` by rotating its session token."""
    user.session_token = new_session_token()
    db.flush()


def end_other_sessions(user: User) -> None:
    """The owner signs out every session of the account (the caller signs this browser in
    again with the new token: ``security.sign_in_again``); recorded in the audit log."""
    end_sessions(user)
    log.info("other sessions ended user=%s", user.id)
    signals.changed(user, "user.sessions_end", user)


def lock_out_others(user: User, actor: User | None) -> int:
    """What a change of credentials (password, second step) or a deactivation must end, so
    that nobody who had them keeps a way in: every session, every unused link (password
    reset, email confirmation: a pending change of address would otherwise hand the account
    to whoever asked for it) and every API token. Returns the number of tokens revoked."""
    end_sessions(user)
    _void_tokens(user, TokenPurpose.RESET_PASSWORD)
    _void_tokens(user, TokenPurpose.VERIFY_EMAIL)
    return api_tokens.revoke_all(user, actor)


def change_password(user: User, current: str, new: str) -> int:
    """Change the password after re-checking the current one; other sessions, emailed links and
    API tokens end (:func:`lock_out_others`). Returns the number of API tokens revoked."""
    recheck_password(user, current, "password_change")
    check_password_policy(new, field="new_password", email=user.email, name=user.display_name)
    user.password_hash = hash_password(new)
    user.password_changed_at = clock.now()
    revoked = lock_out_others(user, user)
    log.info("password changed user=%s api_tokens_revoked=%s", user.id, revoked)
    signals.changed(user, "user.password_change", user)
    _send_password_changed(user, revoked)
    return revoked


def change_email(user: User, current: str, new_email: str) -> None:
    """Ask to change the sign-in email: the new address gets a link, the old one is told.

    The email only changes when the link is followed (:func:`confirm_email`). The answer is
    the same whether or not another account uses the new address, so that signing up and
    asking for changes does not tell anyone which addresses have accounts: an address in use
    is told that someone asked to move an account to it (as registration does), no link.
    """
    recheck_password(user, current, "email_change")
    new_email = new_email.strip().lower()
    if new_email == user.email:
        raise DomainError(_("This is already your email address."), field="email")
    owner = db.scalar(select(User).where(User.email == new_email))
    if owner is not None:
        log.info("email change to an address in use user=%s email_ref=%s", user.id, email_ref(new_email))
        # A link is made and thrown away, so that the asker's earlier links end and the hourly
        # cap counts alike for both answers (otherwise a link still open, or one more allowed,
        # would tell which addresses have accounts); confirm_email refuses it anyway.
        _issue_token(user, TokenPurpose.VERIFY_EMAIL, email=new_email)
        _tell_existing_account(owner, "email_change")
        sent = False
    else:
        sent = _send_verification(user, new_email)
    log.info("email change requested user=%s sent=%s", user.id, sent)
    signals.changed(user, "user.email_change_request", user)
    _send_email_change_notice(user, new_email)


# -- emailed links ------------------------------------------------------------------------------


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _void_tokens(user: User, purpose: str) -> None:
    """Make every unused link of ``purpose`` for ``user`` unusable."""
    db.execute(
        update(AccountToken)
        .where(AccountToken.user_id == user.id, AccountToken.purpose == purpose, AccountToken.used_at.is_(None))
        .values(used_at=clock.now())
    )


def _issue_token(user: User, purpose: TokenPurpose, email: str | None = None) -> str | None:
    """A new single-use secret for ``user`` (older ones of ``purpose`` void), or None past the hourly cap."""
    moment = clock.now()
    recent = db.scalar(
        select(func.count()).where(
            AccountToken.user_id == user.id,
            AccountToken.purpose == purpose,
            AccountToken.created_at >= moment - timedelta(hours=1),
        )
    ) or 0
    if recent >= MAX_LINKS_PER_HOUR:
        log.warning("link not sent user=%s purpose=%s reason=hourly-cap", user.id, purpose)
        return None
    _void_tokens(user, purpose)
    secret = secrets.token_urlsafe(32)
    db.add(
        AccountToken(
            user_id=user.id, purpose=purpose, token_hash=_digest(secret), email=email,
            created_at=moment, expires_at=moment + TOKEN_LIFETIME[purpose],
        )
    )
    db.flush()
    return secret


def find_token(secret: str, purpose: TokenPurpose) -> AccountToken | None:
    """The unused, unexpired link of ``purpose`` whose secret is ``secret``, for an active account."""
    if not secret or len(secret) > 200:
        return None
    token = db.scalar(
        select(AccountToken).where(AccountToken.token_hash == _digest(secret), AccountToken.purpose == purpose)
    )
    if token is None or token.used_at is not None or token.expires_at <= clock.now():
        return None
    user = db.get(User, token.user_id)
    if user is None or not user.is_active or user.closed_at is not None:
        return None
    return token


def _link_error() -> DomainError:
    return DomainError(_("This link is not valid: it has expired or has already been used."))


def _email(user: User, address: str, subject: Any, template: str, **context: Any) -> bool:
    """Queue an account email to ``address`` in the user's language (sent after the commit)."""
    return mail.queue_in_language(user.display_name, address, user.locale or "en", subject, template,
                                  user=user, **context)


def _send_verification(user: User, address: str, *, startup_name: str | None = None) -> bool:
    """Send a link that confirms ``address`` as the user's email; False if none was sent.

    At registration (``startup_name`` given) the same email welcomes the startup.
    """
    secret = _issue_token(user, TokenPurpose.VERIFY_EMAIL, email=address)
    if secret is None:
        return False
    link = mail.absolute(url_for("auth.verify_email", token=secret), user.locale)
    return _email(
        user, address, _l("InnoMatch: confirm your email address"), "email/verify_email.txt",
        link=link, hours=int(TOKEN_LIFETIME[TokenPurpose.VERIFY_EMAIL].total_seconds() // 3600),
        startup_name=startup_name, sign_in_url=mail.absolute(_path("auth.login"), user.locale),
        expire_days=int(current_app.config.get("UNCONFIRMED_REGISTRATION_DAYS") or 0),
    )


def _send_email_change_notice(user: User, new_email: str) -> bool:
    """Tell the current address that a change to ``new_email`` was asked for."""
    return _email(
        user, user.email, _l("InnoMatch: a change of your email address was requested"),
        "email/email_change_notice.txt", new_email=new_email,
        account_url=mail.absolute(url_for("auth.account"), user.locale),
    )


def _send_password_changed(user: User, tokens_revoked: int) -> bool:
    return _email(
        user, user.email, _l("InnoMatch: your password was changed"), "email/password_changed.txt",
        forgot_url=mail.absolute(url_for("auth.forgot_password"), user.locale), tokens_revoked=tokens_revoked,
    )


#: What each two-step change is called in the email that tells the account's owner.
TWO_STEP_CHANGES = {
    "on": _l("InnoMatch: two-step verification was turned on"),
    "off": _l("InnoMatch: two-step verification was turned off"),
    "codes": _l("InnoMatch: new recovery codes were made for your account"),
    "reset": _l("InnoMatch: an administrator reset your two-step verification"),
}


def send_two_step_notice(user: User, change: str) -> bool:
    """Tell the user that the account's second step changed (ASVS 2.5.5): ``change`` is
    "on", "off", "codes" (new recovery codes) or "reset" (by an administrator)."""
    return _email(
        user, user.email, TWO_STEP_CHANGES[change], "email/two_step_changed.txt", change=change,
        account_url=mail.absolute(url_for("auth.account"), user.locale),
        forgot_url=mail.absolute(url_for("auth.forgot_password"), user.locale),
    )


def resend_verification(user: User) -> bool:
    """Send a new verification link to the user's unverified email; False if none was sent."""
    if user.email_verified:
        return False
    return _send_verification(user, user.email)


def confirm_email(secret: str) -> User:
    """Follow an email verification link: the address becomes the verified sign-in email.

    When it was a change of address, every session of the user ends and reset links sent
    to the old address stop working.
    """
    token = find_token(secret, TokenPurpose.VERIFY_EMAIL)
    if token is None or not token.email:
        raise _link_error()
    user = db.get(User, token.user_id)
    if user is None:
        raise _link_error()
    address = token.email
    if address != user.email and _email_taken(address):
        raise DomainError(_("Another account now uses this email address."))
    before = audit.snapshot(user, USER_FIELDS)
    moment = clock.now()
    token.used_at = moment
    _void_tokens(user, TokenPurpose.VERIFY_EMAIL)
    changed = address != user.email
    user.email = address
    user.email_verified_at = moment
    if changed:
        _void_tokens(user, TokenPurpose.RESET_PASSWORD)
        end_sessions(user)
    db.flush()
    log.info("email verified user=%s changed=%s", user.id, changed)
    signals.changed(user, "user.email_change" if changed else "user.email_verify", user,
                 before, audit.snapshot(user, USER_FIELDS) | {"email_verified": True})
    return user


def request_password_reset(email: str) -> None:
    """Email a reset link if ``email`` belongs to an active account; the caller answers alike either way."""
    email = email.strip().lower()[:254]
    user = db.scalar(select(User).where(User.email == email, User.is_active.is_(True), User.closed_at.is_(None)))
    if user is None:
        log.info("password reset for unknown email_ref=%s", email_ref(email))
        return
    secret = _issue_token(user, TokenPurpose.RESET_PASSWORD)
    if secret is None:
        return
    link = mail.absolute(url_for("auth.reset_password", token=secret), user.locale)
    sent = _email(user, user.email, _l("InnoMatch: reset your password"), "email/reset_password.txt", link=link)
    log.info("password reset link user=%s sent=%s", user.id, sent)
    signals.changed(None, "user.password_reset_request", user)


def reset_password(secret: str, new: str) -> User:
    """Set a new password through a reset link: the link is spent; every session, other emailed
    link and API token of the user ends (:func:`lock_out_others`)."""
    token = find_token(secret, TokenPurpose.RESET_PASSWORD)
    if token is None:
        raise _link_error()
    user = db.get(User, token.user_id)
    if user is None:
        raise _link_error()
    check_password_policy(new, email=user.email, name=user.display_name)
    moment = clock.now()
    token.used_at = moment
    user.password_hash = hash_password(new)
    user.password_changed_at = moment
    if user.email_verified_at is None:
        user.email_verified_at = moment  # the link reached this address: it is the user's
    revoked = lock_out_others(user, user)
    # Whoever followed the link owns the address: no wait is left on the account (their next
    # sign-in, from here, makes this a source the account signs in from).
    db.execute(update(LoginThrottle).where(LoginThrottle.email == user.email)
               .values(failures=0, blocked_until=None, last_failure_at=None)
               .execution_options(synchronize_session=False))
    log.info("password reset user=%s api_tokens_revoked=%s", user.id, revoked)
    signals.changed(user, "user.password_reset", user)
    _send_password_changed(user, revoked)
    return user


# --- administration of accounts --------------------------------------------------------

STAFF_ROLES = (Role.OFFICER, Role.COORDINATOR, Role.ADMIN)


def _other_active_admins(user: User) -> int:
    """Active admins other than ``user``, locked for the rest of the transaction on PostgreSQL."""
    rows = db.scalars(
        select(User.id).where(User.role == Role.ADMIN, User.is_active.is_(True), User.id != user.id).with_for_update()
    ).all()
    return len(rows)


def change_name(user: User, display_name: str) -> None:
    """The account's owner changes the name it is shown by (audited; the sign-in is unchanged).

    The name is cleaned as the model stores it (``models.names.clean_name``); the pseudonym a
    closed account gets ("Former user #12") is not a name anyone may take."""
    name = clean_name(display_name)
    if not name:
        raise DomainError(_("Enter your name."), field="display_name")
    if len(name) > DISPLAY_NAME_MAX:
        raise DomainError(_("Use at most %(n)d characters.", n=DISPLAY_NAME_MAX), field="display_name")
    if CLOSED_ACCOUNT_NAME.fullmatch(name):
        raise DomainError(_("Choose another name: this one is kept for closed accounts."), field="display_name")
    if name == user.display_name:
        return
    before = audit.snapshot(user, USER_FIELDS)
    user.display_name = name
    db.flush()
    signals.changed(user, "user.rename", user, before, audit.snapshot(user, USER_FIELDS))


def pending_email(user: User) -> tuple[str, datetime] | None:
    """The new address a change of email waits on, with when its link expires, or None."""
    token = db.scalar(
        select(AccountToken)
        .where(
            AccountToken.user_id == user.id, AccountToken.purpose == TokenPurpose.VERIFY_EMAIL,
            AccountToken.used_at.is_(None), AccountToken.expires_at > clock.now(),
            AccountToken.email.is_not(None), AccountToken.email != user.email,
        )
        .order_by(AccountToken.created_at.desc(), AccountToken.id.desc())
        .limit(1)
    )
    return (token.email, token.expires_at) if token is not None and token.email else None


def cancel_email_change(user: User) -> bool:
    """Cancel a pending change of email: the link sent to the new address stops working.
    Returns whether one was pending."""
    pending = pending_email(user)
    db.execute(
        update(AccountToken)
        .where(AccountToken.user_id == user.id, AccountToken.purpose == TokenPurpose.VERIFY_EMAIL,
               AccountToken.used_at.is_(None), AccountToken.email.is_not(None), AccountToken.email != user.email)
        .values(used_at=clock.now())
    )
    if pending is None:
        return False
    log.info("email change cancelled user=%s", user.id)
    signals.changed(user, "user.email_change_cancel", user)
    return True


def update_user(
    actor: User, user: User, *, display_name: str, role: str, department: Department | None
) -> None:
    """Rename an account, or change an officer's, coordinator's or admin's role or department."""
    before = audit.snapshot(user, USER_FIELDS)
    if role != user.role:
        if user.role not in STAFF_ROLES or role not in STAFF_ROLES:
            raise DomainError(_("Startup members keep their role; only staff roles can be changed."), field="role")
        if user.role == Role.ADMIN and user.is_active and not _other_active_admins(user):
            raise DomainError(_("This is the last active administrator: make someone else an administrator first."),
                              field="role")
    if role == Role.OFFICER and department is None:
        raise DomainError(_("An officer must belong to a department."), field="department")
    user.display_name = display_name.strip()
    user.role = role
    if role in STAFF_ROLES:
        user.department_id = department.id if department is not None and role == Role.OFFICER else None
    after = audit.snapshot(user, USER_FIELDS)
    db.flush()
    if before != after:
        log.info("account changed user=%s by=%s", user.id, actor.id)
        signals.changed(actor, "user.update", user, before, after)


def deactivate_user(actor: User, user: User) -> None:
    """Stop an account signing in; its sessions end at once."""
    if not user.is_active:
        raise DomainError(_("This account is already deactivated."))
    if user.role == Role.ADMIN and not _other_active_admins(user):
        raise DomainError(_("This is the last active administrator: make someone else an administrator first."))
    before = audit.snapshot(user, USER_FIELDS)
    user.is_active = False
    user.deactivated_at = clock.now()
    lock_out_others(user, actor)
    db.flush()
    log.info("account deactivated user=%s by=%s", user.id, actor.id)
    signals.changed(actor, "user.deactivate", user, before, audit.snapshot(user, USER_FIELDS))


def reactivate_user(actor: User, user: User) -> None:
    """Let a deactivated account sign in again."""
    if user.is_active:
        raise DomainError(_("This account is already active."))
    if user.closed_at is not None:
        raise DomainError(_("This account was closed and its personal data removed: it cannot sign in again. "
                            "Invite the person to a new account instead."))
    before = audit.snapshot(user, USER_FIELDS)
    user.is_active = True
    user.deactivated_at = None
    db.flush()
    log.info("account reactivated user=%s by=%s", user.id, actor.id)
    signals.changed(actor, "user.reactivate", user, before, audit.snapshot(user, USER_FIELDS))
