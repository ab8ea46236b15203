"""Read and validate an installation file (YAML): its cooperations with their
municipalities, areas, local texts and settings; the municipalities outside any
cooperation; the users and roles; the directory groups of single sign-on.

Every problem is reported at once, located as ``file:line: key: message``, by the same
machinery that checks ``states.yaml`` (:mod:`workflow.process.located`). The result,
:class:`Installation`, holds rows in the shape of their tables, so ``apply`` writes them
and ``export`` reads them back without translation. A logo is a path relative to the
file, read and checked by its content (PNG or JPEG).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from ..errors import DefinitionError, InstallationError, Problem
from ..process.located import Checker, LocatedYaml, Path_

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
COUNCIL_TYPES = ("kommunalbestyrelse", "byraad")
LOGO_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
MAX_LOGO = 2_000_000
TOP = {"cooperations", "municipalities", "users", "directory"}
COOPERATION = {"id", "name", "municipalities", "areas", "texts", "settings", "invented"}
MUNICIPALITY = {"id", "name", "council", "council_type", "committees", "address", "logo",
                "signatories", "contacts", "agenda_layout", "agenda_template", "invented"}
AREA = {"id", "name_da", "name_en", "law_ref", "run_by", "parts", "invented"}
PART = {"id", "name_da", "law_ref"}
USER = {"id", "name", "role", "municipality", "cooperation", "email", "active",
        "turn_notices", "invented"}
GROUP = {"group", "role", "municipality", "cooperation"}
SETTINGS = {"area_count"}


@dataclass
class Installation:
    """An installation file's content, as rows of their tables."""

    file: str
    cooperations: list[dict[str, Any]] = field(default_factory=list)   # + members, areas
    municipalities: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)         # directory.groups


def load(path: str | os.PathLike[str], *, roles: set[str] | None = None) -> Installation:
    """Read and validate ``path``; InstallationError lists every problem. ``roles``: the
    roles a user may have (the process definition's), if known."""
    file = os.fspath(path)
    try:
        text = Path(file).read_text(encoding="utf-8")
    except OSError as exc:
        raise InstallationError([Problem(file, None, "(file)", exc.strerror or str(exc))]) \
            from None
    except UnicodeDecodeError as exc:
        raise InstallationError([Problem(file, None, "(file)", f"not UTF-8 text "
                                         f"({exc.reason} at byte {exc.start})")]) from None
    return loads(text, file=file, base=Path(file).parent, roles=roles)


def loads(text: str, *, file: str = "installation.yaml", base: Path | None = None,
          roles: set[str] | None = None) -> Installation:
    try:
        doc = LocatedYaml(file, text)
    except DefinitionError as exc:   # the YAML itself: said as the installation file's
        raise InstallationError(exc.problems) from None
    v = Checker(doc)
    reader = _Reader(v, base or Path("."), roles)
    inst = reader.read(v.mapping(doc.root, ()))
    if v.problems:
        raise InstallationError(v.problems)
    inst.file = file
    return inst


class _Reader:
    def __init__(self, v: Checker, base: Path, roles: set[str] | None) -> None:
        self.v, self.base, self.roles = v, base, roles
        self.municipalities: dict[str, dict[str, Any]] = {}

    def read(self, root: dict[str, Any]) -> Installation:
        v = self.v
        v.keys(root, (), TOP)
        inst = Installation(file=v.doc.file)
        coops = self._list(root.get("cooperations"), ("cooperations",))
        refs: list[tuple[str, Path_]] = []
        for i, raw in enumerate(coops):
            coop = self._cooperation(raw, ("cooperations", i), refs)
            if coop and any(c["id"] == coop["id"] for c in inst.cooperations):
                v.error(("cooperations", i, "id"), f"cooperation {coop['id']!r} is declared "
                        "twice")
            elif coop:
                inst.cooperations.append(coop)
        for i, raw in enumerate(self._list(root.get("municipalities"), ("municipalities",))):
            self._municipality(raw, ("municipalities", i))
        for ref, path in refs:
            if ref not in self.municipalities:
                v.error(path, f"unknown municipality {ref!r}; declare it in full once")
        for coop in inst.cooperations:
            members = set(coop["members"])
            for j, area in enumerate(coop["areas"]):
                if area["run_by"] not in members:
                    v.error(coop["_path"] + ("areas", j, "run_by"),
                            f"{area['run_by']!r} is not a member of {coop['id']!r}")
            del coop["_path"]
        inst.municipalities = list(self.municipalities.values())
        members_of = {m for c in inst.cooperations for m in c["members"]}
        for m in inst.municipalities:
            m["cooperation"] = m["id"] in members_of
        known = {c["id"] for c in inst.cooperations}
        users = self._list(root.get("users"), ("users",))
        for i, raw in enumerate(users):
            user = self._user(raw, ("users", i), known)
            if user and any(u["id"] == user["id"] for u in inst.users):
                v.error(("users", i, "id"), f"user {user['id']!r} is declared twice")
            elif user:
                inst.users.append(user)
        directory = v.mapping(root.get("directory"), ("directory",), required=False)
        v.keys(directory, ("directory",), {"groups"})
        for i, raw in enumerate(self._list(directory.get("groups"), ("directory", "groups"))):
            group = self._group(raw, ("directory", "groups", i), known)
            if group and any(g["group"] == group["group"] for g in inst.groups):
                v.error(("directory", "groups", i, "group"), "declared twice")
            elif group:
                inst.groups.append(group)
        return inst

    # -- the pieces -------------------------------------------------------------------
    def _list(self, value: Any, path: Path_) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.v.error(path, f"expected a list, got {type(value).__name__}")
            return []
        return value

    def _text(self, m: dict[str, Any], key: str, path: Path_, *, required: bool = True,
              default: str = "", limit: int = 200) -> str:
        value = m.get(key)
        if value in (None, "") and not required:
            return default
        if not isinstance(value, str) or not value.strip():
            self.v.error(path + (key,), "expected a non-empty text")
            return default
        if len(value) > limit:
            self.v.error(path + (key,), f"longer than {limit} characters")
        return value

    def _slug(self, m: dict[str, Any], key: str, path: Path_) -> str:
        value = m.get(key)
        if not isinstance(value, str) or not SLUG.match(value):
            self.v.error(path + (key,), "expected an id: lower-case letters, digits, - or _ "
                         "(at most 40)")
            return ""
        return value

    def _people(self, value: Any, path: Path_, keys: tuple[str, ...],
                required: tuple[str, ...]) -> list[dict[str, str]]:
        out = []
        for i, raw in enumerate(self._list(value, path)):
            m = self.v.mapping(raw, path + (i,))
            self.v.keys(m, path + (i,), set(keys), set(required))
            out.append({k: self._text(m, k, path + (i,), required=k in required)
                        for k in keys})
        return out

    def _cooperation(self, raw: Any, path: Path_,
                     refs: list[tuple[str, Path_]]) -> dict[str, Any] | None:
        v = self.v
        m = v.mapping(raw, path)
        v.keys(m, path, COOPERATION, {"id", "name", "municipalities"})
        if not m:
            return None
        coop: dict[str, Any] = {"id": self._slug(m, "id", path),
                                "name": self._text(m, "name", path), "_path": path}
        members: list[str] = []
        for i, entry in enumerate(self._list(m.get("municipalities"),
                                             path + ("municipalities",))):
            where = path + ("municipalities", i)
            mid = entry if isinstance(entry, str) else self._municipality(entry, where)
            if isinstance(entry, str):
                refs.append((entry, where))
            if mid and mid in members:
                v.error(where, f"{mid!r} is named twice")
            elif mid:
                members.append(mid)
        if not members:
            v.error(path + ("municipalities",), "a cooperation needs its municipalities")
        coop["members"] = members
        areas: list[dict[str, Any]] = []
        for i, entry in enumerate(self._list(m.get("areas"), path + ("areas",))):
            area = self._area(entry, path + ("areas", i), len(areas) + 1)
            if area and any(a["id"] == area["id"] for a in areas):
                v.error(path + ("areas", i, "id"), f"area {area['id']!r} is declared twice "
                        "in this cooperation")
            elif area:
                areas.append(area)
        coop["areas"] = areas
        texts = v.mapping(m.get("texts"), path + ("texts",), required=False)
        for key, text in texts.items():
            if not isinstance(text, str):
                v.error(path + ("texts", key), "expected a text (markdown)")
                continue
            try:   # a text is a template of its own where a draft prints it (local_text)
                jinja2.Environment().parse(text)
            except jinja2.TemplateSyntaxError as exc:
                v.error(path + ("texts", key), f"not a template: {exc.message} (its line "
                        f"{exc.lineno})")
        coop["texts"] = {k: str(t).strip() + "\n" for k, t in texts.items()
                         if isinstance(t, str)}
        coop["settings"] = self._settings(m.get("settings"), path + ("settings",))
        return coop

    def _settings(self, raw: Any, path: Path_) -> dict[str, Any]:
        v = self.v
        m = v.mapping(raw, path, required=False)
        v.keys(m, path, SETTINGS)
        out: dict[str, Any] = {}
        counts = v.mapping(m.get("area_count"), path + ("area_count",), required=False)
        if counts:
            out["area_count"] = {}
        for rnd, lim in counts.items():
            where = path + ("area_count", rnd)
            bounds = v.mapping(lim, where)
            v.keys(bounds, where, {"min", "max"}, {"min", "max"})
            lo, hi = bounds.get("min"), bounds.get("max")
            if not str(rnd).isdigit():
                v.error(where, "a round is a number: 1, 2, …")
            elif not (isinstance(lo, int) and isinstance(hi, int) and 1 <= lo <= hi):
                v.error(where, "min and max are whole numbers, 1 <= min <= max")
            else:
                out["area_count"][str(rnd)] = {"min": lo, "max": hi}
        return out

    def _municipality(self, raw: Any, path: Path_) -> str:
        v = self.v
        m = v.mapping(raw, path)
        v.keys(m, path, MUNICIPALITY, {"id", "name", "council"})
        if not m:
            return ""
        mid = self._slug(m, "id", path)
        if mid in self.municipalities:
            v.error(path + ("id",), f"municipality {mid!r} is declared twice; name it by "
                    "its id in the second cooperation")
            return mid
        council_type = m.get("council_type", "kommunalbestyrelse")
        if council_type not in COUNCIL_TYPES:
            v.error(path + ("council_type",), f"expected one of {', '.join(COUNCIL_TYPES)}")
        committees = m.get("committees")
        if committees is not None and not (isinstance(committees, list) and all(
                isinstance(c, str) and c.strip() for c in committees)):
            v.error(path + ("committees",), "expected a list of committee names")
            committees = None
        logo, logo_type = self._logo(m.get("logo"), path + ("logo",))
        template = m.get("agenda_template")
        if template is not None and not (isinstance(template, str) and re.fullmatch(
                r"[A-Za-z0-9_.-]{1,200}", template) and ".." not in template):
            v.error(path + ("agenda_template",), "expected a template's file name under "
                    "templates/documents/")
            template = None
        row = {"id": mid, "name": self._text(m, "name", path),
               "council": self._text(m, "council", path),
               "council_type": council_type if council_type in COUNCIL_TYPES
               else "kommunalbestyrelse",
               "address": self._text(m, "address", path, required=False, limit=300),
               "committees": list(committees) if committees is not None else None,
               "logo": logo, "logo_type": logo_type,
               "signatories": self._people(m.get("signatories"), path + ("signatories",),
                                           ("name", "title"), ("name", "title")),
               "contacts": self._people(m.get("contacts"), path + ("contacts",),
                                        ("name", "title", "email", "phone"), ("name",)),
               "agenda_layout": self._text(m, "agenda_layout", path, required=False,
                                           default="standard", limit=40),
               "agenda_template": template}
        if mid:
            self.municipalities[mid] = row
        return mid

    def _logo(self, value: Any, path: Path_) -> tuple[bytes | None, str | None]:
        if value is None:
            return None, None
        if not isinstance(value, str) or os.path.isabs(value) or not value.strip():
            self.v.error(path, "expected a path relative to the installation file")
            return None, None
        try:
            data = (self.base / value).read_bytes()
        except OSError as exc:
            self.v.error(path, f"cannot read {value}: {exc.strerror or exc}")
            return None, None
        kind = next((t for magic, t in LOGO_TYPES.items() if data.startswith(magic)), None)
        if kind is None:
            self.v.error(path, f"{value} is neither a PNG nor a JPEG image (by its content)")
            return None, None
        if len(data) > MAX_LOGO:
            self.v.error(path, f"{value} is larger than {MAX_LOGO:,} bytes")
            return None, None
        return data, kind

    def _area(self, raw: Any, path: Path_, position: int) -> dict[str, Any] | None:
        v = self.v
        m = v.mapping(raw, path)
        v.keys(m, path, AREA, {"id", "name_da", "name_en", "run_by"})
        if not m:
            return None
        parts: list[dict[str, str]] | None = None
        if m.get("parts") is not None:
            parts = []
            for i, raw_part in enumerate(self._list(m["parts"], path + ("parts",))):
                where = path + ("parts", i)
                p = v.mapping(raw_part, where)
                v.keys(p, where, PART, {"id", "name_da"})
                part = {"id": self._slug(p, "id", where),
                        "name_da": self._text(p, "name_da", where),
                        "law_ref": self._text(p, "law_ref", where, required=False)}
                if any(q["id"] == part["id"] for q in parts):
                    v.error(where + ("id",), f"part {part['id']!r} is declared twice")
                parts.append(part)
        return {"id": self._slug(m, "id", path), "name_da": self._text(m, "name_da", path),
                "name_en": self._text(m, "name_en", path),
                "law_ref": self._text(m, "law_ref", path, required=False),
                "run_by": str(m.get("run_by") or ""), "position": position,
                "parts": parts or None}

    def _user(self, raw: Any, path: Path_, cooperations: set[str]) -> dict[str, Any] | None:
        v = self.v
        m = v.mapping(raw, path)
        if "password" in m or "password_hash" in m:
            v.error(path + ("password" if "password" in m else "password_hash",),
                    "no passwords in the file: set one with `workflow users set-password`, "
                    "or sign in by single sign-on")
            m = {k: x for k, x in m.items() if k not in ("password", "password_hash")}
        v.keys(m, path, USER, {"id", "name", "role"})
        if not m:
            return None
        user = {"id": self._text(m, "id", path, limit=80), "name": self._text(m, "name", path),
                "role": self._role(m.get("role"), path + ("role",)),
                "municipality": self._known(m.get("municipality"), path + ("municipality",)),
                "cooperation_id": self._cooperation_ref(m.get("cooperation"),
                                                        path + ("cooperation",), cooperations),
                "email": self._text(m, "email", path, required=False),
                "active": m.get("active", True), "turn_notices": m.get("turn_notices")}
        for key in ("active", "turn_notices"):
            if user[key] is not None and not isinstance(user[key], bool):
                v.error(path + (key,), "expected true or false")
        if user["role"] != "admin" and user["municipality"] is None:
            v.error(path + ("municipality",), "every user but an admin has a municipality")
        return user

    def _group(self, raw: Any, path: Path_, cooperations: set[str]) -> dict[str, Any] | None:
        v = self.v
        m = v.mapping(raw, path)
        v.keys(m, path, GROUP, {"group", "role"})
        if not m:
            return None
        return {"group": self._text(m, "group", path),
                "role": self._role(m.get("role"), path + ("role",)),
                "municipality": self._known(m.get("municipality"), path + ("municipality",)),
                "cooperation": self._cooperation_ref(m.get("cooperation"),
                                                     path + ("cooperation",), cooperations)}

    def _role(self, value: Any, path: Path_) -> str:
        if not isinstance(value, str) or (self.roles is not None and value not in self.roles):
            known = f"; expected one of {', '.join(sorted(self.roles))}" if self.roles else ""
            self.v.error(path, f"unknown role {value!r}{known}")
            return ""
        return value

    def _known(self, value: Any, path: Path_) -> str | None:
        if value is None:
            return None
        if value not in self.municipalities:
            self.v.error(path, f"unknown municipality {value!r}")
            return None
        return str(value)

    def _cooperation_ref(self, value: Any, path: Path_, known: set[str]) -> str | None:
        if value is None:
            return None
        if value not in known:
            self.v.error(path, f"unknown cooperation {value!r}")
            return None
        return str(value)
