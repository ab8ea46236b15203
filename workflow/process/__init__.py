"""The declared process: ``states.yaml`` read with its lines (``located``), loaded and
validated (``definition``) into the model (``spec``); definition versions, the transitions
machine, what things are called in Danish (``names``), users' data parsed (``values``),
the allowed range of a date (``datebounds``) and the Mermaid diagram.

Light enough for ``workflow check``: nothing here needs the database at import, except
``versions``.
"""
