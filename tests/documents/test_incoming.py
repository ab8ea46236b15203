"""What an upload is, from its content: every accepted kind under its own names, every
refusal naming what the name says and what the content is; names made safe; the clamd
hook, against a real TCP server on 127.0.0.1 that speaks clamd's INSTREAM protocol."""

from __future__ import annotations

import io
import socket
import struct
import threading
import zipfile
from collections.abc import Iterator

import pytest

from tests import samples
from workflow.documents import incoming, virusscan
from workflow.errors import FileRefused, SetupError


def examine(content: bytes, name: str) -> incoming.Examined:
    return incoming.examine(content[:8192], io.BytesIO(content), len(content), name)


@pytest.mark.parametrize(("content", "name", "media"), [
    (samples.PDF, "brev.PDF", "application/pdf"),
    (samples.docx(), "notat.docx", "wordprocessingml"),
    (samples.xlsx(), "tidsplan.xlsx", "spreadsheetml"),
    (samples.EML, "svar.eml", "message/rfc822"),
    (samples.PNG, "skema.png", "image/png"),
    (b"\xff\xd8\xff\xe0" + b"\0" * 20, "foto.jpeg", "image/jpeg"),
    (b"II*\x00" + b"\0" * 20, "scan.tif", "image/tiff"),
])
def test_accepted_kinds(content: bytes, name: str, media: str) -> None:
    assert media in examine(content, name).media_type


def msg() -> bytes:
    """An OLE2 file with an Outlook property stream's name in its directory."""
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504 + \
        "__substg1.0_0037001F".encode("utf-16-le") + b"\0" * 1000


def test_an_outlook_message_is_accepted_and_an_old_word_file_is_not() -> None:
    assert examine(msg(), "mail.msg").media_type == "application/vnd.ms-outlook"
    with pytest.raises(FileRefused, match="legacy Office"):
        examine(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 2000, "gammel.doc")


@pytest.mark.parametrize(("content", "name", "why"), [
    (samples.HTML, "brev.pdf", "the name says .pdf, but the content is HTML"),
    (b"\n  <html><body>x</body></html>", "brev.pdf", "content is HTML"),
    (samples.EXE, "brev.pdf", "a program"),
    (b"\x7fELF\x02\x01", "brev.pdf", "a program"),
    (b"#!/bin/sh\nrm -rf /\n", "brev.pdf", "a program"),
    (samples.PDF, "x.pdf.exe", "a file named .exe"),
    (samples.PDF, "makro.docm", "a file named .docm"),
    (samples.PDF, "brev.docx", "the name says .docx, but the content is PDF"),
    (samples.PDF, "brev", "the name says without an extension, but the content is PDF"),
    (samples.PNG, "billede.jpg", "the content is PNG"),
    (samples.PASSWD, "passwd.txt", "plain text"),
    (b"PK\x03\x04 not a zip", "brev.docx", "damaged zip"),
    (samples.zip_bomb(), "bombe.docx", "zip bomb"),
])
def test_refusals_name_the_name_and_the_content(content: bytes, name: str, why: str) -> None:
    with pytest.raises(FileRefused, match=why) as exc:
        examine(content, name)
    assert exc.value.da
    # and the Danish says it in Danish (a probe found "a damaged zip archive" there)
    assert not any(english in exc.value.da for english in ("damaged", "archive", "content"))


def test_a_plain_zip_and_macros_are_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("a.txt", "x")
    with pytest.raises(FileRefused, match="a zip archive"):
        examine(out.getvalue(), "arkiv.docx")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>")
        zf.writestr("word/vbaProject.bin", "macro")
    with pytest.raises(FileRefused, match="macros"):
        examine(out.getvalue(), "brev.docx")


def test_a_zip_bomb_is_found_from_the_directory_alone() -> None:
    bomb = samples.zip_bomb(600 * 1024 * 1024)   # past MAX_UNPACKED as well as the ratio
    assert len(bomb) < 1024 * 1024
    with pytest.raises(FileRefused, match="would unpack to 629,145,6"):
        examine(bomb, "bombe.docx")


@pytest.mark.parametrize(("given", "safe"), [
    ("../../etc/passwd", "passwd"),
    ("C:\\Windows\\system32\\brev.pdf", "brev.pdf"),
    ("brev\x00.pdf", "brev.pdf"),
    ("an\u202eexe.pdf", "anexe.pdf"),          # a right-to-left override is a control
    ("  ..skjult.pdf ", "skjult.pdf"),
    ("Ansøgning – økonomi.pdf", "Ansøgning – økonomi.pdf"),
    ("a" * 300 + ".pdf", "a" * 190 + ".pdf"),
])
def test_names_are_made_safe(given: str, safe: str) -> None:
    assert incoming.safe_filename(given) == safe


@pytest.mark.parametrize("given", ["", "../..", "\x00\x01", "/"])
def test_a_name_with_nothing_left_is_refused(given: str) -> None:
    with pytest.raises(FileRefused, match="no name left"):
        incoming.safe_filename(given)


# ------------------------------------------------------------------------ clamd
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


@pytest.fixture
def clamd() -> Iterator[tuple[str, list[bytes]]]:
    """A tiny clamd on 127.0.0.1: reads zINSTREAM, the chunks and the zero length, and
    answers FOUND for the EICAR test string, else OK; what it received is kept."""
    server = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                command = b""
                while not command.endswith(b"\0"):
                    command += conn.recv(1)
                assert command == b"zINSTREAM\0"
                data = b""
                while True:
                    size = struct.unpack(">I", _exactly(conn, 4))[0]
                    if size == 0:
                        break
                    data += _exactly(conn, size)
                received.append(data)
                conn.sendall(b"stream: Eicar-Test-Signature FOUND\0" if EICAR in data
                             else b"stream: OK\0")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.getsockname()[1]}", received
    server.close()
    thread.join(timeout=5)


def _exactly(conn: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        got = conn.recv(n - len(out))
        if not got:
            raise ConnectionError("closed")
        out += got
    return out


def test_clamd_passes_a_clean_file_and_refuses_a_virus(clamd: tuple[str, list[bytes]]) -> None:
    where, received = clamd
    virusscan.scan(where, [samples.PDF, b"x" * 200_000], "brev.pdf")
    assert received[-1] == samples.PDF + b"x" * 200_000
    with pytest.raises(FileRefused, match="found Eicar-Test-Signature") as exc:
        virusscan.scan(where, [samples.PDF + EICAR], "virus.pdf")
    assert exc.value.da and "virusscanningen fandt" in exc.value.da


def test_clamd_unreachable_is_a_setup_error() -> None:
    free = socket.create_server(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    with pytest.raises(SetupError, match="cannot reach clamd"):
        virusscan.scan(f"127.0.0.1:{port}", [samples.PDF], "brev.pdf")
    with pytest.raises(SetupError, match="HOST:PORT"):
        virusscan.scan("nowhere", [samples.PDF], "brev.pdf")
