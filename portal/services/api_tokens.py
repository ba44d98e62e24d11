"""Personal access tokens: create, list, revoke, and find the token a request presents."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from models import ApiToken, User
from models.vocabulary import TOKEN_SCOPES

from .. import clock, signals
from ..database import db
from ..errors import DomainError, NotAllowed, require_confirmed_email
from . import audit, mail

log = logging.getLogger("innomatch.api")

#: Every secret starts with this, so secret scanners and people recognise an InnoMatch token.
PREFIX = "imt_"
#: Characters of the secret kept to tell tokens apart ("imt_" and four more).
SHOWN = 8
#: Lifetimes a user may choose, in days.
LIFETIMES = (30, 90, 365)
#: Staff accounts read other departments' and startups' records: their tokens live shorter.
STAFF_MAX_DAYS = 90
NAME_MAX = 80
#: Live tokens one user may hold at once.
MAX_TOKENS = 20
#: Last use is written at most this often, so reads do not write on every request.
TOUCH_EVERY = timedelta(minutes=5)
TOKEN_FIELDS = ("user_id", "name", "prefix", "scope", "expires_at", "revoked_at")


def hash_secret(secret: str) -> str:
    """The stored form of a secret: hex SHA-256 (the secret has 256 random bits, so no salt is needed)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass
class NewToken:
    """A token just created, with its secret: shown to its owner once, then gone."""

    token: ApiToken
    secret: str


def live_tokens(user: User) -> list[ApiToken]:
    """The user's tokens that are neither revoked nor expired, newest first."""
    return list(db.scalars(
        select(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > clock.now())
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    ))


def create_token(actor: User, data: dict[str, Any]) -> NewToken:
    """Create a named token with a scope and a lifetime for ``actor`` and return it with its secret."""
    if not getattr(actor, "is_authenticated", False):
        raise NotAllowed(_("Sign in to create an API token."))
    require_confirmed_email(actor, _(
        "Confirm your email address before you create an API token: "
        "follow the link we emailed you, or ask for a new one."))
    name = data.get("name")
    name = name.strip() if isinstance(name, str) else ""
    scope = data.get("scope")
    days = data.get("days")
    if not name:
        raise DomainError(_("Name the token, for example after the system that will use it."), field="name")
    if len(name) > NAME_MAX:
        raise DomainError(_("The name must be at most %(n)d characters.", n=NAME_MAX), field="name")
    if scope not in TOKEN_SCOPES:
        raise DomainError(_("Choose what the token may do."), field="scope")
    if days not in LIFETIMES:
        raise DomainError(_("Choose when the token expires."), field="days")
    if not getattr(actor, "is_startup", False) and days > STAFF_MAX_DAYS:
        raise DomainError(_("A staff account's token expires after at most %(n)d days.", n=STAFF_MAX_DAYS),
                          field="days")
    if len(live_tokens(actor)) >= MAX_TOKENS:
        raise DomainError(_("You have %(n)d tokens. Revoke one you no longer use first.", n=MAX_TOKENS))
    if db.scalar(select(func.count()).where(
        ApiToken.user_id == actor.id, func.lower(ApiToken.name) == name.lower(),
        ApiToken.revoked_at.is_(None), ApiToken.expires_at > clock.now(),
    )):
        raise DomainError(_("You already have a token with this name."), field="name")
    secret = PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    token = ApiToken(user_id=actor.id, name=name, token_hash=hash_secret(secret), prefix=secret[:SHOWN],
                     scope=scope, created_at=now, expires_at=now + timedelta(days=days))
    db.add(token)
    db.flush()
    signals.changed(actor, "api_token.create", token, after=audit.snapshot(token, TOKEN_FIELDS))
    log.info("api token created token=%s user=%s scope=%s", token.id, actor.id, scope)
    _tell_owner(actor, token)
    return NewToken(token, secret)


def _tell_owner(user: User, token: ApiToken) -> None:
    """Email the account's owner that a token was made, so one made from a stolen session is seen."""
    locale = user.locale or "en"
    mail.queue_in_language(user.display_name, user.email, locale,
                           _l("A new API token was created on your InnoMatch account"),
                           "email/api_token_created.txt", name=user.display_name, token=token,
                           tokens_url=mail.absolute(url_for("tokens.index"), locale))


def revoke_token(actor: User, token: ApiToken) -> ApiToken:
    """Revoke one of ``actor``'s own tokens; requests carrying it are refused from now on."""
    if token.user_id != getattr(actor, "id", None):
        raise NotAllowed(_("You can only revoke your own tokens."))
    if token.revoked_at is not None:
        raise DomainError(_("This token is already revoked."))
    before = audit.snapshot(token, TOKEN_FIELDS)
    token.revoked_at = clock.now()
    db.flush()
    signals.changed(actor, "api_token.revoke", token, before, audit.snapshot(token, TOKEN_FIELDS))
    log.info("api token revoked token=%s user=%s", token.id, actor.id)
    return token


def revoke_all(user: User, actor: User | None) -> int:
    """Revoke every live token of ``user`` (their credentials changed, or the account closed);
    each revocation is audited as ``actor``'s. Returns how many were revoked."""
    tokens = live_tokens(user)
    now = clock.now()
    for token in tokens:
        before = audit.snapshot(token, TOKEN_FIELDS)
        token.revoked_at = now
        signals.changed(actor, "api_token.revoke", token, before, audit.snapshot(token, TOKEN_FIELDS))
    if tokens:
        db.flush()
        log.info("api tokens revoked user=%s count=%s", user.id, len(tokens))
    return len(tokens)


def find_token(secret: str) -> ApiToken | None:
    """The live token whose secret is ``secret`` (its owner active), or None; notes when it was used.

    The owner of a role that requires two-step verification must have set it up: a token made
    before the role required it (an officer's, before 7 Dec 2026) works again only then.
    """
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    token = db.scalar(select(ApiToken).where(ApiToken.token_hash == hash_secret(secret)))
    now = clock.now()
    if token is None or token.revoked_at is not None or token.expires_at <= now or not token.user.is_active:
        return None
    if token.user.mfa_required and not token.user.mfa_enabled:
        return None
    if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY:
        token.last_used_at = now
        db.flush()
    return token
