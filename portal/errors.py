"""Domain errors raised by services, and the HTTP error pages."""

from __future__ import annotations

import logging
import uuid

from flask import Flask, Response, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import HTTPException, SecurityError

log = logging.getLogger("innomatch")
access_log = logging.getLogger("innomatch.access")

#: Codes with a page of their own; the others use errors/generic.html.
OWN_PAGES = (400, 403, 404, 405, 413, 429)


class DomainError(Exception):
    """A rule of the domain refused an operation; ``field`` names the form field it concerns."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotAllowed(DomainError):
    """The user may not perform this operation."""


class StaleState(DomainError):
    """The record changed under the user (another person acted first)."""


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


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


def register_error_handlers(app: Flask) -> None:
    """Render 4xx/5xx as pages (or JSON for the API) that never leak internals."""

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> ResponseReturnValue:
        code = exc.code or 500
        if code in (401, 403, 429):
            access_log.warning(
                "access refused code=%s user=%s method=%s endpoint=%s path=%s ip=%s",
                code, _actor(), request.method, request.endpoint, request.path, request.remote_addr,
            )
        if code >= 500:
            _rollback()
        if isinstance(exc, SecurityError):
            # A Host header outside TRUSTED_HOSTS: no URL can be built for it, so no page.
            return Response(_("Bad request: unknown host.") + "\n", status=code, mimetype="text/plain")
        if _wants_json():
            return jsonify(error={"code": code, "message": exc.description}), code
        template = f"errors/{code}.html" if code in OWN_PAGES else "errors/generic.html"
        # Show our own messages (abort(403, message)); werkzeug's stock English texts are not.
        custom = exc.description if exc.description != type(exc).description else None
        response = render_template(template, code=code, description=exc.description, message=custom), code
        if code == 405 and hasattr(exc, "get_headers"):
            allow = dict(exc.get_headers()).get("Allow")
            if allow:
                return response[0], code, {"Allow": allow}
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> ResponseReturnValue:
        reference = uuid.uuid4().hex[:12]
        _rollback()
        log.exception("unhandled error ref=%s method=%s path=%s", reference, request.method, request.path)
        if _wants_json():
            return jsonify(error={"code": 500, "message": _("Internal error"), "reference": reference}), 500
        try:
            return render_template("errors/500.html", code=500, reference=reference), 500
        except Exception:
            log.exception("error page failed ref=%s", reference)
            body = f"Internal error. Reference: {reference}\n"
            return Response(body, status=500, mimetype="text/plain")
