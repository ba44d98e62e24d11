"""Forms of the coordinators' pages: declaring a conflict of interest."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, TextAreaField
from wtforms.validators import InputRequired, Length

from models import Startup

from ..forms import BaseForm, choices
from ..services.conflicts import REASON_MAX


class ConflictForm(BaseForm):
    """Declare a conflict of interest with a startup."""

    startup_id = SelectField(
        _l("Startup"), coerce=str, validators=[InputRequired(_l("Choose a startup."))],
        invalid_choice_message=_l("Choose a startup from the list."),
    )
    reason = TextAreaField(
        _l("Why you have a conflict"),
        description=_l("For example: a relative works there; I advised them in the past two years."),
        validators=[
            InputRequired(_l("Say why you have a conflict with this startup.")),
            Length(max=REASON_MAX, message=_l("Use at most %(max)d characters.")),
        ],
    )

    def __init__(self, startups: list[Startup], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.startup_id.choices = choices([("", _l("Choose a startup"))] + [(s.id, s.name) for s in startups])
