"""iCalendar export of deadlines, per application or per user, for Outlook and the like.

Each open deadline becomes an all-day event on its due date, with a stable UID (so a
re-import updates rather than duplicates) and its derivation in the description.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from icalendar import Calendar, Event


def deadlines_calendar(deadlines: Iterable[Mapping[str, Any]], *, name: str,
                       domain: str = "workflow.local", now: datetime,
                       product: str = "workflow") -> bytes:
    """``product``: whose calendar it is (the installation's cooperations, by name)."""
    cal = Calendar()
    cal.add("prodid", f"-//workflow//{product}//DA")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name)
    for d in deadlines:
        due = date.fromisoformat(d["due"])
        event = Event()
        event.add("uid", f"deadline-{d['id']}@{domain}")
        event.add("dtstamp", now)
        event.add("dtstart", due)
        event.add("dtend", due + timedelta(days=1))
        who = f" ({d['party']})" if d.get("party") else ""
        event.add("summary", f"Frist: {d['title']} – {d['state_label']}{who} ({d['case_number']})")
        event.add("description", f"Sagsnr. {d['case_number']}\nFrist: {d['derivation']}"
                                 f"\nSe sagen: workflow show {d['application']}")
        event.add("categories", ["Frist"])
        cal.add_component(event)
    return bytes(cal.to_ical())
