"""The audit log's filters."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from ..audit_labels import ACTION_LABELS
from ..forms import MAX_ID, BaseForm, DayField, choices
from ..labels import entity_label
from .query import AuditFilters


class AuditFilterForm(BaseForm):
    """Filter the audit log, sent as GET parameters (no CSRF: nothing changes)."""

    class Meta(BaseForm.Meta):
        csrf = False

    actor = StringField(
        _l("Who"), description=_l("Part of a name or email, or a user number"),
        validators=[Optional(), Length(max=120, message=_l("Use at most %(max)d characters."))],
    )
    action = StringField(
        _l("What happened"), description=_l("Words of the action, for example “unpublished”, or the start of its code, for example trial."),
        validators=[Optional(), Length(max=60, message=_l("Use at most %(max)d characters."))],
    )
    entity_type = SelectField(
        _l("Kind of record"), default="", invalid_choice_message=_l("Choose a kind of record from the list.")
    )
    entity_id = IntegerField(
        _l("Record number"),
        validators=[Optional(), NumberRange(min=1, max=MAX_ID, message=_l("Enter a record number from 1 to %(max)d."))],
    )
    date_from = DayField(_l("From"), description=_l("For example 2026-01-31."), validators=[Optional()])
    date_to = DayField(_l("To"), description=_l("For example 2026-12-31."), validators=[Optional()])

    def __init__(self, entity_types: list[str], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.entity_type.choices = choices(
            [("", _l("Any kind"))] + [(t, entity_label(t)) for t in entity_types]
        )

    def validate_actor(self, field: Any) -> None:
        # All digits means a user number: it must fit the database's ids, never overflow a query.
        text = (field.data or "").strip()
        if text.isascii() and text.isdigit() and not 0 < int(text) <= MAX_ID:
            raise ValidationError(_l("Enter a user number from 1 to %(max)d.", max=MAX_ID))

    def validate_date_to(self, field: Any) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date must be on or after the start date."))

    def filters(self) -> AuditFilters:
        """The filters as entered (call after ``validate``)."""
        return AuditFilters(
            actor=self.actor.data or "", action=self.action.data or "",
            action_words=actions_described_by(self.action.data or ""), entity_type=self.entity_type.data or "",
            entity_id=self.entity_id.data, date_from=self.date_from.data, date_to=self.date_to.data,
        )


def actions_described_by(words: str) -> tuple[str, ...]:
    """The action codes whose label, in the reader's language or in English, has every word of
    ``words`` (case ignored): "unpublished" or 「撤回」 finds ``trial.outcome_unpublish``. An
    English word matches the start of a word of the label ("unpubl" does, "ublished" does not);
    Chinese, written without spaces, matches anywhere in it."""
    wanted = words.casefold().split()
    if not wanted:
        return ()
    read = {code: str(label).casefold() for code, label in ACTION_LABELS.items()}
    with force_locale("en"):
        english = {code: str(label).casefold() for code, label in ACTION_LABELS.items()}
    return tuple(sorted(
        code for code in ACTION_LABELS
        if all(_has(read[code], word) for word in wanted) or all(_has(english[code], word) for word in wanted)
    ))


def _has(label: str, word: str) -> bool:
    """Whether ``label`` has ``word``: at the start of one of its words, or (Chinese) anywhere."""
    if not word.isascii():
        return word in label
    return any(part.startswith(word) for part in re.findall(r"\w+", label))
