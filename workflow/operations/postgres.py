"""PostgreSQL's own tools for backups and restores: the connection settings pg_dump and
pg_restore are given (without the password on the command line), and running them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from ..errors import SetupError


@dataclass(frozen=True)
class PgTools:
    """How the PostgreSQL tools reach the installation: libpq parameters and its schema."""

    params: dict[str, Any]
    schema: str

    @classmethod
    def of(cls, engine: Engine) -> PgTools:
        url = engine.url
        params: dict[str, Any] = {k: v for k, v in (
            ("host", url.host), ("port", url.port), ("dbname", url.database),
            ("user", url.username), ("password", url.password)) if v is not None}
        params.update({k: v if isinstance(v, str) else v[-1] for k, v in url.query.items()})
        return cls(params, search_path_schema(str(params.get("options") or "")))

    def conninfo(self) -> str:
        from psycopg.conninfo import make_conninfo

        return make_conninfo(**{k: v for k, v in self.params.items() if k != "password"})

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.params.get("password"):
            env["PGPASSWORD"] = str(self.params["password"])
        return env

    def connect(self) -> Any:
        import psycopg

        return psycopg.connect(**self.params, autocommit=True)


def search_path_schema(options: str) -> str:
    """The schema the installation lives in: the first of ``search_path`` in libpq's
    ``options`` (``-csearch_path=wf``, ``-c search_path=wf,public``), else ``public``.

    The options are split as libpq splits them: on spaces, a backslash keeping one."""
    words = [w.replace("\\ ", " ") for w in re.split(r"(?<!\\)\s+", options.strip()) if w]
    for i, word in enumerate(words):
        setting = word[2:] if word.startswith("-c") and len(word) > 2 else (
            words[i + 1] if word == "-c" and i + 1 < len(words) else word.removeprefix("--"))
        name, eq, value = setting.partition("=")
        if eq and name.strip().lower().replace("-", "_") == "search_path":
            for schema in (s.strip() for s in value.split(",")):
                if schema and schema not in ("$user", '"$user"'):
                    return schema[1:-1].replace('""', '"') if schema.startswith('"') \
                        else schema.lower()
    return "public"


def pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SetupError(f"{name} is not installed or not on PATH: install the PostgreSQL "
                         f"client tools (Debian: postgresql-client), of the server's major "
                         f"version or newer")
    return path


def run_pg_tool(argv: list[str], pg: PgTools) -> str:
    proc = subprocess.run(argv, env=pg.env(), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        said = [line for line in proc.stderr.splitlines() if line.strip()]
        raise SetupError(f"{Path(argv[0]).name} failed: "
                         f"{said[0] if said else f'exit status {proc.returncode}'}")
    return proc.stdout


def sql_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
