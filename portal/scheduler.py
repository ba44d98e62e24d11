"""``flask jobs scheduler``: what runs on a clock (the outbox sweeper, the daily digest and
housekeeping).

One loop, one tick every ``SCHEDULER_TICK_SECONDS`` (default 60): each tick enqueues the
outbox sweep, and the digest and the retention housekeeping (``portal.tasks.housekeeping``)
once a Hong Kong day at ``DIGEST_HOUR`` or later. The jobs run on
the worker (or in-process when there is no ``REDIS_URL``).

Only one scheduler acts at a time: with Redis, a tick first takes (or renews) a lock in
Redis with a time-out of three ticks, so a second scheduler (a rolling deploy, a replica)
waits, and takes over within three ticks if the first dies. The day of the last digest is
kept in Redis too, so a restart does not send a second digest the same day. Without Redis
there is no lock: run one scheduler (fine for ``make run``), and the last digest day lives
in the process.

Why not RQ's own ``rq.cron.CronScheduler`` (RQ 2.5+): it has no lock between scheduler
processes (two would enqueue every job twice) and keeps its next-run times in the process,
so a restart around the digest hour could send the digest twice or not at all.
"""

from __future__ import annotations

import logging
import secrets
import time
from datetime import datetime
from typing import Any

from flask import Flask

from . import clock, jobs

log = logging.getLogger("innomatch.scheduler")

LOCK_KEY = "innomatch:scheduler:lock"
DIGEST_DAY_KEY = "innomatch:scheduler:digest-day"
SWEEP_JOB = "portal.tasks.sweep_outbox"
DIGEST_JOB = "portal.tasks.send_digests"
#: Run with the digest, once a day: the retention jobs.
HOUSEKEEPING_JOB = "portal.tasks.housekeeping"
DEFAULT_TICK_SECONDS = 60.0
DEFAULT_DIGEST_HOUR = 8

# Renew the lock only if it is still ours (compare-and-expire in one step).
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('expire', KEYS[1], ARGV[2])
end
return 0
"""


class Scheduler:
    """The loop's state: who we are (the lock's token) and the day of the last digest."""

    def __init__(self, app: Flask, redis: Any = None) -> None:
        self.app = app
        self.redis = redis
        self.token = secrets.token_hex(8)
        self.tick_seconds = float(app.config.get("SCHEDULER_TICK_SECONDS") or DEFAULT_TICK_SECONDS)
        self.digest_hour = int(app.config.get("DIGEST_HOUR", DEFAULT_DIGEST_HOUR))
        self._digest_day: str | None = None

    def holds_lock(self) -> bool:
        """Take or renew the one-scheduler lock (always True without Redis)."""
        if self.redis is None:
            return True
        ttl = max(1, int(self.tick_seconds * 3))
        if self.redis.set(LOCK_KEY, self.token, nx=True, ex=ttl):
            log.info("scheduler %s took the lock", self.token)
            return True
        return bool(self.redis.eval(_RENEW, 1, LOCK_KEY, self.token, ttl))

    def release(self) -> None:
        """Give the lock up at once (on a clean stop), if it is ours."""
        if self.redis is not None and self.redis.get(LOCK_KEY) == self.token.encode():
            self.redis.delete(LOCK_KEY)

    def _last_digest_day(self) -> str | None:
        if self.redis is None:
            return self._digest_day
        value = self.redis.get(DIGEST_DAY_KEY)
        return value.decode() if value else None

    def _set_digest_day(self, day: str) -> None:
        self._digest_day = day
        if self.redis is not None:
            self.redis.set(DIGEST_DAY_KEY, day, ex=3 * 24 * 3600)

    def due(self, now: datetime) -> list[str]:
        """The jobs due at ``now``: the sweep always; the digest and the housekeeping once a day
        from ``digest_hour`` (HK)."""
        names = [SWEEP_JOB]
        local = clock.local(now)
        day = local.date().isoformat()
        if local.hour >= self.digest_hour and self._last_digest_day() != day:
            names += [DIGEST_JOB, HOUSEKEEPING_JOB]
        return names

    def tick(self, now: datetime | None = None) -> list[str]:
        """One round: if this scheduler holds the lock, enqueue what is due; return what it enqueued."""
        now = now or clock.now()
        if not self.holds_lock():
            return []
        names = self.due(now)
        with self.app.app_context():
            for name in names:
                if name == DIGEST_JOB:
                    self._set_digest_day(clock.local(now).date().isoformat())  # before: never twice a day
                jobs.enqueue_now(name)
        return names

    def run(self, max_ticks: int | None = None) -> None:
        """Tick until stopped (or ``max_ticks``), sleeping between ticks."""
        done = 0
        try:
            while max_ticks is None or done < max_ticks:
                try:
                    ran = self.tick()
                    if ran:
                        log.debug("scheduler enqueued %s", ", ".join(ran))
                except Exception:  # a tick that fails (Redis down) must not stop the clock
                    log.exception("scheduler tick failed")
                done += 1
                if max_ticks is None or done < max_ticks:
                    time.sleep(self.tick_seconds)
        finally:
            self.release()
