"""Workload: Word drafts per second, the application letter beside docxtpl in the same run.

Every round runs, in turn and each in its own fresh process (the order rotated each round):

  workflow letter             workers/documents.py letter: context, Jinja render and .docx
                              of templates/documents/application_letter.md.j2 on the joint
                              letterhead, as ``workflow.documents.drafts.Drafts`` makes them
  workflow letter in a        workers/documents.py fire: ``wf.fire(confirm_areas)`` making
  transition (sqlite)         the letter minus the same step with no drafts, on SQLite
  docxtpl, python-docx +      the peers' bench_docx.py (one round of its own per round of
  jinja2, zip/XML floor       ours): an equivalent ~2-page Danish letter

and prints one table: medians over rounds (min-max), ms and documents per second, the
size of each letter (words, and pages as LibreOffice lays them out, when it is installed),
ms per 1,000 words, and ratios to docxtpl and to the floor taken within a round, then their
median. Goal: the letter in at most 0.5x docxtpl's time per document.

Both letters are read back once with python-docx: the case number in the header, every
area in the body, no placeholder left.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlib import (
    REPO_DIR,
    Context,
    Job,
    Options,
    Results,
    Verdict,
    fmt_ratio,
    med_range,
    print_head,
    run_rounds,
    worker,
)

DATABASES = False
GOAL = 0.5              # our letter in at most this times docxtpl's time per document
ROUNDS = 5
DOCS = 30               # timed documents per round and variant

# The peer's first context (bench_docx.context(0)): what its sample letter must show.
PEER_CASE = "2025-11000"
PEER_AREAS = ("Matr. nr. 10a, Ågården, Ebeltoft Jorder – 4,2 ha",
              "Matr. nr. 11b, Ågården, Ebeltoft Jorder – 5,1 ha",
              "Matr. nr. 12c, Ågården, Ebeltoft Jorder – 2,7 ha")
LEFTOVERS = ("{{", "{%", "[mangler]")


@dataclass(frozen=True)
class Row:
    name: str
    job: str            # which worker's RESULT
    key: str | None     # the peer's variant inside its RESULT
    sample: str         # file name of the row's sample document in the scratch folder
    role: str           # ours | peer | floor


ROWS = (
    Row("workflow letter", "letter", None, "ours_letter.docx", "ours"),
    Row("workflow letter in a transition", "fire", None, "ours_fire.docx", "ours"),
    Row("docxtpl (peer)", "peer", "docxtpl", "peer/results/sample_docxtpl.docx", "peer"),
    Row("python-docx + jinja2 (peer)", "peer", "python_docx",
        "peer/results/sample_python_docx.docx", "peer"),
    Row("zip/XML floor (peer)", "peer", "floor", "peer/results/sample_floor.docx", "floor"),
)
DOCXTPL, FLOOR = ROWS[2].name, ROWS[4].name


# ---------------------------------------------------------------------- running
def stage_peer(peers: Path, scratch: Path) -> Path:
    """A copy of the peer's script: it writes its sample letters next to itself, and the
    peers' folder is read-only."""
    target = scratch / "peer"
    target.mkdir(parents=True, exist_ok=True)
    for name in ("bench_docx.py", "common.py"):
        shutil.copy2(peers / name, target / name)
    return target


def jobs(peers_py: Path, peer: Path, scratch: Path, docs: int) -> list[Job]:
    """Each worker by the name its RESULT goes under, with its command and folder."""
    ours = worker("documents")
    return [
        ("letter", [*ours, "letter", "--docs", str(docs),
                    "--sample", str(scratch / ROWS[0].sample)], REPO_DIR),
        ("fire", [*ours, "fire", "--docs", str(docs),
                  "--sample", str(scratch / ROWS[1].sample)], REPO_DIR),
        ("peer", [str(peers_py), str(peer / "bench_docx.py"), "--rounds", "1",
                  "--docs", str(docs)], peer),
    ]


def figures(res: Mapping[str, dict[str, Any]]) -> dict[str, float]:
    """ms per document of every row in one round."""
    return {r.name: float(res[r.job][r.key]["ms_median"] if r.key else res[r.job]["ms_median"])
            for r in ROWS}


# --------------------------------------------------------------- the documents
def pdf_pages(files: Sequence[Path], scratch: Path) -> dict[Path, int]:
    """Pages of each .docx as LibreOffice lays it out (one conversion run); {} without it."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        return {}
    out = scratch / "pdf"
    proc = subprocess.run([soffice, f"-env:UserInstallation=file://{scratch}/lo-profile",
                           "--headless", "--convert-to", "pdf", "--outdir", str(out),
                           *map(str, files)], capture_output=True, timeout=300)
    pages = {}
    for f in files:
        pdf = out / f"{f.stem}.pdf"
        if proc.returncode == 0 and pdf.exists():
            pages[f] = len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf.read_bytes()))
    return pages


def read_back(path: Path, case: str, areas: Sequence[str]) -> dict[str, Any]:
    """Words (body and tables, as the peer counts them) after checking the content."""
    from docx import Document

    doc = Document(str(path))
    body = "\n".join(p.text for p in doc.paragraphs)
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    header = " ".join(p.text for p in doc.sections[0].header.paragraphs)
    problems = [f"case number {case!r} not in the header {header!r}"] if case not in header \
        else []
    problems += [f"area {a!r} not in the body" for a in areas if a not in body]
    problems += [f"{s!r} left in the text" for s in LEFTOVERS if s in body + "".join(cells)]
    if problems:
        raise SystemExit(f"{path.name}: " + "; ".join(problems))
    words = len(body.split()) + sum(len(c.split()) for c in cells)
    return {"words": words, "bytes": path.stat().st_size, "header": header.strip()}


def inspect(scratch: Path, last: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    facts: dict[str, dict[str, Any]] = {}
    for r in ROWS:
        path = scratch / r.sample
        if r.role == "ours":
            facts[r.name] = read_back(path, last[r.job]["sample_case"],
                                      last[r.job]["sample_areas"])
        else:
            facts[r.name] = read_back(path, PEER_CASE, PEER_AREAS)
    pages = pdf_pages([scratch / r.sample for r in ROWS], scratch)
    for r in ROWS:
        facts[r.name]["pages"] = pages.get(scratch / r.sample)
    return facts


# ---------------------------------------------------------------------- summary
def summarize(rounds: list[dict[str, dict[str, Any]]], facts: Mapping[str, dict[str, Any]]
              ) -> dict[str, dict[str, Any]]:
    per_round = [figures(res) for res in rounds]
    summary: dict[str, dict[str, Any]] = {}
    for r in ROWS:
        values = [f[r.name] for f in per_round]
        words = facts[r.name]["words"]
        wd = facts[DOCXTPL]["words"]
        m = statistics.median(values)
        summary[r.name] = {
            "role": r.role, "ms": med_range(values), "docs_per_s": 1000.0 / m,
            "ms_per_1k_words": m / words * 1000.0, **facts[r.name],
            "vs_docxtpl": med_range([f[r.name] / f[DOCXTPL] for f in per_round]),
            "vs_docxtpl_per_word": med_range([(f[r.name] / words) / (f[DOCXTPL] / wd)
                                              for f in per_round]),
            "vs_floor": med_range([f[r.name] / f[FLOOR] for f in per_round])}
    parts = {"context_ms": "letter", "render_ms": "letter", "docx_ms": "letter",
             "with_ms": "fire", "without_ms": "fire", "gather_ms": "fire"}
    summary["breakdown"] = {k: statistics.median(res[job][k] for res in rounds)
                            for k, job in parts.items()}
    return summary


def print_report(report: Mapping[str, Any]) -> None:
    summary = report["summary"]
    print(f"\nDocuments: {len(report['rounds'])} rounds x {report['docs']} documents per "
          f"variant, {report['wall_s']:.0f} s; medians over rounds, ratios per round then "
          f"their median (min-max)\n")
    head = (f"{'variant':<32} {'ms/doc':>6} {'(min-max)':>11} {'docs/s':>6} {'words':>5} "
            f"{'pages':>5} {'ms/1k words':>11}  {'x docxtpl time':<18} "
            f"{'x docxtpl per word':<18} {'x floor time'}")
    print_head(head)
    for r in ROWS:
        s = summary[r.name]
        ms = s["ms"]
        print(f"{r.name:<32} {ms['median']:6.1f} {ms['min']:5.1f}-{ms['max']:<5.1f} "
              f"{s['docs_per_s']:6.0f} {s['words']:5d} {s['pages'] or '-':>5} "
              f"{s['ms_per_1k_words']:11.1f}  {fmt_ratio(s['vs_docxtpl']):<18} "
              f"{fmt_ratio(s['vs_docxtpl_per_word']):<18} {fmt_ratio(s['vs_floor']):<18}"
              .rstrip())
    b = summary["breakdown"]
    ours, peer = summary[ROWS[0].name], summary[DOCXTPL]
    print(f"\n  workflow letter = context {b['context_ms']:.2f} + Jinja render "
          f"{b['render_ms']:.2f} + write_docx {b['docx_ms']:.2f} ms "
          f"(markdown-it parse, python-docx layout on the joint letterhead, save)\n"
          f"  in a transition (sqlite): confirm_areas making the letter {b['with_ms']:.1f} ms, "
          f"without drafts {b['without_ms']:.1f} ms; the difference is the row (gather "
          f"alone {b['gather_ms']:.1f} ms)\n"
          f"  letters: ours {ours['bytes']:,} bytes, header ...{ours['header'][-40:]!r}; "
          f"docxtpl {peer['bytes']:,} bytes, header {peer['header']!r}\n"
          f"  pages: LibreOffice's layout ('-': not installed); x docxtpl per word: ms per "
          f"word over docxtpl's, our letter being the longer one")


def goals(report: Mapping[str, Any]) -> list[Verdict]:
    summary = report["summary"]
    ours = summary[ROWS[0].name]
    x, per_word = ours["vs_docxtpl"]["median"], ours["vs_docxtpl_per_word"]["median"]
    return [(f"workflow letter in at most {GOAL}x docxtpl's time per document",
             f"{x:.2f}x ({ours['ms']['median']:.1f} vs {summary[DOCXTPL]['ms']['median']:.1f} "
             f"ms; per 1,000 words {per_word:.2f}x)", x <= GOAL)]


# -------------------------------------------------------------------------- run
def add_arguments(ap: Options) -> None:
    ap.add_argument("--doc-rounds", type=int, default=ROUNDS, help="rounds of documents")
    ap.add_argument("--docs", type=int, default=DOCS, help="documents per round and variant")


def run(a: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    """Every figure; the documents and the peer's copy go to the scratch folder."""
    peers = ctx.peer_script("bench_docx.py").parent
    scratch = ctx.folder("documents")
    peer = stage_peer(peers, scratch)
    env = {**ctx.env, "PEERS_TMP": str(scratch), "WORKFLOW_BENCH_TMP": str(scratch)}
    print(f"Documents: {a.doc_rounds} rounds x {a.docs} documents; scratch {scratch}",
          flush=True)
    def done(r: int, res: Results) -> None:
        print(f"round {r + 1}/{a.doc_rounds}: " + ", ".join(
            f"{n} {v:.1f}" for n, v in figures(res).items()) + " ms/doc", flush=True)

    t0 = time.time()
    results = run_rounds(jobs(ctx.peers_python(), peer, scratch, a.docs), a.doc_rounds, env,
                         round_done=done)
    wall = time.time() - t0
    facts = inspect(scratch, results[-1])
    return {"rounds": results, "summary": summarize(results, facts), "wall_s": wall,
            "docs": a.docs}
