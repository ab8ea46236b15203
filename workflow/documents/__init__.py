"""Word drafts: made inside a transition and versioned (``drafts``), listed and downloaded
(``listing``), what a template sees (``context``, and of the ministry's letters
``ministry``), sandboxed Jinja rendering and the
template checker (``rendering``, with the checker's sample cases in ``samples``), Markdown
to .docx (``docx_writer``, with ``inline`` and ``docx_columns``), and PDF by LibreOffice
(``pdf``); the case's own text for the letter's sections (``sections``) and drafts edited by
hand, checked by content and compared (``edits``).
"""
