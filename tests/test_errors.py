"""Messages in two languages: a Said is its English as a str, and knows its Danish."""

from __future__ import annotations

import copy
import json
import pickle

from workflow.errors import GuardFailed, InvalidData, Said, in_danish


def test_a_said_is_its_english_wherever_a_str_goes() -> None:
    said = Said("round 1 must have 2–3 areas", "runde 1 skal have 2–3 områder")
    assert said == "round 1 must have 2–3 areas"
    assert f"{said}!" == "round 1 must have 2–3 areas!" and str(said) == said
    assert json.dumps({"reason": said}) == '{"reason": "round 1 must have 2\\u20133 areas"}'
    assert said.da == "runde 1 skal have 2–3 områder"
    for again in (copy.copy(said), pickle.loads(pickle.dumps(said))):
        assert (again, again.da) == (said, said.da)


def test_parts_are_joined_in_both_languages() -> None:
    both = Said.joined([Said("a", "å"), "only English", Said("b", "æ")])
    assert (both, both.da) == ("a; only English; b", "å; only English; æ")
    assert in_danish(both) == "å; only English; æ" and in_danish("plain") == "plain"


def test_an_error_knows_its_danish_only_when_given_it() -> None:
    assert GuardFailed(Said("no", "nej")).da == "nej"
    assert str(GuardFailed(Said("no", "nej"))) == "no"
    assert InvalidData("plain English").da is None
