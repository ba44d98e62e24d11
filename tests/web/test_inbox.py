"""An officer's proposals inbox: the proposals a challenge received, side by side, and asking the lab to shortlist one."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from models import AuditEvent, Notification, Proposal, Trial
from portal.database import db
from tests.factories import Factory
from tests.helpers import sign_in


def _setup(make: Factory, proposals: int = 3, prefix: str = "") -> dict[str, Any]:
    """A department's open challenge with ``proposals`` proposals, each with its proposed trial."""
    dept = make.department()
    officer = make.user("officer", department=dept)
    challenge = make.challenge(dept, title="Clinic booking by chatbot", tags=["chatbot", "ocr"])
    rows = []
    for n in range(proposals):
        startup = make.startup(name=f"{prefix}Startup Number {n}")
        cap = make.capability(startup, name=f"Capability {n}", technologies=["chatbot"])
        proposal = make.proposal(challenge, cap, pitch=f"Pitch number {n}: we book clinic appointments by chatbot.")
        trial = make.trial(challenge, cap, proposal_id=proposal.id)
        rows.append((proposal, trial))
    return {"dept": dept, "officer": officer, "challenge": challenge, "rows": rows}


def _count(app: Flask, model: Any, *where: Any) -> int:
    with app.app_context():
        return db.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_officer_reads_every_proposal_in_full_with_its_match(client: FlaskClient, make: Factory) -> None:
    world = _setup(make)
    sign_in(client, world["officer"])
    page = client.get(f"/challenges/{world['challenge'].id}/proposals")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for n in range(3):
        assert f"Startup Number {n}" in html
        assert f"Pitch number {n}: we book clinic appointments by chatbot." in html
        assert f"Capability {n}" in html
    assert "Why this match?" in html  # the recommender's explanation of each proposed capability


def test_a_proposal_is_called_a_trial_only_once_the_lab_approved_it(
    app: Flask, client: FlaskClient, make: Factory
) -> None:
    world = _setup(make, proposals=1)
    trial = world["rows"][0][1]
    sign_in(client, world["officer"])
    inbox = client.get(f"/challenges/{world['challenge'].id}/proposals").get_data(as_text=True)
    assert "View the proposal" in inbox and "Open the trial" not in inbox
    page = client.get(f"/trials/{trial.id}").get_data(as_text=True)
    assert f"Proposed proof-of-concept trial #{trial.id}" in page
    with app.app_context():
        db.get(Trial, trial.id).status = "approved"
        db.commit()
    inbox = client.get(f"/challenges/{world['challenge'].id}/proposals").get_data(as_text=True)
    assert "Open the trial" in inbox and "View the proposal" not in inbox
    page = client.get(f"/trials/{trial.id}").get_data(as_text=True)
    assert f"Proof-of-concept trial #{trial.id}" in page and "Proposed proof-of-concept" not in page


def test_the_count_of_proposals_received_is_the_department_lists_count(client: FlaskClient, make: Factory) -> None:
    """A withdrawn proposal is listed, but counted as "Our challenges" counts: not at all."""
    world = _setup(make)
    proposal, _trial = world["rows"][0]
    with client.application.app_context():
        db.get(Proposal, proposal.id).status = "withdrawn"
        db.commit()
    sign_in(client, world["officer"])
    html = client.get(f"/challenges/{world['challenge'].id}/proposals").get_data(as_text=True)
    assert '<span class="im-count">(2)</span>' in html
    assert "1 withdrawn proposal is listed too" in html and "Startup Number 0" in html
    mine = client.get("/challenges/mine").get_data(as_text=True)
    assert re.search(r'proposals">2<span class="govuk-visually-hidden">', mine)


def test_challenge_page_and_my_challenges_link_to_the_proposals(client: FlaskClient, make: Factory) -> None:
    world = _setup(make, proposals=2)
    sign_in(client, world["officer"])
    inbox = f"/challenges/{world['challenge'].id}/proposals"
    assert inbox in client.get(f"/challenges/{world['challenge'].id}").get_data(as_text=True)
    mine = client.get("/challenges/mine").get_data(as_text=True)
    assert f'href="{inbox}">2<' in mine


def test_startup_and_officer_of_another_department_cannot_read_proposals(
    client: FlaskClient, make: Factory
) -> None:
    world = _setup(make, proposals=1)
    member = make.user("startup")
    sign_in(client, member)
    assert client.get(f"/challenges/{world['challenge'].id}/proposals").status_code == 403
    sign_in(client, make.user("officer"))
    assert client.get(f"/challenges/{world['challenge'].id}/proposals").status_code == 403
    assert "Proposals received" not in client.get(f"/challenges/{world['challenge'].id}").get_data(as_text=True)


def test_compare_shows_the_ticked_proposals_side_by_side(client: FlaskClient, make: Factory) -> None:
    world = _setup(make)
    sign_in(client, world["officer"])
    (p0, _t0), _second, (p2, _t2) = world["rows"]
    page = client.get(f"/challenges/{world['challenge'].id}/proposals/compare?proposal={p2.id}&proposal={p0.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.index("Startup Number 2") < html.index("Startup Number 0")  # in the order ticked
    assert "Startup Number 1" not in html
    assert html.count('scope="col"') == 2  # one column a proposal


@pytest.mark.parametrize("ticked", [1, 5])
def test_compare_needs_two_to_four_proposals(client: FlaskClient, make: Factory, ticked: int) -> None:
    world = _setup(make, proposals=5)
    sign_in(client, world["officer"])
    query = "&".join(f"proposal={p.id}" for p, _t in world["rows"][:ticked])
    page = client.get(f"/challenges/{world['challenge'].id}/proposals/compare?{query}")
    assert page.status_code == 400
    assert "Choose 2 to 4 proposals to compare." in page.get_data(as_text=True)


def test_compare_with_nothing_ticked_goes_back_to_the_list_with_a_message(client: FlaskClient, make: Factory) -> None:
    world = _setup(make, proposals=2)
    sign_in(client, world["officer"])
    page = client.get(f"/challenges/{world['challenge'].id}/proposals/compare", follow_redirects=True)
    assert page.status_code == 200
    assert "Choose 2 to 4 proposals to compare." in page.get_data(as_text=True)
    assert "Startup Number 1" in page.get_data(as_text=True)


@pytest.mark.parametrize("bad", ["abc", "-1", "99999999999"])
def test_compare_refuses_ids_that_are_not_ids(client: FlaskClient, make: Factory, bad: str) -> None:
    world = _setup(make, proposals=2)
    sign_in(client, world["officer"])
    p0 = world["rows"][0][0]
    page = client.get(f"/challenges/{world['challenge'].id}/proposals/compare?proposal={p0.id}&proposal={bad}")
    assert page.status_code == 400
    assert "Choose proposals received for this challenge." in page.get_data(as_text=True)


def test_compare_refuses_a_proposal_of_another_challenge(client: FlaskClient, make: Factory) -> None:
    world = _setup(make, proposals=1)
    other = _setup(make, proposals=1, prefix="Other ")
    sign_in(client, world["officer"])
    mine, theirs = world["rows"][0][0], other["rows"][0][0]
    page = client.get(f"/challenges/{world['challenge'].id}/proposals/compare?proposal={mine.id}&proposal={theirs.id}")
    assert page.status_code == 400
    assert "Startup Number" in page.get_data(as_text=True)  # the inbox again, with the message
    assert "Choose proposals received for this challenge." in page.get_data(as_text=True)


def test_officer_asks_the_lab_to_shortlist_a_proposal(app: Flask, client: FlaskClient, make: Factory) -> None:
    world = _setup(make, proposals=2)
    coordinator = make.user("coordinator")
    proposal, _trial = world["rows"][0]
    sign_in(client, world["officer"])
    response = client.post(
        f"/challenges/{world['challenge'].id}/proposals/{proposal.id}/shortlist-request",
        data={"note": "Their chatbot already serves two clinics."},
    )
    assert response.status_code == 302
    with app.app_context():
        stored = db.get(Proposal, proposal.id)
        assert stored.shortlist_request_note == "Their chatbot already serves two clinics."
        assert stored.shortlist_requested_by_id == world["officer"].id
        assert stored.shortlist_requested_at is not None
    assert _count(app, Notification, Notification.user_id == coordinator.id,
                  Notification.kind == "shortlist_requested") == 1
    assert _count(app, AuditEvent, AuditEvent.action == "proposal.shortlist_request") == 1
    # The lab sees it next to the proposal in its review queue.
    sign_in(client, coordinator)
    queue = client.get("/coordinator/").get_data(as_text=True)
    assert "The department asks the lab to shortlist this proposal" in queue
    assert "Their chatbot already serves two clinics." in queue
    # And on the trial page, where the decision is taken; not for the startup's eyes.
    page = client.get(f"/trials/{_trial.id}").get_data(as_text=True)
    assert "The department's shortlist request" in page and "Their chatbot already serves two clinics." in page
    sign_in(client, make.user("startup", startup_id=proposal.startup_id))
    own = client.get(f"/trials/{_trial.id}").get_data(as_text=True)
    assert "Their chatbot already serves two clinics." not in own


def test_shortlist_request_needs_a_note_and_writes_nothing_without_one(
    app: Flask, client: FlaskClient, make: Factory
) -> None:
    world = _setup(make, proposals=1)
    make.user("coordinator")
    proposal = world["rows"][0][0]
    sign_in(client, world["officer"])
    response = client.post(
        f"/challenges/{world['challenge'].id}/proposals/{proposal.id}/shortlist-request", data={"note": "  "}
    )
    assert response.status_code == 400
    assert "Tell the lab why this proposal should be shortlisted." in response.get_data(as_text=True)
    assert _count(app, Notification) == 0
    assert _count(app, AuditEvent, AuditEvent.action == "proposal.shortlist_request") == 0


def test_shortlist_request_is_refused_once_the_lab_has_decided(app: Flask, client: FlaskClient, make: Factory) -> None:
    world = _setup(make, proposals=1)
    proposal, trial = world["rows"][0]
    with app.app_context():
        db.get(Trial, trial.id).status = "shortlisted"
        db.commit()
    sign_in(client, world["officer"])
    response = client.post(
        f"/challenges/{world['challenge'].id}/proposals/{proposal.id}/shortlist-request", data={"note": "Please."}
    )
    assert response.status_code == 409
    assert "The lab has already decided on this proposal" in response.get_data(as_text=True)


def test_shortlist_request_is_asked_once(app: Flask, client: FlaskClient, make: Factory) -> None:
    world = _setup(make, proposals=1)
    proposal = world["rows"][0][0]
    sign_in(client, world["officer"])
    url = f"/challenges/{world['challenge'].id}/proposals/{proposal.id}/shortlist-request"
    assert client.post(url, data={"note": "Please."}).status_code == 302
    again = client.post(url, data={"note": "Please, again."})
    assert again.status_code == 409
    assert _count(app, AuditEvent, AuditEvent.action == "proposal.shortlist_request") == 1


def test_shortlist_request_for_a_proposal_of_another_challenge_is_not_found(
    client: FlaskClient, make: Factory
) -> None:
    world = _setup(make, proposals=1)
    other = _setup(make, proposals=1, prefix="Other ")
    sign_in(client, world["officer"])
    theirs = other["rows"][0][0]
    response = client.post(
        f"/challenges/{world['challenge'].id}/proposals/{theirs.id}/shortlist-request", data={"note": "Please."}
    )
    assert response.status_code == 404


def test_inbox_reads_in_chinese(client: FlaskClient, make: Factory) -> None:
    world = _setup(make, proposals=2)
    sign_in(client, world["officer"])
    client.post("/language", data={"locale": "zh_Hant_HK"})
    html = client.get(f"/challenges/{world['challenge'].id}/proposals").get_data(as_text=True)
    assert "已收到的建議" in html
