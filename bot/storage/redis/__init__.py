"""The Redis backend, for several worker processes: every store under one key prefix.

Each store has a client of its own; opening one pings the server, so that a wrong URL fails
at start, not on the first message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import redis.asyncio as aioredis

from bot.storage.redis.audit import RedisAuditLog
from bot.storage.redis.common import connect, key_prefix
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
    """:class:`~bot.storage.base.Backend` on the server at ``url``, keys under ``prefix``; with
    ``cluster``, on the Redis Cluster that ``url`` names a node of, every key under the hash tag
    ``{prefix}`` (:func:`~bot.storage.redis.common.key_prefix`).  A user's turn lock expires
    ``lock_timeout`` seconds after its worker stopped renewing it."""

    def __init__(
        self, url: str, prefix: str = "kepu", *, cluster: bool = False, lock_timeout: float = 60.0
    ) -> None:
        self.url, self.prefix, self.cluster, self.lock_timeout = url, prefix, cluster, lock_timeout
        self.key_prefix = key_prefix(prefix, cluster=cluster)

    def connect(self, *, decode: bool = True) -> aioredis.Redis:
        """A new client on this backend's server or cluster, for an adapter's own keys (under
        :attr:`key_prefix`)."""
        return connect(self.url, cluster=self.cluster, decode=decode)

    async def open_storage(self) -> tuple[Storage, EventIsolation]:
        storage = await _pinged(RedisStorage(self.connect(), self.key_prefix))
        # The isolation reads a turn's draft through the store, in the script that takes the lock.
        return storage, RedisIsolation(self.connect(), self.key_prefix, self.lock_timeout, drafts=storage)

    async def open_org(self) -> OrgStore:
        return await _pinged(RedisOrgStore(self.connect(), self.key_prefix))

    async def open_jobs(self) -> JobStore:
        return await _pinged(RedisJobStore(self.connect(), self.key_prefix))

    async def open_tickets(self) -> TicketStore:
        return await _pinged(RedisTicketStore(self.connect(), self.key_prefix))

    async def open_audit(self) -> AuditLog:
        return await _pinged(RedisAuditLog(self.connect(), self.key_prefix))

    async def open_fingerprints(self) -> FingerprintStore:
        return await _pinged(RedisFingerprintStore(self.connect(), self.key_prefix))
