"""Marshmallow schemas of the public API: what it accepts and returns, and its OpenAPI document."""

from __future__ import annotations

from datetime import UTC

import marshmallow as ma
from marshmallow import validate

from models.vocabulary import (
    AREA_KEYS,
    CHALLENGE_STATUSES,
    CONTENT_LANGUAGES,
    DOMAIN_KEYS,
    STARTUP_SIZES,
    TRIAL_OUTCOMES,
    ChallengeStatus,
)

PUBLIC_STATUSES = [s for s in CHALLENGE_STATUSES if s in ChallengeStatus.PUBLIC]
LIMIT_MAX = 100


class Schema(ma.Schema):
    """Refuse unknown fields (a typo is an error, not silently ignored)."""

    class Meta:
        unknown = ma.RAISE
        ordered = True


# --- errors ---------------------------------------------------------------------------------

class ProblemSchema(Schema):
    """RFC 9457 problem details."""

    type = ma.fields.String(metadata={"description": "A URI that identifies the kind of problem ('about:blank': "
                                                    "the HTTP status says it)."})
    title = ma.fields.String(metadata={"description": "The HTTP status phrase."})
    status = ma.fields.Integer(metadata={"description": "The HTTP status code."})
    detail = ma.fields.String(metadata={"description": "What went wrong and what to do, in the Accept-Language."})
    errors = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.Raw(),
        metadata={"description": "For 422: the messages for each field, by field name."},
    )
    reference = ma.fields.String(metadata={"description": "For 500: quote it when you report the problem."})


# --- queries --------------------------------------------------------------------------------

class PageQuery(Schema):
    cursor = ma.fields.String(
        validate=validate.Length(max=200),
        metadata={"description": "Opaque: pass the cursor of the previous page's `next` link."},
    )
    limit = ma.fields.Integer(
        load_default=20, validate=validate.Range(1, LIMIT_MAX),
        metadata={"description": f"Items per page (1 to {LIMIT_MAX})."},
    )


class ChallengeQuery(PageQuery):
    domain = ma.fields.String(validate=validate.OneOf(DOMAIN_KEYS), metadata={"description": "An MoU domain key."})
    functional_area = ma.fields.String(validate=validate.OneOf(AREA_KEYS))
    department = ma.fields.String(
        validate=validate.Length(1, 40),
        metadata={"description": "A department code; challenges of its units are included."},
    )
    status = ma.fields.String(validate=validate.OneOf(PUBLIC_STATUSES),
                              metadata={"description": "open or closed (default: both)."})
    language = ma.fields.String(validate=validate.OneOf(CONTENT_LANGUAGES),
                                metadata={"description": "The language the challenge is written in."})
    updated_since = ma.fields.AwareDateTime(
        default_timezone=UTC,
        metadata={"description": "Only challenges changed at or after this instant (ISO 8601; UTC if no offset)."},
    )


class TrialQuery(PageQuery):
    outcome = ma.fields.String(validate=validate.OneOf(TRIAL_OUTCOMES))


class WorkshopQuery(PageQuery):
    when = ma.fields.String(validate=validate.OneOf(["upcoming", "past"]),
                            metadata={"description": "upcoming or past (default: both)."})


class RecommendationQuery(Schema):
    limit = ma.fields.Integer(load_default=10, validate=validate.Range(1, 50))


# --- shared pieces ----------------------------------------------------------------------------

class TermSchema(Schema):
    key = ma.fields.String(required=True)
    label = ma.fields.String(required=True, metadata={"description": "In the Accept-Language."})


class DepartmentSchema(Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True, metadata={"description": "In the Accept-Language."})


class PageLinksSchema(Schema):
    next = ma.fields.String(allow_none=True, required=True,
                            metadata={"description": "The next page's address, or null on the last page."})


# --- challenges -------------------------------------------------------------------------------

class ChallengeSchema(Schema):
    id = ma.fields.Integer(required=True)
    url = ma.fields.String(required=True, metadata={"description": "The challenge's page."})
    title = ma.fields.String(required=True)
    problem_statement = ma.fields.String(required=True)
    desired_outcomes = ma.fields.String(required=True)
    constraints = ma.fields.String(required=True)
    language = ma.fields.String(required=True, metadata={"description": "The content's language (BCP 47)."})
    status = ma.fields.Nested(TermSchema, required=True)
    functional_area = ma.fields.Nested(TermSchema, required=True)
    domains = ma.fields.List(ma.fields.Nested(TermSchema), required=True)
    tags = ma.fields.List(ma.fields.String(), required=True)
    department = ma.fields.Nested(DepartmentSchema, required=True)
    duration_weeks = ma.fields.Integer(required=True)
    closing_on = ma.fields.Date(allow_none=True, required=True)
    opened_at = ma.fields.AwareDateTime(allow_none=True, required=True)
    updated_at = ma.fields.AwareDateTime(required=True)


class QuestionSchema(Schema):
    question = ma.fields.String(required=True)
    answer = ma.fields.String(required=True)
    language = ma.fields.String(required=True)


class ChallengeDetailSchema(ChallengeSchema):
    questions = ma.fields.List(
        ma.fields.Nested(QuestionSchema), required=True,
        metadata={"description": "Published questions and answers (none yet: the service has no Q&A)."},
    )


class ChallengePageSchema(PageLinksSchema):
    items = ma.fields.List(ma.fields.Nested(ChallengeSchema), required=True)


# --- trials -----------------------------------------------------------------------------------

class ChallengeRefSchema(Schema):
    id = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    language = ma.fields.String(required=True)
    department = ma.fields.Nested(DepartmentSchema, required=True)


class KpiSchema(Schema):
    name = ma.fields.String(required=True)
    target = ma.fields.String(required=True)
    result = ma.fields.String(allow_none=True, required=True)


class ReportSchema(Schema):
    summary = ma.fields.String(required=True)
    lessons = ma.fields.String(required=True)
    recommendation = ma.fields.String(required=True)
    language = ma.fields.String(required=True)


class TrialSchema(Schema):
    id = ma.fields.Integer(required=True)
    challenge = ma.fields.Nested(ChallengeRefSchema, required=True)
    startup = ma.fields.String(required=True, metadata={"description": "The startup's name."})
    capability = ma.fields.String(allow_none=True, required=True)
    outcome = ma.fields.Nested(TermSchema, allow_none=True, required=True)
    completed_at = ma.fields.AwareDateTime(allow_none=True, required=True)
    report = ma.fields.Nested(ReportSchema, allow_none=True, required=True)
    kpis = ma.fields.List(ma.fields.Nested(KpiSchema), required=True)


class TrialPageSchema(PageLinksSchema):
    items = ma.fields.List(ma.fields.Nested(TrialSchema), required=True)


# --- workshops --------------------------------------------------------------------------------

class WorkshopSchema(Schema):
    id = ma.fields.Integer(required=True)
    url = ma.fields.String(required=True)
    title = ma.fields.String(required=True, metadata={"description": "In the Accept-Language where there is one."})
    title_en = ma.fields.String(required=True)
    title_zh = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
    location = ma.fields.String(required=True)
    language = ma.fields.String(required=True, metadata={"description": "Language of description and location."})
    starts_at = ma.fields.AwareDateTime(required=True)
    ends_at = ma.fields.AwareDateTime(required=True)
    capacity = ma.fields.Integer(required=True)
    domains = ma.fields.List(ma.fields.Nested(TermSchema), required=True)
    challenge_ids = ma.fields.List(ma.fields.Integer(), required=True)


class WorkshopPageSchema(PageLinksSchema):
    items = ma.fields.List(ma.fields.Nested(WorkshopSchema), required=True)


# --- statistics -------------------------------------------------------------------------------

class FiguresSchema(Schema):
    challenges = ma.fields.Integer(required=True)
    matched = ma.fields.Integer(required=True)
    proposals = ma.fields.Integer(required=True)
    trials = ma.fields.Integer(required=True)
    by_state = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), required=True)
    completed = ma.fields.Integer(required=True)
    adopted = ma.fields.Integer(required=True)
    adoption_rate = ma.fields.Float(allow_none=True, required=True)
    median_days = ma.fields.Float(allow_none=True, required=True)


class BreakdownRowSchema(Schema):
    key = ma.fields.String(required=True)
    label = ma.fields.String(required=True)
    figures = ma.fields.Nested(FiguresSchema, required=True)


class StatisticsSchema(Schema):
    overall = ma.fields.Nested(FiguresSchema, required=True)
    breakdowns = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.List(ma.fields.Nested(BreakdownRowSchema)), required=True,
        metadata={"description": "By domain, functional_area, department and month."},
    )


# --- the token's own account ----------------------------------------------------------------

class TokenInfoSchema(Schema):
    name = ma.fields.String(required=True)
    scope = ma.fields.String(required=True)
    expires_at = ma.fields.AwareDateTime(required=True)


class MeSchema(Schema):
    id = ma.fields.Integer(required=True)
    display_name = ma.fields.String(required=True)
    role = ma.fields.Nested(TermSchema, required=True)
    department = ma.fields.Nested(DepartmentSchema, allow_none=True, required=True)
    startup_id = ma.fields.Integer(allow_none=True, required=True)
    token = ma.fields.Nested(TokenInfoSchema, required=True)


class RecommendationSchema(Schema):
    score = ma.fields.Float(required=True)
    components = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Float(), required=True)
    explanation = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.Raw(), required=True,
        metadata={"description": (
            "Why it matches: shared domains, areas, tags, key terms, and the best sentence pair "
            "(query_side 'challenge': best_pair.query is the challenge's sentence, best_pair.candidate "
            "the sentence of the startup's capability that gave the score)."
        )},
    )
    challenge = ma.fields.Nested(ChallengeSchema, required=True)


class RecommendationListSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(RecommendationSchema), required=True)


class CapabilitySchema(Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
    deployments = ma.fields.String(required=True)
    readiness = ma.fields.Integer(required=True)
    language = ma.fields.String(required=True)
    domains = ma.fields.List(ma.fields.String(), required=True)
    technologies = ma.fields.List(ma.fields.String(), required=True)
    updated_at = ma.fields.AwareDateTime(required=True)


class StartupSchema(Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    website = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
    size = ma.fields.String(required=True)
    language = ma.fields.String(required=True)
    verified = ma.fields.Boolean(required=True)
    capabilities = ma.fields.List(ma.fields.Nested(CapabilitySchema), required=True)


class StartupPatchSchema(Schema):
    """Fields to change; those left out keep their value."""

    name = ma.fields.String(validate=validate.Length(max=200))
    website = ma.fields.String(validate=validate.Length(max=300))
    description = ma.fields.String(validate=validate.Length(max=5000))
    size = ma.fields.String(validate=validate.OneOf(STARTUP_SIZES))
    language = ma.fields.String(validate=validate.OneOf(CONTENT_LANGUAGES))


class CapabilityInSchema(Schema):
    name = ma.fields.String(required=True, validate=validate.Length(max=200))
    description = ma.fields.String(required=True, validate=validate.Length(max=10000))
    deployments = ma.fields.String(load_default="", validate=validate.Length(max=5000))
    readiness = ma.fields.Integer(required=True, strict=True, validate=validate.Range(1, 9))
    language = ma.fields.String(required=True, validate=validate.OneOf(CONTENT_LANGUAGES))
    domains = ma.fields.List(ma.fields.String(validate=validate.OneOf(DOMAIN_KEYS)), required=True,
                             validate=validate.Length(min=1, max=len(DOMAIN_KEYS)))
    technologies = ma.fields.List(ma.fields.String(validate=validate.Length(max=40)), load_default=list,
                                  validate=validate.Length(max=12))


class StartupRefSchema(Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    verified = ma.fields.Boolean(required=True)


class ProposalSchema(Schema):
    id = ma.fields.Integer(required=True)
    challenge_id = ma.fields.Integer(required=True)
    startup = ma.fields.Nested(StartupRefSchema, required=True)
    capability = ma.fields.Nested(CapabilitySchema, required=True)
    pitch = ma.fields.String(required=True)
    status = ma.fields.Nested(TermSchema, required=True)
    trial_state = ma.fields.Nested(TermSchema, allow_none=True, required=True)
    submitted_at = ma.fields.AwareDateTime(required=True)


class ProposalListSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(ProposalSchema), required=True)
