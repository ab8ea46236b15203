"""Tests of workflow/engine/ (shared fixtures: tests/conftest.py)."""
