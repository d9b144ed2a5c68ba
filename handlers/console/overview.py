"""A contest at a glance, for its organisers: submissions per day against the deadline, by
entry route (渠道), by unit and by state, and the video checks that fail most often, each as a
chart (:mod:`handlers.console.charts`).

The failures come from what a submission keeps of its video (``sub.video``): the checks of
:meth:`validators.media.MediaReport.to_dict` (``checks`` with ``ok`` false, ``warnings``) where
the record carries them, else the ✗ and ⚠ lines of the report text the dialog keeps
(``report``), else its verdict.  The chat refuses a video that fails, so a stored
record mostly passed: the chart shows what the kept works still carry."""

from __future__ import annotations

import collections
import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from contests.review import ReviewState
from contests.rules import SHANGHAI, Contest
from handlers.console.charts import column_chart, row_chart
from handlers.console.views import ConsoleEntry

__all__ = ["CHECK_LABELS", "Overview", "failures_of"]

MAX_DAYS = 62
CHECK_LABELS = {
    "aspect_ratio": "画面比例",
    "audio": "音频",
    "bit_rate": "码率",
    "codec_compat": "编码兼容性",
    "container": "文件格式",
    "decode_unverified": "未能完整解码",
    "duration": "时长",
    "file_size": "文件大小",
    "frame_rate": "帧率",
    "integrity": "文件完整性",
    "orientation": "横竖屏",
    "production_date": "制作日期",
    "resolution": "分辨率",
    "variable_frame_rate": "可变帧率",
    "video_codec": "视频编码",
}


def failures_of(video: Mapping[str, Any]) -> list[str]:
    """What failed in one video record, as labels (a check's, or ``⚠`` a warning's)."""
    found = []
    for check in video.get("checks") or ():
        if isinstance(check, Mapping) and not check.get("ok"):
            key = str(check.get("id") or "")
            found.append(CHECK_LABELS.get(key) or str(check.get("message") or key or "其他"))
    for warning in video.get("warnings") or ():
        if isinstance(warning, Mapping):
            key = str(warning.get("id") or "")
            found.append("⚠ " + (CHECK_LABELS.get(key) or str(warning.get("message") or key or "提示")))
    if not found:  # a record keeps the entrant's report text only: its ✗ and ⚠ lines
        found = [
            _line_label(line) for line in str(video.get("report") or "").splitlines() if line[:1] in "✗⚠"
        ]
    if not found and video.get("verdict") == "failed":
        found.append("视频未通过（无明细）")
    return found


def _line_label(line: str) -> str:
    """``✗ 分辨率 1280×720，要求 …`` → ``分辨率`` (a check's label comes first); ``⚠ 视频是可变帧率
    （手机录制常见），建议 …`` → ``⚠ 视频是可变帧率`` (a warning up to its first pause)."""
    mark, text = line[0], line[1:].strip()
    if mark == "✗":
        return text.split(" ", 1)[0] or "其他"
    return "⚠ " + (re.split(r"[，,（(。]", text, maxsplit=1)[0][:16] or "提示")


def _ranked(counts: Mapping[str, int], top: int = 12) -> list[tuple[str, int]]:
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    if len(ranked) <= top:
        return ranked
    rest = sum(v for _, v in ranked[top - 1 :])
    return [*ranked[: top - 1], ("其他", rest)]


@dataclass(frozen=True, slots=True)
class Overview:
    """The figures of one contest's submissions (those the viewer may see)."""

    contest: Contest
    total: int
    days: list[tuple[dt.date, int]]
    deadline_index: int | None  # the deadline's day among ``days``, when it is one of them
    days_left: int
    by_route: list[tuple[str, int]]
    by_unit: list[tuple[str, int]]
    by_state: list[tuple[str, int]]
    failures: list[tuple[str, int]]

    @classmethod
    def of(cls, contest: Contest, entries: Sequence[ConsoleEntry], today: dt.date) -> Overview:
        per_day = collections.Counter(e.sub.created_at.astimezone(SHANGHAI).date() for e in entries)
        days: list[tuple[dt.date, int]] = []
        if per_day:
            first, last = min(per_day), max(per_day)
            if contest.deadline >= first:  # the axis runs to the deadline, when it is near
                last = max(last, min(contest.deadline, first + dt.timedelta(days=MAX_DAYS - 1)))
            first = max(first, last - dt.timedelta(days=MAX_DAYS - 1))
            days = [(d, per_day.get(d, 0)) for d in _dates(first, last)]
        marker = next((i for i, (d, _) in enumerate(days) if d == contest.deadline), None)
        failed: collections.Counter[str] = collections.Counter()
        for e in entries:
            failed.update(failures_of(e.sub.video))
        return cls(
            contest=contest,
            total=len(entries),
            days=days,
            deadline_index=marker,
            days_left=(contest.deadline - today).days,
            by_route=_ranked(collections.Counter(e.channel_label() for e in entries)),
            by_unit=_ranked(collections.Counter(e.unit or "（未填）" for e in entries)),
            by_state=[(s.label, n) for s, n in _by_state(entries)],
            failures=_ranked(failed),
        )

    def charts(self) -> dict[str, str]:
        """Each chart as inline SVG, by name."""
        return {
            "days": column_chart(
                [(f"{d.month}/{d.day}", n) for d, n in self.days],
                title="每日提交数",
                marker=self.deadline_index,
                marker_label="截止",
            ),
            "routes": row_chart(self.by_route, title="按渠道"),
            "units": row_chart(self.by_unit, title="按单位"),
            "states": row_chart(self.by_state, title="按状态"),
            "failures": row_chart(self.failures, title="视频检查未通过的项目"),
        }


def _dates(first: dt.date, last: dt.date) -> Iterable[dt.date]:
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


def _by_state(entries: Sequence[ConsoleEntry]) -> list[tuple[ReviewState, int]]:
    counts = collections.Counter(e.state for e in entries)
    return [(s, counts[s]) for s in ReviewState if counts[s]]
