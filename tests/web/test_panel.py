"""Panel scoring: published criteria, scoring a proposal, conflicts, the side-by-side table, locking."""

from __future__ import annotations

import html
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from models import AuditEvent, Challenge, EvaluationCriterion, PanelScore, Proposal
from portal.database import db
from portal.services import panel
from tests.factories import Factory
from tests.helpers import sign_in


def _world(make: Factory, proposals: int = 2, **challenge: Any) -> dict[str, Any]:
    """An open challenge (criteria fixed as on opening) with proposals, its officer and a coordinator."""
    dept = make.department()
    officer = make.user("officer", department=dept, display_name="Officer Olive")
    coordinator = make.user("coordinator", display_name="Coordinator Cora", email="cora@lab.example.org")
    ch = make.challenge(dept, **challenge)
    with make.app.app_context():
        panel.fix_criteria(db.get(Challenge, ch.id))
        db.commit()
    rows = []
    for n in range(proposals):
        startup = make.startup(name=f"Panel Startup {n}")
        cap = make.capability(startup)
        proposal = make.proposal(ch, cap, pitch=f"Pitch {n}: we can run this pilot in eight weeks.")
        trial = make.trial(ch, cap, proposal_id=proposal.id)
        rows.append((proposal, trial))
    return {"dept": dept, "officer": officer, "coordinator": coordinator, "challenge": ch, "rows": rows}


def _criteria(app: Flask, challenge_id: int) -> list[EvaluationCriterion]:
    with app.app_context():
        rows = list(db.scalars(select(EvaluationCriterion).where(EvaluationCriterion.challenge_id == challenge_id)
                               .order_by(EvaluationCriterion.position)))
        db.expunge_all()
        return rows


def _score_data(criteria: list[EvaluationCriterion], score: int | str, comment: str = "") -> dict[str, str]:
    data: dict[str, str] = {}
    for c in criteria:
        data[f"score_{c.id}"] = str(score)
        data[f"comment_{c.id}"] = comment
    return data


def _count(app: Flask, model: Any, *where: Any) -> int:
    with app.app_context():
        return db.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_open_challenge_publishes_the_templates_criteria_in_both_languages(client: FlaskClient, make: Factory) -> None:
    world = _world(make, proposals=0)
    page = client.get(f"/challenges/{world['challenge'].id}").get_data(as_text=True)
    assert "How proposals are assessed" in page
    assert "Fit to the need" in page and "30%" in page
    zh = client.get(f"/challenges/{world['challenge'].id}", headers={"Accept-Language": "zh-HK"}).get_data(as_text=True)
    assert "如何評審建議書" in zh and "切合需要" in zh and "Fit to the need" not in zh


def test_officer_sets_criteria_on_a_draft_and_weights_must_add_up(client: FlaskClient, make: Factory, app: Flask) -> None:
    dept = make.department()
    officer = make.user("officer", department=dept)
    draft = make.challenge(dept, status="draft")
    sign_in(client, officer)
    form = client.get(f"/challenges/{draft.id}/criteria").get_data(as_text=True)
    assert 'value="Fit to the need"' in form
    bad = client.post(f"/challenges/{draft.id}/criteria", data={
        "name_1": "Clinical safety", "weight_1": "60", "name_2": "Cost", "weight_2": "30",
    })
    assert bad.status_code == 400
    assert "add up to 90" in bad.get_data(as_text=True)
    assert _count(app, EvaluationCriterion, EvaluationCriterion.challenge_id == draft.id) == 0
    ok = client.post(f"/challenges/{draft.id}/criteria", data={
        "name_1": "Clinical safety", "description_1": "No harm to patients.", "weight_1": "70",
        "name_2": "Cost", "weight_2": "30",
    })
    assert ok.status_code == 302
    rows = _criteria(app, draft.id)
    assert [(r.name, r.weight, r.key) for r in rows] == [("Clinical safety", 70, None), ("Cost", 30, None)]
    assert "Clinical safety" in client.get(f"/challenges/{draft.id}").get_data(as_text=True)
    assert _count(app, AuditEvent, AuditEvent.action == "challenge.criteria") == 1


def test_unchanged_template_rows_keep_their_key(client: FlaskClient, make: Factory, app: Flask) -> None:
    dept = make.department()
    officer = make.user("officer", department=dept)
    draft = make.challenge(dept, status="draft")
    sign_in(client, officer)
    data = {}
    for i, (key, weight) in enumerate(panel.TEMPLATE, start=1):
        with app.test_request_context():
            from portal.labels import CRITERION_LABELS
            data[f"key_{i}"] = key
            data[f"name_{i}"] = str(CRITERION_LABELS[key][0])
            data[f"description_{i}"] = str(CRITERION_LABELS[key][1])
            data[f"weight_{i}"] = str(weight)
    data["name_2"] = "Evidence from Hong Kong clinics"
    assert client.post(f"/challenges/{draft.id}/criteria", data=data).status_code == 302
    keys = [r.key for r in _criteria(app, draft.id)]
    assert keys == ["fit", None, "feasibility", "privacy", "value"]


def test_criteria_are_fixed_once_open(client: FlaskClient, make: Factory, app: Flask) -> None:
    world = _world(make, proposals=0)
    sign_in(client, world["officer"])
    response = client.post(f"/challenges/{world['challenge'].id}/criteria", data={"name_1": "Cost", "weight_1": "100"})
    assert response.status_code == 409
    assert [r.key for r in _criteria(app, world["challenge"].id)] == [k for k, _ in panel.TEMPLATE]


def test_opening_a_draft_stores_its_criteria(client: FlaskClient, make: Factory, app: Flask) -> None:
    dept = make.department()
    officer = make.user("officer", department=dept)
    draft = make.challenge(dept, status="draft")
    sign_in(client, officer)
    assert client.post(f"/challenges/{draft.id}/open").status_code == 302
    assert len(_criteria(app, draft.id)) == len(panel.TEMPLATE)


def test_panel_scores_and_the_table_shows_totals_spread_and_who_is_pending(
    client: FlaskClient, make: Factory, app: Flask
) -> None:
    world = _world(make)
    criteria = _criteria(app, world["challenge"].id)
    (first, _t1), (second, _t2) = world["rows"]
    sign_in(client, world["officer"])
    assert client.post(f"/proposals/{first.id}/score", data=_score_data(criteria, 5, "Strong fit")).status_code == 302
    sign_in(client, world["coordinator"])
    assert client.post(f"/proposals/{first.id}/score", data=_score_data(criteria, 3)).status_code == 302
    assert client.post(f"/proposals/{second.id}/score", data=_score_data(criteria, 2)).status_code == 302
    html = client.get(f"/challenges/{world['challenge'].id}/panel").get_data(as_text=True)
    # first: totals 5 and 3 -> mean 4.00, spread 2.00; second: only the coordinator (2.00), officer pending
    assert "4.00" in html and "2.00" in html
    assert html.index("Panel Startup 0") < html.index("Panel Startup 1")  # best total first
    assert "Officer Olive" in html  # has not scored the second proposal
    assert _count(app, AuditEvent, AuditEvent.action == "proposal.score") == 3 * len(criteria)


def test_an_administrator_is_on_the_panel_table_only_once_they_have_scored(
    client: FlaskClient, make: Factory, app: Flask
) -> None:
    world = _world(make, proposals=1)
    admin = make.user("admin", display_name="Admin Ada")
    criteria = _criteria(app, world["challenge"].id)
    proposal = world["rows"][0][0]
    sign_in(client, world["coordinator"])
    table = client.get(f"/challenges/{world['challenge'].id}/panel").get_data(as_text=True)
    assert "Coordinator Cora" in table and "Officer Olive" in table and "Admin Ada" not in table
    sign_in(client, admin)
    assert client.post(f"/proposals/{proposal.id}/score", data=_score_data(criteria, 4)).status_code == 302
    table = client.get(f"/challenges/{world['challenge'].id}/panel").get_data(as_text=True)
    assert "Admin Ada" in table and "4.00" in table


def test_weighted_total_uses_the_published_weights(app: Flask, make: Factory) -> None:
    world = _world(make, proposals=0)
    criteria = _criteria(app, world["challenge"].id)
    scores = {c.id: (5 if c.key == "fit" else 1) for c in criteria}  # fit weighs 30
    assert panel.weighted_total(criteria, scores) == pytest.approx(0.3 * 5 + 0.7 * 1)
    del scores[criteria[0].id]
    assert panel.weighted_total(criteria, scores) is None


def test_every_criterion_must_be_scored(client: FlaskClient, make: Factory, app: Flask) -> None:
    world = _world(make, proposals=1)
    criteria = _criteria(app, world["challenge"].id)
    proposal = world["rows"][0][0]
    data = _score_data(criteria, 4)
    del data[f"score_{criteria[-1].id}"]
    sign_in(client, world["officer"])
    response = client.post(f"/proposals/{proposal.id}/score", data=data)
    assert response.status_code == 400
    # The message names the criterion left unscored (the summary lists one per criterion).
    from portal.labels import criterion_name

    with app.test_request_context():
        name = criterion_name(criteria[-1])
    assert f"Give {name} a score from 1 to 5." in html.unescape(response.get_data(as_text=True))
    assert _count(app, PanelScore) == 0
    data[f"score_{criteria[-1].id}"] = "9"
    assert client.post(f"/proposals/{proposal.id}/score", data=data).status_code == 400
    assert _count(app, PanelScore) == 0


def test_rescoring_replaces_the_members_scores(client: FlaskClient, make: Factory, app: Flask) -> None:
    world = _world(make, proposals=1)
    criteria = _criteria(app, world["challenge"].id)
    proposal = world["rows"][0][0]
    sign_in(client, world["officer"])
    client.post(f"/proposals/{proposal.id}/score", data=_score_data(criteria, 2))
    client.post(f"/proposals/{proposal.id}/score", data=_score_data(criteria, 4))
    with app.app_context():
        assert set(db.scalars(select(PanelScore.score))) == {4}
    assert _count(app, PanelScore) == len(criteria)


def test_declared_conflict_keeps_a_member_off_the_panel(client: FlaskClient, make: Factory, app: Flask) -> None:
    world = _world(make, proposals=1)
    criteria = _criteria(app, world["challenge"].id)
    proposal = world["rows"][0][0]
    sign_in(client, world["officer"])
    assert client.post(f"/proposals/{proposal.id}/panel-conflict", data={"reason": "My cousin founded it."}).status_code == 302
    page = client.get(f"/proposals/{proposal.id}/score").get_data(as_text=True)
    assert "conflict of interest" in page and "Save my scores" not in page
    assert client.post(f"/proposals/{proposal.id}/score", data=_score_data(criteria, 5)).status_code == 403
    assert _count(app, PanelScore) == 0
    html = client.get(f"/challenges/{world['challenge'].id}/panel").get_data(as_text=True)
    assert "Off the panel (conflict of interest): Officer Olive" in html


def test_detected_conflict_keeps_a_coordinator_off_the_panel(client: FlaskClient, make: Factory, app: Flask) -> None:
    dept = make.department()
    ch = make.challenge(dept)
    with app.app_context():
        panel.fix_criteria(db.get(Challenge, ch.id))
        db.commit()
    startup = make.startup(name="Acme Health", website="https://acmehealth.example.com.hk")
    cap = make.capability(startup)
    proposal = make.proposal(ch, cap)
    make.trial(ch, cap, proposal_id=proposal.id)
    coordinator = make.user("coordinator", email="cora@acmehealth.example.com.hk")
    criteria = _criteria(app, ch.id)
    sign_in(client, coordinator)
    assert client.post(f"/proposals/{proposal.id}/score", data=_score_data(criteria, 5)).status_code == 403


def test_scores_lock_when_the_lab_decides(client: FlaskClient, make: Factory, app: Flask) -> None:
    world = _world(make, proposals=1)
    criteria = _criteria(app, world["challenge"].id)
    proposal, trial = world["rows"][0]
    with app.app_context():
        from models import Trial
        db.get(Trial, trial.id).status = "rejected"
        db.commit()
    sign_in(client, world["coordinator"])
    response = client.post(f"/proposals/{proposal.id}/score", data=_score_data(criteria, 5))
    assert response.status_code == 409
    assert "locked" in response.get_data(as_text=True)
    assert _count(app, PanelScore) == 0


@pytest.mark.parametrize("who", ["startup", "other_officer", "anonymous"])
def test_outsiders_cannot_score_or_read_the_panel(who: str, client: FlaskClient, make: Factory, app: Flask) -> None:
    world = _world(make, proposals=1)
    proposal = world["rows"][0][0]
    criteria = _criteria(app, world["challenge"].id)
    if who == "startup":
        with app.app_context():
            startup_id = db.get(Proposal, proposal.id).startup_id
        sign_in(client, make.user("startup", startup_id=startup_id))
    elif who == "other_officer":
        sign_in(client, make.user("officer"))
    table = client.get(f"/challenges/{world['challenge'].id}/panel")
    score = client.post(f"/proposals/{proposal.id}/score", data=_score_data(criteria, 5))
    if who == "anonymous":
        assert table.status_code == 302 and score.status_code == 302
    else:
        assert table.status_code == 403 and score.status_code in (403, 404)
    assert _count(app, PanelScore) == 0


def test_inbox_and_queue_link_to_scoring(client: FlaskClient, make: Factory) -> None:
    world = _world(make, proposals=1)
    proposal = world["rows"][0][0]
    sign_in(client, world["officer"])
    inbox = client.get(f"/challenges/{world['challenge'].id}/proposals").get_data(as_text=True)
    assert f"/proposals/{proposal.id}/score" in inbox
    assert f"/challenges/{world['challenge'].id}/panel" in inbox
    sign_in(client, world["coordinator"])
    queue = client.get("/coordinator/").get_data(as_text=True)
    assert f"/proposals/{proposal.id}/score" in queue


def test_panel_table_of_a_challenge_without_stored_criteria_shows_the_template(
    client: FlaskClient, make: Factory
) -> None:
    dept = make.department()
    officer = make.user("officer", department=dept)
    challenge = make.challenge(dept)  # opened by a direct insert: no criteria stored yet
    cap = make.capability()
    proposal = make.proposal(challenge, cap)
    make.trial(challenge, cap, proposal_id=proposal.id)
    sign_in(client, officer)
    html = client.get(f"/challenges/{challenge.id}/panel").get_data(as_text=True)
    assert "Fit to the need" in html and "Privacy, security and compliance" in html


def test_queue_lists_completed_trials_with_where_their_outcome_is(client: FlaskClient, make: Factory) -> None:
    coordinator = make.user("coordinator")
    challenge = make.challenge(title="Finished booking pilot")
    make.trial(challenge, make.capability(), status="completed", outcome="adopted", signed_off=False)
    sign_in(client, coordinator)
    html = client.get("/coordinator/").get_data(as_text=True)
    assert "Recently completed trials" in html and "Finished booking pilot" in html
    assert "waiting for the department's sign-off" in html
