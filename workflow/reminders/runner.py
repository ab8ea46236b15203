"""The reminder service run as a process: APScheduler wakes it at the next due row and
every ``poll`` seconds until SIGTERM or Ctrl-C."""

from __future__ import annotations

import logging
import signal
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..store import database as store
from .lease import database_unavailable

if TYPE_CHECKING:
    from .service import ReminderService

log = logging.getLogger("workflow.scheduler")
RETRY_AFTER = 2.0   # seconds run() waits after a tick the database cut short


def run(service: ReminderService, *, poll: float = 60) -> None:
    """Run ``service`` until SIGTERM or Ctrl-C: wake at the next due row and every
    ``poll`` s."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.blocking import BlockingScheduler

    sched = BlockingScheduler(executors={"default": ThreadPoolExecutor(1)},
                              job_defaults={"coalesce": True, "max_instances": 1,
                                            "misfire_grace_time": None},
                              timezone="UTC")

    def wake_in(seconds: float) -> None:
        if not service.stopping:
            sched.add_job(wake, "date", id="next-due", replace_existing=True,
                          run_date=datetime.now(UTC) + timedelta(seconds=seconds))

    def wake() -> None:
        try:
            done = service.tick()
            if done.sent or done.retried or done.failed:
                log.info("sent %d (%d late), retrying %d, failed %d", done.sent,
                         done.late, done.retried, done.failed)
            nxt = service.next_due()
        except Exception as exc:
            if service.stopping or not database_unavailable(exc):
                raise
            log.warning("the database is not available (%s); trying again in %.0f s",
                        store.reason(exc), RETRY_AFTER)
            wake_in(RETRY_AFTER)
            return
        if nxt is not None:  # (the ledger's clock may be WORKFLOW_NOW's: a difference)
            wake_in(max(1.0, (nxt - service.wf.clock()).total_seconds(), service.smtp_wait()))

    def on_sigterm(*_: Any) -> None:
        service.stop()
        sched.shutdown(wait=False)

    sched.add_job(wake, "interval", seconds=poll, id="poll",
                  next_run_time=datetime.now(UTC))
    signal.signal(signal.SIGTERM, on_sigterm)
    log.info("reminder service %s started", service.name)
    try:
        sched.start()
    except (KeyboardInterrupt, SystemExit):
        service.stop()
