"""Startup profiles, capabilities, proposals, the lab's startup list and verification, through the client."""

from __future__ import annotations

import re
import types
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from models import (
    AuditEvent,
    Capability,
    CapabilityDomain,
    CapabilityTag,
    Challenge,
    ConflictOfInterest,
    Proposal,
    Startup,
    Trial,
    TrialTransition,
    User,
)
from portal import clock
from portal.database import db
from tests.helpers import sign_in
from tests.mailbox import serving

GOOD_CAPABILITY = {
    "name": "ClinicBot",
    "description": "A chatbot that books and reschedules clinic appointments in Cantonese and English.",
    "technologies": "NLP, Chatbot, speech recognition",
    "domains": ["smart_clinic", "customer_service"],
    "deployments": "Two private clinics in Kowloon since 2023.",
    "readiness": "7",
    "language": "en",
}
GOOD_PITCH = "We can run ClinicBot at two clinics within eight weeks, in Cantonese and English."


# --- helpers ---------------------------------------------------------------------------------


def read(app: Flask, fn: Any) -> Any:
    """Run ``fn(db)`` in a fresh app context (never the client's), so nothing is cached between calls."""
    with app.app_context():
        return fn(db)


def state(app: Flask) -> dict[str, Any]:
    """A fingerprint of everything this area writes: row counts and the mutable startup columns."""

    def _state(session: Any) -> dict[str, Any]:
        counts = {
            model.__name__: session.scalar(select(func.count()).select_from(model))
            for model in (Startup, Capability, CapabilityDomain, CapabilityTag, Proposal, Trial,
                          TrialTransition, AuditEvent)
        }
        startups = session.execute(
            select(Startup.id, Startup.name, Startup.website, Startup.description, Startup.size,
                   Startup.language, Startup.verified).order_by(Startup.id)
        ).all()
        capabilities = session.execute(
            select(Capability.id, Capability.name, Capability.description, Capability.deployments,
                   Capability.readiness, Capability.language).order_by(Capability.id)
        ).all()
        proposals = session.execute(select(Proposal.id, Proposal.status).order_by(Proposal.id)).all()
        trials = session.execute(select(Trial.id, Trial.status).order_by(Trial.id)).all()
        return {"counts": counts, "startups": startups, "capabilities": capabilities,
                "proposals": proposals, "trials": trials}

    return read(app, _state)


def audit_actions(app: Flask) -> list[str]:
    return read(app, lambda s: list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.id))))


def client_for(app: Flask, user: User) -> FlaskClient:
    """A separate signed-in client for ``user``."""
    client = app.test_client()
    sign_in(client, user, through_form=True)
    return client


def text(response: Any) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def member(make):
    """A member of a startup that has one capability."""
    startup = make.startup(name="CareBot Ltd", website="https://carebot.example.hk")
    user = make.user("startup", startup=startup)
    capability = make.capability(startup, name="AppointmentBot", readiness=6)
    return types.SimpleNamespace(user=user, startup=startup, capability=capability)


@pytest.fixture
def rival(make):
    """A member of another startup with its own capability."""
    startup = make.startup(name="Rival Health")
    user = make.user("startup", startup=startup)
    capability = make.capability(startup, name="RivalBot")
    return types.SimpleNamespace(user=user, startup=startup, capability=capability)


@pytest.fixture
def hooks(monkeypatch):
    """Record the recommender's and the notifications' hooks instead of running them."""
    from portal.services import notifications, recommendations

    calls: dict[str, list[Any]] = {"capability_changed": [], "proposal_received": []}
    monkeypatch.setattr(recommendations, "capability_changed", lambda cap: calls["capability_changed"].append(cap.id))
    monkeypatch.setattr(notifications, "notify_proposal_received", lambda p: calls["proposal_received"].append(p.id))
    return calls


# --- the journey -----------------------------------------------------------------------------


def test_startup_registers_describes_capability_and_proposes_for_open_challenge(app, client, make, monkeypatch):
    challenge = make.challenge(title="Faster clinic booking")
    with serving(app, monkeypatch) as inbox:
        response = client.post(
            "/register",
            data={"display_name": "Ada Chan", "email": "ada@carebot.hk", "startup_name": "CareBot Ltd",
                  "website": "https://carebot.example.hk", "size": "1-10",
                  "password": "a-long-unique-passphrase", "confirm": "a-long-unique-passphrase"},
        )
        assert response.headers["Location"] == "/register/check-email"
        # Proposing needs a confirmed address: follow the link the registration emailed.
        assert client.post(inbox.link("ada@carebot.hk", "/account/verify/")).status_code == 302
    response = client.post("/login?next=/startups/capabilities/new",
                           data={"email": "ada@carebot.hk", "password": "a-long-unique-passphrase"})
    assert response.headers["Location"] == "/startups/capabilities/new"
    assert client.get("/startups/capabilities/new").status_code == 200

    response = client.post("/startups/capabilities/new", data=GOOD_CAPABILITY)
    assert response.status_code == 302, text(response)[:2000]
    profile_url = response.headers["Location"]

    page = text(client.get(profile_url))
    assert "CareBot Ltd" in page and "ClinicBot" in page
    assert "7 – demonstrated in operation" in page
    assert "Smart clinics" in page and "speech recognition" in page

    mine = client.get("/startups/mine")
    assert mine.status_code == 302 and mine.headers["Location"] == profile_url

    response = client.get(f"/challenges/{challenge.id}/propose")
    assert response.status_code == 200 and "ClinicBot" in text(response)
    capability_id = read(app, lambda s: s.scalar(select(Capability.id).where(Capability.name == "ClinicBot")))
    response = client.post(
        f"/challenges/{challenge.id}/propose", data={"capability_id": str(capability_id), "pitch": GOOD_PITCH}
    )
    assert response.status_code == 302, text(response)[:2000]
    assert response.headers["Location"].endswith("/startups/proposals")

    page = text(client.get("/startups/proposals"))
    assert "Faster clinic booking" in page and "Proposed" in page

    trial = read(app, lambda s: s.scalar(select(Trial).where(Trial.challenge_id == challenge.id)))
    assert trial.status == "proposed" and trial.capability_id == capability_id and trial.proposal_id is not None
    transition = read(app, lambda s: s.scalar(select(TrialTransition).where(TrialTransition.trial_id == trial.id)))
    assert (transition.from_state, transition.to_state, transition.reason) == (None, "proposed", "proposal submitted")
    actions = audit_actions(app)
    for action in ("startup.register", "capability.create", "proposal.create", "trial.create"):
        assert action in actions


# --- profile ---------------------------------------------------------------------------------


def test_officer_sees_profile_with_capabilities_but_no_edit_controls(app, make, member):
    make.capability(member.startup, name="謝謝機械人", language="zh-Hant", readiness=9,
                    domains=["data_collaboration"], technologies=["ocr"],
                    deployments="Used by a clinic group.")
    officer = client_for(app, make.user("officer"))
    response = officer.get(f"/startups/{member.startup.id}")
    page = text(response)
    assert response.status_code == 200
    assert "CareBot Ltd" in page and "AppointmentBot" in page and "謝謝機械人" in page
    assert "9 – proven in operation" in page and "6 – demonstrated in a relevant setting" in page
    assert "Data collaboration" in page and ">OCR<" in page and "Used by a clinic group." in page
    assert 'lang="zh-Hant"' in page
    assert 'href="https://carebot.example.hk" rel="noopener' in page
    assert "Verified by the lab" in page
    assert "/edit" not in page and "/delete" not in page and "Mark as verified" not in page


def test_member_sees_edit_controls_on_own_profile_and_cannot_read_a_rival(app, make, member, rival):
    client = client_for(app, member.user)
    own = text(client.get(f"/startups/{member.startup.id}"))
    assert f"/startups/{member.startup.id}/edit" in own
    assert f"/capabilities/{member.capability.id}/edit" in own
    assert f"/capabilities/{member.capability.id}/delete" in own
    # A competitor's capabilities may describe unreleased products.
    assert client.get(f"/startups/{rival.startup.id}").status_code == 403
    officer = client_for(app, make.user("officer"))
    other = officer.get(f"/startups/{rival.startup.id}")
    assert other.status_code == 200
    assert "/edit" not in text(other) and "/delete" not in text(other)


@pytest.mark.parametrize("website", ["javascript:alert(1)", "data:text/html,hi", "ftp://files.example.hk"])
def test_profile_never_links_a_website_that_is_not_http(app, make, website):
    startup = make.startup(website=website)
    coordinator = client_for(app, make.user("coordinator"))
    page = text(coordinator.get(f"/startups/{startup.id}"))
    assert 'href="javascript' not in page and 'href="data:' not in page and 'href="ftp' not in page


def test_profile_of_missing_startup_is_not_found(app, make):
    client = client_for(app, make.user("coordinator"))
    assert client.get("/startups/999999").status_code == 404


def test_mine_is_only_for_startup_members(app, make):
    assert client_for(app, make.user("officer")).get("/startups/mine").status_code == 403
    assert client_for(app, make.user("coordinator")).get("/startups/mine").status_code == 403


# --- every route refuses the anonymous and the wrong role ------------------------------------

ROUTES = [
    ("get", "/startups/{startup}"),
    ("get", "/startups/mine"),
    ("get", "/startups/{startup}/edit"),
    ("post", "/startups/{startup}/edit"),
    ("get", "/startups/capabilities/new"),
    ("post", "/startups/capabilities/new"),
    ("get", "/capabilities/{capability}/edit"),
    ("post", "/capabilities/{capability}/edit"),
    ("get", "/capabilities/{capability}/delete"),
    ("post", "/capabilities/{capability}/delete"),
    ("get", "/challenges/{challenge}/propose"),
    ("post", "/challenges/{challenge}/propose"),
    ("get", "/startups/proposals"),
    ("post", "/proposals/{proposal}/withdraw"),
    ("get", "/startups"),
    ("post", "/startups/{startup}/verify"),
    ("post", "/startups/{startup}/unverify"),
]


@pytest.fixture
def world(make, member):
    challenge = make.challenge()
    proposal = make.proposal(challenge, member.capability)
    make.trial(challenge, member.capability, proposal_id=proposal.id)
    return {"startup": member.startup.id, "capability": member.capability.id,
            "challenge": challenge.id, "proposal": proposal.id}


@pytest.mark.parametrize(("method", "url"), ROUTES)
def test_anonymous_visitor_is_sent_to_sign_in_and_nothing_changes(app, client, world, method, url):
    before = state(app)
    data = {**GOOD_CAPABILITY, "pitch": GOOD_PITCH, "capability_id": str(world["capability"])}
    response = getattr(client, method)(url.format(**world), data=data)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert state(app) == before


MEMBER_ONLY = [r for r in ROUTES if r[1] not in ("/startups/{startup}", "/startups", "/startups/{startup}/verify",
                                                 "/startups/{startup}/unverify")]


@pytest.mark.parametrize("role", ["officer", "coordinator", "admin"])
def test_staff_and_officers_are_refused_startup_member_routes(app, make, world, role):
    client = client_for(app, make.user(role))
    before = state(app)
    data = {**GOOD_CAPABILITY, "pitch": GOOD_PITCH, "capability_id": str(world["capability"])}
    for method, url in MEMBER_ONLY:
        response = getattr(client, method)(url.format(**world), data=data)
        assert response.status_code == 403, (method, url)
    assert state(app) == before


#: (method, url, status for a rival): a startup is named in public (403), but a rival may not
#: know its capabilities and proposals exist, so those answer as missing ones (404).
OWNER_ONLY = [
    ("get", "/startups/{startup}/edit", 403),
    ("post", "/startups/{startup}/edit", 403),
    ("get", "/capabilities/{capability}/edit", 404),
    ("post", "/capabilities/{capability}/edit", 404),
    ("get", "/capabilities/{capability}/delete", 404),
    ("post", "/capabilities/{capability}/delete", 404),
    ("post", "/proposals/{proposal}/withdraw", 404),
]


def test_member_of_another_startup_is_refused_and_nothing_changes(app, world, rival):
    client = client_for(app, rival.user)
    before = state(app)
    data = {**GOOD_CAPABILITY, "name": "Taken over", "size": "1-10", "pitch": GOOD_PITCH}
    for method, url, status in OWNER_ONLY:
        response = getattr(client, method)(url.format(**world), data=data)
        assert response.status_code == status, (method, url)
    assert state(app) == before


LAB_ONLY = [("get", "/startups"), ("post", "/startups/{startup}/verify"), ("post", "/startups/{startup}/unverify")]


@pytest.mark.parametrize("role", ["startup", "officer"])
def test_only_the_lab_lists_and_verifies_startups(app, make, world, role):
    client = client_for(app, make.user(role))
    before = state(app)
    for method, url in LAB_ONLY:
        assert getattr(client, method)(url.format(**world)).status_code == 403, (method, url)
    assert state(app) == before


# --- editing the profile ---------------------------------------------------------------------


def test_member_edits_profile_and_the_change_is_audited(app, member):
    client = client_for(app, member.user)
    assert client.get(f"/startups/{member.startup.id}/edit").status_code == 200
    response = client.post(
        f"/startups/{member.startup.id}/edit",
        data={"name": "CareBot HK", "website": "http://carebot.hk", "description": "我們開發診所聊天機械人。",
              "size": "11-50", "language": "zh-Hant"},
    )
    assert response.status_code == 302
    startup = read(app, lambda s: s.get(Startup, member.startup.id))
    assert (startup.name, startup.website, startup.size, startup.language) == (
        "CareBot HK", "http://carebot.hk", "11-50", "zh-Hant")
    event = read(app, lambda s: s.scalar(select(AuditEvent).where(AuditEvent.action == "startup.update")))
    assert event.before["name"] == "CareBot Ltd" and event.after["name"] == "CareBot HK"
    assert event.actor_id == member.user.id


def test_a_new_name_takes_the_labs_verified_mark_away_until_it_checks_again(app, make):
    startup = make.startup(name="CareBot Ltd", verified=True)
    user = make.user("startup", startup=startup)
    client = client_for(app, user)
    form = {"website": "", "description": "Clinic chatbots.", "size": "1-10", "language": "en"}
    assert "a new name takes the verified mark away" in client.get(f"/startups/{startup.id}/edit").get_data(as_text=True)
    # Other letter case or spacing is the same name: the mark stays.
    assert client.post(f"/startups/{startup.id}/edit", data={**form, "name": "CAREBOT  LTD"}).status_code == 302
    assert read(app, lambda s: s.get(Startup, startup.id).verified) is True
    response = client.post(f"/startups/{startup.id}/edit", data={**form, "name": "CareBot Global"},
                           follow_redirects=True)
    assert "the lab will check your registration again" in response.get_data(as_text=True)
    stored = read(app, lambda s: s.get(Startup, startup.id))
    assert stored.verified is False and stored.verified_at is None
    event = read(app, lambda s: s.scalars(
        select(AuditEvent).where(AuditEvent.action == "startup.update").order_by(AuditEvent.id.desc())).first())
    assert event.before["verified"] is True and event.after["verified"] is False


def test_member_may_keep_own_name_in_another_case(app, member):
    client = client_for(app, member.user)
    response = client.post(f"/startups/{member.startup.id}/edit",
                           data={"name": "CAREBOT LTD", "size": "1-10", "language": "en"})
    assert response.status_code == 302


PROFILE_OK = {"name": "CareBot Ltd", "website": "https://carebot.hk", "description": "About us.",
              "size": "1-10", "language": "en"}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "Enter your startup"),
        ({"name": "   "}, "Enter your startup"),
        ({"name": "x" * 201}, "at most 200"),
        ({"name": "rival health"}, "already registered"),
        ({"name": "Care\x00Bot"}, "Enter this on one line"),
        ({"website": "javascript:alert(1)"}, "http:// or https://"),
        ({"website": "ftp://carebot.hk"}, "http:// or https://"),
        ({"website": "https://" + "a" * 300 + ".hk"}, "at most 300"),
        ({"description": "x" * 5001}, "at most 5000"),
        ({"description": "About\x00us"}, "invalid characters"),
        ({"size": "huge"}, "company size"),
        ({"language": "fr"}, "English or Traditional Chinese"),
    ],
)
def test_profile_form_rejects_bad_input_with_message_and_writes_nothing(app, member, rival, changes, message):
    client = client_for(app, member.user)
    before = state(app)
    response = client.post(f"/startups/{member.startup.id}/edit", data={**PROFILE_OK, **changes})
    assert response.status_code == 400
    assert message in text(response)
    assert state(app) == before


def test_a_website_typed_without_https_is_kept_with_it(app, member):
    client = client_for(app, member.user)
    response = client.post(f"/startups/{member.startup.id}/edit", data={**PROFILE_OK, "website": "www.carebot.com.hk"})
    assert response.status_code == 302
    assert read(app, lambda s: s.get(Startup, member.startup.id).website) == "https://www.carebot.com.hk"


# --- capabilities ----------------------------------------------------------------------------


def test_member_adds_capability_and_recommender_is_told(app, member, hooks):
    client = client_for(app, member.user)
    response = client.post("/startups/capabilities/new", data=GOOD_CAPABILITY)
    assert response.status_code == 302
    capability = read(app, lambda s: s.scalar(select(Capability).where(Capability.name == "ClinicBot")))
    assert capability.startup_id == member.startup.id and capability.readiness == 7
    assert read(app, lambda s: s.get(Capability, capability.id).domains) == ["customer_service", "smart_clinic"]
    assert read(app, lambda s: s.get(Capability, capability.id).technologies) == [
        "chatbot", "nlp", "speech recognition"]
    assert hooks["capability_changed"] == [capability.id]
    event = read(app, lambda s: s.scalar(select(AuditEvent).where(AuditEvent.action == "capability.create")))
    assert event.entity_id == capability.id and event.after["readiness"] == 7


def test_capability_form_shows_domain_labels_and_readiness_choices(app, member):
    page = text(client_for(app, member.user).get("/startups/capabilities/new"))
    assert "Smart workflow re-engineering" in page
    assert "1 – basic principles observed" in page and "9 – proven in operation" in page


def test_capability_form_labels_follow_the_interface_language(app, member):
    client = client_for(app, member.user)
    client.post("/language", data={"locale": "zh_Hant_HK", "next": "/"})
    page = text(client.get("/startups/capabilities/new"))
    assert "智慧診所" in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "Enter the capability"),
        ({"name": "x" * 201}, "at most 200"),
        ({"description": ""}, "Describe the capability"),
        ({"description": "Too short."}, "at least 30"),
        ({"description": "x" * 10001}, "at most 10000"),
        ({"deployments": "x" * 5001}, "at most 5000"),
        ({"readiness": "0"}, "from 1 to 9"),
        ({"readiness": "10"}, "from 1 to 9"),
        ({"readiness": "x"}, "from 1 to 9"),
        ({"readiness": ""}, "from 1 to 9"),
        ({"readiness": "-1"}, "from 1 to 9"),
        ({"domains": []}, "at least one domain"),
        ({"domains": ["smart_clinic", "astrology"]}, "from the list"),
        ({"technologies": ", ".join(f"t{i}" for i in range(13))}, "at most 12"),
        ({"technologies": "x" * 41}, "at most 40"),
        ({"language": "de"}, "English or Traditional Chinese"),
        ({"name": "Clinic\x00Bot"}, "Enter this on one line"),
        ({"description": "A chatbot that books clinic appointments\x00 in Cantonese."}, "invalid characters"),
    ],
)
def test_capability_form_rejects_bad_input_with_message_and_writes_nothing(app, member, hooks, changes, message):
    client = client_for(app, member.user)
    before = state(app)
    for url in ("/startups/capabilities/new", f"/capabilities/{member.capability.id}/edit"):
        data = {**GOOD_CAPABILITY, **changes}
        if "readiness" in changes and changes["readiness"] == "":
            data.pop("readiness")
        response = client.post(url, data=data)
        assert response.status_code == 400, url
        assert message in text(response), url
    assert state(app) == before
    assert hooks["capability_changed"] == []


def test_two_members_editing_one_capability_do_not_lose_the_first_save(app, make, member, hooks):
    colleague = client_for(app, make.user("startup", startup=member.startup))
    client = client_for(app, member.user)
    url = f"/capabilities/{member.capability.id}/edit"
    stamp = re.search(r'name="loaded" type="hidden" value="([^"]+)"', text(client.get(url))).group(1)
    assert colleague.post(url, data={**GOOD_CAPABILITY, "name": "Saved first", "loaded": stamp}).status_code == 302
    refused = client.post(url, data={**GOOD_CAPABILITY, "name": "Saved second", "loaded": stamp})
    assert refused.status_code == 409 and "This page is out of date: this capability changed" in text(refused)
    assert 'value="Saved second"' in text(refused)
    assert read(app, lambda s: s.get(Capability, member.capability.id).name) == "Saved first"


def test_a_profile_edited_meanwhile_is_not_overwritten_and_its_evidence_is_stored(app, make, member, monkeypatch):
    queued: list[tuple[str, tuple]] = []
    monkeypatch.setattr("portal.jobs.dispatch", lambda pending: queued.extend((j.func_path, j.args) for j in pending))
    colleague = client_for(app, make.user("startup", startup=member.startup))
    client = client_for(app, member.user)
    url = f"/startups/{member.startup.id}/edit"
    stamp = re.search(r'name="loaded" type="hidden" value="([^"]+)"', text(client.get(url))).group(1)
    form = {"name": "CareBot Ltd", "website": "https://carebot.example.hk", "size": "1-10", "language": "en"}
    assert colleague.post(url, data={**form, "description": "Saved first.", "loaded": stamp}).status_code == 302
    assert ("portal.tasks.store_evidence", ([], [], [member.startup.id])) in queued
    refused = client.post(url, data={**form, "description": "Saved second.", "loaded": stamp})
    assert refused.status_code == 409 and "this profile changed" in text(refused)
    assert read(app, lambda s: s.get(Startup, member.startup.id).description) == "Saved first."


def test_member_edits_capability_domains_and_tags_with_audit(app, member, hooks):
    client = client_for(app, member.user)
    page = text(client.get(f"/capabilities/{member.capability.id}/edit"))
    assert "AppointmentBot" in page and 'value="nlp"' in page
    data = {**GOOD_CAPABILITY, "name": "AppointmentBot 2", "domains": ["smart_clinic", "public_engagement"],
            "technologies": "nlp, ocr", "readiness": "8"}
    response = client.post(f"/capabilities/{member.capability.id}/edit", data=data)
    assert response.status_code == 302
    capability = read(app, lambda s: s.get(Capability, member.capability.id))
    assert capability.name == "AppointmentBot 2" and capability.readiness == 8
    assert read(app, lambda s: s.get(Capability, member.capability.id).domains) == [
        "public_engagement", "smart_clinic"]
    assert read(app, lambda s: s.get(Capability, member.capability.id).technologies) == ["nlp", "ocr"]
    event = read(app, lambda s: s.scalar(select(AuditEvent).where(AuditEvent.action == "capability.update")))
    assert event.before["readiness"] == 6 and event.after["readiness"] == 8
    assert hooks["capability_changed"] == [member.capability.id]


def test_member_deletes_capability_after_confirming(app, member):
    client = client_for(app, member.user)
    page = client.get(f"/capabilities/{member.capability.id}/delete")
    assert page.status_code == 200 and "Delete capability" in text(page)
    assert read(app, lambda s: s.get(Capability, member.capability.id)) is not None
    response = client.post(f"/capabilities/{member.capability.id}/delete")
    assert response.status_code == 302
    assert read(app, lambda s: s.get(Capability, member.capability.id)) is None
    assert "capability.delete" in audit_actions(app)


@pytest.mark.parametrize("status", ["approved", "running", "completed"])
def test_capability_in_a_trial_that_went_ahead_cannot_be_deleted(app, make, member, status):
    make.trial(make.challenge(), member.capability, status=status)
    client = client_for(app, member.user)
    page = client.get(f"/capabilities/{member.capability.id}/delete")
    assert "trial that went ahead" in text(page) and "Delete capability" not in text(page)
    before = state(app)
    response = client.post(f"/capabilities/{member.capability.id}/delete")
    assert response.status_code == 400 and "trial that went ahead" in text(response)
    assert state(app) == before


@pytest.mark.parametrize("status", ["rejected", "withdrawn"])
def test_capability_in_a_trial_that_did_not_go_ahead_can_be_deleted(app, make, member, status):
    make.trial(make.challenge(), member.capability, status=status)
    response = client_for(app, member.user).post(f"/capabilities/{member.capability.id}/delete")
    assert response.status_code == 302
    assert read(app, lambda s: s.get(Capability, member.capability.id)) is None


def test_capability_offered_in_a_live_proposal_cannot_be_deleted(app, make, member):
    make.proposal(make.challenge(), member.capability)
    client = client_for(app, member.user)
    before = state(app)
    response = client.post(f"/capabilities/{member.capability.id}/delete")
    assert response.status_code == 400 and "Withdraw the proposal" in text(response)
    assert state(app) == before


def test_missing_capability_is_not_found(app, member):
    client = client_for(app, member.user)
    assert client.get("/capabilities/999999/edit").status_code == 404
    assert client.post("/capabilities/999999/delete").status_code == 404


# --- proposals -------------------------------------------------------------------------------


def _propose(client: FlaskClient, challenge_id: int, capability_id: Any, pitch: str = GOOD_PITCH) -> Any:
    return client.post(f"/challenges/{challenge_id}/propose",
                       data={"capability_id": str(capability_id), "pitch": pitch})


def test_proposal_creates_trial_in_coordinator_queue_and_notifies(app, make, member, hooks):
    challenge = make.challenge()
    client = client_for(app, member.user)
    response = _propose(client, challenge.id, member.capability.id)
    assert response.status_code == 302
    proposal = read(app, lambda s: s.scalar(select(Proposal)))
    assert (proposal.challenge_id, proposal.startup_id, proposal.capability_id, proposal.status) == (
        challenge.id, member.startup.id, member.capability.id, "submitted")
    assert proposal.submitted_by_id == member.user.id and proposal.pitch == GOOD_PITCH
    trial = read(app, lambda s: s.scalar(select(Trial)))
    assert (trial.status, trial.proposal_id, trial.capability_id) == ("proposed", proposal.id, member.capability.id)
    transitions = read(app, lambda s: list(s.scalars(select(TrialTransition))))
    assert [(t.from_state, t.to_state, t.actor_id) for t in transitions] == [(None, "proposed", member.user.id)]
    assert hooks["proposal_received"] == [proposal.id]
    assert {"proposal.create", "trial.create"} <= set(audit_actions(app))


def test_proposal_links_the_trial_the_lab_already_opened(app, make, member):
    challenge = make.challenge()
    existing = make.trial(challenge, member.capability)
    client = client_for(app, member.user)
    assert _propose(client, challenge.id, member.capability.id).status_code == 302
    trials = read(app, lambda s: list(s.scalars(select(Trial))))
    proposal_id = read(app, lambda s: s.scalar(select(Proposal.id)))
    assert [(t.id, t.proposal_id) for t in trials] == [(existing.id, proposal_id)]


def test_challenge_closing_today_still_takes_proposals(app, make, member):
    challenge = make.challenge(closing_on=clock.today())
    assert _propose(client_for(app, member.user), challenge.id, member.capability.id).status_code == 302


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"status": "closed"}, "not open for proposals"),
        ({"closing_on": clock.today() - timedelta(days=2)}, "closed for proposals on"),
    ],
)
def test_proposal_to_closed_challenge_is_refused_and_nothing_written(app, make, member, kwargs, message):
    challenge = make.challenge(**kwargs)
    client = client_for(app, member.user)
    page = client.get(f"/challenges/{challenge.id}/propose")
    assert message in text(page) and "Send proposal" not in text(page)
    before = state(app)
    response = _propose(client, challenge.id, member.capability.id)
    assert response.status_code == 400 and message in text(response)
    assert state(app) == before


def test_draft_challenge_is_hidden_from_startups(app, make, member):
    challenge = make.challenge(status="draft")
    client = client_for(app, member.user)
    before = state(app)
    assert client.get(f"/challenges/{challenge.id}/propose").status_code == 404
    assert _propose(client, challenge.id, member.capability.id).status_code == 404
    assert state(app) == before


def test_missing_challenge_is_not_found(app, member):
    assert client_for(app, member.user).get("/challenges/999999/propose").status_code == 404


def test_second_proposal_for_same_challenge_is_refused_with_message(app, make, member):
    challenge = make.challenge()
    second = make.capability(member.startup, name="SecondBot")
    client = client_for(app, member.user)
    assert _propose(client, challenge.id, member.capability.id).status_code == 302
    before = state(app)
    response = _propose(client, challenge.id, second.id)
    assert response.status_code == 400
    assert "Your startup has already proposed for this challenge" in text(response)
    assert state(app) == before
    # A colleague from the same startup is refused too.
    colleague = client_for(app, make.user("startup", startup=member.startup))
    assert _propose(colleague, challenge.id, second.id).status_code == 400
    assert state(app) == before


def test_proposal_offering_another_startups_capability_is_refused(app, make, member, rival):
    challenge = make.challenge()
    client = client_for(app, member.user)
    before = state(app)
    response = _propose(client, challenge.id, rival.capability.id)
    assert response.status_code == 400
    assert "Choose one of your startup" in text(response)
    assert state(app) == before


@pytest.mark.parametrize(
    ("capability", "pitch", "message"),
    [
        ("own", "", "Write a short pitch"),
        ("own", "Too short.", "at least 20"),
        ("own", "x" * 3001, "at most 3000"),
        ("own", "We can do this in eight weeks.\x00", "invalid characters"),
        ("", GOOD_PITCH, "Choose one of your startup"),
        ("x", GOOD_PITCH, "Choose one of your startup"),
        ("999999", GOOD_PITCH, "Choose one of your startup"),
        ("-1", GOOD_PITCH, "Choose one of your startup"),
    ],
)
def test_proposal_form_rejects_bad_input_with_message_and_writes_nothing(app, make, member, capability, pitch,
                                                                         message):
    challenge = make.challenge()
    client = client_for(app, member.user)
    before = state(app)
    response = _propose(client, challenge.id, member.capability.id if capability == "own" else capability, pitch)
    assert response.status_code == 400
    assert message in text(response)
    assert state(app) == before


def test_startup_without_capabilities_is_asked_to_add_one(app, make):
    user = make.user("startup")
    challenge = make.challenge()
    page = text(client_for(app, user).get(f"/challenges/{challenge.id}/propose"))
    assert "Describe at least one capability" in page


def test_my_proposals_lists_only_own_startups_proposals(app, make, member, rival):
    mine = make.challenge(title="Our challenge")
    theirs = make.challenge(title="Their challenge")
    make.proposal(mine, member.capability)
    make.proposal(theirs, rival.capability)
    page = text(client_for(app, member.user).get("/startups/proposals"))
    assert "Our challenge" in page and "Their challenge" not in page


@pytest.mark.parametrize("trial_status", ["proposed", "shortlisted"])
def test_withdrawing_a_proposal_withdraws_its_undecided_trial(app, make, member, trial_status):
    challenge = make.challenge()
    proposal = make.proposal(challenge, member.capability)
    trial = make.trial(challenge, member.capability, proposal_id=proposal.id, status=trial_status)
    client = client_for(app, member.user)
    response = client.post(f"/proposals/{proposal.id}/withdraw")
    assert response.status_code == 302
    assert read(app, lambda s: s.get(Proposal, proposal.id).status) == "withdrawn"
    assert read(app, lambda s: s.get(Trial, trial.id).status) == "withdrawn"
    transition = read(app, lambda s: s.scalar(select(TrialTransition)))
    assert (transition.from_state, transition.to_state, transition.actor_id) == (
        trial_status, "withdrawn", member.user.id)
    assert {"proposal.withdraw", "trial.withdraw"} <= set(audit_actions(app))
    assert "Withdrawn" in text(client.get("/startups/proposals"))


def test_withdrawing_asks_first_and_says_a_startup_proposes_once(app, make, member):
    challenge = make.challenge(title="Dental queue")
    proposal = make.proposal(challenge, member.capability)
    make.trial(challenge, member.capability, proposal_id=proposal.id, status="proposed")
    client = client_for(app, member.user)
    listing = text(client.get("/startups/proposals"))
    # The list links to the question; it has no button that withdraws at once, and no trial
    # page for a proposal the lab has not shortlisted.
    assert f'href="/proposals/{proposal.id}/withdraw"' in listing and f'action="/proposals/{proposal.id}/withdraw"' not in listing
    assert "Open the trial" not in listing and "View the proposal" not in listing
    before = state(app)
    asked = text(client.get(f"/proposals/{proposal.id}/withdraw"))
    assert "Withdraw your proposal?" in asked and "cannot be sent again" in asked and "Dental queue" in asked
    assert state(app) == before  # asking changes nothing
    assert client.post(f"/proposals/{proposal.id}/withdraw").status_code == 302
    assert read(app, lambda s: s.get(Proposal, proposal.id).status) == "withdrawn"
    again = client.get(f"/proposals/{proposal.id}/withdraw", follow_redirects=True)
    assert "already been withdrawn" in text(again)
    propose = text(client.get(f"/challenges/{challenge.id}/propose"))
    assert "withdrew its proposal for this challenge" in propose and "Open the trial" not in text(client.get("/startups/proposals"))


def test_another_startups_proposal_cannot_be_asked_to_withdraw(app, make, member, rival):
    proposal = make.proposal(make.challenge(), rival.capability)
    assert client_for(app, member.user).get(f"/proposals/{proposal.id}/withdraw").status_code in (403, 404)


@pytest.mark.parametrize("trial_status", ["approved", "running", "completed"])
def test_withdrawing_a_proposal_whose_trial_went_ahead_is_refused(app, make, member, trial_status):
    challenge = make.challenge()
    proposal = make.proposal(challenge, member.capability)
    make.trial(challenge, member.capability, proposal_id=proposal.id, status=trial_status)
    client = client_for(app, member.user)
    assert "/withdraw" not in text(client.get("/startups/proposals"))
    before = state(app)
    # Nor does the question page ask it (reached by an old link or the back button).
    asked = client.get(f"/proposals/{proposal.id}/withdraw", follow_redirects=True)
    assert "trial that went ahead" in text(asked) and "Withdraw your proposal?" not in text(asked)
    response = client.post(f"/proposals/{proposal.id}/withdraw", follow_redirects=True)
    assert "trial that went ahead" in text(response)
    assert state(app) == before


def test_withdrawing_a_proposal_the_lab_rejected_is_refused(app, make, member):
    """A withdrawal after the lab's decision would hide it: the trial would say rejected and
    the lists withdrawn (walkthrough of 7 Dec 2026)."""
    challenge = make.challenge()
    proposal = make.proposal(challenge, member.capability)
    make.trial(challenge, member.capability, proposal_id=proposal.id, status="rejected")
    client = client_for(app, member.user)
    assert "/withdraw" not in text(client.get("/startups/proposals"))
    before = state(app)
    asked = client.get(f"/proposals/{proposal.id}/withdraw", follow_redirects=True)
    assert "already decided on this proposal" in text(asked) and "Withdraw your proposal?" not in text(asked)
    response = client.post(f"/proposals/{proposal.id}/withdraw", follow_redirects=True)
    assert "already decided on this proposal" in text(response)
    assert state(app) == before


def test_withdrawing_twice_is_refused_with_message(app, make, member):
    proposal = make.proposal(make.challenge(), member.capability, status="withdrawn")
    client = client_for(app, member.user)
    before = state(app)
    response = client.post(f"/proposals/{proposal.id}/withdraw", follow_redirects=True)
    assert "already been withdrawn" in text(response)
    assert state(app) == before


def test_withdrawing_a_missing_proposal_is_not_found(app, member):
    assert client_for(app, member.user).post("/proposals/999999/withdraw").status_code == 404


# --- the lab's list and verification ---------------------------------------------------------


def test_coordinator_lists_filters_and_searches_startups(app, make, member):
    make.startup(name="Unverified Vision", verified=False)
    make.startup(name="100% Health", verified=True)
    client = client_for(app, make.user("coordinator"))
    page = text(client.get("/startups"))
    assert "CareBot Ltd" in page and "Unverified Vision" in page and "3 startups" in page
    unverified = text(client.get("/startups?verified=no"))
    assert "Unverified Vision" in unverified and "CareBot Ltd" not in unverified
    verified = text(client.get("/startups?verified=yes"))
    assert "CareBot Ltd" in verified and "Unverified Vision" not in verified
    search = text(client.get("/startups?q=carebot"))
    assert "CareBot Ltd" in search and "Unverified Vision" not in search
    assert "100% Health" not in text(client.get("/startups?q=0%25+H%5F"))
    assert "100% Health" in text(client.get("/startups?q=0%25+h"))


def test_startup_list_shows_capability_counts_and_paginates(app, make, member):
    app.config["PAGE_SIZE"] = 2
    try:
        make.capability(member.startup)
        for n in range(3):
            make.startup(name=f"Zeta {n}")
        client = client_for(app, make.user("admin"))
        first = text(client.get("/startups"))
        assert "CareBot Ltd" in first and "Zeta 2" not in first and "page=2" in first
        assert '<td class="govuk-table__cell govuk-table__cell--numeric">2</td>' in first
        last = text(client.get("/startups?page=2"))
        assert "Zeta 1" in last and "CareBot Ltd" not in last
        for odd in ("abc", "0", "-3", "99999999999", "%00", "%C2%B2"):
            assert client.get(f"/startups?page={odd}").status_code == 200, odd
        assert client.get("/startups?q=%00care&verified=%00").status_code == 200
    finally:
        app.config["PAGE_SIZE"] = 20


def test_coordinator_verifies_and_unverifies_startup_with_audit(app, make):
    startup = make.startup(verified=False)
    coordinator = make.user("coordinator")
    client = client_for(app, coordinator)
    assert "Mark as verified" in text(client.get(f"/startups/{startup.id}"))
    assert client.post(f"/startups/{startup.id}/verify").status_code == 302
    verified = read(app, lambda s: s.get(Startup, startup.id))
    assert verified.verified and verified.verified_at is not None
    assert client.post(f"/startups/{startup.id}/unverify").status_code == 302
    unverified = read(app, lambda s: s.get(Startup, startup.id))
    assert not unverified.verified and unverified.verified_at is None
    events = read(app, lambda s: list(s.scalars(select(AuditEvent).where(AuditEvent.action == "startup.verify").order_by(AuditEvent.id))))
    assert [(e.before["verified"], e.after["verified"], e.actor_id) for e in events] == [
        (False, True, coordinator.id), (True, False, coordinator.id)]


def test_verifying_an_already_verified_startup_changes_nothing(app, make, member):
    client = client_for(app, make.user("coordinator"))
    before = state(app)
    response = client.post(f"/startups/{member.startup.id}/verify", follow_redirects=True)
    assert response.status_code == 200 and "already verified" in text(response)
    assert state(app) == before


@pytest.mark.parametrize("source", ["declared", "detected"])
@pytest.mark.parametrize(("action", "verified"), [("verify", False), ("unverify", True)])
def test_coordinator_with_a_conflict_cannot_verify_or_unverify_the_startup(app, make, source, action, verified):
    startup = make.startup(verified=verified)
    coordinator = make.user("coordinator")
    with app.app_context():
        db.add(ConflictOfInterest(coordinator_id=coordinator.id, startup_id=startup.id, source=source,
                                  reason="My sister runs it."))
        db.commit()
    client = client_for(app, coordinator)
    page = text(client.get(f"/startups/{startup.id}"))
    assert "conflict of interest with this startup" in page and f"/startups/{startup.id}/{action}" not in page
    before = state(app)
    response = client.post(f"/startups/{startup.id}/{action}", follow_redirects=True)
    assert "conflict of interest with this startup" in text(response)
    assert state(app) == before


def test_verifying_a_missing_startup_is_not_found(app, make):
    assert client_for(app, make.user("coordinator")).post("/startups/999999/verify").status_code == 404


# --- changing a proposal, and the startup's trials ----------------------------------------------


def test_member_changes_pitch_and_capability_before_the_lab_reviews(app, make, member):
    challenge = make.challenge()
    proposal = make.proposal(challenge, member.capability)
    trial = make.trial(challenge, member.capability, proposal_id=proposal.id)
    other = make.capability(read(app, lambda s: s.get(Startup, member.capability.startup_id)), name="Second product")
    client = client_for(app, member.user)
    assert f"/proposals/{proposal.id}/edit" in text(client.get("/startups/proposals"))
    response = client.post(f"/proposals/{proposal.id}/edit", data={"capability_id": str(other.id), "pitch": GOOD_PITCH + " Updated."})
    assert response.status_code == 302
    assert read(app, lambda s: (s.get(Proposal, proposal.id).pitch, s.get(Proposal, proposal.id).capability_id)) == (
        GOOD_PITCH + " Updated.", other.id)
    assert read(app, lambda s: s.get(Trial, trial.id).capability_id) == other.id
    assert "proposal.update" in audit_actions(app)


def test_proposal_cannot_be_changed_once_shortlisted(app, make, member):
    challenge = make.challenge()
    proposal = make.proposal(challenge, member.capability)
    make.trial(challenge, member.capability, proposal_id=proposal.id, status="shortlisted")
    client = client_for(app, member.user)
    before = state(app)
    assert f"/proposals/{proposal.id}/edit" not in text(client.get("/startups/proposals"))
    response = client.post(f"/proposals/{proposal.id}/edit", data={"capability_id": str(member.capability.id), "pitch": GOOD_PITCH})
    assert response.status_code == 409
    assert "can no longer be changed" in text(response)
    assert state(app) == before


def test_rival_cannot_change_a_proposal(app, make, member, rival):
    proposal = make.proposal(make.challenge(), member.capability)
    before = state(app)
    response = client_for(app, rival.user).post(f"/proposals/{proposal.id}/edit", data={"pitch": GOOD_PITCH})
    assert response.status_code == 404  # a rival may not know the proposal exists, as for withdrawing
    assert state(app) == before


def test_our_proposals_links_an_approved_trial_to_accept_or_decline(app, make, member):
    challenge = make.challenge()
    proposal = make.proposal(challenge, member.capability)
    trial = make.trial(challenge, member.capability, proposal_id=proposal.id, status="approved")
    page = text(client_for(app, member.user).get("/startups/proposals"))
    assert f'href="/trials/{trial.id}">Accept or decline the trial' in page


def test_our_trials_lists_state_and_next_step(app, make, member, rival):
    approved = make.challenge(title="Approved one")
    make.trial(approved, member.capability, status="approved")
    make.trial(make.challenge(title="Running one"), member.capability, status="running")
    make.trial(make.challenge(title="Their trial"), rival.capability, status="running")
    make.trial(make.challenge(title="Waiting one"), member.capability, status="proposed")
    make.trial(make.challenge(title="Withdrawn one"), member.capability, status="withdrawn")
    page = text(client_for(app, member.user).get("/startups/trials"))
    assert "Approved one" in page and "Running one" in page and "Their trial" not in page
    # A proposal the lab has not approved is on "Our proposals", not here.
    assert "Waiting one" not in page and "Withdrawn one" not in page
    assert "Accept or decline the trial." in page
    assert "Track the milestones and KPIs with the department" in page


def test_startup_declines_an_approved_trial_with_a_reason(app, make, member):
    challenge = make.challenge()
    proposal = make.proposal(challenge, member.capability)
    trial = make.trial(challenge, member.capability, proposal_id=proposal.id, status="approved")
    client = client_for(app, member.user)
    assert 'value="decline"' in text(client.get(f"/trials/{trial.id}"))
    refused = client.post(f"/trials/{trial.id}/move", data={"action": "decline", "version": "1", "reason": ""})
    assert refused.status_code == 400 and "Give a reason" in text(refused)
    response = client.post(f"/trials/{trial.id}/move", data={"action": "decline", "version": "1", "reason": "Our team is busy."})
    assert response.status_code == 302
    assert read(app, lambda s: s.get(Trial, trial.id).status) == "withdrawn"
    assert read(app, lambda s: s.get(Proposal, proposal.id).status) == "withdrawn"


def test_a_new_capability_is_taken_to_be_in_the_pages_language(app, member):
    client = client_for(app, member.user)
    english = text(client.get("/startups/capabilities/new"))
    assert re.search(r'<option[^>]*selected[^>]*value="en"|<option[^>]*value="en"[^>]*selected', english)
    client.post("/language", data={"locale": "zh_Hant_HK", "next": "/"})
    chinese = text(client.get("/startups/capabilities/new"))
    assert re.search(r'<option[^>]*value="zh-Hant"[^>]*selected|<option[^>]*selected[^>]*value="zh-Hant"', chinese)


def test_a_tag_and_its_chinese_label_show_once_on_a_chinese_page(app, make, member):
    make.capability(member.startup, name="粵語語音轉文字", technologies=["語音識別", "speech recognition", "nlp"])
    client = client_for(app, member.user)
    client.post("/language", data={"locale": "zh_Hant_HK", "next": "/"})
    page = text(client.get(f"/startups/{member.startup.id}"))
    assert page.count(">語音識別</li>") == 1
    client.post("/language", data={"locale": "en", "next": "/"})
    english = text(client.get(f"/startups/{member.startup.id}"))
    assert ">speech recognition</li>" in english and ">語音識別</li>" in english


def test_a_withdrawn_proposal_says_it_was_withdrawn_not_under_review(app, make, member):
    proposal = make.proposal(make.challenge(), member.capability, status="withdrawn")
    client = client_for(app, member.user)
    page = text(client.get(f"/proposals/{proposal.id}/edit"))
    assert "You withdrew this proposal" in page and "started reviewing" not in page


def test_a_pitch_sent_as_the_challenge_closes_is_shown_back_not_lost(app, make, member):
    """The challenge closed while the startup was writing (walkthrough of 7 Dec 2026): the page
    says why, once, and gives the pitch back to copy."""
    challenge = make.challenge()
    client = client_for(app, member.user)
    assert client.get(f"/challenges/{challenge.id}/propose").status_code == 200
    with app.app_context():
        db.get(Challenge, challenge.id).status = "closed"
        db.commit()
    pitch = "We can run this pilot in eight weeks with two clinics."
    response = client.post(f"/challenges/{challenge.id}/propose",
                           data={"capability_id": str(member.capability.id), "pitch": pitch})
    page = text(response)
    assert response.status_code == 400 and 'id="kept-pitch"' in page and pitch in page
    assert page.count("This challenge is not open for proposals.") == 1
