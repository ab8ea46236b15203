"""An aktindsigt written out as one zip: the aktliste, every document's exact bytes, the
case's history and a manifest with the sha256 of each, with what is withheld left out and
listed with its ground (offentlighedsloven; the grounds are ``documents.exemptions`` in
states.yaml).

The zip is the same bytes for the same case and the same moment: its entries are in
journal order, each dated by its journal date, the lists and the manifest by the export's
day. What is compressed: the lists and notes (deflate); documents as they are (a .docx, a
PDF or an image is compressed already, and storing keeps the export near the speed of
copying). Each document's bytes are checked, as they are written, against the sha256 its
journal entry holds.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

from ..danish import long_date
from ..errors import DocumentError
from .aktliste import HEADINGS, _row, safe_cell

WITHHELD_CELL = "[undtaget]"
FIELDS = {"description": "Beskrivelse", "party": "Afsender/modtager", "text": "Notatets tekst"}
STORED_TYPES = ("application/pdf", "application/zip", "image/")
TEXT_LEVEL = 1     # zlib's fastest, for the lists and notes: over a thousand entries 5 %
                   # larger than its default level 6, in half the time


@dataclass(frozen=True)
class Withheld:
    """An entry, or one field of its line, left out: on which ground and why."""

    number: int
    field: str          # "" the whole entry; else a key of FIELDS
    ground: str         # a key of documents.exemptions
    cite: str           # "offentlighedsloven § 30, nr. 1"
    label: str          # "Enkeltpersoners private forhold"
    reason: str
    decided_by: str
    decided_at: str

    def said(self) -> str:
        what = "Dokumentet" if not self.field else FIELDS.get(self.field, self.field)
        return f"{what} undtaget, jf. {self.cite} ({self.label}): {self.reason}"


@dataclass
class Written:
    """What an export wrote: its files with their sha256, and what it left out."""

    case_number: str = ""
    files: list[dict[str, Any]] = field(default_factory=list)
    withheld: list[Withheld] = field(default_factory=list)
    bytes_written: int = 0


def _zipinfo(name: str, day: date, media_type: str = "text/plain") -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(max(day.year, 1980), day.month, day.day, 0, 0, 0))
    info.compress_type = _compression(media_type)
    info.external_attr = 0o644 << 16
    return info


@functools.cache
def _compression(media_type: str) -> int:
    """Stored for what is compressed already, deflated for the rest."""
    stored = any(media_type.startswith(s) for s in STORED_TYPES) or "officedocument" in media_type
    return zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED


def safe_member(number: int, filename: str) -> str:
    """The zip member of an entry's file: ``dokumenter/0007-name``, the name without any
    folder, control character or leading dot (it comes from an upload)."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    if not base.isprintable():
        base = "".join(ch for ch in base if ch.isprintable())
    base = base.lstrip(".").strip() or "dokument"
    prefix = f"{number:04d}-"
    if base.startswith(f"{number}-"):
        base = base[len(f"{number}-"):]
    return f"dokumenter/{prefix}{base[:150]}"


def aktliste_csv(entries: Sequence[Mapping[str, Any]],
                 withheld: Mapping[tuple[int, str], Withheld],
                 members: Mapping[int, str] | None = None) -> bytes:
    """The aktliste as the requester gets it: every entry listed (with the name of its
    file in the zip, ``members``), a withheld field shown as ``[undtaget]``, and a last
    column saying what was withheld on which ground."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow((*HEADINGS, "Undtaget fra aktindsigt"))
    said: dict[int, list[str]] = {}
    for (n, _), w in sorted(withheld.items()):
        said.setdefault(n, []).append(w.said())
    for e in entries:
        number = e["number"]
        shown = e
        if members is not None or number in said:
            shown = dict(e)
            if members is not None:
                shown["filename"] = members.get(number, "")
            for key in FIELDS:
                if (number, key) in withheld and key in shown:
                    shown[key] = WITHHELD_CELL
            if e["kind"] == "note" and ((number, "text") in withheld
                                        or (number, "") in withheld):
                shown["description"] = WITHHELD_CELL    # a note's first line: its text
        row = _row(shown)
        if (number, "") in withheld:
            row[6] = row[7] = ""     # neither the file's name nor its hash
        row.append(" ".join(said.get(number, ())))
        writer.writerow([safe_cell(c) for c in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def write_zip(out: IO[bytes], *, case: Mapping[str, Any], entries: Sequence[Mapping[str, Any]],
              withheld: Sequence[Withheld], history: Sequence[Mapping[str, Any]],
              open_bytes: Callable[[int], tuple[str, Iterable[bytes]]], now: datetime,
              today: date, exported_by: str,
              people: Mapping[str, str] | None = None) -> Written:
    """Write the aktindsigt of ``case`` to ``out``; ``open_bytes(number)`` gives an
    entry's file name and its stored bytes as a stream, which must hash to the entry's
    sha256 (else a :class:`DocumentError`, and the zip is not finished). ``people``:
    names by user id, for who wrote a note and who decided an exemption (the requester
    reads names, not ids)."""
    people = people or {}
    by_key = {(w.number, w.field): w for w in withheld}
    written = Written(str(case.get("case_number") or ""),
                      withheld=sorted(withheld, key=lambda w: (w.number, w.field)))
    with zipfile.ZipFile(out, "w") as z:
        for e in entries:
            number = e["number"]
            if (number, "") in by_key:
                continue
            if e["kind"] == "note":
                if (number, "text") in by_key:
                    continue
                body = (f"Journalnotat nr. {number}, {e['dated_da']}\n"
                        f"Skrevet af {people.get(e['registered_by'], e['registered_by'])}"
                        f"\n\n{e.get('text') or ''}\n")
                _put_text(z, written, _zipinfo(f"notater/{number:04d}-journalnotat.txt",
                                               date.fromisoformat(e["dated"])),
                          body.encode("utf-8"), number)
            elif e.get("has_file"):
                name, chunks = open_bytes(number)
                info = _zipinfo(safe_member(number, name), date.fromisoformat(e["dated"]),
                                e.get("media_type") or "")
                _put(z, written, info, chunks, number, expected=e["sha256"])
        day = today
        members = {f["number"]: f["name"] for f in written.files}
        _put_text(z, written, _zipinfo("aktliste.csv", day),
                  aktliste_csv(entries, by_key, members))
        _put_text(z, written, _zipinfo("historik.json", day),
                  _json_lines(list(history)).encode("utf-8"))
        manifest = {
            "case": dict(case), "exported_at": now.isoformat(), "exported_by": exported_by,
            "exported_on_da": long_date(today),
            "entries": len(entries), "files": written.files,
            "withheld": [{"number": w.number, "field": w.field or None, "ground": w.ground,
                          "cite": w.cite, "label": w.label, "reason": w.reason,
                          "decided_by": people.get(w.decided_by, w.decided_by),
                          "decided_at": w.decided_at}
                         for w in written.withheld]}
        z.writestr(_zipinfo("manifest.json", day, "application/json"),
                   _json_lines(manifest).encode("utf-8"), compresslevel=TEXT_LEVEL)
    return written


def _json_lines(value: Any) -> str:
    """JSON to read and to diff: a list's items, or a mapping's keys, one a line, each
    written by the json module's C encoder (``indent`` would take its pure-Python one,
    several times slower over a case's thousand entries); a mapping's lists likewise."""
    def dumps(v: Any) -> str:
        return json.dumps(v, ensure_ascii=False, default=str)

    if not value:
        return dumps(value) + "\n"
    if isinstance(value, list):
        return "[\n" + ",\n".join(dumps(v) for v in value) + "\n]\n"
    lines = (f"{dumps(k)}: " + ("[\n  " + ",\n  ".join(dumps(x) for x in v) + "\n ]"
                                 if isinstance(v, list) and v else dumps(v))
             for k, v in value.items())
    return "{\n " + ",\n ".join(lines) + "\n}\n"


def _put_text(z: zipfile.ZipFile, written: Written, info: zipfile.ZipInfo, data: bytes,
              number: int | None = None) -> None:
    """Write one member of text made here (a note, a list), deflated."""
    z.writestr(info, data, compresslevel=TEXT_LEVEL)
    written.files.append({"name": info.filename, "number": number,
                          "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)})
    written.bytes_written += len(data)


def _put(z: zipfile.ZipFile, written: Written, info: zipfile.ZipInfo, chunks: Iterable[bytes],
         number: int, expected: str) -> None:
    """Write a journal entry's stored bytes as they come, hashing them: a DocumentError
    at their end if they are not ``expected``, the sha256 journalised."""
    digest = hashlib.sha256()
    size = 0
    with z.open(info, "w", force_zip64=True) as member:
        for data in chunks:
            digest.update(data)
            size += len(data)
            member.write(data)
    sha = digest.hexdigest()
    if sha != expected:
        raise DocumentError(f"the stored bytes of {expected} do not match their sha256")
    written.files.append({"name": info.filename, "number": number, "sha256": sha, "size": size})
    written.bytes_written += size
