"""SMTP delivery: one connection per batch, a result per message, nothing assumed sent.

A message counts as sent only when the server has accepted it for every recipient; any
other outcome is returned as an error text for the caller to retry or give up on.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from email.message import Message

from ..config import SmtpSettings


class Mailer:
    def __init__(self, settings: SmtpSettings, *, timeout: float = 30) -> None:
        self.settings = settings
        self.timeout = timeout

    def send(self, messages: Sequence[Message]) -> list[str | None]:
        """Send each message; returns None for each accepted one, else why not."""
        if not messages:
            return []
        s = self.settings
        try:
            smtp = smtplib.SMTP(s.host, s.port, timeout=self.timeout)
        except (OSError, smtplib.SMTPException) as exc:
            return [f"cannot reach {s.host}:{s.port}: {exc}"] * len(messages)
        results: list[str | None] = []
        try:
            if s.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if s.user:
                smtp.login(s.user, s.password or "")
            for message in messages:
                try:
                    refused = smtp.send_message(message)
                    results.append(f"refused: {refused}" if refused else None)
                except smtplib.SMTPServerDisconnected as exc:
                    results.append(f"the server hung up: {exc}")
                    break
                except (smtplib.SMTPException, OSError) as exc:
                    results.append(f"{type(exc).__name__}: {exc}")
        except (smtplib.SMTPException, OSError) as exc:
            results.append(f"{type(exc).__name__}: {exc}")
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()
        missing = len(messages) - len(results)
        return results + ["not sent: the connection was lost"] * missing
