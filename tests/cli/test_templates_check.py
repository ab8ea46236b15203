"""`workflow templates check` on the installation's own municipalities (issue 21's
reproduction: the check passed, then ``approve_draft`` failed on a council's missing
agenda template), on SQLite and PostgreSQL.

The installation here is an invented cooperation, Dragør–Tårnby: its rows are inserted
directly (the installation file is not this test's subject); names, addresses and
signatories are invented.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import docx
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import update

from tests.conftest import Clock
from tests.factories import tiny_png
from workflow.cli.app import cli
from workflow.config import Settings
from workflow.engine.queries import documents, get_application
from workflow.engine.workflow import Workflow
from workflow.errors import DocumentError
from workflow.store import database as store
from workflow.store import tables as t

PROJECT = Path(__file__).resolve().parents[2]
OWN = "agenda_item_dragoer.md.j2"


def install_dragoer_taarnby(db_url: str, *, logo: bytes | None = None) -> None:
    """The shipped Dragør–Tårnby cooperation, set up as `workflow setup` does, with the
    test's own rows: Dragør with an agenda template of its own, the areas run by them, and
    their staff."""
    from workflow.installation.apply import apply
    from workflow.installation.demo import demo_installation

    engine = store.make_engine(db_url)
    try:
        apply(engine, demo_installation(1))
        rows = {
            "dragoer": {"address": "Eksempelvej 1, 2791 Dragør", "committees": ["Økonomiudvalget"],
                        "agenda_layout": "standard", "agenda_template": OWN, "logo": logo,
                        "logo_type": "image/png" if logo else None,
                        "signatories": [{"name": "Eva Eksempel", "title": "Borgmester"}],
                        "contacts": []},
            "taarnby": {"address": "Prøvegade 2, 2770 Kastrup", "committees": None,
                        "agenda_layout": "standard", "agenda_template": None, "logo": None,
                        "logo_type": None, "signatories": [], "contacts": []}}
        people = {"pl-dragoer": "Pia Prøve", "pl-taarnby": "Tom Test",
                  "legal-dragoer": "Jens Jura"}
        with store.write(engine) as conn:
            for mid, values in rows.items():
                conn.execute(update(t.municipality).where(t.municipality.c.id == mid)
                             .values(**values))
            for i, area in enumerate(("employment", "rehabilitation", "social",
                                      "special_education", "nature_environment")):
                conn.execute(update(t.area).where(t.area.c.id == area,
                                                  t.area.c.cooperation_id == "dragoer-taarnby")
                             .values(run_by="taarnby" if i == 0 else "dragoer"))
            for uid, name in people.items():
                conn.execute(update(t.user).where(t.user.c.id == uid).values(name=name))
    finally:
        engine.dispose()


def check(db_url: str, templates: Path) -> Result:
    return CliRunner().invoke(cli, ["templates", "check"], env={
        "WORKFLOW_DATABASE_URL": db_url, "WORKFLOW_TEMPLATES_DIR": str(templates)})


def to_legal_review(wf: Workflow) -> int:
    app = wf.create(kind="dispensation", round=1, title="Første ansøgning", user="pl-dragoer")
    wf.fire(app, "propose_areas", user="pl-dragoer",
            data={"areas": "rehabilitation,special_education,nature_environment"})
    wf.fire(app, "confirm_areas", user="pl-dragoer")
    wf.fire(app, "confirm_areas", user="pl-taarnby")
    wf.fire(app, "submit_for_review", user="pl-dragoer")
    return app


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    copy = tmp_path / "templates"
    shutil.copytree(PROJECT / "templates", copy)
    return copy


def test_a_missing_agenda_template_fails_the_check_as_it_fails_the_step(
        db_url: str, clock: Clock, templates: Path) -> None:
    install_dragoer_taarnby(db_url)
    result = check(db_url, templates)
    assert result.exit_code == 3, result.output
    lines = result.stderr.splitlines()
    assert lines[:-1] == [
        f"{OWN}:?: missing: the agenda_template of Dragør Kommune (dragoer) names this "
        f"template, so its agenda_item cannot be made"]
    assert lines[-1] == (f"1 problem(s) in the templates of 10 drafts ({templates}), for "
                         f"municipalities dragoer, ishoj, taarnby, vallensbaek.")
    wf = Workflow.open(Settings(database_url=db_url, templates_dir=templates), clock=clock)
    try:
        app = to_legal_review(wf)
        with pytest.raises(DocumentError, match=f"cannot make agenda_item for Dragør Kommune: "
                                                f"its agenda_template names '{OWN}', which is "
                                                f"not a template in"):
            wf.fire(app, "approve_draft", user="legal-dragoer")
        shown = get_application(wf, app, user="legal-dragoer")   # nothing half-stored
        assert shown["state"] == "legal_review"
    finally:
        wf.close()


def test_when_the_check_passes_the_steps_drafts_render(db_url: str, clock: Clock,
                                                        templates: Path) -> None:
    logo = tiny_png()
    install_dragoer_taarnby(db_url, logo=logo)
    (templates / "documents" / OWN).write_text(
        "# {{ case.title }}\n\nSagsnr.: {{ case.number }}\n\n## Dragørs egen opstilling\n\n"
        "{{ municipality.council_definite }} behandler ansøgningen med {{ other.name }}.\n",
        encoding="utf-8")
    result = check(db_url, templates)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("0 problem(s) in the templates of 10 drafts")
    wf = Workflow.open(Settings(database_url=db_url, templates_dir=templates), clock=clock)
    try:
        app = to_legal_review(wf)
        out = wf.fire(app, "approve_draft", user="legal-dragoer")
        made = {(m.name, m.party) for m in out.documents}
        assert made == {("agenda_item", "dragoer"), ("agenda_item", "taarnby")}
        listed = {(d["name"], d["party"]): d for d in documents(wf, app, user="legal-dragoer")}
        own = listed[("agenda_item", "dragoer")]["versions"][-1]
        assert own["template"] == OWN
        assert listed[("agenda_item", "taarnby")]["versions"][-1]["template"] == \
            "agenda_item.md.j2"
        def read(name: str, party: str | None) -> docx.document.Document:
            doc_id = listed[(name, party)]["id"]
            return docx.Document(io.BytesIO(wf.download(doc_id, user="legal-dragoer").content))
        mine = read("agenda_item", "dragoer")
        assert [p.text for p in mine.paragraphs][2:4] == [
            "Dragørs egen opstilling",
            "Kommunalbestyrelsen behandler ansøgningen med Tårnby Kommune."]
        header = mine.sections[0].header
        assert len(header.paragraphs[0]._p.xpath(".//pic:pic")) == 1   # Dragør's logo
        assert header.paragraphs[1].text == "Dragør Kommune"
        theirs = read("agenda_item", "taarnby")   # the standard layout, no logo
        texts = [p.text for p in theirs.paragraphs]
        assert texts[2] == "Beslutningstema" and "Indstilling" in texts
        assert theirs.sections[0].header.paragraphs[0].text == "Tårnby Kommune"
        letter = read("application_letter", None)   # the joint letterhead, the signatory
        head = letter.sections[0].header
        assert head.paragraphs[1].text == "Dragør Kommune  ·  Tårnby Kommune"
        assert "Eksempelvej 1 · 2791 Dragør  |  Prøvegade 2 · 2770 Kastrup" == \
            head.paragraphs[2].text
        body = "\n".join(p.text for p in letter.paragraphs)
        assert "Eva Eksempel\nBorgmester, Dragør Kommune" in body
        assert "Borgmester, Tårnby Kommune\nKommunaldirektør, Tårnby Kommune" in body
        got = wf.reproduce(listed[("agenda_item", "dragoer")]["id"], user="legal-dragoer")
        assert got.identical, str(got)
    finally:
        wf.close()
