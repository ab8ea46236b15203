"""A case's history a page at a time, on SQLite and PostgreSQL: the pages one after
another are the whole history in its order, with entries of several sources recorded at
the same instant; a cursor holds its place while the case goes on, and a cursor of
another case, or one altered, is refused."""

from __future__ import annotations

import pytest

from tests.conftest import Clock
from tests.engine.test_casetext import letter
from tests.factories import make_application
from workflow.engine import casetext, queries
from workflow.engine.workflow import Workflow
from workflow.errors import InvalidData


def pages(wf: Workflow, app: int, limit: int) -> list[list[dict]]:
    out, cursor = [], None
    while True:
        page = queries.history_page(wf, app, user="pl-ishoj", cursor=cursor, limit=limit)
        out.append(page.rows)
        if page.next is None:
            return out
        cursor = page.next


def busy_case(wf: Workflow, clock: Clock) -> int:
    """A case with steps, downloads and section edits, several at one instant."""
    app = make_application(wf, state="drafting")
    doc = letter(wf, app)["id"]
    for k in range(3):   # at the instant of the steps: a section edit and two downloads
        casetext.save_section(wf, app, "reasons", f"Begrundelse {k}.", user="legal-ishoj")
        wf.download(doc, user="legal-ishoj")
        wf.download(doc, user="pl-ishoj")
    clock.advance(minutes=5)
    casetext.save_section(wf, app, "staff", "Personalet flytter.", user="legal-ishoj")
    wf.download(doc, user="legal-ishoj")
    return app


def test_the_pages_are_the_whole_history_in_its_order(wf: Workflow, clock: Clock) -> None:
    app = busy_case(wf, clock)
    whole = queries.history(wf, app, user="pl-ishoj")
    kinds = [e["trigger"] for e in whole]
    assert kinds.count("download") == 7 and kinds.count("edit_section") == 4
    assert kinds[0] == "create" and len({e["at"] for e in whole}) < len(whole) / 2
    # by time; at one instant the steps first, then the downloads, then the section edits
    rank = {"download": 1, "edit_section": 4}
    keys = [(e["at"], rank.get(e["trigger"], 0)) for e in whole]
    assert keys == sorted(keys)
    for limit in (1, 2, 3, 7, len(whole) - 1, len(whole), 500):
        got = pages(wf, app, limit)
        assert [e for page in got for e in page] == whole, limit
        assert all(1 <= len(page) <= limit for page in got)
        assert len(got) == -(-len(whole) // limit)


def test_a_cursor_holds_its_place_while_the_case_goes_on(wf: Workflow, clock: Clock) -> None:
    app = busy_case(wf, clock)
    first = queries.history_page(wf, app, user="pl-ishoj", limit=4)
    clock.advance(minutes=1)
    wf.download(letter(wf, app)["id"], user="legal-ishoj")   # after the page was read
    rest = pages_after(wf, app, first.next)
    whole = queries.history(wf, app, user="pl-ishoj")
    assert first.rows + rest == whole and whole[-1]["trigger"] == "download"


def pages_after(wf: Workflow, app: int, cursor: str | None) -> list[dict]:
    out: list[dict] = []
    while cursor is not None:
        page = queries.history_page(wf, app, user="pl-ishoj", cursor=cursor, limit=5)
        out += page.rows
        cursor = page.next
    return out


def test_a_cursor_of_another_case_or_altered_is_refused(wf: Workflow, clock: Clock) -> None:
    app = busy_case(wf, clock)
    other = make_application(wf, state="area_selection")
    good = queries.history_page(wf, app, user="pl-ishoj", limit=2).next
    assert good is not None
    for bad in (good[:-2] + ("AA" if good[-2:] != "AA" else "BB"), good[:-3], "x" * 40,
                "æøå"):
        with pytest.raises(InvalidData, match="cursor"):
            queries.history_page(wf, app, user="pl-ishoj", cursor=bad)
    with pytest.raises(InvalidData, match="cursor"):
        queries.history_page(wf, other, user="pl-ishoj", cursor=good)


def test_steps_stay_in_version_order_when_their_times_do_not(wf: Workflow,
                                                               clock: Clock) -> None:
    """Racing writers can record version 6 a moment before version 5: the steps keep the
    chain's order, and the pages still make the whole."""
    app = busy_case(wf, clock)
    doc = letter(wf, app)["id"]
    clock.advance(minutes=-30)   # the next step's clock is behind the entries before it
    casetext.save_section(wf, app, "citizens", "Borgerne mærker intet.", user="legal-ishoj")
    wf.fire(app, "withdraw", user="pl-ishoj", data={"reason": "Prøve"})
    wf.download(doc, user="legal-ishoj")
    whole = queries.history(wf, app, user="pl-ishoj")
    versions = [e["version"] for e in whole if e["version"] is not None]
    assert versions == sorted(versions) and whole[-1]["trigger"] != "withdraw"
    for limit in (1, 2, 5):
        assert [e for page in pages(wf, app, limit) for e in page] == whole, limit
