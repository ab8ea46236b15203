"""``python -m workflow`` runs the command line."""

from .cli.console import main

main()
