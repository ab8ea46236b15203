"""Tests of workflow/process/ (shared fixtures: tests/conftest.py)."""
