"""InnoMatch's SQLAlchemy models, one module per aggregate."""

from .account_token import AccountToken
from .api_token import ApiToken
from .audit import AuditEvent
from .capability import Capability, CapabilityDomain, CapabilityTag
from .challenge import Challenge, ChallengeDomain, ChallengeFollow, ChallengeQuestion, ChallengeTag
from .credentials import Invitation, RecoveryCode
from .db import Base, utcnow
from .document import Document
from .engagement import (
    ConflictOfInterest,
    LoginAlert,
    LoginAttempt,
    LoginThrottle,
    Notification,
    StartupNameHold,
    Workshop,
    WorkshopRegistration,
)
from .evaluation import EvaluationCriterion, PanelScore
from .matching import CorpusChange, CorpusVersion, Dismissal, Embedding, RankerVersion
from .organisation import Department, Startup
from .outbox import OutboxMail
from .proposal import Proposal
from .trial import Kpi, Milestone, OutcomeReport, Trial, TrialNote, TrialTransition
from .user import User

__all__ = [
    "AccountToken",
    "ApiToken",
    "AuditEvent",
    "Base",
    "Capability",
    "CapabilityDomain",
    "CapabilityTag",
    "Challenge",
    "ChallengeDomain",
    "ChallengeFollow",
    "ChallengeQuestion",
    "ChallengeTag",
    "ConflictOfInterest",
    "CorpusChange",
    "CorpusVersion",
    "Department",
    "Dismissal",
    "Document",
    "Embedding",
    "EvaluationCriterion",
    "Invitation",
    "Kpi",
    "LoginAlert",
    "LoginAttempt",
    "LoginThrottle",
    "Milestone",
    "Notification",
    "OutboxMail",
    "OutcomeReport",
    "PanelScore",
    "Proposal",
    "RankerVersion",
    "RecoveryCode",
    "Startup",
    "StartupNameHold",
    "Trial",
    "TrialNote",
    "TrialTransition",
    "User",
    "Workshop",
    "WorkshopRegistration",
    "utcnow",
]
