"""Records as the API shows them: content in its own language, labels in the Accept-Language."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_babel import get_locale

from models import Capability, Challenge, Department, Proposal, Startup, Trial, User, Workshop
from models.vocabulary import area, domain

from .. import labels
from ..services import trials
from ..services.stats import Figures, Report, report_language


def locale() -> str:
    return str(get_locale() or "en")


def term(key: str, label: object) -> dict[str, str]:
    return {"key": key, "label": str(label)}


def department(dept: Department | None) -> dict[str, str] | None:
    if dept is None:
        return None
    return {"code": dept.code, "name": dept.name(locale())}


def challenge(ch: Challenge) -> dict[str, Any]:
    loc = locale()
    return {
        "id": ch.id,
        "url": url_for("challenges.detail", challenge_id=ch.id, _external=True),
        "title": ch.title,
        "problem_statement": ch.problem_statement,
        "desired_outcomes": ch.desired_outcomes,
        "constraints": ch.constraints,
        "language": ch.language,
        "status": term(ch.status, labels.CHALLENGE_STATUS_LABELS.get(ch.status, ch.status)),
        # Every published challenge has its area (only a draft may lack one).
        "functional_area": term(ch.functional_area, area(ch.functional_area).label(loc)) if ch.functional_area else None,
        "domains": [term(key, domain(key).label(loc)) for key in ch.domains],
        "tags": ch.tags,
        "department": department(ch.department),
        "duration_weeks": ch.duration_weeks,
        "closing_on": ch.closing_on,
        "opened_at": ch.opened_at,
        "updated_at": ch.updated_at,
    }


def challenge_detail(ch: Challenge) -> dict[str, Any]:
    # There is no question-and-answer feature yet: nothing is published.
    return {**challenge(ch), "questions": []}


def trial(t: Trial) -> dict[str, Any]:
    report = t.report
    return {
        "id": t.id,
        "challenge": {
            "id": t.challenge.id, "title": t.challenge.title, "language": t.challenge.language,
            "department": department(t.challenge.department),
        },
        "startup": t.startup.name,
        "capability": trials.capability_name(t),
        "outcome": term(t.outcome, labels.TRIAL_OUTCOME_LABELS.get(t.outcome, t.outcome)) if t.outcome else None,
        "completed_at": t.completed_at,
        "report": None if report is None else {
            "summary": report.summary, "lessons": report.lessons, "recommendation": report.recommendation,
            "language": report_language(t),
        },
        "kpis": [{"name": k.name, "target": k.target, "result": k.result} for k in t.kpis],
    }


def workshop(w: Workshop) -> dict[str, Any]:
    loc = locale()
    chinese = loc.lower().startswith("zh") and bool(w.title_zh)
    return {
        "id": w.id,
        "url": url_for("workshops.detail", workshop_id=w.id, _external=True),
        "title": w.title_zh if chinese else w.title_en,
        "title_en": w.title_en,
        "title_zh": w.title_zh,
        "description": w.description,
        "location": w.location,
        "language": w.language,
        "starts_at": w.starts_at,
        "ends_at": w.ends_at,
        "capacity": w.capacity,
        "domains": [term(key, domain(key).label(loc)) for key in w.domains or [] if _known_domain(key)],
        "challenge_ids": list(w.challenge_ids or []),
    }


def _known_domain(key: str) -> bool:
    try:
        domain(key)
    except KeyError:
        return False
    return True


def figures(f: Figures) -> dict[str, Any]:
    return {
        "challenges": f.challenges, "matched": f.matched, "proposals": f.proposals, "trials": f.trials,
        "by_state": dict(f.by_state), "completed": f.completed, "adopted": f.adopted,
        "adoption_rate": f.adoption_rate, "median_days": f.median_days,
    }


BREAKDOWN_NAMES = {"domain": "domain", "area": "functional_area", "department": "department", "month": "month"}


def statistics(rep: Report) -> dict[str, Any]:
    return {
        "overall": figures(rep.overall),
        "breakdowns": {
            BREAKDOWN_NAMES.get(key, key): [
                {"key": row.key, "label": str(row.label), "figures": figures(row.figures)} for row in b.rows
            ]
            for key, b in rep.breakdowns.items()
        },
    }


def me(user: User, token: Any) -> dict[str, Any]:
    return {
        "id": user.id,
        "display_name": user.display_name,
        "role": term(user.role, labels.ROLE_LABELS.get(user.role, user.role)),
        "department": department(user.department),
        "startup_id": user.startup_id,
        "token": {"name": token.name, "scope": token.scope, "expires_at": token.expires_at},
    }


def capability(c: Capability) -> dict[str, Any]:
    return {
        "id": c.id, "name": c.name, "description": c.description, "deployments": c.deployments,
        "readiness": c.readiness, "language": c.language, "domains": c.domains,
        "technologies": c.technologies, "updated_at": c.updated_at,
    }


def startup(s: Startup) -> dict[str, Any]:
    return {
        "id": s.id, "name": s.name, "website": s.website, "description": s.description, "size": s.size,
        "language": s.language, "verified": s.verified,
        "capabilities": [capability(c) for c in s.capabilities],
    }


def proposal(p: Proposal, t: Trial | None) -> dict[str, Any]:
    return {
        "id": p.id,
        "challenge_id": p.challenge_id,
        "startup": {"id": p.startup.id, "name": p.startup.name, "verified": p.startup.verified},
        "capability": capability(p.capability),
        "pitch": p.pitch,
        "status": term(p.status, labels.PROPOSAL_STATUS_LABELS.get(p.status, p.status)),
        "trial_state": term(t.status, labels.TRIAL_STATE_LABELS.get(t.status, t.status)) if t else None,
        "submitted_at": p.created_at,
    }
