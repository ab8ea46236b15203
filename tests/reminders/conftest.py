"""The reminder tests' shared fixtures: an SMTP server on loopback, a reminder service on
it (the deadline reminders without your-turn notices: ``deadline_reminders_only`` in
tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.reminders.test_reminders import TEMPLATES, SmtpServer
from workflow.engine.workflow import Workflow
from workflow.reminders.mailer import Mailer
from workflow.reminders.service import ReminderService


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def service(wf: Workflow, smtp: SmtpServer) -> Callable[..., ReminderService]:
    def make(**kwargs: Any) -> ReminderService:
        kwargs.setdefault("name", "test-service")
        return ReminderService(wf, Mailer(smtp.settings, timeout=10), templates_dir=TEMPLATES,
                               **kwargs)
    return make
