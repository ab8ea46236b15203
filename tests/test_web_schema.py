"""Property test of the JSON API against its own OpenAPI description, with schemathesis.

For every operation in ``/openapi.json`` schemathesis generates requests, valid ones and
ones that break the schema (wrong types, missing fields, odd strings, huge numbers), and
sends them to the ASGI app in-process, authenticated as a demo project lead, on SQLite and
on PostgreSQL with applications along the road and a BUM agreement. The property: **no
response is a server error** (status >= 500); and every documented response matches its
schema. Half the cases name ids (or municipalities) that exist, half carry a NUL character
in one string (the one character PostgreSQL's text refuses). Per backend: 14 operations x
valid/invalid x 50 examples, 10-30 s.

One known gap is left out of the schema check: the engine's own 422s (``GuardFailed``,
``InvalidData``: ``{"detail": "...", "error": ...}``) share the status code with FastAPI's
request validation error, which is the only 422 the description documents (``detail`` a
list). PDF downloads (``?format=pdf``) are sent as ``docx``: a PDF is LibreOffice, seconds
per call, and the route is the same code up to the conversion.

The operations are driven with Hypothesis directly (``APIOperation.as_strategy``): the
fixture route, ``schemathesis.pytest.from_fixture``, fails under pytest 9.2 (schemathesis
4.32 reads ``request.node._nodeid``, which pytest no longer has).
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error, response_schema_conformance
from schemathesis.core.result import Ok
from sqlalchemy import delete, select

from tests.conftest import Clock
from tests.factories import make_application
from workflow import demo
from workflow import tables as t
from workflow.config import Settings
from workflow.engine import Workflow
from workflow.web.app import create_app

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.slow

USER = "pl-ishoj"   # a project lead: may create, fire, read and download in Ishøj
# (kind, state, areas): an area is in one open application at a time, so each has its own
APPLICATIONS = [("dispensation", "area_selection", None),
                ("dispensation", "council_approval", ["rehabilitation", "social"]),
                ("dispensation", "granted", ["special_education", "nature_environment"]),
                ("dispensation", "withdrawn", None),
                ("jobcentre", "submitted", None)]
MAX_EXAMPLES = 50   # per operation and mode (valid / invalid input)
# Found by this test (bug in workflow/queries.py or web/api.py, not fixed here): the
# filters of GET /api/applications go to the database unchecked, and PostgreSQL's text
# cannot hold a NUL character: psycopg.DataError, so 500 instead of 422 or an empty list.
PATH_IDS = {"app_id": t.application.c.id, "document_id": t.document.c.id}
PATH_NAMES = {"municipality_id": [m["id"] for m in demo.MUNICIPALITIES]}
# A BUM agreement between Ishøj and Vallensbæk, its terms proposed
AGREEMENT = {"provider": "ishoj", "purchaser": "vallensbaek", "area": "rehabilitation",
             "service": "Genoptræning"}
TERMS = {"service_level": "7 dage", "expected_volume": "420", "direct_costs": "1.234.567,50",
         "overhead_rate": "7,5", "start_date": "2019-01-01", "notice_months": "6"}


@pytest.fixture
def api_token(settings: Settings, clock: Clock) -> str:
    """A bearer token from ``POST /api/token``, on a database with some applications."""
    wf = Workflow.open(settings, clock=clock)
    try:
        with wf.engine.begin() as conn:  # the PostgreSQL reset keeps failed logins
            conn.execute(delete(t.login_attempt))
        for kind, state, areas in APPLICATIONS:
            make_application(wf, kind=kind, state=state, areas=areas,
                             title=f"Ansøgning i {state}")
        agreement = wf.create(kind="bum_agreement", title="Delaftale", user=USER,
                              data=AGREEMENT)
        wf.fire(agreement, "propose_terms", user=USER, data=TERMS)
    finally:
        wf.close()
    with TestClient(create_app(settings, clock=clock)) as client:
        r = client.post("/api/token", data={"username": USER, "password": demo.DEMO_PASSWORD})
    assert r.status_code == 200, r.text
    token: str = r.json()["access_token"]
    return token


def existing_ids(settings: Settings) -> dict[str, list[int]]:
    wf = Workflow.open(settings)
    try:
        with wf.engine.connect() as conn:
            return {name: list(conn.execute(select(col).order_by(col)).scalars())
                    for name, col in PATH_IDS.items()}
    finally:
        wf.close()


Operation = schemathesis.APIOperation[Any, Any, Any, Any]
Case = schemathesis.Case[Any]


@st.composite
def cases(draw: st.DrawFn, op: Operation, mode: schemathesis.GenerationMode,
          ids: dict[str, list[int]]) -> Case:
    """Cases for ``op``. Where the path has an id, half of them name a row that exists;
    half of all cases get a NUL character in one string of the query or the body, which
    PostgreSQL's text cannot hold (Hypothesis alone tries it too rarely to rely on)."""
    name = next((n for n in PATH_IDS if "{" + n + "}" in op.path), None)
    fixed: dict[str, Any] | None = \
        {name: draw(st.sampled_from(ids[name]))} if name and draw(st.booleans()) else None
    named = next((n for n in PATH_NAMES if "{" + n + "}" in op.path), None)
    if named and draw(st.booleans()):
        fixed = {named: draw(st.sampled_from(PATH_NAMES[named]))}
    case: Case = draw(op.as_strategy(mode, path_parameters=fixed))
    slots: list[tuple[dict[str, Any], str]] = [
        (part, key) for part in (case.query, case.body) if isinstance(part, dict)
        for key, value in part.items() if isinstance(value, str)]
    nul: bool = draw(st.booleans())
    if slots and nul:
        part, key = draw(st.sampled_from(slots))
        text = str(part[key])
        at = draw(st.integers(0, len(text)))
        part[key] = text[:at] + "\x00" + text[at:]
    return case


def is_engine_422(response: schemathesis.Response) -> bool:
    if response.status_code != 422:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and "error" in body


def test_no_server_error(settings: Settings, clock: Clock, api_token: str,
                         request: pytest.FixtureRequest) -> None:
    """Every operation, valid and invalid input: never a 5xx; documented bodies conform."""
    ids = existing_ids(settings)
    assert ids["app_id"] and ids["document_id"]
    headers = {"Authorization": f"Bearer {api_token}"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(settings, clock=clock))
    failures: list[str] = []
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results) >= 14, "the OpenAPI description has errors"
    for op in operations:
        for mode in schemathesis.GenerationMode:

            @given(case=cases(op, mode, ids))
            @hsettings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                       suppress_health_check=list(HealthCheck))
            def check(case: Case) -> None:
                if isinstance(case.query, dict) and case.query.get("format") == "pdf":
                    case.query["format"] = "docx"
                try:
                    response = case.call(headers=headers)
                except Exception as exc:  # the in-process client re-raises what was a 500
                    raise AssertionError(
                        f"500 (unhandled {type(exc).__name__}: {str(exc).splitlines()[0]}) "
                        f"for: {case.as_curl_command()}") from exc
                checks: list[schemathesis.CheckFunction] = [not_a_server_error]
                if not is_engine_422(response):
                    checks.append(response_schema_conformance)
                case.validate_response(response, checks=checks, headers=headers)

            try:
                check()
            except Unsatisfiable:  # no parameters and no body: nothing to break
                continue
            except Exception as exc:  # noqa: BLE001 - report every operation's failure
                failures.append(f"{op.label} ({mode.value} data): {exc}")
    assert not failures, "\n\n".join(failures)
