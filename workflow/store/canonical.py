"""The chain's canonical form: a row's fields as plain JSON, the same whichever database
they were read from, and the hashes made of it (a link's sha256, each field's short
digest), exactly as :mod:`.chain` writes and verifies them."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

_AS_IS = frozenset((str, int, float, bool))


def plain(value: Any) -> Any:
    """A value as plain JSON, the same whichever database it was read from: moments in UTC
    with microseconds, dates as ISO, bytes as their sha256, Decimals as strings."""
    if value is None or type(value) in _AS_IS:     # most fields: no ABC to ask
        return value
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return {"sha256": hashlib.sha256(bytes(value)).hexdigest()}
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def canonical(obj: Any) -> bytes:
    """``json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))``,
    UTF-8, on one encoder made once (a call of json.dumps with options makes its own)."""
    return _CANONICAL.encode(obj).encode()


def digest(obj: Any) -> str:
    return hashlib.sha256(canonical(obj)).hexdigest()


def link_hash(case: int, seq: int, kind: str, key: str, prev: str,
              fields: Mapping[str, Any]) -> str:
    """sha256 of the link: the row's fields (plain), its place and the previous hash."""
    return digest({"case": case, "seq": seq, "kind": kind, "key": key, "prev": prev,
                   "fields": fields})


def fields_of(names: Iterable[str], row: Mapping[Any, Any]) -> dict[str, Any]:
    return {f: plain(row[f]) for f in names}


def short_digests(fields: Mapping[str, Any]) -> dict[str, str]:
    return {f: _short_scalar(v) if isinstance(v, _SCALARS) and not (
        isinstance(v, str) and len(v) > 200) else digest(v)[:16] for f, v in fields.items()}


_SCALARS = (str, int, float, type(None))


@functools.lru_cache(maxsize=4096, typed=True)
def _short_scalar(value: Any) -> str:
    """A field's short digest, kept per process for the values that recur (a user, a role,
    a state, an empty comment); ``typed``: 1, 1.0 and True are three values."""
    return digest(value)[:16]
