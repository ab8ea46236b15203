"""Tests of workflow/documents/ (shared fixtures: tests/conftest.py)."""
