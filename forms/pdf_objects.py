"""The PDF objects a skeleton (:mod:`forms.overlay`) writes around WeasyPrint's painting.

Its resources (opaque graphics states only), the streams its pages and its values are painted
into (the values' fonts named apart), its objects kept already written out (:class:`Raw`),
attachments, the document's streams deflated at :data:`DEFLATE_LEVEL` (also WeasyPrint's own
finisher's, :func:`forms.pdf._deflate`).
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Sequence
from typing import Any

#: bench/README.md 'Documents at the deadline': pydyf deflates every stream at level 9, ~12 ms
#: of a receipt's ~490 KB of fonts; level 6 takes ~5 ms and, on these fonts, is no larger.
DEFLATE_LEVEL = 6

#: The graphics states WeasyPrint sets for opaque colours: in every skeleton's resources, so
#: that the values' streams may set them too.
OPAQUE = ("a1", "A1", "a1.0", "A1.0")


def opaque_resources() -> Any:
    import pydyf  # type: ignore[import-untyped]

    return pydyf.Dictionary(
        {
            "ExtGState": pydyf.Dictionary(
                {key: pydyf.Dictionary({"CA" if key[0] == "A" else "ca": 1}) for key in OPAQUE}
            ),
            "XObject": pydyf.Dictionary(),
            "Pattern": pydyf.Dictionary(),
            "Shading": pydyf.Dictionary(),
        }
    )


def value_stream(fonts: dict[Any, Any], resources: Any, page: Any) -> Any:
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


def page_stream(fonts: dict[Any, Any], resources: Any, page: Any) -> Any:
    from weasyprint.pdf.stream import Stream

    width, height = page.margin_width(), page.margin_height()
    stream = Stream(fonts, (0, 0, width, height), resources, {}, None, {}, None, compress=True)
    stream.transform(d=-1, f=height * 0.75)
    return stream


class Raw:
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


def attach(pdf: Any, attachments: dict[str, bytes]) -> None:
    import pydyf
    import weasyprint  # type: ignore[import-untyped]
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
