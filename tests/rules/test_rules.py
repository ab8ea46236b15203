"""Every reason a guard gives is worded in English and Danish (the pages say the Danish).

Read from the guards' source: each ``return`` with a value returns ``Said(...)``. The
stateful test (test_properties.py) checks the same of the reasons the engine raises.
"""

from __future__ import annotations

import ast
import inspect
import textwrap

import pytest

from workflow.rules import registry as rules


@pytest.mark.parametrize("name", sorted(rules.GUARDS))
def test_a_guard_says_why_not_in_both_languages(name: str) -> None:
    func = rules.GUARDS[name].func
    tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    returns = [r for r in ast.walk(tree) if isinstance(r, ast.Return)
               and not (isinstance(r.value, ast.Constant) and r.value.value is None)
               and r.value is not None]
    assert returns, f"{name} never says why not"
    for r in returns:
        assert isinstance(r.value, ast.Call) and isinstance(r.value.func, ast.Name) \
            and r.value.func.id == "Said", \
            f"{name}, line {r.lineno}: returns {ast.unparse(r)} instead of Said(...)"
