"""The MoU's fixed vocabulary and the enumerations stored in the database.

The domain and functional-area labels are the MoU's own bilingual terms, so both
languages are kept here rather than in the interface translation catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass


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
    Term("health_regulation", "Smart health regulatory functions", "智慧衛生規管功能"),
    Term("smart_clinic", "Smart clinics", "智慧診所"),
    Term("workflow_reengineering", "Smart workflow re-engineering", "智慧工作流程再造"),
    Term("customer_service", "Smart customer service", "智慧客服"),
    Term("public_engagement", "Online public engagement", "線上公眾參與"),
    Term("data_collaboration", "Data collaboration", "數據協作"),
)

FUNCTIONAL_AREAS: tuple[Term, ...] = (
    Term("regulation", "Health regulation", "衛生規管事務"),
    Term("protection_promotion", "Health protection and health promotion", "衛生防護及健康促進"),
    Term("administration", "Health administration", "衛生行政"),
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

ROLE_OFFICER = "officer"
ROLE_STARTUP = "startup"
ROLE_COORDINATOR = "coordinator"
ROLE_ADMIN = "admin"
ROLES = (ROLE_OFFICER, ROLE_STARTUP, ROLE_COORDINATOR, ROLE_ADMIN)

CHALLENGE_STATUSES = ("draft", "open", "closed")
STARTUP_SIZES = ("1-10", "11-50", "51-200", "200+")
PROPOSAL_STATUSES = ("submitted", "withdrawn")

TRIAL_STATES = (
    "proposed",
    "shortlisted",
    "approved",
    "running",
    "completed",
    "withdrawn",
    "rejected",
)
TRIAL_OUTCOMES = ("adopted", "not_adopted", "extended")

NOTIFICATION_PREFS = ("immediate", "digest", "none")
