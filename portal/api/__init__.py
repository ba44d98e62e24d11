"""The public API (``/api/v1``): flask-smorest blueprints, an OpenAPI 3.1 document, its docs page.

``init_api(app)`` is called by the app factory. Errors are RFC 9457 problem details
(``portal.errors``); reads carry an ETag and CORS headers; every request is rate limited,
per token (by its hash) or per address.
"""

from __future__ import annotations

import http
from typing import Any

from flask import Blueprint, Flask, Response, render_template, request
from flask_smorest import Api
from flask_smorest.utils import prepare_response

from ..extensions import csrf, limiter
from .auth import rate_key
from .routes import bp
from .schemas import ProblemSchema

PROBLEM_JSON = "application/problem+json"
#: Requests per minute, per token or per address.
RATE_LIMIT = "120 per minute"
CORS_ALLOWED_HEADERS = "Authorization, Accept-Language, If-None-Match"
CORS_EXPOSED_HEADERS = "ETag, Link, Retry-After, Content-Language"

docs_bp = Blueprint("api_docs", __name__)


@docs_bp.get("/api/v1/docs")
def docs() -> str:
    """The API's browsable documentation (Swagger UI over the OpenAPI document)."""
    return render_template("api/docs.html")


class ProblemApi(Api):  # flask-smorest ships no types (pyproject: ignore_missing_imports)
    """flask-smorest documenting errors as problem details; the app's own handlers answer them."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        """Leave HTTP errors to ``portal.errors`` (problem details under /api/, pages elsewhere)."""

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        default: dict[str, Any] = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(default, self.spec, PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", default, lazy=True)


limiter.limit(RATE_LIMIT, key_func=rate_key)(bp)
csrf.exempt(bp)  # only bearer tokens authenticate here; the cookie session is never read


def init_api(app: Flask) -> None:
    """Register the API, its OpenAPI document (/api/v1/openapi.json) and docs page."""
    app.config.setdefault("API_TITLE", "InnoMatch API")
    app.config.setdefault("API_VERSION", "1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    api = ProblemApi(app, spec_kwargs={
        "info": {"description": "Hong Kong Department of Health's InnoMatch: challenges, trials, workshops "
                                "and figures, in English and Traditional Chinese. See docs/api.md."},
    })
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "A personal access token (imt_...)."}
    )
    api.register_blueprint(bp)
    csrf.exempt(app.view_functions["api-docs.openapi_json"])
    app.register_blueprint(docs_bp)

    @app.after_request
    def _cors(response: Response) -> Response:
        # Reads may be made from any site's scripts; no cookie is ever honoured, so no credentials.
        if request.path.startswith("/api/") and request.method in ("GET", "HEAD", "OPTIONS"):
            response.headers["Access-Control-Allow-Origin"] = "*"
            response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = CORS_ALLOWED_HEADERS
            response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSED_HEADERS
            response.headers["Access-Control-Max-Age"] = "600"
        return response
