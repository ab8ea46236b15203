"""Word drafts: made inside a transition, versioned and downloaded (``drafts``), what a
template sees (``context``), sandboxed Jinja rendering and the template checker
(``rendering``), and Markdown to .docx (``docx_writer``).
"""
