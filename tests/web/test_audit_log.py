"""The audit log: access, filters, pages, the diff, and the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta, timezone

import pytest

from models import AuditEvent
from portal.audit_log.query import safe_cell
from portal.database import db
from tests.web.test_trials import build_world, client_as, move_data, text

HK = timezone(timedelta(hours=8))


def add_events(app, world, rows):
    """Insert events: (actor role or None, action, entity_type, entity_id, before, after, created_at)."""
    with app.app_context():
        for role, action, etype, eid, before, after, when in rows:
            db.add(AuditEvent(actor_id=world.users[role] if role else None, action=action, entity_type=etype,
                              entity_id=eid, before=before, after=after, created_at=when))
        db.commit()


def csv_rows(response):
    body = response.get_data()
    assert body.startswith("\ufeff".encode())  # BOM, so Excel reads UTF-8
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


@pytest.mark.parametrize(("role", "status"), [
    ("anonymous", 302), ("officer_own", 403), ("member", 403), ("coordinator", 200), ("admin", 200)])
def test_audit_log_is_for_coordinators_and_admins(app, role, status):
    world = build_world(app)
    client = client_as(app, world, role)
    assert client.get("/audit").status_code == status
    assert client.get("/audit.csv").status_code == status


def test_moves_appear_in_the_log_as_a_diff(app):
    world = build_world(app, "shortlisted")
    client = client_as(app, world, "coordinator")
    assert client.post(f"/trials/{world.trial_id}/move", data=move_data(world, "approve")).status_code == 302
    page = text(client.get("/audit?action=trial."))
    assert "Trial approved" in page and "trial.approve" in page  # words, with the code beside them
    assert "<del>Shortlisted</del>" in page and "<ins>Approved</ins>" in page
    assert "Coordinator (coordinator@example.org)" in page


def test_filters_actor_action_entity_and_dates(app):
    world = build_world(app)
    now = datetime.now(UTC)
    old = datetime(2025, 1, 10, 20, 0, tzinfo=UTC)  # 11 January in Hong Kong
    add_events(app, world, [
        ("coordinator", "trial.approve", "trial", 7, {"status": "proposed"}, {"status": "approved"}, now),
        ("admin", "user.create", "user", 3, None, {"email": "x@example.org"}, now),
        (None, "conflict.detect", "conflictofinterest", 9, None, {"source": "detected"}, old),
    ])
    client = client_as(app, world, "admin")

    def actions(query):
        response = client.get("/audit" + query)
        assert response.status_code == 200, text(response)[:500]
        page = text(response)
        return {a for a in ("trial.approve", "user.create", "conflict.detect") if f"<code>{a}</code>" in page}

    assert actions("") == {"trial.approve", "user.create", "conflict.detect"}
    assert actions("?actor=coordinator%40example") == {"trial.approve"}
    assert actions(f"?actor={world.users['admin']}") == {"user.create"}
    assert actions("?action=trial") == {"trial.approve"}
    # Words of what happened find it without its code, in either language.
    assert actions("?action=approved") == {"trial.approve"}
    assert actions("?action=ACCOUNT+created") == {"user.create"}
    assert actions("?action=interest+approved") == set()  # every word, in one label
    assert actions("?action=pproved") == set()  # a word's start, not any part of it
    assert actions("?action=%25") == set()  # LIKE wildcards are literal
    assert actions("?entity_type=user") == {"user.create"}
    assert actions("?entity_type=trial&entity_id=7") == {"trial.approve"}
    assert actions("?entity_id=8") == set()
    assert actions("?date_from=2025-01-11&date_to=2025-01-11") == {"conflict.detect"}  # a Hong Kong day
    assert actions("?date_to=2025-01-10") == set()
    assert "System" in text(client.get("/audit?action=conflict"))
    client.post("/language", data={"locale": "zh_Hant_HK", "next": "/"})
    assert actions("?action=獲批准") == {"trial.approve"}
    assert actions("?action=approved") == {"trial.approve"}  # the English words still work


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?date_from=2025-02-30", "Enter a real date"),
        ("?date_from=2025-02-01&date_to=2025-01-01", "The end date must be on or after the start date."),
        ("?entity_type=spaceship", "Choose a kind of record from the list."),
        ("?entity_id=0", "Enter a record number from 1 to 2147483647."),
        ("?entity_id=abc", "Not a valid integer value"),
        ("?entity_id=99999999999999999999", "Enter a record number from 1 to 2147483647."),
        ("?actor=99999999999999999999", "Enter a user number from 1 to 2147483647."),
        ("?actor=2147483648", "Enter a user number from 1 to 2147483647."),
        ("?actor=0", "Enter a user number from 1 to 2147483647."),
        ("?action=" + "x" * 61, "Use at most 60 characters."),
    ],
)
def test_bad_filters_are_400_with_a_message(app, query, message):
    world = build_world(app)
    client = client_as(app, world, "coordinator")
    response = client.get("/audit" + query)
    assert response.status_code == 400
    assert message in text(response)
    assert client.get("/audit.csv" + query).status_code == 400


def test_pages(app):
    world = build_world(app)
    base = datetime.now(UTC)
    add_events(app, world, [("coordinator", f"test.e{i:02d}", "trial", i + 1, None, {"n": i},
                             base - timedelta(minutes=i)) for i in range(45)])
    client = client_as(app, world, "coordinator")
    first = text(client.get("/audit?action=test."))
    assert "45 events" in first and "<code>test.e00</code>" in first and "<code>test.e20</code>" not in first
    assert "Page 1 of 3" in first
    third = text(client.get("/audit?action=test.&page=3"))
    assert "<code>test.e44</code>" in third and "<code>test.e00</code>" not in third
    assert "Page 3 of 3" in text(client.get("/audit?action=test.&page=999999999999"))
    assert client.get("/audit?page=abc").status_code == 200


def test_csv_export_is_filtered_quoted_and_formula_safe(app):
    world = build_world(app)
    now = datetime.now(UTC)
    add_events(app, world, [
        ("coordinator", "trial.note_add", "trial", 1, None, {"body": 'He said "hi", then left\nline 2'}, now),
        ("coordinator", "trial.kpi_add", "trial", 1, None, {"name": "=HYPERLINK(\"http://evil\")"}, now),
        ("admin", "user.create", "user", 2, None, {"display_name": "陳大文"}, now),
    ])
    with app.app_context():
        from models import User

        db.get(User, world.users["coordinator"]).display_name = "=cmd|' /C calc'!A0"
        db.commit()
    response = client_as(app, world, "admin").get("/audit.csv?action=trial.")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"] and ".csv" in response.headers["Content-Disposition"]
    rows = csv_rows(response)
    assert rows[0][0] == "Id" and rows[0][5] == "Action"
    assert [r[5] for r in rows[1:]] == ["trial.note_add", "trial.kpi_add"]  # filtered, oldest first
    assert rows[1][9] == '{"body": "He said \\"hi\\", then left\\nline 2"}'
    assert rows[1][4] == "'=cmd|' /C calc'!A0"  # the actor's name cannot run as a formula
    zh = csv_rows(client_as(app, world, "admin").get("/audit.csv?action=user."))
    assert "陳大文" in zh[1][9]


@pytest.mark.parametrize(
    ("value", "cell"),
    [("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
     ("plain", "plain"), (None, ""), (12, "12"), ("a=b", "a=b")],
)
def test_safe_cell(value, cell):
    assert safe_cell(value) == cell


def test_audit_page_in_chinese(app):
    world = build_world(app)
    client = client_as(app, world, "coordinator")
    with client.session_transaction() as session:
        session["locale"] = "zh_Hant_HK"
    assert client.get("/audit").status_code == 200


def test_recorded_values_read_as_words_times_in_the_readers_zone(app):
    """A moment reads in Hong Kong time and words, a day as a date, a record as name: value."""
    from portal.audit_log.query import show

    with app.test_request_context():
        assert show("2026-12-04T06:05:00+00:00") == "4 Dec 2026, 2:05\u202fpm"  # 06:05 UTC, the site's way
        assert show("2026-12-04") == "4 Dec 2026"
        assert show({"name": "Accuracy", "target": "90%"}) == "Name: Accuracy; Target: 90%"
        # a record's fields in words, its codes too (a document's language)
        assert show({"display_name": "Plan.pdf", "language": "zh-Hant"}, "document") == "Name: Plan.pdf; Language: Traditional Chinese"
        assert show("2026-13-45T99:00") == "2026-13-45T99:00"  # not a moment: as stored
        assert show("plain words") == "plain words"


def test_a_recorded_user_id_reads_as_the_person(app):
    """A field that holds a user's id (any column referring to users.id) reads as who it is;
    other numbers stay numbers, and an id of a user no longer there stays a number."""
    from portal.audit_log.query import person_fields

    world = build_world(app)
    assert {"coordinator_id", "created_by_id", "user_id", "signed_off_by_id"} <= person_fields()
    assert "challenge_id" not in person_fields() and "duration_weeks" not in person_fields()
    now = datetime.now(UTC)
    add_events(app, world, [
        ("admin", "trial.assign", "trial", 7, {"coordinator_id": None, "duration_weeks": 8},
         {"coordinator_id": world.users["coordinator"], "duration_weeks": 12}, now),
        ("admin", "trial.assign", "trial", 8, {"coordinator_id": 987654}, {"coordinator_id": None}, now),
    ])
    page = text(client_as(app, world, "admin").get("/audit?action=trial.assign"))
    assert "<ins>Coordinator (coordinator@example.org)</ins>" in page
    assert "<ins>12</ins>" in page  # a number that is not a person
    assert "<del>987654</del>" in page  # nobody by that id any more


def test_a_long_text_changed_in_part_shows_the_words_that_changed(app):
    world = build_world(app)
    add_events(app, world, [("coordinator", "trial.outcome_correct", "trial", 7,
                             {"report.summary": "The chatbot answered 9,400 calls in the eight weeks of the pilot."},
                             {"report.summary": "The chatbot answered 9,100 calls in the eight weeks of the pilot."},
                             datetime.now(UTC))])
    page = text(client_as(app, world, "coordinator").get("/audit"))
    assert "The chatbot answered <del>9,400</del> calls" in page and "The chatbot answered <ins>9,100</ins> calls" in page
