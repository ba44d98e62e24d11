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


#: The locale that formats dates and numbers for each interface language: English as Hong
#: Kong writes it ("16 Nov 2026", "16/11/2026, 9:05 am"), not the United States' ("Nov 16,
#: 2026"). Messages come from the interface language's catalogue either way (English has none).
FORMAT_LOCALES = {"en": "en_HK"}


def formatting_locale(ui_locale: str) -> str:
    """The Babel locale for an interface language (``UI_LOCALES``): its messages and its formats."""
    return FORMAT_LOCALES.get(ui_locale, ui_locale)


def ui_locale(locale: object) -> str:
    """The interface language (one of ``UI_LOCALES``) of a Babel locale."""
    return "zh_Hant_HK" if str(locale or "en").startswith("zh") else "en"


def select_locale() -> str:
    """Pick the interface language: explicit choice, then the user's setting, then the browser
    (as the locale that formats it, :func:`formatting_locale`)."""
    return formatting_locale(_interface_language())


def _interface_language() -> str:
    if not has_request_context():  # CLI commands and services called outside a request
        return str(current_app.config.get("BABEL_DEFAULT_LOCALE", "en"))
    if request.path.startswith("/api/"):  # the API reads no session: labels follow Accept-Language
        return _from_browser()
    chosen = session.get("locale")
    if chosen in UI_LOCALES:
        return str(chosen)
    if current_user and current_user.is_authenticated and current_user.locale in UI_LOCALES:
        return str(current_user.locale)
    return _from_browser()


def _from_browser() -> str:
    """The interface locale that the request's Accept-Language prefers."""
    best = request.accept_languages.best_match(["en", "zh-HK", "zh-TW", "zh-Hant", "zh"])
    return "zh_Hant_HK" if best and best.startswith("zh") else "en"
