"""Feedback on a recommendation."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from ..forms import BaseForm, choices
from ..labels import DISMISSAL_REASON_LABELS


def reason_choices() -> list[SelectChoice]:
    """The dismissal reasons as choices, in the interface language (call per request)."""
    return choices(DISMISSAL_REASON_LABELS.items())


class DismissForm(BaseForm):
    """Hide one recommendation from this user, with a reason."""

    challenge_id = HiddenField(validators=[InputRequired()])
    startup_id = HiddenField(validators=[InputRequired()])
    reason = SelectField(_l("Why is this not a good match?"), validators=[InputRequired(_l("Choose a reason."))])
    note = TextAreaField(_l("More detail (optional)"), validators=[Length(max=1000, message=_l("Use at most 1,000 characters."))])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reason.choices = reason_choices()
