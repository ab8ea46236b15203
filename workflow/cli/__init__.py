"""The command line: ``console`` is the entry point (it answers ``check`` and ``diagram``
without click); ``app`` is the click group, which imports its command modules (``admin``,
``agreements``, ``audit``, ``casefile``, ``casetext``, ``documents``, ``ops``), never the
reverse.
"""
