"""Users' feedback on recommendations."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from models import Challenge, Dismissal, Startup, User

from .. import signals
from ..access import can_view_challenge
from ..database import db
from ..errors import DomainError, NotAllowed


def dismiss_recommendation(
    user: User, challenge: Challenge, startup: Startup, reason: str, note: str = "",
    components: dict[str, Any] | None = None,
) -> Dismissal:
    """Record that ``user`` marked the challenge/startup pair as not relevant."""
    direction = "for_startup" if user.is_startup else "for_challenge"
    if user.is_startup and user.startup_id != startup.id:
        raise DomainError(_("You can only give feedback on your own recommendations."))
    if not can_view_challenge(user, challenge):
        # A draft is never recommended to whoever may not see it: nothing to dismiss.
        raise NotAllowed(_("You can only give feedback on your own recommendations."))
    existing = db.scalar(
        select(Dismissal).where(
            Dismissal.user_id == user.id, Dismissal.challenge_id == challenge.id, Dismissal.startup_id == startup.id
        )
    )
    text = reason if not note else f"{reason}: {note}"
    if existing is not None:
        existing.reason = text
        db.flush()
        return existing
    dismissal = Dismissal(
        user_id=user.id, challenge_id=challenge.id, startup_id=startup.id, direction=direction,
        reason=text, components=components,
    )
    db.add(dismissal)
    db.flush()
    signals.changed(user, "recommendation.dismiss", dismissal, after={"challenge_id": challenge.id, "startup_id": startup.id, "reason": text})
    return dismissal
