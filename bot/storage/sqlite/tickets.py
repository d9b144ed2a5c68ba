"""The helpdesk's ticket stores: SQLite (one worker) and Redis (several)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any

from bot.storage.base import utc_iso
from bot.storage.sqlite.common import SqliteStoreBase, SqliteThread, changed
from bot.storage.sqlite.common import rows as _rows
from bot.storage.tickets_doc import ticket_from_row, ticket_seq
from contests.records import UserKey
from contests.tickets import Ticket, TicketClosedError, TicketNotFoundError, TicketStatus, format_ticket_id

#: The helpdesk's own SQLite file inside the data directory (apart from the drafts' database,
#: so that neither schema migrates the other).
HELPDESK_SQLITE_FILENAME = "helpdesk.sqlite3"


_SCHEMA_VERSION = 1


_MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """
        CREATE TABLE IF NOT EXISTS helpdesk_tickets (
            seq         INTEGER PRIMARY KEY AUTOINCREMENT,
            contest_id  TEXT,
            channel     TEXT NOT NULL,
            user_id     TEXT NOT NULL,
            question    TEXT NOT NULL,
            suggestion  TEXT NOT NULL DEFAULT '',
            status      TEXT NOT NULL,
            created_at  TEXT NOT NULL,
            answered_at TEXT,
            reply       TEXT NOT NULL DEFAULT '',
            operator    TEXT NOT NULL DEFAULT '',
            closed_at   TEXT
        )
        """,
        "CREATE INDEX IF NOT EXISTS helpdesk_tickets_status ON helpdesk_tickets (status, seq)",
        "CREATE INDEX IF NOT EXISTS helpdesk_tickets_user ON helpdesk_tickets (channel, user_id, seq)",
    ),
}


_COLUMNS = (
    "seq, contest_id, channel, user_id, question, suggestion, status, created_at, answered_at, reply, "
    "operator, closed_at"
)


class SqliteTicketStore(SqliteStoreBase):
    """:class:`TicketStore` in an SQLite file; one connection in a thread of its own, and every
    method one job there (a :class:`~bot.storage.sqlite.common.SqliteThread`)."""

    @classmethod
    async def open(cls, path: Path) -> SqliteTicketStore:
        """Open (creating if needed) the ticket database at ``path``."""
        path = Path(path)
        db = await SqliteThread.open(path, busy_timeout_ms=5000)

        def migrate(conn: sqlite3.Connection) -> None:
            current = int(_rows(conn, "PRAGMA user_version")[0][0])
            if current > _SCHEMA_VERSION:
                raise RuntimeError(f"helpdesk database schema {current} is newer than this program's")
            for version in range(current + 1, _SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[version]:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {version}")

        try:
            await db.write(migrate)  # one BEGIN IMMEDIATE transaction, rolled back if it fails
        except BaseException:
            await db.close()
            raise
        return cls(db, path)

    @staticmethod
    def _ticket(row: Any) -> Ticket:
        names = [c.strip() for c in _COLUMNS.split(",")]
        data = dict(zip(names, row, strict=True))
        data["id"] = format_ticket_id(int(data.pop("seq")))
        return ticket_from_row(data)

    @classmethod
    def _row(cls, conn: sqlite3.Connection, seq: int) -> Ticket | None:
        found = _rows(conn, f"SELECT {_COLUMNS} FROM helpdesk_tickets WHERE seq = ?", (seq,))
        return cls._ticket(found[0]) if found else None

    async def create(
        self, *, contest_id: str | None, user: UserKey, question: str, suggestion: str, now: dt.datetime
    ) -> Ticket:
        def body(conn: sqlite3.Connection) -> Ticket | None:
            cursor = conn.execute(
                "INSERT INTO helpdesk_tickets (contest_id, channel, user_id, question, suggestion, status, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    contest_id,
                    user.channel,
                    user.user_id,
                    question,
                    suggestion,
                    TicketStatus.OPEN.value,
                    utc_iso(now),
                ),
            )
            seq = cursor.lastrowid
            cursor.close()
            assert seq is not None
            return self._row(conn, seq)

        ticket = await self._write(body)
        assert ticket is not None
        return ticket

    async def get(self, ticket_id: str) -> Ticket | None:
        try:
            seq = ticket_seq(ticket_id)
        except TicketNotFoundError:
            return None
        return await self._conn().call(lambda conn: self._row(conn, seq))

    async def list_tickets(
        self,
        *,
        status: TicketStatus | None = None,
        contest_id: str | None = None,
        user: UserKey | None = None,
    ) -> list[Ticket]:
        where, params = [], []
        if status is not None:
            where.append("status = ?")
            params.append(status.value)
        if contest_id is not None:
            where.append("contest_id = ?")
            params.append(contest_id)
        if user is not None:
            where.append("channel = ? AND user_id = ?")
            params.extend([user.channel, user.user_id])
        sql = f"SELECT {_COLUMNS} FROM helpdesk_tickets"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [self._ticket(r) for r in await self._read(sql + " ORDER BY seq", params)]

    async def answer(self, ticket_id: str, *, reply: str, operator: str, now: dt.datetime) -> Ticket:
        seq = ticket_seq(ticket_id)

        def body(conn: sqlite3.Connection) -> tuple[int, Ticket | None]:
            # One statement: the status check and the write cannot be split by another writer.
            count = changed(
                conn,
                "UPDATE helpdesk_tickets SET status = ?, reply = ?, operator = ?, answered_at = ? "
                "WHERE seq = ? AND status != ?",
                (TicketStatus.ANSWERED.value, reply, operator, utc_iso(now), seq, TicketStatus.CLOSED.value),
            )
            return count, self._row(conn, seq)

        count, ticket = await self._write(body)
        if ticket is None:
            raise TicketNotFoundError(ticket_id)
        if not count:
            raise TicketClosedError(ticket_id)
        return ticket

    async def close_ticket(self, ticket_id: str, *, now: dt.datetime) -> Ticket:
        seq = ticket_seq(ticket_id)

        def body(conn: sqlite3.Connection) -> Ticket | None:
            conn.execute(
                "UPDATE helpdesk_tickets SET status = ?, closed_at = ? WHERE seq = ? AND status != ?",
                (TicketStatus.CLOSED.value, utc_iso(now), seq, TicketStatus.CLOSED.value),
            )
            return self._row(conn, seq)

        ticket = await self._write(body)
        if ticket is None:
            raise TicketNotFoundError(ticket_id)
        return ticket
