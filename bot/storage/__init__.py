"""Persistence: every store of the service, on one backend chosen in one place.

:func:`choose_backend` is that place: Redis when a URL is configured (several workers), else SQLite
files in the data directory (one worker).  :func:`open_stores` opens every store on it and
closes them on exit.  Importing this package opens nothing and reads no configuration.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from bot.storage.base import Backend, Stores, redacted_url, store_unreachable, unreachable_reason
from bot.storage.redis import RedisBackend
from bot.storage.sqlite import SQLITE_FILENAME, SqliteBackend

__all__ = [
    "SQLITE_FILENAME",
    "Backend",
    "RedisBackend",
    "Stores",
    "choose_backend",
    "open_stores",
    "redacted_url",
    "store_unreachable",
    "unreachable_reason",
]


def choose_backend(
    *,
    data_dir: Path,
    redis_url: str | None,
    redis_prefix: str = "kepu",
    redis_cluster: bool = False,
    lock_timeout: float = 60.0,
) -> Backend:
    """The backend the settings name: Redis when ``redis_url`` is set (with ``redis_cluster``,
    the Redis Cluster that ``redis_url`` names a node of), else SQLite.  ``lock_timeout``: how
    long a dead worker's user turn stays locked on Redis."""
    if redis_url:
        return RedisBackend(redis_url, redis_prefix, cluster=redis_cluster, lock_timeout=lock_timeout)
    return SqliteBackend(data_dir)


@asynccontextmanager
async def open_stores(
    *,
    data_dir: Path,
    redis_url: str | None,
    redis_prefix: str = "kepu",
    redis_cluster: bool = False,
    lock_timeout: float = 60.0,
) -> AsyncIterator[Stores]:
    """Every store on the configured backend, closed on exit (last opened first)."""
    chosen = choose_backend(
        data_dir=data_dir,
        redis_url=redis_url,
        redis_prefix=redis_prefix,
        redis_cluster=redis_cluster,
        lock_timeout=lock_timeout,
    )
    async with AsyncExitStack() as stack:
        storage, isolation = await chosen.open_storage()
        stack.push_async_callback(storage.close)
        stack.push_async_callback(isolation.close)
        org = await chosen.open_org()
        stack.push_async_callback(org.close)
        jobs = await chosen.open_jobs()
        stack.push_async_callback(jobs.close)
        tickets = await chosen.open_tickets()
        stack.push_async_callback(tickets.close)
        audit = await chosen.open_audit()
        stack.push_async_callback(audit.close)
        fingerprints = await chosen.open_fingerprints()
        stack.push_async_callback(fingerprints.close)
        yield Stores(storage, isolation, org, jobs, tickets, audit, fingerprints)
