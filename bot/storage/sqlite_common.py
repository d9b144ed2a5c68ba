"""What every SQLite store of the project shares: the connection's settings, versioned
migrations of one store's own tables, and writes as shielded ``BEGIN IMMEDIATE`` transactions."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

T = TypeVar("T")
BUSY_TIMEOUT_MS = 10_000


async def rows(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> list[Any]:
    return list(await conn.execute_fetchall(sql, tuple(params)))


async def connect(path: Path) -> aiosqlite.Connection:
    """A connection in WAL mode that waits for other writers; BEGIN/COMMIT are the caller's."""
    await asyncio.to_thread(Path(path).parent.mkdir, parents=True, exist_ok=True)
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA synchronous = NORMAL")
    except BaseException:
        await conn.close()
        raise
    return conn


async def migrate(
    conn: aiosqlite.Connection, table: str, version: int, migrations: Mapping[int, Iterable[str]]
) -> None:
    """Bring one store's tables to ``version``, the current one recorded in ``table`` (several
    stores share a file, so ``PRAGMA user_version`` belongs to the main one)."""
    await conn.execute("BEGIN IMMEDIATE")
    try:
        await conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (version INTEGER NOT NULL)")
        found = await rows(conn, f"SELECT MAX(version) FROM {table}")
        current = int(found[0][0] or 0) if found else 0
        if current > version:
            raise RuntimeError(f"{table} version {current} is newer than this program's ({version})")
        for step in range(current + 1, version + 1):
            for statement in migrations[step]:
                await conn.execute(statement)
        await conn.execute(f"DELETE FROM {table}")
        await conn.execute(f"INSERT INTO {table} (version) VALUES (?)", (version,))
        await conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            await conn.execute("ROLLBACK")
        raise


class SqliteStoreBase:
    """One connection, one lock around it, and writes that a cancelled caller cannot leave
    half-way through a transaction."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._db: aiosqlite.Connection | None = conn
        self._lock = asyncio.Lock()
        self._pending: set[asyncio.Task[Any]] = set()
        self.path = path

    def _conn(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError(f"{type(self).__name__} is closed")
        return self._db

    async def _write(self, body: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        """``body`` in one BEGIN IMMEDIATE transaction, shielded from the caller's cancellation."""

        async def run() -> T:
            async with self._lock:
                conn = self._conn()
                await conn.execute("BEGIN IMMEDIATE")
                try:
                    result = await body(conn)
                    await conn.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        await conn.execute("ROLLBACK")
                    raise
                return result

        task = asyncio.get_running_loop().create_task(run())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return await asyncio.shield(task)

    async def _read(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        async with self._lock:
            return await rows(self._conn(), sql, params)
