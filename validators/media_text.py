"""The media check's wording: sizes, durations, ranges and dates as the notices write them.

Units: 兆/M/MB in the notices are MiB (what Windows and WeChat show), and sizes are shown the
same way ("152.3MB").
"""

from __future__ import annotations

import datetime as dt

from contests.rules import Window

MIB = 1 << 20
GIB = 1 << 30


def format_size(size: int) -> str:
    """Bytes as Windows and WeChat show them (binary units, one decimal): "152.3MB"."""
    if size < 1024:
        return f"{size}B"
    # The unit is chosen after rounding, so 1 MiB less a byte reads "1.0MB", not "1024.0KB".
    for unit, scale in (("KB", 1024), ("MB", MIB)):
        if round(size / scale, 1) < 1024:
            return f"{size / scale:.1f}{unit}"
    return f"{size / GIB:.1f}GB"


def format_duration(seconds: float) -> str:
    """Whole seconds as a viewer reads them: "1分32秒", "3分钟", "45秒", "1小时2分5秒"."""
    total = int(seconds + 0.5)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}小时{minutes}分{secs}秒"
    if minutes:
        return f"{minutes}分{secs}秒" if secs else f"{minutes}分钟"
    return f"{secs}秒"


def number_text(value: float) -> str:
    return f"{value:g}"


def range_text(low: str | None, high: str | None, unit: str = "") -> str:
    if low is not None and high is not None:
        return f"{low}～{high}{unit}"
    return f"不少于{low}{unit}" if low is not None else f"不超过{high}{unit}"


def duration_range(low: int | None, high: int | None) -> str:
    if all(b is None or b % 60 == 0 for b in (low, high)):
        return range_text(
            None if low is None else number_text(low / 60),
            None if high is None else number_text(high / 60),
            "分钟",
        )
    return range_text(
        None if low is None else format_duration(low), None if high is None else format_duration(high)
    )


def date_text(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def window_text(window: Window) -> str:
    start = date_text(window.start) if window.start else ""
    end = date_text(window.end) if window.end else ""
    if start and end:
        return f"{start}～{end}"
    return f"{start}以后" if start else f"{end}以前"
