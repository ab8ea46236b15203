"""Prometheus metrics: what the engine, the drafts and the web layer count, for ``/metrics``.

Counting is off until :func:`enable` (the web application calls it), so the command line
neither imports prometheus-client nor pays for a counter. Each process counts its own; with
``PROMETHEUS_MULTIPROC_DIR`` set (several web workers) prometheus-client's multiprocess
mode writes every worker's values to files in that folder and :func:`exposition` adds them
up at scrape time. The reminder ledger is not counted but read at each scrape
(:class:`LedgerCollector`): it is the truth, whoever sent the reminders.

    workflow_transitions_total{process,trigger}   triggers fired (committed)
    workflow_refusals_total{kind}                 refused by a rule, a role, bad data, ...
                                                  (the WorkflowError subclass; not conflicts)
    workflow_conflicts_total                      changed by someone else first
    workflow_document_render_seconds{document}    Word drafts made (histogram)
    workflow_pdf_wait_seconds                     waiting for a LibreOffice slot (histogram)
    workflow_pdf_conversion_seconds{outcome}      LibreOffice conversions (histogram)
    workflow_http_requests_total{route,method,status}
    workflow_http_request_duration_seconds{route,method}   (histogram, by route template)
    workflow_reminders{status}                    the ledger's rows by status (at scrape)
    workflow_reminder_lag_seconds                 how long the oldest due unsent reminder
                                                  has waited (0: none)
    workflow_database_up                          1 if the ledger could be read
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from ..errors import ConflictError, WorkflowError

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric
    from sqlalchemy import Engine

P = ParamSpec("P")
R = TypeVar("R")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
REMINDER_STATUSES = ("pending", "sending", "sent", "failed", "cancelled")
UNSENT = ("pending", "sending")
# seconds; a page is a few ms, a draft tens of ms, a PDF seconds
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
RENDER_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
PDF_BUCKETS = (0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 180.0)


class _Metrics:
    """The metric objects of this process (made once: prometheus-client registers them)."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Histogram

        self.transitions = Counter("workflow_transitions", "Triggers fired (committed).",
                                   ["process", "trigger"])
        self.refusals = Counter("workflow_refusals", "Requests the engine refused, by the "
                                "kind of error (conflicts are counted apart).", ["kind"])
        self.conflicts = Counter("workflow_conflicts", "Changes refused because someone "
                                 "changed the case first.")
        self.renders = Histogram("workflow_document_render_seconds", "Word drafts made, and "
                                 "how long each took.", ["document"], buckets=RENDER_BUCKETS)
        self.pdf_wait = Histogram("workflow_pdf_wait_seconds", "Time a PDF conversion waited "
                                  "for a LibreOffice slot.", buckets=PDF_BUCKETS)
        self.pdf = Histogram("workflow_pdf_conversion_seconds", "LibreOffice conversions, "
                             "and how long each took.", ["outcome"], buckets=PDF_BUCKETS)
        self.requests = Counter("workflow_http_requests", "HTTP requests answered.",
                                ["route", "method", "status"])
        self.latency = Histogram("workflow_http_request_duration_seconds", "HTTP request "
                                 "latency by route template.", ["route", "method"],
                                 buckets=HTTP_BUCKETS)


_active: _Metrics | None = None


def enable() -> None:
    """Start counting in this process (idempotent)."""
    global _active
    if _active is None:
        from prometheus_client import disable_created_metrics

        disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created series
        _active = _Metrics()


def active() -> _Metrics | None:
    """The metrics, when counting is on."""
    return _active


def multiprocess_dir() -> Path | None:
    value = os.environ.get(MULTIPROC_ENV)
    return Path(value) if value else None


def prepare_multiprocess_dir() -> Path | None:
    """Before the workers start: empty the multiprocess folder (values of an earlier run
    must not be added to this one's), creating it if need be. None in per-process mode."""
    folder = multiprocess_dir()
    if folder is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    for entry in folder.iterdir():
        if entry.suffix == ".db" and entry.is_file():
            entry.unlink()
        elif entry.is_dir():
            shutil.rmtree(entry)
    return folder


# ----------------------------------------------------------------- engine hooks
def counts_transitions(func: Callable[P, R]) -> Callable[P, R]:
    """Count what ``func`` (``Workflow.fire``) did: a transition, a refusal or a conflict."""

    @wraps(func)
    def counted(*args: P.args, **kwargs: P.kwargs) -> R:
        m = _active
        if m is None:
            return func(*args, **kwargs)
        try:
            out = func(*args, **kwargs)
        except WorkflowError as exc:
            _refused(m, exc)
            raise
        m.transitions.labels(getattr(out, "process", ""), getattr(out, "trigger", "")).inc()
        return out

    return counted


def counts_refusals(func: Callable[P, R]) -> Callable[P, R]:
    """Count the refusals of ``func`` (creating a case, downloading a draft)."""

    @wraps(func)
    def counted(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except WorkflowError as exc:
            if _active is not None:
                _refused(_active, exc)
            raise

    return counted


def _refused(m: _Metrics, exc: WorkflowError) -> None:
    if isinstance(exc, ConflictError):
        m.conflicts.inc()
    else:
        m.refusals.labels(type(exc).__name__).inc()


@contextmanager
def timed_render(document: str) -> Iterator[None]:
    """Time making one Word draft."""
    m = _active
    if m is None:
        yield
        return
    start = time.perf_counter()
    yield
    m.renders.labels(document).observe(time.perf_counter() - start)


def observe_pdf(*, waited: float, took: float, ok: bool) -> None:
    m = _active
    if m is not None:
        m.pdf_wait.observe(waited)
        m.pdf.labels("ok" if ok else "error").observe(took)


# --------------------------------------------------------------------- scraping
class LedgerCollector:
    """The reminder ledger at scrape time: rows by status, and the lag of the oldest due
    reminder not yet sent (pending, or claimed and being sent, on an open deadline or a
    your-turn notice)."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import GaugeMetricFamily
        from sqlalchemy import func, or_, select
        from sqlalchemy.exc import SQLAlchemyError

        from ..store import database as store
        from ..store import tables as t

        up = GaugeMetricFamily("workflow_database_up", "1 if the database answered the "
                               "scrape's ledger query, else 0.")
        r, d = t.reminder, t.deadline
        now = self.clock()
        try:
            with store.read(self.engine) as conn:
                counts: dict[str, int] = dict(conn.execute(select(r.c.status, func.count())
                                           .group_by(r.c.status)).all())
                oldest = conn.execute(select(func.min(r.c.due_at)).where(
                    r.c.status.in_(UNSENT), r.c.due_at <= now,
                    or_(r.c.deadline_id.is_(None),   # a your-turn notice: due as it stands
                        select(d.c.id).where(d.c.id == r.c.deadline_id, d.c.active).exists()))
                ).scalar()
        except (SQLAlchemyError, OSError):
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        by_status = GaugeMetricFamily("workflow_reminders", "Reminders in the ledger, by "
                                      "status.", labels=["status"])
        for status in dict.fromkeys([*REMINDER_STATUSES, *counts]):
            by_status.add_metric([status], counts.get(status, 0))
        yield by_status
        lag = 0.0 if oldest is None else max(0.0, (now - _aware(oldest)).total_seconds())
        yield GaugeMetricFamily("workflow_reminder_lag_seconds", "Seconds since the oldest "
                                "due reminder not yet sent fell due (0: none is waiting).",
                                value=lag)


def _aware(moment: datetime) -> datetime:
    from datetime import UTC

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class _ThisProcess:
    """The metrics of this process (prometheus-client's default registry)."""

    def collect(self) -> Iterator[Metric]:
        from prometheus_client import REGISTRY

        yield from REGISTRY.collect()


def exposition(*extra: Any, accept: str | None = None) -> tuple[bytes, str]:
    """The text to answer a scrape with, and its content type: every worker's metrics in
    multiprocess mode (else this process's), and the ``extra`` collectors."""
    from prometheus_client import CollectorRegistry, exposition, multiprocess

    registry = CollectorRegistry(auto_describe=False)
    folder = multiprocess_dir()
    if folder is not None:
        multiprocess.MultiProcessCollector(registry, path=str(folder))  # type: ignore[no-untyped-call]
    else:
        registry.register(_ThisProcess())
    for collector in extra:
        registry.register(collector)
    encoder, content_type = exposition.choose_encoder(accept or "")
    return encoder(registry), content_type
