"""Where a transition's time goes: cProfile over the chain workload's ``wf.fire`` calls.

Runs N applications x 8 changes (default 250 x 8 = 2,000 fires) through the engine on a
fresh database, as ``engine_bench.py chain`` does, under cProfile, and prints the top
entries by cumulative time inside ``workflow/`` and inside SQLAlchemy, with the cost per
fire in microseconds (profiled, so about 1.5x the unprofiled figures).

usage: python bench/profile_fire.py [--n 250] [--db sqlite|postgresql] [--top 20]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from typing import Any

from benchlib import BENCH_DIR, plan
from workers.engine import open_fresh


def shorten(filename: str) -> str:
    for marker in ("/site-packages/", "/work/main/", "/lib/python3"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def top(stats: pstats.Stats, where: str, fires: int, limit: int) -> None:
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    rows = [(ct, tt, nc, f"{shorten(fn)}:{line}({name})")
            for (fn, line, name), (_cc, nc, tt, ct, _callers) in raw.items() if where in fn]
    rows.sort(reverse=True)
    print(f"\nTop {limit} by cumulative time in {where!r} (us per fire; calls per fire):")
    print(f"  {'cum us':>8} {'own us':>8} {'calls':>6}  function")
    for ct, tt, nc, label in rows[:limit]:
        print(f"  {ct / fires * 1e6:8.1f} {tt / fires * 1e6:8.1f} {nc / fires:6.1f}  {label}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=250, help="applications (x 8 fires)")
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--top", type=int, default=20)
    a = ap.parse_args()
    wf = open_fresh(a.db, str(BENCH_DIR / "chain.yaml"))
    ids = [wf.create(kind="chain", title=f"Bench {i}", user="pl-ishoj")
           for i in range(1, a.n + 1)]
    work = [(app_id, trigger) for i, app_id in enumerate(ids, 1) for trigger, _, _ in plan(i)]
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    for app_id, trigger in work:
        wf.fire(app_id, trigger, user="pl-ishoj")
    prof.disable()
    wall = time.perf_counter() - t0
    wf.engine.dispose()
    fires = len(work)
    print(f"{fires} fires on {a.db} under cProfile: {wall:.2f} s, "
          f"{wall / fires * 1e6:.0f} us per fire")
    stats = pstats.Stats(prof)
    top(stats, "/workflow/", fires, a.top)
    top(stats, "/sqlalchemy/", fires, a.top)
    print("\nTop by own time, anywhere:")
    stats.sort_stats("tottime").print_stats(a.top)


if __name__ == "__main__":
    main()
