"""Where a page's time goes: cProfile of the route function, called through TestClient.

Makes a fresh database as the web workload does (``workflow init --demo --examples``),
opens the app in-process with FastAPI's TestClient, logs in through the /login form as
pl-ishoj, with the pages' cache made to keep nothing (every request renders its page),
and wraps the page's renderer (FastAPI calls it in a worker thread, where cProfile has to
be switched on) so that only the rendering is profiled: the queries, the engine and the
Jinja render, not the test client or the middleware. Prints
the time per request (end to end through TestClient, and in the route function alone,
both unprofiled) with its SQL statements and connection checkouts, own time by package,
and the top entries inside ``workflow/`` (and the templates) by cumulative time.

usage: python bench/profile_web.py [--route dashboard|application ...] [--n 100]
                                   [--db sqlite|postgresql] [--top 15]
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import os
import pstats
import re
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

from benchlib import workflow_script  # noqa: E402
from workloads.web import APP_ID, PAGE_USER, PASSWORD, fresh_database  # noqa: E402

PATHS = {"dashboard": "_dashboard", "application": "_application"}  # their renderers
URLS = {"dashboard": "/", "application": f"/applications/{APP_ID}"}
PACKAGES = ("/workflow/", "/templates/", "/jinja2/", "/sqlalchemy/", "sqlite3", "/psycopg/",
            "/starlette/", "/fastapi/")


class RouteTimer:
    """Times each call of a route's endpoint; profiles it while ``profile`` is on."""

    def __init__(self) -> None:
        self.prof = cProfile.Profile()
        self.profile = False
        self.times: list[float] = []

    def wrap(self, inner: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(inner)  # FastAPI reads the parameters through __wrapped__
        def endpoint(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            if self.profile:
                self.prof.enable()    # in FastAPI's worker thread, where the route runs
            try:
                return inner(*args, **kwargs)
            finally:
                if self.profile:
                    self.prof.disable()
                self.times.append(time.perf_counter() - t0)

        return endpoint


def wrap_route(renderer: str) -> RouteTimer:
    """Wrap the page's renderer in ``workflow.web.pages`` (what its route runs, in FastAPI's
    thread pool, when the page is not in the pages' cache)."""
    from workflow.web import pages

    timer = RouteTimer()
    setattr(pages, renderer, timer.wrap(getattr(pages, renderer)))
    return timer


def shorten(filename: str) -> str:
    for marker in ("/site-packages/", str(REPO_DIR) + "/", "/lib/python3"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def top(stats: pstats.Stats, calls: int, limit: int) -> list[str]:
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    rows = [(ct, tt, nc, f"{shorten(fn)}:{line}({name})")
            for (fn, line, name), (_cc, nc, tt, ct, _callers) in raw.items()
            if "/workflow/" in fn or "/templates/" in fn]
    rows.sort(reverse=True)
    out = [f"  top {limit} in workflow/ and templates/ by cumulative time, per request:",
           f"  {'cum ms':>7} {'own ms':>7} {'calls':>6}  function"]
    out += [f"  {ct / calls * 1e3:7.2f} {tt / calls * 1e3:7.2f} {nc / calls:6.1f}  {label}"
            for ct, tt, nc, label in rows[:limit]]
    return out


def by_package(stats: pstats.Stats, calls: int) -> str:
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    own: dict[str, float] = {}
    for (fn, _line, name), (_cc, _nc, tt, _ct, _callers) in raw.items():
        where = fn if fn != "~" else name   # C functions: "<method 'execute' of ...>"
        key = next((p.strip("/") for p in PACKAGES if p in where),
                   "other C" if fn == "~" else "other")
        own[key] = own.get(key, 0.0) + tt
    parts = sorted(own.items(), key=lambda kv: -kv[1])
    return "  own time by package, ms per request: " + ", ".join(
        f"{k} {v / calls * 1e3:.2f}" for k, v in parts)


def count_sql() -> dict[str, int]:
    """Statements executed and connections checked out of the pool, process-wide."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.pool import Pool

    counts: dict[str, int] = {}

    def bump(key: str) -> Callable[..., None]:
        def listener(*_args: Any, **_kwargs: Any) -> None:
            counts[key] = counts.get(key, 0) + 1
        return listener

    event.listen(Engine, "before_cursor_execute", bump("execute"))
    event.listen(Pool, "checkout", bump("checkout"))
    return counts


def log_in(client: Any) -> None:
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    if not csrf:
        raise SystemExit("no csrf field on /login")
    r = client.post("/login", data={"username": PAGE_USER, "password": PASSWORD,
                                    "csrf": csrf.group(1)}, follow_redirects=False)
    if r.status_code != 303:
        raise SystemExit(f"POST /login: {r.status_code}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--route", action="append", choices=list(PATHS),
                    help="page to profile (repeatable; default: both)")
    ap.add_argument("--n", type=int, default=100, help="requests per page, timed and profiled")
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--scratch", help="folder for the SQLite file (default: a temporary one)")
    a = ap.parse_args()
    scratch = Path(a.scratch or tempfile.mkdtemp(prefix="workflow-profile-web-"))
    scratch.mkdir(parents=True, exist_ok=True)
    url = fresh_database(a.db, scratch)
    os.environ["WORKFLOW_DATABASE_URL"] = url
    subprocess.run([workflow_script(), "init", "--demo", "--examples"], cwd=REPO_DIR,
                   check=True, capture_output=True)

    from workflow.config import Settings
    from workflow.web.app import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    routes = a.route or list(PATHS)
    timers = {name: wrap_route(PATHS[name]) for name in routes}
    from workflow.web.pagecache import PageCache

    app = create_app(Settings.from_env())
    sql = count_sql()
    with TestClient(app) as client:
        app.state.page_cache = PageCache(size=0)  # keeps nothing: every request renders
        log_in(client)
        print(f"profile_web: {a.db}, {a.n} requests per page as {PAGE_USER}, "
              f"route function only (cProfile adds about 1.5-2x)")
        for name in routes:
            timer, url_path = timers[name], URLS[name]
            for _ in range(10):                       # warm-up: templates, caches
                assert client.get(url_path).status_code == 200
            timer.times.clear()
            walls = []
            for _ in range(a.n):
                t0 = time.perf_counter()
                r = client.get(url_path)
                walls.append(time.perf_counter() - t0)
                assert r.status_code == 200, r.status_code
            plain = list(timer.times)
            sql.clear()
            client.get(url_path)
            statements, checkouts = sql.get("execute", 0), sql.get("checkout", 0)
            timer.profile = True
            for _ in range(a.n):
                client.get(url_path)
            timer.profile = False
            print(f"\n{name} (GET {url_path}): {len(r.content) / 1024:.0f} KiB; through "
                  f"TestClient median {statistics.median(walls) * 1e3:.1f} ms, the route "
                  f"function median {statistics.median(plain) * 1e3:.1f} ms "
                  f"(p99 {sorted(plain)[int(0.99 * (len(plain) - 1))] * 1e3:.1f} ms), "
                  f"unprofiled; {statements} SQL statements and {checkouts} connection "
                  f"checkouts a request")
            stats = pstats.Stats(timer.prof)
            print(by_package(stats, a.n))
            print("\n".join(top(stats, a.n, a.top)))


if __name__ == "__main__":
    main()
