"""The helpdesk's ticket stores: SQLite (one worker) and Redis (several)."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import redis.asyncio as aioredis

from bot.storage.base import parse_utc, utc_iso
from bot.storage.sqlite_common import SqliteStoreBase, SqliteThread, changed
from bot.storage.sqlite_common import rows as _rows
from contests.ports import TicketStore
from contests.records import UserKey
from contests.tickets import Ticket, TicketClosedError, TicketNotFoundError, TicketStatus, format_ticket_id

#: The helpdesk's own SQLite file inside the data directory (apart from the drafts' database,
#: so that neither schema migrates the other).
HELPDESK_SQLITE_FILENAME = "helpdesk.sqlite3"


def _ticket_from_row(row: dict[str, Any]) -> Ticket:
    def when(key: str) -> dt.datetime | None:
        return parse_utc(row[key]) if row.get(key) else None

    created = when("created_at")
    assert created is not None
    return Ticket(
        id=str(row["id"]),
        contest_id=row.get("contest_id") or None,
        user=UserKey(str(row["channel"]), str(row["user_id"])),
        question=str(row["question"]),
        status=TicketStatus(row["status"]),
        created_at=created,
        suggestion=str(row.get("suggestion") or ""),
        answered_at=when("answered_at"),
        reply=str(row.get("reply") or ""),
        operator=str(row.get("operator") or ""),
        closed_at=when("closed_at"),
    )


def _matches(t: Ticket, status: TicketStatus | None, contest_id: str | None, user: UserKey | None) -> bool:
    return (
        (status is None or t.status is status)
        and (contest_id is None or t.contest_id == contest_id)
        and (user is None or t.user == user)
    )


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


_ID = re.compile(r"^HD-(\d{6,})$")


def _seq(ticket_id: str) -> int:
    match = _ID.match(ticket_id)
    if not match:
        raise TicketNotFoundError(ticket_id)
    return int(match.group(1))


class SqliteTicketStore(SqliteStoreBase):
    """:class:`TicketStore` in an SQLite file; one connection in a thread of its own, and every
    method one job there (a :class:`~bot.storage.sqlite_common.SqliteThread`)."""

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
        return _ticket_from_row(data)

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
            seq = _seq(ticket_id)
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
        seq = _seq(ticket_id)

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
        seq = _seq(ticket_id)

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


# KEYS: ticket hash, idx:status:open, idx:status:answered.  ARGV: id, seq, reply, operator, answered_at.
_ANSWER_LUA = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
if status == 'closed' then return 'closed' end
redis.call('HSET', KEYS[1], 'status', 'answered', 'reply', ARGV[3], 'operator', ARGV[4],
           'answered_at', ARGV[5])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], tonumber(ARGV[2]), ARGV[1])
return 'ok'
"""


# KEYS: ticket hash, idx:status:open, idx:status:answered, idx:status:closed.  ARGV: id, seq, closed_at.
_CLOSE_LUA = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
if status ~= 'closed' then
    redis.call('HSET', KEYS[1], 'status', 'closed', 'closed_at', ARGV[3])
    redis.call('ZREM', KEYS[2], ARGV[1])
    redis.call('ZREM', KEYS[3], ARGV[1])
    redis.call('ZADD', KEYS[4], tonumber(ARGV[2]), ARGV[1])
end
return 'ok'
"""


class RedisTicketStore:
    """:class:`TicketStore` in Redis, shared by several workers.

    Key layout (``p`` is the prefix)::

        p:helpdesk:seq                int   last ticket number handed out
        p:helpdesk:ticket:HD-000001   hash  the ticket's fields
        p:helpdesk:idx:all            zset  ticket ids, score = number
        p:helpdesk:idx:status:<s>     zset  the same, per status (open tickets are listed often)

    A new ticket takes its number with INCR and is written in one MULTI transaction (a crash in
    between only skips a number); answer and close are Lua scripts, so the status check and the
    write are one step on the server whatever the number of workers.  Takes ownership of the client.
    """

    def __init__(self, redis: aioredis.Redis, prefix: str = "kepu") -> None:
        self._redis = redis
        self.prefix = f"{prefix}:helpdesk"
        self._answer = redis.register_script(_ANSWER_LUA)
        self._close = redis.register_script(_CLOSE_LUA)

    @classmethod
    def from_url(cls, url: str, prefix: str = "kepu") -> RedisTicketStore:
        return cls(aioredis.from_url(url, decode_responses=True), prefix)

    def _key(self, ticket_id: str) -> str:
        return f"{self.prefix}:ticket:{quote(ticket_id, safe='')}"

    def _status(self, status: TicketStatus) -> str:
        return f"{self.prefix}:idx:status:{status.value}"

    async def create(
        self, *, contest_id: str | None, user: UserKey, question: str, suggestion: str, now: dt.datetime
    ) -> Ticket:
        seq = int(await self._redis.incr(f"{self.prefix}:seq"))
        ticket_id = format_ticket_id(seq)
        fields = {
            "id": ticket_id,
            "contest_id": contest_id or "",
            "channel": user.channel,
            "user_id": user.user_id,
            "question": question,
            "suggestion": suggestion,
            "status": TicketStatus.OPEN.value,
            "created_at": utc_iso(now),
        }
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._key(ticket_id), mapping=cast("dict[Any, Any]", fields))
            pipe.zadd(f"{self.prefix}:idx:all", {ticket_id: seq})
            pipe.zadd(self._status(TicketStatus.OPEN), {ticket_id: seq})
            await pipe.execute()
        return _ticket_from_row(fields)

    async def get(self, ticket_id: str) -> Ticket | None:
        row = await self._redis.hgetall(self._key(ticket_id))
        return _ticket_from_row({_text(k): _text(v) for k, v in row.items()}) if row else None

    async def list_tickets(
        self,
        *,
        status: TicketStatus | None = None,
        contest_id: str | None = None,
        user: UserKey | None = None,
    ) -> list[Ticket]:
        index = self._status(status) if status is not None else f"{self.prefix}:idx:all"
        ids = [_text(i) for i in await self._redis.zrange(index, 0, -1)]
        async with self._redis.pipeline(transaction=False) as pipe:
            for ticket_id in ids:
                pipe.hgetall(self._key(ticket_id))
            rows = await pipe.execute()
        tickets = [_ticket_from_row({_text(k): _text(v) for k, v in row.items()}) for row in rows if row]
        return [t for t in tickets if _matches(t, status, contest_id, user)]

    async def answer(self, ticket_id: str, *, reply: str, operator: str, now: dt.datetime) -> Ticket:
        seq = _seq(ticket_id)
        keys = [self._key(ticket_id), self._status(TicketStatus.OPEN), self._status(TicketStatus.ANSWERED)]
        result = _text(await self._answer(keys=keys, args=[ticket_id, seq, reply, operator, utc_iso(now)]))
        if result == "missing":
            raise TicketNotFoundError(ticket_id)
        if result == "closed":
            raise TicketClosedError(ticket_id)
        ticket = await self.get(ticket_id)
        assert ticket is not None
        return ticket

    async def close_ticket(self, ticket_id: str, *, now: dt.datetime) -> Ticket:
        seq = _seq(ticket_id)
        keys = [self._key(ticket_id), *(self._status(s) for s in TicketStatus)]
        if _text(await self._close(keys=keys, args=[ticket_id, seq, utc_iso(now)])) == "missing":
            raise TicketNotFoundError(ticket_id)
        ticket = await self.get(ticket_id)
        assert ticket is not None
        return ticket

    async def ping(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def open_ticket_store(
    *, data_dir: Path, redis_url: str | None, redis_prefix: str = "kepu"
) -> TicketStore:
    """The configured backend, like :func:`bot.storage.open_storage`: Redis when a URL is set
    (pinged, so that a wrong URL fails here), else ``data_dir / "helpdesk.sqlite3"``."""
    if redis_url:
        store = RedisTicketStore.from_url(redis_url, redis_prefix)
        try:
            await store.ping()
        except BaseException:
            await store.close()
            raise
        return store
    return await SqliteTicketStore.open(Path(data_dir) / HELPDESK_SQLITE_FILENAME)
