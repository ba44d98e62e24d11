"""The MoU's fixed vocabulary and the enumerations stored in the database.

The domain and functional-area labels are the MoU's own bilingual terms, so both
languages are kept here rather than in the interface translation catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum, nonmember


@dataclass(frozen=True)
class Term:
    """A vocabulary entry with its English and Traditional Chinese labels."""

    key: str
    en: str
    zh: str

    def label(self, locale: str | None) -> str:
        """Return the label for ``locale`` (any ``zh`` locale gets Chinese)."""
        return self.zh if locale and locale.lower().startswith("zh") else self.en


DOMAINS: tuple[Term, ...] = (
    Term("health_regulation", "Smart health regulatory functions", "智慧衞生規管功能"),
    Term("smart_clinic", "Smart clinics", "智慧診所"),
    Term("workflow_reengineering", "Smart workflow re-engineering", "智慧工作流程再造"),
    Term("customer_service", "Smart customer service", "智慧客服"),
    Term("public_engagement", "Online public engagement", "線上公眾參與"),
    Term("data_collaboration", "Data collaboration", "數據協作"),
)

FUNCTIONAL_AREAS: tuple[Term, ...] = (
    Term("regulation", "Health regulation", "衞生規管事務"),
    Term("protection_promotion", "Health protection and health promotion", "衞生防護及健康促進"),
    Term("administration", "Health administration", "衞生行政"),
    Term("dental_clinical", "Dental and clinical services", "牙科及臨床服務"),
)

DOMAIN_KEYS = tuple(t.key for t in DOMAINS)
AREA_KEYS = tuple(t.key for t in FUNCTIONAL_AREAS)
_BY_KEY = {("domain", t.key): t for t in DOMAINS} | {("area", t.key): t for t in FUNCTIONAL_AREAS}


def domain(key: str) -> Term:
    """Return the domain term for ``key``."""
    return _BY_KEY[("domain", key)]


def area(key: str) -> Term:
    """Return the functional-area term for ``key``."""
    return _BY_KEY[("area", key)]


# Languages of user content (BCP 47 tags, used in lang="" attributes).
CONTENT_LANGUAGES = ("en", "zh-Hant")
# Interface locales (Babel identifiers).
UI_LOCALES = ("en", "zh_Hant_HK")

class Role(StrEnum):
    """What a user is: stored in ``users.role``."""

    OFFICER = "officer"
    STARTUP = "startup"
    COORDINATOR = "coordinator"
    ADMIN = "admin"

    # The lab's own people: coordinators and admins.
    STAFF = nonmember((COORDINATOR, ADMIN))
    # Who must pass the second sign-in step: the lab's staff, and the department officers who
    # read startups' proposals and documents (commercially confidential) for the government.
    SECOND_STEP = nonmember((OFFICER, COORDINATOR, ADMIN))


class Party(StrEnum):
    """The part a user plays in one trial (not stored: worked out from the role and membership)."""

    COORDINATOR = "coordinator"  # a coordinator or admin without a conflict of interest
    DEPARTMENT = "department"  # an officer of the challenge's department
    STARTUP = "startup"  # a member of the trial's startup


class ChallengeStatus(StrEnum):
    """A challenge's status: stored in ``challenges.status``."""

    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"

    # Published: anyone may see it.
    PUBLIC = nonmember((OPEN, CLOSED))


class CorpusKind(StrEnum):
    """A corpus of the recommender: stored in ``corpus_versions.kind`` and ``corpus_changes.kind``."""

    CAPABILITY = "capability"  # every capability (ranked for a challenge)
    CHALLENGE = "challenge"  # challenges, of which the open ones are ranked for a startup


class CorpusOp(StrEnum):
    """What happened to a corpus item: stored in ``corpus_changes.op``."""

    UPSERT = "upsert"  # created or changed: read the row again
    DELETE = "delete"  # deleted
    ALL = "all"  # a bulk statement changed rows it does not name: fit the corpus again


class ProposalStatus(StrEnum):
    """A proposal's status: stored in ``proposals.status``."""

    SUBMITTED = "submitted"
    WITHDRAWN = "withdrawn"


class TrialState(StrEnum):
    """A trial's state: stored in ``trials.status`` and ``trial_transitions.from_state/to_state``."""

    PROPOSED = "proposed"
    SHORTLISTED = "shortlisted"
    APPROVED = "approved"
    RUNNING = "running"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"
    REJECTED = "rejected"

    # Waiting for a coordinator's decision (the review queue; a proposal withdrawn now withdraws its trial).
    OPEN = nonmember((PROPOSED, SHORTLISTED))
    # Approved and not finished: milestones and KPIs are tracked.
    ACTIVE = nonmember((APPROVED, RUNNING))
    # Went ahead: approved, whatever happened since (counted as trials approved; positive training examples).
    WENT_AHEAD = nonmember((APPROVED, RUNNING, COMPLETED))
    # The lab has decided: it went ahead or was turned down (the recommender learns from these).
    DECIDED = nonmember((APPROVED, RUNNING, COMPLETED, REJECTED))
    # Neither finished nor turned down: open or active.
    IN_PROGRESS = nonmember((PROPOSED, SHORTLISTED, APPROVED, RUNNING))
    # Ended without going ahead: the record is kept as it was left (no notes or documents added).
    ENDED_EARLY = nonmember((WITHDRAWN, REJECTED))


class TrialOutcome(StrEnum):
    """A completed trial's outcome: stored in ``trials.outcome``."""

    ADOPTED = "adopted"
    NOT_ADOPTED = "not_adopted"
    EXTENDED = "extended"


class TokenScope(StrEnum):
    """What an API token may do: stored in ``api_tokens.scope``."""

    READ = "read"
    WRITE = "write"  # includes read


class NotificationPref(StrEnum):
    """How a user wants notification emails: stored in ``users.notify``."""

    IMMEDIATE = "immediate"
    DIGEST = "digest"
    NONE = "none"


class DismissalReason(StrEnum):
    """Why a recommendation was dismissed: the code that starts ``dismissals.reason`` ("code: note")."""

    NOT_RELEVANT = "not_relevant"
    NOT_READY = "not_ready"
    ALREADY_KNOWN = "already_known"
    OTHER = "other"


class TokenPurpose(StrEnum):
    """What an emailed single-use link does: stored in ``account_tokens.purpose``."""

    RESET_PASSWORD = "reset_password"  # nosec B105: a purpose's name, not a password
    VERIFY_EMAIL = "verify_email"


class MailStatus(StrEnum):
    """Where an email of the outbox is: stored in ``outbox_mails.status``."""

    QUEUED = "queued"  # waiting for a delivery job (first try, or a retry once next_attempt_at passes)
    SENDING = "sending"  # claimed by one delivery job until locked_until
    SENT = "sent"  # the mail server accepted it
    FAILED = "failed"  # refused for good, or every attempt failed: an admin may retry it


def _values(enum: type[StrEnum]) -> tuple[str, ...]:
    """The stored values of ``enum`` as plain strings (for CHECK constraints and CLI choices)."""
    return tuple(member.value for member in enum)


# The stored values as plain tuples, in the order the database CHECK constraints list them.
ROLE_OFFICER = Role.OFFICER
ROLE_STARTUP = Role.STARTUP
ROLE_COORDINATOR = Role.COORDINATOR
ROLE_ADMIN = Role.ADMIN
ROLES = _values(Role)

CHALLENGE_STATUSES = _values(ChallengeStatus)
STARTUP_SIZES = ("1-10", "11-50", "51-200", "200+")
PROPOSAL_STATUSES = _values(ProposalStatus)
TRIAL_STATES = _values(TrialState)
TRIAL_OUTCOMES = _values(TrialOutcome)
NOTIFICATION_PREFS = _values(NotificationPref)
TOKEN_SCOPES = _values(TokenScope)
TOKEN_PURPOSES = _values(TokenPurpose)
MAIL_STATUSES = _values(MailStatus)
