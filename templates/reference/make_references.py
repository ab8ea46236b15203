"""Build the neutral base Word document of every letterhead (styles, page, footer).

Run once, or after changing this file, with the project's virtualenv:
``.venv/bin/python templates/reference/make_references.py``.
``base.docx`` names no municipality: each draft's letterhead (names, addresses, logos) is
written into its header at render time from the installation's data
(``workflow/documents/letterhead.py``). It may be edited in Word as it is (fonts, sizes,
margins, footer); the engine needs its styles. It is Danish (da-DK: the default language,
the theme fonts' language, the separators and the core property), as the engine makes
every document it writes on it.
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from workflow.documents.docx_writer import set_danish

HERE = Path(__file__).resolve().parent
COLOUR = RGBColor(0x2B, 0x3A, 0x4A)   # the headings' colour


def field(paragraph, instr: str) -> None:
    run = paragraph.add_run()
    run.font.size = Pt(8)
    for kind, text in (("begin", None), (None, f" {instr} "), ("separate", None), (None, "1"),
                       ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
            run._r.append(el)
        elif text.startswith(" "):
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = text
            run._r.append(el)
        else:
            el = OxmlElement("w:t")
            el.text = text
            run._r.append(el)


def build() -> Path:
    colour = COLOUR
    doc = Document()
    # Word 2010's duplicate style part and the thumbnail: not needed, slower to save
    for rel_id, rel in list(doc.part.rels.items()):
        if rel.reltype.endswith("/stylesWithEffects"):
            doc.part.drop_rel(rel_id)
    for rel_id, rel in list(doc.part.package.rels.items()):
        if rel.reltype.endswith("/thumbnail"):
            doc.part.package.rels.pop(rel_id)

    styles = doc.styles
    # The ~270 latent-style entries (Word's list of styles it could add) are a third of the
    # reference's XML; without them Word still opens and edits the file as usual.
    latent = styles.element.find(qn("w:latentStyles"))
    if latent is not None:
        styles.element.remove(latent)
    keep = {"Normal", "Heading 1", "Heading 2", "Heading 3", "Title", "List Bullet",
            "List Bullet 2", "List Number", "List Number 2", "List Paragraph", "Table Grid",
            "Normal Table", "Default Paragraph Font", "No List", "Header", "Footer",
            "Heading 1 Char", "Heading 2 Char", "Heading 3 Char", "Title Char",
            "Header Char", "Footer Char"}
    for style in list(styles):  # the default template's 160 table and list designs
        if style.name not in keep:
            style.element.getparent().remove(style.element)
    normal = styles["Normal"]
    normal.font.name, normal.font.size = "Arial", Pt(10.5)
    normal.paragraph_format.space_after = Pt(6)
    normal.paragraph_format.line_spacing = 1.15
    for level, size in ((1, 15), (2, 12), (3, 11)):
        h = styles[f"Heading {level}"]
        h.font.name, h.font.size, h.font.bold = "Arial", Pt(size), True
        h.font.color.rgb = colour
        h.paragraph_format.space_before = Pt(12 if level == 1 else 10)
        h.paragraph_format.space_after = Pt(4)
    for style in ("List Bullet", "List Number", "List Bullet 2", "List Number 2"):
        styles[style].font.name = "Arial"

    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2.5)
    section.top_margin, section.bottom_margin = Cm(3.2), Cm(2.2)
    section.header_distance = Cm(1.0)

    p = section.footer.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for text in ("Side ", None, " af ", None):
        if text is None:
            field(p, "PAGE" if len(p.runs) < 2 else "NUMPAGES")
        else:
            p.add_run(text).font.size = Pt(8)
    set_danish(doc)
    doc.core_properties.author = "workflow"
    doc.core_properties.title = "Brevpapirets grundlag"
    path = HERE / "base.docx"
    doc.save(path)
    return path


if __name__ == "__main__":
    print(build())  # noqa: T201
