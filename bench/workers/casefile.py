"""Worker: the case file — a large upload's memory, and the journal of a large case.

Workloads
  upload   a PDF of ``--mb`` MB filed in a new case through ``CaseFile.attach_file`` (the
           path the web and the command line share once the bytes arrive: spooled in
           1 MiB pieces, examined, stored in 1 MiB chunks in the database): the time, and
           the growth of peak RSS (``VmHWM``) over the process's peak before it.
           ``--floor``: the same file read in 1 MiB pieces, hashed and copied to a
           temporary file, nothing else (the least a streamed upload costs).
  journal  a case given ``--docs`` uploaded documents (small, each distinct), then
           ``journal.entries`` timed ``--runs`` times (median, p99) beside the floor: the
           same rows by a bare ``SELECT`` on the connection.

Each prints one ``RESULT {json}`` line.

usage: python bench/workers/casefile.py upload|journal --url URL [--mb 20] [--floor]
       [--docs 1000] [--runs 20]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/, for benchlib
from benchlib import REPO_DIR, Clock, emit_json, percentile  # noqa: E402


def peak_rss_mib() -> float:
    """This process's peak RSS so far (``VmHWM``: unlike ``ru_maxrss``, not carried over
    from the parent across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmHWM in /proc/self/status")

NOW = datetime(2018, 1, 8, 9, 0, tzinfo=UTC)


def big_pdf(path: Path, mb: int) -> Path:
    with path.open("wb") as f:
        f.write(b"%PDF-1.4\n")
        block = bytes(range(256)) * 4096
        for _ in range(mb):
            f.write(block)
        f.write(b"\n%%EOF\n")
    return path


def upload(url: str, mb: int, floor: bool) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="casefile-"))
    path = big_pdf(scratch / "stor.pdf", mb)
    if floor:
        before = peak_rss_mib()
        t0 = time.perf_counter()
        digest = hashlib.sha256()
        with path.open("rb") as src, tempfile.TemporaryFile() as out:
            while data := src.read(1 << 20):
                digest.update(data)
                out.write(data)
        seconds = time.perf_counter() - t0
    else:
        from workflow.config import Settings
        from workflow.engine.casefile import CaseFile, Filing
        from workflow.engine.workflow import Workflow

        wf = Workflow.open(Settings(database_url=url, templates_dir=REPO_DIR / "templates"),
                           clock=Clock(NOW))
        cf = CaseFile(wf, max_bytes=(mb + 1) * 1024 * 1024)
        app_id = wf.create(kind="dispensation", round=1, title="Stor sag", user="pl-ishoj")
        cf.add_note(app_id, "varm op", user="pl-ishoj")   # every statement used once
        filing = Filing("received", NOW.date(), "IM", "Stor fil", "ministry_request")
        before = peak_rss_mib()
        t0 = time.perf_counter()
        with path.open("rb") as src:
            cf.attach_file(app_id, src, "stor.pdf", filing, user="legal-ishoj")
        seconds = time.perf_counter() - t0
        wf.close()
    shutil.rmtree(scratch, ignore_errors=True)
    after = peak_rss_mib()
    emit_json({"variant": "floor" if floor else "upload", "mb": mb, "seconds": seconds,
               "peak_rss_mib": after, "rss_growth_mib": after - before})


def journal(url: str, docs: int, runs: int) -> None:
    from sqlalchemy import select

    from workflow.config import Settings
    from workflow.engine import journal as jn
    from workflow.engine.casefile import CaseFile, Filing
    from workflow.engine.workflow import Workflow
    from workflow.store import database as store
    from workflow.store import tables as t

    wf = Workflow.open(Settings(database_url=url, templates_dir=REPO_DIR / "templates"),
                       clock=Clock(NOW))
    cf = CaseFile(wf)
    app_id = wf.create(kind="dispensation", round=1, title="Stor sag", user="pl-ishoj")
    filing = Filing("received", NOW.date(), "Indenrigsministeriet", "Brev", "letter")
    t0 = time.perf_counter()
    for i in range(docs):
        content = b"%PDF-1.4\n" + str(i).encode() + b"\n%%EOF\n"
        cf.attach_file(app_id, io.BytesIO(content), f"brev-{i}.pdf", filing,
                       user="legal-ishoj")
    filed_s = time.perf_counter() - t0
    ours, floor = [], []
    je = t.journal_entry
    for _ in range(runs + 2):
        t0 = time.perf_counter()
        listed = jn.entries(wf, app_id, user="pl-ishoj")
        ours.append((time.perf_counter() - t0) * 1e3)
        t0 = time.perf_counter()
        with store.read(wf.engine) as conn:
            rows = conn.execute(select(je).where(je.c.application_id == app_id)
                                .order_by(je.c.number)).all()
        floor.append((time.perf_counter() - t0) * 1e3)
    assert len(listed) == len(rows) >= docs
    ours, floor = ours[2:], floor[2:]
    wf.close()
    emit_json({"variant": "journal", "docs": docs, "filed_s": filed_s,
               "ms_median": statistics.median(ours), "ms_p99": percentile(ours, 0.99),
               "floor_ms_median": statistics.median(floor)})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["upload", "journal"])
    ap.add_argument("--url", required=True)
    ap.add_argument("--mb", type=int, default=20)
    ap.add_argument("--floor", action="store_true")
    ap.add_argument("--docs", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=20)
    a = ap.parse_args()
    if a.mode == "upload":
        upload(a.url, a.mb, a.floor)
    else:
        journal(a.url, a.docs, a.runs)


if __name__ == "__main__":
    main()
