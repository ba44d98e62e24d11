"""Steps of the whole programme, from a posted challenge to a published outcome, by links only.

Each step starts from the page the person is on and moves only by clicking what that page shows:
links (the main navigation, the footer, a row of a table), buttons and form controls. The only
address ever typed is the landing page's, once per person. An email's link is followed by
showing the email in a "mail client" tab of the same browser and clicking the link there.

``t`` gives the interface strings in the page's language (``Translated``: a ``support.Catalogue``
that fails on a string shown untranslated), so the steps read the same in English and in Chinese.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from playwright.sync_api import expect

from portal import clock
from tests import samples

from . import flows, support
from .flows import (
    PASSWORD,
    ChallengeInput,
    StartupInput,
    click_and_wait,
    decide_form,
    expect_heading,
    nav,
    success_banner,
)
from .support import LiveServer


class Translated:
    """A ``Catalogue`` that fails when a string the journey reads is not translated.

    In Chinese, a string the catalogue lacks would be shown (and looked for) in English, and the
    journey would still pass: this makes it fail instead, naming the string.
    """

    def __init__(self, server: LiveServer, locale: str) -> None:
        self.catalogue, self.english, self.locale = server.catalogue(locale), server.catalogue("en"), locale

    def _check(self, shown: str, english: str, msgid: str) -> str:
        assert self.locale == "en" or shown != english, f"not translated into {self.locale}: {msgid!r}"
        return shown

    def __call__(self, msgid: str, **variables: Any) -> str:
        return self._check(self.catalogue(msgid, **variables), self.english(msgid, **variables), msgid)

    def ngettext(self, singular: str, plural: str, num: int) -> str:
        return self._check(self.catalogue.ngettext(singular, plural, num),
                           self.english.ngettext(singular, plural, num), singular)

    def domain(self, key: str) -> str:
        return self._check(self.catalogue.domain(key), self.english.domain(key), key)

    def area(self, key: str) -> str:
        return self._check(self.catalogue.area(key), self.english.area(key), key)

    def trial_state(self, state: str) -> str:
        return self._check(self.catalogue.trial_state(state), self.english.trial_state(state), state)


@dataclass
class Person:
    """One person's browser tab, signed in or not, in the interface language of the journey."""

    page: Any
    t: Any  # Translated (or a Catalogue)
    locale: str


def arrive(page: Any, server: LiveServer, t: Any, locale: str) -> Person:
    """Open the landing page (the only typed address) and choose the language with the header button."""
    support.goto(page, server("/"))
    support.use_language(page, locale)
    return Person(page, t, locale)


def sign_in(person: Person, email: str, password: str) -> None:
    """The header's "Sign in" link, the form, and the second step for staff; then the journey's language."""
    page, t = person.page, person.t
    nav(page, t("Sign in"))
    expect_heading(page, t("Sign in"))
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    click_and_wait(page, page.locator("main form button[type=submit]"))
    expect(page.locator(support.SIGN_OUT).first).to_be_visible()
    support.second_step(page, email)
    support.use_language(page, person.locale)


def follow_emailed_link(person: Person, server: LiveServer, address: str, pattern: str) -> None:
    """Show the last email to ``address`` in a new tab, as a mail client would, and click its link.

    ``pattern`` is a regular expression for the link's path. The tab stays open on the page the link opens.
    """
    body = server.inbox.body(server.inbox.to(address)[-1])
    links = re.findall(r"https?://\S+", body)
    wanted = [link for link in links if re.search(pattern, link)]
    assert wanted, f"no link matching {pattern} in the last email to {address}: {links}"
    shown = re.sub(
        r"https?://\S+",
        lambda m: f'<a href="{html.escape(m.group(0))}">{html.escape(m.group(0))}</a>',
        html.escape(body),
    )
    mail = person.page.context.new_page()
    mail.set_content(f'<!doctype html><html lang="en"><title>Mail</title><pre>{shown}</pre></html>')
    click_and_wait(mail, mail.locator(f'a[href="{wanted[-1]}"]'))
    person.page = mail


def pdf_file(name: str, text: str) -> dict[str, Any]:
    """A small real PDF, as a file chosen in a file input."""
    return {"name": name, "mimeType": "application/pdf", "buffer": samples.pdf(text)}


def download(page: Any, link: Any) -> bytes:
    """Click a download link and return the file's bytes."""
    with page.expect_download() as info:
        link.click()
    path = info.value.path()
    with open(path, "rb") as file:
        return file.read()


# -- officer -------------------------------------------------------------------------------


def draft_challenge(person: Person, data: ChallengeInput) -> None:
    """"Post a challenge" in the navigation: fill the form and save it as a draft."""
    page, t = person.page, person.t
    flows.fill_challenge_form(page, t, data)
    # Before saving: is the need already posted, or solved, elsewhere? (Checking saves nothing.)
    click_and_wait(page, page.get_by_role("button", name=t("Check for similar challenges"), exact=True))
    expect(page.locator("#similar-heading")).to_have_text(t("Already solved elsewhere?"))
    expect(page.locator("#title")).to_have_value(data.title)
    click_and_wait(page, page.get_by_role("button", name=t("Save as draft"), exact=True))
    expect(success_banner(page)).to_have_text(t("Challenge saved as a draft."))
    expect(page.locator("h1")).to_have_text(data.title)


def set_criteria(person: Person, criterion: str) -> None:
    """On a draft's page: "Change the evaluation criteria", rename the first one, save; see it published."""
    page, t = person.page, person.t
    click_and_wait(page, page.get_by_role("link", name=t("Change the evaluation criteria"), exact=True))
    expect_heading(page, t("Evaluation criteria"))
    first = page.locator("main fieldset").first
    first.locator("input[type=text]").first.fill(criterion)
    click_and_wait(page, page.get_by_role("button", name=t("Save the criteria"), exact=True))
    expect(success_banner(page)).to_have_text(t("Evaluation criteria saved."))
    expect(page.locator("#criteria + p + table")).to_contain_text(criterion)


def attach_document(person: Person, name: str) -> None:
    """On a challenge's page: "Add or remove documents", upload a PDF, see it listed; back to the challenge."""
    page, t = person.page, person.t
    click_and_wait(page, page.get_by_role("link", name=t("Add or remove documents"), exact=True))
    section = page.locator("section#documents")
    section.get_by_label(t("Add a document"), exact=True).set_input_files(pdf_file(name, "Brief"))
    click_and_wait(page, section.get_by_role("button", name=t("Upload document"), exact=True))
    expect(success_banner(page)).to_have_text(t("Document added."))
    expect(page.locator("section#documents").get_by_role("link", name=name, exact=True)).to_be_visible()
    click_and_wait(page, page.get_by_role("link", name=t("Cancel"), exact=True))
    expect(page.locator("section#documents").get_by_role("link", name=name, exact=True)).to_be_visible()


def open_challenge(person: Person) -> None:
    """On a draft's page: "Open for proposals"."""
    page, t = person.page, person.t
    click_and_wait(page, page.get_by_role("button", name=t("Open for proposals"), exact=True))
    expect(success_banner(page)).to_have_text(t("Challenge opened for proposals."))
    expect(page.locator("main .govuk-tag").first).to_have_text(t("Open"))


def open_inbox(person: Person, title: str) -> None:
    """"Our challenges", then the count of proposals on the challenge's row."""
    page, t = person.page, person.t
    nav(page, t("Our challenges"))
    row = page.locator("main tr").filter(has=page.get_by_role("link", name=title, exact=True))
    click_and_wait(page, row.locator("td a").filter(has_text=t("Proposals received")))
    expect(page.locator("h1")).to_contain_text(t("Proposals received"))


def answer_question(person: Person, title: str, question: str, answer: str) -> None:
    """"Our challenges" → the count of unanswered questions → answer one and publish it."""
    page, t = person.page, person.t
    nav(page, t("Our challenges"))
    row = page.locator("main tr").filter(has=page.get_by_role("link", name=title, exact=True))
    link = row.locator("td a").filter(has_text=t("Unanswered questions"))
    expect(link).to_contain_text("1")
    click_and_wait(page, link)
    expect_heading(page, t("Questions from startups"))
    card = page.locator("li.im-card").filter(has_text=question)
    expect(card.locator(".im-tag")).to_have_text(t("Awaiting an answer"))
    card.get_by_label(t("Answer"), exact=True).fill(answer)
    card.get_by_label(t("Publish the question and answer on the challenge page (without the asker's name)"),
                      exact=True).check()
    click_and_wait(page, card.get_by_role("button", name=t("Save the answer"), exact=True))
    expect(success_banner(page)).to_have_text(t("Answer published on the challenge page."))
    expect(page.locator("li.im-card").filter(has_text=question).locator(".im-tag")).to_have_text(t("Published"))


def compare(person: Person, startups: list[str]) -> None:
    """In the inbox: tick the proposals of ``startups`` and compare them side by side."""
    page, t = person.page, person.t
    for name in startups:
        card = page.locator(".im-result").filter(has=page.get_by_role("link", name=name, exact=True))
        card.locator("input[name=proposal]").check()
    click_and_wait(page, page.get_by_role("button", name=t("Compare the ticked proposals"), exact=True))
    expect_heading(page, t("Compare proposals"))
    columns = page.locator("main table thead th[scope=col]")
    expect(columns).to_have_count(len(startups))
    for name in startups:
        expect(columns.filter(has_text=name)).to_have_count(1)
    expect(page.locator("main table")).to_contain_text(t("Match score"))


def trial_link(t: Callable[[str], str], startup: str) -> re.Pattern[str]:
    """The link to ``startup``'s trial record: "View the proposal" before the lab approves it,
    "Open the trial" after (each with the startup's name for screen readers)."""
    labels = "|".join(re.escape(t(label)) for label in ("Open the trial", "View the proposal"))
    return re.compile(f"^(?:{labels}) {re.escape(startup)}$")


def open_trial_from_inbox(person: Person, title: str, startup: str) -> None:
    """"Our challenges" → the challenge's proposals → the trial record of ``startup``."""
    page, t = person.page, person.t
    open_inbox(person, title)
    click_and_wait(page, page.get_by_role("link", name=trial_link(t, startup)))
    expect(page.locator("h1")).to_have_text(title)


def make_move(person: Person, move: str, label: str, reason: str = "") -> None:
    """On a trial's page: the form of one move (with a reason when given) and its button."""
    page = person.page
    form = decide_form(page, move)
    expect(form).to_have_count(1)
    if reason:
        form.locator("textarea[name=reason]").fill(reason)
    click_and_wait(page, form.get_by_role("button", name=label, exact=True))


# -- startup -------------------------------------------------------------------------------


def register(person: Person, server: LiveServer, data: StartupInput) -> None:
    """"Register a startup", sign in, and confirm the email address from the emailed link."""
    page, t = person.page, person.t
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
    expect_heading(page, t("Check your email"))
    click_and_wait(page, page.locator("main").get_by_role("button", name=t("Sign in"), exact=True))
    page.locator("#email").fill(data.email)
    page.locator("#password").fill(PASSWORD)
    click_and_wait(page, page.locator("main form button[type=submit]"))
    expect_heading(page, t("Describe a capability"))
    # The email asks to confirm the address (a startup cannot propose before it does).
    app_tab = person.page
    follow_emailed_link(person, server, data.email, r"/account/verify/")
    expect_heading(person.page, t("Confirm your email address"))
    click_and_wait(person.page, person.page.get_by_role("button", name=t("Confirm email address"), exact=True))
    expect(success_banner(person.page)).to_have_text(t(
        "Your email address is confirmed. Next, describe what your startup offers: challenges are "
        "recommended to you by it."
    ))
    expect_heading(person.page, t("Describe a capability"))  # its next step
    person.page.close()
    person.page = app_tab


def describe_capability(person: Person, data: StartupInput) -> None:
    """"Our profile" → "Add a capability": describe the product and save it."""
    page, t = person.page, person.t
    nav(page, t("Our profile"))
    click_and_wait(page, page.get_by_role("link", name=t("Add a capability"), exact=True))
    expect_heading(page, t("Describe a capability"))
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


def find_challenge(person: Person, token: str, title: str) -> None:
    """"Challenges" in the navigation, a search for ``token``, then the challenge's link."""
    page, t = person.page, person.t
    nav(page, t("Challenges"))
    page.locator("#q").fill(token)
    click_and_wait(page, page.get_by_role("button", name=t("Apply filters"), exact=True))
    click_and_wait(page, page.get_by_role("link", name=title, exact=True))
    expect(page.locator("h1")).to_have_text(title)


def ask_question(person: Person, question: str) -> None:
    """On a challenge's page: ask the department a question; see it waiting for an answer."""
    page, t = person.page, person.t
    page.get_by_label(t("Your question"), exact=True).fill(question)
    click_and_wait(page, page.get_by_role("button", name=t("Send the question"), exact=True))
    expect(success_banner(page)).to_have_text(
        t("Your question was sent to the department. You will be told when it answers.")
    )
    mine = page.locator("#your-questions + ul li").filter(has_text=question)
    expect(mine.locator(".im-tag")).to_have_text(t("Awaiting an answer"))


def propose(person: Person, title: str, pitch: str, capability: str | None = None, deck: str | None = None) -> None:
    """On a challenge's page: "Submit a proposal", choose a capability (the first if not named), attach
    a PDF named ``deck`` if given, send."""
    page, t = person.page, person.t
    click_and_wait(page, page.get_by_role("link", name=t("Submit a proposal"), exact=True))
    expect_heading(page, t("Propose your solution"))
    if capability:
        page.locator("#capability_id").select_option(label=capability)
    else:
        page.locator("#capability_id").select_option(index=1)
    page.locator("#pitch").fill(pitch)
    if deck:
        page.get_by_label(t("A deck or a brochure (optional)"), exact=True).set_input_files(pdf_file(deck, "Deck"))
    click_and_wait(page, page.get_by_role("button", name=t("Send proposal"), exact=True))
    expect(success_banner(page)).to_have_text(t("Your proposal has been sent to the lab."))
    row = page.locator("tbody tr").filter(has=page.get_by_role("link", name=title, exact=True))
    expect(row.locator(".govuk-tag")).to_have_text(t.trial_state("proposed"))


def open_own_trial(person: Person, title: str) -> None:
    """"Our trials", then the challenge's row."""
    page, t = person.page, person.t
    nav(page, t("Our trials"))
    click_and_wait(page, page.locator("tbody tr").get_by_role("link", name=title, exact=True))
    expect(page.locator("h1")).to_have_text(title)


# -- coordinator ---------------------------------------------------------------------------


def queue_card(person: Person, startup: str) -> Any:
    """"Review queue" in the navigation; the card of ``startup``'s proposal."""
    page, t = person.page, person.t
    nav(page, t("Review queue"))
    expect_heading(page, t("Review queue"))
    card = page.locator("li.im-card").filter(has_text=startup)
    expect(card).to_have_count(1)
    return card


#: The 1-to-5 choices of the panel's score form, by mark.
SCORE_WORDS = {
    1: "1 – does not meet it", 2: "2 – meets little of it", 3: "3 – meets it in part",
    4: "4 – meets it well", 5: "5 – meets it fully",
}


def score(person: Person, startup: str, marks: int) -> None:
    """From the queue: "Score" the startup's proposal ``marks`` out of 5 on every criterion; see the panel table."""
    page, t = person.page, person.t
    card = queue_card(person, startup)
    click_and_wait(page, card.get_by_role("link", name=f"{t('Score')} {startup}", exact=True))
    expect_heading(page, t("Score the proposal of %(startup)s", startup=startup))
    groups = page.locator("main form fieldset")
    expect(groups.first).to_be_visible()
    for n in range(groups.count()):
        groups.nth(n).get_by_label(t(SCORE_WORDS[marks]), exact=True).check()
    click_and_wait(page, page.get_by_role("button", name=t("Save my scores"), exact=True))
    expect(success_banner(page)).to_have_text(t("Your scores for %(startup)s are saved.", startup=startup))
    expect_heading(page, t("Panel scores"))
    row = page.locator("main tbody tr").filter(has_text=startup)
    expect(row.locator("td strong")).to_have_text(f"{marks:.2f}")
    expect(row).to_contain_text(t.ngettext("%(num)d scorer", "%(num)d scorers", 1))


def approve(person: Person, startup: str, reason: str, kpi: tuple[str, str]) -> None:
    """From the queue: "Review, approve or reject" the startup's proposal; approve it with a KPI."""
    page, t = person.page, person.t
    card = queue_card(person, startup)
    click_and_wait(page, card.get_by_role("link", name=f"{t('Review, approve or reject')} {startup}", exact=True))
    form = decide_form(page, "approve")
    form.locator("textarea[name=kpis]").fill(f"{kpi[0]} | {kpi[1]}")
    make_move(person, "approve", t("Approve trial"), reason)
    approved = t.trial_state("approved")
    expect(success_banner(page)).to_have_text(t("The trial is now %(state)s.", state=approved))


def open_active_trial(person: Person, title: str) -> None:
    """"Review queue" → "Approved and running trials" → the challenge's link."""
    page, t = person.page, person.t
    nav(page, t("Review queue"))
    section = page.locator("h2", has_text=t("Approved and running trials")).locator("xpath=following-sibling::ul[1]")
    click_and_wait(page, section.get_by_role("link", name=title, exact=True))
    expect(page.locator("h1")).to_have_text(title)


def open_trial_by_challenge(person: Person, token: str, title: str, startup: str) -> None:
    """"Challenges" → the challenge → "Proposals received" → the trial record (any state)."""
    page, t = person.page, person.t
    find_challenge(person, token, title)
    click_and_wait(page, page.get_by_role("link", name=t("Proposals received"), exact=True))
    click_and_wait(page, page.get_by_role("link", name=trial_link(t, startup)))
    expect(page.locator("h1")).to_have_text(title)


def add_and_finish_milestone(person: Person, title: str) -> None:
    """On a running trial: add a milestone due in a week, then "Mark as done"."""
    page, t = person.page, person.t
    form = page.locator("form").filter(has=page.get_by_role("button", name=t("Add milestone"), exact=True))
    form.get_by_label(t("Milestone"), exact=True).fill(title)
    form.get_by_label(t("Due on"), exact=True).fill((clock.today() + timedelta(days=7)).isoformat())
    click_and_wait(page, form.get_by_role("button", name=t("Add milestone"), exact=True))
    expect(success_banner(page)).to_have_text(t("Milestone added."))
    item = page.locator(".im-timeline li").filter(has_text=title)
    click_and_wait(page, item.get_by_role("button", name=t("Mark as done")))
    expect(success_banner(page)).to_have_text(t("Milestone marked as done."))


def record_outcome(person: Person, kpi: str, result: str, summary: str, language: str) -> None:
    """On a running trial: "Record the outcome" (adopted) with the KPI's measured result and a summary."""
    page, t = person.page, person.t
    form = decide_form(page, "complete")
    form.locator("select[name=outcome]").select_option("adopted")
    form.get_by_label(kpi, exact=True).fill(result)
    form.locator("textarea[name=summary]").fill(summary)
    form.locator("select[name=report_language]").select_option(language)
    click_and_wait(page, form.get_by_role("button", name=t("Record the outcome"), exact=True))
    completed = t.trial_state("completed")
    expect(success_banner(page)).to_have_text(t("The trial is now %(state)s.", state=completed))
