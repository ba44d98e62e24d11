"""gunicorn settings for InnoMatch (``gunicorn -c gunicorn.conf.py wsgi:app``, the Procfile's web).

A minimal configuration read from the environment:

- ``GUNICORN_BIND``: the address; else every interface on ``PORT`` (8000; honcho and most
  platforms set ``PORT``);
- ``WEB_CONCURRENCY`` (2): worker processes; the app checks at start that the rate limits
  then use shared storage (``RATELIMIT_STORAGE_URI``), see docs/configuration.md;
- ``GUNICORN_THREADS`` (2): threads per worker; ``GUNICORN_TIMEOUT`` (120 s): a fit of the
  rankers on a large corpus can take seconds on the first view;
- ``PROMETHEUS_MULTIPROC_DIR``: when set, created at start and cleared of the files of
  processes that are gone, and each exited worker marked dead, so /metrics adds up the live
  workers (docs/operations.md). Every process that imports the app (flask commands too)
  needs the directory to exist.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

bind = os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{os.environ.get('PORT', '8000')}"  # nosec B104 - a container's port
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
# Longer than a load balancer's idle timeout, so gunicorn never closes a kept-alive
# connection just as the client reuses it.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "30"))
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def on_starting(server: Any) -> None:
    """Create the metrics directory, and drop the files of processes no longer running (a
    previous run's would be added up). Files of live processes (a job worker sharing the
    directory on the same host) are kept."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
    if not directory:
        return
    Path(directory).mkdir(parents=True, exist_ok=True)
    for file in Path(directory).glob("*.db"):
        pid = file.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            file.unlink(missing_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    """Tell prometheus-client a worker is gone (its gauges leave the live sum)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
