"""Forms of the personal access tokens page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, RadioField, StringField
from wtforms.validators import InputRequired, Length

from ..forms import BaseForm, choices
from ..services.api_tokens import LIFETIMES, NAME_MAX


class NewTokenForm(BaseForm):
    """Name a new token, choose what it may do and when it expires."""

    name = StringField(
        _l("Token name"),
        validators=[
            InputRequired(message=_l("Name the token, for example after the system that will use it.")),
            Length(max=NAME_MAX, message=_l("The name must be at most %(max)d characters.")),
        ],
    )
    scope = RadioField(
        _l("What the token may do"),
        choices=choices([
            ("read", _l("Read: your recommendations, profile and proposals")),
            ("write", _l("Read and write: also change your startup's profile and capabilities")),
        ]),
        default="read",
        validators=[InputRequired(message=_l("Choose what the token may do."))],
    )
    days = RadioField(
        _l("Expires after"),
        choices=choices([(str(d), _l("%(n)d days", n=d)) for d in LIFETIMES]),
        default="90",
        validators=[InputRequired(message=_l("Choose when the token expires."))],
    )

    # A stolen or unattended session must not turn into a credential that outlives it.
    current_password = PasswordField(_l("Current password"), validators=[InputRequired(_l("Enter your current password."))])

    def data_for_service(self) -> dict[str, object]:
        return {"name": self.name.data, "scope": self.scope.data, "days": int(self.days.data or 0)}
