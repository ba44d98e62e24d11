"""The workshop form: times are entered in the service's time zone (Hong Kong)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import DateTimeLocalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from models.vocabulary import DOMAINS

from .. import clock
from ..forms import MultiCheckboxField, StampedForm, choices, edit_stamp, page_language
from ..services.workshops import CAPACITY_MAX, DESCRIPTION_MAX, LOCATION_MAX, TITLE_MAX

_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


def to_local(value: datetime | None) -> datetime | None:
    """An aware UTC time as a naive local time for the form."""
    return clock.local(value).replace(tzinfo=None) if value else None


def to_utc(value: datetime | None) -> datetime | None:
    """A naive local time from the form as an aware UTC time."""
    return clock.to_utc(value) if value else None


class WorkshopForm(StampedForm):
    """Schedule or edit a workshop."""

    title_en = StringField(
        _l("Title in English"),
        validators=[
            InputRequired(message=_l("Enter the English title.")),
            Length(max=TITLE_MAX, message=_l("The title must be at most %(max)d characters.")),
        ],
    )
    title_zh = StringField(
        _l("Title in Chinese (optional)"),
        validators=[Optional(), Length(max=TITLE_MAX, message=_l("The title must be at most %(max)d characters."))],
    )
    language = SelectField(
        _l("Language of the description and location"),
        choices=choices([("en", "English"), ("zh-Hant", "繁體中文")]),
        default=page_language,
        validators=[InputRequired(message=_l("Choose the language of the text."))],
    )
    description = TextAreaField(
        _l("Description"),
        validators=[Optional(), Length(max=DESCRIPTION_MAX, message=_l("Use at most %(max)d characters."))],
    )
    starts_at = DateTimeLocalField(
        _l("Starts (Hong Kong time)"), format=_FORMATS, description=_l("For example 2031-03-14 14:00."),
        invalid_value_message=_l("Enter a real date and time, for example 2031-03-14 14:00."),
        validators=[InputRequired(message=_l("Enter a date and time."))],
    )
    ends_at = DateTimeLocalField(
        _l("Ends (Hong Kong time)"), format=_FORMATS,
        invalid_value_message=_l("Enter a real date and time, for example 2031-03-14 17:00."),
        validators=[InputRequired(message=_l("Enter a date and time."))],
    )
    location = StringField(
        _l("Location"),
        validators=[Optional(), Length(max=LOCATION_MAX, message=_l("Use at most %(max)d characters."))],
    )
    capacity = IntegerField(
        _l("Capacity (places)"),
        validators=[
            InputRequired(message=_l("Enter the number of places.")),
            NumberRange(min=1, max=CAPACITY_MAX, message=_l("Enter a capacity from %(min)d to %(max)d.")),
        ],
    )
    domains = MultiCheckboxField(
        _l("Domains"), validators=[Optional()], invalid_choice_message=_l("Choose domains from the list.")
    )
    challenge_ids = MultiCheckboxField(
        _l("Challenges discussed"), coerce=int, validators=[Optional()],
        invalid_value_message=_l("Choose challenges from the list."),
        invalid_choice_message=_l("Choose challenges from the list."),
    )

    def __init__(self, challenge_options: list[tuple[int, str]], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from ..templating import current_locale

        locale = current_locale()
        self.domains.choices = choices([(t.key, t.label(locale)) for t in DOMAINS])
        self.challenge_ids.choices = choices(challenge_options)

    @classmethod
    def for_workshop(cls, challenge_options: list[tuple[int, str]], workshop: Any) -> WorkshopForm:
        """The form filled with ``workshop``'s values (times in local time)."""
        return cls(
            challenge_options,
            data={
                "title_en": workshop.title_en, "title_zh": workshop.title_zh, "language": workshop.language,
                "description": workshop.description, "starts_at": to_local(workshop.starts_at),
                "ends_at": to_local(workshop.ends_at), "location": workshop.location,
                "capacity": workshop.capacity, "domains": list(workshop.domains or []),
                "challenge_ids": list(workshop.challenge_ids or []), "loaded": edit_stamp(workshop),
            },
        )

    def data_for_service(self) -> dict[str, Any]:
        """The values the workshops service takes."""
        return {
            "title_en": self.title_en.data or "", "title_zh": self.title_zh.data or "",
            "language": self.language.data, "description": self.description.data or "",
            "starts_at": to_utc(self.starts_at.data), "ends_at": to_utc(self.ends_at.data),
            "location": self.location.data or "", "capacity": self.capacity.data,
            "domains": list(self.domains.data or []), "challenge_ids": list(self.challenge_ids.data or []),
        }
