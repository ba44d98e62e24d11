"""Sign in, sign out, startup self-registration, account settings."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..database import db
from ..errors import DomainError
from ..extensions import limiter
from ..security import is_safe_local_path
from ..services import accounts
from ..templating import current_locale
from .forms import ChangeEmailForm, ChangePasswordForm, LoginForm, RegisterForm

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """``next`` if it stays on this site, else the home page (no open redirect)."""
    return target if is_safe_local_path(target) else url_for("main.index")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])
def login() -> ResponseReturnValue:
    """Sign in with email and password."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(form.email.data, form.password.data, request.remote_addr or "")
        except DomainError as error:
            db.commit()  # keep the failed attempt: it counts towards the throttle
            form.apply_domain_error(error)
        else:
            db.commit()
            chosen = session.get("locale")  # a language picked before signing in stays
            session.clear()  # a fresh session on sign-in defeats session fixation
            login_user(user)
            session["locale"] = chosen or user.locale
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form), 200 if not form.errors else 400


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """Sign out and end the session on the server too."""
    if current_user.is_authenticated:
        accounts.end_sessions(current_user)
        db.commit()
    logout_user()
    chosen = session.get("locale")
    session.clear()
    if chosen:
        session["locale"] = chosen
    flash(_("You have signed out."), "success")
    return redirect(url_for("main.index"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def register() -> ResponseReturnValue:
    """Register a startup and its first member."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        data = accounts.StartupRegistration(
            email=form.email.data,
            password=form.password.data,
            display_name=form.display_name.data,
            startup_name=form.startup_name.data,
            website=form.website.data or "",
            size=form.size.data,
            # The language the founder is reading now (chosen, or their browser's), kept after sign-in.
            locale=current_locale(),
        )
        try:
            user = accounts.register_startup(data)
        except DomainError as error:
            db.rollback()
            form.apply_domain_error(error)
        else:
            db.commit()
            chosen = session.get("locale")
            session.clear()
            login_user(user)
            if chosen:
                session["locale"] = chosen
            flash(_("Welcome to InnoMatch. Describe what your startup offers to get recommendations."), "success")
            return redirect(url_for("startups.new_capability"))
    return render_template("auth/register.html", form=form), 200 if not form.errors else 400


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account() -> ResponseReturnValue:
    """Change the password or the sign-in email, after re-entering the password."""
    password_form = ChangePasswordForm(prefix="pw")
    email_form = ChangeEmailForm(prefix="em")
    if request.method == "POST":
        which = request.form.get("action")
        form = password_form if which == "password" else email_form
        if form.validate_on_submit():
            try:
                if form is password_form:
                    accounts.change_password(current_user, form.current_password.data, form.new_password.data)
                else:
                    accounts.change_email(current_user, form.current_password.data, form.email.data)
            except DomainError as error:
                db.rollback()
                form.apply_domain_error(error)
            else:
                db.commit()
                if form is password_form:
                    # The token rotated; sign this browser in again with the new one.
                    login_user(current_user)
                    flash(_("Your password has been changed. Other sessions have been signed out."), "success")
                else:
                    flash(_("Your email address has been changed."), "success")
                return redirect(url_for("auth.account"))
        return render_template("auth/account.html", password_form=password_form, email_form=email_form), 400
    return render_template("auth/account.html", password_form=password_form, email_form=email_form)
