"""Tests of workflow/cli/ (shared fixtures: tests/conftest.py)."""
