"""Feedback on a recommendation."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectField, TextAreaField
from wtforms.validators import InputRequired, Length

from ..forms import BaseForm, choices
from ..labels import DISMISSAL_REASON_LABELS


def reason_choices():  # type: ignore[no-untyped-def]
    return choices(DISMISSAL_REASON_LABELS.items())


class DismissForm(BaseForm):
    """Hide one recommendation from this user, with a reason."""

    challenge_id = HiddenField(validators=[InputRequired()])
    startup_id = HiddenField(validators=[InputRequired()])
    reason = SelectField(_l("Why is this not a good match?"), validators=[InputRequired(_l("Choose a reason."))])
    note = TextAreaField(_l("More detail (optional)"), validators=[Length(max=1000, message=_l("Use at most 1,000 characters."))])

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.reason.choices = reason_choices()
