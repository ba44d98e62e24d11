"""Work off the request: jobs enqueued after the database transaction commits.

``enqueue("portal.tasks.deliver_mails", [3, 4])`` asks for ``portal.tasks.deliver_mails([3, 4])``
to run once the current transaction of the request-scoped session commits; a rollback drops
it (a SQLAlchemy ``after_commit`` listener, as the mail outbox used to do). A job function
is named by its dotted path (only ``portal.tasks`` functions may be named) and gets plain
arguments (ids, not ORM objects): it runs later, in another session, maybe in another process,
and loads what it needs, tolerating rows that are gone.

Where jobs run:

* ``REDIS_URL`` set: on the RQ queue ``innomatch`` in that Redis, run by
  ``flask --app wsgi jobs worker``. If Redis cannot be reached at enqueue time, the job runs
  in-process instead (the change is committed; doing the work late in the request beats
  losing it) and the failure is logged and counted.
* No ``REDIS_URL`` (``make run`` on a fresh machine, and the tests): in-process, synchronously,
  right after the commit, in a fresh app context and session. Synchronous rather than in a
  thread so that tests are deterministic and SQLite sees one writer at a time; the price is
  that the request that committed waits for its jobs, as it did before the queue existed.

Every job runs inside an app context (:func:`perform`), with the id of the request that
enqueued it on its log lines (``portal.logs.bound_request_id``). A job that raises is logged
with its traceback and counted (``innomatch_job_failures_total``); in-process that never
reaches the request that already committed; on RQ the job goes to RQ's failed-job registry
after its retries.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, has_app_context
from prometheus_client.core import GaugeMetricFamily, Metric
from redis import Redis
from rq import Queue, Retry
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from . import logs
from .database import db
from .metrics import JOB_FAILURES, JOB_SECONDS, register_live

log = logging.getLogger("innomatch.jobs")

#: The RQ queue every job goes to.
QUEUE_NAME = "innomatch"
#: Only functions of this module may be named by a job (a job never imports arbitrary code).
TASKS_MODULE = "portal.tasks"
#: Seconds a job may run on the worker before RQ stops it (re-encoding every vector is the longest).
DEFAULT_TIMEOUT = 30 * 60
#: RQ's retries of a job that raised (each job is idempotent), seconds between attempts.
RETRY_INTERVALS = (30, 120, 600)

_PENDING = "innomatch_jobs"
_worker_app: Flask | None = None
_clients: dict[str, Any] = {}


@dataclass(frozen=True)
class PendingJob:
    """A job waiting for the transaction to commit."""

    func_path: str
    args: tuple[Any, ...]
    request_id: str


def resolve(func_path: str) -> Callable[..., Any]:
    """The task function ``func_path`` names; ValueError unless it is a ``portal.tasks`` function."""
    module_name, _dot, name = func_path.rpartition(".")
    if module_name != TASKS_MODULE or not name or name.startswith("_"):
        raise ValueError(f"a job must name a function of {TASKS_MODULE}, got {func_path!r}")
    function = getattr(importlib.import_module(module_name), name, None)
    if not callable(function):
        raise TypeError(f"{func_path} is not a function")
    return function


def enqueue(func_path: str, *args: Any) -> None:
    """Run ``func_path(*args)`` after the current transaction commits; nothing if it rolls back.

    The arguments must be JSON-like plain values (ids, strings, lists of ids).
    """
    resolve(func_path)  # fail now, in the caller's test, not later in a worker
    if db().get_transaction() is None:
        db.begin()  # so that the commit or rollback that ends it fires the session's events
    db.info.setdefault(_PENDING, []).append(PendingJob(func_path, tuple(args), logs.current_request_id()))


def enqueue_now(func_path: str, *args: Any) -> None:
    """Dispatch ``func_path(*args)`` at once, outside any transaction (the scheduler, the CLI)."""
    resolve(func_path)
    dispatch([PendingJob(func_path, tuple(args), logs.current_request_id())])


def pending() -> list[PendingJob]:
    """The jobs waiting for the current transaction to commit (for tests and diagnostics)."""
    return list(db.info.get(_PENDING, []))


# -- where jobs go -----------------------------------------------------------------------------


def redis_url(app: Flask | None = None) -> str:
    """The Redis of the job queue (``REDIS_URL``), or "" when jobs run in-process."""
    config = (app or current_app).config
    return str(config.get("REDIS_URL") or "").strip()


def connection(url: str) -> Any:
    """The process's Redis client for ``url`` (thread-safe, pooled), failing fast when Redis is down."""
    client = _clients.get(url)
    if client is None:
        client = _clients[url] = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10)
    return client


def queue(url: str | None = None) -> Any:
    """The RQ queue of the jobs (needs ``REDIS_URL``)."""
    url = url if url is not None else redis_url()
    if not url:
        raise RuntimeError("REDIS_URL is not set: jobs run in-process and there is no queue")
    return Queue(QUEUE_NAME, connection=connection(url), default_timeout=DEFAULT_TIMEOUT)


def dispatch(jobs: list[PendingJob]) -> None:
    """Send ``jobs`` to the RQ queue, or run them here when there is none (or it is down)."""
    if not jobs:
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # a werkzeug LocalProxy method
    url = redis_url(app)
    if url:
        try:
            rq_queue = queue(url)
            for job in jobs:
                rq_queue.enqueue_call(
                    perform, args=(job.func_path, list(job.args), job.request_id),
                    description=job.func_path, retry=Retry(max=len(RETRY_INTERVALS), interval=list(RETRY_INTERVALS)),
                    meta={"request_id": job.request_id},
                )
            return
        except Exception:  # Redis down: run here rather than lose the work
            log.exception("cannot enqueue %d job(s) on %s; running them in-process", len(jobs), QUEUE_NAME)
            JOB_FAILURES.labels("enqueue").inc()
    for job in jobs:
        with contextlib.suppress(Exception):  # perform logged and counted it; the caller's change is committed
            perform(job.func_path, list(job.args), job.request_id, app=app)


def set_worker_app(app: Flask) -> None:
    """The app a worker process runs its jobs in (``flask jobs worker`` sets it)."""
    global _worker_app
    _worker_app = app


def _app() -> Flask:
    if _worker_app is not None:
        return _worker_app
    if has_app_context():
        return current_app._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy method
    from . import create_app  # a bare `rq worker` process: build the app once

    app = create_app()
    set_worker_app(app)
    return app


def perform(func_path: str, args: list[Any], request_id: str = logs.NO_REQUEST, *, app: Flask | None = None) -> Any:
    """Run one job in a fresh app context (its own session), logging with ``request_id``."""
    name = func_path.rpartition(".")[2]
    application = app or _app()
    started = time.perf_counter()
    with application.app_context(), logs.bound_request_id(request_id):
        try:
            return resolve(func_path)(*args)
        except Exception:
            JOB_FAILURES.labels(name).inc()
            log.exception("job %s failed", func_path)
            raise
        finally:
            JOB_SECONDS.labels(name).observe(time.perf_counter() - started)


def _queue_metrics() -> Iterable[Metric]:
    """Read at scrape time: jobs waiting, running and failed on the RQ queue (nothing without Redis)."""
    url = redis_url()
    if not url:
        return []
    rq_queue = queue(url)
    depth = GaugeMetricFamily("innomatch_job_queue_depth", "Jobs waiting on the queue.", labels=["queue"])
    depth.add_metric([QUEUE_NAME], rq_queue.count)
    running = GaugeMetricFamily("innomatch_jobs_running", "Jobs a worker is running now.", labels=["queue"])
    running.add_metric([QUEUE_NAME], rq_queue.started_job_registry.count)
    failed = GaugeMetricFamily(
        "innomatch_jobs_failed", "Jobs in RQ's failed-job registry (raised after every retry).", labels=["queue"]
    )
    failed.add_metric([QUEUE_NAME], rq_queue.failed_job_registry.count)
    return [depth, running, failed]


register_live(_queue_metrics)


# -- after the commit ----------------------------------------------------------------------------


@event.listens_for(Session, "after_commit")
def _dispatch_pending(session: Session) -> None:
    """Dispatch what the committed transaction enqueued."""
    jobs: list[PendingJob] = session.info.pop(_PENDING, None) or []
    if jobs:
        dispatch(jobs)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: SessionTransaction) -> None:
    """Forget the jobs when the whole transaction rolls back (a savepoint keeps them)."""
    if not previous_transaction.nested and previous_transaction.parent is None:
        session.info.pop(_PENDING, None)
