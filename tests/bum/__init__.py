"""Tests of workflow/bum/ (shared fixtures: tests/conftest.py)."""
