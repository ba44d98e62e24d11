"""Layout checks a screenshot review found worth keeping."""

from __future__ import annotations

import pytest

from . import pages
from .support import goto

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
