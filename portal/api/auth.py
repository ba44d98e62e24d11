"""Bearer-token authentication of API requests (the API never reads the cookie session)."""

from __future__ import annotations

from flask import abort, g, request
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import AnonymousUserMixin
from flask_smorest import abort as api_abort

from models import ApiToken, User

from ..access import token_allows
from ..database import db
from ..services import api_tokens


def _bearer_secret() -> str | None:
    """The secret of ``Authorization: Bearer <secret>`` as the token lookup reads it (the scheme
    in any case, spaces around either part ignored); None if the header is absent or not a
    bearer one."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _sep, secret = header.strip().partition(" ")
    secret = secret.strip()
    return secret if scheme.lower() == "bearer" and secret else None


def authenticate() -> None:
    """Find the token of ``Authorization: Bearer ...`` (401 if it is not a live one)."""
    g.api_token = None
    if request.headers.get("Authorization") is None:
        return
    secret = _bearer_secret()
    if secret is None:
        abort(401, _("Send the token as 'Authorization: Bearer imt_...'."))
    token = api_tokens.find_token(secret)
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
    """Rate limits count per token when there is one, else per address. The key is the stored
    hash of the secret as the lookup reads it, so the same token spelt with another case of
    "Bearer" or other spaces shares one budget (and the secret itself is never a key)."""
    secret = _bearer_secret()
    if secret is not None:
        return "token:" + api_tokens.hash_secret(secret)
    return "ip:" + (get_remote_address() or "")
