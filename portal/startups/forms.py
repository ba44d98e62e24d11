"""Startup profile, capability and proposal forms."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from werkzeug.datastructures import FileStorage
from wtforms import EmailField, SelectField, TextAreaField, URLField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional, ValidationError

from models import Capability
from models.vocabulary import STARTUP_SIZES

from ..forms import (
    BaseForm,
    MaxLength,
    MultiCheckboxField,
    NameField,
    StampedForm,
    TagListField,
    TextLength,
    choices,
    domain_choices,
    page_language,
    web_address,
    with_scheme,
)
from ..labels import CONTENT_LANGUAGE_LABELS, READINESS_LEVELS, readiness_label
from ..services import proposals, startups


def _int_or_none(value: Any) -> int | None:
    """Coerce a submitted number; the empty choice is None; anything else raises ValueError."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise TypeError(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 9:
        return int(value)
    raise ValueError(value)


_web_address = web_address()


def _language_field() -> SelectField:
    return SelectField(
        _l("Language of this content"),
        description=_l("The language you write the text above in."),
        choices=choices(CONTENT_LANGUAGE_LABELS.items()),
        default=page_language,
        invalid_choice_message=_l("Choose English or Traditional Chinese."),
    )


class AreaForm(BaseForm):
    """A BaseForm that refuses text holding NUL bytes rather than quietly dropping them."""

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            if not field.errors and any(isinstance(v, str) and "\x00" in v for v in (field.raw_data or [])):
                field.errors.append(_l("Remove the invalid characters (NUL) from this field."))
                valid = False
        return valid

    def data_for_service(self) -> dict[str, Any]:
        """Return the submitted values keyed by field name, for a service call."""
        return {name: field.data for name, field in self._fields.items() if name != "csrf_token"}


class StartupForm(StampedForm, AreaForm):
    name = NameField(
        _l("Startup name"),
        validators=[
            DataRequired(_l("Enter your startup's name.")),
            Length(max=startups.NAME_MAX, message=_l("The name must be at most %(max)d characters.")),
        ],
    )
    website = URLField(
        _l("Website"),
        description=_l("For example https://www.example.com.hk"),
        filters=[with_scheme],
        validators=[
            Optional(),
            Length(max=startups.WEBSITE_MAX, message=_l("The web address must be at most %(max)d characters.")),
            _web_address,
        ],
    )
    description = TextAreaField(
        _l("About your startup"),
        validators=[
            Length(
                max=startups.STARTUP_DESCRIPTION_MAX,
                message=_l("The description must be at most %(max)d characters."),
            )
        ],
    )
    size = SelectField(
        _l("Company size"),
        choices=choices((s, s) for s in STARTUP_SIZES),
        invalid_choice_message=_l("Choose a company size."),
    )
    language = _language_field()


class CapabilityForm(StampedForm, AreaForm):
    name = NameField(
        _l("Name of the product or solution"),
        validators=[
            DataRequired(_l("Enter the capability's name.")),
            Length(max=startups.NAME_MAX, message=_l("The name must be at most %(max)d characters.")),
        ],
    )
    description = TextAreaField(
        _l("What it does"),
        description=_l("Who uses it, what problem it solves and how. At least 30 characters, a Chinese character counting as three."),
        validators=[
            DataRequired(_l("Describe the capability.")),
            TextLength(
                startups.CAPABILITY_DESCRIPTION_MIN,
                _l("Describe the capability in at least %(min)d characters, a Chinese character counting as three."),
            ),
            Length(
                max=startups.CAPABILITY_DESCRIPTION_MAX,
                message=_l("The description must be at most %(max)d characters."),
            ),
        ],
    )
    technologies = TagListField(
        _l("Technologies"),
        description=_l("Separate with commas, for example: speech recognition, chatbot"),
        max_tags=startups.MAX_TAGS,
        max_length=startups.TAG_MAX,
    )
    domains = MultiCheckboxField(
        _l("Domains it serves"),
        invalid_choice_message=_l("Choose domains from the list."),
    )
    deployments = TextAreaField(
        _l("Past deployments and references"),
        description=_l("Where it is in use, and who can vouch for it."),
        validators=[
            Length(max=startups.DEPLOYMENTS_MAX, message=_l("Past deployments must be at most %(max)d characters."))
        ],
    )
    readiness = SelectField(
        _l("Readiness level"),
        description=_l("Technology readiness, from 1 (an idea) to 9 (proven in operation)."),
        coerce=_int_or_none,
        validators=[InputRequired(_l("Choose a readiness level from 1 to 9."))],
        invalid_value_message=_l("Choose a readiness level from 1 to 9."),
        invalid_choice_message=_l("Choose a readiness level from 1 to 9."),
    )
    language = _language_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Labels depend on the request's language, so the choices are built per form.
        self.domains.choices = domain_choices()
        self.readiness.choices = choices(
            [("", _l("Choose a level"))] + [(level, readiness_label(level)) for level in READINESS_LEVELS]
        )

    def validate_domains(self, field: Any) -> None:
        if not field.data:
            raise ValidationError(_l("Choose at least one domain."))


class ProposalForm(StampedForm, AreaForm):
    capability_id = SelectField(
        _l("Which capability do you offer?"),
        coerce=_int_or_none,
        validators=[InputRequired(_l("Choose one of your startup's capabilities."))],
        invalid_value_message=_l("Choose one of your startup's capabilities."),
        invalid_choice_message=_l("Choose one of your startup's capabilities."),
    )
    pitch = TextAreaField(
        _l("Your pitch"),
        description=_l("How you would solve this challenge in a trial: at least %(low)d characters, a Chinese character counting as three, and at most %(high)d.",
                       low=proposals.PITCH_MIN, high=proposals.PITCH_MAX),
        validators=[
            DataRequired(_l("Write a short pitch.")),
            TextLength(proposals.PITCH_MIN, _l("Write at least %(min)d characters, a Chinese character counting as three.")),
            Length(max=proposals.PITCH_MAX, message=_l("The pitch must be at most %(max)d characters.")),
        ],
    )

    def __init__(self, *args: Any, capabilities: list[Capability] | tuple[()] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the startup's own capabilities are choices: any other id is refused by the field.
        self.capability_id.choices = [SelectChoice("", _l("Choose a capability"))] + [
            SelectChoice(str(c.id), c.name, render_kw={"lang": c.language}) for c in capabilities
        ]


class NewProposalForm(ProposalForm):
    """A new proposal, with an optional document (a deck, a brochure) sent with it."""

    file = FileField(_l("A deck or a brochure (optional)"))

    def data_for_service(self) -> dict[str, Any]:
        """The proposal's values (the file goes to ``services.documents`` on its own)."""
        return {name: value for name, value in super().data_for_service().items() if name != "file"}

    def upload(self) -> FileStorage | None:
        """The attached file, or None when none was chosen."""
        data = self.file.data
        return data if isinstance(data, FileStorage) and data.filename else None


class InviteColleagueForm(BaseForm):
    """Invite a colleague to join the member's startup."""

    display_name = NameField(_l("Your colleague's name"),
                             validators=[InputRequired(_l("Enter your colleague's name.")), MaxLength(120)])
    email = EmailField(
        _l("Their email address"),
        validators=[InputRequired(_l("Enter an email address.")), Email(_l("Enter a valid email address.")),
                    MaxLength(254)],
    )
    locale = SelectField(_l("Language of the invitation"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.locale.choices = choices([("en", "English"), ("zh_Hant_HK", "繁體中文")])
