"""The audit log pages: browse with filters and pages, export the filtered rows as CSV."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from models.vocabulary import Role

from .. import clock
from ..access import roles_required
from ..forms import page_number
from . import query
from .forms import AuditFilterForm

bp = Blueprint("audit_log", __name__)


def _filters_without_page() -> dict[str, Any]:
    """The log's filters from the query string, for the CSV link (which has no pages)."""
    return {k: v for k, v in request.args.items() if k != "page"}


@bp.get("/audit")
@roles_required(Role.COORDINATOR, Role.ADMIN)
def index() -> ResponseReturnValue:
    """Browse the audit log with filters and pages, each change shown as a diff."""
    form = AuditFilterForm(query.entity_types(), formdata=request.args)
    if not form.validate():
        page: query.AuditPage = query.AuditPage(items=[], total=0, page=1, pages=1)
        status = 400
    else:
        page = query.search_events(form.filters(), page_number(), int(current_app.config.get("PAGE_SIZE", 20)))
        status = 200
    known = query.people(page.items)
    return render_template(
        "audit_log/index.html", form=form, page=page, diff=query.diff, show=query.show,
        person=lambda key, value: query.named(key, value, known),
        export_url=url_for("audit_log.export", **_filters_without_page()),
    ), status


@bp.get("/audit.csv")
@roles_required(Role.COORDINATOR, Role.ADMIN)
def export() -> ResponseReturnValue:
    """Download the filtered audit events as CSV (UTF-8 with BOM, safe from spreadsheet formulas)."""
    form = AuditFilterForm(query.entity_types(), formdata=request.args)
    if not form.validate():
        abort(400, _("Correct the filters, then export again."))
    filename = f"innomatch-audit-{clock.today().isoformat()}.csv"
    return Response(
        stream_with_context(query.csv_lines(form.filters())),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
