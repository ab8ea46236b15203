"""The true story: Ishøj and Vallensbæk end their mandatory cooperation, 2020–22, replayed.

Every step runs through the real engine at its own moment (a stepping clock), with the
day it happened where that is not the day it was recorded, so the history, the deadlines
and the drafts are what the engine would have made then: the drafts name the ministry of
their day (Indenrigs- og Boligministeriet from 21 January 2021).

What the replay states as fact is sourced in DOMAIN.md (§ 1, "What actually happened"):
the equalisation-reform agreement of 5 May 2020 opened the exit; early in 2021 the ministry
signalled a dispensation with conditions; on 2 March 2021 both councils approved a letter
that accepted them and asked for 1 January 2022; on 1 January 2022 the split took effect,
about 200 staff moved and some wastewater tasks stayed in Ishøj. Everything else is
marked ``INVENTED`` below and said so in the step's comment: the days of the application's
own steps, the ministry's letters and reference, and the conditions' wording, which was not
found published.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import func, select

from ..errors import SetupError
from ..store import database as store
from ..store import tables as t
from .demo import SteppingClock, past_notices_told

TITLE = "Ophævelse af det forpligtende samarbejde mellem Ishøj og Vallensbæk"
AREAS = "employment,rehabilitation,social,special_education,nature_environment"
INVENTED = "Opdigtet i demoen: datoen er ikke fundet i kilderne."
INVENTED_WORDING = ("Opdigtet i demoen: ministeriets brev og vilkårenes ordlyd er ikke fundet "
                    "offentliggjort.")
# The conditions as § 11 a, stk. 3 allows them (start and end, staff, publication); their
# wording is INVENTED, the takes-effect date the councils asked for is not (DOMAIN.md).
CONDITIONS = [
    "Ændringen har virkning fra 1. januar 2022.",
    "Personalet overføres efter reglerne om virksomhedsoverdragelse.",
    "Kommunerne orienterer borgerne om ændringen i god tid før den har virkning.",
]

# (recorded: day and time, case, trigger, user, data); a step's data may carry the day it
# happened (``happened_on``) or its own date (a meeting); ``comment`` marks what is invented.
Step = tuple[date, str, str, str, dict[str, Any]]
STEPS: list[Step] = [
    (date(2020, 6, 2), "10:00", "propose_areas", "pl-ishoj",          # INVENTED day
     {"areas": AREAS, "comment": INVENTED}),
    (date(2020, 6, 2), "14:00", "confirm_areas", "pl-ishoj", {}),
    (date(2020, 6, 3), "09:00", "confirm_areas", "pl-vallensbaek", {}),
    (date(2020, 6, 4), "10:00", "update_details", "pl-ishoj",
     {"requested_effective_date": "2022-01-01"}),                       # DOMAIN.md: asked for
    (date(2020, 8, 17), "10:00", "submit_for_review", "pl-ishoj", {"comment": INVENTED}),
    (date(2020, 8, 24), "10:00", "approve_draft", "legal-ishoj", {"comment": INVENTED}),
    (date(2020, 9, 2), "09:00", "record_council_decision", "sec-ishoj",  # INVENTED meeting
     {"decision": "approved", "meeting_date": "2020-09-01",
      "agenda_ref": "Byrådet 1. september 2020", "comment": INVENTED}),
    (date(2020, 9, 3), "09:00", "record_council_decision", "sec-vallensbaek",
     {"decision": "approved", "meeting_date": "2020-09-02",
      "agenda_ref": "Kommunalbestyrelsen 02-09-2020", "comment": INVENTED}),
    (date(2020, 9, 7), "11:00", "send_to_ministry", "pl-ishoj", {"comment": INVENTED}),
    # early 2021: the ministry signals a dispensation with conditions (DOMAIN.md)
    (date(2021, 2, 12), "10:00", "announce_conditions", "pl-ishoj",
     {"announced_conditions": "\n".join(CONDITIONS), "reference": "2020-0000 (opdigtet)",
      "request_date": "2021-02-10", "happened_on": "2021-02-11",
      "comment": INVENTED_WORDING}),
    # 2 March 2021: both councils accept them (DOMAIN.md)
    (date(2021, 3, 3), "09:00", "accept_conditions", "sec-ishoj",
     {"meeting_date": "2021-03-02", "agenda_ref": "Byrådet 2. marts 2021"}),
    (date(2021, 3, 3), "10:00", "accept_conditions", "sec-vallensbaek",
     {"meeting_date": "2021-03-02", "agenda_ref": "Kommunalbestyrelsen 02-03-2021"}),
    (date(2021, 3, 4), "10:00", "send_acceptance", "pl-ishoj", {"comment": INVENTED}),
    (date(2021, 4, 21), "10:00", "record_decision", "pl-ishoj",         # INVENTED day
     {"outcome": "granted_with_conditions", "reference": "2020-0000 (opdigtet)",
      "decision_date": "2021-04-19", "conditions": "\n".join(CONDITIONS),
      "effective_date": "2022-01-01", "happened_on": "2021-04-20", "comment": INVENTED}),
    (date(2021, 4, 22), "10:00", "start_transition", "pl-ishoj",
     {"effective_date": "2022-01-01"}),
    # 1 January 2022: the split takes effect (DOMAIN.md), recorded the first working day
    (date(2022, 1, 3), "09:00", "complete", "pl-ishoj",
     {"happened_on": "2022-01-01",
      "comment": "Ophøret har virkning fra 1. januar 2022. Omkring 200 medarbejdere skifter "
                 "kommune; enkelte spildevandsopgaver forbliver hos Ishøj Kommune "
                 "(Folkebladet, december 2021)."}),
]
OPENED = (date(2020, 5, 27), "10:00")   # INVENTED day, after the agreement of 5 May 2020
ENDS = STEPS[-1][0]                      # the last step's day: the history is past after it


def load_history(open_workflow: Callable[[Callable[[], Any]], Any], *,
                 timezone: str = "Europe/Copenhagen") -> int:
    """Replay the history on a database with the demo set-up and no cases; the case's id."""
    from zoneinfo import ZoneInfo

    clock = SteppingClock(ZoneInfo(timezone))
    wf = open_workflow(clock)
    with store.read(wf.engine) as conn:
        if conn.execute(select(func.count()).select_from(t.application)).scalar():
            raise SetupError("--history needs a database without applications")
    clock.at(*OPENED)
    app = int(wf.create(kind="exit", title=TITLE, user="pl-ishoj"))
    for day, hhmm, trigger, user, data in STEPS:
        clock.at(day, hhmm)
        data = dict(data)
        comment = str(data.pop("comment", ""))
        wf.fire(app, trigger, user=user, data=data, comment=comment)
    past_notices_told(wf.engine)
    return app
