"""The audit log in Redis, shared by several workers: one stream, append-only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import redis.asyncio as aioredis

from bot.storage.audit_doc import AUDIT_FIELDS, audit_from_row, audit_limit, audit_row
from bot.storage.redis.common import as_text, connect
from contests.audit import AuditEntry

# KEYS: the counter, the stream.  ARGV: field, value, field, value …
# The number and the entry are one step on the server, so ids enter the stream in number order
# (XADD refuses an id not above the last one: a counter reset fails loudly, never reuses one).
_APPEND_LUA = """
local seq = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], seq .. '-0', unpack(ARGV))
return seq
"""

#: Stream entries read per round trip while filters drop some (organisers read the log; it is
#: no hot path, so a filtered read scans rather than keeping an index per filter).
SCAN_PAGE = 500


class RedisAuditLog:
    """:class:`~contests.ports.AuditLog` in Redis.

    Key layout (``p`` is the prefix)::

        p:audit:seq   int     last number handed out
        p:audit:log   stream  the entries, id ``<seq>-0``, fields as in ``AUDIT_FIELDS``

    No method here changes or removes an entry.  Takes ownership of the client.
    """

    def __init__(self, redis: aioredis.Redis, prefix: str = "kepu") -> None:
        self._redis = redis
        self.prefix = f"{prefix}:audit"
        self._append = redis.register_script(_APPEND_LUA)

    @classmethod
    def from_url(cls, url: str, prefix: str = "kepu") -> RedisAuditLog:
        return cls(connect(url), prefix)

    @property
    def _stream(self) -> str:
        return f"{self.prefix}:log"

    async def append(self, entry: AuditEntry) -> AuditEntry:
        row = audit_row(entry)
        args = [text for name in AUDIT_FIELDS for text in (name, row[name])]
        seq = await self._append(keys=[f"{self.prefix}:seq", self._stream], args=args)
        return entry.with_seq(int(seq))

    async def list_entries(
        self,
        *,
        contest_id: str | None = None,
        actor: str | None = None,
        target: str | None = None,
        action_prefix: str | None = None,
        after_seq: int = 0,
        limit: int = 200,
        newest_first: bool = True,
    ) -> list[AuditEntry]:
        audit_limit(limit)
        given = (("contest_id", contest_id), ("actor", actor), ("target", target))
        wanted = {k: v for k, v in given if v is not None}
        prefix = action_prefix or ""

        def matches(fields: Mapping[str, str]) -> bool:
            return all(fields.get(k) == v for k, v in wanted.items()) and fields["action"].startswith(prefix)

        page = limit if not wanted and not prefix else max(limit, SCAN_PAGE)
        low, high = max(after_seq, 0) + 1, None  # the seqs still to read: low ≤ seq ≤ high
        found: list[AuditEntry] = []
        while len(found) < limit and (high is None or high >= low):
            batch = await self._page(low, high, page, newest_first)
            for entry_id, raw in batch:
                fields = {as_text(k): as_text(v) for k, v in raw.items()}
                if matches(fields):
                    found.append(audit_from_row(_seq(entry_id), fields))
                    if len(found) == limit:
                        break
            if len(batch) < page:
                break
            last = _seq(batch[-1][0])
            low, high = (low, last - 1) if newest_first else (last + 1, high)
        return found

    async def _page(self, low: int, high: int | None, count: int, newest_first: bool) -> list[Any]:
        start, end = f"{low}-0", "+" if high is None else f"{high}-0"
        if newest_first:
            batch = await self._redis.xrevrange(self._stream, max=end, min=start, count=count)
        else:
            batch = await self._redis.xrange(self._stream, min=start, max=end, count=count)
        return list(batch or [])

    async def ping(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()


def _seq(entry_id: object) -> int:
    return int(as_text(entry_id).partition("-")[0])
