"""Session loading, server-side idle and absolute timeouts, proxies, and security headers."""

from __future__ import annotations

import logging
import os
import time
from typing import TypeGuard

from flask import (
    Flask,
    Response,
    abort,
    current_app,
    flash,
    g,
    has_request_context,
    redirect,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, user_logged_in, user_logged_out
from werkzeug.middleware.proxy_fix import ProxyFix

from models import User

from .config import trusted_proxies
from .database import db
from .extensions import login_manager

log = logging.getLogger("innomatch.auth")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"
#: Session keys: when the session last made a request, and when the user signed in (epoch seconds).
SEEN_KEY = "_seen"
AUTH_AT_KEY = "_auth_at"
#: Session keys: the second sign-in step was passed; where to go after it.
MFA_SESSION_KEY = "_mfa"
MFA_NEXT_KEY = "_mfa_next"
#: What a signed-in user may reach before the second step: the step itself, setting it up,
#: signing out, the language switch and static files.
BEFORE_SECOND_STEP = frozenset({
    "auth.two_step", "auth.two_step_setup", "auth.logout", "main.set_language", "main.healthz", "static",
    "main.readyz", "main.prometheus_metrics", "main.privacy",
})
#: Probes, the metrics scrape and static files: they neither read nor set a session.
SESSIONLESS = frozenset({"main.healthz", "main.readyz", "main.prometheus_metrics", "static"})
#: Pages under /api/ that are pages of the site (with its language switch and its CSRF token):
#: they keep the session, unlike the API itself.
API_PAGES = frozenset({"api_docs.docs"})
#: Signed-in sessions end after this long whatever the activity (ASVS 3.3.2), unless configured.
DEFAULT_MAX_SESSION_HOURS = 12


def now() -> int:
    """The clock the session timeouts read (tests replace it)."""
    return int(time.time())


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """Load the user whose id and session token match the cookie (sign-out rotates the token)."""
    user_id, _sep, token = session_id.partition(":")
    if not user_id.isdigit() or len(user_id) > 12 or not token:
        return None
    user = db.get(User, int(user_id))
    if user is None or not user.is_active or user.session_token != token:
        return None
    return user


class SessionInterface(SecureCookieSessionInterface):
    """The signed cookie session, marked Secure when configured or when the request came over
    HTTPS, and never sent back by a request that has no business with it (:data:`SESSIONLESS`:
    static files, probes; the API).

    A permanent session is sent back with every response, with what the request read. A page
    loads its stylesheet, scripts and icons while other requests run: a stylesheet asked for
    with the cookie from before a language switch or a sign-in, answered after it, would put
    the old session back, and the switch or the sign-in would be lost."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or (has_request_context() and request.is_secure)

    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        if has_request_context() and (
            request.endpoint in SESSIONLESS or (request.path.startswith("/api/") and request.endpoint not in API_PAGES)
        ):
            return False
        return super().should_set_cookie(app, session)


def idle_limit_seconds(app: Flask) -> int:
    """Seconds without a request after which a signed-in session ends (PERMANENT_SESSION_LIFETIME)."""
    return int(app.permanent_session_lifetime.total_seconds())


def absolute_limit_seconds(app: Flask) -> int:
    """Seconds after sign-in after which the session ends however active it is."""
    configured = app.config.get("SESSION_MAX_SECONDS")
    if configured:
        return int(configured)
    return int(float(os.environ.get("SESSION_MAX_HOURS", DEFAULT_MAX_SESSION_HOURS)) * 3600)


def _stamp_session(_sender: Flask, **_extra: object) -> None:
    """On sign-in: start both clocks (the route cleared the session, so mark it permanent again)."""
    session.permanent = True
    moment = now()
    session[SEEN_KEY] = moment
    session[AUTH_AT_KEY] = moment


def second_step_pending() -> bool:
    """Whether the signed-in user has given the password but not yet the second step (or not
    yet set it up, where the role requires it): every page but that step is closed to them, so
    the page shows no links into the site (base.html)."""
    if "_user_id" not in session or session.get(MFA_SESSION_KEY):
        return False
    user = current_user
    return bool(user.is_authenticated and (user.mfa_enabled or user.mfa_required))


def sign_in_again(user: User) -> None:
    """Keep this browser signed in as ``user`` after their session token rotated (a password
    change, a confirmed address): the new token, the same absolute limit. ``login_user``
    would restart the session's clock, letting a link stretch a session past its limit
    without the password."""
    signed_in_at = session.get(AUTH_AT_KEY)
    login_user(user)
    if isinstance(signed_in_at, int):
        session[AUTH_AT_KEY] = signed_in_at


def _log_sign_out(_sender: Flask, user: User | None = None, **_extra: object) -> None:
    if user is not None and getattr(user, "id", None) is not None:
        log.info("sign-out user=%s", user.id)


def init_security(app: Flask) -> None:
    """Configure sign-in redirects, proxies, session timeouts and response headers."""
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    app.session_interface = SessionInterface()

    hops = trusted_proxies(app.config)
    if hops:
        # Client address (per-IP limits, logs) and scheme (Secure cookie, HSTS) from the proxies.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]  # Flask's documented way to wrap the app

    user_logged_in.connect(_stamp_session, app)
    user_logged_out.connect(_log_sign_out, app)

    @app.before_request
    def _session_timeouts() -> None:
        if request.path.startswith("/api/") or request.endpoint in SESSIONLESS:
            return  # the API reads no session (bearer tokens only), so it neither stamps nor sets one
        # The cookie's own expiry is client-side; the server decides from the stamps it signed.
        session.permanent = True
        if "_user_id" not in session:
            return
        moment = now()
        seen, auth_at = session.get(SEEN_KEY), session.get(AUTH_AT_KEY)
        reason = ""
        if not isinstance(seen, int) or not isinstance(auth_at, int):
            reason = "unstamped"
        elif moment - seen > idle_limit_seconds(current_app):
            reason = "idle"
        elif moment - auth_at > absolute_limit_seconds(current_app):
            reason = "absolute"
        if reason:
            user_id = str(session.get("_user_id", "")).partition(":")[0]
            session.clear()
            g.pop("_login_user", None)
            log.info("session ended reason=%s user=%s", reason, user_id if user_id.isdigit() else "?")
            flash(_("You were signed out because your session expired. Please sign in again."), "info")
            return
        session[SEEN_KEY] = moment

    app.jinja_env.globals["second_step_pending"] = second_step_pending

    @app.before_request
    def _second_step() -> ResponseReturnValue | None:
        # After the password, nothing but the second step (or setting it up, where the role
        # requires it) until it is passed: the check is here so that no page can forget it.
        if "_user_id" not in session or session.get(MFA_SESSION_KEY) or request.endpoint in BEFORE_SECOND_STEP:
            return None
        user = current_user
        if not user.is_authenticated:
            return None
        if user.mfa_enabled:
            return redirect(url_for("auth.two_step"))
        if user.mfa_required:
            flash(_("Set up two-step verification to continue: your role requires it."), "info")
            return redirect(url_for("auth.two_step_setup"))
        return None

    @app.before_request
    def _refuse_large_bodies() -> None:
        # Werkzeug enforces the limit only when a view reads the body; refuse a declared
        # oversized body at once, whatever the view (413 page, or JSON under /api/). The
        # request's own limit: the upload pages take documents up to their larger one. After
        # the session's checks, so that the 413 page (which may show the upload page) is only
        # ever answered to a session that is still live and past its second step.
        limit = request.max_content_length
        if limit is not None and (request.content_length or 0) > limit:
            abort(413)

    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.is_secure or app.config.get("SESSION_COOKIE_SECURE"):
            headers.setdefault("Strict-Transport-Security", HSTS)
        if "text/html" in (response.content_type or "") or "application/json" in (response.content_type or ""):
            headers.setdefault("Cache-Control", "no-store")
        return response


def is_safe_local_path(target: str | None) -> TypeGuard[str]:
    """Whether ``target`` is a path on this site (not ``//host``, ``/\\host`` or a scheme)."""
    if not target or not target.startswith("/") or len(target) > 2000:
        return False
    if target.startswith("//") or "\\" in target:
        return False
    return not any(ord(ch) < 32 or ord(ch) == 127 for ch in target)
