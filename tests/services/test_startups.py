"""Startup and proposal services called directly: the rules hold without the forms in front."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from models import AuditEvent, Capability, Challenge, Proposal, Startup, Trial, User
from portal import clock
from portal.database import db
from portal.errors import DomainError, NotAllowed
from portal.services import proposals, startups

CAPABILITY = {
    "name": "ClinicBot",
    "description": "A chatbot that books clinic appointments in Cantonese and English.",
    "deployments": "",
    "readiness": 5,
    "language": "en",
    "domains": ["smart_clinic"],
    "technologies": ["NLP", "nlp", " chatbot "],
}
PITCH = "We can run this pilot in eight weeks at two clinics."


@pytest.fixture
def svc(app) -> Iterator[Any]:
    """A request context (services translate their messages) with the request-scoped session."""
    with app.test_request_context():
        yield db
        db.rollback()


def test_is_web_address_accepts_only_http_and_https_with_a_host():
    assert startups.is_web_address("https://carebot.hk")
    assert startups.is_web_address("HTTP://carebot.hk/path?q=1")
    for bad in ("javascript:alert(1)", "https://", "ftp://carebot.hk", "carebot.hk", "https://care bot.hk",
                "https://care\nbot.hk", "http://[::1", "", None, "java\tscript://x"):
        assert not startups.is_web_address(bad), bad


def test_update_startup_is_refused_for_non_members(svc, make):
    startup = make.startup()
    other = make.user("startup")
    with pytest.raises(NotAllowed):
        startups.update_startup(svc.get(User, other.id), svc.get(Startup, startup.id),
                                {"name": "X", "size": "1-10", "language": "en"})


def test_update_startup_refuses_a_name_taken_in_another_case(svc, make):
    make.startup(name="CareBot Ltd")
    user = make.user("startup")
    with pytest.raises(DomainError) as error:
        startups.update_startup(svc.get(User, user.id), svc.get(Startup, user.startup_id),
                                {"name": "carebot LTD", "size": "1-10", "language": "en"})
    assert error.value.field == "name"


def test_update_startup_refuses_non_http_websites(svc, make):
    user = make.user("startup")
    with pytest.raises(DomainError) as error:
        startups.update_startup(svc.get(User, user.id), svc.get(Startup, user.startup_id),
                                {"name": "Fine", "website": "javascript:alert(1)", "size": "1-10", "language": "en"})
    assert error.value.field == "website"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"readiness": 0}, "readiness"),
        ({"readiness": 10}, "readiness"),
        ({"readiness": "7"}, "readiness"),
        ({"readiness": True}, "readiness"),
        ({"domains": []}, "domains"),
        ({"domains": ["astrology"]}, "domains"),
        ({"description": "short"}, "description"),
        ({"language": "fr"}, "language"),
        ({"name": "  "}, "name"),
        ({"technologies": [f"t{i}" for i in range(13)]}, "technologies"),
    ],
)
def test_create_capability_checks_values_even_without_the_form(svc, make, changes, field):
    user = make.user("startup")
    with pytest.raises(DomainError) as error:
        startups.create_capability(svc.get(User, user.id), svc.get(Startup, user.startup_id),
                                   {**CAPABILITY, **changes})
    assert error.value.field == field


def test_create_capability_normalises_tags_and_audits(svc, make):
    user = make.user("startup")
    capability = startups.create_capability(svc.get(User, user.id), svc.get(Startup, user.startup_id), CAPABILITY)
    assert capability.technologies == ["nlp", "chatbot"]
    event = svc.scalar(select(AuditEvent).where(AuditEvent.action == "capability.create"))
    assert event.after["technologies"] == ["nlp", "chatbot"] and event.actor_id == user.id


def test_create_capability_without_recommender_module_still_works(svc, make, monkeypatch):
    from portal import signals

    monkeypatch.setattr(signals.capability_saved, "is_muted", True)  # no subscriber hears it
    user = make.user("startup")
    capability = startups.create_capability(svc.get(User, user.id), svc.get(Startup, user.startup_id), CAPABILITY)
    assert capability.id is not None


def test_verify_startup_is_for_the_lab_only(svc, make):
    startup = make.startup(verified=False)
    member = make.user("startup", startup=startup)
    with pytest.raises(NotAllowed):
        startups.verify_startup(svc.get(User, member.id), svc.get(Startup, startup.id))
    coordinator = make.user("coordinator")
    verified = startups.verify_startup(svc.get(User, coordinator.id), svc.get(Startup, startup.id))
    assert verified.verified and verified.verified_at is not None


def test_search_startups_treats_wildcards_literally(svc, make):
    make.startup(name="100% Health")
    make.startup(name="1000 Health")
    result = startups.search_startups(text="0% h")
    assert [row.startup.name for row in result.rows] == ["100% Health"]
    assert startups.search_startups(text="_").total == 0


def test_search_startups_reads_chinese_in_any_script(svc, make):
    make.startup(name="衞康科技")
    make.startup(name="卫星数据有限公司")
    make.capability(make.startup(name="Clinic Tools"), technologies=["叫號系統"])
    assert [row.startup.name for row in startups.search_startups(text="衛康").rows] == ["衞康科技"]
    assert [row.startup.name for row in startups.search_startups(text="衛星數據").rows] == ["卫星数据有限公司"]
    assert [row.startup.name for row in startups.search_startups(text="叫号").rows] == ["Clinic Tools"]
    make.startup(name="康健(香港)")  # stored with ASCII brackets, as names were before full-width ones were kept
    assert [row.startup.name for row in startups.search_startups(text="康健（香港）").rows] == ["康健(香港)"]


def test_search_startups_clamps_the_page(svc, make):
    for n in range(3):
        make.startup(name=f"S{n}")
    result = startups.search_startups(page=99, per_page=2)
    assert (result.page, result.pages, result.total, len(result.rows)) == (2, 2, 3, 1)


def test_closing_date_today_in_hong_kong_still_takes_proposals(svc, make):
    assert proposals.closed_reason(make.challenge(closing_on=clock.today())) is None
    assert proposals.closed_reason(make.challenge(closing_on=clock.today() - timedelta(days=1)))
    assert proposals.closed_reason(make.challenge(status="closed"))
    assert proposals.closed_reason(make.challenge(status="draft"))


def test_submit_proposal_is_refused_for_officers(svc, make):
    officer = make.user("officer")
    challenge = make.challenge()
    with pytest.raises(NotAllowed):
        proposals.submit_proposal(svc.get(User, officer.id), svc.get(Challenge, challenge.id),
                                  {"capability_id": 1, "pitch": PITCH})


def test_submit_proposal_refuses_another_startups_capability(svc, make):
    user = make.user("startup")
    foreign = make.capability()
    challenge = make.challenge()
    with pytest.raises(DomainError) as error:
        proposals.submit_proposal(svc.get(User, user.id), svc.get(Challenge, challenge.id),
                                  {"capability_id": foreign.id, "pitch": PITCH})
    assert error.value.field == "capability_id"


def test_concurrent_duplicate_proposal_becomes_the_same_domain_error(svc, make, monkeypatch):
    capability = make.capability()
    user = make.user("startup", startup_id=capability.startup_id)
    challenge = make.challenge()
    make.proposal(challenge, capability)
    # The other request's row is invisible to the check, as in a race; the unique constraint decides.
    monkeypatch.setattr(proposals, "existing_proposal", lambda *_args: None)
    with pytest.raises(DomainError) as error:
        proposals.submit_proposal(svc.get(User, user.id), svc.get(Challenge, challenge.id),
                                  {"capability_id": capability.id, "pitch": PITCH})
    assert error.value.message == "Your startup has already proposed for this challenge"
    svc.rollback()
    assert svc.scalar(select(func.count()).select_from(Proposal)) == 1


def test_submit_proposal_opens_a_trial_and_withdraw_closes_it(svc, make):
    capability = make.capability()
    user = make.user("startup", startup_id=capability.startup_id)
    challenge = make.challenge()
    actor = svc.get(User, user.id)
    proposal = proposals.submit_proposal(actor, svc.get(Challenge, challenge.id),
                                         {"capability_id": capability.id, "pitch": PITCH})
    trial = svc.scalar(select(Trial))
    assert trial.status == "proposed" and trial.proposal_id == proposal.id
    proposals.withdraw_proposal(actor, proposal)
    assert proposal.status == "withdrawn" and trial.status == "withdrawn"
    assert [t.to_state for t in trial.transitions] == ["proposed", "withdrawn"]
    with pytest.raises(DomainError):
        proposals.withdraw_proposal(actor, proposal)


def test_withdraw_proposal_is_refused_for_other_startups(svc, make):
    capability = make.capability()
    proposal = make.proposal(make.challenge(), capability)
    outsider = make.user("startup")
    with pytest.raises(NotAllowed):
        proposals.withdraw_proposal(svc.get(User, outsider.id), svc.get(Proposal, proposal.id))


def test_delete_capability_refused_while_in_running_trial(svc, make):
    capability = make.capability()
    user = make.user("startup", startup_id=capability.startup_id)
    make.trial(make.challenge(), capability, status="running")
    with pytest.raises(DomainError):
        startups.delete_capability(svc.get(User, user.id), svc.get(Capability, capability.id))


def test_search_startups_finds_them_by_name_or_technology_tag(svc, make):
    reader = make.startup(name="Paper Reader Ltd")
    make.capability(reader, technologies=["ocr"])
    make.capability(make.startup(name="OCR Labs"), technologies=["chatbot"])
    make.capability(make.startup(name="Talkative"), technologies=["chatbot"])
    assert sorted(row.startup.name for row in startups.search_startups(text="ocr").rows) == ["OCR Labs", "Paper Reader Ltd"]
