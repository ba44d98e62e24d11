"""Steps of the journeys, done the way a person does them: links, buttons, choices by their label.

Text fields are found by id (stable while the wording is polished; axe checks their labels).

Every step waits for and checks what the person sees next. ``t`` is a ``support.Catalogue``
for the page's interface language, so the same steps run in English and in Chinese.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from playwright.sync_api import expect

from portal import clock
from tests.mailbox import verification_path

from . import support
from .support import Catalogue, LiveServer, goto

PASSWORD = "a-long-unique-passphrase-2026"


def click_and_wait(page: Any, locator: Any) -> None:
    """Click something that loads a new page (a link or a form's button) and wait for it."""
    with page.expect_navigation(wait_until="domcontentloaded"):
        locator.click()


def nav(page: Any, label: str) -> None:
    """Follow a link of the main navigation by its (translated) text."""
    main_nav = page.locator("nav.im-nav")
    click_and_wait(page, main_nav.get_by_role("link", name=label, exact=True))


def success_banner(page: Any) -> Any:
    return page.locator(".govuk-notification-banner--success .govuk-notification-banner__heading")


def expect_heading(page: Any, text: str) -> None:
    expect(page.locator("h1")).to_have_text(text)


# -- officer -------------------------------------------------------------------------------


@dataclass
class ChallengeInput:
    title: str
    problem: str
    outcomes: str
    constraints: str
    language: str  # content language: "en" or "zh-Hant"
    domains: tuple[str, ...] = ("customer_service", "smart_clinic")
    area: str = "dental_clinical"
    tags: str = "chatbot, nlp"


def challenge_input(locale: str, token: str) -> ChallengeInput:
    """A challenge written in the interface language (Chinese content when the interface is Chinese)."""
    if locale.startswith("zh"):
        return ChallengeInput(
            title=f"學童牙科預約聊天機械人 {token}",
            problem="家長致電學童牙科保健服務預約及更改預約時段，每個學期初電話線長時間繁忙，家長要等候很久。",
            outcomes="一半的預約無需致電即可完成。",
            constraints="個人資料不得離開香港。",
            language="zh-Hant",
        )
    return ChallengeInput(
        title=f"Chatbot for school dental appointment bookings {token}",
        problem="Parents phone the School Dental Care Service to book and change appointments; "
        "lines are busy for hours at the start of each term.",
        outcomes="Half of bookings handled without a phone call.",
        constraints="No personal data leaves Hong Kong.",
        language="en",
    )


def post_challenge(page: Any, t: Catalogue, data: ChallengeInput) -> None:
    """From any page of a signed-in officer: post ``data`` with "Save and open"."""
    fill_challenge_form(page, t, data)
    click_and_wait(page, page.get_by_role("button", name=t("Save and open"), exact=True))
    expect(success_banner(page)).to_have_text(t("Challenge opened for proposals."))
    expect(page.locator("h1")).to_have_text(data.title)
    expect(page.locator("h1")).to_have_attribute("lang", data.language)


def fill_challenge_form(page: Any, t: Catalogue, data: ChallengeInput) -> None:
    """From any page of a signed-in officer: "Post a challenge" in the navigation, every field filled."""
    nav(page, t("Post a challenge"))
    expect_heading(page, t("Post a challenge"))
    page.locator("#language").select_option(data.language)
    page.locator("#title").fill(data.title)
    page.locator("#problem_statement").fill(data.problem)
    page.locator("#desired_outcomes").fill(data.outcomes)
    page.locator("#constraints").fill(data.constraints)
    domains = page.locator("fieldset#domains")
    for key in data.domains:
        domains.get_by_label(t.domain(key), exact=True).check()
    page.locator("fieldset#functional_area").get_by_label(t.area(data.area), exact=True).check()
    page.locator("#tags").fill(data.tags)
    page.locator("#duration_weeks").fill("12")
    page.locator("#closing_on").fill((clock.today() + timedelta(days=30)).isoformat())


# -- startup -------------------------------------------------------------------------------


@dataclass
class StartupInput:
    person: str
    email: str
    startup: str
    capability: str
    description: str
    language: str  # content language of the capability


def startup_input(locale: str, token: str) -> StartupInput:
    if locale.startswith("zh"):
        return StartupInput(
            person="黃美玲", email=f"may.{token}@smilebot-{token}.example.hk", startup=f"笑容機械人 {token}",
            capability=f"牙科預約聊天機械人 {token}",
            description="在 WhatsApp 及網站上運作的聊天機械人，為家長預約及更改牙科診所的預約時段，支援粵語及英語。",
            language="zh-Hant",
        )
    return StartupInput(
        person="May Wong", email=f"may.{token}@smilebot-{token}.example.hk", startup=f"SmileBot {token}",
        capability=f"Dental booking chatbot {token}",
        description="A chatbot on WhatsApp and the web that books and changes dental clinic appointments "
        "for parents, in Cantonese and English.",
        language="en",
    )


def register_startup(page: Any, server: LiveServer, t: Catalogue, locale: str, data: StartupInput) -> None:
    """From the landing page: choose the language, register, sign in, land on the capability form."""
    goto(page, server("/"))
    support.use_language(page, locale)
    nav(page, t("Register a startup"))
    expect_heading(page, t("Register your startup"))
    page.locator("#display_name").fill(data.person)
    page.locator("#email").fill(data.email)
    page.locator("#startup_name").fill(data.startup)
    page.locator("#website").fill(f"https://{data.email.split('@')[1]}")
    page.locator("#size").select_option("1-10")
    page.locator("#password").fill(PASSWORD)
    page.locator("#confirm").fill(PASSWORD)
    click_and_wait(page, page.get_by_role("button", name=t("Create account"), exact=True))
    # The same page whether or not the email had an account: the new account signs in next.
    expect_heading(page, t("Check your email"))
    click_and_wait(page, page.locator("main").get_by_role("button", name=t("Sign in"), exact=True))
    page.locator("#email").fill(data.email)
    page.locator("#password").fill(PASSWORD)
    click_and_wait(page, page.locator("main form button[type=submit]"))
    expect_heading(page, t("Describe a capability"))
    confirm_email(page, server, t, data.email)
    goto(page, server("/startups/capabilities/new"))
    expect_heading(page, t("Describe a capability"))


def confirm_email(page: Any, server: LiveServer, t: Catalogue, address: str) -> None:
    """Follow the verification link emailed to ``address`` and press its button."""
    goto(page, server(verification_path(server.inbox, address)))
    expect_heading(page, t("Confirm your email address"))
    click_and_wait(page, page.get_by_role("button", name=t("Confirm email address"), exact=True))
    # A new startup is also told its next step (its first capability): the banner begins so.
    expect(success_banner(page)).to_contain_text(t("Your email address is confirmed."))


def add_capability(page: Any, t: Catalogue, data: StartupInput) -> None:
    """On the capability form: describe a product, save, see it on the profile."""
    page.locator("#name").fill(data.capability)
    page.locator("#description").fill(data.description)
    page.locator("#technologies").fill("chatbot, nlp, whatsapp")
    domains = page.locator("fieldset#domains")
    domains.get_by_label(t.domain("customer_service"), exact=True).check()
    domains.get_by_label(t.domain("smart_clinic"), exact=True).check()
    page.locator("#deployments").fill("Two private dental clinics since 2024.")
    page.locator("#readiness").select_option("7")
    page.locator("#language").select_option(data.language)
    click_and_wait(page, page.get_by_role("button", name=t("Save capability"), exact=True))
    expect(success_banner(page)).to_have_text(t("Capability added."))
    expect(page.get_by_text(data.capability, exact=True).first).to_be_visible()


def propose(page: Any, t: Catalogue, data: StartupInput, challenge_title: str) -> None:
    """On the proposal form: offer the capability with a pitch; see it in "Our proposals"."""
    expect_heading(page, t("Propose your solution"))
    page.locator("#capability_id").select_option(label=data.capability)
    page.locator("#pitch").fill(
        "We can have parents booking through WhatsApp within four weeks of the start of the trial."
    )
    click_and_wait(page, page.get_by_role("button", name=t("Send proposal"), exact=True))
    expect(success_banner(page)).to_have_text(t("Your proposal has been sent to the lab."))
    expect_heading(page, t("Our proposals"))
    row = page.locator("tbody tr").filter(has=page.get_by_role("link", name=challenge_title, exact=True))
    expect(row).to_have_count(1)
    expect(row.locator(".govuk-tag")).to_have_text(t.trial_state("proposed"))


# -- coordinator ---------------------------------------------------------------------------


def decide_form(page: Any, move: str) -> Any:
    """The trial page's form for one move (approve, reject, ...)."""
    return page.locator("form").filter(has=page.locator(f"input[name=action][value={move}]"))


def approve_trial(page: Any, t: Catalogue, reason: str) -> None:
    """On a proposed trial's page: try without a reason (refused), then approve with one."""
    form = decide_form(page, "approve")
    expect(form).to_have_count(1)
    click_and_wait(page, form.get_by_role("button", name=t("Approve trial"), exact=True))
    expect(page.locator(".govuk-error-summary")).to_contain_text(t("Give a reason for this decision."))
    expect(page.locator("h1 + p .im-tag, .im-tag--proposed").first).to_have_text(t.trial_state("proposed"))
    form = decide_form(page, "approve")
    form.locator("textarea[name=reason]").fill(reason)
    click_and_wait(page, form.get_by_role("button", name=t("Approve trial"), exact=True))
    approved = t.trial_state("approved")
    expect(success_banner(page)).to_have_text(t("The trial is now %(state)s.", state=approved))
