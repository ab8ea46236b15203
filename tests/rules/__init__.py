"""Tests of workflow/rules/ (shared fixtures: tests/conftest.py)."""
