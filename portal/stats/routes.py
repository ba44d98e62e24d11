"""The coordinators' dashboard, the public statistics and CSV downloads, and the showcase."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from models import Trial
from models.vocabulary import TRIAL_OUTCOMES, Role, TrialState

from ..access import roles_required
from ..database import db
from ..errors import DomainError
from ..forms import CsrfForm, page_number
from ..labels import TRIAL_OUTCOME_LABELS
from ..services import notifications, stats
from ..services import trials as trial_service
from .charts import Chart, bar_chart

bp = Blueprint("stats", __name__)


def _charts(rep: stats.Report) -> dict[str, Chart]:
    """One SVG chart per table: trials by state, and posted/matched challenges per breakdown."""
    states = stats.state_rows(rep.overall)
    charts = {
        "states": bar_chart(
            "chart-states", _("Trials by state"), _("The same figures are in the table that follows."),
            [label for _s, label, _n in states], [[n for _s, _l, n in states]], [_("Trials")],
        )
    }
    for key, breakdown in rep.breakdowns.items():
        charts[key] = bar_chart(
            f"chart-{key}",
            _("Challenges posted and matched: %(breakdown)s", breakdown=stats.breakdown_title(key).lower()),
            _("The same figures are in the table that follows."),
            [row.label for row in breakdown.rows],
            [[row.figures.challenges for row in breakdown.rows], [row.figures.matched for row in breakdown.rows]],
            [_("Challenges posted"), _("Matched")],
        )
    return charts


def _context() -> dict[str, object]:
    rep = stats.report()
    tables = {key: stats.table(rep, key) for key in stats.TABLES}
    titles = {"overview": _("Headline figures"), "states": _("Trials by state")}
    titles.update({key: stats.breakdown_title(key) for key in stats.BREAKDOWNS})
    return {"rep": rep, "tables": tables, "titles": titles, "charts": _charts(rep), "stats": stats}


@bp.get("/stats")
def public() -> ResponseReturnValue:
    """Show the programme's aggregate figures to everyone."""
    return render_template("stats/public.html", **_context())


@bp.get("/stats.csv")
def download() -> ResponseReturnValue:
    """Download one table of figures as CSV (``?table=overview|states|domain|area|department|month``)."""
    key = request.args.get("table", "overview")
    if key not in stats.TABLES:
        abort(404)
    body = stats.csv_text(stats.report(), key)
    return Response(
        body.encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="innomatch-{key}.csv"'},
    )


@bp.get("/dashboard")
@roles_required(Role.COORDINATOR, Role.ADMIN)
def dashboard() -> ResponseReturnValue:
    """Show the coordinators the figures and the trials in progress."""
    return render_template(
        "stats/dashboard.html", pipeline=stats.pipeline(page_number()), trials=trial_service, **_context()
    )


def _render_showcase(error: str | None = None, status: int = 200) -> ResponseReturnValue:
    outcome = request.args.get("outcome") or None
    if outcome is not None and outcome not in TRIAL_OUTCOMES:
        outcome = None
    return render_template(
        "stats/showcase.html",
        entries=stats.showcase(outcome),
        outcome=outcome,
        outcomes=TRIAL_OUTCOME_LABELS,
        interested=notifications.interested_trial_ids(current_user),
        report_language=stats.report_language,
        capability_name=trial_service.capability_name,
        error=error,
    ), status


@bp.get("/showcase")
def showcase() -> ResponseReturnValue:
    """Show completed trials with their outcomes, reports and KPI results."""
    return _render_showcase()


@bp.post("/showcase/<int:trial_id>/interest")
@roles_required(Role.OFFICER)
def interest(trial_id: int) -> ResponseReturnValue:
    """Tell the lab that the officer's department would like to reuse an adopted solution."""
    trial = db.get(Trial, trial_id)
    if trial is None or trial.status != TrialState.COMPLETED or trial.report is None or not trial.report.published:
        abort(404)
    if not CsrfForm().validate_on_submit():
        abort(400)
    try:
        notifications.notify_solution_interest(current_user, trial)
    except DomainError as error:
        db.rollback()
        return _render_showcase(error=error.message, status=409)
    db.commit()
    flash(_("Thank you. The lab's coordinators will contact you about reusing this solution."), "success")
    return redirect(url_for("stats.showcase", _anchor=f"trial-{trial.id}"))
