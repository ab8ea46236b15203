"""Uploaded files' exact bytes, kept forever under their sha256 and stored once.

:class:`Spool` takes an upload as it arrives, a piece at a time, into a temporary file
(at most :data:`CHUNK` in memory), counting and hashing as it goes, and refuses it the
moment it passes the size limit. :class:`FileStore` then keeps the bytes in the database
(``stored_file_chunk``, 1 MiB a row, written and read a chunk at a time) or in a
content-addressed folder (``ab/cd/abcd…``), as WORKFLOW_FILES says; the same bytes twice
are one copy. :meth:`FileStore.open` reads them back as a stream of chunks.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO

from sqlalchemy import Engine, insert, select
from sqlalchemy.engine import Connection

from ..errors import NotFound, Said, SetupError, TooLarge
from . import database as store
from . import tables as t

CHUNK = 1 << 20  # bytes: what is held in memory at a time, and a database row's piece
SHA256_HEX = frozenset("0123456789abcdef")


def too_large(limit: int) -> TooLarge:
    mb = limit / (1024 * 1024)
    return TooLarge(Said(
        f"the file is larger than the limit of {limit:,} bytes ({mb:.0f} MB)",
        f"Filen er større end grænsen på {mb:.0f} MB"))


class Spool:
    """An upload received into a temporary file, hashed and counted, within ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=CHUNK)  # noqa: SIM115
        self.size = 0
        self._hash = hashlib.sha256()

    def write(self, data: bytes) -> None:
        """Add the next piece; past the limit, a :class:`TooLarge` (read no further)."""
        self.size += len(data)
        if self.size > self.limit:
            raise too_large(self.limit)
        self._hash.update(data)
        self.file.write(data)

    def fill(self, chunks: Iterable[bytes]) -> Spool:
        for data in chunks:
            self.write(data)
        return self

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def head(self, n: int = 8192) -> bytes:
        """The first ``n`` bytes."""
        self.file.seek(0)
        return self.file.read(n)

    def chunks(self) -> Iterator[bytes]:
        """The bytes again, from the start, :data:`CHUNK` at a time."""
        self.file.seek(0)
        while data := self.file.read(CHUNK):
            yield data

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def read_chunks(source: IO[bytes]) -> Iterator[bytes]:
    """A file's bytes :data:`CHUNK` at a time."""
    while data := source.read(CHUNK):
        yield data


class FileStore:
    """Where the bytes live: ``"database"``, or a folder (made on first use)."""

    def __init__(self, where: str = "database") -> None:
        self.folder = None if where == "database" else Path(where)

    @property
    def place(self) -> str:
        return "database" if self.folder is None else "folder"

    def path_of(self, sha256: str) -> Path:
        """The file of ``sha256`` in the folder (only ever a hex digest: no other path)."""
        return Path(self._file_of(sha256))

    def _file_of(self, sha256: str) -> str:
        """:meth:`path_of` as a string, joined without pathlib (a fifth of its time, over
        an export's thousand files)."""
        if self.folder is None or len(sha256) != 64 or not set(sha256) <= SHA256_HEX:
            raise NotFound(Said(f"no stored file {sha256!r}", "filen findes ikke i arkivet"))
        return os.path.join(self.folder, sha256[:2], sha256[2:4], sha256)

    def put(self, conn: Connection, spool: Spool, now: datetime) -> bool:
        """Keep the spool's bytes (inside the caller's transaction); False when the same
        bytes are kept already."""
        sf = t.stored_file
        sha = spool.sha256
        if conn.execute(select(sf.c.sha256).where(sf.c.sha256 == sha)).first() is not None:
            if self.folder is None or self.path_of(sha).is_file():
                return False
        else:
            conn.execute(insert(sf).values(sha256=sha, size=spool.size, place=self.place,
                                           created_at=now))
        if self.folder is None:
            for seq, data in enumerate(spool.chunks()):
                conn.execute(insert(t.stored_file_chunk).values(sha256=sha, seq=seq,
                                                                data=data))
        else:
            self._write_file(spool)
        return True

    def _write_file(self, spool: Spool) -> None:
        path = self.path_of(spool.sha256)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
            with os.fdopen(fd, "wb") as out:
                for data in spool.chunks():
                    out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, path)
        except OSError as exc:
            raise SetupError(f"cannot write to WORKFLOW_FILES {self.folder}: {exc}") from None

    def open(self, engine: Engine, sha256: str, *,
             conn: Connection | None = None) -> Iterator[bytes]:
        """The stored bytes of ``sha256``, a chunk at a time (from the database: one
        chunk per statement, so no more than a chunk is held); each chunk in a transaction
        of its own, or all on ``conn`` (the caller reads them before it closes)."""
        if conn is not None:
            count = self._chunk_count(conn, sha256)
            return self.open_folder(sha256) if count is None else \
                self._chunks_on(conn, sha256, count)
        with store.read(engine) as own:
            count = self._chunk_count(own, sha256)
        if count is None:
            return self.open_folder(sha256)
        return self._from_database(engine, sha256, count)

    @staticmethod
    def _chunk_count(conn: Connection, sha256: str) -> int | None:
        """How many chunks the database holds of ``sha256`` (None: it is in the folder)."""
        row = conn.execute(select(t.stored_file).where(
            t.stored_file.c.sha256 == sha256)).first()
        if row is None:
            raise NotFound(Said(f"no stored file {sha256}", "filen findes ikke i arkivet"))
        if row.place != "database":
            return None
        return len(conn.execute(select(t.stored_file_chunk.c.seq).where(
            t.stored_file_chunk.c.sha256 == sha256)).all())

    @staticmethod
    def _chunks_on(conn: Connection, sha256: str, count: int) -> Iterator[bytes]:
        c = t.stored_file_chunk
        for seq in range(count):
            yield bytes(conn.execute(select(c.c.data).where(
                c.c.sha256 == sha256, c.c.seq == seq)).scalar_one())

    def open_folder(self, sha256: str) -> Iterator[bytes]:
        """The bytes of ``sha256`` in the folder, :data:`CHUNK` at a time, read unbuffered
        (each read straight into its own bytes: half the time of a buffered file over a
        case's thousand small documents)."""
        try:
            source = open(self._file_of(sha256), "rb", buffering=0)  # noqa: SIM115
        except OSError:
            raise NotFound(Said(f"the stored file {sha256} is missing from "
                                f"WORKFLOW_FILES {self.folder}",
                                "filen mangler i arkivets mappe")) from None

        def stream() -> Iterator[bytes]:
            with source:
                yield from read_chunks(source)

        return stream()

    @staticmethod
    def _from_database(engine: Engine, sha256: str, count: int) -> Iterator[bytes]:
        c = t.stored_file_chunk
        for seq in range(count):
            with store.read(engine) as conn:
                data = conn.execute(select(c.c.data).where(
                    c.c.sha256 == sha256, c.c.seq == seq)).scalar_one()
            yield bytes(data)
