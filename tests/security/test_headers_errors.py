"""Response headers on every kind of page, and error pages that leak nothing (ASVS V7, V14)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from flask import abort

from .world import ROOT, World, sign_in_as

TEMPLATES = ROOT / "templates"


def _csp_directives(header: str) -> dict[str, list[str]]:
    out = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def _check_headers(response, *, secure: bool = False) -> None:  # type: ignore[no-untyped-def]
    headers = response.headers
    csp = _csp_directives(headers["Content-Security-Policy"])
    assert csp["script-src"] == ["'self'"], csp
    assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
    assert "'unsafe-eval'" not in headers["Content-Security-Policy"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'self'"]
    assert csp["form-action"] == ["'self'"] and csp["default-src"] == ["'self'"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    if "text/html" in response.content_type:
        assert headers["Cache-Control"] == "no-store"
    if secure:
        assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    else:
        assert "Strict-Transport-Security" not in headers


@pytest.fixture
def boom_app(make_app):  # type: ignore[no-untyped-def]
    """A test app with routes that fail on purpose."""
    app = make_app()

    @app.get("/test-only/boom")
    def boom():  # type: ignore[no-untyped-def]
        raise RuntimeError("secret-internal-detail /etc/innomatch.conf")

    @app.get("/api/test-only/boom")
    def api_boom():  # type: ignore[no-untyped-def]
        raise KeyError("secret-internal-detail")

    return app


def test_headers_on_pages_of_every_kind(app, world: World, client):
    pages = {
        "/": 200, "/login": 200, "/challenges": 200, f"/challenges/{world.challenge_open}": 200,
        "/no-such-page": 404, f"/challenges/{world.challenge_draft}": 404, "/logout": 405,
        "/healthz": 200, "/static/img/favicon.svg": 200, "/account": 302,
    }
    for path, status in pages.items():
        response = client.get(path)
        assert response.status_code == status, path
        _check_headers(response)
        response.close()
    member = sign_in_as(app.test_client(), "member", world)
    response = member.get("/admin/users")
    assert response.status_code == 403
    _check_headers(response)
    https = client.get("/challenges", base_url="https://localhost")
    _check_headers(https, secure=True)


def test_500_page_has_a_reference_and_no_internals(boom_app, caplog):
    caplog.set_level(logging.ERROR)
    response = boom_app.test_client().get("/test-only/boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    _check_headers(response)
    reference = re.search(r'class="im-ref">([0-9a-f]{12})<', body)
    assert reference, body[:2000]
    for leak in ("Traceback", "RuntimeError", "secret-internal-detail", "/etc/innomatch", 'File "'):
        assert leak not in body, leak
    # No source path: a random token on the page (a CSRF token's "." separators) may hold ".py".
    assert not re.search(r"[/\\][\w.-]+\.py\b", body), re.search(r"[/\\][\w.-]+\.py\b", body)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert f"ref={reference.group(1)}" in logged  # the operator can find the traceback from the reference


def test_api_errors_are_json_without_internals(boom_app):
    client = boom_app.test_client()
    response = client.get("/api/test-only/boom")
    assert response.status_code == 500 and response.mimetype == "application/problem+json"
    error = response.get_json()
    assert error["status"] == 500 and re.fullmatch(r"[0-9a-f]{12}", error["reference"])
    assert "secret" not in response.get_data(as_text=True)
    missing = client.get("/api/no-such-thing")
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    assert missing.get_json()["status"] == 404
    _check_headers(missing)


def test_debug_is_off_and_errors_do_not_propagate(app):
    assert not app.debug
    assert app.config.get("PROPAGATE_EXCEPTIONS") in (None, False)


def test_405_names_the_allowed_methods(client):
    response = client.get("/logout")
    assert response.status_code == 405 and "POST" in response.headers.get("Allow", "")


def _templates() -> list[Path]:
    return sorted(TEMPLATES.rglob("*.html"))


def test_templates_have_no_inline_script_or_style_or_handlers():
    """The CSP blocks inline code, so none may be written (new templates are checked too)."""
    problems = []
    for path in _templates():
        source = path.read_text(encoding="utf-8")
        for match in re.finditer(r"<script\b([^>]*)>", source, re.IGNORECASE):
            if "src=" not in match.group(1):
                problems.append(f"{path.relative_to(ROOT)}: inline <script>")
        if re.search(r"\sstyle\s*=", source, re.IGNORECASE):
            problems.append(f"{path.relative_to(ROOT)}: style attribute")
        if re.search(r"<style\b", source, re.IGNORECASE):
            problems.append(f"{path.relative_to(ROOT)}: <style> element")
        if re.search(r"\son[a-z]+\s*=\s*[\"']", source, re.IGNORECASE):
            problems.append(f"{path.relative_to(ROOT)}: inline event handler")
        if re.search(r"href\s*=\s*[\"']\s*javascript:", source, re.IGNORECASE):
            problems.append(f"{path.relative_to(ROOT)}: javascript: URL")
    assert not problems, "\n".join(problems)


def test_templates_do_not_switch_off_autoescaping():
    problems = []
    for path in _templates():
        source = path.read_text(encoding="utf-8")
        if re.search(r"\|\s*safe\b|autoescape\s+false|Markup\(", source):
            problems.append(str(path.relative_to(ROOT)))
    assert not problems, f"templates that output unescaped values: {problems}"


def test_a_line_break_in_a_logged_path_cannot_forge_a_log_line(make_app, caplog):
    app = make_app()

    @app.get("/test-only/refused/<rest>")
    def refused(rest: str) -> None:
        abort(403)

    @app.get("/test-only/boom/<rest>")
    def boom(rest: str) -> None:
        raise RuntimeError("boom")

    caplog.set_level(logging.WARNING)
    client = app.test_client()
    forged = "x%0a2026-12-04 INFO innomatch.auth sign-in ok user=1%0dmore"
    assert client.get(f"/test-only/refused/{forged}").status_code == 403
    assert client.get(f"/test-only/boom/{forged}").status_code == 500
    messages = [r.getMessage() for r in caplog.records if "path=" in r.getMessage()]
    assert len(messages) == 2
    for message in messages:
        assert "\n" not in message and "\r" not in message and "\\x0a" in message, message
