"""Per-user event isolation across workers: a Redis lock per user.

The lock is a key holding a random token, set with ``SET NX PX`` and released by a script
that deletes it only while it still holds that token (the pattern of redis-py's ``Lock``,
written out so that taking it can read the user's draft in the same script, and the draft's
save can release it: two round trips per ordinary update, see bench/README.md "Redis round
trips").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript

from bot.storage.redis.common import claim_key, connect, part, turn_mark
from contests.records import Draft, Turn, UserKey

log = logging.getLogger(__name__)

# KEYS[1] lock, then the claims pending in the turn; ARGV token, the turn's claim mark.
# Deletes the lock only while it is still ours, and settles the claims still marked by this
# turn (a redelivery takes over only those of a turn that never got here).
RELEASE_LUA = """
for i = 2, #KEYS do
    local held = redis.call('GET', KEYS[i])
    if held and string.sub(held, 1, #ARGV[2]) == ARGV[2] then redis.call('SET', KEYS[i], '1', 'KEEPTTL') end
end
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# KEYS[1] lock; ARGV token, TTL in ms.  Extends the lock only while it is still ours.
_RENEW_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


@dataclass(frozen=True, slots=True)
class TurnHandle:
    """What a held Redis turn carries for the store that may end it (:attr:`Turn.handle`)."""

    lock_name: str
    token: str


class DraftReader(Protocol):
    """The draft store a turn reads with its lock (:class:`~bot.storage.redis.drafts.RedisStorage`)."""

    def take_turn(
        self, lock_name: str, token: str, ttl_ms: int, user: UserKey
    ) -> Awaitable[tuple[bool, Draft | None]]:
        """Set the lock if free and, when it was, read ``user``'s draft in the same script."""

    def release_turn(self, script: AsyncScript, keys: list[Any], args: list[Any]) -> Awaitable[Any]:
        """Run the release script the way the store runs its own scripts of every update."""


class RedisIsolation:
    """:class:`~contests.ports.EventIsolation` across workers, with a Redis lock per key.

    The lock key expires ``timeout`` seconds after it was last renewed, so a dead worker
    cannot hold a user forever; while the holder is alive it is renewed every ``renew_every``
    seconds (default ``timeout / 3``) once the event outlives that.  Waiting is given up after
    ``blocking_timeout`` seconds with :class:`TimeoutError`; by default ``timeout`` and a third
    more, so that a waiter that came after the holder died outlasts the dead lock's expiry
    (``timeout`` at most after its last renewal) by more than a poll: a platform's redelivery
    of the dead worker's message is then handled, not answered with an error.  Unlike
    :class:`~bot.storage.memory_lock.LocalIsolation`, waiters are not served in FIFO order.
    With ``drafts`` (the store of the same server), :meth:`turn` reads the user's draft in
    the script that takes the lock.  Takes ownership of ``redis``: :meth:`close` closes it.
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
        drafts: DraftReader | None = None,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self._redis = redis
        self.prefix = prefix
        self.timeout = timeout
        self.renew_every = timeout / 3 if renew_every is None else renew_every
        self.poll_interval = poll_interval
        margin = max(timeout / 3, 4 * poll_interval)
        self.blocking_timeout = timeout + margin if blocking_timeout is None else blocking_timeout
        self._drafts = drafts
        self._release = redis.register_script(RELEASE_LUA)
        self._renew_script = redis.register_script(_RENEW_LUA)

    @classmethod
    def from_url(
        cls, url: str, prefix: str = "kepu", timeout: float = 60.0, *, drafts: DraftReader | None = None
    ) -> RedisIsolation:
        """Isolation on a new client for ``url``; connects lazily."""
        return cls(connect(url), prefix, timeout, drafts=drafts)

    @property
    def _ttl_ms(self) -> int:
        return max(1, int(self.timeout * 1000))

    def lock_name(self, key: str) -> str:
        """The Redis key that holds ``key``'s lock."""
        return f"{self.prefix}:lock:{part(key)}"

    @contextlib.asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        """Hold ``key``'s lock, waiting up to ``blocking_timeout`` for another worker to let go."""
        async with self._held(key, None):
            yield

    @contextlib.asynccontextmanager
    async def turn(self, key: str, user: UserKey) -> AsyncIterator[Turn]:
        """:meth:`lock` for one event of ``user``, with the draft read in the same script."""
        async with self._held(key, user) as turn:
            yield turn

    @contextlib.asynccontextmanager
    async def _held(self, key: str, user: UserKey | None) -> AsyncIterator[Turn]:
        name, token = self.lock_name(key), uuid.uuid4().hex
        # lock() has no user: its Turn only carries the handle, and no draft is read.
        turn = Turn(user or UserKey("", key), handle=TurnHandle(name, token))
        if not await self._acquire(name, token, turn, read=user is not None):
            raise TimeoutError(f"could not lock {key!r} within {self.blocking_timeout} s")
        loop = asyncio.get_running_loop()
        renewing: list[asyncio.Task[None]] = []
        # Most events end long before the first renewal: a timer, not a task per event.
        timer = loop.call_later(
            self.renew_every, lambda: renewing.append(loop.create_task(self._renew(name, token, key)))
        )
        try:
            yield turn
        finally:
            timer.cancel()
            for task in renewing:
                task.cancel()
            try:
                claims = [claim_key(self.prefix, key) for key in turn.claims]
                released = turn.ended or int(
                    await self._release_turn([name, *claims], [token, turn_mark(token)])
                )
                if not released:
                    log.warning("lock for %r expired before its event was handled", key)
            finally:
                if renewing:
                    await asyncio.wait(renewing)

    async def _release_turn(self, keys: list[Any], args: list[Any]) -> Any:
        if self._drafts is not None:
            return await self._drafts.release_turn(self._release, keys, args)
        return await self._release(keys=keys, args=args)

    async def _try_take(self, name: str, token: str, turn: Turn, read: bool) -> bool:
        """One attempt at the lock; with ``read`` and a draft store, the draft is read in the
        same script."""
        if self._drafts is None or not read:
            return bool(await self._redis.set(name, token, nx=True, px=self._ttl_ms))
        taken, draft = await self._drafts.take_turn(name, token, self._ttl_ms, turn.user)
        if taken:
            turn.draft, turn.draft_read = draft, True
        return taken

    async def _acquire(self, name: str, token: str, turn: Turn, *, read: bool) -> bool:
        """Try to take the lock until ``blocking_timeout``; False when it stays taken.

        The loop checks for a cancellation after each attempt, so that one is never lost:
        on Python 3.11 ``asyncio.wait_for`` (which redis-py wraps around each socket write)
        drops a cancel that lands just as the write completes, and the loop would then go on
        polling, or even take the lock, for a task that was cancelled.
        """
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        cancels = task.cancelling() if task is not None else 0
        deadline = loop.time() + self.blocking_timeout
        try:
            while True:
                acquired = await self._try_take(name, token, turn, read)
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
            with contextlib.suppress(aioredis.RedisError):
                await asyncio.shield(self._release(keys=[name], args=[token, turn_mark(token)]))
            raise

    async def _renew(self, name: str, token: str, key: str) -> None:
        while True:
            try:
                if not int(await self._renew_script(keys=[name], args=[token, self._ttl_ms])):
                    log.warning("lost the lock for %r while handling its event", key)
                    return
            except aioredis.RedisError:
                log.warning("could not renew the lock for %r", key, exc_info=True)
            await asyncio.sleep(self.renew_every)

    async def close(self) -> None:
        """Close the client and its connection pool."""
        await self._redis.aclose()
