"""A form's page drawn once, the entrant's text set over it.

bench/README.md 'Documents in a tenth of a second': WeasyPrint spends a form's ~200 ms on
parsing, the cascade, the table's layout, painting and the fonts, about evenly; the entrant's
words are a small part of it.  So each drawing process lays a form (or a receipt) out once per
*shape* (the sheet with its values' words replaced by stand-ins: :func:`shape`) and keeps
(:class:`Skeleton`):

* the pages painted without the cells that hold values and without the QR code, cut where
  those would have been painted, their fonts and every other PDF object, written out once;
* for each cell that holds a value, its paragraphs before layout (WeasyPrint's boxes, styles
  computed) and the cell's place on the page.

Per submission only those paragraphs are laid out again (WeasyPrint's own inline layout:
Pango's line breaking, the stylesheet's alignment, ``pre-wrap`` and ``overflow-wrap``) at the
cell's place, painted by WeasyPrint's own painter into streams of their own (fonts named apart)
that go between the skeleton's pieces, and the kept objects are written around them.  When a
cell's new words would change the height of its row (the table below would move) or a line
of them is wider than its cell (the heading's tables, laid out automatically, would widen the
column), :meth:`Skeleton.pdf` raises :class:`Unfit` (:class:`Taller` when another skeleton, with
as many lines in its stand-ins, would do) and the caller draws the whole document
(:func:`forms.pdf.set_over`).  ``tests/test_form_looks.py`` keeps both ways pixel for pixel the same.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import logging
import re
import threading
import zlib
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from forms.sheet import Para, Run, Sheet

log = logging.getLogger(__name__)

#: A value's stand-in in the skeleton: one common hanzi, so that the line is as tall as text.
STAND_IN = "国"
#: The number and code at the top are right-aligned in a column as wide as their text: their
#: stand-ins are a full-width letter per character, wider than any digit or Latin letter.
WIDE = "Ｗ"
#: Skeletons kept per process (one per contest, form and shape of sheet in practice).
KEPT = 32
#: At most this many lines added to the stand-ins (:class:`Taller`) over all of a document's
#: values: beyond, the whole document is drawn, its skeleton not made (values of pages of lines
#: would change the page anyway, and each such skeleton would push a useful one out).  The
#: forms' full-length values of tests/test_form_looks.py add at most 10.
MOST_LINES_ADDED = 24
#: Lengths in CSS pixels closer than this are the same.
EPSILON = 1e-6
_LINE_FEEDS = re.compile(r"\r\n?")
#: bench/README.md 'Documents at the deadline': pydyf deflates every stream at level 9, ~12 ms
#: of a receipt's ~490 KB of fonts; level 6 takes ~5 ms and, on these fonts, is no larger.
DEFLATE_LEVEL = 6


class Unfit(Exception):
    """The values do not fit the skeleton: draw the whole document instead."""


class Taller(Unfit):
    """The values take other numbers of lines than their stand-ins: ``extra`` maps a value's
    index (:func:`values`' order) to the lines its paragraph takes beyond what it takes with a
    one-line stand-in (the skeleton to use is :func:`shape` with these)."""

    def __init__(self, extra: dict[int, int]) -> None:
        super().__init__(f"values take more lines: {extra}")
        self.extra = extra


def shape(sheet: Sheet, extra: dict[int, int] | None = None) -> Sheet:
    """``sheet`` with each value's words replaced by :data:`STAND_IN`, the number and code by
    :data:`WIDE` (as many as their characters): what its skeleton is drawn from.  ``extra``:
    lines to add to some values' stand-ins (by index in :func:`values`' order; :class:`Taller`)."""
    extra = extra or {}
    count = [2 if sheet.number and sheet.verify_code else 1 if sheet.number else 0]

    def stand_in(run: Run) -> Run:
        if run.kind != "value":
            return run
        n = extra.get(count[0], 0)
        count[0] += 1
        return dataclasses.replace(run, text="\n".join([STAND_IN] * (1 + n)))

    def para_shape(para: Para) -> Para:
        return dataclasses.replace(para, runs=tuple(stand_in(r) for r in para.runs))

    heading = tuple(tuple(para_shape(p) for p in line) for line in sheet.heading)
    rows = tuple(
        dataclasses.replace(
            row,
            cells=tuple(
                dataclasses.replace(cell, paras=tuple(para_shape(p) for p in cell.paras))
                for cell in row.cells
            ),
        )
        for row in sheet.rows
    )
    return dataclasses.replace(
        sheet,
        rows=rows,
        heading=heading,
        number=WIDE * len(sheet.number) if sheet.number else None,
        verify_code=WIDE * len(sheet.verify_code) if sheet.verify_code else None,
    )


def values(sheet: Sheet) -> list[str]:
    """The words the template writes in ``span.value`` and ``span.code``, in document order
    (``forms/templates/form.html.j2``: the number and code, the heading, the table)."""
    out = [t for t in (sheet.number, sheet.verify_code if sheet.number else None) if t]
    paras = [p for line in sheet.heading for p in line]
    paras += [p for row in sheet.rows for cell in row.cells for p in cell.paras]
    out += [r.text for p in paras for r in p.runs if r.kind == "value"]
    return out


# --- WeasyPrint's boxes -------------------------------------------------------------------


def _classes(box: Any) -> list[str]:
    element = getattr(box, "element", None)
    if element is None or not hasattr(element, "get"):
        return []
    return str(element.get("class") or "").split()


def _walk(box: Any) -> Iterator[Any]:
    yield box
    for child in getattr(box, "children", ()):
        yield from _walk(child)


#: The classes of the templates' elements whose text is a value: ``form.html.j2``'s
#: ``span.value`` and ``span.code`` (the number and code), ``receipt.html.j2``'s ``td.value``
#: and ``p.token``.
VALUE_CLASSES = ("value", "code", "token")


def _is_value(box: Any) -> bool:
    """A text box of a value (its element's own text, one text box a value)."""
    from weasyprint.formatting_structure import boxes  # type: ignore[import-untyped]

    return isinstance(box, boxes.TextBox) and any(c in _classes(box) for c in VALUE_CLASSES)


@dataclass
class _Paragraph:
    """A block of lines in a cell that holds values: its box before layout (a block with one
    line box), and its laid-out box in the skeleton."""

    before: Any
    laid: Any
    dynamic: bool


@dataclass
class _Cell:
    laid: Any  # the table cell in the skeleton, laid out
    paragraphs: list[_Paragraph]
    top: float  # where the content starts, before vertical alignment
    room: float  # the content's height the row gives it
    tight: bool  # the cell's content sets the row's height: it must keep its height
    valign: str
    free: bool = False  # the page's last paragraph (the receipt's token): no stand-in lines


class Skeleton:
    """One shape of sheet laid out and drawn once (see the module docstring)."""

    def __init__(
        self,
        html: str,
        *,
        images: dict[str, Any],
        stylesheets: Sequence[Any],
        font_config: Any,
        extra: dict[int, int] | None = None,
    ) -> None:
        """``html`` drawn with its values' stand-ins, ``extra`` the lines added to some of
        them (:func:`shape`)."""
        self.extra = dict(extra or {})
        self.error_logged = False  # an error of :meth:`pdf` was logged (forms.pdf.set_over)
        import weasyprint  # type: ignore[import-untyped]
        from weasyprint.css.counters import CounterStyle  # type: ignore[import-untyped]
        from weasyprint.document import Document  # type: ignore[import-untyped]
        from weasyprint.formatting_structure.build import (  # type: ignore[import-untyped]
            build_formatting_structure,
        )
        from weasyprint.layout import layout_document  # type: ignore[import-untyped]

        fetcher = weasyprint.URLFetcher(allowed_protocols=("data",), fail_on_errors=False)
        document = weasyprint.HTML(string=html, url_fetcher=fetcher, base_url=None)
        options = dict(weasyprint.DEFAULT_OPTIONS)
        options.update(cache=dict(images), stylesheets=list(stylesheets))
        counter_style = CounterStyle()
        context = Document._build_layout_context(document, font_config, counter_style, {}, options)
        root = build_formatting_structure(
            document.etree_element,
            context.style_for,
            context.get_image_from_uri,
            document.base_url,
            context.target_collector,
            counter_style,
            context.footnotes,
        )
        before = {id(b.element): b for b in _walk(root) if _lines_holder(b)}
        self.pages = list(layout_document(document, root, context))
        self.context, self.page = context, self.pages[0]
        self.cells = [cell for page in self.pages for cell in self._cells(page, before)]
        self.qr = next((b for page in self.pages for b in _walk(page) if "qr" in _classes(b)), None)
        from weasyprint.html import get_html_metadata  # type: ignore[import-untyped]

        self.metadata = get_html_metadata(document)
        context.create_block_formatting_context()  # the values' lines are laid out in it
        self._static()

    def _cells(self, page: Any, before: dict[int, Any]) -> list[_Cell]:
        """The cells of ``page`` that hold values (and its last paragraph, if it does)."""
        from weasyprint.formatting_structure import boxes

        cells: list[_Cell] = []
        for row in _walk(page):
            if not isinstance(row, boxes.TableRowBox):
                continue
            for cell in row.children:
                holders = [b for b in _walk(cell) if _lines_holder(b)]
                dynamic = [any(_is_value(x) for x in _walk(h)) for h in holders]
                if not any(dynamic):
                    continue
                if any(id(h.element) not in before for h in holders) or any(
                    h is not cell and h not in cell.children for h in holders
                ):
                    raise Unfit("a cell's paragraphs are nested")
                style = cell.style
                pad_top, pad_bottom = _px(style["padding_top"]), _px(style["padding_bottom"])
                top = cell.position_y + cell.border_top_width + pad_top
                bottom = cell.position_y + cell.border_height() - cell.border_bottom_width - pad_bottom
                content = sum(c.margin_height() for c in cell.children)
                cells.append(
                    _Cell(
                        cell,
                        [
                            _Paragraph(before[id(h.element)], h, d)
                            for h, d in zip(holders, dynamic, strict=True)
                        ],
                        top,
                        bottom - top,
                        content >= bottom - top - EPSILON,
                        cell.vertical_align,
                    )
                )
        # A paragraph with values outside the tables: only the page's last (the receipt's
        # token), which may grow down to the page's bottom with nothing to move.
        covered = {id(p.laid) for c in cells for p in c.paragraphs}
        for holder in _walk(page):
            if not _lines_holder(holder) or id(holder) in covered:
                continue
            if not any(_is_value(x) for x in _walk(holder)):
                continue
            parent = next(b for b in _walk(page) if holder in getattr(b, "children", ()))
            if (
                parent.element_tag != "body"
                or parent.children[-1] is not holder
                or id(holder.element) not in before
            ):
                raise Unfit("a value outside the tables, not in the page's last paragraph")
            top = holder.content_box_y()
            room = page.content_box_y() + page.height - top
            cells.append(
                _Cell(
                    holder,
                    [_Paragraph(before[id(holder.element)], holder, True)],
                    top,
                    room,
                    False,
                    "top",
                    True,
                )
            )
        order = {id(b): n for n, b in enumerate(_walk(page))}
        return sorted(cells, key=lambda c: order[id(c.laid)])

    def _static(self) -> None:
        """Draw the page without the cells that hold values and without the QR code, and write
        every object of the PDF once but the values' content streams and the fonts.

        The page's content is an array of streams: the skeleton's, cut where WeasyPrint would
        have drawn a cell's values or the QR code, and between its pieces the values' streams
        (each in ``q`` … ``Q``), so that the text comes in reading order, as WeasyPrint draws it
        (what pdftotext and pypdf give)."""
        import pydyf  # type: ignore[import-untyped]
        import weasyprint.draw as draw  # type: ignore[import-untyped]
        from weasyprint.document import Page
        from weasyprint.pdf import build_fonts_dictionary  # type: ignore[import-untyped]

        # A box drawn in a slot of its own carries the slot's number (WeasyPrint's stacking
        # contexts draw copies of the boxes).
        marked = []
        held = {}
        for n, cell in enumerate(self.cells):
            for k, p in enumerate(cell.paragraphs):
                held[id(p.laid)] = p.laid.children
                p.laid.children = p.laid.children[:1] if k == 0 else ()
                if k == 0:
                    marked.append(p.laid.children[0])
                    p.laid.children[0].kepu_slot = n
        if self.qr is not None:
            marked.append(self.qr)
            self.qr.kepu_slot = len(self.cells)
        cut = [f"%kepu-slot-{n}".encode() for n in range(len(self.cells) + 1)]
        inline, replaced = draw.draw_inline_level, draw.draw_replacedbox

        def draw_inline(stream: Any, page: Any, box: Any, *args: Any, **kwargs: Any) -> None:
            slot = getattr(box, "kepu_slot", None)
            if slot is None:
                inline(stream, page, box, *args, **kwargs)
            else:
                stream.stream.append(cut[slot])

        def draw_replaced(stream: Any, box: Any) -> None:
            slot = getattr(box, "kepu_slot", None)
            if slot is None:
                replaced(stream, box)
            else:
                stream.stream.append(cut[slot])

        pdf = pydyf.PDF()
        fonts: dict[Any, Any] = {}
        resources = _resources()
        streams = [_page_stream(fonts, resources, page) for page in self.pages]
        draw.draw_inline_level, draw.draw_replacedbox = draw_inline, draw_replaced
        try:
            for page, stream in zip(self.pages, streams, strict=True):
                Page(page).paint(stream, 0.75)
        finally:
            draw.draw_inline_level, draw.draw_replacedbox = inline, replaced
            for box in marked:
                del box.kepu_slot
            for cell in self.cells:
                for p in cell.paragraphs:
                    p.laid.children = held[id(p.laid)]
        if any(resources[key] for key in ("XObject", "Pattern", "Shading")):
            raise Unfit("the page draws images, patterns or shadings")
        # The slots of each page in drawing order, and the pieces of its stream between them.
        self.order = [[cut.index(op) for op in stream.stream if op in cut] for stream in streams]
        if sorted(n for slots in self.order for n in slots) != list(
            range(len(self.cells) + (self.qr is not None))
        ):
            raise Unfit("a cell with values or the QR code was not drawn once")
        pieces: list[list[list[Any]]] = []
        for stream in streams:
            pieces.append([[]])
            for op in stream.stream:
                if op in cut:
                    pieces[-1].append([])
                else:
                    pieces[-1][-1].append(op)
        options = {"hinting": False, "pdf_version": None}
        pdf_fonts = build_fonts_dictionary(pdf, fonts, True, True, options)
        self.fonts = {key: bytes(ref) for key, ref in pdf_fonts.items()}
        contents: list[list[Any]] = []
        for page_pieces in pieces:
            contents.append([])
            for piece in page_pieces:
                content = pydyf.Stream(piece, compress=True)
                pdf.add_object(content)
                contents[-1].append(content.reference)
        for key in ("XObject", "Pattern", "Shading", "ExtGState"):
            if not resources[key]:
                del resources[key]
        pdf.add_object(resources)
        self.width, self.height = self.page.margin_width() * 0.75, self.page.margin_height() * 0.75
        pages = []
        for page_box in self.pages:
            width, height = page_box.margin_width() * 0.75, page_box.margin_height() * 0.75
            page = pydyf.Dictionary(
                {
                    "Type": "/Page",
                    "Parent": pdf.pages.reference,
                    "MediaBox": pydyf.Array([0, 0, width, height]),
                    "Contents": pydyf.Array(),
                    "Resources": resources.reference,
                    "TrimBox": pydyf.Array([0, 0, width, height]),
                    "BleedBox": pydyf.Array([0, 0, width, height]),
                }
            )
            pdf.add_page(page)
            pages.append(page)
        # After these objects: the values' streams, one per slot, page by page, then the fonts.
        number = len(pdf.objects)
        for page, refs, slots in zip(pages, contents, self.order, strict=True):
            for n, ref in enumerate(refs):
                page["Contents"].append(ref)
                if n < len(slots):
                    page["Contents"].append(f"{number} 0 R")
                    number += 1
        resources["Font"] = f"{number} 0 R"
        deflate_streams(pdf.objects)
        self.objects = [(o.data, o.compressible) for o in pdf.objects[3:]]
        self.page_numbers = {page.number for page in pages}

    def pdf(
        self, texts: Sequence[str], qr: Any | None, attachments: Any = None, *, title: str | None = None
    ) -> bytes:
        """The page with ``texts`` (:func:`values`' order) in its cells and the QR code
        ``qr`` (a :class:`forms.qr.QRDrawing`), ``attachments`` embedded and ``title`` as the
        document's (else the skeleton's), or :class:`Unfit`."""
        import pydyf
        from weasyprint.draw import draw_inline_level, draw_replacedbox
        from weasyprint.pdf import build_fonts_dictionary

        lines = self._layout(list(texts))
        pdf = pydyf.PDF()
        for data, compressible in self.objects:
            raw = _Raw(data, compressible)
            if len(pdf.objects) in self.page_numbers:
                pdf.add_page(raw)
            else:
                pdf.add_object(raw)
        fonts: dict[Any, Any] = {}
        resources = _resources()
        for page, slot in (
            (page, slot) for page, slots in zip(self.pages, self.order, strict=True) for slot in slots
        ):
            stream = _value_stream(fonts, resources, page)
            pdf.add_object(stream)
            stream.stream.append(b"q")
            if slot < len(self.cells):
                for line in lines[slot]:
                    draw_inline_level(stream, page, line)
            elif qr is not None and self.qr is not None:
                box = self.qr.copy()
                box.replacement = qr
                draw_replacedbox(stream, box)
            stream.stream.append(b"Q")
        if any(resources[key] for key in ("XObject", "Pattern", "Shading")) or set(
            resources["ExtGState"]
        ) - set(_OPAQUE):
            raise Unfit("the values drew more than opaque text")
        page_fonts = pydyf.Dictionary({key: ref.decode() for key, ref in self.fonts.items()})
        pdf.add_object(page_fonts)
        options = {"hinting": False, "pdf_version": None}
        for key, ref in build_fonts_dictionary(pdf, fonts, True, True, options).items():
            page_fonts[key] = ref
        self._info(pdf, title)
        if attachments:
            _attach(pdf, attachments)
        deflate_streams(pdf.objects[len(self.objects) + 3 :])
        out = io.BytesIO()
        pdf.write(out, None, None, True)
        return out.getvalue()

    def _info(self, pdf: Any, title: str | None) -> None:
        import pydyf
        import weasyprint

        pdf.info["Producer"] = pydyf.String(f"WeasyPrint {weasyprint.VERSION}")
        if title := title or self.metadata.get("title"):
            pdf.info["Title"] = pydyf.String(title)
        if description := self.metadata.get("description"):
            pdf.info["Subject"] = pydyf.String(description)
        if lang := self.metadata.get("lang"):
            pdf.catalog["Lang"] = pydyf.String(lang)

    # --- the values' lines ---------------------------------------------------------------

    def _layout(self, texts: list[str]) -> list[list[Any]]:
        """The lines of each cell that holds values, laid out with ``texts`` in them."""
        from weasyprint.layout.background import layout_box_backgrounds  # type: ignore[import-untyped]

        queue = _Queue(texts)
        out: list[list[Any]] = []
        needed: dict[int, int] = {}  # lines beyond a one-line stand-in's, by the value's index
        unfit = False
        for cell in self.cells:
            y = cell.top
            lines: list[Any] = []
            for p in cell.paragraphs:
                if p.dynamic:
                    new, height = self._lines(cell, p, queue, y)
                    if any(line.width > p.laid.width + EPSILON for line in new):
                        # A word wider than its cell: the whole drawing widens the heading's
                        # (automatic) table's column, or the text overflows the cell.
                        raise Unfit("a value wider than its cell")
                    last = queue.taken - 1  # the paragraph's last value carries its added lines
                    more = len(new) - (len(p.laid.children) - self.extra.get(last, 0))
                    if more > 0 and not cell.free:  # its lines move nothing: not the skeleton's name
                        needed[last] = more
                else:  # the skeleton's lines, moved to where the paragraph now starts
                    new = [line.deepcopy() for line in p.laid.children]
                    dy = y - p.laid.position_y
                    for line in new:
                        line.translate(dy=dy)
                    height = p.laid.margin_height()
                lines += new
                y += height
            height = y - cell.top
            if height > cell.room + EPSILON or (cell.tight and abs(height - cell.room) > EPSILON):
                unfit = True  # the row would be taller or shorter: the table below would move
            shift = {"middle": (cell.room - height) / 2, "bottom": cell.room - height}.get(cell.valign, 0.0)
            for line in lines:
                line.translate(dy=shift)
                layout_box_backgrounds(self.page, line, self.context.get_image_from_uri)
            out.append(lines)
        if queue.taken != len(texts):
            raise Unfit("more values than cells for them")
        if unfit:
            raise Taller(needed) if needed != self.extra else Unfit("a value changes its row's height")
        return out

    def _lines(self, cell: _Cell, p: _Paragraph, queue: _Queue, y: float) -> tuple[list[Any], float]:
        from weasyprint.layout.inline import iter_line_boxes  # type: ignore[import-untyped]

        block, laid = p.before, p.laid
        line = _with_texts(block.children[0], queue)
        line.position_x = laid.content_box_x()
        top = y if laid is cell.laid else y + (laid.content_box_y() - laid.position_y)
        line.position_y = top
        new = [
            ln
            for ln, _ in iter_line_boxes(
                self.context, line, top, float("-inf"), None, laid, [], [], None, None
            )
        ]
        bottom = new[-1].position_y + new[-1].height if new else top
        if laid is not cell.laid:
            bottom += laid.margin_bottom + laid.padding_bottom + laid.border_bottom_width
        return new, bottom - y


def _lines_holder(box: Any) -> bool:
    """A block whose children are line boxes (a paragraph, or a cell with inline content)."""
    from weasyprint.formatting_structure import boxes

    return (
        isinstance(box, boxes.BlockContainerBox)
        and bool(box.children)
        and all(isinstance(c, boxes.LineBox) for c in box.children)
    )


class _Queue:
    """The values, taken one by one."""

    def __init__(self, texts: list[str]) -> None:
        self.texts, self.taken = texts, 0

    def __next__(self) -> str:
        if self.taken >= len(self.texts):
            raise Unfit("more cells for values than values")
        self.taken += 1
        return self.texts[self.taken - 1]


def _with_texts(line: Any, queue: _Queue) -> Any:
    """A deep copy of ``line`` (before layout), each value's text the next of ``queue``."""
    from weasyprint.formatting_structure import boxes

    def copy(box: Any) -> Any:
        if _is_value(box):
            return _text_box(box, next(queue))
        if isinstance(box, boxes.ParentBox):
            return box.copy_with_children([copy(c) for c in box.children])
        return box.copy()

    return copy(line)


def _text_box(box: Any, text: str) -> Any:
    """``box`` with ``text``, processed as WeasyPrint's box builder processes a value's."""
    if not text:
        raise Unfit("an empty value")
    if box.style["white_space"] not in ("pre", "pre-wrap") and any(ch.isspace() for ch in text):
        raise Unfit("spaces in a value whose spaces collapse")
    text = _LINE_FEEDS.sub("\n", text)
    if box.style["text_transform"] != "none" or box.style["hyphens"] == "none":
        raise Unfit("a transformed text")
    return box.copy_with_text(text)


def _px(value: Any) -> float:
    if getattr(value, "unit", "px") != "px":
        raise Unfit(f"a length in {value.unit}")
    return float(getattr(value, "value", value))


#: The graphics states WeasyPrint sets for opaque colours: in every skeleton's resources, so
#: that the values' streams may set them too.
_OPAQUE = ("a1", "A1", "a1.0", "A1.0")


def _resources() -> Any:
    import pydyf

    return pydyf.Dictionary(
        {
            "ExtGState": pydyf.Dictionary(
                {key: pydyf.Dictionary({"CA" if key[0] == "A" else "ca": 1}) for key in _OPAQUE}
            ),
            "XObject": pydyf.Dictionary(),
            "Pattern": pydyf.Dictionary(),
            "Shading": pydyf.Dictionary(),
        }
    )


def _value_stream(fonts: dict[Any, Any], resources: Any, page: Any) -> Any:
    """A WeasyPrint stream for the values, drawing in CSS pixels (where the skeleton's stream
    is when it is cut), its fonts named apart from the skeleton's (``V`` before the hash)."""
    width, height = page.margin_width(), page.margin_height()
    return _value_stream_class()(fonts, (0, 0, width, height), resources, {}, None, {}, None, compress=True)


@functools.cache
def _value_stream_class() -> Any:
    from weasyprint.pdf.stream import Stream  # type: ignore[import-untyped]

    class ValueStream(Stream):  # type: ignore[misc]
        def add_font(self, pango_font: Any) -> Any:
            font, size = super().add_font(pango_font)
            if not font.hash.startswith("V"):
                font.hash = "V" + font.hash
            return font, size

    return ValueStream


def _page_stream(fonts: dict[Any, Any], resources: Any, page: Any) -> Any:
    from weasyprint.pdf.stream import Stream

    width, height = page.margin_width(), page.margin_height()
    stream = Stream(fonts, (0, 0, width, height), resources, {}, None, {}, None, compress=True)
    stream.transform(d=-1, f=height * 0.75)
    return stream


class _Raw:
    """An object of the PDF already written out (the skeleton's)."""

    def __init__(self, data: bytes, compressible: bool) -> None:
        self.number: int | None = None
        self.offset = 0
        self.generation = 0
        self.free = "n"
        self.data = data
        self.compressible = compressible

    @property
    def indirect(self) -> bytes:
        return f"{self.number} 0 obj\n".encode() + self.data + b"\nendobj"

    @property
    def reference(self) -> bytes:
        return f"{self.number} 0 R".encode()


def deflate_streams(objects: Sequence[Any]) -> None:
    """Each stream pydyf would deflate, deflated at :data:`DEFLATE_LEVEL` instead (a stream of
    anything but bytes is left to pydyf)."""
    for obj in objects:
        if not getattr(obj, "compress", False) or "Filter" in getattr(obj, "extra", {}):
            continue
        if not all(isinstance(item, bytes) for item in obj.stream):
            continue
        obj.stream = [zlib.compress(b"\n".join(obj.stream), DEFLATE_LEVEL)]
        obj.extra["Filter"] = "/FlateDecode"
        obj.compress = False


def _attach(pdf: Any, attachments: dict[str, bytes]) -> None:
    import pydyf
    import weasyprint
    from weasyprint.pdf.anchors import write_pdf_attachment  # type: ignore[import-untyped]

    fetcher = weasyprint.URLFetcher(allowed_protocols=("data",), fail_on_errors=False)
    names = pydyf.Array()
    for name, data in attachments.items():
        attachment = weasyprint.Attachment(string=data, name=name, url_fetcher=fetcher)
        pdf_attachment = write_pdf_attachment(pdf, attachment, True)
        if pdf_attachment is not None:
            names.append(pdf_attachment["F"])
            names.append(pdf_attachment.reference)
    content = pydyf.Dictionary({"Names": names})
    pdf.add_object(content)
    pdf.catalog["Names"] = pydyf.Dictionary({"EmbeddedFiles": content.reference})


# --- the kept skeletons ---------------------------------------------------------------------

_LOCK = threading.Lock()


@functools.cache
def _kept() -> OrderedDict[Any, Skeleton | None]:
    return OrderedDict()


def skeleton(key: Any, make: Any) -> Skeleton | None:
    """The skeleton kept under ``key``, made by ``make()`` the first time (None when the
    shape cannot have one)."""
    kept = _kept()
    with _LOCK:
        if key in kept:
            kept.move_to_end(key)
            return kept[key]
    try:
        made: Skeleton | None = make()
    except Unfit:
        made = None
    except Exception:  # WeasyPrint's internals, used here, changed: the whole drawing
        log.exception("no skeleton for this shape; its documents are drawn whole")
        made = None
    with _LOCK:
        kept[key] = made
        while len(kept) > KEPT:
            kept.popitem(last=False)
    return made
