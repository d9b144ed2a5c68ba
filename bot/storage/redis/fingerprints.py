"""Video fingerprints in Redis, shared by several workers."""

from __future__ import annotations

import base64
import json
from typing import Any

import redis.asyncio as aioredis

from bot.storage.base import dump_json, parse_utc, utc_iso
from bot.storage.redis.common import as_text, connect, part
from contests.records import FingerprintRecord

# KEYS: the record, the set of its new lineage.  ARGV: the record's JSON, its member name, the
# lineage sets' key prefix.  A record moved to another lineage leaves its old set in the same step.
_PUT_LUA = """
local old = redis.call('GET', KEYS[1])
if old then
  local lineage = cjson.decode(old)['lineage_key']
  if lineage ~= KEYS[2] then redis.call('SREM', lineage, ARGV[2]) end
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
return 1
"""

_REMOVE_LUA = """
local old = redis.call('GET', KEYS[1])
if not old then return 0 end
redis.call('SREM', cjson.decode(old)['lineage_key'], ARGV[1])
redis.call('DEL', KEYS[1])
return 1
"""


class RedisFingerprintStore:
    """:class:`~contests.ports.FingerprintStore` in Redis.

    Key layout (``p`` is the prefix)::

        p:fp:rec:<contest>:<number>   string  the record as JSON, the fingerprint in base64
        p:fp:lineage:<lineage>        set     ``<contest>:<number>`` of every record of it

    Takes ownership of the client.
    """

    def __init__(self, redis: aioredis.Redis, prefix: str = "kepu") -> None:
        self._redis = redis
        self.prefix = f"{prefix}:fp"
        self._put = redis.register_script(_PUT_LUA)
        self._remove = redis.register_script(_REMOVE_LUA)

    @classmethod
    def from_url(cls, url: str, prefix: str = "kepu") -> RedisFingerprintStore:
        return cls(connect(url), prefix)

    def _record_key(self, contest_id: str, number: str) -> str:
        return f"{self.prefix}:rec:{_member(contest_id, number)}"

    def _lineage_key(self, lineage: str) -> str:
        return f"{self.prefix}:lineage:{part(lineage)}"

    async def put(self, record: FingerprintRecord) -> None:
        lineage_key = self._lineage_key(record.lineage)
        doc = {
            "contest_id": record.contest_id,
            "number": record.number,
            "lineage": record.lineage,
            "lineage_key": lineage_key,
            "title": record.title,
            "created_at": utc_iso(record.created_at) if record.created_at else None,
            "data": base64.b64encode(record.data).decode("ascii"),
        }
        await self._put(
            keys=[self._record_key(record.contest_id, record.number), lineage_key],
            args=[dump_json(doc), _member(record.contest_id, record.number)],
        )

    async def get(self, contest_id: str, number: str) -> FingerprintRecord | None:
        raw = await self._redis.get(self._record_key(contest_id, number))
        return _record(raw) if raw is not None else None

    async def list_lineage(self, lineage: str) -> list[FingerprintRecord]:
        members = sorted(as_text(m) for m in await self._redis.smembers(self._lineage_key(lineage)))
        if not members:
            return []
        raws = await self._redis.mget([f"{self.prefix}:rec:{m}" for m in members])
        found = [_record(raw) for raw in raws if raw is not None]
        return sorted(found, key=lambda r: (r.contest_id, r.number))

    async def remove(self, contest_id: str, number: str) -> bool:
        done = await self._remove(
            keys=[self._record_key(contest_id, number)], args=[_member(contest_id, number)]
        )
        return bool(int(done))

    async def ping(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()


def _member(contest_id: str, number: str) -> str:
    return f"{part(contest_id)}:{part(number)}"


def _record(raw: Any) -> FingerprintRecord:
    doc = json.loads(as_text(raw))
    created = doc.get("created_at")
    return FingerprintRecord(
        str(doc["contest_id"]),
        str(doc["lineage"]),
        str(doc["number"]),
        base64.b64decode(doc["data"]),
        str(doc.get("title") or ""),
        parse_utc(created) if created else None,
    )
