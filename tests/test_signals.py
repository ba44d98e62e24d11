"""Signals: each use case announces what happened with the documented arguments, and each
subscriber reacts once, however many apps the process creates."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from blinker import NamedSignal
from flask import Flask
from sqlalchemy import select

from models import (
    AuditEvent,
    Capability,
    Challenge,
    Proposal,
    Startup,
    Trial,
    TrialTransition,
    User,
)
from portal import clock, create_app, jobs, signals, subscribers
from portal.config import TestConfig
from portal.database import db
from portal.services import challenges, notifications, proposals, recommendations, startups, trials
from portal.services.challenges import ChallengeData

from .factories import Factory

Heard = list[tuple[str, Any, dict[str, Any]]]

CAPABILITY = {
    "name": "ClinicBot",
    "description": "A chatbot that books clinic appointments in Cantonese and English.",
    "readiness": 5,
    "language": "en",
    "domains": ["smart_clinic"],
    "technologies": ["nlp"],
}


def challenge_data(**changes: Any) -> ChallengeData:
    values: dict[str, Any] = {
        "title": "Online booking for dental clinics",
        "problem_statement": "Patients phone the clinic to book dental appointments and wait a long time.",
        "domains": ["smart_clinic"],
        "functional_area": "dental_clinical",
        "closing_on": clock.today() + timedelta(days=30),
    }
    values.update(changes)
    return ChallengeData(**values)


@pytest.fixture
def svc(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A request context with the session; the recommender's encoding is skipped (it is slow)."""
    monkeypatch.setattr(recommendations, "challenge_changed", lambda challenge: None)
    monkeypatch.setattr(recommendations, "capability_changed", lambda capability: None)
    with app.test_request_context():
        yield db
        db.rollback()


@pytest.fixture
def heard() -> Iterator[tuple[Heard, Callable[[NamedSignal], None]]]:
    """``(log, listen)``: ``listen(signal)`` appends ``(name, sender, kwargs)`` to ``log`` on each send."""
    log: Heard = []
    connected: list[tuple[NamedSignal, Callable[..., None]]] = []

    def listen(signal: NamedSignal) -> None:
        def receiver(sender: Any, **kwargs: Any) -> None:
            log.append((signal.name, sender, kwargs))

        signal.connect(receiver, weak=False)
        connected.append((signal, receiver))

    yield log, listen
    for signal, receiver in connected:
        signal.disconnect(receiver)


def test_every_signal_is_documented_with_its_sender_and_arguments() -> None:
    assert signals.ALL
    for name, signal in signals.ALL.items():
        assert getattr(signals, name.replace("-", "_")) is signal
        assert signal.__doc__ and "Sender:" in signal.__doc__ and "Keyword arguments:" in signal.__doc__


def test_posting_and_publishing_a_challenge_announces_saved_then_opened(svc: Any, make: Factory, heard: Any) -> None:
    log, listen = heard
    for signal in signals.DOMAIN.values():
        listen(signal)
    officer = svc.get(User, make.user("officer").id)
    challenge = challenges.post_challenge(officer, challenge_data(), publish=True)
    assert log == [
        ("challenge-saved", challenge, {"actor": officer, "created": True}),
        ("challenge-opened", challenge, {"actor": officer}),
    ]


def test_editing_a_challenge_announces_saved_then_updated(svc: Any, make: Factory, heard: Any) -> None:
    log, listen = heard
    officer = svc.get(User, make.user("officer").id)
    challenge = challenges.post_challenge(officer, challenge_data())
    for signal in signals.DOMAIN.values():
        listen(signal)
    challenges.update_challenge(officer, challenge, challenge_data(title="Online booking for all clinics"))
    challenges.update_challenge(officer, challenge, challenge_data(title="Online booking for all clinics"))
    assert log == [
        ("challenge-saved", challenge, {"actor": officer, "created": False}),
        ("challenge-updated", challenge, {"actor": officer}),
        ("challenge-saved", challenge, {"actor": officer, "created": False}),  # unchanged: not "updated"
    ]


def test_opening_and_closing_a_challenge_are_announced(svc: Any, make: Factory, heard: Any) -> None:
    log, listen = heard
    officer = svc.get(User, make.user("officer").id)
    challenge = challenges.post_challenge(officer, challenge_data())
    for signal in signals.DOMAIN.values():
        listen(signal)
    challenges.open_challenge(officer, challenge)
    challenges.close_challenge(officer, challenge)
    assert log == [
        ("challenge-saved", challenge, {"actor": officer, "created": False}),
        ("challenge-opened", challenge, {"actor": officer}),
        ("challenge-closed", challenge, {"actor": officer}),
    ]


def test_adding_and_editing_a_capability_announces_capability_saved(svc: Any, make: Factory, heard: Any) -> None:
    log, listen = heard
    listen(signals.capability_saved)
    member = svc.get(User, make.user("startup").id)
    startup = svc.get(Startup, member.startup_id)
    capability = startups.create_capability(member, startup, CAPABILITY)
    startups.update_capability(member, capability, {**CAPABILITY, "readiness": 6})
    assert log == [
        ("capability-saved", capability, {"actor": member, "created": True}),
        ("capability-saved", capability, {"actor": member, "created": False}),
    ]


def test_submitting_a_proposal_announces_it_with_its_trial(svc: Any, make: Factory, heard: Any) -> None:
    log, listen = heard
    listen(signals.proposal_submitted)
    startup = make.startup()
    capability = make.capability(startup)
    member = svc.get(User, make.user("startup", startup=startup).id)
    challenge = svc.get(Challenge, make.challenge().id)
    proposal = proposals.submit_proposal(
        member, challenge, {"capability_id": capability.id, "pitch": "We can run this pilot in eight weeks."}
    )
    trial = proposals.trial_for(challenge.id, startup.id)
    assert trial is not None
    assert log == [("proposal-submitted", proposal, {"actor": member, "trial": trial})]


def test_a_trial_move_announces_trial_moved_with_its_transition(svc: Any, make: Factory, heard: Any) -> None:
    log, listen = heard
    listen(signals.trial_moved)
    capability = make.capability()
    trial = svc.get(Trial, make.trial(make.challenge(), capability).id)
    coordinator = svc.get(User, make.user("coordinator").id)
    transition = trials.move_trial(coordinator, trial, "shortlist")
    assert isinstance(transition, TrialTransition) and transition.to_state == "shortlisted"
    assert log == [("trial-moved", trial, {"actor": coordinator, "transition": transition})]


def test_withdrawing_a_proposal_moves_its_trial_through_the_state_machine(
    svc: Any, make: Factory, heard: Any
) -> None:
    log, listen = heard
    listen(signals.trial_moved)
    capability = make.capability()
    challenge = make.challenge()
    proposal = svc.get(Proposal, make.proposal(challenge, capability).id)
    trial = svc.get(Trial, make.trial(challenge, capability, proposal_id=proposal.id).id)
    member = svc.get(User, make.user("startup", startup_id=capability.startup_id).id)
    proposals.withdraw_proposal(member, proposal)
    assert proposal.status == "withdrawn" and trial.status == "withdrawn"
    ((name, sender, kwargs),) = log
    assert (name, sender, kwargs["actor"], kwargs["transition"].to_state) == ("trial-moved", trial, member, "withdrawn")


# -- subscribers ------------------------------------------------------------------------------


def test_every_subscriber_is_connected_once_however_many_apps_are_created(app: Flask) -> None:
    create_app(TestConfig)
    create_app(TestConfig)
    subscribers.connect()
    for signal, receiver in subscribers.RECEIVERS:
        connected = [r for r in signal.receivers_for(object()) if r is receiver]
        assert connected == [receiver], (signal.name, receiver.__name__)
    # Each signal has exactly the receivers the table lists: none is left over or doubled.
    for signal in signals.ALL.values():
        expected = [r for s, r in subscribers.RECEIVERS if s is signal]
        assert sorted(signal.receivers_for(object()), key=id) == sorted(expected, key=id), signal.name


def test_a_second_app_does_not_double_the_reactions(
    svc: Any, make: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_app(TestConfig)
    encoded: list[int] = []
    told: list[tuple[int, str]] = []
    monkeypatch.setattr(recommendations, "challenge_changed", lambda challenge: encoded.append(challenge.id))
    monkeypatch.setattr(notifications, "notify_challenge_opened",
                        lambda challenge, actor: told.append((challenge.id, "opened")) or [])
    monkeypatch.setattr(notifications, "notify_challenge_changed",
                        lambda challenge, change, actor: told.append((challenge.id, change)) or [])
    officer = svc.get(User, make.user("officer").id)
    challenge = challenges.post_challenge(officer, challenge_data(), publish=True)
    # Storing its evidence sentences and ranking for the opened challenge are one job each, run
    # after the commit (in-process: no Redis).
    assert told == [] and [job.func_path for job in jobs.pending()] == [
        "portal.tasks.store_evidence", "portal.tasks.notify_challenge_opened",
    ]
    svc.commit()
    challenges.close_challenge(officer, challenge)
    assert told == [(challenge.id, "opened")]  # the followers are told by a job after the commit
    svc.commit()
    assert encoded == [challenge.id]
    assert told == [(challenge.id, "opened"), (challenge.id, "closed")]


def test_the_proposal_and_trial_subscribers_call_notifications_once(
    svc: Any, make: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    received: list[int] = []
    moved: list[tuple[int, str]] = []
    monkeypatch.setattr(notifications, "notify_proposal_received", lambda p: received.append(p.id) or [])
    monkeypatch.setattr(notifications, "notify_trial_moved", lambda t, tr: moved.append((t.id, tr.to_state)) or [])
    startup = make.startup()
    capability = make.capability(startup)
    member = svc.get(User, make.user("startup", startup=startup).id)
    coordinator = svc.get(User, make.user("coordinator").id)
    proposal = proposals.submit_proposal(
        member, svc.get(Challenge, make.challenge().id),
        {"capability_id": capability.id, "pitch": "We can run this pilot in eight weeks."},
    )
    trial = proposals.trial_for(proposal.challenge_id, startup.id)
    assert trial is not None
    trials.move_trial(coordinator, trial, "shortlist")
    assert received == [] and moved == []  # jobs, run once the change commits
    svc.commit()
    assert received == [proposal.id]
    assert moved == [(trial.id, "shortlisted")]


def test_capability_subscriber_calls_the_recommender_once(
    svc: Any, make: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoded: list[int] = []
    monkeypatch.setattr(recommendations, "capability_changed", lambda capability: encoded.append(capability.id))
    member = svc.get(User, make.user("startup").id)
    capability = startups.create_capability(member, svc.get(Startup, member.startup_id), CAPABILITY)
    assert isinstance(capability, Capability) and encoded == [capability.id]


def test_a_change_is_written_to_the_audit_log_once_through_its_subscriber(
        app: Flask, svc: Any, make: Factory) -> None:
    create_app(TestConfig)  # a second app must not double the audit log's receiver
    receivers = list(signals.entity_changed.receivers.values())
    assert receivers.count(subscribers.write_audit_event) == 1
    officer = make.user("officer")
    actor = db.get(User, officer.id)
    signals.changed(actor, "user.rename", actor, {"display_name": "Old"}, {"display_name": "New"})
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "user.rename")).all()
    assert [(e.actor_id, e.entity_type, e.before, e.after) for e in events] == [
        (officer.id, "user", {"display_name": "Old"}, {"display_name": "New"})]


def test_a_save_that_changes_only_domains_or_tags_moves_the_challenges_stamp(svc: Any, make: Factory) -> None:
    """Domains and tags are rows of their own: a save changing only them touches no column of
    the challenge, yet the edit forms' stamp must move (the recommender's bump is skipped here)."""
    officer = svc.get(User, make.user("officer").id)
    challenge = challenges.post_challenge(officer, challenge_data(), publish=False)
    svc.commit()
    before = challenge.updated_at
    challenges.update_challenge(officer, challenge, challenge_data(domains=["data_collaboration"], tags=["ocr"]))
    svc.commit()
    svc.expire_all()
    assert svc.get(Challenge, challenge.id).updated_at > before


def test_the_evidence_job_skips_rows_that_are_gone(app: Flask) -> None:
    from portal import tasks

    with app.app_context():
        assert tasks.store_evidence([987654], [987654], [987654]) == 0
