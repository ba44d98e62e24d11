"""Documents: recognising types by content, storing file then row, following the transaction."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from models import AuditEvent, Challenge, Document, Proposal, Trial, User
from portal.database import db
from portal.errors import DomainError, NotAllowed
from portal.services import documents, sniffing
from portal.services.storage import LocalStorage, StorageError, check_key, get_storage

from .. import samples


@pytest.fixture(autouse=True)
def _in_request(app):
    with app.test_request_context():
        yield


@pytest.fixture
def storage_dir(document_storage) -> Path:
    return document_storage.root


def stored_files(root: Path) -> set[str]:
    return {p.name for p in root.glob("??/*") if not p.name.startswith(".")}


def count_rows() -> int:
    return db.scalar(select(func.count(Document.id))) or 0


@pytest.fixture
def party(make):
    """An officer's challenge, a startup member's proposal and their trial, loaded in the session."""
    dept = make.department()
    officer = make.user("officer", department_id=dept.id)
    member = make.user("startup")
    cap = make.capability(startup=db.get(User, member.id).startup)
    challenge = make.challenge(dept)
    proposal = make.proposal(challenge, cap)
    trial = make.trial(challenge, cap, proposal_id=proposal.id)
    return {
        "officer": db.get(User, officer.id), "member": db.get(User, member.id),
        "challenge": db.get(Challenge, challenge.id), "proposal": db.get(Proposal, proposal.id),
        "trial": db.get(Trial, trial.id),
    }


# --- Sniffing ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(samples.ACCEPTED))
def test_each_accepted_type_is_recognised_from_its_bytes(name):
    make, content_type = samples.ACCEPTED[name]
    assert sniffing.sniff(io.BytesIO(make())).content_type == content_type


@pytest.mark.parametrize("name", sorted(samples.ACCEPTED))
def test_type_comes_from_content_whatever_the_name(name, party, storage_dir):
    make, content_type = samples.ACCEPTED[name]
    document = documents.attach_document(party["officer"], party["challenge"], io.BytesIO(make()), "scan.exe")
    assert document.content_type == content_type
    # Listed, as downloaded, with the extension of what it is: never as a program.
    kind = sniffing.KINDS[content_type]
    assert document.display_name == "scan.exe" + kind.extension


@pytest.mark.parametrize("maker, reason", [
    (samples.plain_zip, "no [Content_Types].xml"),
    (samples.macro_docx, "macros"),
    (samples.docm, "not an office document"),
    (samples.entity_bomb, "[Content_Types].xml refused"),
    (samples.exe, "unknown type"),
    (lambda: samples.zip_claiming(samples.WORD_MAIN, with_part=False), "main part missing"),
    (lambda: b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "unknown type"),
    (lambda: b"%PDF", "unknown type"),  # too short for the signature "%PDF-"
    (lambda: b"PK\x03\x04not really a zip", "damaged zip"),
    (lambda: b"<html><script>alert(1)</script></html>", "unknown type"),
])
def test_other_content_is_refused_with_the_failed_check(maker, reason):
    with pytest.raises(sniffing.NotAccepted) as refused:
        sniffing.sniff(io.BytesIO(maker()))
    assert refused.value.reason == reason


def test_a_program_renamed_as_a_pdf_is_refused(party, storage_dir):
    with pytest.raises(DomainError) as error:
        documents.attach_document(party["officer"], party["challenge"], io.BytesIO(samples.exe()), "report.pdf")
    assert error.value.field == "file"
    assert "accepted types" in error.value.message
    assert count_rows() == 0 and stored_files(storage_dir) == set()


def test_download_name_gets_the_real_extension():
    pdf = sniffing.KINDS[sniffing.PDF]
    assert sniffing.download_name("report.exe", pdf) == "report.exe.pdf"
    assert sniffing.download_name("Report.PDF", pdf) == "Report.PDF"
    assert sniffing.download_name("photo.jpeg", sniffing.KINDS[sniffing.JPEG]) == "photo.jpeg"


# --- Names and sizes ---------------------------------------------------------------------------


@pytest.mark.parametrize("raw, shown", [
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\me\\deck.pptx", "deck.pptx"),
    ("醫療 方案\u202e.pdf", "醫療 方案.pdf"),
    ("a\x00b\r\nc.pdf", "a b c.pdf"),
    ("...", "document"),
    ("", "document"),
    (None, "document"),
])
def test_display_names_are_cleaned_and_keep_unicode(raw, shown):
    assert documents.display_name(raw) == shown


def test_long_names_are_cut_keeping_the_extension():
    name = documents.display_name("計" * 500 + ".docx")
    assert len(name) == documents.NAME_MAX and name.endswith(".docx")


def test_with_its_real_type_a_name_ends_with_that_types_extension():
    pdf = sniffing.KINDS[sniffing.PDF]
    assert documents.display_name("deck.exe", pdf) == "deck.exe.pdf"
    assert documents.display_name("Deck.PDF", pdf) == "Deck.PDF"
    assert documents.display_name("deck", pdf) == "deck.pdf"
    assert documents.display_name("", pdf) == "document.pdf"
    long = documents.display_name("計" * 500 + ".exe", pdf)
    assert len(long) == documents.NAME_MAX and long.endswith(".pdf")


def test_ascii_fallback_name():
    pdf = sniffing.KINDS[sniffing.PDF]
    assert documents.ascii_name("醫療方案.pdf", pdf) == "document.pdf"
    assert documents.ascii_name("Café plan.pdf", pdf) == "Cafe_plan.pdf"
    assert documents.ascii_name("../../x.exe", pdf) == "x.exe.pdf"


def test_human_size_in_both_languages(app):
    assert documents.human_size(512) == "512 bytes"
    assert documents.human_size(12_800) == "12.5 KB"
    assert documents.human_size(20 * 1024 * 1024) == "20 MB"
    with force_locale("zh_Hant_HK"):
        assert documents.human_size(512) == "512 位元組"
        assert documents.human_size(12_800) == "12.5 KB"


# --- Attaching ---------------------------------------------------------------------------------


def test_attach_stores_file_then_row_with_sniffed_type_size_and_digest(party, storage_dir):
    content = samples.pdf("Plan")
    document = documents.attach_document(party["officer"], party["challenge"], io.BytesIO(content), "plan.pdf")
    db.commit()
    assert document.size_bytes == len(content)
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    assert document.uploaded_by_id == party["officer"].id and document.challenge_id == party["challenge"].id
    assert stored_files(storage_dir) == {document.storage_key}
    with documents.open_document(document) as stored:
        assert stored.read() == content
    assert check_key(document.storage_key) == document.storage_key  # random, not the name
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "document.add"))
    assert event is not None and event.entity_type == "challenge" and event.entity_id == party["challenge"].id


def test_empty_and_oversized_files_are_refused_before_anything_is_stored(app, party, storage_dir):
    with pytest.raises(DomainError, match="empty"):
        documents.attach_document(party["officer"], party["challenge"], io.BytesIO(b""), "empty.pdf")
    app.config["DOCUMENT_MAX_BYTES"] = 1000
    try:
        with pytest.raises(DomainError, match="larger than"):
            documents.attach_document(party["officer"], party["challenge"], io.BytesIO(samples.pdf("x" * 2000)), "big.pdf")
    finally:
        app.config["DOCUMENT_MAX_BYTES"] = documents.DEFAULT_MAX_BYTES
    assert count_rows() == 0 and stored_files(storage_dir) == set()


@pytest.mark.parametrize("who, parent, allowed", [
    ("officer", "challenge", True), ("member", "challenge", False),
    ("member", "proposal", True), ("officer", "proposal", False),
    ("officer", "trial", True), ("member", "trial", True),
])
def test_who_may_attach(party, storage_dir, who, parent, allowed):
    attach = lambda: documents.attach_document(party[who], party[parent], io.BytesIO(samples.png()), "a.png")
    if allowed:
        assert attach().id
    else:
        with pytest.raises(NotAllowed):
            attach()
        assert stored_files(storage_dir) == set()


def test_rollback_deletes_the_written_file_and_leaves_no_row(party, storage_dir):
    documents.attach_document(party["officer"], party["challenge"], io.BytesIO(samples.png()), "a.png")
    assert len(stored_files(storage_dir)) == 1
    db.rollback()
    assert count_rows() == 0
    assert stored_files(storage_dir) == set()


def test_storage_failure_leaves_no_row(party, storage_dir, monkeypatch):
    def broken(_self, _stream):
        raise StorageError("disk full")

    monkeypatch.setattr(LocalStorage, "save", broken)
    with pytest.raises(DomainError, match="could not be stored"):
        documents.attach_document(party["officer"], party["challenge"], io.BytesIO(samples.png()), "a.png")
    db.rollback()
    assert count_rows() == 0


def test_a_failed_row_insert_removes_the_file(party, storage_dir, monkeypatch):
    """The file is written, then the row's INSERT fails (here a type the database refuses): the
    rollback deletes the file, so neither is left."""
    monkeypatch.setattr(sniffing, "sniff", lambda stream: sniffing.Kind("text/html", ".html", "HTML"))
    with pytest.raises(IntegrityError):
        documents.attach_document(party["officer"], party["challenge"], io.BytesIO(b"<p>hi</p>"), "a.html")
    assert len(stored_files(storage_dir)) == 1  # written first ...
    db.rollback()
    assert count_rows() == 0
    assert stored_files(storage_dir) == set()  # ... and gone with the transaction


# --- Removing ----------------------------------------------------------------------------------


def test_remove_deletes_row_then_file_after_commit_and_is_audited(party, storage_dir):
    document = documents.attach_document(party["member"], party["proposal"], io.BytesIO(samples.docx()), "deck.docx")
    db.commit()
    key = document.storage_key
    documents.remove_document(party["member"], document)
    assert key in stored_files(storage_dir)  # not yet: the removal is not committed
    db.commit()
    assert count_rows() == 0 and key not in stored_files(storage_dir)
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "document.remove")) is not None


def test_a_rolled_back_removal_keeps_the_file(party, storage_dir):
    document = documents.attach_document(party["member"], party["proposal"], io.BytesIO(samples.docx()), "deck.docx")
    db.commit()
    documents.remove_document(party["member"], document)
    db.rollback()
    assert count_rows() == 1 and document.storage_key in stored_files(storage_dir)


def test_the_other_side_of_a_trial_cannot_remove_a_report(party, storage_dir):
    report = documents.attach_document(party["member"], party["trial"], io.BytesIO(samples.xlsx()), "kpis.xlsx")
    db.commit()
    with pytest.raises(NotAllowed):
        documents.remove_document(party["officer"], report)


def test_documents_go_with_their_parent(party, storage_dir):
    documents.attach_document(party["officer"], party["challenge"], io.BytesIO(samples.pdf()), "a.pdf")
    documents.attach_document(party["member"], party["proposal"], io.BytesIO(samples.pptx()), "b.pptx")
    documents.attach_document(party["member"], party["trial"], io.BytesIO(samples.jpeg()), "c.jpg")
    db.commit()
    assert count_rows() == 3 and len(stored_files(storage_dir)) == 3
    db.delete(party["challenge"])  # the database cascades to its proposals and trials
    db.commit()
    assert count_rows() == 0
    assert stored_files(storage_dir) == set()


def test_a_proposal_deleted_with_its_capability_takes_its_documents(party, storage_dir):
    documents.attach_document(party["member"], party["proposal"], io.BytesIO(samples.pdf()), "a.pdf")
    db.commit()
    db.delete(party["proposal"].capability)
    db.commit()
    assert count_rows() == 0 and stored_files(storage_dir) == set()


def test_the_database_refuses_a_document_with_two_parents_or_none(party):
    for parents in ({}, {"challenge_id": party["challenge"].id, "trial_id": party["trial"].id}):
        db.add(Document(storage_key="0" * 32, display_name="x.pdf", content_type=sniffing.PDF, size_bytes=1,
                        sha256="0" * 64, **parents))
        with pytest.raises(IntegrityError):
            db.flush()
        db.rollback()


def test_sweep_finds_files_without_rows_and_rows_without_files(party, storage_dir):
    kept = documents.attach_document(party["officer"], party["challenge"], io.BytesIO(samples.png()), "a.png")
    db.commit()
    orphan = get_storage().save(io.BytesIO(b"left by a crash"))
    (storage_dir / kept.storage_key[:2] / kept.storage_key).unlink()
    assert documents.sweep() == ([orphan], [kept.id])
    documents.sweep(delete=True)
    assert orphan not in stored_files(storage_dir)


def test_storage_refuses_keys_that_are_not_its_own(tmp_path):
    storage = LocalStorage(tmp_path)
    for key in ("../x", "A" * 32, "0" * 31, "/etc/passwd", ""):
        with pytest.raises(StorageError):
            storage.open(key)


def test_sweep_command_reports_and_deletes_orphans(app, document_storage):
    orphan = document_storage.save(io.BytesIO(b"left by a crash"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["documents", "sweep"])
    assert result.exit_code == 0 and f"file without a row: {orphan}" in result.output
    assert orphan in stored_files(document_storage.root)
    result = runner.invoke(args=["documents", "sweep", "--delete"])
    assert "(deleted)" in result.output and orphan not in stored_files(document_storage.root)


def test_a_package_compressed_by_a_method_office_does_not_use_is_refused_before_decompressing() -> None:
    """An Office file is stored or deflated; a bzip2 [Content_Types].xml is refused, not decompressed."""
    original = zipfile.ZipFile(io.BytesIO(samples.docx()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as rebuilt:
        for info in original.infolist():
            method = zipfile.ZIP_BZIP2 if info.filename == "[Content_Types].xml" else zipfile.ZIP_DEFLATED
            rebuilt.writestr(info.filename, original.read(info), compress_type=method)
    with pytest.raises(sniffing.NotAccepted, match="compressed by a method"):
        sniffing.sniff(io.BytesIO(out.getvalue()))
