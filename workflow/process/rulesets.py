"""The rule sets there are: importing this module imports each, and each registers its
guards and effects with :mod:`workflow.rules.registry` (which imports none of them).

A definition is validated against the registry, so :mod:`workflow.process.definition`
imports this module; a new rule set is added to :data:`RULE_SETS`.
"""

from __future__ import annotations

from types import ModuleType

from ..bum import rules as bum_rules
from ..rules import dispensation
from ..rules.registry import catalogue as registry_catalogue

RULE_SETS: tuple[ModuleType, ...] = (dispensation, bum_rules)


def catalogue() -> dict[str, dict[str, str]]:
    """Every guard and effect of every rule set, with its first doc line."""
    return registry_catalogue()
