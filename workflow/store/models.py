"""The tables, as SQLModel classes (the schema is made by Alembic migrations). Timestamps are
aware UTC on every backend; dates are Danish calendar dates; JSON holds plain values only.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from .cooperation_models import AREA_KEY


class Municipality(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=200)
    council: str = Field(max_length=200, description="Byråd / Kommunalbestyrelse")
    address: str = Field(default="", max_length=300)
    cooperation: bool = Field(default=True, description="a member of some cooperation "
                              "(kept by `workflow setup` from cooperation_member)")
    committees: list[str] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True),
        description="the committees before the council, in order (DOMAIN.md § 3)")
    council_type: str = Field(default="kommunalbestyrelse", max_length=40,
                              description="kommunalbestyrelse | byraad")
    logo: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    logo_type: str | None = Field(default=None, max_length=40,
                                  description="image/png | image/jpeg")
    signatories: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False),
        description='who signs the letters: [{"name", "title"}]')
    contacts: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False),
        description='[{"name", "title", "email", "phone"}]')
    agenda_layout: str = Field(default="standard", max_length=40)
    agenda_template: str | None = Field(default=None, max_length=200,
                                        description="a council's own agenda-item template")


class User(SQLModel, table=True):
    __table_args__ = (Index("uq_user_oidc", "oidc_issuer", "oidc_subject", unique=True),)

    id: str = Field(primary_key=True, max_length=80)
    name: str = Field(max_length=200)
    role: str = Field(max_length=40)
    municipality: str | None = Field(default=None, foreign_key="municipality.id",
                                     max_length=40)
    cooperation_id: str | None = Field(default=None, foreign_key="cooperation.id",
                                       max_length=40, description="an admin limited to "
                                       "one cooperation (None: the whole installation)")
    email: str = Field(default="", max_length=200)
    password_hash: str | None = Field(default=None, max_length=300)
    active: bool = True
    turn_notices: bool | None = Field(default=None, description="e-mail me when a step "
                                      "makes it my turn (None: yes, the default)")
    must_change_password: bool | None = None   # a one-time password, to change (None: no)
    oidc_issuer: str | None = Field(default=None, max_length=300, description="single "
                                    "sign-on: the provider that vouches for the user")
    oidc_subject: str | None = Field(default=None, max_length=255, description="the "
                                     "user's `sub` at that provider")


class Definition(SQLModel, table=True):
    """Every process definition an application has run under, by content hash."""

    hash: str = Field(primary_key=True, max_length=64)
    source: str
    file: str = Field(max_length=500)
    loaded_at: datetime


class Application(SQLModel, table=True):
    __table_args__ = (Index("ix_application_updated", "updated_at", "id"), *(  # lists' sorts
        Index(f"ix_application_{c}_updated", c, "updated_at", "id") for c in (
            "state", "process", "kind")), Index("ix_application_case_number", "case_number", "id"))

    id: int | None = Field(default=None, primary_key=True)
    process: str = Field(max_length=40)
    cooperation_id: str = Field(foreign_key="cooperation.id", max_length=40)
    kind: str = Field(max_length=40)
    round: int | None = None
    title: str = Field(max_length=300)
    case_number: str = Field(default="", max_length=60)
    state: str = Field(max_length=60)
    version: int = Field(default=1, description="optimistic lock; = last audit entry's version")
    entered_version: int = Field(default=1, description="version at which `state` was entered")
    entered_at: datetime
    entered_on: date | None = Field(default=None, description="the day the state was entered, "
                                    "as it happened (None: entered_at's day)")
    definition_hash: str = Field(max_length=64, foreign_key="definition.hash")
    parties: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime
    opened_on: date | None = Field(default=None, description="the day the case was opened, "
                                   "as it happened (None: created_at's day)")
    created_by: str = Field(max_length=80)
    updated_at: datetime
    updated_by: str = Field(max_length=80)


class ApplicationArea(SQLModel, table=True):
    """An area, or a part of one, that an application asks to release; ``live`` claims it
    exclusively. ``part_id`` '' is the area itself: a claim of a whole area with parts is
    its '' row plus a row for every part, so a whole claim and a part claim of one area
    meet on that part's row, and the database refuses the second (``uq_area_live_claim``)."""

    __tablename__ = "application_area"
    __table_args__ = (
        UniqueConstraint("application_id", "area_id", "part_id",
                         name="uq_application_area_claim"),
        Index("uq_area_live_claim", "cooperation_id", "area_id", "part_id", unique=True,
              sqlite_where=text("live"), postgresql_where=text("live")),
        ForeignKeyConstraint(*AREA_KEY),
    )

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    cooperation_id: str = Field(max_length=40, description="the application's")
    area_id: str = Field(max_length=40)
    part_id: str = Field(default="", max_length=40, description="'' = the area itself")
    live: bool = True
    outcome: str | None = Field(default=None, max_length=40,
                                description="granted | refused, after the decision")


class Link(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    from_id: int = Field(foreign_key="application.id", index=True)
    to_id: int = Field(foreign_key="application.id", index=True)
    kind: str = Field(max_length=40, description="e.g. fallback_for: satellite -> jobcentre")
    created_at: datetime


class AuditEntry(SQLModel, table=True):
    """One per state change (and creation); ``version`` has no gaps per application.

    The natural key (application, version) is the primary key, so a second entry for the
    same version is impossible; on SQLite the table is stored WITHOUT ROWID (one b-tree).
    """

    __tablename__ = "audit_entry"
    __table_args__ = {"sqlite_with_rowid": False}

    application_id: int = Field(foreign_key="application.id", primary_key=True)
    version: int = Field(primary_key=True)
    trigger: str = Field(max_length=60)
    from_state: str | None = Field(default=None, max_length=60)
    to_state: str = Field(max_length=60)
    user_id: str = Field(max_length=80)
    role: str = Field(max_length=40)
    municipality: str | None = Field(default=None, max_length=40)
    at: datetime
    happened_on: date | None = Field(default=None, description="the day the step happened "
                                     "(None: at's day); `at` is when it was recorded")
    comment: str = ""
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class PartyAct(SQLModel, table=True):
    """One municipality's part of a joint step (confirmation, council decision...)."""

    __tablename__ = "party_act"

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    name: str = Field(max_length=40)
    municipality: str = Field(foreign_key="municipality.id", max_length=40)
    version: int = Field(description="the audit entry that recorded it")
    void: bool = False
    user_id: str = Field(max_length=80)
    at: datetime
    happened_on: date | None = Field(default=None, description="the day it happened")
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Deadline(SQLModel, table=True):
    __table_args__ = (Index("ix_deadline_open_due", "active", "due"),)

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    state: str = Field(max_length=60)
    party: str | None = Field(default=None, max_length=40)
    due: date
    derivation: str = Field(max_length=300)
    active: bool = True
    met_at: datetime | None = None
    version: int = Field(description="the audit entry that set it")


class Document(SQLModel, table=True):
    """A document of an application (one per municipality for per-party documents)."""

    __table_args__ = (UniqueConstraint("application_id", "name", "party"),)

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    name: str = Field(max_length=60)
    party: str = Field(default="", max_length=40, description="'' for joint documents")
    created_at: datetime


class DocumentVersion(SQLModel, table=True):
    """One generation of a document, never overwritten: the bytes and what made them."""

    __tablename__ = "document_version"
    __table_args__ = (UniqueConstraint("document_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="document.id", index=True)
    number: int
    created_at: datetime
    created_by: str = Field(max_length=80)
    trigger: str = Field(max_length=60)
    audit_version: int = Field(description="with application_id: the audit entry")
    state: str = Field(max_length=60)
    letter_date: date
    template: str = Field(max_length=200)
    template_sha256: str = Field(max_length=64)
    input_sha256: str = Field(max_length=64)
    input: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    approval_sha256: str = Field(max_length=64, description="what a council approves")
    sha256: str = Field(max_length=64)
    size: int
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    stale: bool = False
    stale_at: datetime | None = None
    recipe: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True),
        description="what regenerates the bytes: the rendering context (typed JSON), the "
                    "letterhead, header, title and the engine's version (None: before 0014)")
    origin: str = Field(default="generated", max_length=20,
                        description="generated (from the template) or edited (uploaded)")
    edited_from: int | None = Field(default=None, description="an edited version: the "
                                    "number of the version it was edited from")
    note: str = Field(default="", max_length=2000, description="why: an upload's note, "
                      "or the note that let a regeneration replace an edited version")


class ChainLink(SQLModel, table=True):
    """One link of a case's tamper-evident chain (``store/chain.py``): the row it stands
    for (``kind``, ``key``), the hash of the link before it and its own."""

    __tablename__ = "chain_link"
    __table_args__ = (UniqueConstraint("application_id", "seq", name="uq_chain_link_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id")
    seq: int = Field(description="1, 2, … per case, without gaps")
    kind: str = Field(max_length=40, description="audit_entry, document_version, …")
    key: str = Field(max_length=80, description="the row's key within the case")
    prev_sha256: str = Field(max_length=64)
    sha256: str = Field(max_length=64)
    digests: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False),
                                    description="a short hash of each field: what changed")


class CaseSection(SQLModel, table=True):
    """One version of a case's own text for a section of its letter (reasons, ...):
    never overwritten; the newest of a section is the one the drafts print."""

    __tablename__ = "case_section"
    __table_args__ = (UniqueConstraint("application_id", "name", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    name: str = Field(max_length=40)
    number: int
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime
    created_by: str = Field(max_length=80)


class DocumentDownload(SQLModel, table=True):
    __tablename__ = "document_download"

    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="document_version.id", index=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    user_id: str = Field(max_length=80)
    at: datetime
    sha256: str = Field(max_length=64)
    format: str = Field(max_length=10)


class Reminder(SQLModel, table=True):
    """One e-mail to send: the ledger row the scheduler works from.

    With a ``deadline_id``: one reminder step of one deadline, written in the transaction
    that sets the deadline; cancelled when the deadline closes, moved when it moves.
    Without (``step`` "turn"): a your-turn notice, written by the step that made it the
    turn of ``role`` in ``municipality`` (``audit_version``), due at once, cancelled if a
    later step takes the turn away before it is sent. ``status``: pending → sending
    (claimed) → sent | failed, or cancelled. The Message-ID is fixed by the row, so a
    resend is the same e-mail.
    """

    __table_args__ = (UniqueConstraint("deadline_id", "step"),
                      Index("ix_reminder_due", "status", "next_attempt_at"))

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    deadline_id: int | None = Field(default=None, foreign_key="deadline.id")
    role: str | None = Field(default=None, max_length=40, description="turn: whose turn")
    municipality: str | None = Field(default=None, max_length=40)
    audit_version: int | None = Field(default=None, description="turn: the step that made it")
    detail: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    step: str = Field(max_length=40)
    escalation: bool = False
    due_at: datetime
    recipients: list[dict[str, Any]] = Field(default_factory=list,
                                             sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", max_length=20)
    attempts: int = 0
    next_attempt_at: datetime
    claimed_by: str | None = Field(default=None, max_length=120)
    claimed_until: datetime | None = None
    last_error: str | None = None
    sent_at: datetime | None = None
    late: bool = False
    message_id: str = Field(default="", max_length=200)
    created_at: datetime
    updated_at: datetime


class ApiToken(SQLModel, table=True):
    """A bearer token for the API; only its sha256 is stored."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(foreign_key="user.id", index=True, max_length=80)
    token_sha256: str = Field(max_length=64, unique=True)
    label: str = Field(default="", max_length=200)
    created_at: datetime
    created_by: str = Field(max_length=80)
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


class LoginAttempt(SQLModel, table=True):
    """Every password check, for rate limiting across all workers (by account and address)."""

    __tablename__ = "login_attempt"
    __table_args__ = (Index("ix_login_attempt_user_at", "username", "at"),
                      Index("ix_login_attempt_client_at", "client", "at"),
                      Index("ix_login_attempt_at", "at"))

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=80)
    client: str = Field(default="", max_length=100)
    at: datetime
    ok: bool
    locked: bool = Field(default=False, description="refused unchecked: locked out")


class WebSession(SQLModel, table=True):
    """A logged-in browser: the cookie carries only the session's random id, signed; this
    row (under the id's sha256) says whose it is and whether it still holds."""

    __tablename__ = "web_session"

    id: str = Field(primary_key=True, max_length=64, description="sha256 of the session id")
    user_id: str = Field(foreign_key="user.id", index=True, max_length=80)
    client: str = Field(default="", max_length=100)
    created_at: datetime
    expires_at: datetime = Field(index=True)
    revoked_at: datetime | None = None
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False),
                                 description="what the session carries: messages to show")


class Setting(SQLModel, table=True):
    """Installation-wide values made on first use (the session-signing key)."""

    key: str = Field(primary_key=True, max_length=60)
    value: str


class ChangeCounter(SQLModel, table=True):
    """One row, counted up by every write transaction (``store.write``) just before it
    commits: the pages' cache key on PostgreSQL, so a cached page is never older than the
    last change (SQLite counts changes itself: see ``store.ChangeCount``)."""

    __tablename__ = "change_counter"

    id: int = Field(primary_key=True)
    n: int = Field(default=0, sa_type=BigInteger)
