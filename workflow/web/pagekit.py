"""What every page shares: the templates and their filters, the session's user and CSRF
token, flashed messages, rendering and redirects."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from .. import danish
from ..engine.cooperations import short_names
from ..engine.workflow import Workflow
from ..errors import (
    NotFound,
    PermissionDenied,
    Said,
    in_danish,
)
from ..store import database as store
from . import messages, sessions


def templates(request: Request) -> Jinja2Templates:
    t: Jinja2Templates = request.app.state.pages
    return t


def csrf_token(request: Request) -> str:
    return sessions.csrf_token(request)


def check_csrf(request: Request, token: str) -> None:
    # A visitor without a session yet accepts no form: an empty token matches nothing.
    if not sessions.csrf_ok(request, token or ""):
        raise PermissionDenied(Said(
            "the form is out of date or not from this site (CSRF); reload the page and try "
            "again", "formularen er forældet eller ikke fra dette websted; hent siden igen, "
            "og prøv så igen"))


def session_user(request: Request) -> str:
    """The user of the request's live session (looked up on the server this request)."""
    return sessions.session_user(request)


def flash(request: Request, kind: str, text: str) -> None:
    request.session.setdefault("flash", []).append({"kind": kind, "text": text})


def render(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    wf: Workflow = request.app.state.wf
    me = ctx.pop("me", None)  # a page that has looked the user up already passes it
    if me is None and request.session.get("user"):
        try:
            with store.read(wf.engine) as conn:
                me = wf.actor(conn, request.session["user"])
        except NotFound:  # deactivated since logging in: the session ends here
            request.session.clear()
    flashes = request.session.pop("flash", [])
    # a page for the cache carries a marker where the session's token goes (pagecache)
    csrf = getattr(request.state, "csrf_marker", None) or csrf_token(request)
    return templates(request).TemplateResponse(
        request, name, {"me": me, "csrf": csrf, "messages": flashes,
                        "today": wf.today(), "roles": wf.definition.roles,
                        "municipality_names": {k: m.name for k, m in wf.municipalities.items()},
                        "installation_name": short_names(wf, me),
                        "trigger_labels": messages.trigger_labels(wf), **ctx}, status_code=status)


def back(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)



def warm_up(t: Jinja2Templates) -> None:
    """Compile every page template now, at the worker's start, not in its first requests
    (a page's first compile takes tens of milliseconds, and the requests queue behind it)."""
    for name in t.env.list_templates():
        t.env.get_template(name)


_DICT_NAMES = frozenset(dir(dict))


class PageEnvironment(jinja2.Environment):
    """Jinja's environment for the pages, whose data are mostly dicts: ``case.title`` on a
    dict looks up its key first. Jinja's own order (the attribute, then the key) gives the
    same value for every name that is not a dict method's, but raises and catches an
    AttributeError each time: on the dashboard that was ~7 % of its time."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_NAMES:
            try:
                return obj[attribute]
            except KeyError:
                pass   # undefined, as Jinja says it
        return super().getattr(obj, attribute)


def page_templates(directory: Path) -> Jinja2Templates:
    """The pages' templates (HTML autoescaped), as :class:`Jinja2Templates` makes them,
    in a :class:`PageEnvironment`, with the pages' filters."""
    t = Jinja2Templates(env=PageEnvironment(loader=jinja2.FileSystemLoader(directory),
                                            autoescape=jinja2.select_autoescape()))
    install_filters(t)
    return t


def install_filters(t: Jinja2Templates) -> None:
    """The pages' filters: Danish dates, times, amounts and numbers, a reason in Danish."""
    env = t.env
    env.filters["long_date"] = lambda v: danish.long_date(
        v if isinstance(v, date) else date.fromisoformat(str(v)[:10])) if v else ""
    env.filters["local_time"] = lambda v: _local(v)
    env.filters["local_day"] = lambda v: _local(v).split(" kl. ")[0]
    env.filters["amount"] = _amount
    env.filters["number"] = _number
    env.filters["da"] = in_danish  # a reason given in English and Danish: the Danish


def _amount(value: Any) -> str:
    """``1.234.567,50 kr.``; nothing known: a dash."""
    if value is None or value == "":
        return "–"
    try:
        return danish.amount(Decimal(str(value)))
    except (ArithmeticError, ValueError):  # not a number (InvalidOperation): shown as it is
        return str(value)


def _number(value: Any) -> str:
    """A number as a Dane writes it, decimals as given: ``1.234.567,5``, ``7,5``, ``420``."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return str(value)
    return danish.number(number, decimals=None) if number.is_finite() else str(value)


def _local(value: Any) -> str:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    if not value:
        return ""
    moment = datetime.fromisoformat(str(value)).astimezone(ZoneInfo("Europe/Copenhagen"))
    return f"{danish.long_date(moment.date())} kl. {moment:%H.%M}"
