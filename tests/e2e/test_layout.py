"""Layout checks a screenshot review found worth keeping."""

from __future__ import annotations

import pytest

from . import pages
from .support import LOCALES, goto, use_language

pytestmark = pytest.mark.e2e


def test_breadcrumbs_line_up_with_the_page_content_on_desktop(live_server, new_page):
    with live_server.context() as db:
        challenge_id = pages.demo_ids(db)["challenge"]
    page = new_page(viewport="desktop")
    goto(page, live_server(f"/challenges/{challenge_id}"))
    crumbs = page.locator(".govuk-breadcrumbs").bounding_box()
    heading = page.locator("main h1").bounding_box()
    assert crumbs is not None and heading is not None
    assert abs(crumbs["x"] - heading["x"]) <= 1, (crumbs, heading)


@pytest.mark.parametrize("role", ["startup", "admin"])
def test_the_navigation_keeps_to_one_line_from_desktop_width(live_server, new_page, signed_in_state, role):
    """The role with the longest English sections (a startup's) and the one with the most
    (an administrator's): their sections and the bell share one line from 769 px on, in both
    languages (at 800-1000 px the bell had wrapped alone to a second row)."""
    page = new_page(viewport="desktop", storage_state=signed_in_state(role))
    goto(page, live_server("/"))
    try:
        for locale in LOCALES:
            use_language(page, locale)
            for width in (769, 800, 900, 1000, 1019, 1020, 1280):
                page.set_viewport_size({"width": width, "height": 800})
                tops = {
                    round(box["y"])
                    for item in page.locator(".im-nav__item").all()
                    if item.is_visible() and (box := item.bounding_box()) is not None
                }
                assert len(tops) == 1, (locale, width, tops)
                bell = page.locator(".im-bell")
                assert bell.is_visible(), (locale, width)
                # The bell's word stays for screen readers where it is not shown.
                assert bell.get_attribute("href") and bell.locator(".im-bell__label").count() == 1
    finally:
        use_language(page, "en")
