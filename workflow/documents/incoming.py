"""What an uploaded file is, found from its content, not its name; and its name made safe.

:func:`examine` reads the head of the bytes (and, for .docx and .xlsx, the zip's central
directory, without extracting anything) and accepts only PDF, Word (.docx), Excel (.xlsx),
e-mail (.eml, Outlook .msg) and images (PNG, JPEG, TIFF), each only under a name with its
own extension. Refused, with a message naming what the name says and what the content is:
an executable (by content or by name), a name whose extension does not match the content
(HTML called .pdf), an unknown type, a zip bomb (more than :data:`MAX_UNPACKED` bytes
uncompressed or a ratio over :data:`MAX_RATIO`), an Office file with macros.
:func:`safe_filename` keeps only the last part of a name, without control characters.
"""

from __future__ import annotations

import email.parser
import unicodedata
import zipfile
from dataclasses import dataclass
from typing import IO

from ..errors import FileRefused, Said

MAX_UNPACKED = 500 * 1024 * 1024   # bytes a .docx/.xlsx may unpack to
MAX_RATIO = 200                    # how many times its own size it may unpack to
MAX_MEMBERS = 10_000               # entries in its zip


@dataclass(frozen=True)
class Kind:
    name: str                    # what it is called in a message
    media_type: str
    extensions: tuple[str, ...]  # the names it may have


KINDS = {k.name: k for k in (
    Kind("PDF", "application/pdf", ("pdf",)),
    Kind("Word (.docx)", "application/vnd.openxmlformats-officedocument."
         "wordprocessingml.document", ("docx",)),
    Kind("Excel (.xlsx)", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         ("xlsx",)),
    Kind("e-mail (.eml)", "message/rfc822", ("eml",)),
    Kind("Outlook (.msg)", "application/vnd.ms-outlook", ("msg",)),
    Kind("PNG", "image/png", ("png",)),
    Kind("JPEG", "image/jpeg", ("jpg", "jpeg")),
    Kind("TIFF", "image/tiff", ("tif", "tiff")),
)}

EXECUTABLE_NAMES = frozenset(
    "exe dll com scr bat cmd msi msp ps1 psm1 vbs vbe js jse wsf wsh hta cpl jar sh bash "
    "app apk deb rpm bin elf so dylib run pif lnk reg iso img docm xlsm dotm xltm".split())

_EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf",
                     b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"#!")
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HTML = (b"<!doctype html", b"<html", b"<head", b"<body", b"<script", b"<iframe", b"<svg",
         b"<?xml")


@dataclass(frozen=True)
class Examined:
    filename: str    # safe to show and to offer as a download's name
    kind: str        # a key of KINDS
    media_type: str


def safe_filename(name: str) -> str:
    """The last part of ``name`` (no folder, ``..`` or drive), NFC, without control
    characters or NUL, at most 200 characters; refused when nothing is left."""
    last = name.replace("\\", "/").rsplit("/", 1)[-1]
    last = unicodedata.normalize("NFC", last)
    last = "".join(ch for ch in last if unicodedata.category(ch)[0] != "C")
    last = last.strip().strip(".").strip()
    if not last:
        raise FileRefused(Said(f"the file name {name!r} has no name left once its folders "
                               f"and control characters are taken out",
                               f"Filnavnet »{_shown(name)}« er ikke et brugbart filnavn"))
    if len(last) > 200:
        stem, dot, ext = last.rpartition(".")
        last = (stem[:190] + dot + ext[:9]) if dot and len(ext) < 10 else last[:200]
    return last


def _shown(name: str) -> str:
    return "".join(ch if unicodedata.category(ch)[0] != "C" else "?" for ch in name)[:100]


def examine(head: bytes, file: IO[bytes], size: int, filename: str) -> Examined:
    """What the upload is (``head``: its first bytes; ``file``: all of it, seekable),
    or a :class:`FileRefused` saying why not."""
    name = safe_filename(filename)
    ext = name.rpartition(".")[2].lower() if "." in name else ""
    if ext in EXECUTABLE_NAMES:
        raise FileRefused(Said(
            f"{name}: a file named .{ext} is not accepted (a program or a macro file)",
            f"{name}: en fil, der hedder .{ext}, modtages ikke (et program eller en fil "
            f"med makroer)"))
    if size == 0:
        raise FileRefused(Said(f"{name}: the file is empty", f"{name}: filen er tom"))
    kind = sniff(head, file, size)
    if kind == "executable":
        raise FileRefused(Said(
            f"{name}: the content is a program (an executable), which is not accepted",
            f"{name}: indholdet er et program (en eksekverbar fil), som ikke modtages"))
    if kind not in KINDS:
        said = f"the content is {kind}" if kind else "the content is of no accepted type"
        da = f"indholdet er {_DA.get(kind, kind)}" if kind else \
            "indholdet er ikke af en type, der modtages"
        if ext:
            said, da = f"the name says .{ext}, but {said}", f"navnet siger .{ext}, men {da}"
        raise FileRefused(Said(
            f"{name}: {said}; accepted are PDF, Word (.docx), Excel (.xlsx), e-mail (.eml, "
            f".msg) and images (PNG, JPEG, TIFF)",
            f"{name}: {da}; der modtages PDF, Word (.docx), Excel (.xlsx), e-mail (.eml, "
            f".msg) og billeder (PNG, JPEG, TIFF)"))
    found = KINDS[kind]
    if ext not in found.extensions:
        named = f".{ext}" if ext else "without an extension"
        named_da = f".{ext}" if ext else "uden endelse"
        raise FileRefused(Said(
            f"{name}: the name says {named}, but the content is {found.name} "
            f"(name it .{found.extensions[0]})",
            f"{name}: navnet siger {named_da}, men indholdet er {found.name} "
            f"(kald den .{found.extensions[0]})"))
    if kind in ("Word (.docx)", "Excel (.xlsx)"):
        check_zip(file, size, name)
    return Examined(name, kind, found.media_type)


_DA = {"HTML": "HTML", "a zip archive": "et zip-arkiv",
       "a damaged zip archive": "et beskadiget zip-arkiv", "a legacy Office file":
       "en gammel Office-fil (.doc/.xls)", "plain text": "ren tekst"}


def sniff(head: bytes, file: IO[bytes], size: int) -> str:
    """The content's kind: a key of :data:`KINDS`, "executable", or a description of
    what it is when not accepted ("HTML", "a zip archive", …; "" unknown)."""
    if head.startswith(_EXECUTABLE_MAGIC):
        return "executable"
    if head.startswith(b"%PDF-"):
        return "PDF"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "TIFF"
    if head.startswith(b"PK\x03\x04"):
        return _office(file)
    if head.startswith(_OLE):
        needle = "__substg1.0_".encode("utf-16-le")
        return "Outlook (.msg)" if any(needle in part for part in _parts(file)) \
            else "a legacy Office file"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(_HTML) or b"<html" in text[:1024]:
        return "HTML"
    if _is_email(head):
        return "e-mail (.eml)"
    return "plain text" if _is_text(head) else ""


def _parts(file: IO[bytes]) -> list[bytes]:
    """The first and the last 4 MiB of a file (where an OLE directory sits)."""
    file.seek(0)
    data = file.read(4 << 20)  # an OLE directory sits near its start or its end
    file.seek(0, 2)
    end = file.tell()
    file.seek(max(0, end - (4 << 20)))
    return [data, file.read()]


def _office(file: IO[bytes]) -> str:
    try:
        file.seek(0)
        with zipfile.ZipFile(file) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return "a damaged zip archive"
    if "[Content_Types].xml" in names and "word/document.xml" in names:
        return "Word (.docx)"
    if "[Content_Types].xml" in names and "xl/workbook.xml" in names:
        return "Excel (.xlsx)"
    return "a zip archive"


def check_zip(file: IO[bytes], size: int, name: str) -> None:
    """Refuse a zip bomb or macros, from the central directory alone."""
    file.seek(0)
    with zipfile.ZipFile(file) as zf:
        infos = zf.infolist()
    unpacked = sum(i.file_size for i in infos)
    if len(infos) > MAX_MEMBERS or unpacked > MAX_UNPACKED or unpacked > MAX_RATIO * size:
        raise FileRefused(Said(
            f"{name}: the file would unpack to {unpacked:,} bytes in {len(infos):,} parts "
            f"from {size:,} (a zip bomb), which is refused",
            f"{name}: filen ville pakke sig ud til {unpacked:,} byte i {len(infos):,} dele "
            f"fra {size:,} (en zip-bombe) og afvises".replace(",", ".")))
    if any(i.filename.lower().endswith("vbaproject.bin") for i in infos):
        raise FileRefused(Said(f"{name}: the file holds macros, which are not accepted",
                               f"{name}: filen indeholder makroer, som ikke modtages"))


def _is_email(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = head.decode("latin-1")
    first = text.split("\n", 1)[0]
    if ":" not in first or " " in first.split(":", 1)[0]:
        return False
    headers = email.parser.Parser().parsestr(text, headersonly=True)
    keys = {k.lower() for k in headers.keys()}
    return "from" in keys and bool(keys & {"date", "subject", "message-id", "to"})


def _is_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in head
