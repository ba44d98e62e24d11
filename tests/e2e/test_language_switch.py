"""Switching language keeps what was typed: on a form not sent yet, and on a form sent back with errors."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from . import support
from .support import goto

pytestmark = pytest.mark.e2e


def test_a_half_written_challenge_survives_a_change_of_language(live_server, new_page, signed_in_state):
    page = new_page(storage_state=signed_in_state("officer"))
    goto(page, live_server("/challenges/new"))
    support.use_language(page, "en")
    page.locator("#title").fill("Queue calling for the dental clinics")
    page.locator("#problem_statement").fill("Patients wait at the door; we want to call them by SMS.")
    # Ticked boxes, a chosen radio and a number changed from the form's own default come too.
    page.locator("input[name=domains][value=smart_clinic]").check()
    page.locator("input[name=functional_area][value=dental_clinical]").check()
    page.locator("input[name=duration_weeks]").fill("20")
    support.use_language(page, "zh_Hant_HK")
    expect(page).to_have_url(re.compile(r"/challenges/new$"))
    expect(page.locator("#title")).to_have_value("Queue calling for the dental clinics")
    expect(page.locator("#problem_statement")).to_have_value("Patients wait at the door; we want to call them by SMS.")
    expect(page.locator("input[name=domains][value=smart_clinic]")).to_be_checked()
    expect(page.locator("input[name=functional_area][value=dental_clinical]")).to_be_checked()
    expect(page.locator("input[name=duration_weeks]")).to_have_value("20")
    # Read once: going back to the page later starts empty again.
    goto(page, live_server("/challenges/new"))
    expect(page.locator("#title")).to_have_value("")


def test_switching_language_on_a_form_sent_back_with_errors_returns_to_its_page(live_server, new_page, signed_in_state):
    """The refused question is answered at /challenges/<id>/questions, an address for the form
    only (a startup opening it gets 403): the switch returns to the challenge with the text."""
    page = new_page(storage_state=signed_in_state("startup"))
    goto(page, live_server("/challenges"))
    support.use_language(page, "en")
    challenge_path = page.evaluate(
        "() => [...document.querySelectorAll('main a[href]')].map(a => a.getAttribute('href'))"
        ".find(h => /^\\/challenges\\/\\d+$/.test(h))"
    )
    goto(page, live_server(challenge_path))
    question = page.locator("form[action$='/questions'] textarea")
    if question.count() == 0:
        pytest.skip("the first listed challenge takes no questions from this startup")
    question.fill("Why?")
    for _attempt in range(2):  # the second time from the answer page itself (its Referer is the form's address)
        with page.expect_navigation(wait_until="domcontentloaded"):
            page.locator("form[action$='/questions'] button[type=submit]").click()
        expect(page.locator(".govuk-error-summary")).to_be_visible()
    support.use_language(page, "zh_Hant_HK")
    expect(page).to_have_url(re.compile(re.escape(challenge_path) + r"$"))
    expect(page.locator("form[action$='/questions'] textarea")).to_have_value("Why?")
