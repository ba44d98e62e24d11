"""The public API: reads, pagination, caching, tokens, scopes, errors as problem details."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from models import ApiToken, AuditEvent, Capability, User
from portal import clock
from portal.database import db
from tests.helpers import sign_in

PROBLEM = "application/problem+json"


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_challenges_list_shows_published_challenges_only(client, make):
    dept = make.department(code="DH-X")
    opened = make.challenge(dept, title="Open one")
    closed = make.challenge(dept, title="Closed one", status="closed")
    make.challenge(dept, title="Secret draft", status="draft")
    response = client.get("/api/v1/challenges")
    assert response.status_code == 200
    ids = [item["id"] for item in response.get_json()["items"]]
    assert ids == [opened.id, closed.id]


def test_challenges_filter_by_status_domain_department_and_language(client, make):
    dept, other = make.department(code="DH-A"), make.department(code="DH-B")
    unit = make.department(code="DH-A-1", parent_id=dept.id)
    wanted = make.challenge(unit, domains=["data_collaboration"], language="zh-Hant")
    make.challenge(other, domains=["data_collaboration"], language="zh-Hant")
    make.challenge(dept, domains=["smart_clinic"], language="zh-Hant")
    make.challenge(dept, domains=["data_collaboration"], language="en")
    query = "status=open&domain=data_collaboration&department=DH-A&language=zh-Hant"
    items = client.get(f"/api/v1/challenges?{query}").get_json()["items"]
    assert [i["id"] for i in items] == [wanted.id]
    assert items[0]["language"] == "zh-Hant"


def test_challenges_follow_the_next_link_through_every_page(client, make):
    dept = make.department()
    made = [make.challenge(dept).id for _ in range(5)]
    seen, url = [], "/api/v1/challenges?limit=2"
    while url:
        body = client.get(url).get_json()
        seen += [i["id"] for i in body["items"]]
        url = body["next"]
    assert seen == made


def test_a_forged_cursor_is_a_400_problem(client):
    response = client.get("/api/v1/challenges?cursor=bm90LW91cnM")
    assert response.status_code == 400 and response.mimetype == PROBLEM
    assert "cursor" in response.get_json()["detail"]


def test_an_unknown_filter_value_is_a_422_with_field_errors(client):
    response = client.get("/api/v1/challenges?domain=astrology&limit=0")
    assert response.status_code == 422 and response.mimetype == PROBLEM
    body = response.get_json()
    assert set(body["errors"]) == {"domain", "limit"}
    assert body["type"] == "about:blank" and body["status"] == 422 and body["title"]


def test_labels_follow_accept_language_and_content_keeps_its_language(client, make):
    ch = make.challenge(title="Clinic booking", domains=["smart_clinic"])
    zh = client.get(f"/api/v1/challenges/{ch.id}", headers={"Accept-Language": "zh-HK"}).get_json()
    en = client.get(f"/api/v1/challenges/{ch.id}", headers={"Accept-Language": "en"}).get_json()
    assert zh["domains"][0]["label"] == "智慧診所" and en["domains"][0]["label"] == "Smart clinics"
    assert zh["title"] == en["title"] == "Clinic booking" and zh["language"] == "en"
    assert zh["questions"] == []


def test_a_draft_is_404_for_the_public_and_visible_with_its_officers_token(client, make):
    dept = make.department()
    draft = make.challenge(dept, status="draft")
    officer = make.user("officer", department_id=dept.id)
    assert client.get(f"/api/v1/challenges/{draft.id}").status_code == 404
    response = client.get(f"/api/v1/challenges/{draft.id}", headers=bearer(make.token(officer)))
    assert response.status_code == 200


def test_an_unchanged_read_answers_304_to_its_etag(client, make):
    make.challenge()
    first = client.get("/api/v1/challenges")
    etag = first.headers["ETag"]
    again = client.get("/api/v1/challenges", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    make.challenge()
    assert client.get("/api/v1/challenges", headers={"If-None-Match": etag}).status_code == 200


def test_reads_allow_any_origin_and_writes_are_not_offered_cross_origin(client):
    response = client.get("/api/v1/challenges", headers={"Origin": "https://example.org"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers
    preflight = client.options("/api/v1/me/startup", headers={
        "Origin": "https://example.org", "Access-Control-Request-Method": "PATCH"})
    assert "PATCH" not in preflight.headers.get("Access-Control-Allow-Methods", "")


def test_trials_list_completed_trials_with_their_outcome(client, make):
    ch = make.challenge()
    cap = make.capability()
    done = make.trial(ch, cap, status="completed", outcome="adopted", completed_at=clock.now())
    make.trial(make.challenge(), make.capability(), status="running")
    # Not yet signed off by the department: not public.
    make.trial(make.challenge(), make.capability(), status="completed", outcome="adopted", completed_at=clock.now(),
               signed_off=False)
    items = client.get("/api/v1/trials").get_json()["items"]
    assert [(i["id"], i["outcome"]["key"]) for i in items] == [(done.id, "adopted")]


def test_statistics_and_workshops_answer(client, make):
    make.challenge()
    figures = client.get("/api/v1/statistics").get_json()
    assert figures["overall"]["challenges"] == 1
    assert client.get("/api/v1/workshops?when=upcoming").get_json() == {"items": [], "next": None}


def test_token_endpoints_need_a_token(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401 and response.mimetype == PROBLEM
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_signed_in_browser_session_does_not_authenticate_the_api(client, make):
    member = make.user("startup")
    sign_in(client, member)
    assert client.get("/api/v1/me").status_code == 401
    assert client.patch("/api/v1/me/startup", json={"name": "Hijacked"}).status_code == 401


def test_a_revoked_token_is_refused(client, make, ctx):
    member = make.user("startup")
    secret = make.token(member)
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200
    token = db.scalar(select(ApiToken))
    token.revoked_at = clock.now()
    db.commit()
    response = client.get("/api/v1/me", headers=bearer(secret))
    assert response.status_code == 401 and "revoked" in response.get_json()["detail"]


def test_an_expired_token_is_refused(client, make):
    member = make.user("startup")
    secret = make.token(member, created_at=clock.now() - timedelta(days=31), expires_at=clock.now() - timedelta(seconds=1))
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 401


def test_a_token_of_a_deactivated_user_is_refused(client, make):
    member = make.user("startup", is_active=False)
    assert client.get("/api/v1/me", headers=bearer(make.token(member))).status_code == 401


def test_a_token_of_an_officer_without_two_step_is_refused_until_it_is_set_up(client, make, ctx):
    # A token made before officers had to use two-step verification does not get round it.
    officer = make.user("officer")
    secret = make.token(officer)
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200
    stored = ctx.get(User, officer.id)
    stored.mfa_secret, stored.mfa_enabled_at = None, None
    ctx.commit()
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 401


def test_a_read_token_cannot_write(client, make):
    member = make.user("startup")
    response = client.patch("/api/v1/me/startup", json={"description": "New"}, headers=bearer(make.token(member)))
    assert response.status_code == 403 and "write" in response.get_json()["detail"]


def test_a_write_token_changes_the_profile_and_capabilities_through_the_services(client, make, ctx):
    member = make.user("startup")
    headers = bearer(make.token(member, scope="write"))
    patched = client.patch("/api/v1/me/startup", json={"description": "We build OCR."}, headers=headers)
    assert patched.status_code == 200 and patched.get_json()["description"] == "We build OCR."
    body = {"name": "Licence OCR", "description": "Reads scanned licence applications in two languages.",
            "readiness": 6, "language": "en", "domains": ["health_regulation"], "technologies": ["OCR"]}
    created = client.post("/api/v1/me/startup/capabilities", json=body, headers=headers)
    assert created.status_code == 201 and created.get_json()["technologies"] == ["ocr"]
    cap_id = created.get_json()["id"]
    replaced = client.put(f"/api/v1/me/startup/capabilities/{cap_id}", json={**body, "readiness": 8}, headers=headers)
    assert replaced.status_code == 200 and replaced.get_json()["readiness"] == 8
    assert client.delete(f"/api/v1/me/startup/capabilities/{cap_id}", headers=headers).status_code == 204
    actions = list(db.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions == ["startup.update", "capability.create", "capability.update", "capability.delete"]
    assert db.get(Capability, cap_id) is None


def test_a_refused_value_is_a_422_on_its_field(client, make):
    member = make.user("startup")
    headers = bearer(make.token(member, scope="write"))
    body = {"name": "X", "description": "Too short", "readiness": 5, "language": "en", "domains": ["smart_clinic"]}
    response = client.post("/api/v1/me/startup/capabilities", json=body, headers=headers)
    assert response.status_code == 422 and "description" in response.get_json()["errors"]


def test_another_startups_capability_is_404(client, make):
    member = make.user("startup")
    other = make.capability()
    response = client.put(f"/api/v1/me/startup/capabilities/{other.id}", headers=bearer(make.token(member, scope="write")),
                          json={"name": "Mine now", "description": "x" * 40, "readiness": 5, "language": "en",
                                "domains": ["smart_clinic"]})
    assert response.status_code == 404


def test_a_startup_reads_its_recommendations_with_explanations(client, make):
    startup = make.startup()
    member = make.user("startup", startup=startup)
    make.capability(startup)
    wanted = make.challenge(title="Clinic chatbot for appointment booking")
    response = client.get("/api/v1/me/recommendations", headers=bearer(make.token(member)))
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [i["challenge"]["id"] for i in items] == [wanted.id]
    assert items[0]["explanation"] and items[0]["score"] > 0
    # The evidence is the pair's whose score is shown: the challenge's text against the capability's.
    explanation = items[0]["explanation"]
    assert explanation["query_side"] == "challenge"
    if explanation["best_pair"]:
        assert explanation["best_pair"]["query"].lower() in wanted.problem_statement.lower()


def test_an_officer_reads_their_challenges_proposals_and_not_others(client, make):
    dept, other_dept = make.department(), make.department()
    ch = make.challenge(dept)
    cap = make.capability()
    make.proposal(ch, cap)
    officer = make.user("officer", department_id=dept.id)
    outsider = make.user("officer", department_id=other_dept.id)
    mine = client.get(f"/api/v1/challenges/{ch.id}/proposals", headers=bearer(make.token(officer)))
    assert mine.status_code == 200 and len(mine.get_json()["items"]) == 1
    theirs = client.get(f"/api/v1/challenges/{ch.id}/proposals", headers=bearer(make.token(outsider)))
    assert theirs.status_code == 403


def test_tokens_never_appear_in_logs(client, make, caplog):
    member = make.user("startup")
    secret = make.token(member, scope="write")
    caplog.set_level(logging.DEBUG)
    client.get("/api/v1/me", headers=bearer(secret))
    client.patch("/api/v1/me/startup", json={"size": "nonsense"}, headers=bearer(secret))
    client.get("/api/v1/me", headers=bearer(secret + "x"))
    client.get("/api/v1/me", headers={"Authorization": "Basic " + secret})
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert logged  # the refusals were logged...
    assert secret[4:] not in logged  # ...without the token


def test_an_unknown_api_address_is_a_problem_not_a_page(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.mimetype == PROBLEM


def test_the_openapi_document_is_3_1_and_documents_problems(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"] == "3.1.0"
    assert "bearerAuth" in doc["components"]["securitySchemes"]
    assert PROBLEM in doc["components"]["responses"]["UNAUTHORIZED"]["content"]


def test_the_docs_page_loads_swagger_ui_from_this_site(client):
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in page and "/static/js/api-docs.js" in page
    assert "<script>" not in page


def test_api_responses_set_no_session_cookie(client, make):
    make.challenge()
    response = client.get("/api/v1/challenges")
    assert "Set-Cookie" not in response.headers
