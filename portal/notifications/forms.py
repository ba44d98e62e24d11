"""Forms of the notifications area."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import RadioField
from wtforms.validators import InputRequired

from ..forms import BaseForm, choices
from ..labels import NOTIFICATION_PREF_LABELS


class PreferencesForm(BaseForm):
    """How a user hears about notifications by email."""

    notify = RadioField(
        _l("Email me about notifications"),
        choices=choices(NOTIFICATION_PREF_LABELS.items()),
        validators=[InputRequired(message=_l("Choose how you want to receive notifications."))],
    )
