"""Forms of the notifications area."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import RadioField
from wtforms.validators import InputRequired

from ..forms import BaseForm, choices


class PreferencesForm(BaseForm):
    """How a user hears about notifications by email."""

    notify = RadioField(
        _l("Email me about notifications"),
        choices=choices(
            [
                ("immediate", _l("At once: one email for each notification")),
                ("digest", _l("Once a day: a digest of the day's notifications")),
                ("none", _l("Never: I will read them on InnoMatch")),
            ]
        ),
        validators=[InputRequired(message=_l("Choose how you want to receive notifications."))],
    )
