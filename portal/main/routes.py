"""Home pages per role, language switch; liveness, readiness and metrics for operations."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user

from models.vocabulary import UI_LOCALES

from .. import metrics
from ..database import db
from ..extensions import csrf, limiter
from ..security import is_safe_local_path
from ..services import health, landing

bp = Blueprint("main", __name__)

#: The query parameter an emailed link names the recipient's language with (``?lang=zh_Hant_HK``).
LINK_LANGUAGE = "lang"


@bp.before_app_request
def _language_from_link() -> None:
    """A link that names a language (the invitation, password-reset and address links emailed
    in the recipient's language) opens in it and the site stays in it, as the switch does;
    a page not signed in would otherwise follow the browser's language."""
    locale = request.args.get(LINK_LANGUAGE)
    if locale in UI_LOCALES and request.method == "GET" and not request.path.startswith(("/api/", "/static/")):
        session["locale"] = locale


@bp.get("/")
def index() -> ResponseReturnValue:
    """Show the home page for the signed-in user's role, or the public landing page."""
    if current_user.is_authenticated:
        if current_user.is_startup:
            return redirect(url_for("matches.for_startup"))
        if current_user.is_officer:
            return redirect(url_for("challenges.mine"))
        if current_user.is_staff:
            return redirect(url_for("coordinator.queue"))
    view = landing.landing_page()
    return render_template("main/index.html", stats=view.stats, latest=view.latest)


@bp.post("/language")
def set_language() -> ResponseReturnValue:
    """Remember the chosen interface language and go back."""
    locale = request.form.get("locale", "")
    if locale in UI_LOCALES:
        session["locale"] = locale
        if current_user.is_authenticated and current_user.locale != locale:
            current_user.locale = locale
            db.commit()
    target = request.form.get("next", "")
    # Only same-site relative paths, so the switch cannot be used as an open redirect.
    if not is_safe_local_path(target):
        target = url_for("main.index")
    return redirect(target)


@bp.get("/privacy")
def privacy() -> ResponseReturnValue:
    """Show the Personal Information Collection Statement and how personal data is kept."""
    return render_template(
        "main/privacy.html", retention_days=current_app.config.get("ACCOUNT_RETENTION_DAYS") or 0,
        unconfirmed_days=current_app.config.get("UNCONFIRMED_REGISTRATION_DAYS") or 0,
    )


@bp.get("/healthz")
@limiter.exempt
@csrf.exempt
def healthz() -> ResponseReturnValue:
    """Liveness: the process answers. Touches nothing else (see /readyz for dependencies)."""
    return {"status": "ok"}


@bp.get("/readyz")
@limiter.exempt
@csrf.exempt
def readyz() -> ResponseReturnValue:
    """Readiness: 200 when every dependency answers, else 503. Each check with its reason only
    for the addresses that may read /metrics (the model, the vector count and which service
    is down are not for everyone); to others, the status alone."""
    state = health.readiness()
    body = state.as_dict() if metrics.may_read_metrics(request.remote_addr) else {"ready": state.ready}
    return body, 200 if state.ready else 503


@bp.get("/metrics")
@limiter.exempt
@csrf.exempt
def prometheus_metrics() -> ResponseReturnValue:
    """Prometheus metrics, only for the addresses in METRICS_ALLOWED_IPS (others: 404)."""
    if not metrics.may_read_metrics(request.remote_addr):
        abort(404)
    return metrics.exposition()
