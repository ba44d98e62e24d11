"""Configuration from the environment; TestConfig for the test suite."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from . import clock

BASE_DIR = Path(__file__).resolve().parent.parent


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _optional_bool(name: str) -> bool | None:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return None
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _json(name: str, kind: type) -> object | None:
    """A JSON environment variable of the given type; None when unset; clear error if bad."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        return None
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{name} is not valid JSON: {exc.msg} (column {exc.colno})") from None
    if not isinstance(parsed, kind):
        raise ValueError(f"{name} must be a JSON {kind.__name__}, got {type(parsed).__name__}")  # noqa: TRY004
    return parsed


class Config:
    """Production defaults, each overridable by an environment variable of the same name."""

    SECRET_KEY = os.environ.get("SECRET_KEY") or secrets.token_hex(32)
    DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'instance' / 'innomatch.db'}")
    # Recommender: a sentence-transformers model path or hub name; "default" is the bundled
    # all-MiniLM-L6-v2; "hashing" is a fast model-free encoder used by tests.
    MATCHER_MODEL = os.environ.get("MATCHER_MODEL", "default")
    MATCHER_FUSION = os.environ.get("MATCHER_FUSION", "")
    MATCHER_VERIFIED_ONLY = _bool("MATCHER_VERIFIED_ONLY", False)
    # Cross-lingual settings. Every model has a recommended preset
    # (matcher.presets.PRESETS: dictionary translation, per-language centering, a
    # cross-language offset, fusion weights); each key below overrides it.
    # MATCHER_TRANSLATION: "cedict" (English glosses of Chinese words, CC-CEDICT) or ""
    # (off).
    # None = take the preset. MATCHER_CONFIG holds any RankerConfig fields as JSON, e.g.
    # '{"fusion": "minmax", "weights": {"semantic": 0.9, "lexical": 0.1}}'.
    MATCHER_CENTERING = _optional_bool("MATCHER_CENTERING")
    MATCHER_TRANSLATION = os.environ.get("MATCHER_TRANSLATION")
    MATCHER_CALIBRATION = _json("MATCHER_CALIBRATION", dict)  # e.g. '{"cross": 0.2}'
    MATCHER_CONFIG = _json("MATCHER_CONFIG", dict) or {}
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    # How many reverse proxies in front of the app append X-Forwarded-For/-Proto (0: none,
    # the headers are ignored). Per-address limits, the sign-in throttle and logs use the
    # client address they resolve; see docs/DEVELOPING.md "Settings for security".
    TRUSTED_PROXIES = os.environ.get("TRUSTED_PROXIES", "0")
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    PERMANENT_SESSION_LIFETIME = int(os.environ.get("SESSION_IDLE_MINUTES", "30")) * 60
    WTF_CSRF_TIME_LIMIT = None  # the session's own lifetime bounds the token
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = clock.ZONE_NAME
    SMTP_HOST = os.environ.get("SMTP_HOST", "")
    SMTP_PORT = int(os.environ.get("SMTP_PORT", "25"))
    SMTP_STARTTLS = _bool("SMTP_STARTTLS", False)
    SMTP_USERNAME = os.environ.get("SMTP_USERNAME", "")
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD", "")
    MAIL_FROM = os.environ.get("MAIL_FROM", "InnoMatch <no-reply@innomatch.hk>")
    # Site address for links in emails sent outside a request (the daily digest).
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "")
    # A newly opened challenge is announced to startups whose match score reaches this.
    NOTIFY_MATCH_THRESHOLD = float(os.environ.get("NOTIFY_MATCH_THRESHOLD", "0.35"))
    ICAL_UID_DOMAIN = os.environ.get("ICAL_UID_DOMAIN", "innomatch.hk")
    PAGE_SIZE = 20
    # Statistics pages may show figures up to this many seconds old.
    STATS_CACHE_SECONDS = float(os.environ.get("STATS_CACHE_SECONDS", "60"))
    TESTING = False


class TestConfig(Config):
    """Isolated, fast and deterministic settings for the test suite."""

    TESTING = True
    SECRET_KEY = "test-secret-key"
    DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "sqlite:///:memory:")
    MATCHER_MODEL = "hashing"
    MATCHER_CENTERING = None
    MATCHER_TRANSLATION = None
    MATCHER_CALIBRATION = None
    MATCHER_CONFIG = None
    STATS_CACHE_SECONDS = 0.0  # figures must follow the data at once in tests
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    SMTP_HOST = ""
