"""The audit log as the organisers read it: a contest's entries, newest first (or from the
oldest on, page after page by ``seq``), filtered by an action's prefix and a target, and the
whole of it as CSV (UTF-8 with a BOM, so that Excel reads the Chinese; cells that a
spreadsheet would take for a formula neutralised).  Exporting it is itself audited."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass

from contests.audit import AuditEntry
from handlers.console.service import ConsoleService, ConsoleUser
from handlers.console.tickets import organised
from handlers.console.views import when
from handlers.export import neutralise

__all__ = [
    "ACTION_FILTERS",
    "AUDIT_COLUMNS",
    "CSV_COLUMNS",
    "AuditQuery",
    "AuditReader",
    "action_label",
    "audit_csv",
]

AUDIT_COLUMNS = ("序号", "时间（北京）", "操作人", "身份", "操作", "大赛", "对象", "详情", "来源")
CSV_COLUMNS = (*AUDIT_COLUMNS, "操作说明")
ROLE_LABELS = {"organiser": "主办方", "member": "单位代表", "entrant": "报名者", "system": "系统"}
# What each action code of the project means, as the page shows it (the code stays in the
# cell's title, in the 操作 filter and in the CSV).  A sign-in opens the console for every
# contest the person has a role in, so it is kept once under each of them (login.py).
ACTION_LABELS = {
    "console.login": "登录后台",
    "submission.view": "查看作品详情",
    "submission.decide_refused": "审核操作被拒绝",
    "review.decide": "审核决定",
    "review.link_check": "核验网盘链接",
    "review.link_check_refused": "核验网盘链接被拒绝",
    "file.video": "查看视频文件",
    "file.scan": "查看签字扫描件",
    "file.form": "下载报名表",
    "file.receipt": "下载回执",
    "download.submission": "下载作品压缩包",
    "download.contest": "批量下载作品",
    "export.contest": "导出报名信息",
    "export.audit": "导出审计日志",
    "units.import": "导入单位名单",
    "unit.confirm": "单位确认推荐",
    "unit.cancel": "单位撤销推荐",
    "ticket.answer": "答复工单",
    "ticket.close": "关闭工单",
    "broadcast.create": "发起群发",
}
_EXPORT_FORMATS = {"xlsx": "Excel", "csv": "CSV", "json": "JSON"}
# The 操作 filter's choices: a prefix of the codes and what it covers.
ACTION_FILTERS = (
    ("console.login", "登录后台"),
    ("submission.", "作品查看与审核被拒"),
    ("review.", "审核与网盘核验"),
    ("file.", "查看、下载单个文件"),
    ("download.", "下载作品压缩包"),
    ("export.", "导出"),
    ("unit", "单位名单与推荐确认"),
    ("ticket.", "工单"),
    ("broadcast.", "群发"),
)
MAX_LIMIT = 500
_EXPORT_BATCH = 1000


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """The page's filters, read from a query string: ``action`` (a prefix), ``target``,
    ``after_seq``, ``limit`` and ``order`` (``new``: newest first; ``old``: oldest first)."""

    action: str = ""
    target: str = ""
    after_seq: int = 0
    limit: int = 50
    order: str = "new"

    @classmethod
    def of(cls, query: Mapping[str, str]) -> AuditQuery:
        def number(name: str, default: int, top: int) -> int:
            try:
                return max(0, min(int(query.get(name) or default), top))
            except ValueError:
                return default

        return cls(
            action=str(query.get("action") or "").strip()[:60],
            target=str(query.get("target") or "").strip()[:100],
            after_seq=number("after_seq", 0, 2**62),
            limit=max(1, number("limit", 50, MAX_LIMIT)),
            order="old" if query.get("order") == "old" else "new",
        )

    def query(self, **changes: object) -> dict[str, str]:
        values = {
            "action": self.action,
            "target": self.target,
            "after_seq": str(self.after_seq),
            "limit": str(self.limit),
            "order": self.order,
        } | {k: str(v) for k, v in changes.items()}
        defaults = {"after_seq": "0", "limit": "50", "order": "new"}
        return {k: v for k, v in values.items() if v and defaults.get(k) != v}


def action_label(action: str) -> str:
    """An action code in words (导出报名信息（Excel）for ``export.xlsx``); an unknown code as it is."""
    if action in ACTION_LABELS:
        return ACTION_LABELS[action]
    family, _, kind = action.partition(".")
    if family == "export" and kind in _EXPORT_FORMATS:
        return f"导出报名信息（{_EXPORT_FORMATS[kind]}）"
    return action


def _detail(entry: AuditEntry) -> str:
    return json.dumps(entry.detail, ensure_ascii=False, sort_keys=True) if entry.detail else ""


def row_of(entry: AuditEntry) -> dict[str, str]:
    return {
        "seq": str(entry.seq),
        "at": when(entry.at),
        "actor": entry.actor,
        "role": ROLE_LABELS.get(entry.role, entry.role),
        "action": entry.action,
        "action_label": action_label(entry.action),
        "contest": entry.contest_id,
        "target": entry.target,
        "detail": _detail(entry),
        "source": entry.source,
    }


def audit_csv(entries: list[AuditEntry]) -> bytes:
    """The entries as CSV, UTF-8 with a BOM, every cell neutralised.  操作 keeps the code (what
    the page's filter takes, stable for whoever sorts or scripts the file); the words the page
    shows follow in a last column, 操作说明, so that the columns before keep their places."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        row = row_of(entry)
        label = row.pop("action_label")
        writer.writerow([neutralise(v) for v in (*row.values(), label)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


class AuditReader:
    """Reads a contest's audit log for its organisers."""

    def __init__(self, console: ConsoleService) -> None:
        self.console = console

    async def page(self, viewer: ConsoleUser, contest_id: str, q: AuditQuery) -> list[dict[str, str]]:
        """One page of the contest's entries (none unless the viewer organises it)."""
        if contest_id not in organised(viewer):
            return []
        entries = await self.console.audit.list_entries(
            contest_id=contest_id,
            target=q.target or None,
            action_prefix=q.action or None,
            after_seq=q.after_seq,
            limit=q.limit,
            newest_first=q.order == "new",
        )
        return [row_of(e) for e in entries]

    async def export(
        self, viewer: ConsoleUser, contest_id: str, q: AuditQuery, *, source: str
    ) -> bytes | None:
        """Every entry of the contest matching the filters, oldest first, as CSV; audited."""
        if contest_id not in organised(viewer):
            return None
        entries: list[AuditEntry] = []
        after = 0
        while True:
            batch = await self.console.audit.list_entries(
                contest_id=contest_id,
                target=q.target or None,
                action_prefix=q.action or None,
                after_seq=after,
                limit=_EXPORT_BATCH,
                newest_first=False,
            )
            entries += batch
            if len(batch) < _EXPORT_BATCH:
                break
            after = batch[-1].seq
        await self.console.record(
            viewer,
            "export.audit",
            contest_id,
            source=source,
            detail={"entries": len(entries), "action": q.action, "target": q.target},
        )
        return audit_csv(entries)
