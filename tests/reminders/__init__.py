"""Tests of workflow/reminders/ (shared fixtures: tests/conftest.py)."""
