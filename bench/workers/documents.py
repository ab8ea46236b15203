"""Worker: the application letter made as the engine makes it, per document and per transition.

Workloads
  letter  the engine's path for one draft, without the database: ``build_context`` from
          ``doccontext.Inputs`` (``sample_inputs(full=True)``, varied per document: case
          number, title, council meeting dates and agenda references, contact names), the
          draft's template and letterhead through ``Drafts.sources`` (cached bytes, as in
          the engine), the Jinja render through ``rendering.make_environment`` (compiled
          template cached, as in the engine) and ``docx_writer.write_docx`` onto
          the parties' joint letterhead (made once from their rows on
          ``templates/reference/base.docx`` and cached), bytes out in memory. Building the Inputs
          stands in for the database ``gather`` and is not timed.
  fire    the full in-engine cost on SQLite: ``wf.fire(app, "confirm_areas")`` by the
          second municipality (the step that completes the joint confirmation and makes
          the letter) with the engine opened on ``templates/`` versus the same step with
          ``templates_dir=None`` (no drafts), on the same database, applications
          alternating between the two. The difference is what making the draft adds to a
          transaction: gather, context, digests, render, .docx, sha256 and the INSERT of
          the bytes. ``gather`` alone is timed too (in its own read transaction). The steps
          before and after (create, propose, first confirmation, withdraw to free the
          areas) are not timed.

Both print one ``RESULT {json}`` line with per-document medians in milliseconds; with
``--sample FILE`` the first document's bytes are written there for the driver's checks.

usage: python bench/workers/documents.py letter|fire [--docs 30] [--sample FILE]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from workflow import danish
from workflow.config import Settings
from workflow.documents.context import Inputs, build_context, gather
from workflow.documents.docx_writer import write_docx
from workflow.documents.drafts import Drafts
from workflow.documents.samples import sample_inputs
from workflow.engine.workflow import Workflow
from workflow.process.definition import load
from workflow.store import database as store
from workflow.store import tables as t

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/, for benchlib
from benchlib import REPO_DIR, demo_database, emit_json, scratch_dir, sqlite_url  # noqa: E402

DRAFT = "application_letter"
TEMPLATES = REPO_DIR / "templates"
WARM_UP = 5
ROUND_ONE = "rehabilitation,special_education,nature_environment"


def ms(seconds: list[float]) -> float:
    return statistics.median(seconds) * 1e3


# ----------------------------------------------------------------------- letter
def varied_inputs(k: int) -> Inputs:
    """A full sample case, different in every document's header, body and table."""
    inputs = sample_inputs(full=True)
    inputs.case.update(number=f"00.17.15-G01-{1000 + k}-18", title=f"Dispensationsansøgning {k}")
    for i, m in enumerate(inputs.municipalities):
        m["contact"] = {"name": f"Projektleder {k}-{i + 1}", "email": f"pl{k}-{i + 1}@kommune.dk"}
    for i, act in enumerate(inputs.acts["council"].values()):
        act["meeting_date"] = (date(2018, 3, 1) + timedelta(days=(k + 11 * i) % 60)).isoformat()
        act["agenda_ref"] = f"Byrådet, punkt {k % 40 + i + 1}"
    return inputs


class LetterMaker:
    """The engine's steps for one application letter (``Drafts._make`` without the database)."""

    def __init__(self) -> None:
        definition = load(str(REPO_DIR / "states.yaml"))
        tz = ZoneInfo(Settings().timezone)
        self.drafts = Drafts(definition, TEMPLATES, tz)
        self.inputs = sample_inputs(full=True)   # the parties whose letterhead is made
        self.spec = definition.drafts[DRAFT]
        self.now = datetime.now(tz)
        self.letter_date = self.now.date()
        self.facts = definition.facts_on(self.letter_date)
        self.long_date = danish.long_date(self.letter_date)

    def context(self, inputs: Inputs) -> dict[str, Any]:
        return build_context(inputs, letter_date=self.letter_date, facts=self.facts)

    def markdown(self, ctx: dict[str, Any]) -> tuple[str, bytes]:
        template, letterhead, _sha = self.drafts.sources(self.spec, None, self.inputs)
        return self.drafts.env.get_template(template).render(ctx), letterhead

    def docx(self, markdown: str, letterhead: bytes, number: str) -> bytes:
        return write_docx(markdown, letterhead,
                          header={"case_number": number, "date": self.long_date},
                          title=f"{self.spec.label.da} – {number}", author="Bench",
                          created=self.now)


def run_letter(docs: int, sample: Path | None) -> dict[str, Any]:
    maker = LetterMaker()
    pc = time.perf_counter
    parts: dict[str, list[float]] = {"context": [], "render": [], "docx": []}
    totals: list[float] = []
    size, markdown = 0, ""
    for k in range(WARM_UP + docs):
        inputs = varied_inputs(k)           # stands in for gather: not timed
        if k == WARM_UP:
            gc.collect()
        t0 = pc()
        ctx = maker.context(inputs)
        t1 = pc()
        markdown, letterhead = maker.markdown(ctx)
        t2 = pc()
        content = maker.docx(markdown, letterhead, inputs.case["number"])
        t3 = pc()
        if k < WARM_UP:
            if k == 0 and sample is not None:
                sample.write_bytes(content)
            continue
        totals.append(t3 - t0)
        parts["context"].append(t1 - t0)
        parts["render"].append(t2 - t1)
        parts["docx"].append(t3 - t2)
        size = len(content)
    first = varied_inputs(0)
    return {"variant": "letter", "docs": docs, "ms_median": ms(totals),
            "ms_min": min(totals) * 1e3, "ms_max": max(totals) * 1e3,
            **{f"{name}_ms": ms(v) for name, v in parts.items()},
            "markdown_chars": len(markdown), "bytes": size,
            "sample_case": first.case["number"], "sample_areas": [x["name"] for x in first.areas]}


# ------------------------------------------------------------------------- fire
def run_fire(docs: int, sample: Path | None) -> dict[str, Any]:
    url = demo_database(sqlite_url(scratch_dir() / "documents.db"))
    with_drafts = Workflow.open(Settings(database_url=url, templates_dir=TEMPLATES),
                                definition=load(str(REPO_DIR / "states.yaml")))
    assert with_drafts.drafts is not None
    without = Workflow(with_drafts.definition, with_drafts.engine, templates_dir=None)
    a, dv = t.application, t.document_version
    pc = time.perf_counter
    times: dict[bool, list[float]] = {True: [], False: []}
    gathers: list[float] = []
    content, sample_case = b"", ""
    sample_areas: list[str] = []
    for k in range(2 * (WARM_UP + docs)):
        drafting = (k // 2 + k) % 2 == 0     # pairs alternate: on/off, off/on, ...
        wf = with_drafts if drafting else without
        app = wf.create(kind="dispensation", round=1, title=f"Bench {k}", user="pl-ishoj")
        wf.fire(app, "propose_areas", user="pl-ishoj", data={"areas": ROUND_ONE})
        wf.fire(app, "confirm_areas", user="pl-ishoj")
        if k == 2 * WARM_UP:
            gc.collect()
        s = pc()
        out = wf.fire(app, "confirm_areas", user="pl-vallensbaek")
        took = pc() - s
        assert out.to_state == "drafting", out
        assert [m.name for m in out.documents] == ([DRAFT] if drafting else []), out
        if drafting:
            with store.read(wf.engine) as conn:
                row = dict(conn.execute(select(a).where(a.c.id == app)).mappings().one())
                s = pc()
                gather(conn, wf.definition, row, wf.tz)
                took_gather = pc() - s
                if k == 0:
                    content = conn.execute(select(dv.c.content).where(
                        dv.c.document_id == out.documents[0].document_id)).scalar_one()
                    if sample is not None:
                        sample.write_bytes(content)
                    sample_case = str(row["case_number"])
                    sample_areas = [x["name"] for x in
                                    gather(conn, wf.definition, row, wf.tz).areas]
        for lead in ("pl-ishoj", "pl-vallensbaek"):  # both, as both acted: frees the areas
            wf.fire(app, "withdraw", user=lead, data={"reason": "benchmark"})
        if k >= 2 * WARM_UP:
            times[drafting].append(took)
            if drafting:
                gathers.append(took_gather)
    with_drafts.close()
    with_ms, without_ms = ms(times[True]), ms(times[False])
    return {"variant": "fire", "docs": docs, "with_ms": with_ms, "without_ms": without_ms,
            "ms_median": with_ms - without_ms, "gather_ms": ms(gathers),
            "with_ms_min": min(times[True]) * 1e3, "with_ms_max": max(times[True]) * 1e3,
            "bytes": len(content), "sample_case": sample_case, "sample_areas": sample_areas}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("workload", choices=["letter", "fire"])
    ap.add_argument("--docs", type=int, default=30, help="timed documents (fire: per side)")
    ap.add_argument("--sample", type=Path, help="write the first document's bytes here")
    a = ap.parse_args()
    res = run_letter(a.docs, a.sample) if a.workload == "letter" else run_fire(a.docs, a.sample)
    print(f"{a.workload}: {res['ms_median']:.2f} ms per document")
    emit_json(res)


if __name__ == "__main__":
    main()
