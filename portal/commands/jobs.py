"""``flask jobs worker | scheduler | sweep | failed-mails | retry-mail | reindex``."""

from __future__ import annotations

import click
from flask import Flask, current_app

from .. import jobs
from ..database import db
from ..errors import DomainError


def register(app: Flask) -> None:
    @app.cli.group("jobs")
    def jobs_group() -> None:
        """Background jobs: the worker, the scheduler, the mail outbox."""

    @jobs_group.command("worker")
    @click.option("--burst", is_flag=True, help="Run the jobs waiting now, then stop.")
    def worker(burst: bool) -> None:
        """Run jobs from the Redis queue (needs REDIS_URL), each in the app's context."""
        from rq import SimpleWorker

        url = jobs.redis_url()
        if not url:
            raise click.ClickException("REDIS_URL is not set: without Redis, jobs run in the web process itself.")
        app = current_app._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy method
        jobs.set_worker_app(app)
        # Fit the corpora before the first job, not in it: the first ranking job (a challenge
        # opened) would otherwise spend seconds of a core on a whole fit while pages are served.
        from ..services import recommendations

        recommendations.warm_up_if_asked(app, "job worker")
        rq_queue = jobs.queue(url)
        # SimpleWorker: jobs run in this process, not a fork per job, so the recommender's fitted
        # corpora stay loaded between ranking jobs; the process manager restarts a crashed worker.
        rq_worker = SimpleWorker([rq_queue], connection=rq_queue.connection)
        # with_scheduler: a failed job's retry waits in RQ's scheduled-job registry for its back-off
        # (jobs.RETRY_INTERVALS), and only RQ's scheduler puts it back on the queue. One worker at a
        # time holds its lock; in a burst it enqueues the retries that are due, then works.
        rq_worker.work(burst=burst, logging_level="INFO", with_scheduler=True)

    @jobs_group.command("scheduler")
    @click.option("--ticks", type=int, default=None, help="Stop after this many ticks (default: run until stopped).")
    def scheduler(ticks: int | None) -> None:
        """Enqueue the outbox sweep every minute and the digest daily; one scheduler acts at a time."""
        from ..scheduler import Scheduler

        url = jobs.redis_url()
        if not url:
            click.echo("REDIS_URL is not set: jobs run in this process, and nothing stops a second scheduler.")
        app = current_app._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy method
        Scheduler(app, jobs.connection(url) if url else None).run(max_ticks=ticks)

    @jobs_group.command("sweep")
    def sweep() -> None:
        """Take back mails left sending by a dead worker and enqueue the due ones, once."""
        from .. import tasks

        click.echo(f"{tasks.sweep_outbox()} mail(s) due, delivery enqueued.")

    @jobs_group.command("failed-mails")
    @click.option("--limit", default=50, show_default=True, help="How many to list, newest first.")
    def failed_mails(limit: int) -> None:
        """List the emails that failed for good, and the outbox's counts by status."""
        from ..services import mail

        counts = mail.count_by_status()
        click.echo("  ".join(f"{status}={number}" for status, number in counts.items()))
        for row in mail.failed_mails(1, max(1, limit)).items:
            click.echo(f"{row.id}\t{row.created_at:%Y-%m-%d %H:%M}\t{mail.redact_address(row.recipient)}\t"
                       f"attempts={row.attempts}\t{row.last_error or ''}")

    @jobs_group.command("retry-mail")
    @click.argument("mail_id", type=int)
    def retry_mail(mail_id: int) -> None:
        """Queue a failed email again for a fresh round of attempts."""
        from models import OutboxMail

        from ..services import mail

        row = db.get(OutboxMail, mail_id)
        if row is None:
            raise click.ClickException(f"no email {mail_id} in the outbox")
        try:
            mail.retry_failed(None, row)
        except DomainError as error:
            db.rollback()
            raise click.ClickException(error.message) from error
        db.commit()
        click.echo(f"Email {mail_id} queued again.")

    @jobs_group.command("reindex")
    def reindex() -> None:
        """Enqueue the re-encoding of every vector missing for this command's MATCHER_MODEL (ahead of or after a model change)."""
        from ..services.recommendations import settings

        # The model is the job's argument: a worker started before the change still encodes for it.
        jobs.enqueue_now("portal.tasks.reindex_vectors", settings().model)
        if jobs.redis_url():
            click.echo("Re-encoding enqueued: a worker runs it (flask jobs worker).")
        else:
            click.echo("Re-encoded in this process (no REDIS_URL).")
