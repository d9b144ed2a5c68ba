"""Event isolation inside one process: an :class:`asyncio.Lock` per key."""

from __future__ import annotations

import asyncio

__all__ = ["LocalIsolation"]


class _Entry:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0  # holders plus waiters


class _Held:
    """One ``async with`` of :meth:`LocalIsolation.lock`.  A class rather than a generator
    context manager: it is entered for every update, and a generator costs several times
    as much to enter and leave."""

    __slots__ = ("_entries", "_entry", "_key")

    def __init__(self, entries: dict[str, _Entry], key: str) -> None:
        self._entries, self._key = entries, key

    async def __aenter__(self) -> None:
        entry = self._entries.get(self._key)
        if entry is None:
            entry = self._entries[self._key] = _Entry()
        entry.users += 1
        try:
            await entry.lock.acquire()
        except BaseException:  # cancelled while waiting: no longer a user of the key
            self._leave(entry)
            raise
        self._entry = entry

    async def __aexit__(self, *exc: object) -> None:
        entry = self._entry
        entry.lock.release()
        self._leave(entry)

    def _leave(self, entry: _Entry) -> None:
        entry.users -= 1
        if entry.users == 0:
            del self._entries[self._key]


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

    def lock(self, key: str) -> _Held:
        """Hold ``key``'s lock while the body (``async with``) runs."""
        return _Held(self._entries, key)

    async def close(self) -> None:
        """Nothing to release; present for the protocol."""
