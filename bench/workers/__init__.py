"""What runs in the measured fresh processes, each as a script: ``python bench/workers/X.py``.

Every worker puts ``bench/`` on ``sys.path`` for :mod:`benchlib` and prints one ``RESULT
{json}`` line (the SMTP sink: ``READY <port>``), which the workloads read.
"""
