"""Your-turn notices: a step that makes it someone's turn e-mails them, once, at once.

Real engine on SQLite and PostgreSQL (``wf``), a settable clock, the reminder service and
an SMTP server on loopback (aiosmtpd): what is asserted is what reached the server.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from tests.conftest import Clock
from tests.factories import make_application, walk_fire
from tests.reminders.test_reminders import (
    PL_ISHOJ,
    PL_VALLENSBAEK,
    SEC_ISHOJ,
    SEC_VALLENSBAEK,
    SmtpServer,
    cli_env,
    decoded_subject,
    ledger,
    run_cli,
)
from workflow.cli.app import cli
from workflow.engine.queries import history
from workflow.engine.workflow import Workflow
from workflow.errors import DefinitionError, GuardFailed
from workflow.process.definition import loads
from workflow.reminders.service import ReminderService
from workflow.store import database as store
from workflow.store import tables as t

AREAS = ["rehabilitation", "special_education"]
Service = Callable[..., ReminderService]


def notices(wf: Workflow, app: int, status: str | None = None) -> list[dict[str, Any]]:
    return [r for r in ledger(wf, app, status=status) if r["kind"] == "turn"]


def sent(smtp: SmtpServer) -> list[tuple[set[str], str, str]]:
    """(recipients, subject, body) of every accepted notice (the deadline reminders that
    fall due as the clock moves on to a meeting day are test_reminders.py's)."""
    out = []
    for mail in smtp.inbox.accepted:
        msg = email.message_from_bytes(mail.raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        body = msg.get_body(("plain",))
        assert body is not None
        subject = decoded_subject(mail.raw)
        if subject.startswith("Din tur: "):
            out.append((set(mail.rcpt_tos), subject, body.get_content()))
    return out


def proposed(wf: Workflow) -> int:
    app = wf.create(kind="dispensation", round=1, title="Genoptræning og PPR", user="pl-ishoj")
    wf.fire(app, "propose_areas", user="pl-ishoj", data={"areas": ",".join(AREAS)})
    return app


def test_one_side_confirms_the_other_is_told_at_once(wf: Workflow, smtp: SmtpServer,
                                                     service: Service) -> None:
    app = proposed(wf)
    assert notices(wf, app) == []          # a proposal awaits no one yet (no deadline)
    wf.fire(app, "confirm_areas", user="pl-ishoj")
    [row] = notices(wf, app)
    assert row["party"] == "vallensbaek" and row["status"] == "pending"
    assert [p["name"] for p in row["recipients"]] == ["Anders Løvengreen"]
    assert row["due_at"] == wf.clock().isoformat()     # at once, not at 08:00

    assert service().tick().sent == 1
    [(to, subject, body)] = sent(smtp)
    assert to == {PL_VALLENSBAEK}                      # never the one who took the step
    assert subject == f"Din tur: Bekræft områder – Genoptræning og PPR ({row['case_number']})"
    assert "Kære Anders Løvengreen" in body
    assert "Nu er det Vallensbæk Kommunes tur i sagen nedenfor." in body
    assert "Seneste skridt: Bekræft områder (Mette Højgaard, Ishøj Kommune, 8. januar 2018)" \
        in body
    assert "Hvad skal ske: Bekræft områder" in body
    assert "Du får beskeden som projektleder i Vallensbæk Kommune." in body
    assert service().tick().sent == 0                  # sent once
    [entry] = [h for h in history(wf, app, user="pl-ishoj") if h["trigger"] == "notice"]
    assert entry["data"]["to"] == ["Anders Løvengreen"] and entry["data"]["after_version"] == 3


def test_a_turn_taken_before_the_notice_went_out_cancels_it(
        wf: Workflow, smtp: SmtpServer, service: Service) -> None:
    app = proposed(wf)
    wf.fire(app, "confirm_areas", user="pl-ishoj")
    wf.fire(app, "confirm_areas", user="pl-vallensbaek")   # before the service ran
    rows = {r["party"]: r for r in notices(wf, app)}
    assert rows["vallensbaek"]["status"] == "cancelled"
    assert rows["vallensbaek"]["last_error"] == "no longer their turn"
    # drafting now awaits both project leads; Vallensbæk's took the step himself
    assert rows["ishoj"]["status"] == "pending"
    assert service().tick().sent == 1
    [(to, subject, _)] = sent(smtp)
    assert to == {PL_ISHOJ} and subject.startswith("Din tur: Send til juridisk gennemsyn – ")


def test_council_secretaries_then_project_leads(wf: Workflow, clock: Clock,
                                                smtp: SmtpServer, service: Service) -> None:
    app = make_application(wf, state="legal_review", areas=AREAS)
    service().tick()
    smtp.inbox.accepted.clear()
    wf.fire(app, "approve_draft", user="legal-ishoj")
    service().tick()
    [(a, subj_a, body_a), (b, _, _)] = sorted(sent(smtp), key=lambda m: sorted(m[0]))
    assert {frozenset(a), frozenset(b)} == {frozenset({SEC_ISHOJ}), frozenset({SEC_VALLENSBAEK})}
    assert "Registrér politisk beslutning" in subj_a and "Sæt på dagsorden" in subj_a
    assert "Seneste skridt: Godkend udkast (Lærke Østergaard, Ishøj Kommune" in body_a

    smtp.inbox.accepted.clear()
    walk_fire(wf, app, "record_council_decision", user="sec-ishoj",
              data={"decision": "approved", "meeting_date": "2018-04-03",
                    "agenda_ref": "BR 3/4-18 pkt. 7"})
    service().tick()
    assert sent(smtp) == []        # Vallensbæk's council was awaited already; no one new
    walk_fire(wf, app, "record_council_decision", user="sec-vallensbaek",
              data={"decision": "approved", "meeting_date": "2018-04-25",
                    "agenda_ref": "KB 25-04-2018 pkt. 12"})
    service().tick()
    # both councils have approved: now the project leads may send it
    got = sent(smtp)
    assert {frozenset(m[0]) for m in got} == {frozenset({PL_ISHOJ}), frozenset({PL_VALLENSBAEK})}
    assert all(m[1].startswith("Din tur: Send til ministeriet – ") for m in got)


def test_conditions_announced_go_to_the_council_secretaries(
        wf: Workflow, smtp: SmtpServer, service: Service) -> None:
    app = make_application(wf, state="submitted", areas=AREAS)
    service().tick()
    smtp.inbox.accepted.clear()
    walk_fire(wf, app, "announce_conditions", user="pl-ishoj",
              data={"announced_conditions": "Personalet overgår 1. januar 2019",
                    "reference": "2018-77", "request_date": "2018-05-01"})
    service().tick()
    got = sent(smtp)
    assert {frozenset(m[0]) for m in got} == {frozenset({SEC_ISHOJ}),
                                              frozenset({SEC_VALLENSBAEK})}
    assert all("Acceptér vilkår" in m[1] for m in got)
    assert all("Status: Vilkår varslet" in m[2] for m in got)


def test_a_refused_step_plans_no_notice(wf: Workflow) -> None:
    app = proposed(wf)
    with pytest.raises(GuardFailed):
        wf.fire(app, "confirm_areas", user="pl-ishoj", data={"areas": "social,employment"})
    assert notices(wf, app) == []


def test_a_user_can_turn_them_off(wf: Workflow, db_url: str, smtp: SmtpServer,
                                  service: Service) -> None:
    env = cli_env(db_url)
    assert "pl-vallensbaek: your-turn e-mails off." in run_cli(
        env, "users", "notices", "pl-vallensbaek", "off", "--as", "pl-vallensbaek")
    refused = CliRunner().invoke(cli, ["users", "notices", "pl-ishoj", "off",
                                       "--as", "pl-vallensbaek"], env=env)
    assert refused.exit_code != 0 and "only an administrator or pl-ishoj" in refused.output
    app = proposed(wf)
    wf.fire(app, "confirm_areas", user="pl-ishoj")
    assert notices(wf, app) == []        # no one left to tell in Vallensbæk
    run_cli(env, "users", "notices", "pl-vallensbaek", "on", "--as", "admin")
    wf.fire(app, "confirm_areas", user="pl-vallensbaek")
    assert [r["party"] for r in notices(wf, app)] == ["ishoj"]


def test_the_definition_can_turn_them_off(wf: Workflow, open_wf: Callable[..., Workflow]
                                          ) -> None:
    source = wf.definition.source.replace("  turn_notices: true\n", "  turn_notices: false\n")
    assert source != wf.definition.source
    quiet = open_wf(definition=loads(source, file="states.yaml"))
    app = proposed(quiet)
    quiet.fire(app, "confirm_areas", user="pl-ishoj")
    assert notices(quiet, app) == []


def test_the_setting_is_checked(wf: Workflow) -> None:
    text = wf.definition.source.replace("turn_notices: true", "turn_notices: sometimes")
    with pytest.raises(DefinitionError, match=r"states\.yaml:\d+.*turn_notices.*true or false"):
        loads(text, file="states.yaml")


def test_the_notice_is_written_with_the_step(wf: Workflow) -> None:
    """The step and its notice commit together: the row names the audit entry."""
    app = proposed(wf)
    out = wf.fire(app, "confirm_areas", user="pl-ishoj")
    r = t.reminder
    with store.read(wf.engine) as conn:
        got = conn.execute(select(r.c.audit_version, r.c.role, r.c.municipality,
                                  r.c.deadline_id).where(r.c.application_id == app)).all()
    assert [tuple(x) for x in got] == [(out.version, "project_lead", "vallensbaek", None)]
