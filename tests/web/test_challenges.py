"""Challenges through the web: posting, the public list, the pages, access rules, bad input."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import event, func, select, update

from models import AuditEvent, Challenge, Department
from portal import clock
from tests.helpers import sign_in

FUTURE = clock.today() + timedelta(days=30)
PAST = clock.today() - timedelta(days=3)
STATEMENT = "Patients phone the clinic to book dental appointments and wait a long time."


def form_data(**changes):
    """A valid challenge form; ``None`` leaves a field out."""
    data = {
        "language": "en",
        "title": "Online booking for dental clinics",
        "problem_statement": STATEMENT,
        "desired_outcomes": "Fewer calls; shorter waits.",
        "constraints": "Personal data stays in Hong Kong.",
        "domains": ["smart_clinic", "customer_service"],
        "functional_area": "dental_clinical",
        "tags": "chatbot, Booking",
        "duration_weeks": "12",
        "closing_on": FUTURE.isoformat(),
        "action": "draft",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def text(response) -> str:
    return response.get_data(as_text=True)


def challenge_count(ctx) -> int:
    ctx.rollback()  # end any read snapshot, so rows written by requests are seen
    return ctx.scalar(select(func.count()).select_from(Challenge))


def reload(ctx, challenge_id: int) -> Challenge:
    ctx.rollback()
    ctx.expire_all()
    return ctx.get(Challenge, challenge_id)


def audit_events(ctx, action: str) -> list[AuditEvent]:
    ctx.rollback()
    return list(ctx.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def client_for(app, user):
    return sign_in(app.test_client(), user)


@pytest.fixture
def login_as(client):
    """``login_as(user)``, like the shared fixture, without the slow password check."""
    return lambda user: sign_in(client, user)


# -- posting, end to end -------------------------------------------------------------------


def test_officer_posts_draft_then_opens_it_and_it_appears_in_public_list(app, client, ctx, make, login_as):
    officer = make.user("officer")
    login_as(officer)
    assert client.get("/challenges/new").status_code == 200

    response = client.post("/challenges/new", data=form_data())
    assert response.status_code == 302
    challenge = ctx.scalar(select(Challenge))
    assert challenge.status == "draft" and challenge.opened_at is None
    assert challenge.department_id == officer.department_id and challenge.created_by_id == officer.id
    assert challenge.domains == ["customer_service", "smart_clinic"]
    assert challenge.tags == ["booking", "chatbot"]
    assert "Online booking" not in text(app.test_client().get("/challenges"))

    response = client.post(f"/challenges/{challenge.id}/open")
    assert response.status_code == 302
    challenge = reload(ctx, challenge.id)
    assert challenge.status == "open" and challenge.opened_at is not None

    public = app.test_client()
    listing = text(public.get("/challenges"))
    assert "Online booking for dental clinics" in listing and "1 challenge found" in listing
    page = public.get(f"/challenges/{challenge.id}")
    assert page.status_code == 200
    assert "Personal data stays in Hong Kong." in text(page)


def test_a_draft_needs_only_a_title_and_opens_once_filled_in(app, client, ctx, make, login_as):
    officer = make.user("officer")
    login_as(officer)
    bare = {"title": "Fewer missed appointments", "language": "en", "duration_weeks": "12", "action": "draft"}
    response = client.post("/challenges/new", data=bare)
    assert response.status_code == 302, text(response)[:500]
    challenge = ctx.scalar(select(Challenge))
    assert (challenge.status, challenge.problem_statement, challenge.functional_area) == ("draft", "", None)
    page = text(client.get(f"/challenges/{challenge.id}"))
    assert page.count("Not chosen yet") == 2 and "Not written yet" in page  # domains, area; problem
    assert "Fewer missed appointments" in text(client.get("/challenges/mine"))
    # Its page lists all that is missing where the open button would be; a post is refused.
    assert "Before this draft can open:" in page and f'action="/challenges/{challenge.id}/open"' not in page
    for need in ("Describe the problem", "Choose at least one domain.", "Choose a functional area.",
                 "Set a closing date"):
        assert need in page
    refused = client.post(f"/challenges/{challenge.id}/open")
    assert refused.status_code == 400 and "Describe the problem" in text(refused)
    assert reload(ctx, challenge.id).status == "draft"
    # "Save and open" on the form asks for everything, field by field.
    response = client.post(f"/challenges/{challenge.id}/edit", data={**bare, "action": "open"})
    assert response.status_code == 400
    for message in ("Describe the problem.", "Choose at least one domain.", "Choose a functional area",
                    "Set a closing date before opening the challenge."):  # all at once, the date too
        assert message in text(response)
    past = client.post(f"/challenges/{challenge.id}/edit", data={**bare, "action": "open", "closing_on": "2020-01-01"})
    assert "The closing date has passed." in text(past) and "Describe the problem." in text(past)
    response = client.post(f"/challenges/{challenge.id}/edit", data=form_data(action="open"))
    assert response.status_code == 302
    assert reload(ctx, challenge.id).status == "open"


def test_save_and_open_publishes_a_new_challenge_at_once(client, ctx, make, login_as):
    login_as(make.user("officer"))
    response = client.post("/challenges/new", data=form_data(action="open"))
    assert response.status_code == 302
    challenge = ctx.scalar(select(Challenge))
    assert challenge.status == "open" and challenge.opened_at is not None
    assert [e.action for e in audit_events(ctx, "challenge.create") + audit_events(ctx, "challenge.open")] == [
        "challenge.create",
        "challenge.open",
    ]


def test_officer_edits_own_challenge_and_audit_keeps_before_and_after(client, ctx, make, login_as):
    officer = make.user("officer")
    challenge = make.challenge(officer.department, status="draft", title="Old title", domains=["smart_clinic"])
    login_as(officer)
    assert "Old title" in text(client.get(f"/challenges/{challenge.id}/edit"))

    response = client.post(
        f"/challenges/{challenge.id}/edit",
        data=form_data(title="New title", domains=["data_collaboration"], tags="ocr"),
    )
    assert response.status_code == 302
    saved = reload(ctx, challenge.id)
    assert saved.title == "New title" and saved.domains == ["data_collaboration"] and saved.tags == ["ocr"]
    (event,) = audit_events(ctx, "challenge.update")
    assert event.actor_id == officer.id and event.entity_id == challenge.id
    assert event.before["title"] == "Old title" and event.after["title"] == "New title"
    assert event.before["domains"] == ["smart_clinic"] and event.after["domains"] == ["data_collaboration"]


def _loaded_stamp(page: str) -> str:
    return re.search(r'name="loaded" type="hidden" value="([^"]*)"', page).group(1)


def test_a_save_over_a_newer_save_by_someone_else_is_refused_and_keeps_what_was_typed(
    app, client, ctx, make, login_as
):
    """Two officers (or two tabs) edit the same challenge: the second save does not silently
    replace the first; it is refused with the typed text kept, and a second click replaces it."""
    officer = make.user("officer")
    challenge = make.challenge(officer.department, status="draft", title="Old title")
    other = sign_in(app.test_client(), make.user("officer", department=officer.department))
    login_as(officer)
    stamp = _loaded_stamp(text(client.get(f"/challenges/{challenge.id}/edit")))
    other_stamp = _loaded_stamp(text(other.get(f"/challenges/{challenge.id}/edit")))
    assert stamp and stamp == other_stamp

    saved = other.post(f"/challenges/{challenge.id}/edit", data=form_data(title="Title from tab A", loaded=other_stamp))
    assert saved.status_code == 302
    refused = client.post(f"/challenges/{challenge.id}/edit", data=form_data(title="Title from tab B", loaded=stamp))
    assert refused.status_code == 409
    page = text(refused)
    assert "This page is out of date: this challenge changed" in page and 'value="Title from tab B"' in page
    assert reload(ctx, challenge.id).title == "Title from tab A"
    assert [e.after["title"] for e in audit_events(ctx, "challenge.update")] == ["Title from tab A"]

    again = client.post(f"/challenges/{challenge.id}/edit", data=form_data(title="Title from tab B", loaded=_loaded_stamp(page)))
    assert again.status_code == 302 and reload(ctx, challenge.id).title == "Title from tab B"


def test_closing_an_open_challenge_asks_first(client, make, login_as):
    """Closing locks out startups writing a proposal: the button's form asks before it posts."""
    officer = make.user("officer")
    challenge = make.challenge(officer.department, status="open")
    login_as(officer)
    page = text(client.get(f"/challenges/{challenge.id}"))
    form = re.search(rf'<form method="post" action="/challenges/{challenge.id}/close"[^>]*>', page).group(0)
    assert 'data-confirm="Close this challenge to proposals now' in form


def test_close_and_reopen_write_audit_events_with_status_before_and_after(client, ctx, make, login_as):
    officer = make.user("officer")
    challenge = make.challenge(officer.department, status="open")
    login_as(officer)
    assert client.post(f"/challenges/{challenge.id}/close").status_code == 302
    assert reload(ctx, challenge.id).status == "closed"
    assert client.post(f"/challenges/{challenge.id}/open").status_code == 302
    assert reload(ctx, challenge.id).status == "open"
    (closed,) = audit_events(ctx, "challenge.close")
    (opened,) = audit_events(ctx, "challenge.open")
    assert closed.before["status"] == "open" and closed.after["status"] == "closed"
    assert opened.before["status"] == "closed" and opened.after["status"] == "open"


# -- list: search, filters, pages -----------------------------------------------------------


def test_search_finds_english_word_case_insensitively(client, make):
    make.challenge(title="Queue for dental clinics")
    make.challenge(title="Restaurant licence checks", problem_statement="Inspectors fill paper forms at every visit.")
    page = text(client.get("/challenges?q=DENTAL"))
    assert "Queue for dental clinics" in page and "Restaurant licence" not in page
    assert "1 challenge found" in page
    by_statement = text(client.get("/challenges?q=paper+forms"))
    assert "Restaurant licence checks" in by_statement and "Queue for dental" not in by_statement


def test_search_finds_chinese_word_in_chinese_challenge(client, make):
    make.challenge(
        title="牙科診所網上預約",
        problem_statement="市民致電診所預約牙科服務，輪候時間很長，需要更好的預約方法。",
        language="zh-Hant",
    )
    make.challenge(title="Dental booking")
    page = text(client.get("/challenges", query_string={"q": "輪候"}))
    assert "牙科診所網上預約" in page and "Dental booking" not in page
    assert 'lang="zh-Hant">牙科診所網上預約' in page
    # Typed in Simplified characters, as a company from the mainland would.
    simplified = text(client.get("/challenges", query_string={"q": "轮候时间"}))
    assert "牙科診所網上預約" in simplified and "1 challenge found" in simplified


def test_search_treats_percent_and_underscore_as_plain_characters(client, make):
    make.challenge(title="Cut waiting by 50% in clinics")
    make.challenge(title="Plain title", problem_statement="snake_case names in the old system need mapping.")
    make.challenge(title="Something else")
    assert "1 challenge found" in text(client.get("/challenges", query_string={"q": "50%"}))
    assert "1 challenge found" in text(client.get("/challenges", query_string={"q": "%"}))
    assert "1 challenge found" in text(client.get("/challenges", query_string={"q": "_"}))


def test_filters_by_domain_area_department_and_status(client, make):
    dept_a, dept_b = make.department(name_en="Clinics Unit"), make.department(name_en="Port Health")
    make.challenge(dept_a, title="Alpha", domains=["smart_clinic"], functional_area="dental_clinical")
    make.challenge(dept_b, title="Bravo", domains=["data_collaboration"], functional_area="regulation")
    make.challenge(dept_b, title="Charlie", domains=["smart_clinic"], functional_area="regulation", status="closed")

    def titles(**params):
        page = text(client.get("/challenges", query_string=params))
        return {t for t in ("Alpha", "Bravo", "Charlie") if f">{t}</a>" in page}

    assert titles() == {"Alpha", "Bravo", "Charlie"}
    assert titles(domain="smart_clinic") == {"Alpha", "Charlie"}
    assert titles(area="regulation") == {"Bravo", "Charlie"}
    assert titles(department=str(dept_b.id)) == {"Bravo", "Charlie"}
    assert titles(status="open") == {"Alpha", "Bravo"}
    assert titles(status="closed") == {"Charlie"}
    assert titles(domain="smart_clinic", department=str(dept_b.id), status="closed") == {"Charlie"}


def test_department_filter_includes_its_units(client, ctx, make):
    parent = make.department(name_en="Health Department")
    unit = make.department(name_en="Dental Unit", parent_id=parent.id)
    make.challenge(unit, title="Unit challenge")
    try:
        assert "Unit challenge" in text(client.get("/challenges", query_string={"department": parent.id}))
    finally:
        # The table cleaner deletes departments in one statement; ON DELETE RESTRICT on
        # parent_id would refuse to delete a parent before its unit.
        ctx.rollback()
        ctx.execute(update(Department).values(parent_id=None))
        ctx.commit()


def test_list_shows_open_before_closed_and_never_drafts(client, make):
    make.challenge(title="Closed one", status="closed")
    make.challenge(title="Open one", status="open")
    make.challenge(title="Draft one", status="draft")
    page = text(client.get("/challenges"))
    assert page.index("Open one") < page.index("Closed one")
    assert "Draft one" not in page and "2 challenges found" in page


def test_list_row_shows_department_domains_area_closing_date_and_status(client, make):
    dept = make.department(name_en="Dental Services", name_zh="牙科服務")
    make.challenge(dept, title="Row check", domains=["smart_clinic"], closing_on=date(2031, 3, 28))
    page = text(client.get("/challenges"))
    for expected in ("Dental Services", "Smart clinics", "Dental and clinical services", "28 Mar 2031", "govuk-tag--green"):
        assert expected in page


def test_list_speaks_chinese_when_the_interface_is_chinese(client, make):
    dept = make.department(name_en="Dental Services", name_zh="牙科服務")
    make.challenge(dept, title="Row check", domains=["smart_clinic"])
    client.post("/language", data={"locale": "zh_Hant_HK", "next": "/challenges"})
    page = text(client.get("/challenges"))
    assert "牙科服務" in page and "智慧診所" in page


def test_lists_of_labels_are_joined_as_each_language_joins_them(client, make):
    challenge = make.challenge(title="Two domains", domains=["smart_clinic", "data_collaboration"])
    english = text(client.get(f"/challenges/{challenge.id}"))
    assert "Data collaboration, Smart clinics" in english
    client.post("/language", data={"locale": "zh_Hant_HK", "next": "/challenges"})
    chinese = text(client.get(f"/challenges/{challenge.id}"))
    assert "數據協作、智慧診所" in chinese and "數據協作, " not in chinese


def test_technology_tags_read_in_the_pages_language_when_known(client, make):
    challenge = make.challenge(title="Tagged", tags=["workflow automation", "OCR", "quantum widgets"])
    english = text(client.get(f"/challenges/{challenge.id}"))
    assert ">workflow automation<" in english and ">quantum widgets<" in english
    client.post("/language", data={"locale": "zh_Hant_HK", "next": "/challenges"})
    chinese = text(client.get(f"/challenges/{challenge.id}"))
    assert 'title="workflow automation">工作流程自動化<' in chinese
    assert 'title="OCR">光學字符識別（OCR）<' in chinese
    assert ">quantum widgets<" in chinese  # not listed: as typed
    assert text(client.get("/challenges?q=workflow+automation")).count(">Tagged<") == 1  # searched as typed


def test_technology_tags_read_in_their_english_form(client, ctx, make, login_as):
    # Stored lower case (searched with a plain LIKE): acronyms and names read in their English
    # form; a tag typed twice in other letter case is stored once; found whatever the case.
    old = make.challenge(title="Stored lower", tags=["ocr", "hl7 fhir", "whatsapp", "machine learning"])
    english = text(client.get(f"/challenges/{old.id}"))
    assert all(f">{shown}<" in english for shown in ("OCR", "HL7 FHIR", "WhatsApp", "machine learning"))
    assert 'title="ocr"' not in english  # only the letter case differs: nothing to explain
    login_as(make.user("officer"))
    tags = "Document AI, document ai, Quantum  Widgets, chatbot, OCR"
    response = client.post("/challenges/new", data=form_data(title="Typed tags", tags=tags, action="open"))
    assert response.status_code == 302
    created = ctx.scalar(select(Challenge).where(Challenge.title == "Typed tags"))
    assert created.tags == ["chatbot", "document ai", "ocr", "quantum widgets"]
    page = text(client.get(f"/challenges/{created.id}"))
    assert ">document AI<" in page and ">quantum widgets<" in page and page.count("ocument AI<") == 1
    assert ">Typed tags<" in text(client.get("/challenges?q=Quantum+Widgets"))


def test_list_pages_results_and_clamps_bad_page_numbers(app, client, make, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    dept = make.department()
    for n in range(5):
        make.challenge(dept, title=f"Paged {n}")
    first = text(client.get("/challenges"))
    assert "5 challenges found" in first and first.count(">Paged ") == 2
    assert 'rel="next"' in first and "page=2" in first
    last = text(client.get("/challenges?page=3"))
    assert last.count(">Paged ") == 1 and 'rel="next"' not in last
    seen = set()
    for n in (1, 2, 3):
        page = text(client.get(f"/challenges?page={n}"))
        seen |= {f"Paged {i}" for i in range(5) if f">Paged {i}<" in page}
    assert len(seen) == 5
    for bad in ("-1", "0", "abc", "99999999999999999999999", "1e9", "²", "%00"):
        response = client.get(f"/challenges?page={bad}")
        assert response.status_code == 200, bad
        assert text(response).count(">Paged ") in (1, 2)


def test_pagination_keeps_the_filters(app, client, make, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 1)
    make.challenge(title="Kiosk A", domains=["smart_clinic"])
    make.challenge(title="Kiosk B", domains=["smart_clinic"])
    page = text(client.get("/challenges?domain=smart_clinic"))
    assert "domain=smart_clinic&amp;page=2" in page


def test_empty_list_says_so_and_offers_to_clear_filters(client, make):
    assert "No challenges have been published yet" in text(client.get("/challenges"))
    make.challenge(title="Something")
    page = text(client.get("/challenges?q=nothing-matches-this"))
    assert "0 challenges found" in page and "No challenges match these filters" in page
    assert "Clear the filters" in page


def test_filter_form_is_a_get_form_with_labelled_selects(client):
    page = text(client.get("/challenges"))
    assert 'method="get"' in page
    for name in ("q", "domain", "area", "department", "status"):
        assert f'for="{name}"' in page and f'id="{name}"' in page


@pytest.mark.parametrize(
    "params",
    [
        {"domain": "not-a-domain"},
        {"area": "nowhere"},
        {"department": "abc"},
        {"department": "999999"},
        {"status": "archived"},
        {"q": "x" * 201},
        {"domain": "\x00"},
    ],
)
def test_bad_filter_values_get_a_message_and_400_not_500(client, make, params):
    make.challenge(title="Still listed")
    response = client.get("/challenges", query_string=params)
    assert response.status_code == 400
    page = text(response)
    assert "There is a problem" in page and "Still listed" in page


def test_draft_filter_shows_own_department_drafts_to_officers_and_all_to_coordinators(app, make):
    officer = make.user("officer")
    make.challenge(officer.department, title="Our draft", status="draft")
    make.challenge(title="Their draft", status="draft")

    def draft_titles(client):
        response = client.get("/challenges?status=draft")
        page = text(response)
        return response.status_code, {t for t in ("Our draft", "Their draft") if t in page}

    assert draft_titles(client_for(app, officer)) == (200, {"Our draft"})
    assert draft_titles(client_for(app, make.user("coordinator"))) == (200, {"Our draft", "Their draft"})
    assert draft_titles(client_for(app, make.user("startup"))) == (400, set())
    assert draft_titles(app.test_client()) == (400, set())


# -- detail ---------------------------------------------------------------------------------


def test_detail_shows_every_field(client, make):
    challenge = make.challenge(
        title="Full view",
        problem_statement=STATEMENT,
        desired_outcomes="Shorter waits.",
        constraints="No data leaves Hong Kong.",
        domains=["smart_clinic", "data_collaboration"],
        tags=["ocr", "chatbot"],
        duration_weeks=8,
        closing_on=date(2031, 3, 28),
    )
    page = text(client.get(f"/challenges/{challenge.id}"))
    for expected in (
        "Full view", STATEMENT[:40], "Shorter waits.", "No data leaves Hong Kong.", "Smart clinics",
        "Data collaboration", "Dental and clinical services", ">OCR<", "chatbot", "8 weeks", "28 Mar 2031",
        'lang="en"',
    ):
        assert expected in page, expected


def test_draft_detail_is_hidden_from_everyone_but_its_department_and_the_lab(app, make):
    officer = make.user("officer")
    draft = make.challenge(officer.department, status="draft", title="Secret plan")
    url = f"/challenges/{draft.id}"
    assert app.test_client().get(url).status_code == 404
    assert client_for(app, make.user("startup")).get(url).status_code == 404
    assert client_for(app, make.user("officer")).get(url).status_code == 404
    assert client_for(app, officer).get(url).status_code == 200
    assert client_for(app, make.user("coordinator")).get(url).status_code == 200
    assert app.test_client().get("/challenges/987654").status_code == 404


def test_huge_challenge_ids_are_404_not_500(app, make):
    officer_client = client_for(app, make.user("officer"))
    for url in ("/challenges/99999999999999999999999", "/challenges/4294967296/edit"):
        assert officer_client.get(url).status_code == 404
    assert officer_client.post("/challenges/99999999999999999999999/open").status_code == 404


def test_owning_officer_sees_edit_close_and_recommended_startups(app, make):
    officer = make.user("officer")
    challenge = make.challenge(officer.department, status="open")
    page = text(client_for(app, officer).get(f"/challenges/{challenge.id}"))
    assert f'/challenges/{challenge.id}/edit"' in page
    assert f'action="/challenges/{challenge.id}/close"' in page
    assert f'action="/challenges/{challenge.id}/open"' not in page
    assert "Recommended startups" in page and "Submit a proposal" not in page


def test_owning_officer_sees_open_button_on_a_draft(app, make):
    officer = make.user("officer")
    draft = make.challenge(officer.department, status="draft")
    page = text(client_for(app, officer).get(f"/challenges/{draft.id}"))
    assert f'action="/challenges/{draft.id}/open"' in page and "/close" not in page


def test_other_roles_see_no_edit_buttons(app, make):
    challenge = make.challenge(status="open")
    for client in (app.test_client(), client_for(app, make.user("officer")), client_for(app, make.user("startup"))):
        page = text(client.get(f"/challenges/{challenge.id}"))
        assert "/edit" not in page and "/close" not in page and "Recommended startups" not in page


def test_coordinator_sees_recommended_startups_but_cannot_edit(app, make):
    challenge = make.challenge(status="open")
    page = text(client_for(app, make.user("coordinator")).get(f"/challenges/{challenge.id}"))
    assert "Recommended startups" in page and "/edit" not in page


def test_startup_sees_submit_a_proposal_only_on_open_challenges(app, make):
    startup_client = client_for(app, make.user("startup"))
    open_one = make.challenge(status="open")
    closed_one = make.challenge(status="closed")
    page = text(startup_client.get(f"/challenges/{open_one.id}"))
    assert "Submit a proposal" in page and f"/challenges/{open_one.id}/propose" in page
    assert "Submit a proposal" not in text(startup_client.get(f"/challenges/{closed_one.id}"))
    assert "Submit a proposal" not in text(app.test_client().get(f"/challenges/{open_one.id}"))


@pytest.mark.parametrize("status", ["submitted", "withdrawn"])
def test_a_startup_that_has_proposed_sees_its_proposal_not_the_button(app, make, status):
    """A second proposal is refused, so the page says what the startup did instead of offering one."""
    member = make.user("startup")
    challenge = make.challenge(status="open")
    capability = make.capability(startup=member.startup)
    make.proposal(challenge, capability, status=status)
    page = text(client_for(app, member).get(f"/challenges/{challenge.id}"))
    assert "Submit a proposal" not in page and f"/challenges/{challenge.id}/propose" not in page
    assert "/startups/proposals" in page
    said = "withdrew its proposal" if status == "withdrawn" else "sent its proposal for this challenge on"
    assert said in page


# -- mine ------------------------------------------------------------------------------------


def test_mine_lists_every_status_of_own_department_with_proposal_counts(app, make):
    officer = make.user("officer")
    popular = make.challenge(officer.department, title="Popular", status="open")
    make.challenge(officer.department, title="Our draft", status="draft")
    make.challenge(officer.department, title="Done", status="closed")
    make.challenge(title="Not ours")
    for _ in range(2):
        make.proposal(popular, make.capability())
    make.proposal(popular, make.capability(), status="withdrawn")
    page = text(client_for(app, officer).get("/challenges/mine"))
    assert "Popular" in page and "Our draft" in page and "Done" in page and "Not ours" not in page
    assert '/proposals">2<span class="govuk-visually-hidden">' in page  # the count links to the proposals


def test_mine_lists_drafts_then_open_ones_by_closing_date_then_closed_ones(app, make):
    officer = make.user("officer")
    today = clock.today()
    for title, status, days in (("Open late", "open", 40), ("Closed", "closed", 5), ("Open soon", "open", 7),
                                ("Draft", "draft", 60), ("Open middle", "open", 20)):
        make.challenge(officer.department, title=title, status=status, closing_on=today + timedelta(days=days))
    page = text(client_for(app, officer).get("/challenges/mine"))
    order = ["Draft", "Open soon", "Open middle", "Open late", "Closed"]
    assert sorted(order, key=page.index) == order


def test_mine_has_an_empty_state(app, make):
    page = text(client_for(app, make.user("officer")).get("/challenges/mine"))
    assert "has not posted any challenges yet" in page


def test_our_trials_lists_the_departments_trials_those_waiting_for_it_first(app, make):
    officer = make.user("officer")
    ours = officer.department

    def trial(title, **kw):
        return make.trial(make.challenge(ours, title=title, status="closed"), make.capability(), **kw)

    trial("Running one", status="running")
    trial("To confirm", status="approved")
    trial("Confirmed", status="approved", department_confirmed_at=clock.now())
    trial("To sign off", status="completed", outcome="adopted", signed_off=False)
    trial("Published", status="completed", outcome="adopted")
    trial("Before the lab", status="proposed")
    make.trial(make.challenge(title="Not ours", status="closed"), make.capability(), status="running")
    page = text(client_for(app, officer).get("/challenges/trials"))
    assert "Not ours" not in page and "Before the lab" not in page  # a proposal still before the lab is not a trial yet
    # Waiting for the department, then in progress, then the rest; the last changed first in each.
    order = ["To sign off", "To confirm", "Confirmed", "Running one", "Published"]
    assert sorted(order, key=page.index) == order
    assert "<strong>Confirm on the trial&#39;s page that your department takes part.</strong>" in page
    assert "<strong>Read the outcome report and sign it off on the trial&#39;s page.</strong>" in page
    assert "The outcome is published on the showcase." in page
    assert "The lab starts the trial once the startup accepts it." in page
    assert 'href="/challenges/trials" aria-current="page"' in page  # in the officers' navigation


def test_waiting_for_the_department_and_published_read_the_same_in_python_and_in_sql(app, make):
    from models import OutcomeReport, Trial
    from portal.database import db

    challenge = make.challenge(status="closed")
    made = [
        make.trial(challenge, make.capability(), status="approved"),
        make.trial(challenge, make.capability(), status="approved", department_confirmed_at=clock.now()),
        make.trial(challenge, make.capability(), status="completed", outcome="adopted", signed_off=False),
        make.trial(challenge, make.capability(), status="completed", outcome="adopted"),
        make.trial(challenge, make.capability(), status="completed", outcome="adopted"),
        make.trial(challenge, make.capability(), status="completed", outcome="adopted"),
        make.trial(challenge, make.capability(), status="running"),
    ]
    with app.app_context():
        rows = [db.get(Trial, t.id) for t in made]
        rows[4].report.unpublished_at = clock.now()  # the lab unpublished it: signed off again
        rows[5].report.startup_agreed_at = None  # waits for the startup, not the department
        db.commit()
        in_python = {t.id for t in db.scalars(select(Trial)) if t.waits_for_department}
        in_sql = set(db.scalars(select(Trial.id).where(Trial.waits_for_department)))
        assert in_python == in_sql == {made[0].id, made[2].id, made[4].id}
        published = {r.id for r in db.scalars(select(OutcomeReport)) if r.published}
        assert published == set(db.scalars(select(OutcomeReport.id).where(OutcomeReport.published)))
        assert published == {rows[3].report.id}


def test_our_trials_in_chinese_and_empty(app, make):
    officer = make.user("officer")
    client = client_for(app, officer)
    assert "has no trials yet" in text(client.get("/challenges/trials"))
    make.trial(make.challenge(officer.department, title="Ours", status="closed"), make.capability(), status="approved")
    client.post("/language", data={"locale": "zh_Hant_HK", "next": "/"})
    page = text(client.get("/challenges/trials"))
    assert "Ours" in page and "Confirm on the trial" not in page


def test_our_trials_is_for_officers_with_a_department(app, make):
    from portal.errors import NotAllowed
    from portal.services import trials

    with app.app_context(), pytest.raises(NotAllowed):
        trials.department_trials_page(make.user("coordinator"), 1, 10)


def _statements_during(app, request):
    """The SQL statements one request issues (lower case)."""
    engine = app.extensions["innomatch_engine"]
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        seen.append(statement.lower())

    event.listen(engine, "before_cursor_execute", record)
    try:
        response = request()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 200
    return seen


def test_mine_reads_the_list_in_two_queries_whatever_the_rows(app, make):
    officer = make.user("officer")
    capabilities = [make.capability() for _ in range(3)]
    for n in range(60):
        status = ("draft", "open", "closed")[n % 3]
        challenge = make.challenge(officer.department, title=f"Need {n:02d}", status=status)
        for capability in capabilities[: n % 4]:
            make.proposal(challenge, capability)
    client = client_for(app, officer)
    statements = _statements_during(app, lambda: client.get("/challenges/mine"))
    tables = re.compile(r"\b(challenges|challenge_domains|challenge_tags|proposals)\b")
    listing = [s for s in statements if tables.search(s)]
    # One count for the pages, one query for the rows with their proposal counts: no query
    # per row, and none of the challenges' texts, domains or tags (the table shows none).
    assert len(listing) == 2, listing
    assert not [s for s in listing if "problem_statement" in s or "challenge_domains" in s or "challenge_tags" in s]


# -- access ----------------------------------------------------------------------------------


def _protected(challenge_id: int):
    return [
        ("get", "/challenges/mine"),
        ("get", "/challenges/new"),
        ("post", "/challenges/new"),
        ("get", f"/challenges/{challenge_id}/edit"),
        ("post", f"/challenges/{challenge_id}/edit"),
        ("post", f"/challenges/{challenge_id}/open"),
        ("post", f"/challenges/{challenge_id}/close"),
    ]


def _state(ctx, challenge_id: int):
    c = reload(ctx, challenge_id)
    return (challenge_count(ctx), c.title, c.status, len(audit_events(ctx, "challenge.update")))


def test_anonymous_user_is_sent_to_sign_in_and_nothing_changes(client, ctx, make):
    challenge = make.challenge(status="open")
    before = _state(ctx, challenge.id)
    for method, url in _protected(challenge.id):
        response = getattr(client, method)(url, data=form_data(title="Hacked"))
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    assert _state(ctx, challenge.id) == before


@pytest.mark.parametrize("role", ["startup", "coordinator", "admin"])
def test_non_officers_get_403_and_nothing_changes(app, ctx, make, role):
    challenge = make.challenge(status="open")
    client = client_for(app, make.user(role))
    before = _state(ctx, challenge.id)
    for method, url in _protected(challenge.id):
        response = getattr(client, method)(url, data=form_data(title="Hacked"))
        assert response.status_code == 403, (method, url)
    assert _state(ctx, challenge.id) == before


def test_officer_of_other_department_cannot_edit_open_or_close_challenge(app, ctx, make):
    open_one = make.challenge(status="open", title="Theirs")
    closed_one = make.challenge(status="closed", title="Theirs too")
    client = client_for(app, make.user("officer"))
    before = (_state(ctx, open_one.id), _state(ctx, closed_one.id))
    assert client.get(f"/challenges/{open_one.id}/edit").status_code == 403
    assert client.post(f"/challenges/{open_one.id}/edit", data=form_data(title="Hacked")).status_code == 403
    assert client.post(f"/challenges/{open_one.id}/close").status_code == 403
    assert client.post(f"/challenges/{closed_one.id}/open").status_code == 403
    assert (_state(ctx, open_one.id), _state(ctx, closed_one.id)) == before


def test_officer_of_other_department_gets_404_for_a_draft_it_may_not_see(app, ctx, make):
    draft = make.challenge(status="draft", title="Hidden")
    client = client_for(app, make.user("officer"))
    before = _state(ctx, draft.id)
    for method, url in _protected(draft.id)[3:]:
        assert getattr(client, method)(url, data=form_data(title="Hacked")).status_code == 404, url
    assert _state(ctx, draft.id) == before


def test_open_and_close_refuse_get(app, make):
    officer = make.user("officer")
    challenge = make.challenge(officer.department)
    client = client_for(app, officer)
    assert client.get(f"/challenges/{challenge.id}/close").status_code == 405


def test_open_and_close_need_a_csrf_token(app, ctx, make, monkeypatch):
    officer = make.user("officer")
    challenge = make.challenge(officer.department, status="open")
    client = client_for(app, officer)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    assert client.post(f"/challenges/{challenge.id}/close").status_code == 400
    assert reload(ctx, challenge.id).status == "open"


# -- refused moves ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "closing_on", "action", "code", "message"),
    [
        ("open", FUTURE, "open", 409, "already open"),
        ("draft", FUTURE, "close", 409, "Only an open challenge"),
        ("closed", FUTURE, "close", 409, "Only an open challenge"),
        ("closed", PAST, "open", 400, "closing date has passed"),
        ("draft", PAST, "open", 400, "closing date has passed"),
        ("draft", None, "open", 400, "Set a closing date"),
    ],
)
def test_refused_status_moves_show_a_message_on_the_detail_page(app, ctx, make, status, closing_on, action, code, message):
    officer = make.user("officer")
    challenge = make.challenge(officer.department, status=status, closing_on=closing_on)
    client = client_for(app, officer)
    response = client.post(f"/challenges/{challenge.id}/{action}")
    assert response.status_code == code
    assert message in text(response) and "There is a problem" in text(response)
    assert reload(ctx, challenge.id).status == status
    assert audit_events(ctx, f"challenge.{action}") == []


# -- bad input --------------------------------------------------------------------------------

BAD_INPUT = [
    pytest.param({"title": ""}, "Enter a title", id="missing-title"),
    pytest.param({"title": None}, "Enter a title", id="absent-title"),
    pytest.param({"title": "x" * 201}, "at most 200 characters", id="overlong-title"),
    pytest.param({"title": "\x00\x00"}, "Enter this on one line, without line breaks or control characters.",
                 id="nul-title"),
    pytest.param({"problem_statement": "Too short."}, "30 to 10000 characters", id="short-statement"),
    pytest.param({"problem_statement": "x" * 10001}, "30 to 10000 characters", id="overlong-statement"),
    pytest.param({"problem_statement": "\x00" * 40 + "short"}, "30 to 10000 characters", id="nul-statement"),
    pytest.param({"desired_outcomes": "x" * 5001}, "at most 5000 characters", id="overlong-outcomes"),
    pytest.param({"constraints": "y" * 5001}, "at most 5000 characters", id="overlong-constraints"),
    pytest.param({"domains": None, "action": "open"}, "Choose at least one domain", id="no-domain"),
    pytest.param({"domains": ["smart_clinic", "space_travel"]}, "Choose domains from the list", id="bad-domain"),
    pytest.param({"functional_area": "nowhere"}, "Choose a functional area", id="bad-area"),
    pytest.param({"functional_area": None, "action": "open"}, "Choose a functional area", id="no-area"),
    pytest.param({"duration_weeks": "0"}, "from 1 to 104 weeks", id="duration-0"),
    pytest.param({"duration_weeks": "500"}, "from 1 to 104 weeks", id="duration-500"),
    pytest.param({"duration_weeks": "abc"}, "whole number of weeks", id="duration-abc"),
    pytest.param({"duration_weeks": "99999999999999999999999"}, "from 1 to 104 weeks", id="duration-huge"),
    pytest.param({"duration_weeks": ""}, "Enter the expected duration", id="duration-empty"),
    pytest.param({"closing_on": "2030-02-30"}, "Enter a real date", id="bad-date"),
    pytest.param({"closing_on": "next week"}, "Enter a real date", id="text-date"),
    pytest.param({"closing_on": PAST.isoformat(), "action": "open"}, "closing date has passed", id="past-date-open"),
    pytest.param({"closing_on": "", "action": "open"}, "Set a closing date", id="no-date-open"),
    pytest.param({"tags": "ok, " + "t" * 41}, "at most 40 characters", id="tag-too-long"),
    pytest.param({"tags": ",".join(f"tag{i}" for i in range(13))}, "at most 12 tags", id="too-many-tags"),
    pytest.param({"language": "fr"}, "Choose the language", id="bad-language"),
]


@pytest.mark.parametrize(("changes", "message"), BAD_INPUT)
def test_new_challenge_form_rejects_bad_input_with_a_message(client, ctx, make, login_as, changes, message):
    login_as(make.user("officer"))
    response = client.post("/challenges/new", data=form_data(**changes))
    assert response.status_code == 400
    assert message in text(response) and "There is a problem" in text(response)
    assert challenge_count(ctx) == 0
    assert audit_events(ctx, "challenge.create") == []


@pytest.mark.parametrize(("changes", "message"), BAD_INPUT)
def test_edit_form_rejects_bad_input_and_keeps_the_challenge(client, ctx, make, login_as, changes, message):
    officer = make.user("officer")
    challenge = make.challenge(officer.department, status="draft", title="Unchanged")
    login_as(officer)
    response = client.post(f"/challenges/{challenge.id}/edit", data=form_data(**changes))
    assert response.status_code == 400
    assert message in text(response)
    saved = reload(ctx, challenge.id)
    assert saved.title == "Unchanged" and saved.status == "draft"
    assert audit_events(ctx, "challenge.update") == []


def test_open_challenge_cannot_be_given_a_past_closing_date(client, ctx, make, login_as):
    officer = make.user("officer")
    challenge = make.challenge(officer.department, status="open")
    login_as(officer)
    response = client.post(f"/challenges/{challenge.id}/edit", data=form_data(closing_on=PAST.isoformat()))
    assert response.status_code == 400 and "cannot be in the past" in text(response)
    assert reload(ctx, challenge.id).closing_on == challenge.closing_on


def test_control_characters_are_refused_in_the_title_and_stripped_from_long_text(client, ctx, make, login_as):
    login_as(make.user("officer"))
    response = client.post("/challenges/new", data=form_data(title="Clinic\x00 booking\x07"))
    assert response.status_code == 400
    assert "Enter this on one line" in response.get_data(as_text=True)
    statement = "Patients wait\x07 on the phone to book clinic appointments."
    response = client.post("/challenges/new", data=form_data(title="Clinic booking", problem_statement=statement))
    assert response.status_code == 302
    assert ctx.scalar(select(Challenge.problem_statement)) == statement.replace("\x07", "")


def test_form_labels_follow_the_interface_language(client, make, login_as):
    login_as(make.user("officer"))
    client.post("/language", data={"locale": "zh_Hant_HK", "next": "/"})
    page = text(client.get("/challenges/new"))
    assert "智慧診所" in page and "牙科及臨床服務" in page
    client.post("/language", data={"locale": "en", "next": "/"})
    page = text(client.get("/challenges/new"))
    assert "Smart clinics" in page and "智慧診所" not in page
