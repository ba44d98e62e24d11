"""The open-data page and its downloads: the files that ``flask open-data generate`` last wrote."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, render_template, send_from_directory
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..services import open_data

bp = Blueprint("open_data", __name__)
log = logging.getLogger(__name__)

#: What each dataset is, for the page (the files' own dictionaries describe every field).
DATASET_TEXTS: dict[str, tuple[object, object]] = {
    "challenges": (
        _l("Challenges"),
        _l("Every challenge posted by Department of Health teams, open or closed (never drafts): "
           "its department, domains, functional area, tags, dates, status and the number of proposals received."),
    ),
    "poc-outcomes": (
        _l("Completed proof-of-concept trials"),
        _l("Every completed trial with a published outcome: the challenge, the department, the company and "
           "the solution trialled, the outcome and the dates."),
    ),
    "poc-kpis": (
        _l("Key performance indicators of completed trials"),
        _l("The indicators agreed for each completed trial, with their targets and, where published, their results."),
    ),
    "statistics": (
        _l("Programme figures"),
        _l("The figures of the statistics page: challenges, proposals, trials by state and adoption, overall "
           "and by domain, functional area, department and month of opening."),
    ),
}


def size_label(size: int) -> str:
    """A file size for people: bytes, KB or MB (1 KB = 1,024 bytes)."""
    if size < 1024:
        return _("%(n)s bytes", n=format_decimal(size))
    if size < 1024 * 1024:
        return _("%(n)s KB", n=format_decimal(round(size / 1024, 1)))
    return _("%(n)s MB", n=format_decimal(round(size / 1024 / 1024, 1)))


def _manifest() -> open_data.Manifest:
    """The last generation, generated now if there is none; 503 if the files cannot be written."""
    try:
        return open_data.latest_or_generate()
    except OSError:
        log.exception("open data: cannot write the files in %s", open_data.directory())
        abort(503)


@bp.get("/open-data")
def index() -> ResponseReturnValue:
    """List the open datasets with their files, sizes, record counts and when they were generated."""
    manifest = _manifest()
    return render_template(
        "open_data/index.html",
        manifest=manifest,
        datasets=[(name, *DATASET_TEXTS[name], manifest.for_dataset(name)) for name in open_data.DATASET_NAMES],
        size_label=size_label,
        licence_url=open_data.licence_url(),
    )


@bp.get("/open-data/<data_file>")
def download(data_file: str) -> ResponseReturnValue:
    """Download one generated file (only the files the last generation listed)."""
    manifest = _manifest()
    info = manifest.file(data_file)
    if info is None:
        abort(404)
    mimetype = "text/csv" if info.format == "csv" else "application/json"
    return send_from_directory(
        open_data.directory(), info.name, mimetype=mimetype, as_attachment=info.format == "csv",
        max_age=3600,
    )
