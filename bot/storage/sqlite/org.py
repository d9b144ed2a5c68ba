"""The organisation store in SQLite: its own tables in the data directory's database file.

Every change is one ``BEGIN IMMEDIATE`` transaction: SQLite takes the write lock before the
first read, so "count the places, then add one" cannot interleave with another connection's,
in this process or another.  Each method is one job in the connection's own thread (see
:mod:`~bot.storage.sqlite.common`): a cancelled caller drops the result, never half a
transaction, so the shared connection is never left inside an open one.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, cast

from bot.storage.base import dump_json, parse_utc, utc_iso
from bot.storage.sqlite.common import SqliteStoreBase, changed, connect, migrate
from bot.storage.sqlite.common import rows as _rows
from contests.org import (
    DEFAULT_HOLD_TTL,
    AttemptLimit,
    Invite,
    Membership,
    Place,
    PlaceState,
    QuotaRefusal,
    RedeemResult,
    RedeemStatus,
    Reservation,
    Role,
    Track,
    Unit,
    normalise_name,
)
from contests.records import Turn, UserKey

__all__ = ["ORG_SCHEMA_VERSION", "SqliteOrgStore"]

#: Version of the ``org_*`` tables, kept in ``org_schema`` (``PRAGMA user_version`` belongs to
#: :class:`~bot.storage.sqlite.drafts.SqliteStorage`, which shares the file).
ORG_SCHEMA_VERSION = 3

_MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """
        CREATE TABLE IF NOT EXISTS org_units (
            contest_id TEXT NOT NULL,
            key        TEXT NOT NULL,
            name       TEXT NOT NULL,
            kind       TEXT NOT NULL,
            province   TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (contest_id, key)
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS org_members (
            contest_id TEXT NOT NULL,
            channel    TEXT NOT NULL,
            user_id    TEXT NOT NULL,
            role       TEXT NOT NULL,
            unit_key   TEXT,
            bound_at   TEXT NOT NULL,
            PRIMARY KEY (contest_id, channel, user_id)
        )
        """,
        "CREATE INDEX IF NOT EXISTS org_members_user ON org_members (channel, user_id)",
        """
        CREATE TABLE IF NOT EXISTS org_invites (
            code_hash    TEXT PRIMARY KEY,
            contest_id   TEXT NOT NULL,
            role         TEXT NOT NULL,
            unit_key     TEXT,
            created_at   TEXT NOT NULL,
            expires_at   TEXT NOT NULL,
            used_at      TEXT,
            used_channel TEXT,
            used_user    TEXT
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS org_places (
            token         TEXT PRIMARY KEY,
            contest_id    TEXT NOT NULL,
            holder        TEXT NOT NULL,
            track         TEXT NOT NULL,
            state         TEXT NOT NULL,
            number        TEXT,
            claims        TEXT NOT NULL,
            owner_channel TEXT NOT NULL,
            owner_user    TEXT NOT NULL,
            created_at    TEXT NOT NULL,
            expires_at    TEXT
        )
        """,
        "CREATE INDEX IF NOT EXISTS org_places_holder ON org_places (contest_id, holder, track, state)",
        "CREATE UNIQUE INDEX IF NOT EXISTS org_places_number ON org_places (contest_id, number)",
        """
        CREATE TABLE IF NOT EXISTS org_claims (
            contest_id TEXT NOT NULL,
            claim      TEXT NOT NULL,
            token      TEXT NOT NULL,
            PRIMARY KEY (contest_id, claim)
        )
        """,
        "CREATE INDEX IF NOT EXISTS org_claims_token ON org_claims (token)",
    ),
    # One *committed* place per number, not one place ever: a district that cancels its
    # recommendation of a work may recommend it again (the withdrawn row stays as history).
    2: (
        "DROP INDEX IF EXISTS org_places_number",
        "CREATE UNIQUE INDEX org_places_number_committed ON org_places (contest_id, number)"
        " WHERE state = 'committed'",
        "CREATE INDEX org_places_number ON org_places (contest_id, number)",
    ),
    # Tries per key in its current fixed window (Unix seconds); rows of ended windows are
    # deleted as new tries come in.
    3: (
        """
        CREATE TABLE IF NOT EXISTS org_attempts (
            key          TEXT PRIMARY KEY,
            window_start INTEGER NOT NULL,
            window_end   INTEGER NOT NULL,
            count        INTEGER NOT NULL
        )
        """,
        "CREATE INDEX IF NOT EXISTS org_attempts_end ON org_attempts (window_end)",
    ),
}

_PLACE_COLUMNS = (
    "token, contest_id, holder, track, state, number, claims,"
    " owner_channel, owner_user, created_at, expires_at"
)


def _place(row: Iterable[Any]) -> Place:
    token, contest_id, holder, track, state, number, claims, channel, user_id, created, expires = row
    return Place(
        token=token,
        contest_id=contest_id,
        holder=holder,
        track=cast(Track, track),
        state=PlaceState(state),
        number=number,
        claims=tuple(json.loads(claims)),
        owner=UserKey(channel, user_id),
        created_at=parse_utc(created),
        expires_at=parse_utc(expires) if expires else None,
    )


def _invite(row: Iterable[Any]) -> Invite:
    code_hash, contest_id, role, unit_key, created, expires, used_at, used_channel, used_user = row
    return Invite(
        code_hash=code_hash,
        contest_id=contest_id,
        role=Role(role),
        unit_key=unit_key,
        created_at=parse_utc(created),
        expires_at=parse_utc(expires),
        used_at=parse_utc(used_at) if used_at else None,
        used_by=UserKey(used_channel, used_user) if used_channel is not None else None,
    )


def _membership(row: Iterable[Any]) -> Membership:
    contest_id, channel, user_id, role, unit_key, bound_at = row
    return Membership(UserKey(channel, user_id), contest_id, Role(role), unit_key, parse_utc(bound_at))


class SqliteOrgStore(SqliteStoreBase):
    """:class:`~bot.storage.org.OrgStore` in an SQLite file.  Create with :meth:`open`."""

    @classmethod
    async def open(cls, path: Path) -> SqliteOrgStore:
        """Open (creating if needed) the database at ``path`` and bring this store's tables up to date."""
        db = await connect(Path(path))
        try:
            await migrate(db, "org_schema", ORG_SCHEMA_VERSION, _MIGRATIONS)
        except BaseException:
            await db.close()
            raise
        return cls(db, Path(path))

    # -- units ----------------------------------------------------------------------------

    async def put_units(self, contest_id: str, units: list[Unit]) -> None:
        def body(conn: sqlite3.Connection) -> None:
            for unit in units:
                conn.execute(
                    "INSERT INTO org_units (contest_id, key, name, kind, province) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (contest_id, key) DO UPDATE SET"
                    " name = excluded.name, kind = excluded.kind, province = excluded.province",
                    (contest_id, unit.key, unit.name, unit.kind, unit.province),
                )

        await self._write(body)

    async def list_units(self, contest_id: str) -> list[Unit]:
        rows = await self._read(
            "SELECT name, kind, province FROM org_units WHERE contest_id = ? ORDER BY rowid", (contest_id,)
        )
        return [Unit(contest_id, name, kind, province) for name, kind, province in rows]

    async def get_unit(self, contest_id: str, name: str) -> Unit | None:
        rows = await self._read(
            "SELECT name, kind, province FROM org_units WHERE contest_id = ? AND key = ?",
            (contest_id, normalise_name(name)),
        )
        return Unit(contest_id, *rows[0]) if rows else None

    # -- roles ----------------------------------------------------------------------------

    async def add_invite(self, invite: Invite) -> None:
        def body(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO org_invites (code_hash, contest_id, role, unit_key, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    invite.code_hash,
                    invite.contest_id,
                    invite.role.value,
                    invite.unit_key,
                    utc_iso(invite.created_at),
                    utc_iso(invite.expires_at),
                ),
            )

        await self._write(body)

    async def redeem_invite(self, code_hash: str, user: UserKey, now: dt.datetime) -> RedeemResult:
        def body(conn: sqlite3.Connection) -> RedeemResult:
            rows = _rows(
                conn,
                "SELECT code_hash, contest_id, role, unit_key, created_at, expires_at, used_at,"
                " used_channel, used_user FROM org_invites WHERE code_hash = ?",
                (code_hash,),
            )
            if not rows:
                return RedeemResult(RedeemStatus.UNKNOWN)
            invite = _invite(rows[0])
            if invite.used_at is not None:
                return RedeemResult(RedeemStatus.USED, invite)
            if now >= invite.expires_at:
                return RedeemResult(RedeemStatus.EXPIRED, invite)
            conn.execute(
                "UPDATE org_invites SET used_at = ?, used_channel = ?, used_user = ? WHERE code_hash = ?",
                (utc_iso(now), user.channel, user.user_id, code_hash),
            )
            conn.execute(
                "INSERT INTO org_members (contest_id, channel, user_id, role, unit_key, bound_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (contest_id, channel, user_id) DO UPDATE SET"
                " role = excluded.role, unit_key = excluded.unit_key, bound_at = excluded.bound_at",
                (
                    invite.contest_id,
                    user.channel,
                    user.user_id,
                    invite.role.value,
                    invite.unit_key,
                    utc_iso(now),
                ),
            )
            used = Invite(
                invite.code_hash,
                invite.contest_id,
                invite.role,
                invite.unit_key,
                invite.created_at,
                invite.expires_at,
                parse_utc(utc_iso(now)),
                user,
            )
            membership = Membership(
                user, invite.contest_id, invite.role, invite.unit_key, used.used_at or now
            )
            return RedeemResult(RedeemStatus.OK, used, membership)

        return await self._write(body)

    async def get_membership(self, user: UserKey, contest_id: str) -> Membership | None:
        found = await self.list_memberships(contest_id=contest_id, user=user)
        return found[0] if found else None

    async def count_attempt(self, limits: Sequence[AttemptLimit], now: dt.datetime) -> dt.datetime | None:
        now_s = int(now.timestamp())

        def body(conn: sqlite3.Connection) -> dt.datetime | None:
            conn.execute("DELETE FROM org_attempts WHERE window_end <= ?", (now_s,))
            reached: list[dt.datetime] = []
            for limit in limits:
                found = _rows(
                    conn,
                    "SELECT count FROM org_attempts WHERE key = ? AND window_start = ?",
                    (limit.key, limit.window_start(now)),
                )
                if found and found[0][0] >= limit.limit:
                    reached.append(limit.window_end(now))
            if reached:
                return max(reached)
            for limit in limits:
                start = limit.window_start(now)
                conn.execute(
                    "INSERT INTO org_attempts (key, window_start, window_end, count) VALUES (?, ?, ?, 1)"
                    " ON CONFLICT (key) DO UPDATE SET count = CASE"
                    " WHEN window_start = excluded.window_start THEN count + 1 ELSE 1 END,"
                    " window_start = excluded.window_start, window_end = excluded.window_end",
                    (limit.key, start, start + int(limit.window.total_seconds())),
                )
            return None

        return await self._write(body)

    async def list_memberships(
        self, *, contest_id: str | None = None, user: UserKey | None = None
    ) -> list[Membership]:
        where, params = [], []
        if contest_id is not None:
            where.append("contest_id = ?")
            params.append(contest_id)
        if user is not None:
            where.append("channel = ? AND user_id = ?")
            params += [user.channel, user.user_id]
        sql = "SELECT contest_id, channel, user_id, role, unit_key, bound_at FROM org_members"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [_membership(row) for row in await self._read(sql + " ORDER BY bound_at, rowid", params)]

    # -- places ---------------------------------------------------------------------------

    async def reserve(
        self,
        *,
        contest_id: str,
        holder: str,
        track: Track,
        limit: int | None,
        claims: tuple[str, ...],
        owner: UserKey,
        now: dt.datetime,
        ttl: dt.timedelta = DEFAULT_HOLD_TTL,
        turn: Turn | None = None,
    ) -> Reservation | QuotaRefusal:
        now_s, expires = utc_iso(now), now + ttl
        # A place held in a turn is named after it (``turn id.random``).  One worker's turns of
        # one owner never overlap, so a live pending place of this owner named after another
        # turn was left by one that ended without committing or releasing (a crash).
        token = uuid.uuid4().hex if turn is None else f"{turn.id}.{uuid.uuid4().hex}"

        def dead(found: str, channel: str, user_id: str, its_holder: str, its_track: str) -> bool:
            return (
                turn is not None
                and "." in found
                and found.partition(".")[0] != turn.id
                and (channel, user_id, its_holder, its_track) == (owner.channel, owner.user_id, holder, track)
            )

        def body(conn: sqlite3.Connection) -> Reservation | QuotaRefusal:
            # Pending places past their time were never committed (a crash): they stop counting.
            stale = (
                "SELECT token FROM org_places WHERE contest_id = ? AND state = 'pending' AND expires_at <= ?"
            )
            conn.execute(
                f"DELETE FROM org_claims WHERE token IN ({stale} AND holder = ?)", (contest_id, now_s, holder)
            )
            conn.execute(
                "DELETE FROM org_places WHERE contest_id = ? AND state = 'pending' AND expires_at <= ?"
                " AND holder = ?",
                (contest_id, now_s, holder),
            )
            if turn is not None:
                # This owner's dead places in this bucket, claims or none: one that holds no
                # claim must not count beside the place this turn takes either.
                for (found,) in conn.execute(
                    "SELECT token FROM org_places WHERE contest_id = ? AND holder = ? AND track = ?"
                    " AND state = 'pending' AND owner_channel = ? AND owner_user = ?",
                    (contest_id, holder, track, owner.channel, owner.user_id),
                ).fetchall():
                    if dead(found, owner.channel, owner.user_id, holder, track):
                        conn.execute("DELETE FROM org_claims WHERE token = ?", (found,))
                        conn.execute("DELETE FROM org_places WHERE token = ?", (found,))
            for claim in claims:
                rows = _rows(
                    conn,
                    "SELECT c.token, p.state, p.expires_at, p.number, p.owner_channel, p.owner_user,"
                    " p.holder, p.track FROM org_claims c"
                    " LEFT JOIN org_places p ON p.token = c.token WHERE c.contest_id = ? AND c.claim = ?",
                    (contest_id, claim),
                )
                if not rows:
                    continue
                found, state, until, number, *whose = rows[0]
                live = state == PlaceState.COMMITTED or (state == PlaceState.PENDING and until > now_s)
                if live and not (state == PlaceState.PENDING and dead(found, *whose)):
                    used = self._count(conn, contest_id, holder, track, now_s)
                    return QuotaRefusal(
                        "claimed", contest_id, holder, track, used, limit, claim=claim, claim_number=number
                    )
                # An expired reservation of another holder, or a dead turn's: take it over.
                conn.execute("DELETE FROM org_claims WHERE token = ?", (found,))
                conn.execute("DELETE FROM org_places WHERE token = ? AND state = 'pending'", (found,))
            used = self._count(conn, contest_id, holder, track, now_s)
            if limit is not None and used >= limit:
                return QuotaRefusal("full", contest_id, holder, track, used, limit)
            conn.execute(
                f"INSERT INTO org_places ({_PLACE_COLUMNS})"
                " VALUES (?, ?, ?, ?, 'pending', NULL, ?, ?, ?, ?, ?)",
                (
                    token,
                    contest_id,
                    holder,
                    track,
                    dump_json(list(claims)),
                    owner.channel,
                    owner.user_id,
                    now_s,
                    utc_iso(expires),
                ),
            )
            for claim in claims:
                conn.execute(
                    "INSERT INTO org_claims (contest_id, claim, token) VALUES (?, ?, ?)",
                    (contest_id, claim, token),
                )
            return Reservation(
                token, contest_id, holder, track, claims, parse_utc(utc_iso(expires)), used + 1
            )

        return await self._write(body)

    @staticmethod
    def _count(conn: sqlite3.Connection, contest_id: str, holder: str, track: str, now_s: str) -> int:
        rows = _rows(
            conn,
            "SELECT COUNT(*) FROM org_places WHERE contest_id = ? AND holder = ? AND track = ?"
            " AND (state = 'committed' OR (state = 'pending' AND expires_at > ?))",
            (contest_id, holder, track, now_s),
        )
        return int(rows[0][0])

    async def commit(self, reservation: Reservation, number: str, now: dt.datetime) -> bool:
        def body(conn: sqlite3.Connection) -> bool:
            rows = _rows(conn, "SELECT state, number FROM org_places WHERE token = ?", (reservation.token,))
            if not rows:
                return False  # expired and reaped: its place may have gone to someone else
            state, held_number = rows[0]
            if state == PlaceState.COMMITTED:
                return bool(held_number == number)
            if state != PlaceState.PENDING:
                return False
            held = _rows(conn, "SELECT COUNT(*) FROM org_claims WHERE token = ?", (reservation.token,))
            if int(held[0][0]) != len(reservation.claims):
                # A claim was taken over after this reservation expired: give everything back.
                conn.execute("DELETE FROM org_claims WHERE token = ?", (reservation.token,))
                conn.execute("DELETE FROM org_places WHERE token = ?", (reservation.token,))
                return False
            conn.execute(
                "UPDATE org_places SET state = 'committed', number = ?, expires_at = NULL WHERE token = ?",
                (number, reservation.token),
            )
            return True

        return await self._write(body)

    async def release(self, reservation: Reservation) -> bool:
        def body(conn: sqlite3.Connection) -> bool:
            sql = "DELETE FROM org_places WHERE token = ? AND state = 'pending'"
            gone = changed(conn, sql, (reservation.token,)) > 0
            if gone:
                conn.execute("DELETE FROM org_claims WHERE token = ?", (reservation.token,))
            return gone

        return await self._write(body)

    async def withdraw(self, contest_id: str, number: str, now: dt.datetime) -> Place | None:
        def body(conn: sqlite3.Connection) -> Place | None:
            rows = _rows(
                conn,
                f"SELECT {_PLACE_COLUMNS} FROM org_places"
                " WHERE contest_id = ? AND number = ? AND state = 'committed'",
                (contest_id, number),
            )
            if not rows:
                return None
            place = _place(rows[0])
            conn.execute("UPDATE org_places SET state = 'withdrawn' WHERE token = ?", (place.token,))
            conn.execute("DELETE FROM org_claims WHERE token = ?", (place.token,))
            return Place(
                place.token,
                place.contest_id,
                place.holder,
                place.track,
                PlaceState.WITHDRAWN,
                place.number,
                place.claims,
                place.owner,
                place.created_at,
                None,
            )

        return await self._write(body)

    async def place_of(self, contest_id: str, number: str) -> Place | None:
        rows = await self._read(
            f"SELECT {_PLACE_COLUMNS} FROM org_places WHERE contest_id = ? AND number = ?"
            " ORDER BY state = 'committed' DESC, created_at DESC, rowid DESC LIMIT 1",
            (contest_id, number),
        )
        return _place(rows[0]) if rows else None

    async def list_places(self, contest_id: str, *, holder: str | None = None) -> list[Place]:
        sql = f"SELECT {_PLACE_COLUMNS} FROM org_places WHERE contest_id = ?"
        params: list[Any] = [contest_id]
        if holder is not None:
            sql += " AND holder = ?"
            params.append(holder)
        return [_place(row) for row in await self._read(sql + " ORDER BY created_at, rowid", params)]
