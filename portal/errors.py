"""Domain errors raised by services, and the HTTP error pages."""

from __future__ import annotations

import logging
import uuid

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

log = logging.getLogger("innomatch")


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


def register_error_handlers(app: Flask) -> None:
    """Render 4xx/5xx as pages (or JSON for the API) that never leak internals."""

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
        code = exc.code or 500
        if _wants_json():
            return jsonify(error={"code": code, "message": exc.description}), code
        template = f"errors/{code}.html" if code in (400, 403, 404, 405, 413, 429) else "errors/generic.html"
        return render_template(template, code=code, description=exc.description), code

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # type: ignore[no-untyped-def]
        reference = uuid.uuid4().hex[:12]
        log.exception("unhandled error ref=%s path=%s", reference, request.path)
        if _wants_json():
            return jsonify(error={"code": 500, "message": _("Internal error"), "reference": reference}), 500
        return render_template("errors/500.html", code=500, reference=reference), 500
