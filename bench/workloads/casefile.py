"""Workload: the case file of issue 20 (uploads, the journal, the aktindsigt export), each
measurement beside its floor, on SQLite and PostgreSQL in the same run.

Every round runs, in turn and each in its own fresh process (the order rotated each round;
``workers/casefile.py`` says exactly what each one times):

  upload DB database   a --cf-upload-mb MB PDF (a valid header, a random body; one file
  upload DB folder     made once per run) streamed as multipart to a real ``workflow serve``
                       on 127.0.0.1 (WORKFLOW_FILES=database, or a folder): its time, and
                       the server's peak RSS growth (VmHWM after it minus VmHWM after a
                       warm-up upload, the mark reset to the RSS there)
  copy (floor)         ``shutil.copyfileobj`` of the same file and fsync, in a fresh process:
                       its VmHWM growth and time
  case DB              a case of --cf-docs documents (--cf-doc-kb KiB PDFs, filed through
                       ``CaseFile.attach_file``, files in the database, or with
                       --cf-case-files in a folder too, a job each); then the journal
                       read --cf-calls times each way, interleaved: ``journal.entries`` in
                       the worker, GET /api/applications/{id}/journal (a page of 100, by
                       cursor), the case page GET /applications/{id} (the newest 50;
                       uncached: a new query string each time; and cached) and the journal
                       page (100 a page) through a real ``workflow serve``, beside the floor, one
                       ``SELECT * FROM journal_entry WHERE application_id = ? ORDER BY
                       number`` on the bare driver; then ``aktindsigt.export`` of the case
                       to a file beside plain zipping of the same bytes, stored (not
                       deflated) as the export stores documents, in turn: ``zipfile`` from
                       a list in memory (the strictest floor: nothing is read),
                       ``zipfile.write`` of the same bytes as files in a folder, and
                       Info-ZIP's ``zip -0 -q -r`` of that folder (where installed)

Goals: the server's growth during the upload at most GOAL_GROWTH_MIB (not the file's
size); the journal (``journal.entries``, the API, the uncached case page and the
journal page, p99) under
GOAL_JOURNAL_MS; the export at least GOAL_EXPORT of the speed of each plain zipping that
reads the same bytes as it must (``zipfile.write`` and ``zip -0`` of the files, JUDGED).
Zipping bytes already in memory reads nothing and checks no hash: its ratio is shown in
the table beside them, not judged (bench/README.md says why).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchlib import (
    REPO_DIR,
    Context,
    Job,
    Options,
    Results,
    Verdict,
    med_range,
    print_head,
    revision,
    run_rounds,
    worker,
)

DATABASES = True
GOAL_GROWTH_MIB = 8.0       # the server's peak RSS growth during the upload
GOAL_JOURNAL_MS = 100.0     # the journal of the case, p99
GOAL_EXPORT = 0.5           # the export's throughput over plain zipping's
JUDGED = ("files", "zip")   # the plain zippings that read the bytes, as the export must
ROUNDS = 3
DOCS = 1000
DOC_KIB = 50
UPLOAD_MB = 20
CALLS = 50
STORES = ("database", "folder")
FLOORS = {"memory": "zipfile, stored, bytes in memory",
          "files": "zipfile.write, stored, same files",
          "zip": "zip -0 -q -r, same files"}
READS = (("entries", "journal.entries (in-process)"),
         ("api", "GET …/journal (API, 100)"),
         ("page", "GET /applications/ID (uncached)"),
         ("page_cached", "GET /applications/ID (cached)"),
         ("journal_page", "GET …/ID/journal (page, 100)"),
         ("floor", "bare driver SELECT (floor)"))
GOAL_READS = ("entries", "api", "page", "journal_page")


def make_pdf(path: Path, mb: int) -> None:
    """The upload: a PDF header and a random body, written a MiB at a time."""
    with path.open("wb") as f:
        f.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        left = mb * 1024 * 1024 - 15
        while left > 0:
            f.write(os.urandom(min(left, 1 << 20)))
            left -= 1 << 20


def jobs(dbs: list[str], pdf: Path, a: argparse.Namespace) -> list[Job]:
    w = worker("casefile")
    out: list[Job] = [(f"upload-{db}-{s}", [*w, "upload", "--db", db, "--files", s,
                                           "--pdf", str(pdf)], REPO_DIR)
                      for db in dbs for s in STORES]
    out.append(("copy", [*w, "copy", "--pdf", str(pdf)], REPO_DIR))
    out += [(case_job(db, s), [*w, "case", "--db", db, "--files", s, "--docs",
                               str(a.cf_docs), "--doc-kb", str(a.cf_doc_kb), "--calls",
                               str(a.cf_calls), "--exports", str(a.cf_exports)], REPO_DIR)
            for db in dbs for s in case_stores(a)]
    return out


def case_stores(a: argparse.Namespace) -> list[str]:
    """Where the case's documents are kept, each a job: ``--cf-case-files``."""
    got = [s.strip() for s in a.cf_case_files.split(",") if s.strip()]
    wrong = [s for s in got if s not in STORES]
    if wrong or not got:
        raise SystemExit(f"--cf-case-files: {', '.join(wrong) or 'none'}; choose from "
                         f"{', '.join(STORES)}")
    return got


def case_job(db: str, store: str) -> str:
    """The case job's name (and the label of its tables): the database, and the folder
    store when the documents are kept there."""
    return f"case-{db}" if store == "database" else f"case-{db}-{store}"


# ---------------------------------------------------------------------- summary
def summarize(rounds: list[Results], dbs: list[str], stores: list[str]) -> dict[str, Any]:
    def over(job: str, *keys: str) -> dict[str, float]:
        values = []
        for res in rounds:
            x: Any = res[job]
            for k in keys:
                x = x[k]
            values.append(float(x))
        return med_range(values)

    uploads = {name: {"growth_mib": over(name, "growth_mib"), "seconds": over(name, "seconds"),
                      "mb_per_s": over(name, "mb_per_s"),
                      "reset": all(r[name]["hwm_reset"] for r in rounds)}
               for name in [f"upload-{db}-{s}" for db in dbs for s in STORES] + ["copy"]}
    cases = {}
    for db, store in [(db, s) for db in dbs for s in stores]:
        job = case_job(db, store)
        last = rounds[-1][job]
        label = db if store == "database" else f"{db}, files in a folder"
        cases[label] = {
            "reads": {k: {"median_ms": over(job, "journal", k, "median_ms"),
                          "p99_ms": over(job, "journal", k, "p99_ms")} for k, _ in READS},
            "export_mb_per_s": over(job, "export", "export_mb_per_s"),
            "floor_mb_per_s": over(job, "export", "floor_mb_per_s"),
            "export_s": over(job, "export", "export_s"),
            "floor_s": over(job, "export", "floor_s"),
            "vs_floor": med_range([r[job]["export"]["export_mb_per_s"]
                                   / r[job]["export"]["floor_mb_per_s"] for r in rounds]),
            "floors": {k: {"s": over(job, "export", "floors_s", k),
                           "vs": med_range([r[job]["export"]["floors_s"][k]
                                            / r[job]["export"]["export_s"] for r in rounds])}
                       for k in last["export"]["floors_s"]},
            "filed_per_s": over(job, "filed_per_s"), "docs": last["docs"],
            "doc_bytes": last["export"]["doc_bytes"], "zip_bytes": last["export"]["zip_bytes"]}
    return {"uploads": uploads, "cases": cases}


def rng(r: Mapping[str, float], fmt: str = "{:.1f}") -> str:
    return f"{fmt.format(r['median'])} ({fmt.format(r['min'])}-{fmt.format(r['max'])})"


def print_report(report: Mapping[str, Any]) -> None:
    s = report["summary"]
    print(f"\nCase file, commit {report['revision']}: {report['rounds']} rounds, "
          f"{report['wall_s']:.0f} s; medians over rounds (min-max); load average "
          f"{report['load'][0]:.1f}\n")
    print(f"Upload of a {report['upload_mb']} MB PDF to workflow serve --workers 1, "
          f"streamed (multipart, 256 KiB writes); growth: the server's VmHWM after it minus "
          f"after a warm-up upload\n")
    print_head(f"{'variant':<34} {'RSS growth MiB':<20} {'seconds':<22} {'MB/s':<18}")
    floor = s["uploads"]["copy"]
    for name, u in s["uploads"].items():
        label = "shutil.copyfileobj + fsync (floor)" if name == "copy" else \
            name.removeprefix("upload-").replace("-", ", files in the ", 1)
        print(f"{label:<34} {rng(u['growth_mib']):<20} {rng(u['seconds'], '{:.3f}'):<22} "
              f"{rng(u['mb_per_s'], '{:.0f}'):<18}"
              + ("" if u["reset"] else " (VmHWM not reset: start-up's peak)"))
    print(f"  goal: growth at most {GOAL_GROWTH_MIB:.0f} MiB; floor's growth "
          f"{floor['growth_mib']['median']:.1f} MiB")
    for db, c in s["cases"].items():
        print(f"\nJournal of a case with {c['docs']} documents on {db} (filed at "
              f"{c['filed_per_s']['median']:.0f}/s through CaseFile.attach_file); "
              f"{report['calls']} calls each, interleaved, through a real workflow serve "
              f"for the HTTP rows\n")
        print_head(f"{'read':<34} {'median ms':<20} {'p99 ms':<20}")
        for key, label in READS:
            x = c["reads"][key]
            print(f"{label:<34} {rng(x['median_ms']):<20} {rng(x['p99_ms']):<20}")
        print(f"\nAktindsigt export of that case on {db}: {c['doc_bytes'] / 1e6:.1f} MB of "
              f"documents, zip {c['zip_bytes'] / 1e6:.1f} MB\n")
        print_head(f"{'variant':<34} {'seconds':<22} {'MB/s':<18} "
                   f"{'x zipfile from memory'}")
        print(f"{'aktindsigt.export':<34} {rng(c['export_s'], '{:.2f}'):<22} "
              f"{rng(c['export_mb_per_s'], '{:.0f}'):<18} "
              f"{rng(c['vs_floor'], '{:.2f}')}")
        for key, f in c["floors"].items():
            mbs = {k: c["doc_bytes"] / 1e6 / v for k, v in f["s"].items()}
            print(f"{FLOORS[key]:<34} {rng(f['s'], '{:.2f}'):<22} "
                  f"{mbs['median']:<18.0f} export {rng(f['vs'], '{:.2f}')}x its speed")


def goals(report: Mapping[str, Any]) -> list[Verdict]:
    s = report["summary"]
    out: list[Verdict] = []
    for name, u in s["uploads"].items():
        if name == "copy":
            continue
        g = u["growth_mib"]["max"]
        out.append((f"casefile {name}: the server's peak RSS growth at most "
                    f"{GOAL_GROWTH_MIB:.0f} MiB for a {report['upload_mb']} MB file",
                    f"{g:.1f} MiB at most over rounds ({u['seconds']['median']:.2f} s; floor "
                    f"{s['uploads']['copy']['growth_mib']['median']:.1f} MiB, "
                    f"{s['uploads']['copy']['seconds']['median']:.3f} s)",
                    u["reset"] and g <= GOAL_GROWTH_MIB))
    for db, c in s["cases"].items():
        for key in GOAL_READS:
            p99 = c["reads"][key]["p99_ms"]["median"]
            label = dict(READS)[key]
            out.append((f"casefile {db}: {label} of {c['docs']} documents, p99 under "
                        f"{GOAL_JOURNAL_MS:.0f} ms", f"{p99:.1f} ms (median "
                        f"{c['reads'][key]['median_ms']['median']:.1f} ms; floor "
                        f"{c['reads']['floor']['median_ms']['median']:.1f} ms)",
                        p99 < GOAL_JOURNAL_MS))
        for key, f in c["floors"].items():
            if key not in JUDGED:
                continue
            x = f["vs"]["median"]
            out.append((f"casefile {db}: aktindsigt export at least {GOAL_EXPORT}x the "
                        f"speed of {FLOORS[key]}", f"{x:.2f}x ({c['export_s']['median']:.3f}"
                        f" s vs {f['s']['median']:.3f} s)", x >= GOAL_EXPORT))
    return out


# -------------------------------------------------------------------------- run
def add_arguments(ap: Options) -> None:
    ap.add_argument("--cf-rounds", type=int, default=ROUNDS, help="rounds of every job")
    ap.add_argument("--cf-docs", type=int, default=DOCS, help="documents in the case")
    ap.add_argument("--cf-doc-kb", type=int, default=DOC_KIB, help="KiB per document")
    ap.add_argument("--cf-upload-mb", type=int, default=UPLOAD_MB, help="MB of the upload")
    ap.add_argument("--cf-calls", type=int, default=CALLS, help="journal reads timed per kind")
    ap.add_argument("--cf-exports", type=int, default=2,
                    help="exports (and floors) timed per round")
    ap.add_argument("--cf-case-files", default="database",
                    help="where the case's documents are kept, each its own job: database, "
                         "folder or database,folder")
    ap.add_argument("--cf-quick", action="store_true",
                    help="a smoke test: 1 round, 30 documents of 8 KiB, a 2 MB upload, "
                         "5 calls, 1 export")


def run(a: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    if a.cf_quick:
        a.cf_rounds, a.cf_docs, a.cf_doc_kb, a.cf_upload_mb = 1, 30, 8, 2
        a.cf_calls, a.cf_exports = 5, 1
    scratch = ctx.folder("casefile")
    env = {**ctx.env, "WORKFLOW_BENCH_TMP": str(scratch)}
    pdf = scratch / "upload.pdf"
    make_pdf(pdf, a.cf_upload_mb)
    print(f"Case file: {a.cf_rounds} rounds; a {a.cf_upload_mb} MB upload, a case of "
          f"{a.cf_docs} x {a.cf_doc_kb} KiB documents; on {', '.join(ctx.dbs)}", flush=True)

    def done(r: int, name: str, res: dict[str, Any]) -> None:
        if name.startswith("case"):
            j = res["journal"]
            fig = (f"entries {j['entries']['median_ms']:.1f} ms, page "
                   f"{j['page']['median_ms']:.1f} ms, export "
                   f"{res['export']['export_mb_per_s']:.0f} MB/s (floor "
                   f"{res['export']['floor_mb_per_s']:.0f})")
        else:
            fig = f"{res['growth_mib']:.1f} MiB, {res['seconds']:.3f} s"
        print(f"round {r + 1}/{a.cf_rounds} {name}: {fig}", flush=True)

    t0 = time.time()
    rounds = run_rounds(jobs(ctx.dbs, pdf, a), a.cf_rounds, env, job_done=done)
    pdf.unlink()
    return {"revision": revision(), "rounds": a.cf_rounds, "calls": a.cf_calls,
            "upload_mb": a.cf_upload_mb, "docs": a.cf_docs, "wall_s": time.time() - t0,
            "load": os.getloadavg(), "results": rounds,
            "summary": summarize(rounds, ctx.dbs, case_stores(a)),
            "cpus": os.cpu_count()}
