"""Bulk-generate the cases the lists benchmark reads, not through the engine: PostgreSQL
with COPY, SQLite with executemany in one transaction.

``python bench/workers/lists_gen.py URL CASES`` fills a database that holds the demo's
set-up (``workflow init --demo-setup``) with CASES dispensations (a few BUM agreements among
them, between Ishøj and Brøndby), 10 audit entries a case, one open deadline per open
case, 3 document versions a case (one document; the bytes are a few shared small blobs,
not real .docx files: no benchmarked page reads them), and the search rows the engine
would have written (each case's number and title; its draft's text, ~40 Danish words).
Titles carry a place name out of ~5,000, so a search for one finds a few hundred cases at
1,000,000 (what a search for a name or a term finds), and a common word as well.

PostgreSQL: the secondary indexes of the tables are dropped before COPY and made again
after it, foreign keys are not checked during the load (``session_replication_role``),
then ``ANALYZE``. Prints ``RESULT {json}`` with the rows and seconds.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchlib import emit_json, libpq_url  # noqa: E402

AUDITS = 10
VERSIONS = 3
WORDS = ("ansøgning dispensation samarbejde genoptræning specialundervisning jobcenter "
         "kommune kommunalbestyrelse byråd borgere opgaver overgang medarbejdere økonomi "
         "ældrepleje socialområdet natur miljø sundhed beskæftigelse tilsyn afgørelse "
         "ministeriet høring vilkår budget forhandling aftale området ydelser køb salg "
         "overdragelse personale lokaler kvalitet sagsbehandling frister borgerservice "
         "myndighed drift tværkommunal løsning plan tidsplan risici erfaringer").split()
PLACES = [f"{a}{b}" for a in ("Skov", "Strand", "Mølle", "Kirke", "Bøge", "Eng", "Sø",
                              "Åby", "Holme", "Vester", "Øster", "Nørre", "Sønder", "Lille",
                              "Store", "Hede", "Bakke", "Kær", "Lund", "Mose")
          for b in ("vej", "gade", "sti", "park", "højen", "haven", "toften", "vænget",
                    "marken", "bakken", "lunden", "engen", "holmen", "stien", "kæret")]
PLACES = [f"{p}{n}" for p in PLACES for n in ("", "s", "by", "rød", "sted", "lev", "bjerg",
                                              "hus", "gård", "ende", "strup", "borg", "holt",
                                              "bæk", "dal", "høj", "næs")]
COOPERATION = "ishoj-vallensbaek"  # every case's (a BUM agreement's too: Ishøj is a party)
START = datetime(2018, 1, 8, 8, 0, tzinfo=UTC)


def place(i: int) -> str:
    return PLACES[(i * 7919) % len(PLACES)]


def plan(cases: int, definition: str) -> dict[str, Any]:
    """What every case looks like: the rows as tuples, by table, a generator each."""
    from workflow.process.definition import load

    spec = load(Path(__file__).resolve().parents[2] / "states.yaml")
    process = spec.processes["application"]
    states = list(process.states)
    finals = set(process.final_states)
    rnd = random.Random(21)
    blobs = [hashlib.sha256(str(i).encode()).digest() * 2 for i in range(8)]
    return {"states": states, "finals": finals, "rnd": rnd, "blobs": blobs,
            "definition": definition}


def case_rows(i: int, p: dict[str, Any]) -> dict[str, Any]:
    rnd: random.Random = p["rnd"]
    bum = i % 50 == 0
    state = p["states"][i % len(p["states"])] if not bum else "negotiation"
    created = START + timedelta(minutes=i % 500_000, seconds=i % 60)
    updated = created + timedelta(days=rnd.randrange(0, 900), seconds=rnd.randrange(86400))
    title = (f"{'Delaftale' if bum else 'Ansøgning'} om {rnd.choice(WORDS)} og "
             f"{rnd.choice(WORDS)} ved {place(i)}")
    return {"id": i, "bum": bum, "state": state, "created": created, "updated": updated,
            "title": title, "case": f"00.17.15-G01-{i}-{created.year % 100:02d}",
            "parties": ["ishoj", "brondby"] if bum else ["ishoj", "vallensbaek"],
            "open": state not in p["finals"] and not bum}


def iso(v: datetime | date) -> str:
    return v.isoformat()


def generate(cases: int, p: dict[str, Any], out: dict[str, list[tuple[Any, ...]]],
             first: int, last: int) -> None:
    """The rows of cases ``first``..``last`` into ``out`` (table -> rows)."""
    rnd: random.Random = p["rnd"]
    for i in range(first, last + 1):
        c = case_rows(i, p)
        process, kind = ("bum_agreement", "bum_agreement") if c["bum"] \
            else ("application", "dispensation")
        out["application"].append((
            i, process, kind, None if c["bum"] else 1, c["title"], c["case"], c["state"],
            AUDITS, AUDITS, iso(c["updated"]), iso(c["updated"].date()), p["definition"],
            json.dumps(c["parties"]), "{}", iso(c["created"]), iso(c["created"].date()),
            "pl-ishoj", iso(c["updated"]), "pl-ishoj", COOPERATION))
        for m in c["parties"]:
            out["application_party"].append((i, m))
        for v in range(1, AUDITS + 1):
            at = c["created"] + (c["updated"] - c["created"]) * (v - 1) / (AUDITS - 1)
            out["audit_entry"].append((
                i, v, "create" if v == 1 else "edit", None if v == 1 else c["state"],
                c["state"], "pl-ishoj", "project_lead", "ishoj", iso(at), iso(at.date()),
                "", "{}"))
        if c["open"]:
            due = c["updated"].date() + timedelta(days=rnd.randrange(-30, 120))
            out["deadline"].append((i, i, c["state"], None, iso(due),
                                    "20 arbejdsdage efter", True, None, AUDITS))
        out["document"].append((i, i, "application_letter", "", iso(c["created"])))
        for n in range(1, VERSIONS + 1):
            blob = p["blobs"][(i + n) % len(p["blobs"])]
            sha = hashlib.sha256(blob).hexdigest()
            out["document_version"].append((
                (i - 1) * VERSIONS + n, i, n, iso(c["created"]), "pl-ishoj", "edit", n,
                c["state"], iso(c["created"].date()), "application_letter.md.j2", sha, sha,
                "{}", sha, sha, len(blob), blob, n < VERSIONS, None, "generated", ""))
        text = " ".join(rnd.choice(WORDS) for _ in range(40))
        out["search_entry"].append((2 * i - 1, i, "case", f"{c['case']} {c['title']}",
                                    iso(c["updated"])))
        out["search_entry"].append((2 * i, i, "document:application_letter:",
                                    f"{c['title']}. {text}", iso(c["updated"])))


COLUMNS = {
    "application": "id, process, kind, round, title, case_number, state, version, "
                   "entered_version, entered_at, entered_on, definition_hash, parties, data, "
                   "created_at, opened_on, created_by, updated_at, updated_by, cooperation_id",
    "application_party": "application_id, municipality",
    "audit_entry": "application_id, version, trigger, from_state, to_state, user_id, role, "
                   "municipality, at, happened_on, comment, data",
    "deadline": "id, application_id, state, party, due, derivation, active, met_at, version",
    "document": "id, application_id, name, party, created_at",
    "document_version": "id, document_id, number, created_at, created_by, trigger, "
                        "audit_version, state, letter_date, template, template_sha256, "
                        "input_sha256, input, approval_sha256, sha256, size, content, stale, "
                        "stale_at, origin, note",
    "search_entry": "id, application_id, source, body, updated_at",
}
BATCH = 20_000


def _copy_text(rows: list[tuple[Any, ...]]) -> str:
    def field(v: Any) -> str:
        if v is None:
            return r"\N"
        if isinstance(v, bool):
            return "t" if v else "f"
        if isinstance(v, bytes):
            return "\\\\x" + v.hex()
        s = str(v)
        return s.replace("\\", "\\\\").replace("\t", " ").replace("\n", " ")
    buf = io.StringIO()
    for r in rows:
        buf.write("\t".join(field(v) for v in r))
        buf.write("\n")
    return buf.getvalue()


def load_pg(url: str, cases: int) -> dict[str, Any]:
    import psycopg

    counts = dict.fromkeys(COLUMNS, 0)
    with psycopg.connect(libpq_url_of(url), autocommit=True) as conn:
        schema = conn.execute("SELECT current_schema()").fetchone()[0]
        definition = conn.execute("SELECT hash FROM definition LIMIT 1").fetchone()[0]
        indexes = conn.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = %s "
            "AND i.tablename = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
            "WHERE c.conname = i.indexname)", (schema, list(COLUMNS))).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        conn.execute("SET session_replication_role = replica")
        p = plan(cases, definition)
        present = {r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))}
        t0 = time.perf_counter()
        for first in range(1, cases + 1, BATCH):
            out: dict[str, list[tuple[Any, ...]]] = {k: [] for k in COLUMNS}
            generate(cases, p, out, first, min(cases, first + BATCH - 1))
            with conn.transaction():
                for table, rows in out.items():
                    if table not in present:   # a schema before 0018 (the "before" figures)
                        continue
                    with conn.cursor().copy(f"COPY {table} ({COLUMNS[table]}) FROM STDIN") \
                            as copy:
                        copy.write(_copy_text(rows))
                    counts[table] += len(rows)
            if first // BATCH % 10 == 0:
                print(f"  {first + BATCH - 1:,} cases, {time.perf_counter() - t0:.0f} s",
                      file=sys.stderr, flush=True)
        loaded = time.perf_counter() - t0
        conn.execute("SET session_replication_role = DEFAULT")
        for _, ddl in indexes:
            conn.execute(ddl)
        for table in ("application", "deadline", "document", "document_version",
                      "search_entry"):
            if table not in present:
                continue
            seq = conn.execute("SELECT pg_get_serial_sequence(%s, 'id')", (table,)).fetchone()
            if seq and seq[0]:
                conn.execute(f"SELECT setval('{seq[0]}', (SELECT max(id) FROM {table}))")
        conn.execute("VACUUM ANALYZE")
        return {"rows": counts, "load_s": loaded, "total_s": time.perf_counter() - t0}


def libpq_url_of(url: str) -> str:
    """The libpq form of ``url``, its ``options`` (the schema) kept."""
    return libpq_url(url)   # (libpq decodes the %3D of the options itself)


def load_sqlite(url: str, cases: int) -> dict[str, Any]:
    import sqlite3

    path = url.removeprefix("sqlite:///")
    counts = dict.fromkeys(COLUMNS, 0)
    conn = sqlite3.connect(path)
    definition = conn.execute("SELECT hash FROM definition LIMIT 1").fetchone()[0]
    p = plan(cases, definition)
    t0 = time.perf_counter()
    for first in range(1, cases + 1, BATCH):
        out: dict[str, list[tuple[Any, ...]]] = {k: [] for k in COLUMNS}
        generate(cases, p, out, first, min(cases, first + BATCH - 1))
        with conn:
            for table, rows in out.items():
                cols = COLUMNS[table]
                marks = ", ".join("?" * len(cols.split(",")))
                conn.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})",
                                 [tuple(_sqlite(v, table) for v in r) for r in rows])
                counts[table] += len(rows)
    loaded = time.perf_counter() - t0
    conn.execute("ANALYZE")
    conn.close()
    return {"rows": counts, "load_s": loaded, "total_s": time.perf_counter() - t0}


def _sqlite(v: Any, table: str) -> Any:
    """SQLite keeps timestamps as SQLAlchemy writes them: 'YYYY-MM-DD HH:MM:SS.ffffff'."""
    if isinstance(v, str) and len(v) >= 25 and v[10] == "T" and v.endswith("+00:00"):
        return v[:-6].replace("T", " ") + ("" if "." in v else ".000000")
    return v


def main() -> None:
    url, cases = sys.argv[1], int(sys.argv[2])
    from workflow.config import Settings
    from workflow.engine.workflow import Workflow

    Workflow.open(Settings(database_url=url)).close()   # records states.yaml's definition
    res = load_pg(url, cases) if url.startswith("postgresql") else load_sqlite(url, cases)
    emit_json({"cases": cases, **res})


if __name__ == "__main__":
    main()
