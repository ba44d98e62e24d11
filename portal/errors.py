"""Domain errors raised by services, and the HTTP error pages."""

from __future__ import annotations

import json
import logging
import uuid
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, SecurityError

from models.names import weighted_length

from .logs import loggable_path

log = logging.getLogger("innomatch")
access_log = logging.getLogger("innomatch.access")

#: Codes with a page of their own; the others use errors/generic.html.
OWN_PAGES = (400, 403, 404, 405, 413, 429)


class DomainError(Exception):
    """A rule of the domain refused an operation; ``field`` names the form field it concerns.

    ``status`` is the HTTP status a page answers with when it shows the refusal: 400 for bad
    input, 403 when the user may not (:class:`NotAllowed`), 409 when someone acted first
    (:class:`StaleState`).
    """

    status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    @property
    def problems(self) -> list[DomainError]:
        """Each problem, on its field: this one (several for :class:`DomainErrors`)."""
        return [self]


class DomainErrors(DomainError):
    """Several problems with one submission, each on its field, so that a form says them all
    at once instead of one a submit (``BaseForm.apply_domain_error`` shows each)."""

    def __init__(self, problems: list[DomainError]) -> None:
        super().__init__(problems[0].message, problems[0].field)
        self._problems = problems

    @property
    def problems(self) -> list[DomainError]:
        return self._problems

    @staticmethod
    def raise_for(problems: list[DomainError]) -> None:
        """Raise the one problem, or all of them together; nothing when there is none."""
        if len(problems) == 1:
            raise problems[0]
        if problems:
            raise DomainErrors(problems)


class NotAllowed(DomainError):
    """The user may not perform this operation."""

    status = 403


def require_confirmed_email(user: Any, message: str) -> None:
    """Refuse with ``message`` unless ``user`` has confirmed their email address.

    What reaches other people (a proposal, a question to a department, a workshop place, an
    API token) waits for a confirmed address: otherwise anyone could act through the service
    under an address they do not own, or fill a workshop from throwaway registrations.
    """
    if not getattr(user, "email_verified", False):
        raise DomainError(message)


class StaleState(DomainError):
    """The record changed under the user (another person acted first)."""

    status = 409


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _is_api() -> bool:
    return request.path.startswith("/api/")


#: Details a developer can act on, for the statuses whose stock text says too little.
def _api_detail(code: int) -> str | None:
    return {
        401: _("Send a personal access token: 'Authorization: Bearer imt_...'. "
               "Create one on your account page."),
        404: _("There is nothing at this address. The operations are listed at /api/v1/openapi.json."),
        405: _("This operation does not accept this HTTP method; see the Allow header."),
        429: _("Too many requests. Wait for the number of seconds in Retry-After, then try again."),
    }.get(code)


def problem(code: int, detail: str, errors: dict[str, Any] | None = None, **extra: Any) -> Response:
    """An RFC 9457 problem details response (``application/problem+json``)."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(code).phrase,
        "status": code,
        "detail": detail,
        **extra,
    }
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body, ensure_ascii=False), status=code, mimetype="application/problem+json")
    if code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="InnoMatch API"'
    return response


def _api_http_error(exc: HTTPException) -> Response:
    """An HTTP error under /api/ as problem details; webargs validation messages become ``errors``."""
    code = exc.code or 500
    if code == 304:  # not an error: the client's copy (If-None-Match) is current
        return Response(status=304)
    data = getattr(exc, "data", None) or {}
    errors = data.get("errors") or data.get("messages")
    if isinstance(errors, dict) and set(errors) <= {"json", "query", "headers", "form", "view_args", "path"}:
        # webargs keys messages by location; one location at a time is parsed, so flatten it.
        flat: dict[str, Any] = {}
        for messages in errors.values():
            flat.update(messages if isinstance(messages, dict) else {"_": messages})
        errors = flat
    if code == 422 and errors and not data.get("message"):
        detail = _("Some values are not valid: see errors, which lists the messages for each field.")
    else:
        custom = exc.description if exc.description != type(exc).description else None
        detail = data.get("message") or custom or _api_detail(code) or exc.description or HTTPStatus(code).phrase
    response = problem(code, str(detail), errors if isinstance(errors, dict) else None)
    if hasattr(exc, "get_headers"):
        for name, value in exc.get_headers():
            if name.lower() not in ("content-type", "content-length"):
                response.headers[name] = value
    for name, value in (data.get("headers") or {}).items():
        response.headers[name] = value
    return response


def _actor() -> str:
    """The signed-in user's id for the logs (never the session token), or "-"."""
    try:
        if current_user and current_user.is_authenticated:
            return str(current_user.id)
    except Exception:  # noqa: BLE001 - the user loader may fail inside a broken transaction
        return "?"
    return "-"


def _rollback() -> None:
    """Abandon the request's unit of work so nothing half-done is committed or read."""
    from .database import db

    try:
        db.rollback()
    except Exception:
        log.warning("rollback after an error failed", exc_info=True)


#: The free-text fields a refused form's 400 page gives back, with what each is called: only
#: these (a hidden field can carry a signed secret, a path or an address nobody typed).
_TYPED_FIELDS: dict[str, Any] = {
    "pitch": _l("Pitch"), "description": _l("Description"), "problem_statement": _l("Problem statement"),
    "desired_outcomes": _l("Desired outcomes"), "constraints": _l("Constraints"), "deployments": _l("Deployments"),
    "question": _l("Question"), "answer": _l("Answer"), "body": _l("Note"), "note": _l("Note"),
    "reason": _l("Reason"), "summary": _l("Summary"), "lessons": _l("Lessons learnt"),
    "recommendation": _l("Recommendation"), "title": _l("Title"), "title_en": _l("Title"), "title_zh": _l("Title"),
    "name": _l("Name"), "location": _l("Location"), "target": _l("Target"), "result": _l("Measured result"),
}
#: A typed value worth giving back: at least this long, a Han character counting as three
#: (``models.names.weighted_length``), so 「可否延期？」 is given back and a number is not.
_KEPT_MIN_LENGTH = 12


def typed_texts() -> list[tuple[str, str]]:
    """What was typed into a form whose sending failed its CSRF check (a session that ended
    while the page was open), for the 400 page to give back to copy: ``(what the field is
    called, its value)`` for the free-text fields (:data:`_TYPED_FIELDS`), only for a POST
    from one of our own pages (its Origin, or without one its Referer, is this site):
    another site's form is not echoed on ours."""
    if request.method != "POST":
        return []
    own = request.host_url.rstrip("/")
    origin = request.headers.get("Origin") or request.headers.get("Referer") or ""
    if origin != own and not origin.startswith(own + "/"):
        return []
    return [
        (str(_TYPED_FIELDS[name]), value) for name, value in request.form.items(multi=True)
        if name in _TYPED_FIELDS and weighted_length(value.strip()) >= _KEPT_MIN_LENGTH
    ][:10]


def register_error_handlers(app: Flask) -> None:
    """Render 4xx/5xx as pages (or JSON for the API) that never leak internals."""

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> ResponseReturnValue:
        code = exc.code or 500
        if code in (401, 403, 429):
            access_log.warning(
                "access refused code=%s user=%s method=%s endpoint=%s path=%s ip=%s",
                code, _actor(), request.method, request.endpoint, loggable_path(request.path), request.remote_addr,
            )
        if code >= 500:
            _rollback()
        if isinstance(exc, SecurityError):
            # A Host header outside TRUSTED_HOSTS: no URL can be built for it, so no page.
            return Response(_("Bad request: unknown host.") + "\n", status=code, mimetype="text/plain")
        if _is_api():
            return _api_http_error(exc)
        if _wants_json():
            return jsonify(error={"code": code, "message": exc.description}), code
        template = f"errors/{code}.html" if code in OWN_PAGES else "errors/generic.html"
        # Show our own messages (abort(403, message)); werkzeug's stock English texts are not.
        custom = exc.description if exc.description != type(exc).description else None
        kept = typed_texts() if isinstance(exc, CSRFError) else []
        response = render_template(
            template, code=code, description=exc.description, message=custom, expired=isinstance(exc, CSRFError),
            kept=kept,
        ), code
        if code == 405 and hasattr(exc, "get_headers"):
            allow = dict(exc.get_headers()).get("Allow")
            if allow:
                return response[0], code, {"Allow": allow}
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> ResponseReturnValue:
        reference = uuid.uuid4().hex[:12]
        _rollback()
        log.exception("unhandled error ref=%s method=%s path=%s", reference, request.method, loggable_path(request.path))
        if _is_api():
            return problem(500, _("Internal error. Quote the reference when you report it."), reference=reference)
        if _wants_json():
            return jsonify(error={"code": 500, "message": _("Internal error"), "reference": reference}), 500
        try:
            return render_template("errors/500.html", code=500, reference=reference), 500
        except Exception:
            log.exception("error page failed ref=%s", reference)
            body = f"Internal error. Reference: {reference}\n"
            return Response(body, status=500, mimetype="text/plain")


def init_sentry(app: Flask) -> None:
    """Report unhandled errors of the web app and the jobs to Sentry (``SENTRY_DSN`` is set).

    sentry-sdk is imported only here, so an install without a DSN never loads it.
    """
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration
    from sentry_sdk.integrations.rq import RqIntegration

    sentry_sdk.init(
        dsn=str(app.config["SENTRY_DSN"]),
        environment=str(app.config.get("INNOMATCH_ENV") or "production"),
        integrations=[FlaskIntegration(), RqIntegration()],
        traces_sample_rate=float(app.config.get("SENTRY_TRACES_SAMPLE_RATE") or 0),
        send_default_pii=False,  # no addresses, cookies or form data in the reports
    )
