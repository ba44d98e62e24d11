"""Trials through the web: every move and tracking action for every role and state, the page, bad input.

The big tables are generated from ``MOVES`` and ``TRACKING`` x the trial states x eight roles.
Each case builds a small world (two departments, two startups, a challenge, a trial in the
state, one user per role), makes the request and checks the status, and that a refusal left
the database exactly as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from models import (
    AuditEvent,
    Capability,
    Challenge,
    ConflictOfInterest,
    Department,
    Kpi,
    Milestone,
    OutcomeReport,
    Proposal,
    Startup,
    Trial,
    TrialNote,
    TrialTransition,
    User,
)
from models.vocabulary import TRIAL_STATES
from portal import clock
from portal.database import db
from portal.services import recommendations
from portal.services.trials import MOVES, TRACKING
from tests.factories import _password_hash
from tests.helpers import sign_in

ROLES = (
    "anonymous", "officer_own", "officer_other", "member", "member_other", "coordinator", "conflicted", "admin",
)
#: The parts each role plays in the world's trial, written out here (not taken from the code under test).
PARTS: dict[str, set[str]] = {
    "anonymous": set(),
    "officer_own": {"department"},
    "officer_other": set(),
    "member": {"startup"},
    "member_other": set(),
    "coordinator": {"coordinator"},
    "conflicted": set(),
    "admin": {"coordinator"},
}
#: Who may see the trial at all (the others get 404: its existence is private).
VIEWERS = {"officer_own", "member", "coordinator", "conflicted", "admin"}


@dataclass
class World:
    """Ids of everything a trial case needs."""

    trial_id: int
    challenge_id: int
    startup_id: int
    other_startup_id: int
    capability_id: int
    users: dict[str, int]
    kpi_id: int | None = None
    milestone_id: int | None = None


def build_world(app: Any, state: str = "proposed", *, ready_to_start: bool = False, ready_to_complete: bool = False,
                with_proposal: bool = True,
                emails: dict[str, str] | None = None) -> World:
    """Create the world in one transaction; the trial is in ``state`` with what that state implies."""
    emails = emails or {}
    with app.app_context():
        own, other = Department(code="DH-OWN", name_en="Own unit", name_zh="本單位"), Department(
            code="DH-OTHER", name_en="Other unit", name_zh="他單位")
        startup, other_startup = Startup(name="Acme Health", language="en"), Startup(name="Other Co")
        db.add_all([own, other, startup, other_startup])
        db.flush()
        challenge = Challenge(
            department_id=own.id, title="Book clinic visits online", language="en",
            problem_statement="Patients phone the clinic to book and wait a long time.",
            functional_area="dental_clinical", status="open", opened_at=clock.now(),
            closing_on=clock.today() + timedelta(days=30),
        )
        challenge.domains = ["smart_clinic"]
        challenge.tags = ["chatbot"]
        capability = Capability(startup_id=startup.id, name="Booking bot", description="A chatbot for bookings.")
        capability.domains = ["smart_clinic"]
        capability.technologies = ["nlp"]
        db.add_all([challenge, capability])
        db.flush()
        pw = _password_hash()

        def user(key: str, role: str, **kw: Any) -> User:
            u = User(email=emails.get(key, f"{key}@example.org"), display_name=key.replace("_", " ").title(),
                     password_hash=pw, role=role, **kw)
            db.add(u)
            return u

        users = {
            "officer_own": user("officer_own", "officer", department_id=own.id),
            "officer_other": user("officer_other", "officer", department_id=other.id),
            "member": user("member", "startup", startup_id=startup.id),
            "member_other": user("member_other", "startup", startup_id=other_startup.id),
            "coordinator": user("coordinator", "coordinator"),
            "conflicted": user("conflicted", "coordinator"),
            "admin": user("admin", "admin"),
        }
        db.flush()
        db.add(ConflictOfInterest(coordinator_id=users["conflicted"].id, startup_id=startup.id,
                                  source="declared", reason="My brother founded it."))
        proposal = None
        if with_proposal:
            proposal = Proposal(challenge_id=challenge.id, startup_id=startup.id, capability_id=capability.id,
                                pitch="We can run this pilot in eight weeks.", submitted_by_id=users["member"].id)
            db.add(proposal)
            db.flush()
        trial = Trial(challenge_id=challenge.id, startup_id=startup.id, capability_id=capability.id,
                      proposal_id=proposal.id if proposal else None, status=state)
        now = clock.now()
        if state in ("approved", "running", "completed"):
            trial.approved_at = now
        if state in ("running", "completed") or ready_to_start:
            trial.department_confirmed_at = trial.startup_accepted_at = now
        if state in ("running", "completed"):
            trial.started_at = now
        if state == "completed":
            trial.completed_at = now
            trial.outcome = "adopted"
        db.add(trial)
        db.flush()
        db.add(TrialTransition(trial_id=trial.id, from_state=None, to_state=state, reason="seeded"))
        kpi = Kpi(trial_id=trial.id, name="Calls answered by the bot", target="60%")
        milestone = Milestone(trial_id=trial.id, title="Pilot live", due_on=clock.today() + timedelta(days=14))
        if state == "completed" or ready_to_complete:  # a trial completes with its milestones settled
            milestone.done_on = clock.today()
        if state == "completed":  # with its report, not yet signed off
            kpi.result = "65%"
            db.add(OutcomeReport(trial_id=trial.id, summary="The bot answered most calls."))
        db.add_all([kpi, milestone])
        db.commit()
        return World(
            trial_id=trial.id, challenge_id=challenge.id, startup_id=startup.id, other_startup_id=other_startup.id,
            capability_id=capability.id, users={k: u.id for k, u in users.items()}, kpi_id=kpi.id,
            milestone_id=milestone.id,
        )


def client_as(app: Any, world: World, role: str) -> Any:
    client = app.test_client()
    if role != "anonymous":
        sign_in(client, world.users[role])
    return client


def snapshot(app: Any, trial_id: int) -> dict[str, Any]:
    """Everything a move or tracking action could change."""
    with app.app_context():
        trial = db.get(Trial, trial_id)
        row = {c.key: getattr(trial, c.key) for c in Trial.__table__.columns}
        counts = {
            model.__name__: db.scalar(select(func.count()).select_from(model))
            for model in (TrialTransition, AuditEvent, Kpi, Milestone, TrialNote, OutcomeReport)
        }
        kpis = [(k.id, k.name, k.target, k.result) for k in db.scalars(select(Kpi).order_by(Kpi.id))]
        milestones = [(m.id, m.title, m.due_on, m.done_on, m.waived_on, m.waiver_reason)
                      for m in db.scalars(select(Milestone).order_by(Milestone.id))]
        proposals = [(p.id, p.status) for p in db.scalars(select(Proposal))]
        reports = [(r.id, r.signed_off_at, r.signed_off_by_id, r.unpublished_at, r.unpublish_reason)
                   for r in db.scalars(select(OutcomeReport).order_by(OutcomeReport.id))]
        return {"trial": row, "counts": counts, "kpis": kpis, "milestones": milestones, "proposals": proposals,
                "reports": reports}


def move_data(world: World, name: str, version: int = 1, **extra: Any) -> dict[str, Any]:
    """A valid form for move ``name``."""
    data: dict[str, Any] = {"action": name, "version": str(version), "reason": "Agreed at the panel."}
    if name == "approve":
        data["kpis"] = "Waiting time cut | 30%\nSatisfaction | 4 of 5"
    if name == "complete":
        data.update(outcome="adopted", summary="The bot answered 70% of calls.", lessons="Start with FAQs.",
                    recommendation="Adopt in all clinics.", report_language="en")
        data[f"result_{world.kpi_id}"] = "70%"
    data.update(extra)
    return data


def text(response: Any) -> str:
    return response.get_data(as_text=True)


def expected_status(role: str, actors: tuple[str, ...], allowed_state: bool) -> int:
    if role == "anonymous":
        return 302
    if role not in VIEWERS:
        return 404
    if not PARTS[role] & set(actors):
        return 403
    return 302 if allowed_state else 409


# -- every move x every state x every role --------------------------------------------------

MOVE_CASES = [(name, state, role) for name in MOVES for state in TRIAL_STATES for role in ROLES]


@pytest.mark.parametrize(("name", "state", "role"), MOVE_CASES, ids=["-".join(c) for c in MOVE_CASES])
def test_move_table(app, name, state, role):
    move = MOVES[name]
    world = build_world(app, state, ready_to_start=(name == "start"), ready_to_complete=(name == "complete"))
    before = snapshot(app, world.trial_id)
    client = client_as(app, world, role)

    response = client.post(f"/trials/{world.trial_id}/move", data=move_data(world, name))

    expected = expected_status(role, move.actors, state in move.sources)
    assert response.status_code == expected, text(response)[:2000]
    after = snapshot(app, world.trial_id)
    if expected != 302 or role == "anonymous":
        assert after == before, "a refused move changed the database"
        if role == "anonymous":
            assert "/login" in response.headers["Location"]
        if expected == 403 and role == "conflicted":
            assert "conflict of interest" in text(response)
        if expected == 409:
            assert "cannot be moved this way" in text(response)
        return
    assert response.headers["Location"].endswith(f"/trials/{world.trial_id}")
    assert after["trial"]["status"] == (move.target or state)
    assert after["trial"]["version"] == before["trial"]["version"] + 1
    assert after["counts"]["TrialTransition"] == before["counts"]["TrialTransition"] + 1
    with app.app_context():
        last = db.scalars(select(TrialTransition).order_by(TrialTransition.id.desc())).first()
        assert last.actor_id == world.users[role]
        assert last.from_state == state and last.to_state == after["trial"]["status"]
        assert last.reason
        event = db.scalar(select(AuditEvent).where(AuditEvent.action == f"trial.{name}"))
        assert event is not None and event.actor_id == world.users[role] and event.entity_id == world.trial_id
        assert event.after  # the change is recorded


# -- every tracking action x every state x every role ------------------------------------------


def tracking_request(world: World, action: str) -> tuple[str, dict[str, str]]:
    base = f"/trials/{world.trial_id}"
    return {
        "add_milestone": (f"{base}/milestones", {"title": "Training done", "due_on": "2030-01-31"}),
        "complete_milestone": (f"{base}/milestones/{world.milestone_id}/done", {}),
        "edit_milestone": (f"{base}/milestones/{world.milestone_id}/edit",
                           {f"m{world.milestone_id}-title": "Training finished", f"m{world.milestone_id}-due_on": "2030-02-28"}),
        "add_kpi": (f"{base}/kpis", {"name": "Calls to the hotline", "target": "-20%"}),
        "edit_kpi": (f"{base}/kpis/{world.kpi_id}/edit", {f"k{world.kpi_id}-name": "Calls", f"k{world.kpi_id}-target": "-25%"}),
        "record_result": (f"{base}/kpis/{world.kpi_id}/result", {"result": "65%"}),
        "add_note": (f"{base}/notes", {"body": "Week 2: staff like it.", "language": "en"}),
        "waive_milestone": (f"{base}/milestones/{world.milestone_id}/waive",
                            {f"w{world.milestone_id}-reason": "The supplier left the market."}),
        "sign_off_outcome": (f"{base}/outcome/sign-off", {}),
        "agree_outcome": (f"{base}/outcome/agree", {}),
        "record_outcome_agreement": (f"{base}/outcome/record-agreement", {"note": "By letter of 3 December 2026."}),
        "unpublish_outcome": (f"{base}/outcome/unpublish", {"reason": "A figure in the report is wrong."}),
        "correct_outcome_report": (f"{base}/outcome/correct", {"summary": "The bot answered 65% of calls.",
                                                               "lessons": "", "recommendation": "",
                                                               "report_language": "en"}),
    }[action]


def sign_off(app: Any, world: World, *, agreed: bool = True) -> None:
    """Publish the completed trial's outcome report, as the department's sign-off and the startup's
    agreement do (``agreed=False``: signed off only, waiting for the startup's agreement)."""
    with app.app_context():
        report = db.scalar(select(OutcomeReport).where(OutcomeReport.trial_id == world.trial_id))
        if report is not None:
            report.signed_off_at = clock.now()
            report.startup_agreed_at = clock.now() if agreed else None
            db.commit()


TRACKING_CASES = [(action, state, role) for action in TRACKING for state in TRIAL_STATES for role in ROLES]


@pytest.mark.parametrize(("action", "state", "role"), TRACKING_CASES, ids=["-".join(c) for c in TRACKING_CASES])
def test_tracking_table(app, action, state, role):
    rule = TRACKING[action]
    world = build_world(app, state)
    if action in ("unpublish_outcome", "agree_outcome", "record_outcome_agreement"):
        sign_off(app, world, agreed=action == "unpublish_outcome")
    before = snapshot(app, world.trial_id)
    url, data = tracking_request(world, action)

    response = client_as(app, world, role).post(url, data=data)

    expected = expected_status(role, rule.actors, state in rule.states)
    assert response.status_code == expected, text(response)[:2000]
    after = snapshot(app, world.trial_id)
    if expected != 302 or role == "anonymous":
        assert after == before, "a refused action changed the database"
        if expected == 403 and role == "conflicted":
            assert "conflict of interest" in text(response)
        return
    assert after["counts"]["AuditEvent"] == before["counts"]["AuditEvent"] + 1
    assert after["trial"]["status"] == before["trial"]["status"]
    with app.app_context():
        event = db.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert event.actor_id == world.users[role] and event.entity_type == "trial"
        assert event.entity_id == world.trial_id and event.action.startswith("trial.")


# -- the page shows only what the user may do -----------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_trial_page_access_by_role(app, role):
    world = build_world(app, "shortlisted")
    response = client_as(app, world, role).get(f"/trials/{world.trial_id}")
    if role == "anonymous":
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    elif role not in VIEWERS:
        assert response.status_code == 404
    else:
        assert response.status_code == 200
        page = text(response)
        assert ('value="approve"' in page) == (role in ("coordinator", "admin"))
        assert ('value="withdraw"' in page) == (role == "member")
        assert ("You have a conflict of interest with this startup" in page) == (role == "conflicted")


def test_trial_page_lists_conflicted_coordinators_to_staff_only(app):
    world = build_world(app, "proposed")
    assert "Conflicted" in text(client_as(app, world, "coordinator").get(f"/trials/{world.trial_id}"))
    member_page = text(client_as(app, world, "member").get(f"/trials/{world.trial_id}"))
    assert "Coordinators with a conflict of interest" not in member_page


def test_conflicted_coordinator_sees_no_buttons_on_running_trial(app):
    world = build_world(app, "running")
    page = text(client_as(app, world, "conflicted").get(f"/trials/{world.trial_id}"))
    assert 'value="complete"' not in page
    assert "/result" not in page and "/kpis\"" not in page and "/milestones\"" not in page and "/notes\"" not in page


def test_running_trial_page_offers_tracking_forms_to_coordinator(app):
    world = build_world(app, "running")
    page = text(client_as(app, world, "coordinator").get(f"/trials/{world.trial_id}"))
    for url in ("/milestones\"", "/kpis\"", f"/kpis/{world.kpi_id}/result", "/notes\"", f"/milestones/{world.milestone_id}/done"):
        assert url in page
    assert 'value="complete"' in page and f'name="result_{world.kpi_id}"' in page


@pytest.mark.parametrize("role", ["member", "coordinator"])
def test_withdrawn_trial_page_offers_no_notes_or_uploads(app, role):
    """Reached by its address, a withdrawn trial says why nothing more can be added."""
    world = build_world(app, "withdrawn")
    client = client_as(app, world, role)
    page = text(client.get(f"/trials/{world.trial_id}"))
    assert "/notes\"" not in page and 'type="file"' not in page
    assert "This trial was withdrawn: no documents can be added to it." in page
    response = client.post(f"/trials/{world.trial_id}/notes", data={"body": "One more thing.", "language": "en"})
    assert response.status_code == 409 and "This cannot be done while the trial is" in text(response)


def test_unknown_trial_is_404_and_milestone_of_other_trial_is_404(app):
    world = build_world(app, "running")
    client = client_as(app, world, "coordinator")
    assert client.get("/trials/999999").status_code == 404
    assert client.post(f"/trials/{world.trial_id}/milestones/999999/done").status_code == 404
    assert client.post(f"/trials/{world.trial_id}/kpis/999999/result", data={"result": "1"}).status_code == 404


# -- approving with KPIs, completing with an outcome report -----------------------------------


def test_approve_with_kpi_lines_records_kpis_and_audit(app):
    world = build_world(app, "shortlisted")
    client = client_as(app, world, "coordinator")
    response = client.post(f"/trials/{world.trial_id}/move", data=move_data(
        world, "approve", kpis="Waiting time cut | 30%\n\n  Satisfaction|4 of 5  "))
    assert response.status_code == 302
    with app.app_context():
        trial = db.get(Trial, world.trial_id)
        assert trial.status == "approved" and trial.approved_at is not None
        assert [(k.name, k.target) for k in trial.kpis] == [
            ("Calls answered by the bot", "60%"), ("Waiting time cut", "30%"), ("Satisfaction", "4 of 5")]
        event = db.scalar(select(AuditEvent).where(AuditEvent.action == "trial.approve"))
        assert event.before == {"status": "shortlisted", "decision_reason": "", "approved_at": None}
        assert event.after["status"] == "approved"
        assert any(key.endswith(".target") and value == "30%" for key, value in event.after.items())


@pytest.mark.parametrize("lines", ["No target here", "| 30%", "Name |", "x" * 201 + " | 1"])
def test_approve_with_bad_kpi_lines_is_400_and_changes_nothing(app, lines):
    world = build_world(app, "shortlisted")
    before = snapshot(app, world.trial_id)
    response = client_as(app, world, "coordinator").post(
        f"/trials/{world.trial_id}/move", data=move_data(world, "approve", kpis=lines))
    assert response.status_code == 400
    assert "Line 1" in text(response)
    assert snapshot(app, world.trial_id) == before


def test_approve_needs_a_reason(app):
    world = build_world(app, "proposed")
    before = snapshot(app, world.trial_id)
    response = client_as(app, world, "coordinator").post(
        f"/trials/{world.trial_id}/move", data=move_data(world, "approve", reason="   "))
    assert response.status_code == 400
    assert "Give a reason for this decision." in text(response)
    assert snapshot(app, world.trial_id) == before


def test_complete_records_outcome_report_and_results_readable_by_startup(app):
    world = build_world(app, "running", ready_to_complete=True)
    response = client_as(app, world, "coordinator").post(
        f"/trials/{world.trial_id}/move", data=move_data(world, "complete", reason=""))
    assert response.status_code == 302
    with app.app_context():
        trial = db.get(Trial, world.trial_id)
        assert trial.status == "completed" and trial.outcome == "adopted"
        assert trial.report.summary == "The bot answered 70% of calls."
        assert trial.report.recommendation == "Adopt in all clinics." and trial.report.language == "en"
        assert trial.kpis[0].result == "70%"
        assert trial.transitions[-1].reason == "The bot answered 70% of calls."
        event = db.scalar(select(AuditEvent).where(AuditEvent.action == "trial.complete"))
        assert event.after[f"kpis[{world.kpi_id}].result"] == "70%"
        assert event.after["report.summary"] == "The bot answered 70% of calls."
    page = text(client_as(app, world, "member").get(f"/trials/{world.trial_id}"))
    assert "Outcome report" in page and "Adopt in all clinics." in page and "70%" in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"outcome": ""}, "Choose the outcome of the trial."),
        ({"outcome": "famous"}, "Choose an outcome from the list."),
        ({"summary": ""}, "Summarise what the trial showed."),
        ({"result_KPI": ""}, "Enter the measured result of"),
        ({"report_language": "fr"}, "Choose a language from the list."),
        ({"lessons": "x" * 10001}, "Use at most 10000 characters."),
    ],
)
def test_complete_with_bad_report_is_400_and_changes_nothing(app, changes, message):
    world = build_world(app, "running")
    if "result_KPI" in changes:
        changes = {f"result_{world.kpi_id}": changes.pop("result_KPI")}
    before = snapshot(app, world.trial_id)
    response = client_as(app, world, "coordinator").post(
        f"/trials/{world.trial_id}/move", data=move_data(world, "complete", **changes))
    assert response.status_code == 400, text(response)[:1000]
    assert message in text(response)
    assert snapshot(app, world.trial_id) == before


def test_an_empty_outcome_report_names_every_problem_at_once(app):
    """A coordinator sending the report with nothing filled in hears of the outcome, the
    summary and each KPI's result together, not one a submit."""
    world = build_world(app, "running")
    response = client_as(app, world, "coordinator").post(
        f"/trials/{world.trial_id}/move",
        data=move_data(world, "complete", outcome="", summary="", **{f"result_{world.kpi_id}": ""}))
    assert response.status_code == 400
    page = text(response)
    for message in ("Choose the outcome of the trial.", "Summarise what the trial showed.", "Enter the measured result of"):
        assert message in page, message


def test_every_wrong_kpi_line_is_named_at_once(app):
    world = build_world(app, "shortlisted")
    response = client_as(app, world, "coordinator").post(
        f"/trials/{world.trial_id}/move",
        data=move_data(world, "approve", kpis="Calls answered | 60%\nno target here\n| 5\nWait time | 3 min"))
    assert response.status_code == 400
    page = text(response)
    assert "Line 2: write each KPI as" in page and "Line 3: write each KPI as" in page


def test_start_before_both_confirmed_is_409(app):
    world = build_world(app, "approved")
    before = snapshot(app, world.trial_id)
    response = client_as(app, world, "coordinator").post(
        f"/trials/{world.trial_id}/move", data=move_data(world, "start"))
    assert response.status_code == 409
    assert "Both the department and the startup must confirm" in text(response)
    assert snapshot(app, world.trial_id) == before


def test_confirm_and_accept_then_start(app):
    world = build_world(app, "approved")
    officer, member, coordinator = (client_as(app, world, r) for r in ("officer_own", "member", "coordinator"))
    assert officer.post(f"/trials/{world.trial_id}/move", data=move_data(world, "confirm", version=1)).status_code == 302
    # A second confirmation from a page loaded before is stale.
    assert officer.post(f"/trials/{world.trial_id}/move", data=move_data(world, "confirm", version=1)).status_code == 409
    assert member.post(f"/trials/{world.trial_id}/move", data=move_data(world, "accept", version=2)).status_code == 302
    assert member.post(f"/trials/{world.trial_id}/move", data=move_data(world, "accept", version=3)).status_code == 409
    response = coordinator.post(f"/trials/{world.trial_id}/move", data=move_data(world, "start", version=3))
    assert response.status_code == 302
    with app.app_context():
        trial = db.get(Trial, world.trial_id)
        assert trial.status == "running" and trial.started_at is not None
        assert [t.to_state for t in trial.transitions] == ["approved", "approved", "approved", "running"]


@pytest.mark.parametrize(("state", "move"), [("shortlisted", "withdraw"), ("approved", "decline")])
def test_withdrawing_or_declining_withdraws_the_proposal_too(app, state, move):
    world = build_world(app, state)
    response = client_as(app, world, "member").post(
        f"/trials/{world.trial_id}/move", data=move_data(world, move))
    assert response.status_code == 302
    with app.app_context():
        trial = db.get(Trial, world.trial_id)
        assert trial.status == "withdrawn" and trial.proposal.status == "withdrawn"
        assert db.scalar(select(AuditEvent).where(AuditEvent.action == "proposal.withdraw")) is not None


def test_stale_version_is_409_with_message_and_changes_nothing(app):
    world = build_world(app, "shortlisted")
    with app.app_context():
        trial = db.get(Trial, world.trial_id)
        trial.decision_reason = "touched"
        db.commit()  # version 2
    before = snapshot(app, world.trial_id)
    response = client_as(app, world, "coordinator").post(
        f"/trials/{world.trial_id}/move", data=move_data(world, "approve", version=1))
    assert response.status_code == 409
    assert "changed by someone else" in text(response)
    assert snapshot(app, world.trial_id) == before


@pytest.mark.parametrize(
    "data",
    [
        {"action": "explode", "version": "1"},
        {"action": "approve"},
        {"action": "approve", "version": "abc"},
        {"action": "approve", "version": "0"},
        {"action": "approve", "version": "99999999999999"},
        {"action": "approve", "version": "1", "reason": "x" * 3001},
    ],
)
def test_bad_move_forms_are_400(app, data):
    world = build_world(app, "shortlisted")
    before = snapshot(app, world.trial_id)
    response = client_as(app, world, "coordinator").post(f"/trials/{world.trial_id}/move", data=data)
    assert response.status_code == 400
    assert snapshot(app, world.trial_id) == before


# -- tracking details ---------------------------------------------------------------------------


def test_milestone_added_then_marked_done(app):
    world = build_world(app, "running")
    client = client_as(app, world, "officer_own")
    assert client.post(f"/trials/{world.trial_id}/milestones",
                       data={"title": "Go live", "due_on": "2030-02-01"}).status_code == 302
    assert client.post(f"/trials/{world.trial_id}/milestones/{world.milestone_id}/done").status_code == 302
    # Twice is a conflict with the current state.
    assert client.post(f"/trials/{world.trial_id}/milestones/{world.milestone_id}/done").status_code == 409
    with app.app_context():
        trial = db.get(Trial, world.trial_id)
        assert [(m.title, m.done_on is not None) for m in trial.milestones] == [
            ("Pilot live", True), ("Go live", False)]
        actions = list(db.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
        assert actions == ["trial.milestone_add", "trial.milestone_done"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"title": "", "due_on": "2030-01-01"}, "Name the milestone."),
        ({"title": "Go", "due_on": ""}, "Enter the date the milestone is due."),
        ({"title": "Go", "due_on": "2030-02-30"}, "Enter a real date"),
        ({"title": "Go", "due_on": "1999-12-31"}, "Enter a date between 2000 and 2100."),
        ({"title": "x" * 201, "due_on": "2030-01-01"}, "Use at most 200 characters."),
    ],
)
def test_bad_milestone_is_400(app, data, message):
    world = build_world(app, "running")
    before = snapshot(app, world.trial_id)
    response = client_as(app, world, "member").post(f"/trials/{world.trial_id}/milestones", data=data)
    assert response.status_code == 400
    assert message in text(response)
    assert snapshot(app, world.trial_id) == before


@pytest.mark.parametrize(
    ("url", "data", "message"),
    [
        ("kpis", {"name": "", "target": "1"}, "Name the KPI."),
        ("kpis", {"name": "Calls answered by the bot", "target": "1"}, "There is already a KPI called"),
        ("kpis", {"name": "A", "target": ""}, "target."),
        ("result", {"result": ""}, "Enter the measured result."),
        ("notes", {"body": "", "language": "en"}, "Write the note."),
        ("notes", {"body": "Hi", "language": "fr"}, "Choose a language from the list."),
    ],
)
def test_bad_tracking_input_is_400(app, url, data, message):
    world = build_world(app, "running")
    path = {"kpis": f"/trials/{world.trial_id}/kpis", "result": f"/trials/{world.trial_id}/kpis/{world.kpi_id}/result",
            "notes": f"/trials/{world.trial_id}/notes"}[url]
    before = snapshot(app, world.trial_id)
    response = client_as(app, world, "coordinator").post(path, data=data)
    assert response.status_code == 400
    assert message in text(response)
    assert snapshot(app, world.trial_id) == before


def test_note_in_chinese_is_shown_with_its_language(app):
    world = build_world(app, "running")
    client = client_as(app, world, "member")
    assert client.post(f"/trials/{world.trial_id}/notes", data={"body": "進展良好", "language": "zh-Hant"}).status_code == 302
    page = text(client_as(app, world, "officer_own").get(f"/trials/{world.trial_id}"))
    assert '<p class="govuk-body" lang="zh-Hant">進展良好</p>' in page


def test_user_content_is_escaped_on_the_page(app):
    world = build_world(app, "running")
    client = client_as(app, world, "coordinator")
    client.post(f"/trials/{world.trial_id}/notes", data={"body": "<script>alert(1)</script>", "language": "en"})
    page = text(client.get(f"/trials/{world.trial_id}"))
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_trial_page_in_chinese_renders(app):
    world = build_world(app, "running")
    client = client_as(app, world, "coordinator")
    with client.session_transaction() as session:
        session["locale"] = "zh_Hant_HK"
    assert client.get(f"/trials/{world.trial_id}").status_code == 200


# -- the coordinators' queue ------------------------------------------------------------------


@pytest.mark.parametrize(("role", "status"), [
    ("anonymous", 302), ("officer_own", 403), ("member", 403), ("coordinator", 200), ("admin", 200)])
def test_queue_is_for_the_lab_only(app, role, status):
    world = build_world(app, "proposed")
    assert client_as(app, world, role).get("/coordinator/").status_code == status


def test_queue_shows_pitch_match_score_and_a_link_to_decide(app):
    world = build_world(app, "proposed")
    page = text(client_as(app, world, "coordinator").get("/coordinator/"))
    assert "We can run this pilot in eight weeks." in page
    assert "Booking bot" in page
    assert 'class="im-score im-score--' in page and "Match score" in page
    assert f"/trials/{world.trial_id}" in page and "Review, approve or reject" in page


def test_queue_lists_feedback_on_recommendations(app):
    from models import Dismissal

    world = build_world(app, "proposed")
    with app.app_context():
        db.add(Dismissal(user_id=world.users["officer_own"], challenge_id=world.challenge_id,
                         startup_id=world.other_startup_id, direction="for_challenge", reason="not_relevant: wrong domain"))
        db.commit()
    page = text(client_as(app, world, "coordinator").get("/coordinator/"))
    assert "Feedback on recommendations" in page
    assert "Officer Own" in page and "Other Co" in page and "Not relevant to our work: wrong domain" in page
    assert "not_relevant" not in page  # the reason's code is shown as words


def test_queue_queries_do_not_grow_with_pending_proposals(app, make):
    """Each pending proposal gets a match score, which reads its challenge's domains, tags
    and query vector: they come in a fixed number of queries, not a few per challenge."""
    from sqlalchemy import event

    coordinator = make.user("coordinator")
    startup = make.startup(name="Queue Co")
    capability = make.capability(startup, name="Booking bot", description="A chatbot that books clinic appointments.")
    client = app.test_client()
    sign_in(client, coordinator.id)

    def queries() -> int:
        seen: list[str] = []
        engine = app.extensions["innomatch_engine"]
        listener = lambda *args: seen.append(args[2])
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert client.get("/coordinator/").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    def post(title: str, **kw):  # type: ignore[no-untyped-def]
        # As posting does: the challenge's vectors are cached when it is saved.
        # Opened earlier than the queue's suggested challenges, so not loaded with them.
        challenge = make.challenge(title=title, opened_at=clock.now() - timedelta(days=20), **kw)
        with app.app_context():
            recommendations.challenge_changed(db.get(Challenge, challenge.id))
            db.commit()
        return challenge

    for n in range(8):
        make.challenge(title=f"Newest {n}")
    make.trial(post("Clinic booking"), capability)
    client.get("/coordinator/")  # the rankers are fitted on the first view
    make.trial(post("Clinic booking again", tags=["sms"]), capability)
    one = queries()  # one new challenge to score
    for n in range(5):
        make.trial(post(f"Clinic booking {n}", tags=["chatbot", "sms"]), capability)
    assert queries() == one  # five new ones


def test_queue_pages_the_pending_proposals_oldest_first(app, make):
    from portal.coordinator.routes import PENDING_PAGE_SIZE

    coordinator = make.user("coordinator")
    capability = make.capability(make.startup(name="Paged Co"), name="Booking bot")
    start = clock.now() - timedelta(days=60)
    titles = [f"Waiting challenge {n:03d}" for n in range(PENDING_PAGE_SIZE + 3)]
    for n, title in enumerate(titles):
        # Opened long ago: the same text everywhere, but not new enough to be checked for duplicates.
        make.trial(make.challenge(title=title, opened_at=start), capability, created_at=start + timedelta(hours=n))
    client = app.test_client()
    sign_in(client, coordinator.id)
    first = text(client.get("/coordinator/"))
    assert f"({len(titles)})" in first
    assert all(t in first for t in titles[:PENDING_PAGE_SIZE]) and titles[-1] not in first
    assert "?page=2" in first
    second = text(client.get("/coordinator/?page=2"))
    assert all(t in second for t in titles[PENDING_PAGE_SIZE:]) and titles[0] not in second
    # Past the end, or not a number: the last page, or the first.
    assert titles[-1] in text(client.get("/coordinator/?page=999999999999"))
    assert titles[0] in text(client.get("/coordinator/?page=x"))


def test_error_summary_links_to_the_field_of_the_posted_move(app):
    world = build_world(app, "running")
    response = client_as(app, world, "coordinator").post(
        f"/trials/{world.trial_id}/move", data=move_data(world, "complete", summary=""))
    assert response.status_code == 400
    page = text(response)
    assert '<a href="#complete-summary">Summarise what the trial showed.</a>' in page
    assert 'id="complete-summary"' in page and 'id="complete-summary-error"' in page


def test_guessed_language_of_content_without_one(app):
    from portal.services.trials import content_language

    assert content_language("已收到建議書，待確認。") == "zh-Hant"
    assert content_language("Received; KPI 達標") == "en"
    assert content_language("Anything", "zh-Hant") == "zh-Hant"
    assert content_language("") == "en" and content_language(None) == "en"


def _selected(page: str, name: str) -> str:
    """The value the page's select ``name`` sends when left as it is."""
    select_html = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.DOTALL)
    assert select_html, f"no select {name}"
    options = re.findall(r"<option([^>]*)>", select_html.group(1))
    chosen = next((attrs for attrs in options if re.search(r"\bselected\b", attrs)), options[0])
    return re.search(r'value="([^"]*)"', chosen).group(1)


def test_english_note_on_a_chinese_challenge_is_stored_as_english(app):
    world = build_world(app, "running")
    with app.app_context():
        db.get(Challenge, world.challenge_id).language = "zh-Hant"
        db.commit()
    client = client_as(app, world, "member")
    page = text(client.get(f"/trials/{world.trial_id}"))
    language = _selected(page, "language")  # the form as the member leaves it
    body = "The pilot clinic booked 120 appointments this week."
    assert client.post(f"/trials/{world.trial_id}/notes", data={"body": body, "language": language}).status_code == 302
    with app.app_context():
        assert db.scalar(select(TrialNote.language).where(TrialNote.body == body)) == "en"
    chinese = "試點診所本週預約了一百二十個。"
    assert client.post(f"/trials/{world.trial_id}/notes", data={"body": chinese, "language": language}).status_code == 302
    with app.app_context():
        assert db.scalar(select(TrialNote.language).where(TrialNote.body == chinese)) == "zh-Hant"


def test_outcome_report_in_english_on_a_chinese_challenge_is_stored_as_english(app):
    world = build_world(app, "running", ready_to_complete=True)
    with app.app_context():
        db.get(Challenge, world.challenge_id).language = "zh-Hant"
        db.commit()
    client = client_as(app, world, "coordinator")
    page = text(client.get(f"/trials/{world.trial_id}"))
    with app.app_context():
        version = db.get(Trial, world.trial_id).version
    response = client.post(f"/trials/{world.trial_id}/move", data=move_data(
        world, "complete", version, summary="Waiting times fell by a third at both clinics.",
        report_language=_selected(page, "report_language"),
    ))
    assert response.status_code == 302, text(response)[:2000]
    with app.app_context():
        assert db.scalar(select(OutcomeReport.language).where(OutcomeReport.trial_id == world.trial_id)) == "en"


# -- changing and removing milestones and KPIs before completion --------------------------------


def test_milestone_due_in_the_past_is_refused_when_added(app):
    world = build_world(app, "running")
    before = snapshot(app, world.trial_id)
    yesterday = (clock.today() - timedelta(days=1)).isoformat()
    response = client_as(app, world, "member").post(
        f"/trials/{world.trial_id}/milestones", data={"title": "Kick-off", "due_on": yesterday}
    )
    assert response.status_code == 400
    assert "Enter a due date that is today or later." in text(response)
    assert snapshot(app, world.trial_id) == before
    today = clock.today().isoformat()
    assert client_as(app, world, "member").post(
        f"/trials/{world.trial_id}/milestones", data={"title": "Kick-off", "due_on": today}
    ).status_code == 302


def test_milestone_is_renamed_and_moved_with_an_audit_event(app):
    world = build_world(app, "running")
    mid = world.milestone_id
    due = (clock.today() + timedelta(days=30)).isoformat()
    response = client_as(app, world, "officer_own").post(
        f"/trials/{world.trial_id}/milestones/{mid}/edit", data={f"m{mid}-title": "Pilot live in two clinics", f"m{mid}-due_on": due}
    )
    assert response.status_code == 302
    with app.app_context():
        milestone = db.get(Milestone, mid)
        assert (milestone.title, milestone.due_on.isoformat()) == ("Pilot live in two clinics", due)
        event = db.scalar(select(AuditEvent).where(AuditEvent.action == "trial.milestone_edit"))
        assert event.before[f"milestones[{mid}].title"] == "Pilot live"
        assert event.after[f"milestones[{mid}].title"] == "Pilot live in two clinics"


def test_milestone_cannot_be_moved_into_the_past(app):
    world = build_world(app, "running")
    mid = world.milestone_id
    before = snapshot(app, world.trial_id)
    response = client_as(app, world, "member").post(
        f"/trials/{world.trial_id}/milestones/{mid}/edit",
        data={f"m{mid}-title": "Pilot live", f"m{mid}-due_on": (clock.today() - timedelta(days=3)).isoformat()},
    )
    assert response.status_code == 400
    page = text(response)
    assert "Enter a due date that is today or later." in page
    assert f'href="#m{mid}-due_on"' in page and f'id="m{mid}-due_on"' in page  # the summary links to the field
    assert snapshot(app, world.trial_id) == before


def test_milestone_and_kpi_are_removed_with_audit_events(app):
    world = build_world(app, "running")
    client = client_as(app, world, "coordinator")
    assert client.post(f"/trials/{world.trial_id}/milestones/{world.milestone_id}/remove").status_code == 302
    assert client.post(f"/trials/{world.trial_id}/kpis/{world.kpi_id}/remove").status_code == 302
    with app.app_context():
        assert db.get(Milestone, world.milestone_id) is None and db.get(Kpi, world.kpi_id) is None
        actions = set(db.scalars(select(AuditEvent.action)))
        assert {"trial.milestone_remove", "trial.kpi_remove"} <= actions


def test_kpi_is_edited_but_not_to_the_name_of_another(app):
    world = build_world(app, "running")
    kid = world.kpi_id
    client = client_as(app, world, "officer_own")
    assert client.post(f"/trials/{world.trial_id}/kpis", data={"name": "Satisfaction", "target": "4 of 5"}).status_code == 302
    clash = client.post(f"/trials/{world.trial_id}/kpis/{kid}/edit", data={f"k{kid}-name": "satisfaction", f"k{kid}-target": "1"})
    assert clash.status_code == 400
    assert "There is already a KPI called" in text(clash)
    ok = client.post(f"/trials/{world.trial_id}/kpis/{kid}/edit", data={f"k{kid}-name": "Waiting time", f"k{kid}-target": "-40%"})
    assert ok.status_code == 302
    with app.app_context():
        assert db.get(Kpi, kid).target == "-40%"


def test_milestones_and_kpis_cannot_change_once_the_trial_is_completed(app):
    world = build_world(app, "completed")
    before = snapshot(app, world.trial_id)
    client = client_as(app, world, "coordinator")
    assert client.post(f"/trials/{world.trial_id}/milestones/{world.milestone_id}/remove").status_code == 409
    assert client.post(f"/trials/{world.trial_id}/kpis/{world.kpi_id}/remove").status_code == 409
    assert snapshot(app, world.trial_id) == before


def test_startup_cannot_change_kpis(app):
    world = build_world(app, "running")
    before = snapshot(app, world.trial_id)
    assert client_as(app, world, "member").post(f"/trials/{world.trial_id}/kpis/{world.kpi_id}/remove").status_code == 403
    assert snapshot(app, world.trial_id) == before


# -- outcome sign-off ---------------------------------------------------------------------------


def test_complete_with_an_open_milestone_is_400_naming_it_and_changes_nothing(app):
    world = build_world(app, "running")
    before = snapshot(app, world.trial_id)
    response = client_as(app, world, "coordinator").post(
        f"/trials/{world.trial_id}/move", data=move_data(world, "complete"))
    assert response.status_code == 400
    assert "Mark these milestones as done or waive them first: Pilot live." in text(response)
    assert snapshot(app, world.trial_id) == before


def test_officer_waives_a_milestone_with_a_reason_shown_on_the_page(app):
    world = build_world(app, "running")
    client = client_as(app, world, "officer_own")
    url = f"/trials/{world.trial_id}/milestones/{world.milestone_id}/waive"
    before = snapshot(app, world.trial_id)
    blank = client.post(url, data={f"w{world.milestone_id}-reason": " "})
    assert blank.status_code == 400 and "Say why the milestone is waived." in text(blank)
    assert snapshot(app, world.trial_id) == before
    assert client.post(url, data={f"w{world.milestone_id}-reason": "The clinic closed."}).status_code == 302
    page = text(client.get(f"/trials/{world.trial_id}"))
    assert "Waived" in page and "The clinic closed." in page and url not in page


def test_outcome_reaches_the_showcase_only_after_the_sign_off_and_the_startups_agreement(app):
    world = build_world(app, "completed")
    public = app.test_client()
    trial_url = f"/trials/{world.trial_id}"
    assert "The bot answered most calls." not in text(public.get("/showcase"))

    officer = client_as(app, world, "officer_own")
    page = text(officer.get(trial_url))
    assert "Department: not signed off yet." in page and "Startup: not agreed yet." in page
    assert "Sign off the outcome" in page and "Agree to publish the outcome" not in page
    coordinator = client_as(app, world, "coordinator")
    assert "Sign off the outcome" not in text(coordinator.get(trial_url))
    assert coordinator.post(f"{trial_url}/outcome/sign-off").status_code == 403
    assert coordinator.post(f"{trial_url}/outcome/agree").status_code == 403

    signed = officer.post(f"{trial_url}/outcome/sign-off", follow_redirects=True)
    assert "The outcome is signed off. It goes on the showcase once the startup agrees." in text(signed)
    assert "The bot answered most calls." not in text(public.get("/showcase"))
    assert officer.post(f"{trial_url}/outcome/sign-off").status_code == 409

    member = client_as(app, world, "member")
    page = text(member.get(trial_url))
    assert "Department: signed off on" in page and "Agree to publish the outcome" in page
    # "Our trials" says what the startup is asked to do.
    assert "The department signed off the outcome: agree to its publication" in text(member.get("/startups/trials"))
    agreed = member.post(f"{trial_url}/outcome/agree", follow_redirects=True)
    assert "You agreed, and the outcome is published on the showcase." in text(agreed)
    assert "The bot answered most calls." in text(public.get("/showcase"))
    assert member.post(f"{trial_url}/outcome/agree").status_code == 409
    assert "Agree to publish the outcome" not in text(member.get(trial_url))


def test_a_signed_off_outcome_keeps_the_capabilitys_name_when_the_startup_renames_it(app):
    """The showcase and the API show the record as the department signed it off;
    the trial page also says what the capability is called now (walkthrough of 7 Dec 2026)."""
    world = build_world(app, "completed")
    officer = client_as(app, world, "officer_own")
    assert officer.post(f"/trials/{world.trial_id}/outcome/sign-off").status_code == 302
    assert client_as(app, world, "member").post(f"/trials/{world.trial_id}/outcome/agree").status_code == 302
    with app.app_context():
        trial = db.get(Trial, world.trial_id)
        signed = trial.capability.name
        assert trial.report.capability_name == signed
        trial.capability.name = "RenamedBot Pro"
        db.commit()
    showcase = text(app.test_client().get("/showcase"))
    assert signed in showcase and "RenamedBot Pro" not in showcase
    page = text(officer.get(f"/trials/{world.trial_id}"))
    assert signed in page and "named RenamedBot Pro since the sign-off" in page
    items = app.test_client().get("/api/v1/trials").get_json()["items"]
    assert [item["capability"] for item in items] == [signed]


def test_lab_unpublishes_an_outcome_with_a_reason(app):
    world = build_world(app, "completed")
    sign_off(app, world)
    coordinator = client_as(app, world, "coordinator")
    url = f"/trials/{world.trial_id}/outcome/unpublish"
    assert "Unpublish the outcome report" in text(coordinator.get(f"/trials/{world.trial_id}"))
    blank = coordinator.post(url, data={"reason": ""})
    assert blank.status_code == 400 and "Say why the outcome report is unpublished." in text(blank)
    assert "The bot answered most calls." in text(app.test_client().get("/showcase"))

    assert coordinator.post(url, data={"reason": "The savings figure is wrong."}).status_code == 302
    assert "The bot answered most calls." not in text(app.test_client().get("/showcase"))
    page = text(client_as(app, world, "officer_own").get(f"/trials/{world.trial_id}"))
    assert "The savings figure is wrong." in page and "Sign off the outcome" in page
    # The startup agreed to the report as it was: it is asked again, once the department has
    # signed off the report as put right.
    member = client_as(app, world, "member")
    page = text(member.get(f"/trials/{world.trial_id}"))
    assert "Startup: not agreed yet." in page and "Agree to publish the outcome" not in page
    assert client_as(app, world, "officer_own").post(f"/trials/{world.trial_id}/outcome/sign-off").status_code == 302
    assert "Agree to publish the outcome" in text(member.get(f"/trials/{world.trial_id}"))


def test_the_history_shows_each_step_of_the_outcomes_publication_in_order(app):
    world = build_world(app, "completed")
    trial_url = f"/trials/{world.trial_id}"
    officer, member = client_as(app, world, "officer_own"), client_as(app, world, "member")
    coordinator = client_as(app, world, "coordinator")
    assert officer.post(f"{trial_url}/outcome/sign-off").status_code == 302
    assert member.post(f"{trial_url}/outcome/agree").status_code == 302
    assert coordinator.post(f"{trial_url}/outcome/unpublish", data={"reason": "The savings figure is wrong."}).status_code == 302
    assert officer.post(f"{trial_url}/outcome/sign-off").status_code == 302
    page = text(member.get(trial_url))
    history = page[page.index(">History<"):]
    steps = re.findall(r"<strong>(The (?:department|startup|lab) [^<]*)</strong>", history)
    assert steps == [
        "The department signed off the outcome report",
        "The startup agreed to publish the outcome report",
        "The lab unpublished the outcome report",
        "The department signed off the outcome report",
    ]
    assert "The savings figure is wrong." in history
    # The moves are still there, before the steps (the trial was completed first).
    assert history.index("<strong>Completed</strong>") < history.index("The department signed off")


def test_a_coordinator_records_the_startups_agreement_given_in_writing(app):
    world = build_world(app, "completed")
    sign_off(app, world, agreed=False)
    trial_url = f"/trials/{world.trial_id}"
    coordinator = client_as(app, world, "coordinator")
    assert "The startup agreed outside InnoMatch" in text(coordinator.get(trial_url))
    assert "The startup agreed outside InnoMatch" not in text(client_as(app, world, "member").get(trial_url))
    blank = coordinator.post(f"{trial_url}/outcome/record-agreement", data={"note": ""})
    assert blank.status_code == 400 and "Say how the startup agreed." in text(blank)
    assert "<details class=\"govuk-details\" open>" in text(blank)  # the form stays open with its error
    assert "The bot answered most calls." not in text(app.test_client().get("/showcase"))
    done = coordinator.post(f"{trial_url}/outcome/record-agreement", data={"note": "Letter of 3 Dec 2026, file 12."},
                            follow_redirects=True)
    page = text(done)
    assert "The startup&#39;s agreement is recorded, and the outcome is published on the showcase." in page
    assert "The startup agreed outside InnoMatch; the lab recorded how:" in page
    assert "Letter of 3 Dec 2026, file 12." in page
    history = page[page.index(">History<"):]
    assert "The lab recorded the startup&#39;s agreement to publish the outcome report" in history
    assert "The bot answered most calls." in text(app.test_client().get("/showcase"))
    assert coordinator.post(f"{trial_url}/outcome/record-agreement", data={"note": "Again."}).status_code == 409


def test_a_signed_off_outcomes_results_stay_as_signed_off_until_the_lab_unpublishes_it(app):
    """The showcase shows the KPI results under the department's sign-off: while it is published
    they cannot be changed; the lab unpublishes it (saying why) to correct one, and the
    department signs it off again."""
    world = build_world(app, "completed")
    coordinator = client_as(app, world, "coordinator")
    url, _data = tracking_request(world, "record_result")
    page = text(coordinator.get(f"/trials/{world.trial_id}"))
    # Before the sign-off the results may be corrected, and the page says until when.
    assert f'action="{url}"' in page and "until the department signs off the outcome report" in page
    sign_off(app, world)
    page = text(coordinator.get(f"/trials/{world.trial_id}"))
    assert f'action="{url}"' not in page and "the results stay as signed off" in page
    before = snapshot(app, world.trial_id)
    refused = coordinator.post(url, data={"result": "50%"})
    assert refused.status_code == 409 and "unpublish the outcome report first" in text(refused)
    assert snapshot(app, world.trial_id) == before and "50%" not in text(app.test_client().get("/showcase"))

    unpublish_url, reason = tracking_request(world, "unpublish_outcome")
    assert coordinator.post(unpublish_url, data=reason).status_code == 302
    assert f'action="{url}"' in text(coordinator.get(f"/trials/{world.trial_id}"))
    assert coordinator.post(url, data={"result": "50%"}).status_code == 302


def test_the_lab_corrects_the_report_text_on_the_trial_page_once_it_is_unpublished(app):
    world = build_world(app, "completed")
    sign_off(app, world)
    coordinator = client_as(app, world, "coordinator")
    url, data = tracking_request(world, "correct_outcome_report")
    page = text(coordinator.get(f"/trials/{world.trial_id}"))
    assert f'action="{url}"' not in page  # the sign-off stands: unpublish first
    refused = coordinator.post(url, data=data)
    assert refused.status_code == 409 and "unpublish it first" in text(refused)
    unpublish_url, reason = tracking_request(world, "unpublish_outcome")
    assert coordinator.post(unpublish_url, data=reason).status_code == 302
    page = text(coordinator.get(f"/trials/{world.trial_id}"))
    assert f'action="{url}"' in page and "Correct the outcome report" in page
    # A bad correction is shown on the page, the form open with what was typed and its errors.
    bad = coordinator.post(url, data={**data, "summary": "", "lessons": "Keep this lesson."})
    page = text(bad)
    assert bad.status_code == 400 and "Summarise what the trial showed." in page
    assert 'id="correct-report" open' in page and "Keep this lesson." in page
    assert coordinator.post(url, data=data).status_code == 302
    page = text(coordinator.get(f"/trials/{world.trial_id}"))
    assert "The bot answered 65% of calls." in page and "Corrected by the lab on" in page
    # What changed, word by word: the summary as it was, struck out, and as it is now.
    changes = page[page.index('id="report-changes"'):]
    assert "What the lab changed" in changes
    assert "The bot answered <del>most</del> calls." in changes and "The bot answered <ins>65% of</ins> calls." in changes
    assert "The lab corrected the outcome report" in page  # in the trial's history
    officer = text(client_as(app, world, "officer_own").get(f"/trials/{world.trial_id}"))
    assert "Corrected by the lab on" in officer and f'action="{url}"' not in officer
    assert "has not corrected the report" not in officer  # the sign-off is asked about as usual


def test_signing_off_an_unpublished_report_the_lab_has_not_corrected_asks_again(app):
    world = build_world(app, "completed")
    sign_off(app, world)
    unpublish_url, reason = tracking_request(world, "unpublish_outcome")
    assert client_as(app, world, "coordinator").post(unpublish_url, data=reason).status_code == 302
    officer = text(client_as(app, world, "officer_own").get(f"/trials/{world.trial_id}"))
    assert "The lab has not corrected the report's text since it unpublished it." in officer


def test_switching_language_after_a_form_error_returns_to_the_page_the_form_was_on(app):
    """A refused move is answered at the address the form posts to, which a browser cannot
    open (405): the language switch on that answer goes back to the trial page instead."""
    import re

    world = build_world(app, "proposed")
    client = client_as(app, world, "coordinator")
    page_url = f"/trials/{world.trial_id}"
    client.get(page_url)
    response = client.post(f"{page_url}/move", data={"action": "reject", "reason": "", "version": "1"},
                           headers={"Referer": f"http://localhost{page_url}"})
    assert response.status_code in (400, 409)
    target = re.search(r'name="next" value="([^"]+)"', response.get_data(as_text=True)).group(1)
    assert target == page_url
    switched = client.post("/language", data={"locale": "zh_Hant_HK", "next": target})
    assert switched.status_code == 302 and switched.headers["Location"].endswith(page_url)
    assert client.get(page_url).status_code == 200
    # Without a Referer from this site that a browser can open, it goes to the home page.
    for headers in ({}, {"Referer": "https://elsewhere.example/trials/1"},
                    {"Referer": f"http://localhost{page_url}/move"}):
        response = client.post(f"{page_url}/move", data={"action": "reject", "reason": ""}, headers=headers)
        assert re.search(r'name="next" value="([^"]+)"', response.get_data(as_text=True)).group(1) == "/"


def test_outcome_sign_off_page_in_chinese(app):
    world = build_world(app, "completed")
    client = client_as(app, world, "officer_own")
    client.post("/language", data={"locale": "zh_Hant_HK"})
    page = text(client.get(f"/trials/{world.trial_id}"))
    assert "確認成果" in page and "部門：尚未確認。" in page and "初創企業：尚未同意。" in page


def test_queue_lists_the_latest_running_trials_and_links_to_all_of_them(app, make):
    from portal.services import queue as queue_service

    coordinator = make.user("coordinator")
    challenge = make.challenge(title="Clinic queue display")
    trials = [
        make.trial(challenge, make.capability(make.startup(name=f"Running Co {i}"), name="Queue screens"), status="running")
        for i in range(queue_service.ACTIVE_ROWS + 3)
    ]
    client = app.test_client()
    sign_in(client, coordinator.id)
    page = client.get("/coordinator/").get_data(as_text=True)
    listed = {int(tid) for tid in re.findall(r'href="/trials/(\d+)"', page)}
    assert len(listed & {t.id for t in trials}) == queue_service.ACTIVE_ROWS
    assert f"The {queue_service.ACTIVE_ROWS} most recently changed of {len(trials)} are listed." in page
    assert 'href="/dashboard"' in page


def test_confirming_and_accepting_say_what_was_done_not_the_state_again(app):
    world = build_world(app, "approved")
    officer, member = (client_as(app, world, r) for r in ("officer_own", "member"))
    confirmed = officer.post(f"/trials/{world.trial_id}/move", data=move_data(world, "confirm", version=1),
                             follow_redirects=True)
    assert "You confirmed the trial for your department." in text(confirmed)
    accepted = member.post(f"/trials/{world.trial_id}/move", data=move_data(world, "accept", version=2),
                           follow_redirects=True)
    assert "You accepted the trial." in text(accepted) and "The trial is now" not in text(accepted)


def test_the_approval_shows_the_kpis_already_on_the_trial(app):
    """KPIs added before the approval stay: the approve form lists them, so they are not typed again."""
    world = build_world(app, "shortlisted")
    page = text(client_as(app, world, "coordinator").get(f"/trials/{world.trial_id}"))
    approve = page[page.index('value="approve"'):]
    assert "Already on this trial (kept; add only the ones missing):" in approve
    assert "Calls answered by the bot: 60%" in approve[:approve.index("</form>")]
