"""Operations: liveness, readiness with reasons, Prometheus metrics, request ids in logs."""

from __future__ import annotations

import json
import logging
import smtplib
from email.message import EmailMessage

from prometheus_client import REGISTRY
from sqlalchemy.exc import OperationalError

from portal import logs
from portal.services import health, mail, recommendations
from portal.services.health import Check


def _sample(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


def test_healthz_answers_ok_without_touching_the_database(client, monkeypatch):
    def no_database(*_args, **_kwargs):
        raise AssertionError("liveness must not query the database")

    monkeypatch.setattr("portal.database.db.execute", no_database)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert "Set-Cookie" not in response.headers


def test_readyz_is_ready_when_every_dependency_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["ready"] is True
    assert body["checks"]["database"] == {"ok": True, "detail": "answers"}
    assert "redis" not in body["checks"]  # memory:// rate limits: no Redis to depend on
    assert "Set-Cookie" not in response.headers


def test_readyz_tells_others_only_whether_it_is_ready(client, monkeypatch):
    """The checks' details (the model, the vector count, what is down) are for the addresses
    that may read /metrics; a load balancer elsewhere needs only the status code."""
    outside = client.get("/readyz", environ_base={"REMOTE_ADDR": "198.51.100.4"})
    assert outside.status_code == 200 and outside.get_json() == {"ready": True}
    monkeypatch.setattr(health, "check_database", lambda: Check(False, "OperationalError"))
    down = client.get("/readyz", environ_base={"REMOTE_ADDR": "198.51.100.4"})
    assert down.status_code == 503 and down.get_json() == {"ready": False}


def test_readyz_reports_the_database_down_with_503_and_the_reason(client, monkeypatch):
    def broken(*_args, **_kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(health.db, "execute", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["ready"] is False
    assert body["checks"]["database"] == {"ok": False, "detail": "database unavailable: OperationalError"}


def test_readyz_pings_redis_when_the_rate_limits_use_it_and_reports_it_down(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_STORAGE_URI", "redis://127.0.0.1:1/0")  # nothing listens on port 1
    monkeypatch.setitem(app.config, "READYZ_TIMEOUT", 0.5)
    response = client.get("/readyz")
    assert response.status_code == 503
    check = response.get_json()["checks"]["redis"]
    assert check["ok"] is False
    assert check["detail"].startswith("redis unavailable: ")


def test_readyz_reads_redis_url_too_and_is_ready_when_it_answers(app, client, monkeypatch):
    pinged: list[str] = []
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://cache.internal:6379/1")
    monkeypatch.setattr(health, "check_redis", lambda url: pinged.append(url) or Check(True, "answers"))
    response = client.get("/readyz")
    assert response.status_code == 200
    assert pinged == ["redis://cache.internal:6379/1"]


def test_readyz_checks_the_job_queue_redis_too_when_it_is_elsewhere(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_STORAGE_URI", "redis://limits.internal:6379/0")
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens on port 1
    monkeypatch.setitem(app.config, "READYZ_TIMEOUT", 0.5)
    real = health.check_redis
    monkeypatch.setattr(health, "check_redis", lambda url: Check(True, "answers") if "limits" in url else real(url))
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert checks["redis"] == {"ok": True, "detail": "answers"}
    assert checks["redis_jobs"]["ok"] is False and checks["redis_jobs"]["detail"].startswith("redis unavailable: ")
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://limits.internal:6379/0")  # one Redis for both: one check
    assert set(client.get("/readyz").get_json()["checks"]) == {"database", "redis", "matcher_model", "vectors"}


def test_a_model_not_loaded_yet_is_not_ready_only_when_required(app, client, monkeypatch):
    monkeypatch.setattr(health.recommendations, "loaded_encoder", lambda: None)
    monkeypatch.setattr(health, "_load_in_background", lambda name: None)
    assert client.get("/readyz").get_json()["checks"]["matcher_model"]["ok"] is True
    monkeypatch.setitem(app.config, "READYZ_REQUIRE_MODEL", True)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["matcher_model"] == {"ok": False, "detail": "hashing loading"}


def test_a_required_model_is_loaded_in_the_background_and_the_process_then_ready(app, client, monkeypatch):
    import sys

    settings_module = sys.modules["portal.services.recommendations.settings"]
    monkeypatch.setitem(app.config, "READYZ_REQUIRE_MODEL", True)
    monkeypatch.setattr(settings_module, "_encoders", {})  # this process has loaded no model
    monkeypatch.setattr(health, "_loading", {})
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["matcher_model"] == {"ok": False, "detail": "hashing loading"}
    health._loading["hashing"].join(timeout=30)  # the probe did not wait for it
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"]["matcher_model"]["detail"].startswith("hashing loaded")


def test_readyz_reports_missing_vectors_for_the_loaded_model(app, client, make):
    make.challenge()  # something to rank ...
    with app.app_context():
        model_id = recommendations.encoder().model_id  # ... with the model loaded
        health.db.execute(health.Embedding.__table__.delete())
        health.db.commit()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["vectors"] == {
        "ok": False, "detail": f"no vectors for {model_id}: run flask matcher reindex",
    }
    with app.app_context():
        recommendations.reindex()
        health.db.commit()
    assert client.get("/readyz").get_json()["checks"]["vectors"]["ok"] is True


def test_metrics_count_requests_by_endpoint_and_status(client):
    labels = {"endpoint": "main.healthz", "method": "GET", "status": "200"}
    before = _sample("innomatch_request_duration_seconds_count", labels)
    client.get("/healthz")
    client.get("/healthz")
    text = client.get("/metrics").get_data(as_text=True)
    assert _sample("innomatch_request_duration_seconds_count", labels) == before + 2
    assert "innomatch_requests_in_flight" in text
    assert 'innomatch_request_duration_seconds_count{endpoint="main.healthz",method="GET",status="200"}' in text


def test_metrics_are_hidden_from_addresses_not_allowed(app, client, monkeypatch):
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 404
    monkeypatch.setitem(app.config, "METRICS_ALLOWED_IPS", "10.0.0.0/8, 127.0.0.1")
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 404


class _FakeSmtp:
    """Accepts every message except those to refused@example.org."""

    def __init__(self, *_args, **_kwargs) -> None:
        pass

    def __enter__(self):  # type: ignore[no-untyped-def]
        return self

    def __exit__(self, *_exc: object) -> None:
        return None

    def send_message(self, message: EmailMessage) -> None:
        if "refused@" in str(message["To"]):
            raise smtplib.SMTPRecipientsRefused({"refused@example.org": (550, b"no")})


def test_metrics_count_mails_sent_and_failed(ctx, monkeypatch):
    monkeypatch.setattr(mail.smtplib, "SMTP", _FakeSmtp)
    sent, failed = _sample("innomatch_mails_sent_total"), _sample("innomatch_mails_failed_total")
    messages = [mail.build_message("A", f"{who}@example.org", "Hi", "Body") for who in ("a", "refused", "b")]
    assert mail.send(messages, mail.SmtpSettings("smtp.example", 25)) == 2
    assert _sample("innomatch_mails_sent_total") == sent + 2
    assert _sample("innomatch_mails_failed_total") == failed + 1


def test_metrics_time_each_ranker_fit(app, ctx, make):
    make.capability()
    challenge = make.challenge()
    recommendations.clear_caches(app)
    before = _sample("innomatch_ranker_fit_seconds_count", {"corpus": "capabilities"})
    recommendations.recommend_startups(ctx.get(type(challenge), challenge.id), None)
    recommendations.recommend_startups(ctx.get(type(challenge), challenge.id), None)  # fitted once, then cached
    assert _sample("innomatch_ranker_fit_seconds_count", {"corpus": "capabilities"}) == before + 1


def test_metrics_time_each_ranker_update_from_changed_rows(app, ctx, make):
    cap = make.capability()
    challenge = make.challenge()
    recommendations.clear_caches(app)
    recommendations.recommend_startups(ctx.get(type(challenge), challenge.id), None)
    ctx.commit()  # the vectors it stored
    fits = _sample("innomatch_ranker_fit_seconds_count", {"corpus": "capabilities"})
    updates = _sample("innomatch_ranker_update_seconds_count", {"corpus": "capabilities"})
    make.capability(ctx.get(type(cap), cap.id).startup, name="Queue calling")  # a new row: one update, no fit
    recommendations.recommend_startups(ctx.get(type(challenge), challenge.id), None)
    assert _sample("innomatch_ranker_update_seconds_count", {"corpus": "capabilities"}) == updates + 1
    assert _sample("innomatch_ranker_fit_seconds_count", {"corpus": "capabilities"}) == fits


def test_a_well_formed_request_id_is_echoed_and_a_bad_one_replaced(client):
    assert client.get("/healthz", headers={"X-Request-ID": "req-1234abcd"}).headers["X-Request-ID"] == "req-1234abcd"
    replaced = client.get("/healthz", headers={"X-Request-ID": "<script>alert(1)</script>"}).headers["X-Request-ID"]
    assert "<" not in replaced and len(replaced) == 32
    generated = client.get("/healthz").headers["X-Request-ID"]
    assert len(generated) == 32 and generated != replaced


def test_the_request_id_is_on_every_log_record_of_the_request(client, monkeypatch, caplog):
    def broken(*_args, **_kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(health.db, "execute", broken)  # /readyz then logs a warning
    with caplog.at_level(logging.WARNING, logger="innomatch.health"):
        client.get("/readyz", headers={"X-Request-ID": "trace-5678efgh"})
        generated = client.get("/readyz").headers["X-Request-ID"]
    ids = [r.request_id for r in caplog.records if r.name == "innomatch.health"]
    assert ids == ["trace-5678efgh", generated]
    assert logging.getLogger("innomatch.test").makeRecord("x", logging.INFO, "f", 1, "m", (), None).request_id == "-"


def test_json_log_lines_carry_the_request_id():
    record = logging.LogRecord("innomatch.mail", logging.INFO, "f", 1, "mail %s", ("sent",), None)
    record.request_id = "abc12345"
    line = json.loads(logs.JsonFormatter().format(record))
    assert line["message"] == "mail sent" and line["request_id"] == "abc12345" and line["level"] == "INFO"
    assert isinstance(logs.formatter("json"), logs.JsonFormatter)
    assert not isinstance(logs.formatter("text"), logs.JsonFormatter)



def test_a_slow_request_is_logged_with_its_cpu_and_sql_time(app, client, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "SLOW_REQUEST_MS", 0.001)
    with caplog.at_level(logging.WARNING, logger="innomatch.metrics"):
        client.get("/challenges")
    lines = [r.getMessage() for r in caplog.records if r.name == "innomatch.metrics"]
    assert len(lines) == 1
    assert lines[0].startswith("slow request GET /challenges (challenges.index) 200: ")
    statements = int(lines[0].split(" SQL statements")[0].rsplit(" ", 1)[1])
    assert statements >= 1  # the page read the challenges


def test_log_lines_never_hold_the_secret_of_a_single_use_link(app, client, make, smtp, monkeypatch, caplog):
    user = make.user("startup")
    client.post("/password/forgot", data={"email": user.email})
    path = smtp.link(user.email, "/password/reset/").split("?")[0]
    secret = path.rsplit("/", 1)[1]
    monkeypatch.setitem(app.config, "SLOW_REQUEST_MS", 0.001)
    with caplog.at_level(logging.DEBUG):
        assert client.get(path).status_code == 200
        client.get("/password/reset/not-a-real-secret\nforged line")
    messages = [r.getMessage() for r in caplog.records]
    assert any("slow request GET /password/reset/[secret] " in m for m in messages)
    assert not any(secret in m or "not-a-real-secret" in m or "\n" in m for m in messages)
    assert logs.loggable_path("/invitations/abc?lang=zh") == "/invitations/[secret]?lang=zh"
    assert logs.loggable_path("/account/verify/abc/") == "/account/verify/[secret]/"


def test_requests_faster_than_the_threshold_are_not_logged(app, client, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "SLOW_REQUEST_MS", 60_000)
    with caplog.at_level(logging.WARNING, logger="innomatch.metrics"):
        client.get("/challenges")
    assert not [r for r in caplog.records if r.name == "innomatch.metrics"]
