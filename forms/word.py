"""Editable DOCX (Word, WPS) of a filled-in form, drawn with python-docx from a :class:`Sheet`.

The page, table grid, row heights and fonts follow the PDF's stylesheet (``form.css``) so
that both print alike; Word lays text out by itself, so the DOCX keeps a little more slack.
Values go in as run text: python-docx escapes them for XML, and :func:`forms.sheet.printable`
has already replaced what XML cannot hold.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import re
import zipfile

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_ROW_HEIGHT_RULE, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from forms.fonts import DOCX_BODY, DOCX_LABEL
from forms.qr import qr_png
from forms.sheet import Para, Row, Sheet

PAGE_W, PAGE_H = 210.0, 297.0
MARGIN_TOP, MARGIN_BOTTOM, MARGIN_SIDE = 16.0, 14.0, 18.0
TEXT_W = PAGE_W - 2 * MARGIN_SIDE
SMALL_PT = 8.5

_ALIGN = {
    "left": WD_ALIGN_PARAGRAPH.LEFT,
    "center": WD_ALIGN_PARAGRAPH.CENTER,
    "right": WD_ALIGN_PARAGRAPH.RIGHT,
    "justify": WD_ALIGN_PARAGRAPH.JUSTIFY,
}
_GREY = RGBColor(0x77, 0x77, 0x77)
_DARK = RGBColor(0x33, 0x33, 0x33)


def _fonts(element_rpr: object, east_asian: str, latin: str) -> None:
    # python-docx sets only the Latin font; Chinese text uses w:eastAsia.
    rpr = element_rpr
    rfonts = rpr.get_or_add_rFonts()  # type: ignore[attr-defined]
    for attr in ("w:ascii", "w:hAnsi", "w:cs"):
        rfonts.set(qn(attr), latin)
    rfonts.set(qn("w:eastAsia"), east_asian)


def _tight(paragraph: Paragraph, line: float = 1.2) -> None:
    fmt = paragraph.paragraph_format
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(0)
    fmt.line_spacing = line


def _write_para(paragraph: Paragraph, para: Para, align: str | None, size_pt: float) -> None:
    paragraph.alignment = _ALIGN[para.align if para.align != "left" else (align or "left")]
    _tight(paragraph)
    for item in para.runs:
        run = paragraph.add_run(item.text)  # "\n" and "\t" become <w:br/> and <w:tab/>
        run.font.size = Pt(SMALL_PT if para.small else size_pt)
        if item.bold:
            run.bold = True
        if item.underline:
            run.underline = True
        if item.kind == "placeholder":
            run.font.color.rgb = _GREY
        elif para.small:
            run.font.color.rgb = _DARK


def _no_borders(table: Table) -> None:
    borders = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        edge = OxmlElement(f"w:{side}")
        edge.set(qn("w:val"), "nil")
        borders.append(edge)
    table._tbl.tblPr.append(borders)


def _fixed(table: Table, widths_mm: list[float]) -> None:
    table.autofit = False
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    table._tbl.tblPr.append(layout)
    for col, width in zip(table.columns, widths_mm, strict=True):
        col.width = Mm(width)
        for cell in col.cells:
            cell.width = Mm(width)


def _cant_split(row_tr: object) -> None:
    tr_pr = row_tr.get_or_add_trPr()  # type: ignore[attr-defined]
    tr_pr.append(OxmlElement("w:cantSplit"))


def _cell_margins(table: Table, mm_h: float, mm_v: float) -> None:
    mar = OxmlElement("w:tblCellMar")
    for side, value in (("top", mm_v), ("bottom", mm_v), ("left", mm_h), ("right", mm_h)):
        edge = OxmlElement(f"w:{side}")
        edge.set(qn("w:w"), str(round(value * 56.7)))  # twentieths of a point per mm
        edge.set(qn("w:type"), "dxa")
        mar.append(edge)
    table._tbl.tblPr.append(mar)


def _header(doc: object, sheet: Sheet) -> None:
    table = doc.add_table(rows=1, cols=3)  # type: ignore[attr-defined]
    _no_borders(table)
    _fixed(table, [TEXT_W - 80.0, 60.0, 20.0])
    left, middle, right = table.rows[0].cells
    p = left.paragraphs[0]
    _tight(p)
    run = p.add_run(sheet.attachment)
    run.font.size = Pt(14)
    _fonts(run._r.get_or_add_rPr(), *DOCX_LABEL)
    if sheet.number and sheet.qr_text:
        lines = [f"报名编号：{sheet.number}"]
        if sheet.verify_code:
            lines.append(f"校验码：{sheet.verify_code}")
        for n, line in enumerate(lines):
            para = middle.paragraphs[0] if n == 0 else middle.add_paragraph()
            _tight(para)
            para.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            para.add_run(line).font.size = Pt(SMALL_PT)
        pic = right.paragraphs[0]
        _tight(pic)
        pic.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        pic.add_run().add_picture(io.BytesIO(qr_png(sheet.qr_text)), width=Mm(19), height=Mm(19))
        middle.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.TOP


def sheet_docx(sheet: Sheet) -> bytes:
    """The DOCX of a filled-in form."""
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(PAGE_W), Mm(PAGE_H)
    section.top_margin, section.bottom_margin = Mm(MARGIN_TOP), Mm(MARGIN_BOTTOM)
    section.left_margin = section.right_margin = Mm(MARGIN_SIDE)
    section.header_distance = section.footer_distance = Mm(8)
    normal = doc.styles["Normal"]
    normal.font.size = Pt(sheet.font_pt)
    _fonts(normal.element.get_or_add_rPr(), *DOCX_BODY)
    core = doc.core_properties
    core.title = sheet.form_title
    core.subject = sheet.contest_title
    core.author = "科普微视频投稿助手"
    core.keywords = sheet.number or ""
    core.comments = ""

    _header(doc, sheet)

    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _tight(title, 1.3)
    title.paragraph_format.space_before = Pt(2)
    title.paragraph_format.space_after = Pt(8)
    for n, line in enumerate(sheet.title_lines):
        run = title.add_run(("\n" if n else "") + line)
        run.font.size = Pt(16)
        run.bold = True  # bold 宋体, as the PDF's bold serif: the 小标宋 look of official forms

    for heading in sheet.heading:
        band = doc.add_table(rows=1, cols=len(heading))
        _no_borders(band)
        # The unit's name may be long; 序号 and dates are short.
        _fixed(band, [TEXT_W] if len(heading) == 1 else [TEXT_W * 0.68, TEXT_W * 0.32])
        _cell_margins(band, 0, 0.5)
        for slot, part in zip(band.rows[0].cells, heading, strict=True):
            _write_para(slot.paragraphs[0], part, None, 11)

    widths = [TEXT_W * w / 100 for w in sheet.columns]
    table = doc.add_table(rows=len(sheet.rows), cols=len(widths))
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _fixed(table, widths)
    _cell_margins(table, 1.8, 1.0)
    for row_sheet, row in zip(sheet.rows, table.rows, strict=True):
        row.height = Mm(row_sheet.height_mm)
        row.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
        _cant_split(row._tr)
        col = 0
        for cell_sheet in row_sheet.cells:
            cell: _Cell = row.cells[col]
            if cell_sheet.span > 1:
                cell = cell.merge(row.cells[col + cell_sheet.span - 1])
            col += cell_sheet.span
            cell.vertical_alignment = (
                WD_CELL_VERTICAL_ALIGNMENT.TOP
                if cell_sheet.valign == "top"
                else WD_CELL_VERTICAL_ALIGNMENT.CENTER
            )
            for n, content in enumerate(cell_sheet.paras):
                target = cell.paragraphs[0] if n == 0 else cell.add_paragraph()
                _write_para(target, content, cell_sheet.align, sheet.font_pt)

    for text in sheet.footnotes:
        p = doc.add_paragraph()
        _tight(p)
        p.paragraph_format.space_before = Pt(3 if text is sheet.footnotes[0] else 0)
        p.add_run(text).font.size = Pt(10)
    if sheet.model_note:
        p = doc.add_paragraph()
        _tight(p)
        p.paragraph_format.space_before = Pt(4)
        run = p.add_run(sheet.model_note)
        run.font.size = Pt(SMALL_PT)
        run.font.color.rgb = _DARK

    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


# --- the same DOCX, drawn once per shape of sheet ---------------------------------------------
#
# bench/README.md 'Forms': python-docx builds the whole document object by object for every
# submission (~40 ms of CPU), while only the entrant's values, the number and its QR code
# change.  So the document is drawn once per *shape* (the sheet with every value replaced by a
# numbered mark) and the values are then written into its XML: the bytes python-docx would have
# written (tests/test_form_looks.py compares every part for the five notices' forms).

#: Private-use characters around a mark's number: ``printable`` values never hold these as
#: marks, and a value is written in after the marks are found, so it is never searched itself.
_MARK = "\ue000{}\ue001"
_MARKED = re.compile("<w:t>\ue000(\\d+)\ue001</w:t>|\ue000(\\d+)\ue001")


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _run_content(text: str) -> str:
    """A run's text as python-docx writes it (``CT_R.text``): tabs and line breaks as their
    own elements, ``xml:space="preserve"`` where the text starts or ends with white space."""
    out = []
    for n, part in enumerate(re.split(r"(\t|\r|\n)", text)):
        if n % 2:
            out.append("<w:tab/>" if part == "\t" else "<w:br/>")
        elif part:
            space = ' xml:space="preserve"' if len(part.strip()) < len(part) else ""
            out.append(f"<w:t{space}>{_xml_text(part)}</w:t>")
    return "".join(out)


def _shape(sheet: Sheet) -> tuple[Sheet, list[str]]:
    """``sheet`` with each value run, the number and the code replaced by a mark; the texts
    the marks stand for, by number."""
    texts: list[str] = []

    def mark(text: str) -> str:
        texts.append(text)
        return _MARK.format(len(texts) - 1)

    def para(p: Para) -> Para:
        runs = tuple(dataclasses.replace(r, text=mark(r.text)) if r.kind == "value" else r for r in p.runs)
        return dataclasses.replace(p, runs=runs)

    def row(r: Row) -> Row:
        cells = tuple(dataclasses.replace(c, paras=tuple(para(p) for p in c.paras)) for c in r.cells)
        return dataclasses.replace(r, cells=cells)

    shape = dataclasses.replace(
        sheet,
        heading=tuple(tuple(para(p) for p in line) for line in sheet.heading),
        rows=tuple(row(r) for r in sheet.rows),
        number=mark(sheet.number) if sheet.number else None,
        verify_code=mark(sheet.verify_code) if sheet.verify_code else None,
    )
    return shape, texts


@dataclasses.dataclass(frozen=True, slots=True)
class _Drawn:
    parts: tuple[tuple[zipfile.ZipInfo, bytes], ...]  # the package's parts, in its order
    marked: frozenset[str]  # the parts that hold marks (the document, its properties)
    picture: str | None  # the QR code's part


@functools.lru_cache(maxsize=64)
def _drawn(shape: Sheet) -> _Drawn:
    with zipfile.ZipFile(io.BytesIO(sheet_docx(shape))) as package:
        parts = tuple((info, package.read(info)) for info in package.infolist())
    marked = frozenset(info.filename for info, data in parts if "\ue000".encode() in data)
    pictures = [info.filename for info, _ in parts if info.filename.startswith("word/media/")]
    if len(pictures) > 1:
        raise AssertionError(f"a form holds one picture, its QR code, not {pictures}")
    return _Drawn(parts, marked, pictures[0] if pictures else None)


def filled_docx(sheet: Sheet) -> bytes:
    """What :func:`sheet_docx` gives for ``sheet``, from the document drawn once for its shape."""
    shape, texts = _shape(sheet)
    drawn = _drawn(shape)

    def fill(m: re.Match[str]) -> str:
        return _run_content(texts[int(m[1])]) if m[1] is not None else _xml_text(texts[int(m[2])])

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info, data in drawn.parts:
            if info.filename in drawn.marked:
                data = _MARKED.sub(fill, data.decode("utf-8")).encode("utf-8")
            elif info.filename == drawn.picture and sheet.qr_text:
                data = qr_png(sheet.qr_text)
            out.writestr(info, data)
    return buf.getvalue()
