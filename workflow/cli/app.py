"""The ``workflow`` command line: a thin layer over the engine and the queries.

Errors are translated in one place (:class:`WorkflowGroup`): a one-line message on
stderr and the error's exit code, never a traceback. Heavy modules are imported inside
the commands, so ``workflow --help`` starts fast; the entry point
(:mod:`workflow.cli.console`) answers the plain forms of ``check`` and ``diagram`` without
importing this module at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from .. import __version__
from . import admin, agreements, audit, casefile, cases, casetext, documents, ops, setup
from .common import neutralised_output

if TYPE_CHECKING:
    pass


class WorkflowGroup(click.Group):
    def main(self, *args: Any, **kwargs: Any) -> Any:
        with neutralised_output():
            return super().main(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        from ..errors import WorkflowError

        try:
            return super().invoke(ctx)
        except WorkflowError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except UnicodeEncodeError as exc:  # an argument with a byte that is not UTF-8
            if exc.reason != "surrogates not allowed":
                raise
            click.echo(f"error: {exc.object!r} is not text: it holds a byte that is not "
                       f"UTF-8", err=True)
            ctx.exit(2)
        except Exception as exc:
            if type(exc).__module__.startswith(("sqlalchemy", "psycopg", "sqlite3")):
                orig = getattr(exc, "orig", None) or exc
                click.echo(f"error: database: {str(orig).strip().splitlines()[0]}", err=True)
                ctx.exit(8)
            raise


@click.group(cls=WorkflowGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="workflow")
def cli() -> None:
    """Carry dispensation applications from the choice of areas to the ministry's decision.

    Settings come from WORKFLOW_* environment variables (WORKFLOW_DATABASE_URL,
    WORKFLOW_STATES_FILE, WORKFLOW_USER, ...); see README.md.
    """


COMMAND_MODULES = (setup, cases, documents, casefile, casetext, agreements, admin, ops, audit)
for module in COMMAND_MODULES:
    for command in module.COMMANDS:
        cli.add_command(command)
