"""Embedded storage backend: one SQLite file under the data directory.

The default for a single worker.  Every statement goes through one :mod:`aiosqlite`
connection (its own thread), so the event loop never blocks on disk I/O.  An
:class:`asyncio.Lock` keeps the coroutines sharing that connection from interleaving
their transactions; ``BEGIN IMMEDIATE`` and single-statement compare-and-set keep the
file consistent even when several processes open it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import aiosqlite

from .base import (
    Draft,
    StaleDraftError,
    Submission,
    UserKey,
    dump_json,
    format_number,
    merge_extra,
    parse_utc,
    utc_iso,
)

__all__ = ["SCHEMA_VERSION", "SqliteStorage"]

#: ``PRAGMA user_version`` of a database with the current schema.
SCHEMA_VERSION = 2

#: ``_MIGRATIONS[n]`` takes a database from version ``n - 1`` to ``n``.  Append, never edit.
_MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """
        CREATE TABLE IF NOT EXISTS drafts (
            channel    TEXT    NOT NULL,
            user_id    TEXT    NOT NULL,
            data       TEXT    NOT NULL,
            version    INTEGER NOT NULL,
            updated_at TEXT    NOT NULL,
            PRIMARY KEY (channel, user_id)
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS submissions (
            number     TEXT PRIMARY KEY,
            contest_id TEXT NOT NULL,
            channel    TEXT NOT NULL,
            user_id    TEXT NOT NULL,
            channel_id TEXT NOT NULL,
            form_id    TEXT NOT NULL,
            answers    TEXT NOT NULL,
            video      TEXT NOT NULL,
            extra      TEXT NOT NULL DEFAULT '{}',
            status     TEXT NOT NULL,
            created_at TEXT NOT NULL
        )
        """,
        "CREATE INDEX IF NOT EXISTS submissions_contest ON submissions (contest_id, created_at)",
        "CREATE INDEX IF NOT EXISTS submissions_user ON submissions (channel, user_id, created_at)",
        "CREATE INDEX IF NOT EXISTS submissions_created ON submissions (created_at)",
        """
        CREATE TABLE IF NOT EXISTS counters (
            prefix TEXT PRIMARY KEY,
            value  INTEGER NOT NULL
        )
        """,
    ),
    2: (
        "CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, expires_at TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS claims_expiry ON claims (expires_at)",
        """
        CREATE TABLE IF NOT EXISTS contacts (
            channel TEXT NOT NULL,
            user_id TEXT NOT NULL,
            last_at TEXT NOT NULL,
            PRIMARY KEY (channel, user_id)
        )
        """,
    ),
}

_BUSY_TIMEOUT_MS = 5000
#: Seconds between two sweeps of expired claims (done by ``claim_once``, not on every call).
CLAIM_SWEEP_EVERY = 60.0

_SUBMISSION_COLUMNS = (
    "number, contest_id, channel, user_id, channel_id, form_id, answers, video, extra, status, created_at"
)


_PLACEHOLDERS = ", ".join("?" * len(_SUBMISSION_COLUMNS.split(",")))


def _row_to_submission(row: sqlite3.Row | tuple[Any, ...]) -> Submission:
    (number, contest_id, channel, user_id, channel_id, form_id, answers, video, extra, status, created) = row
    return Submission(
        number=number,
        contest_id=contest_id,
        user=UserKey(channel, user_id),
        channel_id=channel_id,
        form_id=form_id,
        answers=json.loads(answers),
        video=json.loads(video),
        created_at=parse_utc(created),
        status=status,
        extra=json.loads(extra),
    )


class SqliteStorage:
    """:class:`~bot.storage.base.Storage` in one SQLite file (WAL mode); survives restarts.

    Create with :meth:`open`; call :meth:`close` when done.
    """

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._db: aiosqlite.Connection | None = conn
        self._lock = asyncio.Lock()
        self._pending: set[asyncio.Task[str]] = set()
        self.path = path
        self.claim_sweep_every = CLAIM_SWEEP_EVERY
        self._claims_swept_at = float("-inf")  # event-loop time of the last sweep of expired claims

    @classmethod
    async def open(cls, path: Path) -> SqliteStorage:
        """Open (creating if needed) the database file at ``path`` and bring its schema up to date."""
        path = Path(path)
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        # isolation_level=None: no implicit transactions; this class issues BEGIN/COMMIT itself.
        conn = await aiosqlite.connect(path, isolation_level=None)
        try:
            await conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = NORMAL")
            await cls._migrate(conn)
        except BaseException:
            await conn.close()
            raise
        return cls(conn, path)

    @staticmethod
    async def _migrate(conn: aiosqlite.Connection) -> None:
        await conn.execute("BEGIN IMMEDIATE")
        try:
            rows = list(await conn.execute_fetchall("PRAGMA user_version"))
            current = int(rows[0][0])
            if current > SCHEMA_VERSION:
                raise RuntimeError(
                    f"database schema version {current} is newer than this program's ({SCHEMA_VERSION})"
                )
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[version]:
                    await conn.execute(statement)
                await conn.execute(f"PRAGMA user_version = {version}")
            await conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                await conn.execute("ROLLBACK")
            raise

    def _conn(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("SqliteStorage is closed")
        return self._db

    async def _fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        async with self._lock:
            return list(await self._conn().execute_fetchall(sql, tuple(params)))

    # -- drafts -----------------------------------------------------------------------------

    async def get_draft(self, user: UserKey) -> Draft | None:
        rows = await self._fetchall(
            "SELECT data, version, updated_at FROM drafts WHERE channel = ? AND user_id = ?",
            (user.channel, user.user_id),
        )
        if not rows:
            return None
        data, version, updated_at = rows[0]
        return Draft(user=user, data=json.loads(data), version=version, updated_at=parse_utc(updated_at))

    async def save_draft(self, draft: Draft) -> Draft:
        encoded = dump_json(draft.data)
        now = dt.datetime.now(dt.UTC)
        new_version = draft.version + 1
        key = (draft.user.channel, draft.user.user_id)
        # Each branch is one statement, hence atomic also against other processes.
        if draft.version == 0:
            sql = (
                "INSERT INTO drafts (channel, user_id, data, version, updated_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (channel, user_id) DO NOTHING RETURNING 1"
            )
            params: tuple[Any, ...] = (*key, encoded, new_version, utc_iso(now))
        else:
            sql = (
                "UPDATE drafts SET data = ?, version = ?, updated_at = ?"
                " WHERE channel = ? AND user_id = ? AND version = ? RETURNING 1"
            )
            params = (encoded, new_version, utc_iso(now), *key, draft.version)
        # RETURNING and execute_fetchall: one aiosqlite round trip (a thread hand-off each),
        # where execute + rowcount + cursor.close() took two; this runs on every answer.
        async with self._lock:
            changed = len(list(await self._conn().execute_fetchall(sql, params)))
        if changed != 1:
            raise StaleDraftError(f"draft of {draft.user} is not at version {draft.version}")
        return Draft(user=draft.user, data=json.loads(encoded), version=new_version, updated_at=now)

    async def list_drafts(self) -> list[Draft]:
        rows = await self._fetchall(
            "SELECT channel, user_id, data, version, updated_at FROM drafts ORDER BY channel, user_id"
        )
        return [Draft(UserKey(c, u), json.loads(data), int(v), parse_utc(at)) for c, u, data, v, at in rows]

    async def delete_draft(self, user: UserKey) -> bool:
        async with self._lock:
            cursor = await self._conn().execute(
                "DELETE FROM drafts WHERE channel = ? AND user_id = ?", (user.channel, user.user_id)
            )
            changed = cursor.rowcount
            await cursor.close()
        return changed > 0

    # -- submissions ------------------------------------------------------------------------

    async def create_submission(
        self,
        *,
        prefix: str,
        contest_id: str,
        user: UserKey,
        channel_id: str,
        form_id: str,
        answers: dict[str, Any],
        video: dict[str, Any],
        now: dt.datetime,
    ) -> Submission:
        created = utc_iso(now)
        answers_json, video_json, extra_json = dump_json(answers), dump_json(video), dump_json({})
        status = "submitted"
        row: tuple[str, ...] = (contest_id, user.channel, user.user_id, channel_id, form_id)
        row += (answers_json, video_json, extra_json, status, created)
        # The transaction runs in its own task, shielded, so that cancelling the caller can never
        # leave the shared connection half-way through a transaction.
        task = asyncio.get_running_loop().create_task(self._insert_submission(prefix, row))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        number = await asyncio.shield(task)
        return Submission(
            number=number,
            contest_id=contest_id,
            user=user,
            channel_id=channel_id,
            form_id=form_id,
            answers=json.loads(answers_json),
            video=json.loads(video_json),
            created_at=parse_utc(created),
            status=status,
            extra={},
        )

    async def _insert_submission(self, prefix: str, row: tuple[str, ...]) -> str:
        async with self._lock:
            conn = self._conn()
            await conn.execute("BEGIN IMMEDIATE")
            try:
                rows = list(
                    await conn.execute_fetchall(
                        "INSERT INTO counters (prefix, value) VALUES (?, 1)"
                        " ON CONFLICT (prefix) DO UPDATE SET value = value + 1 RETURNING value",
                        (prefix,),
                    )
                )
                number = format_number(prefix, int(rows[0][0]))
                await conn.execute(
                    f"INSERT INTO submissions ({_SUBMISSION_COLUMNS}) VALUES ({_PLACEHOLDERS})",
                    (number, *row),
                )
                # row[1:3] is (channel, user_id): the draft goes with the submission.
                await conn.execute("DELETE FROM drafts WHERE channel = ? AND user_id = ?", row[1:3])
                await conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    await conn.execute("ROLLBACK")
                raise
        return number

    async def get_submission(self, number: str) -> Submission | None:
        rows = await self._fetchall(
            f"SELECT {_SUBMISSION_COLUMNS} FROM submissions WHERE number = ?", (number,)
        )
        return _row_to_submission(rows[0]) if rows else None

    async def list_submissions(
        self, *, contest_id: str | None = None, user: UserKey | None = None
    ) -> list[Submission]:
        where: list[str] = []
        params: list[Any] = []
        if contest_id is not None:
            where.append("contest_id = ?")
            params.append(contest_id)
        if user is not None:
            where.append("channel = ? AND user_id = ?")
            params += [user.channel, user.user_id]
        sql = f"SELECT {_SUBMISSION_COLUMNS} FROM submissions"
        if where:
            sql += " WHERE " + " AND ".join(where)
        # Ties on created_at fall back to insertion order.
        sql += " ORDER BY created_at, rowid"
        return [_row_to_submission(row) for row in await self._fetchall(sql, params)]

    async def update_submission(
        self,
        number: str,
        *,
        status: str | None = None,
        video: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Submission:
        async with self._lock:
            conn = self._conn()
            await conn.execute("BEGIN IMMEDIATE")
            try:
                rows = list(
                    await conn.execute_fetchall(
                        f"SELECT {_SUBMISSION_COLUMNS} FROM submissions WHERE number = ?", (number,)
                    )
                )
                if not rows:
                    raise KeyError(number)
                current = _row_to_submission(rows[0])
                new_extra = merge_extra(current.extra, extra or {})
                await conn.execute(
                    "UPDATE submissions SET status = ?, video = ?, extra = ? WHERE number = ?",
                    (
                        status or current.status,
                        dump_json(current.video if video is None else video),
                        dump_json(new_extra),
                        number,
                    ),
                )
                await conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    await conn.execute("ROLLBACK")
                raise
        updated = await self.get_submission(number)
        assert updated is not None
        return updated

    async def claim_once(self, key: str, ttl: dt.timedelta) -> bool:
        now = dt.datetime.now(dt.UTC)
        async with self._lock:
            conn = self._conn()
            # One statement, one round trip: an expired claim is taken over, a live one is left
            # alone; RETURNING yields a row only when this call claimed the key.
            rows = await conn.execute_fetchall(
                "INSERT INTO claims (key, expires_at) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at"
                " WHERE claims.expires_at <= ? RETURNING 1",
                (key, utc_iso(now + ttl), utc_iso(now)),
            )
            # Expired claims are of no use, but sweeping them on every claim (a WeChat push
            # claims its MsgId) doubled the cost of each: at most once per CLAIM_SWEEP_EVERY.
            clock = asyncio.get_running_loop().time()
            if clock >= self._claims_swept_at + self.claim_sweep_every:
                self._claims_swept_at = clock
                await conn.execute("DELETE FROM claims WHERE expires_at <= ?", (utc_iso(now),))
        return bool(rows)

    async def touch_contact(self, user: UserKey, when: dt.datetime) -> None:
        async with self._lock:
            await self._conn().execute(
                "INSERT INTO contacts (channel, user_id, last_at) VALUES (?, ?, ?)"
                " ON CONFLICT (channel, user_id) DO UPDATE SET last_at = MAX(last_at, excluded.last_at)",
                (user.channel, user.user_id, utc_iso(when)),
            )

    async def last_contact(self, user: UserKey) -> dt.datetime | None:
        rows = await self._fetchall(
            "SELECT last_at FROM contacts WHERE channel = ? AND user_id = ?", (user.channel, user.user_id)
        )
        return parse_utc(rows[0][0]) if rows else None

    async def list_contacts(self) -> list[UserKey]:
        rows = await self._fetchall("SELECT channel, user_id FROM contacts ORDER BY channel, user_id")
        return [UserKey(c, u) for c, u in rows]

    async def close(self) -> None:
        """Close the connection (idempotent); the store is unusable afterwards."""
        async with self._lock:
            conn, self._db = self._db, None
            if conn is not None:
                await conn.close()
