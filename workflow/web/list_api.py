"""The API's lists: applications, deadlines, reminders and search, a page at a time.

Each answers ``{"items": [...], "next": URL | null, "cursor": ..., "prev_cursor": ...,
"limit": n}``: ``next`` is this request's URL with the next page's ``cursor``; ``null``
on the last page. A cursor is opaque (it carries the list's sort key, checked); one
changed by hand, or taken from another list or sort, is refused with 422. ``limit`` is
at most 100 (a larger one is taken as 100). Nothing is counted.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, BeforeValidator, Field

from ..engine import lists, overview, queries
from ..store import database as store
from .api import NAME, UserDep, WfDep, errors
from .bodies import CheckedBody

router = APIRouter(prefix="/api", route_class=CheckedBody, responses=errors(401, 503))


class Page(BaseModel):
    """One page of a list."""

    items: list[dict[str, Any]] = Field(description="the rows of this page")
    next: str | None = Field(description="the next page: this URL with its cursor; null "
                                         "on the last page")
    cursor: str | None = Field(description="the next page's cursor (null: none)")
    prev_cursor: str | None = Field(description="the page before's cursor (null: this is "
                                                "the first)")
    limit: int = Field(description="the rows a page holds at most")


def _iso_day(value: Any) -> Any:
    """A day as the schema says it (``YYYY-MM-DD``): not a number of seconds since 1970."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return value
    if isinstance(value, date):
        return value
    raise ValueError("a day is written YYYY-MM-DD")


IsoDay = Annotated[date, BeforeValidator(_iso_day)]
Cursor = Annotated[str | None, Query(max_length=400, description=(
    "the page to read: a `cursor` (or `prev_cursor`) of a page this list gave out; "
    "omitted: the first page. A changed cursor is refused with 422"))]
Limit = Annotated[int, Query(ge=1, description=f"rows a page, at most {lists.MAX_LIMIT} "
                                               "(a larger value is taken as that)")]


def _page(request: Request, page: lists.Page, limit: int, items: list[dict[str, Any]]
          ) -> Page:
    nxt = None
    if page.next:
        kept = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
        nxt = str(request.url.replace_query_params(**dict(kept), cursor=page.next))
    return Page(items=items, next=nxt, cursor=page.next, prev_cursor=page.prev, limit=limit)


@router.get("/applications", tags=["applications"], response_model=Page,
            responses=errors(422))
def read_applications(request: Request, wf: WfDep, user: UserDep,
                      state: Annotated[str | None, Query(pattern=NAME)] = None,
                      kind: Annotated[str | None, Query(pattern=NAME)] = None,
                      due_before: Annotated[IsoDay | None, Query(
                          description="only cases with an open deadline before this day")]
                      = None,
                      q: Annotated[str | None, Query(max_length=200, description=(
                          "a search (as `/api/search`); then `sort` is relevance or "
                          "updated, and the other filters are not applied"))] = None,
                      sort: Annotated[str, Query(pattern="^(updated|case_number|due|"
                                                         "relevance)$", description=(
                          "updated (the newest change first, the default), case_number, "
                          "due (the nearest open deadline first; cases without one are "
                          "left out), relevance (with `q`)"))] = "updated",
                      cursor: Cursor = None, limit: Limit = 50) -> Page:
    """A page of the applications this user may see (each as `GET /api/applications/{id}`
    describes it)."""
    limit = min(limit, lists.MAX_LIMIT)
    page = queries.application_page(wf, user=user, state=state, kind=kind,
                                    due_before=due_before, q=q, sort=sort, cursor=cursor,
                                    limit=limit)
    return _page(request, page, limit, page.rows)


@router.get("/search", tags=["applications"], response_model=Page, responses=errors(422))
def search(request: Request, wf: WfDep, user: UserDep,
           q: Annotated[str, Query(max_length=200, description=(
               "words to find in titles, case numbers and the drafts' and sections' text "
               "(PostgreSQL: Danish stemming, \"quoted phrases\", -excluded words; SQLite: "
               "each word as a prefix); a case number finds its case"))],
           sort: Annotated[str, Query(pattern="^(relevance|updated)$")] = "relevance",
           cursor: Cursor = None, limit: Limit = 20) -> Page:
    """The cases this user may see that match ``q``, each with its ``rank`` (higher: more
    relevant)."""
    limit = min(limit, lists.MAX_LIMIT)
    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
        page = lists.search(wf, conn, actor, q, sort=sort, cursor=cursor, limit=limit)
        items = overview.summaries(wf, conn, page.rows)
    for item in items:
        item["updated_at"] = item["updated_at"].isoformat()
    return _page(request, page, limit, items)


@router.get("/deadlines", tags=["deadlines"], response_model=Page, responses=errors(422))
def read_deadlines(request: Request, wf: WfDep, user: UserDep, overdue: bool = False,
                   mine: bool = False, cursor: Cursor = None, limit: Limit = 50) -> Page:
    """A page of the open deadlines of the applications this user may see, soonest
    first."""
    limit = min(limit, lists.MAX_LIMIT)
    page = queries.deadline_page(wf, user=user, overdue=overdue, mine=mine, cursor=cursor,
                                 limit=limit)
    return _page(request, page, limit, page.rows)


@router.get("/reminders", tags=["deadlines"], response_model=Page, responses=errors(422))
def read_reminders(request: Request, wf: WfDep, user: UserDep,
                   status: Annotated[str | None, Query(
                       pattern="^(pending|sending|sent|failed|cancelled)$")] = None,
                   cursor: Cursor = None, limit: Limit = 50) -> Page:
    """A page of the reminder ledger for the applications this user may see, by due
    time."""
    limit = min(limit, lists.MAX_LIMIT)
    page = queries.reminders(wf, user=user, status=status, cursor=cursor, limit=limit)
    return _page(request, page, limit, page.rows)
