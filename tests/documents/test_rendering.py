"""Templates to Markdown: escaping, the Danish filters, the sandbox and the template checker.

Everything here runs on the real Jinja2 sandbox of :mod:`workflow.documents.rendering`; what the
Markdown means is read back with markdown-it (the parser the Word writer uses) or, where
it says so, through :func:`workflow.documents.docx_writer.write_docx` and python-docx.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import docx
import hypothesis.strategies as st
import jinja2
import pytest
from hypothesis import HealthCheck, example, given, settings
from jinja2.exceptions import SecurityError, UndefinedError
from markdown_it import MarkdownIt

from tests.factories import demo_letterhead
from workflow.documents import rendering
from workflow.documents.context import build_context
from workflow.documents.docx_writer import write_docx
from workflow.documents.rendering import MISSING, check_template, make_environment, markdown_escape
from workflow.documents.samples import sample_inputs
from workflow.process.definition import load

PROJECT_DIR = Path(__file__).resolve().parents[2]
JOINT = demo_letterhead("joint")
MD = MarkdownIt("commonmark", {"html": False}).enable("table")
ENV = make_environment(PROJECT_DIR / "templates" / "documents")

# Text as people type it: anything but surrogates and control characters (newlines kept).
TYPED = st.text(alphabet=st.characters(exclude_categories=("Cs", "Cc", "Cn"),
                                       include_characters="\n\t"), max_size=60)
SPECIAL = [
    'Ansøgning & <test> "citat" *stjerne* _under_ # | æøå ÆØÅ',
    "{{ 7*7 }} {% if x %} {# c #} \\ \\\\ \\* `kode` [link](http://x.dk) ![billede](y.png)",
    "<b>fed</b> &amp; &#35; &copy; <!-- kommentar --> <http://x.dk> x@y.dk",
    "1. ikke en liste", "- heller ikke", "+ eller", "> intet citat", "# ingen overskrift",
    "---", "===", "***", "| a | b |", "~~~", "```", "Linje 1\nLinje 2", "tab\tinde",
    "§ 11 a, stk. 2 – “citat” ‘enkelt’ … ½ € 1.234,50 kr.", "a_b_c __d__ **e** *f*",
    "Ishøj Byråd: Tiltrådt!", "https://www.ishoj.dk/?a=1&b=2#x",
]


def visible(markdown: str) -> str:
    """The text a reader sees: paragraphs joined by blank lines, hard breaks as newlines."""
    blocks: list[str] = []
    for tok in MD.parse(markdown):
        if tok.type != "inline":
            continue
        text = ""
        for child in tok.children or []:
            if child.type in ("text", "code_inline"):
                text += child.content
            elif child.type == "hardbreak":
                text += "\n"
            elif child.type == "softbreak":
                text += " "
        blocks.append(text)
    return "\n\n".join(blocks)


def render(source: str, **context: Any) -> str:
    return ENV.from_string(source).render(context)


def docx_paragraphs(markdown: str) -> list[str]:
    content = write_docx(markdown, JOINT, header={}, title="t", author="a",
                         created=datetime(2018, 1, 1))
    return [p.text for p in docx.Document(io.BytesIO(content)).paragraphs]


def as_typed(text: str) -> str:
    """What the escaping promises to keep: runs of newlines are one line break, and a
    value never starts or ends a block with a newline."""
    return re.sub(r"\n+", "\n", text.strip("\n"))


# ------------------------------------------------------------------------- escaping
def test_every_markdown_character_is_escaped() -> None:
    for char in "\\`*_{}[]<>()#+-.!|&~\"'=:":
        assert markdown_escape(char) == "\\" + char, char
    assert markdown_escape("æøå ÆØÅ § 1") == "æøå ÆØÅ § 1"
    assert markdown_escape(None) == MISSING == "[mangler]"
    assert markdown_escape(0) == "0"
    assert markdown_escape(date(2018, 4, 3)) == "2018\\-04\\-03"
    assert markdown_escape("a\n\n\nb\n") == "a\\\nb"


def test_a_missing_value_shows_and_an_unknown_name_fails() -> None:
    assert render("Frist: {{ x }}.", x=None) == "Frist: [mangler]."
    assert visible(render("Frist: {{ x }}.", x=None)) == "Frist: [mangler]."
    with pytest.raises(UndefinedError, match="'y' is undefined"):
        render("{{ y }}")
    with pytest.raises(UndefinedError, match="has no attribute 'numbr'"):
        render("{{ case.numbr }}", case={"number": "1"})


@settings(max_examples=400, deadline=None)
@given(TYPED)
@example("0\n")
@example('Ansøgning & <test> "citat" *stjerne* _under_ # | æøå ÆØÅ')
def test_escaped_text_reads_back_through_markdown_it(text: str) -> None:
    got = visible(render("«{{ x }}»", x=text))
    assert got == "«" + as_typed(text) + "»"


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TYPED)
def test_escaped_text_reads_back_from_word(text: str) -> None:
    text = re.sub(r"\n[ \t]+", "\n", text)
    assert docx_paragraphs(render("Før\n\n«{{ x }}»\n\nEfter\n", x=text)) == \
        ["Før", "«" + as_typed(text) + "»", "Efter"]


@pytest.mark.parametrize("text", SPECIAL)
def test_special_text_is_kept_in_every_kind_of_block(text: str) -> None:
    one_line = text.replace("\n", " ")
    md = render("# {{ h }}\n\n{{ x }}\n\n- {{ h }}\n\n1. {{ h }}\n\n| a | b |\n|---|---|\n"
                "| {{ h }} | x{{ h }}x |\n", h=one_line, x=text)
    content = write_docx(md, JOINT, header={}, title="t", author="a",
                         created=datetime(2018, 1, 1))
    doc = docx.Document(io.BytesIO(content))
    assert [(p.style.name, p.text) for p in doc.paragraphs] == [
        ("Heading 1", one_line), ("Normal", text), ("List Bullet", one_line),
        ("List Number", one_line)]
    table, = doc.tables
    assert [c.text for c in table.rows[1].cells] == [one_line, f"x{one_line}x"]


def test_carriage_returns_are_line_breaks() -> None:
    assert docx_paragraphs(render("{{ x }}", x="Linje 1\r\nLinje 2")) == ["Linje 1\nLinje 2"]
    assert docx_paragraphs(render("{{ x }}", x="Linje 1\rLinje 2")) == ["Linje 1\nLinje 2"]


def test_indentation_after_a_line_break_is_kept() -> None:
    text = "Vilkår:\n  a) første\n  b) anden"
    assert visible(render("{{ x }}", x=text)) == text


# -------------------------------------------------------------------------- filters
FILTERS: list[tuple[str, dict[str, Any], str]] = [
    ("{{ d|long_date }}", {"d": date(2018, 4, 3)}, "3. april 2018"),
    ("{{ d|long_date }}", {"d": "2018-12-24"}, "24. december 2018"),
    ("{{ d|long_date }}", {"d": None}, "[mangler]"),
    ("{{ d|weekday_date }}", {"d": date(2018, 4, 3)}, "tirsdag den 3. april 2018"),
    ("{{ d|weekday_date }}", {"d": "2018-04-25"}, "onsdag den 25. april 2018"),
    ("{{ d|weekday_date }}", {"d": date(2017, 6, 19)}, "mandag den 19. juni 2017"),
    ("{{ d|weekday_date }}", {"d": date(2018, 1, 7)}, "søndag den 7. januar 2018"),
    ("{{ d|weekday_date }}", {"d": date(2018, 5, 5)}, "lørdag den 5. maj 2018"),
    ("{{ d|weekday_date }}", {"d": None}, "[mangler]"),
    ("{{ d|numeric_date }}", {"d": date(2018, 4, 3)}, "03.04.2018"),
    ("{{ d|numeric_date|replace('.', '-') }}", {"d": "2018-04-25"}, "25-04-2018"),
    ("{{ v|amount }}", {"v": 1234.5}, "1.234,50 kr."),
    ("{{ v|amount }}", {"v": "1234567.891"}, "1.234.567,89 kr."),
    ("{{ v|amount }}", {"v": Decimal("0.005")}, "0,01 kr."),
    ("{{ v|amount }}", {"v": -1234.5}, "-1.234,50 kr."),
    ("{{ v|amount }}", {"v": 0}, "0,00 kr."),
    ("{{ v|amount(0) }}", {"v": 1234.5}, "1.235 kr."),
    ("{{ v|amount(decimals=1) }}", {"v": 999.95}, "1.000,0 kr."),
    ("{{ v|amount }}", {"v": None}, "[mangler]"),
    ("{{ v|millions }}", {"v": 1400000}, "1,4 mio. kr."),
    ("{{ v|millions }}", {"v": 1000000}, "1 mio. kr."),
    ("{{ v|millions }}", {"v": 1050000}, "1,1 mio. kr."),
    ("{{ v|millions }}", {"v": 12345678}, "12,3 mio. kr."),
    ("{{ v|millions }}", {"v": 10_000_000}, "10 mio. kr."),
    ("{{ v|millions }}", {"v": 1_000_000_000}, "1.000 mio. kr."),
    ("{{ v|millions }}", {"v": -2_500_000}, "-2,5 mio. kr."),
    ("{{ v|millions }}", {"v": None}, "[mangler]"),
    ("{{ v|number }}", {"v": 1200}, "1.200"),
    ("{{ v|number }}", {"v": 420}, "420"),
    ("{{ v|number(1) }}", {"v": Decimal("1234.56")}, "1.234,6"),
    ("{{ v|number }}", {"v": None}, "[mangler]"),
    ("{{ v|percent }}", {"v": Decimal("7.5")}, "7,5 pct."),
    ("{{ v|percent }}", {"v": "7.50"}, "7,5 pct."),
    ("{{ v|percent }}", {"v": Decimal("10")}, "10 pct."),
    ("{{ v|percent }}", {"v": "12.125"}, "12,125 pct."),
    ("{{ v|percent }}", {"v": None}, "[mangler]"),
    ("{{ d|add_days(30)|long_date }}", {"d": date(2028, 2, 20)}, "21. marts 2028"),
    ("{{ d|add_days(30)|long_date }}", {"d": "2027-12-15"}, "14. januar 2028"),
    ("{{ d|add_days(30) }}", {"d": None}, "[mangler]"),
    ('{{ "11 a"|paragraph(stk=2) }}', {}, "§ 11 a, stk. 2"),
    ('{{ "§ 1"|paragraph(stk=2, nr=1) }}', {}, "§ 1, stk. 2, nr. 1"),
    ('{{ "2"|paragraph }}', {}, "§ 2"),
    ('{{ "§2"|paragraph(nr=5) }}', {}, "§ 2, nr. 5"),
    ("{{ xs|join_and }}", {"xs": []}, ""),
    ("{{ xs|join_and }}", {"xs": ["Genoptræning"]}, "Genoptræning"),
    ("{{ xs|join_and }}", {"xs": ["Ishøj Kommune", "Vallensbæk Kommune"]},
     "Ishøj Kommune og Vallensbæk Kommune"),
    ("{{ xs|join_and }}", {"xs": ["A & B", "*C*", "D"]}, "A & B, *C* og D"),
    ('{{ areas|map(attribute="name")|map("lower")|join_and }}',
     {"areas": [{"name": "Genoptræning"}, {"name": "Specialundervisning"},
                {"name": "Natur og miljø"}]},
     "genoptræning, specialundervisning og natur og miljø"),
]


@pytest.mark.parametrize(("source", "context", "expected"), FILTERS,
                         ids=[f"{s}-{i}" for i, (s, _, _) in enumerate(FILTERS)])
def test_filters(source: str, context: dict[str, Any], expected: str) -> None:
    assert visible(render(source, **context)) == expected


def test_filter_output_is_escaped_like_any_value() -> None:
    assert render("{{ v|amount }}", v=1234.5) == "1\\.234,50 kr\\."
    assert render("{{ d|long_date }}", d=date(2018, 4, 3)) == "3\\. april 2018"
    # a date at the start of a line is not read as a numbered list
    tokens = [t.type for t in MD.parse(render("{{ d|long_date }}", d=date(2018, 4, 3)))]
    assert "ordered_list_open" not in tokens


# -------------------------------------------------------------------------- sandbox
ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ joiner.__init__.__globals__.os }}",
    "{{ lipsum.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ '{0.__class__}'.format('') }}",
    "{% set x = ''.__class__ %}{{ x }}",
    "{{ case.__class__ }}",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_the_sandbox_leaks_no_python_internals(source: str, tmp_path: Path) -> None:
    (tmp_path / "evil.md.j2").write_text(f"# Overskrift\n\n{source}\n", encoding="utf-8")
    env = make_environment(tmp_path)
    with pytest.raises(SecurityError) as exc:
        env.get_template("evil.md.j2").render(case={"number": "1"})
    assert "<class" not in str(exc.value)
    problems = check_template(env, "evil.md.j2", {"full": {"case": {"number": "1"}}})
    assert problems, "the checker must report the sandbox violation"
    assert all(p.file == "evil.md.j2" for p in problems)
    assert any(p.line == 3 for p in problems), problems
    assert not any("<class" in str(p) for p in problems)


def test_the_environment_is_strict_sandboxed_and_does_not_autoescape_html() -> None:
    env = make_environment(PROJECT_DIR / "templates" / "documents")
    assert env.undefined is jinja2.StrictUndefined
    assert env.autoescape is False   # HTML escaping would print &amp; into the draft
    assert env.from_string("{{ x }}").render(x="<&>") == "\\<\\&\\>"
    assert set(rendering.FILTERS) <= set(env.filters)


# -------------------------------------------------------------------------- checker
SAMPLE = {"case": {"number": "00.17.15-G01-2-18", "title": "T", "kind": "dispensation"},
          "areas": [{"name": "Genoptræning", "law_ref": "§ 1", "run_by": {"name": "Ishøj"}}],
          "decision": {"date": date(2018, 6, 1), "conditions": "Vilkår"},
          "pairs": [["a", "b"]], "nothing": None}


def check(tmp_path: Path, source: str,
          samples: Mapping[str, Mapping[str, Any]] | None = None) -> list[str]:
    (tmp_path / "t.md.j2").write_text(source, encoding="utf-8")
    env = make_environment(tmp_path)
    return [str(p) for p in check_template(env, "t.md.j2", samples or {"full": SAMPLE})]


CHECKS: list[tuple[str, list[str]]] = [
    ("# {{ case.number }}\n\n{% for area in areas %}\n- {{ area.name }} "
     "({{ area.run_by.name }})\n{% endfor %}\n{{ decision.date|long_date }}\n", []),
    ("Linje 1\n{% if case.kind == %}\nx\n{% endif %}\n",
     ["t.md.j2:2: syntax error: "]),
    ("a\nb\n{{ ministre.name }}\n", ["t.md.j2:3: unknown name 'ministre'"]),
    ("\n{{ case.numbr }}\n", ["t.md.j2:2: unknown name 'numbr' (known here: kind, number, "
                              "title)"]),
    ("{% for area in areas %}\n\n- {{ area.nmae }}\n{% endfor %}\n",
     ["t.md.j2:3: unknown name 'nmae' (known here: law_ref, name, run_by)"]),
    ("{% for area in areas %}\n{{ area.run_by.nam }}\n{% endfor %}\n",
     ["t.md.j2:2: unknown name 'nam' (known here: name)"]),
    ("{% set d = decision %}\n{{ d.dato }}\n", ["t.md.j2:2: unknown name 'dato'"]),
    ("{% for a, b in pairs %}{{ a }}{{ c }}{% endfor %}\n", ["t.md.j2:1: unknown name 'c'"]),
    ("{{ case.number|bogus }}\n", ["t.md.j2:1: unknown filter 'bogus'"]),
    ("{% if case is bogus %}x{% endif %}\n", ["t.md.j2:1: unknown test 'bogus'"]),
    ("{% for area in areas %}{{ loop.index }}{% else %}{{ ingen }}{% endfor %}\n",
     ["t.md.j2:1: unknown name 'ingen'"]),
    ("Dato: XXX\n\nKære [indsæt navn]\nTODO: skriv\n{# TODO i en kommentar er i orden #}\n",
     ["t.md.j2:1: leftover placeholder text 'XXX'",
      "t.md.j2:3: leftover placeholder text '[indsæt navn]'",
      "t.md.j2:4: leftover placeholder text 'TODO'"]),
    ("<<navn>> og NN\nmere ... og …\nFIXME ???\n[indsæt dato]\n",
     ["t.md.j2:1: leftover placeholder text '<<navn>>'",
      "t.md.j2:1: leftover placeholder text 'NN'",
      "t.md.j2:2: leftover placeholder text '...'",
      "t.md.j2:2: leftover placeholder text '…'",
      "t.md.j2:3: leftover placeholder text 'FIXME'",
      "t.md.j2:3: leftover placeholder text '???'",
      "t.md.j2:4: leftover placeholder text '[indsæt dato]'"]),
    ("ok\n{{ areas[3].name }}\n", ["t.md.j2:2: UndefinedError: "]),
    ("{{ nothing }}\n", ["t.md.j2:?: a value is missing even with every value set "
                         "(output line 1)"]),
]


@pytest.mark.parametrize(("source", "expected"), CHECKS, ids=[str(i) for i in range(len(CHECKS))])
def test_checker_names_file_line_and_problem(tmp_path: Path, source: str,
                                             expected: list[str]) -> None:
    got = check(tmp_path, source)
    assert len(got) == len(expected), got
    for problem, start in zip(got, expected, strict=True):
        assert problem.startswith(start), (problem, start)


def test_checker_renders_every_sample(tmp_path: Path) -> None:
    source = "{{ decision.conditions }}\n"
    samples = {"full": SAMPLE, "early": {**SAMPLE, "decision": None}}
    got = check(tmp_path, source, samples)
    assert len(got) == 1 and got[0].startswith("t.md.j2:1: UndefinedError: ") and \
        "conditions" in got[0], got
    # guarded, both samples render
    assert check(tmp_path, "{% if decision %}{{ decision.conditions }}{% endif %}\n",
                 samples) == []


def test_shipped_templates_pass_the_checker_with_the_real_samples() -> None:
    today = date(2018, 4, 3)
    facts = load(PROJECT_DIR / "states.yaml").facts_on(today)
    assert facts.ministry is not None and facts.ministry.name == "Økonomi- og Indenrigsministeriet"
    names = sorted(p.name for p in (PROJECT_DIR / "templates" / "documents").glob("*.md.j2"))
    assert len(names) == 10
    agreements = {"bum_agreement.md.j2", "price_notice.md.j2", "true_up_statement.md.j2"}
    per_party = {"agenda_item.md.j2", "conditions_agenda_item.md.j2"}
    for name in names:
        for party in (["ishoj", "vallensbaek"] if name in per_party else [None]):
            process = "bum_agreement" if name in agreements else "application"
            samples = {label: build_context(sample_inputs(full, process), letter_date=today,
                                            facts=facts, party=party) for label, full in
                       (("full", True), ("early", False))}
            assert check_template(ENV, name, samples) == [], (name, party)
