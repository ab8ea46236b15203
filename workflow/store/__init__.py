"""The store: the tables (SQLModel and Core), the database engine, write transactions,
the schema's migrations (Alembic, ``migrations/``), SQLite's one writer connection and the
hot statements of a transition. It imports nothing above it: every other room uses it.

Modules: ``models`` (SQLModel tables; the case file's in ``casefile_models``, the
directory groups of single sign-on in ``directory_models``, cooperations and their areas
in ``cooperation_models``), ``tables`` (their Core
tables), ``database`` (engine, ``read``/``write`` transactions, the change count,
``migrate``), ``sqlitewriter``, ``statements`` (a transition's statements, compiled once
per database), ``files`` (uploaded files' bytes by sha256: in the database or a folder),
``journal`` (a case's journal entries, numbered, written in the caller's transaction),
``chain`` (the tamper-evident hash chain of each case: the registry of chained kinds,
append, verify, rebuild).
"""
