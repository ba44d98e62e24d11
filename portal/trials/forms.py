"""Forms for trial moves."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, IntegerField, SelectField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from ..forms import BaseForm, choices
from ..services.trials import MOVES, OUTCOME_LABELS


class MoveForm(BaseForm):
    """Make one state-machine move on a trial."""

    action = HiddenField(validators=[InputRequired()])
    version = IntegerField(validators=[InputRequired(), NumberRange(min=1, max=2**31 - 1)])
    reason = TextAreaField(_l("Reason"), validators=[Length(max=3000, message=_l("Use at most 3,000 characters."))])
    outcome = SelectField(_l("Outcome"), validators=[Optional()])

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.outcome.choices = choices([("", _l("Choose an outcome"))] + list(OUTCOME_LABELS.items()))

    def validate_action(self, field):  # type: ignore[no-untyped-def]
        from wtforms.validators import ValidationError

        if field.data not in MOVES:
            raise ValidationError(_l("Unknown action."))


class ShortlistForm(BaseForm):
    """Shortlist a recommended startup for a challenge."""

    challenge_id = IntegerField(validators=[InputRequired(), NumberRange(min=1, max=2**31 - 1)])
    capability_id = IntegerField(validators=[InputRequired(), NumberRange(min=1, max=2**31 - 1)])
