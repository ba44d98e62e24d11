"""Sign-in, registration and account forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
    URLField,
)
from wtforms.validators import (
    URL,
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    Optional,
    ValidationError,
)

from models.vocabulary import STARTUP_SIZES

from ..forms import (
    WEB_ADDRESS_MESSAGE,
    BaseForm,
    MaxLength,
    NameField,
    choices,
    web_address,
    with_scheme,
)
from ..passwords import password_problem


class LoginForm(BaseForm):
    email = EmailField(_l("Email address"), validators=[InputRequired(_l("Enter your email address.")), MaxLength(254)])
    password = PasswordField(_l("Password"), validators=[InputRequired(_l("Enter your password.")), MaxLength(128)])


class RegisterForm(BaseForm):
    display_name = NameField(_l("Your name"), validators=[DataRequired(_l("Enter your name.")), MaxLength(120)])
    email = EmailField(
        _l("Work email address"),
        validators=[InputRequired(_l("Enter your email address.")), Email(_l("Enter a valid email address.")), MaxLength(254)],
    )
    startup_name = NameField(
        _l("Startup name"), validators=[DataRequired(_l("Enter your startup's name.")), MaxLength(200)]
    )
    website = URLField(
        _l("Website"),
        filters=[with_scheme],
        validators=[
            Optional(),
            web_address(),
            URL(message=WEB_ADDRESS_MESSAGE),
            Length(max=300, message=_l("The web address must be at most %(max)d characters.")),
        ],
    )

    size = SelectField(_l("Company size"), choices=choices((s, s) for s in STARTUP_SIZES))
    password = PasswordField(
        _l("Password"),
        description=_l("At least 12 characters. Not a common password, a sequence such as 123456, or your name or email."),
        validators=[InputRequired(_l("Choose a password."))],
    )
    confirm = PasswordField(
        _l("Confirm password"),
        validators=[InputRequired(_l("Repeat your password.")), EqualTo("password", _l("The passwords do not match."))],
    )

    def validate_password(self, field: Field) -> None:
        """The password policy, said with the other fields' errors (the service checks again)."""
        from ..services.accounts import password_message

        problem = password_problem(field.data or "", email=self.email.data or "", name=self.display_name.data or "")
        if problem:
            raise ValidationError(password_message(problem))


class ChangePasswordForm(BaseForm):
    current_password = PasswordField(_l("Current password"), validators=[InputRequired(_l("Enter your current password."))])
    new_password = PasswordField(
        _l("New password"),
        description=_l("At least 12 characters. Not a common password, a sequence such as 123456, or your name or email."),
        validators=[InputRequired(_l("Choose a new password.")), MaxLength(128)],
    )
    confirm = PasswordField(
        _l("Confirm new password"),
        validators=[InputRequired(_l("Repeat your new password.")), EqualTo("new_password", _l("The passwords do not match."))],
    )


class ChangeNameForm(BaseForm):
    display_name = NameField(_l("Your name"), validators=[DataRequired(_l("Enter your name.")), MaxLength(120)])


class ChangeEmailForm(BaseForm):
    email = EmailField(
        _l("New email address"),
        validators=[InputRequired(_l("Enter your email address.")), Email(_l("Enter a valid email address.")), MaxLength(254)],
    )
    current_password = PasswordField(_l("Current password"), validators=[InputRequired(_l("Enter your current password."))])


class TwoStepForm(BaseForm):
    code = StringField(
        _l("Code"),
        description=_l("The 6-digit code from your authenticator app, or one of your recovery codes."),
        validators=[InputRequired(_l("Enter the code.")), Length(max=40, message=_l("The code is too long."))],
    )


class TwoStepSetupForm(BaseForm):
    enrolment = HiddenField(validators=[InputRequired(_l("This set-up page has expired. Scan the new QR code.")),
                                        Length(max=400, message=_l("This set-up page has expired. Scan the new QR code."))])
    code = StringField(
        _l("Code from your app"),
        description=_l("Enter the 6-digit code your app shows for InnoMatch."),
        validators=[InputRequired(_l("Enter the code.")), Length(max=40, message=_l("The code is too long."))],
    )


class TwoStepDisableForm(BaseForm):
    current_password = PasswordField(_l("Current password"), validators=[InputRequired(_l("Enter your current password."))])


class RecoveryCodesForm(BaseForm):
    code = StringField(
        _l("Code from your app"),
        validators=[InputRequired(_l("Enter the code.")), Length(max=40, message=_l("The code is too long."))],
    )


class AcceptInvitationForm(BaseForm):
    password = PasswordField(
        _l("Choose a password"),
        description=_l("At least 12 characters. Avoid common passwords."),
        validators=[InputRequired(_l("Choose a password.")), MaxLength(128)],
    )
    confirm = PasswordField(
        _l("Confirm password"),
        validators=[InputRequired(_l("Repeat your password.")), EqualTo("password", _l("The passwords do not match."))],
    )
class ForgotPasswordForm(BaseForm):
    email = EmailField(
        _l("Email address"),
        validators=[InputRequired(_l("Enter your email address.")), Email(_l("Enter a valid email address.")), MaxLength(254)],
    )


class ResetPasswordForm(BaseForm):
    password = PasswordField(
        _l("New password"),
        description=_l("At least 12 characters. Avoid common passwords."),
        validators=[InputRequired(_l("Choose a new password.")), MaxLength(128)],
    )
    confirm = PasswordField(
        _l("Confirm new password"),
        validators=[InputRequired(_l("Repeat your new password.")), EqualTo("password", _l("The passwords do not match."))],
    )


class CloseAccountForm(BaseForm):
    understood = BooleanField(
        _l("I understand that closing my account cannot be undone"),
        validators=[DataRequired(_l("Confirm that you understand closing your account cannot be undone."))],
    )
    current_password = PasswordField(_l("Current password"), validators=[InputRequired(_l("Enter your current password."))])
