"""Browser-test support shared by tests/e2e and scripts/screenshots.py.

- ``LiveServer``: the app on a fresh SQLite file (schema from the models) seeded with the demo data, served by
  werkzeug in a background thread (CSRF on, rate limits off, the model-free "hashing" encoder).
- ``launch_browser``: the system Chromium through Playwright (``playwright install`` is not used).
- ``sign_in`` / ``use_language``: the real sign-in form and the header language button.
- ``Catalogue``: interface strings as the server renders them in a locale (the compiled catalogue).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
AXE_JS = REPO / "node_modules" / "axe-core" / "axe.min.js"
APP_CSS = REPO / "portal" / "static" / "vendor" / "app.css"
LOCALES = ("en", "zh_Hant_HK")
#: <html lang> for each interface locale.
HTML_LANG = {"en": "en", "zh_Hant_HK": "zh-Hant-HK"}
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}
#: Demo logins (portal/demo), by role.
DEMO_EMAILS = {
    "officer": "officer@demo.gov.hk",
    "startup": "founder@demo.startup.hk",
    "coordinator": "coordinator@demo.hkstp.org",
    "admin": "admin@demo.hkstp.org",
}
#: Playwright waits (milliseconds): generous for a loaded 2-core CI machine.
TIMEOUT_MS = 15_000
#: The signed-in account's link: in the brand bar from tablet width, the navigation's last row on phones.
ACCOUNT_LINK = ".im-header__user:visible, .im-nav__user:visible"
#: Signed in, maybe not yet past the second step (whose pages link to nothing but Sign out).
SIGN_OUT = ".im-header__signout:visible, .im-nav__item--account .im-linkbutton:visible"


def chromium_problem() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.exists():
        return f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "browser tests need the playwright package (pip install -e '.[dev]')"
    return None


def ensure_assets() -> None:
    """Build the CSS and install axe-core (scripts/build_assets.sh) when either is missing."""
    if AXE_JS.exists() and APP_CSS.exists():
        return
    if shutil.which("npm") is None:
        raise RuntimeError(f"{AXE_JS} or {APP_CSS} is missing and npm is not installed to build them")
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "build_assets.sh")], cwd=REPO, capture_output=True, text=True, check=False
    )
    if result.returncode != 0 or not (AXE_JS.exists() and APP_CSS.exists()):
        raise RuntimeError(f"scripts/build_assets.sh failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


def _create_schema(engine: Any) -> None:
    """The schema from the models (tests/test_migrations.py checks the migrations match them).

    Not ``alembic upgrade``: pages under construction change models before their migration
    is written, and these tests are about the pages, not the migrations.
    """
    import models

    models.Base.metadata.create_all(engine)


@dataclass
class LiveServer:
    """The seeded app served on 127.0.0.1:<free port> from a background thread."""

    db_path: Path
    #: "hashing" (fast, model-free) for tests; "default" for the real sentence-transformers model.
    matcher_model: str = "hashing"
    app: Any = None
    url: str = ""
    errors: list[str] = field(default_factory=list)
    #: The emails the app sent, received by a local SMTP server (links use the server's own host).
    inbox: Any = None
    _smtp: Any = None
    _server: Any = None
    _thread: threading.Thread | None = None

    def start(self) -> LiveServer:
        from aiosmtpd.controller import Controller
        from werkzeug.serving import make_server

        from portal import create_app
        from portal.config import TestConfig
        from portal.database import db, get_engine
        from portal.demo import seed
        from portal.services import recommendations
        from tests.mailbox import Inbox, free_port

        self.inbox = Inbox()
        self._smtp = Controller(self.inbox, hostname="127.0.0.1", port=free_port())
        self._smtp.start()

        config = type("E2EConfig", (TestConfig,), {
            "DATABASE_URL": f"sqlite:///{self.db_path}",
            "OPEN_DATA_DIR": str(self.db_path.parent / "open-data"),  # generated from this run's data
            "DOCUMENT_STORAGE_DIR": str(self.db_path.parent / "documents"),  # this run's uploads only
            "WTF_CSRF_ENABLED": True,  # real browser forms post the token
            "RATELIMIT_ENABLED": False,
            "MATCHER_MODEL": self.matcher_model,
            "SECRET_KEY": "e2e-secret-key",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": self._smtp.port,
            # Let the app's own error pages answer (500 included), as in production.
            "TESTING": False,
            "PROPAGATE_EXCEPTIONS": False,
        })
        self.app = create_app(config)
        with self.app.app_context():
            _create_schema(get_engine())
            seed()
            db.commit()
            recommendations.reindex()
            db.commit()
        self._record_errors()
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        # Links in the emails this server sends point to it (a person follows them from the mail).
        self.app.config["DEFAULT_BASE_URL"] = self.url
        self._thread = threading.Thread(target=self._server.serve_forever, name="e2e-live-server", daemon=True)
        self._thread.start()
        return self

    def _record_errors(self) -> None:
        """Note every 5xx answer and unhandled exception (the 500 page hides them from the browser)."""
        from flask import got_request_exception, request

        errors, wsgi_app = self.errors, self.app.wsgi_app

        def middleware(environ, start_response):  # type: ignore[no-untyped-def]
            def recording_start_response(status, headers, exc_info=None):  # type: ignore[no-untyped-def]
                if status.startswith("5"):
                    errors.append(f"{status} {environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}")
                return start_response(status, headers, exc_info)

            return wsgi_app(environ, recording_start_response)

        def exception(_sender: Any, exception: BaseException, **_extra: Any) -> None:
            errors.append(f"{type(exception).__name__}: {exception} ({request.method} {request.path})")

        self.app.wsgi_app = middleware  # type: ignore[method-assign]
        got_request_exception.connect(exception, self.app, weak=False)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.app is not None:
            self.app.extensions["innomatch_engine"].dispose()
        if self._smtp is not None:
            self._smtp.stop()

    def __call__(self, path: str = "/") -> str:
        """The absolute URL of ``path``."""
        return self.url + path

    @contextmanager
    def context(self) -> Iterator[Any]:
        """An app context with the request-scoped session, for reading the database."""
        from portal.database import db

        with self.app.app_context():
            yield db

    def catalogue(self, locale: str) -> Catalogue:
        return Catalogue(self, locale)


class Catalogue:
    """Interface strings as the server renders them in ``locale`` (``t("Approved")``)."""

    def __init__(self, server: LiveServer, locale: str) -> None:
        self.server, self.locale = server, locale

    @contextmanager
    def _in_locale(self) -> Iterator[None]:
        from flask_babel import force_locale

        with self.server.app.test_request_context("/"), force_locale(self.locale):
            yield

    def __call__(self, msgid: str, **variables: Any) -> str:
        from flask_babel import gettext

        with self._in_locale():
            return gettext(msgid, **variables)

    def ngettext(self, singular: str, plural: str, num: int) -> str:
        from flask_babel import ngettext

        with self._in_locale():
            return ngettext(singular, plural, num)

    def domain(self, key: str) -> str:
        from portal.templating import domain_label

        with self._in_locale():
            return domain_label(key)

    def area(self, key: str) -> str:
        from portal.templating import area_label

        with self._in_locale():
            return area_label(key)

    def trial_state(self, state: str) -> str:
        from portal.services.trials import state_label

        with self._in_locale():
            return state_label(state)


def launch_browser(playwright: Any) -> Any:
    """The system Chromium, headless."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)


def goto(page: Any, url: str) -> Any:
    """Open ``url`` and return the response (no waiting for images)."""
    return page.goto(url, wait_until="domcontentloaded")


def use_language(page: Any, locale: str) -> None:
    """Switch the interface to ``locale`` with the header language button (if not already in it)."""
    from playwright.sync_api import expect

    html = page.locator("html")
    want = HTML_LANG[locale]
    if html.get_attribute("lang") != want:
        with page.expect_navigation(wait_until="domcontentloaded"):
            page.locator("form.im-lang button[name=locale]").click()
    expect(html).to_have_attribute("lang", want, timeout=TIMEOUT_MS)


def signed_in_states(browser: Any, server: LiveServer) -> Any:
    """``states(role)``: the cookies of that demo user, signed in through the form on first use."""
    states: dict[str, dict[str, Any]] = {}

    def state(role: str) -> dict[str, Any]:
        if role not in states:
            context = browser.new_context(viewport=VIEWPORTS["desktop"])
            context.set_default_timeout(TIMEOUT_MS)
            try:
                sign_in(context.new_page(), server, DEMO_EMAILS[role])
                states[role] = context.storage_state()
            finally:
                context.close()
        return states[role]

    return state


def sign_in(page: Any, server: LiveServer, email: str, password: str | None = None) -> None:
    """Sign in through the real form and wait for the signed-in page."""
    from playwright.sync_api import expect

    from portal.demo import DEMO_PASSWORD

    goto(page, server("/login"))
    page.locator("#email").fill(email)
    page.locator("#password").fill(password or DEMO_PASSWORD)
    with page.expect_navigation(wait_until="domcontentloaded"):
        page.locator("main form button[type=submit]").click()
    expect(page.locator(SIGN_OUT).first).to_be_visible(timeout=TIMEOUT_MS)
    second_step(page, email)


#: Two-step secrets of the accounts the browser tests set up, and the last step each used.
_TWO_STEP: dict[str, tuple[str, int]] = {}


def _fresh_code(email: str) -> str:
    """A code the server accepts for ``email``: the current step, or the next if this one was used.

    A code works once, and the server accepts at most the next step's (clock drift): a person who
    signs in again sooner waits for the phone's next code, and so does this (up to 30 seconds).
    """
    import time

    import pyotp

    from portal.services.mfa import DRIFT_STEPS, STEP_SECONDS, current_step

    secret, used = _TWO_STEP[email]
    while used + 1 > current_step() + DRIFT_STEPS:
        time.sleep(1)
    step = max(current_step(), used + 1)
    _TWO_STEP[email] = (secret, step)
    return pyotp.TOTP(secret, interval=STEP_SECONDS).generate_otp(step)


def second_step(page: Any, email: str) -> None:
    """Pass the second sign-in step as a staff member would: set it up first time, then type codes.

    Works in either interface language (the recovery codes page has one button, a link on).
    """
    from playwright.sync_api import expect

    path = page.url.split("?", 1)[0]
    if path.endswith("/account/two-step"):
        secret = page.locator("#manual-key code").inner_text().replace(" ", "")
        _TWO_STEP[email] = (secret, 0)
        page.locator("#code").fill(_fresh_code(email))
        with page.expect_navigation(wait_until="domcontentloaded"):
            page.locator("main form button[type=submit]").click()
        with page.expect_navigation(wait_until="domcontentloaded"):
            page.locator("main a.govuk-button").click()
    elif path.endswith("/login/two-step"):
        page.locator("#code").fill(_fresh_code(email))
        with page.expect_navigation(wait_until="domcontentloaded"):
            page.locator("main form button[type=submit]").first.click()
    expect(page.locator(ACCOUNT_LINK)).to_be_visible(timeout=TIMEOUT_MS)
