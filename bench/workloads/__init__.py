"""The workloads, one module each, run by ``bench/run.py``.

Each module has the same small interface: ``DATABASES`` (its rows are per database, so the
runner looks for PostgreSQL and ``--only`` applies), ``add_arguments(options)`` (its own
options, in a group of the runner's parser), ``run(args, ctx) -> report`` (measures; ``ctx``
is :class:`benchlib.Context`), ``print_report(report)`` (its table) and ``goals(report)``
(``(goal, figure, met)`` verdicts). A module with ``STRICT = True`` fails the run (exit
status 1) when one of its goals is missed.
"""
