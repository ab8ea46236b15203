"""SMTP delivery: a session sends message by message and says what became of each.

A message counts as sent only when the server has accepted it for every recipient. Any
other outcome is an error text for the caller to retry or give up on, and says whether it
was the message's (a refusal: the server answered) or an *outage*: the server could not be
reached, hung up, timed out or is closing (421). After an outage the message may have
arrived all the same (a lost reply), so it is sent again with the same Message-ID.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from email.message import Message
from types import TracebackType
from typing import NamedTuple

from ..config import SmtpSettings


class Delivery(NamedTuple):
    """What became of one message."""

    error: str | None = None   # None: accepted for every recipient
    outage: bool = False       # not the message's fault; the session is over

    @property
    def accepted(self) -> bool:
        return self.error is None


# the server is gone or going: connection refused or reset, a timeout, a hang-up
_OUTAGES: tuple[type[BaseException], ...] = (smtplib.SMTPServerDisconnected, ConnectionError,
                                             TimeoutError)


class SmtpSession:
    """One SMTP connection, opened at the first message and reused for the next ones; use it
    as a context manager (it is closed at the end)."""

    def __init__(self, settings: SmtpSettings, timeout: float) -> None:
        self.settings = settings
        self.timeout = timeout
        self._smtp: smtplib.SMTP | None = None
        self._broken: str | None = None  # a setup error that every message would meet

    def __enter__(self) -> SmtpSession:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def send(self, message: Message) -> Delivery:
        if self._broken is not None:
            return Delivery(self._broken)
        if self._smtp is None:
            failed = self._connect()
            if failed is not None:
                return failed
        smtp = self._smtp
        assert smtp is not None
        try:
            refused = smtp.send_message(message)
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code == 421:  # "service not available, closing": the server's outage
                return self._lost(f"the server is closing: {_said(exc)}")
            return Delivery(f"{type(exc).__name__}: {_said(exc)}")
        except _OUTAGES as exc:
            return self._lost(f"the server hung up: {exc}")
        except smtplib.SMTPException as exc:  # e.g. every recipient refused (with codes)
            return Delivery(f"{type(exc).__name__}: {exc}")
        except OSError as exc:
            return self._lost(f"{type(exc).__name__}: {exc}")
        return Delivery(f"refused: {refused}") if refused else Delivery()

    def _connect(self) -> Delivery | None:
        s = self.settings
        try:
            smtp = smtplib.SMTP(s.host, s.port, timeout=self.timeout)
        except (OSError, smtplib.SMTPException) as exc:  # refused, no route, 421/554 greeting
            return Delivery(f"cannot reach {s.host}:{s.port}: {exc}", outage=True)
        try:
            if s.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if s.user:
                smtp.login(s.user, s.password or "")
        except _OUTAGES as exc:
            _close(smtp)
            return Delivery(f"cannot reach {s.host}:{s.port}: {exc}", outage=True)
        except (smtplib.SMTPException, OSError) as exc:  # no STARTTLS, a bad certificate
            _close(smtp)  # or login: every message of this session would meet it
            self._broken = f"{type(exc).__name__}: {exc}"
            return Delivery(self._broken)
        self._smtp = smtp
        return None

    def _lost(self, error: str) -> Delivery:
        if self._smtp is not None:
            _close(self._smtp)
            self._smtp = None
        return Delivery(error, outage=True)

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None


class Mailer:
    def __init__(self, settings: SmtpSettings, *, timeout: float = 30) -> None:
        self.settings = settings
        self.timeout = timeout

    def session(self) -> SmtpSession:
        """A session: connects at its first message."""
        return SmtpSession(self.settings, self.timeout)

    def send(self, messages: Sequence[Message]) -> list[str | None]:
        """Send each message on one connection; None for each accepted one, else why not
        (after an outage, the rest are not tried)."""
        results: list[str | None] = []
        with self.session() as session:
            for message in messages:
                done = session.send(message)
                results.append(done.error)
                if done.outage:
                    break
        return results + ["not sent: the connection was lost"] * (len(messages) - len(results))


def _said(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) \
        else str(exc.smtp_error)
    return f"{exc.smtp_code} {text}"


def _close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.close()
    except OSError:
        pass
