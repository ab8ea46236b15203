"""``python -m workflow`` runs the command line."""

from .console import main

main()
