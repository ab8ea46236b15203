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
| WORKFLOW_PDF_WORKERS       | 2: LibreOffice conversions at a time, per web worker |
| WORKFLOW_LOG_FORMAT        | json (one JSON object a line) or text     |
| WORKFLOW_METRICS_ALLOW     | 127.0.0.1/32,::1/128: who may read /metrics |
| WORKFLOW_REMINDER_LEASE    | 300: seconds a reminder claim lasts unless renewed |
| WORKFLOW_FILES             | database: uploaded files' bytes in the database, or a folder |
| WORKFLOW_UPLOAD_MAX_BYTES  | 52428800 (50 MB): the largest upload      |
| WORKFLOW_CLAMD             | (none) clamd to scan uploads: HOST:PORT or a socket path |
| WORKFLOW_OIDC_ISSUER       | (none) single sign-on: the OpenID Connect provider's issuer URL |
| WORKFLOW_OIDC_CLIENT_ID, _CLIENT_SECRET | (none) the app's registration there |
| WORKFLOW_OIDC_GROUPS_CLAIM | groups: the ID token's claim with the user's groups |
| WORKFLOW_OIDC_LABEL        | din organisation: the button says "Log ind med …" |
| WORKFLOW_OIDC_REDIRECT_URI | (none) the callback URL …/login/oidc/callback, behind a proxy |
| WORKFLOW_LOCAL_LOGIN       | true; false: no password login (single sign-on only) |

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
    pdf_workers: int = 2          # LibreOffice conversions at a time in one web worker
    log_format: str = "json"      # the web application's log lines: json or text
    metrics_allow: tuple[str, ...] = ("127.0.0.1/32", "::1/128")  # networks: /metrics
    reminder_lease: int = 300     # seconds a claim on reminders lasts unless renewed
    files: str = "database"       # where uploads' bytes live: "database" or a folder
    upload_max_bytes: int = 50 * 1024 * 1024
    clamd: str | None = None      # clamd to scan uploads with: HOST:PORT or a socket path
    oidc_issuer: str | None = None  # single sign-on (OpenID Connect): the provider's issuer
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = field(default=None, repr=False)
    oidc_groups_claim: str = "groups"
    oidc_label: str = "din organisation"
    oidc_redirect_uri: str | None = None
    local_login: bool = True      # the password login (off: single sign-on only)

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
            pdf_workers=parse_count("WORKFLOW_PDF_WORKERS", get("PDF_WORKERS"),
                                    defaults.pdf_workers),
            log_format=parse_choice("WORKFLOW_LOG_FORMAT", get("LOG_FORMAT"),
                                    ("json", "text"), defaults.log_format),
            metrics_allow=parse_networks("WORKFLOW_METRICS_ALLOW", get("METRICS_ALLOW"),
                                         defaults.metrics_allow),
            reminder_lease=parse_count("WORKFLOW_REMINDER_LEASE", get("REMINDER_LEASE"),
                                       defaults.reminder_lease),
            files=get("FILES") or defaults.files,
            upload_max_bytes=parse_count("WORKFLOW_UPLOAD_MAX_BYTES", get("UPLOAD_MAX_BYTES"),
                                         defaults.upload_max_bytes),
            clamd=get("CLAMD") or None,
            oidc_issuer=get("OIDC_ISSUER") or None,
            oidc_client_id=get("OIDC_CLIENT_ID") or None,
            oidc_client_secret=get("OIDC_CLIENT_SECRET") or None,
            oidc_groups_claim=get("OIDC_GROUPS_CLAIM") or defaults.oidc_groups_claim,
            oidc_label=get("OIDC_LABEL") or defaults.oidc_label,
            oidc_redirect_uri=get("OIDC_REDIRECT_URI") or None,
            local_login=parse_choice("WORKFLOW_LOCAL_LOGIN", get("LOCAL_LOGIN"),
                                     ("true", "false", "1", "0", "yes", "no", "on", "off"),
                                     "true") in ("true", "1", "yes", "on"),
        )


def system_clock() -> datetime:
    """Now, as an aware UTC moment."""
    return datetime.now(UTC)


def parse_count(name: str, text: str | None, default: int) -> int:
    """A whole number of at least 1 (``default`` when unset)."""
    if text is None or not text.strip():
        return default
    if not text.strip().isdigit() or int(text) < 1:
        from .errors import SetupError

        raise SetupError(f"{name} must be a whole number of at least 1, not {text!r}")
    return int(text)


def parse_choice(name: str, text: str | None, choices: tuple[str, ...], default: str) -> str:
    """One of ``choices`` (case-insensitive; ``default`` when unset)."""
    if text is None or not text.strip():
        return default
    if text.strip().lower() not in choices:
        from .errors import SetupError

        raise SetupError(f"{name} must be {' or '.join(choices)}, not {text!r}")
    return text.strip().lower()


def parse_networks(name: str, text: str | None,
                   default: tuple[str, ...]) -> tuple[str, ...]:
    """Comma-separated IP networks or addresses (``10.0.0.0/8``, ``::1``), normalised;
    ``default`` when unset, none when set to ``none``."""
    if text is None or not text.strip():
        return default
    if text.strip().lower() == "none":
        return ()
    import ipaddress

    found = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        try:
            found.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError:
            from .errors import SetupError

            raise SetupError(f"{name}: {part!r} is not an IP address or network "
                             f"(such as 10.0.0.5 or 10.0.0.0/24)") from None
    return tuple(found)


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
