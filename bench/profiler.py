"""Where the time goes: cProfile of a transition, an application letter or a page.

usage: python bench/profiler.py fire [--n 250] [--db sqlite|postgresql] [--top 20]
       python bench/profiler.py docs [--n 200] [--top 20]
       python bench/profiler.py web [--route dashboard|application ...] [--n 100]
                                    [--db sqlite|postgresql] [--top 15] [--scratch DIR]
                                    [--database-url URL] [--app-id N]

  fire  N applications x 8 changes (default 250 x 8 = 2,000 fires) through the engine on
        a fresh database, as ``workers/engine.py chain`` makes them; the top entries by
        cumulative time inside ``workflow/`` and inside SQLAlchemy, in microseconds per
        fire (profiled, so about 1.5x the unprofiled figures), then by own time anywhere.
  docs  N letters (default 200) exactly as ``workers/documents.py letter`` makes them
        (context, Jinja render, ``write_docx`` onto the joint letterhead; the varied inputs
        are built before, not profiled); the top entries by cumulative time inside
        ``workflow/``, python-docx and markdown-it, in ms per letter (profiled, so about 2x
        the unprofiled figures), then by own time anywhere.
  web   a fresh database as the web workload makes it (``workflow init
        --examples``), the app in-process with FastAPI's TestClient, logged in through the
        /login form as pl-ishoj, the pages' cache made to keep nothing (every request
        renders its page), and the page's renderer wrapped (FastAPI calls it in a worker
        thread, where cProfile has to be switched on) so that only the rendering is
        profiled: the queries, the engine and the Jinja render, not the test client or the
        middleware. Prints the time per request (through TestClient, and in the route
        function alone, both unprofiled) with its SQL statements and connection checkouts,
        own time by package, and the top entries inside ``workflow/`` and the templates by
        cumulative time. The web workload runs it when a page misses its goal.
        ``--database-url``: an existing database instead (the lists workload's kept one,
        ``--lists-reuse``: at scale), with ``--app-id`` the case whose page is profiled.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import os
import pstats
import statistics
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchlib import BENCH_DIR, REPO_DIR, plan, workflow_script

PAGES = {"dashboard": "_dashboard", "application": "_application"}  # their renderers
PACKAGES = ("/workflow/", "/templates/", "/jinja2/", "/sqlalchemy/", "sqlite3", "/psycopg/",
            "/starlette/", "/fastapi/")


# ----------------------------------------------------------------------- shared
def profiled(work: Callable[[], Any]) -> tuple[pstats.Stats, float]:
    """``work()`` under cProfile: the statistics and the wall time it took."""
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    work()
    prof.disable()
    return pstats.Stats(prof), time.perf_counter() - t0


def shorten(filename: str) -> str:
    for marker in ("/site-packages/", str(REPO_DIR) + "/", "/lib/python3"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def top(stats: pstats.Stats, places: Sequence[str], per: int, limit: int,
        unit: str) -> list[str]:
    """The ``limit`` functions in files under ``places`` with the most cumulative time, in
    ``unit`` (``us`` or ``ms``) and calls per profiled unit of work (``per`` of them)."""
    scale, width, digits = (1e6, 8, 1) if unit == "us" else (1e3, 7, 2)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    rows = sorted(((ct, tt, nc, f"{shorten(fn)}:{line}({name})")
                   for (fn, line, name), (_cc, nc, tt, ct, _callers) in raw.items()
                   if any(p in fn for p in places)), reverse=True)
    out = [f"  {'cum ' + unit:>{width}} {'own ' + unit:>{width}} {'calls':>6}  function"]
    out += [f"  {ct / per * scale:{width}.{digits}f} {tt / per * scale:{width}.{digits}f} "
            f"{nc / per:6.1f}  {label}" for ct, tt, nc, label in rows[:limit]]
    return out


def print_tops(stats: pstats.Stats, places: Sequence[str], per: int, limit: int, unit: str,
               what: str) -> None:
    """The top by cumulative time in each of ``places``, then by own time anywhere."""
    for where in places:
        print(f"\nTop {limit} by cumulative time in {where!r} ({unit} per {what}; calls per "
              f"{what}):")
        print("\n".join(top(stats, [where], per, limit, unit)))
    print("\nTop by own time, anywhere:")
    stats.sort_stats("tottime").print_stats(limit)


# ------------------------------------------------------------------------- fire
def profile_fire(a: argparse.Namespace) -> None:
    from workers.engine import open_fresh

    wf = open_fresh(a.db, str(BENCH_DIR / "chain.yaml"))
    ids = [wf.create(kind="chain", title=f"Bench {i}", user="pl-ishoj")
           for i in range(1, a.n + 1)]
    work = [(app_id, trigger) for i, app_id in enumerate(ids, 1) for trigger, _, _ in plan(i)]

    def fire_all() -> None:
        for app_id, trigger in work:
            wf.fire(app_id, trigger, user="pl-ishoj")

    stats, wall = profiled(fire_all)
    wf.engine.dispose()
    fires = len(work)
    print(f"{fires} fires on {a.db} under cProfile: {wall:.2f} s, "
          f"{wall / fires * 1e6:.0f} us per fire")
    print_tops(stats, ("/workflow/", "/sqlalchemy/"), fires, a.top, "us", "fire")


# ------------------------------------------------------------------------- docs
def profile_docs(a: argparse.Namespace) -> None:
    from workers.documents import LetterMaker, varied_inputs

    maker = LetterMaker()
    inputs = [varied_inputs(k) for k in range(a.n)]

    def letters(some: Sequence[Any]) -> None:
        for x in some:
            md, letterhead = maker.markdown(maker.context(x))
            maker.docx(md, letterhead, x.case["number"])

    letters(inputs[:5])                     # warm-up: compile the template, read the files
    stats, wall = profiled(lambda: letters(inputs))
    print(f"{a.n} letters under cProfile: {wall:.2f} s, {wall / a.n * 1e3:.1f} ms per letter")
    print_tops(stats, ("/workflow/", "/docx/", "/markdown_it/"), a.n, a.top, "ms", "letter")


# -------------------------------------------------------------------------- web
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


def profile_web(a: argparse.Namespace) -> None:
    from workloads.web import APP_ID, PAGE_USER, form_log_in, fresh_database

    if a.database_url:      # an existing database, as it is (e.g. the lists' at scale)
        os.environ["WORKFLOW_DATABASE_URL"] = a.database_url
    elif a.scratch is None:   # a temporary folder of its own, removed afterwards
        with tempfile.TemporaryDirectory(prefix="workflow-profile-web-") as tmp:
            return profile_web(argparse.Namespace(**{**vars(a), "scratch": tmp}))
    else:
        scratch = Path(a.scratch)
        scratch.mkdir(parents=True, exist_ok=True)
        os.environ["WORKFLOW_DATABASE_URL"] = fresh_database(a.db, scratch)
        subprocess.run([workflow_script(), "init", "--examples"], cwd=REPO_DIR,
                       check=True, capture_output=True)

    from workflow.config import Settings
    from workflow.web.app import create_app
    from workflow.web.pagecache import PageCache

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    urls = {"dashboard": "/", "application": f"/applications/{a.app_id or APP_ID}"}
    routes = a.route or list(PAGES)
    timers = {name: wrap_route(PAGES[name]) for name in routes}
    app = create_app(Settings.from_env())
    sql = count_sql()
    with TestClient(app) as client:
        app.state.page_cache = PageCache(size=0)  # keeps nothing: every request renders
        form_log_in(client)
        print(f"profiler web: {a.db}, {a.n} requests per page as {PAGE_USER}, "
              f"route function only (cProfile adds about 1.5-2x)")
        for name in routes:
            timer, url_path = timers[name], urls[name]
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
            print(f"  top {a.top} in workflow/ and templates/ by cumulative time, per request:")
            print("\n".join(top(stats, ("/workflow/", "/templates/"), a.n, a.top, "ms")))


# -------------------------------------------------------------------------- CLI
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="what", required=True)
    fire = sub.add_parser("fire", help="where a transition's time goes")
    fire.add_argument("--n", type=int, default=250, help="applications (x 8 fires)")
    docs = sub.add_parser("docs", help="where an application letter's time goes")
    docs.add_argument("--n", type=int, default=200, help="letters")
    web = sub.add_parser("web", help="where a page's time goes")
    web.add_argument("--route", action="append", choices=list(PAGES),
                     help="page to profile (repeatable; default: both)")
    web.add_argument("--n", type=int, default=100,
                     help="requests per page, timed and profiled")
    web.add_argument("--scratch", help="folder for the SQLite file (default: a temporary one)")
    web.add_argument("--database-url", help="profile on this existing database instead")
    web.add_argument("--app-id", type=int, help="the case whose page is profiled")
    for p, limit in ((fire, 20), (docs, 20), (web, 15)):
        p.add_argument("--top", type=int, default=limit)
    for p in (fire, web):
        p.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    a = ap.parse_args()
    {"fire": profile_fire, "docs": profile_docs, "web": profile_web}[a.what](a)


if __name__ == "__main__":
    main()
