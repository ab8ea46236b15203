"""Letterheads made from municipality rows: names, addresses, the logo as a picture in the
header (read back with python-docx), the logo checked by its content, the cache by inputs,
the same bytes for the same inputs, and one PDF through LibreOffice."""

from __future__ import annotations

import io
import shutil
from datetime import datetime
from pathlib import Path

import docx
import pytest

from tests.documents.test_documents import require_libreoffice
from tests.factories import tiny_png
from workflow.documents.docx_writer import write_docx
from workflow.documents.letterhead import (
    Letterheads,
    letterhead_spec,
    logo_problem,
    logos_in,
    logos_of,
    sniff_image,
)
from workflow.documents.pdf import convert_to_pdf
from workflow.errors import DocumentError

BASE = Path(__file__).resolve().parents[2] / "templates" / "reference" / "base.docx"
HEADER = {"case_number": "00.17.15-G01-1-27", "date": "3. marts 2027"}
JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000")   # a JPEG's first bytes


def rows(logo: bytes | None = None) -> dict[str, dict[str, object]]:
    return {"dragoer": {"id": "dragoer", "name": "Dragør Kommune", "council": "Dragør "
                        "Kommunalbestyrelse", "address": "Eksempelvej 1, 2791 Dragør",
                        "logo": logo, "logo_type": "image/png" if logo else None},
            "taarnby": {"id": "taarnby", "name": "Tårnby Kommune", "council": "Tårnby "
                        "Kommunalbestyrelse", "address": "Prøvegade 2, 2770 Kastrup",
                        "logo": None, "logo_type": None}}


def made(letterheads: Letterheads, chosen: str, municipalities: dict[str, dict[str, object]]
         ) -> tuple[bytes, str]:
    spec = letterhead_spec(chosen, ["dragoer", "taarnby"], municipalities)
    return letterheads.make(spec, logos_of(municipalities))


def test_the_logo_is_a_picture_in_the_header_beside_the_name() -> None:
    logo = tiny_png()
    paper, _ = made(Letterheads(BASE), "dragoer", rows(logo))
    content = write_docx("# Brev\n\nTekst.\n", paper, header=HEADER, title="Brev",
                         author="workflow", created=datetime(2027, 3, 3))
    header = docx.Document(io.BytesIO(content)).sections[0].header
    texts = [p.text for p in header.paragraphs]
    assert texts[1:] == ["Dragør Kommune", "Eksempelvej 1 · 2791 Dragør",
                         "Sagsnr. 00.17.15-G01-1-27  ·  3. marts 2027"]
    assert len(header.paragraphs[0]._p.xpath(".//pic:pic")) == 1
    assert [p.blob for p in header.part.related_parts.values()
            if p.partname.startswith("/word/media/")] == [logo]
    assert logos_in(content) == logos_of(rows(logo))   # what reproduce finds it by


def test_a_joint_letterhead_names_every_party_and_is_cached_by_its_inputs(tmp_path: Path
                                                                          ) -> None:
    base = tmp_path / "base.docx"
    shutil.copy(BASE, base)
    letterheads = Letterheads(base)
    first, key = made(letterheads, "joint", rows())
    assert made(letterheads, "joint", rows()) == (first, key)
    assert made(Letterheads(base), "joint", rows()) == (first, key)   # the same bytes again
    header = docx.Document(io.BytesIO(first)).sections[0].header
    assert [p.text for p in header.paragraphs][0] == "Dragør Kommune  ·  Tårnby Kommune"
    changed = rows()
    changed["taarnby"]["address"] = "Prøvegade 3, 2770 Kastrup"
    assert made(letterheads, "joint", changed)[1] != key        # other inputs, another key
    assert made(letterheads, "joint", rows(tiny_png()))[1] != key


def test_a_logo_is_checked_by_its_content() -> None:
    assert sniff_image(tiny_png()) == "image/png" and sniff_image(JPEG) == "image/jpeg"
    assert logo_problem(None, None) is None and logo_problem(tiny_png(), "image/png") is None
    assert logo_problem(b"GIF89a....", "image/png") == \
        "the logo is not a PNG or JPEG image (by its content)"
    assert logo_problem(tiny_png(), "image/jpeg") == \
        "the logo is image/png, but logo_type says image/jpeg"
    assert logo_problem(JPEG, "image/jpeg").startswith("the logo cannot be read as an image")
    with pytest.raises(DocumentError, match="the letterhead of Dragør Kommune: the logo is "
                                            "not a PNG or JPEG image"):
        letterhead_spec("dragoer", ["dragoer"], rows(b"<svg/>"))
    with pytest.raises(DocumentError, match="there is no municipality 'amager'"):
        letterhead_spec("amager", ["dragoer"], rows())


def test_a_letterhead_with_a_logo_converts_to_pdf() -> None:
    require_libreoffice()
    paper, _ = made(Letterheads(BASE), "joint", rows(tiny_png(40, 20)))
    content = write_docx("# Brev\n\nTekst med æøå.\n", paper, header=HEADER, title="Brev",
                         author="workflow", created=datetime(2027, 3, 3))
    pdf = convert_to_pdf(content)
    assert pdf.startswith(b"%PDF")
    assert b"/Image" in pdf   # the logo went into the PDF
    if shutil.which("pdftotext"):
        import subprocess

        text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True,
                              check=True).stdout.decode()
        assert "Dragør Kommune · Tårnby Kommune" in text.replace("  ", " ")
        assert "Tekst med æøå." in text


def test_the_contacts_are_printed_and_a_municipality_without_keeps_its_inputs() -> None:
    municipalities = rows()
    before = letterhead_spec("joint", ["dragoer", "taarnby"], municipalities)
    assert all("contacts" not in m for m in before["municipalities"])
    municipalities["dragoer"]["contacts"] = [
        {"name": "Sofie Saltholm", "title": "Projektleder",
         "email": "sofie.saltholm@dragoer.example", "phone": "32 00 00 01"},
        {"name": "", "title": "", "email": "", "phone": ""}]      # nothing: left out
    own = letterhead_spec("dragoer", ["dragoer", "taarnby"], municipalities)
    joint = letterhead_spec("joint", ["dragoer", "taarnby"], municipalities)
    assert joint["municipalities"][1] == before["municipalities"][1]   # Tårnby: unchanged
    letterheads = Letterheads(BASE)
    for spec, line in ((own, "Kontakt: Sofie Saltholm, Projektleder · "
                        "sofie.saltholm@dragoer.example · 32 00 00 01"),
                       (joint, "Dragør Kommune: Sofie Saltholm, Projektleder · "
                        "sofie.saltholm@dragoer.example · 32 00 00 01")):
        paper, _ = letterheads.make(spec, {})
        content = write_docx("# Brev\n\nTekst.\n", paper, header=HEADER, title="Brev",
                             author="workflow", created=datetime(2027, 3, 3))
        texts = [p.text for p in docx.Document(io.BytesIO(content)).sections[0].header.paragraphs]
        assert line in texts and texts[-1].startswith("Sagsnr."), texts
    assert letterheads.digest(own) != letterheads.digest(
        letterhead_spec("dragoer", ["dragoer", "taarnby"], rows()))
