"""The engine: :class:`~workflow.engine.workflow.Workflow` creates cases and fires
triggers, one transaction each; the transaction context rules see (``context``); the
deadline rows a transition keeps (``deadlines``); the day a step happened, beside when
it was recorded (``when``); whose turn a step makes it (``turns``); the read side (``queries``, and
``agreements`` for BUM);
the case file: uploads and notes (``casefile``), the journal read back (``journal``). Only the faces (cli, web) import it.
"""
