"""The user's own pages: the profile (the your-turn e-mails) and changing one's own
password, which a one-time password leads to before anything else (see
:func:`.sessions.session_user`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from ..accounts import logins as accounts
from ..engine.workflow import Workflow
from ..errors import AuthError, InvalidData, RateLimited, Said
from . import messages, sessions
from .api import get_wf
from .bodies import CheckedForm
from .pagekit import back, check_csrf, flash, render, session_user

router = APIRouter(include_in_schema=False, route_class=CheckedForm)
WfDep = Annotated[Workflow, Depends(get_wf)]


@router.get("/profile", response_class=HTMLResponse)
def profile(request: Request, wf: WfDep) -> HTMLResponse:
    """The user's own settings: the your-turn e-mails."""
    user = session_user(request)
    return render(request, "profile.html", notices=accounts.turn_notices(wf.engine, user))


@router.post("/profile/password")
def change_password(request: Request, wf: WfDep, csrf: Annotated[str, Form()],
                    current: Annotated[str, Form()], new: Annotated[str, Form()],
                    repeat: Annotated[str, Form()]) -> Response:
    """The user's own new password: the one they have, and the new one twice. Their other
    sessions end and their API tokens are revoked; this session goes on."""
    user = session_user(request)
    check_csrf(request, csrf)
    client = request.client.host if request.client else ""
    try:
        if new != repeat:
            raise InvalidData(Said("the two new passwords differ",
                                   "de to nye adgangskoder er ikke ens"))
        accounts.change_own_password(wf.engine, user, current, new, client=client,
                                     now=wf.clock(), keep_session=sessions.session_id(request))
    except RateLimited:
        flash(request, "error", "For mange forkerte forsøg. Prøv igen om lidt.")
        return back("/profile#adgangskode")
    except AuthError:
        flash(request, "error", "Den nuværende adgangskode er forkert.")
        return back("/profile#adgangskode")
    except InvalidData as exc:
        flash(request, "error", messages.sentence(exc.da or str(exc)))
        return back("/profile#adgangskode")
    request.session.pop("must_change_password", None)
    flash(request, "ok", "Din adgangskode er skiftet. Dine andre sessioner er afsluttet.")
    return back("/")


@router.post("/profile")
def save_profile(request: Request, wf: WfDep, csrf: Annotated[str, Form()],
                 turn_notices: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, csrf)
    user = session_user(request)
    on = turn_notices == "on"
    accounts.set_turn_notices(wf.engine, user, on)
    flash(request, "ok", "Du får nu en e-mail, når det er din tur." if on
          else "Du får ikke længere en e-mail, når det er din tur.")
    return back("/profile")
