"""The rule registry: what a guard or effect is (``Context``, ``RuleSpec``), the decorators that
register one, and the catalogue. The registry imports no rule set; each rule set registers
itself, and :mod:`workflow.process.rulesets` lists the rule sets there are.

Modules: ``registry``.
"""
