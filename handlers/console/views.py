"""What the console shows of one submission, pure: its row in the list, its fields as on the
form, its video's report line by line, its files, and the filters of the list."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contests.org import Membership, Role
from contests.records import Submission
from contests.review import (
    ITEM_LABELS,
    VIA_CONSOLE,
    HistoryEntry,
    ReviewState,
    history_of,
    state_of,
    state_text,
)
from contests.rules import SHANGHAI, Contest, Form
from validators.content import ContentReport, problems_of

__all__ = [
    "CHANNEL_LABELS",
    "PAGE_SIZE",
    "SORTS",
    "VERDICT_LABELS",
    "ConsoleEntry",
    "ConsoleFile",
    "Filters",
    "Listing",
    "Operator",
    "channel_label",
    "content_lines",
    "content_note",
    "history_rows",
    "operator_labels",
    "video_lines",
]

PAGE_SIZE = 50
VERDICT_LABELS = {
    "passed": "视频通过",
    "failed": "视频未通过",
    "unchecked": "未自动检查",
    "link": "网盘链接待核验",
}
SORTS = {
    "-created": "最新提交",
    "created": "最早提交",
    "number": "编号",
    "title": "作品名称",
    "state": "状态",
    "unit": "单位",
}
EVENT_LABELS = {
    "submitted": "提交",
    "unit_confirmed": "单位确认",
    "unit_cancelled": "单位取消",
    "complete": "材料齐全",
    "decided": "审核决定",
    "resubmitted": "重新提交",
    "withdrawn": "撤回",
    "link_checked": "网盘链接核验",
}


CHANNEL_LABELS = {"wechat": "微信", "telegram": "Telegram", "web": "网页聊天", "terminal": "终端"}


def channel_label(channel: str) -> str:
    return CHANNEL_LABELS.get(channel, channel)


@dataclass(frozen=True, slots=True)
class Operator:
    """A person of a submission's history in words: who (报名者, 主办方, a unit's 代表, the
    server's command line) and where they are (the chat channel they use, the login name)."""

    role: str
    where: str

    def label(self, entry: HistoryEntry) -> str:
        """As the history names them at ``entry``: where it was done, the console (后台) for what
        was done there, else where they are."""
        return f"{self.role}（{'后台' if entry.via == VIA_CONSOLE else self.where}）"


def operator_labels(sub: Submission, memberships: Iterable[Membership]) -> dict[str, Operator]:
    """Who each person of a submission's history is, in words: its entrant, an organiser, a
    unit's representative (by the channel they use), the server's command line (``cli:…``)."""
    labels = {str(sub.user): Operator("报名者", channel_label(sub.user.channel))}
    for m in memberships:
        role = "主办方" if m.role is Role.ORGANISER else f"{m.unit_key or '推荐单位'}代表"
        labels.setdefault(str(m.user), Operator(role, channel_label(m.user.channel)))
    for h in history_of(sub):
        if h.by.startswith("cli:"):
            labels.setdefault(h.by, Operator("服务器命令行", h.by.removeprefix("cli:")))
    return labels


def when(moment: dt.datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "、".join(str(v) for v in value)
    if isinstance(value, bool):
        return "是" if value else "否"
    return "" if value is None else str(value)


def _by_role(form: Form | None, answers: Mapping[str, Any], role: str) -> str:
    if form is None:
        return ""
    return "，".join(_text(answers.get(f.id)) for f in form.fields if f.role == role and answers.get(f.id))


def verdict_of(video: Mapping[str, Any]) -> str:
    """``passed``, ``failed``, ``unchecked`` (a file or link the server did not check) or
    ``link`` (a share link, which the organisers check themselves)."""
    if video.get("kind") == "share_link":
        return "link"
    verdict = str(video.get("verdict") or "")
    if verdict in ("passed", "failed"):
        return verdict
    return "unchecked"


def content_note(video: Mapping[str, Any]) -> tuple[str, str]:
    """The content check in a few words for the list's 视频 cell, and its level (``fail``,
    ``warn``, or "" when there is nothing to look at): the container's verdict alone reads
    视频通过 for a video whose content check failed."""
    stored = video.get("content")
    if not isinstance(stored, Mapping):
        return "", ""
    if not stored.get("checked"):
        return "内容检查未完成", "warn"
    failed, warned = problems_of(dict(stored)), problems_of(dict(stored), "warning")
    if failed:
        return "内容不符合：" + "、".join(failed), "fail"
    if warned:
        return "内容建议修改：" + "、".join(warned), "warn"
    return "", ""


@dataclass(frozen=True, slots=True)
class ConsoleEntry:
    """One submission as a viewer may list it; ``holder`` is the unit it counts against."""

    sub: Submission
    contest: Contest
    holder: str | None
    unit: str
    state: ReviewState
    title: str
    authors: str
    verdict: str
    scans: tuple[str, ...]
    content: tuple[str, str]  # content_note

    @classmethod
    def of(cls, sub: Submission, contest: Contest, holder: str | None, unit: str) -> ConsoleEntry:
        try:
            form: Form | None = contest.form(sub.form_id)
        except KeyError:
            form = None
        scans = tuple(str(s) for s in sub.extra.get("scans") or () if s)
        return cls(
            sub,
            contest,
            holder,
            unit,
            state_of(sub),
            _by_role(form, sub.answers, "title") or sub.number,
            _by_role(form, sub.answers, "authors"),
            verdict_of(sub.video),
            scans,
            content_note(sub.video),
        )

    @property
    def number(self) -> str:
        return self.sub.number

    def channel_label(self) -> str:
        try:
            return self.contest.channel(self.sub.channel_id).label
        except KeyError:
            return self.sub.channel_id

    def row(self) -> dict[str, Any]:
        """The list's row (no personal data: titles, makers and units are public on the form)."""
        return {
            "number": self.number,
            "contest": self.contest.id,
            "contest_title": self.contest.short_title,
            "channel": self.channel_label(),
            "unit": self.unit,
            "title": self.title,
            "authors": self.authors,
            "state": self.state.value,
            "state_label": state_text(self.sub),
            "verdict": self.verdict,
            "verdict_label": VERDICT_LABELS[self.verdict],
            "content_label": self.content[0],
            "content_level": self.content[1],
            "has_scan": bool(self.scans),
            "created_at": when(self.sub.created_at),
        }


@dataclass(frozen=True, slots=True)
class Filters:
    """The list's filters, read from a query string (unknown values are ignored)."""

    contest: str = ""
    channel: str = ""
    unit: str = ""
    state: str = ""
    verdict: str = ""
    scan: str = ""  # "yes" / "no"
    q: str = ""
    sort: str = "-created"
    page: int = 1

    @classmethod
    def of(cls, query: Mapping[str, str]) -> Filters:
        def get(name: str) -> str:
            return str(query.get(name) or "").strip()[:100]

        try:
            page = max(1, min(int(get("page") or 1), 10_000))
        except ValueError:
            page = 1
        sort = get("sort")
        return cls(
            contest=get("contest"),
            channel=get("channel"),
            unit=get("unit"),
            state=get("state") if get("state") in set(ReviewState) else "",
            verdict=get("verdict") if get("verdict") in VERDICT_LABELS else "",
            scan=get("scan") if get("scan") in ("yes", "no") else "",
            q=get("q"),
            sort=sort if sort in SORTS else "-created",
            page=page,
        )

    def keep(self, entry: ConsoleEntry) -> bool:
        if self.channel and entry.sub.channel_id != self.channel:
            return False
        if self.unit and entry.holder != self.unit:
            return False
        if self.state and entry.state.value != self.state:
            return False
        if self.verdict and entry.verdict != self.verdict:
            return False
        if self.scan and bool(entry.scans) != (self.scan == "yes"):
            return False
        if self.q:
            needle = self.q.casefold()
            return any(needle in text.casefold() for text in (entry.number, entry.title, entry.authors))
        return True

    def query(self, **changes: Any) -> dict[str, str]:
        """The filters as query parameters (for the pager's and the sort's links)."""
        values = {
            "contest": self.contest,
            "channel": self.channel,
            "unit": self.unit,
            "state": self.state,
            "verdict": self.verdict,
            "scan": self.scan,
            "q": self.q,
            "sort": self.sort,
            "page": str(self.page),
        } | {k: str(v) for k, v in changes.items()}
        return {k: v for k, v in values.items() if v and not (k == "page" and v == "1")}


def _sort_key(sort: str) -> Any:
    name = sort.lstrip("-")
    if name == "title":
        return lambda e: e.title
    if name == "state":
        return lambda e: (list(ReviewState).index(e.state), e.number)
    if name == "unit":
        return lambda e: (e.unit, e.number)
    if name == "number":
        return lambda e: e.number
    return lambda e: (e.sub.created_at, e.number)


@dataclass(frozen=True, slots=True)
class Listing:
    """One page of the filtered, sorted list, with what the filter form offers."""

    entries: list[ConsoleEntry]
    total: int
    page: int
    pages: int
    filters: Filters
    contests: list[tuple[str, str]] = field(default_factory=list)  # (id, title) the viewer may see
    channels: list[tuple[str, str]] = field(default_factory=list)
    units: list[tuple[str, str]] = field(default_factory=list)  # (holder, name)

    @classmethod
    def build(cls, entries: Iterable[ConsoleEntry], filters: Filters, **options: Any) -> Listing:
        kept = [e for e in entries if filters.keep(e)]
        kept.sort(key=_sort_key(filters.sort), reverse=filters.sort.startswith("-"))
        pages = max(1, math.ceil(len(kept) / PAGE_SIZE))
        page = min(filters.page, pages)
        start = (page - 1) * PAGE_SIZE
        return cls(kept[start : start + PAGE_SIZE], len(kept), page, pages, filters, **options)


@dataclass(frozen=True, slots=True)
class ConsoleFile:
    """A file of a submission: ``kind`` is video, scan, form or receipt; ``index`` counts scans."""

    kind: str
    label: str
    name: str
    path: Path | None = None
    index: int = 0

    @property
    def inline(self) -> str:
        """How the page shows it: video, image, pdf, or "" (a link only)."""
        suffix = self.name.rsplit(".", 1)[-1].lower()
        if self.kind == "video":
            return "video"
        if suffix in ("jpg", "jpeg", "png", "webp", "gif"):
            return "image"
        return "pdf" if suffix == "pdf" else ""


def video_lines(
    video: Mapping[str, Any], *, personal: bool, form: Form | None = None
) -> list[tuple[str, str]]:
    """The video's report line by line: what it is, then each check (✓/✗) and warning (⚠);
    the content checks' clauses name ``form``, the submission's own (see :func:`content_lines`)."""
    lines: list[tuple[str, str]] = []
    kind = str(video.get("kind") or "")
    names = {"file": "视频文件", "link": "视频链接", "share_link": "网盘链接"}
    if kind:
        lines.append(("方式", names.get(kind, kind)))
    if kind in ("link", "share_link") and video.get("url"):
        lines.append(("链接", str(video["url"])))
    if kind == "share_link":
        if video.get("code"):
            lines.append(("提取码", str(video["code"]) if personal else "（已隐藏）"))
        for key, label in (("drive", "网盘"), ("folder_name", "文件夹名")):
            if video.get(key):
                lines.append((label, str(video[key])))
        if video.get("missing"):
            lines.append(("缺少", "、".join(str(m) for m in video["missing"])))
    if kind == "file" and video.get("name"):
        lines.append(("文件名", str(video["name"])))
    for key, label in (("size_text", "大小"), ("duration_s", "时长（秒）"), ("sha256", "SHA-256")):
        if video.get(key) not in (None, ""):
            lines.append((label, str(video[key])))
    if video.get("width") and video.get("height"):
        lines.append(("分辨率", f"{video['width']}×{video['height']}"))
    lines.append(("检查结果", VERDICT_LABELS[verdict_of(video)]))
    for line in str(video.get("report") or "").splitlines():
        # The check's lines as the entrant read them (✓/✗ with the measured values).
        if line.strip():
            mark = line[0] if line[0] in "✓✗⚠" else "报告"
            lines.append((mark, line[1:].strip() if mark != "报告" else line.strip()))
    for check in video.get("checks") or ():
        if isinstance(check, Mapping):
            mark = "✓" if check.get("ok") else "✗"
            lines.append((mark, str(check.get("message") or check.get("id") or "")))
    for warning in video.get("warnings") or ():
        if isinstance(warning, Mapping):
            lines.append(("⚠", str(warning.get("message") or warning.get("id") or "")))
    return [*lines, *content_lines(video, form)]


def content_lines(video: Mapping[str, Any], form: Form | None = None) -> list[tuple[str, str]]:
    """The content checks' report (:mod:`handlers.content`): a duplicate first, as organisers
    must not miss it, then the verdict and one line per rule with the notice's clause, in the
    words of ``form``, the work's own (most-cas's 片头名称应与推荐表一致 is a 自荐 work's 自荐表,
    as its entrant was told)."""
    stored = video.get("content")
    if not isinstance(stored, Mapping):
        if video.get("checked") and video.get("kind") in ("file", "link"):
            return [("内容检查", "尚无结果（后台检查中，或提交时未检查）")]
        return []
    report = ContentReport.from_dict(dict(stored)).in_words_of(form)
    lines: list[tuple[str, str]] = []
    for item in report.items:
        if item.id == "duplicates" and item.status != "ok":
            lines.append(("疑似重复", item.message))
    lines.append(("内容检查", report.summary_zh()))
    for item in report.items:
        clause = f"（通知：{item.clause}）" if item.clause and item.status in ("warning", "fail") else ""
        mark = {"ok": "✓", "warning": "⚠", "fail": "✗", "manual": "需人工确认"}.get(item.status, item.status)
        lines.append((mark, f"{item.message}{clause}"))
    return lines


def history_rows(
    sub: Submission,
    labels: Mapping[str, str],
    operators: Mapping[str, Operator] | None = None,
    *,
    personal: bool = True,
) -> list[dict[str, str]]:
    """The submission's history (who, when, what), items named as on the form, each person by
    ``operators`` (their role in words, and where it was done) where it names them; what a
    resubmission changed, with the answers before and after where the viewer may read them
    (``personal``)."""
    rows = []
    for h in history_of(sub):
        state = ""
        if h.state in set(ReviewState):
            state = ReviewState(h.state).label
        items = "、".join(labels.get(i) or ITEM_LABELS.get(i) or i for i in h.items)
        rows.append(
            {
                "at": when(h.at),
                "by": who.label(h) if (who := (operators or {}).get(h.by)) is not None else h.by,
                "event": EVENT_LABELS.get(h.event, h.event),
                "state": state,
                "reason": h.reason,
                "items": items,
                "changes": _changes(h.detail, labels, personal) if h.event == "resubmitted" else "",
            }
        )
    return rows


def _changes(detail: Mapping[str, Any], labels: Mapping[str, str], personal: bool) -> str:
    """What a resubmission changed: "类别：科普 → 天文；参赛视频已更换" (the labels alone
    where the values are not the viewer's to read, or were not kept)."""
    values = detail.get("changes") if personal else None
    values = values if isinstance(values, Mapping) else {}
    parts = []
    for fid in detail.get("fields") or ():
        label = labels.get(fid) or ITEM_LABELS.get(fid) or str(fid)
        pair = values.get(fid)
        if isinstance(pair, list | tuple) and len(pair) == 2:
            parts.append(f"{label}：{pair[0] or '（空）'} → {pair[1] or '（空）'}")
        else:
            parts.append(f"{label}已修改")
    if detail.get("video"):
        parts.append("参赛视频已更换")
    if detail.get("scan_again"):
        parts.append("须重新上传签字盖章的扫描件")
    return "；".join(parts) if parts else "未作改动"
