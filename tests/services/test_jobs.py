"""Jobs: enqueued after the commit, run in-process without Redis, on an RQ worker with it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import time_machine
from sqlalchemy import func, select

from models import Notification, OutboxMail, User
from models.vocabulary import MailStatus
from portal import clock, jobs, tasks
from portal.scheduler import DIGEST_JOB, HOUSEKEEPING_JOB, SWEEP_JOB, Scheduler
from portal.services import challenges, mail, recommendations

REDIS_TEST_URL = "redis://127.0.0.1:6379/4"


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """``portal.tasks.send_digests`` replaced by one that records its calls and request id."""
    seen: list[tuple[Any, ...]] = []

    def record(*args: Any) -> None:
        logging.getLogger("innomatch.tasks").info("digest job ran")
        seen.append((*args, jobs.logs.current_request_id()))

    monkeypatch.setattr(tasks, "send_digests", record)
    return seen


def test_a_job_runs_in_process_right_after_the_commit_and_never_after_a_rollback(ctx, calls):
    jobs.enqueue("portal.tasks.send_digests", 7)
    assert calls == [] and len(jobs.pending()) == 1
    ctx.rollback()
    assert jobs.pending() == []
    ctx.commit()
    assert calls == []

    jobs.enqueue("portal.tasks.send_digests", 8)
    ctx.commit()
    assert [c[0] for c in calls] == [8]
    assert jobs.pending() == []


def test_a_job_logs_with_the_id_of_the_request_that_enqueued_it(app, calls, caplog):
    with app.test_request_context(headers={"X-Request-ID": "req-0123456789"}), caplog.at_level(logging.INFO):
        from portal.database import db

        jobs.enqueue("portal.tasks.send_digests", 1)
        db.commit()
    assert calls == [(1, "req-0123456789")]
    (record,) = [r for r in caplog.records if r.getMessage() == "digest job ran"]
    assert record.request_id == "req-0123456789"


def test_a_failing_job_does_not_undo_the_committed_change(ctx, make, monkeypatch, caplog):
    def broken(*_args: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(tasks, "send_digests", broken)
    user = make.user("officer")
    ctx.get(User, user.id).display_name = "Renamed"
    jobs.enqueue("portal.tasks.send_digests")
    with caplog.at_level(logging.ERROR, logger="innomatch.jobs"):
        ctx.commit()  # does not raise
    assert "job portal.tasks.send_digests failed" in caplog.text
    ctx.expire_all()
    assert ctx.get(User, user.id).display_name == "Renamed"


def test_only_task_functions_can_be_enqueued(ctx):
    with pytest.raises(ValueError, match="portal.tasks"):
        jobs.enqueue("os.system", "true")
    with pytest.raises(ValueError, match="portal.tasks"):
        jobs.enqueue("portal.tasks._private")


def test_opening_a_challenge_ranks_startups_after_the_commit(app, ctx, make, smtp, monkeypatch):
    monkeypatch.setitem(app.config, "NOTIFY_MATCH_THRESHOLD", -1.0)  # every ranked startup is a match
    recommendations.clear_caches()
    startup = make.startup()
    make.capability(startup, description="A chatbot that books clinic appointments.", technologies=["chatbot"])
    member = make.user("startup", startup=startup)
    officer = ctx.get(User, make.user("officer").id)
    challenge = challenges.post_challenge(officer, _challenge_data(), publish=True)
    # The officer's request ranks nobody: the ranking is a job waiting for the commit.
    assert ctx.scalars(select(Notification)).all() == []
    assert "portal.tasks.notify_challenge_opened" in [j.func_path for j in jobs.pending()]
    ctx.commit()
    notes = ctx.scalars(select(Notification).where(Notification.kind == "challenge_match")).all()
    assert [n.user_id for n in notes] == [member.id]
    assert smtp.recipients == [member.email]
    # Run again (a retry): nobody is told twice.
    assert tasks.notify_challenge_opened(challenge.id, officer.id) == 0


def _challenge_data() -> Any:
    from tests.test_signals import challenge_data

    return challenge_data()


def test_the_scheduler_sweeps_every_tick_and_sends_the_digest_and_the_housekeeping_once_a_day(app, monkeypatch):
    enqueued: list[str] = []
    monkeypatch.setattr(jobs, "enqueue_now", lambda name, *args: enqueued.append(name))
    monkeypatch.setitem(app.config, "DIGEST_HOUR", 8)
    scheduler = Scheduler(app)
    for hour, minute in ((7, 59), (8, 0), (8, 1), (23, 59)):
        with time_machine.travel(datetime(2026, 12, 4, hour, minute, tzinfo=clock.ZONE), tick=False):
            scheduler.tick()
    with time_machine.travel(datetime(2026, 12, 5, 8, 0, tzinfo=clock.ZONE), tick=False):
        scheduler.tick()
    daily = [DIGEST_JOB, HOUSEKEEPING_JOB]
    assert enqueued == [SWEEP_JOB, SWEEP_JOB, *daily, SWEEP_JOB, SWEEP_JOB, SWEEP_JOB, *daily]


# -- with Redis ------------------------------------------------------------------------------------


@pytest.fixture
def redis_queue(app: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The job queue on Redis db 4, emptied before and after (skipped when Redis is not there)."""
    connection = jobs.connection(REDIS_TEST_URL)
    try:
        connection.ping()
    except Exception as error:  # noqa: BLE001  # any connection failure means: no Redis here
        pytest.skip(f"Redis not reachable at {REDIS_TEST_URL}: {error}")
    connection.flushdb()
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS_TEST_URL)
    monkeypatch.setattr(jobs, "_worker_app", app)
    yield jobs.queue(REDIS_TEST_URL)
    connection.flushdb()


def test_with_redis_a_mail_waits_on_the_queue_until_an_rq_worker_delivers_it(ctx, smtp, redis_queue):
    from rq import SimpleWorker

    mail.queue(mail.build_message("Mei", "mei@example.org", "Hello", "Body"))
    ctx.commit()
    assert redis_queue.count == 1  # on the queue, not run by the committing process
    assert smtp.messages == []
    worker = SimpleWorker([redis_queue], connection=redis_queue.connection)
    assert worker.work(burst=True)
    assert smtp.recipients == ["mei@example.org"]
    ctx.expire_all()
    (row,) = ctx.scalars(select(OutboxMail)).all()
    assert row.status == MailStatus.SENT
    assert redis_queue.count == 0 and redis_queue.failed_job_registry.count == 0


def test_with_redis_only_one_scheduler_acts(app, redis_queue, monkeypatch):
    enqueued: list[str] = []
    monkeypatch.setattr(jobs, "enqueue_now", lambda name, *args: enqueued.append(name))
    first, second = Scheduler(app, redis_queue.connection), Scheduler(app, redis_queue.connection)
    assert first.tick() and second.tick() == []
    first.release()  # the first stops: the second takes over
    assert second.tick()
    assert first.tick() == []


def test_the_queue_depth_is_a_metric(app, ctx, client, redis_queue, calls):
    jobs.enqueue_now("portal.tasks.send_digests", 1)
    scraped = client.get("/metrics").get_data(as_text=True)
    assert 'innomatch_job_queue_depth{queue="innomatch"} 1.0' in scraped
    assert calls == []  # waiting for a worker


def test_sentry_is_loaded_only_when_a_dsn_is_set() -> None:
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from portal import create_app\n"
        "from portal.config import TestConfig\n"
        "create_app(TestConfig)\n"
        "print('sentry_sdk' in sys.modules)\n"
        "create_app({**{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},"
        " 'SENTRY_DSN': 'https://public@sentry.invalid/1'})\n"
        "import sentry_sdk\n"
        "client = sentry_sdk.get_client()\n"
        "print(client.is_active(), {'flask', 'rq'} <= set(client.integrations))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split("\n")[:2] == ["False", "True True"]


def test_with_redis_the_worker_logs_with_the_id_of_the_request_that_enqueued_the_job(app, redis_queue, calls):
    from rq import SimpleWorker

    from portal.database import db

    with app.test_request_context(headers={"X-Request-ID": "req-on-the-queue-1"}):
        jobs.enqueue("portal.tasks.send_digests", 5)
        db.commit()
    assert calls == [] and redis_queue.count == 1
    SimpleWorker([redis_queue], connection=redis_queue.connection).work(burst=True)
    assert calls == [(5, "req-on-the-queue-1")]


def test_the_job_worker_fits_the_corpora_before_its_first_job_unless_switched_off(app, redis_queue, monkeypatch):
    from portal.services.recommendations import corpus

    fitted: list[object] = []
    monkeypatch.setattr(corpus, "warm_up", fitted.append)
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS_TEST_URL)
    runner = app.test_cli_runner()
    monkeypatch.setenv("MATCHER_WARM_UP", "0")
    assert runner.invoke(args=["jobs", "worker", "--burst"]).exit_code == 0
    assert fitted == []  # switched off: the first ranking job fits them
    monkeypatch.delenv("MATCHER_WARM_UP")
    assert runner.invoke(args=["jobs", "worker", "--burst"]).exit_code == 0
    assert fitted == [app]  # the default


def _failing(times: int, calls: list[tuple[Any, ...]]) -> Any:
    """A task that raises on its first ``times`` runs, then records its call."""
    runs = [0]

    def task(*args: Any) -> None:
        runs[0] += 1
        if runs[0] <= times:
            raise RuntimeError(f"failure {runs[0]}")
        calls.append(args)

    return task


def test_with_redis_a_failed_job_is_retried_after_its_back_off_by_the_worker(app, ctx, redis_queue, monkeypatch, calls):
    import time

    monkeypatch.setattr(jobs, "RETRY_INTERVALS", (1, 1))
    monkeypatch.setattr(tasks, "send_digests", _failing(1, calls))
    jobs.enqueue_now("portal.tasks.send_digests", 7)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["jobs", "worker", "--burst"]).exit_code == 0
    assert calls == [] and redis_queue.scheduled_job_registry.count == 1  # waiting out its back-off
    time.sleep(1.2)
    assert runner.invoke(args=["jobs", "worker", "--burst"]).exit_code == 0  # the due retry is enqueued and run
    assert calls == [(7,)]
    assert redis_queue.scheduled_job_registry.count == 0 and redis_queue.failed_job_registry.count == 0


def test_with_redis_a_job_that_keeps_failing_ends_in_the_failed_registry_and_its_metric(
    app, ctx, client, redis_queue, monkeypatch, calls
):
    import time

    monkeypatch.setattr(jobs, "RETRY_INTERVALS", (1,))
    monkeypatch.setattr(tasks, "send_digests", _failing(5, calls))
    jobs.enqueue_now("portal.tasks.send_digests", 8)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["jobs", "worker", "--burst"]).exit_code == 0
    time.sleep(1.2)
    assert runner.invoke(args=["jobs", "worker", "--burst"]).exit_code == 0
    assert calls == [] and redis_queue.failed_job_registry.count == 1
    assert 'innomatch_jobs_failed{queue="innomatch"} 1.0' in client.get("/metrics").get_data(as_text=True)


def test_with_redis_reindex_encodes_for_the_model_the_command_names_not_the_workers(app, ctx, make, redis_queue, monkeypatch):
    from rq import SimpleWorker

    from matcher.encoders import ENCODERS, HashingEncoder
    from models import Embedding

    monkeypatch.setitem(ENCODERS, "hashing-coming", lambda **kw: HashingEncoder(dim=24))
    make.capability(make.startup(), name="Queue calling", description="Queue calling for clinics.")
    make.challenge(title="Clinic queues", problem_statement="Patients wait in long queues at clinics.")
    runner = app.test_cli_runner()
    monkeypatch.setitem(app.config, "MATCHER_MODEL", "hashing-coming")  # the operator's command
    assert runner.invoke(args=["jobs", "reindex"]).exit_code == 0
    monkeypatch.setitem(app.config, "MATCHER_MODEL", "hashing")  # a worker started before the change
    SimpleWorker([redis_queue], connection=redis_queue.connection).work(burst=True)
    ctx.expire_all()
    counts = {model: n for model, n in ctx.execute(
        select(Embedding.model, func.count()).group_by(Embedding.model)
    )}
    assert counts.get("hashing-24", 0) >= 3  # the coming model's vectors: challenge twice, capability, startup
    assert redis_queue.failed_job_registry.count == 0


def test_with_redis_a_challenges_followers_are_told_by_a_worker_not_the_officers_request(app, ctx, make, redis_queue):
    from rq import SimpleWorker

    from models import ChallengeFollow

    dept = make.department()
    officer = make.user("officer", department_id=dept.id)
    challenge = make.challenge(dept)
    followers = [make.user("startup", startup_id=make.startup().id) for _ in range(3)]
    for user in followers:
        ctx.add(ChallengeFollow(user_id=user.id, challenge_id=challenge.id))
    ctx.commit()
    challenges.close_challenge(ctx.get(User, officer.id), ctx.get(type(challenge), challenge.id))
    ctx.commit()
    assert redis_queue.count == 1  # the fan-out waits for a worker ...
    assert ctx.scalars(select(Notification)).all() == []  # ... and the officer's request wrote none
    SimpleWorker([redis_queue], connection=redis_queue.connection).work(burst=True)
    ctx.expire_all()
    told = ctx.scalars(select(Notification.user_id).where(Notification.kind == "challenge_changed")).all()
    assert sorted(told) == sorted(u.id for u in followers)
    assert redis_queue.failed_job_registry.count == 0


def test_with_redis_a_proposals_notifications_are_written_by_a_worker_not_the_members_request(
    app, ctx, make, redis_queue
):
    from rq import SimpleWorker

    from portal.services import proposals

    dept = make.department()
    officers = [make.user("officer", department_id=dept.id) for _ in range(2)]
    challenge = make.challenge(dept)
    capability = make.capability()
    member = make.user("startup", startup_id=capability.startup_id)
    proposals.submit_proposal(ctx.get(User, member.id), ctx.get(type(challenge), challenge.id),
                              {"capability_id": capability.id, "pitch": "We run clinic queues by SMS."})
    ctx.commit()
    assert redis_queue.count >= 1 and ctx.scalars(select(Notification)).all() == []  # nothing in the request
    SimpleWorker([redis_queue], connection=redis_queue.connection).work(burst=True)
    ctx.expire_all()
    told = ctx.scalars(select(Notification.user_id).where(Notification.kind == "proposal_received")).all()
    assert sorted(told) == sorted(u.id for u in officers)
    assert redis_queue.failed_job_registry.count == 0
