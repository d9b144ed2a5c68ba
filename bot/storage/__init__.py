"""Persistence for drafts and submissions, and per-user event isolation.

:func:`open_storage` picks the backend: Redis when a URL is configured (several workers),
else an SQLite file in the data directory (one worker).  Importing this package opens
nothing and reads no configuration.
"""

from __future__ import annotations

from pathlib import Path

from .base import (
    AlreadyClaimed,
    ClaimGate,
    Draft,
    EventIsolation,
    InboundClaim,
    StaleDraftError,
    Storage,
    Submission,
    UserKey,
    format_number,
    redacted_url,
    store_unreachable,
    unreachable_reason,
)

__all__ = [
    "SQLITE_FILENAME",
    "AlreadyClaimed",
    "ClaimGate",
    "Draft",
    "EventIsolation",
    "InboundClaim",
    "StaleDraftError",
    "Storage",
    "Submission",
    "UserKey",
    "format_number",
    "open_storage",
    "redacted_url",
    "store_unreachable",
    "unreachable_reason",
]

#: Name of the SQLite database inside the data directory.
SQLITE_FILENAME = "kepu.sqlite3"


async def open_storage(
    *, data_dir: Path, redis_url: str | None, redis_prefix: str = "kepu"
) -> tuple[Storage, EventIsolation]:
    """Open the configured backend.  The caller closes both returned objects.

    With a non-empty ``redis_url``: :class:`~bot.storage.redis.RedisStorage` and
    :class:`~bot.storage.redis.RedisIsolation` (each on its own client; the server is pinged
    so that a wrong URL fails here, not on the first message).  Without:
    :class:`~bot.storage.sqlite.SqliteStorage` at ``data_dir / "kepu.sqlite3"`` and
    :class:`~bot.storage.memory_lock.LocalIsolation`.
    """
    if redis_url:
        from .redis import RedisIsolation, RedisStorage

        storage = RedisStorage.from_url(redis_url, redis_prefix)
        isolation = RedisIsolation.from_url(redis_url, redis_prefix)
        try:
            await storage.ping()
        except BaseException:
            await storage.close()
            await isolation.close()
            raise
        return storage, isolation

    from .memory_lock import LocalIsolation
    from .sqlite import SqliteStorage

    return await SqliteStorage.open(Path(data_dir) / SQLITE_FILENAME), LocalIsolation()
