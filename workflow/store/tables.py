"""The SQLModel tables as SQLAlchemy Core ``Table`` objects, for the hot paths.

A transition is a handful of Core statements on one connection: this is what keeps it
within a small factor of raw SQL (see ``bench/``), while the schema stays defined once,
in :mod:`workflow.store.models` (and :mod:`workflow.store.casefile_models`).
"""

from __future__ import annotations

from sqlalchemy import Table
from sqlmodel import SQLModel

# the modules that define tables, imported to register them on the metadata
from . import (  # noqa: F401
    casefile_models,
    cooperation_models,
    directory_models,
    listing_models,
    models,
)

_t = SQLModel.metadata.tables

cooperation: Table = _t["cooperation"]
cooperation_member: Table = _t["cooperation_member"]
municipality: Table = _t["municipality"]
area: Table = _t["area"]
area_part_release: Table = _t["area_part_release"]
user: Table = _t["user"]
definition: Table = _t["definition"]
application: Table = _t["application"]
application_area: Table = _t["application_area"]
link: Table = _t["link"]
audit_entry: Table = _t["audit_entry"]
party_act: Table = _t["party_act"]
deadline: Table = _t["deadline"]
document: Table = _t["document"]
document_version: Table = _t["document_version"]
document_download: Table = _t["document_download"]
chain_link: Table = _t["chain_link"]
case_section: Table = _t["case_section"]
reminder: Table = _t["reminder"]
api_token: Table = _t["api_token"]
login_attempt: Table = _t["login_attempt"]
web_session: Table = _t["web_session"]
setting: Table = _t["setting"]
change_counter: Table = _t["change_counter"]
stored_file: Table = _t["stored_file"]
stored_file_chunk: Table = _t["stored_file_chunk"]
journal_entry: Table = _t["journal_entry"]
journal_exemption: Table = _t["journal_exemption"]
directory_group: Table = _t["directory_group"]
application_party: Table = _t["application_party"]
search_entry: Table = _t["search_entry"]
