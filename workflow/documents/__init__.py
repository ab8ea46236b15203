"""Word drafts: made inside a transition and versioned (``drafts``), listed and downloaded
(``listing``), what a template sees (``context``, and of the ministry's letters
``ministry``), sandboxed Jinja rendering and the
template checker (``rendering``, with the checker's sample cases in ``samples``, and the
check of every municipality of the installation in ``checking``), the letterheads made
from the municipality rows (``letterhead``), Markdown
to .docx (``docx_writer``, with ``inline`` and ``docx_columns``), PDF/A by LibreOffice
(``pdf``), and what regenerates a stored version, and the regeneration (``recipe``); the
case's own text for the letter's sections (``sections``) and drafts edited by hand, checked
by content and compared (``edits``); what an uploaded file is, from its content
(``incoming``), its virus scan by clamd (``virusscan``), the aktliste as CSV or Word
(``aktliste``) and an aktindsigt as one zip (``aktindsigt``).
"""
