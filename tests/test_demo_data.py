"""The demo data tells a story in the order it could have happened: the dates a reader sees on
the demo site (a challenge's opening and closing, a proposal, a trial's steps, its milestones and
the outcome's publication) never contradict each other."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from models import AuditEvent, Challenge, Milestone, OutcomeReport, Proposal, Trial
from portal import clock
from portal.database import db
from portal.demo import seed


def _broken() -> dict[str, list[int]]:
    """Each rule, with the ids of the rows that break it."""
    today = clock.today()
    challenges = {c.id: c for c in db.scalars(select(Challenge))}
    trials = {t.id: t for t in db.scalars(select(Trial))}
    signed_in_history = set(db.scalars(
        select(AuditEvent.entity_id).where(AuditEvent.entity_type == "trial", AuditEvent.action == "trial.outcome_sign_off")
    ))
    rules: dict[str, list[int]] = {
        "a challenge opened within a month of its closing date, or after it": [
            c.id for c in challenges.values()
            if c.opened_at is not None and clock.local(c.opened_at).date() > c.closing_on - timedelta(days=30)
        ],
        "a proposal before its challenge opened, or after it closed": [
            p.id for p in db.scalars(select(Proposal))
            if (opened := challenges[p.challenge_id].opened_at) is not None
            and (p.created_at < opened or clock.local(p.created_at).date() > challenges[p.challenge_id].closing_on)
        ],
        "a trial of a startup not yet registered": [t.id for t in trials.values() if t.created_at < t.startup.created_at],
        "a trial started before it was approved, or completed before it started": [
            t.id for t in trials.values()
            if (t.started_at and t.approved_at and t.started_at < t.approved_at)
            or (t.completed_at and t.started_at and t.completed_at < t.started_at)
        ],
        "a milestone done after its trial completed, or in the future": [
            m.id for m in db.scalars(select(Milestone))
            if m.done_on is not None and m.done_on > (
                clock.local(trials[m.trial_id].completed_at).date() if trials[m.trial_id].completed_at else today)
        ],
        "a completed trial's milestone due after it completed": [
            m.id for m in db.scalars(select(Milestone))
            if (done := trials[m.trial_id].completed_at) is not None and m.due_on > clock.local(done).date()
        ],
        "a milestone done in a trial that never started": [
            m.id for m in db.scalars(select(Milestone))
            if m.done_on is not None and trials[m.trial_id].started_at is None
        ],
        "a published outcome that names no agreement by the startup or the lab": [
            r.id for r in db.scalars(select(OutcomeReport))
            if r.published and r.startup_agreed_by_id is None
        ],
        "a completed trial with a milestone neither done nor waived": [
            m.id for m in db.scalars(select(Milestone))
            if trials[m.trial_id].status == "completed" and m.done_on is None and m.waived_on is None
        ],
        "an outcome signed off before its trial completed, or agreed before it was signed off": [
            r.id for r in db.scalars(select(OutcomeReport)) if r.signed_off_at is not None and (
                r.signed_off_at < trials[r.trial_id].completed_at
                or (r.startup_agreed_at is not None and r.startup_agreed_at < r.signed_off_at))
        ],
        "a signed-off outcome whose sign-off is not in its history (the audit log)": [
            r.id for r in db.scalars(select(OutcomeReport))
            if r.signed_off_at is not None and r.trial_id not in signed_in_history
        ],
    }
    return {rule: ids for rule, ids in rules.items() if ids}


def test_the_demo_datas_dates_tell_one_story(app):
    with app.app_context():
        seed()
        db.commit()
        published = db.scalars(select(OutcomeReport).where(OutcomeReport.signed_off_at.is_not(None))).all()
        assert published  # the rules about publication check something
        assert _broken() == {}


def test_seeding_the_demo_writes_its_own_open_data_files(app, tmp_path, monkeypatch):
    """The open data page shows the files of the database in use: a folder another database
    left behind (or the suite's fixtures) is replaced when the demo is seeded."""
    import json

    monkeypatch.setitem(app.config, "OPEN_DATA_DIR", str(tmp_path))
    (tmp_path / "manifest.json").write_text('{"stale": true}', encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["seed-demo", "--no-reindex"])
    assert result.exit_code == 0, result.output
    assert "open data files" in result.output
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert "stale" not in manifest
    with app.app_context():
        challenges = (tmp_path / "challenges.csv").read_text(encoding="utf-8-sig")
        published = db.scalars(select(Challenge.title).where(Challenge.status != "draft")).first()
        assert published and published in challenges


def test_the_suite_never_writes_into_the_checkouts_instance_folder():
    from pathlib import Path

    from portal.config import TestConfig

    root = Path(__file__).resolve().parents[1]
    for folder in (TestConfig.OPEN_DATA_DIR, TestConfig.DOCUMENT_STORAGE_DIR):
        assert not Path(folder).resolve().is_relative_to(root)
