"""The helpdesk's tickets in Redis, shared by several workers."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast
from urllib.parse import quote

import redis.asyncio as aioredis

from bot.storage.base import utc_iso
from bot.storage.redis.common import as_text, connect
from bot.storage.tickets_doc import ticket_from_row, ticket_matches, ticket_seq
from contests.records import UserKey
from contests.tickets import Ticket, TicketClosedError, TicketNotFoundError, TicketStatus, format_ticket_id

# KEYS: ticket hash, idx:status:open, idx:status:answered.  ARGV: id, seq, reply, operator, answered_at.
_ANSWER_LUA = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
if status == 'closed' then return 'closed' end
redis.call('HSET', KEYS[1], 'status', 'answered', 'reply', ARGV[3], 'operator', ARGV[4],
           'answered_at', ARGV[5])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], tonumber(ARGV[2]), ARGV[1])
return 'ok'
"""


# KEYS: ticket hash, idx:status:open, idx:status:answered, idx:status:closed.  ARGV: id, seq, closed_at.
_CLOSE_LUA = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
if status ~= 'closed' then
    redis.call('HSET', KEYS[1], 'status', 'closed', 'closed_at', ARGV[3])
    redis.call('ZREM', KEYS[2], ARGV[1])
    redis.call('ZREM', KEYS[3], ARGV[1])
    redis.call('ZADD', KEYS[4], tonumber(ARGV[2]), ARGV[1])
end
return 'ok'
"""


class RedisTicketStore:
    """:class:`TicketStore` in Redis, shared by several workers.

    Key layout (``p`` is the prefix)::

        p:helpdesk:seq                int   last ticket number handed out
        p:helpdesk:ticket:HD-000001   hash  the ticket's fields
        p:helpdesk:idx:all            zset  ticket ids, score = number
        p:helpdesk:idx:status:<s>     zset  the same, per status (open tickets are listed often)

    A new ticket takes its number with INCR and is written in one MULTI transaction (a crash in
    between only skips a number); answer and close are Lua scripts, so the status check and the
    write are one step on the server whatever the number of workers.  Takes ownership of the client.
    """

    def __init__(self, redis: aioredis.Redis, prefix: str = "kepu") -> None:
        self._redis = redis
        self.prefix = f"{prefix}:helpdesk"
        self._answer = redis.register_script(_ANSWER_LUA)
        self._close = redis.register_script(_CLOSE_LUA)

    @classmethod
    def from_url(cls, url: str, prefix: str = "kepu") -> RedisTicketStore:
        return cls(connect(url), prefix)

    def _key(self, ticket_id: str) -> str:
        return f"{self.prefix}:ticket:{quote(ticket_id, safe='')}"

    def _status(self, status: TicketStatus) -> str:
        return f"{self.prefix}:idx:status:{status.value}"

    async def create(
        self, *, contest_id: str | None, user: UserKey, question: str, suggestion: str, now: dt.datetime
    ) -> Ticket:
        seq = int(await self._redis.incr(f"{self.prefix}:seq"))
        ticket_id = format_ticket_id(seq)
        fields = {
            "id": ticket_id,
            "contest_id": contest_id or "",
            "channel": user.channel,
            "user_id": user.user_id,
            "question": question,
            "suggestion": suggestion,
            "status": TicketStatus.OPEN.value,
            "created_at": utc_iso(now),
        }
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._key(ticket_id), mapping=cast("dict[Any, Any]", fields))
            pipe.zadd(f"{self.prefix}:idx:all", {ticket_id: seq})
            pipe.zadd(self._status(TicketStatus.OPEN), {ticket_id: seq})
            await pipe.execute()
        return ticket_from_row(fields)

    async def get(self, ticket_id: str) -> Ticket | None:
        row = await self._redis.hgetall(self._key(ticket_id))
        return ticket_from_row({as_text(k): as_text(v) for k, v in row.items()}) if row else None

    async def list_tickets(
        self,
        *,
        status: TicketStatus | None = None,
        contest_id: str | None = None,
        user: UserKey | None = None,
    ) -> list[Ticket]:
        index = self._status(status) if status is not None else f"{self.prefix}:idx:all"
        ids = [as_text(i) for i in await self._redis.zrange(index, 0, -1)]
        async with self._redis.pipeline(transaction=False) as pipe:
            for ticket_id in ids:
                pipe.hgetall(self._key(ticket_id))
            rows = await pipe.execute()
        tickets = [ticket_from_row({as_text(k): as_text(v) for k, v in row.items()}) for row in rows if row]
        return [t for t in tickets if ticket_matches(t, status, contest_id, user)]

    async def answer(self, ticket_id: str, *, reply: str, operator: str, now: dt.datetime) -> Ticket:
        seq = ticket_seq(ticket_id)
        keys = [self._key(ticket_id), self._status(TicketStatus.OPEN), self._status(TicketStatus.ANSWERED)]
        result = as_text(await self._answer(keys=keys, args=[ticket_id, seq, reply, operator, utc_iso(now)]))
        if result == "missing":
            raise TicketNotFoundError(ticket_id)
        if result == "closed":
            raise TicketClosedError(ticket_id)
        ticket = await self.get(ticket_id)
        assert ticket is not None
        return ticket

    async def close_ticket(self, ticket_id: str, *, now: dt.datetime) -> Ticket:
        seq = ticket_seq(ticket_id)
        keys = [self._key(ticket_id), *(self._status(s) for s in TicketStatus)]
        if as_text(await self._close(keys=keys, args=[ticket_id, seq, utc_iso(now)])) == "missing":
            raise TicketNotFoundError(ticket_id)
        ticket = await self.get(ticket_id)
        assert ticket is not None
        return ticket

    async def ping(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()
