"""Administration: accounts of officers, coordinators and admins."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from models import Department, Invitation, OutboxMail, User
from models.vocabulary import Role

from .. import clock
from ..access import roles_required
from ..database import db
from ..errors import DomainError
from ..forms import CsrfForm, page_number
from ..services import accounts, invitations, mail, mfa
from .forms import CreateUserForm, EditUserForm, InviteForm

bp = Blueprint("admin", __name__, url_prefix="/admin")
PAGE = 50


@bp.get("/users")
@roles_required(Role.ADMIN)
def users() -> ResponseReturnValue:
    """List accounts, newest first."""
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 10_000))
    total = db.scalar(select(func.count()).select_from(User)) or 0
    rows = db.scalars(select(User).order_by(User.id.desc()).offset((page - 1) * PAGE).limit(PAGE)).all()
    pending = db.scalars(
        select(Invitation).where(Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None),
                                 Invitation.expires_at > clock.now()).order_by(Invitation.id.desc()).limit(PAGE)
    ).all()
    return render_template("admin/users.html", users=rows, page=page, pages=max(1, -(-total // PAGE)), total=total,
                           invitations=pending)


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new_user() -> ResponseReturnValue:
    """Create an officer, coordinator or admin account."""
    departments = db.scalars(select(Department).order_by(Department.code)).all()
    form = CreateUserForm(departments)
    if form.validate_on_submit():
        department = db.get(Department, int(form.department.data)) if form.department.data else None
        try:
            user = accounts.create_user(
                current_user, email=form.email.data, password=form.password.data,
                display_name=form.display_name.data, role=form.role.data, department=department,
                locale=form.locale.data,
            )
        except DomainError as error:
            db.rollback()
            form.apply_domain_error(error)
        else:
            db.commit()
            flash(_("Account created for %(email)s.", email=user.email), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/new_user.html", form=form), 400 if form.errors else 200


def _departments() -> list[Department]:
    return list(db.scalars(select(Department).order_by(Department.code)).all())


def _department(value: str | None) -> Department | None:
    return db.get(Department, int(value)) if value and value.isdigit() and len(value) < 10 else None


@bp.route("/invitations/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def invite() -> ResponseReturnValue:
    """Invite an officer, coordinator or admin by email."""
    form = InviteForm(_departments())
    if form.validate_on_submit():
        try:
            invitation, token, emailed = invitations.invite(
                current_user, email=form.email.data, display_name=form.display_name.data, role=form.role.data,
                department=_department(form.department.data), locale=form.locale.data,
            )
        except DomainError as error:
            db.rollback()
            form.apply_domain_error(error)
        else:
            db.commit()
            if emailed:
                flash(_("Invitation sent to %(email)s. The link works once, for 7 days.", email=invitation.email),
                      "success")
                return redirect(url_for("admin.users"))
            # No mail server: the admin passes the link on; it is shown this once and never stored.
            link = url_for("auth.accept_invitation", token=token, _external=True)
            return render_template("admin/invitation_link.html", invitation=invitation, link=link)
    return render_template("admin/invite.html", form=form), 400 if form.errors else 200


@bp.post("/invitations/<int:invitation_id>/revoke")
@roles_required(Role.ADMIN)
def revoke_invitation(invitation_id: int) -> ResponseReturnValue:
    """Stop a pending invitation's link working."""
    invitation = db.get(Invitation, invitation_id) or abort(404)
    if not CsrfForm().validate_on_submit():
        abort(400)
    try:
        invitations.revoke(current_user, invitation)
    except DomainError as error:
        db.rollback()
        flash(error.message, "error")
        return redirect(url_for("admin.users")), 303
    db.commit()
    flash(_("The invitation to %(email)s has been withdrawn.", email=invitation.email), "success")
    return redirect(url_for("admin.users"))


def _render_user(user: User, form: EditUserForm, error: str | None = None, status: int = 200) -> ResponseReturnValue:
    return render_template("admin/user.html", user=user, form=form, error=error, button=CsrfForm()), status


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def user(user_id: int) -> ResponseReturnValue:
    """An account: rename it, change a staff member's role or department."""
    person = db.get(User, user_id) or abort(404)
    form = EditUserForm(_departments(), person, obj=person)
    if request.method == "GET":
        form.department.data = str(person.department_id or "")
    if form.validate_on_submit():
        try:
            accounts.update_user(current_user, person, display_name=form.display_name.data, role=form.role.data,
                                 department=_department(form.department.data))
        except DomainError as error:
            db.rollback()
            form.apply_domain_error(error)
        else:
            db.commit()
            flash(_("Account saved."), "success")
            return redirect(url_for("admin.user", user_id=person.id))
    return _render_user(person, form, status=400 if form.errors else 200)


def _account_action(user_id: int, service: Callable[[User, User], None], done: str) -> ResponseReturnValue:
    """Load the account, check the button's token, run ``service``, commit once, go back to the account."""
    person = db.get(User, user_id) or abort(404)
    if not CsrfForm().validate_on_submit():
        abort(400)
    try:
        service(current_user, person)
    except DomainError as error:
        db.rollback()
        person = db.get(User, user_id) or abort(404)
        return _render_user(person, EditUserForm(_departments(), person, obj=person), error=error.message, status=409)
    db.commit()
    flash(done, "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.post("/users/<int:user_id>/deactivate")
@roles_required(Role.ADMIN)
def deactivate(user_id: int) -> ResponseReturnValue:
    """Stop an account signing in and end its sessions."""
    return _account_action(user_id, accounts.deactivate_user,
                           _("The account has been deactivated and signed out everywhere."))


@bp.post("/users/<int:user_id>/reactivate")
@roles_required(Role.ADMIN)
def reactivate(user_id: int) -> ResponseReturnValue:
    """Let a deactivated account sign in again."""
    return _account_action(user_id, accounts.reactivate_user, _("The account has been reactivated."))


@bp.post("/users/<int:user_id>/reset-two-step")
@roles_required(Role.ADMIN)
def reset_two_step(user_id: int) -> ResponseReturnValue:
    """Clear an account's two-step verification (a lost phone); they set it up at their next sign-in."""
    return _account_action(user_id, mfa.reset,
                           _("Two-step verification has been reset. The person sets it up again when they next sign in."))


@bp.get("/mails")
@roles_required(Role.ADMIN)
def mails() -> ResponseReturnValue:
    """The emails that could not be delivered, newest first, and the outbox's counts."""
    page = mail.failed_mails(page_number(), PAGE)
    return render_template("admin/mails.html", page=page, counts=mail.count_by_status())


@bp.post("/mails/<int:mail_id>/retry")
@roles_required(Role.ADMIN)
def retry_mail(mail_id: int) -> ResponseReturnValue:
    """Send a failed email again (a fresh round of attempts)."""
    row = db.get(OutboxMail, mail_id) or abort(404)
    if not CsrfForm().validate_on_submit():
        abort(400)
    try:
        mail.retry_failed(current_user, row)
    except DomainError as error:
        db.rollback()
        flash(error.message, "error")
        return redirect(url_for("admin.mails")), 303
    db.commit()
    flash(_("The email is queued again."), "success")
    return redirect(url_for("admin.mails"))
