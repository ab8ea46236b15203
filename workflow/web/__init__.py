"""The web layer: the JSON API (and pages) over the engine, served by ``workflow serve``."""
