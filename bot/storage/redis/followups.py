"""Follow-ups of stored submissions in Redis (:meth:`contests.ports.Storage.take_follow_ups`).

Three keys: ``followup`` (a hash: number → the entrant and the data, as JSON), ``followup:owner``
(number → the token of the worker holding it) and ``followup:due`` (a sorted set: number → when
its hold lapses, in ms).  ``create_submission``'s script writes all three with the submission;
the scripts here take, keep and finish them, each atomic whatever the number of workers.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import redis.asyncio as aioredis

from bot.storage.base import dump_json
from bot.storage.redis.common import as_text
from contests.records import FollowUp, UserKey

# KEYS: follow-ups, owners, due.  ARGV: now in ms, the new due in ms, owner, limit.  Returns
# number, payload pairs of those taken.
_TAKE_LUA = """
local found = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[4]))
local out = {}
for _, number in ipairs(found) do
    local payload = redis.call('HGET', KEYS[1], number)
    if payload then
        redis.call('ZADD', KEYS[3], ARGV[2], number)
        redis.call('HSET', KEYS[2], number, ARGV[3])
        out[#out + 1] = number
        out[#out + 1] = payload
    else
        redis.call('ZREM', KEYS[3], number)
    end
end
return out
"""

# KEYS as above.  ARGV: number, owner, payload, due in ms.  0 when not held by owner.
_KEEP_LUA = """
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
return 1
"""

# KEYS as above.  ARGV: number, owner.
_FINISH_LUA = """
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
"""


def ms(moment: dt.datetime) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: pass a timezone-aware datetime")
    return int(moment.timestamp() * 1000)


def payload(follow_up: FollowUp) -> str:
    """What the follow-ups hash keeps of one (the owner and due have keys of their own)."""
    user = follow_up.user
    return dump_json({"channel": user.channel, "user_id": user.user_id, "data": follow_up.data})


class RedisFollowUps:
    """The follow-ups' keys and scripts, beside :class:`~bot.storage.redis.drafts.RedisStorage`."""

    def __init__(self, redis: aioredis.Redis, prefix: str) -> None:
        self._redis = redis
        self.keys = [f"{prefix}:followup", f"{prefix}:followup:owner", f"{prefix}:followup:due"]
        self._take = redis.register_script(_TAKE_LUA)
        self._keep = redis.register_script(_KEEP_LUA)
        self._finish = redis.register_script(_FINISH_LUA)

    async def take(self, owner: str, now: dt.datetime, lease: dt.timedelta, limit: int) -> list[FollowUp]:
        due = ms(now + lease)
        found: list[Any] = await self._take(keys=self.keys, args=[ms(now), due, owner, max(0, limit)])
        taken: list[FollowUp] = []
        for number, raw in zip(found[::2], found[1::2], strict=True):
            doc = json.loads(as_text(raw))
            user = UserKey(doc["channel"], doc["user_id"])
            when = dt.datetime.fromtimestamp(due / 1000, dt.UTC)
            taken.append(FollowUp(as_text(number), user, owner, when, doc.get("data") or {}))
        return taken

    async def keep(self, follow_up: FollowUp) -> bool:
        args: list[Any] = [follow_up.number, follow_up.owner, payload(follow_up), ms(follow_up.due)]
        return bool(await self._keep(keys=self.keys, args=args))

    async def finish(self, number: str, owner: str) -> bool:
        return bool(await self._finish(keys=self.keys, args=[number, owner]))
