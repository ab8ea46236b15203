"""The optional virus scan of uploads: clamd's INSTREAM command over a socket.

With WORKFLOW_CLAMD set (``HOST:PORT``, or the path of clamd's Unix socket) every upload
is sent to clamd in chunks (each a 4-byte big-endian length and the bytes, then a zero
length), and clamd answers ``stream: OK`` or ``stream: <name> FOUND``. A virus found is a
:class:`FileRefused`; clamd unreachable or answering otherwise is a :class:`SetupError`
(the upload is not stored unscanned).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable

from ..errors import FileRefused, Said, SetupError

TIMEOUT = 60.0  # seconds for clamd to answer


def connect(where: str) -> socket.socket:
    """A socket to clamd at ``HOST:PORT`` or a Unix socket path."""
    try:
        if where.startswith("/"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(TIMEOUT)
            sock.connect(where)
            return sock
        host, _, port = where.rpartition(":")
        if not port.isdigit() or not host:
            raise SetupError(f"WORKFLOW_CLAMD must be HOST:PORT or a socket path, not "
                             f"{where!r}")
        return socket.create_connection((host.strip("[]"), int(port)), timeout=TIMEOUT)
    except OSError as exc:
        raise SetupError(f"cannot reach clamd at {where} (WORKFLOW_CLAMD): {exc}") from None


def scan(where: str, chunks: Iterable[bytes], filename: str) -> None:
    """Send the bytes to clamd; refuse them if it finds a virus."""
    with connect(where) as sock:
        try:
            sock.sendall(b"zINSTREAM\0")
            for data in chunks:
                for at in range(0, len(data), 1 << 16):
                    piece = data[at:at + (1 << 16)]
                    sock.sendall(struct.pack(">I", len(piece)) + piece)
            sock.sendall(struct.pack(">I", 0))
            answer = b""
            while not answer.endswith(b"\0"):
                got = sock.recv(4096)
                if not got:
                    break
                answer += got
        except OSError as exc:
            raise SetupError(f"clamd at {where} failed during the scan: {exc}") from None
    said = answer.rstrip(b"\0\n").decode("utf-8", "replace")
    if said.endswith("FOUND"):
        virus = said.removeprefix("stream:").removesuffix("FOUND").strip()
        raise FileRefused(Said(f"{filename}: the virus scan found {virus}; not stored",
                               f"{filename}: virusscanningen fandt {virus}; filen er ikke "
                               f"gemt"))
    if not said.endswith("OK"):
        raise SetupError(f"clamd at {where} answered {said!r} (not OK or FOUND)")
