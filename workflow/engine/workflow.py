"""The engine: create applications and fire triggers, each as one database transaction.

A transition checks, in order: the case exists and the user's municipality is a party;
the trigger exists from the state (else the allowed ones are named); the role; the data;
the ``when`` branch, the guards (the ``transitions`` machine), the required data. It then
writes the state with a version check, the audit entry, the municipality's act, the
effects, any spawned case and the deadlines, and commits them together.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.engine import Connection, RowMapping

from ..calendar.workdays import WorkCalendar
from ..config import Settings, system_clock
from ..documents.drafts import Drafts, Made
from ..documents.listing import Download, download, readable_version
from ..documents.recipe import Reproduction, reproduce
from ..errors import (
    GuardFailed,
    InvalidData,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    Said,
    SetupError,
)
from ..operations.metrics import counts_refusals, counts_transitions
from ..process import datebounds, values
from ..process import machine as mc
from ..process.definition import Definition, ProcessSpec
from ..process.definition import load as load_definition
from ..process.names import Names
from ..process.spec import HAPPENED
from ..process.versions import register_definition
from ..rules import registry as rules
from ..store import chain
from ..store import database as store
from ..store import tables as t
from ..store.statements import HotStatements, cursor
from . import cooperations as coops
from .actors import Actor as Actor
from .actors import Outcome as Outcome
from .changes import conflict, describe_change, last_change, translate_db_errors
from .context import TxContext
from .deadlines import DeadlineKeeper
from .opening import check_new, check_source, check_user, insert_case
from .turns import Turn
from .when import check_day, opened_day, step_day

Clock = Callable[[], datetime]


class Workflow:
    """One definition on one database. Thread-safe; open once per process."""

    def __init__(self, definition: Definition, engine: Engine, *, clock: Clock = system_clock,
                 timezone: str = "Europe/Copenhagen", templates_dir: Path | None = None) -> None:
        self.definition = definition
        self.engine = engine
        self.clock = clock
        self.tz = ZoneInfo(timezone)
        self.calendar = WorkCalendar(definition.holidays, definition.closure_days)
        self.machines = {name: mc.build(p) for name, p in definition.processes.items()}
        self.hot = HotStatements(engine.dialect)
        self.chain = chain.HotChain(engine.dialect)
        self.sqlite = store.is_sqlite(engine)
        with store.read(engine) as conn:
            self.cooperations, self.members, self._areas = coops.load(conn)
            self.areas = coops.every_area(self._areas)   # for names
            self.municipalities: dict[str, RowMapping] = {
                r.id: r for r in conn.execute(select(t.municipality)).mappings()}
        self.names = Names(definition, self.areas, self.municipalities)
        self.deadlines = DeadlineKeeper(definition, self.calendar, self.tz, self.municipalities)
        self.drafts = Drafts(definition, templates_dir, self.tz) \
            if templates_dir is not None and definition.drafts else None

    @classmethod
    def open(cls, settings: Settings, *, clock: Clock | None = None,
             definition: Definition | None = None) -> Workflow:
        """The workflow of ``settings``; its clock is ``clock``, else the settings' own
        (the system clock, or WORKFLOW_NOW's)."""
        clock = clock or settings.clock()
        definition = definition or load_definition(settings.states_file)
        engine = store.make_engine(settings.database_url)
        try:
            store.require_schema(engine)
            register_definition(engine, definition, clock())
            return cls(definition, engine, clock=clock, timezone=settings.timezone,
                       templates_dir=settings.templates_dir)
        except BaseException:
            engine.dispose()
            raise

    def close(self) -> None:
        """Close the database connections (the object is unusable afterwards)."""
        self.engine.dispose()

    # ---------------------------------------------------------------- helpers
    def today(self) -> date:
        return self.local_date(self.clock())

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()

    def actor(self, conn: Connection, user_id: str | None) -> Actor:
        if not user_id:
            raise PermissionDenied("no acting user: pass --as USER or set WORKFLOW_USER")
        u = t.user
        row = conn.execute(select(u.c.id, u.c.name, u.c.role, u.c.municipality, u.c.active,
                                  u.c.cooperation_id).where(u.c.id == user_id)).first()
        if row is None or not row.active:
            raise NotFound.user(user_id)
        return Actor(row.id, row.name, row.role, row.municipality, row.cooperation_id)

    # ------------------------------------------------------------ cooperations
    def areas_of(self, cooperation: str | None) -> dict[str, RowMapping]:
        return self._areas.get(cooperation or "", {})   # its areas by id, in their order

    def cooperations_of(self, municipality: str | None) -> list[str]:
        return [c for c, ms in self.members.items() if municipality in ms]

    def sees(self, actor: Actor, parties: list[str], cooperation: str | None) -> bool:
        return coops.sees(self, actor, parties, cooperation)

    def check_party(self, actor: Actor, app_id: int, parties: list[str],
                    case_number: str | None = None, cooperation: str | None = None) -> None:
        """Refuse a user whose municipality is not a party to the case (it is named by its
        case number where the caller has it, else by the id asked for)."""
        if actor.role == "admin" and self.sees(actor, parties, cooperation):
            return
        if actor.role == "admin" or actor.municipality not in parties:
            case = case_number or str(app_id)
            raise PermissionDenied(Said(
                f"{actor.id} ({actor.municipality or 'no municipality'}) is not a party to "
                f"case {case} ({', '.join(parties)})",
                f"{self.names.party(actor.municipality)} er ikke part i sag {case} "
                f"(parterne er {self.names.parties(parties)})"))

    def process_of(self, process: str) -> ProcessSpec:
        try:
            return self.definition.processes[process]
        except KeyError:
            raise SetupError(f"process {process!r} is not in {self.definition.file}") from None

    # ----------------------------------------------------------------- create
    @counts_refusals
    def create(self, *, kind: str, title: str, user: str | None, round: int | None = None,
               data: Mapping[str, Any] | None = None, source: int | None = None,
               cooperation: str | None = None) -> int:
        """Open a new case in its kind's initial state; returns its id.

        ``data`` is what the kind requires (a BUM agreement's parties, area and service);
        ``source`` opens it from another case (an agreement from a granted application);
        ``cooperation`` says whose case it is where the user's municipality is in several.
        """
        process, spec, vals, title = check_new(self, kind=kind, title=title, round=round,
                                               data=data, source=source, user=user)
        now = self.clock()
        day = opened_day(self, vals, now)
        with self._write() as conn:
            actor = self.actor(conn, user)
            if actor.role not in process.create_roles:
                raise PermissionDenied(Said(
                    f"{actor.id} ({actor.role}) may not open applications; that takes "
                    f"{' or '.join(process.create_roles)}",
                    f"sager oprettes af {self.names.roles(process.create_roles)}; du har "
                    f"rollen {self.names.role(actor.role)}"))
            parties, coop = coops.parties_for(self, actor, spec, vals, kind, cooperation)
            link = None
            if source is not None:
                check_source(self, conn, spec, source, vals, actor)
                link = (source, "agreement_for")
            return insert_case(self, conn, process=process, kind=kind, round=round, title=title,
                                actor_id=actor.id, role=actor.role,
                                municipality=actor.municipality, now=now, day=day,
                                parties=parties, data=values.to_json(vals), link=link,
                                cooperation=coop)

    def parties(self, cooperation: str) -> list[str]:
        """A cooperation's members: the parties of its applications."""
        return list(self.members.get(cooperation, []))

    def _spawn(self, conn: Connection, kind: str, from_id: int, user_id: str,
               now: datetime, day: date) -> int:
        process = self.definition.process_for_kind(kind)
        src = conn.execute(select(t.application.c.case_number, t.application.c.parties,
                                  t.application.c.cooperation_id)
                           .where(t.application.c.id == from_id)).one()
        actor = self.actor(conn, user_id)
        title = f"{process.kinds[kind].label.da} (efter afslag i sag {src.case_number})"
        return insert_case(self, conn, process=process, kind=kind, round=None, title=title,
                            actor_id=actor.id, role=actor.role, municipality=actor.municipality,
                            now=now, day=day, parties=list(src.parties), data={},
                            link=(from_id, "fallback_for"), cooperation=src.cooperation_id)

    # ------------------------------------------------------------------- fire
    @counts_transitions
    def fire(self, app_id: int, trigger: str, *, user: str | None,
             data: Mapping[str, Any] | None = None, comment: str = "",
             expected_version: int | None = None) -> Outcome:
        """Fire ``trigger`` on an application; everything it causes commits together."""
        values.check_text(comment or "", "the comment", "kommentaren")
        check_user(user)
        with self._write(app_id) as conn:
            cur = cursor(conn)
            actor, row, head = self._load(cur, conn, app_id, user)
            now = self.clock()  # once the row is ours: times follow the order of changes
            self.check_party(actor, app_id, row["parties"], row["case_number"],
                       row.get("cooperation_id"))
            if expected_version is not None and row["version"] != expected_version:
                raise conflict(conn, app_id, expected_version, row["version"])
            process = self.process_of(row["process"])
            info = process.trigger_table.get((row["state"], trigger))
            if info is None:
                raise InvalidTransition(
                    application_id=app_id, state=row["state"], trigger=trigger,
                    allowed=process.triggers_from(row["state"]),
                    note=describe_change(last_change(conn, app_id)))
            if actor.role not in info.roles:
                raise PermissionDenied(Said(
                    f"{trigger} needs the role {' or '.join(sorted(info.roles))}; {actor.id} "
                    f"is {actor.role}",
                    f"{self.names.action(trigger)} kræver rollen "
                    f"{self.names.roles(info.roles)}; du har rollen "
                    f"{self.names.role(actor.role)}"))
            vals = values.parse_data(data, fields=self.definition.fields,
                                     allowed=info.fields, trigger=trigger,
                                     areas=self.areas, municipalities=self.municipalities) \
                if data else {}
            missing = [k for k in info.branch_fields if k not in vals] \
                if info.branch_fields else ()
            if missing:
                raise InvalidData(Said.joined([Said(
                    f"{k}: {trigger} needs it (one of "
                    f"{', '.join(self.definition.fields[k].choices)})",
                    f"{self.names.field(k)}: skal udfyldes "
                    f"({self.names.choices(k, self.definition.fields[k].choices)})")
                    for k in missing]))
            party = self._party(actor, vals, info.acts)
            day, day_field = step_day(info, vals, self.local_date(now))
            ctx = TxContext(wf=self, conn=conn, row=row, data=vals, party=party,
                            user_id=actor.id, now=now, spawn=self._spawn, day=day,
                            day_given=day_field == HAPPENED and day != self.local_date(now))
            joint = next((c.joint for c in info.candidates
                          if c.joint and actor.role in c.roles), None)
            if joint and party in ctx.acts(joint):
                waiting = [p for p in row["parties"] if p not in ctx.acts(joint)]
                raise GuardFailed(Said(
                    f"{party} has already done its part of {trigger}; waiting for "
                    f"{', '.join(waiting)}",
                    f"{self.names.party(party)} har allerede gjort sin del af "
                    f"{self.names.action(trigger)}; afventer {self.names.parties(waiting)}"))
            step = mc.Step(state=row["state"], ctx=ctx,
                           attrs={"kind": row["kind"], "round": row["round"],
                                  "role": actor.role})
            if not mc.run(self.machines[process.name], step, trigger) or step.chosen is None:
                reasons = list(dict.fromkeys(step.reasons)) or [Said(
                    "no branch matches the data", "oplysningerne passer ikke til handlingen")]
                why = Said.joined(reasons)  # (the pages say which action themselves)
                raise GuardFailed(Said(f"{trigger} is not possible now: {why}", why.da),
                                  reasons=reasons)
            if step.chosen.spec.dates:
                datebounds.check(vals, step.chosen.spec.dates, ctx.anchor, self.names.field)
            check_day(self, conn, row, day, day_field, now, party)
            return self._apply(conn, cur, process, row, actor, step, trigger, vals, comment,
                               now, day, head)

    @counts_refusals
    def download(self, document_id: int, *, user: str | None, number: int | None = None,
                 pdf: bool = False) -> Download:
        """The exact stored bytes of a document version (or a PDF of them); logged."""
        with store.read(self.engine) as conn:
            actor = self.actor(conn, user)
        return download(self.engine, self.definition, document_id=document_id, user=actor,
                        number=number, pdf=pdf, now=self.clock(), check_party=self.check_party)

    @counts_refusals
    def reproduce(self, document_id: int, *, user: str | None,
                  number: int | None = None) -> Reproduction:
        """A stored version made again from its recipe and today's template files, compared
        with its stored bytes (default: the newest version)."""
        if self.drafts is None:
            raise SetupError("no templates folder: documents cannot be made here")
        with store.read(self.engine) as conn:
            actor = self.actor(conn, user)
            _doc, ver = readable_version(conn, self.definition, document_id=document_id,
                                         user=actor, number=number,
                                         check_party=self.check_party)
        return reproduce(self.drafts, ver)

    def _party(self, actor: Actor, vals: dict[str, Any], acts: bool) -> str | None:
        claimed = vals.pop("municipality", None)
        if claimed is not None and claimed != actor.municipality:
            raise PermissionDenied(Said(
                f"{actor.id} acts for {actor.municipality}, not for {claimed}",
                f"du handler for {self.names.party(actor.municipality)}, ikke for "
                f"{self.names.party(claimed)}"))
        if acts and actor.municipality is None:
            raise PermissionDenied(Said(f"{actor.id} belongs to no municipality",
                                        "du hører ikke til nogen kommune"))
        return actor.municipality

    def _apply(self, conn: Connection, cur: Any, process: ProcessSpec, row: dict[str, Any],
               actor: Actor, step: mc.Step, trigger: str, vals: dict[str, Any], comment: str,
               now: datetime, day: date, head: tuple[Any, Any] | None) -> Outcome:
        assert step.chosen is not None
        spec, ctx = step.chosen.spec, step.ctx
        old, new = row["state"], step.state
        version = row["version"] + 1
        turn = Turn(self, conn, process, row, spec, new, now)  # who waited before the step
        stored = values.to_json(vals) if vals else {}
        act_name = spec.record or spec.joint
        if act_name:
            conn.execute(insert(t.party_act).values(
                application_id=row["id"], name=act_name, municipality=ctx.party,
                version=version, void=False, user_id=actor.id, at=now, happened_on=day,
                data=stored))
        if spec.resets:
            pa = t.party_act
            conn.execute(update(pa).where(pa.c.application_id == row["id"],
                                          pa.c.name.in_(spec.resets)).values(void=True))
        if not act_name and spec.fields:
            ctx.app_data.update({f: stored.get(f) for f in spec.fields
                                 if f in stored or not spec.patch})
        # A joint step's effects belong to its moving on: they run with the last party's act.
        for effect in spec.effects if step.chosen.completes else ():
            ctx.arg = effect.arg
            rules.EFFECTS[effect.name].func(ctx)
        changed = old != new
        stmt = self.hot.update[changed, ctx.app_data != row["data"]]
        if stmt.rowcount(cur, {
                "app_id": row["id"], "old": row["version"], "state": new, "version": version,
                "data": ctx.app_data, "at": now, "on": day, "user": actor.id,
                "definition_hash": self.definition.hash}) != 1:
            raise conflict(conn, row["id"], row["version"], None)
        audit_data = dict(stored)
        waiting: tuple[str, ...] = ()
        if spec.joint and not step.chosen.completes:
            done = set(ctx.acts(spec.joint)) | {ctx.party}
            waiting = tuple(p for p in row["parties"] if p not in done)
            audit_data["waiting_for"] = list(waiting)
        self.hot.audit.run(cur, {
            "app_id": row["id"], "version": version, "trigger": trigger, "from_state": old,
            "to_state": new, "user": actor.id, "role": actor.role,
            "municipality": actor.municipality, "at": now, "on": day,
            "comment": comment or "", "data": audit_data})
        self.chain.append(cur, row["id"], "audit_entry", head=head, row={
            "version": version, "trigger": trigger, "from_state": old, "to_state": new,
            "user_id": actor.id, "role": actor.role, "municipality": actor.municipality,
            "at": now, "happened_on": day, "comment": comment or "", "data": audit_data})
        if process.states[new].deadline or (changed and process.states[old].deadline):
            row = {**row, "state": new, "data": ctx.app_data}
            if changed:
                row.update(entered_version=version, entered_on=day)
            else:
                a = t.application
                got = conn.execute(select(a.c.entered_on, a.c.entered_at)
                                   .where(a.c.id == row["id"])).one()
                row["entered_on"] = got.entered_on or self.local_date(got.entered_at)
            self.deadlines.sync(conn, process, row, old_state=old, version=version, now=now)
        turn.after({**row, "state": new, "data": ctx.app_data,
                    "entered_version": version if changed else row["entered_version"]},
                   actor=actor, version=version, label=spec.label.da, trigger=trigger, day=day)
        made: list[Made] = []
        if self.drafts is not None and self.drafts.concern(row["kind"], new, spec):
            made = self.drafts.refresh(
                conn, {**row, "state": new, "data": ctx.app_data}, spec, day=day, now=now,
                completes=step.chosen.completes, actor=(actor.id, actor.name), version=version,
                trigger=trigger)
        return Outcome(row["id"], trigger, old, new, version, waiting, tuple(ctx.spawned),
                       tuple(made), process.name)

    def _load(self, cur: Any, conn: Connection, app_id: int, user: str | None
              ) -> tuple[Actor, dict[str, Any], tuple[Any, Any] | None]:
        """The acting user and the application, locked for this transaction; on SQLite
        also the head of the case's chain, read with it (else None: the chain reads it)."""
        if not user:
            raise PermissionDenied("no acting user: pass --as USER or set WORKFLOW_USER")
        got = self.hot.load.one(cur, {"app_id": app_id, "user_id": user})
        if got is None:
            self.actor(conn, user)  # an unknown user is the first thing to say
            raise NotFound.application(app_id)
        row, (name, role, municipality, active), head = self.hot.split(got)
        if role is None or not active:
            raise NotFound.user(user)
        return Actor(user, name, role, municipality), row, head

    def _write(self, app_id: int | None = None) -> Any:
        tx = store.write(self.engine)  # SQLite's writer reports its own errors
        return tx if self.sqlite else translate_db_errors(tx, app_id)
