"""What a file is, from its bytes: the accepted document types and how each is recognised.

The name and the Content-Type the browser sends are never trusted: a renamed program or a
plain zip called ``deck.pptx`` must be refused. Two steps:

1. **Magic bytes** with ``puremagic`` (a maintained pure-Python magic-number database: no
   libmagic needed on the servers): PDF (``%PDF-``), PNG, JPEG at offset 0 are taken as
   they are; a zip signature (``PK\\x03\\x04``) goes to step 2; anything else is refused.
2. **OOXML** (DOCX, PPTX, XLSX are zips): the archive must hold ``[Content_Types].xml``
   declaring exactly one main part of the expected type (``word/document.xml``,
   ``ppt/presentation.xml``, ``xl/workbook.xml`` by default, wherever it is), and that part
   must be in the archive. Macro-enabled, template and add-in variants are refused, and so
   is an archive carrying a VBA project. ``[Content_Types].xml`` is read only if small and
   without a DTD (no entity expansion).
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from typing import IO
from xml.etree import ElementTree  # nosec B405: only a small DTD-free part is parsed (see _content_types)

import puremagic

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PNG = "image/png"
JPEG = "image/jpeg"


@dataclass(frozen=True)
class Kind:
    """An accepted type: its content type, file extension and short name people read."""

    content_type: str
    extension: str
    label: str
    #: Other extensions a name of this type may end with (kept as they are on download).
    aliases: tuple[str, ...] = ()


KINDS: dict[str, Kind] = {
    PDF: Kind(PDF, ".pdf", "PDF"),
    DOCX: Kind(DOCX, ".docx", "Word (DOCX)"),
    PPTX: Kind(PPTX, ".pptx", "PowerPoint (PPTX)"),
    XLSX: Kind(XLSX, ".xlsx", "Excel (XLSX)"),
    PNG: Kind(PNG, ".png", "PNG"),
    JPEG: Kind(JPEG, ".jpg", "JPEG", aliases=(".jpeg", ".jpe", ".jfif")),
}

#: The main part's content type in [Content_Types].xml -> the document's content type.
OOXML_MAIN_PARTS = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": DOCX,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": PPTX,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": XLSX,
}
#: Bytes read for the magic-number check.
HEAD_BYTES = 4096
#: [Content_Types].xml larger than this (uncompressed) is not a document we accept.
CONTENT_TYPES_MAX = 256 * 1024
#: An archive with more entries than this is refused (a real deck or workbook has far fewer).
ZIP_MAX_ENTRIES = 10_000
_ZIP_MAGIC = b"PK\x03\x04"
_CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_DTD = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


class NotAccepted(ValueError):
    """The bytes are not one of the accepted types; ``reason`` says which check failed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _magic(head: bytes) -> set[str]:
    """Content types puremagic finds at offset 0 of ``head`` (empty if none)."""
    try:
        matches = puremagic.magic_string(head)
    except puremagic.PureError:
        return set()
    return {m.mime_type for m in matches if m.offset == 0 and m.mime_type}


def sniff(stream: IO[bytes]) -> Kind:
    """The accepted type of the whole seekable ``stream``, or NotAccepted.

    The stream is read from its start and left at its start.
    """
    stream.seek(0)
    head = stream.read(HEAD_BYTES)
    stream.seek(0)
    if not head:
        raise NotAccepted("empty")
    found = _magic(head)
    for direct in (PDF, PNG, JPEG):
        if direct in found and _signature_ok(direct, head):
            return KINDS[direct]
    if head.startswith(_ZIP_MAGIC):
        try:
            return KINDS[_ooxml_type(stream)]
        finally:
            stream.seek(0)
    raise NotAccepted("unknown type")


def _signature_ok(content_type: str, head: bytes) -> bool:
    """The exact leading bytes each direct type must start with (puremagic also knows looser forms)."""
    prefix = {PDF: b"%PDF-", PNG: b"\x89PNG\r\n\x1a\n", JPEG: b"\xff\xd8\xff"}[content_type]
    return head.startswith(prefix)


def _ooxml_type(stream: IO[bytes]) -> str:
    """The OOXML type of the zip in ``stream``, from its [Content_Types].xml and main part."""
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise NotAccepted("damaged zip") from exc
    with archive:
        entries = archive.infolist()
        if len(entries) > ZIP_MAX_ENTRIES:
            raise NotAccepted("too many entries")
        names = {info.filename for info in entries}
        if any(name.lower().endswith("vbaproject.bin") for name in names):
            raise NotAccepted("macros")
        declared = _content_types(archive)
        mains = [part for part, kind in declared.items() if kind in OOXML_MAIN_PARTS]
        if len(mains) != 1:
            raise NotAccepted("not an office document")
        part = mains[0]
        if part.lstrip("/") not in names:
            raise NotAccepted("main part missing")
        return OOXML_MAIN_PARTS[declared[part]]


#: The compression methods Office packages use (stored and deflate); any other is refused
#: before a byte is decompressed.
OOXML_COMPRESSION = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})


def _content_types(archive: zipfile.ZipFile) -> dict[str, str]:
    """PartName -> ContentType of the Override entries of ``[Content_Types].xml``."""
    try:
        info = archive.getinfo("[Content_Types].xml")
    except KeyError:
        raise NotAccepted("no [Content_Types].xml") from None
    if info.file_size > CONTENT_TYPES_MAX:
        raise NotAccepted("[Content_Types].xml too large")
    if info.compress_type not in OOXML_COMPRESSION:
        raise NotAccepted("[Content_Types].xml compressed by a method Office does not use")
    if info.flag_bits & 0x1:
        raise NotAccepted("[Content_Types].xml encrypted")
    try:
        with archive.open(info) as part:
            data = part.read(CONTENT_TYPES_MAX + 1)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise NotAccepted("damaged zip") from exc
    if len(data) > CONTENT_TYPES_MAX or _DTD.search(data):
        raise NotAccepted("[Content_Types].xml refused")
    try:
        root = ElementTree.fromstring(data)  # nosec B314: small, and a DTD (entities) was refused above
    except ElementTree.ParseError as exc:
        raise NotAccepted("[Content_Types].xml damaged") from exc
    return {
        str(node.get("PartName") or ""): str(node.get("ContentType") or "").strip().lower()
        for node in root.iter(f"{_CT_NS}Override")
    }


def download_name(display_name: str, kind: Kind) -> str:
    """``display_name`` ending with an extension of its real type (``report.exe`` -> ``report.exe.pdf``)."""
    lower = display_name.lower()
    if lower.endswith((kind.extension, *kind.aliases)):
        return display_name
    return display_name + kind.extension
