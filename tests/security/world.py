"""One fixture world for the security tests: every table has rows, every principal a user.

``build_world(app)`` inserts it in one transaction and returns a ``World`` of ids; the
principals sign in without the password form (no argon2 per request), and
``db_state(app)`` digests every table so a refused request can be shown to change nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text

import models
from models import (
    AccountToken,
    ApiToken,
    AuditEvent,
    Capability,
    Challenge,
    ChallengeFollow,
    ChallengeQuestion,
    ConflictOfInterest,
    Department,
    Dismissal,
    Document,
    Embedding,
    EvaluationCriterion,
    Invitation,
    Kpi,
    LoginAlert,
    LoginAttempt,
    LoginThrottle,
    Milestone,
    Notification,
    OutboxMail,
    OutcomeReport,
    PanelScore,
    Proposal,
    RankerVersion,
    RecoveryCode,
    Startup,
    StartupNameHold,
    Trial,
    TrialNote,
    TrialTransition,
    User,
    Workshop,
    WorkshopRegistration,
)
from portal import clock
from portal.database import db
from portal.services import api_tokens, mfa
from portal.services.storage import get_storage

from .. import samples
from ..factories import _password_hash
from ..helpers import sign_in

#: The principals of the access matrix, in the column order of its expectation table.
PRINCIPALS = ("anon", "officer", "officer_other", "member", "member_other", "coordinator", "admin")
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class World:
    """Ids of the fixture world's rows."""

    users: dict[str, int] = field(default_factory=dict)
    department: int = 0
    department_other: int = 0
    unit: int = 0
    startup: int = 0
    startup_other: int = 0
    capability: int = 0
    capability_other: int = 0
    challenge_draft: int = 0
    challenge_open: int = 0
    challenge_closed: int = 0
    challenge_other: int = 0
    proposal: int = 0
    trial: int = 0
    workshop: int = 0
    notification: int = 0
    notification_other: int = 0
    milestone: int = 0
    kpi: int = 0
    trial_running: int = 0
    milestone_running: int = 0
    kpi_running: int = 0
    invitation: int = 0
    invitation_token: str = ""
    mail: int = 0
    #: A question the member asked on the open challenge (unanswered), and one answered, not published.
    question: int = 0
    question_answered: int = 0
    emails: dict[str, str] = field(default_factory=dict)
    #: An API token secret (write scope, so it also reads) per principal but anon.
    tokens: dict[str, str] = field(default_factory=dict)
    #: A read-only API token secret per principal but anon.
    read_tokens: dict[str, str] = field(default_factory=dict)
    token: int = 0
    #: A document on every challenge, proposal and trial: "challenge:<id>" (or proposal:, trial:) -> its id.
    documents: dict[str, int] = field(default_factory=dict)
    #: Fills ``<token>`` of emailed-link routes: no link was sent, so every principal meets "not valid".
    link_token: str = "not-a-link-from-our-emails"


def unlink_self_references(app: Flask) -> None:
    """Clear columns that point into their own table (departments.parent_id), so rows delete in any order."""
    engine = app.extensions["innomatch_engine"]
    with engine.begin() as conn:
        for table in models.Base.metadata.sorted_tables:
            for fk in table.foreign_keys:
                if fk.column.table is table:
                    conn.execute(table.update().where(fk.parent.is_not(None)).values({fk.parent.name: None}))


def empty_tables(app: Flask) -> None:
    """Delete every row (children first); PostgreSQL restarts the id sequences."""
    engine = app.extensions["innomatch_engine"]
    tables = [t.name for t in reversed(models.Base.metadata.sorted_tables)]
    unlink_self_references(app)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))  # nosec B608 - table names from the models


def build_world(app: Flask, tag: str = "") -> World:
    """Insert the world and return its ids; a ``tag`` makes unique names, so several worlds can coexist."""
    w = World()
    now = clock.now()
    today = clock.today()
    pw = _password_hash()
    with app.app_context():
        dept = Department(code=f"DH-OWN{tag}", name_en="Own Unit", name_zh="本單位")
        dept_other = Department(code=f"DH-OTHER{tag}", name_en="Other Unit", name_zh="其他單位")
        db.add_all([dept, dept_other])
        db.flush()
        unit = Department(code=f"DH-OWN-SUB{tag}", name_en="Own sub-unit", name_zh="子單位", parent_id=dept.id)
        startup = Startup(name=f"Own Startup Ltd{tag}", description="We build clinic chatbots.", verified=True,
                          verified_at=now, website="https://own.example.hk")
        startup_other = Startup(name=f"Other Startup Ltd{tag}", description="We build OCR software.", verified=False)
        db.add_all([unit, startup, startup_other])
        db.flush()

        def user(key: str, role: str, **kw: Any) -> User:
            u = User(email=f"{key.replace('_', '.')}{tag}@example.org", password_hash=pw, display_name=key.title(),
                     role=role, email_verified_at=clock.now(), **kw)
            db.add(u)
            return u

        users = {
            "officer": user("officer", "officer", department_id=dept.id),
            "officer_other": user("officer_other", "officer", department_id=dept_other.id),
            "member": user("member", "startup", startup_id=startup.id),
            "member_other": user("member_other", "startup", startup_id=startup_other.id),
            "coordinator": user("coordinator", "coordinator"),
            "admin": user("admin", "admin"),
        }
        db.flush()

        cap = Capability(startup_id=startup.id, name="Clinic booking chatbot",
                         description="A chatbot that answers patient questions about clinic appointments.",
                         deployments="Two private clinics.", readiness=7)
        cap.domains = ["smart_clinic", "customer_service"]
        cap.technologies = ["nlp", "chatbot"]
        cap_other = Capability(startup_id=startup_other.id, name="Licence OCR",
                               description="Reads scanned licence applications in English and Chinese.",
                               readiness=5)
        cap_other.domains = ["health_regulation"]
        cap_other.technologies = ["ocr"]
        db.add_all([cap, cap_other])

        def challenge(title: str, department: Department, status: str) -> Challenge:
            ch = Challenge(
                department_id=department.id, created_by_id=users["officer"].id if department is dept else None,
                title=title, problem_statement="Patients wait on the phone to book clinic appointments.",
                desired_outcomes="Shorter waits.", constraints="Data stays in Hong Kong.",
                functional_area="dental_clinical", status=status, closing_on=today + timedelta(days=30),
                opened_at=None if status == "draft" else now,
            )
            ch.domains = ["smart_clinic"]
            ch.tags = ["chatbot"]
            db.add(ch)
            return ch

        draft = challenge("Secret draft plan", dept, "draft")
        open_ = challenge("Open booking challenge", dept, "open")
        closed = challenge("Closed challenge", dept, "closed")
        other = challenge("Other department challenge", dept_other, "open")
        db.flush()

        proposal = Proposal(challenge_id=open_.id, startup_id=startup.id, capability_id=cap.id,
                            submitted_by_id=users["member"].id, pitch="We can run this pilot in eight weeks.")
        db.add(proposal)
        db.flush()
        trial = Trial(challenge_id=open_.id, startup_id=startup.id, capability_id=cap.id, proposal_id=proposal.id,
                      status="proposed")
        db.add(trial)
        criterion = EvaluationCriterion(challenge_id=open_.id, position=1, key="fit", weight=100)
        db.add(criterion)
        db.flush()
        db.add(PanelScore(proposal_id=proposal.id, criterion_id=criterion.id, scorer_id=users["officer"].id,
                          score=4, comment="Fits the need."))
        running = Trial(challenge_id=closed.id, startup_id=startup.id, capability_id=cap.id, status="running",
                        approved_at=now, started_at=now, department_confirmed_at=now, startup_accepted_at=now)
        db.add(running)
        db.flush()
        milestone_running = Milestone(trial_id=running.id, title="Pilot live", due_on=today + timedelta(days=20))
        kpi_running = Kpi(trial_id=running.id, name="Waiting time", target="-30%")
        db.add_all([milestone_running, kpi_running])
        milestone = Milestone(trial_id=trial.id, title="Kick-off", due_on=today + timedelta(days=10))
        kpi = Kpi(trial_id=trial.id, name="Calls answered", target="80%")
        db.add_all([
            TrialTransition(trial_id=trial.id, from_state=None, to_state="proposed", actor_id=users["member"].id),
            milestone,
            kpi,
            TrialNote(trial_id=trial.id, author_id=users["coordinator"].id, body="Looks promising."),
            OutcomeReport(trial_id=trial.id, summary="Pending.", lessons="", recommendation=""),
            ChallengeFollow(user_id=users["member"].id, challenge_id=open_.id),
            ConflictOfInterest(coordinator_id=users["coordinator"].id, startup_id=startup_other.id,
                               source="declared", reason="Former adviser."),
            Dismissal(user_id=users["officer"].id, challenge_id=open_.id, startup_id=startup_other.id,
                      direction="for_challenge", reason="not_relevant", components={"dense": 0.1}),
            Embedding(model="test-model", text_hash=hashlib.sha256(tag.encode()).hexdigest(), dim=2, vector=b"\x00\x00\x80?\x00\x00\x00\x00"),
            RankerVersion(version=f"v-test{tag}", weights={"weights": {"dense": 1.0}}, examples=0, active=False),
            LoginAttempt(email=f"member{tag}@example.org", ip="127.0.0.1", success=True),
            # A spent reset link: its secret is unknown, only the digest of one is stored.
            AccountToken(user_id=users["member"].id, purpose="reset_password",
                         token_hash=hashlib.sha256(f"spent{tag}".encode()).hexdigest(), created_at=now,
                         expires_at=now + timedelta(hours=1), used_at=now),
            LoginThrottle(email=f"member{tag}@example.org", source="198.51.100.9", failures=2, last_failure_at=now),
            LoginAlert(email=f"member{tag}@example.org", sent_at=now),
            StartupNameHold(name_key=f"held name{tag}", created_at=now),
            AuditEvent(actor_id=users["officer"].id, action="challenge.create", entity_type="challenge",
                       entity_id=draft.id, before=None, after={"title": "Secret draft plan"}),
        ])
        workshop = Workshop(title_en="Smart clinics forum", title_zh="智慧診所論壇", description="A forum.",
                            starts_at=now + timedelta(days=7), ends_at=now + timedelta(days=7, hours=2),
                            location="Science Park", capacity=30, domains=["smart_clinic"],
                            challenge_ids=[open_.id], created_by_id=users["coordinator"].id)
        db.add(workshop)
        db.flush()
        note = Notification(user_id=users["member"].id, kind="proposal.received",
                            payload={"challenge": open_.title}, link=f"/challenges/{open_.id}")
        note_other = Notification(user_id=users["member_other"].id, kind="proposal.received",
                                  payload={"challenge": other.title}, link=f"/challenges/{other.id}")
        db.add_all([WorkshopRegistration(workshop_id=workshop.id, user_id=users["member"].id), note, note_other])
        invitation_token = f"world-invitation{tag}-" + "x" * 24
        invitation = Invitation(email=f"invited{tag}@example.org", display_name="Invited Officer", role="officer",
                                department_id=dept.id, token_hash=hashlib.sha256(invitation_token.encode()).hexdigest(),
                                invited_by_id=users["admin"].id, expires_at=now + timedelta(days=7))
        db.add(invitation)
        failed_mail = OutboxMail(recipient=f"gone{tag}@example.org", to_header=f"gone{tag}@example.org",
                                 subject="InnoMatch: a notification", body_text="Body", locale="en",
                                 message_id=f"<world{tag}@innomatch.hk>", status="failed", attempts=5,
                                 next_attempt_at=now, created_at=now, last_error="refused (550)")
        db.add(failed_mail)
        question = ChallengeQuestion(challenge_id=open_.id, startup_id=startup.id, asked_by_id=users["member"].id,
                                     question="Can the pilot use the clinic's booking line?", question_language="en",
                                     hidden_reason="")
        answered = ChallengeQuestion(challenge_id=open_.id, startup_id=startup.id, asked_by_id=users["member"].id,
                                     question="Which languages must the chatbot speak?", question_language="en",
                                     answer="Cantonese and English.", answer_language="en",
                                     answered_by_id=users["officer"].id, answered_at=now, hidden_reason="")
        db.add_all([question, answered])
        db.add(RecoveryCode(user_id=users["admin"].id, code_hash=hashlib.sha256(f"recovery{tag}".encode()).hexdigest()))
        document_rows = {}
        storage = get_storage()
        parents = [("challenge", ch, users["officer"] if ch.department_id == dept.id else users["officer_other"])
                   for ch in (draft, open_, closed, other)]
        parents += [("proposal", proposal, users["member"]), ("trial", trial, users["member"]),
                    ("trial", running, users["member"])]
        for kind, parent, uploader in parents:
            content = samples.pdf(f"{kind} {parent.id}")
            row = Document(storage_key=storage.save(io.BytesIO(content)), display_name=f"{kind} plan.pdf",
                           content_type="application/pdf", size_bytes=len(content),
                           sha256=hashlib.sha256(content).hexdigest(), uploaded_by_id=uploader.id,
                           **{f"{kind}_id": parent.id})
            db.add(row)
            document_rows[f"{kind}:{parent.id}"] = row
        api_token_rows = []
        for u in users.values():
            if u.mfa_required:  # set up, as a token of theirs is refused until it is
                u.mfa_secret, u.mfa_enabled_at = mfa.encrypt_secret(pyotp.random_base32()), now
        for key, u in users.items():
            for scope, into in (("write", w.tokens), ("read", w.read_tokens)):
                secret = f"{api_tokens.PREFIX}world{tag}-{key}-{scope}-" + "x" * 32
                into[key] = secret
                # Used just now: a request inside the next minutes does not write last_used_at.
                row = ApiToken(user_id=u.id, name=f"{key} {scope}", token_hash=api_tokens.hash_secret(secret),
                               prefix=secret[:8], scope=scope, created_at=now - timedelta(days=1),
                               expires_at=now + timedelta(days=30), last_used_at=now)
                db.add(row)
                api_token_rows.append((key, scope, row))
        db.commit()
        w.documents = {key: row.id for key, row in document_rows.items()}
        w.token = next(row.id for key, scope, row in api_token_rows if key == "member" and scope == "write")

        w.users = {k: u.id for k, u in users.items()}
        w.emails = {k: u.email for k, u in users.items()}
        w.department, w.department_other, w.unit = dept.id, dept_other.id, unit.id
        w.startup, w.startup_other = startup.id, startup_other.id
        w.capability, w.capability_other = cap.id, cap_other.id
        w.challenge_draft, w.challenge_open, w.challenge_closed, w.challenge_other = (
            draft.id, open_.id, closed.id, other.id)
        w.proposal, w.trial, w.workshop = proposal.id, trial.id, workshop.id
        w.notification, w.notification_other = note.id, note_other.id
        w.milestone, w.kpi = milestone.id, kpi.id
        w.trial_running, w.milestone_running, w.kpi_running = running.id, milestone_running.id, kpi_running.id
        w.invitation, w.invitation_token = invitation.id, invitation_token
        w.mail = failed_mail.id
        w.question, w.question_answered = question.id, answered.id
        db.remove()
    return w


def sign_in_as(client: FlaskClient, principal: str, world: World) -> FlaskClient:
    """Sign ``principal`` in on ``client`` as a real sign-in would (anon: nothing)."""
    if principal == "anon":
        return client
    return sign_in(client, world.users[principal])


def bearer_for(principal: str, world: World, scope: str = "write") -> dict[str, str]:
    """The Authorization header of ``principal``'s API token (anon: none)."""
    if principal == "anon":
        return {}
    tokens = world.tokens if scope == "write" else world.read_tokens
    return {"Authorization": f"Bearer {tokens[principal]}"}


def db_state(app: Flask) -> tuple[dict[str, int], str]:
    """Row counts per table and a digest of every row of every table."""
    engine = app.extensions["innomatch_engine"]
    counts: dict[str, int] = {}
    digest = hashlib.sha256()
    with engine.connect() as conn:
        for table in models.Base.metadata.sorted_tables:
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            counts[table.name] = len(rows)
            digest.update(table.name.encode())
            for row in rows:
                digest.update(repr(tuple(row)).encode())
    return counts, digest.hexdigest()


def row_counts(app: Flask) -> dict[str, int]:
    """Row counts per table."""
    engine = app.extensions["innomatch_engine"]
    with engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in models.Base.metadata.sorted_tables}


def record_figure(name: str, value: Any) -> Path:
    """Merge ``name: value`` into the security test summary (test-results/security-summary.json)."""
    path = Path(os.environ.get("SECURITY_SUMMARY", ROOT / "test-results" / "security-summary.json"))
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    engine = os.environ.get("TEST_DATABASE_URL", "sqlite").split(":", 1)[0].split("+", 1)[0]
    data.setdefault(engine, {})[name] = value
    data[engine]["updated"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path
