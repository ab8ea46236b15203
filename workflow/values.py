"""Transition data: parse what a user typed (or an API sent) into typed values, and back.

Field types are declared in ``states.yaml`` (``fields:``); this module knows how each type
is read (``areas`` from "a,b" or a list, ``date`` from ISO "2018-05-03", ...) and stored
as JSON. Every problem is reported at once, naming the key and what was expected.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date
from typing import Any

from .definition import FieldSpec
from .errors import InvalidData

MAX_TEXT = 4000


def parse_value(spec: FieldSpec, raw: Any, *, areas: Collection[str],
                municipalities: Collection[str]) -> Any:
    """One value, or raise ValueError with a message that does not repeat the key."""
    if spec.type == "date":
        if isinstance(raw, date):
            return raw
        try:
            return date.fromisoformat(str(raw).strip())
        except ValueError:
            raise ValueError(f"{raw!r} is not a date (YYYY-MM-DD)") from None
    if spec.type == "choice":
        if raw not in spec.choices:
            raise ValueError(f"{raw!r} is not one of {', '.join(spec.choices)}")
        return raw
    if spec.type == "areas":
        items = raw if isinstance(raw, list) else str(raw).split(",")
        ids = [str(a).strip() for a in items if str(a).strip()]
        unknown = [a for a in ids if a not in areas]
        if unknown:
            raise ValueError(f"unknown area {', '.join(map(repr, unknown))}; "
                             f"known: {', '.join(sorted(areas))}")
        if len(set(ids)) != len(ids):
            raise ValueError("an area is named twice")
        return ids
    if spec.type == "municipality":
        if raw not in municipalities:
            raise ValueError(f"unknown municipality {raw!r}; known: "
                             f"{', '.join(sorted(municipalities))}")
        return raw
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("expected a non-empty text")
    if "\x00" in raw:
        raise ValueError("contains a NUL character")
    if len(raw) > MAX_TEXT:
        raise ValueError(f"longer than {MAX_TEXT} characters")
    return raw.strip()


def parse_data(raw: Mapping[str, Any], *, fields: Mapping[str, FieldSpec],
               allowed: Collection[str], trigger: str, areas: Collection[str],
               municipalities: Collection[str]) -> dict[str, Any]:
    """Validate a whole data mapping for one trigger; unknown keys are an error too."""
    problems, out = [], {}
    for key, value in raw.items():
        if key not in allowed:
            takes = ", ".join(allowed) or "no data"
            problems.append(f"{key}: {trigger} does not take this key (it takes: {takes})")
            continue
        try:
            out[key] = parse_value(fields[key], value, areas=areas,
                                   municipalities=municipalities)
        except ValueError as exc:
            problems.append(f"{key}: {exc}")
    if problems:
        raise InvalidData("; ".join(problems))
    return out


def to_json(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in values.items()}


def from_json(values: Mapping[str, Any], fields: Mapping[str, FieldSpec]) -> dict[str, Any]:
    """Stored JSON back to typed values (dates become ``date``)."""
    out: dict[str, Any] = {}
    for k, v in values.items():
        spec = fields.get(k)
        if spec is not None and spec.type == "date" and isinstance(v, str):
            try:
                out[k] = date.fromisoformat(v)
            except ValueError:
                out[k] = v
        else:
            out[k] = v
    return out


def parse_cli_pairs(pairs: Collection[str]) -> dict[str, str]:
    """``KEY=VALUE`` strings from the command line."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidData(f"--data {pair!r}: expected KEY=VALUE")
        if key.strip() in out:
            raise InvalidData(f"--data {key.strip()}: given twice")
        out[key.strip()] = value
    return out
