"""Documents attached to challenges, proposals and trials: checked, stored, listed, removed.

An upload is checked completely before anything is kept: not empty, not larger than
``DOCUMENT_MAX_BYTES``, and one of the accepted types *by its bytes*
(:mod:`portal.services.sniffing`). Then the file is written to storage first and the row
second, so a row never points to nothing; the key is remembered on the database session
and the file deleted again if the transaction rolls back, so a refused or failed request
leaves neither a row nor a file.

Removing a document (or its parent: a challenge, proposal, trial, or what they hang on,
which the database deletes with ON DELETE CASCADE) deletes the stored file only after the
commit: a rollback keeps both. A file whose deletion failed, or that a crash left without a
row, is found by ``flask documents sweep``.
"""

from __future__ import annotations

import hashlib
import logging
import unicodedata
from dataclasses import dataclass
from typing import IO, Any

from flask import current_app
from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import event, func, or_, select
from sqlalchemy.orm import Session, SessionTransaction, selectinload
from werkzeug.utils import secure_filename

from models import Capability, Challenge, Document, Proposal, Startup, Trial
from models.names import clean_name
from models.vocabulary import ProposalStatus, TrialState

from .. import signals
from ..access import can_attach_document, can_remove_document
from ..database import db
from ..errors import DomainError, NotAllowed, StaleState
from ..templating import current_locale
from . import proposals, sniffing
from .storage import Storage, StorageError, get_storage

log = logging.getLogger("innomatch.documents")

Parent = Challenge | Proposal | Trial
#: Default largest file (bytes); ``DOCUMENT_MAX_BYTES`` overrides it.
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
#: Characters kept of an upload's name (the extension is kept whole).
NAME_MAX = 200
#: Documents per parent: a deck and its annexes, not a file share.
PER_PARENT_MAX = 20
DOCUMENT_FIELDS = ("display_name", "content_type", "size_bytes", "sha256")
_WRITTEN = "innomatch_documents_written"
_TO_DELETE = "innomatch_documents_to_delete"


def max_bytes() -> int:
    """The largest file accepted, in bytes (``DOCUMENT_MAX_BYTES``)."""
    return int(current_app.config.get("DOCUMENT_MAX_BYTES") or DEFAULT_MAX_BYTES)


def parent_of(document: Document) -> Parent:
    """The challenge, proposal or trial ``document`` is attached to."""
    if document.challenge_id is not None:
        return db.get_one(Challenge, document.challenge_id)
    if document.proposal_id is not None:
        return db.get_one(Proposal, document.proposal_id)
    return db.get_one(Trial, document.trial_id)


def _parent_column(parent: Parent) -> Any:
    if isinstance(parent, Challenge):
        return Document.challenge_id
    if isinstance(parent, Proposal):
        return Document.proposal_id
    return Document.trial_id


def belongs_to(document: Document, parent: Parent) -> bool:
    """Whether ``document`` is attached to ``parent``."""
    return bool(getattr(document, _parent_column(parent).key) == parent.id)


def documents_of(parent: Parent) -> list[Document]:
    """The documents of ``parent``, oldest first, with their uploaders (one query)."""
    return list(db.scalars(
        select(Document).where(_parent_column(parent) == parent.id)
        .options(selectinload(Document.uploaded_by)).order_by(Document.created_at, Document.id)
    ))


def documents_of_proposals(proposal_ids: list[int]) -> dict[int, list[Document]]:
    """proposal id -> its documents, for a page of proposals, in a fixed number of queries."""
    found: dict[int, list[Document]] = {pid: [] for pid in proposal_ids}
    if not proposal_ids:
        return found
    rows = db.scalars(
        select(Document).where(Document.proposal_id.in_(proposal_ids))
        .options(selectinload(Document.uploaded_by)).order_by(Document.created_at, Document.id)
    )
    for document in rows:
        found[int(document.proposal_id or 0)].append(document)
    return found


def display_name(filename: str | None, kind: sniffing.Kind | None = None) -> str:
    """The name people read for an upload called ``filename``: its last path part, cleaned
    (NFKC, no control or invisible characters, unicode kept), at most NAME_MAX characters.

    With the file's real ``kind``, the name ends with an extension of that kind, as the
    download does: a PDF sent as ``deck.exe`` is listed as ``deck.exe.pdf``, never as a
    program, and a name without an extension gets one."""
    raw = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = clean_name(raw).strip(". ")
    if not name:
        name = _("document")
    if kind is not None:
        shown = sniffing.download_name(name, kind)
        if shown != name:
            return name[: NAME_MAX - len(kind.extension)].rstrip(". ") + kind.extension
    if len(name) > NAME_MAX:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and 0 < len(extension) <= 10:
            name = stem[: NAME_MAX - len(extension) - 1].rstrip() + "." + extension
        else:
            name = name[:NAME_MAX].rstrip()
    return name


def ascii_name(name: str, kind: sniffing.Kind) -> str:
    """A plain ASCII file name for ``name`` (the ``filename=`` fallback of a download)."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    safe = secure_filename(folded)
    if not safe or safe.lower() in {e.lstrip(".") for e in (kind.extension, *kind.aliases)}:
        safe = "document" + kind.extension
    return sniffing.download_name(safe, kind)


def _size(stream: IO[bytes]) -> int:
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    return size


def _digest(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    stream.seek(0)
    for chunk in iter(lambda: stream.read(64 * 1024), b""):
        digest.update(chunk)
    stream.seek(0)
    return digest.hexdigest()


ACCEPTED_TYPE_NAMES = ("PDF", "DOCX", "PPTX", "XLSX", "PNG", "JPEG")


def accepted_types_text() -> str:
    """The accepted types, for messages and hints, listed the reader's way ("PDF, DOCX" or 「PDF、DOCX」)."""
    return ("、" if current_locale().startswith("zh") else ", ").join(ACCEPTED_TYPE_NAMES)


def check_upload(stream: IO[bytes]) -> tuple[sniffing.Kind, int]:
    """The type and size of an upload, or a DomainError on ``file`` saying what is wrong."""
    size = _size(stream)
    if size == 0:
        raise DomainError(_("The file is empty. Choose a file with content."), field="file")
    limit = max_bytes()
    if size > limit:
        raise DomainError(
            _("The file is larger than %(size)s. Choose a smaller file.", size=human_size(limit)), field="file"
        )
    try:
        kind = sniffing.sniff(stream)
    except sniffing.NotAccepted as refused:
        log.info("upload refused: %s", refused.reason)
        raise DomainError(
            _("This file is not one of the accepted types (%(types)s). Its content was checked, not its name.",
              types=accepted_types_text()),
            field="file",
        ) from None
    return kind, size


def closed_reason(parent: Parent, *, removing: bool = False) -> str | None:
    """Why documents can no longer be added to ``parent`` (or, ``removing``, removed from it),
    or None. A trial withdrawn or rejected is kept as it was left: nothing is added or removed
    (but by the lab). A proposal closes too: once the lab has decided on it (its trial approved,
    running, completed or rejected) its documents stay as they were decided on; once withdrawn
    nothing more is added, but the startup may still remove what it sent. A proposal sent to
    a pair the lab had already shortlisted is still open: nothing is decided yet."""
    if isinstance(parent, Trial):
        if parent.status not in TrialState.ENDED_EARLY:
            return None
        if removing:
            return _("This trial has ended without going ahead: its documents are kept as they were.")
        if parent.status == TrialState.WITHDRAWN:
            return _("This trial was withdrawn: no documents can be added to it.")
        return _("This trial was rejected: no documents can be added to it.")
    if not isinstance(parent, Proposal):
        return None
    if parent.status == ProposalStatus.WITHDRAWN:
        return None if removing else _("This proposal was withdrawn: no documents can be added to it.")
    trial = proposals.trial_for(parent.challenge_id, parent.startup_id)
    if trial is not None and trial.status not in TrialState.OPEN:
        return _("The lab has decided on this proposal, so its documents can no longer be changed.")
    return None


def may_attach(actor: Any, parent: Parent) -> bool:
    """Whether ``actor`` may add a document to ``parent`` now (access, and the parent's state)."""
    return can_attach_document(actor, parent) and closed_reason(parent) is None


def _removal_closed(actor: Any, parent: Parent) -> str | None:
    """Why ``actor`` may no longer remove ``parent``'s documents, or None (the lab always may)."""
    return None if getattr(actor, "is_staff", False) else closed_reason(parent, removing=True)


def may_remove(actor: Any, document: Document, parent: Parent) -> bool:
    """Whether ``actor`` may remove ``document`` from ``parent`` now (access, and the parent's
    state; the lab may always remove one)."""
    return can_remove_document(actor, document, parent) and _removal_closed(actor, parent) is None


def attach_document(actor: Any, parent: Parent, stream: IO[bytes], filename: str | None) -> Document:
    """Attach the uploaded ``stream`` (seekable) to ``parent`` as ``actor``."""
    if not can_attach_document(actor, parent):
        raise NotAllowed(_("You may not attach documents here."))
    reason = closed_reason(parent)
    if reason is not None:
        raise StaleState(reason, field="file")
    count = db.scalar(select(func.count(Document.id)).where(_parent_column(parent) == parent.id)) or 0
    if count >= PER_PARENT_MAX:
        raise DomainError(
            _("There are already %(n)d documents here. Remove one before adding another.", n=PER_PARENT_MAX),
            field="file",
        )
    kind, size = check_upload(stream)
    name = display_name(filename, kind)
    digest = _digest(stream)
    storage = get_storage()
    try:
        key = storage.save(stream)
    except StorageError:
        log.exception("document storage refused an upload")
        raise DomainError(_("The file could not be stored. Please try again later."), field="file") from None
    _remember(db(), _WRITTEN, storage, key)  # deleted again if this transaction rolls back
    document = Document(
        storage_key=key, display_name=name, content_type=kind.content_type, size_bytes=size, sha256=digest,
        uploaded_by_id=getattr(actor, "id", None),
    )
    setattr(document, _parent_column(parent).key, parent.id)
    db.add(document)
    db.flush()
    signals.changed(actor, "document.add", parent, after=_audit_values(document))
    return document


def remove_document(actor: Any, document: Document) -> None:
    """Remove ``document``; its file is deleted from storage once the removal is committed."""
    parent = parent_of(document)
    if not can_remove_document(actor, document, parent):
        raise NotAllowed(_("Only the person who added this document, its owners and the lab can remove it."))
    reason = _removal_closed(actor, parent)
    if reason is not None:
        raise StaleState(reason)
    before = _audit_values(document)
    db.delete(document)
    db.flush()
    signals.changed(actor, "document.remove", parent, before=before)


def _audit_values(document: Document) -> dict[str, Any]:
    return {f"documents[{document.id}]": {name: getattr(document, name) for name in DOCUMENT_FIELDS}}


def open_document(document: Document) -> IO[bytes]:
    """The stored bytes of ``document`` (StorageError if the storage has lost them)."""
    return get_storage().open(document.storage_key)


def human_size(size: int) -> str:
    """``size`` bytes for people: "834 bytes", "12.5 KB", "3.2 MB", in the interface language."""
    if size < 1024:
        return _("%(n)s bytes", n=format_decimal(size))
    if size < 1024 * 1024:
        return _("%(n)s KB", n=format_decimal(round(size / 1024, 1)))
    return _("%(n)s MB", n=format_decimal(round(size / (1024 * 1024), 1)))


# --- The stored files follow the transaction ------------------------------------------------


@dataclass(frozen=True)
class _Pending:
    storage: Storage
    key: str


def _remember(session: Session, slot: str, storage: Storage, key: str) -> None:
    session.info.setdefault(slot, []).append(_Pending(storage, key))


def _delete_files(pending: list[_Pending], why: str) -> None:
    for item in pending:
        try:
            item.storage.delete(item.key)
        except StorageError:
            # The row is gone (or never was): the file is an orphan that `flask documents sweep` finds.
            log.exception("could not delete document file %s (%s)", item.key, why)


def _keys_under(session: Session, obj: object) -> list[str]:
    """Storage keys of the documents the database deletes with ``obj`` (ON DELETE CASCADE)."""
    proposals = select(Proposal.id)
    trials = select(Trial.id)
    if isinstance(obj, Document):
        return [obj.storage_key]
    if isinstance(obj, Challenge):
        where = or_(Document.challenge_id == obj.id,
                    Document.proposal_id.in_(proposals.where(Proposal.challenge_id == obj.id)),
                    Document.trial_id.in_(trials.where(Trial.challenge_id == obj.id)))
    elif isinstance(obj, Proposal):
        where = Document.proposal_id == obj.id
    elif isinstance(obj, Trial):
        where = Document.trial_id == obj.id
    elif isinstance(obj, Startup):
        where = or_(Document.proposal_id.in_(proposals.where(Proposal.startup_id == obj.id)),
                    Document.trial_id.in_(trials.where(Trial.startup_id == obj.id)))
    elif isinstance(obj, Capability):
        where = Document.proposal_id.in_(proposals.where(Proposal.capability_id == obj.id))
    else:
        return []
    with session.no_autoflush:
        return list(session.scalars(select(Document.storage_key).where(where)))


@event.listens_for(Session, "before_flush")
def _collect_deleted_files(session: Session, _context: Any, _instances: Any) -> None:
    """Note the files of documents deleted in this flush, directly or with a parent."""
    deleted = list(session.deleted)
    if not deleted:
        return
    keys = {key for obj in deleted for key in _keys_under(session, obj)}
    if keys:
        try:
            storage = get_storage()
        except RuntimeError:  # no app: nothing configured a storage, so no file to follow
            log.warning("documents deleted outside an app; run `flask documents sweep` to remove their files")
            return
        for key in sorted(keys):
            _remember(session, _TO_DELETE, storage, key)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    """The rows are committed: new files stay; files of deleted rows go."""
    session.info.pop(_WRITTEN, None)
    _delete_files(session.info.pop(_TO_DELETE, None) or [], "after commit")


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    """The whole transaction rolled back: delete the files it wrote, keep those it meant to delete."""
    if previous_transaction.nested or previous_transaction.parent is not None:
        return
    session.info.pop(_TO_DELETE, None)
    _delete_files(session.info.pop(_WRITTEN, None) or [], "after rollback")


def sweep(delete: bool = False) -> tuple[list[str], list[int]]:
    """Reconcile storage with the database: (files without a row, ids of rows without a file).

    With ``delete``, the files without a row are removed. Run it when no upload is in
    flight (an upload's file is written a moment before its row is committed).
    """
    storage = get_storage()
    known = {key: doc_id for doc_id, key in db.execute(select(Document.id, Document.storage_key)).all()}
    stored = set(storage.keys())
    orphans = sorted(stored - set(known))
    missing = sorted(doc_id for key, doc_id in known.items() if key not in stored)
    if delete:
        _delete_files([_Pending(storage, key) for key in orphans], "sweep")
    return orphans, missing
