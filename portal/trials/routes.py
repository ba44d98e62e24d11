"""A trial's page, its state-machine moves, and tracking: milestones, KPIs, results, notes.

Refusals render the trial page with the message: 403 when the user plays no part that may
do it (or has a conflict of interest), 409 when the trial's state does not allow it or it
changed since the page was loaded, 400 for bad input. Users who may not see the trial get 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from models import Kpi, Milestone, Trial

from ..access import can_view_trial
from ..database import db
from ..errors import DomainError
from ..forms import BaseForm, CsrfForm
from ..services import conflicts, trials
from .forms import (
    CorrectReportForm,
    KpiForm,
    KpiResultForm,
    MilestoneForm,
    NoteForm,
    RecordAgreementForm,
    UnpublishOutcomeForm,
    WaiveMilestoneForm,
    move_form_for,
)

bp = Blueprint("trials", __name__)

_MAX_ID = 2**31 - 1


def _load(trial_id: int) -> Trial:
    trial = db.get(Trial, trial_id)
    if trial is None or not can_view_trial(current_user, trial):
        abort(404)
    return trial


def _page(trial: Trial, status: int = 200, posted: BaseForm | None = None, **forms: Any) -> ResponseReturnValue:
    """Render the trial page; ``posted`` (with its input and errors) replaces its blank twin."""
    note_form = forms.get("note_form") or NoteForm(formdata=None)
    context = {
        "trial": trial,
        "trials": trials,
        "history": trials.history(trial),
        "moves": trials.allowed_moves(current_user, trial),
        "actions": trials.open_actions(current_user, trial),
        "form": forms.get("form") or move_form_for(trial, formdata=None),
        "milestone_form": forms.get("milestone_form") or MilestoneForm(formdata=None),
        "kpi_form": forms.get("kpi_form") or KpiForm(formdata=None),
        "result_form": forms.get("result_form") or KpiResultForm(formdata=None),
        "result_kpi_id": forms.get("result_kpi_id"),
        # An edit of one milestone or KPI that failed, shown open on its row with its errors.
        "edit_milestone_form": forms.get("edit_milestone_form"),
        "edit_milestone_id": forms.get("edit_milestone_id"),
        "edit_kpi_form": forms.get("edit_kpi_form"),
        "edit_kpi_id": forms.get("edit_kpi_id"),
        # A waiver of one milestone that failed, shown open on its row with its errors.
        "waive_form": forms.get("waive_form"),
        "waive_milestone_id": forms.get("waive_milestone_id"),
        "unpublish_form": forms.get("unpublish_form") or UnpublishOutcomeForm(formdata=None),
        "agreement_form": forms.get("agreement_form") or RecordAgreementForm(formdata=None),
        "correct_form": forms.get("correct_form") or CorrectReportForm.of(trial),
        "note_form": note_form,
        "button_form": CsrfForm(formdata=None),
        "posted": posted,
        "conflicted": current_user.is_staff and trials.has_conflict(current_user, trial.startup_id),
        "conflicted_coordinators": (
            conflicts.coordinators_conflicted_with(trial.startup_id) if current_user.is_staff else []
        ),
    }
    return render_template("trials/detail.html", **context), status


def _refused(trial: Trial, form: BaseForm, key: str, **extra: Any) -> ResponseReturnValue:
    """The trial page with the reason the user may not do this (403)."""
    form.form_errors.append(trials.refusal_message(current_user, trial))
    return _page(trial, 403, posted=form, **{key: form}, **extra)


def _failed(
    trial: Trial, form: BaseForm, key: str, error: DomainError | None = None, **extra: Any
) -> ResponseReturnValue:
    """Roll back and show the page with the form's errors (400, or the error's own status)."""
    db.rollback()
    status = 400
    if error is not None:
        form.apply_domain_error(error)
        status = error.status
    return _page(trial, status, posted=form, **{key: form}, **extra)


def _done(trial: Trial, message: str) -> ResponseReturnValue:
    db.commit()
    flash(message, "success")
    return redirect(url_for("trials.detail", trial_id=trial.id))


def _tracked(
    trial: Trial, action: str, form: BaseForm, key: str, do: Callable[[], object], message: str, **extra: Any
) -> ResponseReturnValue:
    """One action on the trial from a posted form: refused (403) unless ``trials.may``; the
    form's or the service's errors shown on the trial page with the form as posted (``key``
    names it there, ``extra`` says which row it belongs to); else ``do`` does it and the page
    says ``message``."""
    if not trials.may(current_user, trial, action):
        return _refused(trial, form, key, **extra)
    if not form.validate_on_submit():
        return _failed(trial, form, key, **extra)
    try:
        do()
    except DomainError as error:
        return _failed(trial, form, key, error, **extra)
    return _done(trial, message)


def _button(trial: Trial, action: str, do: Callable[[], object], message: str) -> ResponseReturnValue:
    """A one-button action on the trial (a form with only its CSRF token): :func:`_tracked`."""
    return _tracked(trial, action, CsrfForm(), "button_form", do, message)


def _seen_correction() -> str | None:
    """The outcome report's last correction as the posting page showed it (its forms carry it),
    so a correction made since is not signed off, or overwritten, unread; None if not sent."""
    seen = request.form.get("seen_correction")
    return seen[:64] if seen is not None else None


@bp.get("/trials/<int:trial_id>")
@login_required
def detail(trial_id: int) -> ResponseReturnValue:
    """Show a trial with its tracking, its history and what the user may do."""
    return _page(_load(trial_id))


@bp.post("/trials/<int:trial_id>/move")
@login_required
def move(trial_id: int) -> ResponseReturnValue:
    """Make one move on the trial (approve, reject, accept, withdraw, complete, ...)."""
    trial = _load(trial_id)
    form = move_form_for(trial)
    form.scope_ids()  # so the error summary links to the fields of the posted move
    if form.action.data in trials.MOVES and not trials.may(current_user, trial, form.action.data):
        return _refused(trial, form, "form")
    if not form.validate_on_submit():
        return _failed(trial, form, "form")
    before = trial.status
    try:
        trials.move_trial(current_user, trial, form.action.data, form.reason.data or "", **form.data_for_service())
    except DomainError as error:
        return _failed(trial, form, "form", error)
    # The startup's and the department's answers to an approved trial leave it approved: say
    # what happened, not its state again.
    if trial.status == before and form.action.data == "accept":
        return _done(trial, _("You accepted the trial."))
    if trial.status == before and form.action.data == "confirm":
        return _done(trial, _("You confirmed the trial for your department."))
    return _done(trial, _("The trial is now %(state)s.", state=trials.state_label(trial.status)))


@bp.post("/trials/<int:trial_id>/milestones")
@login_required
def add_milestone(trial_id: int) -> ResponseReturnValue:
    """Add a dated milestone to the trial."""
    trial = _load(trial_id)
    form = MilestoneForm()
    return _tracked(
        trial, "add_milestone", form, "milestone_form",
        lambda: trials.add_milestone(current_user, trial, {"title": form.title.data, "due_on": form.due_on.data}),
        _("Milestone added."),
    )


@bp.post("/trials/<int:trial_id>/milestones/<int:milestone_id>/done")
@login_required
def complete_milestone(trial_id: int, milestone_id: int) -> ResponseReturnValue:
    """Mark a milestone of the trial as done today."""
    trial = _load(trial_id)
    milestone = _milestone(trial, milestone_id)
    return _button(
        trial, "complete_milestone",
        lambda: trials.complete_milestone(current_user, trial, milestone),
        _("Milestone marked as done."),
    )


def _milestone(trial: Trial, milestone_id: int) -> Milestone:
    milestone = db.get(Milestone, milestone_id) if milestone_id <= _MAX_ID else None
    if milestone is None or milestone.trial_id != trial.id:
        abort(404)
    return milestone


def _kpi(trial: Trial, kpi_id: int) -> Kpi:
    kpi = db.get(Kpi, kpi_id) if kpi_id <= _MAX_ID else None
    if kpi is None or kpi.trial_id != trial.id:
        abort(404)
    return kpi


@bp.post("/trials/<int:trial_id>/milestones/<int:milestone_id>/edit")
@login_required
def edit_milestone(trial_id: int, milestone_id: int) -> ResponseReturnValue:
    """Rename a milestone of the trial or move its due date."""
    trial = _load(trial_id)
    milestone = _milestone(trial, milestone_id)
    form = MilestoneForm(prefix=f"m{milestone.id}")
    extra: dict[str, Any] = {"edit_milestone_id": milestone.id}
    return _tracked(
        trial, "edit_milestone", form, "edit_milestone_form",
        lambda: trials.edit_milestone(
            current_user, trial, milestone, {"title": form.title.data, "due_on": form.due_on.data}
        ),
        _("Milestone saved."), **extra,
    )


@bp.post("/trials/<int:trial_id>/milestones/<int:milestone_id>/remove")
@login_required
def remove_milestone(trial_id: int, milestone_id: int) -> ResponseReturnValue:
    """Remove a milestone from the trial."""
    trial = _load(trial_id)
    milestone = _milestone(trial, milestone_id)
    return _button(
        trial, "edit_milestone",
        lambda: trials.remove_milestone(current_user, trial, milestone),
        _("Milestone removed."),
    )


@bp.post("/trials/<int:trial_id>/milestones/<int:milestone_id>/waive")
@login_required
def waive_milestone(trial_id: int, milestone_id: int) -> ResponseReturnValue:
    """Waive a milestone of the trial that will not be reached, with the reason."""
    trial = _load(trial_id)
    milestone = _milestone(trial, milestone_id)
    form = WaiveMilestoneForm(prefix=f"w{milestone.id}")
    extra: dict[str, Any] = {"waive_milestone_id": milestone.id}
    return _tracked(
        trial, "waive_milestone", form, "waive_form",
        lambda: trials.waive_milestone(current_user, trial, milestone, form.reason.data or ""),
        _("Milestone waived."), **extra,
    )


@bp.post("/trials/<int:trial_id>/outcome/sign-off")
@login_required
def sign_off_outcome(trial_id: int) -> ResponseReturnValue:
    """Sign off the trial's outcome report for the department (published once the startup agrees)."""
    trial = _load(trial_id)
    return _button(
        trial, "sign_off_outcome",
        lambda: trials.sign_off_outcome(current_user, trial, _seen_correction()),
        _("The outcome is signed off. It goes on the showcase once the startup agrees."),
    )


@bp.post("/trials/<int:trial_id>/outcome/agree")
@login_required
def agree_outcome(trial_id: int) -> ResponseReturnValue:
    """The startup agrees to the signed-off outcome report being published, which publishes it."""
    trial = _load(trial_id)
    return _button(
        trial, "agree_outcome",
        lambda: trials.agree_outcome(current_user, trial),
        _("You agreed, and the outcome is published on the showcase."),
    )


@bp.post("/trials/<int:trial_id>/outcome/record-agreement")
@login_required
def record_outcome_agreement(trial_id: int) -> ResponseReturnValue:
    """Record the startup's agreement to publish the outcome, given outside the service (coordinators)."""
    trial = _load(trial_id)
    form = RecordAgreementForm()
    return _tracked(
        trial, "record_outcome_agreement", form, "agreement_form",
        lambda: trials.record_outcome_agreement(current_user, trial, form.note.data or ""),
        _("The startup's agreement is recorded, and the outcome is published on the showcase."),
    )


@bp.post("/trials/<int:trial_id>/outcome/unpublish")
@login_required
def unpublish_outcome(trial_id: int) -> ResponseReturnValue:
    """Take the trial's outcome report off the public showcase, with the reason."""
    trial = _load(trial_id)
    form = UnpublishOutcomeForm()
    return _tracked(
        trial, "unpublish_outcome", form, "unpublish_form",
        lambda: trials.unpublish_outcome(current_user, trial, form.reason.data or ""),
        _("The outcome report is no longer published."),
    )


@bp.post("/trials/<int:trial_id>/outcome/correct")
@login_required
def correct_outcome_report(trial_id: int) -> ResponseReturnValue:
    """Put the outcome report's text right while no sign-off stands (coordinators)."""
    trial = _load(trial_id)
    form = CorrectReportForm()
    return _tracked(
        trial, "correct_outcome_report", form, "correct_form",
        lambda: trials.correct_outcome_report(current_user, trial, form.data_for_service(), _seen_correction()),
        _("The outcome report is corrected. The department is asked to sign it off."),
    )


@bp.post("/trials/<int:trial_id>/kpis/<int:kpi_id>/edit")
@login_required
def edit_kpi(trial_id: int, kpi_id: int) -> ResponseReturnValue:
    """Rename a KPI of the trial or change its target."""
    trial = _load(trial_id)
    kpi = _kpi(trial, kpi_id)
    form = KpiForm(prefix=f"k{kpi.id}")
    extra: dict[str, Any] = {"edit_kpi_id": kpi.id}
    return _tracked(
        trial, "edit_kpi", form, "edit_kpi_form",
        lambda: trials.edit_kpi(current_user, trial, kpi, {"name": form.name.data, "target": form.target.data}),
        _("KPI saved."), **extra,
    )


@bp.post("/trials/<int:trial_id>/kpis/<int:kpi_id>/remove")
@login_required
def remove_kpi(trial_id: int, kpi_id: int) -> ResponseReturnValue:
    """Remove a KPI from the trial."""
    trial = _load(trial_id)
    kpi = _kpi(trial, kpi_id)
    return _button(
        trial, "edit_kpi",
        lambda: trials.remove_kpi(current_user, trial, kpi),
        _("KPI removed."),
    )


@bp.post("/trials/<int:trial_id>/kpis")
@login_required
def add_kpi(trial_id: int) -> ResponseReturnValue:
    """Add a KPI with its target to the trial."""
    trial = _load(trial_id)
    form = KpiForm()
    return _tracked(
        trial, "add_kpi", form, "kpi_form",
        lambda: trials.add_kpi(current_user, trial, {"name": form.name.data, "target": form.target.data}),
        _("KPI added."),
    )


@bp.post("/trials/<int:trial_id>/kpis/<int:kpi_id>/result")
@login_required
def record_result(trial_id: int, kpi_id: int) -> ResponseReturnValue:
    """Record the measured result of one KPI of the trial."""
    trial = _load(trial_id)
    kpi = _kpi(trial, kpi_id)
    form = KpiResultForm()
    return _tracked(
        trial, "record_result", form, "result_form",
        lambda: trials.record_kpi_result(current_user, trial, kpi, form.result.data),
        _("Result recorded."), result_kpi_id=kpi_id,
    )


@bp.post("/trials/<int:trial_id>/notes")
@login_required
def add_note(trial_id: int) -> ResponseReturnValue:
    """Add a note on the trial's progress."""
    trial = _load(trial_id)
    form = NoteForm()
    return _tracked(
        trial, "add_note", form, "note_form",
        lambda: trials.add_note(current_user, trial, {"body": form.body.data, "language": form.language.data}),
        _("Note added."),
    )
