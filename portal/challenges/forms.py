"""Forms to post and edit a challenge, to filter the list, and to open or close."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import request
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    IntegerField,
    RadioField,
    SearchField,
    SelectField,
    SelectMultipleField,
    TextAreaField,
)
from wtforms.validators import (
    InputRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
    ValidationError,
)

from models import Department
from models.vocabulary import AREA_KEYS, DOMAIN_KEYS, FUNCTIONAL_AREAS, ChallengeStatus

from .. import clock
from ..forms import (
    BaseForm,
    DayField,
    MultiCheckboxField,
    NameField,
    StampedForm,
    TagListField,
    TextLength,
    choices,
    domain_choices,
    page_language,
    parse_id,
)
from ..labels import CHALLENGE_STATUS_LABELS
from ..services.challenges import (
    DURATION_MAX,
    DURATION_MIN,
    QUERY_MAX,
    STATEMENT_MAX,
    STATEMENT_MIN,
    TEXT_MAX,
    TITLE_MAX,
    ChallengeData,
    ChallengeFilters,
)
from ..services.proposals import NOTE_MAX
from ..services.questions import ANSWER_MAX, QUESTION_MAX, QUESTION_MIN, REASON_MAX
from ..services.similar import DraftText
from ..templating import area_label, current_locale

#: Languages of the content, named in their own language.
LANGUAGE_CHOICES = (("en", "English"), ("zh-Hant", "繁體中文"))


class WeeksField(IntegerField):
    """A whole number of weeks, with our own message for text that is not a number."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        try:
            self.data = int(str(valuelist[0]).strip())
        except ValueError as exc:
            self.data = None
            raise ValueError(_l("Enter the duration as a whole number of weeks.")) from exc

    def pre_validate(self, form: Any) -> None:
        if self.process_errors:
            raise StopValidation()  # one message is enough


class ChoiceRadioField(RadioField):
    """Radio buttons where a submission without any choice clears the stored value."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.type = "RadioField"  # rendered by the shared macro as radios

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            self.data = None
            return
        super().process_formdata(valuelist)

    def pre_validate(self, form: Any) -> None:
        if self.data is None and not getattr(form, "complete", True):
            return  # not chosen yet: a draft may leave it
        super().pre_validate(form)


def _needed_to_open(message: Any) -> Callable[[Any, Any], None]:
    """Refuse an empty field when the challenge is to be open (``form.complete``); on a draft an
    empty field is fine and its other checks are skipped (what is given is still checked)."""

    def check(form: Any, field: Any) -> None:
        if not field.data:
            raise StopValidation(message if getattr(form, "complete", True) else None)

    return check


class ChallengeForm(StampedForm):
    """Post or edit a challenge. Domain and area labels follow the interface language."""

    title = NameField(
        _l("Title"),
        validators=[
            InputRequired(_l("Enter a title.")),
            Length(max=TITLE_MAX, message=_l("The title must be at most %(max)d characters.")),
        ],
    )
    problem_statement = TextAreaField(
        _l("Problem statement"),
        description=_l("What is the business need? Who is affected, and how often?"),
        validators=[
            _needed_to_open(_l("Describe the problem.")),
            TextLength(STATEMENT_MIN, _l("Describe the problem in %(min)d to %(max)d characters."), STATEMENT_MAX),
        ],
    )
    desired_outcomes = TextAreaField(
        _l("Desired outcomes"),
        description=_l("What would a successful proof-of-concept trial show?"),
        validators=[Optional(), Length(max=TEXT_MAX, message=_l("Use at most %(max)d characters."))],
    )
    constraints = TextAreaField(
        _l("Constraints (data, privacy, integration)"),
        description=_l("For example: personal data stays in Hong Kong; must work with the existing booking system."),
        validators=[Optional(), Length(max=TEXT_MAX, message=_l("Use at most %(max)d characters."))],
    )
    domains = MultiCheckboxField(
        _l("Domains"),
        description=_l("Choose every domain of the memorandum of understanding that applies."),
        validators=[_needed_to_open(_l("Choose at least one domain."))],
        invalid_choice_message=_l("Choose domains from the list."),
    )
    functional_area = ChoiceRadioField(
        _l("Functional area"),
        invalid_choice_message=_l("Choose a functional area from the list."),
    )
    tags = TagListField(
        _l("Technology tags"),
        description=_l("Separate tags with commas, for example: chatbot, OCR, Cantonese speech."),
    )
    duration_weeks = WeeksField(
        _l("Expected trial duration (weeks)"),
        default=12,
        validators=[
            InputRequired(_l("Enter the expected duration in weeks.")),
            NumberRange(
                min=DURATION_MIN,
                max=DURATION_MAX,
                message=_l("Enter a duration from %(min)s to %(max)s weeks."),
            ),
        ],
    )
    closing_on = DayField(
        _l("Closing date for proposals"),
        description=_l("Needed before the challenge is opened; today or later."),
        validators=[Optional()],
    )
    language = SelectField(
        _l("Language of the text"),
        default=page_language,
        choices=choices(LANGUAGE_CHOICES),
        invalid_choice_message=_l("Choose the language of the text."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Labels are computed per request, in the interface language.
        self.domains.choices = domain_choices()
        self.functional_area.choices = choices((t.key, area_label(t.key)) for t in FUNCTIONAL_AREAS)

    @property
    def complete(self) -> bool:
        """Whether the challenge is to be open after this save ("Save and open", or a change
        to an open or closed challenge): then it needs its problem, a domain and its area. A
        draft ("Save as draft") needs a title only."""
        return request.form.get("action") != "draft"

    def validate(self, extra_validators: Any = None) -> bool:
        """The fields' checks, and opening's need of a closing date (today or later), said with
        the other errors at once instead of after them (the service checks it again)."""
        valid = super().validate(extra_validators)
        problem = self._opening_problem()
        if problem:
            self.closing_on.errors = [*self.closing_on.errors, problem]
        return valid and not problem

    def _opening_problem(self) -> str | None:
        if request.form.get("action") != "open" or self.closing_on.errors:
            return None
        if self.closing_on.data is None:
            return str(_l("Set a closing date before opening the challenge."))
        if self.closing_on.data < clock.today():
            return str(_l("The closing date has passed. Choose today or a later date to open the challenge."))
        return None

    def draft_text(self) -> DraftText:
        """What has been typed so far, valid or not, to look for similar challenges (length-capped)."""

        def text(field: Any, limit: int) -> str:
            return str(field.data or "")[:limit] if isinstance(field.data, str) else ""

        language = self.language.data if self.language.data in dict(LANGUAGE_CHOICES) else "en"
        return DraftText(
            title=text(self.title, TITLE_MAX),
            problem_statement=text(self.problem_statement, STATEMENT_MAX),
            desired_outcomes=text(self.desired_outcomes, TEXT_MAX),
            domains=[d for d in self.domains.data or [] if d in DOMAIN_KEYS],
            functional_area=str(self.functional_area.data) if self.functional_area.data in AREA_KEYS else "",
            tags=[t for t in (self.tags.data or []) if isinstance(t, str)][:30],
            language=language,
        )

    def data_for_service(self) -> ChallengeData:
        """The validated input, as the service takes it."""
        return ChallengeData(
            title=self.title.data or "",
            problem_statement=self.problem_statement.data or "",
            desired_outcomes=self.desired_outcomes.data or "",
            constraints=self.constraints.data or "",
            domains=[d for d in self.domains.data or [] if d in DOMAIN_KEYS],
            functional_area=self.functional_area.data or None,
            tags=list(self.tags.data or []),
            duration_weeks=self.duration_weeks.data,
            closing_on=self.closing_on.data,
            language=self.language.data,
        )


class ChallengeFilterForm(BaseForm):
    """The list's filters, sent as GET parameters (no CSRF: nothing changes)."""

    class Meta(BaseForm.Meta):
        csrf = False

    q = SearchField(
        _l("Search"),
        description=_l("Words from the title, problem or outcomes, or a technology tag"),
        validators=[Optional(), Length(max=QUERY_MAX, message=_l("Search for at most %(max)d characters."))],
    )
    domain = SelectField(
        _l("Domain"), default="", invalid_choice_message=_l("Choose a domain from the list.")
    )
    area = SelectField(
        _l("Functional area"), default="", invalid_choice_message=_l("Choose a functional area from the list.")
    )
    department = SelectField(
        _l("Department"), default="", invalid_choice_message=_l("Choose a department from the list.")
    )
    status = SelectField(
        _l("Status"), default="", invalid_choice_message=_l("Choose a status from the list.")
    )
    sort = SelectField(
        _l("Sort by"), default="newest", invalid_choice_message=_l("Choose an order from the list.")
    )

    def __init__(
        self, departments: list[Department], show_drafts: bool, *args: Any, by_match: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        sorts = [("newest", _l("Newest first")), ("closing", _l("Closing date, soonest first"))]
        if by_match:  # a startup member's list can be ordered by how well each challenge fits
            sorts.append(("match", _l("Best match for your startup")))
        self.sort.choices = choices(sorts)
        locale = current_locale()
        self.domain.choices = [*choices([("", _l("Any domain"))]), *domain_choices()]
        self.area.choices = choices(
            [("", _l("Any functional area"))] + [(t.key, area_label(t.key)) for t in FUNCTIONAL_AREAS]
        )
        self.department.choices = choices(
            [("", _l("Any department"))] + [(d.id, d.name(locale)) for d in departments]
        )
        statuses = [("", _l("Open and closed"))] + [(s, CHALLENGE_STATUS_LABELS[s]) for s in ChallengeStatus.PUBLIC]
        if show_drafts:
            statuses.append((ChallengeStatus.DRAFT, CHALLENGE_STATUS_LABELS[ChallengeStatus.DRAFT]))
        self.status.choices = choices(statuses)

    def filters(self) -> ChallengeFilters:
        """The valid filters; a field with an error counts as "any"."""

        def ok(field: Any) -> str:
            return "" if field.errors or not field.data else str(field.data)

        department = ok(self.department)
        return ChallengeFilters(
            q=ok(self.q),
            domain=ok(self.domain) if ok(self.domain) in DOMAIN_KEYS else "",
            area=ok(self.area) if ok(self.area) in AREA_KEYS else "",
            department_id=int(department) if department.isdigit() else None,
            status=ok(self.status),
            sort=ok(self.sort),
        )

    @property
    def active(self) -> bool:
        """Whether any filter is set."""
        f = self.filters()
        return bool(f.q or f.domain or f.area or f.department_id or f.status)


class CompareForm(BaseForm):
    """The proposals ticked for the side-by-side page, sent as GET parameters (nothing changes)."""

    class Meta(BaseForm.Meta):
        csrf = False

    proposal = SelectMultipleField(_l("Proposals to compare"), validate_choice=False)

    def proposal_ids(self) -> list[int] | None:
        """The ticked proposal ids, or None when one is not an id."""
        ids = [parse_id(value) for value in self.proposal.data or []]
        return None if any(i is None for i in ids) else [i for i in ids if i is not None]

    def validate_proposal(self, field: Any) -> None:
        if self.proposal_ids() is None:
            raise ValidationError(_l("Choose proposals received for this challenge."))


class ShortlistRequestForm(BaseForm):
    """Ask the lab to shortlist one proposal, with a note."""

    note = TextAreaField(
        _l("Why should the lab shortlist it?"),
        validators=[
            InputRequired(_l("Tell the lab why this proposal should be shortlisted.")),
            Length(max=NOTE_MAX, message=_l("Use at most %(max)d characters.")),
        ],
    )


class QuestionForm(BaseForm):
    """A startup's question on a challenge."""

    question = TextAreaField(
        _l("Your question"),
        description=_l(
            "The department answers it. If it publishes the answer on this page, your question is shown"
            " without your startup's name."
        ),
        validators=[
            InputRequired(_l("Write your question.")),
            TextLength(QUESTION_MIN, _l("Write your question in %(min)d to %(max)d characters."), QUESTION_MAX),
        ],
    )


class AnswerForm(BaseForm):
    """The department's answer to one question, published on the challenge page if ticked."""

    answer = TextAreaField(
        _l("Answer"),
        validators=[
            InputRequired(_l("Write the answer.")),
            Length(max=ANSWER_MAX, message=_l("Use at most %(max)d characters.")),
        ],
    )
    publish = BooleanField(
        _l("Publish the question and answer on the challenge page (without the asker's name)"),
        false_values=("", "false", "n", "0"),
    )


class HideQuestionForm(BaseForm):
    """The lab hides a question, with the reason (recorded in the audit log)."""

    reason = TextAreaField(
        _l("Reason for hiding"),
        validators=[
            InputRequired(_l("Give the reason for hiding the question.")),
            Length(max=REASON_MAX, message=_l("Use at most %(max)d characters.")),
        ],
    )
