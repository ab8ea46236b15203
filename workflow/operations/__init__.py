"""Running an installation: the metrics it counts, its backups and restores, and the
portable export and import of the whole of it. Uses only the store.

Modules: ``metrics`` (Prometheus counters, off until enabled), ``backup`` (backup and
restore, SQLite's online backup or pg_dump), ``export`` (export and import, JSON lines in a
zip), ``checks`` (what they share: the report, revision and file checks), ``postgres``
(running pg_dump and pg_restore).
"""
