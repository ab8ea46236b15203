"""The installation file: every problem located as ``file:line: key: message``; both
shipped files valid; ``workflow setup`` idempotent, saying what it changed; ``--export``
round-trips (export then setup changes nothing); a municipality set up from a file is
one ``users add --municipality`` knows. On SQLite and PostgreSQL where a database is used."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from workflow.errors import InstallationError
from workflow.installation import apply, demo
from workflow.installation.file import load, loads
from workflow.store import database as store

BAD = """\
cooperations:
  - id: Two Words
    name: X
    municipalities:
      - {id: aa, name: A Kommune, council: A Byråd, council_type: parliament, logo: no.png}
      - bb
    areas:
      - {id: employment, name_da: B, name_en: E, run_by: zz}
      - {id: employment, name_da: B, name_en: E, run_by: aa}
    settings:
      area_count: {"1": {min: 3, max: 2}}
users:
  - {id: u1, name: U, role: wizard, municipality: aa, password: hemmelig}
  - {id: u2, name: U, role: legal}
directory:
  groups:
    - {group: GG-Jura, role: legal, municipality: nowhere}
"""


def test_every_problem_is_located(tmp_path: Path) -> None:
    with pytest.raises(InstallationError) as err:
        loads(BAD, file="inst.yaml", base=tmp_path, roles={"legal", "admin"})
    said = [str(p) for p in err.value.problems]
    for line, key, message in (
            (2, "cooperations.0.id", "expected an id"),
            (5, "cooperations.0.municipalities.0.council_type", "expected one of"),
            (5, "cooperations.0.municipalities.0.logo", "cannot read no.png"),
            (6, "cooperations.0.municipalities.1", "unknown municipality 'bb'"),
            (8, "cooperations.0.areas.0.run_by", "'zz' is not a member"),
            (9, "cooperations.0.areas.1.id", "declared twice in this cooperation"),
            (11, "cooperations.0.settings.area_count.1", "1 <= min <= max"),
            (13, "users.0.role", "unknown role 'wizard'"),
            (13, "users.0.password", "no passwords in the file"),
            (14, "users.1.municipality", "every user but an admin has a municipality"),
            (17, "directory.groups.0.municipality", "unknown municipality 'nowhere'")):
        assert any(s.startswith(f"inst.yaml:{line}: {key}: ") and message in s
                   for s in said), (line, key, said)
    assert "problems in the installation file" in str(err.value)


def test_a_logo_is_checked_by_its_content(tmp_path: Path) -> None:
    (tmp_path / "fake.png").write_bytes(b"GIF89a not a png")
    text = ("cooperations:\n  - id: c\n    name: C\n    municipalities:\n"
            "      - {id: aa, name: A, council: A, logo: fake.png}\n")
    with pytest.raises(InstallationError, match="neither a PNG nor a JPEG"):
        loads(text, file="i.yaml", base=tmp_path)
    png = demo.INSTALLATIONS / "logos" / "dragoer.png"
    (tmp_path / "fake.png").write_bytes(png.read_bytes())
    inst = loads(text, file="i.yaml", base=tmp_path)
    assert inst.municipalities[0]["logo_type"] == "image/png"


def test_the_shipped_files_are_valid() -> None:
    for index, coop in enumerate(("ishoj-vallensbaek", "dragoer-taarnby")):
        inst = load(demo.DEMO_FILES[index], roles={"project_lead", "council_secretary",
                                                   "legal", "steering_group", "admin"})
        assert [c["id"] for c in inst.cooperations] == [coop]
        assert len(inst.cooperations[0]["areas"]) == 5
        assert "background" in inst.cooperations[0]["texts"]


def test_setup_is_idempotent_and_export_round_trips(db_url: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from workflow.cli.app import cli

    monkeypatch.setenv("WORKFLOW_DATABASE_URL", db_url)
    run = CliRunner().invoke
    out = run(cli, ["users", "add", "pl2", "--name", "X", "--role", "project_lead",
                    "--municipality", "dragoer", "--as", "admin"])
    assert out.exit_code != 0 and "unknown municipality 'dragoer'" in out.output
    file = str(demo.DEMO_FILES[1])
    out = run(cli, ["setup", file])
    assert out.exit_code == 0, out.output
    assert "added municipality dragoer" in out.output
    assert "added area dragoer-taarnby/employment" in out.output
    out = run(cli, ["setup", file])
    assert out.exit_code == 0 and out.output.strip().endswith("nothing to change."), out.output
    out = run(cli, ["users", "add", "pl2-dragoer", "--name", "Ny", "--role", "project_lead",
                    "--municipality", "dragoer", "--as", "admin"])
    assert out.exit_code == 0, out.output
    exported = tmp_path / "out" / "installation.yaml"
    exported.parent.mkdir()
    out = run(cli, ["setup", "--export", str(exported)])
    assert out.exit_code == 0, out.output
    assert (tmp_path / "out" / "logos" / "dragoer.png").read_bytes() == \
        (demo.INSTALLATIONS / "logos" / "dragoer.png").read_bytes()
    out = run(cli, ["setup", str(exported)])
    assert out.exit_code == 0 and out.output.strip().endswith("nothing to change."), out.output
    # a changed name is said, and changed
    exported.write_text(exported.read_text(encoding="utf-8").replace(
        "name: Dragør og Tårnby Kommuners", "name: Dragør–Tårnby"), encoding="utf-8")
    out = run(cli, ["setup", str(exported)])
    assert "changed cooperation dragoer-taarnby: name" in out.output
    engine = store.make_engine(db_url)
    try:
        assert apply.read(engine).cooperations[0]["name"].startswith("Dragør–Tårnby")
    finally:
        engine.dispose()


def test_a_bad_file_changes_nothing(db_url: str, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from workflow.cli.app import cli

    monkeypatch.setenv("WORKFLOW_DATABASE_URL", db_url)
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD, encoding="utf-8")
    out = CliRunner().invoke(cli, ["setup", str(bad)])
    assert out.exit_code == 3 and f"{bad}:2: cooperations.0.id:" in out.output
    engine = store.make_engine(db_url)
    try:
        assert [c["id"] for c in apply.read(engine).cooperations] == ["ishoj-vallensbaek"]
    finally:
        engine.dispose()


def test_the_readmes_example_is_a_valid_file_but_for_its_logo() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Installation file", 1)[1].split("```yaml\n", 1)[1]
    block = block.split("```", 1)[0]
    with pytest.raises(InstallationError) as err:
        loads(block, file="README.md", base=Path("."), roles={"project_lead", "legal",
                                                              "admin"})
    assert [p.key for p in err.value.problems] == \
        ["cooperations.0.municipalities.1.logo"]


def test_a_local_text_that_is_no_template_is_located(tmp_path: Path) -> None:
    """A local text is rendered as a template where a draft prints it (agenda_background_…),
    so one that cannot be is refused at setup, not at the council's transition."""
    shipped = (demo.INSTALLATIONS / "ishoj-vallensbaek.yaml").read_text()
    anchor = "      agenda_background_vallensbaek: |\n"
    assert anchor in shipped
    broken = shipped.replace(anchor, anchor + "        {% if municipality.name %}Uafsluttet\n")
    line = broken.splitlines().index(anchor.rstrip("\n")) + 1
    with pytest.raises(InstallationError) as err:
        loads(broken, file="inst.yaml", base=demo.INSTALLATIONS, roles={"legal", "admin"})
    said = [str(p) for p in err.value.problems]
    assert any(s.startswith(f"inst.yaml:{line}: cooperations.0.texts."
                            "agenda_background_vallensbaek: not a template") for s in said), said
