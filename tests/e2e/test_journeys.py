"""The three journeys in a real browser, in English and in Chinese (chosen with the header button)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from portal.demo import DEMO_PASSWORD

from . import flows, support
from .flows import click_and_wait, expect_heading, nav

pytestmark = pytest.mark.e2e

LOCALES = pytest.mark.parametrize("locale", support.LOCALES)


@LOCALES
def test_officer_posts_a_challenge_and_sees_recommended_startups(live_server, new_page, catalogue, unique, locale):
    t = catalogue(locale)
    page = new_page()
    support.sign_in(page, live_server, support.DEMO_EMAILS["officer"])
    support.use_language(page, locale)
    data = flows.challenge_input(locale, unique)

    flows.post_challenge(page, t, data)
    expect(page.locator("main .govuk-tag").first).to_have_text(t("Open"))
    for key in data.domains:
        expect(page.locator("main dl")).to_contain_text(t.domain(key))

    # The list, filtered by a word of the title, shows it.
    nav(page, t("Challenges"))
    page.locator("#q").fill(unique)
    click_and_wait(page, page.get_by_role("button", name=t("Apply filters"), exact=True))
    expect(page.get_by_role("status")).to_have_text(t.ngettext("%(num)d challenge found", "%(num)d challenges found", 1))
    link = page.get_by_role("link", name=data.title, exact=True)
    expect(link).to_be_visible()

    click_and_wait(page, link)
    click_and_wait(page, page.get_by_role("link", name=t("Recommended startups"), exact=True))
    expect_heading(page, t("Recommended startups"))
    results = page.locator(".im-result")
    expect(results.first).to_be_visible()
    first = results.first
    first.get_by_text(t("Why this match?"), exact=True).click()
    expect(first.get_by_text(t("Meaning (semantic)"), exact=True)).to_be_visible()


@LOCALES
def test_startup_registers_describes_itself_sees_opportunities_and_proposes(live_server, new_page, catalogue, unique,
                                                                           locale):
    t = catalogue(locale)
    page = new_page()
    data = flows.startup_input(locale, unique)

    flows.register_startup(page, live_server, t, locale, data)
    flows.add_capability(page, t, data)

    nav(page, t("Recommended for you"))
    expect_heading(page, t("Recommended opportunities"))
    first = page.locator(".im-result").first
    expect(first).to_be_visible()
    title = first.locator("h2 a").inner_text().strip()
    first.get_by_text(t("Why this match?"), exact=True).click()
    expect(first.get_by_text(t("Meaning (semantic)"), exact=True)).to_be_visible()

    click_and_wait(page, first.get_by_role("link", name=t("Propose a solution"), exact=True))
    flows.propose(page, t, data, title)
    # Once proposed, the challenge is no longer recommended to this startup.
    nav(page, t("Recommended for you"))
    expect(page.get_by_role("link", name=title, exact=True)).to_have_count(0)


@LOCALES
def test_coordinator_approves_a_proposed_trial_with_a_reason(live_server, new_page, catalogue, unique, locale):
    t = catalogue(locale)
    # A startup proposes first (in its own browser).
    founder = new_page()
    data = flows.startup_input(locale, unique)
    flows.register_startup(founder, live_server, t, locale, data)
    flows.add_capability(founder, t, data)
    nav(founder, t("Recommended for you"))
    first = founder.locator(".im-result").first
    challenge_title = first.locator("h2 a").inner_text().strip()
    click_and_wait(founder, first.get_by_role("link", name=t("Propose a solution"), exact=True))
    flows.propose(founder, t, data, challenge_title)

    page = new_page()
    support.sign_in(page, live_server, support.DEMO_EMAILS["coordinator"])
    support.use_language(page, locale)
    nav(page, t("Review queue"))
    expect_heading(page, t("Review queue"))
    card = page.locator("li.im-card").filter(has_text=data.startup)
    expect(card).to_have_count(1)
    expect(card.get_by_role("link", name=challenge_title, exact=True)).to_be_visible()
    click_and_wait(page, card.get_by_role("link", name=f"{t('Review, approve or reject')} {data.startup}", exact=True))

    expect(page.locator("h1")).to_have_text(challenge_title)
    status = page.locator("h1 + p .im-tag").first
    expect(status).to_have_text(t.trial_state("proposed"))
    reason = f"Strong fit and ready to pilot ({unique})."
    flows.approve_trial(page, t, reason)
    expect(status).to_have_text(t.trial_state("approved"))
    expect(status).to_have_class("im-tag im-tag--approved")
    expect(page.locator(".im-timeline li").last).to_contain_text(reason)

    # The startup sees the new state in its list of proposals.
    nav(founder, t("Our proposals"))
    row = founder.locator("tbody tr").filter(has=founder.get_by_role("link", name=challenge_title, exact=True))
    expect(row.locator(".govuk-tag")).to_have_text(t.trial_state("approved"))


#: The demo challenge of the officer's department that several startups proposed for.
INBOX_CHALLENGE = "衞生署網站及查詢熱線智能客服"


@LOCALES
def test_officer_follows_links_from_the_landing_page_to_a_challenges_proposals_side_by_side(
    live_server, new_page, catalogue, locale
):
    t = catalogue(locale)
    page = new_page()
    support.goto(page, live_server("/"))
    support.use_language(page, locale)
    nav(page, t("Sign in"))
    page.locator("#email").fill(support.DEMO_EMAILS["officer"])
    page.locator("#password").fill(DEMO_PASSWORD)
    click_and_wait(page, page.locator("main form button[type=submit]"))
    # Officers pass the second step (set up at the first sign-in).
    support.second_step(page, support.DEMO_EMAILS["officer"])
    # Signing in applies the account's own language, which another journey may have changed.
    support.use_language(page, locale)

    nav(page, t("Our challenges"))
    row = page.locator("main tr", has_text=INBOX_CHALLENGE)
    click_and_wait(page, row.locator("td a").filter(has_text=t("Proposals received")))
    expect(page.locator("h1")).to_contain_text(t("Proposals received"))
    proposals = page.locator(".im-result")
    expect(proposals.nth(1)).to_be_visible()
    first = proposals.first
    first.get_by_text(t("Why this match?"), exact=True).click()
    expect(first.get_by_text(t("Meaning (semantic)"), exact=True)).to_be_visible()

    chosen = []
    for n in range(2):
        card = proposals.nth(n)
        chosen.append(card.locator("h2 a").inner_text())
        card.locator("input[name=proposal]").check()
    click_and_wait(page, page.get_by_role("button", name=t("Compare the ticked proposals"), exact=True))
    expect_heading(page, t("Compare proposals"))
    columns = page.locator("main table thead th[scope=col]")
    expect(columns).to_have_count(2)
    for name in chosen:
        expect(columns.filter(has_text=name)).to_have_count(1)
    expect(page.locator("main table")).to_contain_text(t("Match score"))
