"""What the audit log shows people: each action and each recorded field in words, in the
reader's language, instead of codes (``trial.kpi_result``) and field paths (``kpis[60].result``).

An action or field without words here is shown as its code, so a new one is never hidden;
``tests/web/test_audit_labels.py`` fails when a service records an action or a field that
has no words, so they are added with the change.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from models.vocabulary import AREA_KEYS, DOMAIN_KEYS, area, domain

from .labels import (
    challenge_status_label,
    language_label,
    proposal_status_label,
    role_label,
    trial_outcome_label,
    trial_state_label,
)

#: Actions (``audit_events.action``), by code.
ACTION_LABELS: dict[str, object] = {
    "api_token.create": _l("API token created"),
    "api_token.revoke": _l("API token revoked"),
    "capability.create": _l("Capability added"),
    "capability.delete": _l("Capability deleted"),
    "capability.update": _l("Capability changed"),
    "challenge.close": _l("Challenge closed"),
    "challenge.create": _l("Challenge posted"),
    "challenge.criteria": _l("Evaluation criteria set"),
    "challenge.open": _l("Challenge opened"),
    "challenge.update": _l("Challenge changed"),
    "conflict.declare": _l("Conflict of interest declared"),
    "conflict.detect": _l("Conflict of interest detected"),
    "document.add": _l("Document attached"),
    "document.remove": _l("Document removed"),
    "invitation.accept": _l("Invitation accepted"),
    "invitation.create": _l("Invitation sent"),
    "invitation.revoke": _l("Invitation revoked"),
    "mail.retry": _l("Email sent again"),
    "proposal.create": _l("Proposal submitted"),
    "proposal.score": _l("Proposal scored"),
    "proposal.shortlist_request": _l("Shortlisting requested"),
    "proposal.update": _l("Proposal changed"),
    "proposal.withdraw": _l("Proposal withdrawn"),
    "question.answer": _l("Question answered"),
    "question.ask": _l("Question asked"),
    "question.hide": _l("Question hidden"),
    "question.publish": _l("Answer published"),
    "recommendation.dismiss": _l("Recommendation dismissed"),
    "startup.register": _l("Startup registered"),
    "startup.registration_expired": _l("Unconfirmed registration removed"),
    "startup.update": _l("Startup profile changed"),
    "startup.verify": _l("Startup verification changed"),
    "trial.accept": _l("Trial accepted by the startup"),
    "trial.approve": _l("Trial approved"),
    "trial.complete": _l("Trial outcome recorded"),
    "trial.confirm": _l("Trial confirmed by the department"),
    "trial.create": _l("Trial opened"),
    "trial.decline": _l("Trial declined by the startup"),
    "trial.kpi_add": _l("KPI added"),
    "trial.kpi_edit": _l("KPI changed"),
    "trial.kpi_remove": _l("KPI removed"),
    "trial.kpi_result": _l("KPI result recorded"),
    "trial.milestone_add": _l("Milestone added"),
    "trial.milestone_done": _l("Milestone done"),
    "trial.milestone_edit": _l("Milestone changed"),
    "trial.milestone_remove": _l("Milestone removed"),
    "trial.milestone_waive": _l("Milestone waived"),
    "trial.note_add": _l("Note added"),
    "trial.outcome_sign_off": _l("Outcome report signed off"),
    "trial.outcome_agree": _l("Startup agreed to publish the outcome report"),
    "trial.outcome_agree_record": _l("Lab recorded the startup's agreement to publish the outcome report"),
    "trial.outcome_unpublish": _l("Outcome report unpublished"),
    "trial.outcome_correct": _l("Outcome report corrected by the lab"),
    "trial.reject": _l("Trial rejected"),
    "trial.reuse_interest": _l("Interest in reusing a trial"),
    "trial.shortlist": _l("Trial shortlisted"),
    "trial.start": _l("Trial started"),
    "trial.update": _l("Trial changed"),
    "trial.withdraw": _l("Trial withdrawn"),
    "user.close": _l("Account closed by its owner"),
    "user.create": _l("Account created"),
    "user.deactivate": _l("Account deactivated"),
    "user.email_change": _l("Email address changed"),
    "user.email_change_request": _l("Email address change requested"),
    "user.email_change_cancel": _l("Email address change cancelled"),
    "user.mfa_disable": _l("Two-step verification turned off"),
    "user.mfa_enable": _l("Two-step verification turned on"),
    "user.mfa_recovery_code_used": _l("Recovery code used"),
    "user.mfa_recovery_codes_new": _l("New recovery codes made"),
    "user.mfa_reset": _l("Two-step verification reset"),
    "user.notify": _l("Notification settings changed"),
    "user.password_change": _l("Password changed"),
    "user.password_reset": _l("Password reset"),
    "user.password_reset_request": _l("Password reset requested"),
    "user.rename": _l("Name changed by the account's owner"),
    "user.purge_inactive": _l("Inactive account's personal data erased"),
    "user.registration_expired": _l("Unconfirmed account's personal data erased"),
    "user.reactivate": _l("Account reactivated"),
    "user.sessions_end": _l("Other sessions signed out"),
    "user.update": _l("Account changed"),
    "workshop.create": _l("Workshop scheduled"),
    "workshop.update": _l("Workshop changed"),
}

#: Recorded fields, by name (the last part of a path such as ``kpis[60].result``).
FIELD_LABELS: dict[str, object] = {
    "answer": _l("Answer"),
    "answer_language": _l("Language of the answer"),
    "answered_at": _l("Answered at"),
    "answered_by_id": _l("Answered by"),
    "approved_at": _l("Approved at"),
    "attempts": _l("Attempts"),
    "body": _l("Text"),
    "capability_id": _l("Capability"),
    "capacity": _l("Capacity"),
    "challenge_id": _l("Challenge"),
    "challenge_ids": _l("Challenges"),
    "closing_on": _l("Closing date"),
    "comment": _l("Comment"),
    "content_type": _l("File type"),
    "completed_at": _l("Completed at"),
    "constraints": _l("Constraints"),
    "coordinator_id": _l("Coordinator"),
    "corrected_at": _l("Corrected by the lab at"),
    "criterion_id": _l("Criterion"),
    "decision_reason": _l("Reason for the decision"),
    "department_confirmed_at": _l("Confirmed by the department at"),
    "department_id": _l("Department"),
    "deployments": _l("Deployments"),
    "description": _l("Description"),
    "desired_outcomes": _l("Desired outcomes"),
    "display_name": _l("Name"),
    "domains": _l("Domains"),
    "done_on": _l("Done on"),
    "due_on": _l("Due on"),
    "duration_weeks": _l("Trial duration (weeks)"),
    "email": _l("Email address"),
    "email_verified": _l("Email address confirmed"),
    "ends_at": _l("Ends at"),
    "expires_at": _l("Expires at"),
    "functional_area": _l("Functional area"),
    "hidden_at": _l("Hidden at"),
    "hidden_by_id": _l("Hidden by"),
    "hidden_reason": _l("Reason for hiding"),
    "is_active": _l("Active"),
    "key": _l("Template criterion"),
    "language": _l("Language"),
    "lessons": _l("Lessons learnt"),
    "locale": _l("Interface language"),
    "location": _l("Location"),
    "name": _l("Name"),
    "opened_at": _l("Opened at"),
    "outcome": _l("Outcome"),
    "pitch": _l("Pitch"),
    "position": _l("Position"),
    "prefix": _l("Token prefix"),
    "problem_statement": _l("Problem statement"),
    "proposal_id": _l("Proposal"),
    "published_at": _l("Published at"),
    "question": _l("Question"),
    "question_language": _l("Language of the question"),
    "readiness": _l("Readiness level"),
    "reason": _l("Reason"),
    "recommendation": _l("Recommendation"),
    "result": _l("Result"),
    "revoked_at": _l("Revoked at"),
    "role": _l("Role"),
    "scope": _l("Scope"),
    "score": _l("Score"),
    "sha256": _l("SHA-256 checksum"),
    "shortlist_request_note": _l("Note to the lab"),
    "shortlist_requested_at": _l("Shortlisting requested at"),
    "shortlist_requested_by_id": _l("Shortlisting requested by"),
    "signed_off_at": _l("Signed off at"),
    "signed_off_by_id": _l("Signed off by"),
    "size": _l("Size"),
    "size_bytes": _l("Size (bytes)"),
    "source": _l("Source"),
    "started_at": _l("Started at"),
    "starts_at": _l("Starts at"),
    "startup_accepted_at": _l("Accepted by the startup at"),
    "startup_agreed_at": _l("Startup agreed to publish at"),
    "startup_agreed_by_id": _l("Startup's agreement given by"),
    "startup_agreement_note": _l("How the startup agreed"),
    "startup_id": _l("Startup"),
    "status": _l("Status"),
    "summary": _l("Summary"),
    "tags": _l("Technology tags"),
    "target": _l("Target"),
    "technologies": _l("Technologies"),
    "title": _l("Title"),
    "title_en": _l("Title (English)"),
    "title_zh": _l("Title (Chinese)"),
    "unpublish_reason": _l("Reason for unpublishing"),
    "unpublished_at": _l("Unpublished at"),
    "user_id": _l("User"),
    "verified": _l("Verified"),
    "verified_at": _l("Verified at"),
    "waived_on": _l("Waived on"),
    "waiver_reason": _l("Reason for waiving"),
    "website": _l("Website"),
    "weight": _l("Weight"),
}

#: The records a path can start with (``kpis[60]`` is "KPI 60").
PART_LABELS: dict[str, object] = {
    "criteria": _l("Criterion %(n)s"),
    "documents": _l("Document %(n)s"),
    "kpis": _l("KPI %(n)s"),
    "milestones": _l("Milestone %(n)s"),
    "notes": _l("Note %(n)s"),
    "report": _l("Outcome report"),
}

_PATH = re.compile(r"^(?P<part>[a-z_]+)(?:\[(?P<n>\d+)\])?(?:\.(?P<field>[a-z_]+))?$")


def action_label(action: str | None) -> str:
    """An audit action in words, or its code when it has none."""
    return str(ACTION_LABELS.get(action or "", action or ""))


def field_label(key: str) -> str:
    """A recorded field in words: ``kpis[60].result`` -> "KPI 60 · Result", ``title`` -> "Title".

    A path or field without words is returned as it is.
    """
    match = _PATH.match(key)
    if match is None:
        return key
    part, n, field = match.group("part"), match.group("n"), match.group("field")
    if n is None and field is None:
        return str(FIELD_LABELS.get(part, key))
    if part not in PART_LABELS:
        return key
    record = str(PART_LABELS[part]) % {"n": n} if n is not None else str(PART_LABELS[part])
    if field is None:
        return record
    return f"{record} · {FIELD_LABELS[field]}" if field in FIELD_LABELS else key


def known_field(key: str) -> bool:
    """Whether ``key`` has words (for the test that keeps every recorded field labelled)."""
    return field_label(key) != key


#: A record's ``status`` in words, by entity type.
_STATUS_LABELS: dict[str, Callable[[str | None], str]] = {
    "challenge": challenge_status_label,
    "trial": trial_state_label,
    "proposal": proposal_status_label,
}


def _locale() -> str:
    return str(get_locale() or "en")


def _code_label(entity_type: str | None, field: str, code: str) -> str:
    if field == "status" and entity_type in _STATUS_LABELS:
        return _STATUS_LABELS[entity_type](code)
    if field == "role":
        return role_label(code)
    if field == "outcome":
        return trial_outcome_label(code)
    if field in ("language", "locale"):
        return language_label("zh-Hant" if code.startswith("zh") else code)
    if field == "functional_area" and code in AREA_KEYS:
        return area(code).label(_locale())
    if field == "domains" and code in DOMAIN_KEYS:
        return domain(code).label(_locale())
    return code


def value_label(entity_type: str | None, key: str, value: Any) -> Any:
    """A recorded value in words where it is a code (a status, a role, a domain ...), else as it is."""
    field = key.rsplit(".", 1)[-1]
    if isinstance(value, str):
        return _code_label(entity_type, field, value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [_code_label(entity_type, field, v) for v in value]
    return value


def template_globals() -> dict[str, object]:
    """The audit log's label functions, for ``jinja_env.globals``."""
    return {"action_label": action_label, "field_label": field_label, "value_label": value_label}
