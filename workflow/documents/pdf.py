"""PDF from a Word draft: LibreOffice converts it headless, a bounded number at a time per
process (WORKFLOW_PDF_WORKERS), waiting in a queue for a slot.

Every PDF is PDF/A-2b (ISO 19005-2, level B), for keeping: LibreOffice's Writer PDF export
filter is given ``SelectPdfVersion`` 2 as JSON filter options on ``--convert-to``, and
embeds the fonts and writes the PDF/A identification into the XMP metadata.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import DocumentError, Said, SetupError
from ..operations import metrics

# writer_pdf_Export's options: SelectPdfVersion 2 = PDF/A-2b (1 = PDF/A-1b, 3 = PDF/A-3b)
PDFA_2B = "pdf:writer_pdf_Export:" + json.dumps(
    {"SelectPdfVersion": {"type": "long", "value": "2"}}, separators=(",", ":"))

LIBREOFFICE_HINT = ("LibreOffice is not installed; install it with "
                    "`apt-get install libreoffice-writer-nogui` (Debian/Ubuntu) to get PDFs")


class PdfQueue:
    """At most ``limit`` LibreOffice conversions at a time in this process; the others wait
    their turn (a page asking for a PDF waits, every other page goes on). Each LibreOffice
    takes a core and a few hundred MB: twelve at once slowed every page.
    ``WORKFLOW_PDF_WORKERS`` sets the limit in the web application (per worker process)."""

    def __init__(self, limit: int = 2) -> None:
        self.set_limit(limit)

    def set_limit(self, limit: int) -> None:
        """A new limit, for conversions that start from now on."""
        if limit < 1:
            raise SetupError(f"the PDF conversion limit must be at least 1, not {limit}")
        self.limit = limit
        self._slots = threading.BoundedSemaphore(limit)

    @contextmanager
    def slot(self, wait: float) -> Iterator[float]:
        """A free slot, waited for at most ``wait`` seconds; yields the time waited."""
        slots = self._slots
        start = time.perf_counter()
        if not slots.acquire(timeout=wait):
            raise SetupError(Said(
                f"LibreOffice is busy with other PDFs (waited {wait:.0f} s); try again "
                f"shortly", "der laves mange PDF-filer lige nu; prøv igen om lidt"))
        try:
            yield time.perf_counter() - start
        finally:
            slots.release()


PDF_QUEUE = PdfQueue()


def convert_to_pdf(docx: bytes, *, timeout: float = 180) -> bytes:
    """A PDF of a .docx, by LibreOffice headless, once one of :data:`PDF_QUEUE`'s slots is
    free (waiting at most ``timeout`` for it); a clear SetupError when it is missing."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        raise SetupError(LIBREOFFICE_HINT)
    with PDF_QUEUE.slot(wait=timeout) as waited:
        start = time.perf_counter()
        ok = False
        try:
            pdf = _run_soffice(soffice, docx, timeout)
            ok = True
            return pdf
        finally:
            metrics.observe_pdf(waited=waited, took=time.perf_counter() - start, ok=ok)


def _run_soffice(soffice: str, docx: bytes, timeout: float) -> bytes:
    with tempfile.TemporaryDirectory(prefix="workflow-pdf-") as tmp:
        src = Path(tmp) / "document.docx"
        src.write_bytes(docx)
        profile = Path(tmp) / "profile"  # one profile per run: parallel runs do not clash
        try:
            proc = subprocess.run(
                [soffice, f"-env:UserInstallation=file://{profile}", "--headless",
                 "--convert-to", PDFA_2B, "--outdir", tmp, str(src)],
                capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise DocumentError(f"LibreOffice took longer than {timeout:.0f} s") from None
        out = Path(tmp) / "document.pdf"
        if proc.returncode != 0 or not out.exists():
            detail = (proc.stderr or proc.stdout).decode(errors="replace").strip()
            raise DocumentError(f"LibreOffice could not convert the document: {detail}")
        return out.read_bytes()
