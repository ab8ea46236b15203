"""Settings, read from ``WORKFLOW_*`` environment variables (nothing else is global).

| variable                   | default                                   |
|----------------------------|-------------------------------------------|
| WORKFLOW_DATABASE_URL      | sqlite:///workflow.db (in the working dir) |
| WORKFLOW_STATES_FILE       | states.yaml of this project               |
| WORKFLOW_TEMPLATES_DIR     | templates/ of this project                |
| WORKFLOW_USER              | (none) the acting user for the CLI        |
| WORKFLOW_TIMEZONE          | Europe/Copenhagen                         |
| WORKFLOW_SECURE_COOKIES    | false (true behind HTTPS: Secure cookies) |
| WORKFLOW_SMTP_HOST, _PORT  | localhost, 25: where reminders are sent   |
| WORKFLOW_SMTP_STARTTLS     | false (true/1/yes to upgrade the link)    |
| WORKFLOW_SMTP_USER, _PASSWORD | (none) log in when given               |
| WORKFLOW_SMTP_FROM         | workflow@localhost                        |
| WORKFLOW_NOW               | (none) a moment the clock stands still at |

Plain dataclasses on purpose: ``workflow --help`` must not pay for importing pydantic.
``workflow check`` and ``workflow diagram`` do not import this module at all: they take
the states file from :mod:`workflow.env`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from . import env

PROJECT_DIR = Path(env.PROJECT_DIR)
DEFAULT_DATABASE_URL = "sqlite:///workflow.db"


def normalize_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs that name no driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    states_file: Path = Path(env.DEFAULT_STATES_FILE)
    templates_dir: Path = PROJECT_DIR / "templates"
    user: str | None = None
    timezone: str = "Europe/Copenhagen"
    secure_cookies: bool = False
    now: datetime | None = None   # WORKFLOW_NOW: the clock stands still here (aware, UTC)

    def clock(self) -> Callable[[], datetime]:
        """The system clock, or, with WORKFLOW_NOW, one that always says that moment."""
        if self.now is None:
            return system_clock
        moment = self.now
        return lambda: moment

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        get = env.reader(environ, "WORKFLOW_")
        defaults = cls()
        return cls(
            database_url=normalize_database_url(get("DATABASE_URL") or defaults.database_url),
            states_file=Path(env.states_file(environ)),
            templates_dir=Path(get("TEMPLATES_DIR") or defaults.templates_dir),
            user=get("USER"),
            timezone=get("TIMEZONE") or defaults.timezone,
            secure_cookies=(get("SECURE_COOKIES") or "").lower() in ("1", "true", "yes", "on"),
            now=parse_now(get("NOW"), get("TIMEZONE") or defaults.timezone),
        )


def system_clock() -> datetime:
    """Now, as an aware UTC moment."""
    return datetime.now(UTC)


def parse_now(text: str | None, timezone: str) -> datetime | None:
    """WORKFLOW_NOW: ``2026-11-02T09:30`` (Danish time, or ``timezone``), with an offset
    (``…+01:00``, ``…Z``), or a bare date (09:00 that day); None when unset."""
    if text is None:
        return None
    from zoneinfo import ZoneInfo

    try:
        moment = datetime.fromisoformat(text if "T" in text or " " in text
                                        else f"{text}T09:00")
    except ValueError:
        from .errors import SetupError

        raise SetupError(f"WORKFLOW_NOW must be an ISO date or date-time such as "
                         f"2026-11-02T09:30, not {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    starttls: bool = False
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str = "workflow@localhost"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SmtpSettings:
        get = env.reader(environ, "WORKFLOW_SMTP_")
        port = get("PORT") or "25"
        if not port.isdigit():
            from .errors import SetupError

            raise SetupError(f"WORKFLOW_SMTP_PORT must be a number, not {port!r}")
        return cls(host=get("HOST") or "localhost", port=int(port),
                   starttls=(get("STARTTLS") or "").lower() in ("1", "true", "yes", "on"),
                   user=get("USER"), password=get("PASSWORD"),
                   sender=get("FROM") or "workflow@localhost")
