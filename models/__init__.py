"""InnoMatch's SQLAlchemy models, one module per aggregate."""

from .account_token import AccountToken
from .api_token import ApiToken
from .audit import AuditEvent
from .capability import Capability, CapabilityDomain, CapabilityTag
from .challenge import Challenge, ChallengeDomain, ChallengeFollow, ChallengeQuestion, ChallengeTag
from .credentials import Invitation, RecoveryCode
from .db import Base, utcnow
from .engagement import (
    ConflictOfInterest,
    LoginAlert,
    LoginAttempt,
    LoginThrottle,
    Notification,
    Workshop,
    WorkshopRegistration,
)
from .matching import Dismissal, Embedding, RankerVersion
from .organisation import Department, Startup
from .proposal import Proposal
from .trial import Kpi, Milestone, OutcomeReport, Trial, TrialNote, TrialTransition
from .user import User

__all__ = [
    "AccountToken", "ApiToken", "AuditEvent", "Base", "Capability", "CapabilityDomain", "CapabilityTag", "Challenge",
    "ChallengeDomain", "ChallengeFollow", "ChallengeQuestion", "ChallengeTag", "ConflictOfInterest", "Department",
    "Dismissal", "Embedding", "Invitation", "Kpi", "LoginAlert", "LoginAttempt", "LoginThrottle", "Milestone",
    "Notification", "OutcomeReport", "Proposal", "RankerVersion", "RecoveryCode", "Startup", "Trial", "TrialNote",
    "TrialTransition", "User",
    "Workshop", "WorkshopRegistration", "utcnow",
]
