"""QR codes for forms and receipts (segno: pure Python, no image library needed)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import segno
from segno import encoder

#: The quiet zone around a QR code, in modules (the PDFs' and the DOCX's).
BORDER = 2
#: The ``src`` of a PDF's QR image: never fetched, WeasyPrint finds it among the images it is
#: given (:class:`QRDrawing`).
QR_SRC = "data:image/svg+xml,kepu-qr"


def qr_svg_uri(text: str) -> str:
    """An SVG ``data:`` URI of a QR code with a small quiet zone, sized by the page's CSS."""
    return str(segno.make(text, error="m", micro=False).svg_data_uri(scale=1, border=BORDER))


def qr_png(text: str, scale: int = 8) -> bytes:
    """A PNG of a QR code with its quiet zone, for the DOCX."""
    buf = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buf, kind="png", scale=scale, border=BORDER)
    return buf.getvalue()


# bench/README.md 'Documents at the deadline': WeasyPrint parsing the SVG of :func:`qr_svg_uri`
# (its path of ~1,000 segments, point by point) cost ~25 ms of every form and receipt.
class QRDrawing:
    """A QR code as a WeasyPrint image that writes its modules straight into the page: the
    very path WeasyPrint draws from the SVG of :func:`qr_svg_uri` (a line of stroke width 1
    through the middle of each run of dark modules, filled and stroked black, scaled from one
    unit a module to the image's box), without the SVG.  Given to WeasyPrint through its image cache under
    :data:`QR_SRC` (:func:`forms.pdf.html_to_pdf`)."""

    def __init__(self, text: str) -> None:
        self.matrix = qr_matrix(text)
        self.size = len(self.matrix) + 2 * BORDER  # modules, quiet zone included

    def get_intrinsic_size(self, image_resolution: float, font_size: float) -> tuple[float, float, float]:
        """As WeasyPrint's SVG image of ``width=size height=size``: ``size`` CSS pixels."""
        return self.size, self.size, 1.0

    def path(self) -> str:
        """The runs of dark modules as PDF path operators, one module a unit."""
        ops = []
        for y, row in enumerate(self.matrix, start=BORDER):
            x, width = 0, len(row)
            while x < width:
                if row[x]:
                    end = x + 1
                    while end < width and row[end]:
                        end += 1
                    ops.append(f"{x + BORDER} {y}.5 m {end + BORDER} {y}.5 l")
                    x = end
                x += 1
        return "\n".join(ops)

    def draw(self, stream: Any, concrete_width: float, concrete_height: float, style: Any) -> None:
        """Called by WeasyPrint with the origin at the image box's top left corner."""
        stream.push_state()
        stream.transform(a=concrete_width / self.size, d=concrete_height / self.size)
        stream.set_color_rgb(0, 0, 0)
        stream.set_color_rgb(0, 0, 0, stroke=True)
        stream.set_line_width(1)
        stream.stream.append(self.path().encode())  # pydyf's own list of operators
        stream.fill_and_stroke()  # B, as WeasyPrint paints an SVG path (the fill is empty)
        stream.pop_state()


# --- segno's choice of mask, with numpy ----------------------------------------------------------
#
# bench/README.md 'Documents at the deadline': segno scores its eight masks in pure Python,
# ~17 ms of a receipt's ~600-character token.  The same scores (ISO/IEC 18004 7.8.3, as
# segno.encoder.mask_scores counts them) on numpy arrays, the same mask, the same symbol:
# tests/test_form_looks.py compares the matrices with segno's own for many texts.

_N3 = bytes((1, 0, 1, 1, 1, 0, 1))


def _masks(size: int) -> np.ndarray:
    """The eight QR data mask patterns (1 where the mask flips a module), shape (8, size, size)."""
    i, j = np.indices((size, size))
    return np.array(
        [
            (i + j) % 2 == 0,
            i % 2 == 0,
            j % 3 == 0,
            (i + j) % 3 == 0,
            (i // 2 + j // 3) % 2 == 0,
            (i * j) % 2 + (i * j) % 3 == 0,
            ((i * j) % 2 + (i * j) % 3) % 2 == 0,
            ((i + j) % 2 + (i * j) % 3) % 2 == 0,
        ],
        dtype=np.uint8,
    )


def _runs_score(m: np.ndarray) -> int:
    """N1 along the rows of ``m``: a run of ``n >= 5`` modules of one colour scores ``n - 2``."""
    size = m.shape[1]
    changes = np.ones((m.shape[0], size + 1), dtype=bool)
    changes[:, 1:size] = m[:, 1:] != m[:, :-1]
    rows, cols = np.nonzero(changes)
    lengths = np.diff(cols)[np.diff(rows) == 0]
    return int((lengths[lengths >= 5] - 2).sum())


def _finder_like(seq: bytes, size: int) -> int:
    """N3 along one row or column, exactly as segno counts it (40 per pattern found)."""
    count = 0
    idx = seq.find(_N3)
    while idx != -1:
        offset = idx + 7
        if (
            idx in (0, size - 7)
            or not any(seq[max(idx - 4, 0) : min(idx, size)])
            or not any(seq[max(offset, 0) : min(offset + 4, size)])
        ):
            count += 40
        else:
            offset = idx + 4
        idx = seq.find(_N3, offset)
    return count


def _penalty(m: np.ndarray) -> int:
    size = m.shape[0]
    n1 = _runs_score(m) + _runs_score(m.T)
    same = (m[1:, 1:] == m[1:, :-1]) & (m[1:, 1:] == m[:-1, 1:]) & (m[1:, 1:] == m[:-1, :-1])
    n2 = 3 * int(same.sum())
    rows, cols = m.tobytes(), np.ascontiguousarray(m.T).tobytes()
    n3 = sum(
        _finder_like(data[k * size : (k + 1) * size], size) for data in (rows, cols) for k in range(size)
    )
    percent = float(int(m.sum())) / (size**2)
    n4 = 10 * int(abs(percent * 100 - 50) / 5)
    return n1 + n2 + n3 + n4


def qr_matrix(text: str) -> tuple[bytearray, ...]:
    """``segno.make(text, error="m", micro=False).matrix``, its mask scored with numpy (segno's
    encoder functions are untyped: called through ``Any``)."""
    segno_encoder: Any = encoder
    code = segno_encoder.encode(text, "m", mask=0, micro=False)  # the symbol, with mask 0 and no scoring
    size = len(code.matrix)
    base = segno_encoder.make_matrix(size, size)  # what the modules are before the data is placed
    segno_encoder.add_finder_patterns(base, size, size)
    segno_encoder.add_alignment_patterns(base, size, size)
    function = np.array(base, dtype=np.uint8)
    data = function == 2  # the modules the data fills and the masks flip
    masks = _masks(size) & data
    plain = np.where(data, np.array(code.matrix, dtype=np.uint8) ^ masks[0], function)
    scores = [_penalty(plain ^ mask) for mask in masks]
    best = scores.index(min(scores))  # the first of the lowest, as segno takes it
    if best == 0:
        return tuple(code.matrix)
    matrix = tuple(bytearray(row) for row in (np.array(code.matrix, dtype=np.uint8) ^ masks[0] ^ masks[best]))
    segno_encoder.add_format_info(matrix, code.version, code.error, best)
    return matrix
