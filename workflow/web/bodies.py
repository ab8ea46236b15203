"""The API's JSON bodies checked before a route reads them: at most 1 MiB and 32 levels
deep, no NaN or Infinity, no lone surrogates or control characters; each problem a 422
naming where it is (:class:`CheckedBody`)."""

from __future__ import annotations

import json
import math
import urllib.parse
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.types import Message

from ..errors import InvalidData, Said
from ..process import values

MAX_BODY = 1 << 20  # bytes: an application's title, data and comment fit many times over


MAX_DEPTH = 32      # levels of JSON nesting: a body of ours has three


class _NonFinite(str):
    """What ``NaN``, ``Infinity`` or a number too large for a float (``1e400``) read as:
    none is a number JSON has, or one a case could hold."""


_CONSTANTS = ("NaN", "Infinity", "-Infinity")  # what Python's json reads beyond JSON


def _float(text: str) -> float | _NonFinite:
    value = float(text)
    return value if math.isfinite(value) else _NonFinite(text)


def _invalid(path: tuple[str | int, ...], kind: str, msg: str) -> dict[str, Any]:
    """One error as FastAPI words a body's (its ``loc`` names the field)."""
    where = ".".join(map(str, path)) or "body"
    return {"type": kind, "loc": ("body", *path), "msg": f"{where}: {msg}", "input": None}


def body_problems(body: bytes) -> list[dict[str, Any]]:
    """What makes a JSON body unfit to validate, each naming its field: NaN, Infinity or
    a number out of range (which no JSON answer could even repeat), a lone UTF-16
    surrogate in a key or a text (which no database can store), nesting deeper than
    :data:`MAX_DEPTH`, bytes that are not UTF-8. Text that is not JSON at all is left to
    FastAPI's own error."""
    try:
        value = json.loads(body, parse_constant=_NonFinite, parse_float=_float)
    except RecursionError:
        return [_invalid((), "json_invalid", f"nested more than {MAX_DEPTH} levels deep")]
    except json.JSONDecodeError:
        return []
    except UnicodeDecodeError:
        return [_invalid((), "json_invalid", "not UTF-8 text")]
    except ValueError as exc:  # an integer of more digits than Python reads
        return [_invalid((), "json_invalid", f"not valid JSON: {exc}")]
    problems: list[dict[str, Any]] = []
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), value)]
    while stack and len(problems) < 10:
        path, item = stack.pop()
        if len(path) > MAX_DEPTH:
            problems.append(_invalid(path[:MAX_DEPTH], "json_invalid",
                                     f"nested more than {MAX_DEPTH} levels deep"))
        elif isinstance(item, _NonFinite):
            problems.append(_invalid(path, "finite_number", (
                f"{item} is not a number in JSON" if item in _CONSTANTS else
                f"{item} is out of range for a number") + "; send a finite number"))
        elif isinstance(item, str):
            problem = _not_text(item)
            if problem is not None:
                problems.append(_invalid(path, "string_unicode", problem))
        elif isinstance(item, dict):
            for key, v in reversed(item.items()):
                problem = _not_text(key)
                if problem is not None:
                    problems.append(_invalid((*path, values.shown(key)), "string_unicode",
                                             f"the key {problem}"))
                else:
                    stack.append(((*path, key), v))
        elif isinstance(item, list):
            stack.extend(((*path, i), v) for i, v in reversed(list(enumerate(item))))
    return problems


def _not_text(text: str) -> str | None:
    """Why ``text`` is no text (it holds a lone surrogate), or None."""
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return str(values.text_problem(text))
    return None


def _is_json(request: Request) -> bool:
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    return not kind or kind == "application/json" or \
        (kind.startswith("application/") and kind.endswith("+json"))


class CheckedBody(APIRoute):
    """A route whose request body is read at most :data:`MAX_BODY` bytes far (more is a
    413) and, when JSON, checked (:func:`body_problems`: a 422 naming each field) before
    FastAPI parses and validates it."""

    max_body = MAX_BODY

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def checked(request: Request) -> Response:
            if request.method in ("GET", "HEAD", "OPTIONS"):
                return await handler(request)
            body = await _read_body(request, self.max_body)
            problems = body_problems(body) if body and _is_json(request) else []
            if problems:
                raise RequestValidationError(problems)
            return await handler(_replayed(request, body))

        return checked


def form_problem(body: bytes) -> str | None:
    """Why a urlencoded form is no text, or None: a byte or an escape (``%ED%A0%80``)
    that is not UTF-8, which the form parser would store as U+FFFD, the text lost. What
    the text then says is each field's own check (a title, a note), in its own words."""
    try:
        urllib.parse.parse_qsl(body.decode("ascii"), keep_blank_values=True,
                               encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError):
        return "the form is not UTF-8 text"
    return None


class CheckedForm(APIRoute):
    """A page's route: a urlencoded form is read at most :data:`MAX_BODY` bytes far and
    refused (InvalidData: a Danish page) when it is not UTF-8 (:func:`form_problem`)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def checked(request: Request) -> Response:
            kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
            if request.method != "POST" or kind != "application/x-www-form-urlencoded":
                return await handler(request)
            body = await _read_body(request)
            problem = form_problem(body)
            if problem is not None:
                raise InvalidData(Said(problem, "Formularen indeholder tegn, der ikke er "
                                                "UTF-8-tekst"))
            return await handler(_replayed(request, body))

        return checked


class UploadBody(CheckedBody):
    """A route that takes a file (an edited .docx): a body of up to 21 MiB."""

    max_body = 21 << 20


async def _read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    too_large = HTTPException(413, f"the request body is larger than {limit:,} bytes")
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _replayed(request: Request, body: bytes) -> Request:
    """The request again, its body (read already) given to whoever reads it next."""
    given = False

    async def receive() -> Message:
        nonlocal given
        if given:
            return await request.receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, receive)
