"""Demo data: departments, challenges, startups, trials in every state, workshops, demo logins."""

from __future__ import annotations

import json
import random
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from models import (
    AuditEvent,
    Capability,
    Challenge,
    Department,
    Kpi,
    Milestone,
    OutcomeReport,
    Proposal,
    Startup,
    Trial,
    TrialTransition,
    User,
    Workshop,
)
from models.db import distinct_tags
from models.vocabulary import ChallengeStatus, ProposalStatus, Role, TrialState

from .. import clock
from ..database import db
from ..passwords import hash_password

DATA = Path(__file__).with_name("data")
DEMO_PASSWORD = "demo-password-2026"  # nosec B105: the published demo logins (README)
DEMO_LOGINS = (
    ("officer@demo.gov.hk", Role.OFFICER, "Department officer (Department of Health headquarters)"),
    ("founder@demo.startup.hk", Role.STARTUP, "Startup founder"),
    ("coordinator@demo.hkstp.org", Role.COORDINATOR, "Lab coordinator"),
    ("admin@demo.hkstp.org", Role.ADMIN, "Administrator"),
)
# The path each final state took through the state machine.
PATHS = {
    TrialState.PROPOSED: [TrialState.PROPOSED],
    TrialState.SHORTLISTED: [TrialState.PROPOSED, TrialState.SHORTLISTED],
    TrialState.APPROVED: [TrialState.PROPOSED, TrialState.SHORTLISTED, TrialState.APPROVED],
    TrialState.RUNNING: [TrialState.PROPOSED, TrialState.SHORTLISTED, TrialState.APPROVED, TrialState.RUNNING],
    TrialState.COMPLETED: [TrialState.PROPOSED, TrialState.SHORTLISTED, TrialState.APPROVED, TrialState.RUNNING, TrialState.COMPLETED],
    TrialState.WITHDRAWN: [TrialState.PROPOSED, TrialState.WITHDRAWN],
    TrialState.REJECTED: [TrialState.PROPOSED, TrialState.SHORTLISTED, TrialState.REJECTED],
}


def _load(name: str) -> list[dict[str, Any]]:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def is_seeded() -> bool:
    """Whether the demo data is already in the database."""
    return db.scalar(select(User.id).where(User.email == DEMO_LOGINS[0][0])) is not None


def seed(today: date | None = None, rng_seed: int = 2026) -> dict[str, int]:
    """Insert the demo data (flushes; the caller commits). Returns counts per kind."""
    rng = random.Random(rng_seed)  # nosec B311: repeatable demo data, not security
    today = today or clock.today()
    now = clock.now()
    password_hash = hash_password(DEMO_PASSWORD)

    departments: dict[str, Department] = {}
    for row in _load("departments.json"):
        dept = Department(code=row["code"], name_en=row["name_en"], name_zh=row["name_zh"])
        if row.get("parent"):
            dept.parent = departments[row["parent"]]
        departments[row["code"]] = dept
        db.add(dept)
    db.flush()

    officer = User(email=DEMO_LOGINS[0][0], password_hash=password_hash, display_name="Winnie Lau 劉穎琳",
                   email_verified_at=now, role=Role.OFFICER, department_id=departments["DH"].id)
    coordinator = User(email=DEMO_LOGINS[2][0], password_hash=password_hash, display_name="Kelvin Ho 何家輝",
                       email_verified_at=now, role=Role.COORDINATOR)
    admin = User(email=DEMO_LOGINS[3][0], password_hash=password_hash, display_name="Admin 管理員", role=Role.ADMIN,
                 email_verified_at=now)
    db.add_all([officer, coordinator, admin])
    # One officer for each unit, so every department's challenges have an owner.
    unit_officers: dict[str, User] = {"DH": officer}
    for code, dept in departments.items():
        if code == "DH":
            continue
        user = User(email=f"officer.{code.lower()}@demo.gov.hk", password_hash=password_hash, email_verified_at=now,
                    display_name=f"{dept.name_en} officer", role=Role.OFFICER, department_id=dept.id)
        unit_officers[code] = user
        db.add(user)
    db.flush()

    challenges: dict[str, Challenge] = {}
    for i, row in enumerate(_load("challenges.json")):
        closing = today + timedelta(days=int(row["closing_in_days"]))
        # Spread postings over the past year so the dashboard has months to show; a challenge
        # opened at least a month before it closed.
        opened = now - timedelta(days=rng.randint(20, 330)) if row["status"] != ChallengeStatus.DRAFT else None
        if opened is not None and opened.date() > closing - timedelta(days=30):
            opened = datetime.combine(closing - timedelta(days=30 + (today - opened.date()).days % 60), time(10),
                                      tzinfo=clock.ZONE)
        ch = Challenge(
            department_id=departments[row["department"]].id,
            created_by_id=unit_officers[row["department"]].id,
            title=row["title"], problem_statement=row["problem_statement"],
            desired_outcomes=row.get("desired_outcomes", ""), constraints=row.get("constraints", ""),
            functional_area=row["functional_area"], duration_weeks=int(row["duration_weeks"]),
            closing_on=closing, status=row["status"], language=row["language"], opened_at=opened,
        )
        ch.domains = row["domains"]
        ch.tags = distinct_tags(row.get("tags", []))
        if opened is not None:
            ch.created_at = opened - timedelta(days=rng.randint(1, 10))
        challenges[row["ref"]] = ch
        db.add(ch)

    startups: dict[str, Startup] = {}
    capabilities: dict[str, list[Capability]] = {}
    # Registered over the past two years, verified within a fortnight; a generator of its own,
    # so the rest of the demo data is what it was.
    joined = random.Random(rng_seed + 1)  # nosec B311: repeatable demo data, not security
    for row in _load("startups.json"):
        registered = now - timedelta(days=joined.randint(40, 730), minutes=joined.randint(0, 600))
        st = Startup(name=row["name"], website=row.get("website", ""), description=row.get("description", ""),
                     size=row.get("size", "1-10"), verified=bool(row.get("verified")), language=row["language"],
                     verified_at=registered + timedelta(days=joined.randint(1, 14)) if row.get("verified") else None,
                     created_at=registered)
        db.add(st)
        startups[row["ref"]] = st
        caps = []
        for c in row["capabilities"]:
            cap = Capability(name=c["name"], description=c["description"], deployments=c.get("deployments", ""),
                             readiness=int(c.get("readiness", 5)), language=c.get("language", row["language"]))
            cap.domains = c.get("domains", [])
            cap.technologies = distinct_tags(c.get("technologies", []))
            st.capabilities.append(cap)
            caps.append(cap)
        capabilities[row["ref"]] = caps
    db.flush()

    founder_startup = startups[founder_ref()]
    founder = User(email=DEMO_LOGINS[1][0], password_hash=password_hash, display_name="Jason Cheung 張志傑",
                   email_verified_at=now, role=Role.STARTUP, startup_id=founder_startup.id)
    db.add(founder)
    db.flush()

    trials = 0
    for row in _load("trials.json"):
        trials += 1
        _seed_trial(row, challenges, startups, capabilities, coordinator, rng, now, today)

    for row in _load("workshops.json"):
        # 2:30 pm Hong Kong time.
        starts = datetime.combine(today + timedelta(days=int(row["starts_in_days"])), time(14, 30), tzinfo=clock.ZONE)
        db.add(Workshop(
            title_en=row["title_en"], title_zh=row.get("title_zh", ""), description=row.get("description", ""),
            starts_at=starts, ends_at=starts + timedelta(hours=float(row.get("duration_hours", 2))),
            location=row.get("location", ""), capacity=int(row.get("capacity", 50)), domains=row.get("domains", []),
            challenge_ids=[challenges[r].id for r in row.get("challenges", []) if r in challenges],
            created_by_id=coordinator.id,
        ))
    db.flush()
    return {
        "departments": len(departments), "challenges": len(challenges), "startups": len(startups),
        "capabilities": sum(len(v) for v in capabilities.values()), "trials": trials,
    }


def founder_ref() -> str:
    """The demo startup the founder login belongs to: the one with the most trials."""
    counts: dict[str, int] = {}
    for row in _load("trials.json"):
        counts[row["startup"]] = counts.get(row["startup"], 0) + 1
    return max(sorted(counts), key=lambda ref: counts[ref])


def _seed_trial(
    row: dict[str, Any], challenges: dict[str, Challenge], startups: dict[str, Startup],
    capabilities: dict[str, list[Capability]], coordinator: User, rng: random.Random, now: datetime, today: date,
) -> None:
    challenge = challenges[row["challenge"]]
    startup = startups[row["startup"]]
    cap = capabilities[row["startup"]][int(row.get("capability", 0))]
    start = (challenge.opened_at or now - timedelta(days=60)) + timedelta(days=rng.randint(3, 15))
    if startup.created_at > start - timedelta(days=14):
        # A startup registers before it proposes.
        startup.created_at = start - timedelta(days=30)
        if startup.verified_at is not None:
            startup.verified_at = startup.created_at + timedelta(days=5)
    proposal = Proposal(challenge_id=challenge.id, startup_id=startup.id, capability_id=cap.id,
                        pitch=row.get("pitch", ""), status=ProposalStatus.WITHDRAWN if row["status"] == TrialState.WITHDRAWN else ProposalStatus.SUBMITTED,
                        created_at=start)
    db.add(proposal)
    db.flush()
    trial = Trial(challenge_id=challenge.id, startup_id=startup.id, capability_id=cap.id, proposal_id=proposal.id,
                  status=row["status"], outcome=row.get("outcome"), decision_reason=row.get("reason", ""),
                  created_at=start)
    db.add(trial)
    db.flush()
    when = start
    path = PATHS[row["status"]]
    previous = None
    for state in path:
        if previous is not None:
            when = min(when + timedelta(days=rng.randint(4, 25)), now)
        actor = coordinator if state not in (TrialState.PROPOSED, TrialState.WITHDRAWN) else None
        reason = row.get("reason", "") if state == path[-1] else ""
        db.add(TrialTransition(trial_id=trial.id, from_state=previous, to_state=state, actor_id=actor.id if actor else None,
                               reason=reason or state, created_at=when))
        if state == TrialState.APPROVED:
            trial.approved_at = when
        if state == TrialState.RUNNING:
            trial.started_at = when
            trial.department_confirmed_at = trial.startup_accepted_at = when
        if state == TrialState.COMPLETED:
            trial.completed_at = when
        previous = state
    trial.updated_at = when
    for k in row.get("kpis", []):
        db.add(Kpi(trial_id=trial.id, name=k["name"], target=k["target"], result=k.get("result")))
    milestones = row.get("milestones", [])
    for i, m in enumerate(milestones):
        due = today + timedelta(days=int(m["due_in_days"]))
        if trial.completed_at is not None and trial.started_at is not None:
            # A completed trial's milestones fell between its start and its completion, in order.
            span = clock.local(trial.completed_at).date() - clock.local(trial.started_at).date()
            due = clock.local(trial.started_at).date() + span * (i + 1) // len(milestones)
        # Done only in a trial that went ahead, and never in the future.
        done = m.get("done") and trial.started_at is not None and due <= today
        db.add(Milestone(trial_id=trial.id, title=m["title"], due_on=due, done_on=due if done else None))
    report = row.get("outcome_report")
    if report:
        # The department signed off the demo's outcomes and their startups agreed, so the public
        # showcase has them.
        signer = db.scalar(
            select(User.id).where(User.role == Role.OFFICER, User.department_id == challenge.department_id).limit(1)
        )
        member = db.scalar(select(User.id).where(User.startup_id == startup.id).limit(1))
        signed = trial.status == TrialState.COMPLETED
        # Signed off a few days after the trial completed, agreed by the startup two days later.
        signed_at = min(when + timedelta(days=3), now) if signed else None
        agreed_at = min(signed_at + timedelta(days=2), now) if signed_at is not None else None
        # A startup with no account agreed in writing, and the lab recorded it.
        note = "" if member is not None else "Agreed by email from the company's director; kept in the lab's PoC file."
        agreed_by = member if member is not None else coordinator.id
        db.add(OutcomeReport(trial_id=trial.id, summary=report["summary"], lessons=report.get("lessons", ""),
                             recommendation=report.get("recommendation", ""),
                             signed_off_at=signed_at, signed_off_by_id=signer if signed else None,
                             startup_agreed_at=agreed_at, startup_agreed_by_id=agreed_by if signed else None,
                             startup_agreement_note=note if signed else ""))
        if signed_at is not None and agreed_at is not None:
            # As the services record them: the trial's history shows both steps.
            agree = ("trial.outcome_agree_record", "report.startup_agreement_note", note) if note else (
                "trial.outcome_agree", "report.startup_agreed_at", agreed_at.isoformat())
            for action, actor_id, at, key, value in (
                ("trial.outcome_sign_off", signer, signed_at, "report.signed_off_at", signed_at.isoformat()),
                (agree[0], agreed_by, agreed_at, agree[1], agree[2]),
            ):
                db.add(AuditEvent(actor_id=actor_id, action=action, entity_type="trial", entity_id=trial.id,
                                  before={key: None}, after={key: value}, created_at=at))
