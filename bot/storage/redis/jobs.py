"""The job store in Redis, shared by several workers.

Key layout (``p`` is the prefix, ``{j}`` a job id, percent-encoded, ``{w}`` a worker id)::

    p:jobs:job:{j}      hash  doc (JSON), state, total, remaining, started_at, finished_at
    p:jobs:index        zset  job ids, score = creation time (ms)
    p:jobs:scheduled    zset  job ids waiting for their time, score = at (ms)
    p:jobs:running      zset  job ids with deliveries not final, score = start (ms)
    p:jobs:dlv:{j}      hash  seq (7 digits) -> delivery JSON
    p:jobs:due:{j}      zset  seq of pending deliveries, score = not_before (ms)
    p:jobs:stats:{j}    hash  sent:<via> / failed:<reason> / skipped:<reason> -> count
    p:jobs:stage:{j}:…  list  recipients being written by start_job (expires)
    p:jobs:owned:{w}    set   "{j}|seq" claimed or being sent by the worker
    p:jobs:workers      zset  worker ids, score = lease expiry (ms)
    p:jobs:optout       hash  {channel}:{user} -> when
    p:jobs:quota:{key}  int   a daily counter (expires)

Every transition is one Lua script over keys passed in ``KEYS``, checking (state, owner,
attempt) before it writes, hence atomic whatever the number of workers.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Collection, Mapping, Sequence
from typing import Any
from urllib.parse import unquote

import redis.asyncio as aioredis

from bot.storage.base import dump_json, parse_utc, utc_iso
from bot.storage.jobs_doc import job_doc, job_from_doc, unique_recipients
from bot.storage.redis.common import as_text, connect, part
from contests.deliveries import (
    BeginResult,
    Delivery,
    DeliveryKey,
    DeliveryState,
    Job,
    JobState,
    Outcome,
    Recipient,
)
from contests.records import UserKey

__all__ = ["RedisJobStore"]

_STAGE_TTL_MS = 600_000  # a start_job that died half-way leaves nothing for long
_UNCERTAIN_DETAIL = "the worker stopped during the platform call"

# Counting a delivery off its job when it becomes final (shared by several scripts).
# Expects: KEYS job hash, stats hash, running zset in variables job, stats, running;
# ARGV job id and now (ISO) in jid, now_iso; the stat field in ``field``.
_COUNT_OFF = """
local function count_off(job, stats, running, jid, now_iso, field)
    redis.call('HINCRBY', stats, field, 1)
    local left = redis.call('HINCRBY', job, 'remaining', -1)
    if left <= 0 then
        redis.call('ZREM', running, jid)
        redis.call('HSET', job, 'finished_at', now_iso)
        if redis.call('HGET', job, 'state') == 'running' then redis.call('HSET', job, 'state', 'done') end
    end
end
local function stat_field(d)
    if d.state == 'sent' then return 'sent:' .. d.via end
    return d.state .. ':' .. d.reason
end
"""

# KEYS: job hash, index zset, scheduled zset.  ARGV: job id, created ms, at ms, scheduled (1/0),
# field/value pairs.
_CREATE_LUA = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 5, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
if ARGV[4] == '1' then redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1]) end
return 1
"""

# KEYS: job hash, scheduled zset.  ARGV: job id, at ms.
_CONFIRM_LUA = """
if redis.call('HGET', KEYS[1], 'state') ~= 'held' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'scheduled')
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
"""

# KEYS: job, scheduled, running, dlv, due, stats.  ARGV: job id, now iso.
_CANCEL_LUA = (
    _COUNT_OFF
    + """
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'held' and state ~= 'scheduled' and state ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'cancelled')
redis.call('ZREM', KEYS[2], ARGV[1])
if state ~= 'running' then
    redis.call('HSET', KEYS[1], 'finished_at', ARGV[2])
    return 1
end
for _, seq in ipairs(redis.call('ZRANGE', KEYS[5], 0, -1)) do
    local d = cjson.decode(redis.call('HGET', KEYS[4], seq))
    d.state = 'skipped'; d.reason = 'cancelled'; d.updated_at = ARGV[2]
    redis.call('HSET', KEYS[4], seq, cjson.encode(d))
    count_off(KEYS[1], KEYS[6], KEYS[3], ARGV[1], ARGV[2], 'skipped:cancelled')
end
redis.call('DEL', KEYS[5])
return 1
"""
)

# KEYS: job, scheduled, running, dlv, due, stage.  ARGV: job id, now ms, now iso.
_START_LUA = """
if redis.call('HGET', KEYS[1], 'state') ~= 'scheduled' then
    redis.call('DEL', KEYS[6])
    return -1
end
local items = redis.call('LRANGE', KEYS[6], 0, -1)
for i, raw in ipairs(items) do
    local seq = string.format('%07d', i - 1)
    redis.call('HSET', KEYS[4], seq, raw)
    redis.call('ZADD', KEYS[5], ARGV[2], seq)
end
redis.call('DEL', KEYS[6])
redis.call('ZREM', KEYS[2], ARGV[1])
local n = #items
redis.call('HSET', KEYS[1], 'total', n, 'remaining', n, 'started_at', ARGV[3])
if n == 0 then
    redis.call('HSET', KEYS[1], 'state', 'done', 'finished_at', ARGV[3])
else
    redis.call('HSET', KEYS[1], 'state', 'running')
    redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
end
return n
"""

# KEYS: job, due, dlv, owned.  ARGV: job id, worker, now ms, now iso, limit.
# Returns seq, json, seq, json...
_CLAIM_LUA = """
if redis.call('HGET', KEYS[1], 'state') ~= 'running' then return {} end
local seqs = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[3], 'LIMIT', 0, tonumber(ARGV[5]))
local out = {}
for _, seq in ipairs(seqs) do
    redis.call('ZREM', KEYS[2], seq)
    local d = cjson.decode(redis.call('HGET', KEYS[3], seq))
    d.state = 'claimed'; d.owner = ARGV[2]; d.updated_at = ARGV[4]
    local raw = cjson.encode(d)
    redis.call('HSET', KEYS[3], seq, raw)
    redis.call('SADD', KEYS[4], ARGV[1] .. '|' .. seq)
    out[#out + 1] = seq
    out[#out + 1] = raw
end
return out
"""

# KEYS: dlv, due, owned.  ARGV: job id, worker, not_before ms, now iso, seq...
_RELEASE_LUA = """
local moved = 0
for i = 5, #ARGV do
    local raw = redis.call('HGET', KEYS[1], ARGV[i])
    if raw then
        local d = cjson.decode(raw)
        if d.state == 'claimed' and d.owner == ARGV[2] then
            d.state = 'pending'; d.owner = ''; d.updated_at = ARGV[4]
            redis.call('HSET', KEYS[1], ARGV[i], cjson.encode(d))
            redis.call('ZADD', KEYS[2], ARGV[3], ARGV[i])
            redis.call('SREM', KEYS[3], ARGV[1] .. '|' .. ARGV[i])
            moved = moved + 1
        end
    end
end
return moved
"""

# KEYS: dlv, job.  ARGV: seq, worker, now iso.  Returns the attempt, -1 lost, -2 cancelled.
_BEGIN_LUA = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return -1 end
local d = cjson.decode(raw)
if d.state ~= 'claimed' or d.owner ~= ARGV[2] then return -1 end
if redis.call('HGET', KEYS[2], 'state') == 'cancelled' then return -2 end
d.state = 'sending'; d.attempt = d.attempt + 1; d.updated_at = ARGV[3]
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(d))
return d.attempt
"""

# KEYS: dlv, due, owned, job, stats, running.
# ARGV: seq, worker, attempt, state, reason, detail, via, now iso, not_before ms, job id.
_FINISH_LUA = (
    _COUNT_OFF
    + """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local d = cjson.decode(raw)
if d.owner ~= ARGV[2] then return 0 end
local attempt = tonumber(ARGV[3])
local was_uncertain = d.state == 'failed' and d.reason == 'uncertain'
if attempt == 0 then
    if d.state ~= 'claimed' then return 0 end
elseif d.attempt ~= attempt or not (d.state == 'sending' or was_uncertain) then
    return 0
end
local member = ARGV[10] .. '|' .. ARGV[1]
d.state = ARGV[4]; d.reason = ARGV[5]; d.detail = ARGV[6]; d.updated_at = ARGV[8]
redis.call('SREM', KEYS[3], member)
if d.state == 'pending' then
    d.owner = ''
    redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(d))
    redis.call('ZADD', KEYS[2], ARGV[9], ARGV[1])
    return 1
end
d.via = ARGV[7]
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(d))
if was_uncertain then
    -- Already counted off as failed:uncertain by a recovery: move the count only.
    redis.call('HINCRBY', KEYS[5], 'failed:uncertain', -1)
    redis.call('HINCRBY', KEYS[5], stat_field(d), 1)
else
    count_off(KEYS[4], KEYS[5], KEYS[6], ARGV[10], ARGV[8], stat_field(d))
end
return 1
"""
)

# KEYS: workers.  ARGV: worker, expiry ms, register (1/0).
_HEARTBEAT_LUA = """
if ARGV[3] ~= '1' and not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
"""

# KEYS: workers.  ARGV: worker, now ms, force (1/0).  1 when the worker is (now) given up.
_BURY_LUA = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and ARGV[3] ~= '1' and tonumber(score) > tonumber(ARGV[2]) then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
return 1
"""

# A given-up worker's deliveries of one job.
# KEYS: dlv, due, owned, job, stats, running.  ARGV: job id, worker, resend (1/0), now ms, now iso,
# detail, seq...
_RECOVER_LUA = (
    _COUNT_OFF
    + """
local moved = 0
for i = 7, #ARGV do
    local seq = ARGV[i]
    redis.call('SREM', KEYS[3], ARGV[1] .. '|' .. seq)
    local raw = redis.call('HGET', KEYS[1], seq)
    if raw then
        local d = cjson.decode(raw)
        if d.owner == ARGV[2] and (d.state == 'claimed' or d.state == 'sending') then
            if d.state == 'claimed' or ARGV[3] == '1' then
                d.state = 'pending'; d.owner = ''; d.updated_at = ARGV[5]
                redis.call('HSET', KEYS[1], seq, cjson.encode(d))
                redis.call('ZADD', KEYS[2], ARGV[4], seq)
            else
                -- Owner and attempt stay: a stalled worker that did send may still record it.
                d.state = 'failed'; d.reason = 'uncertain'; d.detail = ARGV[6]; d.updated_at = ARGV[5]
                redis.call('HSET', KEYS[1], seq, cjson.encode(d))
                count_off(KEYS[4], KEYS[5], KEYS[6], ARGV[1], ARGV[5], 'failed:uncertain')
            end
            moved = moved + 1
        end
    end
end
return moved
"""
)

# KEYS: counter.  ARGV: cap, ttl ms.
_QUOTA_LUA = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used >= tonumber(ARGV[1]) then return 0 end
if redis.call('INCR', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1
"""


def _ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def _seq(n: int) -> str:
    return f"{n:07d}"


def _delivery(job_id: str, seq: str, raw: object) -> Delivery:
    d = json.loads(as_text(raw))
    return Delivery(
        job_id=job_id,
        seq=int(seq),
        user=UserKey(d["channel"], d["user_id"]),
        text=d["text"],
        state=DeliveryState(d["state"]),
        reason=d["reason"],
        detail=d["detail"],
        via=d["via"],
        attempt=int(d["attempt"]),
        owner=d["owner"],
        updated_at=parse_utc(d["updated_at"]),
    )


class RedisJobStore:
    """:class:`~bot.storage.jobs_doc.JobStore` in Redis.  Takes ownership of ``redis``."""

    def __init__(self, redis: aioredis.Redis, prefix: str = "kepu") -> None:
        self._redis = redis
        self.prefix = prefix
        self._k = f"{prefix}:jobs"
        register = redis.register_script
        self._create = register(_CREATE_LUA)
        self._confirm = register(_CONFIRM_LUA)
        self._cancel = register(_CANCEL_LUA)
        self._start = register(_START_LUA)
        self._claim = register(_CLAIM_LUA)
        self._release = register(_RELEASE_LUA)
        self._begin = register(_BEGIN_LUA)
        self._finish = register(_FINISH_LUA)
        self._heartbeat = register(_HEARTBEAT_LUA)
        self._bury = register(_BURY_LUA)
        self._recover = register(_RECOVER_LUA)
        self._quota = register(_QUOTA_LUA)

    @classmethod
    def from_url(cls, url: str, prefix: str = "kepu") -> RedisJobStore:
        return cls(connect(url), prefix)

    async def ping(self) -> None:
        await self._redis.ping()

    # -- keys -----------------------------------------------------------------------------

    def _job(self, job_id: str) -> str:
        return f"{self._k}:job:{part(job_id)}"

    def _dlv(self, job_id: str) -> str:
        return f"{self._k}:dlv:{part(job_id)}"

    def _due(self, job_id: str) -> str:
        return f"{self._k}:due:{part(job_id)}"

    def _stats(self, job_id: str) -> str:
        return f"{self._k}:stats:{part(job_id)}"

    def _owned(self, worker: str) -> str:
        return f"{self._k}:owned:{part(worker)}"

    @property
    def _index(self) -> str:
        return f"{self._k}:index"

    @property
    def _scheduled(self) -> str:
        return f"{self._k}:scheduled"

    @property
    def _running(self) -> str:
        return f"{self._k}:running"

    @property
    def _workers(self) -> str:
        return f"{self._k}:workers"

    # -- jobs -----------------------------------------------------------------------------

    async def create_job(self, job: Job) -> bool:
        fields = {"doc": dump_json(job_doc(job)), "state": job.state.value, "total": 0, "remaining": 0}
        flat: list[Any] = [x for kv in fields.items() for x in kv]
        scheduled = "1" if job.state is JobState.SCHEDULED else "0"
        created = await self._create(
            keys=[self._job(job.id), self._index, self._scheduled],
            args=[job.id, _ms(job.created_at), _ms(job.at), scheduled, *flat],
        )
        return int(created) == 1

    @staticmethod
    def _load(fields: Mapping[Any, Any]) -> Job | None:
        if not fields or "doc" not in fields:
            return None
        return job_from_doc(
            json.loads(as_text(fields["doc"])),
            state=as_text(fields["state"]),
            total=int(fields.get("total") or 0),
            remaining=int(fields.get("remaining") or 0),
            started_at=as_text(fields["started_at"]) if fields.get("started_at") else None,
            finished_at=as_text(fields["finished_at"]) if fields.get("finished_at") else None,
        )

    async def get_job(self, job_id: str) -> Job | None:
        return self._load(await self._redis.hgetall(self._job(job_id)))

    async def _jobs(self, ids: Sequence[str]) -> list[Job]:
        if not ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.hgetall(self._job(job_id))
            found = await pipe.execute()
        jobs = [self._load(fields) for fields in found]
        return [j for j in jobs if j is not None]

    async def list_jobs(
        self, *, contest_id: str | None = None, states: Collection[JobState] | None = None
    ) -> list[Job]:
        ids = [as_text(i) for i in await self._redis.zrange(self._index, 0, -1)]
        jobs = await self._jobs(ids)
        return [
            j
            for j in jobs
            if (contest_id is None or j.contest_id == contest_id) and (states is None or j.state in states)
        ]

    async def confirm_job(self, job_id: str) -> bool:
        job = await self.get_job(job_id)
        if job is None:
            return False
        done = await self._confirm(keys=[self._job(job_id), self._scheduled], args=[job_id, _ms(job.at)])
        return int(done) == 1

    async def cancel_job(self, job_id: str, now: dt.datetime) -> Job | None:
        await self._cancel(
            keys=[
                self._job(job_id),
                self._scheduled,
                self._running,
                self._dlv(job_id),
                self._due(job_id),
                self._stats(job_id),
            ],
            args=[job_id, utc_iso(now)],
        )
        return await self.get_job(job_id)

    async def due_jobs(self, now: dt.datetime) -> list[Job]:
        ids = [as_text(i) for i in await self._redis.zrangebyscore(self._scheduled, "-inf", _ms(now))]
        return [j for j in await self._jobs(ids) if j.state is JobState.SCHEDULED]

    async def start_job(self, job_id: str, recipients: Sequence[Recipient], now: dt.datetime) -> bool:
        if await self._redis.hget(self._job(job_id), "state") != JobState.SCHEDULED:
            return False  # cheap early exit; the script checks again
        now_s = utc_iso(now)
        docs = [
            dump_json(
                {
                    "channel": r.user.channel,
                    "user_id": r.user.user_id,
                    "text": r.text,
                    "state": "pending",
                    "reason": "",
                    "detail": "",
                    "via": "",
                    "attempt": 0,
                    "owner": "",
                    "updated_at": now_s,
                }
            )
            for r in unique_recipients(recipients)
        ]
        # Staged in chunks under a key of this attempt alone, then moved by one script: a
        # second worker starting the same job stages its own copy, which the script drops.
        stage = f"{self._k}:stage:{part(job_id)}:{uuid.uuid4().hex}"
        for i in range(0, len(docs), 1000):
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.rpush(stage, *docs[i : i + 1000])
                pipe.pexpire(stage, _STAGE_TTL_MS)
                await pipe.execute()
        started = await self._start(
            keys=[
                self._job(job_id),
                self._scheduled,
                self._running,
                self._dlv(job_id),
                self._due(job_id),
                stage,
            ],
            args=[job_id, _ms(now), now_s],
        )
        return int(started) >= 0

    # -- deliveries -----------------------------------------------------------------------

    async def claim(self, worker: str, now: dt.datetime, limit: int) -> list[Delivery]:
        out: list[Delivery] = []
        for raw_id in await self._redis.zrange(self._running, 0, -1):
            if len(out) >= limit:
                break
            job_id = as_text(raw_id)
            got = await self._claim(
                keys=[self._job(job_id), self._due(job_id), self._dlv(job_id), self._owned(worker)],
                args=[job_id, worker, _ms(now), utc_iso(now), limit - len(out)],
            )
            out += [_delivery(job_id, as_text(got[i]), got[i + 1]) for i in range(0, len(got), 2)]
        return out

    async def release(self, worker: str, keys: Sequence[DeliveryKey], not_before: dt.datetime) -> int:
        by_job: dict[str, list[str]] = {}
        for job_id, seq in keys:
            by_job.setdefault(job_id, []).append(_seq(seq))
        moved = 0
        for job_id, seqs in by_job.items():
            moved += int(
                await self._release(
                    keys=[self._dlv(job_id), self._due(job_id), self._owned(worker)],
                    args=[job_id, worker, _ms(not_before), utc_iso(not_before), *seqs],
                )
            )
        return moved

    async def begin(self, worker: str, key: DeliveryKey, now: dt.datetime) -> int | BeginResult:
        job_id, seq = key
        got = int(
            await self._begin(
                keys=[self._dlv(job_id), self._job(job_id)], args=[_seq(seq), worker, utc_iso(now)]
            )
        )
        if got == -2:
            return BeginResult.CANCELLED
        return BeginResult.LOST if got < 0 else got

    async def finish(
        self, worker: str, key: DeliveryKey, attempt: int, outcome: Outcome, now: dt.datetime
    ) -> bool:
        job_id, seq = key
        not_before = now + dt.timedelta(seconds=max(0.0, outcome.retry_after))
        done = await self._finish(
            keys=[
                self._dlv(job_id),
                self._due(job_id),
                self._owned(worker),
                self._job(job_id),
                self._stats(job_id),
                self._running,
            ],
            args=[
                _seq(seq),
                worker,
                attempt,
                outcome.state.value,
                outcome.reason,
                outcome.detail,
                outcome.via,
                utc_iso(now),
                _ms(not_before),
                job_id,
            ],
        )
        return int(done) == 1

    async def get_delivery(self, key: DeliveryKey) -> Delivery | None:
        job_id, seq = key
        raw = await self._redis.hget(self._dlv(job_id), _seq(seq))
        return None if raw is None else _delivery(job_id, _seq(seq), raw)

    async def deliveries(
        self, job_id: str, *, states: Collection[DeliveryState] | None = None
    ) -> list[Delivery]:
        found = await self._redis.hgetall(self._dlv(job_id))
        out = [_delivery(job_id, as_text(seq), raw) for seq, raw in found.items()]
        out.sort(key=lambda d: d.seq)
        return [d for d in out if states is None or d.state in states]

    async def stats(self, job_id: str) -> dict[str, int]:
        counted = {as_text(k): int(v) for k, v in (await self._redis.hgetall(self._stats(job_id))).items()}
        out = {k: v for k, v in counted.items() if v}
        job = await self.get_job(job_id)
        if job is not None and job.remaining > 0:
            # Not final yet: the states of those come from the deliveries themselves.
            active = [
                d
                for d in await self.deliveries(job_id)
                if d.state in (DeliveryState.PENDING, DeliveryState.CLAIMED, DeliveryState.SENDING)
            ]
            for d in active:
                out[d.state.value] = out.get(d.state.value, 0) + 1
        return out

    # -- workers --------------------------------------------------------------------------

    async def heartbeat(self, worker: str, now: dt.datetime, lease: float, *, register: bool = False) -> bool:
        expiry = _ms(now + dt.timedelta(seconds=lease))
        alive = await self._heartbeat(keys=[self._workers], args=[worker, expiry, "1" if register else "0"])
        return int(alive) == 1

    async def recover(self, now: dt.datetime, *, resend_uncertain: bool) -> int:
        live = {as_text(w) for w in await self._redis.zrangebyscore(self._workers, f"({_ms(now)}", "+inf")}
        owners: set[str] = set()
        async for key in self._redis.scan_iter(match=f"{self._k}:owned:*", count=500):
            owners.add(unquote(as_text(key).rsplit(":", 1)[1]))
        dead = {w for w in (await self._expired(now)) | owners if w not in live}
        moved = 0
        for worker in dead:
            moved += await self._give_up(worker, now, resend_uncertain, force=False)
        return moved

    async def _expired(self, now: dt.datetime) -> set[str]:
        return {as_text(w) for w in await self._redis.zrangebyscore(self._workers, "-inf", _ms(now))}

    async def retire(self, worker: str, now: dt.datetime, *, resend_uncertain: bool) -> int:
        return await self._give_up(worker, now, resend_uncertain, force=True)

    async def _give_up(self, worker: str, now: dt.datetime, resend: bool, *, force: bool) -> int:
        # First out of the live set, so that a stalled worker's heartbeat fails from now on.
        if not int(await self._bury(keys=[self._workers], args=[worker, _ms(now), "1" if force else "0"])):
            return 0  # renewed its lease meanwhile: alive after all
        by_job: dict[str, list[str]] = {}
        for member in await self._redis.smembers(self._owned(worker)):
            job_id, _, seq = as_text(member).rpartition("|")
            by_job.setdefault(job_id, []).append(seq)
        moved = 0
        for job_id, seqs in by_job.items():
            moved += int(
                await self._recover(
                    keys=[
                        self._dlv(job_id),
                        self._due(job_id),
                        self._owned(worker),
                        self._job(job_id),
                        self._stats(job_id),
                        self._running,
                    ],
                    args=[
                        job_id,
                        worker,
                        "1" if resend else "0",
                        _ms(now),
                        utc_iso(now),
                        _UNCERTAIN_DETAIL,
                        *seqs,
                    ],
                )
            )
        return moved

    # -- opt-outs and quotas --------------------------------------------------------------

    def _user_field(self, user: UserKey) -> str:
        return f"{part(user.channel)}:{part(user.user_id)}"

    async def set_opt_out(self, user: UserKey, out: bool, now: dt.datetime) -> bool:
        key = f"{self._k}:optout"
        if out:
            return bool(await self._redis.hsetnx(key, self._user_field(user), utc_iso(now)))
        return int(await self._redis.hdel(key, self._user_field(user))) > 0

    async def opted_out(self, users: Sequence[UserKey]) -> set[UserKey]:
        wanted = list(dict.fromkeys(users))
        if not wanted:
            return set()
        found = await self._redis.hmget(f"{self._k}:optout", [self._user_field(u) for u in wanted])
        return {u for u, value in zip(wanted, found, strict=True) if value is not None}

    async def take_quota(self, key: str, cap: int, ttl: dt.timedelta) -> bool:
        ms = max(1, int(ttl.total_seconds() * 1000))
        return int(await self._quota(keys=[f"{self._k}:quota:{part(key)}"], args=[cap, ms])) == 1

    async def close(self) -> None:
        await self._redis.aclose()
