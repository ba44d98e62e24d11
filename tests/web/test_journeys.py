"""The three journeys end to end through the Flask test client."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from models import AuditEvent, Challenge, Proposal, Trial, TrialTransition, User
from portal import clock
from portal.services import recommendations
from tests.helpers import sign_in
from tests.mailbox import serving


def _challenge_form(**overrides):
    data = {
        "title": "Chatbot for school dental appointment bookings",
        "problem_statement": "Parents phone the School Dental Care Service to book and change appointments; "
        "lines are busy for hours at the start of each term.",
        "desired_outcomes": "Half of bookings handled without a phone call.",
        "constraints": "No personal data leaves Hong Kong.",
        "domains": ["customer_service", "smart_clinic"],
        "functional_area": "dental_clinical",
        "tags": "chatbot, nlp",
        "duration_weeks": "12",
        "closing_on": (clock.today() + timedelta(days=30)).isoformat(),
        "language": "en",
        "action": "open",
    }
    data.update(overrides)
    return data


def test_officer_posts_a_challenge_and_sees_recommended_startups(app, client, make):
    officer = make.user("officer")
    make.capability(make.startup(name="SmileBot"), name="Dental booking chatbot",
                    description="A chatbot that books and changes school dental appointments for parents.",
                    domains=["customer_service"], technologies=["chatbot"])
    sign_in(client, officer, through_form=True)
    response = client.post("/challenges/new", data=_challenge_form())
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    challenge_url = response.headers["Location"]
    page = client.get(challenge_url)
    assert page.status_code == 200 and "Chatbot for school dental appointment bookings" in page.get_data(as_text=True)
    listing = client.get("/challenges?q=dental")
    assert "Chatbot for school dental appointment bookings" in listing.get_data(as_text=True)
    with app.app_context():
        recommendations.clear_caches()
    challenge_id = int(challenge_url.rstrip("/").split("/")[-1])
    recommended = client.get(f"/challenges/{challenge_id}/recommended")
    body = recommended.get_data(as_text=True)
    assert recommended.status_code == 200
    assert "SmileBot" in body and "Why this match?" in body


def test_startup_registers_describes_itself_sees_opportunities_and_proposes(app, client, make, monkeypatch):
    make.challenge(title="Chatbot for dental appointment bookings",
                   problem_statement="Parents phone the dental clinic to book appointments and wait a long time.",
                   domains=["customer_service"], tags=["chatbot"])
    with serving(app, monkeypatch) as inbox:
        response = client.post("/register", data={
            "display_name": "May Wong", "email": "may@smilebot.hk", "startup_name": "SmileBot",
            "website": "https://smilebot.hk", "size": "1-10",
            "password": "a-long-unique-passphrase", "confirm": "a-long-unique-passphrase",
        })
        assert response.headers["Location"] == "/register/check-email"
        # Proposing needs a confirmed address: follow the link the registration emailed.
        assert client.post(inbox.link("may@smilebot.hk", "/account/verify/")).status_code == 302
    response = client.post("/login?next=/startups/capabilities/new",
                           data={"email": "may@smilebot.hk", "password": "a-long-unique-passphrase"})
    assert response.headers["Location"] == "/startups/capabilities/new"
    response = client.post("/startups/capabilities/new", data={
        "name": "Dental booking chatbot",
        "description": "A chatbot on WhatsApp and the web that books and changes dental clinic appointments.",
        "technologies": "chatbot, nlp", "domains": ["customer_service"], "deployments": "Two private clinics.",
        "readiness": "7", "language": "en",
    })
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with app.app_context():
        recommendations.clear_caches()
    page = client.get("/recommendations")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "Chatbot for dental appointment bookings" in body
    with app.app_context():
        from portal.database import db

        challenge = db.scalar(select(Challenge))
        capability_id = db.scalar(select(User)).startup.capabilities[0].id
    response = client.post(f"/challenges/{challenge.id}/propose", data={
        "capability_id": str(capability_id),
        "pitch": "We can have parents booking through WhatsApp within four weeks of the start of the trial.",
    })
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with app.app_context():
        from portal.database import db

        trial = db.scalar(select(Trial))
        assert trial is not None and trial.status == "proposed" and trial.proposal_id is not None
    assert "Chatbot for dental appointment bookings" in client.get("/startups/proposals").get_data(as_text=True)
    # Once proposed, the challenge is no longer recommended to this startup.
    assert "Chatbot for dental appointment bookings" not in client.get("/recommendations").get_data(as_text=True)


def test_coordinator_approves_a_proposed_trial_with_a_reason(app, client, make):
    challenge = make.challenge()
    capability = make.capability()
    proposal = make.proposal(challenge, capability)
    trial = make.trial(challenge, capability, proposal_id=proposal.id)
    coordinator = make.user("coordinator")
    sign_in(client, coordinator, through_form=True)
    queue = client.get("/coordinator/")
    assert queue.status_code == 200 and f"/trials/{trial.id}" in queue.get_data(as_text=True)
    page = client.get(f"/trials/{trial.id}")
    assert "Approve trial" in page.get_data(as_text=True)
    refused = client.post(f"/trials/{trial.id}/move", data={"action": "approve", "version": "1", "reason": ""})
    assert refused.status_code == 400 and "Give a reason" in refused.get_data(as_text=True)
    response = client.post(f"/trials/{trial.id}/move",
                           data={"action": "approve", "version": "1", "reason": "Strong fit and ready to pilot."})
    assert response.status_code == 302
    with app.app_context():
        from portal.database import db

        saved = db.get(Trial, trial.id)
        assert saved.status == "approved" and saved.approved_at is not None
        assert saved.decision_reason == "Strong fit and ready to pilot."
        moves = db.scalars(select(TrialTransition).where(TrialTransition.trial_id == trial.id)).all()
        assert [(m.from_state, m.to_state) for m in moves] == [("proposed", "approved")]
        assert db.scalar(select(AuditEvent).where(AuditEvent.action == "trial.approve")) is not None
        assert db.scalar(select(Proposal)) is not None


def test_department_list_is_paged(app, client, make):
    dept = make.department()
    officer = make.user("officer", department_id=dept.id)
    for n in range(53):
        make.challenge(dept, title=f"Need number {n:02d}", status="draft")
    sign_in(client, officer, through_form=True)
    first = client.get("/challenges/mine").get_data(as_text=True)
    second = client.get("/challenges/mine?page=2").get_data(as_text=True)
    # Each row names its challenge four times (the link, and the hidden text of the proposals
    # count, of the unanswered questions count and of "Edit").
    assert first.count("Need number") == 200 and second.count("Need number") == 12
    assert client.get("/challenges/mine?page=999").status_code == 200
