"""The repository interface every backend implements, and the records it keeps.

Backends: :mod:`bot.storage.sqlite` (embedded default) and :mod:`bot.storage.redis`
(production, several workers).  ``tests/test_storage_contract.py`` runs one contract suite
against both, so a behaviour is either true of every backend or of none.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import urllib.parse
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class UserKey:
    """Who is talking: the channel (``terminal``, ``telegram``, ``wechat``, ``web``) and its user id."""

    channel: str
    user_id: str

    def __str__(self) -> str:
        return f"{self.channel}:{self.user_id}"


@dataclass(slots=True)
class Draft:
    """An unfinished submission: where the entrant is in the dialog and what they have answered.

    ``data`` is the dialog's own state (see :mod:`dialogs.engine`), stored as JSON.
    ``version`` grows by one on every save; a save with a stale version is refused so that
    two workers can never overwrite each other's answers.
    """

    user: UserKey
    data: dict[str, Any]
    version: int = 0
    updated_at: dt.datetime | None = None


@dataclass(slots=True)
class Submission:
    """A confirmed submission.  ``number`` (e.g. ``KP2024-000123``) is assigned by the store."""

    number: str
    contest_id: str
    user: UserKey
    channel_id: str
    form_id: str
    answers: dict[str, Any]
    video: dict[str, Any]
    created_at: dt.datetime
    status: str = "submitted"
    extra: dict[str, Any] = field(default_factory=dict)


class StaleDraftError(Exception):
    """The draft changed since it was read (another worker saved it first)."""


def store_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says the store's server cannot be reached now (Redis down or not
    answering): the request can be tried again later, and nothing was lost."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return isinstance(exc, RedisConnectionError | RedisTimeoutError)


def unreachable_reason(exc: BaseException) -> str:
    """Why, in a few words: the OS's for a refused or failed connection ("Connection refused")."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno:
            return os.strerror(seen.errno)
        seen = seen.__cause__ or seen.__context__
    return str(exc) or type(exc).__name__


def redacted_url(url: str) -> str:
    """``url`` without its password, fit for a log line or an error message."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{user}:***@{host}").geturl()


class AlreadyClaimed(Exception):
    """The incoming message was claimed already: another attempt handles (or handled) it, and
    this one must not act on it nor answer it."""


@dataclass(frozen=True, slots=True)
class InboundClaim:
    """What :meth:`Storage.claim_inbound` takes: the message's key, how long the claim holds,
    and who wrote when (the contact record)."""

    key: str
    ttl: dt.timedelta
    user: UserKey
    when: dt.datetime


class ClaimGate:
    """An incoming message's claim, taken when first needed rather than on arrival.

    Anything with an effect (a command, a submission, a push) calls :meth:`ensure` first.  A
    dialog step whose only effect is the draft hands :attr:`pending` to
    :meth:`Storage.save_draft`, which takes the claim in the same write: one store round trip
    per plain answer instead of two.  The channel settles what is left afterwards.
    """

    def __init__(self, storage: Storage, claim: InboundClaim) -> None:
        self.storage = storage
        self.claim = claim
        self.owned: bool | None = None  # None: not claimed yet

    @property
    def pending(self) -> InboundClaim | None:
        """The claim, while nobody has taken it."""
        return self.claim if self.owned is None else None

    def settle(self, owned: bool) -> None:
        """Record what a save that carried :attr:`pending` found."""
        self.owned = owned

    async def ensure(self) -> None:
        """Claim now unless done; raises :class:`AlreadyClaimed` when it is not ours."""
        if self.owned is None:
            c = self.claim
            self.owned = await self.storage.claim_inbound(c.key, c.ttl, c.user, c.when)
        if not self.owned:
            raise AlreadyClaimed(self.claim.key)


@runtime_checkable
class Storage(Protocol):
    """Drafts, submissions and submission numbers.  All methods are safe to call concurrently."""

    async def get_draft(self, user: UserKey) -> Draft | None:
        """The user's draft, or None."""

    async def save_draft(self, draft: Draft, *, claim: InboundClaim | None = None) -> Draft:
        """Store ``draft`` if its ``version`` is the stored one (0 for a new draft).

        Returns the draft with its new version and ``updated_at``; its ``data`` is the caller's
        own dict, not a copy read back from the store (a tuple in it stays a tuple, where
        :meth:`get_draft` would give a list).  Raises :class:`StaleDraftError` when someone
        saved in between.  With ``claim``, the save also makes :meth:`claim_inbound`'s claim
        and contact record, all or nothing: :class:`AlreadyClaimed` (nothing saved) when the
        key is claimed already, checked before the version.
        """

    async def delete_draft(self, user: UserKey) -> bool:
        """Drop the user's draft; True when there was one."""

    async def list_drafts(self) -> list[Draft]:
        """Every stored draft, ordered by user (reminders go to the unfinished ones)."""

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
        extra: dict[str, Any] | None = None,
    ) -> Submission:
        """Store a submission with the next number for ``prefix`` (``KP2024-000001``, ...) and
        drop the user's draft, both or neither.  ``extra`` is stored with it (the unit whose
        place it uses), so it needs no second write; keys set to None are left out, as
        :meth:`update_submission` removes them."""

    async def get_submission(self, number: str) -> Submission | None:
        """One submission by its number."""

    async def list_submissions(
        self, *, contest_id: str | None = None, user: UserKey | None = None
    ) -> list[Submission]:
        """Submissions, oldest first, filtered by contest and/or owner."""

    async def update_submission(
        self,
        number: str,
        *,
        status: str | None = None,
        video: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Submission:
        """Change a stored submission: a new ``status`` or ``video``, and ``extra`` keys merged
        into its ``extra`` (a key set to None is removed).  Raises :class:`KeyError` when there
        is no such submission."""

    async def claim_once(self, key: str, ttl: dt.timedelta) -> bool:
        """True for the first claim of ``key`` within ``ttl``, False for every later one: how a
        message retried by the platform (same MsgId) is processed exactly once."""

    async def claim_first(self, keys: Sequence[str], ttl: dt.timedelta) -> int | None:
        """The index of the first key of ``keys`` that was free and is now claimed (as
        :meth:`claim_once` would, in the same key space), or None when all are taken; one round
        trip.  Keys after the claimed one are left alone."""

    async def claim_inbound(self, key: str, ttl: dt.timedelta, user: UserKey, when: dt.datetime) -> bool:
        """:meth:`claim_once` of ``key`` and, only when this call claimed it, :meth:`touch_contact`
        of ``user`` at ``when``: what every incoming WeChat message needs, in one round trip
        (a text message that only changes the draft makes both in :meth:`save_draft`)."""

    async def touch_contact(self, user: UserKey, when: dt.datetime) -> None:
        """Record that the user wrote at ``when`` (WeChat lets us reply for 48 h after)."""

    async def last_contact(self, user: UserKey) -> dt.datetime | None:
        """When the user last wrote, or None."""

    async def list_contacts(self) -> list[UserKey]:
        """Everyone who ever wrote (:meth:`touch_contact`), ordered by user."""

    async def open_session(self, token_hash: str, user: UserKey, ttl: dt.timedelta) -> None:
        """Keep a web session for ``ttl``: ``token_hash`` (:func:`session_hash` of the cookie,
        never the cookie itself) names ``user``.  The user id is the store's, not a secret, so
        that a link or a log naming the user hands over no session."""

    async def session_user(self, token_hash: str) -> UserKey | None:
        """The user of a live session, or None (unknown, closed or expired)."""

    async def close_session(self, token_hash: str) -> None:
        """End a session (its cookie was replaced, or the user signed out)."""

    async def ping(self) -> None:
        """Return when the store answers; raise when it cannot be reached (the health check)."""

    async def close(self) -> None:
        """Release connections.  The store is unusable afterwards."""


@runtime_checkable
class EventIsolation(Protocol):
    """Serialises the handling of one user's events: one at a time, also across workers."""

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        """Hold while one event of ``key`` is handled."""

    async def close(self) -> None: ...


def merge_extra(extra: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """``extra`` with ``patch`` applied: keys set, and keys whose value is None removed."""
    merged = {**extra, **patch}
    return {k: v for k, v in merged.items() if v is not None}


def session_hash(token: str) -> str:
    """What the store keeps of a session cookie: its SHA-256, so that a copy of the store (a
    backup, a Redis dump) opens no session."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def format_number(prefix: str, seq: int) -> str:
    """``KP2024`` and 123 -> ``KP2024-000123``."""
    return f"{prefix}-{seq:06d}"


def dump_json(value: Any) -> str:
    """Compact JSON that keeps Chinese text readable in the store."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def utc_iso(moment: dt.datetime) -> str:
    """Fixed-width ISO text in UTC, so that text order is time order."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: pass a timezone-aware datetime")
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def parse_utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)
