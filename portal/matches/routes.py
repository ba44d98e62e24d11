"""Recommended opportunities for startups and recommended startups for challenges."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from models import Challenge, Startup
from models.vocabulary import Role

from ..access import can_see_recommended_startups, can_view_challenge, refusal, roles_required
from ..database import db
from ..errors import DomainError
from ..forms import parse_id
from ..services import feedback, recommendations
from .forms import DismissForm

bp = Blueprint("matches", __name__)


@bp.get("/recommendations")
@roles_required(Role.STARTUP)
def for_startup() -> ResponseReturnValue:
    """Show open challenges ranked for the signed-in member's startup."""
    startup = db.get(Startup, current_user.startup_id) or abort(404)
    results = recommendations.recommend_challenges(startup, current_user, limit=recommendations.RECOMMENDED_CHALLENGES)
    return render_template("matches/for_startup.html", startup=startup, results=results, form=DismissForm())


@bp.get("/challenges/<int:challenge_id>/recommended")
@roles_required(Role.OFFICER, Role.COORDINATOR, Role.ADMIN)
def for_challenge(challenge_id: int) -> ResponseReturnValue:
    """Show startups ranked for a challenge (its officers and the lab only)."""
    challenge = db.get(Challenge, challenge_id) or abort(404)
    if not can_see_recommended_startups(current_user, challenge):
        abort(refusal(can_view_challenge(current_user, challenge)))
    results = recommendations.recommend_startups(challenge, current_user, limit=10)
    return render_template("matches/for_challenge.html", challenge=challenge, results=results, form=DismissForm())


@bp.post("/recommendations/dismiss")
@roles_required(Role.STARTUP, Role.OFFICER, Role.COORDINATOR, Role.ADMIN)
def dismiss() -> ResponseReturnValue:
    """Hide a recommendation from the signed-in user and record why."""
    form = DismissForm()
    challenge_id, startup_id = parse_id(form.challenge_id.data), parse_id(form.startup_id.data)
    if not form.validate_on_submit() or challenge_id is None or startup_id is None:
        abort(400)
    challenge = db.get(Challenge, challenge_id) or abort(404)
    startup = db.get(Startup, startup_id) or abort(404)
    if not can_view_challenge(current_user, challenge):
        abort(404)  # a draft the user may not know exists: answered as a missing challenge
    if current_user.is_startup:
        if current_user.startup_id != startup.id:
            abort(403)
        back = url_for("matches.for_startup")
    else:
        if not can_see_recommended_startups(current_user, challenge):
            abort(403)
        back = url_for("matches.for_challenge", challenge_id=challenge.id)
    try:
        feedback.dismiss_recommendation(current_user, challenge, startup, form.reason.data, form.note.data or "")
    except DomainError as error:
        db.rollback()
        abort(400, error.message)
    db.commit()
    flash(_("Thank you. We will not show this recommendation to you again."), "success")
    return redirect(back)
