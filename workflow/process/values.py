"""Transition data: parse what a user typed (or an API sent) into typed values, and back.

Field types are declared in ``states.yaml`` (``fields:``); this module knows how each type
is read (``areas`` from "a,b" or a list, ``date`` from ISO "2018-05-03", ...) and stored
as JSON. Every problem is reported at once, naming the key and what was expected, in
English and Danish (:class:`~workflow.errors.Said`).

Text a user typed is text (:func:`text_problem`): no lone UTF-16 surrogate (what a JSON
``"\\ud800"`` or a byte that is not UTF-8 on the command line decodes to: no database or
page can store or show it), no NUL, and on one line (a title) no control character.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from ..danish import amount, join_or, number, places
from ..errors import InvalidData, Said, in_danish
from ..rules.parts import area_of, parts_of, split, units
from .definition import FieldSpec

MAX_TEXT = 4000
MAX_ITEMS = 50          # texts in a list field (conditions, questions)
MAX_AMOUNT = Decimal("1e12")          # kroner: beyond any municipal budget
MAX_INTEGER = 10**9
_DANISH_NUMBER = re.compile(r"^-?\d{1,3}(\.\d{3})+(,\d+)?$")   # 1.234.567,89
_ODD = "\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"  # DEL and C1 (a terminal obeys
# them), the line and paragraph separators, the bidirectional overrides and isolates
_NOT_IN_TEXT = re.compile(f"[\x01-\x08\x0b\x0c\x0e-\x1f{_ODD}]")  # C0 but tab and newlines
_CONTROL = re.compile(f"[\x00-\x1f{_ODD}]")                         # on one line: all of C0


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def iso_date(text: str) -> date:
    """A day written YYYY-MM-DD, and only so (Python's own reader also takes "20181201"
    and ISO weeks, which no form here asks for); ValueError otherwise."""
    if not _ISO_DAY.fullmatch(text):
        raise ValueError(f"{text!r} is not YYYY-MM-DD")
    return date.fromisoformat(text)


def _bad(en: str, da: str) -> ValueError:
    return ValueError(Said(en, da))


def shown(text: str) -> str:
    """``text`` with its control characters and lone surrogates as visible escapes
    (``\\x1b``, ``\\ud800``): safe to put in a message."""
    return "".join(ch if ch.isprintable() or ch == " " else ascii(ch)[1:-1]
                   for ch in text)


def text_problem(text: str, *, one_line: bool = False) -> Said | None:
    """What makes ``text`` unfit to store as typed text, or None: a lone surrogate, a NUL,
    a control character other than a tab or a line break, a line or paragraph separator
    (U+2028, U+2029: a list's reader would break its line there) or a bidirectional
    override (U+202A–U+202E, U+2066–U+2069: it makes text show in another order than it
    reads); and, where the text is one line (``one_line``: a title), a tab or a line
    break too."""
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            bad = shown(exc.object[exc.start:exc.start + 1])
            return Said(f"contains {bad}, a lone UTF-16 surrogate, which is not text",
                        f"indeholder {bad}, som ikke er et tegn")
    if "\x00" in text:
        return Said("contains a NUL character", "indeholder et NUL-tegn")
    control = (_CONTROL if one_line else _NOT_IN_TEXT).search(text)
    if control is not None:
        bad = shown(control.group())
        return Said(f"contains the control character {bad}", f"indeholder styretegnet {bad}")
    return None


def check_text(text: str, en: str, da: str, *, one_line: bool = False) -> None:
    """Refuse ``text`` (InvalidData) for what :func:`text_problem` finds, naming it as
    ``en`` / ``da`` say ("the note" / "Notatet")."""
    problem = text_problem(text, one_line=one_line)
    if problem is not None:
        raise InvalidData(Said(f"{en} {problem}", f"{da} {problem.da}"))


def _not_a_number(raw: Any) -> ValueError:
    return _bad(f"{raw!r} is not a number", f"»{raw}« er ikke et tal")


def parse_decimal(raw: Any) -> Decimal:
    """A number as typed by a Dane ("1.234,50", "1234,5") or a machine ("1234.50", 1234.5).

    A dot alone is a decimal point ("1.5"), unless the text is grouped in thousands with
    a decimal comma or more than one dot ("1.234,50", "1.234.567").
    """
    if isinstance(raw, bool):
        raise _not_a_number(raw)
    if isinstance(raw, int | Decimal):
        value = Decimal(raw)
    elif isinstance(raw, float):
        value = Decimal(repr(raw))  # the shortest text that reads back as this float
    else:
        text = str(raw).strip().replace("\u00a0", "").replace(" ", "")
        text = text.removesuffix("kr.").removesuffix("kr")
        if _DANISH_NUMBER.match(text):
            text = text.replace(".", "").replace(",", ".")
        elif "," in text and "." not in text:
            text = text.replace(",", ".")
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise _not_a_number(raw) from None
    if not value.is_finite():
        raise _not_a_number(raw)
    return value


def _places(value: Decimal) -> int:
    return places(value.normalize())


def _unknown_area(given: list[str], areas: Collection[str]) -> ValueError:
    known = ", ".join(sorted(areas))
    return _bad(f"unknown area {', '.join(map(repr, given))}; known: {known}",
                f"ukendt område {', '.join(f'»{a}«' for a in given)}; kendte: {known}")


def _unknown_part(token: str, area: str, parts: list[str]) -> ValueError:
    if not parts:
        return _bad(f"{token!r}: the area {area!r} has no parts; name it whole ({area})",
                    f"»{token}«: området »{area}« har ingen dele; angiv det hele ({area})")
    known = ", ".join(f"{area}:{p}" for p in parts)
    return _bad(f"unknown part {token!r}; the parts of {area} are: {known}",
                f"ukendt del »{token}«; delene af »{area}« er: {known}")


def parse_value(spec: FieldSpec, raw: Any, *, areas: Collection[str],
                municipalities: Collection[str]) -> Any:
    """One value, or raise ValueError with a message that does not repeat the key."""
    if spec.type == "date":
        if isinstance(raw, date):
            return raw
        try:
            return iso_date(str(raw).strip())
        except ValueError:
            raise _bad(f"{raw!r} is not a date (YYYY-MM-DD)",
                       f"»{raw}« er ikke en dato (ÅÅÅÅ-MM-DD)") from None
    if spec.type == "choice":
        if raw not in spec.choices:
            raise _bad(f"{raw!r} is not one of {', '.join(spec.choices)}",
                       f"»{raw}« er ikke et af valgene "
                       + join_or(spec.choice_labels.get(c, c) for c in spec.choices))
        return raw
    if spec.type == "areas":  # "social" (the area whole) or "social:s82" (one part of it)
        items = raw if isinstance(raw, list) else str(raw).split(",")
        ids = [str(a).strip() for a in items if str(a).strip()]
        unknown = [a for a in ids if area_of(a) not in areas]
        if unknown:
            raise _unknown_area(unknown, areas)
        declared = parts_of(areas) if isinstance(areas, Mapping) else {}
        for token in ids:
            area, part = split(token)
            if part is not None and part not in declared.get(area, []):
                raise _unknown_part(token, area, declared.get(area, []))
        if len(units(ids, declared)) != sum(len(units([a], declared)) for a in ids):
            raise _bad("an area or part is named twice",
                       "et område eller en del af et er nævnt to gange")
        return ids
    if spec.type == "money":
        value = parse_decimal(raw)
        if _places(value) > 2:
            raise _bad(f"{raw!r} has more than two decimals (øre)",
                       f"»{raw}« har mere end to decimaler (øre)")
        if not 0 <= value < MAX_AMOUNT:
            raise _bad(f"{raw!r} must be between 0 and {MAX_AMOUNT:,.0f} kr.",
                       f"»{raw}« skal være mellem 0 og {amount(MAX_AMOUNT, decimals=0)}")
        return value.quantize(Decimal("0.01"))
    if spec.type == "percent":
        value = parse_decimal(str(raw).strip().removesuffix("%") if isinstance(raw, str)
                              else raw)
        if _places(value) > 4 or not 0 <= value <= 1000:
            raise _bad(f"{raw!r} is not a percentage from 0 to 1000 with at most four "
                       f"decimals", f"»{raw}« er ikke en procentsats fra 0 til 1.000 med "
                       f"højst fire decimaler")
        return value.normalize() if value else Decimal(0)
    if spec.type == "integer":
        text = str(raw).strip() if not isinstance(raw, int | bool) else raw
        if isinstance(text, bool) or not (isinstance(text, int) or re.fullmatch(r"\d+", text)):
            raise _bad(f"{raw!r} is not a whole number", f"»{raw}« er ikke et helt tal")
        whole = int(text)
        if not 0 <= whole <= MAX_INTEGER:
            raise _bad(f"{raw!r} must be between 0 and {MAX_INTEGER}",
                       f"»{raw}« skal være mellem 0 og {number(MAX_INTEGER)}")
        return whole
    if spec.type == "area":   # an area, or one part of it (social:s82)
        area, part = split(str(raw))
        if area not in areas:
            raise _unknown_area([raw], areas)
        declared = parts_of(areas) if isinstance(areas, Mapping) else {}
        if part is not None and part not in declared.get(area, []):
            raise _unknown_part(str(raw), area, declared.get(area, []))
        return raw
    if spec.type == "municipality":
        if raw not in municipalities:
            known = ", ".join(sorted(municipalities))
            raise _bad(f"unknown municipality {raw!r}; known: {known}",
                       f"ukendt kommune »{raw}«; kendte: {known}")
        return raw
    if spec.type == "texts":  # one text per item: a list, or one item per line
        items = raw if isinstance(raw, list) else str(raw).splitlines()
        out = [_text(x) for x in items if not isinstance(x, str) or x.strip()]
        if not out:
            raise _bad("expected at least one text (one per line)",
                       "skal udfyldes (én pr. linje)")
        if len(out) > MAX_ITEMS:
            raise _bad(f"more than {MAX_ITEMS} items", f"mere end {MAX_ITEMS} punkter")
        return out
    return _text(raw)


def _text(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise _bad("expected a non-empty text", "skal udfyldes")
    problem = text_problem(raw)
    if problem is not None:
        raise ValueError(problem)
    if len(raw) > MAX_TEXT:
        raise _bad(f"longer than {MAX_TEXT} characters",
                   f"er længere end {number(MAX_TEXT)} tegn")
    return raw.strip()


def parse_data(raw: Mapping[str, Any], *, fields: Mapping[str, FieldSpec],
               allowed: Collection[str], trigger: str, areas: Collection[str],
               municipalities: Collection[str]) -> dict[str, Any]:
    """Validate a whole data mapping for one trigger; unknown keys are an error too."""
    problems: list[Said] = []
    out = {}
    for key, value in raw.items():
        if key not in allowed:
            takes = ", ".join(allowed)
            problems.append(Said(
                f"{shown(key)}: {trigger} does not take this key (it takes: "
                f"{takes or 'no data'})",
                f"{shown(key)}: oplysningen hører ikke til handlingen (den tager: "
                f"{', '.join(fields[k].label.da for k in allowed if k in fields) or 'ingen'})"))
            continue
        try:
            out[key] = parse_value(fields[key], value, areas=areas,
                                   municipalities=municipalities)
        except ValueError as exc:
            problems.append(Said(f"{key}: {exc}",
                                 f"{fields[key].label.da}: {in_danish(exc.args[0])}"))
    if problems:
        raise InvalidData(Said.joined(problems))
    return out


def as_date(value: Any) -> date | None:
    """A stored date (ISO text or a date) as a date; None for nothing or no date."""
    if isinstance(value, date) or value is None:
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def to_json(values: Mapping[str, Any]) -> dict[str, Any]:
    """Dates as ISO text, amounts as exact decimal text ("1234.50")."""
    return {k: (v.isoformat() if isinstance(v, date) else f"{v:f}" if isinstance(v, Decimal)
                else v) for k, v in values.items()}


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
        elif spec is not None and spec.type in ("money", "percent") and isinstance(v, str):
            try:
                out[k] = Decimal(v)
            except InvalidOperation:
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
