"""What regenerates a document version, stored with it, and the regeneration itself.

A draft's bytes are a function of its rendering context, its template and letterhead,
the letter's date and the engine (this package, python-docx, markdown-it-py, Jinja2 and
zlib: see :func:`engine_version`); :func:`write_docx` fixes everything else (zip stamps
and order, core properties). :func:`make_recipe` keeps the context as typed JSON (dates
and Decimals stay dates and Decimals) with the letterhead's inputs (the municipalities'
names and addresses, each logo's type and sha256: ``letterhead.py``), header, title and
engine;
:func:`reproduce` makes the version again from it and the template files on disk now,
(the logos from the version's own .docx, by sha256),
and says whether the bytes are identical, and if not, why: the template or letterhead
changed (their sha256 is in the version), another engine, or which parts of the .docx
differ.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from functools import cache
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as dist_version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .drafts import Drafts

AUTHOR = "workflow"   # the author and last editor in every draft's core properties


@cache
def engine_version() -> str:
    """The versions that decide a draft's bytes, besides its inputs and templates."""
    def of(name: str) -> str:
        try:
            return dist_version(name)
        except PackageNotFoundError:  # pragma: no cover - installed with the package
            return "?"
    # (this package's version as installed: importing it here would close an import cycle)
    return (f"workflow {of('workflow')}; python-docx {of('python-docx')}; markdown-it-py "
            f"{of('markdown-it-py')}; Jinja2 {of('Jinja2')}; zlib {zlib.ZLIB_RUNTIME_VERSION}")


def encode(value: Any) -> Any:
    """A context as JSON that :func:`decode` turns back into the same values."""
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, Mapping):
        if all(isinstance(k, str) for k in value):
            return {k: encode(v) for k, v in value.items()}
        return {"$items": [[encode(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return {"$str": str(value)}   # not expected in a context; regenerates as its text


def decode(value: Any) -> Any:
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (tag, inner), = value.items()
        if tag == "$date":
            return date.fromisoformat(inner)
        if tag == "$datetime":
            return datetime.fromisoformat(inner)
        if tag == "$decimal":
            return Decimal(inner)
        if tag == "$items":
            return {decode(k): decode(v) for k, v in inner}
        if tag == "$str":
            return inner
    return {k: decode(v) for k, v in value.items()}


def made_on(letter_date: date) -> datetime:
    """The moment a draft is stamped with: its letter's date (the zip entries, the core
    properties' created and modified), never the time it was written."""
    return datetime.combine(letter_date, time())


def make_recipe(ctx: Mapping[str, Any], *, letterhead: Mapping[str, Any], header: Mapping[str, str],
                title: str, letter_date: date) -> dict[str, Any]:
    return {"engine": engine_version(), "letterhead": dict(letterhead), "header": dict(header),
            "title": title, "author": AUTHOR, "created": letter_date.isoformat(),
            "context": encode(ctx)}


@dataclass(frozen=True)
class Reproduction:
    """A stored version made again: ``identical`` or the reasons it is not."""

    document_id: int
    number: int
    stored_sha256: str
    new_sha256: str | None
    identical: bool
    reasons: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        head = f"dokument {self.document_id} version {self.number}: "
        if self.identical:
            notes = f"; bemærk: {'; '.join(self.reasons)}" if self.reasons else ""
            return head + f"identisk (sha256 {self.stored_sha256}){notes}"
        new = f"; ny sha256 {self.new_sha256}" if self.new_sha256 else ""
        return head + "afviger: " + "; ".join(self.reasons) + \
            f" (gemt sha256 {self.stored_sha256}{new})"


def differing_parts(old: bytes, new: bytes) -> list[str]:
    """The zip entries of two .docx packages that differ (added, removed or changed)."""
    try:
        with zipfile.ZipFile(io.BytesIO(old)) as a, zipfile.ZipFile(io.BytesIO(new)) as b:
            names = sorted(set(a.namelist()) | set(b.namelist()))
            out = []
            for n in names:
                if n not in a.namelist() or n not in b.namelist():
                    out.append(n)
                elif a.read(n) != b.read(n):
                    out.append(n)
                elif a.getinfo(n).date_time != b.getinfo(n).date_time:
                    out.append(f"{n} (tidsstempel)")
            return out or ["zip-pakningen (samme indhold, andre bytes)"]
    except zipfile.BadZipFile:
        return ["den gemte fil er ikke en .docx-pakke"]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def reproduce(drafts: Drafts, row: Mapping[str, Any]) -> Reproduction:
    """Make a stored version (a ``document_version`` row) again from its recipe and the
    template files as they are now; compare with the stored bytes."""
    from ..errors import DocumentError
    from .letterhead import logos_in

    stored = bytes(row["content"])
    out = Reproduction(row["document_id"], row["number"], row["sha256"], None, False)
    recipe = row.get("recipe")
    if not recipe:
        return _with(out, reasons=["versionen blev lavet før skemarevision 0014 og har ingen "
                                   "gemt opskrift; den kan ikke gendannes"])
    reasons = []
    if sha(stored) != row["sha256"]:
        reasons.append("de gemte bytes passer ikke med deres gemte sha256")
    spec = recipe["letterhead"]
    if not isinstance(spec, Mapping):
        return _with(out, reasons=[*reasons, f"versionen blev lavet på brevpapiret {spec}.docx, "
                                   f"som ikke findes længere (siden skemarevision 0020 laves "
                                   f"brevpapiret af kommunernes data); den kan ikke gendannes"])
    try:
        letterhead, paper_sha = drafts.letterheads.make(spec, logos_in(stored))
        _body, template_sha = drafts.files(row["template"], paper_sha)
    except DocumentError as exc:
        return _with(out, reasons=[*reasons, f"skabelonen eller brevpapiret findes ikke "
                                   f"længere: {exc}"])
    if template_sha != row["template_sha256"]:
        names = " og ".join(m["name"] for m in spec.get("municipalities", []))
        reasons.append(f"skabelonen {row['template']} eller brevpapirets grundlag "
                       f"(reference/base.docx) er ændret siden versionen blev lavet; "
                       f"brevpapiret for {names} laves af opskriftens data "
                       f"(sha256 {row['template_sha256'][:16]}… nu {template_sha[:16]}…)")
    if recipe.get("engine") != engine_version():
        reasons.append(f"en anden motor: versionen blev lavet med {recipe.get('engine')}, "
                       f"nu {engine_version()}")
    try:
        content = drafts.render(row["template"], decode(recipe["context"]), letterhead, recipe,
                                row["template"])
    except DocumentError as exc:
        return _with(out, reasons=[*reasons, f"kan ikke laves igen: {exc}"])
    new = sha(content)
    if new == row["sha256"] == sha(stored):   # the same bytes (a note may still say more)
        return _with(out, new_sha256=new, identical=True, reasons=reasons)
    if new != sha(stored):
        reasons.append("forskel i " + ", ".join(differing_parts(stored, content)))
    return _with(out, new_sha256=new, reasons=reasons)


def _with(r: Reproduction, **changes: Any) -> Reproduction:
    from dataclasses import replace
    return replace(r, **changes)
