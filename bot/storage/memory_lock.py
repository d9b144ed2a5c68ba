"""Event isolation inside one process: an :class:`asyncio.Lock` per key."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from contests.records import Turn, UserKey

__all__ = ["LocalIsolation"]


class _Entry:
    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0  # holders plus waiters


class LocalIsolation:
    """:class:`~bot.storage.base.EventIsolation` for a single worker process.

    Events of one key run one at a time, in the order they asked for the lock
    (:class:`asyncio.Lock` is FIFO); different keys run concurrently.  A key's lock lives
    only while someone holds or waits for it, so idle users cost no memory.
    """

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}

    @property
    def active_keys(self) -> frozenset[str]:
        """Keys whose lock is held or awaited right now."""
        return frozenset(self._entries)

    @contextlib.asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        """Hold ``key``'s lock while the body (``async with``) runs."""
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry()
        entry.users += 1
        try:
            await entry.lock.acquire()
        except BaseException:  # cancelled while waiting: no longer a user of the key
            self._leave(key, entry)
            raise
        try:
            yield
        finally:
            entry.lock.release()
            self._leave(key, entry)

    @contextlib.asynccontextmanager
    async def turn(self, key: str, user: UserKey) -> AsyncIterator[Turn]:
        """:meth:`lock`, as a :class:`Turn` (the draft is not read: the store is in this process)."""
        async with self.lock(key):
            yield Turn(user)

    def _leave(self, key: str, entry: _Entry) -> None:
        entry.users -= 1
        if entry.users == 0:
            del self._entries[key]

    async def close(self) -> None:
        """Nothing to release; present for the protocol."""
