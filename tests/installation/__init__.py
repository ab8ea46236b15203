"""Tests of workflow/installation/ (shared fixtures: tests/conftest.py)."""
