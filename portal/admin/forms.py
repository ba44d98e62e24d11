"""Admin forms."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, PasswordField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Email, InputRequired, Optional

from models import Department, User
from models.vocabulary import Role

from ..forms import BaseForm, MaxLength, NameField, choices
from ..labels import ROLE_LABELS


class CreateUserForm(BaseForm):
    """Create an officer, coordinator or admin account."""

    display_name = NameField(_l("Name"), validators=[InputRequired(_l("Enter a name.")), MaxLength(120)])
    email = EmailField(
        _l("Email address"),
        validators=[InputRequired(_l("Enter an email address.")), Email(_l("Enter a valid email address.")), MaxLength(254)],
    )
    role = SelectField(_l("Role"))
    department = SelectField(_l("Department (officers only)"), validators=[Optional()])
    locale = SelectField(_l("Preferred language"))
    password = PasswordField(
        _l("Initial password"),
        description=_l("At least 12 characters. Ask the person to change it after signing in."),
        validators=[InputRequired(_l("Choose a password.")), MaxLength(128)],
    )

    def __init__(self, departments: Sequence[Department], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.role.choices = choices(
            [(role, ROLE_LABELS[role]) for role in (Role.OFFICER, Role.COORDINATOR, Role.ADMIN)]
        )
        self.department.choices = choices([("", _l("None"))] + [(str(d.id), d.name_en + " / " + d.name_zh) for d in departments])
        self.locale.choices = choices([("en", "English"), ("zh_Hant_HK", "繁體中文")])


def _department_choices(departments: Sequence[Department]) -> list[SelectChoice]:
    return choices([("", _l("None"))] + [(str(d.id), d.name_en + " / " + d.name_zh) for d in departments])


def _staff_role_choices() -> list[SelectChoice]:
    return choices([(role, ROLE_LABELS[role]) for role in (Role.OFFICER, Role.COORDINATOR, Role.ADMIN)])


class InviteForm(BaseForm):
    """Invite an officer, coordinator or admin by email."""

    display_name = NameField(_l("Name"), validators=[InputRequired(_l("Enter a name.")), MaxLength(120)])
    email = EmailField(
        _l("Email address"),
        validators=[InputRequired(_l("Enter an email address.")), Email(_l("Enter a valid email address.")), MaxLength(254)],
    )
    role = SelectField(_l("Role"))
    department = SelectField(_l("Department (officers only)"), validators=[Optional()])
    locale = SelectField(_l("Language of the invitation"))

    def __init__(self, departments: Sequence[Department], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.role.choices = _staff_role_choices()
        self.department.choices = _department_choices(departments)
        self.locale.choices = choices([("en", "English"), ("zh_Hant_HK", "繁體中文")])


class EditUserForm(BaseForm):
    """Rename an account; change a staff member's role or department."""

    display_name = NameField(_l("Name"), validators=[InputRequired(_l("Enter a name.")), MaxLength(120)])
    role = SelectField(_l("Role"))
    department = SelectField(_l("Department (officers only)"), validators=[Optional()])

    def __init__(self, departments: Sequence[Department], user: User, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if user.role == Role.STARTUP:
            self.role.choices = choices([(Role.STARTUP, ROLE_LABELS[Role.STARTUP])])
        else:
            self.role.choices = _staff_role_choices()
        self.department.choices = _department_choices(departments)
