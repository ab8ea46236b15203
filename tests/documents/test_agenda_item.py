"""The one agenda-item template: each council's layout by configuration, the same text as
the two per-municipality templates it replaced, and a council's own template."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import jinja2
import pytest

from workflow.documents.context import AGENDA_LAYOUTS, build_context
from workflow.documents.rendering import check_template, make_environment
from workflow.documents.samples import sample_inputs
from workflow.process.definition import load

PROJECT_DIR = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"
FACTS = load(PROJECT_DIR / "states.yaml").facts_on(date(2018, 4, 3))
KINDS = [("dispensation", 1), ("dispensation", 2), ("exit", 1), ("jobcentre", 1),
         ("satellite", 1)]


def contexts(party: str) -> list[dict[str, object]]:
    """The party's agenda-item contexts: each kind, complete and bare, with and without
    the satellite fallback."""
    out = []
    for full in (True, False):
        for kind, round_ in KINDS:
            for fallback in (True, False):
                inputs = sample_inputs(full)
                inputs.case.update(kind=kind, round=round_, satellite_fallback=fallback)
                out.append(build_context(inputs, letter_date=date(2018, 4, 3), facts=FACTS,
                                         party=party))
    return out


@pytest.mark.parametrize(("party", "layout"), [("ishoj", "summary_first"),
                                               ("vallensbaek", "recommendation_first")])
def test_the_one_template_gives_each_council_the_text_of_its_old_template(
        party: str, layout: str) -> None:
    """The text before (the old ``agenda_item_<municipality>.md.j2``, kept under
    tests/documents/data/) and after, character for character, for every kind of case."""
    new = make_environment(PROJECT_DIR / "templates" / "documents").get_template(
        "agenda_item.md.j2")
    old = make_environment(DATA).get_template(f"agenda_item_{layout}.before.md.j2")
    for ctx in contexts(party):
        assert ctx["municipality"]["agenda_layout"] == layout   # type: ignore[index]
        assert new.render(ctx) == old.render(ctx)


def test_the_standard_layout_names_no_municipality_of_its_own() -> None:
    """A council with the default layout (the demo's Brøndby as if in the cooperation):
    its own names and council, Beslutningstema and Indstilling first, nothing left over."""
    rows = sample_inputs(True).rows
    members = [{**rows["brondby"], "cooperation": True}, rows["ishoj"]]
    env = make_environment(PROJECT_DIR / "templates" / "documents")
    samples = {label: build_context(sample_inputs(full, members=members),
                                    letter_date=date(2018, 4, 3), facts=FACTS,
                                    party="brondby") for label, full in
               (("full", True), ("early", False))}
    assert samples["full"]["municipality"]["agenda_layout"] == "standard"  # type: ignore[index]
    assert check_template(env, "agenda_item.md.j2", samples) == []
    text = env.get_template("agenda_item.md.j2").render(samples["full"])
    heads = [line for line in text.splitlines() if line.startswith("## ")]
    assert heads[:3] == ["## Beslutningstema", "## Indstilling", "## Sagsfremstilling"]
    assert "Kommunalbestyrelsen skal tage stilling" in text
    assert "Vallensbæk" not in text and "Byrådet" not in text
    assert "Brøndby Kommune og Ishøj Kommune indgår" in text
    assert set(AGENDA_LAYOUTS) == {"standard", "summary_first", "recommendation_first"}


def test_the_old_per_municipality_templates_are_gone() -> None:
    documents = PROJECT_DIR / "templates" / "documents"
    assert not list(documents.glob("agenda_item_*.md.j2"))
    with pytest.raises(jinja2.TemplateNotFound):
        make_environment(documents).get_template("agenda_item_ishoj.md.j2")


@pytest.mark.parametrize(("party", "layout"), [("ishoj", "summary_first"),
                                               ("vallensbaek", "recommendation_first")])
def test_without_its_local_text_a_council_gets_a_neutral_background(party: str,
                                                                    layout: str) -> None:
    """The history and strategy are the installation's text (agenda_background_<id>),
    rendered with the agenda item's names; without it, a short background of no one's."""
    env = make_environment(PROJECT_DIR / "templates" / "documents")
    ctx = contexts(party)[0]
    own = env.get_template("agenda_item.md.j2").render(ctx)
    assert "1. januar 2007" in own
    texts = {k: v for k, v in ctx["cooperation"]["texts"].items()   # type: ignore[index]
             if not k.startswith("agenda_background_")}
    bare = env.get_template("agenda_item.md.j2").render(
        {**ctx, "cooperation": {**ctx["cooperation"], "texts": texts}})  # type: ignore[dict-item]
    assert "1. januar 2007" not in bare and "17. maj 2017" not in bare
    assert "indgår i et forpligtende samarbejde efter" in bare
