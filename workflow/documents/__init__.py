"""Word drafts: made inside a transition and versioned (``drafts``), listed and downloaded
(``listing``), what a template sees (``context``, and of the ministry's letters
``ministry``), sandboxed Jinja rendering and the
template checker (``rendering``), Markdown to .docx (``docx_writer``, with ``inline`` and
``docx_columns``), PDF/A by LibreOffice (``pdf``), and what regenerates a stored
version, and the regeneration (``recipe``); what an uploaded file is, from its content
(``incoming``), its virus scan by clamd (``virusscan``), and the aktliste as CSV or Word
(``aktliste``).
"""
