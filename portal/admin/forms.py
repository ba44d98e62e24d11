"""Admin forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, PasswordField, SelectField
from wtforms.validators import Email, InputRequired, Length, Optional

from models.vocabulary import Role

from ..forms import BaseForm, NameField, choices
from ..labels import ROLE_LABELS


class CreateUserForm(BaseForm):
    """Create an officer, coordinator or admin account."""

    display_name = NameField(_l("Name"), validators=[InputRequired(_l("Enter a name.")), Length(max=120)])
    email = EmailField(
        _l("Email address"),
        validators=[InputRequired(_l("Enter an email address.")), Email(_l("Enter a valid email address.")), Length(max=254)],
    )
    role = SelectField(_l("Role"))
    department = SelectField(_l("Department (officers only)"), validators=[Optional()])
    locale = SelectField(_l("Preferred language"))
    password = PasswordField(
        _l("Initial password"),
        description=_l("At least 12 characters. Ask the person to change it after signing in."),
        validators=[InputRequired(_l("Choose a password.")), Length(max=128)],
    )

    def __init__(self, departments, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.role.choices = choices(
            [(role, ROLE_LABELS[role]) for role in (Role.OFFICER, Role.COORDINATOR, Role.ADMIN)]
        )
        self.department.choices = choices([("", _l("None"))] + [(str(d.id), d.name_en + " / " + d.name_zh) for d in departments])
        self.locale.choices = choices([("en", "English"), ("zh_Hant_HK", "繁體中文")])
