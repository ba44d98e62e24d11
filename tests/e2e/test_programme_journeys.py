"""The officer's, the startup's and the coordinator's whole journeys, by links only, in both languages.

One challenge goes the whole way in each language, so the three journeys meet on the same data:

- the officer drafts a challenge (checking for similar ones first), sets its evaluation
  criteria, attaches a brief (a PDF) and opens it; answers a startup's question and publishes
  the answer; reads the proposals (downloading the startup's deck) side by side; confirms the
  department takes part; signs off the outcome, which publishes it;
- a startup registers (confirming its email from the emailed link), describes a capability,
  finds the challenge, downloads its brief, asks a question and proposes with a deck (a PDF);
  reads the published answer; accepts the approved trial;
- the lab's coordinator scores the proposal on the panel, approves it with a KPI, starts the
  trial, tracks a milestone, records the outcome, and unpublishes it from the showcase (the
  officer then signs it off again, which publishes it again).

Each person starts at the landing page (the only address typed), picks the language with the
header button, signs in through the header's link and moves only by clicking what pages show.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from portal.demo import DEMO_PASSWORD

from . import flows, programme, support
from .flows import click_and_wait, nav, success_banner

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("locale", support.LOCALES)
def test_a_challenge_goes_from_posting_to_a_published_outcome_by_following_links(
    live_server, new_page, unique, locale
):
    t = programme.Translated(live_server, locale)  # fails on a string shown untranslated in Chinese
    challenge = flows.challenge_input(locale, unique)
    founder = flows.startup_input(locale, unique)
    title = challenge.title
    kpi = ("Bookings made without a phone call", "50%") if locale == "en" else ("無需致電完成的預約", "50%")
    criterion = f"Fit with the clinics {unique}" if locale == "en" else f"切合診所需要 {unique}"

    officer = programme.arrive(new_page(), live_server, t, locale)
    startup = programme.arrive(new_page(), live_server, t, locale)
    other = programme.arrive(new_page(), live_server, t, locale)
    coordinator = programme.arrive(new_page(), live_server, t, locale)

    # Officer: a draft with its evaluation criteria, then opened for proposals.
    programme.sign_in(officer, support.DEMO_EMAILS["officer"], DEMO_PASSWORD)
    programme.draft_challenge(officer, challenge)
    programme.set_criteria(officer, criterion)
    brief = f"brief-{unique}.pdf"
    programme.attach_document(officer, brief)
    programme.open_challenge(officer)

    # Startup: registers, confirms its email, describes a capability, finds the challenge and proposes.
    programme.register(startup, live_server, founder)
    programme.describe_capability(startup, founder)
    programme.find_challenge(startup, unique, title)
    expect(startup.page.locator("#criteria + p + table")).to_contain_text(criterion)
    brief_link = startup.page.locator("section#documents").get_by_role("link", name=brief, exact=True)
    assert programme.download(startup.page, brief_link).startswith(b"%PDF-")
    question = (f"Which booking system do the clinics use now ({unique})?" if locale == "en"
                else f"診所現時使用哪一套預約系統（{unique}）？")
    programme.ask_question(startup, question)
    deck = f"deck-{unique}.pdf"
    programme.propose(startup, title, "We can have parents booking through WhatsApp within four weeks.",
                      founder.capability, deck=deck)

    # Officer: answers the question and publishes it; the startup reads it on the challenge page.
    answer = ("The clinics book through the Department's own system; it has an interface for partners."
              if locale == "en" else "診所使用本署的預約系統，系統設有供合作伙伴使用的介面。")
    programme.answer_question(officer, title, question, answer)
    programme.find_challenge(startup, unique, title)
    published = startup.page.locator(".im-qa .im-card").filter(has_text=question)
    expect(published).to_contain_text(answer)

    # A second startup (the demo founder) proposes too, so the officer has two to compare.
    programme.sign_in(other, support.DEMO_EMAILS["startup"], DEMO_PASSWORD)
    programme.find_challenge(other, unique, title)
    programme.propose(other, title, "Our booking assistant already serves two clinic groups.")
    nav(other.page, t("Our profile"))
    demo_startup = other.page.locator("h1").inner_text().strip()

    # Officer: the proposals received, two side by side.
    programme.open_inbox(officer, title)
    expect(officer.page.locator(".im-result")).to_have_count(2)
    deck_link = officer.page.locator(".im-result").get_by_role("link", name=deck, exact=True)
    assert programme.download(officer.page, deck_link).startswith(b"%PDF-")
    programme.compare(officer, [founder.startup, demo_startup])

    # Coordinator: scores the proposal on the panel, then approves it with a KPI.
    programme.sign_in(coordinator, support.DEMO_EMAILS["coordinator"], DEMO_PASSWORD)
    programme.score(coordinator, founder.startup, 4)
    programme.approve(coordinator, founder.startup, f"Strong fit, ready to pilot ({unique}).", kpi)

    # Startup: accepts the approved trial.
    programme.open_own_trial(startup, title)
    expect(startup.page.locator("h1 + p .im-tag").first).to_have_text(t.trial_state("approved"))
    programme.make_move(startup, "accept", t("Accept the trial"))
    expect(success_banner(startup.page)).to_have_text(t("You accepted the trial."))
    accepted = startup.page.locator(".govuk-summary-list__row").filter(has_text=t("Startup accepted"))
    expect(accepted.locator("dd")).not_to_have_text(t("Not yet"))

    # Officer: confirms the department takes part.
    programme.open_trial_from_inbox(officer, title, founder.startup)
    programme.make_move(officer, "confirm", t("Confirm the department takes part"))
    expect(success_banner(officer.page)).to_have_text(t("You confirmed the trial for your department."))

    # Coordinator: starts it, tracks a milestone, records the outcome with the KPI's result.
    programme.open_active_trial(coordinator, title)
    programme.make_move(coordinator, "start", t("Start the trial"))
    running = t.trial_state("running")
    expect(success_banner(coordinator.page)).to_have_text(t("The trial is now %(state)s.", state=running))
    milestone = "Chatbot live on WhatsApp" if locale == "en" else "聊天機械人在 WhatsApp 上線"
    programme.add_and_finish_milestone(coordinator, milestone)
    summary = ("Six in ten bookings were made without a phone call." if locale == "en"
               else "六成預約無需致電即可完成。")
    programme.record_outcome(coordinator, kpi[0], "61%", summary, challenge.language)
    expect(coordinator.page.locator("#report-title + div")).to_contain_text(summary)

    # Officer: signs off the outcome (asked first: the results lock, and the startup is asked to agree).
    programme.open_trial_from_inbox(officer, title, founder.startup)
    asked: list[str] = []
    officer.page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    click_and_wait(officer.page, officer.page.get_by_role("button", name=t("Sign off the outcome"), exact=True))
    assert asked == [t("Sign off the outcome? The results are then locked, and the startup is asked to agree to "
                       "the report being published on the public showcase.")]
    expect(success_banner(officer.page)).to_have_text(
        t("The outcome is signed off. It goes on the showcase once the startup agrees."))

    # Startup: agrees to the outcome being published with its name, which publishes it.
    agree_to_publish(startup, title)
    expect(success_banner(startup.page)).to_have_text(t("You agreed, and the outcome is published on the showcase."))

    # Anyone: the footer's showcase link shows the outcome.
    footer = startup.page.locator("footer")
    click_and_wait(startup.page, footer.get_by_role("link", name=t("Showcase of trial outcomes"), exact=True))
    expect(startup.page.locator("main")).to_contain_text(title)

    # Coordinator: takes the report off the showcase with a reason.
    programme.open_trial_by_challenge(coordinator, unique, title, founder.startup)
    page = coordinator.page
    page.locator("textarea[name=reason]").fill("The figures name a clinic; to be put right.")
    page.once("dialog", lambda dialog: dialog.accept())  # asked first: it leaves the public showcase
    click_and_wait(page, page.get_by_role("button", name=t("Unpublish the outcome report"), exact=True))
    expect(success_banner(page)).to_have_text(t("The outcome report is no longer published."))
    click_and_wait(startup.page, footer.get_by_role("link", name=t("Showcase of trial outcomes"), exact=True))
    expect(startup.page.locator("main")).not_to_contain_text(title)

    # Officer: once the report is put right, signs it off again, and it is back on the showcase.
    programme.open_trial_from_inbox(officer, title, founder.startup)
    expect(officer.page.locator("#report-title ~ p").filter(
        has_text="The figures name a clinic; to be put right.")).to_have_count(1)
    officer.page.once("dialog", lambda dialog: dialog.accept())
    click_and_wait(officer.page, officer.page.get_by_role("button", name=t("Sign off the outcome"), exact=True))
    expect(success_banner(officer.page)).to_have_text(
        t("The outcome is signed off. It goes on the showcase once the startup agrees."))
    # ... and the startup, asked again for the report as put right, agrees again.
    agree_to_publish(startup, title)
    click_and_wait(startup.page, footer.get_by_role("link", name=t("Showcase of trial outcomes"), exact=True))
    expect(startup.page.locator("main")).to_contain_text(title)


def agree_to_publish(startup: programme.Person, title: str) -> None:
    """The startup's member opens its trial and agrees to the outcome's publication (asked first)."""
    t = startup.t
    programme.open_own_trial(startup, title)
    asked: list[str] = []
    startup.page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    click_and_wait(startup.page, startup.page.get_by_role("button", name=t("Agree to publish the outcome"), exact=True))
    assert asked == [t("Agree to publish the outcome? The report as the department signed it off will be public "
                       "on the showcase, in open data and the API, with your startup's name.")]


def test_the_journeys_fail_on_a_string_shown_untranslated(live_server):
    t = programme.Translated(live_server, "zh_Hant_HK")
    assert t("Review queue") != "Review queue"
    with pytest.raises(AssertionError, match="not translated"):
        t("A sentence no catalogue has")
    assert programme.Translated(live_server, "en")("A sentence no catalogue has") == "A sentence no catalogue has"
