"""The lab coordinators' review queue and their conflicts of interest."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, user_logged_in
from sqlalchemy import select

from models import Capability, Challenge, Startup, User
from models.vocabulary import Role

from ..access import roles_required
from ..database import db
from ..errors import DomainError, NotAllowed
from ..forms import CsrfForm, page_number
from ..services import conflicts, similar, trials
from ..services import queue as queue_service
from ..trials.forms import ShortlistForm
from .forms import ConflictForm

bp = Blueprint("coordinator", __name__, url_prefix="/coordinator")
log = logging.getLogger("innomatch.conflicts")

#: Proposals awaiting a decision per page (oldest first), each with its match score.
PENDING_PAGE_SIZE = 20


def _detect_on_sign_in(_app: Any, user: Any = None, **_extra: Any) -> None:
    """Record obvious conflicts when a coordinator or a startup member signs in (also right after
    registering): its own small unit of work, after the sign-in's own commit."""
    # Only a real User: a proxy (login_user(current_user)) may point at itself, and its
    # holder is signed in already anyway.
    if type(user) is not User:
        return
    try:
        if user.is_staff:
            conflicts.detect_conflicts_for_coordinator(user)
        elif user.is_startup and user.startup is not None:
            conflicts.detect_conflicts_for_startup(user.startup)
        else:
            return
        db.commit()
    except Exception:
        db.rollback()
        log.exception("conflict detection failed at sign-in for user %s", getattr(user, "id", "?"))


@bp.record_once
def _connect_sign_in_hook(state: Any) -> None:
    user_logged_in.connect(_detect_on_sign_in, state.app, weak=False)


@bp.get("/")
@roles_required(Role.COORDINATOR, Role.ADMIN)
def queue() -> ResponseReturnValue:
    """Show proposals with their pitch and match score, top matches, active trials and feedback."""
    view = queue_service.review_queue(current_user, page_number(), PENDING_PAGE_SIZE)
    duplicates = similar.recent_duplicates(current_user)
    return render_template(
        "coordinator/queue.html", pending=view.pending, conflicts=view.conflicts,
        duplicates=duplicates, duplicate_of={c.id: s for c, s in duplicates},
        duplicate_days=similar.recent_days(),
        suggestions=view.suggestions, scores=view.scores, active=view.active, active_total=view.active_total, completed=view.completed, feedback=view.feedback,
        trials=trials, form=ShortlistForm(formdata=None),
    )


@bp.post("/shortlist")
@roles_required(Role.COORDINATOR, Role.ADMIN)
def shortlist() -> ResponseReturnValue:
    """Open a shortlisted trial from a recommended match."""
    form = ShortlistForm()
    if not form.validate_on_submit():
        abort(400)
    challenge = db.get(Challenge, form.challenge_id.data) or abort(404)
    capability = db.get(Capability, form.capability_id.data) or abort(404)
    if trials.has_conflict(current_user, capability.startup_id):
        abort(403, _("You have a conflict of interest with this startup, so another coordinator must decide."))
    try:
        trial = trials.open_trial_from_match(current_user, challenge, capability)
    except NotAllowed as error:
        db.rollback()
        abort(403, error.message)
    except DomainError as error:
        db.rollback()
        flash(error.message, "error")
        return redirect(url_for("coordinator.queue"))
    db.commit()
    flash(_("Shortlisted. The startup has been told."), "success")
    return redirect(url_for("trials.detail", trial_id=trial.id))


def _startups() -> list[Startup]:
    return list(db.scalars(select(Startup).order_by(Startup.name)))


def _conflicts_page(form: ConflictForm, status: int = 200) -> ResponseReturnValue:
    stored = conflicts.conflicts_of(current_user)
    stored_ids = {c.startup_id for c in stored}
    detected_now = {
        sid: reason for sid, reason in conflicts.detected_conflicts(current_user).items() if sid not in stored_ids
    }
    unstored = {s.id: s for s in db.scalars(select(Startup).where(Startup.id.in_(detected_now)))} if detected_now else {}
    return render_template(
        "coordinator/conflicts.html", form=form, conflicts=stored,
        unstored=[(unstored[sid], reason) for sid, reason in detected_now.items() if sid in unstored],
        detect_form=CsrfForm(formdata=None),
    ), status


@bp.get("/conflicts")
@roles_required(Role.COORDINATOR, Role.ADMIN)
def conflicts_list() -> ResponseReturnValue:
    """List the coordinator's conflicts of interest and offer to declare one."""
    return _conflicts_page(ConflictForm(_startups(), formdata=None))


@bp.post("/conflicts")
@roles_required(Role.COORDINATOR, Role.ADMIN)
def declare() -> ResponseReturnValue:
    """Declare a conflict of interest with a startup."""
    form = ConflictForm(_startups())
    if form.validate_on_submit():
        startup = db.get(Startup, int(form.startup_id.data)) or abort(404)
        try:
            conflicts.declare_conflict(current_user, startup, form.reason.data)
        except DomainError as error:
            db.rollback()
            form.apply_domain_error(error)
        else:
            db.commit()
            flash(_("Conflict of interest declared. Other coordinators will decide on %(name)s.", name=startup.name),
                  "success")
            return redirect(url_for("coordinator.conflicts_list"))
    return _conflicts_page(form, 400)


@bp.post("/conflicts/detect")
@roles_required(Role.COORDINATOR, Role.ADMIN)
def detect() -> ResponseReturnValue:
    """Look for obvious conflicts of the coordinator (shared email or website domains) and record them."""
    form = CsrfForm()
    if not form.validate_on_submit():
        abort(400)
    found = conflicts.detect_conflicts_for_coordinator(current_user)
    db.commit()
    if found:
        flash(ngettext("%(num)d conflict of interest found and recorded.",
                       "%(num)d conflicts of interest found and recorded.", len(found)), "success")
    else:
        flash(_("No new conflicts of interest found."), "success")
    return redirect(url_for("coordinator.conflicts_list"))
