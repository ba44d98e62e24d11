"""Programme figures for the dashboard, the public statistics page and the showcase.

Every figure is an aggregate over posted challenges (status open or closed; drafts never
count) and what happened to them:

* challenges posted; matched = posted challenges with at least one trial the lab approved;
* proposals received; trials approved (approved, running or completed, as on the landing
  page), and trial records per state (proposed, withdrawn and rejected ones too);
* adoption rate = adopted / completed trials (None with no completed trial);
* median days from a challenge's opening to the approval of a trial: each approved trial
  counts once; a trial approved before its challenge's (re)opening time is left out.

Breakdowns group the challenges, with everything that happened to them, by domain (a
challenge with two domains counts in both), functional area, department and the month it
was opened (Hong Kong time).
"""

from __future__ import annotations

import csv
import io
import statistics
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from babel.dates import format_skeleton
from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import selectinload

from models import Challenge, ChallengeDomain, Department, OutcomeReport, Proposal, Trial
from models.vocabulary import (
    DOMAINS,
    FUNCTIONAL_AREAS,
    TRIAL_OUTCOMES,
    TRIAL_STATES,
    ChallengeStatus,
    TrialOutcome,
    TrialState,
)

from .. import clock
from ..database import db
from ..labels import trial_state_label
from .paging import Page, paginate

BREAKDOWNS = ("domain", "area", "department", "month")
TABLES = ("overview", "states", *BREAKDOWNS)
IN_PROGRESS = TrialState.IN_PROGRESS


@dataclass
class Figures:
    """The programme's figures for one group of challenges."""

    challenges: int = 0
    matched: int = 0
    proposals: int = 0
    trials: int = 0
    by_state: dict[str, int] = field(default_factory=lambda: {s: 0 for s in TRIAL_STATES})
    completed: int = 0
    adopted: int = 0
    adoption_rate: float | None = None
    median_days: float | None = None


@dataclass
class Row:
    """One line of a breakdown: a key, its label in the current language and its figures."""

    key: str
    label: str
    figures: Figures


@dataclass
class Breakdown:
    """Figures grouped by one dimension."""

    key: str
    rows: list[Row]


@dataclass
class _TrialFact:
    challenge_id: int
    status: str
    outcome: str | None
    approved_at: datetime | None


@dataclass
class _Data:
    opened: dict[int, datetime | None]
    proposals: dict[int, int]
    trials: dict[int, list[_TrialFact]]


def _locale() -> str:
    return str(get_locale() or "en")


@dataclass
class _ChallengeFact:
    """The columns of a challenge the figures need (plain tuples load ~5x faster than ORM rows)."""

    id: int
    department_id: int
    functional_area: str | None  # drafts, the only ones without one, are not counted
    opened_at: datetime | None
    created_at: datetime
    department: Department
    domains: list[str] = field(default_factory=list)


def _load() -> tuple[list[_ChallengeFact], _Data]:
    departments = {d.id: d for d in db.scalars(select(Department))}
    challenges = [
        _ChallengeFact(cid, dept, area, opened, created, departments[dept])
        for cid, dept, area, opened, created in db.execute(
            select(
                Challenge.id, Challenge.department_id, Challenge.functional_area,
                Challenge.opened_at, Challenge.created_at,
            )
            .where(Challenge.status != ChallengeStatus.DRAFT)
            .order_by(Challenge.id)
        )
    ]
    by_id = {c.id: c for c in challenges}
    for cid, domain in db.execute(select(ChallengeDomain.challenge_id, ChallengeDomain.domain)):
        if cid in by_id:
            by_id[cid].domains.append(domain)
    ids = {c.id for c in challenges}
    proposals = {
        cid: n
        for cid, n in db.execute(select(Proposal.challenge_id, func.count()).group_by(Proposal.challenge_id))
        if cid in ids
    }
    trials: dict[int, list[_TrialFact]] = defaultdict(list)
    for cid, status, outcome, approved_at in db.execute(
        select(Trial.challenge_id, Trial.status, Trial.outcome, Trial.approved_at).order_by(Trial.id)
    ):
        if cid in ids:
            trials[cid].append(_TrialFact(cid, status, outcome, approved_at))
    opened = {c.id: c.opened_at for c in challenges}
    return challenges, _Data(opened=opened, proposals=proposals, trials=dict(trials))


def _figures(challenge_ids: list[int], data: _Data) -> Figures:
    out = Figures(challenges=len(challenge_ids))
    days: list[float] = []
    for cid in challenge_ids:
        facts = data.trials.get(cid, [])
        out.proposals += data.proposals.get(cid, 0)
        # A challenge is matched, and a trial counts, once the lab approved one (as on the landing
        # page); a proposal still before the lab, or turned down, is counted by state only.
        if any(fact.status in TrialState.WENT_AHEAD for fact in facts):
            out.matched += 1
        for fact in facts:
            if fact.status in TrialState.WENT_AHEAD:
                out.trials += 1
            out.by_state[fact.status] = out.by_state.get(fact.status, 0) + 1
            if fact.status == TrialState.COMPLETED:
                out.completed += 1
                if fact.outcome == TrialOutcome.ADOPTED:
                    out.adopted += 1
            opened = data.opened.get(cid)
            went_ahead = fact.status in TrialState.WENT_AHEAD  # the trials counted as approved
            if went_ahead and fact.approved_at is not None and opened is not None and fact.approved_at >= opened:
                days.append((fact.approved_at - opened).total_seconds() / 86400)
    out.adoption_rate = out.adopted / out.completed if out.completed else None
    out.median_days = round(statistics.median(days), 1) if days else None
    return out


def _month_key(challenge: Challenge | _ChallengeFact) -> str:
    when = challenge.opened_at or challenge.created_at
    return clock.local(when).strftime("%Y-%m")


def month_label(key: str) -> str:
    """A ``YYYY-MM`` key as a month name in the current language."""
    year, month = (int(part) for part in key.split("-"))
    return format_skeleton("yMMM", date(year, month, 1), locale=_locale())


def _month_range(keys: set[str]) -> list[str]:
    if not keys:
        return []
    first, last = min(keys), max(keys)
    year, month = (int(p) for p in first.split("-"))
    out = []
    while True:
        key = f"{year:04d}-{month:02d}"
        out.append(key)
        if key >= last:
            return out
        month += 1
        if month > 12:
            year, month = year + 1, 1


@dataclass
class Report:
    """Everything the dashboard and the statistics page show."""

    overall: Figures
    breakdowns: dict[str, Breakdown]


#: Computed reports by (locale, data version); the figures change only when the data does.
_reports: dict[tuple[Any, ...], Report] = {}
_reports_lock = threading.Lock()
#: The last report served per locale, with when it was computed or confirmed current.
_recent: dict[str, tuple[float, Report]] = {}


def _data_version() -> tuple[Any, ...]:
    """A cheap fingerprint of everything the report reads."""
    return (
        *db.execute(select(func.count(Challenge.id), func.max(Challenge.updated_at))).one(),
        *db.execute(select(func.count(Trial.id), func.max(Trial.updated_at))).one(),
        db.scalar(select(func.count(Proposal.id))),
        db.scalar(select(func.count(Department.id))),
        clock.today(),
    )


def report() -> Report:
    """The programme figures, overall and by domain, area, department and month (cached per data version)."""
    locale = _locale()
    ttl = float(current_app.config.get("STATS_CACHE_SECONDS", 60))
    now = time.monotonic()
    with _reports_lock:
        recent = _recent.get(locale)
    # Busy periods change the data every second; the figures may lag by up to ``ttl``.
    if recent is not None and now - recent[0] < ttl:
        return recent[1]
    key = (locale, _data_version())
    with _reports_lock:
        cached = _reports.get(key)
    if cached is None:
        cached = _compute_report()
        with _reports_lock:
            for old in [k for k in _reports if k[1] != key[1]]:
                del _reports[old]  # only the newest data version is worth keeping
            _reports[key] = cached
    with _reports_lock:
        _recent[locale] = (now, cached)
    return cached


def _compute_report() -> Report:
    """Compute the programme figures, overall and by domain, area, department and month."""
    challenges, data = _load()
    locale = _locale()
    overall = _figures([c.id for c in challenges], data)

    by_domain: dict[str, list[int]] = defaultdict(list)
    by_area: dict[str, list[int]] = defaultdict(list)
    by_department: dict[int, list[int]] = defaultdict(list)
    by_month: dict[str, list[int]] = defaultdict(list)
    departments: dict[int, Department] = {}
    for c in challenges:
        for key in c.domains:
            by_domain[key].append(c.id)
        if c.functional_area:
            by_area[c.functional_area].append(c.id)
        by_department[c.department_id].append(c.id)
        departments[c.department_id] = c.department
        by_month[_month_key(c)].append(c.id)

    domain_rows = [Row(t.key, t.label(locale), _figures(by_domain.get(t.key, []), data)) for t in DOMAINS]
    area_rows = [Row(t.key, t.label(locale), _figures(by_area.get(t.key, []), data)) for t in FUNCTIONAL_AREAS]
    department_rows = sorted(
        (Row(departments[d].code, departments[d].name(locale), _figures(ids, data)) for d, ids in by_department.items()),
        key=lambda r: (-r.figures.challenges, r.label),
    )
    month_rows = [Row(k, month_label(k), _figures(by_month.get(k, []), data)) for k in _month_range(set(by_month))]
    return Report(
        overall=overall,
        breakdowns={
            "domain": Breakdown("domain", domain_rows),
            "area": Breakdown("area", area_rows),
            "department": Breakdown("department", department_rows),
            "month": Breakdown("month", month_rows),
        },
    )


# -- labels and tables --------------------------------------------------------------------------


def breakdown_title(key: str) -> str:
    """The heading of a breakdown."""
    return {
        "domain": _("By domain"),
        "area": _("By functional area"),
        "department": _("By department"),
        "month": _("By month of opening"),
    }[key]


def breakdown_dimension(key: str) -> str:
    """The name of the grouping column."""
    return {"domain": _("Domain"), "area": _("Functional area"), "department": _("Department"),
            "month": _("Month")}[key]


def figure_columns() -> list[tuple[str, str]]:
    """The figure columns of a breakdown table: (attribute, header)."""
    return [
        ("challenges", _("Challenges posted")),
        ("matched", _("Matched")),
        ("proposals", _("Proposals")),
        ("trials", _("Trials approved")),
        ("completed", _("Completed")),
        ("adopted", _("Adopted")),
        ("adoption_rate", _("Adoption rate (%)")),
        ("median_days", _("Median days to an approved trial")),
    ]


def percent(rate: float | None) -> str:
    """A rate as a percentage with one decimal, or empty."""
    return "" if rate is None else f"{rate * 100:.1f}"


def cell(figures: Figures, attribute: str) -> str:
    """One figure as text for a table or CSV cell."""
    value = getattr(figures, attribute)
    if attribute == "adoption_rate":
        return percent(value)
    if value is None:
        return ""
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def overview_rows(figures: Figures) -> list[tuple[str, str]]:
    """The headline figures as (label, value)."""
    return [
        (_("Challenges posted"), str(figures.challenges)),
        (_("Challenges matched (a trial approved)"), str(figures.matched)),
        (_("Proposals received"), str(figures.proposals)),
        (_("Trials approved"), str(figures.trials)),
        (_("Trials completed"), str(figures.completed)),
        (_("Solutions adopted"), str(figures.adopted)),
        (_("Adoption rate (%)"), percent(figures.adoption_rate)),
        (_("Median days from opening to an approved trial"), cell(figures, "median_days")),
    ]


def state_rows(figures: Figures) -> list[tuple[str, str, int]]:
    """Trials per state as (state, label, count)."""
    return [(s, trial_state_label(s), figures.by_state.get(s, 0)) for s in TRIAL_STATES]


def table(rep: Report, key: str, *, for_csv: bool = False) -> tuple[list[str], list[list[str]]]:
    """A table of the report as (header, rows) of text, as on the page and in the CSV.

    Months are named in the reader's language on the page and written ``YYYY-MM`` in a CSV.
    """
    if key == "overview":
        return [_("Figure"), _("Value")], [[label, value] for label, value in overview_rows(rep.overall)]
    if key == "states":
        return [_("State"), _("Trials")], [[label, str(n)] for _s, label, n in state_rows(rep.overall)]
    if key in BREAKDOWNS:
        columns = figure_columns()
        header = [breakdown_dimension(key)] + [title for _a, title in columns]
        rows = [
            [row.key if key == "month" and for_csv else row.label] + [cell(row.figures, a) for a, _t in columns]
            for row in rep.breakdowns[key].rows
        ]
        return header, rows
    raise KeyError(key)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(value: str) -> str:
    """Neutralise spreadsheet formulas in text cells (CSV injection)."""
    if value and value.startswith(_FORMULA_START) and not _is_number(value):
        return "'" + value
    return value


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def csv_text(rep: Report, key: str) -> str:
    """One table of the report as CSV text (UTF-8 with a byte-order mark for spreadsheets)."""
    header, rows = table(rep, key, for_csv=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_safe(h) for h in header])
    for row in rows:
        writer.writerow([_safe(v) for v in row])
    return "\ufeff" + buffer.getvalue()


# -- coordinators' pipeline and the public showcase ------------------------------------------


#: Rows per page of the coordinators' pipeline.
PIPELINE_PAGE_SIZE = 25


def pipeline(page: int = 1, size: int = PIPELINE_PAGE_SIZE) -> Page:
    """One page of the trials in progress (proposed to running) for the coordinators' dashboard:
    the furthest along first (running, approved, shortlisted, proposed), oldest change first
    within a state. ``page`` is clamped to the pages there are."""
    furthest = case({s: i for i, s in enumerate(reversed(IN_PROGRESS))}, value=Trial.status)
    return paginate(
        select(Trial).where(Trial.status.in_(IN_PROGRESS)).order_by(furthest, Trial.updated_at, Trial.id),
        page, size, options=[selectinload(Trial.challenge), selectinload(Trial.startup)],
    )


def outcome_published() -> ColumnElement[bool]:
    """Trials whose outcome report the department signed off and the startup agreed to publish,
    and the lab has not unpublished since.

    The one rule for what is public about outcomes: the showcase, open data and the API.
    """
    return Trial.report.has(OutcomeReport.published)


def showcase(outcome: str | None = None) -> list[Trial]:
    """Completed trials with a published (signed-off) outcome report, latest first (optionally one outcome)."""
    stmt = (
        select(Trial)
        .where(Trial.status == TrialState.COMPLETED, outcome_published())
        .options(
            selectinload(Trial.challenge).selectinload(Challenge.department),
            selectinload(Trial.startup),
            selectinload(Trial.capability),
            selectinload(Trial.report),
            selectinload(Trial.kpis),
        )
        .order_by(Trial.completed_at.desc(), Trial.id.desc())
    )
    if outcome in TRIAL_OUTCOMES:
        stmt = stmt.where(Trial.outcome == outcome)
    return list(db.scalars(stmt))


def report_language(trial: Trial) -> str:
    """The language of a trial's outcome report (its own, else its challenge's)."""
    report_obj: Any = trial.report
    return getattr(report_obj, "language", None) or trial.challenge.language
