"""The mail outbox: written in the caller's transaction, claimed once, retried, swept back."""

from __future__ import annotations

import socket
import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from prometheus_client import REGISTRY
from sqlalchemy import select, update

from models import OutboxMail, User
from models.vocabulary import MailStatus
from portal import jobs, tasks
from portal.database import db
from portal.errors import DomainError
from portal.services import mail, notifications

START = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens here once the socket closes


def _message(to: str = "mei@example.org") -> mail.EmailMessage:
    return mail.build_message("Mei", to, "Hello", "Body text")


def _rows() -> list[OutboxMail]:
    db.expire_all()
    return list(db.scalars(select(OutboxMail).order_by(OutboxMail.id)))


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> list[jobs.PendingJob]:
    """Jobs dispatched after a commit are kept here, not run: a worker that has not started."""
    kept: list[jobs.PendingJob] = []
    monkeypatch.setattr(jobs, "dispatch", kept.extend)
    return kept


def test_a_mail_is_written_and_sent_only_when_the_transaction_commits(ctx, smtp):
    assert mail.queue(_message("rolled.back@example.org"))
    assert len(mail.pending()) == 1 and len(_rows()) == 1  # a row of this transaction
    ctx.rollback()
    assert _rows() == [] and mail.pending() == []
    assert smtp.messages == []

    assert mail.queue(_message("kept@example.org"))
    ctx.commit()  # the delivery job runs in-process (no REDIS_URL) right after the commit
    (row,) = _rows()
    assert row.status == MailStatus.SENT and row.attempts == 1 and row.sent_at is not None
    assert smtp.recipients == ["kept@example.org"]
    assert smtp.to("kept@example.org")[0]["Message-ID"] == row.message_id


def test_a_failing_request_after_a_notification_sends_nothing(ctx, make, smtp):
    user = make.user("officer")
    notifications.deliver([ctx.get(User, user.id)], "challenge_changed", {"challenge_title": "X"}, "/")
    assert len(_rows()) == 1
    ctx.rollback()  # the request failed after the service queued the email
    assert _rows() == [] and smtp.messages == []


def test_a_worker_killed_mid_send_is_swept_back_and_the_mail_delivered_once(ctx, smtp, held):
    with time_machine.travel(START, tick=False) as traveller:
        mail.queue(_message())
        ctx.commit()
        ((job),) = held
        (mail_id,) = job.args[0]
        # A worker claims the mail, commits the claim, and dies before sending.
        assert [r.id for r in mail.claim([mail_id])] == [mail_id]
        ctx.commit()
        assert _rows()[0].status == MailStatus.SENDING
        # A second delivery job for the same mail (a duplicate on the queue) finds nothing to send.
        assert tasks.deliver_mails([mail_id]) == {"sent": 0, "retry": 0, "failed": 0}
        assert mail.sweep() == []  # the lease still runs: the worker may be alive
        traveller.shift(mail.lease() + timedelta(seconds=1))
        assert mail.sweep() == [mail_id]
        ctx.commit()
        (row,) = _rows()
        assert row.status == MailStatus.QUEUED and row.attempts == 1 and "lease expired" in (row.last_error or "")
        assert tasks.deliver_mails([mail_id])["sent"] == 1
        assert tasks.deliver_mails([mail_id])["sent"] == 0  # and again: nothing more
    (row,) = _rows()
    assert row.status == MailStatus.SENT and row.attempts == 2
    assert smtp.recipients == ["mei@example.org"]  # delivered once


def test_the_sweeper_enqueues_a_mail_whose_delivery_job_was_lost(ctx, smtp, held, monkeypatch):
    with time_machine.travel(START, tick=False) as traveller:
        mail.queue(_message())
        ctx.commit()
        held.clear()  # Redis lost the job
        assert mail.sweep() == []  # a fresh mail is its delivery job's for a while
        traveller.shift(timedelta(seconds=mail.DEFAULT_SWEEP_GRACE_SECONDS + 1))
        monkeypatch.setattr(jobs, "dispatch", _run_in_process)  # the worker is running again
        assert tasks.sweep_outbox() == 1
    assert _rows()[0].status == MailStatus.SENT
    assert smtp.recipients == ["mei@example.org"]


def _run_in_process(pending: list[jobs.PendingJob]) -> None:
    for job in pending:
        jobs.perform(job.func_path, list(job.args), job.request_id)


def test_concurrent_delivery_jobs_send_a_mail_once(app, ctx, smtp, held):
    mail.queue(_message())
    ctx.commit()
    (mail_id,) = held[0].args[0]
    barrier = threading.Barrier(4)
    outcomes: list[dict[str, int]] = []

    def deliver() -> None:
        barrier.wait()
        outcomes.append(jobs.perform("portal.tasks.deliver_mails", [[mail_id]], app=app))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(o["sent"] for o in outcomes) == [0, 0, 0, 1]
    assert smtp.recipients == ["mei@example.org"]
    assert _rows()[0].attempts == 1


def _given_up() -> float:
    return REGISTRY.get_sample_value("innomatch_mails_given_up_total") or 0.0


def test_a_failing_mail_is_retried_with_back_off_then_reported_failed(app, ctx, smtp, monkeypatch, client):
    server_port = app.config["SMTP_PORT"]
    monkeypatch.setitem(app.config, "SMTP_PORT", _closed_port())  # the mail server is down
    monkeypatch.setitem(app.config, "SMTP_TIMEOUT", 2)
    monkeypatch.setitem(app.config, "MAIL_MAX_ATTEMPTS", 3)
    monkeypatch.setitem(app.config, "MAIL_RETRY_SECONDS", 60)
    given_up = _given_up()
    with time_machine.travel(START, tick=False) as traveller:
        mail.queue(_message())
        ctx.commit()  # attempt 1 fails
        (row,) = _rows()
        assert (row.status, row.attempts, row.next_attempt_at) == (MailStatus.QUEUED, 1, START + timedelta(seconds=60))
        traveller.shift(timedelta(seconds=59))
        assert mail.sweep() == []  # not due yet
        traveller.shift(timedelta(seconds=1))
        assert tasks.deliver_mails(mail.sweep())["retry"] == 1  # attempt 2 fails: wait doubles
        (row,) = _rows()
        assert row.attempts == 2 and row.next_attempt_at == START + timedelta(seconds=60 + 120)
        traveller.shift(timedelta(seconds=119))
        assert mail.sweep() == []
        traveller.shift(timedelta(seconds=1))
        assert tasks.deliver_mails(mail.sweep())["failed"] == 1  # attempt 3 was the last
    (row,) = _rows()
    assert row.status == MailStatus.FAILED and row.attempts == 3 and "unreachable" in (row.last_error or "")
    assert _given_up() == given_up + 1
    assert [r.id for r in mail.failed_mails().items] == [row.id]
    assert mail.sweep() == []  # a failed mail waits for a person
    scraped = client.get("/metrics").get_data(as_text=True)
    assert 'innomatch_outbox_mails{status="failed"} 1.0' in scraped

    # The server is back; an admin retries: a fresh round of attempts, delivered.
    monkeypatch.setitem(app.config, "SMTP_PORT", server_port)
    mail.retry_failed(None, ctx.get(OutboxMail, row.id))
    ctx.commit()
    (row,) = _rows()
    assert row.status == MailStatus.SENT and row.attempts == 1
    assert smtp.recipients == ["mei@example.org"]


def test_a_refused_recipient_fails_at_once_without_retries(ctx, smtp, monkeypatch):
    def refuse(messages, smtp_settings):  # a 5xx answer: the address does not exist
        return [mail.SendError("refused (550)", permanent=True) for _m in messages]

    monkeypatch.setattr(mail, "deliver_messages", refuse)
    mail.queue(_message())
    ctx.commit()
    (row,) = _rows()
    assert row.status == MailStatus.FAILED and row.attempts == 1 and row.last_error == "refused (550)"


def test_only_a_failed_mail_can_be_retried(ctx, smtp):
    mail.queue(_message())
    ctx.commit()
    with pytest.raises(mail.StaleState):
        mail.retry_failed(None, ctx.get(OutboxMail, _rows()[0].id))


def test_an_admin_sees_the_failed_mails_and_retries_one(app, ctx, make, smtp, monkeypatch):
    from tests.helpers import sign_in

    def refuse(messages, smtp_settings):
        return [mail.SendError("refused (550)", permanent=True) for _m in messages]

    with monkeypatch.context() as patch:
        patch.setattr(mail, "deliver_messages", refuse)
        mail.queue(_message("typo@example.org"))
        ctx.commit()
    (row,) = _rows()
    client = sign_in(app.test_client(), make.user("admin"))
    page = client.get("/admin/mails").get_data(as_text=True)
    assert "typo@example.org" in page and "refused (550)" in page
    assert "1 failed" in page
    response = client.post(f"/admin/mails/{row.id}/retry")
    assert response.status_code == 302
    assert smtp.recipients == ["typo@example.org"]
    assert _rows()[0].status == MailStatus.SENT
    page = client.get("/admin/mails").get_data(as_text=True)
    assert "No email has failed." in page
    # Retrying a mail that is no longer failed says so, and changes nothing.
    response = client.post(f"/admin/mails/{row.id}/retry", follow_redirects=True)
    assert "Only a failed email can be retried." in response.get_data(as_text=True)


def test_a_sent_mail_keeps_no_body_and_is_deleted_after_the_keeping_period(app, ctx, smtp):
    with time_machine.travel(START, tick=False) as traveller:
        mail.queue(mail.build_message("Mei", "mei@example.org", "Reset", "https://x/reset/secret-token"))
        ctx.commit()
        (row,) = _rows()
        assert row.status == MailStatus.SENT and row.body_text == ""
        assert "secret-token" in smtp.body(smtp.to("mei@example.org")[0])
        traveller.shift(timedelta(days=app.config["MAIL_KEEP_SENT_DAYS"]) - timedelta(minutes=1))
        mail.sweep()
        assert len(_rows()) == 1
        traveller.shift(timedelta(minutes=2))
        mail.sweep()
        ctx.commit()
        assert _rows() == []


class _StallingInbox:
    """An SMTP handler that holds the first session at its recipient until released (a
    worker caught mid-send), and keeps the messages it then receives."""

    def __init__(self) -> None:
        self.stalled = threading.Event()
        self.release = threading.Event()
        self.messages: list[list[str]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        import asyncio

        if not self.stalled.is_set():
            self.stalled.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append(list(envelope.rcpt_tos))
        return "250 OK"


def test_a_worker_process_killed_mid_send_is_swept_back_and_the_mail_delivered_once(app, ctx, monkeypatch):
    """The real thing: a separate process delivers, is killed (SIGKILL) while the SMTP server
    holds its session, and the sweeper's delivery after the lease sends the mail once."""
    import json
    import subprocess
    import sys
    import time

    from aiosmtpd.controller import Controller

    from tests.mailbox import BASE_URL, free_port

    run_after_commit = jobs.dispatch
    held: list[jobs.PendingJob] = []
    monkeypatch.setattr(jobs, "dispatch", held.extend)  # no worker in this process yet
    inbox = _StallingInbox()
    server = Controller(inbox, hostname="127.0.0.1", port=free_port())
    server.start()
    settings = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": server.port, "PUBLIC_BASE_URL": BASE_URL,
                "MAIL_LEASE_SECONDS": 1.0}
    for key, value in settings.items():
        monkeypatch.setitem(app.config, key, value)
    try:
        mail.queue(_message())
        ctx.commit()
        ((job),) = held  # the delivery job, not run here: the worker process below runs it
        (mail_id,) = job.args[0]
        script = (
            "import json, sys\n"
            "from portal import create_app, tasks\n"
            "from portal.config import TestConfig\n"
            "config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}\n"
            "config.update(json.loads(sys.argv[1]))\n"
            "with create_app(config).app_context():\n"
            "    tasks.deliver_mails([int(sys.argv[2])])\n"
        )
        worker = subprocess.Popen(
            [sys.executable, "-c", script, json.dumps({**settings, "DATABASE_URL": app.config["DATABASE_URL"]}),
             str(mail_id)],
        )
        try:
            assert inbox.stalled.wait(120), "the worker never reached the SMTP server"
            worker.kill()  # SIGKILL mid-send: no cleanup, no rollback of the committed claim
            worker.wait(30)
        finally:
            if worker.poll() is None:
                worker.kill()
        inbox.release.set()
        (row,) = _rows()
        assert row.status == MailStatus.SENDING and row.attempts == 1 and inbox.messages == []
        time.sleep(1.2)  # the dead worker's lease runs out
        monkeypatch.setattr(jobs, "dispatch", run_after_commit)  # jobs run here again, after the commit
        assert tasks.sweep_outbox() == 1  # swept back and delivered (in-process: no Redis here)
        (row,) = _rows()
        assert row.status == MailStatus.SENT and row.attempts == 2
        assert inbox.messages == [["mei@example.org"]]  # delivered once
        assert tasks.deliver_mails([mail_id]) == {"sent": 0, "retry": 0, "failed": 0}
    finally:
        server.stop()


@pytest.mark.parametrize(("environment", "shown"), [("development", True), ("test", False)])
def test_without_a_mail_server_development_shows_the_email_in_its_console(
    app, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, environment: str, shown: bool
) -> None:
    """``make run`` has no SMTP server: its emails (a reset link) are written to the console,
    not lost; nothing is queued. Elsewhere (tests, production) nothing is written."""
    monkeypatch.setitem(app.config, "SMTP_HOST", "")
    monkeypatch.setitem(app.config, "INNOMATCH_ENV", environment)
    with app.app_context(), caplog.at_level("WARNING", logger="innomatch.mail"):
        message = mail.build_message("Mei", "mei@example.org", "Reset", "Follow https://x.test/password/reset/abc")
        assert mail.queue(message) is False
        assert _rows() == []
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert ("https://x.test/password/reset/abc" in logged and "mei@example.org" in logged) is shown


def test_a_chinese_subject_keeps_its_full_width_colon(app):
    from portal.services.mail import build_message

    with app.app_context():
        message = build_message("陳大文", "chan@example.hk", "InnoMatch：確認你的電郵地址\n", "內容", "zh-Hant")
    assert message["Subject"] == "InnoMatch：確認你的電郵地址"


def test_a_failed_mail_loses_its_body_once_its_links_have_expired(ctx, make, smtp, held):
    """Bodies can hold single-use links; a failed one is kept for a retry only while its links
    could still work (review of 7 Dec 2026)."""
    from portal.services import invitations
    from portal.services.accounts import TOKEN_LIFETIME

    assert mail.FAILED_BODY_KEPT >= max(invitations.VALID_FOR, *TOKEN_LIFETIME.values())
    admin = make.user("admin")
    with time_machine.travel(START, tick=False) as traveller:
        mail.queue(_message())
        ctx.commit()
        (row,) = _rows()
        ctx.execute(update(OutboxMail).values(status=MailStatus.FAILED))
        ctx.commit()
        mail.sweep()
        ctx.commit()
        assert _rows()[0].body_text  # still within the links' lifetime: kept for a retry
        traveller.shift(mail.FAILED_BODY_KEPT + timedelta(minutes=1))
        mail.sweep()
        ctx.commit()
        (row,) = _rows()
        assert row.body_text == "" and row.body_html is None
        with pytest.raises(DomainError, match="cannot be sent again"):
            mail.retry_failed(ctx.get(User, admin.id), ctx.get(OutboxMail, row.id))
