"""API tokens: scopes on every write operation, rate limits, and the tokens page."""

from __future__ import annotations

import re

from sqlalchemy import select

from models import ApiToken, AuditEvent, User
from portal.database import db
from tests.factories import PASSWORD

from .test_access_matrix import _methods, _rules, _url, is_api
from .world import bearer_for, db_state, sign_in_as

WRITES = ("POST", "PUT", "PATCH", "DELETE")


def test_a_read_token_is_refused_by_every_write_operation_and_changes_nothing(app, world):
    state = db_state(app)
    checked = 0
    for rule in _rules(app):
        for method in _methods(rule):
            if method in WRITES and is_api(rule):
                client = app.test_client()
                response = client.open(_url(rule, world, "open"), method=method, json={},
                                       headers=bearer_for("member", world, scope="read"))
                assert response.status_code == 403, (rule.endpoint, method, response.status_code)
                assert response.mimetype == "application/problem+json"
                checked += 1
    assert checked >= 4
    assert db_state(app) == state


def test_api_requests_beyond_the_rate_limit_get_429_problem(make_app, world):
    limited = make_app(RATELIMIT_ENABLED=True)
    client = limited.test_client()
    codes = [client.get("/api/v1/statistics").status_code for _ in range(125)]
    assert codes[0] == 200 and codes[-1] == 429
    response = client.get("/api/v1/statistics")
    assert response.mimetype == "application/problem+json" and response.get_json()["status"] == 429
    # Another token has a budget of its own.
    assert client.get("/api/v1/me", headers=bearer_for("member", world)).status_code == 200


def test_a_user_creates_a_token_that_is_shown_once_and_stored_hashed(app, world):
    client = sign_in_as(app.test_client(), "member", world)
    response = client.post("/account/tokens", data={"name": "Our website", "scope": "write", "days": "30", "current_password": PASSWORD})
    assert response.status_code == 200
    secret = re.search(r'data-testid="new-token">(imt_[A-Za-z0-9_-]+)<', response.get_data(as_text=True)).group(1)
    assert secret not in client.get("/account/tokens").get_data(as_text=True)
    with app.app_context():
        token = db.scalar(select(ApiToken).where(ApiToken.name == "Our website"))
        assert token.scope == "write" and secret not in (token.token_hash, token.prefix)
        assert db.scalar(select(AuditEvent).where(AuditEvent.action == "api_token.create")) is not None
    me = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.get_json()["token"]["scope"] == "write"


def test_a_user_revokes_their_token_and_it_stops_working(app, world):
    client = sign_in_as(app.test_client(), "member", world)
    response = client.post(f"/account/tokens/{world.token}/revoke")
    assert response.status_code == 302
    refused = app.test_client().get("/api/v1/me", headers=bearer_for("member", world))
    assert refused.status_code == 401
    with app.app_context():
        assert db.scalar(select(AuditEvent).where(AuditEvent.action == "api_token.revoke")) is not None


def test_a_token_form_without_a_name_is_400_with_a_message(app, world):
    client = sign_in_as(app.test_client(), "member", world)
    response = client.post("/account/tokens", data={"name": "", "scope": "read", "days": "90", "current_password": PASSWORD})
    assert response.status_code == 400
    assert "Name the token" in response.get_data(as_text=True)


def test_a_lifetime_not_offered_is_refused(app, world):
    client = sign_in_as(app.test_client(), "member", world)
    response = client.post("/account/tokens", data={"name": "Forever", "scope": "read", "days": "100000", "current_password": PASSWORD})
    assert response.status_code == 400


def test_a_token_needs_the_password_again_and_its_owner_is_emailed(app, world, smtp):
    """A session left open or stolen must not become a year-long credential (review of
    7 Dec 2026, L1): the password is asked again (through the throttled re-check that the
    other sensitive forms use), and the owner hears of every new token."""
    client = sign_in_as(app.test_client(), "member", world)
    with app.app_context():
        owner = db.get(User, world.users["member"])
    wrong = client.post("/account/tokens", data={"name": "ci", "scope": "read", "days": "30",
                                                 "current_password": "not the password at all"})
    assert wrong.status_code == 400 and "Your current password is not correct." in wrong.get_data(as_text=True)
    missing = client.post("/account/tokens", data={"name": "ci", "scope": "read", "days": "30"})
    assert missing.status_code == 400 and "Enter your current password." in missing.get_data(as_text=True)
    with app.app_context():
        assert db.scalar(select(ApiToken).where(ApiToken.name == "ci")) is None
    made = client.post("/account/tokens", data={"name": "ci", "scope": "read", "days": "30",
                                                "current_password": PASSWORD})
    assert made.status_code == 200
    told = [m for m in smtp.to(owner.email) if "API token" in str(m["Subject"])]
    assert len(told) == 1 and '"ci"' in smtp.body(told[0])


def test_a_staff_token_lives_at_most_ninety_days(app, world):
    client = sign_in_as(app.test_client(), "coordinator", world)
    year = client.post("/account/tokens", data={"name": "report", "scope": "read", "days": "365",
                                                 "current_password": PASSWORD})
    assert year.status_code == 400 and "at most 90 days" in year.get_data(as_text=True)
    assert client.post("/account/tokens", data={"name": "report", "scope": "read", "days": "90",
                                                "current_password": PASSWORD}).status_code == 200
