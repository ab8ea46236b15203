"""Tests of workflow/store/ (shared fixtures: tests/conftest.py)."""
