"""The load test's editing users, and how long an edit takes to show in the rankings.

Two Locust users, one each, beside the twenty readers:

- ``CapabilityEditor`` (every ``EDIT_CAPABILITY_EVERY`` s, 5 by default): a startup member
  (member38) rewrites one of its capabilities, through the real form (GET, CSRF token,
  POST), so that it answers one open challenge of officer6's department: the challenge's
  problem statement and title, its domains and tags, and a new reference word. Before
  the edit, officer6's "recommended startups" page for that challenge did not list the
  startup (a challenge where it is already listed is skipped); after the edit's response,
  officer6 reloads that page until the startup is listed.
- ``ChallengeEditor`` (every ``EDIT_CHALLENGE_EVERY`` s, 30 by default): officer5 edits an
  open challenge of its department or, every other time while there are drafts, opens a
  draft ("Save and open"), rewriting its problem statement to answer the capability of
  one of four observing startups (member30..33, in turn); that member then reloads its
  recommendations until the challenge is listed.

The time from the edit's response to the first page that shows the change is the
edit-to-visible latency. Each edit is written as one JSON line to ``LOAD_EDITS_OUT``
(and reported to Locust as an ``EDIT`` request, so it is also in the CSV); an edit not
visible within ``EDIT_VISIBLE_TIMEOUT`` s (60) is recorded as not visible (a failure).

Two hosts (``LOAD_HOSTS=http://a,http://b``): edits go through the first host and are
checked through the last, so the latency includes one server seeing another's change.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import threading
import time
from typing import Any

from credentials import PASSWORD, csrf_token, pass_second_step  # loadtest/credentials.py
from forms import CAPABILITY_EDIT, CHALLENGE_ROW, Form, read_form  # loadtest/forms.py
from locust import HttpUser, constant_pacing, task
from locust.clients import HttpSession

HOSTS = [h.strip().rstrip("/") for h in os.environ.get("LOAD_HOSTS", "").split(",") if h.strip()]
TIMEOUT = float(os.environ.get("EDIT_VISIBLE_TIMEOUT", "60"))
POLL = float(os.environ.get("EDIT_POLL_INTERVAL", "0.25"))
OUT = os.environ.get("LOAD_EDITS_OUT", "")
CAPABILITY_EDITOR, CAPABILITY_OBSERVER = "member38@load.test", "officer6@load.test"
CHALLENGE_EDITOR = "officer5@load.test"
CHALLENGE_OBSERVERS = [f"member{i}@load.test" for i in range(30, 34)]

STARTUP_OF_PROFILE = re.compile(r'/startups/(\d+)/edit"')
_write_lock = threading.Lock()


def edit_host(default: str) -> str:
    return HOSTS[0] if HOSTS else default


def check_host(default: str) -> str:
    return HOSTS[-1] if HOSTS else default


def record(environment: Any, kind: str, started: float, visible_after: float | None, **details: Any) -> None:
    """One edit's outcome: to the JSON-lines file and to Locust's statistics."""
    row = {"kind": kind, "at": round(started, 3),
           "visible_after_s": None if visible_after is None else round(visible_after, 3), **details}
    if OUT:
        with _write_lock, open(OUT, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
    environment.events.request.fire(
        request_type="EDIT", name=f"edit-to-visible: {kind}",
        response_time=(TIMEOUT if visible_after is None else visible_after) * 1000, response_length=0,
        exception=None if visible_after is not None else RuntimeError(f"{kind} edit not visible in {TIMEOUT:.0f} s"),
        context={},
    )


def session(user: HttpUser, host: str) -> HttpSession:
    """A browser of its own (cookies) on ``host``, whose requests Locust counts."""
    return HttpSession(base_url=host, request_event=user.environment.events.request, user=user)


def sign_in(client: HttpSession, email: str) -> None:
    page = client.get("/login", name="login: form")
    response = client.post("/login", name="login", allow_redirects=False,
                           data={"email": email, "password": PASSWORD, "csrf_token": csrf_token(page.text)})
    if response.status_code != 302:
        raise RuntimeError(f"sign-in as {email} failed: {response.status_code}")
    if not pass_second_step(client, "", email):
        raise RuntimeError(f"second sign-in step as {email} failed")


def department_challenges(client: HttpSession) -> dict[str, str]:
    """The officer's department's challenges: id -> "open", "closed" or "draft"."""
    found: dict[str, str] = {}
    colours = {"green": "open", "grey": "closed", "yellow": "draft"}
    for page in range(1, 4):
        body = client.get("/challenges/mine", params={"page": page}, name="challenges: mine").text
        rows = {cid: colours[colour] for cid, colour in CHALLENGE_ROW.findall(body)}
        if not rows or set(rows) <= set(found):
            break
        found.update(rows)
    return found


def submit(client: HttpSession, url: str, form: Form, name: str, **buttons: str) -> bool:
    """POST the form as read (with its CSRF token) plus the pressed button; True on a redirect."""
    with client.post(url, data=form.data(**buttons), name=name, allow_redirects=False, catch_response=True) as response:
        if response.status_code in (302, 303):
            return True
        response.failure(f"{name}: {response.status_code}")
        return False


def wait_until_visible(client: HttpSession, url: str, marker: str, name: str) -> float | None:
    """Reload ``url`` until its page holds ``marker``: seconds since now, or None after the timeout."""
    started = time.monotonic()
    while True:
        body = client.get(url, name=name).text
        if marker in body:
            return time.monotonic() - started
        if time.monotonic() - started > TIMEOUT:
            return None
        time.sleep(POLL)


def reference_word() -> str:
    """A word no text in the corpus holds (letters only, so every tokenizer keeps it whole)."""
    return "ref" + "".join(secrets.choice("bcdfghjkmnpqrstvwxz") for _ in range(10))


class CapabilityEditor(HttpUser):
    """A startup member who rewrites a capability; an officer watches it reach a challenge's ranking."""

    fixed_count = 1
    wait_time = constant_pacing(float(os.environ.get("EDIT_CAPABILITY_EVERY", "5")))

    def on_start(self) -> None:
        self.editor = session(self, edit_host(self.host or ""))
        self.observer = session(self, check_host(self.host or ""))
        sign_in(self.editor, CAPABILITY_EDITOR)
        sign_in(self.observer, CAPABILITY_OBSERVER)
        profile = self.editor.get("/startups/mine", name="startups: profile (own)").text
        self.capability = CAPABILITY_EDIT.findall(profile)[0]
        self.startup = STARTUP_OF_PROFILE.findall(profile)[0]
        self.targets = [cid for cid, status in department_challenges(self.observer).items() if status == "open"]
        self.turn = 0
        if not self.targets:
            raise RuntimeError(f"{CAPABILITY_OBSERVER}'s department has no open challenge")

    def _target(self) -> str | None:
        """The next open challenge whose recommended startups do not list the editor's startup yet."""
        for _ in range(len(self.targets)):
            cid = self.targets[self.turn % len(self.targets)]
            self.turn += 1
            page = self.observer.get(f"/challenges/{cid}/recommended", name="recommendations: for challenge (before edit)")
            if f'href="/startups/{self.startup}"' not in page.text:
                return cid
        return None

    @task
    def edit_capability(self) -> None:
        cid = self._target()
        if cid is None:
            return
        challenge = read_form(self.observer.get(f"/challenges/{cid}/edit", name="form: edit challenge").text,
                              f"/challenges/{cid}/edit")
        url = f"/capabilities/{self.capability}/edit"
        form = read_form(self.editor.get(url, name="form: edit capability").text, url)
        if challenge is None or form is None:
            raise RuntimeError("the capability or challenge form was not found")
        word = reference_word()
        text = f"{challenge.first('problem_statement')} {challenge.first('title')}. Reference {word}."
        form.set("description", text[:10_000])
        form.choose("domains", challenge.values.get("domains", []))
        form.set("technologies", challenge.first("tags"))
        if not submit(self.editor, url, form, "post: edit capability"):
            return
        started = time.time()
        after = wait_until_visible(self.observer, f"/challenges/{cid}/recommended", f'href="/startups/{self.startup}"',
                                   "recommendations: for challenge (after edit)")
        record(self.environment, "capability", started, after, challenge=cid, capability=self.capability,
               edited_on=self.editor.base_url, checked_on=self.observer.base_url)


class ChallengeEditor(HttpUser):
    """An officer who edits an open challenge or opens a draft; a startup watches its recommendations."""

    fixed_count = 1
    wait_time = constant_pacing(float(os.environ.get("EDIT_CHALLENGE_EVERY", "30")))

    def on_start(self) -> None:
        self.editor = session(self, edit_host(self.host or ""))
        sign_in(self.editor, CHALLENGE_EDITOR)
        self.observers: dict[str, tuple[HttpSession, Form]] = {}
        self.turn = 0

    def _observer(self, email: str) -> tuple[HttpSession, Form]:
        """The observing member's browser, signed in on first use, and its capability's form."""
        if email not in self.observers:
            observer = session(self, check_host(self.host or ""))
            sign_in(observer, email)
            profile = observer.get("/startups/mine", name="startups: profile (own)").text
            cap = CAPABILITY_EDIT.findall(profile)[0]
            form = read_form(observer.get(f"/capabilities/{cap}/edit", name="form: edit capability").text,
                             f"/capabilities/{cap}/edit")
            if form is None:
                raise RuntimeError(f"{email}: no capability form")
            self.observers[email] = (observer, form)
        return self.observers[email]

    @task
    def edit_or_open(self) -> None:
        observer, capability = self._observer(CHALLENGE_OBSERVERS[self.turn % len(CHALLENGE_OBSERVERS)])
        opening = self.turn % 2 == 1
        self.turn += 1
        mine = department_challenges(self.editor)
        listed = observer.get("/recommendations", name="recommendations: for startup (before edit)").text
        wanted = "draft" if opening and "draft" in mine.values() else "open"
        candidates = [cid for cid, status in mine.items()
                      if status == wanted and f'href="/challenges/{cid}"' not in listed]
        if not candidates:
            return
        cid = candidates[self.turn % len(candidates)]
        url = f"/challenges/{cid}/edit"
        form = read_form(self.editor.get(url, name="form: edit challenge").text, url)
        if form is None:
            raise RuntimeError("the challenge form was not found")
        word = reference_word()
        form.set("problem_statement", f"{capability.first('description')} Reference {word}."[:10_000])
        form.choose("domains", capability.values.get("domains", []))
        form.set("tags", capability.first("technologies"))
        kind = "challenge opened" if wanted == "draft" else "challenge"
        if not submit(self.editor, url, form, f"post: {'open' if wanted == 'draft' else 'edit'} challenge",
                      action="open" if wanted == "draft" else "save"):
            return
        started = time.time()
        after = wait_until_visible(observer, "/recommendations", f'href="/challenges/{cid}"',
                                   "recommendations: for startup (after edit)")
        record(self.environment, kind, started, after, challenge=cid,
               edited_on=self.editor.base_url, checked_on=observer.base_url)
