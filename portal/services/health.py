"""Readiness: whether this process can serve requests now (``/readyz``).

Each check answers ``Check(ok, detail)`` and never raises; the process is ready when every
check is ok. The checks:

- ``database``: ``SELECT 1`` answers;
- ``redis``: only when ``RATELIMIT_STORAGE_URI`` or ``REDIS_URL`` is a ``redis://`` (or
  ``rediss://``) address: ``PING`` answers within ``READYZ_TIMEOUT`` seconds;
- ``matcher_model``: the configured encoder (``MATCHER_MODEL``) is loaded. A model is
  loaded on first use, never by this check (loading takes seconds and hundreds of MB):
  "not loaded yet" is ready unless ``READYZ_REQUIRE_MODEL`` is on (then warm the
  worker up first, e.g. with a page that ranks);
- ``vectors``: when there are challenges or capabilities, the embeddings table holds
  vectors of the loaded model (else ``flask matcher reindex`` has not been run for it);
  skipped (ok) while the model is not loaded, since its cache id is known only then.
"""

from __future__ import annotations

import logging
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
    """The Redis address the app depends on ("" = none): the rate limits' storage, else ``REDIS_URL``."""
    for name in ("RATELIMIT_STORAGE_URI", "REDIS_URL"):
        value = str(config.get(name) or "").strip()
        if value.startswith(REDIS_SCHEMES):
            return value
    return ""


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


def check_model() -> Check:
    """The configured encoder is loaded (never loaded here); not loaded yet fails only when required."""
    name = recommendations.settings().model
    loaded = recommendations.loaded_encoder()
    if loaded is not None:
        return Check(True, f"{name} loaded ({loaded.model_id})")
    if current_app.config.get("READYZ_REQUIRE_MODEL"):
        return Check(False, f"{name} not loaded yet")
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
    url = redis_url(current_app.config)
    if url:
        checks["redis"] = lambda: check_redis(url)
    checks["matcher_model"] = check_model
    checks["vectors"] = check_vectors
    return Readiness({name: run() for name, run in checks.items()})
