"""Access-control matrix: every route of ``app.url_map`` x every method x every principal.

Each cell is one request from a fresh client signed in as the principal, with the URL's
parameters filled from the fixture world. The expectation table below has one row per
endpoint and method; a route without a row fails the test, so a new route cannot be
forgotten. POSTs carry empty form data; a refused request (sign-in redirect, 403, 404)
must leave every table exactly as it was, and no cell may answer 5xx.

Tokens, one per principal in the order of ``PRINCIPALS``
(anon, officer, officer_other, member, member_other, coordinator, admin):

    ok   allowed: GET answers 2xx/3xx (not to the sign-in page); POST is not refused
         (2xx, 3xx, 400 or 409: the empty form may be invalid, but access passed)
    L    302 to the sign-in page
    403  refused, the object is known to exist
    404  refused, existence itself is private (drafts, other parties' trials)
    401  the API without a token (under /api/v1 each principal but anon sends its own
         write-scope token and no cookie: the API reads no session)

Run with ``ACCESS_MATRIX_DISCOVER=1 ... -s`` to print what each cell answers today.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.routing import Rule

from portal.services import health

from .world import (
    PRINCIPALS,
    World,
    bearer_for,
    build_world,
    db_state,
    empty_tables,
    record_figure,
    sign_in_as,
)

ALL = "ok ok ok ok ok ok ok"
SIGNED_IN = "L ok ok ok ok ok ok"
STAFF = "L 403 403 403 403 ok ok"
ADMIN = "L 403 403 403 403 403 ok"
STARTUP = "L 403 403 ok ok 403 403"
OFFICER = "L ok ok 403 403 403 403"
#: Pages of the startup's own profile (startups are named in public, e.g. on the showcase).
OWN_STARTUP = "L 403 403 ok 403 403 403"
#: The startup's own capability or proposal: a rival may not know it exists (404, as if missing).
OWN_STARTUP_PRIVATE = "L 403 403 ok 404 403 403"
#: Pages of the trial: its department, its startup and the lab.
TRIAL = "L ok 404 ok 404 ok ok"
#: API operations on the token's own startup.
API_STARTUP = "401 403 403 ok ok 403 403"
#: API operations on one capability of the token's startup (the world's is the member's).
API_OWN_CAPABILITY = "401 403 403 ok 404 403 403"

#: endpoint -> method -> row, or -> method -> {variant: row} for routes with a challenge_id.
EXPECT: dict[str, dict[str, Any]] = {
    "static": {"GET": ALL},
    "main.index": {"GET": ALL},
    "main.healthz": {"GET": ALL},
    # operations: probes for everyone; /metrics by address (the test client is 127.0.0.1)
    "main.readyz": {"GET": ALL},
    "main.prometheus_metrics": {"GET": ALL},
    "main.set_language": {"POST": ALL},
    # --- accounts
    "auth.login": {"GET": ALL, "POST": ALL},
    "auth.logout": {"POST": ALL},
    "auth.register": {"GET": ALL, "POST": ALL},
    "auth.registered": {"GET": ALL},
    "auth.account": {"GET": SIGNED_IN, "POST": SIGNED_IN},
    # two-step verification: one's own; the step itself answers a redirect once passed
    "auth.two_step": {"GET": SIGNED_IN, "POST": SIGNED_IN},
    "auth.two_step_setup": {"GET": SIGNED_IN, "POST": SIGNED_IN},
    "auth.recovery_codes": {"POST": SIGNED_IN},
    "auth.two_step_off": {"POST": SIGNED_IN},
    # an invitation's link is its own credential; signed-in people are asked to sign out first
    "auth.accept_invitation": {"GET": ALL, "POST": ALL},
    "auth.end_other_sessions": {"POST": SIGNED_IN},
    "auth.change_name": {"POST": SIGNED_IN},
    "auth.cancel_email_change": {"POST": SIGNED_IN},
    "auth.forgot_password": {"GET": ALL, "POST": ALL},
    # Emailed links: the world's token was never issued, so the link is not valid for anyone.
    "auth.reset_password": {"GET": "404 404 404 404 404 404 404", "POST": "404 404 404 404 404 404 404"},
    "auth.verify_email": {"GET": "404 404 404 404 404 404 404", "POST": "404 404 404 404 404 404 404"},
    "auth.resend_verification": {"POST": SIGNED_IN},
    "auth.export_data": {"GET": SIGNED_IN},
    "auth.still_here": {"GET": ALL},  # 204 to anyone; it only restarts a live session's idle clock
    "auth.close_account": {"GET": SIGNED_IN, "POST": SIGNED_IN},
    "main.privacy": {"GET": ALL},
    # --- challenges: drafts exist only for their department and the lab
    "challenges.index": {"GET": ALL},
    "challenges.mine": {"GET": OFFICER},
    "challenges.our_trials": {"GET": OFFICER},
    "challenges.create": {"GET": OFFICER, "POST": OFFICER},
    "challenges.detail": {"GET": {"draft": "404 ok 404 404 404 ok ok", "open": ALL}},
    "challenges.edit": {
        "GET": {"draft": "L ok 404 403 403 403 403", "open": "L ok 403 403 403 403 403"},
        "POST": {"draft": "L ok 404 403 403 403 403", "open": "L ok 403 403 403 403 403"},
    },
    "challenges.open": {"POST": {"draft": "L ok 404 403 403 403 403", "open": "L ok 403 403 403 403 403"}},
    "challenges.close": {"POST": {"draft": "L ok 404 403 403 403 403", "open": "L ok 403 403 403 403 403"}},
    # The proposals a challenge received: its department's officers and the lab read them;
    # only the officers ask the lab to shortlist one.
    "challenges.proposals_received": {"GET": {"draft": "L ok 404 404 404 ok ok", "open": "L ok 403 403 403 ok ok"}},
    "challenges.compare_proposals": {"GET": {"draft": "L ok 404 404 404 ok ok", "open": "L ok 403 403 403 ok ok"}},
    "challenges.request_shortlist": {
        "POST": {"draft": "L 404 404 403 403 403 403", "open": "L ok 403 403 403 403 403"},
    },
    # Panel scoring: the officers set a draft's criteria; the lab and the department's officers
    # score proposals and read the panel table (a startup never sees the scores).
    "panel.criteria": {
        "GET": {"draft": "L ok 404 403 403 403 403", "open": "L ok 403 403 403 403 403"},
        "POST": {"draft": "L ok 404 403 403 403 403", "open": "L ok 403 403 403 403 403"},
    },
    "panel.table": {"GET": {"draft": "L ok 404 404 404 ok ok", "open": "L ok 403 403 403 ok ok"}},
    "panel.score": {"GET": "L ok 404 403 404 ok ok", "POST": "L ok 404 403 404 ok ok"},
    "panel.declare_conflict": {"POST": "L ok 404 403 404 ok ok"},
    # Questions: startups ask on an open challenge; its department and the lab read them (with who
    # asked); only its officers answer and publish; the lab hides. The world's question is the open one's.
    "challenges.ask_question": {"POST": {"draft": "L 403 403 404 404 403 403", "open": STARTUP}},
    "challenges.questions_received": {"GET": {"draft": "L ok 404 404 404 ok ok", "open": "L ok 403 403 403 ok ok"}},
    "challenges.answer_question": {
        "POST": {"draft": "L 404 404 403 403 403 403", "open": "L ok 403 403 403 403 403"},
    },
    "challenges.publish_answer": {
        "POST": {"draft": "L 404 404 403 403 403 403", "open": "L ok 403 403 403 403 403"},
    },
    "challenges.hide_question": {
        "POST": {"draft": "L 403 403 403 403 404 404", "open": "L 403 403 403 403 ok ok"},
    },
    "matches.for_challenge": {
        "GET": {"draft": "L ok 404 403 403 ok ok", "open": "L ok 403 403 403 ok ok"},
    },
    "startups.propose": {
        "GET": {"draft": "L 403 403 404 404 403 403", "open": STARTUP},
        "POST": {"draft": "L 403 403 404 404 403 403", "open": STARTUP},
    },
    # --- startups
    # Competing startups may not read each other's (possibly unreleased) capabilities.
    "startups.profile": {"GET": "L ok ok ok 403 ok ok"},
    "startups.mine": {"GET": STARTUP},
    "startups.team": {"GET": STARTUP, "POST": STARTUP},
    "startups.edit": {"GET": OWN_STARTUP, "POST": OWN_STARTUP},
    "startups.new_capability": {"GET": STARTUP, "POST": STARTUP},
    "startups.edit_capability": {"GET": OWN_STARTUP_PRIVATE, "POST": OWN_STARTUP_PRIVATE},
    "startups.delete_capability": {"GET": OWN_STARTUP_PRIVATE, "POST": OWN_STARTUP_PRIVATE},
    "startups.my_proposals": {"GET": STARTUP},
    "startups.withdraw_proposal": {"GET": OWN_STARTUP_PRIVATE, "POST": OWN_STARTUP_PRIVATE},
    "startups.edit_proposal": {"GET": OWN_STARTUP_PRIVATE, "POST": OWN_STARTUP_PRIVATE},
    "startups.my_trials": {"GET": STARTUP},
    "startups.index": {"GET": STAFF},
    "startups.verify": {"POST": STAFF},
    "startups.unverify": {"POST": STAFF},
    # --- recommendations
    "matches.for_startup": {"GET": STARTUP},
    "matches.dismiss": {"POST": "L ok ok ok ok ok ok"},
    # --- trials and the lab
    "trials.detail": {"GET": TRIAL},
    "trials.move": {"POST": TRIAL},
    "coordinator.queue": {"GET": STAFF},
    "coordinator.shortlist": {"POST": STAFF},
    "admin.users": {"GET": ADMIN},
    "admin.new_user": {"GET": ADMIN, "POST": ADMIN},
    "admin.invite": {"GET": ADMIN, "POST": ADMIN},
    "admin.revoke_invitation": {"POST": ADMIN},
    "admin.mails": {"GET": ADMIN},
    "admin.retry_mail": {"POST": ADMIN},
    "admin.user": {"GET": ADMIN, "POST": ADMIN},
    "admin.deactivate": {"POST": ADMIN},
    "admin.reactivate": {"POST": ADMIN},
    "admin.reset_two_step": {"POST": ADMIN},
    # --- notifications: a user's own notifications only; following needs sight of the challenge
    "notifications.index": {"GET": SIGNED_IN},
    "notifications.preferences": {"GET": SIGNED_IN, "POST": SIGNED_IN},
    "notifications.read": {"POST": "L 404 404 ok 404 404 404"},
    "notifications.read_all": {"POST": SIGNED_IN},
    "notifications.follow": {"POST": {"draft": "L ok 404 404 404 ok ok", "open": SIGNED_IN}},
    "notifications.unfollow": {"POST": {"draft": "L ok 404 404 404 ok ok", "open": SIGNED_IN}},
    # --- trial tracking: the parties and the lab; results and KPIs are not the startup's to write
    "trials.add_milestone": {"POST": TRIAL},
    "trials.complete_milestone": {"POST": TRIAL},
    "trials.add_note": {"POST": TRIAL},
    "trials.edit_milestone": {"POST": TRIAL},
    "trials.remove_milestone": {"POST": TRIAL},
    "trials.add_kpi": {"POST": "L ok 404 403 404 ok ok"},
    "trials.edit_kpi": {"POST": "L ok 404 403 404 ok ok"},
    "trials.remove_kpi": {"POST": "L ok 404 403 404 ok ok"},
    "trials.record_result": {"POST": "L 403 404 403 404 ok ok"},
    # waiving a milestone: the lab and the department; the outcome: the department signs off, the lab unpublishes
    "trials.waive_milestone": {"POST": "L ok 404 403 404 ok ok"},
    "trials.sign_off_outcome": {"POST": "L ok 404 403 404 403 403"},
    # ... and the startup agrees to its publication
    "trials.agree_outcome": {"POST": "L 403 404 ok 404 403 403"},
    "trials.unpublish_outcome": {"POST": "L 403 404 403 404 ok ok"},
    "trials.record_outcome_agreement": {"POST": "L 403 404 403 404 ok ok"},
    # ... and puts the report's text right while no sign-off stands
    "trials.correct_outcome_report": {"POST": "L 403 404 403 404 ok ok"},
    # --- documents: seen by whoever sees the parent; added by its owners (both sides of a trial,
    # and the lab there); removed by the uploader, the parent's owners and the lab
    "documents.challenge_upload": {
        "GET": {"draft": "L ok 404 404 404 ok ok", "open": SIGNED_IN},
        "POST": {"draft": "L ok 404 404 404 403 403", "open": "L ok 403 403 403 403 403"},
    },
    "documents.challenge_download": {"GET": {"draft": "404 ok 404 404 404 ok ok", "open": ALL}},
    "documents.challenge_delete": {"POST": {"draft": "L ok 404 404 404 ok ok", "open": "L ok 403 403 403 ok ok"}},
    "documents.proposal_upload": {"GET": "L ok 404 ok 404 ok ok", "POST": "L 403 404 ok 404 403 403"},
    "documents.proposal_download": {"GET": "L ok 404 ok 404 ok ok"},
    "documents.proposal_delete": {"POST": "L 403 404 ok 404 ok ok"},
    "documents.trial_upload": {"GET": TRIAL, "POST": TRIAL},
    "documents.trial_download": {"GET": TRIAL},
    "documents.trial_delete": {"POST": "L 403 404 ok 404 ok ok"},
    # --- the lab's tools
    "audit_log.index": {"GET": STAFF},
    "audit_log.export": {"GET": STAFF},
    "coordinator.conflicts_list": {"GET": STAFF},
    "coordinator.declare": {"POST": STAFF},
    "coordinator.detect": {"POST": STAFF},
    "stats.dashboard": {"GET": STAFF},
    # --- public figures and the showcase; interest in a showcased trial is an officer's
    "stats.public": {"GET": ALL},
    "stats.download": {"GET": ALL},
    "stats.showcase": {"GET": ALL},
    "stats.interest": {"POST": "L 404 404 403 403 403 403"},  # the world's trial is not showcased
    # --- open data: public files, generated from published records only
    "open_data.index": {"GET": ALL},
    "open_data.download": {"GET": ALL},
    # --- workshops: public programme, lab-managed, any signed-in user registers
    "workshops.index": {"GET": ALL},
    "workshops.calendar": {"GET": ALL},
    "workshops.detail": {"GET": ALL},
    "workshops.event": {"GET": ALL},
    "workshops.create": {"GET": STAFF, "POST": STAFF},
    "workshops.edit": {"GET": STAFF, "POST": STAFF},
    "workshops.register": {"POST": SIGNED_IN},
    "workshops.unregister": {"POST": SIGNED_IN},
    # --- personal access tokens: a user's own only
    "tokens.index": {"GET": SIGNED_IN, "POST": SIGNED_IN},
    "tokens.revoke": {"POST": "L 404 404 ok 404 404 404"},
    # --- the public API: published data for anyone; a token's own data with the same rules as the pages
    "api-docs.openapi_json": {"GET": ALL},
    "api_docs.docs": {"GET": ALL},
    "api.challenges": {"GET": ALL},
    "api.challenge": {"GET": {"draft": "404 ok 404 404 404 ok ok", "open": ALL}},
    "api.trials": {"GET": ALL},
    "api.workshops": {"GET": ALL},
    "api.statistics": {"GET": ALL},
    "api.me": {"GET": "401 ok ok ok ok ok ok"},
    "api.recommendations": {"GET": API_STARTUP},
    "api.my_startup": {"GET": API_STARTUP},
    "api.update_my_startup": {"PATCH": API_STARTUP},
    "api.create_capability": {"POST": API_STARTUP},
    "api.update_capability": {"PUT": API_OWN_CAPABILITY},
    "api.delete_capability": {"DELETE": API_OWN_CAPABILITY},
    "api.proposals": {"GET": {"draft": "401 ok 404 404 404 ok ok", "open": "401 ok 403 403 403 ok ok"}},
}

#: POSTs sent a second time with minimal valid data, so the object- and action-level checks
#: behind form validation run too: endpoint -> [(label, data from the world, row)].
WITH_DATA: dict[str, list[tuple[str, Callable[[World], dict[str, Any]], str]]] = {
    "matches.dismiss": [
        ("own", lambda w: {"challenge_id": w.challenge_open, "startup_id": w.startup, "reason": "not_relevant"},
         "L ok 403 ok 403 ok ok"),
        # A draft is answered as a missing challenge to whoever may not see it, and nothing is written.
        ("draft", lambda w: {"challenge_id": w.challenge_draft, "startup_id": w.startup, "reason": "not_relevant"},
         "L ok 404 404 404 ok ok"),
    ],
    "challenges.ask_question": [
        ("question", lambda w: {"question": "Does the pilot need to run on site?"}, "L 403 403 ok ok 403 403"),
    ],
    "challenges.answer_question": [
        ("answer", lambda w: {"answer": "Yes, on site.", "publish": "y"}, "L ok 403 403 403 403 403"),
    ],
    "challenges.hide_question": [
        ("reason", lambda w: {"reason": "Off topic."}, "L 403 403 403 403 ok ok"),
    ],
    "challenges.request_shortlist": [
        ("note", lambda w: {"note": "Their pilot fits our clinics."}, "L ok 403 403 403 403 403"),
    ],
    "coordinator.shortlist": [
        ("match", lambda w: {"challenge_id": w.challenge_other, "capability_id": w.capability}, STAFF),
    ],
    "trials.move": [
        ("shortlist", lambda w: {"action": "shortlist", "version": 1}, "L 403 404 403 404 ok ok"),
        ("withdraw", lambda w: {"action": "withdraw", "version": 1, "reason": "Changed plans."},
         "L 403 404 ok 404 403 403"),
    ],
}

#: URL parameter -> the world's object that fills it (challenge_id has variants instead).
PARAMS = {
    "startup_id": "startup",
    "capability_id": "capability",
    "proposal_id": "proposal",
    "trial_id": "trial",
    "workshop_id": "workshop",
    "notification_id": "notification",
    "department_id": "department",
    "user_id": ("users", "member"),
    "milestone_id": "milestone",
    "kpi_id": "kpi",
    "invitation_id": "invitation",
    "mail_id": "mail",
    "token": "invitation_token",
    "token_id": "token",
    "question_id": "question",
}
CHALLENGE_VARIANTS = {"draft": "challenge_draft", "open": "challenge_open"}
REFUSED = ("L", "401", "403", "404")
#: Where requests carry a bearer token instead of a session (not the docs page nor the document).
API_PREFIX = "/api/v1/"
API_PUBLIC_DOCS = ("api-docs.openapi_json", "api_docs.docs")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def is_api(rule: Rule) -> bool:
    """Whether ``rule`` is an API operation, which authenticates with a bearer token."""
    return rule.rule.startswith(API_PREFIX) and rule.endpoint not in API_PUBLIC_DOCS


def _methods(rule: Rule) -> list[str]:
    return [m for m in METHODS if m in (rule.methods or ())]


def _rules(app: Flask) -> list[Rule]:
    return sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint, r.rule))


def missing_expectations(app: Flask) -> list[str]:
    """``endpoint METHOD rule`` for every route without a row in EXPECT."""
    missing = []
    for rule in _rules(app):
        for method in _methods(rule):
            entry = EXPECT.get(rule.endpoint, {}).get(method)
            if entry is None:
                missing.append(f"{rule.endpoint} {method} {rule.rule}")
            elif isinstance(entry, dict) and "challenge_id" in rule.arguments:
                missing += [f"{rule.endpoint} {method} {rule.rule} [{v}]" for v in CHALLENGE_VARIANTS if v not in entry]
    return missing


def _value(world: World, name: str, variant: str) -> Any:
    if name == "challenge_id":
        return getattr(world, {**CHALLENGE_VARIANTS, "other": "challenge_other"}.get(variant, "challenge_open"))
    if variant == "running" and name in ("trial_id", "milestone_id", "kpi_id"):
        return getattr(world, name.removesuffix("_id") + "_running")
    if name == "filename":
        return "img/favicon.svg"
    if name == "data_file":
        return "challenges.csv"
    source = PARAMS.get(name)
    if source is None:
        raise AssertionError(
            f"tests/security/test_access_matrix.py cannot fill the URL parameter {name!r}: "
            f"add it to PARAMS (and the object to tests/security/world.py)"
        )
    if isinstance(source, tuple):
        return getattr(world, source[0])[source[1]]
    return getattr(world, source)


def _url(rule: Rule, world: World, variant: str) -> str:
    values = {name: _value(world, name, variant) for name in rule.arguments if name != "document_id"}
    if "document_id" in rule.arguments:  # the world's document on the parent the URL names
        parent = next(name for name in ("challenge_id", "proposal_id", "trial_id") if name in values)
        values["document_id"] = world.documents[f"{parent.removesuffix('_id')}:{values[parent]}"]
    path = rule.rule
    for name, value in values.items():
        for converter in ("int", "string", "path", "any", "uuid", "float", ""):
            token = f"<{converter}:{name}>" if converter else f"<{name}>"
            path = path.replace(token, str(value))
    assert "<" not in path, f"{rule.rule}: unknown converter in {path}"
    return path


def _token(response: Any) -> str:
    if response.status_code in (301, 302, 303, 307, 308):
        location = urlsplit(response.headers.get("Location", ""))
        return "L" if location.path == "/login" else "302"
    return str(response.status_code)


def _matches(expected: str, actual: str, method: str) -> bool:
    if expected == "ok":
        if method == "GET":
            return actual == "302" or actual.startswith("2")
        return actual == "302" or actual in ("400", "409", "422") or actual.startswith("2")
    return expected == actual


Cell = tuple[Rule, str, str, str, Callable[[World], dict[str, Any]] | None]


def _cells(app: Flask) -> list[Cell]:
    """(rule, method, variant, row, data) for every tested route."""
    cells: list[Cell] = []
    for rule in _rules(app):
        for method in _methods(rule):
            entry = EXPECT[rule.endpoint][method]
            if isinstance(entry, dict):
                cells += [(rule, method, variant, row, None) for variant, row in entry.items()]
            else:
                cells.append((rule, method, "open", entry, None))
            if method == "POST":
                cells += [(rule, method, f"open+{label}", row, data)
                          for label, data, row in WITH_DATA.get(rule.endpoint, [])]
    return cells


def test_every_route_has_an_expectation(app):
    missing = missing_expectations(app)
    assert not missing, (
        "These routes have no row in the access matrix (tests/security/test_access_matrix.py EXPECT); "
        "add who may reach them:\n  " + "\n  ".join(missing)
    )


def test_expectation_rows_are_well_formed():
    tokens = {"ok", "L", "401", "403", "404"}
    extra = {(e, "POST"): [row for _l, _d, row in cells] for e, cells in WITH_DATA.items()}
    for endpoint, methods in EXPECT.items():
        for method, entry in methods.items():
            rows = [*(entry.values() if isinstance(entry, dict) else [entry]), *extra.get((endpoint, method), [])]
            for row in rows:
                cells = row.split()
                assert len(cells) == len(PRINCIPALS) and set(cells) <= tokens, (endpoint, method, row)


def test_access_matrix(app, monkeypatch):
    # The world's rows are written without the indexer, so /readyz would answer 503 (no
    # vectors): access is what is tested here; readiness is in tests/web/test_operations.py.
    monkeypatch.setattr(health, "check_vectors", lambda: health.Check(True, "not checked here"))
    missing = missing_expectations(app)
    assert not missing, "routes without an expectation:\n  " + "\n  ".join(missing)
    discover = bool(os.environ.get("ACCESS_MATRIX_DISCOVER"))
    world = build_world(app)
    state = db_state(app)
    failures: list[str] = []
    found: dict[tuple[str, str, str], list[str]] = {}
    checked = 0
    for rule, method, variant, row, data in _cells(app):
        expected_row = row.split()
        for principal, expected in zip(PRINCIPALS, expected_row):
            url = _url(rule, world, variant.split("+")[0])
            form = (data(world) if data else {}) if method != "GET" else None
            if is_api(rule):
                client, headers = app.test_client(), bearer_for(principal, world)
            else:
                client, headers = sign_in_as(app.test_client(), principal, world), {}
            response = client.open(url, method=method, data=form, headers=headers)
            actual = _token(response)
            response.close()
            found.setdefault((rule.endpoint, method, variant), []).append(actual)
            checked += 1
            where = f"{principal:<13} {method:<4} {url} ({rule.endpoint}, {variant})"
            if response.status_code >= 500:
                failures.append(f"{where}: {response.status_code} server error")
            elif not _matches(expected, actual, method):
                failures.append(f"{where}: expected {expected}, got {actual}")
            after = db_state(app)
            if after != state:
                if expected in REFUSED or actual in REFUSED:
                    changed = sorted(k for k in after[0] if after[0][k] != state[0][k]) or ["row contents"]
                    failures.append(f"{where}: refused but the database changed: {', '.join(changed)}")
                # An allowed request may change the world: rebuild it for the next cell.
                empty_tables(app)
                world = build_world(app)
                state = db_state(app)
    if discover:
        for (endpoint, method, variant), tokens in sorted(found.items()):
            print(f'{endpoint:<30} {method:<5} {variant:<6} "{" ".join(tokens)}"')
    print(f"access matrix: {checked} cells checked")
    record_figure("access_matrix_cells", checked)
    assert not failures, f"{len(failures)} of {checked} cells wrong:\n  " + "\n  ".join(failures)
