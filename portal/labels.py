"""The words people read for stored codes, in the interface language.

One place for the labels of challenge, proposal and trial states, trial outcomes, roles,
notification preferences, dismissal reasons, audit record kinds, readiness levels and
content languages. The English is the msgid; the Chinese comes from the catalogue
(``portal/translations``), so every label is a lazy string resolved when it is shown.

The templates get the functions below as globals (``portal/templating.py``). The MoU's own
bilingual terms (domains and functional areas) stay in ``models/vocabulary.py``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from models.vocabulary import (
    ChallengeStatus,
    DismissalReason,
    NotificationPref,
    ProposalStatus,
    Role,
    TrialOutcome,
    TrialState,
)

CHALLENGE_STATUS_LABELS: dict[str, object] = {
    ChallengeStatus.DRAFT: _l("Draft"),
    ChallengeStatus.OPEN: _l("Open"),
    ChallengeStatus.CLOSED: _l("Closed"),
}

PROPOSAL_STATUS_LABELS: dict[str, object] = {
    ProposalStatus.SUBMITTED: _l("Submitted"),
    ProposalStatus.WITHDRAWN: _l("Withdrawn"),
}

TRIAL_STATE_LABELS: dict[str, object] = {
    TrialState.PROPOSED: _l("Proposed"),
    TrialState.SHORTLISTED: _l("Shortlisted"),
    TrialState.APPROVED: _l("Approved"),
    TrialState.RUNNING: _l("Running"),
    TrialState.COMPLETED: _l("Completed"),
    TrialState.WITHDRAWN: _l("Withdrawn"),
    TrialState.REJECTED: _l("Rejected"),
}

TRIAL_OUTCOME_LABELS: dict[str, object] = {
    TrialOutcome.ADOPTED: _l("Adopted"),
    TrialOutcome.NOT_ADOPTED: _l("Not adopted"),
    TrialOutcome.EXTENDED: _l("Extended"),
}

ROLE_LABELS: dict[str, object] = {
    Role.OFFICER: _l("Department officer"),
    Role.STARTUP: _l("Startup member"),
    Role.COORDINATOR: _l("Lab coordinator"),
    Role.ADMIN: _l("Administrator"),
}

NOTIFICATION_PREF_LABELS: dict[str, object] = {
    NotificationPref.IMMEDIATE: _l("At once: one email for each notification"),
    NotificationPref.DIGEST: _l("Once a day: a digest of the day's notifications"),
    NotificationPref.NONE: _l("Never: I will read them on InnoMatch"),
}

DISMISSAL_REASON_LABELS: dict[str, object] = {
    DismissalReason.NOT_RELEVANT: _l("Not relevant to our work"),
    DismissalReason.NOT_READY: _l("Not ready or not the right scale"),
    DismissalReason.ALREADY_KNOWN: _l("Already known to us"),
    DismissalReason.OTHER: _l("Another reason"),
}

# The kinds of record in the audit log (``audit_events.entity_type``).
ENTITY_LABELS: dict[str, object] = {
    "challenge": _l("Challenge"),
    "proposal": _l("Proposal"),
    "trial": _l("Trial"),
    "user": _l("User"),
    "startup": _l("Startup"),
    "capability": _l("Capability"),
    "conflictofinterest": _l("Conflict of interest"),
    "dismissal": _l("Feedback on a recommendation"),
    "workshop": _l("Workshop"),
    "panelscore": _l("Panel score"),
    "outboxmail": _l("Email"),
    "challengequestion": _l("Question on a challenge"),
    "apitoken": _l("API token"),
    "invitation": _l("Invitation"),
}

# The lab's template of evaluation criteria (``services.panel.TEMPLATE``): name, what it asks.
CRITERION_LABELS: dict[str, tuple[object, object]] = {
    "fit": (_l("Fit to the need"),
            _l("How directly the solution addresses the problem and the outcomes the department wants.")),
    "maturity": (_l("Maturity and evidence"),
                 _l("How ready the solution is, and the evidence that it has worked elsewhere.")),
    "feasibility": (_l("Feasibility of the trial"),
                    _l("Whether a proof of concept can run in the time, the setting and with the data available.")),
    "privacy": (_l("Privacy, security and compliance"),
                _l("How personal and health data are protected, and the fit with government IT security rules.")),
    "value": (_l("Value and scalability"),
              _l("The cost, and how the solution could be adopted and scaled after the trial.")),
    "challengequestion": _l("Question on a challenge"),
}

# How alike two challenges read (``services.similar.BANDS``).
SIMILARITY_BAND_LABELS: dict[str, object] = {
    "near_copy": _l("Possible duplicate"),
    "very_similar": _l("Very similar"),
    "related": _l("Related"),
}

# Technology readiness levels, 1 (idea) to 9 (proven in operation).
READINESS_LEVELS: dict[int, object] = {
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

# Languages of user content (``models.vocabulary.CONTENT_LANGUAGES``).
CONTENT_LANGUAGE_LABELS: dict[str, object] = {
    "en": _l("English"),
    "zh-Hant": _l("Traditional Chinese"),
}

# A trial's history: what a move recorded without a reason says. Such a move stores its
# own name as the reason; a move that changes the state says nothing more than the state.
MOVE_EVENT_LABELS: dict[str, object] = {
    "confirm": _l("The department confirmed it takes part"),
    "accept": _l("The startup accepted the trial"),
}
# A trial's history: the steps of its outcome report's publication (audit actions).
PUBLICATION_STEP_LABELS: dict[str, object] = {
    "trial.outcome_sign_off": _l("The department signed off the outcome report"),
    "trial.outcome_agree": _l("The startup agreed to publish the outcome report"),
    "trial.outcome_agree_record": _l("The lab recorded the startup's agreement to publish the outcome report"),
    "trial.outcome_unpublish": _l("The lab unpublished the outcome report"),
    "trial.outcome_correct": _l("The lab corrected the outcome report"),
}
SILENT_MOVES = frozenset({"shortlist", "approve", "reject", "start", "complete", "withdraw", "decline"})

# What a startup does next, or waits for, in each state of its trial ("Our trials").
STARTUP_NEXT_STEP_LABELS: dict[str, object] = {
    "proposed": _l("The lab will review your proposal with the department. You can still change or withdraw it."),
    "shortlisted": _l("You are on the shortlist. The lab will decide with the department."),
    "approved": _l("Accept or decline the trial."),
    "approved_accepted": _l("You accepted. The lab starts the trial once the department confirms."),
    "running": _l("Track the milestones and KPIs with the department; add notes on progress."),
    "completed": _l("The trial is over: read the outcome report."),
    "completed_agreement": _l("The department signed off the outcome: agree to its publication on the trial's page."),
    "withdrawn": _l("No further steps."),
    "rejected": _l("No further steps."),
}
# What the department does next, or waits for, on a trial of its challenge ("Our trials").
DEPARTMENT_NEXT_STEP_LABELS: dict[str, object] = {
    "approved": _l("Confirm on the trial's page that your department takes part."),
    "approved_confirmed": _l("You confirmed. The lab starts the trial once the startup accepts it."),
    "approved_ready": _l("You and the startup confirmed. The lab starts the trial."),
    "running": _l("Track the milestones and KPIs with the startup; add notes on progress."),
    "completed": _l("The trial is over: read the outcome report."),
    "completed_sign_off": _l("Read the outcome report and sign it off on the trial's page."),
    "completed_agreement": _l("You signed off the outcome. The startup is asked to agree to its publication."),
    "completed_published": _l("The outcome is published on the showcase."),
    "withdrawn": _l("No further steps."),
    "rejected": _l("No further steps."),
}
# Reasons the services store in English on their own (not typed by anyone).
SYSTEM_REASON_LABELS: dict[str, object] = {
    "proposal submitted": _l("Proposal submitted"),
    "proposal withdrawn": _l("Proposal withdrawn"),
    "shortlisted from recommendations": _l("Shortlisted from the recommendations"),
}


def _label(labels: Mapping[str, object], code: str | None) -> str:
    """The label of ``code``, or the code itself if it has none (never fails on old data)."""
    return str(labels.get(code or "", code or ""))


def challenge_status_label(status: str | None) -> str:
    """The translated name of a challenge status."""
    return _label(CHALLENGE_STATUS_LABELS, status)


def proposal_status_label(status: str | None) -> str:
    """The translated name of a proposal status."""
    return _label(PROPOSAL_STATUS_LABELS, status)


def trial_state_label(state: str | None) -> str:
    """The translated name of a trial state."""
    return _label(TRIAL_STATE_LABELS, state)


def trial_kind_label(state: str | None) -> str:
    """What a trial record is called on its page: a trial once the lab approved it, a proposed
    trial before (a startup's proposal, or one that ended without approval)."""
    if state in TrialState.WENT_AHEAD:
        return str(_l("Proof-of-concept trial"))
    return str(_l("Proposed proof-of-concept trial"))


def trial_link_label(state: str | None) -> str:
    """The link to a trial record's page: "Open the trial" once approved, "View the proposal" before."""
    if state in TrialState.WENT_AHEAD:
        return str(_l("Open the trial"))
    return str(_l("View the proposal"))


def trial_outcome_label(outcome: str | None) -> str:
    """The translated name of a trial outcome."""
    return _label(TRIAL_OUTCOME_LABELS, outcome)


def role_label(role: str | None) -> str:
    """The translated name of a role."""
    return _label(ROLE_LABELS, role)


def notification_pref_label(preference: str | None) -> str:
    """The translated description of a notification preference."""
    return _label(NOTIFICATION_PREF_LABELS, preference)


def entity_label(entity_type: str | None) -> str:
    """The translated name of a kind of record in the audit log."""
    return _label(ENTITY_LABELS, entity_type)


def criterion_name(criterion: Any) -> str:
    """A criterion's name: the template's words in the reader's language, or what the officer wrote."""
    key = getattr(criterion, "key", None)
    return str(CRITERION_LABELS[key][0]) if key in CRITERION_LABELS else str(criterion.name)


def criterion_description(criterion: Any) -> str:
    """What a criterion asks: the template's words, or what the officer wrote."""
    key = getattr(criterion, "key", None)
    return str(CRITERION_LABELS[key][1]) if key in CRITERION_LABELS else str(criterion.description)
def similarity_band_label(band: str | None) -> str:
    """The translated words for how alike two challenges read."""
    return _label(SIMILARITY_BAND_LABELS, band)


def dismissal_reason_label(reason: str | None) -> str:
    """A stored dismissal reason, ``code`` or ``code: note``, with the code translated.

    The note is what someone typed and is kept as it is; an unknown code is left alone.
    """
    code, sep, note = (reason or "").partition(":")
    if code.strip() not in DISMISSAL_REASON_LABELS:
        return reason or ""
    label = str(DISMISSAL_REASON_LABELS[code.strip()])
    return f"{label}:{note}" if sep else label


def readiness_label(level: int | None) -> str:
    """Return e.g. "9 – proven in operation" for a readiness level."""
    if level is None or level not in READINESS_LEVELS:
        return ""
    return f"{level} – {READINESS_LEVELS[level]}"


#: Match score bands (``matcher.bands``), best first.
SCORE_BAND_LABELS: dict[str, object] = {
    "strong": _l("Strong match"),
    "possible": _l("Possible match"),
    "weak": _l("Weak match"),
}


#: Where each band starts on the 0-100 scale a match score is shown on. The fused score
#: (0..1, the pool's average candidate near 0.5) is mapped piecewise linearly so that the
#: calibrated band starts fall here: the number then reads as its band does (a weak match
#: is below 50, a strong one 80 or more) and the order of scores is kept.
SHOWN_BAND_STARTS: dict[str, int] = {"strong": 80, "possible": 50, "weak": 0}


def _bands() -> Any:
    import matcher.bands

    return matcher.bands.load_calibration().bands


def band_threshold(band: Any) -> int:
    """The lowest number out of 100 shown in ``band`` (a ``matcher.bands.Band``)."""
    return SHOWN_BAND_STARTS.get(band.key, 0)


def shown_number(score: float | None) -> int:
    """The number out of 100 a fused match score is shown as (see ``SHOWN_BAND_STARTS``).

    Rounded down, so a score below a band's calibrated start never shows that band's first
    number: the band read from the number shown is the score's own band.
    """
    value = min(max(float(score or 0.0), 0.0), 1.0)
    points = [(1.0, 100.0)] + [(b.min_score, float(band_threshold(b))) for b in _bands()]
    for (top, top_n), (low, low_n) in itertools.pairwise(points):
        if value >= low:
            share = (value - low) / (top - low) if top > low else 1.0
            return min(100, math.floor(low_n + share * (top_n - low_n)))
    return 0


def _shown_band(number: int) -> Any:
    bands = _bands()
    return next((b for b in bands if number >= band_threshold(b)), bands[-1])


def score_band(score: float | None) -> dict[str, object]:
    """What a match score means: its band's label, the number out of 100, and one line
    saying the share of such pairs that were relevant in the evaluation.

    Returns:
        ``{"key", "label", "number", "meaning"}``; the same for a pair on every page.
    """
    number = shown_number(score)
    band = _shown_band(number)
    label = _label(SCORE_BAND_LABELS, band.key)
    if band.in_ten >= 1:
        meaning = _l(
            "%(band)s: about %(n)s in 10 such pairs were relevant in our evaluation.", band=label, n=band.in_ten
        )
    else:
        meaning = _l("%(band)s: fewer than 1 in 10 such pairs were relevant in our evaluation.", band=label)
    return {"key": band.key, "label": label, "number": number, "meaning": str(meaning)}


def score_bands_legend() -> str:
    """One line saying what every band means, for pages that list many scores without it
    beside each one: "What a match score means, from our evaluation on real cases: Strong match
    (80/100 and above): about 8 in 10 such pairs were relevant; Possible match (50 to 79/100):
    ...; Weak match (below 50/100): ..." The numbers are those the scores are shown with."""
    parts = []
    above: int | None = None
    for band in _bands():
        label = _label(SCORE_BAND_LABELS, band.key)
        share = (
            _l("about %(n)s in 10 such pairs were relevant", n=band.in_ten) if band.in_ten >= 1
            else _l("fewer than 1 in 10 such pairs were relevant")
        )
        low = band_threshold(band)
        if band.min_score <= 0:
            parts.append(str(_l("%(band)s (below %(n)s/100): %(share)s", band=label, n=above, share=share)))
        elif above is None:
            parts.append(str(_l("%(band)s (%(n)s/100 and above): %(share)s", band=label, n=low, share=share)))
        else:
            parts.append(str(_l("%(band)s (%(low)s to %(high)s/100): %(share)s", band=label, low=low,
                                high=above - 1, share=share)))
        above = low
    joined = parts[0]
    for part in parts[1:]:
        joined = str(_l("%(first)s; %(then)s", first=joined, then=part))  # "；" in Chinese
    return str(_l("What a match score means, from our evaluation on real cases: %(bands)s.", bands=joined))


def language_label(code: str) -> str:
    """Return the translated name of a content language."""
    return _label(CONTENT_LANGUAGE_LABELS, code)


def transition_note(reason: str | None) -> str:
    """What a trial's history shows after a move: the reason given, or words for a move made
    without one ("" when the new state says it all)."""
    if not reason or reason in SILENT_MOVES or reason in TRIAL_STATE_LABELS:
        return ""
    if reason in MOVE_EVENT_LABELS:
        return str(MOVE_EVENT_LABELS[reason])
    if reason in SYSTEM_REASON_LABELS:
        return str(SYSTEM_REASON_LABELS[reason])
    return reason


def publication_step_label(action: str) -> str:
    """The words for a step of an outcome report's publication in a trial's history."""
    return _label(PUBLICATION_STEP_LABELS, action)


def startup_next_step(trial: Any) -> str:
    """What the startup does next, or waits for, on ``trial``."""
    key = trial.status
    if key == "approved" and trial.startup_accepted_at is not None:
        key = "approved_accepted"
    if key == "completed" and trial.report is not None and trial.report.awaiting_startup:
        key = "completed_agreement"
    return _label(STARTUP_NEXT_STEP_LABELS, key)


def department_next_step(trial: Any) -> str:
    """What the challenge's department does next, or waits for, on ``trial``."""
    key = trial.status
    report = trial.report if key == "completed" else None
    if key == "approved" and trial.department_confirmed_at is not None:
        key = "approved_ready" if trial.startup_accepted_at is not None else "approved_confirmed"
    elif report is not None:
        if not report.sign_off_stands:
            key = "completed_sign_off"
        elif report.awaiting_startup:
            key = "completed_agreement"
        elif report.published:
            key = "completed_published"
    return _label(DEPARTMENT_NEXT_STEP_LABELS, key)


#: Technology tags (typed in English) -> their Traditional Chinese labels.
TECHNOLOGIES = Path(__file__).resolve().parent / "data" / "technologies.tsv"


@cache
def _technology_labels() -> dict[str, tuple[str, str | None]]:
    """Tag (lower case) -> (its Chinese label, its English form or None: the tag itself)."""
    labels: dict[str, tuple[str, str | None]] = {}
    for line in TECHNOLOGIES.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            tag, chinese, *english = line.split("\t")
            labels[tag.strip().lower()] = (chinese.strip(), english[0].strip() if english else None)
    return labels


def technology_label(tag: str) -> str:
    """A technology tag as the page's language shows it, from :data:`TECHNOLOGIES`: on Chinese
    pages its Chinese label, on English pages its English form ("OCR" for the stored "ocr");
    a tag not listed as stored. Only the display changes: tags are stored, searched and
    matched lower case."""
    known = _technology_labels().get(" ".join(tag.split()).lower())
    if known is None:
        return tag
    chinese, english = known
    if str(get_locale() or "en").startswith("zh"):
        return chinese
    return english or tag


def shown_technologies(tags: Iterable[str]) -> list[str]:
    """``tags`` less those that the page would show as an earlier one's label: a capability
    tagged 語音識別 and "speech recognition" shows 語音識別 once on a Chinese page."""
    seen: set[str] = set()
    out: list[str] = []
    for tag in tags:
        shown = technology_label(tag)
        if shown not in seen:
            seen.add(shown)
            out.append(tag)
    return out


def template_globals() -> dict[str, object]:
    """The label functions, for ``jinja_env.globals``."""
    return {
        "challenge_status_label": challenge_status_label,
        "proposal_status_label": proposal_status_label,
        "trial_state_label": trial_state_label,
        "trial_outcome_label": trial_outcome_label,
        "trial_kind_label": trial_kind_label,
        "trial_link_label": trial_link_label,
        "role_label": role_label,
        "notification_pref_label": notification_pref_label,
        "entity_label": entity_label,
        "criterion_name": criterion_name,
        "criterion_description": criterion_description,
        "similarity_band_label": similarity_band_label,
        "dismissal_reason_label": dismissal_reason_label,
        "readiness_label": readiness_label,
        "language_label": language_label,
        "score_band": score_band,
        "score_bands_legend": score_bands_legend,
        "transition_note": transition_note,
        "startup_next_step": startup_next_step,
        "publication_step_label": publication_step_label,
        "department_next_step": department_next_step,
        "document_type_label": document_type_label,
        "technology_label": technology_label,
        "shown_technologies": shown_technologies,
        "TRIAL_OUTCOME_LABELS": TRIAL_OUTCOME_LABELS,
    }


DOCUMENT_TYPE_LABELS: dict[str, object] = {
    "application/pdf": _l("PDF"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": _l("Word document (DOCX)"),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": _l("PowerPoint slides (PPTX)"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": _l("Excel workbook (XLSX)"),
    "image/png": _l("PNG image"),
    "image/jpeg": _l("JPEG image"),
}


def document_type_label(content_type: str | None) -> str:
    """The words for a document's (sniffed) content type."""
    return _label(DOCUMENT_TYPE_LABELS, content_type)
