"""Bearer-token authentication of API requests (the API never reads the cookie session)."""

from __future__ import annotations

import hashlib

from flask import abort, g, request
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import AnonymousUserMixin
from flask_smorest import abort as api_abort

from models import ApiToken, User

from ..access import token_allows
from ..database import db
from ..services import api_tokens


def authenticate() -> None:
    """Find the token of ``Authorization: Bearer ...`` (401 if it is not a live one)."""
    g.api_token = None
    header = request.headers.get("Authorization")
    if header is None:
        return
    scheme, _sep, secret = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        abort(401, _("Send the token as 'Authorization: Bearer imt_...'."))
    token = api_tokens.find_token(secret.strip())
    if token is None:
        abort(401, _("This token is unknown, expired or revoked. Create a new one on your account page."))
    db.commit()  # its last use, noted by find_token, in a unit of work of its own
    g.api_token = token


def current_token() -> ApiToken | None:
    return g.get("api_token")


def api_user() -> User | AnonymousUserMixin:
    """The token's user, or an anonymous user: access rules take either."""
    token = current_token()
    return token.user if token is not None else AnonymousUserMixin()


def require(scope: str) -> tuple[ApiToken, User]:
    """The token and its user, if the request has a token granting ``scope`` (else 401 or 403)."""
    token = current_token()
    if token is None:
        abort(401, _("This operation needs a personal access token: send 'Authorization: Bearer imt_...'."))
    if not token_allows(token, scope):
        api_abort(403, message=_("This token may only read. Create a token with the write scope to make changes."))
    return token, token.user


def rate_key() -> str:
    """Rate limits count per token when there is one (by its hash, never the secret), else per address."""
    header = request.headers.get("Authorization", "")
    if header:
        return "token:" + hashlib.sha256(header.encode("utf-8")).hexdigest()
    return "ip:" + (get_remote_address() or "")
