"""Video fingerprints in SQLite (one worker), in the shared database file, in a table of their own."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from bot.storage.base import parse_utc, utc_iso
from bot.storage.sqlite.common import SqliteStoreBase, changed, connect, migrate
from contests.records import FingerprintRecord

__all__ = ["FINGERPRINT_SCHEMA_VERSION", "SqliteFingerprintStore"]

FINGERPRINT_SCHEMA_VERSION = 1

_MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """
        CREATE TABLE IF NOT EXISTS video_fingerprints (
            contest_id TEXT NOT NULL,
            number     TEXT NOT NULL,
            lineage    TEXT NOT NULL,
            title      TEXT NOT NULL DEFAULT '',
            created_at TEXT,
            data       BLOB NOT NULL,
            PRIMARY KEY (contest_id, number)
        )
        """,
        "CREATE INDEX IF NOT EXISTS video_fingerprints_lineage ON video_fingerprints (lineage)",
    ),
}

_COLUMNS = "contest_id, number, lineage, title, created_at, data"


class SqliteFingerprintStore(SqliteStoreBase):
    """:class:`~contests.ports.FingerprintStore` in an SQLite file."""

    @classmethod
    async def open(cls, path: Path) -> SqliteFingerprintStore:
        """Open (creating if needed) the database at ``path`` and bring the table up to date."""
        db = await connect(Path(path))
        try:
            await migrate(db, "fingerprint_schema", FINGERPRINT_SCHEMA_VERSION, _MIGRATIONS)
        except BaseException:
            await db.close()
            raise
        return cls(db, Path(path))

    async def put(self, record: FingerprintRecord) -> None:
        values = (
            record.contest_id,
            record.number,
            record.lineage,
            record.title,
            utc_iso(record.created_at) if record.created_at else None,
            bytes(record.data),
        )

        def body(conn: sqlite3.Connection) -> None:
            changed(
                conn,
                f"INSERT OR REPLACE INTO video_fingerprints ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                values,
            )

        await self._write(body)

    async def get(self, contest_id: str, number: str) -> FingerprintRecord | None:
        found = await self._read(
            f"SELECT {_COLUMNS} FROM video_fingerprints WHERE contest_id = ? AND number = ?",
            (contest_id, number),
        )
        return _record(found[0]) if found else None

    async def list_lineage(self, lineage: str) -> list[FingerprintRecord]:
        found = await self._read(
            f"SELECT {_COLUMNS} FROM video_fingerprints WHERE lineage = ? ORDER BY contest_id, number",
            (lineage,),
        )
        return [_record(r) for r in found]

    async def remove(self, contest_id: str, number: str) -> bool:
        def body(conn: sqlite3.Connection) -> int:
            return changed(
                conn,
                "DELETE FROM video_fingerprints WHERE contest_id = ? AND number = ?",
                (contest_id, number),
            )

        return await self._write(body) > 0


def _record(row: Any) -> FingerprintRecord:
    contest_id, number, lineage, title, created_at, data = row
    return FingerprintRecord(
        contest_id, lineage, number, bytes(data), title, parse_utc(created_at) if created_at else None
    )
