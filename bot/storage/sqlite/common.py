"""What every SQLite store of the project shares: one connection owned by one thread, whole
transactions handed to that thread as one job, and versioned migrations of a store's tables.

Why not one hand-off per statement (as :mod:`aiosqlite` does): on a 2-vCPU VM a thread
hand-off costs 250–300 µs of CPU (waking a thread, the GIL, the loop's self-pipe), against
~20 µs for the statement itself.  Here a store method is *one* job whatever number of
statements it runs, and the thread drains every job queued meanwhile before it wakes the event
loop once for all their results: under 40 concurrent updates a job costs ~45 µs instead of
~250.  A job is atomic from the caller's side: cancelling the awaiting coroutine drops the
result, never half a transaction, so no lock or shielded task is needed around it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
BUSY_TIMEOUT_MS = 10_000

#: A job for the connection's thread: a function of the connection, run there.
Job = Callable[[sqlite3.Connection], Any]
_Done = list[tuple["asyncio.Future[Any]", Any, BaseException | None]]


# bench/README.md 'Telegram: session 3': ~45 µs per job instead of ~230–270.
class SqliteThread:
    """One :class:`sqlite3.Connection` in a thread of its own, fed jobs from the event loop.

    :meth:`call` runs ``fn(connection)`` in that thread and returns its result; :meth:`write`
    wraps ``fn`` in ``BEGIN IMMEDIATE`` … ``COMMIT``.  Jobs run one at a time in the order they
    were handed over.  Open with :meth:`open`, release with :meth:`close` (joins the thread).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._jobs: collections.deque[tuple[asyncio.Future[Any], Job | None]] = collections.deque()
        self._wake = threading.Condition(threading.Lock())
        self._closed = False
        # Daemon only so that a store someone forgot to close cannot hang interpreter exit;
        # close() stops and joins it.
        self._thread = threading.Thread(target=self._run, name=f"sqlite:{path.name}", daemon=True)

    @classmethod
    async def open(cls, path: Path, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> SqliteThread:
        """Open (creating folders and file if needed) ``path`` in WAL mode; BEGIN/COMMIT are ours."""
        path = Path(path)
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        db = cls(path)
        db._thread.start()

        def setup(conn: sqlite3.Connection) -> None:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            conn.execute("PRAGMA journal_mode = WAL")
            # WAL + NORMAL: a commit is durable against a crash of this process, not of the OS.
            conn.execute("PRAGMA synchronous = NORMAL")

        try:
            await db.call(setup)
        except BaseException:
            await db.close()
            raise
        return db

    # -- the event loop's side -------------------------------------------------------------

    def call(self, fn: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
        """Run ``fn(connection)`` in the connection's thread; await the returned future."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        with self._wake:
            if self._closed:
                raise RuntimeError(f"the SQLite connection to {self.path.name} is closed")
            self._jobs.append((future, fn))
            if len(self._jobs) == 1:  # otherwise the thread is awake or already told
                self._wake.notify()
        return future

    def write(self, body: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
        """``body`` in one ``BEGIN IMMEDIATE`` transaction, rolled back if it raises."""
        return self.call(lambda conn: transaction(conn, body))

    def fetchall(self, sql: str, params: Iterable[Any] = ()) -> asyncio.Future[list[Any]]:
        """All rows of one statement (run in autocommit mode)."""
        args = tuple(params)
        return self.call(lambda conn: conn.execute(sql, args).fetchall())

    @property
    def closed(self) -> bool:
        return self._closed

    async def close(self) -> None:
        """Run the jobs already handed over, close the connection and join the thread (idempotent)."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        with self._wake:
            if self._closed:
                first = False
            else:
                first = True
                self._closed = True
                self._jobs.append((future, None))
                self._wake.notify()
        if first and self._thread.is_alive():
            await future
        if self._thread.ident is not None:
            await asyncio.to_thread(self._thread.join)

    # -- the thread's side -----------------------------------------------------------------

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            # isolation_level=None: no implicit transactions; BEGIN/COMMIT come from the jobs.
            conn = sqlite3.connect(self.path, isolation_level=None)
        except BaseException as exc:  # reported to every job, the first one being open()'s
            error: BaseException | None = exc
        else:
            error = None
        while True:
            with self._wake:
                while not self._jobs:
                    self._wake.wait()
                batch = list(self._jobs)
                self._jobs.clear()
            done: _Done = []
            stop = False
            for future, fn in batch:
                if fn is None:
                    stop = True
                    if conn is not None:
                        with contextlib.suppress(sqlite3.Error):
                            conn.close()
                        conn = None
                    done.append((future, None, None))
                elif conn is None:
                    done.append((future, None, error or RuntimeError("connection closed")))
                else:
                    try:
                        done.append((future, fn(conn), None))
                    except BaseException as exc:  # handed to the caller, who decides
                        done.append((future, None, exc))
            # One wake-up of each loop for the whole batch: that is what batching saves.
            by_loop: dict[asyncio.AbstractEventLoop, _Done] = {}
            for item in done:
                by_loop.setdefault(item[0].get_loop(), []).append(item)
            for loop, items in by_loop.items():
                with contextlib.suppress(RuntimeError):  # that loop is closed: nobody awaits these
                    loop.call_soon_threadsafe(_deliver, items)
            if stop:
                return


def _deliver(done: _Done) -> None:
    for future, result, error in done:
        if future.done():  # the caller was cancelled; the job ran anyway, atomically
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)


def transaction(conn: sqlite3.Connection, body: Callable[[sqlite3.Connection], T]) -> T:
    """``body(conn)`` between ``BEGIN IMMEDIATE`` and ``COMMIT`` (in the connection's thread)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = body(conn)
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
    return result


def rows(conn: sqlite3.Connection, sql: str, params: Iterable[Any] = ()) -> list[Any]:
    return conn.execute(sql, tuple(params)).fetchall()


def changed(conn: sqlite3.Connection, sql: str, params: Iterable[Any] = ()) -> int:
    """Rows changed by one statement."""
    cursor = conn.execute(sql, tuple(params))
    try:
        return cursor.rowcount
    finally:
        cursor.close()


async def connect(path: Path) -> SqliteThread:
    """A connection in WAL mode that waits for other writers; BEGIN/COMMIT are the caller's."""
    return await SqliteThread.open(path)


async def migrate(
    db: SqliteThread, table: str, version: int, migrations: Mapping[int, Iterable[str]]
) -> None:
    """Bring one store's tables to ``version``, the current one recorded in ``table`` (several
    stores share a file, so ``PRAGMA user_version`` belongs to the main one)."""

    def body(conn: sqlite3.Connection) -> None:
        conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (version INTEGER NOT NULL)")
        found = rows(conn, f"SELECT MAX(version) FROM {table}")
        current = int(found[0][0] or 0) if found else 0
        if current > version:
            raise RuntimeError(f"{table} version {current} is newer than this program's ({version})")
        for step in range(current + 1, version + 1):
            for statement in migrations[step]:
                conn.execute(statement)
        conn.execute(f"DELETE FROM {table}")
        conn.execute(f"INSERT INTO {table} (version) VALUES (?)", (version,))

    await db.write(body)


class SqliteStoreBase:
    """A store on one :class:`SqliteThread`: reads and whole-transaction writes, one job each."""

    def __init__(self, db: SqliteThread, path: Path) -> None:
        self._db: SqliteThread | None = db
        self.path = path

    def _conn(self) -> SqliteThread:
        if self._db is None:
            raise RuntimeError(f"{type(self).__name__} is closed")
        return self._db

    async def _write(self, body: Callable[[sqlite3.Connection], T]) -> T:
        """``body`` in one BEGIN IMMEDIATE transaction; a cancelled caller cannot cut it short."""
        return await self._conn().write(body)

    async def _read(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        return await self._conn().fetchall(sql, params)

    async def ping(self) -> None:
        """Return when the database answers a query."""
        await self._read("SELECT 1")

    async def close(self) -> None:
        """Close the connection (idempotent); the store is unusable afterwards."""
        db, self._db = self._db, None
        if db is not None:
            await db.close()
