"""Home pages per role, language switch, health check."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import text

from models.vocabulary import UI_LOCALES

from ..database import db
from ..security import is_safe_local_path
from ..services import landing

bp = Blueprint("main", __name__)


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
    return render_template("main/privacy.html", retention_days=current_app.config.get("ACCOUNT_RETENTION_DAYS") or 0)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """Report that the app and its database answer."""
    db.execute(text("SELECT 1"))
    return {"status": "ok"}
