"""Administration: accounts of officers, coordinators and admins."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from models import Department, User
from models.vocabulary import Role

from ..access import roles_required
from ..database import db
from ..errors import DomainError
from ..services import accounts
from .forms import CreateUserForm

bp = Blueprint("admin", __name__, url_prefix="/admin")
PAGE = 50


@bp.get("/users")
@roles_required(Role.ADMIN)
def users() -> ResponseReturnValue:
    """List accounts, newest first."""
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 10_000))
    total = db.scalar(select(func.count()).select_from(User)) or 0
    rows = db.scalars(select(User).order_by(User.id.desc()).offset((page - 1) * PAGE).limit(PAGE)).all()
    return render_template("admin/users.html", users=rows, page=page, pages=max(1, -(-total // PAGE)), total=total)


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
