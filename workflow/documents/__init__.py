"""Word drafts: made inside a transition and versioned (``drafts``), listed and downloaded
(``listing``), what a template sees (``context``, and of the ministry's letters
``ministry``), sandboxed Jinja rendering and the
template checker (``rendering``), Markdown to .docx (``docx_writer``, with ``inline`` and
``docx_columns``), and PDF by LibreOffice (``pdf``);
what an uploaded file is, from its content (``incoming``), its virus scan by clamd
(``virusscan``), and the aktliste as CSV or Word (``aktliste``).
"""
