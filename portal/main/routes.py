"""Home pages per role, language switch, health check."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import func, select, text

from models import Challenge, Proposal, Startup, Trial
from models.vocabulary import UI_LOCALES, ChallengeStatus, TrialState

from ..database import db
from ..security import is_safe_local_path

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    """Show the home page for the signed-in user's role, or the public landing page."""
    if current_user.is_authenticated:
        if current_user.is_startup:
            return redirect(url_for("matches.for_startup"))
        if current_user.is_officer:
            return redirect(url_for("challenges.mine"))
        if current_user.is_staff:
            return redirect(url_for("coordinator.queue"))
    stats = {
        "open_challenges": db.scalar(select(func.count()).where(Challenge.status == ChallengeStatus.OPEN)),
        "startups": db.scalar(select(func.count()).select_from(Startup)),
        "proposals": db.scalar(select(func.count()).select_from(Proposal)),
        "trials": db.scalar(
            select(func.count()).where(Trial.status.in_(TrialState.WENT_AHEAD))
        ),
    }
    latest = db.scalars(
        select(Challenge).where(Challenge.status == ChallengeStatus.OPEN).order_by(Challenge.opened_at.desc()).limit(5)
    ).all()
    return render_template("main/index.html", stats=stats, latest=latest)


@bp.post("/language")
def set_language():
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


@bp.get("/healthz")
def healthz():
    """Report that the app and its database answer."""
    db.execute(text("SELECT 1"))
    return {"status": "ok"}
