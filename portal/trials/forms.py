"""Forms for trial moves and for tracking a trial (milestones, KPIs, results, notes)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import (
    InputRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
    ValidationError,
)

from models import Trial

from ..errors import DomainError
from ..forms import BaseForm, DayField, choices, one_line
from ..labels import TRIAL_OUTCOME_LABELS
from ..services.trials import (
    MOVES,
    NAME_MAX,
    REASON_MAX,
    TEXT_MAX,
    WAIVER_REASON_MAX,
    parse_kpi_lines,
)

#: Languages of the content, named in their own language.
LANGUAGE_CHOICES = (("en", "English"), ("zh-Hant", "繁體中文"))
#: The same, after the default: the language is read from the text itself.
TEXT_LANGUAGE_CHOICES = (("", _l("As written (detected from the text)")), *LANGUAGE_CHOICES)
_MAX_ID = 2**31 - 1


def _length(n: int) -> Length:
    return Length(max=n, message=_l("Use at most %(max)d characters."))


def _report_text_fields(summary_required: bool) -> tuple[Any, Any, Any, Any]:
    """The outcome report's text fields (summary, lessons, recommendation, its language), made
    where the form's class lists them so they keep their place in its order. The language's
    choices are set by :func:`_report_language_choices` once the form is made."""
    summary = [InputRequired(_l("Summarise what the trial showed."))] if summary_required else [Optional()]
    return (
        TextAreaField(_l("Summary of the results"), validators=[*summary, _length(TEXT_MAX)]),
        TextAreaField(_l("Lessons learnt"), validators=[Optional(), _length(TEXT_MAX)]),
        TextAreaField(_l("Recommendation"), validators=[Optional(), _length(TEXT_MAX)]),
        SelectField(_l("Language of the report"), default="",
                    invalid_choice_message=_l("Choose a language from the list.")),
    )


def _report_text(form: Any) -> dict[str, Any]:
    """The report's text as the services take it, from a form with :func:`_report_text_fields`."""
    return {
        "summary": form.summary.data or "",
        "lessons": form.lessons.data or "",
        "recommendation": form.recommendation.data or "",
        "language": form.report_language.data or None,
    }


class MoveForm(BaseForm):
    """Make one state-machine move on a trial; "approve" agrees KPIs, "complete" reports the outcome."""

    action = HiddenField(validators=[InputRequired(_l("Choose what to do."))])
    version = IntegerField(
        validators=[
            InputRequired(_l("Reload the page and try again.")),
            NumberRange(min=1, max=_MAX_ID, message=_l("Reload the page and try again.")),
        ]
    )
    reason = TextAreaField(_l("Reason"), validators=[Optional(), _length(REASON_MAX)])
    kpis = TextAreaField(
        _l("KPIs agreed"),
        description=_l("One per line, as “name | target”, for example “Calls answered by the chatbot | 60%”."),
        validators=[Optional(), _length(20000)],
    )
    outcome = SelectField(_l("Outcome"), default="", invalid_choice_message=_l("Choose an outcome from the list."))
    summary, lessons, recommendation, report_language = _report_text_fields(summary_required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.outcome.choices = choices([("", _l("Choose an outcome"))] + list(TRIAL_OUTCOME_LABELS.items()))
        self.report_language.choices = choices(TEXT_LANGUAGE_CHOICES)

    def validate_action(self, field: Any) -> None:
        if field.data not in MOVES:
            raise ValidationError(_l("Unknown action."))

    def validate_kpis(self, field: Any) -> None:
        if self.action.data != "approve":
            return
        try:
            parse_kpi_lines(field.data)
        except DomainError as error:  # every wrong line, each its own message
            field.errors.extend(p.message for p in error.problems)
            raise StopValidation() from None

    def scope_ids(self) -> None:
        """Give the fields the ids the page uses for the posted move (``<action>-<field>``)."""
        if self.action.data in MOVES:
            for field in self:
                field.id = f"{self.action.data}-{field.name}"

    def result_fields(self) -> dict[int, Any]:
        """The KPI result fields, by KPI id."""
        return {int(name[len("result_"):]): field for name, field in self._fields.items() if name.startswith("result_")}

    def data_for_service(self) -> dict[str, Any]:
        """The keyword arguments of ``trials.move_trial`` after ``action`` and ``reason``."""
        kpis = parse_kpi_lines(self.kpis.data) if self.action.data == "approve" else []
        return {
            "expected_version": self.version.data,
            "kpis": kpis,
            "report": {
                "outcome": self.outcome.data or None,
                **_report_text(self),
                "results": {kpi_id: f.data for kpi_id, f in self.result_fields().items() if f.data},
            },
        }


def move_form_for(trial: Trial, **kwargs: Any) -> MoveForm:
    """A MoveForm with one result field per KPI of ``trial`` (``result_<kpi id>``)."""

    class TrialMoveForm(MoveForm):
        pass

    for kpi in trial.kpis:
        setattr(
            TrialMoveForm,
            f"result_{kpi.id}",
            StringField(kpi.name, validators=[Optional(), _length(NAME_MAX)], default=kpi.result or ""),
        )
    return TrialMoveForm(**kwargs)


class MilestoneForm(BaseForm):
    """Add a dated milestone."""

    title = StringField(
        _l("Milestone"), validators=[InputRequired(_l("Name the milestone.")), _length(NAME_MAX)]
    )
    due_on = DayField(
        _l("Due on"), description=_l("Today or later."),
        validators=[InputRequired(_l("Enter the date the milestone is due."))],
    )


class KpiForm(BaseForm):
    """Add a KPI with its target."""

    name = StringField(_l("KPI"), validators=[InputRequired(_l("Name the KPI.")), _length(NAME_MAX)])
    target = StringField(_l("Target"), validators=[InputRequired(_l("Give the KPI's target.")), _length(NAME_MAX)])


class KpiResultForm(BaseForm):
    """Record the measured result of one KPI."""

    result = StringField(
        _l("Measured result"), validators=[InputRequired(_l("Enter the measured result.")), _length(NAME_MAX)]
    )


class WaiveMilestoneForm(BaseForm):
    """Waive a milestone that will not be reached, with the reason."""

    reason = StringField(
        _l("Why is the milestone waived?"),
        validators=[InputRequired(_l("Say why the milestone is waived.")), one_line, _length(WAIVER_REASON_MAX)],
    )


class UnpublishOutcomeForm(BaseForm):
    """Take the outcome report off the public showcase, with the reason."""

    reason = TextAreaField(
        _l("Why unpublish the outcome report?"),
        validators=[InputRequired(_l("Say why the outcome report is unpublished.")), _length(REASON_MAX)],
    )


class RecordAgreementForm(BaseForm):
    """Record the startup's agreement to publish the outcome, given outside the service."""

    note = TextAreaField(
        _l("How did the startup agree?"),
        description=_l("For example: by email from its director on 3 December 2026, kept in file DH/PoC/12."),
        validators=[InputRequired(_l("Say how the startup agreed.")), _length(REASON_MAX)],
    )


class CorrectReportForm(BaseForm):
    """Put the outcome report's text right while no sign-off stands (coordinators)."""

    summary, lessons, recommendation, report_language = _report_text_fields(summary_required=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.report_language.choices = choices(TEXT_LANGUAGE_CHOICES)

    @classmethod
    def of(cls, trial: Trial) -> CorrectReportForm:
        """The form filled in with the report as it stands."""
        report = trial.report
        return cls(formdata=None, data={
            "summary": report.summary if report else "",
            "lessons": report.lessons if report else "",
            "recommendation": report.recommendation if report else "",
            "report_language": (report.language or "") if report else "",
        })

    def data_for_service(self) -> dict[str, Any]:
        """The text of ``trials.correct_outcome_report``."""
        return _report_text(self)


class NoteForm(BaseForm):
    """Add a note on the trial's progress."""

    body = TextAreaField(_l("Note"), validators=[InputRequired(_l("Write the note.")), _length(TEXT_MAX)])
    language = SelectField(
        _l("Language of the note"), default="", invalid_choice_message=_l("Choose a language from the list.")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.language.choices = choices(TEXT_LANGUAGE_CHOICES)


class ShortlistForm(BaseForm):
    """Shortlist a recommended startup for a challenge."""

    challenge_id = IntegerField(
        validators=[
            InputRequired(_l("Choose a challenge.")),
            NumberRange(min=1, max=_MAX_ID, message=_l("Choose a challenge.")),
        ]
    )
    capability_id = IntegerField(
        validators=[
            InputRequired(_l("Choose a capability.")),
            NumberRange(min=1, max=_MAX_ID, message=_l("Choose a capability.")),
        ]
    )
