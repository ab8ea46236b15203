"""An aktindsigt written out as one zip: the aktliste, every document's exact bytes, the
case's history and a manifest with the sha256 of each, with what is withheld left out and
listed with its ground (offentlighedsloven; the grounds are ``documents.exemptions`` in
states.yaml).

The zip is the same bytes for the same case and the same moment: its entries are in
journal order, each dated by its journal date, the lists and the manifest by the export's
day. What is compressed: the lists and notes (deflate); documents as they are (a .docx, a
PDF or an image is compressed already, and storing keeps the export near the speed of
copying).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

from ..danish import long_date
from .aktliste import HEADINGS, _row

WITHHELD_CELL = "[undtaget]"
FIELDS = {"description": "Beskrivelse", "party": "Afsender/modtager", "text": "Notatets tekst"}
STORED_TYPES = ("application/pdf", "application/zip", "image/")


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
    stored = any(media_type.startswith(s) for s in STORED_TYPES) or "officedocument" in media_type
    info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


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
    for e in entries:
        shown = dict(e)
        if members is not None:
            shown["filename"] = members.get(e["number"], "")
        for key in FIELDS:
            if (e["number"], key) in withheld and key in shown:
                shown[key] = WITHHELD_CELL
        row = _row(shown)
        whole = withheld.get((e["number"], ""))
        if whole is not None:
            row[6] = row[7] = ""     # neither the file's name nor its hash
        said = [w.said() for (n, _), w in sorted(withheld.items()) if n == e["number"]]
        writer.writerow([_safe_cell(c) for c in row] + [" ".join(said)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _safe_cell(text: str) -> str:
    """A cell a spreadsheet will not run: one starting with = + - @ gets a leading '."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def write_zip(out: IO[bytes], *, case: Mapping[str, Any], entries: Sequence[Mapping[str, Any]],
              withheld: Sequence[Withheld], history: Sequence[Mapping[str, Any]],
              open_bytes: Callable[[int], tuple[str, Iterable[bytes]]], now: datetime,
              today: date, exported_by: str) -> Written:
    """Write the aktindsigt of ``case`` to ``out``; ``open_bytes(number)`` gives an
    entry's file name and its stored bytes as a stream (checked against its sha256)."""
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
                        f"Skrevet af {e['registered_by']}\n\n{e.get('text') or ''}\n")
                _put(z, written, _zipinfo(f"notater/{number:04d}-journalnotat.txt",
                                          date.fromisoformat(e["dated"])),
                     [body.encode("utf-8")], number)
            elif e.get("has_file"):
                name, chunks = open_bytes(number)
                info = _zipinfo(safe_member(number, name), date.fromisoformat(e["dated"]),
                                e.get("media_type") or "")
                _put(z, written, info, chunks, number, verified=e.get("sha256"))
        day = today
        members = {f["number"]: f["name"] for f in written.files}
        _put(z, written, _zipinfo("aktliste.csv", day),
             [aktliste_csv(entries, by_key, members)])
        _put(z, written, _zipinfo("historik.json", day),
             [_json_lines(list(history)).encode("utf-8")])
        manifest = {
            "case": dict(case), "exported_at": now.isoformat(), "exported_by": exported_by,
            "exported_on_da": long_date(today),
            "entries": len(entries), "files": written.files,
            "withheld": [{"number": w.number, "field": w.field or None, "ground": w.ground,
                          "cite": w.cite, "label": w.label, "reason": w.reason,
                          "decided_by": w.decided_by, "decided_at": w.decided_at}
                         for w in written.withheld]}
        z.writestr(_zipinfo("manifest.json", day, "application/json"),
                   _json_lines(manifest).encode("utf-8"))
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


def _put(z: zipfile.ZipFile, written: Written, info: zipfile.ZipInfo, chunks: Iterable[bytes],
         number: int | None = None, verified: str | None = None) -> None:
    """Write one member; ``verified``: the sha256 its stream checks itself (a journal
    entry's bytes raise at their end if they are not the ones journalised), so it is not
    hashed twice."""
    digest = None if verified is not None else hashlib.sha256()
    size = 0
    with z.open(info, "w", force_zip64=True) as member:
        for data in chunks:
            if digest is not None:
                digest.update(data)
            size += len(data)
            member.write(data)
    sha = verified if digest is None else digest.hexdigest()
    written.files.append({"name": info.filename, "number": number, "sha256": sha, "size": size})
    written.bytes_written += size
