"""QR codes for forms and receipts (segno: pure Python, no image library needed)."""

from __future__ import annotations

import io

import segno


def qr_svg_uri(text: str) -> str:
    """An SVG ``data:`` URI of a QR code with a small quiet zone, sized by the page's CSS."""
    return str(segno.make(text, error="m", micro=False).svg_data_uri(scale=1, border=2))


def qr_png(text: str, scale: int = 8) -> bytes:
    """A PNG of a QR code with its quiet zone, for the DOCX."""
    buf = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buf, kind="png", scale=scale, border=2)
    return buf.getvalue()
