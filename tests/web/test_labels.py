"""One vocabulary: every stored code has a label people read, in both languages."""

from __future__ import annotations

from typing import Any

import pytest
from flask_babel import force_locale

from models.vocabulary import (
    ChallengeStatus,
    DismissalReason,
    NotificationPref,
    ProposalStatus,
    Role,
    TrialOutcome,
    TrialState,
)
from portal import labels
from tests.web.test_trials import build_world, client_as, move_data

LABELLED = [
    (ChallengeStatus, labels.challenge_status_label),
    (ProposalStatus, labels.proposal_status_label),
    (TrialState, labels.trial_state_label),
    (TrialOutcome, labels.trial_outcome_label),
    (Role, labels.role_label),
    (NotificationPref, labels.notification_pref_label),
    (DismissalReason, labels.dismissal_reason_label),
]


@pytest.mark.parametrize(("enum", "label"), LABELLED, ids=[e.__name__ for e, _f in LABELLED])
def test_every_code_has_a_label_in_both_languages(app: Any, enum: Any, label: Any) -> None:
    with app.test_request_context():
        for member in enum:
            english = label(member)
            assert english and english != member.value
            with force_locale("zh_Hant_HK"):
                chinese = label(member)
            assert chinese and chinese != english, member


def test_groups_hold_the_stored_values() -> None:
    assert TrialState.OPEN == ("proposed", "shortlisted")
    assert TrialState.ACTIVE == ("approved", "running")
    assert TrialState.WENT_AHEAD == ("approved", "running", "completed")
    assert set(TrialState.IN_PROGRESS) == set(TrialState.OPEN) | set(TrialState.ACTIVE)
    assert ChallengeStatus.PUBLIC == ("open", "closed")
    assert Role.STAFF == ("coordinator", "admin")


def test_dismissal_reason_translates_the_code_and_keeps_the_note(app: Any) -> None:
    with app.test_request_context():
        assert labels.dismissal_reason_label("not_relevant: wrong domain") == "Not relevant to our work: wrong domain"
        assert labels.dismissal_reason_label("other") == "Another reason"
        assert labels.dismissal_reason_label("typed by hand") == "typed by hand"
        with force_locale("zh_Hant_HK"):
            assert labels.dismissal_reason_label("not_relevant: wrong domain") == "與我們的工作無關: wrong domain"


def test_trial_history_says_what_a_confirmation_did(app: Any) -> None:
    world = build_world(app, "approved")
    officer = client_as(app, world, "officer_own")
    response = officer.post(f"/trials/{world.trial_id}/move", data=move_data(world, "confirm", reason=""))
    assert response.status_code == 302
    page = officer.get(f"/trials/{world.trial_id}").get_data(as_text=True)
    assert "The department confirmed it takes part" in page
    assert "Approved → <strong>Approved" not in page
    assert ": confirm<" not in page and ">confirm</span>" not in page
