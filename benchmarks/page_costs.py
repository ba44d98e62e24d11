"""What each load-tested page costs alone: server time, SQL queries and SQL time per view.

Runs the app in-process (Flask's test client, one thread, no network) against the database
in DATABASE_URL, seeded by loadtest/seed_large.py, and prints, per page type, the first view
in this process (cold caches) and the median and maximum of the following views (warm).
Under load every page also waits for the others' CPU, so a page's p95 there is about its
cost here times the contention; this table shows which pages to make cheaper.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/innomatch_load MATCHER_MODEL=hashing \\
        python benchmarks/page_costs.py --views 20
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event

PASSWORD = "loadtest-password-2026"  # nosec B105 - throwaway load-test accounts
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
WORDS = ["chatbot", "OCR", "licence", "appointment", "data", "clinic", "dental", "speech", "inspection",
         "vaccination", "牙科", "預約", "tobacco", "pharmacy", "translation"]


class QueryClock:
    """Counts statements and the time spent in them, on every connection of an engine."""

    def __init__(self, engine) -> None:  # type: ignore[no-untyped-def]
        self.count = 0
        self.seconds = 0.0
        self._started: list[float] = []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, *_args) -> None:  # type: ignore[no-untyped-def]
        self._started.append(time.perf_counter())

    def _after(self, *_args) -> None:  # type: ignore[no-untyped-def]
        self.count += 1
        self.seconds += time.perf_counter() - self._started.pop()

    def reset(self) -> None:
        self.count, self.seconds = 0, 0.0


def signed_in(app, email: str):  # type: ignore[no-untyped-def]
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    match = CSRF.search(page)
    token = (match.group(1) or match.group(2)) if match else ""
    response = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    if response.status_code != 302:
        raise SystemExit(f"sign-in as {email} failed ({response.status_code})")
    for _attempt in range(2):  # coordinators: the second step, with the seeded TOTP secret
        step = client.get("/login/two-step")
        if step.status_code != 200:
            break
        import pyotp

        from loadtest.credentials import csrf_token, totp_secret

        answer = client.post("/login/two-step", data={
            "code": pyotp.TOTP(totp_secret(email)).now(), "csrf_token": csrf_token(step.get_data(as_text=True))})
        if answer.status_code == 302:
            break
        time.sleep(30 - time.time() % 30 + 1)  # this step's code was used already: the next one
    else:
        raise SystemExit(f"second step for {email} failed")
    return client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--views", type=int, default=20, help="warm views per page type")
    parser.add_argument("--only", default="", help="only page types whose name contains this")
    args = parser.parse_args()
    os.environ.setdefault("MATCHER_MODEL", "hashing")
    os.environ.setdefault("INNOMATCH_ENV", "development")  # a measurement, not a deployment
    from portal import create_app

    app = create_app()
    random.seed(7)
    clock = QueryClock(app.extensions["innomatch_engine"])
    visitor = app.test_client()
    member = signed_in(app, "member39@load.test")
    officer = signed_in(app, "officer7@load.test")
    coordinator = signed_in(app, "coordinator1@load.test")
    mine = officer.get("/challenges/mine").get_data(as_text=True)
    own = list(dict.fromkeys(re.findall(r"/challenges/(\d+)/recommended", mine))) or ["1"]
    listed = visitor.get("/challenges").get_data(as_text=True)
    public = list(dict.fromkeys(re.findall(r'href="/challenges/(\d+)"', listed))) or ["1"]
    recommended = officer.get(f"/challenges/{own[0]}/recommended").get_data(as_text=True)
    startups = list(dict.fromkeys(re.findall(r'href="/startups/(\d+)"', recommended))) or ["1"]

    pages: list[tuple[str, Callable[[], object]]] = [
        ("home", lambda: visitor.get("/")),
        ("challenges: list", lambda: visitor.get(f"/challenges?page={random.randint(1, 5)}")),
        ("challenges: search", lambda: visitor.get(f"/challenges?q={random.choice(WORDS)}")),
        ("challenge: detail", lambda: visitor.get(f"/challenges/{random.choice(public)}")),
        ("workshops", lambda: visitor.get("/workshops")),
        ("stats: public", lambda: visitor.get("/stats")),
        ("recommendations: for startup", lambda: member.get("/recommendations")),
        ("proposals: mine", lambda: member.get("/startups/proposals")),
        ("form: propose", lambda: member.get(f"/challenges/{random.choice(public)}/propose")),
        ("challenges: mine", lambda: officer.get("/challenges/mine")),
        ("recommendations: for challenge", lambda: officer.get(f"/challenges/{random.choice(own)}/recommended")),
        ("startups: profile", lambda: officer.get(f"/startups/{random.choice(startups)}")),
        ("recommendations: coordinator queue", lambda: coordinator.get("/coordinator/")),
        ("startups: lab list", lambda: coordinator.get(f"/startups?q={random.choice(WORDS[:6])}")),
        ("stats: dashboard", lambda: coordinator.get("/dashboard")),
    ]
    print(f"{'page type':38} {'first ms':>9} {'warm p50':>9} {'warm max':>9} {'queries':>8} {'SQL ms':>7}")
    for name, view in pages:
        if args.only not in name:
            continue
        times, queries, sql = [], [], []
        for _ in range(args.views + 1):
            clock.reset()
            started = time.perf_counter()
            response = view()
            times.append((time.perf_counter() - started) * 1000)
            queries.append(clock.count)
            sql.append(clock.seconds * 1000)
            status = getattr(response, "status_code", 0)
            if status >= 400:
                raise SystemExit(f"{name}: HTTP {status}")
        warm = times[1:]
        print(f"{name:38} {times[0]:9.1f} {statistics.median(warm):9.1f} {max(warm):9.1f} "
              f"{statistics.median(queries[1:]):8.0f} {statistics.median(sql[1:]):7.1f}")


if __name__ == "__main__":
    main()
