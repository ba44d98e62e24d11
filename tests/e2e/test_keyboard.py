"""Keyboard use: Tab reaches a form's fields in reading order, and the focused one is visibly marked."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from . import support
from .support import goto

pytestmark = pytest.mark.e2e

#: How focus shows. Visible means: while focused the element has an outline (not transparent)
#: or a box shadow, and it looks different from its resting look, recorded by RESTING_JS before
#: any Tab. GOV.UK checkboxes and radios hide the input and mark focus on the label's ::before.
LOOK_JS = """
window.__look = (el) => {
  const [target, pseudo] = (el.type === 'checkbox' || el.type === 'radio') && el.labels && el.labels[0]
    ? [el.labels[0], '::before'] : [el, null];
  const s = getComputedStyle(target, pseudo);
  const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0
    && !/rgba\\(.*,\\s*0\\)$|transparent/.test(s.outlineColor)
    ? `outline ${s.outlineWidth} ${s.outlineStyle} ${s.outlineColor}` : '';
  const shadow = s.boxShadow && s.boxShadow !== 'none' ? `box-shadow ${s.boxShadow}` : '';
  return {mark: [outline, shadow].filter(Boolean).join('; '),
          all: [outline, shadow, s.backgroundColor, s.borderColor, s.color].join('|')};
};
window.__resting = new Map();
document.activeElement && document.activeElement.blur();
for (const el of document.querySelectorAll('a[href], button, input, select, textarea, [tabindex]')) {
  window.__resting.set(el, window.__look(el).all);
}
"""
FOCUS_JS = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const now = window.__look(el);
  const r = el.getBoundingClientRect();
  return {
    key: el.id || el.name || el.getAttribute('href') || el.className || el.tagName,
    tag: el.tagName.toLowerCase(),
    type: el.type || '',
    indicator: now.mark && now.all !== window.__resting.get(el) ? now.mark : '',
    onScreen: r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0 &&
      r.top < innerHeight && r.left < innerWidth,
  };
}
"""


def record_resting_looks(page: Any) -> None:
    """Note how every focusable element looks before anything has focus."""
    page.evaluate("() => { " + LOOK_JS + " }")


def focused(page: Any) -> dict[str, Any] | None:
    return page.evaluate(FOCUS_JS)


def tab_until(page: Any, key: str, limit: int = 40) -> list[dict[str, Any]]:
    """Press Tab until the element ``key`` (id, name or href) has focus; return the stops on the way."""
    stops = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused(page)
        if now is None:
            continue
        if not stops or stops[-1]["key"] != now["key"]:  # a date input's parts are one element
            stops.append(now)
        if now["key"] == key:
            return stops
    raise AssertionError(f"Tab never reached #{key}; it went through {[s['key'] for s in stops]}")


def assert_visible_focus(stops: list[dict[str, Any]]) -> None:
    invisible = [s["key"] for s in stops if not s["indicator"] or not s["onScreen"]]
    assert not invisible, f"focus is not visible on: {invisible}\n{stops}"


@pytest.mark.parametrize("locale", support.LOCALES)
def test_register_form_in_tab_order_with_visible_focus(live_server, new_page, catalogue, locale):
    t = catalogue(locale)
    page = new_page(viewport="phone")
    goto(page, live_server("/register"))
    support.use_language(page, locale)
    record_resting_looks(page)

    # The first Tab stop is the skip link, shown when focused, and it moves focus to <main>.
    page.keyboard.press("Tab")
    skip = focused(page)
    assert skip is not None and skip["key"] == "#main-content", skip
    assert skip["onScreen"] and skip["indicator"], skip
    expect(page.locator(".govuk-skip-link")).to_have_text(t("Skip to main content"))

    stops = tab_until(page, "display_name")
    order = ["display_name", "email", "startup_name", "website", "size", "password", "confirm"]
    for key in order[1:]:
        stops.append(tab_until(page, key, limit=1)[-1])
    page.keyboard.press("Tab")
    button = focused(page)
    assert button is not None and button["tag"] == "button", button
    stops.append(button)
    expect(page.locator(":focus")).to_have_text(t("Create account"))
    assert_visible_focus(stops)

    # Enter on the focused button submits; the error summary lists the first problem.
    page.keyboard.press("Enter")
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    expect(page.locator(".govuk-error-summary a").first).to_have_attribute("href", "#display_name")


def test_challenge_form_in_tab_order_with_visible_focus(live_server, new_page, signed_in_state):
    page = new_page(storage_state=signed_in_state("officer"))
    goto(page, live_server("/challenges/new"))
    support.use_language(page, "en")
    record_resting_looks(page)
    page.locator("h1").click()  # start from the heading, as a reader who has just arrived
    stops = tab_until(page, "language", limit=5)
    # The text, then "Check for similar challenges" (its name is "action"), then the domains.
    keys = ["language", "title", "problem_statement", "desired_outcomes", "constraints", "action"]
    keys += [f"domains-{i}" for i in range(page.locator("fieldset#domains input").count())]
    for key in keys[1:]:
        stops.append(tab_until(page, key, limit=1)[-1])
        assert key != "action" or stops[-1]["tag"] == "button", stops[-1]
    # A radio group is one Tab stop; then the remaining fields.
    page.keyboard.press("Tab")
    radio = focused(page)
    assert radio is not None and radio["type"] == "radio", radio
    stops.append(radio)
    for key in ["tags", "duration_weeks", "closing_on"]:
        stops.append(tab_until(page, key, limit=1)[-1])
    for _ in range(4):  # past the date input's day, month and year parts
        page.keyboard.press("Tab")
        now = focused(page)
        if now is None or now["key"] != "closing_on":
            break
    assert now is not None and now["tag"] == "button", now
    stops.append(now)
    assert_visible_focus(stops)
