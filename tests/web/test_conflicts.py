"""Conflicts of interest: detection, declaration, and enforcement on every trial route."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import AuditEvent, ConflictOfInterest, Startup, Trial, User
from portal.database import db
from portal.services import conflicts, trials
from tests.web.test_trials import build_world, client_as, move_data, snapshot, text


def conflict_rows(app):
    with app.app_context():
        return [(c.coordinator_id, c.startup_id, c.source) for c in db.scalars(select(ConflictOfInterest).order_by(ConflictOfInterest.id))]


# -- domains ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "domain"),
    [("a@Acme.HK", "acme.hk"), ("a@www.acme.hk", "acme.hk"), ("nobody", None), ("a@localhost", None), ("", None)],
)
def test_email_domain(email, domain):
    assert conflicts.email_domain(email) == domain


@pytest.mark.parametrize(
    ("website", "domain"),
    [
        ("https://www.acme.com.hk/about", "acme.com.hk"),
        ("acme.hk", "acme.hk"),
        ("http://ACME.hk:8080", "acme.hk"),
        ("", None),
        ("http://[::1", None),
        ("not a site", None),
    ],
)
def test_website_domain(website, domain):
    assert conflicts.website_domain(website) == domain


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("acme.hk", "acme.hk", True),
        ("mail.acme.hk", "acme.hk", True),
        ("acme.hk", "hk.acme.hk", True),
        ("acme.hk", "notacme.hk", False),
        ("foo.com.hk", "bar.com.hk", False),
        ("gmail.com", "gmail.com", False),  # a shared provider says nothing
        ("example.org", "example.org", False),  # reserved for examples
        ("lab.test", "lab.test", False),
        (None, "acme.hk", False),
    ],
)
def test_same_organisation(app, a, b, same):
    with app.app_context():
        assert conflicts.same_organisation(a, b) is same


def test_configured_domains_are_ignored(app):
    with app.app_context():
        app.config["CONFLICT_IGNORED_DOMAINS"] = ("hkstp.org",)
        try:
            assert not conflicts.same_organisation("hkstp.org", "hkstp.org")
        finally:
            del app.config["CONFLICT_IGNORED_DOMAINS"]
        assert conflicts.same_organisation("hkstp.org", "hkstp.org")


# -- detection ----------------------------------------------------------------------------------


def test_startup_member_with_coordinators_domain_is_detected_once(app):
    world = build_world(app, "proposed", emails={"coordinator": "kelvin@acme.hk", "member": "ceo@acme.hk"})
    with app.app_context():
        startup = db.get(Startup, world.startup_id)
        found = conflicts.detect_conflicts_for_startup(startup)
        db.commit()
        assert [(c.coordinator_id, c.source) for c in found] == [(world.users["coordinator"], "detected")]
        assert "acme.hk" in found[0].reason
        assert conflicts.detect_conflicts_for_startup(startup) == []  # idempotent
        assert conflicts.detect_conflicts_for_coordinator(db.get(User, world.users["coordinator"])) == []
        event = db.scalar(select(AuditEvent).where(AuditEvent.action == "conflict.detect"))
        assert event.after["startup_id"] == world.startup_id and event.after["source"] == "detected"


def test_startup_website_on_coordinators_domain_is_detected_for_the_coordinator(app):
    world = build_world(app, "proposed", emails={"coordinator": "kelvin@mail.acme.com.hk"})
    with app.app_context():
        db.get(Startup, world.startup_id).website = "https://www.acme.com.hk"
        db.get(Startup, world.other_startup_id).website = "https://www.other.com.hk"
        db.commit()
        found = conflicts.detect_conflicts_for_coordinator(db.get(User, world.users["coordinator"]))
        db.commit()
        assert [c.startup_id for c in found] == [world.startup_id]
        assert "website" in found[0].reason


def test_shared_mail_providers_are_not_conflicts(app):
    world = build_world(app, "proposed", emails={"coordinator": "kelvin@gmail.com", "member": "ceo@gmail.com"})
    with app.app_context():
        assert conflicts.detect_conflicts_for_startup(db.get(Startup, world.startup_id)) == []
        assert not conflicts.has_conflict(db.get(User, world.users["coordinator"]), world.startup_id)


def test_officers_conflicts_count_on_panels_but_are_not_stored_and_members_have_none(app):
    """An officer sits on scoring panels, so an obvious conflict keeps them off; sign-in detection
    stores conflicts for the lab's coordinators only."""
    world = build_world(app, "proposed", emails={"officer_own": "o@acme.hk", "member": "ceo@acme.hk"})
    with app.app_context():
        officer = db.get(User, world.users["officer_own"])
        assert conflicts.detect_conflicts_for_coordinator(officer) == []
        assert set(conflicts.detected_conflicts(officer)) == {world.startup_id}
        assert conflicts.has_conflict(officer, world.startup_id)
        assert not conflicts.has_conflict(db.get(User, world.users["member"]), world.startup_id)


def test_detected_conflict_counts_before_it_is_stored(app, monkeypatch):
    """Live detection: even if detection never ran (nor at sign-in), the coordinator cannot decide."""
    monkeypatch.setattr(conflicts, "detect_conflicts_for_coordinator", lambda user: [])
    world = build_world(app, "proposed", emails={"coordinator": "kelvin@acme.hk", "member": "ceo@acme.hk"})
    client = client_as(app, world, "coordinator")
    assert conflict_rows(app) == [(world.users["conflicted"], world.startup_id, "declared")]
    before = snapshot(app, world.trial_id)
    response = client.post(f"/trials/{world.trial_id}/move", data=move_data(world, "approve"))
    assert response.status_code == 403
    assert "conflict of interest" in text(response)
    assert snapshot(app, world.trial_id) == before
    # The admin (another domain) may decide.
    assert client_as(app, world, "admin").post(
        f"/trials/{world.trial_id}/move", data=move_data(world, "approve")).status_code == 302


# -- declaring ----------------------------------------------------------------------------------


def test_coordinator_declares_a_conflict_and_sees_it_listed(app):
    world = build_world(app, "proposed")
    client = client_as(app, world, "coordinator")
    assert client.get("/coordinator/conflicts").status_code == 200
    response = client.post("/coordinator/conflicts", data={"startup_id": str(world.other_startup_id),
                                                          "reason": "I was their adviser in 2025."})
    assert response.status_code == 302
    page = text(client.get("/coordinator/conflicts"))
    assert "Other Co" in page and "I was their adviser in 2025." in page and "Declared" in page
    with app.app_context():
        assert conflicts.has_conflict(db.get(User, world.users["coordinator"]), world.other_startup_id)
        event = db.scalar(select(AuditEvent).where(AuditEvent.action == "conflict.declare"))
        assert event.actor_id == world.users["coordinator"] and event.after["reason"] == "I was their adviser in 2025."


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"startup_id": "", "reason": "x"}, "Choose a startup."),
        ({"startup_id": "999999", "reason": "x"}, "Choose a startup from the list."),
        ({"startup_id": "OTHER", "reason": ""}, "Say why you have a conflict"),
        ({"startup_id": "OTHER", "reason": "x" * 1001}, "Use at most 1000 characters."),
        ({"startup_id": "OWN", "reason": "Again"}, "already declared"),
    ],
)
def test_bad_declarations_are_400(app, data, message):
    world = build_world(app, "proposed")
    ids = {"OTHER": str(world.other_startup_id), "OWN": str(world.startup_id)}
    data = {k: ids.get(v, v) for k, v in data.items()}
    rows = conflict_rows(app)
    response = client_as(app, world, "conflicted").post("/coordinator/conflicts", data=data)
    assert response.status_code == 400
    assert message in text(response)
    assert conflict_rows(app) == rows


def test_declaring_a_detected_conflict_makes_it_declared(app):
    world = build_world(app, "proposed", emails={"coordinator": "kelvin@acme.hk", "member": "ceo@acme.hk"})
    with app.app_context():
        conflicts.detect_conflicts_for_startup(db.get(Startup, world.startup_id))
        db.commit()
    response = client_as(app, world, "coordinator").post(
        "/coordinator/conflicts", data={"startup_id": str(world.startup_id), "reason": "Former employer."})
    assert response.status_code == 302
    assert (world.users["coordinator"], world.startup_id, "declared") in conflict_rows(app)
    assert len(conflict_rows(app)) == 2


def test_signing_in_records_the_coordinators_detected_conflicts(app):
    world = build_world(app, "proposed", emails={"coordinator": "kelvin@acme.hk", "member": "ceo@acme.hk"})
    assert (world.users["coordinator"], world.startup_id, "detected") not in conflict_rows(app)
    client = client_as(app, world, "coordinator")  # signs in through login_user
    assert (world.users["coordinator"], world.startup_id, "detected") in conflict_rows(app)
    assert "Detected" in text(client.get("/coordinator/conflicts"))


def test_detect_button_records_detected_conflicts(app):
    world = build_world(app, "proposed", emails={"coordinator": "kelvin@acme.hk"})
    client = client_as(app, world, "coordinator")
    with app.app_context():  # a member with the coordinator's domain joins after the sign-in
        db.add(User(email="cto@acme.hk", display_name="CTO", password_hash="x", role="startup",
                    startup_id=world.startup_id))
        db.commit()
    page = text(client.get("/coordinator/conflicts"))
    assert "Not recorded yet" in page  # detected live, not stored
    response = client.post("/coordinator/conflicts/detect", follow_redirects=True)
    assert "1 conflict of interest found and recorded." in text(response)
    assert (world.users["coordinator"], world.startup_id, "detected") in conflict_rows(app)
    response = client.post("/coordinator/conflicts/detect", follow_redirects=True)
    assert "No new conflicts of interest found." in text(response)


def test_failed_detection_does_not_stop_the_sign_in(app, monkeypatch):
    world = build_world(app, "proposed")

    def broken(user):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(conflicts, "detect_conflicts_for_coordinator", broken)
    client = client_as(app, world, "coordinator")
    assert client.get("/coordinator/").status_code == 200


@pytest.mark.parametrize(("role", "status"), [
    ("anonymous", 302), ("officer_own", 403), ("member", 403), ("coordinator", 200), ("admin", 200)])
def test_conflict_pages_are_for_the_lab_only(app, role, status):
    world = build_world(app, "proposed")
    client = client_as(app, world, role)
    assert client.get("/coordinator/conflicts").status_code == status
    post = client.post("/coordinator/conflicts", data={"startup_id": str(world.startup_id), "reason": "x"})
    assert post.status_code == (status if status != 200 else 302)
    detect = client.post("/coordinator/conflicts/detect")
    assert detect.status_code == (status if status != 200 else 302)


def test_service_refuses_declarations_by_non_staff(app):
    world = build_world(app, "proposed")
    with app.app_context(), pytest.raises(conflicts.NotAllowed):
        conflicts.declare_conflict(db.get(User, world.users["member"]), db.get(Startup, world.startup_id), "x")


# -- every trial route, for the conflicted coordinator ----------------------------------------------


def test_every_trial_route_refuses_the_conflicted_coordinator(app):
    world = build_world(app, "running")
    client = client_as(app, world, "conflicted")
    before = snapshot(app, world.trial_id)
    base = f"/trials/{world.trial_id}"
    page = client.get(base)
    assert page.status_code == 200 and "You have a conflict of interest with this startup" in text(page)
    posts = {
        f"{base}/move": move_data(world, "complete"),
        f"{base}/milestones": {"title": "Go", "due_on": "2030-01-01"},
        f"{base}/milestones/{world.milestone_id}/done": {},
        f"{base}/kpis": {"name": "New", "target": "1"},
        f"{base}/kpis/{world.kpi_id}/result": {"result": "1"},
        f"{base}/notes": {"body": "Hi", "language": "en"},
    }
    for url, data in posts.items():
        response = client.post(url, data=data)
        assert response.status_code == 403, url
        assert "conflict of interest" in text(response), url
    assert snapshot(app, world.trial_id) == before


def test_queue_shows_the_conflict_and_offers_no_shortlist(app, make):
    world = build_world(app, "proposed")
    client = client_as(app, world, "conflicted")
    page = text(client.get("/coordinator/"))
    assert "Conflict of interest" in page and "another coordinator must decide" in page
    assert "We can run this pilot in eight weeks." in page  # the pitch
    own_page = text(client_as(app, world, "coordinator").get("/coordinator/"))
    assert "another coordinator must decide" not in own_page


def test_conflicted_coordinator_cannot_shortlist_a_match(app):
    world = build_world(app, "proposed")
    with app.app_context():
        # Free the pair: a second open challenge of the department, without a trial.
        trial = db.get(Trial, world.trial_id)
        challenge_id = trial.challenge_id
        db.delete(trial)
        db.commit()
    client = client_as(app, world, "conflicted")
    data = {"challenge_id": str(challenge_id), "capability_id": str(world.capability_id)}
    response = client.post("/coordinator/shortlist", data=data)
    assert response.status_code == 403
    with app.app_context():
        assert db.scalar(select(func.count()).select_from(Trial)) == 0
    assert client_as(app, world, "coordinator").post("/coordinator/shortlist", data=data).status_code == 302
    with app.app_context():
        trial = db.scalar(select(Trial))
        assert trial.status == "shortlisted"
        assert trials.has_conflict(db.get(User, world.users["conflicted"]), trial.startup_id)


def test_a_startup_registered_from_a_coordinators_domain_has_the_conflict_recorded_at_first_sign_in(app, client):
    world = build_world(app, "proposed", emails={"coordinator": "kelvin@acme.hk"})
    response = client.post("/register", data={
        "display_name": "Ada Chan", "email": "ada@acme.hk", "startup_name": "Acme Spin-off", "size": "1-10",
        "password": "a-long-unique-passphrase", "confirm": "a-long-unique-passphrase"})
    assert response.status_code == 302
    response = client.post("/login", data={"email": "ada@acme.hk", "password": "a-long-unique-passphrase"})
    assert response.status_code == 302
    with app.app_context():
        startup_id = db.scalar(select(Startup.id).where(Startup.name == "Acme Spin-off"))
    assert (world.users["coordinator"], startup_id, "detected") in conflict_rows(app)
