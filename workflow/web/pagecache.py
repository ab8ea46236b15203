"""The pages' cache: a page once rendered is served again until anything changes.

A page is cached per worker under (path and query, user, the database's change count,
today's date). The count (:class:`workflow.store.database.ChangeCount`) moves with every committed
change and is read before the data, so a request never finds a page older than what it
could have read itself; a change through any worker, the command line or the scheduler
ends every cached page at once. The date is in the key because "overdue" and "due soon"
move at midnight.

The CSRF token differs per session, so a page is rendered with a marker in its place (a
random value per process: no one can plant it in a title) and the session's own token is
put in when it is served. A session holding a message to show (after a form) is served
fresh, since showing the message consumes it. Errors are never cached.

A page is served, from the cache or not, only to a live session of its user: the session
is looked up in the database on every request (:mod:`.security`), so one ended (logout, a
password change, deactivation) or expired is never served a page again, cached or not.
A hit costs that lookup and one read of the counter; a miss renders in the thread pool,
and the requests for the same page that come meanwhile wait for that one rendering instead
of each making their own.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import OrderedDict
from collections.abc import Callable, Hashable
from threading import Lock

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from ..store import database as store
from . import sessions

SIZE = 512  # pages per worker: a page is 10-20 KiB


class PageCache:
    """Rendered pages by key, least recently used out first."""

    def __init__(self, size: int = SIZE) -> None:
        self.size = size
        self.marker = "csrf-" + secrets.token_hex(16)
        self._pages: OrderedDict[Hashable, bytes] = OrderedDict()
        self._lock = Lock()  # misses are stored from the thread pool
        self.hits = self.misses = self.rendered = 0
        self._counter: store.ChangeCount | None = None
        # pages being rendered: requests for the same one wait instead of rendering it too
        self.rendering: dict[Hashable, asyncio.Future[bytes | None]] = {}

    def counter(self, engine: Engine) -> store.ChangeCount:
        """The change counter's reader, for the event loop's thread (the only caller)."""
        if self._counter is None or self._counter.engine is not engine:
            self.close()
            self._counter = store.ChangeCount(engine)
        return self._counter

    def close(self) -> None:
        if self._counter is not None:
            self._counter.close()
            self._counter = None

    def get(self, key: Hashable) -> bytes | None:
        with self._lock:
            body = self._pages.get(key)
            if body is None:
                self.misses += 1
                return None
            self._pages.move_to_end(key)
            self.hits += 1
            return body

    def put(self, key: Hashable, body: bytes) -> None:
        with self._lock:
            self._pages[key] = body
            self._pages.move_to_end(key)
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)


async def serve(request: Request, user: str, csrf: Callable[[Request], str],
                render: Callable[[], Response]) -> Response:
    """The page ``render`` makes for ``user``, from the cache when nothing has changed."""
    if sessions.session_user(request) != user:  # (the routes have checked it already)
        raise RuntimeError(f"a page for {user!r} asked for by another session")
    cache: PageCache = request.app.state.page_cache
    wf = request.app.state.wf
    if request.session.get("flash"):
        return await run_in_threadpool(render)
    count = cache.counter(wf.engine).read()  # first: the page may be only as old as this
    if count is None:
        return await run_in_threadpool(render)
    key = (request.url.path, request.url.query, user, count, wf.today())
    body = cache.get(key)
    if body is None and (pending := cache.rendering.get(key)) is not None:
        body = await asyncio.shield(pending)  # the same page is being rendered: its result
        if body is None:  # that rendering failed: this request renders (and fails) itself
            return await run_in_threadpool(render)
    elif body is None:
        cache.rendering[key] = pending = asyncio.get_running_loop().create_future()
        try:
            page = await _render(request, cache, render)
            if page.status_code == 200 and isinstance(page, HTMLResponse):
                body = bytes(page.body)
                cache.put(key, body)
                cache.rendered += 1
        finally:
            pending.set_result(body)
            del cache.rendering[key]
        if body is None:  # not a page to keep (no route makes one): its own token too
            return HTMLResponse(_filled(bytes(page.body), cache.marker, csrf(request)),
                                status_code=page.status_code) \
                if isinstance(page, HTMLResponse) else page
    return HTMLResponse(_filled(body, cache.marker, csrf(request)))


def _filled(body: bytes, marker: str, token: str) -> bytes:
    """The page with the session's token where the marker is."""
    return body.replace(marker.encode(), token.encode())


async def _render(request: Request, cache: PageCache, render: Callable[[], Response]
                  ) -> Response:
    request.state.csrf_marker = cache.marker
    try:
        return await run_in_threadpool(render)
    finally:  # an error page is rendered afterwards, with the session's own token
        del request.state.csrf_marker
