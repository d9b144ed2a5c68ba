"""The SQLite connection thread every SQLite store runs on (``bot.storage.sqlite.common``)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from bot.storage.sqlite.common import SqliteThread


async def _open(tmp_path: Path) -> SqliteThread:
    db = await SqliteThread.open(tmp_path / "a" / "b" / "t.sqlite3")
    await db.call(lambda conn: conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)"))
    return db


async def test_jobs_run_in_one_thread_off_the_loop_in_order(tmp_path: Path) -> None:
    db = await _open(tmp_path)
    try:
        seen: list[tuple[int, int]] = []

        def job(i: int) -> int:
            def run(conn: sqlite3.Connection) -> int:
                seen.append((i, threading.get_ident()))
                conn.execute("INSERT INTO t (k, v) VALUES (?, ?)", (i, str(i)))
                return i * 2

            return run

        results = await asyncio.gather(*(db.call(job(i)) for i in range(200)))
        assert results == [i * 2 for i in range(200)]
        assert [i for i, _ in seen] == list(range(200)), "jobs run in the order they were handed over"
        threads = {ident for _, ident in seen}
        assert len(threads) == 1
        assert threading.get_ident() not in threads
        assert await db.fetchall("SELECT COUNT(*) FROM t") == [(200,)]
    finally:
        await db.close()


async def test_write_is_one_transaction_rolled_back_when_the_body_raises(tmp_path: Path) -> None:
    db = await _open(tmp_path)
    try:
        await db.write(lambda conn: conn.execute("INSERT INTO t VALUES (1, 'kept')"))

        def half(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO t VALUES (2, 'lost')")
            conn.execute("INSERT INTO t VALUES (1, 'duplicate')")

        with pytest.raises(sqlite3.IntegrityError):
            await db.write(half)
        assert await db.fetchall("SELECT k, v FROM t ORDER BY k") == [(1, "kept")]
        # The connection is usable afterwards: no transaction was left open.
        await db.write(lambda conn: conn.execute("INSERT INTO t VALUES (3, 'next')"))
        assert await db.fetchall("SELECT k FROM t ORDER BY k") == [(1,), (3,)]
    finally:
        await db.close()


async def test_a_cancelled_caller_never_cuts_a_transaction_short(tmp_path: Path) -> None:
    db = await _open(tmp_path)
    try:
        started, release = threading.Event(), threading.Event()

        def slow(conn: sqlite3.Connection) -> str:
            conn.execute("INSERT INTO t VALUES (1, 'a')")
            started.set()
            release.wait(5)
            conn.execute("INSERT INTO t VALUES (2, 'b')")
            return "done"

        caller = asyncio.ensure_future(db.write(slow))
        assert await asyncio.to_thread(started.wait, 5)
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
        release.set()
        # Both rows or none: here both, because the job ran to its end after the caller left.
        assert await db.fetchall("SELECT k FROM t ORDER BY k") == [(1,), (2,)]
    finally:
        await db.close()


async def test_errors_reach_the_caller_and_other_jobs_go_on(tmp_path: Path) -> None:
    db = await _open(tmp_path)
    try:
        results = await asyncio.gather(
            db.fetchall("SELECT 1"),
            db.fetchall("SELECT * FROM no_such_table"),
            db.fetchall("SELECT 2"),
            return_exceptions=True,
        )
        assert results[0] == [(1,)]
        assert isinstance(results[1], sqlite3.OperationalError)
        assert results[2] == [(2,)]
    finally:
        await db.close()


async def test_close_runs_what_was_handed_over_then_refuses_and_is_idempotent(tmp_path: Path) -> None:
    db = await _open(tmp_path)
    pending = db.write(lambda conn: conn.execute("INSERT INTO t VALUES (9, 'last')"))
    await db.close()
    await pending  # handed over before close: it ran
    assert db.closed
    with pytest.raises(RuntimeError, match="closed"):
        db.call(lambda conn: None)
    await db.close()
    assert not any(t.name == "sqlite:t.sqlite3" for t in threading.enumerate())
    reopened = await SqliteThread.open(tmp_path / "a" / "b" / "t.sqlite3")
    try:
        assert await reopened.fetchall("SELECT v FROM t") == [("last",)]
        assert await reopened.fetchall("PRAGMA journal_mode") == [("wal",)]
    finally:
        await reopened.close()


async def test_open_fails_clearly_and_leaves_no_thread(tmp_path: Path) -> None:
    (tmp_path / "dir.sqlite3").mkdir()
    with pytest.raises(sqlite3.OperationalError):
        await SqliteThread.open(tmp_path / "dir.sqlite3")
    assert not any(t.name == "sqlite:dir.sqlite3" for t in threading.enumerate())
