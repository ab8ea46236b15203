"""Word drafts made by the engine: their content, versions, approvals, downloads and PDFs.

Every document is made by real transitions, read back from the database through
``Workflow.download`` (or the CLI) and opened with python-docx. The heavier content and
PDF checks run on SQLite (``sqlite_wf``); versions, approvals, downloads, failing
templates and races run on both databases (``wf``/``db_url``). PDFs come from the real
LibreOffice; under CI a missing LibreOffice fails the tests that need it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import docx
import pytest
from click.testing import CliRunner, Result
from docx.document import Document as DocxDocument
from docx.oxml.ns import qn
from docx.text.paragraph import Paragraph
from sqlalchemy import insert, select, update

from tests.conftest import Clock
from tests.engine.test_concurrency import no_unexpected_errors, racers
from tests.factories import ROUND_ONE, make_application, set_municipality, tiny_png, walk_fire
from workflow.cli.app import cli
from workflow.config import Settings
from workflow.documents.letterhead import Letterheads, letterhead_spec
from workflow.documents.pdf import LIBREOFFICE_HINT
from workflow.documents.sections import SECTIONS
from workflow.engine.queries import documents, get_application, history
from workflow.engine.workflow import Workflow
from workflow.errors import DocumentError, InvalidData, NotFound, PermissionDenied, SetupError
from workflow.installation.demo import demo_rows
from workflow.store import tables as t

PROJECT_DIR = Path(__file__).resolve().parents[2]
TEMPLATES = PROJECT_DIR / "templates"
ISHOJ_OK = {"decision": "approved", "meeting_date": "2018-04-03",
            "agenda_ref": "BR 3/4-18 pkt. 7"}
VALLENSBAEK_OK = {"decision": "approved", "meeting_date": "2018-04-25",
                  "agenda_ref": "KB 25-04-2018 pkt. 12"}
MINISTRY_2018 = "Økonomi- og Indenrigsministeriet"   # no address: DOMAIN.md has it from memory
COPENHAGEN = ZoneInfo("Europe/Copenhagen")
SPECIAL_TITLE = 'Ansøgning & <test> "citat" *stjerne* _under_ # | æøå ÆØÅ'


# --------------------------------------------------------------------- fixtures
@pytest.fixture
def sqlite_wf(sqlite_template: Path, tmp_path: Path, clock: Clock) -> Iterator[Workflow]:
    """A Workflow on a fresh SQLite database: for the checks that need no second backend."""
    path = tmp_path / "documents.db"
    shutil.copy(sqlite_template, path)
    workflow = Workflow.open(Settings(database_url=f"sqlite:///{path}"), clock=clock)
    yield workflow
    workflow.close()


def require_libreoffice() -> None:
    if shutil.which("soffice") is None:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(
            "LibreOffice is not installed (apt-get install libreoffice-writer-nogui)")


# ---------------------------------------------------------------------- helpers
def docs_of(wf: Workflow, app: int) -> dict[tuple[str, str | None], dict[str, Any]]:
    return {(d["name"], d["party"]): d for d in documents(wf, app, user="admin")}


def doc_id(wf: Workflow, app: int, name: str, party: str | None = None) -> int:
    return int(docs_of(wf, app)[(name, party)]["id"])


def fetch(wf: Workflow, app: int, name: str, party: str | None = None,
          number: int | None = None) -> DocxDocument:
    got = wf.download(doc_id(wf, app, name, party), user="pl-ishoj", number=number)
    return docx.Document(io.BytesIO(got.content))


def paragraphs(doc: DocxDocument) -> list[str]:
    return [p.text for p in doc.paragraphs]


def styled(doc: DocxDocument, style: str) -> list[str]:
    return [p.text for p in doc.paragraphs if p.style.name == style]


def table_rows(doc: DocxDocument, index: int = 0) -> list[list[str]]:
    return [[c.text for c in row.cells] for row in doc.tables[index].rows]


def num_id(p: Paragraph) -> int | None:
    ppr = p._p.pPr
    if ppr is None or ppr.numPr is None or ppr.numPr.numId is None:
        return None
    return int(ppr.numPr.numId.val)


def numbered_lists(doc: DocxDocument) -> list[list[str]]:
    """The top-level numbered lists in order, each its own numbering that starts at 1."""
    lists: dict[int, list[str]] = {}
    for p in doc.paragraphs:
        if p.style.name == "List Number":
            n = num_id(p)
            assert n is not None, f"a numbered item without numbering: {p.text!r}"
            lists.setdefault(n, []).append(p.text)
    numbering = doc.part.numbering_part.element
    for n in lists:
        override = numbering.num_having_numId(n).find(qn("w:lvlOverride"))
        assert override is not None and override.get(qn("w:ilvl")) == "0"
        assert override.find(qn("w:startOverride")).get(qn("w:val")) == "1"
    return list(lists.values())


def is_subsequence(wanted: list[str], seen: list[str]) -> bool:
    it = iter(seen)
    return all(any(w == s for s in it) for w in wanted)


def assert_letterhead(doc: DocxDocument, case_number: str, letter_date: str,
                      letterhead: str) -> None:
    header = [p.text for p in doc.sections[0].header.paragraphs]
    assert header[0] == letterhead
    assert header[-1] == f"Sagsnr. {case_number}  ·  {letter_date}"
    footer = doc.sections[0].footer
    assert [e.text.strip() for e in footer._element.iter(qn("w:instrText"))] == \
        ["PAGE", "NUMPAGES"]
    assert footer.paragraphs[0].text.startswith("Side ")


def assert_bold_header_row(doc: DocxDocument, index: int = 0) -> None:
    for cell in doc.tables[index].rows[0].cells:
        runs = cell.paragraphs[0].runs
        assert runs and all(r.bold for r in runs), cell.text


def case_number(wf: Workflow, app: int) -> str:
    return str(get_application(wf, app, user="admin")["case_number"])


def run_cli(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


def clean_failure(result: Result, code: int) -> str:
    """A handled failure: the exit code, one line on stderr, nothing on stdout."""
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output and "Traceback" not in result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def downloads_logged(wf: Workflow, app: int) -> list[dict[str, Any]]:
    return [e for e in history(wf, app, user="admin") if e["trigger"] == "download"]


def template_sha(templates: Path, template: str, letterhead: str) -> str:
    """sha256 of a template, the section templates it includes (in the letter's order)
    and its letterhead."""
    source = (templates / "documents" / template).read_bytes()
    for name in SECTIONS:
        if f'"sections/{name}.md.j2"'.encode() in source:
            source += b"\0" + (templates / "documents" / "sections" / f"{name}.md.j2").read_bytes()
    rows = {m["id"]: m for m in demo_rows()[0]}
    paper = Letterheads(templates / "reference" / "base.docx").digest(
        letterhead_spec(letterhead, ["ishoj", "vallensbaek"], rows))
    return hashlib.sha256(source + b"\0" + paper.encode()).hexdigest()


def copy_templates(tmp_path: Path) -> Path:
    copy = tmp_path / "templates"
    shutil.copytree(TEMPLATES, copy)
    return copy


def insert_line(path: Path, after: str, line: str) -> int:
    """Insert ``line`` after the first line containing ``after``; its 1-based number."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    index = next(i for i, text in enumerate(lines) if after in text) + 1
    lines.insert(index, line + "\n")
    path.write_text("".join(lines), encoding="utf-8")
    return index + 1


def touch_later(path: Path) -> None:
    """Make sure a rewritten file does not share its modification time with the old one."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000_000))


JOBCENTRE_ROAD: list[tuple[str, str, str, dict[str, str]]] = [
    ("2018-01-09T10:30", "confirm_areas", "pl-ishoj", {}),
    ("2018-01-09T14:00", "confirm_areas", "pl-vallensbaek", {}),
    ("2018-01-22T12:00", "submit_for_review", "pl-ishoj", {}),
    ("2018-01-24T10:00", "approve_draft", "legal-ishoj", {}),
    ("2018-02-07T08:30", "record_council_decision", "sec-ishoj",
     {"decision": "approved", "meeting_date": "2018-02-06",
      "agenda_ref": "Byrådet 6. februar 2018, punkt 4"}),
    ("2018-02-15T09:00", "record_council_decision", "sec-vallensbaek",
     {"decision": "approved", "meeting_date": "2018-02-14",
      "agenda_ref": "Kommunalbestyrelsen 14-02-2018, punkt 9"}),
    ("2018-02-16T11:00", "send_to_ministry", "pl-ishoj", {}),
    ("2018-03-12T10:00", "request_info", "pl-ishoj",
     {"reference": "2018-1234", "request_date": "2018-03-09", "due_date": "2018-03-26",
      "questions": "Hvor mange medarbejdere berøres?"}),
    ("2018-03-20T15:00", "answer_question", "pl-ishoj",
     {"question_no": 1, "answer": "Cirka 200 medarbejdere."}),
    ("2018-03-22T15:00", "answer_info", "pl-ishoj", {}),
    ("2018-04-16T10:00", "record_decision", "pl-ishoj",
     {"outcome": "refused", "reference": "2018-1234", "decision_date": "2018-04-13"}),
]
JOBCENTRE_TITLE = "Hjemtagning af Jobcenter Vallensbæks opgaver for Ishøj"


def jobcentre_then_satellite(wf: Workflow, clock: Clock) -> tuple[int, int]:
    """The jobcentre take-back through to its refusal, and the satellite it opens, confirmed."""
    clock.at("2018-01-08T09:30")
    job = wf.create(kind="jobcentre", title=JOBCENTRE_TITLE, user="pl-ishoj")
    spawned: tuple[int, ...] = ()
    for when, trigger, user, data in JOBCENTRE_ROAD:
        clock.at(when)
        spawned = wf.fire(job, trigger, user=user, data=data).spawned
    satellite, = spawned
    clock.at("2018-04-18T09:00")
    assert wf.fire(satellite, "confirm_areas", user="pl-ishoj").documents == ()
    clock.at("2018-04-19T09:00")
    made = wf.fire(satellite, "confirm_areas", user="pl-vallensbaek").documents
    assert [(m.name, m.number) for m in made] == [("satellite_application", 1)]
    return job, satellite


# ====================================================================== content
def test_the_application_letter(sqlite_wf: Workflow, clock: Clock) -> None:
    wf = sqlite_wf
    app = make_application(wf, state="drafting")
    case = case_number(wf, app)
    doc = fetch(wf, app, "application_letter")
    assert_letterhead(doc, case, "8. januar 2018", "Ishøj Kommune  ·  Vallensbæk Kommune")
    assert doc.core_properties.title == f"Ansøgning om dispensation – {case}"
    # fixed, so that the bytes do not depend on who took the step (they are its inputs alone)
    assert doc.core_properties.author == doc.core_properties.last_modified_by == "workflow"
    text = paragraphs(doc)
    assert text[0] == MINISTRY_2018
    assert styled(doc, "Heading 1") == [
        "Ansøgning om dispensation efter § 11 a, stk. 2, i lov om forpligtende kommunale "
        "samarbejder – genoptræning, specialundervisning og natur og miljø"]
    assert styled(doc, "Heading 2") == [
        "Kommunalbestyrelsernes beslutninger", "Baggrund", "Opgaverne", "Begrundelse",
        "Fremtidig organisering", "Ikrafttræden og overgang", "Personale", "Økonomi",
        "Kontaktpersoner"]
    bullets = styled(doc, "List Bullet")
    assert bullets[:2] == ["Ishøj Byråd: mødedatoen er endnu ikke fastlagt.",
                           "Vallensbæk Kommunalbestyrelse: mødedatoen er endnu ikke fastlagt."]
    for name, ref in (("Genoptræning", "§ 1, stk. 2, nr. 2"),
                      ("Specialundervisning", "§ 1, stk. 2, nr. 4"),
                      ("Natur og miljø", "§ 1, stk. 2, nr. 3")):
        assert f"{name}, jf. {ref}, som i dag varetages af Ishøj Kommune som bemyndiget " \
               "kommune" in bullets
        assert f"{name}: Vallensbæk Kommune overtager opgaverne for egne borgere, og Ishøj " \
               "Kommune fortsætter med at varetage opgaverne for egne borgere." in bullets
    steps, annexes = numbered_lists(doc)
    assert len(steps) == 7 and steps[0].startswith("Styregruppen nedsætter")
    assert annexes == ["Uddrag af beslutningsprotokoller fra Ishøj Byråd og Vallensbæk "
                       "Kommunalbestyrelse", "Tidsplan for overgangen", "Økonominotat"]
    assert table_rows(doc) == [
        ["Kommune", "Kontaktperson", "E-mail"],
        ["Ishøj Kommune", "Mette Højgaard", "mette.hoejgaard@ishoj.example"],
        ["Vallensbæk Kommune", "Anders Løvengreen", "anders.loevengreen@vallensbaek.example"]]
    assert_bold_header_row(doc)
    assert "Borgmester, Ishøj Kommune\nKommunaldirektør, Ishøj Kommune" in text
    assert not any("[mangler]" in p or "\\" in p for p in text)

    # the councils' handling, as it happens
    wf.fire(app, "submit_for_review", user="pl-ishoj")
    wf.fire(app, "approve_draft", user="legal-vallensbaek")
    clock.at("2018-04-04T08:30")
    walk_fire(wf, app, "record_council_decision", user="sec-ishoj", data=ISHOJ_OK)
    clock.at("2018-04-05T09:00")
    wf.fire(app, "schedule_council_meeting", user="sec-vallensbaek",
            data={"meeting_date": "2018-04-25", "agenda_ref": "KB pkt. 12"})
    doc = fetch(wf, app, "application_letter")
    assert_letterhead(doc, case, "5. april 2018", "Ishøj Kommune  ·  Vallensbæk Kommune")
    assert styled(doc, "List Bullet")[:2] == [
        "Ishøj Byråd: godkendt den 3. april 2018.",
        "Vallensbæk Kommunalbestyrelse: behandles på mødet onsdag den 25. april 2018."]
    clock.at("2018-04-26T08:00")
    walk_fire(wf, app, "record_council_decision", user="sec-vallensbaek", data=VALLENSBAEK_OK)
    doc = fetch(wf, app, "application_letter")   # dated the day of the meeting it records
    assert_letterhead(doc, case, "25. april 2018", "Ishøj Kommune  ·  Vallensbæk Kommune")
    assert "Ansøgningen sendes på grundlag af beslutninger i Ishøj Byråd den 3. april 2018 og " \
           "Vallensbæk Kommunalbestyrelse den 25. april 2018. Begge kommunalbestyrelser har " \
           "godkendt ansøgningen og bemyndiget borgmestrene til at underskrive den." \
           in paragraphs(doc)
    assert not any("mødedatoen" in p or "behandles på mødet" in p for p in paragraphs(doc))
    assert [v["number"] for v in docs_of(wf, app)[("application_letter", None)]["versions"]] \
        == [1, 2, 3, 4]


def test_the_agenda_items_in_each_municipality_layout(sqlite_wf: Workflow,
                                                      clock: Clock) -> None:
    wf = sqlite_wf
    app = make_application(wf, state="council_approval", title="Første dispensationsansøgning")
    case = case_number(wf, app)
    ishoj = fetch(wf, app, "agenda_item", "ishoj")
    vallensbaek = fetch(wf, app, "agenda_item", "vallensbaek")
    assert_letterhead(ishoj, case, "8. januar 2018", "Ishøj Kommune")
    assert_letterhead(vallensbaek, case, "8. januar 2018", "Vallensbæk Kommune")
    for doc in (ishoj, vallensbaek):
        assert doc.core_properties.title == f"Dagsordenspunkt – {case}"
        assert styled(doc, "Heading 1") == ["Første dispensationsansøgning"]
        assert paragraphs(doc)[1] == f"Sagsnr.: {case}"
        assert not any("[mangler]" in p for p in paragraphs(doc))
    assert is_subsequence(["Resume", "Sagsfremstilling", "Lovgrundlag", "Økonomi", "Høring",
                           "Indstilling", "Beslutning"], styled(ishoj, "Heading 2"))
    assert styled(ishoj, "Heading 3")[:3] == ["Baggrund", "De valgte områder",
                                              "Behandling i Vallensbæk Kommune"]
    assert styled(vallensbaek, "Heading 2")[:4] == ["Beslutningstema", "Indstilling",
                                                    "Sagsfremstilling", "Økonomi"]
    assert styled(vallensbaek, "Heading 2")[-1] == "Beslutning Kommunalbestyrelsen"
    assert "Genoptræning (§ 1, stk. 2, nr. 2), som i dag varetages af Ishøj Kommune som " \
           "bemyndiget kommune" in styled(ishoj, "List Bullet")
    assert "Natur og miljø (§ 1, stk. 2, nr. 3), hvor Ishøj Kommune i dag er bemyndiget " \
           "kommune" in styled(vallensbaek, "List Bullet")
    resume = paragraphs(ishoj)[paragraphs(ishoj).index("Resume") + 1]
    assert "til Økonomi- og Indenrigsministeriet om dispensation" in resume
    assert resume.endswith("inden for genoptræning, specialundervisning og natur og miljø.")
    indstilling, annexes = numbered_lists(ishoj)
    assert len(indstilling) == 2 and indstilling[0].startswith("ansøgningen om dispensation")
    assert annexes == ["Udkast til ansøgning til Økonomi- og Indenrigsministeriet", "Tidsplan",
                       "Økonominotat"]
    assert numbered_lists(vallensbaek) == []
    assert styled(vallensbaek, "List Bullet")[:1] == [
        "at ansøgningen om dispensation efter § 11 a, stk. 2, i lov om forpligtende kommunale "
        "samarbejder godkendes og sendes til Økonomi- og Indenrigsministeriet i fællesskab "
        "med Ishøj Kommune"]
    after = paragraphs(ishoj)[paragraphs(ishoj).index("Beslutning") + 1:][:3]
    assert after == ["Fagudvalget: Afventer behandling.",   # the committees before the Byråd
                     "Økonomi- og Planudvalget: Afventer behandling.", "Afventer behandling."]

    clock.at("2018-04-04T08:30")
    walk_fire(wf, app, "record_council_decision", user="sec-ishoj", data=ISHOJ_OK)
    clock.at("2018-04-26T08:30")
    walk_fire(wf, app, "record_council_decision", user="sec-vallensbaek", data=VALLENSBAEK_OK)
    ishoj = fetch(wf, app, "agenda_item", "ishoj")
    vallensbaek = fetch(wf, app, "agenda_item", "vallensbaek")
    text = paragraphs(ishoj)
    assert text[text.index("Beslutning") + 1] == "Byrådet den 3. april 2018: Tiltrådt."
    assert "Vallensbæk Kommunalbestyrelse har godkendt ansøgningen på sit møde den 25. april " \
           "2018." in text
    assert styled(vallensbaek, "Heading 2")[-1] == "Beslutning Kommunalbestyrelsen den 25-04-2018"
    assert paragraphs(vallensbaek)[-1] == "Godkendt."
    assert any(p.startswith("Ishøj Byråd har godkendt ansøgningen den 3. april 2018. ")
               for p in paragraphs(vallensbaek))


def test_jobcentre_answer_decision_memo_and_satellite(sqlite_wf: Workflow, clock: Clock) -> None:
    wf = sqlite_wf
    job, satellite = jobcentre_then_satellite(wf, clock)
    case, sat_case = case_number(wf, job), case_number(wf, satellite)
    assert set(docs_of(wf, job)) == {("application_letter", None), ("agenda_item", "ishoj"),
                                     ("agenda_item", "vallensbaek"), ("info_answer", None),
                                     ("decision_memo", None)}
    assert set(docs_of(wf, satellite)) == {("satellite_application", None)}

    letter = fetch(wf, job, "application_letter")
    assert "Subsidiær anmodning" in styled(letter, "Heading 2")
    assert "Beskæftigelse (jobcenter), jf. § 1, stk. 2, nr. 1, som i dag varetages af " \
           "Vallensbæk Kommune som bemyndiget kommune" in styled(letter, "List Bullet")
    assert "Ansøgningen sendes på grundlag af beslutninger i Ishøj Byråd den 6. februar 2018 " \
           "og Vallensbæk Kommunalbestyrelse den 14. februar 2018." in " ".join(
               paragraphs(letter))

    answer = fetch(wf, job, "info_answer")   # dated the day it was sent
    assert_letterhead(answer, case, "22. marts 2018", "Ishøj Kommune  ·  Vallensbæk Kommune")
    assert paragraphs(answer)[0] == MINISTRY_2018
    assert styled(answer, "Heading 1") == [
        "Svar på anmodning om supplerende oplysninger – j.nr. 2018-1234"]
    assert "Ishøj Kommune og Vallensbæk Kommune takker for ministeriets brev af 9. marts 2018 " \
           "med anmodning om supplerende oplysninger til " \
           f"kommunernes fælles ansøgning ({JOBCENTRE_TITLE}, kommunernes sagsnr. {case}). " \
           "Ministeriet har bedt om svar senest den 26. marts 2018." in paragraphs(answer)
    assert styled(answer, "List Bullet") == [
        "Beskæftigelse (jobcenter) (§ 1, stk. 2, nr. 1): Vallensbæk Kommune er i dag "
        "bemyndiget og varetager opgaverne på vegne af Ishøj Kommune."]
    assert [len(items) for items in numbered_lists(answer)] == [5]
    assert styled(answer, "Heading 2") == [
        "Ministeriets spørgsmål og kommunernes svar", "Baggrund",
        "Opgaverne og den nuværende opgavefordeling", "Overgangsplan", "Personale", "Økonomi",
        "Kontaktpersoner"]
    assert styled(answer, "Heading 3") == ["Spørgsmål 1"]   # the questions one by one
    assert "Hvor mange medarbejdere berøres?" in paragraphs(answer)
    assert "Cirka 200 medarbejdere." in paragraphs(answer)
    assert table_rows(answer)[0] == ["Kommune", "Kontaktperson", "E-mail"]
    assert_bold_header_row(answer)

    memo = fetch(wf, job, "decision_memo")
    assert_letterhead(memo, case, "16. april 2018", "Ishøj Kommune  ·  Vallensbæk Kommune")
    assert styled(memo, "Heading 1") == [f"Notat: Ministeriets afgørelse i sag {case}"]
    text = paragraphs(memo)
    assert "Økonomi- og Indenrigsministeriet har truffet afgørelse om kommunernes fælles " \
           f"ansøgning ({JOBCENTRE_TITLE})." in text
    facts = next(p for p in memo.paragraphs if p.text.startswith("Dato for afgørelsen"))
    assert facts.text == "Dato for afgørelsen: 13. april 2018\nMinisteriets j.nr.: 2018-1234\n" \
                         "Afgørelse: afslag"
    assert [r.text for r in facts.runs if r.bold] == [
        "Dato for afgørelsen:", "Ministeriets j.nr.:", "Afgørelse:"]
    assert table_rows(memo) == [
        ["Område", "§", "Afgørelse", "Varetages i dag af", "Overgang"],
        ["Beskæftigelse (jobcenter)", "§ 1, stk. 2, nr. 1", "Afslag", "Vallensbæk Kommune",
         "Forbliver i samarbejdet"]]
    assert_bold_header_row(memo)
    # an outright refusal: no transition steps, and what follows it
    assert styled(memo, "Heading 2") == ["Afgørelsen", "Områder med afslag", "Næste skridt"]
    assert "Ministeriet har givet afslag på ansøgningen for beskæftigelse (jobcenter)." in text
    assert styled(memo, "List Bullet") == [
        "Beskæftigelse (jobcenter) (§ 1, stk. 2, nr. 1), som fortsat varetages af "
        "Vallensbæk Kommune"]
    assert any(p.startswith("Da hjemtagningen af jobcenteropgaven ikke er bevilget") for p in text)
    next_steps, = numbered_lists(memo)
    assert next_steps == [
        "Afgørelsen forelægges til orientering for Økonomi- og Planudvalget og Byrådet i Ishøj "
        "Kommune og for Økonomiudvalget og Kommunalbestyrelsen i Vallensbæk Kommune.",
        "Styregruppen vurderer ministeriets begrundelse og tager stilling til, om områderne "
        "skal indgå i en ny ansøgning.",
        "Administrationen udarbejder ansøgningen om en jobcentersatellit, som kommunerne "
        "tilkendegav i ansøgningen."]
    assert not any(w in " ".join(text) for w in ("Overgangsplan", "overgangsgruppe",
                                                 "BUM-aftale", "personaleoverdragelsen"))

    application = fetch(wf, satellite, "satellite_application")
    assert_letterhead(application, sat_case, "19. april 2018",
                      "Ishøj Kommune  ·  Vallensbæk Kommune")
    assert application.core_properties.title == f"Ansøgning om jobcentersatellit – {sat_case}"
    text = paragraphs(application)
    assert text[0] == MINISTRY_2018
    assert styled(application, "Heading 1") == [
        "Ansøgning om etablering af en jobcentersatellit i Ishøj Kommune"]
    assert "Ishøj Kommune og Vallensbæk Kommune ansøger hermed i fællesskab om at etablere en " \
           "jobcentersatellit i Ishøj Kommune som en lokal afdeling af Jobcenter Vallensbæk." \
           in text
    background = text[text.index("Baggrund") + 1]
    assert f"(kommunernes sagsnr. {case})" in background
    assert "Ministeriet har den 13. april 2018 meddelt afslag på ansøgningen, jf. ministeriets " \
           "j.nr. 2018-1234." in background
    assert "Ansøgningen forelægges Ishøj Byråd og Vallensbæk Kommunalbestyrelse til " \
           "godkendelse og sendes først, når begge kommunalbestyrelser har godkendt den." in text
    schedule, annexes = numbered_lists(application)
    assert len(schedule) == 5
    assert annexes[0] == "Uddrag af beslutningsprotokoller fra Ishøj Byråd og Vallensbæk " \
                         "Kommunalbestyrelse"
    assert "Satellitten er en afdeling af Jobcenter Vallensbæk og ledes af jobcenterets " \
           "ledelse." in styled(application, "List Bullet")
    assert table_rows(application)[1] == ["Ishøj Kommune", "Mette Højgaard",
                                          "mette.hoejgaard@ishoj.example"]
    assert not any("[mangler]" in p for doc in (letter, answer, memo, application)
                   for p in paragraphs(doc))


def test_the_decision_memo_follows_a_partial_grant_and_its_start(sqlite_wf: Workflow,
                                                                 clock: Clock) -> None:
    wf = sqlite_wf
    app = make_application(wf, state="partly_granted", granted=["rehabilitation"])
    memo = fetch(wf, app, "decision_memo")
    assert table_rows(memo)[1:] == [
        ["Genoptræning", "§ 1, stk. 2, nr. 2", "Bevilget", "Ishøj Kommune",
         "Dato aftales med ministeriet"],
        ["Specialundervisning", "§ 1, stk. 2, nr. 4", "Afslag", "Ishøj Kommune",
         "Forbliver i samarbejdet"],
        ["Natur og miljø", "§ 1, stk. 2, nr. 3", "Afslag", "Ishøj Kommune",
         "Forbliver i samarbejdet"]]
    assert styled(memo, "Heading 3") == ["Genoptræning"]
    assert any(p.endswith("Afgørelse: delvist bevilget") for p in paragraphs(memo))
    assert len(numbered_lists(memo)) == 2        # the area's steps and the next steps
    clock.at("2018-06-20T10:00")
    out = wf.fire(app, "start_transition", user="pl-ishoj", data={"effective_date": "2019-01-01"})
    assert [(m.name, m.number) for m in out.documents] == [("decision_memo", 2)]
    memo = fetch(wf, app, "decision_memo")
    assert table_rows(memo)[1][4] == "Fra 1. januar 2019"
    assert "Dispensationen har virkning fra den 1. januar 2019. Overgangen skal være " \
           "gennemført til den dato." in paragraphs(memo)
    assert "Vallensbæk Kommune overtager opgaverne for egne borgere fra Ishøj Kommune den " \
           "1. januar 2019. Overgangen gennemføres i disse trin:" in paragraphs(memo)
    versions = docs_of(wf, app)[("decision_memo", None)]["versions"]
    assert [(v["number"], v["stale"], v["trigger"]) for v in versions] == [
        (1, True, "record_decision"), (2, False, "start_transition")]


# ------------------------------------------------------------- ministry by date
@pytest.mark.parametrize(("moment", "ministry", "letter_date"), [
    ("2018-05-03T09:00", MINISTRY_2018, "3. maj 2018"),
    ("2019-06-26T21:59", MINISTRY_2018, "26. juni 2019"),
    ("2019-06-26T22:00", "Social- og Indenrigsministeriet", "27. juni 2019"),
    ("2021-03-01T09:00", "Indenrigs- og Boligministeriet", "1. marts 2021"),
    ("2022-12-14T22:59", "Indenrigs- og Boligministeriet", "14. december 2022"),
    ("2022-12-14T23:00", "Indenrigs- og Sundhedsministeriet", "15. december 2022"),
    ("2023-09-14T09:00", "Indenrigs- og Sundhedsministeriet", "14. september 2023"),
])
def test_the_ministry_is_the_one_valid_on_the_letter_date(sqlite_wf: Workflow, clock: Clock,
                                                          moment: str, ministry: str,
                                                          letter_date: str) -> None:
    wf = sqlite_wf
    clock.at(moment)   # UTC; the letter's date is the Danish date
    app = make_application(wf, state="council_approval")
    letter = fetch(wf, app, "application_letter")
    assert paragraphs(letter)[0] == ministry
    assert_letterhead(letter, case_number(wf, app), letter_date,
                      "Ishøj Kommune  ·  Vallensbæk Kommune")
    short = ministry.split("\n")[0]
    for party in ("ishoj", "vallensbaek"):
        agenda = " ".join(paragraphs(fetch(wf, app, "agenda_item", party)))
        assert f"sendes til {short} i fællesskab med" in agenda
        for other in {"Økonomi- og Indenrigsministeriet", "Social- og Indenrigsministeriet",
                      "Indenrigs- og Boligministeriet",
                      "Indenrigs- og Sundhedsministeriet"} - {short}:
            assert other not in agenda


# -------------------------------------------------------------- data, exactly
@pytest.mark.parametrize("title", [
    SPECIAL_TITLE,
    "{{ 7*7 }} {% if x %} \\ [link](http://x.dk) <b>fed</b> &amp; 1. ~~ØÆÅ~~ `kode` #2",
])
def test_titles_are_printed_exactly_as_typed(sqlite_wf: Workflow, title: str) -> None:
    wf = sqlite_wf
    app = make_application(wf, state="info_requested", title=title)
    case = case_number(wf, app)
    for party in ("ishoj", "vallensbaek"):
        agenda = fetch(wf, app, "agenda_item", party)
        assert styled(agenda, "Heading 1") == [title]
        assert agenda.paragraphs[0].style.name == "Heading 1"
    answer = fetch(wf, app, "info_answer")
    assert any(f"({title}, kommunernes sagsnr. {case})" in p for p in paragraphs(answer))
    wf.fire(app, "answer_info", user="pl-ishoj")
    walk_fire(wf, app, "record_decision", user="pl-ishoj",
            data={"outcome": "granted", "reference": "2018-77", "decision_date": "2018-06-01"})
    memo = fetch(wf, app, "decision_memo")
    assert f"Økonomi- og Indenrigsministeriet har truffet afgørelse om kommunernes fælles " \
           f"ansøgning ({title})." in paragraphs(memo)


def test_a_title_with_a_control_character_does_not_block_the_case(sqlite_wf: Workflow) -> None:
    wf = sqlite_wf
    try:
        app = make_application(wf, state="legal_review",
                               title="Ansøgning\x0bmed lodret tabulator")
    except InvalidData:
        return  # refusing such a title at once is a fix too
    out = wf.fire(app, "approve_draft", user="legal-ishoj")
    assert out.to_state == "council_approval"
    heading = styled(fetch(wf, app, "agenda_item", "ishoj"), "Heading 1")[0]
    assert "Ansøgning" in heading and "lodret tabulator" in heading


def test_a_title_with_a_line_break_stays_in_the_heading(sqlite_wf: Workflow) -> None:
    wf = sqlite_wf
    try:
        app = make_application(wf, state="council_approval", title="Første linje\nanden linje")
    except InvalidData:
        return
    heading = styled(fetch(wf, app, "agenda_item", "ishoj"), "Heading 1")
    assert len(heading) == 1 and "\\" not in heading[0]
    assert heading[0].replace("\n", " ") == "Første linje anden linje"


def test_the_answer_names_the_date_on_the_ministrys_letter(sqlite_wf: Workflow,
                                                           clock: Clock) -> None:
    """The answer is dated the Danish day it is made, and it thanks for the ministry's letter
    of the day that letter is dated, not the day the request was registered."""
    wf = sqlite_wf
    app = make_application(wf, state="submitted")     # sent on 27 April 2018
    clock.at("2018-05-13T22:30")   # 14 May 00:30 in Copenhagen
    wf.fire(app, "request_info", user="pl-ishoj",
            data={"reference": "2018-1234", "request_date": "2018-05-09",
                  "questions": "Hvor mange medarbejdere berøres?"})
    answer = fetch(wf, app, "info_answer")
    assert_letterhead(answer, case_number(wf, app), "14. maj 2018",
                      "Ishøj Kommune  ·  Vallensbæk Kommune")
    text = " ".join(paragraphs(answer))
    assert "takker for ministeriets brev af 9. maj 2018 med anmodning" in text
    assert "14. maj 2018" not in text and "13. maj 2018" not in text


# ===================================================================== versions
def test_versions_record_what_made_them(wf: Workflow, clock: Clock) -> None:
    app = make_application(wf, state="council_approval")
    clock.at("2018-02-20T09:00")
    out = wf.fire(app, "schedule_council_meeting", user="sec-ishoj",
                  data={"meeting_date": "2018-04-03", "agenda_ref": "BR pkt. 7"})
    made = {(m.name, m.party): m for m in out.documents}
    assert set(made) == {("application_letter", ""), ("agenda_item", "ishoj"),
                         ("agenda_item", "vallensbaek")}
    clock.at("2018-03-01T09:00")
    wf.fire(app, "schedule_council_meeting", user="sec-vallensbaek",
            data={"meeting_date": "2018-04-25", "agenda_ref": "KB pkt. 12"})
    clock.at("2018-04-04T08:00")
    walk_fire(wf, app, "record_council_decision", user="sec-ishoj", data=ISHOJ_OK)
    steps = {e["version"]: e for e in history(wf, app, user="admin")}
    docs = docs_of(wf, app)
    letterhead = {None: "joint", "ishoj": "ishoj", "vallensbaek": "vallensbaek"}
    for (name, party), doc in docs.items():
        versions = doc["versions"]
        assert [v["number"] for v in versions] == list(range(1, len(versions) + 1))
        assert doc["latest"] == len(versions) >= 4
        assert [v["stale"] for v in versions] == [True] * (len(versions) - 1) + [False]
        assert all(v["stale_at"] for v in versions[:-1]) and versions[-1]["stale_at"] is None
        assert len({v["input_sha256"] for v in versions}) == len(versions)
        assert len({v["audit_version"] for v in versions}) == len(versions)
        for v in versions:
            step = steps[v["audit_version"]]
            assert (v["trigger"], v["created_by"], v["state"]) == \
                (step["trigger"], step["user"], step["to"])
            assert v["created_at"] == step["at"]
            assert v["letter_date"] == step["happened_on"]   # the day the step happened
            assert v["template"] == f"{name}.md.j2"
            assert v["template_sha256"] == template_sha(TEMPLATES, v["template"],
                                                        letterhead[party])
            assert re.fullmatch(r"[0-9a-f]{64}", v["input_sha256"])
            got = wf.download(doc["id"], user="legal-ishoj", number=v["number"])
            assert (got.number, got.sha256, got.format) == (v["number"], v["sha256"], "docx")
            assert hashlib.sha256(got.content).hexdigest() == v["sha256"]
            assert len(got.content) == v["size"]
        number_by_step = {v["audit_version"]: v["number"] for v in versions}
        m = made[(name, party or "")]
        assert number_by_step[out.version] == m.number and m.document_id == doc["id"]
        assert versions[m.number - 1]["sha256"] == m.sha256
    assert [v["trigger"] for v in docs[("application_letter", None)]["versions"]] == [
        "confirm_areas", "schedule_council_meeting", "schedule_council_meeting",
        "record_council_decision"]


def test_an_old_version_keeps_its_bytes(wf: Workflow, clock: Clock) -> None:
    app = make_application(wf, state="drafting")
    letter = doc_id(wf, app, "application_letter")
    before = wf.download(letter, user="pl-ishoj", number=1)
    assert "Ishøj Byråd: mødedatoen er endnu ikke fastlagt." in paragraphs(
        docx.Document(io.BytesIO(before.content)))
    wf.fire(app, "submit_for_review", user="pl-ishoj")
    wf.fire(app, "approve_draft", user="legal-ishoj")
    clock.at("2018-04-04T08:00")
    walk_fire(wf, app, "record_council_decision", user="sec-ishoj", data=ISHOJ_OK)
    after = wf.download(letter, user="pl-vallensbaek", number=1)
    newest = wf.download(letter, user="pl-vallensbaek")
    assert after.content == before.content
    assert hashlib.sha256(after.content).hexdigest() == after.sha256 == before.sha256
    assert newest.number == 2 and newest.content != before.content
    assert "Ishøj Byråd: godkendt den 3. april 2018." in paragraphs(
        docx.Document(io.BytesIO(newest.content)))
    v1, v2 = docs_of(wf, app)[("application_letter", None)]["versions"]
    assert (v1["stale"], v2["stale"]) == (True, False)
    assert v1["sha256"] == before.sha256 and v2["sha256"] == newest.sha256
    assert v1["stale_at"] == v2["created_at"]


def test_no_new_version_when_a_drafts_inputs_do_not_change(wf: Workflow, clock: Clock) -> None:
    app = make_application(wf, state="drafting")
    clock.at("2018-02-05T15:00")
    assert wf.fire(app, "submit_for_review", user="pl-ishoj").documents == ()
    clock.at("2018-02-07T10:00")
    assert wf.fire(app, "return_draft", user="legal-ishoj",
                   data={"reason": "§-henvisning mangler"}).documents == ()
    clock.at("2018-09-01T10:00")   # a later letter date alone is no change
    assert wf.fire(app, "submit_for_review", user="pl-vallensbaek").documents == ()
    other = make_application(wf, state="area_selection", title="En anden sag")
    wf.fire(other, "propose_areas", user="pl-ishoj", data={"areas": "social,employment"})
    letter = docs_of(wf, app)[("application_letter", None)]
    assert [(v["number"], v["stale"]) for v in letter["versions"]] == [(1, False)]
    assert documents(wf, other, user="pl-ishoj") == []


def test_a_changed_template_or_letterhead_makes_a_new_version(db_url: str, clock: Clock,
                                                             open_wf: Callable[..., Workflow],
                                                             tmp_path: Path) -> None:
    templates = copy_templates(tmp_path)
    wf = open_wf(settings=Settings(database_url=db_url, templates_dir=templates))
    app = make_application(wf, state="drafting")
    letter = doc_id(wf, app, "application_letter")
    v1 = wf.download(letter, user="pl-ishoj")
    source = templates / "documents" / "application_letter.md.j2"
    insert_line(source, "## Baggrund", "\nEt nyt afsnit om Åmosen og Ølstykke.\n")
    touch_later(source)
    out = wf.fire(app, "submit_for_review", user="pl-ishoj")
    assert [(m.name, m.number) for m in out.documents] == [("application_letter", 2)]
    assert "Et nyt afsnit om Åmosen og Ølstykke." in paragraphs(fetch(wf, app,
                                                                       "application_letter"))

    logo = tiny_png()   # a new letterhead: Ishøj's logo, from its municipality row
    set_municipality(wf, "ishoj", logo=logo, logo_type="image/png")
    out = wf.fire(app, "return_draft", user="legal-ishoj", data={"reason": "Nyt brevpapir"})
    assert [(m.name, m.number) for m in out.documents] == [("application_letter", 3)]
    newest = fetch(wf, app, "application_letter")
    header = newest.sections[0].header
    assert [p.blob for p in header.part.related_parts.values()
            if p.partname.startswith("/word/media/")] == [logo]
    assert len(header.paragraphs[0]._p.xpath(".//pic:pic")) == 1   # the logo, first
    assert header.paragraphs[1].text == "Ishøj Kommune  ·  Vallensbæk Kommune"
    # nothing changed since: no version
    assert wf.fire(app, "submit_for_review", user="pl-ishoj").documents == ()
    versions = docs_of(wf, app)[("application_letter", None)]["versions"]
    assert [v["number"] for v in versions] == [1, 2, 3]
    assert len({v["template_sha256"] for v in versions}) == 3
    assert len({v["input_sha256"] for v in versions}) == 1
    assert versions[1]["template_sha256"] == template_sha(templates, "application_letter.md.j2",
                                                          "joint")
    assert wf.download(letter, user="pl-ishoj", number=1).content == v1.content

    # a changed template after a council approved the letter: the approval is flagged
    wf.fire(app, "approve_draft", user="legal-ishoj")
    walk_fire(wf, app, "record_council_decision", user="sec-ishoj", data=ISHOJ_OK)
    approval, = docs_of(wf, app)[("application_letter", None)]["approvals"]
    assert (approval["party"], approval["number"], approval["matches"]) == ("ishoj", 4, True)
    insert_line(source, "## Personale", "\nKommunerne ønsker også at nævne dette.\n")
    touch_later(source)
    wf.fire(app, "schedule_council_meeting", user="sec-vallensbaek",
            data={"meeting_date": "2018-04-25", "agenda_ref": "KB pkt. 12"})
    letter_doc = docs_of(wf, app)[("application_letter", None)]
    assert letter_doc["latest"] == 5
    approval, = letter_doc["approvals"]
    assert (approval["number"], approval["matches"]) == (4, False)


# ==================================================================== approvals
def test_approvals_match_until_the_substance_changes(wf: Workflow, db_url: str,
                                                     clock: Clock) -> None:
    env = {"WORKFLOW_DATABASE_URL": db_url}
    clock.at("2019-06-20T09:00")
    app = make_application(wf, state="council_approval")
    clock.at("2019-06-26T08:00")
    wf.fire(app, "record_council_decision", user="sec-ishoj",
            data={**ISHOJ_OK, "meeting_date": "2019-06-25"})
    letter = docs_of(wf, app)[("application_letter", None)]
    approval, = letter["approvals"]
    assert {k: approval[k] for k in ("party", "number", "sha256", "matches", "same_bytes")} == {
        "party": "ishoj", "number": 2, "sha256": letter["versions"][1]["sha256"],
        "matches": True, "same_bytes": True}
    shown = run_cli(env, "documents", str(app), "--as", "legal-ishoj")
    assert shown.exit_code == 0, shown.output
    assert "approved by ishoj: v2 – matches the current version" in shown.stdout
    assert "no longer matches" not in run_cli(env, "show", str(app), "--as", "pl-ishoj").stdout
    # the agenda items are not what the councils approve
    assert docs_of(wf, app)[("agenda_item", "ishoj")]["approvals"] == []

    # Vallensbæk's meeting is put in the letter: new bytes, same substance
    clock.at("2019-06-26T10:00")
    wf.fire(app, "schedule_council_meeting", user="sec-vallensbaek",
            data={"meeting_date": "2019-06-27", "agenda_ref": "KB pkt. 12"})
    letter = docs_of(wf, app)[("application_letter", None)]
    approval, = letter["approvals"]
    assert letter["latest"] == 3
    assert (approval["number"], approval["matches"], approval["same_bytes"]) == (2, True, False)
    shown = run_cli(env, "documents", str(app), "--as", "legal-ishoj").stdout
    assert "approved by ishoj: v2 – matches v3 in substance" in shown

    # the next day the ministry has a new name: the letter changes in substance
    clock.at("2019-06-27T16:00")
    walk_fire(wf, app, "record_council_decision", user="sec-vallensbaek",
            data={**VALLENSBAEK_OK, "meeting_date": "2019-06-27"})
    letter = docs_of(wf, app)[("application_letter", None)]
    assert letter["latest"] == 4
    assert paragraphs(fetch(wf, app, "application_letter"))[0] == \
        "Social- og Indenrigsministeriet"
    by_party = {a["party"]: a for a in letter["approvals"]}
    assert (by_party["ishoj"]["number"], by_party["ishoj"]["matches"]) == (2, False)
    assert (by_party["vallensbaek"]["number"], by_party["vallensbaek"]["matches"],
            by_party["vallensbaek"]["same_bytes"]) == (4, True, True)
    listed = run_cli(env, "documents", str(app), "--as", "legal-ishoj").stdout
    assert "approved by ishoj: v2 – NO LONGER MATCHES the current version" in listed
    assert "approved by vallensbaek: v4 – matches the current version" in listed
    show = run_cli(env, "show", str(app), "--as", "pl-ishoj")
    assert show.exit_code == 0, show.output
    assert f"document {letter['id']}: application_letter v4 – approval by ishoj no longer " \
           "matches" in show.stdout
    as_json = json.loads(run_cli(env, "documents", str(app), "--json", "--as",
                                 "pl-ishoj").stdout)
    assert as_json == json.loads(json.dumps(documents(wf, app, user="pl-ishoj"), default=str))


# =============================================================== failing templates
def assert_failing_template_blocks(wf: Workflow, env: dict[str, str], at: int,
                                  error: str) -> None:
    """The step that would make the letter fails, naming file and line; nothing changes."""
    app = make_application(wf)
    wf.fire(app, "propose_areas", user="pl-ishoj", data={"areas": ",".join(ROUND_ONE)})
    wf.fire(app, "confirm_areas", user="pl-ishoj")

    def snapshot() -> Any:
        with wf.engine.connect() as conn:
            acts = conn.execute(select(t.party_act.c.name, t.party_act.c.municipality,
                                       t.party_act.c.version)
                                .where(t.party_act.c.application_id == app)).all()
            deadlines = conn.execute(select(t.deadline.c.state, t.deadline.c.active)
                                     .where(t.deadline.c.application_id == app)).all()
            stored = conn.execute(select(t.document.c.id)).all()
        shown = get_application(wf, app, user="admin")
        return (shown["state"], shown["version"], shown["areas"], shown["acts"],
                history(wf, app, user="admin"), documents(wf, app, user="admin"),
                sorted(acts), sorted(deadlines), stored)

    before = snapshot()
    assert before[0] == "area_selection" and before[5] == [] and before[8] == []
    with pytest.raises(DocumentError) as exc:
        wf.fire(app, "confirm_areas", user="pl-vallensbaek")
    message = str(exc.value)
    assert message.startswith(f"cannot make application_letter: application_letter.md.j2:{at}: ")
    assert error in message and "<class" not in message
    assert snapshot() == before

    err = clean_failure(run_cli(env, "advance", str(app), "confirm_areas", "--as",
                                "pl-vallensbaek"), 9)
    assert f"application_letter.md.j2:{at}: {error}" in err and "<class" not in err
    assert snapshot() == before


def broken_letter(tmp_path: Path, line: str) -> tuple[Path, int]:
    templates = copy_templates(tmp_path)
    at = insert_line(templates / "documents" / "application_letter.md.j2",
                     "## Kommunalbestyrelsernes beslutninger", line)
    return templates, at


def test_a_failing_template_blocks_its_step_and_writes_nothing(
        db_url: str, open_wf: Callable[..., Workflow], tmp_path: Path) -> None:
    templates, at = broken_letter(tmp_path, "Ukendt: {{ ukendt_navn }}")
    wf = open_wf(settings=Settings(database_url=db_url, templates_dir=templates))
    env = {"WORKFLOW_DATABASE_URL": db_url, "WORKFLOW_TEMPLATES_DIR": str(templates)}
    assert_failing_template_blocks(wf, env, at, "UndefinedError: 'ukendt_navn' is undefined")


@pytest.mark.parametrize(("line", "error"), [
    ("{{ ''.__class__.__mro__ }}", "SecurityError: access to attribute '__class__'"),
    ("{{ cycler.__init__.__globals__ }}", "SecurityError: access to attribute '__init__'"),
])
def test_a_template_escaping_the_sandbox_blocks_its_step(sqlite_template: Path, clock: Clock,
                                                         tmp_path: Path, line: str,
                                                         error: str) -> None:
    templates, at = broken_letter(tmp_path, line)
    path = tmp_path / "sandbox.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    wf = Workflow.open(Settings(database_url=url, templates_dir=templates), clock=clock)
    try:
        assert_failing_template_blocks(wf, {"WORKFLOW_DATABASE_URL": url,
                                            "WORKFLOW_TEMPLATES_DIR": str(templates)},
                                       at, error)
    finally:
        wf.close()


# ============================================================ templates check
def test_the_shipped_templates_pass_the_check() -> None:
    result = run_cli({}, "templates", "check")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert result.stdout.startswith("0 problem(s) in the templates of 10 drafts")
    as_json = run_cli({}, "templates", "check", "--json")
    assert as_json.exit_code == 0 and json.loads(as_json.stdout) == []


def add_line(templates: Path, file: str, after: str, line: str, problem: str) -> str:
    """Put ``line`` into a template after the line holding ``after``; the expected report."""
    at = insert_line(templates / "documents" / file, after, line)
    return f"{file}:{at}: {problem}"


def break_templates(breakage: str, d: Path) -> list[str]:
    """Break a copy of the templates one way; the problems `templates check` must report."""
    if breakage == "syntax error":
        return [add_line(d, "agenda_item.md.j2", "## Resume", "{% if case.kind == %}",
                         "syntax error: ")]
    if breakage == "unknown name":
        return [add_line(d, "info_answer.md.j2", "## Personale", "{{ ministre.name }}",
                         "unknown name 'ministre'")]
    if breakage == "unknown attribute in a loop":
        return [add_line(d, "application_letter.md.j2", "{% for area in areas %}",
                         "- {{ area.nmae }}", "unknown name 'nmae'")]
    if breakage == "unknown attribute path":
        return [add_line(d, "decision_memo.md.j2", "## Afgørelsen", "Sag {{ case.numbr }}",
                         "unknown name 'numbr'")]
    if breakage == "leftover placeholders":
        file = "satellite_application.md.j2"
        return [add_line(d, file, "## Baggrund", "Sagsnr. XXX",
                         "leftover placeholder text 'XXX'"),
                add_line(d, file, "## Økonomi", "Dato: [indsæt dato]",
                         "leftover placeholder text '[indsæt dato]'"),
                add_line(d, file, "## Tidsplan", "TODO: tjek tidsplanen",
                         "leftover placeholder text 'TODO'")]
    if breakage == "missing template":
        (d / "documents" / "agenda_item.md.j2").unlink()
        return ["agenda_item.md.j2:?: missing: draft 'agenda_item' needs this template (for "
                "Ishøj Kommune og Vallensbæk Kommune)"]
    if breakage == "missing letterhead base":
        (d / "reference" / "base.docx").unlink()
        return [f"{p.name}:?: letterhead: missing the base document of the letterheads "
                for p in (TEMPLATES / "documents").glob("*.md.j2")]
    if breakage == "unused template":
        (d / "documents" / "gammel.md.j2").write_text("# Gammel\n", encoding="utf-8")
        return ["gammel.md.j2:?: not used by any draft in the definition"]
    assert breakage == "sandbox"
    return [add_line(d, "info_answer.md.j2", "## Økonomi", "{{ ''.__class__.__mro__ }}",
                     "SecurityError: "),
            add_line(d, "decision_memo.md.j2", "## Næste skridt",
                     "{{ cycler.__init__.__globals__ }}", "SecurityError: ")]


BREAKAGES = ["syntax error", "unknown name", "unknown attribute in a loop",
             "unknown attribute path", "leftover placeholders", "missing template",
             "missing letterhead base", "unused template", "sandbox"]


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_templates_check_names_file_and_line(breakage: str, tmp_path: Path) -> None:
    templates = copy_templates(tmp_path)
    expected = break_templates(breakage, templates)
    env = {"WORKFLOW_TEMPLATES_DIR": str(templates)}
    result = run_cli(env, "templates", "check")
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output and "<class" not in result.output
    problems = result.stderr.splitlines()
    assert problems[-1].startswith(f"{len(problems) - 1} problem(s) in the templates of 10 "
                                   "drafts")
    for start in expected:   # each named with its file and line ...
        assert any(line.startswith(start) for line in problems[:-1]), (start, problems)
    for line in problems[:-1]:   # ... and nothing else
        assert any(line.startswith(start) for start in expected), (line, expected)
    as_json = run_cli(env, "templates", "check", "--json")
    assert as_json.exit_code == 3
    listed = json.loads(as_json.stdout)
    assert [f"{p['file']}:{p['line'] or '?'}: {p['message']}" for p in listed] == problems[:-1]
    assert "<class" not in as_json.stdout


# ==================================================================== downloads
def test_downloads_give_the_stored_bytes_and_are_logged(wf: Workflow, db_url: str,
                                                        clock: Clock, tmp_path: Path) -> None:
    require_libreoffice()
    env = {"WORKFLOW_DATABASE_URL": db_url}
    app = make_application(wf, state="council_approval")
    case = case_number(wf, app)
    listed = json.loads(run_cli(env, "documents", str(app), "--json", "--as",
                                "legal-ishoj").stdout)
    letter = next(d for d in listed if d["name"] == "application_letter")
    agenda = next(d for d in listed if d["party"] == "vallensbaek")
    sha = letter["versions"][-1]["sha256"]

    clock.at("2018-02-01T12:00")   # the CLI below downloads at the real time, later
    pdf = wf.download(letter["id"], user="pl-ishoj", pdf=True)
    assert pdf.content.startswith(b"%PDF")
    assert (pdf.filename, pdf.format, pdf.number, pdf.sha256) == (
        f"{case}-application_letter-v1.pdf", "pdf", 1, sha)

    out = tmp_path / "ansøgning.docx"
    result = run_cli(env, "download", str(letter["id"]), "--out", str(out), "--as", "legal-ishoj")
    assert result.exit_code == 0, result.output
    content = out.read_bytes()
    assert hashlib.sha256(content).hexdigest() == sha
    assert result.stdout.strip() == (
        f"Wrote {case}-application_letter-v1.docx (version 1, {len(content):,} bytes) to "
        f"{out}; sha256 of the stored version {sha}.")
    out2 = tmp_path / "dagsorden.docx"
    result = run_cli(env, "download", str(agenda["id"]), "--version", "1", "--out", str(out2),
                     "--as", "pl-vallensbaek")
    assert result.exit_code == 0, result.output
    assert f"Wrote {case}-agenda_item-vallensbaek-v1.docx" in result.stdout
    assert hashlib.sha256(out2.read_bytes()).hexdigest() == agenda["versions"][0]["sha256"]

    entries = json.loads(run_cli(env, "history", str(app), "--json", "--as",
                                 "pl-ishoj").stdout)
    logged = [e for e in entries if e["trigger"] == "download"]
    assert [(e["user"], e["version"], e["data"]) for e in logged] == [
        ("pl-ishoj", None, {"document": letter["id"], "name": "application_letter",
                            "party": None, "number": 1, "sha256": sha, "format": "pdf"}),
        ("legal-ishoj", None, {"document": letter["id"], "name": "application_letter",
                               "party": None, "number": 1, "sha256": sha, "format": "docx"}),
        ("pl-vallensbaek", None, {"document": agenda["id"], "name": "agenda_item",
                                  "party": "vallensbaek", "number": 1,
                                  "sha256": agenda["versions"][0]["sha256"],
                                  "format": "docx"})]
    assert logged[0]["at"].startswith("2018-02-01T12:00")
    assert entries == sorted(entries, key=lambda e: e["at"])
    # the steps stay in version order around the downloads
    steps = [e["version"] for e in entries if e["trigger"] != "download"]
    assert steps == list(range(1, len(steps) + 1))
    assert downloads_logged(wf, app) == logged


def test_who_may_not_download(wf: Workflow, db_url: str, tmp_path: Path) -> None:
    env = {"WORKFLOW_DATABASE_URL": db_url}
    app = make_application(wf, state="council_approval")
    letter = doc_id(wf, app, "application_letter")
    with wf.engine.begin() as conn:
        conn.execute(insert(t.municipality).values(
            id="broendby", name="Brøndby Kommune", council="Brøndby Kommunalbestyrelse",
            address="Park Allé 160, 2605 Brøndby", cooperation=False))
        conn.execute(insert(t.user).values(id="pl-broendby", name="Bent Brøndum",
                                           role="project_lead", municipality="broendby",
                                           email="bb@broendby.example", active=True))
    # the rights are per document and party: secretaries read the letter and their own
    # council's agenda item, the steering group every draft, an administrator none
    ishoj, vallensbaek = (doc_id(wf, app, "agenda_item", p) for p in ("ishoj", "vallensbaek"))
    for user, doc in [("sec-ishoj", letter), ("sec-vallensbaek", letter),
                      ("sec-ishoj", ishoj), ("sec-vallensbaek", vallensbaek),
                      ("dir-ishoj", letter), ("dir-vallensbaek", ishoj),
                      ("legal-vallensbaek", ishoj), ("pl-ishoj", vallensbaek)]:
        assert wf.download(doc, user=user).content.startswith(b"PK"), (user, doc)
    for user, doc in [("sec-ishoj", vallensbaek), ("sec-vallensbaek", ishoj)]:
        with pytest.raises(PermissionDenied) as exc:
            wf.download(doc, user=user)
        assert str(exc.value) == (
            f"{user} (council_secretary) may not download agenda_item; that takes legal or "
            f"project_lead or steering_group or council_secretary (their own municipality's)")
        assert exc.value.da == ("»Dagsordenspunkt« kan hentes af »Jurist«, »Projektleder«, "
                                "»Styregruppe« eller »Sekretariat« (egen kommunes)")
    with pytest.raises(PermissionDenied, match="admin \\(admin\\) may not download "
                                               "application_letter; that takes legal or "
                                               "project_lead or steering_group or "
                                               "council_secretary$"):
        wf.download(letter, user="admin")
    with pytest.raises(PermissionDenied, match=r"pl-broendby \(broendby\) is not a party"):
        wf.download(letter, user="pl-broendby")
    with pytest.raises(NotFound, match="no document 9999"):
        wf.download(9999, user="pl-ishoj")
    with pytest.raises(NotFound, match=f"document {letter} has no version 99"):
        wf.download(letter, user="pl-ishoj", number=99)
    with pytest.raises(NotFound, match="unknown user 'nobody'"):
        wf.download(letter, user="nobody")
    out = tmp_path / "x.docx"
    for args, code, message in [
        (("--as", "admin"), 6, "admin (admin) may not download"),
        (("--as", "pl-broendby"), 6, "is not a party to case 00.17.15-G01-1-18"),
        (("--as", "pl-ishoj", "--version", "99"), 4, "has no version 99"),
    ]:
        err = clean_failure(run_cli(env, "download", str(letter), "--out", str(out), *args),
                            code)
        assert message in err
    err = clean_failure(run_cli(env, "download", "9999", "--out", str(out), "--as",
                                "pl-ishoj"), 4)
    assert err == "error: no document 9999"
    assert not out.exists()
    assert len(downloads_logged(wf, app)) == 8      # the allowed ones above, nothing more


def test_a_pdf_without_libreoffice_is_a_clear_setup_error(wf: Workflow, db_url: str,
                                                          tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_application(wf, state="drafting")
    letter = doc_id(wf, app, "application_letter")
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert shutil.which("soffice") is None and shutil.which("libreoffice") is None
    with pytest.raises(SetupError) as exc:
        wf.download(letter, user="pl-ishoj", pdf=True)
    assert str(exc.value) == LIBREOFFICE_HINT
    out = tmp_path / "ansøgning.pdf"
    env = {"WORKFLOW_DATABASE_URL": db_url}
    err = clean_failure(run_cli(env, "download", str(letter), "--pdf", "--out", str(out),
                                "--as", "pl-ishoj"), 8)
    assert "apt-get install libreoffice-writer-nogui" in err
    assert err == f"error: {LIBREOFFICE_HINT}"
    assert not out.exists()
    assert downloads_logged(wf, app) == []
    # the .docx itself needs no LibreOffice
    result = run_cli(env, "download", str(letter), "--out", str(tmp_path / "a.docx"), "--as",
                     "pl-ishoj")
    assert result.exit_code == 0, result.output
    assert [e["data"]["format"] for e in downloads_logged(wf, app)] == ["docx"]


def test_changed_bytes_in_the_database_are_refused(wf: Workflow, db_url: str,
                                                   tmp_path: Path) -> None:
    app = make_application(wf, state="drafting")
    letter = doc_id(wf, app, "application_letter")
    dv = t.document_version
    with wf.engine.begin() as conn:
        conn.execute(update(dv).where(dv.c.document_id == letter)
                     .values(content=b"PK\x03\x04 not what was made"))
    with pytest.raises(DocumentError, match="do not match their sha256"):
        wf.download(letter, user="pl-ishoj")
    out = tmp_path / "x.docx"
    err = clean_failure(run_cli({"WORKFLOW_DATABASE_URL": db_url}, "download", str(letter),
                                "--out", str(out), "--as", "pl-ishoj"), 9)
    assert "refusing to hand them out" in err
    assert not out.exists() and downloads_logged(wf, app) == []


# ========================================================================== PDF
def test_every_kind_of_document_converts_to_pdf(sqlite_wf: Workflow, clock: Clock) -> None:
    require_libreoffice()
    wf = sqlite_wf
    job, satellite = jobcentre_then_satellite(wf, clock)
    wanted = [(job, key) for key in docs_of(wf, job)] + \
             [(satellite, key) for key in docs_of(wf, satellite)]
    assert len(wanted) == 6

    def convert(item: tuple[int, tuple[str, str | None]]) -> bytes:
        app, (name, party) = item
        return wf.download(doc_id(wf, app, name, party), user="legal-ishoj", pdf=True).content

    with ThreadPoolExecutor(max_workers=len(wanted)) as pool:   # at once, without clashing
        pdfs = list(pool.map(convert, wanted))
    assert all(p.startswith(b"%PDF") for p in pdfs)
    logged = downloads_logged(wf, job) + downloads_logged(wf, satellite)
    assert sorted((e["data"]["name"], e["data"]["format"]) for e in logged) == sorted(
        (name, "pdf") for _, (name, _) in wanted)

    if shutil.which("pdftotext") is None:
        return  # the text checks need poppler-utils
    for (app, (name, _)), pdf in zip(wanted, pdfs, strict=True):
        text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf,
                              capture_output=True, check=True).stdout.decode()
        assert f"Sagsnr. {case_number(wf, app)}" in text, name
        assert "Vallensbæk" in text and "Ishøj" in text
        pages = text.count("\f")
        assert re.findall(r"Side (\d+) af (\d+)", text) == [
            (str(i), str(pages)) for i in range(1, pages + 1)], name
        if name == "application_letter":
            # the annexes are a list of their own, numbered from 1 again
            assert re.search(r"1\. Uddrag af beslutningsprotokoller", text)
            assert re.search(r"7\. Det økonomiske mellemværende", text)


# ================================================================== concurrency
@pytest.mark.slow
def test_simultaneous_steps_never_share_a_version_number(wf: Workflow, db_url: str) -> None:
    app = make_application(wf, state="council_approval")
    secretaries = ["sec-ishoj", "sec-vallensbaek"]
    with racers(db_url, secretaries) as r:
        for i in range(2):
            res = r.race(
                ("fire", (app, "schedule_council_meeting",
                          {"meeting_date": f"2018-05-{10 + i}", "agenda_ref": f"BR {i}"},
                          None)),
                ("fire", (app, "schedule_council_meeting",
                          {"meeting_date": f"2018-06-{10 + i}", "agenda_ref": f"KB {i}"},
                          None)))
            no_unexpected_errors(res, set())
        # the racers step at the real time, so the meeting was held today, by their clock
        held = datetime.now(ZoneInfo("Europe/Copenhagen")).date().isoformat()
        res = r.race(*[("fire", (app, "record_council_decision",
                                 {"decision": "approved", "meeting_date": held,
                                  "agenda_ref": "pkt. 1"}, None))] * 2)
        no_unexpected_errors(res, set())
    steps = {e["version"]: e for e in history(wf, app, user="admin")}
    assert [steps[v]["trigger"] for v in sorted(steps)][-6:] == \
        ["schedule_council_meeting"] * 4 + ["record_council_decision"] * 2
    for (name, party), doc in docs_of(wf, app).items():
        versions = doc["versions"]
        assert [v["number"] for v in versions] == list(range(1, 8)), (name, party)
        assert [v["stale"] for v in versions] == [True] * 6 + [False]
        racing = [v["audit_version"] for v in versions[1:]]
        assert racing == sorted(racing) and len(set(racing)) == 6
        for v in versions[1:]:
            assert steps[v["audit_version"]]["user"] == v["created_by"]
            got = wf.download(doc["id"], user="pl-ishoj", number=v["number"])
            assert hashlib.sha256(got.content).hexdigest() == v["sha256"]
    letter = docs_of(wf, app)[("application_letter", None)]
    assert sorted(a["party"] for a in letter["approvals"]) == ["ishoj", "vallensbaek"]
    assert all(a["matches"] for a in letter["approvals"])
    assert {a["number"] for a in letter["approvals"]} == {6, 7}
