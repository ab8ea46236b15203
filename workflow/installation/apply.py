"""Apply an installation file to the database, idempotently, and export the database's
installation as such a file.

``apply`` adds what is missing and changes what differs, in one transaction, and says
each change (``added municipality dragoer``, ``changed area dragoer-taarnby/social:
name_da``); run twice, the second run changes nothing. It never deletes: a cooperation,
member, area or user the file no longer names stays (users are deactivated with
``workflow users``), and it never touches a password or an area's release. ``export``
writes the file back (logos beside it), so that export then apply is a no-op.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.engine import Connection

from ..accounts import directory
from ..store import database as store
from ..store import tables as t
from .file import Installation

MUNICIPALITY_COLUMNS = ("name", "council", "council_type", "address", "committees", "logo",
                        "logo_type", "signatories", "contacts", "agenda_layout",
                        "agenda_template")
AREA_COLUMNS = ("name_da", "name_en", "law_ref", "run_by", "position", "parts")
USER_COLUMNS = ("name", "role", "municipality", "cooperation_id", "email", "active",
                "turn_notices")
COOPERATION_COLUMNS = ("name", "texts", "settings")


def apply(engine: Engine, inst: Installation) -> list[str]:
    """Write ``inst`` into the database; the changes made, one line each."""
    changes: list[str] = []
    with store.write(engine) as conn:
        for m in inst.municipalities:
            _upsert(conn, t.municipality, {"id": m["id"]}, m, MUNICIPALITY_COLUMNS,
                    f"municipality {m['id']}", changes)
        for coop in inst.cooperations:
            _upsert(conn, t.cooperation, {"id": coop["id"]}, coop, COOPERATION_COLUMNS,
                    f"cooperation {coop['id']}", changes)
            cm = t.cooperation_member
            have = set(conn.execute(select(cm.c.municipality_id)
                                    .where(cm.c.cooperation_id == coop["id"])).scalars())
            for mid in coop["members"]:
                if mid not in have:
                    conn.execute(insert(cm).values(cooperation_id=coop["id"],
                                                   municipality_id=mid))
                    changes.append(f"added member {mid} to cooperation {coop['id']}")
            for area in coop["areas"]:
                _upsert(conn, t.area, {"cooperation_id": coop["id"], "id": area["id"]}, area,
                        AREA_COLUMNS, f"area {coop['id']}/{area['id']}", changes)
        for user in inst.users:
            _upsert(conn, t.user, {"id": user["id"]}, user, USER_COLUMNS,
                    f"user {user['id']}", changes)
        groups = [{k: g.get(k) for k in ("group", "role", "municipality", "cooperation")}
                  for g in inst.groups]
        if groups and sorted(groups, key=lambda g: str(g["group"])) != \
                directory.list_groups(conn):   # single sign-on's mapping, when it differs
            directory.replace_groups(conn, groups)
            changes.append(f"set {len(groups)} directory groups")
        members = select(t.cooperation_member.c.municipality_id).scalar_subquery()
        for flag in (True, False):   # derived: a member of some cooperation
            conn.execute(update(t.municipality).where(
                t.municipality.c.id.in_(members) if flag else t.municipality.c.id.not_in(
                    members), t.municipality.c.cooperation.is_(not flag))
                .values(cooperation=flag))
    return changes


def _upsert(conn: Connection, table: Any, key: dict[str, Any], row: dict[str, Any],
            columns: tuple[str, ...], what: str, changes: list[str]) -> None:
    where = [table.c[k] == v for k, v in key.items()]
    have = conn.execute(select(*(table.c[c] for c in columns)).where(*where)).mappings().first()
    values = {c: row[c] for c in columns if c in row}
    if have is None:
        conn.execute(insert(table).values(**key, **values))
        changes.append(f"added {what}")
        return
    differ = {c: v for c, v in values.items() if have[c] != v}
    if differ:
        conn.execute(update(table).where(*where).values(**differ))
        changes.append(f"changed {what}: {', '.join(sorted(differ))}")


def read(engine: Engine) -> Installation:
    """The database's installation, in the shape the file gives (logos as bytes)."""
    inst = Installation(file="(database)")
    with store.read(engine) as conn:
        municipalities = [dict(r) for r in conn.execute(
            select(t.municipality).order_by(t.municipality.c.id)).mappings()]
        inst.municipalities = municipalities
        cm = t.cooperation_member
        for coop in conn.execute(select(t.cooperation).order_by(t.cooperation.c.id)).mappings():
            members = list(conn.execute(select(cm.c.municipality_id)
                                        .where(cm.c.cooperation_id == coop.id)
                                        .order_by(cm.c.municipality_id)).scalars())
            areas = [{k: r[k] for k in ("id",) + AREA_COLUMNS} for r in conn.execute(
                select(t.area).where(t.area.c.cooperation_id == coop.id)
                .order_by(t.area.c.position, t.area.c.id)).mappings()]
            inst.cooperations.append({"id": coop.id, "name": coop.name,
                                      "texts": dict(coop.texts or {}),
                                      "settings": dict(coop.settings or {}),
                                      "members": members, "areas": areas})
        inst.users = [{k: r[k] for k in ("id",) + USER_COLUMNS} for r in conn.execute(
            select(t.user).order_by(t.user.c.id)).mappings()]
        inst.groups = directory.list_groups(conn)
    return inst


def export(engine: Engine, out: Path | None) -> str:
    """The installation as a file's text; logos are written beside ``out`` (or the current
    folder) under ``logos/``."""
    inst = read(engine)
    folder = (out.parent if out is not None else Path.cwd())
    by_id = {m["id"]: m for m in inst.municipalities}
    declared: set[str] = set()

    def municipality(mid: str) -> Any:
        if mid in declared:
            return mid
        declared.add(mid)
        m = by_id[mid]
        entry: dict[str, Any] = {"id": mid, "name": m["name"], "council": m["council"],
                                 "council_type": m["council_type"]}
        for key in ("address", "committees", "signatories", "contacts"):
            if m[key]:
                entry[key] = m[key]
        if m["agenda_layout"] != "standard":
            entry["agenda_layout"] = m["agenda_layout"]
        if m["agenda_template"]:
            entry["agenda_template"] = m["agenda_template"]
        if m["logo"]:
            name = f"logos/{mid}.{'png' if m['logo_type'] == 'image/png' else 'jpg'}"
            (folder / "logos").mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(m["logo"])
            entry["logo"] = name
        return entry

    doc: dict[str, Any] = {"cooperations": []}
    for coop in inst.cooperations:
        entry: dict[str, Any] = {"id": coop["id"], "name": coop["name"],
                                 "municipalities": [municipality(m) for m in coop["members"]]}
        entry["areas"] = [{k: v for k, v in a.items() if k != "position"
                           and not (k == "parts" and not v)} for a in coop["areas"]]
        if coop["texts"]:
            entry["texts"] = coop["texts"]
        if coop["settings"]:
            entry["settings"] = coop["settings"]
        doc["cooperations"].append(entry)
    others = [municipality(mid) for mid in sorted(by_id) if mid not in declared]
    if others:
        doc["municipalities"] = others
    doc["users"] = []
    for u in inst.users:
        user = {"id": u["id"], "name": u["name"], "role": u["role"]}
        for key in ("municipality", "email"):
            if u[key]:
                user[key] = u[key]
        if u["cooperation_id"]:
            user["cooperation"] = u["cooperation_id"]
        if not u["active"]:
            user["active"] = False
        if u["turn_notices"] is not None:
            user["turn_notices"] = u["turn_notices"]
        doc["users"].append(user)
    if inst.groups:
        doc["directory"] = {"groups": [{k: v for k, v in g.items() if v is not None}
                                       for g in inst.groups]}
    text = "# The installation, exported by `workflow setup --export`.\n" + yaml.safe_dump(
        doc, allow_unicode=True, sort_keys=False, width=90)
    if out is not None:
        out.write_text(text, encoding="utf-8")
    return text
