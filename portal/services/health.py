"""Readiness: whether this process can serve requests now (``/readyz``).

Each check answers ``Check(ok, detail)`` and never raises; the process is ready when every
check is ok. The checks:

- ``database``: ``SELECT 1`` answers;
- ``redis``: each Redis the app uses (the rate limits' ``RATELIMIT_STORAGE_URI``, the job
  queue's ``REDIS_URL``) answers ``PING`` within ``READYZ_TIMEOUT`` seconds; one check
  per address (``redis`` for the first, ``redis_jobs`` for a job queue elsewhere);
- ``matcher_model``: the configured encoder (``MATCHER_MODEL``) is loaded. gunicorn's
  master loads it with the warm-up, before forking. When it is not loaded and
  ``READYZ_REQUIRE_MODEL`` is on (the default), the check starts loading it in a thread of
  its own, once, and answers "loading" (503) until it is: a probe never waits seconds for
  a model, and a process taken out of rotation still becomes ready without traffic;
- ``vectors``: when there are challenges or capabilities, the embeddings table holds
  vectors of the loaded model (else ``flask matcher reindex`` has not been run for it);
  skipped (ok) while the model is not loaded, since its cache id is known only then.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import redis
from flask import current_app
from sqlalchemy import exists, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from models import Capability, Challenge, Embedding

from ..database import db
from . import recommendations

log = logging.getLogger("innomatch.health")

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


@dataclass(frozen=True)
class Check:
    """One dependency's state: ``ok``, and a short reason people can act on."""

    ok: bool
    detail: str


@dataclass(frozen=True)
class Readiness:
    """Every check by name; ready when all are ok."""

    checks: dict[str, Check]

    @property
    def ready(self) -> bool:
        return all(check.ok for check in self.checks.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "ready": self.ready,
            "checks": {name: {"ok": c.ok, "detail": c.detail} for name, c in self.checks.items()},
        }


def check_database() -> Check:
    """The database answers ``SELECT 1``."""
    try:
        db.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        db.rollback()
        log.warning("readiness: database unavailable (%s)", type(exc).__name__)
        return Check(False, f"database unavailable: {type(exc).__name__}")
    return Check(True, "answers")


def redis_url(config: Mapping[str, Any]) -> str:
    """The first Redis address the app depends on ("" = none): the rate limits' storage, else ``REDIS_URL``."""
    urls = redis_urls(config)
    return next(iter(urls.values()), "")


def redis_urls(config: Mapping[str, Any]) -> dict[str, str]:
    """Each distinct Redis address the app depends on, by check name: ``redis`` for the first
    (the rate limits' storage, else the job queue), ``redis_jobs`` for a job queue elsewhere."""
    out: dict[str, str] = {}
    for name in ("RATELIMIT_STORAGE_URI", "REDIS_URL"):
        value = str(config.get(name) or "").strip()
        if value.startswith(REDIS_SCHEMES) and value not in out.values():
            out["redis" if not out else "redis_jobs"] = value
    return out


def check_redis(url: str) -> Check:
    """Redis at ``url`` answers ``PING`` within ``READYZ_TIMEOUT`` seconds."""
    timeout = float(current_app.config.get("READYZ_TIMEOUT") or 1.0)
    try:
        client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        try:
            client.ping()
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError) as exc:
        log.warning("readiness: redis unavailable (%s)", type(exc).__name__)
        return Check(False, f"redis unavailable: {type(exc).__name__}")
    return Check(True, "answers")


#: The thread loading the model for the readiness check (one per process).
_loading: dict[str, threading.Thread] = {}
_loading_lock = threading.Lock()


def _load_in_background(name: str) -> None:
    """Start loading the configured encoder in a thread, once per process and model."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # the real app, for the thread

    def load() -> None:
        try:
            with app.app_context():
                recommendations.encoder()
        except Exception:  # the next probe starts another try
            log.exception("readiness: loading the matcher model %s failed", name)
            with _loading_lock:
                _loading.pop(name, None)

    with _loading_lock:
        if name in _loading:
            return
        thread = _loading[name] = threading.Thread(target=load, name="readyz-model-load", daemon=True)
    thread.start()


def check_model() -> Check:
    """The configured encoder is loaded. When it is not and ``READYZ_REQUIRE_MODEL`` is on, it
    is loaded in the background (the probe does not wait) and the process is not ready yet."""
    name = recommendations.settings().model
    loaded = recommendations.loaded_encoder()
    if loaded is not None:
        return Check(True, f"{name} loaded ({loaded.model_id})")
    if current_app.config.get("READYZ_REQUIRE_MODEL"):
        _load_in_background(name)
        return Check(False, f"{name} loading")
    return Check(True, f"{name} not loaded yet (loads on first use)")


def check_vectors() -> Check:
    """Vectors of the loaded model exist when there is something to rank."""
    loaded = recommendations.loaded_encoder()
    if loaded is None:
        return Check(True, "not checked until the model is loaded")
    try:
        anything = db.scalar(select(exists(select(Challenge.id)) | exists(select(Capability.id))))
        if not anything:
            return Check(True, "nothing to rank yet")
        count = db.scalar(select(func.count()).select_from(Embedding).where(Embedding.model == loaded.model_id)) or 0
    except SQLAlchemyError as exc:
        db.rollback()
        return Check(False, f"cannot count vectors: {type(exc).__name__}")
    if not count:
        return Check(False, f"no vectors for {loaded.model_id}: run flask matcher reindex")
    return Check(True, f"{count} vectors for {loaded.model_id}")


def readiness() -> Readiness:
    """Run every check that applies to this configuration."""
    checks: dict[str, Callable[[], Check]] = {"database": check_database}
    for name, url in redis_urls(current_app.config).items():
        checks[name] = lambda url=url: check_redis(url)  # type: ignore[misc]  # bound per address
    checks["matcher_model"] = check_model
    checks["vectors"] = check_vectors
    return Readiness({name: run() for name, run in checks.items()})
