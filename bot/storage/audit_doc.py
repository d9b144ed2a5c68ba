"""Audit entries as the stores keep them: text fields, the same in every backend."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot.storage.base import dump_json, parse_utc, utc_iso
from contests.audit import AuditEntry

#: The stored fields of an entry, ``seq`` aside (the row's key, or the stream entry's id).
AUDIT_FIELDS = ("at", "actor", "role", "action", "contest_id", "target", "source", "detail")


def audit_row(entry: AuditEntry) -> dict[str, str]:
    """What is stored of a new entry; refuses one that has a ``seq`` already (appended once)."""
    if entry.seq:
        raise ValueError(f"audit entry already has seq {entry.seq}: the store gives it")
    return {
        "at": utc_iso(entry.at),
        "actor": entry.actor,
        "role": entry.role,
        "action": entry.action,
        "contest_id": entry.contest_id,
        "target": entry.target,
        "source": entry.source,
        "detail": dump_json(entry.detail),  # TypeError here, before anything is written
    }


def audit_from_row(seq: int, row: Mapping[str, Any]) -> AuditEntry:
    return AuditEntry(
        seq=seq,
        at=parse_utc(str(row["at"])),
        actor=str(row["actor"]),
        role=str(row["role"]),
        action=str(row["action"]),
        contest_id=str(row["contest_id"]),
        target=str(row["target"]),
        source=str(row["source"]),
        detail=_detail(str(row["detail"])),
    )


def audit_limit(limit: int) -> int:
    """``limit`` checked: at least 1 (SQLite reads a negative LIMIT as none at all)."""
    if limit < 1:
        raise ValueError(f"limit {limit} < 1")
    return limit


def _detail(text: str) -> dict[str, Any]:
    value = json.loads(text)
    return value if isinstance(value, dict) else {"value": value}
