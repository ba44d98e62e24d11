"""Property-based fuzzing of every form-handling POST route (Hypothesis).

Routes come from ``app.url_map`` (every rule with POST); the principal for each is the first
one the access matrix allows (member, officer, coordinator, admin, anonymous); the field
names and choice values come from the forms found by GETting the principal's pages and
parsing them with ``html.parser``, so a new form is fuzzed without touching this file.

Generated values: overlong text, Chinese and emoji, control characters and NUL bytes,
HTML and script, huge, negative and non-numeric ids, impossible dates, repeated fields,
missing fields and the world's real ids and choices (so some submissions are valid).

Properties, for every submission:
- no response is 5xx;
- no page returned, nor the page a success redirects to, contains the raw markup sent;
- a 4xx leaves every table's row count unchanged (nothing half-written).
After all routes, every GET page is fetched as every principal: none contains raw markup.
"""

from __future__ import annotations

import io
import re
import time
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from .. import samples
from .test_access_matrix import EXPECT, PRINCIPALS, _matches, _methods, _rules, _token, _url, is_api
from .world import World, build_world, record_figure, row_counts, sign_in_as

#: Examples per POST route; the whole file stays within about a minute on two cores.
EXAMPLES_PER_ROUTE = 12
PREFERRED = ("anon", "member", "officer", "coordinator", "admin")
#: Routes fuzzed on another object than the default (the member's startup already proposed for "open").
FUZZ_VARIANT = {"startups.propose": "other", "trials.add_kpi": "running", "trials.add_milestone": "running",
                "trials.complete_milestone": "running", "trials.record_result": "running",
                "trials.add_note": "running", "trials.edit_milestone": "running", "trials.edit_kpi": "running",
                "trials.waive_milestone": "running"}
#: Tables a refused (4xx) submission writes on purpose: failed sign-ins, and failed re-checks of
#: the password before a sensitive change, count towards the throttle.
WRITES_ON_REFUSAL = {"auth.login": {"login_attempts", "login_throttles", "login_alerts"}} | {
    endpoint: {"login_throttles"}
    for endpoint in ("auth.account", "auth.two_step_off", "auth.close_account")
}
SCRIPT = "<script>alert('fz')</script>"
RAW_MARKUP = re.compile(
    r"<script>alert\(|<img src=x onerror=|<svg/onload=|(?:href|src|action)\s*=\s*[\"']?\s*javascript:",
    re.IGNORECASE,
)
NASTY = [
    SCRIPT,
    '"><img src=x onerror=alert(1)>',
    "<svg/onload=alert(1)>",
    "javascript:alert(1)",
    "' OR 1=1 --",
    "'; DROP TABLE users; --",
    "{{ 7*7 }}{% raw %}",
    "%s%s%s%n",
    "../../../../etc/passwd",
    "\x00",
    "a\x00b",
    "\u202etxt.exe",
    "𝕴𝖓𝖓𝖔 🚀🩺 醫療挑戰 測試",
    "衛生署智慧診所" * 300,
    "\r\n\r\nSet-Cookie: x=y",
    " ",
    "",
]
NUMBERS = ["0", "-1", "1", "2147483648", "9" * 30, "-9" * 20, "1e309", "NaN", "0x10", "1.5", "٣", "１２"]
DATES = ["2031-02-30", "0000-00-00", "9999-12-31", "1900-01-01", "2031-13-01", "tomorrow", "2031-03-28"]


class FormParser(HTMLParser):
    """Collect every POST form: action -> {field name: candidate values}."""

    def __init__(self, page_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: dict[str, dict[str, set[str]]] = {}
        self._current: dict[str, set[str]] | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            if a.get("method", "get").lower() == "post":
                action = urlsplit(a.get("action") or self.page_url).path or urlsplit(self.page_url).path
                self._current = self.forms.setdefault(action, {})
            else:
                self._current = None
        elif self._current is not None and tag in ("input", "textarea", "select", "button") and a.get("name"):
            values = self._current.setdefault(a["name"], set())
            if a.get("value"):
                values.add(a["value"])
            if tag == "select":
                self._select = a["name"]
        elif self._current is not None and tag == "option" and self._select and a.get("value") is not None:
            self._current[self._select].add(a["value"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None
        elif tag == "select":
            self._select = None


def _principal(endpoint: str) -> str | None:
    entry = EXPECT[endpoint]["POST"]
    row = (entry.get("open") or next(iter(entry.values()))) if isinstance(entry, dict) else entry
    allowed = {p for p, token in zip(PRINCIPALS, row.split()) if token == "ok"}
    return next((p for p in PREFERRED if p in allowed), None)


def _get_pages(app: Flask, world: World) -> list[tuple[str, str]]:
    """(endpoint, url) of every GET route, filled from ``world``."""
    pages = []
    for rule in _rules(app):
        if "GET" in _methods(rule) and rule.endpoint != "static":
            entry = EXPECT.get(rule.endpoint, {}).get("GET")
            variants = [*entry, "other"] if isinstance(entry, dict) else ["open"]
            if "trial_id" in rule.arguments:
                variants.append("running")
            pages += [(rule.endpoint, _url(rule, world, v)) for v in variants]
    return pages


def _discover_forms(app: Flask, client: FlaskClient, world: World) -> dict[str, dict[str, set[str]]]:
    """POST endpoint -> {field: candidate values}, from every form on every page the client can see."""
    adapter = app.url_map.bind("localhost")
    forms: dict[str, dict[str, set[str]]] = {}
    for _endpoint, url in _get_pages(app, world):
        response = client.get(url)
        if response.status_code == 200 and "text/html" in response.content_type:
            parser = FormParser(url)
            parser.feed(response.get_data(as_text=True))
            for action, fields in parser.forms.items():
                try:
                    endpoint, _args = adapter.match(action, method="POST")
                except (NotFound, MethodNotAllowed, RequestRedirect):
                    continue  # a form posting elsewhere (or nowhere) is not ours to fuzz
                merged = forms.setdefault(str(endpoint), {})
                for name, values in fields.items():
                    merged.setdefault(name, set()).update(values)
        response.close()
    return forms


def _value_strategy(candidates: set[str], world_ids: list[str]) -> st.SearchStrategy[Any]:
    text = st.text(max_size=60)  # every code point: Chinese, emoji, controls, NUL, combining marks
    single = st.one_of(
        st.sampled_from(sorted(candidates)) if candidates else st.nothing(),
        st.sampled_from(NASTY),
        st.sampled_from(NUMBERS + world_ids),
        st.sampled_from(DATES),
        text,
        st.builds(lambda t: SCRIPT + t, text),
        st.builds(lambda n, c: c * n, st.integers(1000, 12000), st.sampled_from(["A", "測", "🩺", "<"])),
    )
    return st.one_of(single, st.lists(single, min_size=2, max_size=3))


def _payload_strategy(fields: dict[str, set[str]], world_ids: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    parts = {
        name: st.one_of(st.none(), _value_strategy(values, world_ids))
        for name, values in sorted(fields.items())
        if name != "csrf_token" and not name.endswith("-csrf_token")
    }
    extra = st.dictionaries(st.sampled_from(["id", "user_id", "role", "department_id", "startup_id", "status"]),
                            st.sampled_from(NUMBERS + NASTY[:3] + ["admin", "open"]), max_size=2)
    return st.builds(
        lambda chosen, more: {**more, **{k: v for k, v in chosen.items() if v is not None}},
        st.fixed_dictionaries(parts), extra,
    )


def _no_raw_markup(body: str, where: str) -> None:
    match = RAW_MARKUP.search(body)
    assert match is None, f"{where}: unescaped markup in the page: ...{body[max(0, match.start() - 80):match.end() + 40]!r}"


def _post_routes(app: Flask) -> list[Any]:
    # The API takes JSON with a bearer token, not forms: tests/api fuzzes it from its OpenAPI document.
    return [rule for rule in _rules(app) if "POST" in _methods(rule) and rule.endpoint in EXPECT
            and not is_api(rule)]


def _check_submission(app: Flask, endpoint: str, principal: str, world: World, url: str,
                      payload: dict[str, Any]) -> None:
    """One generated submission: no 5xx, no raw markup back, nothing half-written on a 4xx."""
    client = sign_in_as(app.test_client(), principal, world)
    before = row_counts(app)
    response = client.post(url, data=payload)
    where = f"{principal} POST {url} ({endpoint}) with {payload!r:.300}"
    assert response.status_code < 500, f"{where}: {response.status_code}"
    _no_raw_markup(response.get_data(as_text=True), where)
    if 400 <= response.status_code < 500:
        after = row_counts(app)
        changed = {t for t in after if after[t] != before[t]} - WRITES_ON_REFUSAL.get(endpoint, set())
        assert not changed, f"{where}: {response.status_code} but rows changed in {sorted(changed)}"
    if response.status_code in (301, 302, 303) and _token(response) != "L":
        target = urlsplit(response.headers["Location"])
        if target.netloc in ("", "localhost"):
            follow = client.get(target.path + (f"?{target.query}" if target.query else ""))
            assert follow.status_code < 500, f"{where}: following to {target.path}: {follow.status_code}"
            _no_raw_markup(follow.get_data(as_text=True), f"{where} -> {target.path}")
            follow.close()


def _fuzz_route(app: Flask, endpoint: str, principal: str, world: World, url: str,
                payloads: st.SearchStrategy[dict[str, Any]]) -> int:
    """Run EXAMPLES_PER_ROUTE generated submissions to ``url``; return how many were tried."""
    tried = 0

    @settings(max_examples=EXAMPLES_PER_ROUTE, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                     HealthCheck.data_too_large, HealthCheck.filter_too_much])
    @given(payload=payloads)
    def fuzz(payload: dict[str, Any]) -> None:
        nonlocal tried
        tried += 1
        _check_submission(app, endpoint, principal, world, url, payload)

    fuzz()
    return tried


def test_fuzz_every_form(app):
    routes = _post_routes(app)
    assert routes, "no POST routes found"
    tried = 0
    per_route: dict[str, int] = {}
    without_form: list[str] = []
    started = time.monotonic()
    worlds = 0
    world = build_world(app, tag="f0")
    forms = {p: _discover_forms(app, sign_in_as(app.test_client(), p, world), world)
             for p in {_principal(r.endpoint) for r in routes} - {None}}
    for rule in routes:
        principal = _principal(rule.endpoint)
        if principal is None:
            continue
        worlds += 1
        world = build_world(app, tag=f"f{worlds}")  # a fresh set of objects; earlier rows stay for the crawl
        url = _url(rule, world, FUZZ_VARIANT.get(rule.endpoint, "open"))
        fields = forms[principal].get(rule.endpoint)
        if fields is None:
            without_form.append(rule.endpoint)
            fields = {}
        world_ids = [str(v) for v in (world.challenge_open, world.capability, world.startup, world.trial,
                                      world.proposal, world.department, world.workshop, world.notification)]

        tried += _fuzz_route(app, rule.endpoint, principal, world, url, _payload_strategy(fields, world_ids))
        per_route[rule.endpoint] = EXAMPLES_PER_ROUTE

    # Whatever was stored, every page shows it escaped, to every principal.
    crawled = 0
    for principal in PRINCIPALS:
        client = sign_in_as(app.test_client(), principal, world)
        for endpoint, page in _get_pages(app, world):
            response = client.get(page)
            crawled += 1
            # /readyz answers 503 by contract when a dependency is not ready (here: the world's
            # rows have no vectors once the model is loaded); it is tested in test_operations.
            not_ready = endpoint == "main.readyz" and response.status_code == 503
            assert response.status_code < 500 or not_ready, f"{principal} GET {page}: {response.status_code}"
            if "text/html" in response.content_type or "text/calendar" in response.content_type:
                _no_raw_markup(response.get_data(as_text=True), f"{principal} GET {page} ({endpoint})")
            response.close()
    elapsed = time.monotonic() - started
    print(f"form fuzzing: {tried} cases tried on {len(per_route)} POST routes, "
          f"{crawled} pages re-read, {elapsed:.1f} s")
    record_figure("fuzz_cases", tried)
    record_figure("fuzz_routes", len(per_route))
    record_figure("fuzz_pages_reread", crawled)
    print(f"POST routes whose form was not found on any page (fuzzed with guessed fields): {without_form}")
    skipped = sorted(r.endpoint for r in routes if r.endpoint not in per_route)
    assert not skipped or all(_principal(e) is None for e in skipped), skipped


def test_every_post_form_carries_a_csrf_token(app, make_app):
    """With CSRF on (as in production), every POST form found on any page has the token field."""
    csrf_app = make_app(WTF_CSRF_ENABLED=True)
    world = build_world(app)
    missing = []
    checked = 0
    for principal in PRINCIPALS:
        client = sign_in_as(csrf_app.test_client(), principal, world)
        for endpoint, page in _get_pages(csrf_app, world):
            response = client.get(page)
            if response.status_code == 200 and "text/html" in response.content_type:
                html = response.get_data(as_text=True)
                for form in re.finditer(r"<form\b[^>]*>(.*?)</form>", html, re.DOTALL | re.IGNORECASE):
                    if re.search(r"method=[\"']?post", form.group(0)[:200], re.IGNORECASE):
                        checked += 1
                        if "csrf_token" not in form.group(1):
                            missing.append(f"{principal} {page} ({endpoint})")
            response.close()
    assert checked > 10
    assert not missing, "POST forms without a CSRF token:\n  " + "\n  ".join(sorted(set(missing)))


def test_matrix_helpers_agree_with_fuzz():
    assert _matches("ok", "400", "POST") and not _matches("ok", "L", "POST")


#: File names an upload may carry: traversal, controls, bidirectional tricks, huge, empty, markup.
ODD_NAMES = [
    "../../../../etc/passwd", "..\\..\\windows\\system32\\cmd.exe", "/etc/shadow", "a\x00b.pdf",
    "\u202egpj.exe", "report.pdf.exe", "醫療 方案 🩺.pdf", "CON", "nul.pdf", ".htaccess", " ", "",
    "x" * 5000 + ".pdf", SCRIPT + ".pdf", '"><img src=x onerror=alert(1)>.png', "\r\nSet-Cookie: x=y.pdf",
]


def _upload_content() -> st.SearchStrategy[tuple[str, bytes]]:
    """(what it is, bytes): every accepted type, and what must be refused."""
    accepted = [(name, make) for name, (make, _type) in samples.ACCEPTED.items()]
    refused = [("exe", samples.exe), ("plain zip", samples.plain_zip), ("macro docx", samples.macro_docx),
               ("docm", samples.docm), ("entity bomb", samples.entity_bomb),
               ("zip without its part", lambda: samples.zip_claiming(samples.WORD_MAIN, with_part=False)),
               ("empty", lambda: b""), ("html", lambda: (SCRIPT * 3).encode())]
    fixed = st.sampled_from(accepted + refused).map(lambda pair: (pair[0], pair[1]()))
    # A real file cut short or with bytes flipped at the start; random bytes of any length.
    damaged = st.tuples(st.sampled_from(accepted), st.integers(0, 300), st.binary(max_size=8)).map(
        lambda t: (f"damaged {t[0][0]}", t[2] + t[0][1]()[len(t[2]):t[1] or None]))
    noise = st.binary(max_size=2048).map(lambda b: ("random bytes", b))
    return st.one_of(fixed, damaged, noise)


def test_fuzz_document_uploads(app, make_app, document_storage):
    """Uploads of every kind of bad file to every upload route: never a 500; a refusal leaves
    no row and no file; an acceptance adds exactly one of each, with the sniffed type."""
    small = make_app(DOCUMENT_MAX_BYTES=4_000, DOCUMENT_MAX_REQUEST_BYTES=64_000)
    small.extensions["innomatch_document_storage"] = document_storage
    world = build_world(small, tag="up")
    targets = [("officer", f"/challenges/{world.challenge_open}/documents"),
               ("member", f"/proposals/{world.proposal}/documents"),
               ("member", f"/trials/{world.trial_running}/documents")]
    outcomes: dict[int, int] = {}

    @settings(max_examples=60, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(target=st.sampled_from(targets), content=_upload_content(),
           name=st.one_of(st.sampled_from(ODD_NAMES), st.text(max_size=80)),
           padding=st.sampled_from([0, 0, 0, 5_000, 70_000]))
    def fuzz(target: tuple[str, str], content: tuple[str, bytes], name: str, padding: int) -> None:
        principal, url = target
        what, data = content
        data += b"\x00" * padding  # over DOCUMENT_MAX_BYTES, or over the whole request's limit
        client = sign_in_as(small.test_client(), principal, world)
        rows_before, files_before = row_counts(small)["documents"], set(document_storage.keys())
        response = client.post(url, data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")
        where = f"{principal} POST {url} with {what} ({len(data)} bytes) named {name!r:.80}"
        assert response.status_code < 500, f"{where}: {response.status_code}"
        _no_raw_markup(response.get_data(as_text=True), where)
        outcomes[response.status_code] = outcomes.get(response.status_code, 0) + 1
        rows_after, files_after = row_counts(small)["documents"], set(document_storage.keys())
        if response.status_code == 302:
            assert rows_after == rows_before + 1 and len(files_after - files_before) == 1, where
            # Accepted: a real file, a damaged one that keeps its signature, or random bytes that
            # happen to start with one (types are recognised by their leading bytes).
            signed = data.startswith((b"%PDF-", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff"))
            assert (padding == 0 and what in samples.ACCEPTED) or what.startswith("damaged") or (
                what == "random bytes" and signed), where
        else:
            assert response.status_code in (400, 413), where
            assert (rows_after, files_after) == (rows_before, files_before), f"{where}: half-stored"

    fuzz()
    print(f"upload fuzzing: {sum(outcomes.values())} uploads, statuses {dict(sorted(outcomes.items()))}")
    record_figure("upload_fuzz_cases", sum(outcomes.values()))
    assert outcomes.get(302) and (outcomes.get(400) or outcomes.get(413))
