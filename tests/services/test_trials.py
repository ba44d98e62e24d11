"""The trial state machine called directly: refusals by role and by state, effects, audit, tracking."""

from __future__ import annotations

from datetime import date

import pytest
from flask_login import AnonymousUserMixin
from sqlalchemy import func, select

from models import AuditEvent, Document, Kpi, Notification, Trial, TrialNote, TrialTransition, User
from models.vocabulary import TRIAL_STATES
from portal.database import db
from portal.errors import DomainError, DomainErrors, NotAllowed, StaleState
from portal.services import notifications, stats, trials
from portal.services.trials import MOVES, TRACKING, OutcomeData, parse_kpi_lines
from tests.web.test_trials import PARTS, ROLES, World, build_world, sign_off

TRACKING_ON_COMPLETED = {"sign_off_outcome", "agree_outcome", "record_outcome_agreement", "unpublish_outcome",
                         "correct_outcome_report"}

REPORT = {"outcome": "extended", "summary": "Worked for the pilot clinic.", "lessons": "", "recommendation": ""}


def actor(world: World, role: str) -> User | AnonymousUserMixin:
    if role == "anonymous":
        return AnonymousUserMixin()
    return db.get(User, world.users[role])


def counts() -> tuple[int, int]:
    return (db.scalar(select(func.count()).select_from(TrialTransition)),
            db.scalar(select(func.count()).select_from(AuditEvent)))


def kwargs_for(world: World, name: str) -> dict:
    if name == "approve":
        return {"kpis": [("Accuracy", "90%")]}
    if name == "complete":
        return {"report": {**REPORT, "results": {world.kpi_id: "91%"}}}
    return {}


# -- every move by every role, from the move's first source state ---------------------------------

ROLE_CASES = [(name, role) for name in MOVES for role in ROLES]


@pytest.mark.parametrize(("name", "role"), ROLE_CASES, ids=["-".join(c) for c in ROLE_CASES])
def test_move_by_role(app, name, role):
    move = MOVES[name]
    state = move.sources[0]
    world = build_world(app, state, ready_to_start=(name == "start"), ready_to_complete=(name == "complete"))
    with app.app_context():
        trial = db.get(Trial, world.trial_id)
        before = counts()
        if PARTS[role] & set(move.actors):
            transition = trials.move_trial(actor(world, role), trial, name, "Because.",
                                           expected_version=1, **kwargs_for(world, name))
            db.commit()
            assert transition.actor_id == world.users[role]
            assert trial.status == (move.target or state) and trial.version == 2
            withdrawn_proposal = 1 if name in ("withdraw", "decline") else 0  # proposal.withdraw too
            assert counts() == (before[0] + 1, before[1] + 1 + withdrawn_proposal)
        else:
            with pytest.raises(NotAllowed):
                trials.move_trial(actor(world, role), trial, name, "Because.",
                                  expected_version=1, **kwargs_for(world, name))
            db.rollback()
            assert db.get(Trial, world.trial_id).status == state and counts() == before


# -- every move in every state it does not leave from ---------------------------------------------

STATE_CASES = [(name, state) for name in MOVES for state in TRIAL_STATES if state not in MOVES[name].sources]


@pytest.mark.parametrize(("name", "state"), STATE_CASES, ids=["-".join(c) for c in STATE_CASES])
def test_move_from_wrong_state_is_stale_state(app, name, state):
    role = {"coordinator": "coordinator", "department": "officer_own", "startup": "member"}[MOVES[name].actors[0]]
    world = build_world(app, state)
    with app.app_context():
        trial = db.get(Trial, world.trial_id)
        with pytest.raises(StaleState, match="cannot be moved this way"):
            trials.move_trial(actor(world, role), trial, name, "Because.", **kwargs_for(world, name))


def test_unknown_move_is_domain_error(app):
    world = build_world(app)
    with app.app_context(), pytest.raises(DomainError, match="Unknown action"):
        trials.move_trial(actor(world, "coordinator"), db.get(Trial, world.trial_id), "teleport")


def test_role_is_checked_before_version_and_state(app):
    """A party without the right part learns nothing about the trial's state or version."""
    world = build_world(app, "completed")
    with app.app_context(), pytest.raises(NotAllowed):
        trials.move_trial(actor(world, "member"), db.get(Trial, world.trial_id), "approve", "x", expected_version=7)


def test_conflicted_coordinator_gets_the_conflict_message(app):
    world = build_world(app, "proposed")
    with app.app_context():
        trial = db.get(Trial, world.trial_id)
        with pytest.raises(NotAllowed, match="conflict of interest"):
            trials.move_trial(actor(world, "conflicted"), trial, "approve", "x")
        assert trials.allowed_moves(actor(world, "conflicted"), trial) == []


@pytest.mark.parametrize("role", ROLES)
def test_allowed_moves_match_the_table(app, role):
    world = build_world(app, "approved")
    with app.app_context():
        trial = db.get(Trial, world.trial_id)
        names = {m.name for m in trials.allowed_moves(actor(world, role), trial)}
        expected = {n for n, m in MOVES.items() if "approved" in m.sources and PARTS[role] & set(m.actors)}
        expected.discard("start")  # neither party has confirmed yet
        assert names == expected


# -- effects and audit ---------------------------------------------------------------------------


def test_complete_audit_event_has_before_and_after(app):
    world = build_world(app, "running", ready_to_complete=True)
    with app.app_context():
        trial = db.get(Trial, world.trial_id)
        trials.move_trial(actor(world, "coordinator"), trial, "complete",
                          report={**REPORT, "results": {world.kpi_id: "91%"}, "language": "zh-Hant"})
        db.commit()
        event = db.scalar(select(AuditEvent).where(AuditEvent.action == "trial.complete"))
        assert event.before["status"] == "running" and event.before["outcome"] is None
        assert event.before[f"kpis[{world.kpi_id}].result"] is None
        assert event.after["status"] == "completed" and event.after["outcome"] == "extended"
        assert event.after["report.language"] == "zh-Hant"
        assert trial.decision_reason == "Worked for the pilot clinic."


def test_complete_keeps_results_recorded_earlier(app):
    world = build_world(app, "running", ready_to_complete=True)
    with app.app_context():
        trial = db.get(Trial, world.trial_id)
        trials.record_kpi_result(actor(world, "coordinator"), trial, db.get(Kpi, world.kpi_id), "55%")
        trials.move_trial(actor(world, "coordinator"), trial, "complete", report=REPORT)
        db.commit()
        assert trial.kpis[0].result == "55%"


def test_complete_with_result_for_unknown_kpi_is_stale(app):
    world = build_world(app, "running")
    with app.app_context(), pytest.raises(StaleState):
        trials.move_trial(actor(world, "coordinator"), db.get(Trial, world.trial_id), "complete",
                          report={**REPORT, "results": {999999: "1"}})


def test_outcome_data_accepts_mapping_or_dataclass():
    assert OutcomeData.coerce(None) == OutcomeData()
    assert OutcomeData.coerce({"summary": "s", "ignored": 1}).summary == "s"
    data = OutcomeData(summary="x")
    assert OutcomeData.coerce(data) is data


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ("A | 1", [("A", "1")]),
        ("  A|1 \n\n B | 2 | extra", [("A", "1"), ("B", "2 | extra")]),
        ("平均輪候時間 | 減少30%", [("平均輪候時間", "減少30%")]),
    ],
)
def test_parse_kpi_lines(text, expected):
    assert parse_kpi_lines(text) == expected


@pytest.mark.parametrize("text", ["A", "A |", "| 1", "\n".join(f"K{i} | 1" for i in range(21))])
def test_parse_kpi_lines_refuses_bad_lines(text, app):
    with app.test_request_context(), pytest.raises(DomainError) as error:
        parse_kpi_lines(text)
    assert error.value.field == "kpis"


def test_approve_refuses_duplicate_kpi_names(app):
    world = build_world(app, "proposed")
    with app.app_context(), pytest.raises(DomainError, match="already a KPI"):
        trials.move_trial(actor(world, "coordinator"), db.get(Trial, world.trial_id), "approve", "ok",
                          kpis=[("Calls answered by the bot", "1")])


# -- tracking ------------------------------------------------------------------------------------

TRACK_CASES = [(action, role) for action in TRACKING for role in ROLES]


@pytest.mark.parametrize(("action", "role"), TRACK_CASES, ids=["-".join(c) for c in TRACK_CASES])
def test_tracking_by_role(app, action, role):
    world = build_world(app, "completed" if action in TRACKING_ON_COMPLETED else "running")
    if action in ("unpublish_outcome", "agree_outcome", "record_outcome_agreement"):
        sign_off(app, world, agreed=action == "unpublish_outcome")
    with app.app_context():
        trial = db.get(Trial, world.trial_id)
        user = actor(world, role)
        calls = {
            "add_milestone": lambda: trials.add_milestone(user, trial, {"title": "Go", "due_on": date(2030, 1, 1)}),
            "complete_milestone": lambda: trials.complete_milestone(user, trial, trial.milestones[0]),
            "add_kpi": lambda: trials.add_kpi(user, trial, {"name": "New", "target": "1"}),
            "record_result": lambda: trials.record_kpi_result(user, trial, trial.kpis[0], "2"),
            "add_note": lambda: trials.add_note(user, trial, {"body": "Hello", "language": "en"}),
            "edit_milestone": lambda: trials.edit_milestone(
                user, trial, trial.milestones[0], {"title": "Renamed", "due_on": date(2030, 1, 1)}
            ),
            "edit_kpi": lambda: trials.edit_kpi(user, trial, trial.kpis[0], {"name": "Renamed", "target": "2"}),
            "waive_milestone": lambda: trials.waive_milestone(user, trial, trial.milestones[0], "No longer needed."),
            "sign_off_outcome": lambda: trials.sign_off_outcome(user, trial),
            "agree_outcome": lambda: trials.agree_outcome(user, trial),
            "record_outcome_agreement": lambda: trials.record_outcome_agreement(user, trial, "By letter."),
            "unpublish_outcome": lambda: trials.unpublish_outcome(user, trial, "A figure is wrong."),
            "correct_outcome_report": lambda: trials.correct_outcome_report(user, trial, {"summary": "Put right."}),
        }
        before = counts()
        assert trials.may(user, trial, action) == bool(PARTS[role] & set(TRACKING[action].actors))
        if PARTS[role] & set(TRACKING[action].actors):
            calls[action]()
            db.commit()
            assert counts() == (before[0], before[1] + 1)
        else:
            with pytest.raises(NotAllowed):
                calls[action]()
            db.rollback()
            assert counts() == before


def test_tracking_does_not_bump_the_trial_version(app):
    """Notes and milestones never make a coordinator's open decision form stale."""
    world = build_world(app, "running")
    with app.app_context():
        trial = db.get(Trial, world.trial_id)
        trials.add_note(actor(world, "member"), trial, {"body": "Hi"})
        trials.add_milestone(actor(world, "member"), trial, {"title": "Go", "due_on": date(2030, 1, 1)})
        db.commit()
        assert trial.version == 1


def test_milestone_due_date_must_be_a_date(app):
    world = build_world(app, "running")
    with app.app_context():
        with pytest.raises(DomainError) as error:
            trials.add_milestone(actor(world, "coordinator"), db.get(Trial, world.trial_id),
                                 {"title": "Go", "due_on": "2030-01-01"})
        assert error.value.field == "due_on"


def test_open_actions_follow_the_state(app):
    world = build_world(app, "completed")
    with app.app_context():
        trial = db.get(Trial, world.trial_id)
        assert trials.open_actions(actor(world, "coordinator"), trial) == {
            "record_result", "add_note", "unpublish_outcome", "record_outcome_agreement", "correct_outcome_report"}
        assert trials.open_actions(actor(world, "officer_own"), trial) == {"add_note", "sign_off_outcome"}
        assert trials.open_actions(actor(world, "member"), trial) == {"add_note", "agree_outcome"}
        assert trials.open_actions(actor(world, "conflicted"), trial) == set()


@pytest.mark.parametrize("state", ["withdrawn", "rejected"])
def test_a_trial_that_ended_early_is_kept_as_it_was_left(app, state):
    """No party adds notes or documents to a withdrawn or rejected trial; the page offers neither."""
    import io

    from portal.services import documents

    world = build_world(app, state)
    with app.app_context():
        trial = db.get(Trial, world.trial_id)
        for role in ("coordinator", "officer_own", "member"):
            user = actor(world, role)
            assert "add_note" not in trials.open_actions(user, trial)
            with pytest.raises(StaleState):
                trials.add_note(user, trial, {"body": "One more thing.", "language": "en"})
            assert not documents.may_attach(user, trial)
            with pytest.raises(StaleState) as error:
                documents.attach_document(user, trial, io.BytesIO(b"%PDF-1.4 x"), "late.pdf")
            assert state in str(error.value)
        # What is there stays: only the lab may still remove a document (say, one sent by mistake).
        assert documents.closed_reason(trial, removing=True) is not None
        db.rollback()
        assert db.scalar(select(func.count()).select_from(TrialNote)) == 0
        assert db.scalar(select(func.count()).select_from(Document)) == 0


def test_match_scores_for_proposals(app):
    world = build_world(app, "proposed")
    with app.app_context():
        trial = db.get(Trial, world.trial_id)
        scores = trials.match_scores([trial])
        assert set(scores) <= {trial.id}
        assert all(0 <= s <= 1.5 for s in scores.values())
        assert trials.match_scores([]) == {}


# -- outcome sign-off: settled milestones, the department's sign-off, the lab's unpublishing -----


def test_complete_is_refused_naming_the_milestones_neither_done_nor_waived(app):
    world = build_world(app, "running")
    with app.app_context():
        trial = db.get(Trial, world.trial_id)
        with pytest.raises(DomainError, match="Pilot live"):
            trials.move_trial(actor(world, "coordinator"), trial, "complete",
                              report={**REPORT, "results": {world.kpi_id: "91%"}})
        db.rollback()
        trial = db.get(Trial, world.trial_id)
        trials.waive_milestone(actor(world, "officer_own"), trial, trial.milestones[0], "The clinic closed for repairs.")
        trials.move_trial(actor(world, "coordinator"), trial, "complete",
                          report={**REPORT, "results": {world.kpi_id: "91%"}})
        db.commit()
        assert trial.status == "completed"


def test_complete_is_refused_naming_a_kpi_without_a_measured_result(app):
    world = build_world(app, "running", ready_to_complete=True)
    with app.app_context(), pytest.raises(DomainError, match="Calls answered by the bot"):
        trials.move_trial(actor(world, "coordinator"), db.get(Trial, world.trial_id), "complete", report=REPORT)


def test_waiving_a_milestone_needs_a_reason_and_is_audited(app):
    world = build_world(app, "running")
    with app.app_context():
        trial = db.get(Trial, world.trial_id)
        milestone = trial.milestones[0]
        with pytest.raises(DomainError, match="Say why the milestone is waived."):
            trials.waive_milestone(actor(world, "coordinator"), trial, milestone, "  ")
        trials.waive_milestone(actor(world, "coordinator"), trial, milestone, "Supplier left the market.")
        db.commit()
        assert milestone.settled and milestone.waiver_reason == "Supplier left the market."
        event = db.scalar(select(AuditEvent).where(AuditEvent.action == "trial.milestone_waive"))
        assert event.after[f"milestones[{milestone.id}].waiver_reason"] == "Supplier left the market."
        with pytest.raises(StaleState):
            trials.waive_milestone(actor(world, "coordinator"), trial, milestone, "Again.")
        with pytest.raises(StaleState):
            trials.complete_milestone(actor(world, "coordinator"), trial, milestone)


def test_a_waiver_reason_is_one_line_as_its_input(app):
    world = build_world(app, "running")
    with app.app_context():
        trial = db.get(Trial, world.trial_id)
        milestone = next(m for m in trial.milestones if m.done_on is None)
        with pytest.raises(DomainError, match="at most 200"):
            trials.waive_milestone(actor(world, "coordinator"), trial, milestone, "x" * 201)
        with pytest.raises(DomainError, match="one line"):
            trials.waive_milestone(actor(world, "coordinator"), trial, milestone, "Two\nlines")
        assert milestone.waived_on is None
        trials.waive_milestone(actor(world, "coordinator"), trial, milestone, "x" * 200)
        assert milestone.waiver_reason == "x" * 200


def test_a_done_milestone_cannot_be_waived(app):
    world = build_world(app, "running", ready_to_complete=True)
    with app.app_context():
        trial = db.get(Trial, world.trial_id)
        with pytest.raises(StaleState):
            trials.waive_milestone(actor(world, "coordinator"), trial, trial.milestones[0], "Not needed.")


def _told_of_publication(world: World) -> set[int]:
    return set(db.scalars(select(Notification.user_id).where(Notification.kind == "outcome_signed_off")))


def test_sign_off_and_the_startups_agreement_publish_the_outcome_audited_and_told(app):
    world = build_world(app, "completed")
    with app.app_context():
        trial = db.get(Trial, world.trial_id)
        assert not trial.report.published
        report = trials.sign_off_outcome(actor(world, "officer_own"), trial)
        db.commit()
        # Signed off, but the startup has not agreed: not public, and nobody is told it is.
        assert not report.published and report.signed_off_by_id == world.users["officer_own"]
        assert trials.results_locked(trial)  # the results stay as the department signed them off
        assert trial not in stats.showcase()
        assert _told_of_publication(world) == set()
        # ... and the startup's members are asked to agree.
        asked = set(db.scalars(select(Notification.user_id).where(Notification.kind == "outcome_agreement")))
        assert asked == {world.users["member"]}
        event = db.scalar(select(AuditEvent).where(AuditEvent.action == "trial.outcome_sign_off"))
        assert event.before["report.signed_off_at"] is None and event.after["report.signed_off_at"]
        with pytest.raises(StaleState, match="already signed off"):
            trials.sign_off_outcome(actor(world, "officer_own"), trial)
        report = trials.agree_outcome(actor(world, "member"), trial)
        db.commit()
        assert report.published and report.startup_agreed_by_id == world.users["member"]
        assert trial in stats.showcase()
        event = db.scalar(select(AuditEvent).where(AuditEvent.action == "trial.outcome_agree"))
        assert event.before["report.startup_agreed_at"] is None and event.after["report.startup_agreed_at"]
        # The lab's coordinators, and the department whose sign-off it was.
        assert _told_of_publication(world) == {
            world.users["coordinator"], world.users["conflicted"], world.users["officer_own"]}
        with pytest.raises(StaleState, match="already agreed"):
            trials.agree_outcome(actor(world, "member"), trial)


def test_a_startup_agrees_only_to_a_signed_off_report_and_each_state_is_told_once(app):
    world = build_world(app, "completed")
    with app.app_context():
        trial = db.get(Trial, world.trial_id)
        with pytest.raises(StaleState, match="not signed off the outcome report yet"):
            trials.agree_outcome(actor(world, "member"), trial)
        trials.sign_off_outcome(actor(world, "officer_own"), trial)
        db.commit()
        # The job that asks the startup runs again (a retry, or a second job): asked once.
        notifications.notify_outcome_publication(trial, actor(world, "officer_own"))
        db.commit()
        asked = db.scalars(select(Notification.user_id).where(Notification.kind == "outcome_agreement")).all()
        assert asked == [world.users["member"]]
        # The lab unpublishes before the startup answers: the startup and the department are
        # told once, the request to agree no longer stands (marked read), and a late job of the
        # sign-off asks nobody again.
        trials.unpublish_outcome(actor(world, "coordinator"), trial, "A figure is wrong.")
        db.commit()
        notifications.notify_outcome_publication(trial, actor(world, "officer_own"))
        db.commit()
        kinds = db.execute(select(Notification.kind, Notification.user_id, Notification.read_at)).all()
        assert sorted((kind, user) for kind, user, _read in kinds if kind == "outcome_unpublished") == sorted(
            [("outcome_unpublished", world.users["member"]), ("outcome_unpublished", world.users["officer_own"])])
        requests = [read for kind, _user, read in kinds if kind == "outcome_agreement"]
        assert len(requests) == 1 and requests[0] is not None


def test_the_lab_records_an_agreement_the_startup_gave_outside_the_service(app):
    world = build_world(app, "completed")
    note = "By email from its director on 3 December 2026."
    with app.app_context():
        trial = db.get(Trial, world.trial_id)
        coordinator = actor(world, "coordinator")
        with pytest.raises(StaleState, match="not signed off the outcome report yet"):
            trials.record_outcome_agreement(coordinator, trial, note)
        trials.sign_off_outcome(actor(world, "officer_own"), trial)
        db.commit()
        for someone in ("member", "officer_own"):  # the startup agrees on the page; the department cannot
            with pytest.raises(NotAllowed):
                trials.record_outcome_agreement(actor(world, someone), trial, note)
        with pytest.raises(DomainError, match="Say how the startup agreed."):
            trials.record_outcome_agreement(coordinator, trial, "  ")
        report = trials.record_outcome_agreement(coordinator, trial, f"  {note} ")
        db.commit()
        assert report.published and report.startup_agreement_note == note
        assert report.startup_agreed_by_id == world.users["coordinator"] and trial in stats.showcase()
        event = db.scalar(select(AuditEvent).where(AuditEvent.action == "trial.outcome_agree_record"))
        assert event.after["report.startup_agreement_note"] == note and event.before["report.startup_agreed_at"] is None
        # The lab and the department are told it is public; the startup's members that the lab
        # recorded their agreement.
        assert world.users["officer_own"] in _told_of_publication(world)
        assert world.users["member"] not in _told_of_publication(world)
        recorded = db.scalars(select(Notification.user_id).where(Notification.kind == "outcome_agreement_recorded"))
        assert list(recorded) == [world.users["member"]]
        with pytest.raises(StaleState, match="already agreed"):
            trials.agree_outcome(actor(world, "member"), trial)
        # Unpublishing takes the recorded agreement back with the rest.
        trials.unpublish_outcome(coordinator, trial, "A figure is wrong.")
        db.commit()
        assert report.startup_agreed_at is None and report.startup_agreement_note == ""


def test_unpublishing_needs_a_reason_and_the_department_can_sign_off_again(app):
    world = build_world(app, "completed")
    sign_off(app, world)
    with app.app_context():
        trial = db.get(Trial, world.trial_id)
        with pytest.raises(DomainError, match="Say why the outcome report is unpublished."):
            trials.unpublish_outcome(actor(world, "coordinator"), trial, "")
        trials.unpublish_outcome(actor(world, "coordinator"), trial, "The savings figure is wrong.")
        db.commit()
        assert not trial.report.published and trial.report.unpublish_reason == "The savings figure is wrong."
        event = db.scalar(select(AuditEvent).where(AuditEvent.action == "trial.outcome_unpublish"))
        assert event.after["report.unpublish_reason"] == "The savings figure is wrong."
        with pytest.raises(StaleState, match="not signed off"):
            trials.unpublish_outcome(actor(world, "coordinator"), trial, "Again.")
        # The startup agreed to the report as it was: it is asked again for the report put right.
        assert trial.report.startup_agreed_at is None
        trials.sign_off_outcome(actor(world, "officer_own"), trial)
        db.commit()
        assert not trial.report.published and trial.report.unpublish_reason == ""
        trials.agree_outcome(actor(world, "member"), trial)
        db.commit()
        assert trial.report.published


def test_the_lab_corrects_an_unpublished_report_and_the_department_signs_off_the_correction(app):
    world = build_world(app, "completed")
    sign_off(app, world)
    with app.app_context():
        trial = db.get(Trial, world.trial_id)
        coordinator = actor(world, "coordinator")
        text = {"summary": "The bot answered 65% of calls.", "lessons": "Train staff first.",
                "recommendation": "Adopt it in two clinics.", "language": "en"}
        # While the sign-off stands the results are locked: the text too.
        assert "correct_outcome_report" not in trials.open_actions(coordinator, trial)
        with pytest.raises(StaleState, match="unpublish it first"):
            trials.correct_outcome_report(coordinator, trial, text)
        db.rollback()
        trials.unpublish_outcome(coordinator, trial, "The savings figure is wrong.")
        db.commit()
        assert "correct_outcome_report" in trials.open_actions(coordinator, trial)
        with pytest.raises(DomainErrors) as errors:
            trials.correct_outcome_report(coordinator, trial, {**text, "summary": "  ", "lessons": "x" * 10001})
        assert {e.field for e in errors.value.problems} == {"summary", "lessons"}
        old_summary = trial.report.summary
        report = trials.correct_outcome_report(coordinator, trial, {**text, "summary": f"  {text['summary']} "})
        db.commit()
        assert (report.summary, report.lessons, report.recommendation) == (
            text["summary"], text["lessons"], text["recommendation"])
        assert report.corrected_at is not None and not report.sign_off_stands
        event = db.scalar(select(AuditEvent).where(AuditEvent.action == "trial.outcome_correct"))
        assert event.before["report.summary"] == old_summary and event.after["report.summary"] == text["summary"]
        assert [e.step for e in trials.history(trial) if e.step][-1] == "trial.outcome_correct"
        # Saving it unchanged changes nothing.
        with pytest.raises(DomainError, match="as it was"):
            trials.correct_outcome_report(coordinator, trial, text)
        # The department is asked once to sign the correction off (a second job tells nobody).
        notifications.notify_outcome_publication(trial, coordinator)
        db.commit()
        asked = db.scalars(select(Notification.user_id).where(Notification.kind == "outcome_corrected")).all()
        assert asked == [world.users["officer_own"]]
        # It signs off the report as corrected (its request is then read), and the startup agrees to it.
        trials.sign_off_outcome(actor(world, "officer_own"), trial)
        db.commit()
        notifications.notify_outcome_publication(trial, actor(world, "officer_own"))
        db.commit()
        assert db.scalar(select(Notification.read_at).where(Notification.kind == "outcome_corrected")) is not None
        trials.agree_outcome(actor(world, "member"), trial)
        db.commit()
        assert trial.report.published and trial.report.summary == text["summary"]


def test_what_the_lab_changed_is_each_part_as_it_was_before_the_round(app):
    """The audit log keeps only what each correction changed: a part no correction touched is
    not shown as changed, and a part changed by a later correction shows its value before the round."""
    world = build_world(app, "completed")
    sign_off(app, world)
    with app.app_context():
        trial = db.get(Trial, world.trial_id)
        trial.report.lessons = "Train the staff first."
        trial.report.recommendation = "Adopt it in two clinics."
        db.commit()
        coordinator = actor(world, "coordinator")
        trials.unpublish_outcome(coordinator, trial, "A figure is wrong.")
        db.commit()
        original = trial.report.summary
        text = {"summary": "The bot answered 65% of calls.", "lessons": "Train the staff first.",
                "recommendation": "Adopt it in two clinics.", "language": "en"}
        trials.correct_outcome_report(coordinator, trial, text)
        db.commit()
        assert trials.corrections(trial) == [("summary", original, "The bot answered 65% of calls.")]
        trials.correct_outcome_report(coordinator, trial, {**text, "lessons": "Train the staff in week one."})
        db.commit()
        assert trials.corrections(trial) == [
            ("summary", original, "The bot answered 65% of calls."),
            ("lessons", "Train the staff first.", "Train the staff in week one."),
        ]


def test_a_correction_made_since_the_page_was_read_is_neither_signed_off_nor_overwritten_unread(app):
    world = build_world(app, "completed")
    sign_off(app, world)
    with app.app_context():
        trial = db.get(Trial, world.trial_id)
        coordinator = actor(world, "coordinator")
        trials.unpublish_outcome(coordinator, trial, "A figure is wrong.")
        db.commit()
        read_before = ""  # the officer's page: no correction yet
        trials.correct_outcome_report(coordinator, trial, {"summary": "Corrected once."}, seen_correction="")
        db.commit()
        seen = trial.report.corrected_at.isoformat()
        # A second coordinator read the page before the first correction: refused, not overwritten.
        with pytest.raises(StaleState, match="Another coordinator corrected"):
            trials.correct_outcome_report(coordinator, trial, {"summary": "Corrected twice."},
                                          seen_correction=read_before)
        db.rollback()
        with pytest.raises(StaleState, match="after you opened the page"):
            trials.sign_off_outcome(actor(world, "officer_own"), trial, seen_correction=read_before)
        db.rollback()
        assert not db.get(Trial, world.trial_id).report.sign_off_stands
        report = trials.sign_off_outcome(actor(world, "officer_own"), trial, seen_correction=seen)
        db.commit()
        assert report.sign_off_stands and report.summary == "Corrected once."


def test_saving_the_same_text_again_is_no_correction_even_when_its_language_was_never_chosen(app):
    world = build_world(app, "completed")
    with app.app_context():
        trial = db.get(Trial, world.trial_id)
        assert trial.report.language is None
        with pytest.raises(DomainError, match="as it was"):
            trials.correct_outcome_report(actor(world, "coordinator"), trial,
                                          {"summary": trial.report.summary, "lessons": trial.report.lessons,
                                           "recommendation": trial.report.recommendation})
