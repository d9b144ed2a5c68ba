"""Bar charts drawn on the server as inline SVG: no script, no web font, nothing fetched, so
they show in WeChat's browser on a phone as they are.  Colours are presentation attributes
(the console's Content-Security-Policy allows no inline ``style``); every text is escaped.

:func:`column_chart` draws one column per item (days), :func:`row_chart` one row per item
(channels, units, states, failures) with its label in front."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

__all__ = ["column_chart", "row_chart"]

_BAR = "#1565c0"
_MUTED = "#5b6877"
_MARK = "#c62828"
_FONT = 'font-family="sans-serif" font-size="11"'
WIDTH = 360


def _open(height: int, title: str) -> str:
    name = escape(title, quote=True)
    return (
        f'<svg class="chart" role="img" aria-label="{name}" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" preserveAspectRatio="xMinYMin meet">'
        f"<title>{escape(title)}</title>"
    )


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def column_chart(
    items: Sequence[tuple[str, int]], *, title: str, marker: int | None = None, marker_label: str = ""
) -> str:
    """One column per ``(label, value)``, left to right; every few labels shown so that they do
    not overlap.  ``marker``: an item's index to mark with a dashed line (a deadline)."""
    height, top, bottom, left = 180, 18, 30, 4
    plot = height - top - bottom
    top_value = max((v for _, v in items), default=0) or 1
    step = (WIDTH - 2 * left) / max(len(items), 1)
    bar = min(step * 0.7, 28.0)  # a few days do not make a wall
    every = max(1, -(-len(items) // 8))  # at most about eight labels
    parts = [_open(height, title)]
    parts.append(
        f'<line x1="{left}" y1="{top + plot}" x2="{WIDTH - left}" y2="{top + plot}" '
        f'stroke="{_MUTED}" stroke-width="1"/>'
    )
    for i, (label, value) in enumerate(items):
        h = plot * value / top_value
        x = left + i * step
        tip = escape(f"{label}：{value}", quote=True)
        parts.append(
            f'<rect class="bar" x="{x + (step - bar) / 2:.1f}" y="{top + plot - h:.1f}" width="{bar:.1f}" '
            f'height="{h:.1f}" fill="{_BAR}"><title>{tip}</title></rect>'
        )
        if value and len(items) <= 31:
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{top + plot - h - 3:.1f}" text-anchor="middle" {_FONT} '
                f'fill="{_MUTED}">{value}</text>'
            )
        if i % every == 0:
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" {_FONT} '
                f'fill="{_MUTED}">{escape(label)}</text>'
            )
    if marker is not None and 0 <= marker < len(items):
        x = left + (marker + 1) * step
        parts.append(
            f'<line class="marker" x1="{x:.1f}" y1="{top - 10}" x2="{x:.1f}" y2="{top + plot}" '
            f'stroke="{_MARK}" stroke-width="1.5" stroke-dasharray="4 3"/>'
        )
        parts.append(
            f'<text x="{x - 3:.1f}" y="{top - 4}" text-anchor="end" {_FONT} fill="{_MARK}">'
            f"{escape(marker_label)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def row_chart(items: Sequence[tuple[str, int]], *, title: str, label_chars: int = 10) -> str:
    """One row per ``(label, value)``, top to bottom: the label, its bar and its value."""
    row, label_width, right = 24, 12 * label_chars + 6, 36
    height = max(len(items), 1) * row + 6
    top_value = max((v for _, v in items), default=0) or 1
    span = WIDTH - label_width - right
    parts = [_open(height, title)]
    for i, (label, value) in enumerate(items):
        y = 3 + i * row
        w = span * value / top_value
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end" font-family="sans-serif" '
            f'font-size="12" fill="#1d2733">{escape(_short(label, label_chars))}'
            f"<title>{escape(label)}</title></text>"
        )
        parts.append(
            f'<rect class="bar" x="{label_width}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" '
            f'fill="{_BAR}">'
            f"<title>{escape(f'{label}：{value}', quote=True)}</title></rect>"
        )
        parts.append(
            f'<text x="{label_width + w + 4:.1f}" y="{y + 15}" {_FONT} fill="{_MUTED}">{value}</text>'
        )
    if not items:
        parts.append(
            f'<text x="{WIDTH // 2}" y="18" text-anchor="middle" {_FONT} fill="{_MUTED}">暂无数据</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
