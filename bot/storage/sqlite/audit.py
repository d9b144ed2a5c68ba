"""The audit log in SQLite (one worker), in the shared database file, in a table of its own.

Append-only twice over: :class:`~contests.ports.AuditLog` has no update or delete, and triggers
make the database itself refuse an UPDATE or a DELETE of a row, whoever connects.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from bot.storage.audit_doc import AUDIT_FIELDS, audit_from_row, audit_limit, audit_row
from bot.storage.sqlite.common import SqliteStoreBase, connect, migrate
from contests.audit import AuditEntry

__all__ = ["AUDIT_SCHEMA_VERSION", "SqliteAuditLog"]

AUDIT_SCHEMA_VERSION = 1

_MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        # AUTOINCREMENT: a seq is never handed out twice, even after the newest row went missing.
        """
        CREATE TABLE IF NOT EXISTS audit_log (
            seq        INTEGER PRIMARY KEY AUTOINCREMENT,
            at         TEXT NOT NULL,
            actor      TEXT NOT NULL,
            role       TEXT NOT NULL,
            action     TEXT NOT NULL,
            contest_id TEXT NOT NULL,
            target     TEXT NOT NULL DEFAULT '',
            source     TEXT NOT NULL,
            detail     TEXT NOT NULL DEFAULT '{}'
        )
        """,
        "CREATE INDEX IF NOT EXISTS audit_log_contest ON audit_log (contest_id, seq)",
        "CREATE INDEX IF NOT EXISTS audit_log_target ON audit_log (target, seq)",
        "CREATE INDEX IF NOT EXISTS audit_log_actor ON audit_log (actor, seq)",
        """
        CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END
        """,
        """
        CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END
        """,
    ),
}

_COLUMNS = ", ".join(("seq", *AUDIT_FIELDS))
_INSERT = f"INSERT INTO audit_log ({', '.join(AUDIT_FIELDS)}) VALUES ({', '.join('?' * len(AUDIT_FIELDS))})"


class SqliteAuditLog(SqliteStoreBase):
    """:class:`~contests.ports.AuditLog` in an SQLite file; every method one job on the store's
    connection thread (a :class:`~bot.storage.sqlite.common.SqliteThread`)."""

    @classmethod
    async def open(cls, path: Path) -> SqliteAuditLog:
        """Open (creating if needed) the database at ``path`` and bring the log's table up to date."""
        db = await connect(Path(path))
        try:
            await migrate(db, "audit_schema", AUDIT_SCHEMA_VERSION, _MIGRATIONS)
        except BaseException:
            await db.close()
            raise
        return cls(db, Path(path))

    async def append(self, entry: AuditEntry) -> AuditEntry:
        row = audit_row(entry)
        values = tuple(row[name] for name in AUDIT_FIELDS)

        def body(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(_INSERT, values)
            try:
                seq = cursor.lastrowid
            finally:
                cursor.close()
            assert seq is not None
            return seq

        return entry.with_seq(await self._write(body))

    async def list_entries(
        self,
        *,
        contest_id: str | None = None,
        actor: str | None = None,
        target: str | None = None,
        action_prefix: str | None = None,
        after_seq: int = 0,
        limit: int = 200,
        newest_first: bool = True,
    ) -> list[AuditEntry]:
        where: list[str] = ["seq > ?"]
        params: list[object] = [after_seq]
        for column, value in (("contest_id", contest_id), ("actor", actor), ("target", target)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if action_prefix:
            # Not LIKE: that is case-insensitive and gives '%' and '_' a meaning.
            where.append("substr(action, 1, ?) = ?")
            params.extend([len(action_prefix), action_prefix])
        order = "DESC" if newest_first else "ASC"
        sql = f"SELECT {_COLUMNS} FROM audit_log WHERE {' AND '.join(where)} ORDER BY seq {order} LIMIT ?"
        found = await self._read(sql, [*params, audit_limit(limit)])
        return [self._entry(r) for r in found]

    @staticmethod
    def _entry(row: Any) -> AuditEntry:
        seq, *values = row
        return audit_from_row(int(seq), dict(zip(AUDIT_FIELDS, values, strict=True)))
