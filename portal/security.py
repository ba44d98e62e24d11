"""Session loading, idle timeout and security headers."""

from __future__ import annotations

from flask import Flask, request, session
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from models import User

from .database import db
from .extensions import login_manager

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """Load the user whose id and session token match the cookie (sign-out rotates the token)."""
    user_id, _sep, token = session_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.get(User, int(user_id))
    if user is None or not user.is_active or user.session_token != token:
        return None
    return user


def init_security(app: Flask) -> None:
    """Configure sign-in redirects, idle timeout and response headers."""
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @app.before_request
    def _idle_timeout() -> None:
        # A permanent session expires PERMANENT_SESSION_LIFETIME after the last request.
        session.permanent = True

    @app.after_request
    def _headers(response):  # type: ignore[no-untyped-def]
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if "text/html" in response.content_type:
            headers.setdefault("Cache-Control", "no-store")
        return response


def user_by_email(email: str) -> User | None:
    """Find a user by email, case-insensitively."""
    return db.scalar(select(User).where(User.email == email.strip().lower()))
