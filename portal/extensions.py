"""Flask extensions, created unbound and initialised in the app factory."""

from __future__ import annotations

from flask import current_app, has_request_context, request, session
from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect

from models.vocabulary import UI_LOCALES

csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()


def client_address() -> str:
    """The client's address, the key of the per-address limits.

    ``REMOTE_ADDR`` as ProxyFix rewrote it from ``X-Forwarded-For`` when ``TRUSTED_PROXIES``
    hops are trusted (``portal.security.init_security``): each person behind the TLS proxy
    gets their own limits, and with no trusted proxy a forged header changes nothing.
    """
    return request.remote_addr or "unknown"


limiter = Limiter(key_func=client_address, default_limits=[])


def select_locale() -> str:
    """Pick the interface language: explicit choice, then the user's setting, then the browser."""
    if not has_request_context():  # CLI commands and services called outside a request
        return current_app.config.get("BABEL_DEFAULT_LOCALE", "en")
    if request.path.startswith("/api/"):  # the API reads no session: labels follow Accept-Language
        return _from_browser()
    chosen = session.get("locale")
    if chosen in UI_LOCALES:
        return chosen
    if current_user and current_user.is_authenticated and current_user.locale in UI_LOCALES:
        return current_user.locale
    return _from_browser()


def _from_browser() -> str:
    """The interface locale that the request's Accept-Language prefers."""
    best = request.accept_languages.best_match(["en", "zh-HK", "zh-TW", "zh-Hant", "zh"])
    return "zh_Hant_HK" if best and best.startswith("zh") else "en"
