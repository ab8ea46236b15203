"""Opaque cursors for the API's keyset pagination (the journal's pages).

A cursor names the case and the last journal number a page ended on, signed with a key
of the installation (HMAC-SHA256 under a key derived from the session secret), so a
client can hand it back but not make or change one: an altered, foreign or garbled
cursor is refused with a 422, never read as another position.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from ..errors import InvalidData, Said

MAC_BYTES = 12
MAX_CURSOR = 200    # characters: a real cursor is about 30


def key_of(secret: str) -> bytes:
    """The cursors' key, apart from the cookies' (one secret, two purposes)."""
    return hashlib.sha256(("workflow.cursor " + secret).encode()).digest()


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()[:MAC_BYTES]


def make(key: bytes, scope: int, position: int) -> str:
    """The cursor after ``position`` in the list of ``scope`` (the case's id)."""
    payload = f"{scope}:{position}".encode()
    return base64.urlsafe_b64encode(payload + _mac(key, payload)).decode().rstrip("=")


def read(key: bytes, scope: int, cursor: str) -> int:
    """The position a cursor of ``scope`` names; an InvalidData (422) for any other."""
    refused = InvalidData(Said(
        "cursor: not a cursor this API gave for this list (take the X-Next-Cursor of the "
        "page before, unchanged)",
        "Markøren er ugyldig: brug den, som den forrige side gav, uændret"))
    if not cursor or len(cursor) > MAX_CURSOR or not cursor.isascii():
        raise refused
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except ValueError:
        raise refused from None
    payload, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
    if len(raw) <= MAC_BYTES or not hmac.compare_digest(mac, _mac(key, payload)):
        raise refused
    got_scope, _, position = payload.decode("ascii", "replace").partition(":")
    if got_scope != str(scope) or not position.isdigit():
        raise refused
    return int(position)
