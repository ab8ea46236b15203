"""Tests of workflow/accounts/ (shared fixtures: tests/conftest.py)."""
