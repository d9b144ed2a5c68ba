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
attempt) before it writes, hence atomic whatever the number of workers
(:mod:`bot.storage.redis.jobs_scripts`).
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
from bot.storage.redis.jobs_scripts import (
    BEGIN_LUA,
    BURY_LUA,
    CANCEL_LUA,
    CLAIM_LUA,
    CONFIRM_LUA,
    CREATE_LUA,
    FINISH_LUA,
    HEARTBEAT_LUA,
    QUOTA_LUA,
    RECOVER_LUA,
    RELEASE_LUA,
    START_LUA,
)
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
        self._create = register(CREATE_LUA)
        self._confirm = register(CONFIRM_LUA)
        self._cancel = register(CANCEL_LUA)
        self._start = register(START_LUA)
        self._claim = register(CLAIM_LUA)
        self._release = register(RELEASE_LUA)
        self._begin = register(BEGIN_LUA)
        self._finish = register(FINISH_LUA)
        self._heartbeat = register(HEARTBEAT_LUA)
        self._bury = register(BURY_LUA)
        self._recover = register(RECOVER_LUA)
        self._quota = register(QUOTA_LUA)

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
