"""The challenges service: rules, status moves, audit trail, search and the recommender hook."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models import AuditEvent, Challenge, User
from portal import clock
from portal.errors import DomainError, NotAllowed, StaleState
from portal.services import challenges
from portal.services.challenges import ChallengeData, ChallengeFilters

FUTURE = clock.today() + timedelta(days=30)
PAST = clock.today() - timedelta(days=3)


def data(**changes) -> ChallengeData:
    values = {
        "title": "Online booking for dental clinics",
        "problem_statement": "Patients phone the clinic to book dental appointments and wait a long time.",
        "domains": ["smart_clinic"],
        "functional_area": "dental_clinical",
        "tags": ["chatbot"],
        "closing_on": FUTURE,
    }
    values.update(changes)
    return ChallengeData(**values)


def events(ctx, action: str) -> list[AuditEvent]:
    return list(ctx.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


@pytest.fixture(autouse=True)
def _in_request(app, ctx):
    """Run inside a request: error messages are translated with the request's locale.

    (``extensions.select_locale`` reads the request, so ``gettext`` in a bare app context fails.)
    """
    with app.test_request_context():
        yield


@pytest.fixture
def hook_calls(monkeypatch):
    """Record calls of the recommender hook instead of encoding."""
    from portal.services import recommendations

    calls: list[int] = []
    monkeypatch.setattr(recommendations, "challenge_changed", lambda challenge: calls.append(challenge.id))
    return calls


def test_post_challenge_creates_a_draft_and_audits_every_field(ctx, make, hook_calls):
    officer = make.user("officer")
    challenge = challenges.post_challenge(officer, data(domains=["smart_clinic", "data_collaboration"]))
    assert challenge.id is not None and challenge.status == "draft" and challenge.opened_at is None
    assert challenge.department_id == officer.department_id
    (event,) = events(ctx, "challenge.create")
    assert event.before is None
    assert event.after["domains"] == ["data_collaboration", "smart_clinic"]
    assert event.after["tags"] == ["chatbot"] and event.after["closing_on"] == FUTURE.isoformat()
    assert hook_calls == [challenge.id]


def test_post_challenge_accepts_a_mapping(ctx, make, hook_calls):
    challenge = challenges.post_challenge(make.user("officer"), vars(data()) | {"unknown": 1})
    assert challenge.title == "Online booking for dental clinics"


def test_post_and_publish_opens_at_once(ctx, make, hook_calls):
    challenge = challenges.post_challenge(make.user("officer"), data(), publish=True)
    assert challenge.status == "open" and challenge.opened_at is not None
    (opened,) = events(ctx, "challenge.open")
    assert opened.before == {"status": "draft", "opened_at": None}
    assert opened.after["status"] == "open"


@pytest.mark.parametrize("closing_on", [PAST, None])
def test_post_and_publish_refuses_a_missing_or_past_closing_date_before_writing(ctx, make, closing_on):
    with pytest.raises(DomainError) as error:
        challenges.post_challenge(make.user("officer"), data(closing_on=closing_on), publish=True)
    assert error.value.field == "closing_on"
    assert ctx.scalar(select(func.count()).select_from(Challenge)) == 0


@pytest.mark.parametrize("role", ["startup", "coordinator", "admin"])
def test_only_officers_post_challenges(ctx, make, role):
    with pytest.raises(NotAllowed):
        challenges.post_challenge(make.user(role), data())


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": "  "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"problem_statement": "short"}, "problem_statement"),
        ({"desired_outcomes": "x" * 5001}, "desired_outcomes"),
        ({"domains": []}, "domains"),
        ({"domains": ["space"]}, "domains"),
        ({"functional_area": "space"}, "functional_area"),
        ({"duration_weeks": 0}, "duration_weeks"),
        ({"duration_weeks": 105}, "duration_weeks"),
        ({"language": "fr"}, "language"),
        ({"tags": ["t" * 61]}, "tags"),
    ],
)
def test_service_enforces_the_rules_for_callers_other_than_the_form(ctx, make, changes, field):
    with pytest.raises(DomainError) as error:
        challenges.post_challenge(make.user("officer"), data(**changes), publish=True)
    assert error.value.field == field


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": "  "}, "title"),
        ({"problem_statement": "short"}, "problem_statement"),  # given: it is checked
        ({"domains": ["space"]}, "domains"),
        ({"functional_area": "space"}, "functional_area"),
        ({"duration_weeks": 0}, "duration_weeks"),
    ],
)
def test_a_draft_needs_a_title_only_but_what_it_is_given_must_be_valid(ctx, make, changes, field):
    with pytest.raises(DomainError) as error:
        challenges.post_challenge(make.user("officer"), data(**changes))
    assert error.value.field == field


def test_a_draft_with_a_title_only_is_saved_and_opens_once_filled_in(ctx, make):
    officer = make.user("officer")
    draft = challenges.post_challenge(officer, {"title": "Fewer missed appointments", "closing_on": FUTURE})
    assert (draft.status, draft.problem_statement, draft.domains, draft.functional_area) == ("draft", "", [], None)
    with pytest.raises(DomainError) as error:
        challenges.open_challenge(officer, draft)
    assert error.value.field == "problem_statement" and draft.status == "draft"
    with pytest.raises(DomainError) as error:  # an open challenge needs everything, also when edited
        challenges.update_challenge(officer, draft, data(functional_area=None), publish=True)
    assert error.value.field == "functional_area"
    challenges.update_challenge(officer, draft, data(title="Fewer missed appointments"))
    challenges.open_challenge(officer, draft)
    assert draft.status == "open" and draft.functional_area == "dental_clinical"
    with pytest.raises(DomainError) as error:
        challenges.update_challenge(officer, draft, data(domains=[]))
    assert error.value.field == "domains"


def test_update_records_only_what_changed(ctx, make, hook_calls):
    officer = make.user("officer")
    made = make.challenge(
        officer.department, status="draft", title="Old", problem_statement=data().problem_statement,
        closing_on=FUTURE,
    )
    challenge = ctx.get(Challenge, made.id)
    challenges.update_challenge(officer, challenge, data(title="New", tags=["ocr", "chatbot"]))
    (event,) = events(ctx, "challenge.update")
    assert event.actor_id == officer.id and event.entity_type == "challenge" and event.entity_id == made.id
    assert event.before == {"title": "Old", "tags": ["chatbot"]}
    assert event.after == {"title": "New", "tags": ["chatbot", "ocr"]}
    assert hook_calls == [challenge.id]


def test_update_without_changes_writes_no_audit_event(ctx, make, hook_calls):
    officer = make.user("officer")
    made = make.challenge(officer.department, status="draft", tags=["chatbot"])
    challenge = ctx.get(Challenge, made.id)
    same = data(
        title=made.title,
        problem_statement=made.problem_statement,
        domains=made.domains,
        functional_area=made.functional_area,
        tags=made.tags,
        closing_on=made.closing_on,
        duration_weeks=made.duration_weeks,
    )
    challenges.update_challenge(officer, challenge, same)
    assert events(ctx, "challenge.update") == []


def test_officer_of_other_department_cannot_update_open_or_close(ctx, make):
    challenge = ctx.get(Challenge, make.challenge(status="open").id)
    stranger = make.user("officer")
    for call in (
        lambda: challenges.update_challenge(stranger, challenge, data()),
        lambda: challenges.open_challenge(stranger, challenge),
        lambda: challenges.close_challenge(stranger, challenge),
    ):
        with pytest.raises(NotAllowed):
            call()
    assert challenge.status == "open" and events(ctx, "challenge.close") == []


def test_status_moves_draft_open_closed_open(ctx, make, hook_calls):
    officer = make.user("officer")
    challenge = ctx.get(Challenge, make.challenge(officer.department, status="draft").id)
    challenges.open_challenge(officer, challenge)
    first_opened = challenge.opened_at
    assert challenge.status == "open" and first_opened is not None
    challenges.close_challenge(officer, challenge)
    assert challenge.status == "closed"
    challenges.open_challenge(officer, challenge)
    assert challenge.status == "open" and challenge.opened_at >= first_opened
    assert [e.action for e in ctx.scalars(select(AuditEvent).order_by(AuditEvent.id))] == [
        "challenge.open",
        "challenge.close",
        "challenge.open",
    ]
    assert hook_calls == [challenge.id, challenge.id]  # after opening; closing changes no text


@pytest.mark.parametrize(
    ("status", "closing_on", "move", "error_type"),
    [
        ("open", FUTURE, "open_challenge", StaleState),
        ("draft", FUTURE, "close_challenge", StaleState),
        ("closed", FUTURE, "close_challenge", StaleState),
        ("closed", PAST, "open_challenge", DomainError),
        ("draft", None, "open_challenge", DomainError),
    ],
)
def test_refused_status_moves_raise_and_change_nothing(ctx, make, status, closing_on, move, error_type):
    officer = make.user("officer")
    challenge = ctx.get(Challenge, make.challenge(officer.department, status=status, closing_on=closing_on).id)
    with pytest.raises(error_type):
        getattr(challenges, move)(officer, challenge)
    assert challenge.status == status
    assert ctx.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_open_challenge_keeps_a_closing_date_not_in_the_past(ctx, make):
    officer = make.user("officer")
    challenge = ctx.get(Challenge, make.challenge(officer.department, status="open").id)
    with pytest.raises(DomainError) as error:
        challenges.update_challenge(officer, challenge, data(closing_on=PAST))
    assert error.value.field == "closing_on"
    with pytest.raises(DomainError):
        challenges.update_challenge(officer, challenge, data(closing_on=None))


def test_hook_failure_does_not_lose_the_change(ctx, make, monkeypatch, caplog):
    from portal.services import recommendations

    def broken(challenge):
        raise RuntimeError("encoder unavailable")

    monkeypatch.setattr(recommendations, "challenge_changed", broken)
    challenge = challenges.post_challenge(make.user("officer"), data())
    ctx.commit()
    assert ctx.get(Challenge, challenge.id) is not None
    assert "challenge_changed hook failed" in caplog.text


def test_missing_hook_is_skipped(ctx, make, monkeypatch):
    from portal.services import recommendations

    monkeypatch.delattr(recommendations, "challenge_changed")
    assert challenges.post_challenge(make.user("officer"), data()).id is not None


# -- search -------------------------------------------------------------------------------


def search(viewer=None, page=1, per_page=20, **filters):
    return challenges.search_challenges(viewer, ChallengeFilters(**filters), page, per_page)


def titles(result) -> list[str]:
    return [c.title for c in result.items]


def test_search_hides_drafts_and_lists_open_before_closed(ctx, make):
    make.challenge(title="Closed", status="closed")
    make.challenge(title="Draft", status="draft")
    make.challenge(title="Open", status="open")
    result = search()
    assert titles(result) == ["Open", "Closed"] and result.total == 2


def test_draft_search_is_limited_to_what_the_viewer_may_see(ctx, make):
    officer = make.user("officer")
    make.challenge(officer.department, title="Ours", status="draft")
    make.challenge(title="Theirs", status="draft")
    assert titles(search(officer, status="draft")) == ["Ours"]
    assert sorted(titles(search(make.user("coordinator"), status="draft"))) == ["Ours", "Theirs"]
    assert titles(search(make.user("startup"), status="draft")) == []
    assert titles(search(None, status="draft")) == []


def test_text_search_is_case_insensitive_escapes_wildcards_and_reads_chinese(ctx, make):
    make.challenge(title="Dental QUEUE", problem_statement="Long waits 100% of days in the clinic.")
    make.challenge(title="牙科預約", problem_statement="市民輪候時間很長，需要網上預約。", language="zh-Hant")
    make.challenge(title="Other", desired_outcomes="An under_score in the outcomes.")
    assert titles(search(q="queue")) == ["Dental QUEUE"]
    assert titles(search(q="100%")) == ["Dental QUEUE"]
    assert titles(search(q="%")) == ["Dental QUEUE"]
    assert titles(search(q="under_score")) == ["Other"]
    assert titles(search(q="n_u")) == []  # "An under" would match an unescaped _
    assert titles(search(q="輪候")) == ["牙科預約"]
    assert titles(search(q="LONG Waits")) == ["Dental QUEUE"]  # the words are lower-cased too
    assert titles(search(q="back\\slash")) == []


def test_text_search_finds_chinese_in_any_script(ctx, make):
    """Hong Kong writes 衞生署 and 電綫; keyboards give 衛生署 and 電線; the mainland writes 卫生署."""
    make.challenge(title="衞生署診所排隊", problem_statement="診所的電綫和叫號系統需要更新。", language="zh-Hant")
    make.challenge(title="衛生教育短片", problem_statement="以短片推廣頭髮護理及口腔衞生。", language="zh-Hant")
    make.challenge(title="Vaccination queue", problem_statement="Queues at the clinics.")
    assert titles(search(q="衛生署")) == ["衞生署診所排隊"]
    assert titles(search(q="卫生署")) == ["衞生署診所排隊"]
    assert titles(search(q="电线")) == ["衞生署診所排隊"]
    assert titles(search(q="電線")) == ["衞生署診所排隊"]
    assert sorted(titles(search(q="衞生"))) == ["衛生教育短片", "衞生署診所排隊"]
    assert titles(search(q="头发")) == ["衛生教育短片"]  # 发 is both 發 and 髮: OpenCC reads the phrase
    assert titles(search(q="排队")) == ["衞生署診所排隊"]
    assert titles(search(q="queue")) == ["Vaccination queue"]


def test_text_search_follows_edits(ctx, make):
    """The searched text is generated by the database from the columns, on every write."""
    challenge = make.challenge(title="Dental queue")
    assert titles(search(q="vaccination")) == []
    row = ctx.get(type(challenge), challenge.id)
    row.desired_outcomes = "Faster vaccination bookings."
    ctx.commit()
    assert titles(search(q="vaccination")) == ["Dental queue"]


def test_page_numbers_are_clamped(ctx, make):
    dept = make.department()
    for n in range(5):
        make.challenge(dept, title=f"C{n}")
    assert (search(per_page=2).pages, search(per_page=2).total) == (3, 5)
    assert search(page=-5, per_page=2).page == 1
    last = search(page=10**12, per_page=2)
    assert last.page == 3 and len(last.items) == 1
    just_past = search(page=4, per_page=2)
    assert (just_past.page, just_past.total, len(just_past.items)) == (3, 5, 1)
    empty = search(q="nothing", page=4)
    assert (empty.page, empty.pages, empty.items) == (1, 1, [])


def test_department_challenges_count_submitted_proposals(ctx, make):
    officer = make.user("officer")
    busy = make.challenge(officer.department, title="Busy")
    make.challenge(officer.department, title="Quiet", status="draft")
    make.challenge(title="Elsewhere")
    make.proposal(busy, make.capability())
    make.proposal(busy, make.capability(), status="withdrawn")
    rows = {row.title: row.proposals for row in challenges.department_challenges_page(officer, 1, 20).items}
    assert rows == {"Busy": 1, "Quiet": 0}


def test_text_search_finds_challenges_by_their_tags(ctx, make):
    make.challenge(title="Read paper forms", tags=["ocr", "forms"])
    make.challenge(title="Answer hotline calls", tags=["chatbot"])
    assert titles(search(q="OCR")) == ["Read paper forms"]
    assert titles(search(q="chat")) == ["Answer hotline calls"]


def test_challenges_sort_by_closing_date_soonest_first_and_undated_last(ctx, make):
    today = clock.today()
    make.challenge(title="Later", closing_on=today + timedelta(days=40))
    make.challenge(title="No date", closing_on=None)
    make.challenge(title="Soon", closing_on=today + timedelta(days=3))
    assert titles(search(sort="closing")) == ["Soon", "Later", "No date"]
    assert titles(search(sort="newest"))[0] == "Soon"  # posted last


def test_challenges_sort_by_best_match_for_the_startup(ctx, make):
    startup = make.startup()
    make.capability(startup, name="Dental X-ray reader",
                    description="Reads dental X-ray images to find caries for dentists.",
                    technologies=["computer vision"], domains=["smart_clinic"])
    member = make.user("startup", startup=startup)
    make.challenge(title="Detect caries on dental X-ray images", problem_statement="Dentists read X-ray images of teeth by hand to find caries.",
                   tags=["computer vision"], domains=["smart_clinic"])
    make.challenge(title="Tobacco inspections", problem_statement="Inspectors visit shops selling tobacco.",
                   tags=["forms"], domains=["health_regulation"])
    viewer = ctx.get(User, member.id)
    assert titles(search(viewer, sort="match"))[0] == "Detect caries on dental X-ray images"
    assert titles(search(viewer, sort="newest"))[0] == "Tobacco inspections"
    # Anyone else asking for it gets the default order.
    assert titles(search(None, sort="match"))[0] == "Tobacco inspections"
