"""The repository interface every backend implements, and the records it keeps.

Backends: :mod:`bot.storage.sqlite.drafts` (embedded default) and :mod:`bot.storage.redis.drafts`
(production, several workers).  ``tests/test_storage_contract.py`` runs one contract suite
against both, so a behaviour is either true of every backend or of none.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import urllib.parse
from dataclasses import dataclass
from typing import Any, Protocol

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from contests.ports import (
    AuditLog,
    EventIsolation,
    FingerprintStore,
    JobStore,
    OrgStore,
    Storage,
    TicketStore,
)


def session_hash(token: str) -> str:
    """What the store keeps of a session cookie: its SHA-256, so that a copy of the store (a
    backup, a Redis dump) opens no session."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


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


def store_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says the store's server cannot be reached now (Redis down or not
    answering): the request can be tried again later, and nothing was lost."""
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


@dataclass(slots=True)
class Stores:
    """Every store of one process, all on one backend (see :func:`bot.storage.open_stores`)."""

    storage: Storage
    isolation: EventIsolation
    org: OrgStore
    jobs: JobStore
    tickets: TicketStore
    audit: AuditLog
    fingerprints: FingerprintStore


class Backend(Protocol):
    """Opens each store on one backend; :func:`bot.storage.choose_backend` says which.  The caller
    closes what it opens."""

    async def open_storage(self) -> tuple[Storage, EventIsolation]: ...

    async def open_org(self) -> OrgStore: ...

    async def open_jobs(self) -> JobStore: ...

    async def open_tickets(self) -> TicketStore: ...

    async def open_audit(self) -> AuditLog: ...

    async def open_fingerprints(self) -> FingerprintStore: ...
