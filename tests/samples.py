"""Tiny real files of each accepted document type, built in code (no binary fixtures).

PDF, PNG and JPEG are complete, decodable files (a one-page PDF; a 1x1 grey PNG; a 1x1
grey baseline JPEG with one Huffman code per table). The DOCX and XLSX are the smallest
packages Word and Excel open ([Content_Types].xml, the package relationships and the main
part, plus the workbook's sheet); the PPTX has the package structure and main part the
checks look at, not the masters and layouts PowerPoint needs to show it.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
OFFICE_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"


def pdf(text: str = "Hello") -> bytes:
    """A one-page PDF with a correct cross-reference table."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>"),
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png() -> bytes:
    """A 1x1 8-bit greyscale PNG."""
    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x80")  # filter byte 0, one grey pixel
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", pixels) + _chunk(b"IEND", b"")


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def jpeg() -> bytes:
    """A 1x1 greyscale baseline JPEG: every coefficient zero, one Huffman code per table."""
    app0 = _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    dqt = _segment(0xDB, b"\x00" + b"\x01" * 64)
    sof0 = _segment(0xC0, struct.pack(">BHHB", 8, 1, 1, 1) + b"\x01\x11\x00")
    one_code = b"\x01" + b"\x00" * 15 + b"\x00"  # one code of length 1, for symbol 0
    dht = _segment(0xC4, b"\x00" + one_code + b"\x10" + one_code)  # DC table 0, AC table 0 (EOB)
    sos = _segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    scan = b"\x3f"  # DC difference 0 ('0'), end of block ('0'), padded with ones
    return b"\xff\xd8" + app0 + dqt + sof0 + dht + sos + scan + b"\xff\xd9"


def _package(main_part: str, main_type: str, parts: dict[str, str], extra_types: dict[str, str] | None = None,
             content_types: str | None = None) -> bytes:
    overrides = {main_part: main_type, **(extra_types or {})}
    types = content_types or (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="{CT_NS}">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        + "".join(f'<Override PartName="/{name}" ContentType="{kind}"/>' for name, kind in overrides.items())
        + "</Types>"
    )
    rels = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{REL_NS}">'
            f'<Relationship Id="rId1" Type="{OFFICE_DOC}" Target="{main_part}"/></Relationships>')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", types)
        archive.writestr("_rels/.rels", rels)
        for name, body in parts.items():
            archive.writestr(name, body)
    return buffer.getvalue()


WORD_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
SHEET_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
SLIDES_MAIN = "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"


def docx(text: str = "Hello") -> bytes:
    """A one-paragraph Word document."""
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    body = f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{w}"><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>'
    return _package("word/document.xml", WORD_MAIN, {"word/document.xml": body})


def xlsx() -> bytes:
    """A workbook of one empty sheet."""
    s = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    r = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    workbook = (f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{s}" xmlns:r="{r}"><sheets>'
                '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
    workbook_rels = (f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{REL_NS}"><Relationship Id="rId1"'
                     f' Type="{r}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
    sheet = f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{s}"><sheetData/></worksheet>'
    return _package(
        "xl/workbook.xml", SHEET_MAIN,
        {"xl/workbook.xml": workbook, "xl/_rels/workbook.xml.rels": workbook_rels, "xl/worksheets/sheet1.xml": sheet},
        extra_types={"xl/worksheets/sheet1.xml":
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"},
    )


def pptx() -> bytes:
    """The package structure and main part of a presentation."""
    p = "http://schemas.openxmlformats.org/presentationml/2006/main"
    presentation = f'<?xml version="1.0" encoding="UTF-8"?><p:presentation xmlns:p="{p}"/>'
    return _package("ppt/presentation.xml", SLIDES_MAIN, {"ppt/presentation.xml": presentation})


def plain_zip() -> bytes:
    """A zip of a text file: no [Content_Types].xml."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "hello")
    return buffer.getvalue()


def zip_claiming(main_type: str, with_part: bool) -> bytes:
    """A package whose [Content_Types].xml names ``main_type`` for word/document.xml, with or without that part."""
    parts = {"word/document.xml": "<w/>"} if with_part else {"other.xml": "<x/>"}
    return _package("word/document.xml", main_type, parts)


def macro_docx() -> bytes:
    """A Word package that carries a VBA project."""
    return _package("word/document.xml", WORD_MAIN, {"word/document.xml": "<w/>", "word/vbaProject.bin": "\x00" * 16})


def docm() -> bytes:
    """A macro-enabled Word document (its own main content type)."""
    return _package("word/document.xml", "application/vnd.ms-word.document.macroEnabled.main+xml",
                    {"word/document.xml": "<w/>"})


def entity_bomb() -> bytes:
    """A package whose [Content_Types].xml declares entities (billion laughs)."""
    types = ('<?xml version="1.0"?><!DOCTYPE Types [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
             f'<Types xmlns="{CT_NS}"><Override PartName="/word/document.xml" ContentType="{WORD_MAIN}"/>&b;</Types>')
    return _package("word/document.xml", WORD_MAIN, {"word/document.xml": "<w/>"}, content_types=types)


def exe() -> bytes:
    """The start of a Windows program (MZ header and PE signature)."""
    header = bytearray(b"MZ" + b"\x90\x00" * 29 + b"\x00" * 2)
    header += b"\x00" * (0x3C - len(header)) + struct.pack("<I", 0x40)
    header += b"\x00" * (0x40 - len(header)) + b"PE\x00\x00" + b"\x00" * 64
    return bytes(header)


ACCEPTED = {
    "pdf": (pdf, "application/pdf"),
    "docx": (docx, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "pptx": (pptx, "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    "xlsx": (xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "png": (png, "image/png"),
    "jpg": (jpeg, "image/jpeg"),
}
