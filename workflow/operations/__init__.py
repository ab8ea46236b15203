"""Running an installation: the metrics it counts, its backups, restores and the portable
export. Uses only the store.

Modules: ``metrics`` (Prometheus counters, off until enabled), ``backup`` (backup, restore,
export, import).
"""
