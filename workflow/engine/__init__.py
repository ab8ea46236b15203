"""The engine: :class:`~workflow.engine.workflow.Workflow` creates cases and fires
triggers, one transaction each; the transaction context rules see (``context``); the
deadline rows a transition keeps (``deadlines``); the day a step happened, beside when
it was recorded (``when``); whose turn a step makes it (``turns``); the read side (``queries``, and
``agreements`` for BUM); the small value types ``actors`` (Actor, Outcome);
the case file: uploads and notes (``casefile``), the journal read back (``journal``), an
aktindsigt (``aktindsigt``); the case's own text (``casetext``) and drafts edited by hand
(``edited``); the cooperations: members, areas, who sees what, whose a new case is
(``cooperations``). Only the faces (cli, web) import it.
"""
