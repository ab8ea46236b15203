"""Tests of workflow/web/ (shared fixtures: tests/conftest.py)."""
