"""The lists benchmark's client: 10 users at once, each its own logged-in session (pages)
and bearer token (API), closed loop, real HTTP to ``workflow serve`` on loopback.

``python bench/workers/lists_load.py BASE_URL DB_URL CASES SECONDS THINK THINK_SECONDS
[ROUTE ...]`` times, one route after the other: the dashboard (``/``), the case list (the
API's first page of 50, and the dashboard's case list on a later page, by its ``next``
cursor), a search for a place name (a few hundred hits at 1,000,000 cases), a search for a
common word, and a case page (a random case the user may see). Every request carries a
new ``_n`` in its query string, so the pages' cache never answers.

Each route is timed twice, the 10 users each on their own connection:

- ``users``: as people click (THINK_SECONDS a route). After each answer a user waits a
  think time drawn at random (exponential, mean THINK seconds; a first one before her
  first request, so the users do not start in step) and only then asks again. The think
  time is not in the latency. With THINK = 1 s this is a heavier load than 10 people
  reading the pages they get.
- ``saturated``: no pause at all (SECONDS a route): 10 requests always in flight, the
  server's capacity (its req/s) and the queueing it costs when it is full.

Then the floor: one indexed ``SELECT`` by primary key on the bare driver, sequential.
Prints ``RESULT``.

The timed requests go through the standard library's ``http.client`` (one keep-alive
connection a user, the session's cookie and the bearer token as headers), not httpx:
this client shares the machine's cores with the server, and httpx's own work per request
is several times ``http.client``'s. What the client spent is reported (``client_cpu_ms``:
its CPU time per request), so its share is seen, not guessed.
"""

from __future__ import annotations

import http.client
import random
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import emit_json, percentile  # noqa: E402
from lists_gen import PLACES, libpq_url_of, place  # noqa: E402

USERS = ["pl-ishoj", "pl-vallensbaek", "sec-ishoj", "sec-vallensbaek", "legal-ishoj",
         "legal-vallensbaek", "dir-ishoj", "dir-vallensbaek", "admin", "pl-ishoj"]
PASSWORD = "demo"


def session(base: str, user: str) -> tuple[httpx.Client, dict[str, str]]:
    c = httpx.Client(base_url=base, timeout=60)
    page = c.get("/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf, page[:500]
    r = c.post("/login", data={"username": user, "password": PASSWORD,
                               "csrf": csrf.group(1)})
    assert r.status_code in (200, 303), r.text[:300]
    tok = httpx.post(f"{base}/api/token", data={"username": user, "password": PASSWORD})
    assert tok.status_code == 200, tok.text
    return c, {"Authorization": f"Bearer {tok.json()['access_token']}"}


def routes(cases: int, later: str) -> dict[str, Any]:
    """Each route: a function of (random, n) -> (path, use the bearer token)."""
    bum = list(range(1, cases + 1, 50))[:1]
    common = "genoptræning"
    return {
        "dashboard": lambda r, n: (f"/?_n={n}", False),
        "case list (API, 50)": lambda r, n: (f"/api/applications?limit=50&_n={n}", True),
        "case list (page, later)": lambda r, n: (f"{later}&_n={n}", False),
        "search (a place)": lambda r, n: (
            f"/api/search?q={place(r.randrange(1, cases + 1))}&_n={n}", True),
        "search (common word)": lambda r, n: (f"/api/search?q={common}&_n={n}", True),
        "case page": lambda r, n: (f"/applications/{_visible(r, cases, bum)}?_n={n}", False),
    }


def _visible(r: random.Random, cases: int, bum: list[int]) -> int:
    while True:
        i = r.randrange(1, cases + 1)
        if i % 50:          # every 50th is an agreement Vallensbæk is no party to
            return i


def run_route(clients: list[tuple[httpx.Client, dict[str, str]]], make: Any,
              seconds: float, think: float = 0.0) -> dict[str, Any]:
    lats: list[float] = []
    statuses: dict[int, int] = {}
    sizes: list[int] = []
    lock = threading.Lock()
    counter = iter(range(10**9))
    reconnects = [0]

    def user(k: int) -> None:
        c, auth = clients[k]
        conn = http.client.HTTPConnection(c.base_url.host, c.base_url.port, timeout=60)
        page = {"Cookie": "; ".join(f"{n}={v}" for n, v in c.cookies.items())}
        r = random.Random(k)
        pause = random.Random(1000 + k)
        while time.monotonic() < stop:
            if think:
                time.sleep(pause.expovariate(1 / think))
                if time.monotonic() >= stop:
                    break
            with lock:
                n = next(counter)
            path, api = make(r, n)
            t0 = time.perf_counter()
            for attempt in (1, 2):
                try:
                    conn.request("GET", quote(path, safe="/?&=_-.:%"),
                                 headers=auth if api else page)
                    resp = conn.getresponse()
                    status, size = resp.status, len(resp.read())
                    break
                except (http.client.RemoteDisconnected, ConnectionResetError,
                        BrokenPipeError) as exc:
                    # the server closed the idle keep-alive connection (uvicorn: after
                    # 5 s): asked again on a new one, as a browser does, timed with it
                    conn.close()
                    if attempt == 2:
                        print(f"{path}: {exc!r}", file=sys.stderr, flush=True)
                        status, size = 0, 0
                    else:
                        with lock:
                            reconnects[0] += 1
                except (OSError, http.client.HTTPException) as exc:
                    print(f"{path}: {exc!r}", file=sys.stderr, flush=True)
                    status, size = 0, 0
                    conn.close()
                    break
            dt = (time.perf_counter() - t0) * 1000
            with lock:
                lats.append(dt)
                statuses[status] = statuses.get(status, 0) + 1
                sizes.append(size)

    # a warm-up pass of each user first (connections, the workers' first import paths)
    warm0 = time.perf_counter()
    for c, auth in clients:
        path, api = make(random.Random(99), -1)
        c.get(path, headers=auth if api else None)
    warm = time.perf_counter() - warm0
    stop = time.monotonic() + seconds
    threads = [threading.Thread(target=user, args=(k,)) for k in range(len(clients))]
    t0, cpu0 = time.perf_counter(), time.process_time()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    total, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {"n": len(lats), "rps": len(lats) / total, "p50_ms": percentile(lats, 0.5),
            "client_cpu_ms": cpu * 1000 / max(1, len(lats)),
            "p99_ms": percentile(lats, 0.99), "max_ms": max(lats) if lats else 0.0,
            "warm_up_s": warm, "statuses": statuses, "reconnects": reconnects[0],
            "kib": (sum(sizes) / len(sizes) / 1024) if sizes else 0}


def floor(db_url: str, cases: int, n: int = 2000) -> dict[str, Any]:
    r = random.Random(5)
    lats = []
    if db_url.startswith("postgresql"):
        import psycopg

        with psycopg.connect(libpq_url_of(db_url)) as conn:
            for _ in range(n):
                t0 = time.perf_counter()
                conn.execute("SELECT id, title, state FROM application WHERE id = %s",
                             (r.randrange(1, cases + 1),)).fetchone()
                lats.append((time.perf_counter() - t0) * 1000)
    else:
        import sqlite3

        conn = sqlite3.connect(db_url.removeprefix("sqlite:///"))
        for _ in range(n):
            t0 = time.perf_counter()
            conn.execute("SELECT id, title, state FROM application WHERE id = ?",
                         (r.randrange(1, cases + 1),)).fetchone()
            lats.append((time.perf_counter() - t0) * 1000)
        conn.close()
    return {"n": n, "p50_ms": percentile(lats, 0.5), "p99_ms": percentile(lats, 0.99)}


def main() -> None:
    base, db_url, cases, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
        float(sys.argv[4])
    think, think_seconds = float(sys.argv[5]), float(sys.argv[6])
    clients = [session(base, u) for u in USERS]
    first = clients[0][0].get("/?sort=case_number").text
    nxt = re.search(r'<a href="([^"]+)" rel="next">', first)
    later = nxt.group(1).replace("&amp;", "&") if nxt else "/?sort=case_number"
    # a later page: follow "Næste side" a few times
    for _ in range(3):
        page = clients[0][0].get(later).text
        nxt = re.search(r'<a href="([^"]+)" rel="next">', page)
        later = nxt.group(1).replace("&amp;", "&") if nxt else later
    only = sys.argv[7:]   # route names to time (default: every route)
    chosen = {name: make for name, make in routes(cases, later).items()
              if not only or name in only}
    out = {name: {"users": run_route(clients, make, think_seconds, think),
                  "saturated": run_route(clients, make, seconds)}
           for name, make in chosen.items()}
    hits = clients[0][0].get(f"/api/search?q={PLACES[0]}&limit=100",
                             headers=clients[0][1]).json()
    emit_json({"routes": out, "think_s": think, "floor": floor(db_url, cases),
               "place_hits_first_page": len(hits.get("items", []))})


if __name__ == "__main__":
    main()
