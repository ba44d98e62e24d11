"""Who may do what: every access rule lives here, checked on the server by every route."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user

from models import Challenge, ChallengeQuestion, Document, Proposal, Startup, Trial, User
from models.vocabulary import ChallengeStatus

F = TypeVar("F", bound=Callable[..., Any])


def roles_required(*roles: str) -> Callable[[F], F]:
    """Refuse anonymous users (sign-in redirect) and users of other roles (403)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            from .extensions import login_manager

            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if roles and current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]  # wraps() keeps the view's signature

    return decorator


def can_view_challenge(user: Any, challenge: Challenge) -> bool:
    """Open and closed challenges are public; drafts only for their department and the lab."""
    if challenge.status != ChallengeStatus.DRAFT:
        return True
    if not getattr(user, "is_authenticated", False):
        return False
    return user.is_staff or (user.is_officer and user.department_id == challenge.department_id)


def can_edit_challenge(user: Any, challenge: Challenge) -> bool:
    """Only officers of the owning department edit, open and close a challenge."""
    return bool(
        getattr(user, "is_authenticated", False)
        and user.is_officer
        and user.department_id == challenge.department_id
    )


def can_see_recommended_startups(user: Any, challenge: Challenge) -> bool:
    """The challenge's own officers and the lab's coordinators see its ranked startups."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.is_staff or can_edit_challenge(user, challenge)


def can_read_proposals(user: Any, challenge: Challenge) -> bool:
    """The challenge's own officers read the proposals it received (the lab reads them in its queue too)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.is_staff or can_edit_challenge(user, challenge)


def can_sit_on_panel(user: Any, challenge: Challenge) -> bool:
    """The lab's coordinators and the challenge's own officers score its proposals (conflicts aside)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.is_staff or can_edit_challenge(user, challenge)


def can_request_shortlist(user: Any, challenge: Challenge) -> bool:
    """Only the challenge's own officers ask the lab to shortlist one of its proposals."""
    return can_edit_challenge(user, challenge)


def can_edit_startup(user: Any, startup: Startup) -> bool:
    """Only members of that startup edit its profile and capabilities."""
    return bool(
        getattr(user, "is_authenticated", False) and user.is_startup and user.startup_id == startup.id
    )


def can_view_startup(user: Any, startup: Startup) -> bool:
    """Officers, the lab and the startup's own members see a profile; competitors do not.

    Capabilities can describe unreleased products, so other startups are kept out.
    """
    if not getattr(user, "is_authenticated", False):
        return False
    return user.is_staff or user.is_officer or (user.is_startup and user.startup_id == startup.id)


def can_view_proposal(user: Any, proposal: Proposal) -> bool:
    """The lab, the challenge's department and the proposing startup's members see a proposal."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_staff:
        return True
    if user.is_officer:
        return user.department_id == proposal.challenge.department_id
    return user.is_startup and user.startup_id == proposal.startup_id


def can_ask_question(user: Any, challenge: Challenge) -> bool:
    """Members of a startup ask questions on an open challenge."""
    return bool(
        getattr(user, "is_authenticated", False)
        and user.is_startup
        and user.startup_id is not None
        and challenge.status == ChallengeStatus.OPEN
    )


def can_read_questions(user: Any, challenge: Challenge) -> bool:
    """The challenge's own officers and the lab read every question it received, with who asked."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.is_staff or can_edit_challenge(user, challenge)


def can_answer_question(user: Any, question: ChallengeQuestion) -> bool:
    """Only officers of the challenge's department answer its questions and publish the answers."""
    return can_edit_challenge(user, question.challenge)


def can_hide_question(user: Any) -> bool:
    """The lab's coordinators (and admins) hide a question from everyone but themselves and the department."""
    return bool(getattr(user, "is_authenticated", False) and user.is_staff)


def is_asker(user: Any, question: ChallengeQuestion) -> bool:
    """Whether ``user`` is a member of the startup that asked ``question``."""
    return question.startup_id is not None and is_member(user, question.startup_id)


def refusal(visible: bool) -> int:
    """The status of a refused request: 403 if the user may know the object exists, else 404.

    An object the user cannot see (another department's draft, a rival's capability or
    proposal, other parties' trials) is answered exactly as a missing one, so ids tell nothing.
    """
    return 403 if visible else 404


def can_view_trial(user: Any, trial: Trial) -> bool:
    """The lab, the owning department's officers and the startup's members see a trial."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_staff:
        return True
    if user.is_officer:
        return user.department_id == trial.challenge.department_id
    return user.is_startup and user.startup_id == trial.startup_id


def can_view_documents(user: Any, parent: Challenge | Proposal | Trial) -> bool:
    """A parent's documents are seen by whoever may see the parent (a draft's: its department and the lab)."""
    if isinstance(parent, Challenge):
        return can_view_challenge(user, parent)
    if isinstance(parent, Proposal):
        return can_view_proposal(user, parent)
    return can_view_trial(user, parent)


def can_attach_document(user: Any, parent: Challenge | Proposal | Trial) -> bool:
    """Officers of the department attach to a challenge, the startup to its proposal, both
    sides and the lab to a trial."""
    if isinstance(parent, Challenge):
        return can_edit_challenge(user, parent)
    if isinstance(parent, Proposal):
        return is_member(user, parent.startup_id)
    return can_view_trial(user, parent)


def _trial_side(user: Any, trial: Trial) -> str | None:
    """Which party of ``trial`` the user belongs to: "department", "startup" or None."""
    if getattr(user, "is_officer", False) and user.department_id == trial.challenge.department_id:
        return "department"
    if getattr(user, "is_startup", False) and user.startup_id == trial.startup_id:
        return "startup"
    return None


def can_remove_document(user: Any, document: Document, parent: Challenge | Proposal | Trial) -> bool:
    """The uploader, the parent's owners (the challenge's department, the proposing startup,
    the uploader's side of a trial) and the lab remove a document they can see."""
    if not getattr(user, "is_authenticated", False) or not can_view_documents(user, parent):
        return False
    if user.is_staff or (document.uploaded_by_id is not None and document.uploaded_by_id == user.id):
        return True
    if isinstance(parent, Challenge):
        return can_edit_challenge(user, parent)
    if isinstance(parent, Proposal):
        return is_member(user, parent.startup_id)
    uploader = document.uploaded_by
    side = _trial_side(user, parent)
    return side is not None and uploader is not None and _trial_side(uploader, parent) == side


def is_member(user: User | Any, startup_id: int) -> bool:
    """Whether ``user`` is a member of the startup ``startup_id``."""
    return bool(getattr(user, "is_authenticated", False) and user.is_startup and user.startup_id == startup_id)


def token_allows(token: Any, scope: str) -> bool:
    """Whether an API token grants ``scope``: a write token also reads."""
    if token is None:
        return False
    return bool(token.scope == scope or token.scope == "write")
