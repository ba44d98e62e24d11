"""Forms to set a challenge's evaluation criteria, to score a proposal and to declare a conflict."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, IntegerField, RadioField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from ..forms import BaseForm, NameField, choices
from ..labels import CRITERION_LABELS, criterion_description, criterion_name
from ..services.conflicts import REASON_MAX
from ..services.panel import (
    COMMENT_MAX,
    CRITERIA_MAX,
    DESCRIPTION_MAX,
    NAME_MAX,
    SCORE_MAX,
    SCORE_MIN,
    Criterion,
    CriterionInput,
)

#: What each score means, shown beside its radio button.
SCORE_WORDS = {
    1: _l("1 – does not meet it"),
    2: _l("2 – meets little of it"),
    3: _l("3 – meets it in part"),
    4: _l("4 – meets it well"),
    5: _l("5 – meets it fully"),
}


class CriteriaForm(BaseForm):
    """Up to eight criteria, each a name, what it asks and a weight (the weights add up to 100).

    Rows are numbered fields (``name_1`` ... ``name_8``); a blank row is left out. A row that
    still reads as a template criterion keeps its key, so readers see it in their language.
    """

    ROWS = CRITERIA_MAX

    def rows(self) -> list[tuple[Any, Any, Any, Any]]:
        """(key, name, description, weight) fields of each row, in order."""
        return [
            (self[f"key_{i}"], self[f"name_{i}"], self[f"description_{i}"], self[f"weight_{i}"])
            for i in range(1, self.ROWS + 1)
        ]

    def fill(self, criteria: Sequence[Criterion]) -> None:
        """Show ``criteria`` (template ones in the reader's language)."""
        for (key, name, description, weight), c in zip(self.rows(), criteria, strict=False):
            key.data = c.key or ""
            name.data = criterion_name(c)
            description.data = criterion_description(c)
            weight.data = c.weight

    def inputs(self) -> list[CriterionInput]:
        """The rows typed, blank ones left out; a template key is kept only while its words are unchanged."""
        found = []
        for key, name, description, weight in self.rows():
            typed_name, typed_description = (name.data or "").strip(), (description.data or "").strip()
            if not typed_name and weight.data is None:
                continue
            template = CRITERION_LABELS.get(key.data or "")
            kept = template is not None and typed_name == str(template[0]) and typed_description == str(template[1])
            found.append(
                CriterionInput(typed_name, typed_description, weight.data or 0, key.data if kept else None)
            )
        return found


for _i in range(1, CriteriaForm.ROWS + 1):
    setattr(CriteriaForm, f"key_{_i}", HiddenField())
    setattr(CriteriaForm, f"name_{_i}", NameField(
        _l("Criterion %(n)d", n=_i),
        validators=[Length(max=NAME_MAX, message=_l("Use at most %(max)d characters."))],
    ))
    setattr(CriteriaForm, f"description_{_i}", TextAreaField(
        _l("What it asks"),
        validators=[Length(max=DESCRIPTION_MAX, message=_l("Use at most %(max)d characters."))],
    ))
    setattr(CriteriaForm, f"weight_{_i}", IntegerField(
        _l("Weight (%)"),
        validators=[Optional(), NumberRange(min=1, max=100, message=_l("Give a weight from 1 to 100."))],
    ))


def score_form(criteria: Sequence[Any], formdata: Any = None, scores: dict[int, Any] | None = None) -> BaseForm:
    """A form with a 1-to-5 choice and a comment for each criterion (``score_<id>``, ``comment_<id>``)."""

    class ScoreForm(BaseForm):
        pass

    for c in criteria:
        setattr(ScoreForm, f"score_{c.id}", RadioField(
            criterion_name(c),
            choices=choices([(str(n), str(SCORE_WORDS[n])) for n in range(SCORE_MIN, SCORE_MAX + 1)]),
            # Named, so the error summary at the top says which criterion is missing its score.
            validators=[InputRequired(_l("Give %(criterion)s a score from 1 to 5.", criterion=criterion_name(c)))],
        ))
        setattr(ScoreForm, f"comment_{c.id}", TextAreaField(
            _l("Comment (optional)"),
            validators=[Length(max=COMMENT_MAX, message=_l("Use at most %(max)d characters."))],
        ))
    form = ScoreForm(formdata=formdata) if formdata is not None else ScoreForm()
    if formdata is None and scores:
        for c in criteria:
            row = scores.get(c.id)
            if row is not None:
                form[f"score_{c.id}"].data = str(row.score)
                form[f"comment_{c.id}"].data = row.comment
    return form


def scores_from(form: BaseForm, criteria: Sequence[Any]) -> dict[int, tuple[int, str]]:
    """``{criterion id: (score, comment)}`` from a validated score form."""
    return {
        c.id: (int(form[f"score_{c.id}"].data), form[f"comment_{c.id}"].data or "") for c in criteria
    }


class PanelConflictForm(BaseForm):
    """Declare a conflict of interest with the proposing startup (off its panel)."""

    reason = TextAreaField(
        _l("Why do you have a conflict of interest?"),
        validators=[
            InputRequired(_l("Say why you have a conflict with this startup.")),
            Length(max=REASON_MAX, message=_l("Use at most %(max)d characters.")),
        ],
    )
