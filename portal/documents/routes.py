"""Documents of challenges, proposals and trials: the upload page, downloads and removal.

Each parent has the same three routes, under its own URL so the parent's access rule applies
first: ``/<parents>/<id>/documents`` (GET the upload page, POST a file),
``/<parents>/<id>/documents/<document_id>`` (download) and ``.../delete`` (POST). Whoever may
not see the parent gets 404, as for the parent's own page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from flask import (
    Blueprint,
    Request,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from models import Challenge, Document, Proposal, Trial
from models.vocabulary import Role

from ..access import (
    can_attach_document,
    can_remove_document,
    can_view_challenge,
    can_view_documents,
    can_view_proposal,
    can_view_trial,
    refusal,
)
from ..database import db
from ..errors import DomainError
from ..forms import CsrfForm
from ..services import documents, sniffing
from ..services.storage import StorageError
from .forms import DocumentForm

bp = Blueprint("documents", __name__)

_MAX_ID = 2**31 - 1
Parent = Challenge | Proposal | Trial


def _load_challenge(challenge_id: int) -> Challenge:
    challenge = db.get(Challenge, challenge_id) if challenge_id <= _MAX_ID else None
    if challenge is None or not can_view_challenge(current_user, challenge):
        abort(404)
    return challenge


def _load_proposal(proposal_id: int) -> Proposal:
    proposal = db.get(Proposal, proposal_id) if proposal_id <= _MAX_ID else None
    if proposal is None or not can_view_proposal(current_user, proposal):
        abort(404)
    return proposal


def _load_trial(trial_id: int) -> Trial:
    trial = db.get(Trial, trial_id) if trial_id <= _MAX_ID else None
    if trial is None or not can_view_trial(current_user, trial):
        abort(404)
    return trial


#: parent kind -> (URL prefix, loader, URL parameter, where a successful upload returns to)
KINDS: dict[str, tuple[str, Callable[[int], Any], str]] = {
    "challenge": ("/challenges/<int:challenge_id>", _load_challenge, "challenge_id"),
    "proposal": ("/proposals/<int:proposal_id>", _load_proposal, "proposal_id"),
    "trial": ("/trials/<int:trial_id>", _load_trial, "trial_id"),
}


def kind_of(parent: Parent) -> str:
    """"challenge", "proposal" or "trial"."""
    return type(parent).__name__.lower()


def parent_url(parent: Parent) -> str:
    """The page the parent's documents are managed from, after an upload or a removal."""
    if isinstance(parent, Challenge):
        return url_for("challenges.edit", challenge_id=parent.id) + "#documents"
    if isinstance(parent, Proposal):
        if current_user.is_startup:
            return url_for("startups.edit_proposal", proposal_id=parent.id) + "#documents"
        return url_for("documents.proposal_upload", proposal_id=parent.id)
    return url_for("trials.detail", trial_id=parent.id) + "#documents"


def back_to(parent: Parent) -> str:
    """Where an upload or a removal returns: the page its form was on when that was the
    parent's documents page (``return_to``, checked against it), else the parent's page."""
    documents_page = _document_url("upload", parent)
    return documents_page if request.form.get("return_to") == documents_page else parent_url(parent)


def _document(parent: Parent, document_id: int) -> Document:
    """The parent's document ``document_id``, or 404."""
    document = db.get(Document, document_id) if document_id <= _MAX_ID else None
    if document is None or not documents.belongs_to(document, parent):
        abort(404)
    return document


def _page(parent: Parent, form: DocumentForm, status: int = 200) -> ResponseReturnValue:
    return render_template(
        "documents/upload.html", parent=parent, kind=kind_of(parent), form=form,
        documents=documents.documents_of(parent), back=parent_url(parent),
    ), status


def upload(parent: Parent) -> ResponseReturnValue:
    """Show the documents page of ``parent`` (its list, and the form for those who may add),
    or attach the posted file to it."""
    if request.method == "POST" and not can_attach_document(current_user, parent):
        abort(refusal(can_view_documents(current_user, parent)))
    form = DocumentForm()  # a body over the limit raises 413 here: _too_large below answers it
    if form.validate_on_submit():
        try:
            documents.attach_document(current_user, parent, form.file.data.stream, form.file.data.filename)
        except DomainError as error:
            db.rollback()
            form.apply_domain_error(error)
            return _page(parent, form, error.status)
        db.commit()
        flash(_("Document added."), "success")
        return redirect(back_to(parent))
    return _page(parent, form, 400 if form.errors else 200)


def too_large(parent: Parent) -> ResponseReturnValue:
    """The upload page with the size limit, for a request over the limit (413)."""
    form = DocumentForm(formdata=None)
    form.file.errors = [_("The file is larger than %(size)s. Choose a smaller file.",
                          size=documents.human_size(documents.max_bytes()))]
    return _page(parent, form, 413)


def content_disposition(name: str, kind: sniffing.Kind) -> str:
    """``attachment`` with an ASCII ``filename`` and the full name as RFC 5987 ``filename*``."""
    full = sniffing.download_name(name, kind)
    return f"attachment; filename=\"{documents.ascii_name(name, kind)}\"; filename*=UTF-8''{quote(full, safe='')}"


def download(parent: Parent, document_id: int) -> ResponseReturnValue:
    """Send one of the parent's documents as a download."""
    document = _document(parent, document_id)
    kind = sniffing.KINDS[document.content_type]
    try:
        stream = documents.open_document(document)
    except StorageError:
        abort(404, _("This document's file is no longer available."))
    response = send_file(stream, mimetype=document.content_type, as_attachment=True,
                         download_name=documents.ascii_name(document.display_name, kind),
                         etag=document.sha256, conditional=True, max_age=0)
    response.headers["Content-Disposition"] = content_disposition(document.display_name, kind)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    # Opened by mistake in the browser, the file could run nothing and load nothing.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def remove(parent: Parent, document_id: int) -> ResponseReturnValue:
    """Remove one of the parent's documents (its file goes after the commit)."""
    document = _document(parent, document_id)
    if not can_remove_document(current_user, document, parent):
        abort(403)
    if not CsrfForm().validate_on_submit():
        abort(400)
    try:
        documents.remove_document(current_user, document)
    except DomainError as error:
        db.rollback()
        flash(error.message, "error")
        return redirect(back_to(parent))
    db.commit()
    flash(_("Document removed."), "success")
    return redirect(back_to(parent))


def _register(kind: str) -> None:
    prefix, load, param = KINDS[kind]

    def upload_view(**ids: int) -> ResponseReturnValue:
        return upload(load(ids[param]))

    def download_view(document_id: int, **ids: int) -> ResponseReturnValue:
        return download(load(ids[param]), document_id)

    def delete_view(document_id: int, **ids: int) -> ResponseReturnValue:
        return remove(load(ids[param]), document_id)

    upload_view.__doc__ = f"Show the upload page of a {kind}'s documents, or attach a file."
    download_view.__doc__ = f"Download one of a {kind}'s documents."
    delete_view.__doc__ = f"Remove one of a {kind}'s documents."
    bp.add_url_rule(f"{prefix}/documents", f"{kind}_upload", login_required(upload_view), methods=["GET", "POST"])
    # Open challenges' documents are public, like the challenge: no sign-in for the download.
    download_rule = download_view if kind == "challenge" else login_required(download_view)
    bp.add_url_rule(f"{prefix}/documents/<int:document_id>", f"{kind}_download", download_rule, methods=["GET"])
    bp.add_url_rule(f"{prefix}/documents/<int:document_id>/delete", f"{kind}_delete", login_required(delete_view),
                    methods=["POST"])


for _kind in KINDS:
    _register(_kind)


#: Pages whose form also takes a document, besides the documents pages themselves.
OTHER_UPLOAD_ENDPOINTS = frozenset({"startups.propose"})


def is_upload(endpoint: str | None) -> bool:
    """Whether ``endpoint`` takes a file (and so DOCUMENT_MAX_REQUEST_BYTES, not MAX_CONTENT_LENGTH)."""
    return bool(endpoint and (
        (endpoint.startswith("documents.") and endpoint.endswith("_upload")) or endpoint in OTHER_UPLOAD_ENDPOINTS
    ))


class UploadAwareRequest(Request):
    """The app's request: the upload pages accept bodies up to DOCUMENT_MAX_REQUEST_BYTES,
    every other page MAX_CONTENT_LENGTH. Decided from the matched route, before anything
    (the CSRF check included) reads the body."""

    @property
    def max_content_length(self) -> int | None:
        if self._max_content_length is None and is_upload(self.endpoint) and current_app:
            return int(current_app.config["DOCUMENT_MAX_REQUEST_BYTES"])
        return super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_error: RequestEntityTooLarge) -> ResponseReturnValue:
    """An upload over the request limit: the upload page with the limit, not a bare error page."""
    kind = (request.endpoint or "").removeprefix("documents.").removesuffix("_upload")
    parent = None
    if kind in KINDS and request.view_args:
        _prefix, load, param = KINDS[kind]
        try:
            parent = load(int(request.view_args[param]))
        except HTTPException:
            parent = None
    if parent is None or not can_attach_document(current_user, parent):
        return render_template("errors/413.html", code=413, description=None, message=None), 413
    return too_large(parent)


# --- For the parents' pages ---------------------------------------------------------------------


def _document_helpers() -> dict[str, Any]:
    """Template globals (globals, not a context processor: imported macros see them)."""
    return {
        "documents_for": _documents_for,
        "documents_for_proposals": documents.documents_of_proposals,
        "document_form": lambda: DocumentForm(formdata=None),
        "document_remove_form": lambda: CsrfForm(formdata=None),
        "document_size": documents.human_size,
        "document_max_size": lambda: documents.human_size(documents.max_bytes()),
        "document_max_bytes": documents.max_bytes,
        "can_attach_document": lambda parent: documents.may_attach(current_user, parent),
        "can_remove_document": lambda document, parent: documents.may_remove(current_user, document, parent),
        # A proposal the lab has decided on or withdrawn, a trial withdrawn or rejected: why nothing can be added.
        "documents_closed": lambda parent: (
            documents.closed_reason(parent) if can_attach_document(current_user, parent) else None
        ),
        "document_url": _document_url,
        "shows_uploader": _shows_uploader,
    }


def _shows_uploader(parent: Parent) -> bool:
    """Whether the documents' list names who added each one: not on a challenge's page to
    the public or to startups (an officer's name is personal data the page does not need;
    the department is on the page), always among the parties of a proposal or a trial."""
    if not isinstance(parent, Challenge):
        return True
    return bool(current_user.is_authenticated and current_user.role != Role.STARTUP)


bp.record_once(lambda state: state.app.jinja_env.globals.update(_document_helpers()))


def _documents_for(parent: Parent) -> list[Document]:
    return documents.documents_of(parent) if can_view_documents(current_user, parent) else []


def _document_url(action: str, parent: Parent, document: Document | None = None) -> str:
    kind = kind_of(parent)
    values: dict[str, Any] = {KINDS[kind][2]: parent.id}
    if action != "upload":
        if document is None:
            raise ValueError(f"document_url({action!r}) needs the document")
        values["document_id"] = document.id
    return url_for(f"documents.{kind}_{action}", **values)
