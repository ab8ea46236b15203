"""Worker: a local SMTP server that accepts everything and keeps nothing but a log.

Runs in its own process (so that handling SMTP does not share the GIL with the reminder
service under test) on 127.0.0.1; for every message it has accepted it appends one line
to the log file, ``<Message-ID> <number of recipients>``, and flushes it *before* answering
``250`` to the DATA command: once the client has its ``250``, the line is on disk. The
driver reads the log to count what arrived (none lost, none doubled).

usage: python bench/workers/smtp_sink.py --log FILE [--port 0]   (prints ``READY <port>``, then
       serves until SIGTERM or SIGINT)
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import IO, Any

from aiosmtpd.controller import Controller

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/, for benchlib
from benchlib import free_port  # noqa: E402


class LogHandler:
    """aiosmtpd handler: one log line per accepted message."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        content: bytes = envelope.original_content or envelope.content
        head = content.split(b"\r\n\r\n", 1)[0]
        message_id = "-"
        for line in head.split(b"\r\n"):
            if line[:11].lower() == b"message-id:":
                message_id = line[11:].strip().decode("ascii", "replace")
                break
        self.out.write(f"{message_id} {len(envelope.rcpt_tos)}\n")
        self.out.flush()
        return "250 Message accepted for delivery"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--log", required=True, help="append a line per message here")
    ap.add_argument("--port", type=int, default=0, help="0: any free port")
    a = ap.parse_args()
    with Path(a.log).open("a", encoding="ascii") as out:
        controller = Controller(LogHandler(out), hostname="127.0.0.1",
                                port=a.port or free_port())
        controller.start()
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        print(f"READY {controller.port}", flush=True)
        stop.wait()
        controller.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
