"""Form base class and fields shared by every area."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC
from functools import cache
from typing import Any

from babel import support
from flask import request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, Field, HiddenField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.i18n import messages_path
from wtforms.validators import Length, StopValidation, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from models.db import distinct_tags
from models.names import strip_invisible, weighted_length

from .database import db
from .templating import format_day_time

# Control characters other than tab and newlines; PostgreSQL also refuses NUL in text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# What a one-line value may not hold: line breaks (including the Unicode line and paragraph
# separators) and control characters. In a name they would end up in email headers.
_NOT_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

#: Fields whose text is cleaned of control characters (multi-line) ...
TEXT_FIELDS = ("TextAreaField", "TagListField")
#: ... and fields that hold one line and refuse line breaks and control characters.
LINE_FIELDS = ("StringField", "EmailField", "URLField", "SearchField", "NameField")


def clean_text(value: Any) -> Any:
    """Strip control characters and surrounding white space, normalise line ends."""
    if isinstance(value, str):
        return _CONTROL.sub("", value.replace("\r\n", "\n")).strip()
    return value


def clean_line(value: Any) -> Any:
    """Strip surrounding white space (a pasted trailing line break), tabs become spaces."""
    if isinstance(value, str):
        return value.replace("\t", " ").strip()
    return value


def clean_name_text(value: Any) -> Any:
    """NFKC-normalise a name and remove its zero-width and bidirectional control characters."""
    return strip_invisible(value) if isinstance(value, str) else value


def one_line(form: Any, field: Any) -> None:
    """Refuse a value with a line break or a control character, with a message that says so."""
    if isinstance(field.data, str) and _NOT_ONE_LINE.search(field.data):
        raise StopValidation(_l("Enter this on one line, without line breaks or control characters."))


def has_word(form: Any, field: Any) -> None:
    """Refuse a name made only of symbols, punctuation or emoji ("!!!???", "🚀🚀🚀"): a name
    is read, listed and searched, so it needs a letter or a number of some script."""
    text = field.data if isinstance(field.data, str) else ""
    if text.strip() and not any(unicodedata.category(ch)[0] in "LN" for ch in text):
        raise StopValidation(_l("Use letters or numbers in it, not only symbols or emoji."))


class TextLength:
    """WTForms' ``Length`` with the minimum counted as the services count it
    (:func:`models.names.weighted_length`: a Han character as three); the maximum, if any,
    in characters as stored. The message may name both bounds (``%(min)d``, ``%(max)d``)."""

    def __init__(self, minimum: int, message: Any, maximum: int = -1) -> None:
        self.minimum = minimum
        self.maximum = maximum
        self.message = message

    def __call__(self, form: Any, field: Any) -> None:
        text = field.data or ""
        if weighted_length(text) < self.minimum or (self.maximum >= 0 and len(text) > self.maximum):
            raise ValidationError(self.message % {"min": self.minimum, "max": self.maximum})


class MaxLength(Length):
    """WTForms' ``Length(max=...)`` (the input's ``maxlength`` too) with a message that names
    the field: "Your name: use at most 120 characters." WTForms' own, "Field cannot be longer
    than 120 characters.", does not say which field, and the error summary lists it alone."""

    def __init__(self, maximum: int) -> None:
        super().__init__(max=maximum)

    def __call__(self, form: Any, field: Any) -> None:
        if len(field.data or "") > self.max:
            raise ValidationError(_("%(field)s: use at most %(max)d characters.", field=field.label.text, max=self.max))


class NameField(StringField):
    """A person's, company's or thing's name: one line, NFKC-normalised, no invisible characters.

    Zero-width characters and bidirectional controls are removed, so names that look the
    same are the same (see ``models.names``).
    """


@cache
def _wtforms_catalogue(locale: str) -> Any:
    """WTForms' own catalogue of its messages in ``locale``: for Chinese, its Traditional one
    (``zh_TW``; asked for ``zh_Hant_HK``, gettext would fall back to ``zh``, which is Simplified)."""
    return support.Translations.load(messages_path(), ["zh_TW" if locale.startswith("zh") else locale], domain="wtforms")


def page_language() -> str:
    """The language a text typed on this page most likely has: the page's own ("zh-Hant" on
    a Chinese page, else "en"); the default of the forms' "language of this text" fields."""
    locale = get_locale()
    return "zh-Hant" if locale is not None and locale.language == "zh" else "en"


class WTFormsMessages:
    """WTForms' built-in messages ("Field cannot be longer than 120 characters.", "Not a
    valid integer value.") in the page's language; Traditional Chinese on Chinese pages."""

    def _catalogue(self) -> Any:
        return _wtforms_catalogue(str(get_locale() or "en"))

    def gettext(self, string: str) -> str:
        return str(self._catalogue().ugettext(string))

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return str(self._catalogue().ungettext(singular, plural, n))


WTFORMS_MESSAGES = WTFormsMessages()


class BaseForm(FlaskForm):
    """A FlaskForm (with CSRF) whose text inputs are cleaned before validation.

    Multi-line text loses its control characters; one-line fields refuse line breaks and
    control characters with a message (a silently joined line could change a name's sense).
    """

    class Meta:
        def get_translations(self, form: Any) -> WTFormsMessages:
            return WTFORMS_MESSAGES

        def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Field:
            kind = unbound_field.field_class.__name__
            filters = list(unbound_field.kwargs.get("filters", ()))
            if kind in TEXT_FIELDS:
                options = {**options, "filters": [clean_text, *filters]}
            elif kind in LINE_FIELDS:
                name = kind == "NameField"
                first = [clean_name_text, clean_line] if name else [clean_line]
                validators = [one_line, *([has_word] if name else []), *(unbound_field.kwargs.get("validators") or ())]
                options = {**options, "filters": [*first, *filters], "validators": validators}
            return unbound_field.bind(form=form, **options)

    def apply_domain_error(self, error: Any) -> None:
        """Show a service's DomainError on its field (or above the form); each of several
        (``DomainErrors``) on its own."""
        for problem in error.problems:
            field = getattr(self, problem.field, None) if problem.field else None
            if isinstance(field, Field):
                field.errors = [*field.errors, problem.message]
            else:
                self.form_errors.append(problem.message)


class CsrfForm(BaseForm):
    """A button that changes something: a form holding only the CSRF token."""


def form_status(form: Any) -> int:
    """The status of a form page: 200, 400 with errors, 409 when the row was saved by someone
    else meanwhile (:meth:`StampedForm.saved_elsewhere`)."""
    if getattr(form, "conflict", False):
        return 409
    return 400 if form.errors else 200


def edit_stamp(row: Any) -> str:
    """What a form that edits ``row`` remembers of it: when it was last saved, as an instant
    in UTC (the same moment reads the same whatever offset the database session gives it)."""
    updated = getattr(row, "updated_at", None)
    return updated.astimezone(UTC).isoformat(timespec="microseconds") if updated is not None else ""


class StampedForm(BaseForm):
    """A form that edits one row, and carries when that row was last saved as the page was
    opened (``loaded``), so that saving over someone else's newer save is refused with a
    message instead of silently replacing it (a lost update).

    The route builds it with ``obj=row`` and asks :meth:`saved_elsewhere` before it saves.
    The refused page keeps everything typed, and now carries the row's new stamp: saving
    again replaces the other version knowingly. A post without a stamp (a script) is not
    checked.
    """

    loaded = HiddenField()
    #: Set when the row was saved elsewhere after the page was opened.
    conflict = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        row = kwargs.get("obj")
        if row is not None and not self.loaded.data:
            self.loaded.data = edit_stamp(row)

    def saved_elsewhere(self, row: Any, what: Any) -> bool:
        """True (with a message above the form) when ``row`` changed after this form's page
        was opened; ``what`` names it in the message ("this challenge").

        The row is read again locked (``SELECT ... FOR UPDATE`` on PostgreSQL), so that of
        two saves sent at the same moment the second waits for the first to commit and then
        sees its stamp; SQLite lets one writer at a time in anyway.
        """
        posted = self.loaded.data or ""
        if not posted:
            return False
        db.refresh(row, with_for_update=True)
        current = edit_stamp(row)
        if posted == current:
            return False
        self.form_errors.append(_l(
            "This page is out of date: %(what)s changed at %(when)s, after you opened it. Nothing of yours "
            "is saved yet, and what you typed is below. Open %(what)s in another tab to see it as it is now; "
            "saving again replaces it with yours.",
            what=what, when=format_day_time(getattr(row, "updated_at", None)),
        ))
        self.loaded.raw_data = [current]
        self.loaded.data = current
        self.conflict = True
        return True


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class TagListField(StringField):
    """Comma-separated tags, stored lower case, de-duplicated (:func:`distinct_tags`)."""

    def __init__(self, *args: Any, max_tags: int = 12, max_length: int = 40, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_tags = max_tags
        self.max_length = max_length

    def _value(self) -> str:
        return ", ".join(self.data or [])

    def process_formdata(self, valuelist: list[Any]) -> None:
        raw = valuelist[0] if valuelist else ""
        raw = clean_text(raw) if isinstance(raw, str) else ""
        self.data = distinct_tags(re.split(r"[,，、;\n]", raw))

    def process_data(self, value: Any) -> None:
        self.data = list(value or [])

    def pre_validate(self, form: Any) -> None:
        if len(self.data or []) > self.max_tags:
            raise ValidationError(_l("Use at most %(n)d tags.", n=self.max_tags))
        for tag in self.data or []:
            if len(tag) > self.max_length:
                raise ValidationError(_l("Each tag must be at most %(n)d characters.", n=self.max_length))


class DayField(DateField):
    """A calendar date (YYYY-MM-DD); blank is None, a date that does not exist gets our own message."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            self.data = None
            raise ValueError(_l("Enter a real date, for example 2031-03-28.")) from exc

    def pre_validate(self, form: Any) -> None:
        if self.process_errors:
            raise StopValidation()  # one message is enough


def choices(pairs: Any) -> list[SelectChoice]:
    """Select/checkbox choices from ``(value, label)`` pairs (WTForms 3.3 wants SelectChoice)."""
    return [SelectChoice(str(value), label) for value, label in pairs]


MAX_ID = 2**31 - 1


def parse_id(value: Any) -> int | None:
    """An id posted in a form, or None when it is not a positive database integer."""
    text = str(value or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def domain_choices() -> list[SelectChoice]:
    """The six MoU domains as choices, labelled in the interface language (call per request)."""
    from models.vocabulary import DOMAINS

    from .templating import domain_label

    return choices((term.key, domain_label(term.key)) for term in DOMAINS)


_BARE_HOST = re.compile(r"^[\w-]+(\.[\w-]+)*\.[a-z]{2,}(:\d+)?([/?#]\S*)?$", re.IGNORECASE)


def with_scheme(value: Any) -> Any:
    """A web address typed without its scheme ("www.doculeaf.com.hk") as https:// ...; anything
    else as typed (the validators judge it)."""
    if isinstance(value, str):
        text = value.strip()
        if text and "://" not in text and _BARE_HOST.match(text):
            return "https://" + text
    return value


#: What a website field says when its value is not a web address (registration and profile alike).
WEB_ADDRESS_MESSAGE = _l("Enter a web address starting with http:// or https://, for example https://www.example.com.")


def web_address(message: Any = WEB_ADDRESS_MESSAGE) -> Any:
    """A validator accepting only absolute http(s) addresses (``javascript:`` and the like fail);
    it stops the field's other checks, so their messages do not repeat it."""

    def check(form: Any, field: Any) -> None:
        from .services.startups import is_web_address

        if field.data and not is_web_address(field.data):
            raise StopValidation(message)

    return check


#: A page number longer than this many digits means "the last page" (the services clamp it).
MAX_PAGE_DIGITS = 9


def page_number() -> int:
    """The ``page`` query parameter as a positive number; anything else means the first page."""
    raw = request.args.get("page", "").strip()
    if not raw.isascii() or not raw.isdigit():
        return 1
    return max(1, int(raw)) if len(raw) <= MAX_PAGE_DIGITS else 10**MAX_PAGE_DIGITS
