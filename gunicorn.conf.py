"""gunicorn's settings for InnoMatch: `gunicorn -c gunicorn.conf.py wsgi:app`.

Each value can be overridden on the command line (`--workers 4`) or by the environment
variable named beside it. The reasons are in README.md ("Running in production").
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

# Numerical libraries: one thread each per worker; the worker processes and threads are the
# parallelism (set before the app, hence torch and numpy, is imported by preload_app).
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# GUNICORN_BIND, else every interface on PORT (honcho, containers and most platforms set it),
# else only this machine.
bind = os.environ.get("GUNICORN_BIND") or (
    f"0.0.0.0:{os.environ['PORT']}" if os.environ.get("PORT") else "127.0.0.1:8000"  # nosec B104 - a container's port
)
# Processes: about one per core (WEB_CONCURRENCY, which the app's production check reads too).
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads per process: requests waiting on the database overlap; ranking holds the GIL little
# (numpy), so 2 is the measured sweet spot on 2 cores (loadtest/run.sh).
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
worker_class = "gthread"
# Import the app once in the master, before forking: a broken setting fails the start, not
# each worker, and workers share the imported code's memory. No database connection or
# model is opened at import (the engine connects lazily; models load on first use).
preload_app = os.environ.get("GUNICORN_PRELOAD", "true").lower() in {"1", "true", "yes", "on"}
# A first ranking after a start fits the corpus and may load a model: allow it, then kill.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
# Longer than the proxy's idle time to the app, so gunicorn never closes a connection the
# proxy is about to reuse (gunicorn's 2 s default gives ConnectionResetError under load).
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "30"))
# Recycle workers now and then (slow leaks; jitter so they do not restart together).
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = 500
forwarded_allow_ips = "127.0.0.1"  # the app resolves client addresses itself (TRUSTED_PROXIES)

# Access log: one JSON object per line on stdout, with the request id the app echoes.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
access_log_format = json.dumps({
    "time": "%(t)s", "remote": "%(h)s", "method": "%(m)s", "path": "%(U)s", "query": "%(q)s",
    "status": "%(s)s", "bytes": "%(B)s", "duration_ms": "%(M)s", "user_agent": "%(a)s",
    "request_id": "%({x-request-id}o)s", "logger": "gunicorn.access",
})


def _redacting_logger() -> type:
    """gunicorn's logger with the secret of a single-use link (a password reset, an
    invitation, an email confirmation) cut out of the path it logs (portal.logs.RedactingAtoms)."""
    from gunicorn.glogging import Logger

    from portal.logs import RedactingAtoms

    return type("RedactingLogger", (RedactingAtoms, Logger), {})


logger_class = _redacting_logger()
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")


#: glibc's threshold above which an allocation gets its own mapping, returned to the system
#: when freed. glibc raises it as large blocks are freed, and then keeps the rankers' arrays,
#: copied on every corpus edit, in a heap that never shrinks; fixed, a worker's memory stays
#: flat over hours of edits (docs/operations.md, portal/heap.py). ``MALLOC_MMAP_THRESHOLD``
#: bytes, 0 to leave glibc alone.
MMAP_THRESHOLD = int(os.environ.get("MALLOC_MMAP_THRESHOLD", str(128 * 1024)))


def _fix_mmap_threshold() -> None:
    from portal.heap import set_mmap_threshold

    set_mmap_threshold(MMAP_THRESHOLD)


def on_starting(server: Any) -> None:
    """Prometheus multiprocess mode: create the metrics directory and drop the files of
    processes no longer running (a previous run's would be added up); a live job worker's stay.
    Also fixes the master's mmap threshold, so the rankers it fits before forking are mapped."""
    _fix_mmap_threshold()
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
    if not directory:
        return
    Path(directory).mkdir(parents=True, exist_ok=True)
    for file in Path(directory).glob("*.db"):
        pid = file.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            file.unlink(missing_ok=True)


def when_ready(server: Any) -> None:
    """With preload (and unless ``MATCHER_WARM_UP=0``): fit the rankers once here, in the master, before
    the workers are forked (they share the fitted arrays), and load the search's Chinese
    conversions. A failure (no tables yet, the database
    down) is logged and the workers fit on their first request instead."""
    if not preload_app:
        return
    from portal.services import paging, recommendations
    from wsgi import app

    recommendations.warm_up_if_asked(app, "master")
    # The search boxes' Chinese conversions, shared by the workers (portal.services.paging).
    paging.load_converters()


def pre_fork(server: Any, worker: Any) -> None:
    """Move every object the master holds (the app, the fitted rankers, the dictionaries) out
    of the garbage collector's sight before forking (``gc.freeze``): a worker's full
    collections then scan only what it made itself, instead of pausing all its threads for
    190-430 ms every 20 s or so (measured under the load test), and never write to the pages
    it shares with the master. They are still freed as usual when no longer referenced."""
    import gc

    gc.freeze()


#: The garbage collector's youngest-generation threshold in a worker (Python's default is
#: 700): a worker allocates hundreds of thousands of objects a second while ranking, and at
#: 700 it runs a full collection every few seconds; the rankers free their versions by
#: reference counting, so collections are only for the odd cycle (a rendered page's).
GC_YOUNG_THRESHOLD = int(os.environ.get("GC_YOUNG_THRESHOLD", "50000"))

#: Seconds a thread may hold Python's interpreter lock while another waits for it (Python's
#: default 0.005). A request thread gives the lock up at each SQL statement and waits up to
#: this long to take it back while another thread (a ranking, the corpus follower) computes.
GIL_SWITCH_SECONDS = float(os.environ.get("GIL_SWITCH_SECONDS", "0.005"))


def post_fork(server: Any, worker: Any) -> None:
    """A forked worker opens its own database connections, never the master's, frees large
    blocks back to the system, collects garbage less often and hands the interpreter lock
    between threads every ``GIL_SWITCH_SECONDS``."""
    import gc
    import sys

    _fix_mmap_threshold()
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
    if GC_YOUNG_THRESHOLD > 0:
        gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    if preload_app:
        from wsgi import app

        app.extensions["innomatch_engine"].dispose(close=False)


def child_exit(server: Any, worker: Any) -> None:
    """Prometheus multiprocess mode: forget a dead worker's live gauges (docs/operations.md)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
