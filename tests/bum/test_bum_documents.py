"""The Word documents of a BUM agreement: the delaftale, the price notice, the true-up.

A real agreement is driven through its yearly cycle with the clock (propose_terms, sign,
report_volume, calculate_price, adopt_budget, give_notice, sign_year, record_true_up,
terminate, settle); every document is read back from the database with python-docx and
its Danish content checked: the parties, the amounts to the øre, a-conto rates that add
up to the price, who pays whom after the true-up. The documents run on both databases;
the PDF only on SQLite.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from docx.document import Document as DocxDocument
from sqlalchemy import event, select

from tests.conftest import Clock
from tests.documents.test_documents import (
    assert_bold_header_row,
    assert_letterhead,
    copy_templates,
    docs_of,
    fetch,
    paragraphs,
    require_libreoffice,
    run_cli,
    styled,
    table_rows,
)
from tests.factories import set_municipality
from workflow.config import Settings
from workflow.documents.context import build_context, gather
from workflow.engine.workflow import Workflow
from workflow.errors import DocumentError
from workflow.process.spec import Facts
from workflow.store import database as store
from workflow.store import tables as t

SERVICE = ("Genoptræning efter sundhedslovens § 140 for Vallensbæks borgere på Ishøj "
           "Genoptræningscenter – også hjemmetræning & holdtræning")
TERMS = {"service_level": "Første træning senest 7 dage efter udskrivning",
         "expected_volume": "420", "direct_costs": "1.234.567,89", "overhead_rate": "7,5",
         "start_date": "2027-01-01", "notice_months": "6"}
LEVEL_2028 = "Første træning senest 5 dage efter udskrivning – også i weekender"

# (when, trigger, user, data): the first yearly cycle, from signing to the true-up of 2027.
CYCLE: list[tuple[str, str, str, dict[str, str]]] = [
    ("2026-03-20T10:00", "sign", "pl-vallensbaek", {}),
    ("2026-03-23T10:00", "sign", "pl-ishoj", {}),
    ("2027-04-20T10:00", "report_volume", "pl-vallensbaek",
     {"expected_volume": "440", "service_level": LEVEL_2028}),
    ("2027-05-20T10:00", "calculate_price", "pl-ishoj",
     {"direct_costs": "1.290.000,01", "overhead_rate": "7,5"}),
    ("2027-10-06T10:00", "adopt_budget", "sec-ishoj",
     {"meeting_date": "2027-10-05", "agenda_ref": "Byrådet 5. oktober 2027, punkt 4"}),
    ("2027-10-07T10:00", "adopt_budget", "sec-vallensbaek",
     {"meeting_date": "2027-10-06", "agenda_ref": "Kommunalbestyrelsen 06-10-2027, pkt. 3"}),
    ("2027-10-28T10:00", "give_notice", "pl-vallensbaek", {"budget_frame": "1.350.000,00"}),
    ("2027-11-22T10:00", "sign_year", "pl-vallensbaek", {}),
    ("2027-11-23T10:00", "sign_year", "pl-ishoj", {}),
    ("2028-02-21T10:00", "record_true_up", "pl-ishoj", {"actual_costs": "1.301.234,56"}),
]
SECTIONS = ["1. Parter", "2. Aftalens grundlag og rollefordeling", "3. Ydelsesbeskrivelse",
            "4. Serviceniveau", "5. Forventet mængde", "6. Prismodel og pris",
            "7. Betalingsaftale", "8. Efterregulering", "9. Årshjul og frister",
            "10. Ændringer i løbet af året", "11. Ledelsesinformation",
            "12. Uenighed og eskalation", "13. Varighed og opsigelse", "14. Databeskyttelse",
            "15. Underskrifter"]


# ---------------------------------------------------------------------- helpers
def kr(text: str) -> Decimal:
    """A Danish amount ("1.234.567,89 kr.", bold markers allowed) as a Decimal."""
    match = re.fullmatch(r"(-?[\d.]+,\d\d) kr\.", text.strip())
    assert match, text
    return Decimal(match.group(1).replace(".", "").replace(",", "."))


def new_agreement(wf: Workflow, clock: Clock, *, provider: str = "ishoj",
                  purchaser: str = "vallensbaek", user: str = "pl-vallensbaek") -> int:
    clock.at("2026-03-02T09:00")
    return wf.create(kind="bum_agreement", title="Delaftale om genoptræning", user=user,
                     data={"provider": provider, "purchaser": purchaser,
                           "area": "rehabilitation", "service": SERVICE})


def propose(wf: Workflow, clock: Clock, app: int) -> None:
    clock.at("2026-03-10T10:00")
    made = wf.fire(app, "propose_terms", user="pl-ishoj", data=TERMS).documents
    assert [(m.name, m.number) for m in made] == [("bum_agreement", 1)]


def run_cycle(wf: Workflow, clock: Clock, app: int, until: str | None = None) -> dict[str, Any]:
    """Fire the first cycle's steps (through ``until``); what each one made."""
    made: dict[str, Any] = {}
    for when, trigger, user, data in CYCLE:
        clock.at(when)
        made[f"{trigger}:{user}"] = [(m.name, m.number) for m in
                                     wf.fire(app, trigger, user=user, data=data).documents]
        if trigger == until:
            break
    return made


def rows_after(rows: list[list[str]], first: str) -> list[list[str]]:
    return rows[next(i for i, r in enumerate(rows) if r[0] == first):]


def table_starting(doc: DocxDocument, header: str) -> list[list[str]]:
    """The rows of the table whose first header cell is ``header``."""
    for i in range(len(doc.tables)):
        rows = table_rows(doc, i)
        if rows[0][0] == header:
            return rows
    headers = [table_rows(doc, i)[0] for i in range(len(doc.tables))]
    raise AssertionError(f"no table {header!r}: {headers}")


def a_conto(doc: DocxDocument) -> list[list[str]]:
    rows = table_starting(doc, "Rate")
    assert rows[0] == ["Rate", "Forfaldsdato", "Beløb"]
    return rows[1:]


def assert_clean(doc: DocxDocument) -> None:
    texts = paragraphs(doc) + [c for i in range(len(doc.tables))
                               for r in table_rows(doc, i) for c in r]
    assert not any("[mangler]" in x or "\\" in x or "kr.." in x or "pct.." in x
                   for x in texts), [x for x in texts if "[mangler]" in x or "\\" in x]


@pytest.fixture
def sqlite_wf(sqlite_template: Path, tmp_path: Path, clock: Clock) -> Iterator[Workflow]:
    path = tmp_path / "bum.db"
    shutil.copy(sqlite_template, path)
    workflow = Workflow.open(Settings(database_url=f"sqlite:///{path}"), clock=clock)
    yield workflow
    workflow.close()


# ====================================================================== agreement
def test_the_proposed_agreement(wf: Workflow, clock: Clock) -> None:
    app = new_agreement(wf, clock)
    propose(wf, clock, app)
    case = docs_of(wf, app)
    assert list(case) == [("bum_agreement", None)]
    doc = fetch(wf, app, "bum_agreement")
    number = f"00.17.15-G02-{app}-26"
    assert_letterhead(doc, number, "10. marts 2026", "Ishøj Kommune")   # the provider's
    assert doc.core_properties.title == f"Delaftale med betalingsaftale – {number}"
    assert styled(doc, "Heading 1") == ["Delaftale om køb af genoptræning med betalingsaftale"]
    assert styled(doc, "Heading 2") == SECTIONS
    text = paragraphs(doc)
    assert "Udkast. Delaftalen forhandles mellem parterne og er ikke underskrevet." in text
    assert table_starting(doc, "Part") == [
        ["Part", "Bestiller", "Udfører"],
        ["Kommune", "Vallensbæk Kommune", "Ishøj Kommune"],
        ["Adresse", "Vallensbæk Stationstorv 100, 2665 Vallensbæk Strand",
         "Ishøj Store Torv 20, 2635 Ishøj"],
        ["Kontaktperson", "Anders Løvengreen", "Mette Højgaard"],
        ["E-mail", "anders.loevengreen@vallensbaek.example", "mette.hoejgaard@ishoj.example"]]
    assert_bold_header_row(doc)
    assert SERVICE in text                     # exactly as typed: §, –, &
    assert "Ydelsen hører under området genoptræning, jf. § 1, stk. 2, nr. 2, i lov om " \
           "forpligtende kommunale samarbejder." in " ".join(text)
    bullets = styled(doc, "List Bullet")
    assert bullets[0].startswith("Bestiller (Vallensbæk Kommune) har myndighedsansvaret")
    assert bullets[1].startswith("Udfører (Ishøj Kommune) leverer ydelsen")
    assert "Bestiller har fastsat dette serviceniveau for 2027:" in text
    assert TERMS["service_level"] in text
    assert "Den forventede mængde i 2027 er 420 enheder (forløb, pladser eller tilsvarende " \
           "efter ydelsesbeskrivelsen)." in text
    # the price to the øre: 1.234.567,89 at 7,5 pct. is 92.592,59 in overhead
    assert table_starting(doc, "Pris for 2027") == [
        ["Pris for 2027", "Beløb"],
        ["Direkte omkostninger", "1.234.567,89 kr."],
        ["Overhead (7,5 pct. af de direkte omkostninger)", "92.592,59 kr."],
        ["Pris i alt", "1.327.160,48 kr."],
        ["Pris pr. enhed ved 420 enheder", "3.159,91 kr."]]
    rates = a_conto(doc)
    assert [r[:2] for r in rates[:-1]] == [
        ["1. rate", "1. januar 2027"], ["2. rate", "1. april 2027"],
        ["3. rate", "1. juli 2027"], ["4. rate", "1. oktober 2027"]]
    assert rates[-1] == ["I alt", "", "1.327.160,48 kr."]
    assert sum(kr(r[2]) for r in rates[:-1]) == Decimal("1327160.48")
    # the yearly cycle, the change notice, the term
    assert [r[0] for r in table_starting(doc, "Frist")] == [
        "Frist", "1. marts", "1. maj", "1. juni", "15. oktober", "1. november", "1. december",
        "1. januar", "Hvert kvartal"]
    assert table_starting(doc, "Frist")[2] == [
        "1. maj", "Forventet mængde og serviceniveau for det kommende år",
        "Bestiller (Vallensbæk)"]
    assert any("med mindst 3 måneders varsel" in p for p in text)
    assert "Aftalen gælder fra den 1. januar 2027 og løber, indtil den opsiges. Bestiller kan " \
           "opsige aftalen skriftligt med 6 måneders varsel." in text
    assert styled(doc, "List Number")[2] == ("Kan styregruppen ikke nå til enighed, forelægges "
                                             "sagen for borgmestrene i Vallensbæk Kommune og "
                                             "Ishøj Kommune.")
    assert table_starting(doc, "For Vallensbæk Kommune (bestiller)") == [
        ["For Vallensbæk Kommune (bestiller)", "For Ishøj Kommune (udfører)"],
        ["Dato:", "Dato:"], ["Underskrift:", "Underskrift:"],
        ["Navn og titel:", "Navn og titel:"]]
    assert_clean(doc)

    # signing by one party changes nothing in the draft: no new version
    clock.at("2026-03-20T10:00")
    assert wf.fire(app, "sign", user="pl-vallensbaek").documents == ()
    # new terms are a new version, and the old one is kept and marked stale
    clock.at("2026-03-21T10:00")
    made = wf.fire(app, "propose_terms", user="pl-vallensbaek",
                   data={**TERMS, "overhead_rate": "8"}).documents
    assert [(m.name, m.number) for m in made] == [("bum_agreement", 2)]
    versions = docs_of(wf, app)[("bum_agreement", None)]["versions"]
    assert [(v["number"], v["stale"]) for v in versions] == [(1, True), (2, False)]
    doc = fetch(wf, app, "bum_agreement")
    assert table_starting(doc, "Pris for 2027")[2:4] == [
        ["Overhead (8 pct. af de direkte omkostninger)", "98.765,43 kr."],
        ["Pris i alt", "1.333.333,32 kr."]]
    assert kr(table_starting(doc, "Pris for 2027")[2][1]) == \
        (Decimal("1234567.89") * Decimal("0.08")).quantize(Decimal("0.01"))
    assert sum(kr(r[2]) for r in a_conto(doc)[:-1]) == Decimal("1333333.32")


def test_the_years_agreement_after_the_notice(wf: Workflow, clock: Clock) -> None:
    app = new_agreement(wf, clock)
    propose(wf, clock, app)
    made = run_cycle(wf, clock, app, until="sign_year")
    # the first signature changes nothing; the second makes the signed version
    assert made["sign:pl-vallensbaek"] == []
    assert made["sign:pl-ishoj"] == [("bum_agreement", 2)]
    assert made["give_notice:pl-vallensbaek"] == [("bum_agreement", 3), ("price_notice", 4)]
    doc = fetch(wf, app, "bum_agreement")
    assert_letterhead(doc, f"00.17.15-G02-{app}-26", "28. oktober 2027", "Ishøj Kommune")
    text = paragraphs(doc)
    assert "Delaftalen er underskrevet den 23. marts 2026. Denne udgave indeholder pris, " \
           "mængde, serviceniveau og betalingsaftale for aftaleåret 2028." in text
    assert LEVEL_2028 in text
    assert "Den forventede mængde i 2028 er 440 enheder (forløb, pladser eller tilsvarende " \
           "efter ydelsesbeskrivelsen)." in text
    # 1.290.000,01 at 7,5 pct.: overhead 96.750,00 (96.750,00075 rounded), price 1.386.750,01
    assert table_starting(doc, "Pris for 2028")[1:4] == [
        ["Direkte omkostninger", "1.290.000,01 kr."],
        ["Overhead (7,5 pct. af de direkte omkostninger)", "96.750,00 kr."],
        ["Pris i alt", "1.386.750,01 kr."]]
    rates = a_conto(doc)
    # the last rate takes the øre the division leaves
    assert [r[1:] for r in rates] == [["1. januar 2028", "346.687,50 kr."],
                                      ["1. april 2028", "346.687,50 kr."],
                                      ["1. juli 2028", "346.687,50 kr."],
                                      ["1. oktober 2028", "346.687,51 kr."],
                                      ["", "1.386.750,01 kr."]]
    assert sum(kr(r[2]) for r in rates[:-1]) == kr(rates[-1][2])
    assert "Bestiller har den 28. oktober 2027 givet formelt varsel om en budgetramme på " \
           "1.350.000,00 kr. for 2028. Budgetrammen er 36.750,01 kr. lavere end prisen. " \
           "Parterne aftaler inden underskriften, om mængden eller serviceniveauet nedsættes, " \
           "eller om bestiller hæver rammen." in text
    assert "Aftalen følger årshjulet for 2027, hvor aftaleåret 2028 forberedes." in text
    assert "Aftalen for 2028 er gældende, når begge parter har underskrevet den." in text
    assert_clean(doc)


def test_each_signed_version_prints_what_was_signed(wf: Workflow, clock: Clock) -> None:
    """The version made when both sign shows the price, volume and a-conto signed (the
    start year); the one made when the year's agreement is signed shows that year's."""
    app = new_agreement(wf, clock)
    propose(wf, clock, app)
    made = run_cycle(wf, clock, app, until="record_true_up")
    signed = fetch(wf, app, "bum_agreement", number=made["sign:pl-ishoj"][0][1])
    text = paragraphs(signed)
    assert "Delaftalen er underskrevet den 23. marts 2026. Denne udgave indeholder pris, " \
           "mængde, serviceniveau og betalingsaftale for aftaleåret 2027." in text
    assert table_starting(signed, "Pris for 2027")[3] == ["Pris i alt", "1.327.160,48 kr."]
    assert [r[1:] for r in a_conto(signed)][-1] == ["", "1.327.160,48 kr."]
    assert "Den forventede mængde i 2027 er 420 enheder (forløb, pladser eller tilsvarende " \
           "efter ydelsesbeskrivelsen)." in text
    year = fetch(wf, app, "bum_agreement")        # made when both signed the year 2028
    versions = docs_of(wf, app)[("bum_agreement", None)]["versions"]
    assert versions[-1]["trigger"] == "sign_year"
    assert table_starting(year, "Pris for 2028")[3] == ["Pris i alt", "1.386.750,01 kr."]
    assert "Denne udgave indeholder pris, mængde, serviceniveau og betalingsaftale for " \
           "aftaleåret 2028." in " ".join(paragraphs(year))
    assert_clean(year)


def test_an_agreement_is_not_signed_before_its_terms(wf: Workflow, clock: Clock,
                                                     db_url: str) -> None:
    """Refused cleanly, everywhere: nothing is recorded, no AssertionError, no 500."""
    from click.testing import CliRunner

    from workflow.cli.app import cli
    from workflow.engine.queries import history
    from workflow.errors import GuardFailed

    app = new_agreement(wf, clock)
    with pytest.raises(GuardFailed) as exc:
        wf.fire(app, "sign", user="pl-vallensbaek")
    assert str(exc.value) == ("sign is not possible now: no terms have been proposed yet "
                              "(propose_terms); there is nothing to sign")
    assert exc.value.da == ("der er endnu ikke foreslået vilkår (»Foreslå vilkår«), så der er "
                            "intet at underskrive")
    result = CliRunner().invoke(cli, ["advance", str(app), "sign", "--as", "pl-ishoj"],
                                env={"WORKFLOW_DATABASE_URL": db_url,
                                     "WORKFLOW_NOW": "2026-03-03T09:00"})
    assert result.exit_code == 5 and "Traceback" not in result.output
    assert result.stderr.startswith("error: sign is not possible now: no terms")
    assert [e["trigger"] for e in history(wf, app, user="admin")] == ["create"]
    propose(wf, clock, app)       # once proposed, the signatures go through
    assert wf.fire(app, "sign", user="pl-vallensbaek").waiting_for == ("ishoj",)


# =================================================================== price notice
def test_the_price_notice_through_budget_and_notice(wf: Workflow, clock: Clock) -> None:
    app = new_agreement(wf, clock)
    propose(wf, clock, app)
    made = run_cycle(wf, clock, app, until="give_notice")
    assert made["calculate_price:pl-ishoj"] == [("price_notice", 1)]
    # each council's adoption is news in the notice; the notice itself makes the last one
    assert made["adopt_budget:sec-ishoj"] == [("price_notice", 2)]
    assert made["adopt_budget:sec-vallensbaek"] == [("price_notice", 3)]

    first = fetch(wf, app, "price_notice", number=1)
    assert_letterhead(first, f"00.17.15-G02-{app}-26", "20. maj 2027", "Ishøj Kommune")
    assert styled(first, "Heading 1") == ["Pris- og mængdemeddelelse for 2028"]
    text = paragraphs(first)
    assert text[0] == "Vallensbæk Kommune\nVallensbæk Stationstorv 100, 2665 Vallensbæk " \
                      "Strand\nAtt.: Anders Løvengreen"
    assert f"Vedrørende: Delaftale om genoptræning mellem Vallensbæk Kommune (bestiller) og " \
           f"Ishøj Kommune (udfører), sagsnr. 00.17.15-G02-{app}-26" in text
    assert f"Forventet mængde: 440 enheder\nServiceniveau: {LEVEL_2028}" in text
    assert table_starting(first, "Prisberegning for 2028") == [
        ["Prisberegning for 2028", "Beløb"],
        ["Direkte omkostninger", "1.290.000,01 kr."],
        ["Overhead (7,5 pct. af de direkte omkostninger)", "96.750,00 kr."],
        ["Pris i alt", "1.386.750,01 kr."],
        ["Pris pr. enhed ved 440 enheder", "3.151,70 kr."]]
    assert "Prisen for 2027 var 1.327.160,48 kr., og prisen for 2028 er dermed 59.589,53 kr. " \
           "højere." in text
    rates = a_conto(first)
    assert sum(kr(r[2]) for r in rates[:-1]) == Decimal("1386750.01") == kr(rates[-1][2])
    assert "Vallensbæk Kommune giver formelt varsel om budgetramme og serviceniveau for 2028 " \
           "senest den 1. november 2027, når budgettet er vedtaget (senest den 15. oktober " \
           "2027)." in text
    assert not any("vedtaget af" in p for p in text)
    assert_clean(first)

    adopted = fetch(wf, app, "price_notice", number=3)
    assert "Budgettet for 2028 er vedtaget af:" in paragraphs(adopted)
    assert styled(adopted, "List Bullet") == [
        "Ishøj Byråd den 5. oktober 2027 (Byrådet 5. oktober 2027, punkt 4)",
        "Vallensbæk Kommunalbestyrelse den 6. oktober 2027 (Kommunalbestyrelsen 06-10-2027, "
        "pkt. 3)"]

    noticed = fetch(wf, app, "price_notice")
    assert docs_of(wf, app)[("price_notice", None)]["latest"] == 4
    text = paragraphs(noticed)
    assert "Vallensbæk Kommune har den 28. oktober 2027 givet formelt varsel om en budgetramme " \
           "på 1.350.000,00 kr. for 2028." in text
    remark = next(p for p in text if p.startswith("Bemærk:"))
    assert remark.startswith("Bemærk: Budgetrammen er 36.750,01 kr. lavere end prisen. Rammen "
                             "dækker ikke prisen")
    bold = [r.text for p in noticed.paragraphs for r in p.runs if r.bold]
    assert "Bemærk: Budgetrammen er 36.750,01 kr. lavere end prisen." in bold
    assert "Årets aftale for 2028 underskrives af begge parter senest den 1. december 2027 og " \
           "træder i kraft den 1. januar 2028. Spørgsmål og bemærkninger til prisberegningen " \
           "kan rettes til Mette Højgaard, mette.hoejgaard@ishoj.example." in text
    assert text[-2:] == ["Med venlig hilsen", "Mette Højgaard\nIshøj Kommune"]
    assert_clean(noticed)


def test_a_frame_that_covers_the_price_has_no_remark(wf: Workflow, clock: Clock) -> None:
    app = new_agreement(wf, clock)
    propose(wf, clock, app)
    cycle = {(trigger, user): data for _, trigger, user, data in CYCLE}
    cycle[("give_notice", "pl-vallensbaek")] = {"budget_frame": "1.386.750,01"}
    for when, trigger, user, _ in CYCLE[:7]:
        clock.at(when)
        wf.fire(app, trigger, user=user, data=cycle[(trigger, user)])
    text = paragraphs(fetch(wf, app, "price_notice"))
    assert "Budgetrammen dækker prisen." in text
    assert not any(p.startswith("Bemærk") for p in text)
    assert not any("lavere end prisen" in p for p in paragraphs(fetch(wf, app, "bum_agreement")))


# ====================================================================== true-ups
def test_the_true_up_statement_both_ways(wf: Workflow, clock: Clock) -> None:
    app = new_agreement(wf, clock)
    propose(wf, clock, app)
    made = run_cycle(wf, clock, app)
    assert made["record_true_up:pl-ishoj"] == [("true_up_statement", 1)]

    doc = fetch(wf, app, "true_up_statement")
    assert_letterhead(doc, f"00.17.15-G02-{app}-26", "21. februar 2028", "Ishøj Kommune")
    assert styled(doc, "Heading 1") == ["Efterreguleringsopgørelse for 2027"]
    assert styled(doc, "Heading 2") == ["Faktisk kostpris", "Opgørelse", "Betaling"]
    # actual 1.301.234,56 plus 7,5 pct. (97.592,592 rounded half up) against 4 rates
    assert table_starting(doc, "2027") == [
        ["2027", "Aftalt pris", "Faktisk"],
        ["Direkte omkostninger", "1.234.567,89 kr.", "1.301.234,56 kr."],
        ["Overhead (7,5 pct.)", "92.592,59 kr.", "97.592,59 kr."],
        ["Kostpris i alt", "1.327.160,48 kr.", "1.398.827,15 kr."]]
    assert table_starting(doc, "Opgørelse") == [
        ["Opgørelse", "Beløb"], ["Faktisk kostpris", "1.398.827,15 kr."],
        ["Betalt a conto", "1.327.160,48 kr."],
        ["Difference (faktisk kostpris minus betalt a conto)", "71.666,67 kr."]]
    rates = a_conto(doc)
    assert len(rates) == 5 and sum(kr(r[2]) for r in rates[:-1]) == kr(rates[-1][2]) == \
        Decimal("1327160.48")
    text = paragraphs(doc)
    # a positive balance: the purchaser pays the rest, within 30 days of the letter
    assert "Den faktiske kostpris er højere end de betalte a conto-rater. Vallensbæk Kommune " \
           "(bestiller) betaler 71.666,67 kr. efter til Ishøj Kommune senest den 22. marts " \
           "2028. Ishøj Kommune sender en faktura på beløbet." in text
    assert not any("tilbagebetaler" in p for p in text)
    assert_clean(doc)

    # the agreement is terminated and its last year settled: the provider pays back
    clock.at("2028-03-01T10:00")
    wf.fire(app, "terminate", user="pl-vallensbaek",
            data={"end_date": "2028-12-31", "reason": "Vallensbæk hjemtager genoptræningen"})
    clock.at("2029-01-15T10:00")
    outcome = wf.fire(app, "settle", user="pl-ishoj", data={"actual_costs": "1.250.000,00"})
    assert outcome.to_state == "ended"
    assert [(m.name, m.number) for m in outcome.documents] == [("true_up_statement", 2)]
    doc = fetch(wf, app, "true_up_statement")
    assert styled(doc, "Heading 1") == ["Efterreguleringsopgørelse for 2028"]
    assert table_starting(doc, "Opgørelse")[1:] == [
        ["Faktisk kostpris", "1.343.750,00 kr."], ["Betalt a conto", "1.386.750,01 kr."],
        ["Difference (faktisk kostpris minus betalt a conto)", "-43.000,01 kr."]]
    text = paragraphs(doc)
    assert "Aftalen ophører den 31. december 2028. Opgørelsen er en slutopgørelse for 2028, og " \
           "der er medregnet de a conto-rater, der er forfaldet til og med ophørsdatoen:" in text
    assert "Den faktiske kostpris er lavere end de betalte a conto-rater. Ishøj Kommune " \
           "(udfører) tilbagebetaler 43.000,01 kr. til Vallensbæk Kommune senest den " \
           "14. februar 2029." in text
    assert not any("betaler 43.000,01 kr. efter" in p for p in text)
    assert_clean(doc)
    # the first statement is kept as it was
    assert styled(fetch(wf, app, "true_up_statement", number=1), "Heading 1") == \
        ["Efterreguleringsopgørelse for 2027"]


# ======================================================================= context
def app_row(conn: Any, app: int) -> dict[str, Any]:
    return dict(conn.execute(select(t.application).where(t.application.c.id == app))
                .mappings().one())


def test_the_agreement_context_is_typed_and_cheap(wf: Workflow, clock: Clock) -> None:
    app = new_agreement(wf, clock)
    propose(wf, clock, app)
    run_cycle(wf, clock, app)
    queries: list[str] = []

    def count(*args: Any) -> None:
        queries.append(str(args[2]))

    with store.read(wf.engine) as conn:
        row = app_row(conn, app)
        event.listen(wf.engine, "before_cursor_execute", count)
        try:
            inputs = gather(conn, wf.definition, row, wf.tz)
        finally:
            event.remove(wf.engine, "before_cursor_execute", count)
    # municipalities, contacts, recorded acts, the area and the application it follows
    assert len(queries) == 5, queries
    ctx = build_context(inputs, letter_date=date(2028, 2, 21), facts=Facts(date(2026, 3, 2)))
    a = ctx["agreement"]
    assert (a["provider"]["name"], a["purchaser"]["name"]) == ("Ishøj Kommune",
                                                               "Vallensbæk Kommune")
    assert a["purchaser"]["council"] == "Vallensbæk Kommunalbestyrelse"
    assert a["purchaser"]["contact"]["name"] == "Anders Løvengreen"
    assert a["area"] == {"id": "rehabilitation", "name": "Genoptræning",
                         "law_ref": "§ 1, stk. 2, nr. 2", "part": None}
    # the latest reported volume and level; each year keeps its own
    assert (a["service"], a["expected_volume"], a["notice_months"]) == (SERVICE, 440, 6)
    assert a["service_level"] == LEVEL_2028
    assert (a["start_date"], a["signed_on"], a["cycle_year"], a["end_date"]) == (
        date(2027, 1, 1), date(2026, 3, 23), 2028, None)
    assert [y["year"] for y in a["years"]] == [2027, 2028]
    y2027, y2028 = a["years"]
    assert y2027["price"] == Decimal("1327160.48") and isinstance(y2027["price"], Decimal)
    assert y2027["overhead_rate"] == Decimal("7.5")
    assert (y2027["expected_volume"], y2028["expected_volume"]) == (420, 440)
    assert y2027["a_conto"][0] == {"number": 1, "due": date(2027, 1, 1),
                                   "amount": Decimal("331790.12")}
    assert sum(r["amount"] for r in y2028["a_conto"]) == y2028["price"] == Decimal("1386750.01")
    assert y2028["budget_frame"] == Decimal("1350000.00")
    assert (y2028["notice_on"], y2028["signed_on"]) == (date(2027, 10, 28), date(2027, 11, 23))
    assert y2027["true_up"] == {"actual_direct": Decimal("1301234.56"),
                                "actual_overhead": Decimal("97592.59"),
                                "actual_total": Decimal("1398827.15"),
                                "paid": Decimal("1327160.48"), "balance": Decimal("71666.67"),
                                "until": None}
    assert y2028["true_up"] is None
    assert a["last_true_up"] is y2027
    assert a["current"] is y2028            # the year last signed, as it was signed
    assert [(b["municipality"]["id"], b["meeting_date"]) for b in a["budgets"]] == []  # 2027's

    # an application's drafts get no agreement
    clock.at("2026-03-02T09:00")
    other = wf.create(kind="dispensation", round=1, title="Ansøgning", user="pl-ishoj")
    with store.read(wf.engine) as conn:
        ctx = build_context(gather(conn, wf.definition, app_row(conn, other), wf.tz),
                            letter_date=date(2026, 3, 2), facts=Facts(date(2026, 3, 2)))
    assert "agreement" not in ctx


def test_the_current_year_while_negotiating_and_during_the_cycle(wf: Workflow,
                                                                 clock: Clock) -> None:
    app = new_agreement(wf, clock)

    def agreement() -> dict[str, Any]:
        with store.read(wf.engine) as conn:
            ctx = build_context(gather(conn, wf.definition, app_row(conn, app), wf.tz),
                                letter_date=date(2026, 3, 2), facts=Facts(date(2026, 3, 2)))
        return dict(ctx["agreement"])

    bare = agreement()   # just created: the terms are not there yet
    assert (bare["years"], bare["current"], bare["last_true_up"], bare["start_date"]) == (
        [], None, None, None)
    assert bare["provider"]["id"] == "ishoj" and bare["service"] == SERVICE
    propose(wf, clock, app)
    assert agreement()["current"]["year"] == 2027           # the start year, before signing
    run_cycle(wf, clock, app, until="calculate_price")
    now = agreement()
    assert now["cycle_year"] == 2027 and now["current"]["year"] == 2028
    assert now["current"]["price"] == Decimal("1386750.01")
    assert now["last_true_up"] is None
    clock.at("2027-06-20T10:00")
    wf.fire(app, "change_service", user="pl-vallensbaek", data={
        "effective_date": "2027-10-01", "expected_volume": "450",
        "service_level": "Første træning senest 6 dage efter udskrivning"})
    change, = agreement()["changes"]
    assert change["effective_date"] == date(2027, 10, 1) and change["expected_volume"] == 450
    assert change["noticed_on"] == date(2027, 6, 20) and change["by"]["name"] == \
        "Vallensbæk Kommune"


# ===================================================================== letterheads
def test_a_provider_with_a_bad_logo_blocks_the_step_and_the_check_says_so(
        db_url: str, clock: Clock) -> None:
    wf = Workflow.open(Settings(database_url=db_url), clock=clock)
    try:
        set_municipality(wf, "brondby", logo=b"GIF89a not a png", logo_type="image/png")
        app = new_agreement(wf, clock, provider="brondby", purchaser="vallensbaek")
        clock.at("2026-03-10T10:00")
        with pytest.raises(DocumentError) as caught:
            wf.fire(app, "propose_terms", user="pl-brondby", data=TERMS)
        assert str(caught.value) == (
            "cannot make bum_agreement: the letterhead of Brøndby Kommune: the logo is not a "
            "PNG or JPEG image (by its content)")
        # nothing was recorded: the step is blocked
        assert docs_of(wf, app) == {}
        with store.read(wf.engine) as conn:
            assert app_row(conn, app)["data"].get("years") is None
    finally:
        wf.close()
    result = run_cli({"WORKFLOW_DATABASE_URL": db_url}, "templates", "check")
    assert result.exit_code == 3
    assert result.stderr.splitlines()[:-1] == [
        "municipality brondby:?: Brøndby Kommune (brondby): the logo is not a PNG or JPEG "
        "image (by its content); its letterheads cannot be made"]
    assert result.stderr.splitlines()[-1].endswith(
        "for municipalities brondby, ishoj, vallensbaek.")


def test_brondby_as_provider_writes_on_its_own_letterhead(wf: Workflow, clock: Clock) -> None:
    app = new_agreement(wf, clock, provider="brondby", purchaser="ishoj", user="pl-ishoj")
    clock.at("2026-03-10T10:00")
    wf.fire(app, "propose_terms", user="pl-brondby", data=TERMS)
    doc = fetch(wf, app, "bum_agreement")
    assert_letterhead(doc, f"00.17.15-G02-{app}-26", "10. marts 2026", "Brøndby Kommune")
    assert [p.text for p in doc.sections[0].header.paragraphs][1] == \
        "Park Allé 160 · 2605 Brøndby"
    assert table_starting(doc, "Part")[1:4] == [
        ["Kommune", "Ishøj Kommune", "Brøndby Kommune"],
        ["Adresse", "Ishøj Store Torv 20, 2635 Ishøj", "Park Allé 160, 2605 Brøndby"],
        ["Kontaktperson", "Mette Højgaard", "Karen Brønnum"]]
    assert "Kan styregruppen ikke nå til enighed, forelægges sagen for borgmestrene i Ishøj " \
           "Kommune og Brøndby Kommune." in styled(doc, "List Number")


# ================================================================ templates check
def test_templates_check_is_clean_and_tries_agreements_on_agreement_samples(
        tmp_path: Path) -> None:
    result = run_cli({}, "templates", "check")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("0 problem(s) in the templates of 10 drafts")
    assert "brondby" not in result.output     # per-municipality drafts: the cooperation only
    # a BUM template is checked against the agreement's names, with file and line ...
    templates = copy_templates(tmp_path)
    path = templates / "documents" / "price_notice.md.j2"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith("## Pris")) + 1
    lines.insert(at, "{{ agreement.current.budget_frame }} {{ agreement.purchaser.adress }}\n")
    path.write_text("".join(lines), encoding="utf-8")
    (templates / "documents" / "true_up_statement.md.j2").write_text(
        "# Opgørelse\n\n{{ agreement.last_true_up.true_up.balans }}\n", encoding="utf-8")
    result = run_cli({"WORKFLOW_TEMPLATES_DIR": str(templates)}, "templates", "check")
    assert result.exit_code == 3
    problems = result.stderr.splitlines()
    assert problems[0] == f"price_notice.md.j2:{at + 1}: unknown name 'adress' (known here: " \
                          "address, agenda_layout, committees, contact, contacts, council, " \
                          "council_definite, council_type, id, name, short, signatories)"
    assert problems[1] == "true_up_statement.md.j2:3: unknown name 'balans' (known here: " \
                          "actual_direct, actual_overhead, actual_total, balance, paid, until)"
    assert len(problems) == 3


# ============================================================================ PDF
def test_the_agreement_converts_to_pdf(sqlite_wf: Workflow, clock: Clock) -> None:
    require_libreoffice()
    wf = sqlite_wf
    app = new_agreement(wf, clock)
    propose(wf, clock, app)
    run_cycle(wf, clock, app, until="give_notice")
    got = wf.download(docs_of(wf, app)[("bum_agreement", None)]["id"], user="pl-vallensbaek",
                      pdf=True)
    assert got.content.startswith(b"%PDF") and got.format == "pdf"
    assert got.filename == f"00.17.15-G02-{app}-26-bum_agreement-v3.pdf"
    if shutil.which("pdftotext") is None:
        return  # the text checks need poppler-utils
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=got.content,
                          capture_output=True, check=True).stdout.decode()
    flat = " ".join(text.split())
    assert "Delaftale om køb af genoptræning med betalingsaftale" in flat
    assert f"Sagsnr. 00.17.15-G02-{app}-26" in flat
    assert "Vallensbæk Kommune" in flat and "Ishøj Kommune" in flat
    assert "1.386.750,01 kr." in flat and "346.687,51 kr." in flat
    pages = text.count("\f")
    assert pages >= 2
    assert re.findall(r"Side (\d+) af (\d+)", text) == [
        (str(i), str(pages)) for i in range(1, pages + 1)]
