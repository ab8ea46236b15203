"""``python -m workflow`` runs the command line."""

from .cli import main

main()
