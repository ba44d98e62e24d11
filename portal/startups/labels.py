"""Translated labels for the startup area's stored codes (readiness, languages, states)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..services.startups import is_web_address

# Technology readiness levels, 1 (idea) to 9 (proven in operation).
READINESS_LEVELS = {
    1: _l("basic principles observed"),
    2: _l("concept formulated"),
    3: _l("concept proven in the lab"),
    4: _l("validated in the lab"),
    5: _l("validated in a relevant setting"),
    6: _l("demonstrated in a relevant setting"),
    7: _l("demonstrated in operation"),
    8: _l("complete and qualified"),
    9: _l("proven in operation"),
}

CONTENT_LANGUAGE_LABELS = {
    "en": _l("English"),
    "zh-Hant": _l("Traditional Chinese"),
}

TRIAL_STATE_LABELS = {
    "proposed": _l("Proposed"),
    "shortlisted": _l("Shortlisted"),
    "approved": _l("Approved"),
    "running": _l("Running"),
    "completed": _l("Completed"),
    "withdrawn": _l("Withdrawn"),
    "rejected": _l("Not taken forward"),
}

PROPOSAL_STATUS_LABELS = {
    "submitted": _l("Submitted"),
    "withdrawn": _l("Withdrawn"),
}


def readiness_label(level: int | None) -> str:
    """Return e.g. "9 – proven in operation" for a readiness level."""
    if level not in READINESS_LEVELS:
        return ""
    return f"{level} – {READINESS_LEVELS[level]}"


def language_label(code: str) -> str:
    """Return the translated name of a content language."""
    return str(CONTENT_LANGUAGE_LABELS.get(code, code))


def trial_state_label(state: str | None) -> str:
    """Return the translated name of a trial state."""
    return str(TRIAL_STATE_LABELS.get(state or "", state or ""))


def proposal_status_label(status: str) -> str:
    """Return the translated name of a proposal status."""
    return str(PROPOSAL_STATUS_LABELS.get(status, status))


def safe_website(url: str | None) -> str | None:
    """Return ``url`` if it is an http(s) address with a host, else None (never link it)."""
    return url.strip() if url and is_web_address(url) else None


def template_helpers() -> dict[str, object]:
    """Return the helpers the startup area's templates use."""
    return {
        "readiness_label": readiness_label,
        "language_label": language_label,
        "trial_state_label": trial_state_label,
        "proposal_status_label": proposal_status_label,
        "safe_website": safe_website,
    }
