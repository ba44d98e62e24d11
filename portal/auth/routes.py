"""Sign in, sign out, startup self-registration, account settings, password reset, email
verification, and a user's own personal data (download, closing the account)."""

from __future__ import annotations

import json
from datetime import datetime

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user, logout_user

from models import User
from models.vocabulary import TokenPurpose

from ..database import db
from ..errors import DomainError
from ..extensions import client_address, limiter
from ..forms import CsrfForm
from ..security import MFA_NEXT_KEY, MFA_SESSION_KEY, is_safe_local_path, sign_in_again
from ..services import accounts, invitations, mfa, privacy, proposals
from ..templating import current_locale
from .forms import (
    AcceptInvitationForm,
    ChangeEmailForm,
    ChangeNameForm,
    ChangePasswordForm,
    CloseAccountForm,
    ForgotPasswordForm,
    LoginForm,
    RecoveryCodesForm,
    RegisterForm,
    ResetPasswordForm,
    TwoStepDisableForm,
    TwoStepForm,
    TwoStepSetupForm,
)

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """``next`` if it stays on this site, else the home page (no open redirect)."""
    return target if is_safe_local_path(target) else url_for("main.index")



def _end_session_keeping_language() -> None:
    """Sign out and start a fresh session; the interface language chosen stays."""
    logout_user()
    chosen = session.get("locale")
    session.clear()
    if chosen:
        session["locale"] = chosen


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])
def login() -> ResponseReturnValue:
    """Sign in with email and password."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(form.email.data, form.password.data, client_address())
        except DomainError as error:
            db.commit()  # keep the failed attempt: it counts towards the throttle
            form.apply_domain_error(error)
        else:
            db.commit()
            chosen = session.get("locale")  # a language picked before signing in stays
            session.clear()  # a fresh session on sign-in defeats session fixation
            login_user(user)
            session["locale"] = chosen or user.locale
            if user.mfa_enabled or user.mfa_required:
                # The password is only the first step: every page waits for the second.
                session[MFA_NEXT_KEY] = _safe_next(request.args.get("next"))
                return redirect(url_for("auth.two_step" if user.mfa_enabled else "auth.two_step_setup"))
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form), 200 if not form.errors else 400


@bp.route("/login/two-step", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])
@login_required
def two_step() -> ResponseReturnValue:
    """The second sign-in step: a code from the authenticator app, or a recovery code."""
    if session.get(MFA_SESSION_KEY) or not current_user.mfa_enabled:
        return redirect(url_for("main.index"))
    form = TwoStepForm()
    if form.validate_on_submit():
        try:
            kind = mfa.verify(current_user, form.code.data)
        except DomainError as error:
            db.commit()  # keep the counted attempt: it counts towards the limit
            form.apply_domain_error(error)
        else:
            db.commit()
            session[MFA_SESSION_KEY] = True
            if kind == "recovery":
                left = mfa.recovery_codes_left(current_user)
                flash(ngettext("You used a recovery code. You have %(num)d left.",
                               "You used a recovery code. You have %(num)d left.", left), "info")
            return redirect(_safe_next(session.pop(MFA_NEXT_KEY, None)))
    return render_template("auth/two_step.html", form=form), 400 if form.errors else 200


def _render_setup(form: TwoStepSetupForm, token: str | None = None, status: int = 200) -> ResponseReturnValue:
    enrolment = mfa.start_enrolment(current_user, token)
    form.enrolment.data = enrolment.token
    return render_template("auth/two_step_setup.html", form=form, enrolment=enrolment), status


@bp.route("/account/two-step", methods=["GET", "POST"])
@login_required
def two_step_setup() -> ResponseReturnValue:
    """Set up two-step verification: scan the QR code, enter a code, keep the recovery codes."""
    if current_user.mfa_enabled:
        return redirect(url_for("auth.account"))
    form = TwoStepSetupForm()
    if form.validate_on_submit():
        try:
            codes = mfa.enable(current_user, form.enrolment.data, form.code.data)
        except DomainError as error:
            db.rollback()
            form.apply_domain_error(error)
        else:
            db.commit()
            sign_in_again(current_user._get_current_object())  # the other sessions ended
            session[MFA_SESSION_KEY] = True
            # Shown this once: only their hashes are stored.
            return render_template("auth/recovery_codes.html", codes=codes,
                                   next_url=_safe_next(session.pop(MFA_NEXT_KEY, None)))
    return _render_setup(form, form.enrolment.data if form.errors else None, 400 if form.errors else 200)


@bp.post("/account/two-step/recovery-codes")
@login_required
@limiter.limit("10 per minute", methods=["POST"])
def recovery_codes() -> ResponseReturnValue:
    """New recovery codes after a current code from the app; the old ones stop working."""
    form = RecoveryCodesForm(prefix="rc")
    if form.validate_on_submit():
        try:
            codes = mfa.regenerate_recovery_codes(current_user, form.code.data)
        except DomainError as error:
            db.commit()  # a wrong code counts towards the limit
            form.apply_domain_error(error)
        else:
            db.commit()
            return render_template("auth/recovery_codes.html", codes=codes, next_url=url_for("auth.account"))
    return _render_account(codes_form=form, status=400)


@bp.post("/account/two-step/off")
@login_required
@limiter.limit("10 per minute", methods=["POST"])
def two_step_off() -> ResponseReturnValue:
    """Turn two-step verification off after the password (not for the roles that require it)."""
    form = TwoStepDisableForm(prefix="off")
    if form.validate_on_submit():
        try:
            mfa.disable(current_user, form.current_password.data)
        except DomainError as error:
            db.commit()  # keep the counted re-check of the password
            form.apply_domain_error(error)
        else:
            db.commit()
            sign_in_again(current_user._get_current_object())
            flash(_("Two-step verification is off. Other sessions have been signed out."), "success")
            return redirect(url_for("auth.account"))
    return _render_account(off_form=form, status=400)


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def accept_invitation(token: str) -> ResponseReturnValue:
    """Accept an invitation: choose a password; the account is created and signed in."""
    invitation = invitations.find(token)
    if invitation is None:
        return render_template("auth/invitation_invalid.html"), 404
    if current_user.is_authenticated:
        return render_template("auth/invitation_signed_in.html"), 409 if request.method == "POST" else 200
    form = AcceptInvitationForm()
    if form.validate_on_submit():
        try:
            user = invitations.accept(invitation, form.password.data)
            accounts.record_sign_in(user, client_address())
        except DomainError as error:
            db.rollback()
            form.apply_domain_error(error)
        else:
            db.commit()
            session.clear()
            login_user(user)
            session["locale"] = user.locale
            flash(_("Welcome to InnoMatch. Your account is ready."), "success")
            if user.mfa_required:
                return redirect(url_for("auth.two_step_setup"))
            return redirect(url_for("main.index"))
    return render_template("auth/accept_invitation.html", form=form, invitation=invitation), 400 if form.errors else 200


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """Sign out and end the session on the server too."""
    if current_user.is_authenticated:
        accounts.end_sessions(current_user)
        db.commit()
    _end_session_keeping_language()
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
            accounts.register_startup(data)
        except DomainError as error:
            db.rollback()
            form.apply_domain_error(error)
        else:
            # The same answer whether the address was new (account created) or already had an
            # account (that address is emailed instead), so the form cannot test which emails exist.
            db.commit()
            return redirect(url_for("auth.registered"))
    return render_template("auth/register.html", form=form), 200 if not form.errors else 400


@bp.get("/register/check-email")
def registered() -> ResponseReturnValue:
    """Say what happens next after registering (the same page whether or not the email was new)."""
    return render_template("auth/registered.html")


@bp.get("/account/still-here")
@limiter.limit("30 per minute")
def still_here() -> ResponseReturnValue:
    """Someone is typing on a page: the session's idle clock restarts (the request's session
    check stamps it, as any request does). The page's script asks at most every few minutes
    while its form is being filled in, so a pitch written for longer than the idle limit is
    not lost to a sign-out; the absolute limit still holds. Answers nothing."""
    response = Response(status=204)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/account", methods=["GET", "POST"])
@login_required
@limiter.limit("10 per minute", methods=["POST"])
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
                    revoked = accounts.change_password(
                        current_user, form.current_password.data, form.new_password.data
                    )
                else:
                    accounts.change_email(current_user, form.current_password.data, form.email.data)
            except DomainError as error:
                # Every check comes before any change: what is left to keep is the counted
                # re-check of the password (accounts.recheck_password).
                db.commit()
                form.apply_domain_error(error)
            else:
                db.commit()
                if form is password_form:
                    # The token rotated; sign this browser in again with the new one.
                    # The user, not the proxy (which would then resolve to itself).
                    sign_in_again(current_user._get_current_object())
                    flash(_("Your password has been changed. Other sessions have been signed out."), "success")
                    if revoked:
                        flash(ngettext("Your %(num)d API token was revoked with the old password: create a new one "
                                       "for any system that used it.",
                                       "Your %(num)d API tokens were revoked with the old password: create new ones "
                                       "for any systems that used them.", revoked), "info")
                else:
                    flash(
                        _("We have sent a link to %(email)s. Your email address changes when you follow it.",
                          email=form.email.data.strip().lower()),
                        "success",
                    )
                return redirect(url_for("auth.account"))
        return _render_account(password_form=password_form, email_form=email_form, status=400)
    return _render_account(password_form=password_form, email_form=email_form)


@bp.post("/account/name")
@login_required
@limiter.limit("10 per minute")
def change_name() -> ResponseReturnValue:
    """Change the name the account is shown by (to the lab, the department and the team)."""
    form = ChangeNameForm(prefix="nm")
    if form.validate_on_submit():
        try:
            accounts.change_name(current_user, form.display_name.data or "")
        except DomainError as error:
            form.apply_domain_error(error)
        else:
            db.commit()
            flash(_("Your name is changed."), "success")
            return redirect(url_for("auth.account"))
    return _render_account(name_form=form, status=400)


@bp.post("/account/email/cancel")
@login_required
@limiter.limit("10 per minute")
def cancel_email_change() -> ResponseReturnValue:
    """Cancel a pending change of email (the link sent to the new address stops working)."""
    if not CsrfForm().validate_on_submit():
        abort(400)
    if accounts.cancel_email_change(current_user):
        db.commit()
        flash(_("The change of email address is cancelled: the link we sent no longer works."), "success")
    else:
        flash(_("No change of email address was waiting."), "info")
    return redirect(url_for("auth.account"))


@bp.app_template_global()
def registration_deadline(user: User) -> datetime | None:
    """When an unconfirmed startup registration is removed (the confirmation banner); asked
    once per request."""
    asked: dict[int, datetime | None] = g.setdefault("registration_deadlines", {})
    if user.id not in asked:
        asked[user.id] = privacy.registration_deadline(user)
    return asked[user.id]


def _render_account(*, password_form: ChangePasswordForm | None = None, email_form: ChangeEmailForm | None = None,
                    codes_form: RecoveryCodesForm | None = None, off_form: TwoStepDisableForm | None = None,
                    name_form: ChangeNameForm | None = None, status: int = 200) -> ResponseReturnValue:
    return render_template(
        "auth/account.html",
        name_form=name_form or ChangeNameForm(prefix="nm", formdata=None, display_name=current_user.display_name),
        pending_email=accounts.pending_email(current_user),
        password_form=password_form or ChangePasswordForm(prefix="pw", formdata=None),
        email_form=email_form or ChangeEmailForm(prefix="em", formdata=None),
        codes_form=codes_form or RecoveryCodesForm(prefix="rc", formdata=None),
        off_form=off_form or TwoStepDisableForm(prefix="off", formdata=None),
        codes_left=mfa.recovery_codes_left(current_user) if current_user.mfa_enabled else 0,
    ), status


def _signed_in_again_if(user: User, before: str | None) -> None:
    """Keep this browser signed in after the user's session token rotated (the others end),
    if it was signed in as the user with the token of just ``before`` (``User.get_id``). A
    session that had already ended (signed out, or ended by a change of password) is not
    brought back."""
    if before is not None and session.get("_user_id") == before:
        sign_in_again(user)


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit("5 per minute;30 per hour", methods=["POST"])
def forgot_password() -> ResponseReturnValue:
    """Ask for a password reset link; the answer is the same whether or not the address has an account."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        accounts.request_password_reset(form.email.data)
        db.commit()
        flash(
            _("If an account uses %(email)s, we have emailed it a link to choose a new password. "
              "The link works for one hour.", email=form.email.data.strip().lower()),
            "success",
        )
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot.html", form=form), 200 if not form.errors else 400


def _link_not_valid(purpose: str) -> ResponseReturnValue:
    """The page for a spent, expired or replaced emailed link, with the next step for its
    ``purpose`` ("reset": ask for a new link; "verify": sign in, where the account page says
    whether the address is confirmed and sends a new link)."""
    return render_template("auth/link_invalid.html", purpose=purpose), 404


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def reset_password(token: str) -> ResponseReturnValue:
    """Choose a new password through an emailed link; every session of the account ends."""
    if accounts.find_token(token, TokenPurpose.RESET_PASSWORD) is None:
        return _link_not_valid("reset")
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.reset_password(token, form.password.data)
        except DomainError as error:
            db.rollback()
            form.apply_domain_error(error)
        else:
            db.commit()
            _end_session_keeping_language()
            flash(_("Your password has been changed and every session of your account has ended. Please sign in."),
                  "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form), 200 if not form.errors else 400


def _next_after_confirming() -> str:
    """Where a confirmed address leads: a startup that has described nothing yet to its first
    capability (what it is recommended by), anyone else signed in to their home page."""
    if not current_user.is_authenticated:
        flash(_("Your email address is confirmed."), "success")
        return url_for("auth.login")
    if current_user.is_startup and current_user.startup_id and not proposals.own_capabilities(current_user.startup_id):
        flash(_("Your email address is confirmed. Next, describe what your startup offers: challenges are "
                "recommended to you by it."), "success")
        return url_for("startups.new_capability")
    flash(_("Your email address is confirmed."), "success")
    return url_for("main.index")


@bp.route("/account/verify/<token>", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def verify_email(token: str) -> ResponseReturnValue:
    """Confirm an email address through an emailed link (a button, so mail scanners do not spend it)."""
    found = accounts.find_token(token, TokenPurpose.VERIFY_EMAIL)
    if found is None:
        return _link_not_valid("verify")
    form = CsrfForm()
    if form.validate_on_submit():
        owner = db.get(User, found.user_id)
        before = owner.get_id() if owner is not None else None
        try:
            user = accounts.confirm_email(token)
        except DomainError as error:
            db.rollback()
            form.apply_domain_error(error)
        else:
            db.commit()
            _signed_in_again_if(user, before)
            return redirect(_next_after_confirming())
    return render_template("auth/verify.html", form=form, address=found.email), 200 if not form.errors else 400


@bp.post("/account/verify/resend")
@login_required
@limiter.limit("3 per minute")
def resend_verification() -> ResponseReturnValue:
    """Send the email verification link again."""
    form = CsrfForm()
    if not form.validate_on_submit():
        abort(400)
    sent = accounts.resend_verification(current_user)
    db.commit()
    if sent:
        flash(_("We have sent a new link to %(email)s.", email=current_user.email), "success")
    elif current_user.email_verified:
        flash(_("Your email address is already confirmed."), "info")
    else:
        flash(_("We could not send a new link now. Please check your inbox, or try again in an hour."), "error")
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/account/sessions/end")
@login_required
@limiter.limit("10 per minute")
def end_other_sessions() -> ResponseReturnValue:
    """Sign out every other browser of this account (a phone left signed in, a shared
    computer); this one stays signed in, with its absolute limit unchanged."""
    if not CsrfForm().validate_on_submit():
        abort(400)
    user = current_user._get_current_object()  # the user, not the proxy (sign_in_again)
    accounts.end_other_sessions(user)
    db.commit()
    sign_in_again(user)
    flash(_("Every other session of your account is signed out."), "success")
    return redirect(url_for("auth.account"))


@bp.get("/account/data.json")
@login_required
@limiter.limit("10 per minute")
def export_data() -> ResponseReturnValue:
    """Download the personal data InnoMatch holds about the signed-in user, as JSON."""
    data = privacy.export_personal_data(current_user)
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2),
        mimetype="application/json",
        headers={"Content-Disposition": 'attachment; filename="innomatch-personal-data.json"'},
    )


@bp.route("/account/close", methods=["GET", "POST"])
@login_required
@limiter.limit("10 per minute", methods=["POST"])
def close_account() -> ResponseReturnValue:
    """Close the user's own account after re-entering the password; personal data is erased."""
    form = CloseAccountForm()
    if form.validate_on_submit():
        try:
            privacy.close_account(current_user, form.current_password.data)
        except DomainError as error:
            db.commit()  # keep the counted re-check of the password
            form.apply_domain_error(error)
        else:
            db.commit()
            _end_session_keeping_language()
            flash(_("Your account is closed and your personal data has been erased."), "success")
            return redirect(url_for("main.index"))
    return render_template(
        "auth/close.html", form=form, last_member=privacy.last_member_of_startup(current_user),
    ), 200 if not form.errors else 400
