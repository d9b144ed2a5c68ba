"""QR codes for forms and receipts (segno: pure Python, no image library needed)."""

from __future__ import annotations

import io
from typing import Any

import segno

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
    through the middle of each run of dark modules, filled and stroked black, scaled from one unit a module to the
    image's box), without the SVG.  Given to WeasyPrint through its image cache under
    :data:`QR_SRC` (:func:`forms.pdf.html_to_pdf`)."""

    def __init__(self, text: str) -> None:
        self.matrix = segno.make(text, error="m", micro=False).matrix
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
