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


# Refusals only the command line can meet (the pages always have a user and send no pairs).
CLI_ONLY = {("engine/workflow.py", "no acting user"), ("process/values.py", "--data")}
# Modules only an operator's command reaches (backup, restore, export, import): no page.
OPERATOR_ONLY = "operations/"
SAID_BY_PAGES = {"GuardFailed", "InvalidData", "PermissionDenied", "NotFound"}


def test_every_refusal_a_page_can_show_is_worded_in_danish() -> None:
    """Read from the source: each ``raise GuardFailed(...)`` (and InvalidData,
    PermissionDenied, NotFound) outside the command line's own modules raises a Said."""
    import ast
    from pathlib import Path

    import workflow

    plain = []
    package = Path(workflow.__file__).parent
    for path in sorted(package.rglob("*.py")):
        where = path.relative_to(package).as_posix()
        if where.startswith(("cli/", OPERATOR_ONLY)):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # module constants that are a Said (NO_ACCESS = Said(...)) are Danish-worded too
        constants = {tg.id for node in tree.body if isinstance(node, ast.Assign)
                     and isinstance(node.value, ast.Call) and "Said" in ast.unparse(
                         node.value.func) for tg in node.targets if isinstance(tg, ast.Name)}
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)
                    and isinstance(node.exc.func, ast.Name)
                    and node.exc.func.id in SAID_BY_PAGES and node.exc.args):
                continue
            arg = node.exc.args[0]
            said = (isinstance(arg, ast.Call) and "Said" in ast.unparse(arg.func)) or (
                isinstance(arg, ast.Name) and arg.id in constants)
            text = ast.unparse(arg)
            if not said and not any(where == f and snippet in text
                                    for f, snippet in CLI_ONLY):
                plain.append(f"{where}:{node.lineno}: {text[:70]}")
    assert not plain, "refusals with no Danish wording:\n" + "\n".join(plain)
