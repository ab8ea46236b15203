"""Letterheads made from the installation's data, at render time, cached by their inputs.

A draft's letterhead is one municipality's (``letterhead: "{party}"`` in states.yaml, or a
municipality field such as the BUM provider's) or the joint one of all the case's parties
(``letterhead: joint``). :func:`letterhead_spec` takes what it prints from the
municipality rows: name, council, address, contacts and the logo (its type and sha256;
the image's bytes are looked up by that). :class:`Letterheads` lays it out with
python-docx on the neutral base document (``templates/reference/base.docx``: styles,
page, footer) and keeps the result by the sha256 of its inputs; the same inputs give the
same bytes. The spec is kept in each version's recipe, so ``workflow reproduce`` makes
the letterhead again; the logo's bytes then come from the version's own .docx
(``word/media/``), found by sha256.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Pt, RGBColor

from ..errors import DocumentError

JOINT = "joint"          # the letterhead of all the case's parties
LOGO_HEIGHT = Cm(1.6)
COLOUR = RGBColor(0x2B, 0x3A, 0x4A)
CACHE_SIZE = 64
LOGO_TYPES = {"image/png": (b"\x89PNG\r\n\x1a\n",), "image/jpeg": (b"\xff\xd8\xff",)}


def sniff_image(data: bytes) -> str | None:
    """The media type of a PNG or JPEG image by its content, else none."""
    for media_type, magics in LOGO_TYPES.items():
        if any(data.startswith(m) for m in magics):
            return media_type
    return None


def logo_problem(data: bytes | None, declared: str | None) -> str | None:
    """What is wrong with a municipality's logo (none: no logo, or a good one)."""
    if data is None:
        return None
    found = sniff_image(bytes(data))
    if found is None:
        return "the logo is not a PNG or JPEG image (by its content)"
    if declared and declared != found:
        return f"the logo is {found}, but logo_type says {declared}"
    try:
        from docx.image.image import Image

        Image.from_blob(bytes(data))
    except Exception as exc:  # noqa: BLE001 - any failure: python-docx cannot place it
        return f"the logo cannot be read as an image: {type(exc).__name__}: {exc}"
    return None


def letterhead_spec(chosen: str, parties: Sequence[str],
                    rows: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The letterhead's inputs as JSON: ``chosen`` is ``joint`` (every party, in order) or
    a municipality id; ``rows`` the municipality rows by id."""
    ids = list(parties) if chosen == JOINT else [chosen]
    missing = [m for m in ids if m not in rows]
    if missing or not ids:
        raise DocumentError(
            f"no letterhead {chosen!r}: " + (f"there is no municipality {missing[0]!r} in the "
                                             f"installation" if missing else "no parties"))
    out = []
    for m in ids:
        row = rows[m]
        logo = row.get("logo")
        problem = logo_problem(logo, row.get("logo_type"))
        if problem:
            raise DocumentError(f"the letterhead of {row['name']}: {problem}")
        entry: dict[str, Any] = {"id": m, "name": str(row["name"]),
                                 "address": str(row.get("address") or ""),
                                 "logo": None if logo is None else {
                                     "type": sniff_image(bytes(logo)),
                                     "sha256": hashlib.sha256(bytes(logo)).hexdigest()}}
        contacts = [contact_line(c) for c in row.get("contacts") or []]
        if any(contacts):   # only then: the letterheads of a municipality without any keep
            entry["contacts"] = [c for c in contacts if c]   # their inputs, and digests
        out.append(entry)
    return {"kind": JOINT if chosen == JOINT else "own", "municipalities": out}


def contact_line(contact: Mapping[str, Any]) -> str:
    """A contact as the letterhead prints it: "Sofie Saltholm, projektleder · e-mail ·
    telefon" (what the installation gives of it)."""
    who = ", ".join(str(contact[k]).strip() for k in ("name", "title")
                    if str(contact.get(k) or "").strip())
    reach = [str(contact[k]).strip() for k in ("email", "phone")
             if str(contact.get(k) or "").strip()]
    return " · ".join(([who] if who else []) + reach)


def logos_of(rows: Mapping[str, Mapping[str, Any]],
             spec: Mapping[str, Any] | None = None) -> dict[str, bytes]:
    """The logo images of ``rows`` (only of the municipalities ``spec`` names), by sha256."""
    ids = [m["id"] for m in spec["municipalities"]] if spec is not None else list(rows)
    return {hashlib.sha256(bytes(r["logo"])).hexdigest(): bytes(r["logo"])
            for r in (rows[i] for i in ids if i in rows) if r.get("logo") is not None}


def logos_in(docx: bytes) -> dict[str, bytes]:
    """The images inside a .docx package, by their sha256 (a stored version's logos)."""
    try:
        with zipfile.ZipFile(io.BytesIO(docx)) as z:
            return {hashlib.sha256(data).hexdigest(): data for data in
                    (z.read(n) for n in z.namelist() if n.startswith("word/media/"))}
    except zipfile.BadZipFile:
        return {}


class Letterheads:
    """Makes letterheads on one base document and keeps the newest ones by their inputs."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self._base: tuple[float, bytes, str] | None = None
        self._made: dict[str, bytes] = {}

    def base_bytes(self) -> bytes:
        try:
            mtime = self.base.stat().st_mtime
        except OSError:
            raise DocumentError(
                f"missing the base document of the letterheads {self.base} (styles, page "
                f"and footer; templates/reference/make_references.py makes it)") from None
        if self._base is None or self._base[0] != mtime:
            data = self.base.read_bytes()
            self._base = (mtime, data, hashlib.sha256(data).hexdigest())
        return self._base[1]

    def digest(self, spec: Mapping[str, Any]) -> str:
        """sha256 over the letterhead's inputs and the base document."""
        self.base_bytes()
        assert self._base is not None
        base = self._base[2]
        text = json.dumps(spec, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(f"{base}\0{text}".encode()).hexdigest()

    def make(self, spec: Mapping[str, Any], logos: Mapping[str, bytes]) -> tuple[bytes, str]:
        """The letterhead's .docx bytes and :meth:`digest`."""
        key = self.digest(spec)
        got = self._made.get(key)
        if got is None:
            got = build(self.base_bytes(), spec, logos)
            if len(self._made) >= CACHE_SIZE:
                self._made.pop(next(iter(self._made)))
            self._made[key] = got
        return got, key


def build(base: bytes, spec: Mapping[str, Any], logos: Mapping[str, bytes]) -> bytes:
    """Lay the letterhead out in the header of a copy of ``base``: the logos in a row,
    the names, the addresses, the contacts (where there are any), then the case number
    and date placeholders on the right."""
    doc = Document(io.BytesIO(base))
    header = doc.sections[0].header
    header.is_linked_to_previous = False
    for p in list(header.paragraphs):
        p._p.getparent().remove(p._p)
    munis = spec["municipalities"]
    pictures = [m["logo"] for m in munis if m.get("logo")]
    if pictures:
        p = header.add_paragraph()
        for i, logo in enumerate(pictures):
            data = logos.get(logo["sha256"])
            if data is None:
                raise DocumentError(f"the logo {logo['sha256'][:16]}… of the letterhead is "
                                    f"not available")
            if i:
                p.add_run("    ")
            p.add_run().add_picture(io.BytesIO(data), height=LOGO_HEIGHT)
    p = header.add_paragraph()
    run = p.add_run("  ·  ".join(m["name"] for m in munis))
    run.bold, run.font.size, run.font.color.rgb = True, Pt(12), COLOUR
    addresses = [m["address"] for m in munis if m["address"]]
    if addresses:
        run = header.add_paragraph().add_run("  |  ".join(a.replace(", ", " · ")
                                                          for a in addresses))
        run.font.size = Pt(8)
    contacts = [f"{m['name']}: {line}" if len(munis) > 1 else f"Kontakt: {line}"
                for m in munis for line in m.get("contacts", ())]
    if contacts:
        run = header.add_paragraph().add_run("  |  ".join(contacts))
        run.font.size = Pt(8)
    p = header.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    run = p.add_run("Sagsnr. {{ case_number }}  ·  {{ date }}")
    run.font.size = Pt(8)
    doc.core_properties.title = "Brevpapir: " + " og ".join(m["name"] for m in munis)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
