"""Real files of every kind an upload may be, and the bad ones it must refuse: made here,
byte for byte (a .docx by python-docx, a zip bomb by zipfile)."""

from __future__ import annotations

import io
import zipfile

from docx import Document

PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
       b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
EXE = b"MZ\x90\x00" + b"\x00" * 60 + b"PE\x00\x00"
EML = (b"From: Ministeriet <post@im.dk>\r\nTo: post@ishoj.dk\r\nSubject: Anmodning\r\n"
       b"Date: Mon, 8 Jan 2018 09:00:00 +0100\r\n\r\nSe vedlagte.\r\n")
PASSWD = b"root:x:0:0:root:/root:/bin/bash\n"


def docx(text: str = "Økonominotat") -> bytes:
    doc = Document()
    doc.add_paragraph(text)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def xlsx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        zf.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook/>')
    return out.getvalue()


def zip_bomb(unpacked: int = 64 * 1024 * 1024) -> bytes:
    """A .docx that unpacks to ``unpacked`` bytes of zeros from a few dozen KB."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        with zf.open("word/document.xml", "w") as f:
            block = b"\0" * (1 << 20)
            for _ in range(unpacked >> 20):
                f.write(block)
    return out.getvalue()
