"""Who is who in a contest, and who holds which place: the organisation store.

Beside :class:`~bot.storage.base.Storage` (drafts and submissions) this protocol keeps, per
contest:

* **units** – the recommending units an organiser imported (name, quota kind, province);
* **memberships** – which chat user is a unit's member (代表) or an organiser;
* **invite codes** – single-use, expiring, stored only as a SHA-256 hash;
* **places** – one per entry that counts against a quota.  A place is *reserved* (pending)
  at confirm time, *committed* once the submission exists, *released* if creating it
  failed, and *withdrawn* when a member takes the recommendation back.  Pending places count
  as used, so two confirmations can never both take the last place; a pending place that was
  never committed (a crash in between) stops counting after its ``ttl``.
* **claims** – contest-wide unique keys that a place holds (``author:<first author>``,
  ``work:<title>|<first author>``): how "one work per first author" and "one channel per
  work" are enforced in the same atomic step as the quota.

Backends: :mod:`bot.storage.org_sqlite` (``BEGIN IMMEDIATE``) and :mod:`bot.storage.org_redis`
(Lua), one contract suite (``tests/test_org_contract.py``) over both.  The store knows nothing
of contests' rules: the caller computes the limit and the claims (see :mod:`handlers.quota`).
"""

from __future__ import annotations

from pathlib import Path

from contests.ports import OrgStore

__all__ = [
    "open_org_store",
]


































async def open_org_store(*, data_dir: Path, redis_url: str | None, redis_prefix: str = "kepu") -> OrgStore:
    """Open the backend that matches :func:`bot.storage.open_storage`: Redis when a URL is given
    (same prefix), else the SQLite file of the data directory (its own tables)."""
    if redis_url:
        from bot.storage.org_redis import RedisOrgStore

        store = RedisOrgStore.from_url(redis_url, redis_prefix)
        try:
            await store.ping()
        except BaseException:
            await store.close()
            raise
        return store
    from bot.storage import SQLITE_FILENAME
    from bot.storage.org_sqlite import SqliteOrgStore

    return await SqliteOrgStore.open(Path(data_dir) / SQLITE_FILENAME)
