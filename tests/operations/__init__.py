"""Tests of workflow/operations/ (shared fixtures: tests/conftest.py)."""
