"""Browser tests: one seeded live server and one headless Chromium for this folder.

Both are package-scoped: they start with the first test here and stop after the last one,
so the rest of the suite runs without a browser or a server thread in the background.

Every test here is marked ``e2e``. Without /usr/bin/chromium (or Playwright) they are skipped
with the reason; in CI both are present and ``make test`` runs them.

Fixtures:
    live_server      the app on a fresh SQLite file with the demo data; ``live_server("/path")``
    browser          Chromium (sync Playwright), shared by every test
    new_page         ``new_page(viewport="desktop", storage_state=None, bypass_csp=False)``: a page in
                     a fresh context, closed after the test
    signed_in_state  ``signed_in_state("officer")``: cookies of a demo user, signed in once per run
    catalogue        ``catalogue("zh_Hant_HK")("Approved")``: strings as the server renders them
    unique           a short random token for names a test creates
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from . import support

HERE = Path(__file__).resolve().parent
_PROBLEM = support.chromium_problem()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip every test of this folder, with the reason, when the browser cannot run."""
    if _PROBLEM is None:
        return
    skip = pytest.mark.skip(reason=_PROBLEM)
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(skip)


@pytest.fixture(scope="package")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[support.LiveServer]:
    """The seeded app served from a background thread (built once per run)."""
    try:
        support.ensure_assets()
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)
    server = support.LiveServer(tmp_path_factory.mktemp("e2e") / "e2e.db").start()
    yield server
    server.stop()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed
    return report


_CALL_FAILED = pytest.StashKey[bool]()


@pytest.fixture(autouse=True)
def _no_server_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test during which the server answered 5xx or raised (unless it failed already)."""
    if "live_server" not in request.fixturenames:
        yield
        return
    server: support.LiveServer = request.getfixturevalue("live_server")
    before = len(server.errors)
    yield
    new = server.errors[before:]
    if new and not request.node.stash.get(_CALL_FAILED, False):
        pytest.fail("the server failed during this test:\n" + "\n".join(new), pytrace=False)


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = support.launch_browser(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """``new_page(viewport="desktop", storage_state=None, bypass_csp=False)``, closed after the test."""
    contexts: list[Any] = []

    def _new(viewport: str = "desktop", storage_state: Any = None, bypass_csp: bool = False) -> Any:
        context = browser.new_context(
            viewport=support.VIEWPORTS[viewport], storage_state=storage_state, bypass_csp=bypass_csp,
            locale="en-GB",
        )
        context.set_default_timeout(support.TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield _new
    for context in contexts:
        context.close()


@pytest.fixture(scope="package")
def signed_in_state(browser: Any, live_server: support.LiveServer) -> Callable[[str], dict[str, Any]]:
    """``signed_in_state(role)``: the cookies of that demo user, signed in through the form once.

    Tests never sign these users out (that would end every session of the user).
    """
    return support.signed_in_states(browser, live_server)


@pytest.fixture(scope="package")
def catalogue(live_server: support.LiveServer) -> Callable[[str], support.Catalogue]:
    return live_server.catalogue


@pytest.fixture
def unique() -> str:
    """A short token that makes names created by a test unique in the shared database."""
    return uuid.uuid4().hex[:8]
