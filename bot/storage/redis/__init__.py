"""The Redis backend, for several worker processes: every store under one key prefix.

Each store has a client of its own; opening one pings the server, so that a wrong URL fails
at start, not on the first message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from bot.storage.redis.audit import RedisAuditLog
from bot.storage.redis.drafts import RedisStorage
from bot.storage.redis.fingerprints import RedisFingerprintStore
from bot.storage.redis.jobs import RedisJobStore
from bot.storage.redis.lock import RedisIsolation
from bot.storage.redis.org import RedisOrgStore
from bot.storage.redis.tickets import RedisTicketStore
from contests.ports import (
    AuditLog,
    EventIsolation,
    FingerprintStore,
    JobStore,
    OrgStore,
    Storage,
    TicketStore,
)


class _Pingable(Protocol):
    async def ping(self) -> None: ...

    async def close(self) -> None: ...


S = TypeVar("S", bound=_Pingable)


async def _pinged(store: S, *also: Callable[[], Awaitable[None]]) -> S:
    try:
        await store.ping()
    except BaseException:
        await store.close()
        for close in also:
            await close()
        raise
    return store


class RedisBackend:
    """:class:`~bot.storage.base.Backend` on the server at ``url``, keys under ``prefix``."""

    def __init__(self, url: str, prefix: str = "kepu") -> None:
        self.url, self.prefix = url, prefix

    async def open_storage(self) -> tuple[Storage, EventIsolation]:
        isolation = RedisIsolation.from_url(self.url, self.prefix)
        storage = await _pinged(RedisStorage.from_url(self.url, self.prefix), isolation.close)
        return storage, isolation

    async def open_org(self) -> OrgStore:
        return await _pinged(RedisOrgStore.from_url(self.url, self.prefix))

    async def open_jobs(self) -> JobStore:
        return await _pinged(RedisJobStore.from_url(self.url, self.prefix))

    async def open_tickets(self) -> TicketStore:
        return await _pinged(RedisTicketStore.from_url(self.url, self.prefix))

    async def open_audit(self) -> AuditLog:
        return await _pinged(RedisAuditLog.from_url(self.url, self.prefix))

    async def open_fingerprints(self) -> FingerprintStore:
        return await _pinged(RedisFingerprintStore.from_url(self.url, self.prefix))
