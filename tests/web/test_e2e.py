"""End to end in a real browser: the served app, headless Chromium, four people, one case.

The real server (uvicorn serving ``create_app``, as ``workflow serve`` does) runs as a
subprocess on a free port, on the test database of each backend (SQLite, PostgreSQL), with
a clock that starts at a fixed moment (``START``) and runs on from there, so that no test
depends on today's date; Playwright drives Debian's ``/usr/bin/chromium`` (no downloaded
browser). A project lead creates a round-1 application
and proposes and confirms areas, the other municipality's lead confirms,
legal staff approve the draft, a council secretary records the decision, legal staff
download the Word draft, and python-docx opens it. Another lead opens a BUM agreement from
the dashboard and finds it on the BUM page. The create form shows only the chosen kind's
fields and keeps what was typed when it is refused; in a narrow window no Danish word is
broken mid-word. The server's log must show no traceback.

Without Chromium or Playwright the test skips, saying why; under CI it fails instead.
``WORKFLOW_SCREENSHOTS=1`` also writes the README's screenshots to ``docs/screenshots/``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import docx
import pytest

from tests.factories import make_application
from workflow import danish
from workflow.engine.workflow import Workflow

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page, ViewportSize

ROOT = Path(__file__).resolve().parents[2]
# Debian's (what .ci/run installs when `chromium` is not on PATH); never a downloaded one.
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
VIEWPORT: ViewportSize = {"width": 1366, "height": 900}
# Read at import: the autouse `clean_environ` fixture removes WORKFLOW_* before each test.
SCREENSHOTS = os.environ.get("WORKFLOW_SCREENSHOTS") == "1"
AREAS = {"rehabilitation": "Genoptræning", "special_education": "Specialundervisning"}
# The server's clock starts here (a Monday morning, Danish time 10.00) and runs on.
START = datetime(2018, 1, 8, 9, 0, tzinfo=UTC)
# `workflow serve` without the demo set-up (the test database has it) and with a clock that
# starts at WORKFLOW_TEST_CLOCK_START: the app as uvicorn serves it there.
SERVE = """
import os, sys, time
from datetime import datetime, timedelta
import uvicorn
from workflow.config import Settings
from workflow.web.app import create_app
start, t0 = datetime.fromisoformat(os.environ["WORKFLOW_TEST_CLOCK_START"]), time.monotonic()
app = create_app(Settings.from_env(),
                 clock=lambda: start + timedelta(seconds=time.monotonic() - t0))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="info")
"""

pytestmark = pytest.mark.slow


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)"
    if importlib.util.find_spec("playwright") is None:
        return "Playwright for Python is not installed (pip install -e '.[test]')"
    return None


def launched(args: list[str]) -> Iterator[Browser]:
    """Debian's Chromium, headless, with ``args``; a failure under CI when it is missing."""
    reason = _missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI requires it)")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=args)
        yield chromium
        chromium.close()


@pytest.fixture
def browser() -> Iterator[Browser]:
    yield from launched(CHROMIUM_ARGS)


@dataclass
class Server:
    url: str
    log: Path

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[Server]:
    """The app served on the test database (the demo setup is already loaded there), its
    clock starting at START."""
    port = _free_port()
    log = tmp_path / "server.log"
    env = {**os.environ, "WORKFLOW_DATABASE_URL": db_url, "PYTHONUNBUFFERED": "1",
           "WORKFLOW_TEST_CLOCK_START": START.isoformat()}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", SERVE, str(port)], env=env, cwd=tmp_path, stdout=out,
            stderr=subprocess.STDOUT)
    srv = Server(f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(srv.url + "/login", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the server did not start (exit {proc.poll()}):\n{srv.text()}")
            time.sleep(0.1)
        yield srv
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def log_in(browser: Browser, server: Server, user: str) -> Page:
    """A fresh browser context (its own session cookie) with `user` logged in."""
    from playwright.sync_api import expect

    page = browser.new_context(viewport=VIEWPORT, accept_downloads=True).new_page()
    page.set_default_timeout(10_000)
    page.goto(server.url + "/login")
    page.get_by_label("Brugernavn").fill(user)
    page.get_by_label("Adgangskode").fill("demo")
    page.get_by_role("button", name="Log ind").click()
    expect(page.get_by_role("heading", name="Overblik", level=1)).to_be_visible()
    return page


def action(page: Page, label: str) -> Locator:
    """The `<details class="action">` whose summary is `label`, opened."""
    box = page.locator("details.action").filter(
        has=page.locator("summary", has_text=re.compile(f"^{re.escape(label)}$")))
    if not box.evaluate("d => d.open"):
        box.locator("summary").click()
    return box


def fire(page: Page, label: str) -> None:
    """Submit the action `label` (fields already filled) and expect it done."""
    from playwright.sync_api import expect

    action(page, label).get_by_role("button", name=label).click()
    expect(page.locator(".flash.ok")).to_contain_text(f"Udført: {label}.")
    expect(page.locator(".flash.error")).to_have_count(0)


def create_application(page: Page, title: str) -> tuple[str, str]:
    """Open a round-1 dispensation application from the dashboard: its URL and case number."""
    from playwright.sync_api import expect

    page.get_by_label("Type").select_option(label="Dispensation fra det forpligtende samarbejde")
    page.get_by_label("Runde").select_option("1")
    page.get_by_label("Titel").fill(title)
    page.get_by_role("button", name="Opret").click()
    expect(page.locator(".flash.ok")).to_have_text("Sagen er oprettet.")
    assert re.search(r"/applications/\d+$", page.url), page.url
    expect(page.locator(".badge").first).to_have_text("Valg af områder")
    line = page.locator("p", has_text="Sagsnr.").inner_text()
    found = re.search(r"Sagsnr\. (\S+)", line)
    assert found, line
    return page.url, found.group(1)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_lead_proposes_areas_on_the_page(browser: Browser, server: Server) -> None:
    from playwright.sync_api import expect

    lead = log_in(browser, server, "pl-ishoj")
    create_application(lead, "Første dispensationsansøgning")
    boxes = lead.locator("details.action", has=lead.locator("summary", has_text="Foreslå områder"))
    expect(boxes).to_have_count(1, timeout=2_000)
    box = action(lead, "Foreslå områder")
    for name in AREAS.values():
        box.get_by_label(name).check()
    fire(lead, "Foreslå områder")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_lead_opens_an_agreement_and_sees_it_on_the_bum_page(browser: Browser,
                                                               server: Server) -> None:
    from playwright.sync_api import expect

    lead = log_in(browser, server, "pl-vallensbaek")
    lead.get_by_label("Type").select_option(label="Delaftale om køb af ydelser (BUM)")
    lead.get_by_label("Titel").fill("Delaftale om genoptræning")
    expect(lead.get_by_label("Bestiller")).to_have_value("vallensbaek")
    lead.get_by_label("Udfører").select_option(label="Ishøj Kommune")
    lead.get_by_label("Område").select_option(label="Genoptræning")
    lead.get_by_label("Ydelsesbeskrivelse").fill("Genoptræning for Vallensbæks borgere")
    lead.get_by_role("button", name="Opret").click()
    expect(lead.locator(".flash.ok")).to_have_text("Sagen er oprettet.")
    expect(lead.locator(".badge").first).to_have_text("Forhandling af delaftale")
    terms = lead.locator("section", has=lead.get_by_role("heading", name="Aftalens vilkår"))
    expect(terms).to_contain_text("Ishøj Kommune")

    lead.get_by_role("link", name="BUM-aftaler", exact=True).click()
    expect(lead.get_by_role("heading", level=1)).to_have_text("BUM-aftaler: Vallensbæk Kommune")
    buys = lead.locator("section", has=lead.get_by_role("heading", name="Vallensbæk Kommune køber"))
    row = buys.get_by_role("row").filter(has_text="Delaftale om genoptræning")
    for text in ("Ishøj Kommune", "Genoptræning", "Forhandling af delaftale",
                 "ikke underskrevet"):
        expect(row).to_contain_text(text)
    log = server.text()
    assert "Traceback" not in log, log


def test_a_case_through_the_browser(browser: Browser, server: Server, db_url: str,
                                    tmp_path: Path) -> None:
    from playwright.sync_api import expect

    # A project lead opens a round-1 application from the dashboard …
    lead = log_in(browser, server, "pl-ishoj")
    app_url, case_number = create_application(lead, "Første dispensationsansøgning")

    # … proposes two areas on the page and confirms them; Vallensbæk is still to confirm.
    box = action(lead, "Foreslå områder")
    for name in AREAS.values():
        box.get_by_label(name).check()
    fire(lead, "Foreslå områder")
    areas_card = lead.locator("section", has=lead.get_by_role("heading", name="Områder"))
    for name in AREAS.values():
        expect(areas_card).to_contain_text(name)
    confirm = action(lead, "Bekræft områder")
    for name in AREAS.values():
        expect(confirm.get_by_label(name)).to_be_checked()
    fire(lead, "Bekræft områder")
    expect(lead.locator(".flash.ok")).to_contain_text("Afventer Vallensbæk Kommune.")

    # Vallensbæk's lead confirms too: the case moves on to drafting.
    other = log_in(browser, server, "pl-vallensbaek")
    other.goto(app_url)
    fire(other, "Bekræft områder")
    expect(other.locator(".badge").first).to_have_text("Udarbejdelse af ansøgning")

    lead.goto(app_url)
    fire(lead, "Send til juridisk gennemsyn")
    expect(lead.locator(".badge").first).to_have_text("Juridisk gennemsyn")

    legal = log_in(browser, server, "legal-ishoj")
    legal.goto(app_url)
    fire(legal, "Godkend udkast")
    expect(legal.locator(".badge").first).to_have_text("Politisk behandling")

    # Ishøj's council secretary records the council's approval (the council met today).
    meeting = START.date()
    secretary = log_in(browser, server, "sec-ishoj")
    secretary.goto(app_url)
    box = action(secretary, "Registrér politisk beslutning")
    box.get_by_label("Beslutning *", exact=True).select_option(label="Godkendt")
    expect(box.get_by_label("Begrundelse")).to_be_attached()  # its condition, in Danish:
    expect(box.locator("label", has_text="Begrundelse")).to_have_text(
        "Begrundelse (kræves når beslutningen er Ikke godkendt)")
    box.get_by_label("Mødedato").fill(meeting.isoformat())
    box.get_by_label("Dagsordenspunkt").fill("BR, punkt 7")
    fire(secretary, "Registrér politisk beslutning")
    councils = secretary.locator("section", has=secretary.get_by_role(
        "heading", name="Politisk behandling"))
    ishoj = councils.get_by_role("row").filter(has_text="Ishøj Byråd")
    expect(ishoj).to_contain_text(danish.long_date(meeting))
    expect(ishoj).to_contain_text("BR, punkt 7")
    expect(ishoj).to_contain_text("Godkendt")
    expect(councils.get_by_role("row").filter(has_text="Vallensbæk")).to_contain_text("–")

    # Legal staff download the newest application letter as Word.
    legal.goto(app_url)
    letter = legal.locator("h3:has-text('Ansøgning om dispensation') + table")
    with legal.expect_download() as got:
        letter.get_by_role("link", name="Word").first.click()
    download = got.value
    assert download.suggested_filename.startswith(case_number + "-application_letter-v")
    assert download.suggested_filename.endswith(".docx")
    path = tmp_path / download.suggested_filename
    download.save_as(path)

    document = docx.Document(str(path))
    headers = []
    for section in document.sections:
        for part in (section.header, section.first_page_header):
            headers += [p.text for p in part.paragraphs]
            headers += [c.text for tbl in part.tables for row in tbl.rows for c in row.cells]
    assert any(case_number in text for text in headers), headers
    body = "\n".join(p.text for p in document.paragraphs)
    for name in AREAS.values():
        assert name in body

    if SCREENSHOTS and db_url.startswith("sqlite"):
        shots = ROOT / "docs" / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        lead.goto(server.url + "/")
        lead.screenshot(path=str(shots / "dashboard.png"), full_page=True)
        lead.goto(app_url)
        lead.screenshot(path=str(shots / "application.png"), full_page=True)

    log = server.text()
    assert "Traceback" not in log, log
    assert not re.search(r'" 5\d\d ', log), log


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_create_form_shows_the_chosen_kinds_fields_and_keeps_a_refused_one(
        browser: Browser, server: Server) -> None:
    from playwright.sync_api import expect

    lead = log_in(browser, server, "pl-vallensbaek")
    form = lead.locator("form#new-case")
    kind, round_ = form.get_by_label("Type"), form.get_by_label("Runde")
    agreement = [form.get_by_label(name) for name in
                 ("Bestiller", "Udfører", "Område", "Ydelsesbeskrivelse", "Fra bevilget")]
    for label, shown in [("Dispensation fra det forpligtende samarbejde", [round_]),
                         ("Hjemtagning af jobcenteret", []),
                         ("Delaftale om køb af ydelser (BUM)", agreement),
                         ("Jobcentersatellit", [])]:
        kind.select_option(label=label)
        for field in [round_, *agreement]:
            if field in shown:
                expect(field).to_be_visible()
                expect(field).to_be_enabled()
            else:  # hidden, and not sent either
                expect(field).to_be_hidden()
                expect(field).to_be_disabled()

    # An agreement without its service description is refused: the form comes back as
    # it was typed, with the Danish refusal, and only the agreement's fields shown.
    kind.select_option(label="Delaftale om køb af ydelser (BUM)")
    form.get_by_label("Titel").fill("Delaftale om genoptræning – Ålholm")
    form.get_by_label("Udfører").select_option(label="Ishøj Kommune")
    form.get_by_label("Område").select_option(label="Genoptræning")
    form.get_by_role("button", name="Opret").click()
    refusal = lead.locator("form#new-case").locator("xpath=..").locator(".flash.error")
    expect(refusal).to_contain_text("Oplysningerne er ikke i orden")
    expect(refusal).to_contain_text("ydelsesbeskrivelse")
    form = lead.locator("form#new-case")
    expect(form.get_by_label("Type")).to_have_value("bum_agreement")
    expect(form.get_by_label("Titel")).to_have_value("Delaftale om genoptræning – Ålholm")
    expect(form.get_by_label("Bestiller")).to_have_value("vallensbaek")
    expect(form.get_by_label("Udfører")).to_have_value("ishoj")
    expect(form.get_by_label("Område")).to_have_value("rehabilitation")
    expect(form.get_by_label("Runde")).to_be_hidden()
    form.get_by_label("Ydelsesbeskrivelse").fill("Genoptræning for Vallensbæks borgere")
    form.get_by_role("button", name="Opret").click()
    expect(lead.locator(".flash.ok")).to_have_text("Sagen er oprettet.")
    expect(lead.get_by_role("heading", level=1)).to_have_text(
        "Delaftale om genoptræning – Ålholm")
    log = server.text()
    assert "Traceback" not in log, log


# Every word of the page's tables, and where the browser broke its lines: a word broken
# anywhere but after a hyphen it contains (a case number's) is broken mid-word. Debian's
# Chromium has no hyphenation patterns (Chrome fetches them separately), so here
# `hyphens: auto` breaks no word at all and any break inside one is an arbitrary one.
BROKEN_WORDS = """() => {
  const out = [];
  for (const cell of document.querySelectorAll("main td, main th")) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.data;
      for (const m of text.matchAll(/\\S+/g)) {
        let top = null;
        for (let i = m.index; i < m.index + m[0].length; i++) {
          const range = document.createRange();
          range.setStart(node, i); range.setEnd(node, i + 1);
          const rect = range.getClientRects()[0];
          if (!rect) continue;
          if (top !== null && rect.top > top + 2 && !"-\\u00ad".includes(text[i - 1]))
            out.push(m[0] + " at " + (i - m.index));
          top = rect.top;
        }
      }
    }
  }
  return out;
}"""
STYLES = """() => [...document.querySelectorAll("main td")].map(td => {
  const s = getComputedStyle(td);
  return [s.hyphens, s.wordBreak, s.overflowWrap, td.scrollWidth <= td.clientWidth + 1];
})"""


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_danish_words_break_only_where_danish_allows(browser: Browser, server: Server,
                                                     wf: Workflow) -> None:
    from playwright.sync_api import expect

    app_id = make_application(wf, state="council_approval",
                              title="Dispensation for specialundervisningsområdet")
    wf.fire(app_id, "schedule_council_meeting", user="sec-vallensbaek",
            data={"meeting_date": "2018-01-08",
                  "agenda_ref": "Kommunalbestyrelsens ordinære møde, punkt 12"})
    page = log_in(browser, server, "sec-ishoj")
    page.set_viewport_size({"width": 360, "height": 800})
    for path in (f"/applications/{app_id}", "/"):
        page.goto(server.url + path)
        assert page.evaluate("document.documentElement.lang") == "da"
        styles = page.evaluate(STYLES)
        assert styles and all(s[0] == "auto" and s[1] != "break-all"
                              and s[2] not in ("anywhere", "break-word") for s in styles), styles
        assert all(s[3] for s in styles), "a word does not fit its cell"
        assert page.evaluate(BROKEN_WORDS) == [], path
    page.goto(server.url + f"/applications/{app_id}")
    councils = page.locator("section", has=page.get_by_role("heading", name="Politisk behandling"))
    cell = councils.get_by_role("cell", name="Vallensbæk Kommunalbestyrelse")
    expect(cell).to_be_visible()
    # the column is narrow: the name takes two lines, broken between its words
    assert cell.evaluate("td => td.getClientRects()[0].height") > 1.5 * cell.evaluate(
        "td => parseFloat(getComputedStyle(td).lineHeight)")
