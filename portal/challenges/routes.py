"""Challenges: the public list and pages, and the officers' posting, editing, opening and closing."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from models import Challenge, ChallengeQuestion, Department, Proposal, User
from models.vocabulary import ChallengeStatus, Role

from ..access import (
    can_answer_question,
    can_ask_question,
    can_edit_challenge,
    can_hide_question,
    can_read_proposals,
    can_read_questions,
    can_request_shortlist,
    can_see_recommended_startups,
    can_sit_on_panel,
    can_view_challenge,
    roles_required,
)
from ..database import db
from ..errors import DomainError, StaleState
from ..extensions import limiter
from ..forms import CsrfForm, form_status, page_number
from ..services import challenges, inbox, panel, proposals, questions, similar, trials
from .forms import (
    AnswerForm,
    ChallengeFilterForm,
    ChallengeForm,
    CompareForm,
    HideQuestionForm,
    QuestionForm,
    ShortlistRequestForm,
)

bp = Blueprint("challenges", __name__)

_MAX_ID = 2**31 - 1


def _load(challenge_id: int) -> Challenge:
    """The challenge, or 404 when it does not exist or is a draft the user may not see."""
    # Ids beyond a 32-bit integer cannot exist and would overflow the database driver.
    challenge = db.get(Challenge, challenge_id) if challenge_id <= _MAX_ID else None
    if challenge is None or not can_view_challenge(current_user, challenge):
        abort(404)
    return challenge


def _render_detail(
    challenge: Challenge, error: str | None = None, status: int = 200, question_form: QuestionForm | None = None
) -> ResponseReturnValue:
    can_ask = can_ask_question(current_user, challenge)
    can_edit = can_edit_challenge(current_user, challenge)
    reads_questions = can_read_questions(current_user, challenge)
    own_startup = current_user.startup_id if current_user.is_authenticated and current_user.is_startup else None
    own_proposal = proposals.existing_proposal(own_startup, challenge.id) if own_startup else None
    return (
        render_template(
            "challenges/detail.html",
            challenge=challenge,
            error=error,
            published_questions=questions.published_questions(challenge),
            own_questions=questions.startup_questions(challenge, own_startup),
            can_ask=can_ask,
            question_form=question_form or (QuestionForm(formdata=None) if can_ask else None),
            can_read_questions=reads_questions,
            unanswered=questions.unanswered_count(challenge) if reads_questions else 0,
            waiting_questions=questions.unanswered_questions(challenge) if reads_questions else [],
            can_edit=can_edit,
            # What a draft still needs before it opens (its editors see the list, not a button).
            missing=challenges.missing_to_open(challenge) if can_edit and challenge.status == ChallengeStatus.DRAFT else [],
            can_see_recommended=can_see_recommended_startups(current_user, challenge),
            can_read_proposals=can_read_proposals(current_user, challenge),
            can_score=can_sit_on_panel(current_user, challenge),
            criteria=panel.criteria_of(challenge),
            can_propose=bool(own_startup and challenge.status == ChallengeStatus.OPEN and own_proposal is None),
            # The startup's own proposal: its state instead of a button that leads nowhere.
            own_proposal=own_proposal,
        ),
        status,
    )


@bp.get("/challenges")
def index() -> ResponseReturnValue:
    """List the open and closed challenges, with filters, search and pages."""
    departments = list(db.scalars(select(Department).order_by(Department.name_en)))
    form = ChallengeFilterForm(
        departments, challenges.may_see_drafts(current_user), formdata=request.args,
        by_match=bool(current_user.is_authenticated and current_user.is_startup),
    )
    form.validate()
    page = challenges.search_challenges(current_user, form.filters(), page_number())
    return render_template("challenges/index.html", form=form, page=page), 400 if form.errors else 200


#: Rows per page of the department's own list.
MINE_PAGE_SIZE = 50


@bp.get("/challenges/mine")
@roles_required(Role.OFFICER)
def mine() -> ResponseReturnValue:
    """List the officer's department's challenges with their proposal counts, a page at a time."""
    page = challenges.department_challenges_page(current_user, page_number(), MINE_PAGE_SIZE)
    waiting = questions.unanswered_counts(row.id for row in page.items)
    return render_template(
        "challenges/mine.html", rows=page.items, page=page, department=current_user.department, waiting=waiting
    )


@bp.get("/challenges/trials")
@roles_required(Role.OFFICER)
def our_trials() -> ResponseReturnValue:
    """List the trials of the department's challenges, those waiting for the department first,
    with their state and the department's next step."""
    page = trials.department_trials_page(current_user, page_number(), MINE_PAGE_SIZE)
    return render_template(
        "challenges/trials.html", page=page, department=current_user.department,
    )


#: The form's button that only looks for similar challenges (nothing is saved).
CHECK_SIMILAR = "similar"


def _checking_similar() -> bool:
    return request.method == "POST" and request.form.get("action") == CHECK_SIMILAR


def _render_form(form: ChallengeForm, challenge: Challenge | None) -> ResponseReturnValue:
    """The challenge form as typed, with the published challenges most like it ("Check for
    similar challenges": nothing is validated or saved)."""
    if not CsrfForm().validate_on_submit():
        abort(400)
    draft = form.draft_text()
    found = similar.similar_to_draft(current_user, draft, challenge_id=challenge.id if challenge else None)
    return render_template(
        "challenges/form.html", form=form, challenge=challenge, similar=found, checked=True,
        check_empty=not draft.enough,
    )


@bp.route("/challenges/new", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def create() -> ResponseReturnValue:
    """Post a new challenge for the officer's department, as a draft or open at once."""
    form = ChallengeForm()
    if _checking_similar():
        return _render_form(form, None)
    if form.validate_on_submit():
        publish = request.form.get("action") == "open"
        try:
            challenge = challenges.post_challenge(current_user, form.data_for_service(), publish=publish)
        except DomainError as error:
            db.rollback()
            form.apply_domain_error(error)
        else:
            db.commit()
            flash(_("Challenge opened for proposals.") if publish else _("Challenge saved as a draft."), "success")
            return redirect(url_for("challenges.detail", challenge_id=challenge.id))
    return render_template("challenges/form.html", form=form, challenge=None), 400 if form.errors else 200


@bp.get("/challenges/<int:challenge_id>")
def detail(challenge_id: int) -> ResponseReturnValue:
    """Show a challenge with every field and the actions the user may take."""
    return _render_detail(_load(challenge_id))


@bp.route("/challenges/<int:challenge_id>/edit", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def edit(challenge_id: int) -> ResponseReturnValue:
    """Edit a challenge of the officer's department."""
    challenge = _load(challenge_id)
    if not can_edit_challenge(current_user, challenge):
        abort(403)
    form = ChallengeForm(obj=challenge)
    if _checking_similar():
        return _render_form(form, challenge)
    if form.validate_on_submit() and not form.saved_elsewhere(challenge, _("this challenge")):
        publish = challenge.status != ChallengeStatus.OPEN and request.form.get("action") == "open"
        try:
            challenges.update_challenge(current_user, challenge, form.data_for_service(), publish=publish)
        except DomainError as error:
            db.rollback()
            form.apply_domain_error(error)
        else:
            db.commit()
            flash(_("Challenge opened for proposals.") if publish else _("Challenge saved."), "success")
            return redirect(url_for("challenges.detail", challenge_id=challenge.id))
    return render_template("challenges/form.html", form=form, challenge=challenge), form_status(form)


@bp.post("/challenges/<int:challenge_id>/open", endpoint="open")
@roles_required(Role.OFFICER)
def open_challenge(challenge_id: int) -> ResponseReturnValue:
    """Open a draft or reopen a closed challenge to proposals."""
    return _move(challenge_id, challenges.open_challenge, _("Challenge opened for proposals."))


@bp.post("/challenges/<int:challenge_id>/close", endpoint="close")
@roles_required(Role.OFFICER)
def close_challenge(challenge_id: int) -> ResponseReturnValue:
    """Close an open challenge to new proposals."""
    return _move(challenge_id, challenges.close_challenge, _("Challenge closed."))


def _move(challenge_id: int, service: Callable[[User, Challenge], Challenge], done: str) -> ResponseReturnValue:
    """Load, check, call one status service and answer, for the open and close buttons."""
    challenge = _load(challenge_id)
    if not can_edit_challenge(current_user, challenge):
        abort(403)
    if not CsrfForm().validate_on_submit():
        abort(400)
    try:
        service(current_user, challenge)
    except DomainError as error:
        db.rollback()
        return _render_detail(challenge, error=error.message, status=409 if isinstance(error, StaleState) else 400)
    db.commit()
    flash(done, "success")
    return redirect(url_for("challenges.detail", challenge_id=challenge.id))



#: Proposals per page of a challenge's inbox.
PROPOSALS_PAGE_SIZE = 20


def _load_for_proposals(challenge_id: int) -> Challenge:
    """The challenge, if the user may read the proposals it received (404 or 403 otherwise)."""
    challenge = _load(challenge_id)
    if not can_read_proposals(current_user, challenge):
        abort(403)
    return challenge


def _inbox(
    challenge: Challenge,
    *,
    compare_form: CompareForm | None = None,
    request_form: ShortlistRequestForm | None = None,
    posted_id: int | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    """Render the challenge's proposals; a posted form (with its errors) replaces its blank twin."""
    page = inbox.received_proposals(challenge, page_number(), PROPOSALS_PAGE_SIZE)
    return (
        render_template(
            "challenges/proposals.html",
            challenge=challenge,
            page=page,
            withdrawn=inbox.withdrawn_count(challenge),
            compare_form=compare_form or CompareForm(formdata=None),
            request_form=request_form or ShortlistRequestForm(formdata=None),
            posted_id=posted_id,
            can_request=can_request_shortlist(current_user, challenge),
            can_score=can_sit_on_panel(current_user, challenge),
            compare_max=inbox.COMPARE_MAX,
        ),
        status,
    )


@bp.get("/challenges/<int:challenge_id>/proposals")
@login_required
def proposals_received(challenge_id: int) -> ResponseReturnValue:
    """List the proposals a challenge received, each in full with its match, a page at a time."""
    return _inbox(_load_for_proposals(challenge_id))


@bp.get("/challenges/<int:challenge_id>/proposals/compare")
@login_required
def compare_proposals(challenge_id: int) -> ResponseReturnValue:
    """Show two to four of the challenge's proposals side by side."""
    challenge = _load_for_proposals(challenge_id)
    if not request.args.getlist("proposal"):  # "Compare" with nothing ticked: say so on the list
        flash(_("Choose %(low)d to %(high)d proposals to compare.", low=inbox.COMPARE_MIN, high=inbox.COMPARE_MAX),
              "error")
        return redirect(url_for("challenges.proposals_received", challenge_id=challenge.id))
    form = CompareForm(formdata=request.args)
    if form.validate():
        try:
            rows = inbox.compared_proposals(challenge, form.proposal_ids() or [])
        except DomainError as error:
            form.apply_domain_error(error)
        else:
            return render_template("challenges/compare.html", challenge=challenge, rows=rows)
    return _inbox(challenge, compare_form=form, status=400)


@bp.post("/challenges/<int:challenge_id>/proposals/<int:proposal_id>/shortlist-request")
@roles_required(Role.OFFICER)
def request_shortlist(challenge_id: int, proposal_id: int) -> ResponseReturnValue:
    """Ask the lab to shortlist one of the challenge's proposals, with a note."""
    challenge = _load(challenge_id)
    if not can_request_shortlist(current_user, challenge):
        abort(403)
    proposal = db.get(Proposal, proposal_id) if proposal_id <= _MAX_ID else None
    if proposal is None or proposal.challenge_id != challenge.id:
        abort(404)
    form = ShortlistRequestForm()
    status = 400
    if form.validate_on_submit():
        try:
            proposals.request_shortlist(current_user, proposal, form.note.data)
        except DomainError as error:
            db.rollback()
            form.apply_domain_error(error)
            status = error.status
        else:
            db.commit()
            flash(_("The lab has been asked to shortlist %(startup)s.", startup=proposal.startup.name), "success")
            return redirect(url_for("challenges.proposals_received", challenge_id=challenge.id))
    return _inbox(challenge, request_form=form, posted_id=proposal.id, status=status)


# -- questions and answers ---------------------------------------------------------------

#: Questions per page of a challenge's questions page (department and lab).
QUESTIONS_PAGE_SIZE = 20


@bp.post("/challenges/<int:challenge_id>/questions")
@roles_required(Role.STARTUP)
@limiter.limit("5 per minute;30 per hour", methods=["POST"])
def ask_question(challenge_id: int) -> ResponseReturnValue:
    """Ask the challenge's department a question, as a startup member."""
    challenge = _load(challenge_id)
    if not can_ask_question(current_user, challenge):
        return _render_detail(challenge, error=_("Questions can only be asked while the challenge is open."),
                              status=409)
    form = QuestionForm()
    if form.validate_on_submit():
        try:
            questions.ask_question(current_user, challenge, form.question.data or "")
        except DomainError as error:
            db.rollback()
            form.apply_domain_error(error)
        else:
            db.commit()
            flash(_("Your question was sent to the department. You will be told when it answers."), "success")
            return redirect(url_for("challenges.detail", challenge_id=challenge.id, _anchor="your-questions"))
    return _render_detail(challenge, status=400, question_form=form)


def _load_question(challenge: Challenge, question_id: int) -> ChallengeQuestion:
    """The challenge's question, or 404."""
    question = db.get(ChallengeQuestion, question_id) if question_id <= _MAX_ID else None
    if question is None or question.challenge_id != challenge.id:
        abort(404)
    return question


def _questions_page(
    challenge: Challenge,
    *,
    answer_form: AnswerForm | None = None,
    hide_form: HideQuestionForm | None = None,
    posted_id: int | None = None,
    error: str | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    """Render the challenge's questions; a posted form (with its errors) replaces its blank twin."""
    page = questions.questions_page(challenge, page_number(), QUESTIONS_PAGE_SIZE)
    return (
        render_template(
            "challenges/questions.html",
            challenge=challenge,
            page=page,
            answer_form=answer_form,
            hide_form=hide_form,
            blank_answer=AnswerForm(formdata=None),
            blank_hide=HideQuestionForm(formdata=None),
            posted_id=posted_id,
            error=error,
            can_answer=can_edit_challenge(current_user, challenge),
            can_hide=can_hide_question(current_user),
            unanswered=questions.unanswered_count(challenge),
        ),
        status,
    )


@bp.get("/challenges/<int:challenge_id>/questions")
@login_required
def questions_received(challenge_id: int) -> ResponseReturnValue:
    """List every question the challenge received (waiting first), with the forms to answer or hide."""
    challenge = _load(challenge_id)
    if not can_read_questions(current_user, challenge):
        abort(403)
    return _questions_page(challenge)


@bp.post("/challenges/<int:challenge_id>/questions/<int:question_id>/answer")
@roles_required(Role.OFFICER)
def answer_question(challenge_id: int, question_id: int) -> ResponseReturnValue:
    """Answer a question on the officer's challenge, and publish it if ticked."""
    challenge = _load(challenge_id)
    question = _load_question(challenge, question_id)
    if not can_answer_question(current_user, question):
        abort(403)
    form = AnswerForm()
    status = 400
    if form.validate_on_submit():
        try:
            questions.answer_question(current_user, question, form.answer.data or "", publish=bool(form.publish.data))
        except DomainError as error:
            db.rollback()
            form.apply_domain_error(error)
            status = error.status
        else:
            db.commit()
            flash(_("Answer published on the challenge page.") if question.published
                  else _("Answer sent to the startup."), "success")
            return redirect(url_for("challenges.questions_received", challenge_id=challenge.id,
                                    _anchor=f"question-{question.id}"))
    return _questions_page(challenge, answer_form=form, posted_id=question.id, status=status)


@bp.post("/challenges/<int:challenge_id>/questions/<int:question_id>/publish")
@roles_required(Role.OFFICER)
def publish_answer(challenge_id: int, question_id: int) -> ResponseReturnValue:
    """Publish an answered question on the challenge page, without the asker's name."""
    challenge = _load(challenge_id)
    question = _load_question(challenge, question_id)
    if not can_answer_question(current_user, question):
        abort(403)
    if not CsrfForm().validate_on_submit():
        abort(400)
    try:
        questions.publish_answer(current_user, question)
    except DomainError as error:
        db.rollback()
        return _questions_page(challenge, error=error.message, status=error.status)
    db.commit()
    flash(_("Answer published on the challenge page."), "success")
    return redirect(url_for("challenges.questions_received", challenge_id=challenge.id,
                            _anchor=f"question-{question.id}"))


@bp.post("/challenges/<int:challenge_id>/questions/<int:question_id>/hide")
@roles_required(Role.COORDINATOR, Role.ADMIN)
def hide_question(challenge_id: int, question_id: int) -> ResponseReturnValue:
    """Hide a question from the challenge page and its asker, with the reason."""
    challenge = _load(challenge_id)
    question = _load_question(challenge, question_id)
    form = HideQuestionForm()
    status = 400
    if form.validate_on_submit():
        try:
            questions.hide_question(current_user, question, form.reason.data or "")
        except DomainError as error:
            db.rollback()
            form.apply_domain_error(error)
            status = error.status
        else:
            db.commit()
            flash(_("Question hidden."), "success")
            return redirect(url_for("challenges.questions_received", challenge_id=challenge.id,
                                    _anchor=f"question-{question.id}"))
    return _questions_page(challenge, hide_form=form, posted_id=question.id, status=status)
