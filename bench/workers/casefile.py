"""Worker: the case file's costs (issue 20), each beside its floor, in a fresh process.

Workloads
  upload  a fresh database (``demo_database``: migrated, the demo's set-up) with one case
          opened by pl-ishoj; ``workflow serve --workers 1`` on a free loopback port (one
          process: uvicorn in the ``workflow`` process itself, so its PID is the server's),
          WORKFLOW_FILES ``database`` or a fresh folder; a bearer token for pl-ishoj
          (POST /api/token); a warm-up upload of a 16 KiB PDF; then the big PDF (the
          workload's file: a valid header, a random body) POSTed to
          /api/applications/{id}/files as multipart/form-data, streamed from disk 256 KiB
          at a time (httpx with a generator and a Content-Length). Timed: that POST, to its
          201. Read: the server's VmHWM (peak RSS, /proc/PID/status) after the warm-up
          (first set back to its VmRSS through /proc/PID/clear_refs, so that the start-up's
          peak does not hide the upload's) and after the upload; the growth is the
          difference. The upload's journal entry is
          checked (size, sha256).
  copy    the floor: ``shutil.copyfileobj`` of the same file into a new file, then fsync
          (the folder store fsyncs too), in this fresh process; its VmHWM before (reset as
          above) and after, and the time.
  case    a fresh database with one case holding --docs documents of --doc-kb KiB each
          (PDFs: a header and a random body, each different), filed by pl-ishoj through
          ``CaseFile.attach_file`` (one transaction each, as the command line files them;
          not timed beyond the total). The heap as it then stands is frozen
          (``gc.freeze()``, as ``workflow serve`` freezes its own after start-up), so a
          full collection in a timed call traces what the calls made, not the ~110,000
          objects the filing left (~90 ms). Then, interleaved call by call, --calls times each:
          ``journal.entries(wf, id, user="pl-ishoj")`` in this process, and the floor, one
          ``SELECT * FROM journal_entry WHERE application_id = ? ORDER BY number`` on the
          bare driver (sqlite3 / psycopg, one connection, rows fetched); through a real
          ``workflow serve --workers 1`` on the same database: GET /api/applications/{id}/
          journal?limit=100 (bearer token; its pages in turn, by the cursors a first walk
          collected), GET /applications/{id} (the case page, the newest 50 entries;
          session cookie from the /login form) with a query string never seen before
          (never the pages' cache) and as the cache serves it, and the journal page
          GET /applications/{id}/journal?efter=N (100 entries, its pages in turn). Then
          the aktindsigt export, ``aktindsigt.export(wf, files, id, out,
          user="legal-ishoj")`` to a file, beside plain zipping of the same documents'
          bytes (read from the store first, not timed), stored (not deflated) as the
          export stores documents, to a file: ``zipfile`` from a list in memory (the
          strictest floor: nothing is read), ``zipfile.write`` of the same bytes as
          files in a folder (page-cached), and Info-ZIP's ``zip -0 -q -r`` of that folder
          where it is installed; --exports times each, in turn, the order rotated by
          --order and each time. Throughput is the documents' bytes over the time.

Each prints one ``RESULT {json}`` line.

usage: python bench/workers/casefile.py upload --db sqlite --files database --pdf FILE
       python bench/workers/casefile.py copy --pdf FILE
       python bench/workers/casefile.py case --db sqlite [--docs 1000] [--doc-kb 50]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/, for benchlib
from benchlib import (  # noqa: E402
    demo_database,
    emit_json,
    libpq_url,
    percentile,
    pg_schema_url,
    pg_url,
    scratch_dir,
    served,
    sqlite_url,
)
from workloads.web import form_log_in  # noqa: E402

from workflow.config import Settings  # noqa: E402
from workflow.engine import aktindsigt, journal  # noqa: E402
from workflow.engine.casefile import CaseFile, Filing  # noqa: E402
from workflow.engine.workflow import Workflow  # noqa: E402

PG_SCHEMA = "bench_casefile"    # our own schema in the benchmark database
LEAD = "pl-ishoj"
LEGAL = "legal-ishoj"
PASSWORD = "demo"
STREAM_CHUNK = 256 * 1024       # what the client sends at a time
WARM_KIB = 16
PAGE = 100                      # the API's journal page, and the journal page's


def pdf_bytes(size: int) -> bytes:
    """A PDF's header and a random body: what the upload checks accept as a PDF."""
    head = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    return head + os.urandom(max(0, size - len(head)))


def status_kib(pid: int | str, field: str) -> int:
    """A ``/proc/PID/status`` figure in KiB (VmHWM: the peak resident set size)."""
    text = Path(f"/proc/{pid}/status").read_text()
    found = re.search(rf"^{field}:\s+(\d+) kB", text, re.M)
    if not found:
        raise SystemExit(f"no {field} in /proc/{pid}/status")
    return int(found.group(1))


def reset_hwm(pid: int | str) -> bool:
    """Set the process's VmHWM back to its VmRSS (``clear_refs`` 5, Linux 4.0 on): the
    peak from here on, not the start-up's; False where the kernel refuses."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def database_url(db: str, name: str) -> str:
    if db == "sqlite":
        return sqlite_url(scratch_dir() / f"{name}.db")
    return pg_schema_url(pg_url(), PG_SCHEMA)


def fresh_case(db: str, name: str) -> tuple[str, Workflow, int]:
    """A fresh demo database with one case opened by the project lead."""
    schema = PG_SCHEMA if db == "postgresql" else "public"
    url = demo_database(database_url(db, name), schema)
    wf = Workflow.open(Settings(database_url=url))
    app_id = wf.create(kind="dispensation", round=1, title="Aktindsigt-bench", user=LEAD)
    return url, wf, app_id


def filing(wf: Workflow, k: int) -> Filing:
    return Filing(direction="received", dated=wf.today(), party="Indenrigsministeriet",
                  description=f"Brev nr. {k}", doc_type="letter")


def form_fields(wf: Workflow, k: int) -> dict[str, str]:
    f = filing(wf, k)
    return {"direction": f.direction, "date": f.dated.isoformat(), "party": f.party,
            "description": f.description, "type": f.doc_type}


# ----------------------------------------------------------------------- server
def server_env(url: str, files: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKFLOW_")}
    return {**env, "WORKFLOW_DATABASE_URL": url, "WORKFLOW_FILES": files}


def bearer(c: httpx.Client, user: str) -> dict[str, str]:
    r = c.post("/api/token", data={"username": user, "password": PASSWORD})
    if r.status_code != 200:
        raise SystemExit(f"POST /api/token as {user}: {r.status_code} {r.text}")
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def multipart(fields: dict[str, str], filename: str, path: Path
              ) -> tuple[str, int, Iterator[bytes]]:
    """A multipart/form-data body streamed from ``path``: its content type, length and
    chunks (the file never whole in the client's memory either)."""
    boundary = f"bench-{os.urandom(12).hex()}"
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        .encode() for k, v in fields.items())
    head += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
             f'filename="{filename}"\r\nContent-Type: application/pdf\r\n\r\n').encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    length = len(head) + path.stat().st_size + len(tail)

    def chunks() -> Iterator[bytes]:
        yield head
        with path.open("rb") as f:
            while data := f.read(STREAM_CHUNK):
                yield data
        yield tail

    return f"multipart/form-data; boundary={boundary}", length, chunks()


def post_file(c: httpx.Client, auth: dict[str, str], app_id: int, fields: dict[str, str],
              filename: str, path: Path) -> dict[str, Any]:
    kind, length, body = multipart(fields, filename, path)
    r = c.post(f"/api/applications/{app_id}/files", content=body,
               headers={**auth, "Content-Type": kind, "Content-Length": str(length)})
    if r.status_code != 201:
        raise SystemExit(f"upload of {filename}: {r.status_code} {r.text[:500]}")
    entry: dict[str, Any] = r.json()
    return entry


# ----------------------------------------------------------------------- upload
def run_upload(db: str, files: str, pdf: Path) -> dict[str, Any]:
    scratch = scratch_dir() / f"upload-{db}-{files}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    url, wf, app_id = fresh_case(db, "casefile-upload")
    fields = form_fields(wf, 1)
    wf.close()
    where = "database" if files == "database" else str(scratch / "files")
    warm = scratch / "warm.pdf"
    warm.write_bytes(pdf_bytes(WARM_KIB * 1024))
    size = pdf.stat().st_size
    with served(server_env(url, where), scratch / "serve.log") as (base, server), \
            httpx.Client(base_url=base, timeout=300) as c:
        auth = bearer(c, LEAD)
        post_file(c, auth, app_id, fields, "opvarmning.pdf", warm)
        pid = server.pid
        reset = reset_hwm(pid)
        rss_before, hwm_before = status_kib(pid, "VmRSS"), status_kib(pid, "VmHWM")
        t0 = time.perf_counter()
        entry = post_file(c, auth, app_id, fields, "stor-ansøgning.pdf", pdf)
        took = time.perf_counter() - t0
        rss_after, hwm_after = status_kib(pid, "VmRSS"), status_kib(pid, "VmHWM")
    sha = hashlib.sha256()
    with pdf.open("rb") as f:
        while data := f.read(1 << 20):
            sha.update(data)
    if entry["size"] != size or entry["sha256"] != sha.hexdigest():
        raise SystemExit(f"the stored upload is not the file sent: {entry}")
    shutil.rmtree(scratch, ignore_errors=True)
    return {"variant": f"upload-{db}-{files}", "db": db, "files": files, "bytes": size,
            "seconds": took, "mb_per_s": size / 1e6 / took,
            "hwm_before_kib": hwm_before, "hwm_after_kib": hwm_after,
            "growth_mib": (hwm_after - hwm_before) / 1024,
            "rss_before_kib": rss_before, "rss_after_kib": rss_after, "hwm_reset": reset}


def run_copy(pdf: Path) -> dict[str, Any]:
    target = scratch_dir() / "copy-floor.pdf"
    reset = reset_hwm("self")
    hwm_before = status_kib("self", "VmHWM")
    t0 = time.perf_counter()
    with pdf.open("rb") as src, target.open("wb") as dst:
        shutil.copyfileobj(src, dst)
        dst.flush()
        os.fsync(dst.fileno())
    took = time.perf_counter() - t0
    hwm_after = status_kib("self", "VmHWM")
    size = target.stat().st_size
    target.unlink()
    return {"variant": "copy", "bytes": size, "seconds": took, "mb_per_s": size / 1e6 / took,
            "hwm_before_kib": hwm_before, "hwm_after_kib": hwm_after,
            "growth_mib": (hwm_after - hwm_before) / 1024, "hwm_reset": reset}


# ------------------------------------------------------------------------- case
def ms_stats(seconds: list[float]) -> dict[str, float]:
    return {"median_ms": statistics.median(seconds) * 1e3,
            "p99_ms": percentile(seconds, 0.99) * 1e3, "max_ms": max(seconds) * 1e3}


class Floor:
    """The journal's floor: one indexed query on the bare driver."""

    SQL = "SELECT * FROM journal_entry WHERE application_id = {} ORDER BY number"

    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///"):
            import sqlite3

            self.conn: Any = sqlite3.connect(url.removeprefix("sqlite:///"))
            self.sql = self.SQL.format("?")
        else:
            import psycopg

            self.conn = psycopg.connect(libpq_url(pg_url()), autocommit=True,
                                        options=f"-csearch_path={PG_SCHEMA}")
            self.sql = self.SQL.format("%s")

    def __call__(self, app_id: int) -> int:
        return len(self.conn.execute(self.sql, (app_id,)).fetchall())

    def close(self) -> None:
        self.conn.close()


def file_documents(wf: Workflow, cf: CaseFile, app_id: int, docs: int, kib: int,
                   folder: Path) -> float:
    """File ``docs`` documents in the case through the case file; the seconds it took."""
    path = folder / "doc.pdf"
    t0 = time.perf_counter()
    for k in range(docs):
        path.write_bytes(pdf_bytes(kib * 1024))
        with path.open("rb") as f:
            cf.attach_file(app_id, f, f"brev-{k + 1:04d}.pdf", filing(wf, k + 1), user=LEAD)
    return time.perf_counter() - t0


def api_cursors(api: httpx.Client, app_id: int) -> list[str | None]:
    """The API journal's pages of PAGE entries, walked once: the cursor of each (None: the
    first page), so that the timed reads can ask for any of them."""
    out: list[str | None] = [None]
    while True:
        r = api.get(f"/api/applications/{app_id}/journal",
                    params={"limit": PAGE, **({"cursor": out[-1]} if out[-1] else {})})
        following = r.headers.get("x-next-cursor")
        if r.status_code != 200 or following is None:
            return out
        out.append(following)


def time_journal(wf: Workflow, url: str, app_id: int, calls: int, docs: int,
                 base: str, auth: dict[str, str], page: httpx.Client) -> dict[str, Any]:
    floor = Floor(url)
    times: dict[str, list[float]] = {k: [] for k in ("entries", "floor", "api", "page",
                                                     "page_cached", "journal_page")}
    api = httpx.Client(base_url=base, timeout=60, headers=auth)
    cursors = api_cursors(api, app_id)
    pc = time.perf_counter
    for k in range(calls + 3):              # 3 warm-up calls each, not counted
        got: dict[str, Any] = {}
        at = cursors[k % len(cursors)]      # the pages in turn, the first to the last
        s = pc()
        got["entries"] = len(journal.entries(wf, app_id, user=LEAD))
        t1 = pc()
        got["floor"] = floor(app_id)
        t2 = pc()
        r = api.get(f"/api/applications/{app_id}/journal",
                    params={"limit": PAGE, **({"cursor": at} if at else {})})
        t3 = pc()
        got["api"] = len(r.json()) if r.status_code == 200 else -r.status_code
        p = page.get(f"/applications/{app_id}", params={"fresh": str(k)})
        t4 = pc()
        q = page.get(f"/applications/{app_id}")
        t5 = pc()
        j = page.get(f"/applications/{app_id}/journal",
                     params={"efter": str((k * PAGE) % max(1, docs)), "fresh": str(k)})
        t6 = pc()
        for resp in (p, q):
            if resp.status_code != 200 or f"brev-{docs:04d}.pdf" not in resp.text:
                raise SystemExit(f"the case page: {resp.status_code}, without its last "
                                 f"document")
        if j.status_code != 200 or f"af {docs:,}".replace(",", ".") not in j.text:
            raise SystemExit(f"the journal page: {j.status_code}, without its pager")
        if got["entries"] != docs or got["floor"] != docs or got["api"] <= 0:
            raise SystemExit(f"journal entries counted: {got}, not {docs}")
        if k >= 3:
            for name, took in (("entries", t1 - s), ("floor", t2 - t1), ("api", t3 - t2),
                               ("page", t4 - t3), ("page_cached", t5 - t4),
                               ("journal_page", t6 - t5)):
                times[name].append(took)
    api.close()
    floor.close()
    return {name: ms_stats(v) for name, v in times.items()}


def zip_floor(documents: list[tuple[str, bytes]], out: Path) -> float:
    """Plain zipping of bytes held in memory (the strictest floor: nothing is read)."""
    t0 = time.perf_counter()
    with out.open("wb") as f, zipfile.ZipFile(f, "w") as z:
        for name, content in documents:
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            z.writestr(info, content)
    return time.perf_counter() - t0


def zip_files(folder: Path, names: list[str], out: Path) -> float:
    """Plain zipping of the same bytes as files in a folder: ``zipfile.write``, stored."""
    t0 = time.perf_counter()
    with out.open("wb") as f, zipfile.ZipFile(f, "w") as z:
        for name in names:
            z.write(folder / name, name)
    return time.perf_counter() - t0


def zip_command(folder: Path, out: Path) -> float:
    """Plain zipping of the same files by Info-ZIP: ``zip -0 -q -r`` (a process)."""
    t0 = time.perf_counter()
    subprocess.run(["zip", "-0", "-q", "-r", str(out), "dokumenter"], cwd=folder, check=True)
    return time.perf_counter() - t0


def time_export(wf: Workflow, cf: CaseFile, app_id: int, folder: Path, exports: int,
                order: int) -> dict[str, Any]:
    listed = [e for e in journal.entries(wf, app_id, user=LEGAL) if e["has_file"]]
    documents = [(f"dokumenter/{e['number']:04d}-{e['filename']}",
                  b"".join(cf.store.open(wf.engine, e["sha256"]))) for e in listed]
    plain = folder / "plain"
    (plain / "dokumenter").mkdir(parents=True)
    for name, content in documents:
        (plain / name).write_bytes(content)
    doc_bytes = sum(len(c) for _, c in documents)
    zip_bytes = 0

    def ours(out: Path) -> float:
        nonlocal zip_bytes
        t0 = time.perf_counter()
        with out.open("wb") as f:
            written = aktindsigt.export(wf, cf.store, app_id, f, user=LEGAL)
        took = time.perf_counter() - t0
        if sum(1 for x in written.files if x["number"]) != len(documents):
            raise SystemExit(f"the export holds {len(written.files)} files")
        zip_bytes = out.stat().st_size
        return took

    timed = {"ours": ours, "memory": lambda out: zip_floor(documents, out),
             "files": lambda out: zip_files(plain, [n for n, _ in documents], out)}
    if shutil.which("zip"):
        timed["zip"] = lambda out: zip_command(plain, out)
    seconds: dict[str, list[float]] = {k: [] for k in timed}
    names = list(timed)
    for k in range(exports):
        turn = (k + order) % len(names)
        for which in names[turn:] + names[:turn]:
            gc.collect()
            out = folder / f"{which}.zip"
            seconds[which].append(timed[which](out))
            out.unlink()
    o = statistics.median(seconds["ours"])
    floors = {k: statistics.median(v) for k, v in seconds.items() if k != "ours"}
    return {"documents": len(documents), "doc_bytes": doc_bytes, "zip_bytes": zip_bytes,
            "export_s": o, "floor_s": floors["memory"], "floors_s": floors,
            "export_mb_per_s": doc_bytes / 1e6 / o,
            "floor_mb_per_s": doc_bytes / 1e6 / floors["memory"], "exports": exports}


def run_case(db: str, files: str, docs: int, kib: int, calls: int, exports: int,
             order: int) -> dict[str, Any]:
    scratch = scratch_dir() / f"case-{db}-{files}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    where = "database" if files == "database" else str(scratch / "files")
    url, wf, app_id = fresh_case(db, "casefile-case")
    cf = CaseFile(wf, files=where)
    filing_s = file_documents(wf, cf, app_id, docs, kib, scratch)
    gc.collect()        # this process's heap as it stands after filing (~110,000 objects),
    gc.freeze()         # frozen as `workflow serve` freezes its own after start-up
    with served(server_env(url, where), scratch / "serve.log") as (base, _server), \
            httpx.Client(base_url=base, timeout=60) as page:
        form_log_in(page)                    # pl-ishoj, the session cookie
        auth = bearer(page, LEAD)
        journal_ms = time_journal(wf, url, app_id, calls, docs, base, auth, page)
    exported = time_export(wf, cf, app_id, scratch, exports, order)
    wf.close()
    tz = ZoneInfo(Settings().timezone)
    shutil.rmtree(scratch, ignore_errors=True)
    return {"variant": f"case-{db}-{files}", "db": db, "files": files, "docs": docs,
            "doc_kib": kib, "calls": calls, "filing_s": filing_s,
            "filed_per_s": docs / filing_s, "journal": journal_ms, "export": exported,
            "measured_at": datetime.now(tz).isoformat(timespec="seconds")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("workload", choices=["upload", "copy", "case"])
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--files", choices=["database", "folder"], default="database")
    ap.add_argument("--pdf", type=Path, help="the file to upload (upload, copy)")
    ap.add_argument("--docs", type=int, default=1000, help="documents in the case")
    ap.add_argument("--doc-kb", type=int, default=50, help="KiB per document")
    ap.add_argument("--calls", type=int, default=50, help="timed journal reads of each kind")
    ap.add_argument("--exports", type=int, default=2, help="exports (and floors) timed")
    ap.add_argument("--order", type=int, default=0, help="the round: flips the export order")
    a = ap.parse_args()
    if a.workload in ("upload", "copy") and a.pdf is None:
        ap.error("--pdf FILE is needed")
    if a.workload == "upload":
        res = run_upload(a.db, a.files, a.pdf)
    elif a.workload == "copy":
        res = run_copy(a.pdf)
    else:
        res = run_case(a.db, a.files, a.docs, a.doc_kb, a.calls, a.exports, a.order)
    print(f"{res['variant']}: done")
    emit_json(res)


if __name__ == "__main__":
    main()
