"""Two coordinators deciding on the same trial at once: exactly one move wins, nothing is lost or doubled.

On PostgreSQL two real transactions run in two threads, each with its own app context and
session, synchronised with a barrier so that both have loaded the trial before either
commits. On any database, two sessions one after the other check the optimistic version.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest
from sqlalchemy import func, select

from models import AuditEvent, Trial, TrialTransition, User
from portal.database import db
from portal.errors import StaleState
from portal.services import trials
from tests.web.test_trials import build_world, client_as, move_data

ON_POSTGRES = os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")
postgres_only = pytest.mark.skipif(not ON_POSTGRES, reason="needs TEST_DATABASE_URL=postgresql+psycopg://...")


def state_of(app: Any, trial_id: int) -> tuple[str, int, list[str], list[str]]:
    with app.app_context():
        trial = db.get(Trial, trial_id)
        transitions = list(db.scalars(
            select(TrialTransition.to_state).where(TrialTransition.trial_id == trial_id).order_by(TrialTransition.id)))
        actions = list(db.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
        return trial.status, trial.version, transitions, actions


def run_together(*jobs: Any) -> list[Any]:
    """Run each job in its own thread; return what each returned or raised."""
    results: list[Any] = [None] * len(jobs)

    def runner(i: int, job: Any) -> None:
        try:
            results[i] = job()
        except BaseException as error:  # noqa: BLE001 - reported to the test
            results[i] = error

    threads = [threading.Thread(target=runner, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive(), "a transaction hung"
    return results


@postgres_only
@pytest.mark.postgres
@pytest.mark.parametrize("repeat", range(3))
def test_approve_and_reject_at_once_exactly_one_wins(app, repeat):
    world = build_world(app, "shortlisted")
    with app.app_context():
        second = User(email="second@example.org", display_name="Second", password_hash="x", role="coordinator")
        db.add(second)
        db.commit()
        second_id = second.id
    barrier = threading.Barrier(2, timeout=20)

    def decide(user_id: int, name: str) -> str:
        with app.app_context():
            user = db.get(User, user_id)
            trial = db.get(Trial, world.trial_id)
            assert trial.version == 1
            barrier.wait()  # both have loaded version 1; neither has written
            try:
                trials.move_trial(user, trial, name, f"{name} by {user.display_name}", expected_version=1)
                db.commit()
            except StaleState:
                db.rollback()
                return "stale"
            return "moved"

    results = run_together(
        lambda: decide(world.users["coordinator"], "approve"), lambda: decide(second_id, "reject"))

    assert sorted(results) == ["moved", "stale"], results
    status, version, transitions, actions = state_of(app, world.trial_id)
    winner = "approve" if results[0] == "moved" else "reject"
    assert status == {"approve": "approved", "reject": "rejected"}[winner]
    assert version == 2
    assert transitions == ["shortlisted", status]  # exactly one transition added
    assert actions == [f"trial.{winner}"]  # exactly one audit event


@postgres_only
@pytest.mark.postgres
def test_two_coordinators_through_the_web_one_gets_409(app, monkeypatch):
    world = build_world(app, "shortlisted")
    with app.app_context():
        second = User(email="second@example.org", display_name="Second", password_hash="x", role="coordinator")
        db.add(second)
        db.commit()
        world.users["second"] = second.id
    barrier = threading.Barrier(2, timeout=20)
    real_move = trials.move_trial

    def move_after_both_loaded(*args: Any, **kwargs: Any) -> Any:
        barrier.wait()  # both requests have loaded the trial and validated their forms
        return real_move(*args, **kwargs)

    monkeypatch.setattr(trials, "move_trial", move_after_both_loaded)
    first, other = client_as(app, world, "coordinator"), client_as(app, world, "second")
    url = f"/trials/{world.trial_id}/move"

    responses = run_together(
        lambda: first.post(url, data=move_data(world, "approve")),
        lambda: other.post(url, data=move_data(world, "reject")),
    )

    codes = sorted(r.status_code for r in responses)
    assert codes == [302, 409], codes
    loser = next(r for r in responses if r.status_code == 409)
    assert "changed by someone else" in loser.get_data(as_text=True)
    status, version, transitions, actions = state_of(app, world.trial_id)
    assert status in ("approved", "rejected") and version == 2
    assert transitions == ["shortlisted", status]
    assert len(actions) == 1


def test_stale_copy_in_a_second_session_is_refused(app):
    """Any database: session B loads, session A moves and commits, B's move on its stale copy fails."""
    world = build_world(app, "shortlisted")
    with app.app_context():  # session B
        b_user = db.get(User, world.users["admin"])
        b_trial = db.get(Trial, world.trial_id)
        assert b_trial.version == 1
        with app.app_context():  # session A, at the same time
            trials.move_trial(db.get(User, world.users["coordinator"]), db.get(Trial, world.trial_id), "approve",
                              "Good fit.", expected_version=1)
            db.commit()
        # B's own copy still says version 1, so only the database's version check can catch it.
        with pytest.raises(StaleState, match="changed by someone else"):
            trials.move_trial(b_user, b_trial, "reject", "Not a fit.", expected_version=1)
        db.rollback()
    status, version, transitions, actions = state_of(app, world.trial_id)
    assert (status, version) == ("approved", 2)
    assert transitions == ["shortlisted", "approved"]
    assert actions == ["trial.approve"]


def test_stale_version_from_the_form_is_refused_before_writing(app):
    world = build_world(app, "shortlisted")
    with app.app_context():
        trials.move_trial(db.get(User, world.users["coordinator"]), db.get(Trial, world.trial_id), "approve", "ok")
        db.commit()
    with app.app_context():
        with pytest.raises(StaleState):
            trials.move_trial(db.get(User, world.users["admin"]), db.get(Trial, world.trial_id), "reject", "no",
                              expected_version=1)
        assert db.scalar(select(func.count()).select_from(TrialTransition)) == 2


@postgres_only
@pytest.mark.postgres
def test_parallel_wrong_guesses_for_one_account_from_one_source_are_checked_at_most_five_times(app, make, monkeypatch):
    from portal.errors import DomainError
    from portal.services import accounts

    user = make.user("coordinator")
    checked: list[str] = []
    lock = threading.Lock()

    def slow_wrong(stored: Any, password: str) -> bool:
        with lock:
            checked.append(password)
        threading.Event().wait(0.05)  # as long as argon2 takes: the window parallel guesses aim at
        return False

    monkeypatch.setattr(accounts, "verify_password", slow_wrong)
    barrier = threading.Barrier(25, timeout=20)

    def guess(i: int) -> str:
        with app.app_context():
            barrier.wait()
            try:
                accounts.authenticate(user.email, f"guess-{i}-wrong-password", "198.51.100.66")
            except DomainError as error:
                db.commit()  # as the sign-in route does: the failure counts
                return error.message
            return "signed in"

    results = run_together(*[lambda i=i: guess(i) for i in range(25)])
    assert all(isinstance(r, str) for r in results), results
    assert len(checked) == accounts.THROTTLE_AFTER
    assert sum("Too many failed attempts" in r for r in results) == 25 - accounts.THROTTLE_AFTER
