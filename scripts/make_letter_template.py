"""Build api/data/letter.docx, the Chinese template of the 三书一函 letters (docxtpl tags, python-docx layout).

Run once after changing the layout: ``.venv/bin/python scripts/make_letter_template.py``. The letters
themselves are filled by api/letters.py; a test reads a filled letter back.
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

OUT = Path(__file__).resolve().parents[1] / "api" / "data" / "letter.docx"


def _font(run, size: float, bold: bool = False, family: str = "SimSun") -> None:
    run.font.size = Pt(size)
    run.bold = bold
    run.font.name = family
    run._element.rPr.rFonts.set(qn("w:eastAsia"), family)


def main() -> None:
    doc = Document()
    for s in doc.sections:
        s.top_margin, s.bottom_margin, s.left_margin, s.right_margin = Cm(3.7), Cm(3.5), Cm(2.8), Cm(2.6)
    style = doc.styles["Normal"]
    style.font.name = "FangSong"
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "FangSong")
    style.font.size = Pt(16)

    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(p.add_run("{{ title }}"), 22, True, "SimHei")
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(p.add_run("{{ doc_number }}"), 16, False, "FangSong")
    p = doc.add_paragraph()
    _font(p.add_run("{{ addressee }}："), 16)
    for tag in ("{{ opening }}",):
        p = doc.add_paragraph()
        p.paragraph_format.first_line_indent = Pt(32)
        _font(p.add_run(tag), 16)

    table = doc.add_table(rows=3, cols=6)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    heads = ("序号", "事项编号", "当事单位", "事项", "办理期限", "逾期工作日")
    for cell, text in zip(table.rows[0].cells, heads):
        _font(cell.paragraphs[0].add_run(text), 11, True, "SimHei")
    loop = table.rows[1].cells
    _font(loop[0].paragraphs[0].add_run("{%tr for c in items %}"), 11)
    row = table.rows[2].cells
    for cell, text in zip(row, ("{{ loop.index }}", "{{ c.number }}", "{{ c.business }}", "{{ c.what }}",
                                "{{ c.due }}", "{{ c.overdue }}")):
        _font(cell.paragraphs[0].add_run(text), 11)
    end = table.add_row().cells
    _font(end[0].paragraphs[0].add_run("{%tr endfor %}"), 11)

    for tag in ("{{ request }}", "{{ basis }}"):
        p = doc.add_paragraph()
        p.paragraph_format.first_line_indent = Pt(32)
        _font(p.add_run(tag), 16)
    for tag in ("{{ issuer }}", "{{ date }}"):
        p = doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        _font(p.add_run(tag), 16)
    p = doc.add_paragraph()
    _font(p.add_run("{{ footer }}"), 10)
    doc.core_properties.title = "三书一函"
    doc.save(OUT)
    print(f"written {OUT}")


if __name__ == "__main__":
    main()
