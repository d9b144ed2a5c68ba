"""A form's page drawn once, the entrant's text set over it.

bench/README.md 'Documents in a tenth of a second': WeasyPrint spends a form's ~200 ms on
parsing, the cascade, the table's layout, painting and the fonts, about evenly; the entrant's
words are a small part of it.  So each drawing process lays a form (or a receipt) out once per
*shape* (the sheet with its values' words replaced by stand-ins: :func:`forms.stand_ins.shape`)
and keeps (:class:`Skeleton`):

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

Beside it: the shapes and the values' order (:mod:`forms.stand_ins`), the boxes that hold the
values (:mod:`forms.value_boxes`), the PDF objects written around them (:mod:`forms.pdf_objects`).
"""

from __future__ import annotations

import functools
import io
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from forms.pdf_objects import (
    OPAQUE,
    Raw,
    attach,
    deflate_streams,
    opaque_resources,
    page_stream,
    value_stream,
)
from forms.stand_ins import Taller, Unfit
from forms.value_boxes import ValueQueue, classes, is_value, lines_holder, px, walk, with_texts

log = logging.getLogger(__name__)

#: Skeletons kept per process (one per contest, form and shape of sheet in practice).
KEPT = 32
#: Lengths in CSS pixels closer than this are the same.
EPSILON = 1e-6


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
        them (:func:`forms.stand_ins.shape`)."""
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
        before = {id(b.element): b for b in walk(root) if lines_holder(b)}
        self.pages = list(layout_document(document, root, context))
        self.context, self.page = context, self.pages[0]
        self.cells = [cell for page in self.pages for cell in self._cells(page, before)]
        self.qr = next((b for page in self.pages for b in walk(page) if "qr" in classes(b)), None)
        from weasyprint.html import get_html_metadata  # type: ignore[import-untyped]

        self.metadata = get_html_metadata(document)
        context.create_block_formatting_context()  # the values' lines are laid out in it
        self._static()

    def _cells(self, page: Any, before: dict[int, Any]) -> list[_Cell]:
        """The cells of ``page`` that hold values (and its last paragraph, if it does)."""
        from weasyprint.formatting_structure import boxes  # type: ignore[import-untyped]

        cells: list[_Cell] = []
        for row in walk(page):
            if not isinstance(row, boxes.TableRowBox):
                continue
            for cell in row.children:
                holders = [b for b in walk(cell) if lines_holder(b)]
                dynamic = [any(is_value(x) for x in walk(h)) for h in holders]
                if not any(dynamic):
                    continue
                if any(id(h.element) not in before for h in holders) or any(
                    h is not cell and h not in cell.children for h in holders
                ):
                    raise Unfit("a cell's paragraphs are nested")
                style = cell.style
                pad_top, pad_bottom = px(style["padding_top"]), px(style["padding_bottom"])
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
        for holder in walk(page):
            if not lines_holder(holder) or id(holder) in covered:
                continue
            if not any(is_value(x) for x in walk(holder)):
                continue
            parent = next(b for b in walk(page) if holder in getattr(b, "children", ()))
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
        order = {id(b): n for n, b in enumerate(walk(page))}
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
        resources = opaque_resources()
        streams = [page_stream(fonts, resources, page) for page in self.pages]
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
        """The page with ``texts`` (:func:`forms.stand_ins.values`' order) in its cells and the QR code
        ``qr`` (a :class:`forms.qr.QRDrawing`), ``attachments`` embedded and ``title`` as the
        document's (else the skeleton's), or :class:`Unfit`."""
        import pydyf
        from weasyprint.draw import draw_inline_level, draw_replacedbox
        from weasyprint.pdf import build_fonts_dictionary

        lines = self._layout(list(texts))
        pdf = pydyf.PDF()
        for data, compressible in self.objects:
            raw = Raw(data, compressible)
            if len(pdf.objects) in self.page_numbers:
                pdf.add_page(raw)
            else:
                pdf.add_object(raw)
        fonts: dict[Any, Any] = {}
        resources = opaque_resources()
        for page, slot in (
            (page, slot) for page, slots in zip(self.pages, self.order, strict=True) for slot in slots
        ):
            stream = value_stream(fonts, resources, page)
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
        ) - set(OPAQUE):
            raise Unfit("the values drew more than opaque text")
        page_fonts = pydyf.Dictionary({key: ref.decode() for key, ref in self.fonts.items()})
        pdf.add_object(page_fonts)
        options = {"hinting": False, "pdf_version": None}
        for key, ref in build_fonts_dictionary(pdf, fonts, True, True, options).items():
            page_fonts[key] = ref
        self._info(pdf, title)
        if attachments:
            attach(pdf, attachments)
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

        queue = ValueQueue(texts)
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

    def _lines(self, cell: _Cell, p: _Paragraph, queue: ValueQueue, y: float) -> tuple[list[Any], float]:
        from weasyprint.layout.inline import iter_line_boxes  # type: ignore[import-untyped]

        block, laid = p.before, p.laid
        line = with_texts(block.children[0], queue)
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
