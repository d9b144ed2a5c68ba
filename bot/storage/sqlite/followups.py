"""Follow-ups of stored submissions in SQLite (:meth:`contests.ports.Storage.take_follow_ups`):
the statements, each run inside the storage's one-job transactions."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from typing import Any

from bot.storage.base import dump_json
from contests.records import FollowUp, UserKey

# The migration that adds the table (``bot.storage.sqlite.drafts._MIGRATIONS[5]``).  ``due`` is
# in milliseconds since the epoch: compared as a number, whatever the text of a time.
TABLE = (
    """
    CREATE TABLE IF NOT EXISTS follow_ups (
        number  TEXT PRIMARY KEY,
        channel TEXT NOT NULL,
        user_id TEXT NOT NULL,
        owner   TEXT NOT NULL,
        due     INTEGER NOT NULL,
        data    TEXT NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS follow_ups_due ON follow_ups (due)",
)


def ms(moment: dt.datetime) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: pass a timezone-aware datetime")
    return int(moment.timestamp() * 1000)


def _from_ms(value: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(value / 1000, dt.UTC)


def insert(conn: sqlite3.Connection, number: str, follow_up: FollowUp) -> None:
    """The follow-up of a submission being created (in its transaction)."""
    user = follow_up.user
    conn.execute(
        "INSERT INTO follow_ups (number, channel, user_id, owner, due, data) VALUES (?, ?, ?, ?, ?, ?)",
        (number, user.channel, user.user_id, follow_up.owner, ms(follow_up.due), dump_json(follow_up.data)),
    )


def take(
    conn: sqlite3.Connection, owner: str, now: dt.datetime, lease: dt.timedelta, limit: int
) -> list[FollowUp]:
    due = now + lease
    found = conn.execute(
        "SELECT number, channel, user_id, data FROM follow_ups WHERE due <= ? ORDER BY due, number LIMIT ?",
        (ms(now), max(0, limit)),
    ).fetchall()
    taken: list[FollowUp] = []
    for number, channel, user_id, data in found:
        conn.execute("UPDATE follow_ups SET owner = ?, due = ? WHERE number = ?", (owner, ms(due), number))
        taken.append(FollowUp(number, UserKey(channel, user_id), owner, _from_ms(ms(due)), json.loads(data)))
    return taken


def keep(conn: sqlite3.Connection, follow_up: FollowUp) -> bool:
    params: tuple[Any, ...] = (
        ms(follow_up.due),
        dump_json(follow_up.data),
        follow_up.number,
        follow_up.owner,
    )
    cursor = conn.execute("UPDATE follow_ups SET due = ?, data = ? WHERE number = ? AND owner = ?", params)
    return cursor.rowcount > 0


def finish(conn: sqlite3.Connection, number: str, owner: str) -> bool:
    cursor = conn.execute("DELETE FROM follow_ups WHERE number = ? AND owner = ?", (number, owner))
    return cursor.rowcount > 0
