"""Where an application letter's time goes: cProfile over the ``docs_bench.py letter`` path.

Makes N letters (default 200) exactly as ``docs_bench.py letter`` does (context, Jinja
render, ``write_docx`` onto the joint letterhead; the varied inputs are built before, not
profiled) under cProfile, and prints the top entries by cumulative time inside
``workflow/``, python-docx and markdown-it, with the cost per letter in milliseconds
(profiled, so about 2x the unprofiled figures), then the top by own time anywhere.

usage: python bench/profile_docs.py [--n 200] [--top 20]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from typing import Any

from profile_fire import shorten
from workers.documents import LetterMaker, varied_inputs


def top(stats: pstats.Stats, where: str, letters: int, limit: int) -> None:
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    rows = [(ct, tt, nc, f"{shorten(fn)}:{line}({name})")
            for (fn, line, name), (_cc, nc, tt, ct, _callers) in raw.items() if where in fn]
    rows.sort(reverse=True)
    print(f"\nTop {limit} by cumulative time in {where!r} (ms per letter; calls per letter):")
    print(f"  {'cum ms':>7} {'own ms':>7} {'calls':>7}  function")
    for ct, tt, nc, label in rows[:limit]:
        print(f"  {ct / letters * 1e3:7.2f} {tt / letters * 1e3:7.2f} {nc / letters:7.1f}  "
              f"{label}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200, help="letters")
    ap.add_argument("--top", type=int, default=20)
    a = ap.parse_args()
    maker = LetterMaker()
    inputs = [varied_inputs(k) for k in range(a.n)]
    for x in inputs[:5]:                    # warm-up: compile the template, read the files
        md, letterhead = maker.markdown(maker.context(x))
        maker.docx(md, letterhead, x.case["number"])
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    for x in inputs:
        md, letterhead = maker.markdown(maker.context(x))
        maker.docx(md, letterhead, x.case["number"])
    prof.disable()
    wall = time.perf_counter() - t0
    print(f"{a.n} letters under cProfile: {wall:.2f} s, {wall / a.n * 1e3:.1f} ms per letter")
    stats = pstats.Stats(prof)
    for where in ("/workflow/", "/docx/", "/markdown_it/"):
        top(stats, where, a.n, a.top)
    print("\nTop by own time, anywhere:")
    stats.sort_stats("tottime").print_stats(a.top)


if __name__ == "__main__":
    main()
