"""Word drafts: made inside transitions, versioned in the database, listed and downloaded.

A version is never overwritten. Each records its number, the transition and audit entry
that made it, who and when, and sha256 of the bytes, of the template (with its
letterhead) and of the input data; the bytes live in the database, so every worker and
machine shares them. A new version is made only when the input or the template changed;
the one before it is then marked stale. A council approval records the version it
approved (its sha256) and the digest of its substance (template, letterhead and input
without the councils' own records); it shows as no longer matching when a later version
differs in substance, not when the draft merely reports a council's meeting or decision.
Each version also keeps its recipe (``recipe.py``: the context, letterhead and engine that
regenerate exactly its bytes) and is linked into the case's hash chain (``store/chain.py``)
in the step's transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from .. import danish
from ..errors import DocumentError
from ..operations import metrics
from ..process.spec import Definition, DraftSpec, Facts, TransitionSpec
from ..store import chain, journal, search
from ..store import tables as t
from . import rendering
from .context import Inputs, build_context, gather, input_digest
from .docx_writer import write_docx
from .letterhead import Letterheads, letterhead_spec, logos_of
from .recipe import made_on, make_recipe

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass(frozen=True)
class Made:
    document_id: int
    name: str
    party: str
    number: int
    sha256: str


class Drafts:
    """Makes the drafts of one definition from the templates in one folder."""

    def __init__(self, definition: Definition, templates_dir: Path, tz: ZoneInfo) -> None:
        self.definition = definition
        self.dir = templates_dir
        self.env = rendering.make_environment(templates_dir / "documents")
        self.tz = tz
        self.letterheads = Letterheads(templates_dir / "reference" / "base.docx")
        self._files: dict[Path, tuple[float, bytes]] = {}
        # (kind, state) in which some draft is live: kept up to date on every change there
        self._live = {(kind, state) for d in definition.drafts.values()
                      for kind in d.applies_to for state in d.live_in}

    def _read(self, path: Path) -> bytes:
        try:
            mtime = path.stat().st_mtime
        except OSError:
            raise DocumentError(f"missing template file {path}") from None
        cached = self._files.get(path)
        if cached is None or cached[0] != mtime:
            cached = (mtime, path.read_bytes())
            self._files[path] = cached
        return cached[1]

    def sources(self, draft: DraftSpec, party: str | None, inputs: Inputs,
                data: Mapping[str, Any] | None = None) -> tuple[str, bytes, str]:
        """Template name, letterhead bytes, and sha256 over both (for the case of
        ``inputs``)."""
        name = self.template_name(draft, party, inputs.rows)
        _spec, paper, paper_sha = self.paper(
            draft, party, [m["id"] for m in inputs.municipalities], inputs.rows, data)
        _body, digest = self.files(name, paper_sha)
        return name, paper, digest

    def template_name(self, draft: DraftSpec, party: str | None,
                      rows: Mapping[str, Mapping[str, Any]]) -> str:
        """The draft's template; for a council with a template of its own (the column
        ``own_template:`` names, e.g. ``agenda_template``), that one."""
        if draft.own_template and party is not None:
            row = rows.get(party) or {}
            own = row.get(draft.own_template)
            if own:
                if "/" in str(own) or "\\" in str(own) or ".." in str(own) \
                        or not (self.dir / "documents" / str(own)).is_file():
                    raise DocumentError(
                        f"cannot make {draft.name} for {row.get('name', party)}: its "
                        f"{draft.own_template} names {own!r}, which is not a template in "
                        f"{self.dir / 'documents'}")
                return str(own)
        return draft.template_for(party)

    def letterhead_name(self, draft: DraftSpec, party: str | None,
                        data: Mapping[str, Any] | None = None) -> str:
        try:
            return draft.letterhead_for(party, data)
        except KeyError as exc:
            raise DocumentError(
                f"cannot make {draft.name}: its letterhead {draft.letterhead!r} names the "
                f"field {exc.args[0]!r}, which this case does not have") from None

    def paper(self, draft: DraftSpec, party: str | None, parties: Sequence[str],
              rows: Mapping[str, Mapping[str, Any]], data: Mapping[str, Any] | None = None
              ) -> tuple[dict[str, Any], bytes, str]:
        """The letterhead's inputs (for the recipe), its bytes and their sha256: made from
        the municipality ``rows`` (one municipality's, or ``joint``: all ``parties``)."""
        chosen = self.letterhead_name(draft, party, data)
        try:
            spec = letterhead_spec(chosen, parties, rows)
        except DocumentError as exc:
            raise DocumentError(f"cannot make {draft.name}: {exc}") from None
        paper, digest = self.letterheads.make(spec, logos_of(rows, spec))
        return spec, paper, digest

    def files(self, template: str, paper_sha: str) -> tuple[bytes, str]:
        """A template's bytes, and the sha256 over it (with the sections it includes) and
        its letterhead (``paper_sha``: :meth:`Letterheads.digest`)."""
        body = self._read(self.dir / "documents" / template)
        whole = body
        for included in self.section_files(body):  # the sections' own default text
            whole += b"\0" + self._read(included)
        return body, hashlib.sha256(whole + b"\0" + paper_sha.encode()).hexdigest()

    def render(self, template: str, ctx: Mapping[str, Any], letterhead: bytes,
               recipe: Mapping[str, Any], what: str) -> bytes:
        """A draft's bytes from its context, template, letterhead and recipe (header,
        title, author, date): nothing else, so the same inputs give the same bytes."""
        return self.write(self.text(template, ctx, what), letterhead, recipe)

    def text(self, template: str, ctx: Mapping[str, Any], what: str) -> str:
        """A draft's text (markdown) from its template and context."""
        try:
            return str(self.env.get_template(template).render(ctx))
        except Exception as exc:  # a template error blocks the step, saying where
            problem = rendering._render_problem(exc, template)
            raise DocumentError(f"cannot make {what}: {problem}") from None

    @staticmethod
    def write(markdown: str, letterhead: bytes, recipe: Mapping[str, Any]) -> bytes:
        """A draft's bytes from its text, letterhead and recipe."""
        return write_docx(markdown, letterhead, header=recipe["header"], title=recipe["title"],
                          author=recipe["author"],
                          created=made_on(date.fromisoformat(recipe["created"])))

    def section_files(self, template: bytes) -> list[Path]:
        """The section templates a template includes (its default text per section)."""
        from .sections import SECTIONS

        return [self.dir / "documents" / "sections" / f"{n}.md.j2" for n in SECTIONS
                if f'"sections/{n}.md.j2"'.encode() in template]

    def section_drafts(self, kind: str) -> list[DraftSpec]:
        """The drafts of ``kind`` that print the case's own sections."""
        return [d for d in self.applicable(kind) if not d.per_party and self.section_files(
            self._read(self.dir / "documents" / d.template_for(None)))]

    def renew(self, conn: Connection, app: Mapping[str, Any], drafts: Sequence[DraftSpec], *,
              actor: tuple[str, str], now: datetime, trigger: str,
              document_id: int | None = None, note: str | None = None) -> list[Made]:
        """New versions of the case's existing ``drafts`` (only ``document_id``, if given)
        whose data changed outside a step (the case's own text was edited); ``note``: a
        confirmed regeneration, which replaces even a version edited by hand."""
        d = t.document
        rows = conn.execute(select(d.c.id, d.c.name, d.c.party).where(
            d.c.application_id == app["id"], d.c.name.in_([x.name for x in drafts])))
        specs = {x.name: x for x in drafts}
        made: list[Made] = []
        inputs = None
        for r in rows:
            if document_id is not None and r.id != document_id:
                continue
            inputs = inputs or gather(conn, self.definition, app, self.tz)
            got = self._make(conn, app, specs[r.name], r.party or None, r.id, inputs,
                             actor=actor, now=now, version=app["version"], trigger=trigger,
                             note=note)
            if got is not None:
                made.append(got)
        return made

    def applicable(self, kind: str) -> list[DraftSpec]:
        return [d for d in self.definition.drafts.values() if kind in d.applies_to]

    def check(self, members: Sequence[Mapping[str, Any]] | None = None,
              everyone: Sequence[Mapping[str, Any]] | None = None
              ) -> list[rendering.TemplateProblem]:
        """Every problem in every template the definition names, for every municipality
        (``members``: of a cooperation; ``everyone``: also the BUM parties; by default the
        demo's): see ``checking.py``."""
        from .checking import check_drafts

        return check_drafts(self, members, everyone)

    def facts(self, draft: DraftSpec, inputs: Inputs, letter_date: date) -> Facts:
        """The ministry, law and populations a draft names: as on its ``facts_on`` date
        (the decision memo: the decision's), else as on the letter's own date."""
        day = letter_date
        if draft.facts_on is not None:
            given = inputs.data.get(draft.facts_on)
            try:
                day = date.fromisoformat(str(given)) if given else letter_date
            except ValueError:
                pass
        return self.definition.facts_on(day)

    def _process_of(self, draft: DraftSpec) -> str:
        """The process whose kinds the draft is for (the first, should there be several)."""
        for name, process in self.definition.processes.items():
            if any(kind in process.kinds for kind in draft.applies_to):
                return name
        return "application"

    # ------------------------------------------------------------------ making
    def concern(self, kind: str, state: str, spec: TransitionSpec) -> bool:
        """Whether a transition by ``spec`` into ``state`` may make or renew a draft."""
        return bool(spec.documents or spec.approves or (kind, state) in self._live)

    def refresh(self, conn: Connection, app: Mapping[str, Any], spec: TransitionSpec, *,
                completes: bool, actor: tuple[str, str], now: datetime, version: int,
                trigger: str, day: date | None = None) -> list[Made]:
        """Make the drafts the transition declares and renew live ones whose data changed;
        they are dated ``day``, the day the step happened (by default ``now``'s)."""
        drafts = self.applicable(app["kind"])
        wanted = {d.name for d in drafts if d.name in spec.documents and completes}
        live = {d.name for d in drafts if app["state"] in d.live_in}
        if not wanted and not live and not spec.approves:
            return []
        d = t.document
        existing = {(r.name, r.party): r.id for r in conn.execute(
            select(d.c.id, d.c.name, d.c.party).where(d.c.application_id == app["id"]))}
        targets = []
        for draft in drafts:
            for party in (app["parties"] if draft.per_party else [None]):
                key = (draft.name, party or "")
                if draft.name in wanted or (draft.name in live and key in existing):
                    targets.append((draft, party, existing.get(key)))
        made: list[Made] = []
        inputs: Inputs | None = None
        for draft, party, doc_id in targets:
            inputs = inputs or gather(conn, self.definition, app, self.tz)
            result = self._make(conn, app, draft, party, doc_id, inputs, actor=actor, now=now,
                                version=version, trigger=trigger, day=day,
                                issued=draft.name in wanted)
            if result is not None:
                made.append(result)
        if spec.approves:
            self._record_approval(conn, app["id"], spec.approves, version)
        if wanted:
            self._record_issued(conn, app["id"], wanted, version)
        return made

    def _record_issued(self, conn: Connection, app_id: int, names: set[str],
                       version: int) -> None:
        """Write the versions this step issued (made now, or kept: one edited by hand)
        into its audit entry, with their sha256: the record of what was sent."""
        d, dv, ae = t.document, t.document_version, t.audit_entry
        issued = [{"document": r.id, "name": r.name, "party": r.party or None,
                   "number": r.number, "sha256": r.sha256} for r in conn.execute(
            select(d.c.id, d.c.name, d.c.party, dv.c.number, dv.c.sha256)
            .join(dv, dv.c.document_id == d.c.id)
            .where(d.c.application_id == app_id, d.c.name.in_(sorted(names)),
                   dv.c.stale.is_(False)).order_by(d.c.id))]
        key = (ae.c.application_id == app_id) & (ae.c.version == version)
        data = conn.execute(select(ae.c.data).where(key)).scalar()
        if data is not None and issued:
            conn.execute(update(ae).where(key).values(data={**data, "issued": issued}))
            # the step's links hash its audit entry as it now stands (one transaction)
            chain.relink(conn, app_id, "audit_entry", version)

    def _make(self, conn: Connection, app: Mapping[str, Any], draft: DraftSpec,
              party: str | None, doc_id: int | None, inputs: Inputs, *,
              actor: tuple[str, str], now: datetime, version: int, trigger: str,
              day: date | None = None, issued: bool = False,
              note: str | None = None) -> Made | None:
        """A new version of one draft, if its data or template changed since the latest
        one, or if the step ``issued`` it (declared it under ``documents:``) on another day
        than the latest one's: the application sent is dated the day it is sent.

        A latest version edited by hand is never replaced (what is approved and sent is
        that version), unless a regeneration was confirmed with a ``note``."""
        letter_date = day or now.astimezone(self.tz).date()
        facts = self.facts(draft, inputs, letter_date)
        template = self.template_name(draft, party, inputs.rows)
        spec, letterhead, paper_sha = self.paper(draft, party, app["parties"], inputs.rows,
                                                 app["data"])
        _body, template_sha = self.files(template, paper_sha)
        if facts.ministry is None and b"ministry" in self._read(self.dir / "documents" /
                                                                 template):
            first = self.definition.ministries[0].since if self.definition.ministries else None
            raise DocumentError(
                f"cannot make {draft.name}: no ministry is declared for {facts.day} in "
                f"{self.definition.file} (documents: ministries"
                + (f" begins on {first})" if first else " is empty)"))
        ctx = build_context(inputs, letter_date=letter_date, facts=facts, party=party)
        input_sha, substance_sha, plain = input_digest(ctx)
        approval_sha = hashlib.sha256(f"{template_sha}:{substance_sha}".encode()).hexdigest()
        dv = t.document_version
        latest = None if doc_id is None else conn.execute(
            select(dv.c.number, dv.c.input_sha256, dv.c.template_sha256, dv.c.letter_date,
                   dv.c.origin).where(dv.c.document_id == doc_id)
            .order_by(dv.c.number.desc()).limit(1)).first()
        if latest is not None and note is None and (latest.origin == "edited" or (
                (latest.input_sha256, latest.template_sha256) == (input_sha, template_sha)
                and (not issued or latest.letter_date == letter_date))):
            return None
        recipe = make_recipe(
            ctx, letterhead=spec, header={
                "case_number": app["case_number"], "date": danish.long_date(letter_date)},
            title=f"{draft.label.da} – {app['case_number']}", letter_date=letter_date)
        with metrics.timed_render(draft.name):
            markdown = self.text(template, ctx, draft.name)
            content = self.write(markdown, letterhead, recipe)
        if doc_id is None:
            doc_id = conn.execute(insert(t.document).values(
                application_id=app["id"], name=draft.name, party=party or "",
                created_at=now).returning(t.document.c.id)).scalar_one()
        else:
            conn.execute(update(dv).where(dv.c.document_id == doc_id, dv.c.stale.is_(False))
                         .values(stale=True, stale_at=now))
        number = latest.number + 1 if latest is not None else 1
        sha = hashlib.sha256(content).hexdigest()
        version_id = conn.execute(insert(dv).values(
            document_id=doc_id, number=number, created_at=now, created_by=actor[0],
            trigger=trigger, audit_version=version, state=app["state"], letter_date=letter_date,
            template=template, template_sha256=template_sha, input_sha256=input_sha,
            input=plain, approval_sha256=approval_sha, sha256=sha, size=len(content),
            content=content, stale=False, recipe=recipe, origin="generated",
            note=note or "").returning(dv.c.id)).scalar_one()
        chain.append(conn, app["id"], "document_version", version_id)
        search.index_text(conn, app["id"], f"document:{draft.name}:{party or ''}", markdown,
                          now)
        journal.add(conn, application_id=app["id"], registered_at=now,
                    registered_by=actor[0], dated=letter_date, kind="generated",
                    direction="internal", doc_type="draft", description=draft.name,
                    party=party or "", media_type=DOCX, sha256=sha, size=len(content),
                    document_version_id=version_id)
        return Made(int(doc_id), draft.name, party or "", number, sha)

    def _record_approval(self, conn: Connection, app_id: int, names: Sequence[str],
                         version: int) -> None:
        """Write the approved drafts' current versions into the act of this step."""
        d, dv, pa = t.document, t.document_version, t.party_act
        approved = [{"document": r.name, "document_id": r.id, "number": r.number,
                     "sha256": r.sha256, "approval_sha256": r.approval_sha256}
                    for r in conn.execute(
            select(d.c.id, d.c.name, dv.c.number, dv.c.sha256, dv.c.approval_sha256)
            .join(dv, dv.c.document_id == d.c.id)
            .where(d.c.application_id == app_id, d.c.name.in_(names), dv.c.stale.is_(False)))]
        act = conn.execute(select(pa.c.id, pa.c.data).where(
            pa.c.application_id == app_id, pa.c.version == version)).first()
        if act is not None and approved:
            conn.execute(update(pa).where(pa.c.id == act.id)
                         .values(data={**act.data, "approved": approved}))
