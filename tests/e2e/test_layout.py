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


def test_a_file_over_the_limit_is_refused_when_chosen_and_the_typed_pitch_stays(live_server, new_page, signed_in_state):
    """Sent, a file over the request limit is refused before the form around it is read (the
    pitch would be lost): the page refuses it as soon as it is chosen. The limit is lowered on
    the page to 10 bytes, as the input carries it (data-max-bytes)."""
    with live_server.context() as db:
        challenge_id = pages.demo_ids(db)["unproposed_challenge"]
    page = new_page(viewport="desktop", storage_state=signed_in_state("startup"))
    goto(page, live_server(f"/challenges/{challenge_id}/propose"))
    page.locator("#pitch").fill("We can start within four weeks of the trial's approval.")
    upload = page.locator("input[type=file][data-max-bytes]")
    upload.evaluate("input => input.setAttribute('data-max-bytes', '10')")
    upload.set_input_files(files=[{"name": "deck.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 " + b"x" * 64}])
    message = page.locator("[id$=-too-large]")
    assert message.is_visible() and "larger than" in message.inner_text()
    assert upload.evaluate("input => input.files.length") == 0
    assert page.locator("#pitch").input_value() == "We can start within four weeks of the trial's approval."
    upload.evaluate("input => input.setAttribute('data-max-bytes', '1000000')")
    upload.set_input_files(files=[{"name": "deck.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 small"}])
    assert message.count() == 0 and upload.evaluate("input => input.files.length") == 1


def test_choosing_another_file_takes_away_the_servers_message_about_the_refused_one(
    live_server, new_page, signed_in_state
):
    """The server refused a file (not an accepted type): once another file is chosen, its
    message, under the input and in the error summary, no longer stands beside the new one's."""
    with live_server.context() as db:
        challenge_id = pages.demo_ids(db)["unproposed_challenge"]
    page = new_page(viewport="desktop", storage_state=signed_in_state("startup"))
    goto(page, live_server(f"/challenges/{challenge_id}/propose"))
    page.locator("#pitch").fill("We can start within four weeks of the trial's approval.")
    page.locator("#capability_id").select_option(index=1)
    upload = page.locator("input[type=file][data-max-bytes]")
    upload.set_input_files(files=[{"name": "tool.exe", "mimeType": "application/octet-stream", "buffer": b"MZ" + b"x" * 64}])
    with page.expect_navigation():
        page.locator("form:has(#pitch) button[type=submit]").last.click()
    upload = page.locator("input[type=file][data-max-bytes]")
    file_id = upload.get_attribute("id")
    assert page.locator(f"#{file_id}-error").is_visible()
    assert page.locator(f'.govuk-error-summary a[href="#{file_id}"]').count() == 1
    upload.evaluate("input => input.setAttribute('data-max-bytes', '10')")
    upload.set_input_files(files=[{"name": "deck.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 " + b"x" * 64}])
    assert page.locator(f"#{file_id}-error").count() == 0
    assert page.locator(f'.govuk-error-summary a[href="#{file_id}"]').count() == 0
    assert "larger than" in page.locator("[id$=-too-large]").inner_text()
    assert upload.get_attribute("aria-invalid") is None


def test_a_proposal_is_not_sent_without_its_refused_file_unnoticed(live_server, new_page, signed_in_state):
    """After a file over the limit was refused, the first try to send the proposal stops and
    says the file is not attached; sending again sends the proposal without it."""
    with live_server.context() as db:
        challenge_id = pages.demo_ids(db)["unproposed_challenge"]
    page = new_page(viewport="desktop", storage_state=signed_in_state("startup"))
    url = live_server(f"/challenges/{challenge_id}/propose")
    goto(page, url)
    page.locator("#pitch").fill("We can start within four weeks of the trial's approval.")
    upload = page.locator("input[type=file][data-max-bytes]")
    upload.evaluate("input => input.setAttribute('data-max-bytes', '10')")
    upload.set_input_files(files=[{"name": "deck.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 " + b"x" * 64}])
    page.locator("#capability_id").select_option(index=1)
    send = page.locator("form:has(#pitch) button[type=submit]").last
    send.click()
    message = page.locator("[id$=-too-large]")
    assert "not attached" in message.inner_text() and page.url == url
    assert page.locator("#pitch").input_value() == "We can start within four weeks of the trial's approval."
    page.wait_for_timeout(1100)  # GOV.UK's buttons ignore a second click within a second
    with page.expect_navigation():
        send.click()
    assert page.url != url


def test_removing_a_document_asks_first_and_a_no_keeps_it(live_server, new_page, signed_in_state):
    """A removal has no undo: the browser asks, and answering no leaves the document where it was."""
    pages.add_examples(live_server)  # the running trial's report (once per server)
    with live_server.context() as db:
        trial_id = pages.demo_ids(db)["trial_running"]
    page = new_page(viewport="desktop", storage_state=signed_in_state("coordinator"))
    goto(page, live_server(f"/trials/{trial_id}/documents"))
    rows = page.locator("table.im-documents tbody tr")
    before = rows.count()
    assert before >= 1
    name = rows.first.locator("a").first.inner_text()
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    rows.first.get_by_role("button").click()
    assert asked == [f"Remove {name}? It cannot be brought back."]
    page.wait_for_timeout(300)  # a submit would have navigated by now
    assert page.url.endswith(f"/trials/{trial_id}/documents") and rows.count() == before


def test_a_step_with_its_reason_left_empty_is_not_asked_about_and_says_what_is_missing(
    live_server, new_page, signed_in_state
):
    """Unpublishing asks first, but only once it can be done: with the reason left empty the
    browser does not ask (the answer would only be the field's error), and the page says it."""
    from sqlalchemy import select

    from models import OutcomeReport

    with live_server.context() as db:
        report = db.scalar(select(OutcomeReport).where(OutcomeReport.published).order_by(OutcomeReport.id))
        trial_id = report.trial_id
    page = new_page(viewport="desktop", storage_state=signed_in_state("coordinator"))
    goto(page, live_server(f"/trials/{trial_id}"))
    asked: list[str] = []
    page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Unpublish the outcome report").click()
    page.wait_for_load_state("domcontentloaded")
    assert asked == []
    assert page.locator(".govuk-error-summary").get_by_text("Say why the outcome report is unpublished.").count() == 1
    with live_server.context() as db:
        assert db.get(OutcomeReport, report.id).published  # nothing changed
