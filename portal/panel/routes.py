"""Panel scoring pages: a challenge's evaluation criteria, scoring a proposal, the side-by-side table."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from models import Challenge, Proposal
from models.vocabulary import ChallengeStatus, Role

from ..access import (
    can_edit_challenge,
    can_sit_on_panel,
    can_view_challenge,
    can_view_proposal,
    refusal,
    roles_required,
)
from ..database import db
from ..errors import DomainError
from ..forms import MAX_ID
from ..services import conflicts, panel
from .forms import CriteriaForm, PanelConflictForm, score_form, scores_from

bp = Blueprint("panel", __name__)


def _challenge(challenge_id: int) -> Challenge:
    """The challenge, or 404 when it does not exist or is a draft the user may not see."""
    challenge = db.get(Challenge, challenge_id) if challenge_id <= MAX_ID else None
    if challenge is None or not can_view_challenge(current_user, challenge):
        abort(404)
    return challenge


def _proposal(proposal_id: int) -> Proposal:
    """The proposal, if the user sits on its panel (404 if they may not see it, 403 if only not on the panel)."""
    proposal = db.get(Proposal, proposal_id) if proposal_id <= MAX_ID else None
    if proposal is None:
        abort(404)
    visible = can_view_proposal(current_user, proposal)
    if not visible or not can_sit_on_panel(current_user, proposal.challenge):
        abort(refusal(visible))
    return proposal


@bp.route("/challenges/<int:challenge_id>/criteria", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def criteria(challenge_id: int) -> ResponseReturnValue:
    """Set the criteria and weights a draft challenge's proposals will be scored against."""
    challenge = _challenge(challenge_id)
    if not can_edit_challenge(current_user, challenge):
        abort(403)
    editable = challenge.status == ChallengeStatus.DRAFT
    form = CriteriaForm()
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            try:
                panel.save_criteria(current_user, challenge, form.inputs())
            except DomainError as error:
                db.rollback()
                form.apply_domain_error(error)
                status = error.status
            else:
                db.commit()
                flash(_("Evaluation criteria saved."), "success")
                return redirect(url_for("challenges.detail", challenge_id=challenge.id) + "#criteria")
    else:
        form.fill(panel.criteria_of(challenge))
    return render_template("panel/criteria.html", challenge=challenge, form=form, editable=editable), status


@bp.get("/challenges/<int:challenge_id>/panel")
@login_required
def table(challenge_id: int) -> ResponseReturnValue:
    """Each proposal's weighted total, the spread between scorers and who has not scored yet."""
    challenge = _challenge(challenge_id)
    if not can_sit_on_panel(current_user, challenge):
        abort(403)
    criteria, rows = panel.panel_table(challenge)
    return render_template("panel/table.html", challenge=challenge, criteria=criteria, rows=rows)


def _score_page(proposal: Proposal, form: object | None = None, conflict_form: PanelConflictForm | None = None,
                status: int = 200) -> ResponseReturnValue:
    criteria = panel.fix_criteria(proposal.challenge)  # stored when the challenge opened
    conflicted = conflicts.has_conflict(current_user, proposal.startup_id)
    locked = panel.locked_reason(proposal)
    if form is None and not conflicted:
        form = score_form(criteria, scores=panel.scores_by(current_user, proposal))
    return (
        render_template(
            "panel/score.html", proposal=proposal, challenge=proposal.challenge, criteria=criteria, form=form,
            conflicted=conflicted, locked=locked,
            conflict_form=conflict_form or PanelConflictForm(formdata=None),
        ),
        status,
    )


@bp.route("/proposals/<int:proposal_id>/score", methods=["GET", "POST"])
@login_required
def score(proposal_id: int) -> ResponseReturnValue:
    """Score a proposal 1 to 5 against each of its challenge's criteria, with comments."""
    proposal = _proposal(proposal_id)
    if request.method == "GET":
        return _score_page(proposal)
    criteria = panel.fix_criteria(proposal.challenge)
    form = score_form(criteria, formdata=request.form)
    if form.validate_on_submit():
        try:
            panel.score_proposal(current_user, proposal, scores_from(form, criteria))
        except DomainError as error:
            db.rollback()
            form.apply_domain_error(error)
            return _score_page(proposal, form=form, status=error.status)
        db.commit()
        flash(_("Your scores for %(startup)s are saved.", startup=proposal.startup.name), "success")
        return redirect(url_for("panel.table", challenge_id=proposal.challenge_id))
    return _score_page(proposal, form=form, status=400)


@bp.post("/proposals/<int:proposal_id>/panel-conflict")
@login_required
def declare_conflict(proposal_id: int) -> ResponseReturnValue:
    """Declare a conflict of interest with the proposing startup: off its panel from now on."""
    proposal = _proposal(proposal_id)
    form = PanelConflictForm()
    status = 400
    if form.validate_on_submit():
        try:
            panel.declare_panel_conflict(current_user, proposal, form.reason.data)
        except DomainError as error:
            db.rollback()
            form.apply_domain_error(error)
            status = error.status
        else:
            db.commit()
            flash(_("Your conflict of interest is recorded; you are off this proposal's panel."), "success")
            return redirect(url_for("panel.table", challenge_id=proposal.challenge_id))
    return _score_page(proposal, conflict_form=form, status=status)
