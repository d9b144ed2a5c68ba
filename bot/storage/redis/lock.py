"""Per-user event isolation across workers: a Redis lock per user."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError

from bot.storage.redis.common import part

log = logging.getLogger(__name__)


class RedisIsolation:
    """:class:`~bot.storage.base.EventIsolation` across workers, with a Redis lock per key.

    The lock key expires ``timeout`` seconds after it was last renewed, so a dead worker
    cannot hold a user forever; while the holder is alive a background task renews it every
    ``renew_every`` seconds (default ``timeout / 3``).  Waiting is given up after
    ``blocking_timeout`` seconds (default ``timeout``) with :class:`TimeoutError`.
    Unlike :class:`~bot.storage.memory_lock.LocalIsolation`, waiters are not served in FIFO order.
    Takes ownership of ``redis``: :meth:`close` closes it.
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        prefix: str = "kepu",
        timeout: float = 60.0,
        *,
        blocking_timeout: float | None = None,
        renew_every: float | None = None,
        poll_interval: float = 0.05,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self._redis = redis
        self.prefix = prefix
        self.timeout = timeout
        self.blocking_timeout = timeout if blocking_timeout is None else blocking_timeout
        self.renew_every = timeout / 3 if renew_every is None else renew_every
        self.poll_interval = poll_interval

    @classmethod
    def from_url(cls, url: str, prefix: str = "kepu", timeout: float = 60.0) -> RedisIsolation:
        """Isolation on a new client for ``url``; connects lazily."""
        return cls(aioredis.from_url(url, decode_responses=True), prefix, timeout)

    def lock_name(self, key: str) -> str:
        """The Redis key that holds ``key``'s lock."""
        return f"{self.prefix}:lock:{part(key)}"

    @contextlib.asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        """Hold ``key``'s lock, waiting up to ``blocking_timeout`` for another worker to let go."""
        lock = self._redis.lock(
            self.lock_name(key),
            timeout=self.timeout,
            sleep=self.poll_interval,
            blocking=True,
            blocking_timeout=self.blocking_timeout,
            thread_local=False,
        )
        if not await self._acquire(lock, uuid.uuid4().hex):
            raise TimeoutError(f"could not lock {key!r} within {self.blocking_timeout} s")
        renewer = asyncio.get_running_loop().create_task(self._renew(lock, key))
        try:
            yield
        finally:
            renewer.cancel()
            try:
                await lock.release()
            except LockError:
                log.warning("lock for %r expired before its event was handled", key)
            finally:
                await asyncio.wait({renewer})

    async def _acquire(self, lock: Lock, token: str) -> bool:
        """Try to take ``lock`` until ``blocking_timeout``; False when it stays taken.

        The loop is ours, not ``Lock.acquire``'s, so that a cancellation is never lost:
        on Python 3.11 ``asyncio.wait_for`` (which redis-py wraps around each socket write)
        drops a cancel that lands just as the write completes, and ``Lock.acquire`` would
        then go on polling, or even take the lock, for a task that was cancelled.
        """
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        cancels = task.cancelling() if task is not None else 0
        deadline = loop.time() + self.blocking_timeout
        try:
            while True:
                acquired = await lock.acquire(blocking=False, token=token)
                if task is not None and task.cancelling() > cancels:
                    raise asyncio.CancelledError
                if acquired:
                    return True
                if loop.time() + self.poll_interval > deadline:
                    return False
                await asyncio.sleep(self.poll_interval)
        except BaseException:
            # Cancelled (or failed) while the SET may already have reached the server: do not
            # leave the key held until it expires.
            with contextlib.suppress(LockError, aioredis.RedisError):
                await asyncio.shield(lock.do_release(token.encode()))
            raise

    async def _renew(self, lock: Lock, key: str) -> None:
        while True:
            await asyncio.sleep(self.renew_every)
            try:
                await lock.reacquire()
            except LockError:
                log.warning("lost the lock for %r while handling its event", key)
                return
            except aioredis.RedisError:
                log.warning("could not renew the lock for %r", key, exc_info=True)

    async def close(self) -> None:
        """Close the client and its connection pool."""
        await self._redis.aclose()
