"""The public API, version 1: published challenges, trials, workshops and statistics for
anyone; a startup's recommendations and profile and an officer's proposals with a token."""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import Any, TypeVar

from flask import Response, abort, request, url_for
from flask_babel import gettext as _
from flask_smorest import Blueprint
from flask_smorest import abort as api_abort

from models import Capability, Challenge

from ..access import can_edit_startup, can_read_proposals, can_view_challenge
from ..database import db
from ..errors import DomainError, NotAllowed, StaleState
from ..services import api_reads, startups, stats
from ..services import recommendations as recs
from . import present
from . import schemas as s
from .auth import api_user, authenticate, require

bp = Blueprint(
    "api", __name__, url_prefix="/api/v1",
    description="InnoMatch's public API: read-only public data, and a personal access token's own data.",
)
bp.before_request(authenticate)

View = TypeVar("View", bound=Callable[..., Any])
PUBLIC = "Public"
TOKEN = "With a token"  # nosec B105: an OpenAPI tag name, not a secret
BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]
#: Responses every operation may give.
COMMON = (400, 401, 429)
CURSOR_KIND = "id:"


def errors(*codes: int) -> Callable[[View], View]:
    """Document the problem responses an operation may give (plus the common ones)."""

    def decorator(view: View) -> View:
        for code in sorted({*COMMON, *codes}, reverse=True):
            view = bp.alt_response(code, response=_response_name(code))(view)
        return view

    return decorator


def checked_first(check: Callable[..., object]) -> Callable[[View], View]:
    """Run ``check(**url_values)`` (load, 404; access, 401/403) before the body is validated.

    Placed above ``bp.arguments``, so a caller without access learns nothing from validation.
    """

    def decorator(view: View) -> View:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            check(**kwargs)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]  # wraps() keeps the view's signature

    return decorator


def _response_name(code: int) -> str:
    return HTTPStatus(code).name


def _after_id(cursor: str | None) -> int | None:
    """The id an opaque cursor stands for (400 if it is not one of ours)."""
    if not cursor:
        return None
    try:
        decoded = base64.urlsafe_b64decode(cursor.encode("ascii") + b"=" * (-len(cursor) % 4)).decode("ascii")
    except (ValueError, UnicodeError, binascii.Error):
        decoded = ""
    if not decoded.startswith(CURSOR_KIND) or not decoded[len(CURSOR_KIND):].isdigit() or len(decoded) > 20:
        abort(400, _("The cursor is not valid: pass the cursor of the previous page's next link unchanged."))
    return int(decoded[len(CURSOR_KIND):])


def _page(rows: Sequence[Any], limit: int, show: Any) -> dict[str, Any]:
    """A page of ``rows`` (``limit + 1`` were read) with the next page's link."""
    more = len(rows) > limit
    rows = rows[:limit]
    next_url = None
    if more:
        cursor = base64.urlsafe_b64encode(f"{CURSOR_KIND}{rows[-1].id}".encode("ascii")).decode("ascii").rstrip("=")
        args = {k: v for k, v in request.args.items() if k != "cursor"}
        next_url = url_for(request.endpoint or "", **request.view_args or {}, **args, cursor=cursor, _external=True)
    return {"items": [show(row) for row in rows], "next": next_url}


@bp.after_request
def _caching(response: Response) -> Response:
    """ETag on every successful read, 304 when the client's copy is current; labels vary by language."""
    response.vary.add("Accept-Language")
    response.vary.add("Authorization")
    if request.method in ("GET", "HEAD") and response.status_code == 200:
        response.headers["Cache-Control"] = "private, no-cache" if request.headers.get("Authorization") else "no-cache"
        response.add_etag()
        response.make_conditional(request)
    return response


# --- public -----------------------------------------------------------------------------------

@bp.get("/challenges")
@bp.arguments(s.ChallengeQuery, location="query", as_kwargs=True)
@bp.response(200, s.ChallengePageSchema)
@bp.alt_response(304, description="Not modified (If-None-Match matches the ETag).")
@bp.doc(tags=[PUBLIC])
@errors()
def challenges(cursor: str | None = None, limit: int = 20, **filters: Any) -> dict[str, Any]:
    """List open and past (closed) challenges.

    Filter by domain, functional area, department, status, language and last change; pages
    follow the `next` link (cursor pagination, in the order challenges were posted).
    """
    rows = api_reads.published_challenges(api_reads.ChallengeQuery(**filters), _after_id(cursor), limit)
    return _page(rows, limit, present.challenge)


@bp.get("/challenges/<int:challenge_id>")
@bp.response(200, s.ChallengeDetailSchema)
@bp.alt_response(304, description="Not modified (If-None-Match matches the ETag).")
@bp.doc(tags=[PUBLIC])
@errors(404)
def challenge(challenge_id: int) -> dict[str, Any]:
    """One challenge with its published questions and answers.

    Drafts are found only with a token of their department's officers or the lab.
    """
    found = db.get(Challenge, challenge_id)
    if found is None or not can_view_challenge(api_user(), found):
        abort(404, _("There is no published challenge with this id."))
    return present.challenge_detail(found)


@bp.get("/trials")
@bp.arguments(s.TrialQuery, location="query", as_kwargs=True)
@bp.response(200, s.TrialPageSchema)
@bp.alt_response(304, description="Not modified (If-None-Match matches the ETag).")
@bp.doc(tags=[PUBLIC])
@errors()
def trials(cursor: str | None = None, limit: int = 20, outcome: str | None = None) -> dict[str, Any]:
    """List completed trials with their published outcome, report and KPIs."""
    rows = api_reads.completed_trials(outcome, _after_id(cursor), limit)
    return _page(rows, limit, present.trial)


@bp.get("/workshops")
@bp.arguments(s.WorkshopQuery, location="query", as_kwargs=True)
@bp.response(200, s.WorkshopPageSchema)
@bp.alt_response(304, description="Not modified (If-None-Match matches the ETag).")
@bp.doc(tags=[PUBLIC])
@errors()
def workshops(cursor: str | None = None, limit: int = 20, when: str | None = None) -> dict[str, Any]:
    """List the lab's workshops and tech forums, upcoming and past."""
    rows = api_reads.workshops(when, _after_id(cursor), limit)
    return _page(rows, limit, present.workshop)


@bp.get("/statistics")
@bp.response(200, s.StatisticsSchema)
@bp.alt_response(304, description="Not modified (If-None-Match matches the ETag).")
@bp.doc(tags=[PUBLIC])
@errors()
def statistics() -> dict[str, Any]:
    """The programme's figures, overall and by domain, functional area, department and month."""
    return present.statistics(stats.report())


# --- with a token -----------------------------------------------------------------------------

@bp.get("/me")
@bp.response(200, s.MeSchema)
@bp.alt_response(304, description="Not modified (If-None-Match matches the ETag).")
@bp.doc(tags=[TOKEN], security=BEARER)
@errors(403)
def me() -> dict[str, Any]:
    """The token's user and the token's scope and expiry."""
    token, user = require("read")
    return present.me(user, token)


def _own_startup(user: Any) -> Any:
    if not getattr(user, "is_startup", False) or user.startup is None:
        api_abort(403, message=_("Only startup members have a startup profile and recommendations."))
    return user.startup


@bp.get("/me/recommendations")
@checked_first(lambda: _own_startup(require("read")[1]))
@bp.arguments(s.RecommendationQuery, location="query", as_kwargs=True)
@bp.response(200, s.RecommendationListSchema)
@bp.alt_response(304, description="Not modified (If-None-Match matches the ETag).")
@bp.doc(tags=[TOKEN], security=BEARER)
@errors(403)
def recommendations(limit: int = 10) -> dict[str, Any]:
    """Open challenges recommended for the token's startup, best first, with why they match."""
    _token, user = require("read")
    startup = _own_startup(user)
    found = recs.recommend_challenges(startup, user, limit=limit)
    return {"items": [
        {"score": r.score, "components": r.components, "explanation": r.explanation,
         "challenge": present.challenge(r.challenge)}
        for r in found if r.challenge is not None
    ]}


@bp.get("/me/startup")
@bp.response(200, s.StartupSchema)
@bp.alt_response(304, description="Not modified (If-None-Match matches the ETag).")
@bp.doc(tags=[TOKEN], security=BEARER)
@errors(403)
def my_startup() -> dict[str, Any]:
    """The token's startup: its profile and capabilities."""
    _token, user = require("read")
    return present.startup(_own_startup(user))


def _domain_error(error: DomainError) -> None:
    """Answer a refused change: 403 not allowed, 409 stale or against the record's state, 422 a field."""
    db.rollback()
    if isinstance(error, NotAllowed):
        api_abort(403, message=error.message)
    if isinstance(error, StaleState) or not error.field:
        api_abort(409, message=error.message)
    errors: dict[str, list[str]] = {}
    for problem in error.problems:  # each field's problems (one but for DomainErrors)
        if problem.field:
            errors.setdefault(problem.field, []).append(problem.message)
    api_abort(422, message=error.message, errors=errors)


@bp.patch("/me/startup")
@checked_first(lambda: _own_startup(require("write")[1]))
@bp.arguments(s.StartupPatchSchema)
@bp.response(200, s.StartupSchema)
@bp.doc(tags=[TOKEN], security=BEARER)
@errors(403, 409, 422)
def update_my_startup(data: dict[str, Any]) -> dict[str, Any]:
    """Change the startup's profile (write scope); fields left out keep their value."""
    _token, user = require("write")
    startup = _own_startup(user)
    current = {k: getattr(startup, k) for k in ("name", "website", "description", "size", "language")}
    try:
        startups.update_startup(user, startup, {**current, **data})
    except DomainError as error:
        _domain_error(error)
    db.commit()
    return present.startup(startup)


def _own_capability(user: Any, capability_id: int) -> Capability:
    startup = _own_startup(user)
    capability = db.get(Capability, capability_id)
    if capability is None or capability.startup_id != startup.id:
        abort(404, _("Your startup has no capability with this id."))
    if not can_edit_startup(user, capability.startup):
        api_abort(403, message=_("Only members of this startup can change it."))
    return capability


@bp.post("/me/startup/capabilities")
@checked_first(lambda: _own_startup(require("write")[1]))
@bp.arguments(s.CapabilityInSchema)
@bp.response(201, s.CapabilitySchema)
@bp.doc(tags=[TOKEN], security=BEARER)
@errors(403, 409, 422)
def create_capability(data: dict[str, Any]) -> dict[str, Any]:
    """Add a capability to the startup's profile (write scope)."""
    _token, user = require("write")
    startup = _own_startup(user)
    try:
        capability = startups.create_capability(user, startup, data)
    except DomainError as error:
        _domain_error(error)
    db.commit()
    return present.capability(capability)


@bp.put("/me/startup/capabilities/<int:capability_id>")
@checked_first(lambda capability_id: _own_capability(require("write")[1], capability_id))
@bp.arguments(s.CapabilityInSchema)
@bp.response(200, s.CapabilitySchema)
@bp.doc(tags=[TOKEN], security=BEARER)
@errors(403, 404, 409, 422)
def update_capability(data: dict[str, Any], capability_id: int) -> dict[str, Any]:
    """Replace one of the startup's capabilities (write scope)."""
    _token, user = require("write")
    capability = _own_capability(user, capability_id)
    try:
        startups.update_capability(user, capability, data)
    except DomainError as error:
        _domain_error(error)
    db.commit()
    return present.capability(capability)


@bp.delete("/me/startup/capabilities/<int:capability_id>")
@bp.response(204)
@bp.doc(tags=[TOKEN], security=BEARER)
@errors(403, 404, 409)
def delete_capability(capability_id: int) -> None:
    """Delete one of the startup's capabilities (write scope), unless a proposal or trial relies on it."""
    _token, user = require("write")
    capability = _own_capability(user, capability_id)
    try:
        startups.delete_capability(user, capability)
    except DomainError as error:
        _domain_error(error)
    db.commit()


@bp.get("/challenges/<int:challenge_id>/proposals")
@bp.response(200, s.ProposalListSchema)
@bp.alt_response(304, description="Not modified (If-None-Match matches the ETag).")
@bp.doc(tags=[TOKEN], security=BEARER)
@errors(403, 404)
def proposals(challenge_id: int) -> dict[str, Any]:
    """The proposals a challenge received: for its department's officers and the lab."""
    _token, user = require("read")
    found = db.get(Challenge, challenge_id)
    if found is None or not can_view_challenge(user, found):
        abort(404, _("There is no challenge with this id that you can see."))
    if not can_read_proposals(user, found):
        api_abort(403, message=_("Only the challenge's department and the lab read its proposals."))
    return {"items": [present.proposal(p, t) for p, t in api_reads.proposals_for_challenge(found)]}
