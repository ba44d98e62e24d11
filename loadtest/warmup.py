"""Warm the server before measuring: each worker fits its rankers on its first recommendation
page, and fills its per-process caches (review-queue rankings, statistics) on the first view.
Then (``--edits``, as ``loadtest/run.sh`` does) one capability and one challenge are edited
through their forms by accounts the measured users never use, and the pages are read again:
a worker's first edit makes its own copy of the rankers it shared with gunicorn's master, a
one-time step of every worker's life, so memory is measured from there.

    python loadtest/warmup.py http://127.0.0.1:5077 --rounds 8

Requests go in parallel so that every gunicorn worker gets some; prints how long the
first (cold) and the last (warm) recommendation pages took.
"""

from __future__ import annotations

import argparse
import re
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from credentials import PASSWORD, csrf_token, pass_second_step  # loadtest/credentials.py
from forms import CAPABILITY_EDIT, CHALLENGE_ROW, read_form  # loadtest/forms.py

#: Accounts that edit during the warm-up (no Locust user signs in as them).
WARM_EDITOR, WARM_OFFICER = "member37@load.test", "officer4@load.test"


def signed_in(host: str, email: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{host}/login", timeout=60).text
    response = session.post(f"{host}/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf_token(page)},
                            allow_redirects=False, timeout=60)
    if response.status_code != 302:
        raise SystemExit(f"warm-up: sign-in as {email} failed ({response.status_code})")
    if not pass_second_step(session, host, email):
        raise SystemExit(f"warm-up: second sign-in step as {email} failed")
    return session


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("host")
    parser.add_argument("--rounds", type=int, default=8, help="parallel requests per page")
    parser.add_argument("--repeat", type=int, default=2, help="how many times to go through the pages")
    parser.add_argument("--coordinator", default="coordinator2@load.test",
                        help="a coordinator no other client signs in as (a TOTP code is accepted once per account)")
    parser.add_argument("--edits", action="store_true",
                        help="then edit a capability and a challenge, wait for the workers to catch up, read again")
    args = parser.parse_args()
    host = args.host.rstrip("/")
    member = signed_in(host, "member39@load.test")
    officer = signed_in(host, "officer7@load.test")
    # Not one of the Locust coordinators (coordinator0, 1): a TOTP code is accepted once per account.
    coordinator = signed_in(host, args.coordinator)
    mine = officer.get(f"{host}/challenges/mine", timeout=120).text
    challenge_ids = list(dict.fromkeys(re.findall(r"/challenges/(\d+)/recommended", mine)
                                       or re.findall(r'href="/challenges/(\d+)"', mine)))
    # Every page whose first view in a worker fills a per-process cache: the rankers, the
    # review queue's cached rankings, the statistics (cached per data version).
    visitor = requests.Session()
    pages = [(member, "/recommendations"), (member, "/challenges?q=clinic"), (coordinator, "/startups?q=data"),
             (coordinator, "/coordinator/"), (coordinator, "/dashboard"), (visitor, "/stats")]
    if challenge_ids:
        pages.append((officer, f"/challenges/{challenge_ids[0]}/recommended"))

    def fetch(job: tuple[requests.Session, str]) -> tuple[str, int, float]:
        session, path = job
        started = time.monotonic()
        status = session.get(f"{host}{path}", timeout=300).status_code
        return path, status, time.monotonic() - started

    def read_all(label: str) -> None:
        with ThreadPoolExecutor(max_workers=args.rounds) as pool:
            results = list(pool.map(fetch, [job for job in pages for _ in range(args.rounds)]))
        bad = [r for r in results if r[1] != 200]
        if bad:
            raise SystemExit(f"warm-up: {bad[:3]}")
        slowest = max(results, key=lambda r: r[2])
        print(f"warm-up {label}: {len(results)} pages, slowest {slowest[0]} {slowest[2]:.2f} s")

    for round_number in range(args.repeat):
        read_all(f"round {round_number + 1}")
    if args.edits:
        edit(host, signed_in(host, WARM_EDITOR), signed_in(host, WARM_OFFICER))
        time.sleep(5)  # the workers' followers catch up (CORPUS_FOLLOW_SECONDS)
        read_all("after the edits")


def edit(host: str, member: requests.Session, officer: requests.Session) -> None:
    """Edit one capability and one open challenge through their forms (a sentence added)."""
    profile = member.get(f"{host}/startups/mine", timeout=120).text
    caps = CAPABILITY_EDIT.findall(profile)
    mine = officer.get(f"{host}/challenges/mine", timeout=120).text
    open_ids = [cid for cid, colour in CHALLENGE_ROW.findall(mine) if colour == "green"]
    if not caps or not open_ids:
        raise SystemExit("warm-up: no capability or open challenge to edit")
    for session, url, field, button in (
        (member, f"/capabilities/{caps[0]}/edit", "description", {}),
        (officer, f"/challenges/{open_ids[0]}/edit", "problem_statement", {"action": "save"}),
    ):
        form = read_form(session.get(f"{host}{url}", timeout=120).text, url)
        if form is None:
            raise SystemExit(f"warm-up: no form at {url}")
        form.set(field, f"{form.first(field)} Reviewed during the warm-up."[:10_000])
        answer = session.post(f"{host}{url}", data=form.data(**button), allow_redirects=False, timeout=120)
        if answer.status_code not in (302, 303):
            raise SystemExit(f"warm-up: editing {url} answered {answer.status_code}")
    print("warm-up: edited a capability and a challenge")


if __name__ == "__main__":
    main()
