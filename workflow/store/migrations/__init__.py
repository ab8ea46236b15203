"""Alembic migrations for the workflow schema (run by `workflow init`)."""
