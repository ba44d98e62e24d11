"""axe-core on every page type: both languages, phone and desktop widths, zero WCAG 2.1 A/AA violations.

Pages come from tests/e2e/pages.py (the known pages, plus any other GET page of the app's URL
map). The CSP (script-src 'self') would block the injected axe script, so these contexts bypass
it. Closed <details> are opened first so the text inside is checked too. At each width the page
must also reflow: no sideways scrolling caused by anything but a data table.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import pytest

from portal import create_app
from portal.config import TestConfig

from . import pages, support
from .support import goto

pytestmark = pytest.mark.e2e

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_RUN = """
async (tags) => {
  document.querySelectorAll('details').forEach((d) => { d.open = true; });
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => ({target: n.target.join(' '), html: n.html.slice(0, 300), summary: n.failureSummary})),
  }));
}
"""

#: Reflow (WCAG 1.4.10): nothing but a data table (which WCAG exempts) may make the page scroll
#: sideways. Returns the outermost elements past the window's right edge that are not in a table
#: and not clipped by a scrollable box that fits.
OVERFLOW_JS = """
() => {
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= width) return [];
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.right <= width + 1 || r.width === 0 || el.closest('table') || out.some((o) => o.contains(el))) continue;
    let clipped = false;
    for (let a = el.parentElement; a; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== 'visible') { clipped = a.getBoundingClientRect().right <= width + 1; break; }
    }
    if (!clipped) out.push(el);
  }
  return out.slice(0, 5).map((el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\\s+/).join('.') : '') +
    ` (right edge ${Math.round(el.getBoundingClientRect().right)}px)`);
}
"""

# The URL map of this version of the app (an app object is cheap: no database is touched).
_APP = create_app(TestConfig)
_ENDPOINTS = {rule.endpoint for rule in _APP.url_map.iter_rules()}
SPECS = list(pages.SPECS) + pages.discovered_specs(_APP)
# Grouped by language and role, so consecutive tests reuse one signed-in browser page.
CASES = [
    pytest.param(spec, locale, id=f"{spec.name}-{locale}")
    for locale in support.LOCALES
    for spec in sorted(SPECS, key=lambda s: (s.role or "", s.name))
]


class PagePool:
    """One browser page per (role, language), kept for the next tests."""

    def __init__(self, browser: Any, server: support.LiveServer, states: Any, size: int = 10) -> None:
        self.browser, self.server, self.states, self.size = browser, server, states, size
        self.pages: OrderedDict[tuple[str | None, str], Any] = OrderedDict()

    def get(self, role: str | None, locale: str) -> Any:
        key = (role, locale)
        if key in self.pages:
            self.pages.move_to_end(key)
            return self.pages[key]
        context = self.browser.new_context(
            viewport=support.VIEWPORTS["desktop"], bypass_csp=True, locale="en-GB",
            storage_state=self.states(role) if role else None,
        )
        context.set_default_timeout(support.TIMEOUT_MS)
        page = context.new_page()
        goto(page, self.server("/"))
        support.use_language(page, locale)
        self.pages[key] = page
        while len(self.pages) > self.size:
            _, old = self.pages.popitem(last=False)
            old.context.close()
        return page

    def close(self) -> None:
        for page in self.pages.values():
            page.context.close()
        self.pages.clear()


@pytest.fixture(scope="module")
def pool(browser, live_server, signed_in_state) -> Iterator[PagePool]:
    pool = PagePool(browser, live_server, signed_in_state)
    yield pool
    pool.close()


@pytest.fixture(scope="module")
def ids(live_server) -> dict[str, int]:
    pages.add_examples(live_server)
    with live_server.context() as db:
        return pages.demo_ids(db)


_discovered_roles: dict[str, tuple[str | None, str]] = {}


def _open_discovered(spec: pages.PageSpec, pool: PagePool, server: support.LiveServer, locale: str) -> Any:
    """Open a discovered page as the first role that gets it as an HTML page (remembered)."""
    if spec.endpoint not in _discovered_roles:
        with server.context() as db, server.app.test_request_context("/"):
            path = pages.discovered_path(db, spec)
        if path is None:
            pytest.skip(f"{spec.endpoint}: cannot fill {spec.args} from the demo data; add it to tests/e2e/pages.py")
        tried = []
        for role in pages.ROLES:
            page = pool.get(role, locale)
            response = goto(page, server(path))
            kind = (response.headers.get("content-type") or "") if response else ""
            tried.append(f"{role or 'anonymous'}: {response.status if response else '?'} {kind}")
            if response and response.status == 200 and "text/html" in kind and "/login" not in page.url:
                _discovered_roles[spec.endpoint] = (role, path)
                return page
            if response and response.status == 200 and "text/html" not in kind:
                pytest.skip(f"{spec.endpoint} ({path}) is not an HTML page: {kind}")
        pytest.skip(f"{spec.endpoint} ({path}): no role sees it: {tried}; add it to tests/e2e/pages.py")
    role, path = _discovered_roles[spec.endpoint]
    page = pool.get(role, locale)
    goto(page, server(path))
    return page


def _open(spec: pages.PageSpec, pool: PagePool, server: support.LiveServer, ids: dict[str, int], locale: str) -> Any:
    if spec.discovered:
        return _open_discovered(spec, pool, server, locale)
    if spec.endpoint and spec.endpoint not in _ENDPOINTS:
        pytest.skip(f"{spec.endpoint} is not in this version of the app")
    page = pool.get(spec.role, locale)
    response = goto(page, server(spec.path(ids)))
    if spec.submit:
        button = page.locator(spec.submit).first
        with page.expect_navigation(wait_until="domcontentloaded") as navigation:
            button.click()
        response = navigation.value
    assert response is not None and response.status == spec.status, (
        f"{spec.name}: expected HTTP {spec.status}, got {response.status if response else None} at {page.url}"
    )
    assert page.locator("html").get_attribute("lang") == support.HTML_LANG[locale], f"{spec.name}: not in {locale}"
    return page


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"  {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"][:8]:
            lines.append(f"      {node['target']}")
            lines.append(f"        {node['html'][:160]}")
        if len(v["nodes"]) > 8:
            lines.append(f"      ... and {len(v['nodes']) - 8} more")
    return "\n".join(lines)


@pytest.mark.parametrize(("spec", "locale"), CASES)
def test_page_has_no_accessibility_violations(spec, locale, pool, live_server, ids):
    page = _open(spec, pool, live_server, ids, locale)
    page.add_script_tag(path=str(support.AXE_JS))
    report = []
    for width in ("phone", "desktop"):
        page.set_viewport_size(support.VIEWPORTS[width])
        violations = page.evaluate(AXE_RUN, AXE_TAGS)
        if violations:
            report.append(f"{spec.name} [{locale}, {width}] {page.url}\n{describe(violations)}")
        overflow = page.evaluate(OVERFLOW_JS)
        if overflow:
            report.append(f"{spec.name} [{locale}, {width}] {page.url}\n  reflow: the page scrolls sideways; "
                          f"wider than the window: {overflow}")
    assert not report, "WCAG 2.1 A/AA problems (axe-core, reflow):\n" + "\n".join(report)


def test_the_checks_find_what_they_look_for(new_page):
    """axe and the reflow check report known problems (so a silent pass means something)."""
    page = new_page(viewport="phone")
    page.set_content(
        '<!doctype html><html lang="en"><head><title>t</title></head><body><main>'
        '<h1>Checks</h1><img src="x.png"><p style="color:#ccc;background:#fff">Faint text</p>'
        '<div style="width:900px">Too wide</div>'
        '<table><tr><td style="min-width:900px">A wide table is allowed</td></tr></table></main></body></html>'
    )
    page.add_script_tag(path=str(support.AXE_JS))
    found = {v["id"] for v in page.evaluate(AXE_RUN, AXE_TAGS)}
    assert {"image-alt", "color-contrast"} <= found, found
    overflow = page.evaluate(OVERFLOW_JS)
    assert len(overflow) == 1 and overflow[0].startswith("div"), overflow
