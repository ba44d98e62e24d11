"""Prometheus metrics: request latency and requests in flight, mail, ranker fitting.

The metrics live in ``prometheus_client``'s default registry, once per process. With
several gunicorn workers set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory, writable
by the workers and emptied at each start: each worker then writes its values there and
``/metrics`` adds up every worker's (``prometheus_client`` multiprocess mode; see
docs/operations.md). ``/metrics`` answers only to the addresses in ``METRICS_ALLOWED_IPS``.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client.core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .logs import loggable_path

REQUEST_SECONDS = Histogram(
    "innomatch_request_duration_seconds",
    "Time to answer a request, by endpoint, method and status code.",
    ["endpoint", "method", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
IN_FLIGHT = Gauge(
    "innomatch_requests_in_flight",
    "Requests being answered now.",
    multiprocess_mode="livesum",
)
MAILS_SENT = Counter("innomatch_mails_sent", "Emails the mail server accepted.")
MAILS_FAILED = Counter(
    "innomatch_mails_failed", "Attempts to deliver an email that failed (refused or server unreachable)."
)
MAILS_GIVEN_UP = Counter(
    "innomatch_mails_given_up", "Outbox emails marked failed: refused for good or out of attempts (admin retries)."
)
JOB_FAILURES = Counter(
    "innomatch_job_failures", "Background jobs that raised (label job; 'enqueue': Redis refused a job).", ["job"]
)
JOB_SECONDS = Histogram(
    "innomatch_job_duration_seconds",
    "Time to run a background job, by job.",
    ["job"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 1800.0),
)
RANKER_FIT_SECONDS = Histogram(
    "innomatch_ranker_fit_seconds",
    "Time to fit a ranker on a corpus (capabilities or open challenges).",
    ["corpus"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0),
)
RANKER_UPDATE_SECONDS = Histogram(
    "innomatch_ranker_update_seconds",
    "Time to bring a fitted corpus up to a new version from the changed rows alone (read them, "
    "encode what is new, edit the indexes), by corpus; no whole fit.",
    ["corpus"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
RANKINGS_WARMED = Counter(
    "innomatch_rankings_warmed",
    "Rankings the corpus follower computed ahead for a new corpus version, by whether a page then "
    "asked for them while that version was current (outcome: asked, unasked).",
    ["outcome"],
)

_STARTED = "_metrics_started"
_CPU_STARTED = "_metrics_cpu_started"

log = logging.getLogger("innomatch.metrics")

#: Functions that read a value at scrape time (queue depth, outbox by status); see register_live.
_LIVE: list[Callable[[], Iterable[Metric]]] = []


def register_live(read: Callable[[], Iterable[Metric]]) -> None:
    """Add metrics read when ``/metrics`` is scraped (inside its app context), once each."""
    if read not in _LIVE:
        _LIVE.append(read)


class _LiveCollector(Collector):
    """The values every worker would read alike (Redis, the database): read once, at scrape time."""

    def describe(self) -> Iterable[Metric]:
        return []  # names unknown until read; registering must not read Redis or the database

    def collect(self) -> Iterable[Metric]:
        for read in _LIVE:
            try:
                yield from read()
            except Exception:  # a scrape shows what it can; the failure is logged
                log.warning("live metrics %s failed", getattr(read, "__name__", read), exc_info=True)


def _log_slow(endpoint: str, status: int, elapsed: float, cpu: float) -> None:
    """One line for a slow request: its time, what of it this thread spent on the CPU and in
    SQL statements, and the rest: waiting for the interpreter lock (other threads of the
    process), for the database's locks or for the network."""
    log.warning(
        "slow request %s %s (%s) %d: %d ms; %d ms on its thread's CPU, %d SQL statements in %d ms, %d ms waiting",
        request.method, loggable_path(request.path), endpoint, status, elapsed * 1000, cpu * 1000,
        _statements.count, _statements.seconds * 1000,
        max(0.0, elapsed - cpu - _statements.seconds) * 1000,
    )


def multiprocess_dir() -> str:
    """The directory of multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``), or "" when off."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()


def exposition() -> Response:
    """Every metric in Prometheus's text format: this process's, or every worker's."""
    registry = REGISTRY
    if multiprocess_dir():
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry)
    live = CollectorRegistry()
    live.register(_LiveCollector())
    return Response(generate_latest(registry) + generate_latest(live), mimetype=CONTENT_TYPE_LATEST)


def allowed_networks(value: object) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """``METRICS_ALLOWED_IPS``: addresses or networks, comma-separated or a list ("" = none)."""
    if isinstance(value, str):
        items: list[object] = list(value.split(","))
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
    else:
        items = []
    return [ipaddress.ip_network(str(item).strip(), strict=False) for item in items if str(item).strip()]


def may_read_metrics(address: str | None) -> bool:
    """Whether ``address`` (the client's, after the trusted proxies) may read ``/metrics``."""
    try:
        client = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    networks = allowed_networks(current_app.config.get("METRICS_ALLOWED_IPS", "127.0.0.1"))
    return any(client in network for network in networks)


class _Statements(threading.local):
    """The SQL statements run by this thread's request so far: how many, and for how long."""

    counting = False
    count = 0
    seconds = 0.0
    started = 0.0


_statements = _Statements()


@event.listens_for(Engine, "before_cursor_execute")
def _statement_starts(*_args: Any) -> None:
    if _statements.counting:
        _statements.started = time.perf_counter()


@event.listens_for(Engine, "after_cursor_execute")
def _statement_ends(*_args: Any) -> None:
    if _statements.counting:
        _statements.count += 1
        _statements.seconds += time.perf_counter() - _statements.started


def init_metrics(app: Flask) -> None:
    """Time every request and count those in flight (register before other request hooks);
    log a request slower than ``SLOW_REQUEST_MS`` with where its time went."""

    @app.before_request
    def _start_timer() -> None:
        IN_FLIGHT.inc()
        setattr(g, _STARTED, time.perf_counter())
        setattr(g, _CPU_STARTED, time.thread_time())
        _statements.counting, _statements.count, _statements.seconds = True, 0, 0.0

    @app.after_request
    def _observe(response: Response) -> Response:
        started = g.get(_STARTED)
        if started is not None:
            elapsed = time.perf_counter() - started
            endpoint = request.url_rule.endpoint if request.url_rule is not None else "unmatched"
            REQUEST_SECONDS.labels(endpoint, request.method, str(response.status_code)).observe(elapsed)
            slow = float(current_app.config.get("SLOW_REQUEST_MS") or 0)
            if slow and elapsed * 1000 >= slow:
                _log_slow(endpoint, response.status_code, elapsed, time.thread_time() - g.get(_CPU_STARTED, 0.0))
        return response

    @app.teardown_request
    def _done(_error: BaseException | None) -> None:
        _statements.counting = False
        if g.pop(_STARTED, None) is not None:
            IN_FLIGHT.dec()
