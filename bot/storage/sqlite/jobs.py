"""The job store in SQLite: its own tables in the data directory's database file.

Each delivery transition is one ``UPDATE`` whose ``WHERE`` is the compare-and-set (state,
owner, attempt), so it is atomic also against other processes sharing the file.  A trigger
counts a delivery off its job in the same statement when it reaches a final state, and marks
the job ``done`` with the last one.  Starting a job (inserting its deliveries) and recovering
a dead worker's claims are ``BEGIN IMMEDIATE`` transactions.  Every method is one job of the
connection's thread (:class:`~bot.storage.sqlite.common.SqliteThread`), so a cancelled caller
never cuts a transaction short nor leaves the connection inside one.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import Any

from bot.storage.base import dump_json, parse_utc, utc_iso
from bot.storage.jobs_doc import job_doc, job_from_doc, unique_recipients
from bot.storage.sqlite.common import SqliteStoreBase, changed, connect, migrate, rows
from contests.deliveries import (
    BeginResult,
    Delivery,
    DeliveryKey,
    DeliveryState,
    Job,
    JobState,
    Outcome,
    Reason,
    Recipient,
)
from contests.records import UserKey

__all__ = ["JOBS_SCHEMA_VERSION", "SqliteJobStore"]

#: Version of the ``job*`` tables, kept in ``jobs_schema`` (``PRAGMA user_version`` belongs to
#: :class:`~bot.storage.sqlite.drafts.SqliteStorage`, which shares the file).
JOBS_SCHEMA_VERSION = 1

_MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """
        CREATE TABLE IF NOT EXISTS jobs (
            id          TEXT PRIMARY KEY,
            contest_id  TEXT NOT NULL,
            doc         TEXT NOT NULL,
            at          TEXT NOT NULL,
            created_at  TEXT NOT NULL,
            state       TEXT NOT NULL,
            total       INTEGER NOT NULL DEFAULT 0,
            remaining   INTEGER NOT NULL DEFAULT 0,
            started_at  TEXT,
            finished_at TEXT
        )
        """,
        "CREATE INDEX IF NOT EXISTS jobs_due ON jobs (state, at)",
        "CREATE INDEX IF NOT EXISTS jobs_contest ON jobs (contest_id, created_at)",
        """
        CREATE TABLE IF NOT EXISTS job_deliveries (
            job_id     TEXT    NOT NULL,
            seq        INTEGER NOT NULL,
            channel    TEXT    NOT NULL,
            user_id    TEXT    NOT NULL,
            text       TEXT    NOT NULL DEFAULT '',
            state      TEXT    NOT NULL,
            reason     TEXT    NOT NULL DEFAULT '',
            detail     TEXT    NOT NULL DEFAULT '',
            via        TEXT    NOT NULL DEFAULT '',
            attempt    INTEGER NOT NULL DEFAULT 0,
            owner      TEXT    NOT NULL DEFAULT '',
            not_before TEXT    NOT NULL,
            updated_at TEXT    NOT NULL,
            PRIMARY KEY (job_id, seq)
        )
        """,
        # What the worker claims next, and what a worker holds: both partial, so small.
        "CREATE INDEX IF NOT EXISTS job_deliveries_due ON job_deliveries (not_before)"
        " WHERE state = 'pending'",
        "CREATE INDEX IF NOT EXISTS job_deliveries_held ON job_deliveries (owner)"
        " WHERE state IN ('claimed', 'sending')",
        """
        CREATE TRIGGER IF NOT EXISTS job_deliveries_final
        AFTER UPDATE OF state ON job_deliveries
        WHEN old.state IN ('pending', 'claimed', 'sending') AND new.state IN ('sent', 'failed', 'skipped')
        BEGIN
            UPDATE jobs SET
                remaining = remaining - 1,
                state = CASE WHEN remaining <= 1 AND state = 'running' THEN 'done' ELSE state END,
                finished_at = CASE WHEN remaining <= 1 THEN new.updated_at ELSE finished_at END
            WHERE id = new.job_id;
        END
        """,
        "CREATE TABLE IF NOT EXISTS job_workers (id TEXT PRIMARY KEY, expires_at TEXT NOT NULL)",
        """
        CREATE TABLE IF NOT EXISTS job_opt_outs (
            channel TEXT NOT NULL,
            user_id TEXT NOT NULL,
            at      TEXT NOT NULL,
            PRIMARY KEY (channel, user_id)
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS job_quotas (
            key        TEXT PRIMARY KEY,
            used       INTEGER NOT NULL,
            expires_at TEXT NOT NULL
        )
        """,
    ),
}

_JOB_COLUMNS = "doc, state, total, remaining, started_at, finished_at"
_DELIVERY_COLUMNS = (
    "job_id, seq, channel, user_id, text, state, reason, detail, via, attempt, owner, updated_at"
)
_ACTIVE = ("pending", "claimed", "sending")
_UNCERTAIN_DETAIL = "the worker stopped during the platform call"


def _job(row: Iterable[Any]) -> Job:
    doc, state, total, remaining, started, finished = row
    return job_from_doc(
        json.loads(doc),
        state=state,
        total=total,
        remaining=remaining,
        started_at=started,
        finished_at=finished,
    )


def _delivery(row: Iterable[Any]) -> Delivery:
    job_id, seq, channel, user_id, text, state, reason, detail, via, attempt, owner, updated = row
    return Delivery(
        job_id=job_id,
        seq=int(seq),
        user=UserKey(channel, user_id),
        text=text,
        state=DeliveryState(state),
        reason=reason,
        detail=detail,
        via=via,
        attempt=int(attempt),
        owner=owner,
        updated_at=parse_utc(updated),
    )


class SqliteJobStore(SqliteStoreBase):
    """:class:`~bot.storage.jobs_doc.JobStore` in SQLite (WAL).  Create with :meth:`open`."""

    @classmethod
    async def open(cls, path: Path) -> SqliteJobStore:
        """Open (creating if needed) the database at ``path`` and bring this store's tables up to date."""
        conn = await connect(Path(path))
        try:
            await migrate(conn, "jobs_schema", JOBS_SCHEMA_VERSION, _MIGRATIONS)
        except BaseException:
            await conn.close()
            raise
        return cls(conn, Path(path))

    async def _one(self, sql: str, params: Iterable[Any] = ()) -> int:
        """One statement (atomic by itself); returns the number of rows it changed."""
        args = tuple(params)
        return await self._conn().call(lambda conn: changed(conn, sql, args))

    # -- jobs -----------------------------------------------------------------------------

    async def create_job(self, job: Job) -> bool:
        return (
            await self._one(
                "INSERT INTO jobs (id, contest_id, doc, at, created_at, state) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO NOTHING",
                (
                    job.id,
                    job.contest_id,
                    dump_json(job_doc(job)),
                    utc_iso(job.at),
                    utc_iso(job.created_at),
                    job.state.value,
                ),
            )
            == 1
        )

    async def get_job(self, job_id: str) -> Job | None:
        rows = await self._read(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,))
        return _job(rows[0]) if rows else None

    async def list_jobs(
        self, *, contest_id: str | None = None, states: Collection[JobState] | None = None
    ) -> list[Job]:
        sql = f"SELECT {_JOB_COLUMNS} FROM jobs"
        params: list[Any] = []
        if contest_id is not None:
            sql += " WHERE contest_id = ?"
            params.append(contest_id)
        jobs = [_job(row) for row in await self._read(sql + " ORDER BY created_at, rowid", params)]
        return [j for j in jobs if states is None or j.state in states]

    async def confirm_job(self, job_id: str) -> bool:
        return (
            await self._one("UPDATE jobs SET state = 'scheduled' WHERE id = ? AND state = 'held'", (job_id,))
            == 1
        )

    async def cancel_job(self, job_id: str, now: dt.datetime) -> Job | None:
        now_s = utc_iso(now)

        def body(conn: sqlite3.Connection) -> list[Any]:
            cancelled = changed(
                conn,
                "UPDATE jobs SET state = 'cancelled',"
                " finished_at = CASE WHEN state = 'running' THEN finished_at ELSE ? END"
                " WHERE id = ? AND state IN ('held', 'scheduled', 'running')",
                (now_s, job_id),
            )
            if cancelled:
                # The trigger counts each off; the job stays "cancelled".
                conn.execute(
                    "UPDATE job_deliveries SET state = 'skipped', reason = ?, updated_at = ?"
                    " WHERE job_id = ? AND state = 'pending'",
                    (Reason.CANCELLED, now_s, job_id),
                )
            return rows(conn, f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,))

        found = await self._write(body)
        return _job(found[0]) if found else None

    async def due_jobs(self, now: dt.datetime) -> list[Job]:
        rows = await self._read(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE state = 'scheduled' AND at <= ? ORDER BY at",
            (utc_iso(now),),
        )
        return [_job(row) for row in rows]

    async def start_job(self, job_id: str, recipients: Sequence[Recipient], now: dt.datetime) -> bool:
        unique = unique_recipients(recipients)
        now_s = utc_iso(now)

        def body(conn: sqlite3.Connection) -> bool:
            state = "running" if unique else "done"
            started = changed(
                conn,
                "UPDATE jobs SET state = ?, total = ?, remaining = ?, started_at = ?,"
                " finished_at = CASE WHEN ? = 'done' THEN ? ELSE NULL END"
                " WHERE id = ? AND state = 'scheduled'",
                (state, len(unique), len(unique), now_s, state, now_s, job_id),
            )
            if not started:
                return False
            conn.executemany(
                "INSERT INTO job_deliveries"
                " (job_id, seq, channel, user_id, text, state, not_before, updated_at)"
                " VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
                [
                    (job_id, seq, r.user.channel, r.user.user_id, r.text, now_s, now_s)
                    for seq, r in enumerate(unique)
                ],
            )
            return True

        return await self._write(body)

    # -- deliveries -----------------------------------------------------------------------

    async def claim(self, worker: str, now: dt.datetime, limit: int) -> list[Delivery]:
        if limit <= 0:
            return []
        now_s = utc_iso(now)
        # One statement: the subquery and the update cannot interleave with another writer.
        rows = await self._read(
            "UPDATE job_deliveries SET state = 'claimed', owner = ?, updated_at = ?"
            " WHERE rowid IN (SELECT rowid FROM job_deliveries WHERE state = 'pending' AND not_before <= ?"
            " ORDER BY not_before LIMIT ?)"
            f" RETURNING {_DELIVERY_COLUMNS}",
            (worker, now_s, now_s, limit),
        )
        return sorted((_delivery(r) for r in rows), key=lambda d: (d.job_id, d.seq))

    async def release(self, worker: str, keys: Sequence[DeliveryKey], not_before: dt.datetime) -> int:
        if not keys:
            return 0
        nb = utc_iso(not_before)

        def body(conn: sqlite3.Connection) -> int:
            moved = 0
            for job_id, seq in keys:
                moved += changed(
                    conn,
                    "UPDATE job_deliveries SET state = 'pending', owner = '', not_before = ?, updated_at = ?"
                    " WHERE job_id = ? AND seq = ? AND state = 'claimed' AND owner = ?",
                    (nb, nb, job_id, seq, worker),
                )
            return moved

        return await self._write(body)

    async def begin(self, worker: str, key: DeliveryKey, now: dt.datetime) -> int | BeginResult:
        job_id, seq = key
        now_s = utc_iso(now)

        def body(conn: sqlite3.Connection) -> int | BeginResult:
            # The UPDATE is the compare-and-set by itself; the reads after it only tell why not.
            began = rows(
                conn,
                "UPDATE job_deliveries SET state = 'sending', attempt = attempt + 1, updated_at = ?"
                " WHERE job_id = ? AND seq = ? AND state = 'claimed' AND owner = ?"
                " AND (SELECT state FROM jobs WHERE id = ?) != 'cancelled'"
                " RETURNING attempt",
                (now_s, job_id, seq, worker, job_id),
            )
            if began:
                return int(began[0][0])
            job = rows(conn, "SELECT state FROM jobs WHERE id = ?", (job_id,))
            held = rows(
                conn,
                "SELECT 1 FROM job_deliveries"
                " WHERE job_id = ? AND seq = ? AND state = 'claimed' AND owner = ?",
                (job_id, seq, worker),
            )
            if held and job and job[0][0] == JobState.CANCELLED:
                return BeginResult.CANCELLED
            return BeginResult.LOST

        return await self._conn().call(body)

    async def finish(
        self, worker: str, key: DeliveryKey, attempt: int, outcome: Outcome, now: dt.datetime
    ) -> bool:
        job_id, seq = key
        now_s = utc_iso(now)
        if outcome.state is DeliveryState.PENDING:
            nb = utc_iso(now + dt.timedelta(seconds=max(0.0, outcome.retry_after)))
            sql = (
                "UPDATE job_deliveries SET state = 'pending', owner = '', reason = ?, detail = ?,"
                " not_before = ?, updated_at = ?"
            )
            params: list[Any] = [outcome.reason, outcome.detail, nb, now_s]
        else:
            sql = "UPDATE job_deliveries SET state = ?, reason = ?, detail = ?, via = ?, updated_at = ?"
            params = [outcome.state.value, outcome.reason, outcome.detail, outcome.via, now_s]
        if attempt == 0:
            sql += " WHERE job_id = ? AND seq = ? AND owner = ? AND state = 'claimed'"
            params += [job_id, seq, worker]
        else:
            sql += (
                " WHERE job_id = ? AND seq = ? AND owner = ? AND attempt = ?"
                " AND (state = 'sending' OR (state = 'failed' AND reason = ?))"
            )
            params += [job_id, seq, worker, attempt, Reason.UNCERTAIN]
        return await self._one(sql, params) == 1

    async def get_delivery(self, key: DeliveryKey) -> Delivery | None:
        rows = await self._read(
            f"SELECT {_DELIVERY_COLUMNS} FROM job_deliveries WHERE job_id = ? AND seq = ?", key
        )
        return _delivery(rows[0]) if rows else None

    async def deliveries(
        self, job_id: str, *, states: Collection[DeliveryState] | None = None
    ) -> list[Delivery]:
        sql = f"SELECT {_DELIVERY_COLUMNS} FROM job_deliveries WHERE job_id = ?"
        params: list[Any] = [job_id]
        if states is not None:
            wanted = [s.value for s in states]
            if not wanted:
                return []
            sql += f" AND state IN ({', '.join('?' * len(wanted))})"
            params += wanted
        return [_delivery(r) for r in await self._read(sql + " ORDER BY seq", params)]

    async def stats(self, job_id: str) -> dict[str, int]:
        rows = await self._read(
            "SELECT state, CASE state WHEN 'sent' THEN via ELSE reason END, COUNT(*)"
            " FROM job_deliveries WHERE job_id = ? GROUP BY 1, 2",
            (job_id,),
        )
        out: dict[str, int] = {}
        for state, why, count in rows:
            key = state if state in _ACTIVE else f"{state}:{why}"
            out[key] = out.get(key, 0) + int(count)
        return out

    # -- workers --------------------------------------------------------------------------

    async def heartbeat(self, worker: str, now: dt.datetime, lease: float, *, register: bool = False) -> bool:
        expires = utc_iso(now + dt.timedelta(seconds=lease))
        if register:
            await self._one(
                "INSERT INTO job_workers (id, expires_at) VALUES (?, ?)"
                " ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at",
                (worker, expires),
            )
            return True
        return await self._one("UPDATE job_workers SET expires_at = ? WHERE id = ?", (expires, worker)) == 1

    async def recover(self, now: dt.datetime, *, resend_uncertain: bool) -> int:
        now_s = utc_iso(now)

        def body(conn: sqlite3.Connection) -> int:
            conn.execute("DELETE FROM job_workers WHERE expires_at <= ?", (now_s,))
            # Anyone holding deliveries without a live heartbeat: dead, or retired half-way.
            return self._move(conn, "owner NOT IN (SELECT id FROM job_workers)", (), now_s, resend_uncertain)

        return await self._write(body)

    async def retire(self, worker: str, now: dt.datetime, *, resend_uncertain: bool) -> int:
        now_s = utc_iso(now)

        def body(conn: sqlite3.Connection) -> int:
            conn.execute("DELETE FROM job_workers WHERE id = ?", (worker,))
            return self._move(conn, "owner = ?", (worker,), now_s, resend_uncertain)

        return await self._write(body)

    @staticmethod
    def _move(conn: sqlite3.Connection, who: str, params: tuple[Any, ...], now_s: str, resend: bool) -> int:
        moved = changed(
            conn,
            "UPDATE job_deliveries SET state = 'pending', owner = '', not_before = ?, updated_at = ?"
            f" WHERE state IN ('claimed', 'sending') AND {who}"
            + ("" if resend else " AND state = 'claimed'"),
            (now_s, now_s, *params),
        )
        if not resend:
            # Owner and attempt stay: a stalled worker that did send may still record it.
            moved += changed(
                conn,
                "UPDATE job_deliveries SET state = 'failed', reason = ?, detail = ?, updated_at = ?"
                f" WHERE state IN ('claimed', 'sending') AND state = 'sending' AND {who}",
                (Reason.UNCERTAIN, _UNCERTAIN_DETAIL, now_s, *params),
            )
        return moved

    # -- opt-outs and quotas --------------------------------------------------------------

    async def set_opt_out(self, user: UserKey, out: bool, now: dt.datetime) -> bool:
        if out:
            sql = "INSERT INTO job_opt_outs (channel, user_id, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
            return await self._one(sql, (user.channel, user.user_id, utc_iso(now))) == 1
        sql = "DELETE FROM job_opt_outs WHERE channel = ? AND user_id = ?"
        return await self._one(sql, (user.channel, user.user_id)) == 1

    async def opted_out(self, users: Sequence[UserKey]) -> set[UserKey]:
        wanted = set(users)
        if not wanted:
            return set()
        ids = sorted({u.user_id for u in wanted})

        def body(conn: sqlite3.Connection) -> list[Any]:
            found: list[Any] = []
            for i in range(0, len(ids), 500):  # SQLite's bound-parameter limit
                chunk = ids[i : i + 500]
                marks = ", ".join("?" * len(chunk))
                found += rows(
                    conn, f"SELECT channel, user_id FROM job_opt_outs WHERE user_id IN ({marks})", chunk
                )
            return found

        return {UserKey(c, u) for c, u in await self._conn().call(body)} & wanted

    async def take_quota(self, key: str, cap: int, ttl: dt.timedelta) -> bool:
        now = dt.datetime.now(dt.UTC)
        now_s = utc_iso(now)
        expires = utc_iso(now + ttl)

        def body(conn: sqlite3.Connection) -> bool:
            conn.execute("DELETE FROM job_quotas WHERE expires_at <= ?", (now_s,))
            return (
                changed(
                    conn,
                    "INSERT INTO job_quotas (key, used, expires_at) SELECT ?, 1, ? WHERE ? > 0"
                    " ON CONFLICT (key) DO UPDATE SET used = used + 1 WHERE used < ?",
                    (key, expires, cap, cap),
                )
                == 1
            )

        return await self._write(body)
