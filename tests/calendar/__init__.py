"""Tests of workflow/calendar/ (shared fixtures: tests/conftest.py)."""
