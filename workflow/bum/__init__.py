"""BUM agreements (bestiller–udfører–modtager): cost-price arithmetic to the øre, and the
named rules of the agreement's yearly cycle.

Modules: ``rules``.
"""
