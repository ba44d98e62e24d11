"""The lab coordinators' review queue."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from models import Capability, Challenge, ConflictOfInterest, Trial

from ..access import roles_required
from ..database import db
from ..errors import DomainError
from ..services import recommendations, trials
from ..trials.forms import ShortlistForm

bp = Blueprint("coordinator", __name__, url_prefix="/coordinator")

#: How many open challenges, and matches for each, the queue suggests.
QUEUE_CHALLENGES = 8
QUEUE_MATCHES = 3


@bp.get("/")
@roles_required("coordinator", "admin")
def queue():
    """Show proposals and top matches awaiting a decision."""
    pending = db.scalars(
        select(Trial)
        .where(Trial.status.in_(("proposed", "shortlisted")))
        .options(selectinload(Trial.challenge), selectinload(Trial.startup), selectinload(Trial.proposal))
        .order_by(Trial.created_at)
    ).all()
    conflicts = set(
        db.scalars(select(ConflictOfInterest.startup_id).where(ConflictOfInterest.coordinator_id == current_user.id))
    )
    open_challenges = db.scalars(
        select(Challenge).where(Challenge.status == "open").order_by(Challenge.opened_at.desc()).limit(QUEUE_CHALLENGES)
    ).all()
    suggestions = []
    for challenge in open_challenges:
        recs = recommendations.recommend_startups(challenge, current_user, limit=QUEUE_MATCHES)
        if recs:
            suggestions.append((challenge, recs))
    active = db.scalars(
        select(Trial).where(Trial.status.in_(("approved", "running"))).order_by(Trial.updated_at.desc())
    ).all()
    return render_template(
        "coordinator/queue.html", pending=pending, conflicts=conflicts, suggestions=suggestions,
        active=active, trials=trials, form=ShortlistForm(),
    )


@bp.post("/shortlist")
@roles_required("coordinator", "admin")
def shortlist():
    """Open a shortlisted trial from a recommended match."""
    form = ShortlistForm()
    if not form.validate_on_submit():
        abort(400)
    challenge = db.get(Challenge, form.challenge_id.data) or abort(404)
    capability = db.get(Capability, form.capability_id.data) or abort(404)
    try:
        trial = trials.open_trial_from_match(current_user, challenge, capability)
    except DomainError as error:
        db.rollback()
        flash(error.message, "error")
        return redirect(url_for("coordinator.queue"))
    db.commit()
    flash(_("Shortlisted. The startup has been told."), "success")
    return redirect(url_for("trials.detail", trial_id=trial.id))
