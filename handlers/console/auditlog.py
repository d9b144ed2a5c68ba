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

__all__ = ["AUDIT_COLUMNS", "AuditQuery", "AuditReader", "audit_csv"]

AUDIT_COLUMNS = ("序号", "时间（北京）", "操作人", "身份", "操作", "大赛", "对象", "详情", "来源")
ROLE_LABELS = {"organiser": "主办方", "member": "单位代表", "entrant": "报名者", "system": "系统"}
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


def _detail(entry: AuditEntry) -> str:
    return json.dumps(entry.detail, ensure_ascii=False, sort_keys=True) if entry.detail else ""


def row_of(entry: AuditEntry) -> dict[str, str]:
    return {
        "seq": str(entry.seq),
        "at": when(entry.at),
        "actor": entry.actor,
        "role": ROLE_LABELS.get(entry.role, entry.role),
        "action": entry.action,
        "contest": entry.contest_id,
        "target": entry.target,
        "detail": _detail(entry),
        "source": entry.source,
    }


def audit_csv(entries: list[AuditEntry]) -> bytes:
    """The entries as CSV, UTF-8 with a BOM, every cell neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(AUDIT_COLUMNS)
    for entry in entries:
        writer.writerow([neutralise(v) for v in row_of(entry).values()])
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
