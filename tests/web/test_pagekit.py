"""The pages' Jinja environment looks a dict's keys up first and says the same as Jinja's
own for every template: keys, dict methods, missing names, other objects."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2
import pytest

from workflow.web.pagekit import PageEnvironment, page_templates


@dataclass
class Case:
    title: str = "Jobcenter"


class Keyed(dict[str, str]):
    """A dict subclass: left to Jinja's own order."""

    title = "attribute"


CASES = [
    ("{{ d.title }}", {"d": {"title": "Runde 1 <b>"}}),
    ("{{ d.items() | list }}", {"d": {"items": "a key", "x": 1}}),   # the method wins
    ("{{ d.get('x') }}-{{ d.keys() | list }}", {"d": {"x": 1, "get": 2}}),
    ("{{ d.missing is undefined }}|{{ d.missing }}", {"d": {"x": 1}}),
    ("{{ d.a.b.c }}", {"d": {"a": {"b": {"c": "dybt"}}}}),
    ("{{ d.title }}", {"d": Case()}),
    ("{{ d.title }}", {"d": Keyed(title="key")}),
    ("{{ d['title'] }}{{ d.__class__ }}", {"d": {"title": "æøå", "__class__": "k"}}),
]


@pytest.mark.parametrize(("source", "data"), CASES)
def test_a_page_says_what_jinja_says(source: str, data: dict[str, object]) -> None:
    ours = PageEnvironment(autoescape=True).from_string(source).render(data)
    theirs = jinja2.Environment(autoescape=True).from_string(source).render(data)
    assert ours == theirs


def test_a_missing_key_in_strict_mode_still_fails_as_jinja_fails() -> None:
    env = PageEnvironment(undefined=jinja2.StrictUndefined)
    with pytest.raises(jinja2.UndefinedError, match="has no attribute 'missing'"):
        env.from_string("{{ d.missing }}").render(d={"x": 1})


def test_the_pages_are_rendered_in_it(tmp_path: Path) -> None:
    (tmp_path / "p.html").write_text("{{ case.title }} {{ 1234.5 | amount }}")
    t = page_templates(tmp_path)
    assert isinstance(t.env, PageEnvironment)
    assert t.env.get_template("p.html").render(case={"title": "<i>"}) \
        == "&lt;i&gt; 1.234,50 kr."
