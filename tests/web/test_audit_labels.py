"""The audit log speaks words: every action and recorded field a service writes has a label."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from models import AuditEvent
from portal import audit_labels
from portal.database import db
from portal.services import trials
from tests.factories import Factory
from tests.helpers import sign_in

PORTAL = Path(__file__).resolve().parents[2] / "portal"


def _changed_actions() -> set[str]:
    """The literal actions of every ``signals.changed(actor, "action", ...)`` in the code."""
    found = set()
    for path in PORTAL.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "changed"
                and len(node.args) > 1 and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)
            ):
                found.add(node.args[1].value)
            # pseudonymise(user, actor, "action") records its action through signals.changed.
            if (
                isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "pseudonymise"
                and len(node.args) > 2 and isinstance(node.args[2], ast.Constant) and isinstance(node.args[2].value, str)
            ):
                found.add(node.args[2].value)
    return found


def _recorded_fields() -> set[str]:
    """Field names in the services' ``*_FIELDS`` tuples and the fields of ``records[id].field`` paths."""
    fields = set()
    for path in (PORTAL / "services").rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
                if names and names[0].endswith("_FIELDS") and names[0] not in ("TEXT_FIELDS", "LINE_FIELDS"):
                    fields |= {e.value for e in node.value.elts if isinstance(e, ast.Constant)}
        fields |= set(re.findall(r'[a-z_]+\[\{[^}]+\}\]\.([a-z_]+)"', source))
        fields |= set(re.findall(r'f"\{key\}\.([a-z_]+)"', source))
        for names in re.findall(r'f"[a-z_]+\.\{k\}": [^\n]*for k in \(([^)]*)\)', source):  # {f"report.{k}": ...}
            fields |= set(re.findall(r'"([a-z_]+)"', names))
    return fields


def test_every_recorded_action_has_words() -> None:
    actions = _changed_actions() | {f"trial.{move.name}" for move in trials.MOVES.values()}
    missing = sorted(a for a in actions if a not in audit_labels.ACTION_LABELS)
    assert not missing, f"add these actions to portal/audit_labels.py ACTION_LABELS: {missing}"


def test_every_recorded_field_has_words() -> None:
    missing = sorted(f for f in _recorded_fields() if f not in audit_labels.FIELD_LABELS)
    assert not missing, f"add these fields to portal/audit_labels.py FIELD_LABELS: {missing}"


def test_field_paths_read_as_words(app: Flask) -> None:
    with app.test_request_context():
        assert audit_labels.field_label("kpis[60].result") == "KPI 60 · Result"
        assert audit_labels.field_label("milestones[3]") == "Milestone 3"
        assert audit_labels.field_label("title") == "Title"
        assert audit_labels.field_label("report.signed_off_at") == "Outcome report · Signed off at"
        assert audit_labels.field_label("report.lessons") == "Outcome report · Lessons learnt"
        assert audit_labels.field_label("mystery[1].thing") == "mystery[1].thing"  # never hidden
    with app.test_request_context(headers={"Accept-Language": "zh-HK"}):
        assert audit_labels.field_label("kpis[60].result") == "關鍵績效指標 60 · 結果"


def test_audit_log_shows_words_in_both_languages(client: FlaskClient, make: Factory, app: Flask) -> None:
    admin = make.user("admin")
    with app.app_context():
        db.add(AuditEvent(actor_id=admin.id, action="trial.kpi_result", entity_type="trial", entity_id=7,
                          before={"kpis[60].result": None}, after={"kpis[60].result": "-35%"}))
        db.add(AuditEvent(actor_id=admin.id, action="challenge.close", entity_type="challenge", entity_id=8,
                          before={"status": "open"}, after={"status": "closed"}))
        db.commit()
    sign_in(client, admin)
    html = client.get("/audit").get_data(as_text=True)
    assert "KPI result recorded" in html and "KPI 60 · Result" in html
    assert "Challenge closed" in html and "<code>kpis[60].result</code>" not in html
    sign_in(client, make.user("admin", locale="zh_Hant_HK"))
    zh = client.get("/audit").get_data(as_text=True)
    assert "已記錄關鍵績效指標結果" in zh and "關鍵績效指標 60 · 結果" in zh
    assert "已截止" in zh  # the challenge's status in words


#: Kinds of record never written to the audit log as themselves (their changes are recorded
#: on the record they belong to: a KPI or a note on its trial, a document on its parent).
NOT_AUDITED = {
    "accounttoken", "auditevent", "capabilitydomain", "capabilitytag", "challengedomain", "challengefollow",
    "challengetag", "corpuschange", "corpusversion", "department", "document", "embedding", "evaluationcriterion",
    "kpi", "loginalert", "loginattempt", "loginthrottle", "milestone", "notification", "outcomereport",
    "rankerversion", "recoverycode", "startupnamehold", "trialnote", "trialtransition", "workshopregistration",
}


def test_every_kind_of_audited_record_has_a_name(app: Flask) -> None:
    """The audit log's filter and headings name each kind of record (an event's entity_type is its
    model's class name, lower case): a new model is named here or said to be never audited."""
    import models
    from portal.labels import ENTITY_LABELS

    kinds = {m.class_.__name__.lower() for m in models.Base.registry.mappers}
    assert NOT_AUDITED <= kinds  # no stale exclusions
    assert kinds - NOT_AUDITED == set(ENTITY_LABELS)
