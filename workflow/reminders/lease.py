"""A reminder service's lease on the rows it has claimed, renewed by a thread while it
sends, and the judgement of which database errors are worth waiting out."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from types import TracebackType

from ..errors import SetupError
from ..store import database as store

log = logging.getLogger("workflow.scheduler")


class Lease:
    """The rows a tick holds, and how long its lease on them surely lasts (by this
    process's monotonic clock); a thread renews it every third of the lease."""

    def __init__(self, seconds: float, renew: Callable[[list[int]], set[int]],
                 name: str) -> None:
        self.seconds = seconds
        self._renew = renew  # the ids still claimed, of those given: the lease extended
        self.held: dict[int, None] = {}  # (ordered)
        self.settling: set[int] = set()  # being recorded: the recorder lets them go
        self.valid_until = 0.0
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True,
                                        name=f"lease {name}")

    def __enter__(self) -> Lease:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._done.set()
        self._thread.join()

    def hold(self, ids: Iterable[int], *, since: float) -> None:
        """``ids`` were claimed by a transaction begun at ``since`` (monotonic)."""
        with self._lock:
            self.held = dict.fromkeys(ids)
            self.valid_until = since + self.seconds

    def holds(self, id_: int) -> bool:
        with self._lock:
            return id_ in self.held

    def settle(self, id_: int) -> None:
        """``id_``'s outcome is being written: a renewal that no longer finds it claimed
        (written a moment ago) leaves it to :meth:`release`."""
        with self._lock:
            self.settling.add(id_)

    def release(self, id_: int) -> None:
        with self._lock:
            self.held.pop(id_, None)
            self.settling.discard(id_)

    def remaining(self) -> float:
        with self._lock:
            return self.valid_until - time.monotonic()

    def renew(self) -> None:
        """Extend the lease on the rows still held; those no longer ours are let go."""
        with self._lock:
            ids = list(self.held)
        if not ids:
            return
        started = time.monotonic()
        kept = self._renew(ids)
        with self._lock:
            lost = [i for i in ids if i not in kept and i in self.held
                    and i not in self.settling]
            for i in lost:
                self.held.pop(i, None)
            self.valid_until = max(self.valid_until, started + self.seconds)
        if lost:
            log.info("reminders %s are no longer ours to send (cancelled, or taken over)",
                     lost)

    def _beat(self) -> None:
        while not self._done.wait(self.seconds / 3):
            try:
                self.renew()
            except Exception as exc:  # noqa: BLE001 - the sender renews itself if need be
                if database_unavailable(exc):
                    log.warning("cannot renew the claim: the database is not available (%s)",
                                store.reason(exc))
                else:
                    log.exception("cannot renew the claim")


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached or written just now (gone, a
    dropped connection, locked too long, a deadlock): worth trying again."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, SetupError) or store.unavailable(seen) is not None:
            return True
        orig = getattr(seen, "orig", None) or seen  # a deadlock: the other one won; again
        if getattr(orig, "sqlstate", None) in store.RACE_SQLSTATES:
            return True
        seen = seen.__cause__
    return False
