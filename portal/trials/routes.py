"""A trial's page and its state-machine moves."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from models import Trial

from ..access import can_view_trial
from ..database import db
from ..errors import DomainError, NotAllowed
from ..services import trials
from .forms import MoveForm

bp = Blueprint("trials", __name__)


def _load(trial_id: int) -> Trial:
    trial = db.get(Trial, trial_id)
    if trial is None or not can_view_trial(current_user, trial):
        abort(404)
    return trial


@bp.get("/trials/<int:trial_id>")
@login_required
def detail(trial_id: int):
    """Show a trial with its history and the moves the user may make."""
    trial = _load(trial_id)
    conflicted = current_user.is_staff and trials.has_conflict(current_user, trial.startup_id)
    return render_template(
        "trials/detail.html", trial=trial, moves=trials.allowed_moves(current_user, trial),
        form=MoveForm(), conflicted=conflicted, trials=trials,
    )


@bp.post("/trials/<int:trial_id>/move")
@login_required
def move(trial_id: int):
    """Make one move on the trial (approve, reject, accept, withdraw, ...)."""
    trial = _load(trial_id)
    form = MoveForm()
    if form.validate_on_submit():
        try:
            trials.move_trial(
                current_user, trial, form.action.data, form.reason.data or "",
                expected_version=form.version.data, outcome=form.outcome.data or None,
            )
        except NotAllowed as error:
            db.rollback()
            abort(403, error.message)
        except DomainError as error:
            db.rollback()
            form.apply_domain_error(error)
        else:
            db.commit()
            flash(_("The trial is now %(state)s.", state=trials.state_label(trial.status)), "success")
            return redirect(url_for("trials.detail", trial_id=trial.id))
    db.rollback()
    trial = _load(trial_id)
    status = 409 if any("someone else" in e for e in form.form_errors) else 400
    conflicted = current_user.is_staff and trials.has_conflict(current_user, trial.startup_id)
    return render_template(
        "trials/detail.html", trial=trial, moves=trials.allowed_moves(current_user, trial),
        form=form, conflicted=conflicted, trials=trials,
    ), status
