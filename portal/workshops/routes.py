"""Workshops and tech forums: the public list and pages, registration, iCalendar, scheduling."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from models import User, Workshop
from models.vocabulary import Role

from .. import clock
from ..access import roles_required
from ..database import db
from ..errors import DomainError
from ..forms import CsrfForm, form_status
from ..services import workshops
from ..templating import current_locale
from .forms import WorkshopForm

bp = Blueprint("workshops", __name__)


def _load(workshop_id: int) -> Workshop:
    return db.get(Workshop, workshop_id) or abort(404)


def _challenge_options() -> list[tuple[int, str]]:
    return [(c.id, c.title) for c in workshops.challenge_choices()]


def _ics(body: bytes, filename: str) -> Response:
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-cache"},
    )


def _absolute_url(workshop: Workshop) -> str:
    return url_for("workshops.detail", workshop_id=workshop.id, _external=True)


def _render_detail(workshop: Workshop, error: str | None = None, status: int = 200) -> ResponseReturnValue:
    taken = workshops.registration_count(workshop)
    return render_template(
        "workshops/detail.html",
        workshop=workshop,
        title=workshops.title(workshop, current_locale()),
        taken=taken,
        places_left=max(0, workshop.capacity - taken),
        registration=workshops.registration_for(current_user, workshop),
        challenges=workshops.linked_challenges(current_user, workshop),
        registrants=workshops.registrants(workshop) if current_user.is_authenticated and current_user.is_staff else None,
        is_open=workshop.starts_at > clock.now(),
        error=error,
    ), status


@bp.get("/workshops")
def index() -> ResponseReturnValue:
    """List upcoming and past workshops and tech forums."""
    upcoming = workshops.upcoming()
    past = workshops.past()
    return render_template(
        "workshops/index.html",
        upcoming=upcoming,
        past=past,
        counts=workshops.registration_counts([w.id for w in upcoming]),
        mine=workshops.registered_ids(current_user),
        locale=current_locale(),
        title_of=workshops.title,
    )


@bp.get("/workshops.ics")
def calendar() -> ResponseReturnValue:
    """Download every upcoming workshop as an iCalendar file."""
    body = workshops.calendar(workshops.upcoming(), _absolute_url, current_locale(), _("InnoMatch workshops"))
    return _ics(body, "innomatch-workshops.ics")


@bp.route("/workshops/new", methods=["GET", "POST"])
@roles_required(Role.COORDINATOR, Role.ADMIN)
def create() -> ResponseReturnValue:
    """Schedule a workshop or tech forum."""
    form = WorkshopForm(_challenge_options())
    if form.validate_on_submit():
        try:
            workshop = workshops.schedule_workshop(current_user, form.data_for_service())
        except DomainError as error:
            db.rollback()
            form.apply_domain_error(error)
        else:
            db.commit()
            flash(_("Workshop scheduled."), "success")
            return redirect(url_for("workshops.detail", workshop_id=workshop.id))
    return render_template("workshops/form.html", form=form, workshop=None), 400 if form.errors else 200


@bp.get("/workshops/<int:workshop_id>")
def detail(workshop_id: int) -> ResponseReturnValue:
    """Show a workshop with its places, challenges and the registration button."""
    return _render_detail(_load(workshop_id))


@bp.get("/workshops/<int:workshop_id>.ics")
def event(workshop_id: int) -> ResponseReturnValue:
    """Download one workshop as an iCalendar file."""
    workshop = _load(workshop_id)
    body = workshops.calendar([workshop], _absolute_url, current_locale())
    return _ics(body, f"innomatch-workshop-{workshop.id}.ics")


@bp.route("/workshops/<int:workshop_id>/edit", methods=["GET", "POST"])
@roles_required(Role.COORDINATOR, Role.ADMIN)
def edit(workshop_id: int) -> ResponseReturnValue:
    """Change a workshop's details."""
    workshop = _load(workshop_id)
    options = _challenge_options()
    form = WorkshopForm.for_workshop(options, workshop)
    if form.validate_on_submit() and not form.saved_elsewhere(workshop, _("this workshop")):
        try:
            workshops.update_workshop(current_user, workshop, form.data_for_service())
        except DomainError as error:
            db.rollback()
            form.apply_domain_error(error)
        else:
            db.commit()
            flash(_("Workshop saved."), "success")
            return redirect(url_for("workshops.detail", workshop_id=workshop.id))
    return render_template("workshops/form.html", form=form, workshop=workshop), form_status(form)


def _registration_action(workshop_id: int, service: Callable[[User, Workshop], Any], done: str) -> ResponseReturnValue:
    """Load, call one registration service, commit and answer."""
    workshop = _load(workshop_id)
    if not CsrfForm().validate_on_submit():
        abort(400)
    try:
        service(current_user, workshop)
    except DomainError as error:
        db.rollback()
        return _render_detail(_load(workshop_id), error=error.message, status=409)
    db.commit()
    flash(done, "success")
    return redirect(url_for("workshops.detail", workshop_id=workshop.id))


@bp.post("/workshops/<int:workshop_id>/register")
@login_required
def register(workshop_id: int) -> ResponseReturnValue:
    """Take a place at the workshop."""
    return _registration_action(workshop_id, workshops.register, _("You are registered. See you there."))


@bp.post("/workshops/<int:workshop_id>/unregister")
@login_required
def unregister(workshop_id: int) -> ResponseReturnValue:
    """Give up one's place at the workshop."""
    return _registration_action(workshop_id, workshops.unregister, _("Your registration is cancelled."))
