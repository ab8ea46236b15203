"""The aktliste of a case written out: CSV (semicolons, UTF-8 with a BOM, for Excel) and a
Word document on the joint letterhead (turned into PDF by LibreOffice), Danish headings
and dates ("19. juni 2017")."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from ..danish import long_date
from .docx_writer import write_docx

HEADINGS = ("Aktnr.", "Dato", "Type", "Retning", "Afsender/modtager", "Beskrivelse",
            "Filnavn", "SHA-256")


def _row(e: Mapping[str, Any]) -> list[str]:
    description = e["description"]
    if e.get("corrects"):
        description += f" (retter nr. {e['corrects']})"
    if e.get("corrected_by"):
        description += " (rettet ved nr. " + ", ".join(map(str, e["corrected_by"])) + ")"
    return [str(e["number"]), e["dated_da"], e["doc_type_da"], e["direction_da"],
            e.get("party") or "", description, e.get("filename") or "", e.get("sha256") or ""]


def to_csv(entries: Sequence[Mapping[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADINGS)
    for e in entries:
        writer.writerow([safe_cell(c) for c in _row(e)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


UNSAFE_START = frozenset("=+-@")    # a spreadsheet runs a cell that starts so


def safe_cell(text: str) -> str:
    """A cell a spreadsheet will not run: one starting with = + - @ gets a leading '."""
    return "'" + text if text[:1] in UNSAFE_START else text


def _cell(text: str) -> str:
    """Text safe in a Markdown table cell."""
    return (text.replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*")
            .replace("_", "\\_").replace("\n", " ") or " ")


def to_docx(entries: Sequence[Mapping[str, Any]], *, case_number: str, title: str,
            today: date, reference: bytes, now: datetime) -> bytes:
    lines = [f"# Aktliste for sag {_cell(case_number)}", "", _cell(title), "",
             f"Udskrevet {long_date(today)}. {len(entries)} "
             f"{'akt' if len(entries) == 1 else 'akter'}.", "",
             "| " + " | ".join(HEADINGS[:6]) + " |", "|" + "---|" * 6]
    lines += ["| " + " | ".join(_cell(c) for c in _row(e)[:6]) + " |" for e in entries]
    return write_docx("\n".join(lines) + "\n", reference,
                      header={"case_number": case_number, "date": long_date(today)},
                      title=f"Aktliste – {case_number}", author="workflow", created=now)
