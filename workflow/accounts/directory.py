"""Directory groups and the users single sign-on brings: which role, municipality and
cooperation a group of the organisation's directory gives (``directory_group``, written by
``workflow setup`` through :func:`replace_groups`), and the sign-in of a user the provider
vouches for (:func:`sign_in`).

A user who signs in is known by the provider's issuer and its subject (``sub``), never by
a name that could be another's: the first sign-in creates the user, each later one brings
their role and municipality up to date from their groups at that moment. Groups that map to
nothing, or to different roles or municipalities, are refused, and nothing is written. A
deactivated user is refused as at the password login. Each sign-in is logged as a
successful login (``login_attempt``), as a password login is.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import InvalidData, PermissionDenied, Said
from ..store import database as store
from ..store import tables as t

log = logging.getLogger("workflow.accounts")
Mapped = tuple[str, str | None, str | None]  # role, municipality, cooperation


def replace_groups(conn: Connection, rows: list[dict[str, Any]], *,
                   roles: Collection[str] | None = None) -> int:
    """Make ``directory_group`` exactly ``rows`` (keys ``group``, ``role``, and optionally
    ``municipality`` and ``cooperation``), in the caller's transaction; how many there are.
    A row without a group or role, a group named twice, an unknown role (when ``roles`` is
    given) or an unknown municipality is refused, naming it, before anything is written."""
    known = set(conn.execute(select(t.municipality.c.id)).scalars())
    seen: set[str] = set()
    values = []
    for n, row in enumerate(rows, 1):
        group = str(row.get("group") or "").strip()
        role = str(row.get("role") or "").strip()
        where = f"directory group {n}" + (f" ({group!r})" if group else "")
        where_da = f"katalog-gruppe {n}" + (f" (»{group}«)" if group else "")
        if not group or not role:
            raise InvalidData(Said(f"{where}: needs both group and role",
                                   f"{where_da}: skal have både gruppe og rolle"))
        if len(group) > 200 or group in seen:
            raise InvalidData(Said(f"{where}: too long or named twice",
                                   f"{where_da}: for lang eller nævnt to gange"))
        if roles is not None and role not in roles:
            raise InvalidData(Said(f"{where}: unknown role {role!r}; known: "
                                   f"{', '.join(sorted(roles))}",
                                   f"{where_da}: rollen »{role}« findes ikke"))
        municipality = row.get("municipality") or None
        if municipality is not None and municipality not in known:
            raise InvalidData(Said(f"{where}: unknown municipality {municipality!r}",
                                   f"{where_da}: kommunen »{municipality}« findes ikke"))
        seen.add(group)
        values.append({"group": group, "role": role, "municipality": municipality,
                       "cooperation_id": row.get("cooperation") or None})
    conn.execute(delete(t.directory_group))
    if values:
        conn.execute(insert(t.directory_group), values)
    return len(values)


def list_groups(conn: Connection) -> list[dict[str, Any]]:
    """The mapping, as :func:`replace_groups` takes it (for ``workflow setup --export``)."""
    dg = t.directory_group
    return [{"group": r.group, "role": r.role, "municipality": r.municipality,
             "cooperation": r.cooperation_id}
            for r in conn.execute(select(dg).order_by(dg.c.group))]


def map_groups(conn: Connection, groups: Sequence[str]) -> Mapped | None:
    """The role, municipality and cooperation the user's ``groups`` give; None when none of
    them is mapped. Groups that map to different ones are refused (PermissionDenied): the
    directory, not the order of a list, must say what a person is."""
    dg = t.directory_group
    wanted = [g for g in groups if isinstance(g, str) and g][:500]
    if not wanted:
        return None
    found = {(r.role, r.municipality, r.cooperation_id): r.group for r in conn.execute(
        select(dg).where(dg.c.group.in_(wanted)).order_by(dg.c.group))}
    if not found:
        return None
    if len(found) > 1:
        names = ", ".join(sorted(found.values()))
        raise PermissionDenied(Said(
            f"the directory groups {names} give different roles or municipalities",
            f"dine grupper i kataloget ({names}) giver forskellige roller eller kommuner, "
            f"så du kan ikke logge ind. Bed din it-afdeling om at rette dit medlemskab"))
    return next(iter(found))


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in (from a validated ID token)."""

    issuer: str
    subject: str
    name: str
    email: str
    username: str          # a hint for a new user's id (preferred_username, upn, e-mail)
    groups: tuple[str, ...]


NO_ACCESS = Said("none of your directory groups gives access to this system",
                 "Du er logget ind hos din organisation, men ingen af dine grupper giver "
                 "adgang til sagssystemet, så du er ikke logget ind her. Bed din "
                 "it-afdeling om at give dig adgang")
DEACTIVATED = Said("this user is deactivated", "Din bruger er deaktiveret i sagssystemet. "
                   "Kontakt en administrator")


def sign_in(engine: Engine, who: Identity, *, now: datetime, client: str = "") -> str:
    """The user ``who`` is, made or brought up to date from their groups, in one
    transaction; PermissionDenied (nothing written) for groups that give no access or
    a deactivated user. Two first sign-ins at once: the second finds the first's user."""
    try:
        return _sign_in(engine, who, now=now, client=client)
    except IntegrityError:  # made by a sign-in in parallel, or the id taken a moment ago
        return _sign_in(engine, who, now=now, client=client)


def _sign_in(engine: Engine, who: Identity, *, now: datetime, client: str) -> str:
    u = t.user
    with store.write(engine) as conn:
        mapped = map_groups(conn, who.groups)
        if mapped is None:
            log.warning("single sign-on refused: no mapped group (issuer %s, subject %s)",
                        who.issuer, who.subject)
            raise PermissionDenied(NO_ACCESS)
        role, municipality, cooperation = mapped  # an admin's group may limit it to one
        row = conn.execute(select(u.c.id, u.c.active).where(
            u.c.oidc_issuer == who.issuer, u.c.oidc_subject == who.subject)).first()
        values = {"role": role, "municipality": municipality, "cooperation_id": cooperation,
                  "name": (who.name or who.username or who.subject)[:200]}
        if who.email:
            values["email"] = who.email[:200]
        if row is not None:
            if not row.active:
                log.warning("single sign-on refused: %s is deactivated", row.id)
                raise PermissionDenied(DEACTIVATED)
            user_id = str(row.id)
            conn.execute(update(u).where(u.c.id == user_id).values(**values))
        else:
            user_id = _free_id(conn, who)
            conn.execute(insert(u).values(id=user_id, oidc_issuer=who.issuer,
                                          oidc_subject=who.subject, **values))
        conn.execute(insert(t.login_attempt).values(
            username=user_id, client="".join(c for c in client if c.isprintable())[:100],
            at=now, ok=True, locked=False))
    log.info("single sign-on: %s (%s, %s) from %s", user_id, role, municipality or "-",
             client or "-")
    return user_id


def _free_id(conn: Connection, who: Identity) -> str:
    """A new user's id: their user name's local part, made safe (``anna.jensen``), with a
    number after it when another user has it already (never that user's account)."""
    hint = (who.username or who.email or "").split("@")[0].lower()
    base = re.sub(r"[^a-z0-9._-]+", "-", hint).strip("-.")[:70] or "sso"
    taken = set(conn.execute(select(t.user.c.id).where(t.user.c.id.like(base + "%")))
                .scalars())
    if base not in taken:
        return base
    return next(f"{base}-{n}" for n in range(2, len(taken) + 3) if f"{base}-{n}" not in taken)
