"""Startup profiles, capabilities, proposals, and the lab's startup list and verification."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from models import Capability, Challenge, Proposal, Startup
from models.vocabulary import ProposalStatus, Role

from ..access import (
    can_edit_startup,
    can_view_challenge,
    can_view_proposal,
    can_view_startup,
    is_member,
    refusal,
    roles_required,
)
from ..database import db
from ..errors import DomainError
from ..extensions import limiter
from ..forms import BaseForm, CsrfForm, clean_text, form_status, parse_id
from ..services import conflicts, documents, invitations, proposals, startups
from .forms import CapabilityForm, InviteColleagueForm, NewProposalForm, ProposalForm, StartupForm
from .labels import template_helpers

bp = Blueprint("startups", __name__)

_MAX_ID = 2**31 - 1
bp.context_processor(template_helpers)


def _status(form: BaseForm) -> int:
    return form_status(form)


# --- Profile -------------------------------------------------------------------------------


@bp.get("/startups/<int:startup_id>")
@login_required
def profile(startup_id: int) -> ResponseReturnValue:
    """Show a startup's profile and capabilities to officers, the lab and its own members."""
    startup = db.get(Startup, startup_id) or abort(404)
    if not can_view_startup(current_user, startup):
        abort(403)
    return render_template(
        "startups/profile.html",
        startup=startup,
        can_edit=can_edit_startup(current_user, startup),
        conflicted=conflicts.has_conflict(current_user, startup.id),
        confirm=CsrfForm(),
    )


@bp.get("/startups/mine")
@roles_required(Role.STARTUP)
def mine() -> ResponseReturnValue:
    """Go to the signed-in member's own startup profile."""
    return redirect(url_for("startups.profile", startup_id=current_user.startup_id))


@bp.route("/startups/team", methods=["GET", "POST"])
@roles_required(Role.STARTUP)
@limiter.limit("10 per minute", methods=["POST"])
def team() -> ResponseReturnValue:
    """The member's startup's people: its members, the invitations waiting, and a form to
    invite a colleague (or, posted with ``revoke``, to withdraw an invitation)."""
    form = InviteColleagueForm()
    if request.method == "GET":  # the invitation in the language of the page, unless chosen
        form.locale.data = "zh_Hant_HK" if str(get_locale() or "").startswith("zh") else "en"
    if request.method == "POST" and "revoke" in request.form:
        if not CsrfForm().validate_on_submit():
            abort(400)
        try:
            invitation = invitations.revoke_for_startup(current_user, parse_id(request.form.get("revoke")) or abort(400))
        except DomainError as error:
            db.rollback()
            abort(error.status, error.message)
        db.commit()
        flash(_("The invitation to %(email)s is withdrawn: its link no longer works.", email=invitation.email), "success")
        return redirect(url_for("startups.team"))
    if form.validate_on_submit():
        try:
            invitation = invitations.invite_to_startup(
                current_user, email=form.email.data, display_name=form.display_name.data, locale=form.locale.data)
        except DomainError as error:
            db.rollback()
            form.apply_domain_error(error)
        else:
            db.commit()
            flash(_("Invitation sent to %(email)s. The link works once, for 7 days.", email=invitation.email), "success")
            return redirect(url_for("startups.team"))
    startup = db.get(Startup, current_user.startup_id) or abort(404)
    return render_template(
        "startups/team.html", startup=startup, form=form, confirm=CsrfForm(),
        members=startups.members(startup.id), pending=invitations.pending_for_startup(startup.id),
    ), form_status(form)


@bp.route("/startups/<int:startup_id>/edit", methods=["GET", "POST"])
@roles_required(Role.STARTUP)
def edit(startup_id: int) -> ResponseReturnValue:
    """Edit the profile of the member's startup."""
    startup = db.get(Startup, startup_id) or abort(404)
    if not can_edit_startup(current_user, startup):
        abort(403)
    form = StartupForm(obj=startup)
    if form.validate_on_submit() and not form.saved_elsewhere(startup, _("this profile")):
        was_verified = startup.verified
        try:
            startups.update_startup(current_user, startup, form.data_for_service())
        except DomainError as error:
            db.rollback()
            form.apply_domain_error(error)
        else:
            db.commit()
            flash(_("Profile saved."), "success")
            if was_verified and not startup.verified:
                flash(_("The name changed, so the lab will check your registration again before the "
                        "profile shows as verified."), "info")
            return redirect(url_for("startups.profile", startup_id=startup.id))
    return render_template("startups/edit.html", form=form, startup=startup), _status(form)


# --- Capabilities ----------------------------------------------------------------------------


@bp.route("/startups/capabilities/new", methods=["GET", "POST"])
@roles_required(Role.STARTUP)
def new_capability() -> ResponseReturnValue:
    """Add a capability to the member's startup."""
    startup = db.get(Startup, current_user.startup_id) or abort(404)
    form = CapabilityForm()
    if form.validate_on_submit():
        try:
            startups.create_capability(current_user, startup, form.data_for_service())
        except DomainError as error:
            db.rollback()
            form.apply_domain_error(error)
        else:
            db.commit()
            flash(_("Capability added."), "success")
            return redirect(url_for("startups.profile", startup_id=startup.id))
    return render_template("startups/capability_form.html", form=form, startup=startup, capability=None), _status(form)


@bp.route("/capabilities/<int:capability_id>/edit", methods=["GET", "POST"])
@roles_required(Role.STARTUP)
def edit_capability(capability_id: int) -> ResponseReturnValue:
    """Edit a capability of the member's startup."""
    capability = db.get(Capability, capability_id) or abort(404)
    if not can_edit_startup(current_user, capability.startup):
        abort(refusal(can_view_startup(current_user, capability.startup)))
    form = CapabilityForm(obj=capability)
    if form.validate_on_submit() and not form.saved_elsewhere(capability, _("this capability")):
        try:
            startups.update_capability(current_user, capability, form.data_for_service())
        except DomainError as error:
            db.rollback()
            form.apply_domain_error(error)
        else:
            db.commit()
            flash(_("Capability saved."), "success")
            return redirect(url_for("startups.profile", startup_id=capability.startup_id))
    return (
        render_template("startups/capability_form.html", form=form, startup=capability.startup, capability=capability),
        _status(form),
    )


@bp.route("/capabilities/<int:capability_id>/delete", methods=["GET", "POST"])
@roles_required(Role.STARTUP)
def delete_capability(capability_id: int) -> ResponseReturnValue:
    """Confirm, then delete, a capability of the member's startup."""
    capability = db.get(Capability, capability_id) or abort(404)
    if not can_edit_startup(current_user, capability.startup):
        abort(refusal(can_view_startup(current_user, capability.startup)))
    form = CsrfForm()
    if form.validate_on_submit():
        startup_id = capability.startup_id
        try:
            startups.delete_capability(current_user, capability)
        except DomainError as error:
            db.rollback()
            form.apply_domain_error(error)
        else:
            db.commit()
            flash(_("Capability deleted."), "success")
            return redirect(url_for("startups.profile", startup_id=startup_id))
    return (
        render_template(
            "startups/capability_delete.html",
            form=form,
            capability=capability,
            problem=None if form.errors else startups.deletion_problem(capability),
        ),
        _status(form),
    )


# --- Proposals -------------------------------------------------------------------------------


@bp.route("/challenges/<int:challenge_id>/propose", methods=["GET", "POST"])
@roles_required(Role.STARTUP)
def propose(challenge_id: int) -> ResponseReturnValue:
    """Propose one of the startup's capabilities for an open challenge."""
    challenge = db.get(Challenge, challenge_id) or abort(404)
    if not can_view_challenge(current_user, challenge):
        abort(404)
    form = NewProposalForm(capabilities=proposals.own_capabilities(current_user.startup_id))
    if form.validate_on_submit():  # a body over DOCUMENT_MAX_REQUEST_BYTES raises 413: _too_large
        try:
            proposal = proposals.submit_proposal(current_user, challenge, form.data_for_service())
            upload = form.upload()
            if upload is not None:  # sent with the proposal: both are kept, or neither
                documents.attach_document(current_user, proposal, upload.stream, upload.filename)
        except DomainError as error:
            db.rollback()
            form.apply_domain_error(error)
        else:
            db.commit()
            flash(_("Your proposal has been sent to the lab."), "success")
            return redirect(url_for("startups.my_proposals"))
    return _propose_page(challenge, form, _status(form))


def _propose_page(challenge: Challenge, form: NewProposalForm, status: int) -> ResponseReturnValue:
    return (
        render_template(
            "startups/propose.html",
            form=form,
            challenge=challenge,
            closed_reason=proposals.closed_reason(challenge),
            existing=proposals.existing_proposal(current_user.startup_id, challenge.id),
        ),
        status,
    )


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_error: RequestEntityTooLarge) -> ResponseReturnValue:
    """A proposal sent with a file over the request limit: the form again, with the limit (413)."""
    challenge_id = int((request.view_args or {}).get("challenge_id", 0))
    challenge = db.get(Challenge, challenge_id) if request.endpoint == "startups.propose" and challenge_id else None
    member = current_user.is_authenticated and current_user.is_startup
    if challenge is None or not member or not can_view_challenge(current_user, challenge):
        return render_template("errors/413.html", code=413, description=None, message=None), 413
    form = NewProposalForm(formdata=None, capabilities=proposals.own_capabilities(current_user.startup_id))
    form.file.errors = [_("The file is larger than %(size)s. Choose a smaller file.",
                          size=documents.human_size(documents.max_bytes()))]
    return _propose_page(challenge, form, 413)


@bp.get("/startups/proposals")
@roles_required(Role.STARTUP)
def my_proposals() -> ResponseReturnValue:
    """List the proposals of the member's startup with their trial's state."""
    rows = proposals.proposals_for_startup(current_user.startup_id)
    # A proposal behind a trial that went ahead is the trial's record: no withdraw button.
    return render_template("startups/proposals.html", rows=rows, editable=proposals.editable,
                           withdrawable=proposals.withdrawable)


@bp.get("/startups/trials")
@roles_required(Role.STARTUP)
def my_trials() -> ResponseReturnValue:
    """List the trials of the member's startup with their state and the next step."""
    return render_template("startups/trials.html", trials=proposals.trials_for_startup(current_user.startup_id))


@bp.route("/proposals/<int:proposal_id>/edit", methods=["GET", "POST"])
@roles_required(Role.STARTUP)
def edit_proposal(proposal_id: int) -> ResponseReturnValue:
    """Change the pitch or the capability of a proposal the lab has not reviewed yet."""
    proposal = (db.get(Proposal, proposal_id) if proposal_id <= _MAX_ID else None) or abort(404)
    if not is_member(current_user, proposal.startup_id):
        abort(refusal(can_view_proposal(current_user, proposal)))
    trial = proposals.trial_for(proposal.challenge_id, proposal.startup_id)
    form = ProposalForm(obj=proposal, capabilities=proposals.own_capabilities(current_user.startup_id))
    status = 200
    if form.validate_on_submit() and not form.saved_elsewhere(proposal, _("this proposal")):
        try:
            proposals.update_proposal(current_user, proposal, form.data_for_service())
        except DomainError as error:
            db.rollback()
            form.apply_domain_error(error)
            status = error.status
        else:
            db.commit()
            flash(_("Your proposal has been saved."), "success")
            return redirect(url_for("startups.my_proposals"))
    elif form.errors:
        status = form_status(form)
    return render_template(
        "startups/proposal_edit.html", form=form, proposal=proposal, trial=trial,
        editable=proposals.editable(proposal, trial),
    ), status


@bp.route("/proposals/<int:proposal_id>/withdraw", methods=["GET", "POST"])
@roles_required(Role.STARTUP)
def withdraw_proposal(proposal_id: int) -> ResponseReturnValue:
    """Withdraw a proposal of the member's startup, once the member has confirmed it (the
    list's button leads to a page that says what withdrawing means: a startup proposes
    once for a challenge)."""
    proposal = (db.get(Proposal, proposal_id) if proposal_id <= _MAX_ID else None) or abort(404)
    if not is_member(current_user, proposal.startup_id):
        abort(refusal(can_view_proposal(current_user, proposal)))
    if request.method == "GET":
        reason = proposals.withdraw_refusal(proposal, proposals.trial_for(proposal.challenge_id, proposal.startup_id))
        if reason is not None:
            flash(reason, "info" if proposal.status == ProposalStatus.WITHDRAWN else "error")
            return redirect(url_for("startups.my_proposals"))
        return render_template("startups/proposal_withdraw.html", proposal=proposal, confirm=CsrfForm())
    if not CsrfForm().validate_on_submit():
        abort(400)
    try:
        proposals.withdraw_proposal(current_user, proposal)
    except DomainError as error:
        db.rollback()
        flash(error.message, "error")
    else:
        db.commit()
        flash(_("Your proposal has been withdrawn."), "success")
    return redirect(url_for("startups.my_proposals"))


# --- The lab's list and verification --------------------------------------------------------


@bp.get("/startups")
@roles_required(Role.COORDINATOR, Role.ADMIN)
def index() -> ResponseReturnValue:
    """List startups for the lab, filtered by verification and name."""
    verified = {"yes": True, "no": False}.get(request.args.get("verified", ""))
    text = clean_text(request.args.get("q", ""))[:100]
    page = request.args.get("page", "1")
    result = startups.search_startups(
        verified=verified,
        text=text,
        page=int(page) if page.isascii() and page.isdigit() and len(page) < 7 else 1,
        per_page=current_app.config.get("PAGE_SIZE", 20),
    )
    return render_template("startups/index.html", result=result, verified=request.args.get("verified", ""), q=text)


def _set_verified(startup_id: int, verified: bool) -> ResponseReturnValue:
    startup = db.get(Startup, startup_id) or abort(404)
    if not CsrfForm().validate_on_submit():
        abort(400)
    try:
        startups.verify_startup(current_user, startup, verified)
    except DomainError as error:
        db.rollback()
        flash(error.message, "error")
    else:
        db.commit()
        flash(_("Startup verified.") if verified else _("Startup marked as not verified."), "success")
    return redirect(url_for("startups.profile", startup_id=startup_id))


@bp.post("/startups/<int:startup_id>/verify")
@roles_required(Role.COORDINATOR, Role.ADMIN)
def verify(startup_id: int) -> ResponseReturnValue:
    """Mark a startup as verified by the lab."""
    return _set_verified(startup_id, True)


@bp.post("/startups/<int:startup_id>/unverify")
@roles_required(Role.COORDINATOR, Role.ADMIN)
def unverify(startup_id: int) -> ResponseReturnValue:
    """Withdraw a startup's verified mark."""
    return _set_verified(startup_id, False)
