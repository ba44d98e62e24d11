"""InnoMatch load test (Locust, headless): browsing, searching, recommendations and posting.

Twenty users by default, in fixed numbers per kind: anonymous visitors (lists, search,
details, workshops, statistics), startup members (recommendations, proposals),
department officers (their challenges, recommended startups, dismissals) and lab
coordinators (the review queue, the startup list). Signed-in users sign in once, through
the real form with its CSRF token, on accounts made by loadtest/seed_large.py.

Beside them, one startup member edits a capability every 5 s and one officer edits or opens a
challenge every 30 s, and each edit is followed until it shows in the rankings
(loadtest/edits.py: the edit-to-visible latency). With ``LOAD_HOSTS=http://a,http://b`` (two
servers sharing PostgreSQL and Redis) the readers take the hosts in turn, and each edit is
made through the first host and looked for through the last.

Request names are page types ("recommendations: for startup", "challenges: search",
...); benchmarks/load_report.py turns locust's CSV into p50/p95/p99 per type.

    locust -f loadtest/locustfile.py --headless -u 20 -r 10 -t 60s --host http://127.0.0.1:5077
"""

from __future__ import annotations

import itertools
import os
import random
import re
import threading

from credentials import PASSWORD, csrf_token, pass_second_step  # loadtest/credentials.py
from edits import HOSTS, CapabilityEditor, ChallengeEditor  # noqa: F401  (Locust runs every User class here)
from locust import HttpUser, between, events, task

CHALLENGE_LINK = re.compile(r'href="/challenges/(\d+)"')
STARTUP_LINK = re.compile(r'href="/startups/(\d+)"')
PROPOSE_LINK = re.compile(r'href="/challenges/(\d+)/propose"')
RECOMMENDED_LINK = re.compile(r'/challenges/(\d+)/recommended')
OPTION = re.compile(r'<option[^>]*value="(\d+)"')
DISMISS = re.compile(r'name="challenge_id"[^>]*value="(\d+)".*?name="startup_id"[^>]*value="(\d+)"', re.DOTALL)
WORDS = ["chatbot", "OCR", "licence", "appointment", "data", "clinic", "dental", "speech", "inspection",
         "vaccination", "牙科", "預約", "tobacco", "pharmacy", "translation"]
DOMAINS = ["smart_clinic", "health_regulation", "customer_service", "data_collaboration", ""]

_accounts = {kind: itertools.count() for kind in ("member", "officer", "coordinator")}
_hosts = itertools.count()
_lock = threading.Lock()
CHALLENGE_IDS: list[str] = []
STARTUP_IDS: list[str] = []


def _next_account(kind: str) -> str:
    with _lock:
        return f"{kind}{next(_accounts[kind])}@load.test"


@events.test_start.add_listener
def _collect_ids(environment, **_kwargs) -> None:  # type: ignore[no-untyped-def]
    """Public challenge ids from the first list pages, for the visitors to open."""
    import requests

    host = environment.host or os.environ.get("LOAD_HOST", "http://127.0.0.1:5077")
    for page in range(1, 6):
        body = requests.get(f"{host}/challenges", params={"page": page}, timeout=30).text
        CHALLENGE_IDS.extend(dict.fromkeys(CHALLENGE_LINK.findall(body)))
    if not CHALLENGE_IDS:
        raise RuntimeError("no challenges found: was the database seeded?")


class Reader(HttpUser):
    """A user on one of ``LOAD_HOSTS`` (in turn), or on Locust's --host."""

    abstract = True

    def __init__(self, environment) -> None:  # type: ignore[no-untyped-def]
        if HOSTS:
            with _lock:
                self.host = HOSTS[next(_hosts) % len(HOSTS)]
        super().__init__(environment)


class SignedInUser(Reader):
    abstract = True
    wait_time = between(0.3, 1.5)
    kind = "member"

    def on_start(self) -> None:
        email = _next_account(self.kind)
        page = self.client.get("/login", name="login: form")
        with self.client.post("/login", name="login", allow_redirects=False, catch_response=True,
                              data={"email": email, "password": PASSWORD, "csrf_token": csrf_token(page.text)}) as response:
            if response.status_code != 302:
                response.failure(f"sign-in as {email} failed: {response.status_code}")
                return
        if self.kind in ("coordinator", "officer") and not pass_second_step(self.client, "", email):
            raise RuntimeError(f"second sign-in step for {email} failed")

    def post_form(self, url: str, form_page: str, data: dict[str, str], name: str) -> None:
        with self.client.post(url, name=name, allow_redirects=False, catch_response=True,
                              data={**data, "csrf_token": csrf_token(form_page)}) as response:
            if response.status_code not in (302, 303):
                response.failure(f"{name}: {response.status_code}")


class Visitor(Reader):
    """Someone browsing the public pages without signing in."""

    fixed_count = 6
    wait_time = between(0.3, 1.5)

    @task(2)
    def home(self) -> None:
        self.client.get("/", name="home")

    @task(4)
    def challenge_list(self) -> None:
        self.client.get("/challenges", params={"page": random.randint(1, 5)}, name="challenges: list")

    @task(4)
    def search(self) -> None:
        self.client.get("/challenges", params={"q": random.choice(WORDS), "domain": random.choice(DOMAINS)},
                        name="challenges: search")

    @task(5)
    def challenge_detail(self) -> None:
        self.client.get(f"/challenges/{random.choice(CHALLENGE_IDS)}", name="challenge: detail")

    @task(1)
    def workshops(self) -> None:
        self.client.get("/workshops", name="workshops")

    @task(1)
    def statistics(self) -> None:
        self.client.get("/stats", name="stats: public")


class StartupMember(SignedInUser):
    """A startup member reading recommendations and proposing for one now and then."""

    fixed_count = 8
    kind = "member"

    @task(5)
    def recommendations(self) -> None:
        page = self.client.get("/recommendations", name="recommendations: for startup")
        self.proposable = PROPOSE_LINK.findall(page.text)

    @task(3)
    def challenge_detail(self) -> None:
        self.client.get(f"/challenges/{random.choice(CHALLENGE_IDS)}", name="challenge: detail")

    @task(2)
    def search(self) -> None:
        self.client.get("/challenges", params={"q": random.choice(WORDS)}, name="challenges: search")

    @task(1)
    def my_proposals(self) -> None:
        self.client.get("/startups/proposals", name="proposals: mine")

    @task(1)
    def propose(self) -> None:
        candidates = getattr(self, "proposable", None)
        if not candidates:
            return
        challenge_id = candidates.pop(0)
        form = self.client.get(f"/challenges/{challenge_id}/propose", name="form: propose")
        options = OPTION.findall(form.text)
        if not options:
            return
        self.post_form(f"/challenges/{challenge_id}/propose", form.text, name="post: proposal",
                       data={"capability_id": options[0],
                             "pitch": "We have run this service with two clinics and can start a pilot in six weeks."})


class Officer(SignedInUser):
    """A department officer looking at recommended startups for the department's challenges."""

    fixed_count = 4
    kind = "officer"

    def on_start(self) -> None:
        super().on_start()
        mine = self.client.get("/challenges/mine", name="challenges: mine")
        self.challenges = list(dict.fromkeys(RECOMMENDED_LINK.findall(mine.text) or CHALLENGE_LINK.findall(mine.text)))

    @task(2)
    def my_challenges(self) -> None:
        self.client.get("/challenges/mine", name="challenges: mine")

    @task(5)
    def recommended(self) -> None:
        if not self.challenges:
            return
        page = self.client.get(f"/challenges/{random.choice(self.challenges)}/recommended",
                               name="recommendations: for challenge")
        self.last_page = page.text
        found = STARTUP_LINK.findall(page.text)
        if found:
            STARTUP_IDS.extend(found[:3])
            del STARTUP_IDS[:-200]

    @task(2)
    def startup_profile(self) -> None:
        if STARTUP_IDS:
            self.client.get(f"/startups/{random.choice(STARTUP_IDS)}", name="startups: profile")

    @task(1)
    def dismiss(self) -> None:
        page = getattr(self, "last_page", "")
        match = DISMISS.search(page)
        if match:
            self.last_page = ""
            self.post_form("/recommendations/dismiss", page, name="post: dismiss",
                           data={"challenge_id": match.group(1), "startup_id": match.group(2),
                                 "reason": "not_relevant", "note": "Load test."})


class Coordinator(SignedInUser):
    """A lab coordinator working through the queue and the startup list."""

    fixed_count = 2
    kind = "coordinator"

    @task(3)
    def queue(self) -> None:
        self.client.get("/coordinator/", name="recommendations: coordinator queue")

    @task(2)
    def startups(self) -> None:
        self.client.get("/startups", params={"q": random.choice(WORDS[:6]), "verified": random.choice(["", "yes"])},
                        name="startups: lab list")

    @task(1)
    def dashboard(self) -> None:
        self.client.get("/dashboard", name="stats: dashboard")
