"""The job store: persistent jobs and the state of every one of their deliveries.

Beside :class:`~bot.storage.base.Storage` and :class:`~bot.storage.org.OrgStore`, this keeps
what :mod:`bot.jobs` needs to send every message exactly once through crashes and restarts:

* **jobs** – broadcasts and reminders, held / scheduled / running / done / cancelled;
* **deliveries** – one per recipient of a started job, with its state (``pending`` →
  ``claimed`` → ``sending`` → ``sent`` / ``failed`` / ``skipped``), its reason and its owner;
* **workers** – a heartbeat per running worker; the claims of a worker whose heartbeat ran out
  are recovered by whoever notices first;
* **opt-outs** (退订) and small **daily quotas** (WeChat template messages).

Every state change is one atomic step on the server (one SQLite statement or transaction,
one Redis Lua script) guarded by compare-and-set on (state, owner, attempt), so two workers
never claim, begin or finish the same delivery.  Backends: :mod:`bot.storage.jobs_sqlite`
and :mod:`bot.storage.jobs_redis`; ``tests/test_jobs_contract.py`` runs one contract suite
over both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from bot.jobs import BeginResult, Delivery, DeliveryState, Job, JobState, Outcome, Recipient

from .base import UserKey

__all__ = ["JobStore", "job_doc", "job_from_doc", "open_job_store"]

DeliveryKey = tuple[str, int]


@runtime_checkable
class JobStore(Protocol):
    """Jobs, deliveries, worker liveness, opt-outs and quotas.  Every method is safe to call
    concurrently, from any number of workers."""

    # -- jobs -----------------------------------------------------------------------------
    async def create_job(self, job: Job) -> bool:
        """Store a new job; False (and nothing changed) when its id exists: how a reminder is
        created only once however often the scheduler runs."""

    async def get_job(self, job_id: str) -> Job | None: ...

    async def list_jobs(
        self, *, contest_id: str | None = None, states: Collection[JobState] | None = None
    ) -> list[Job]:
        """Jobs, oldest first."""

    async def confirm_job(self, job_id: str) -> bool:
        """``held`` → ``scheduled``; False when the job is not held."""

    async def cancel_job(self, job_id: str, now: dt.datetime) -> Job | None:
        """Cancel a held, scheduled or running job: its pending deliveries become skipped
        ``cancelled`` (those being sent finish as they go).  None when there is no such job;
        a job already done or cancelled is returned unchanged."""

    async def due_jobs(self, now: dt.datetime) -> list[Job]:
        """Scheduled jobs whose time has come."""

    async def start_job(self, job_id: str, recipients: Sequence[Recipient], now: dt.datetime) -> bool:
        """``scheduled`` → ``running`` with one pending delivery per recipient (deduplicated by
        user, first kept), all or nothing; ``done`` at once when there are none.  False (and
        nothing changed) when the job was not scheduled: another worker started it."""

    # -- deliveries -----------------------------------------------------------------------
    async def claim(self, worker: str, now: dt.datetime, limit: int) -> list[Delivery]:
        """Up to ``limit`` pending deliveries due by ``now`` become ``claimed`` by ``worker``."""

    async def release(self, worker: str, keys: Sequence[DeliveryKey], not_before: dt.datetime) -> int:
        """``claimed`` (by ``worker``) → ``pending`` again, due at ``not_before``.  Returns how many."""

    async def begin(self, worker: str, key: DeliveryKey, now: dt.datetime) -> int | BeginResult:
        """``claimed`` (by ``worker``) → ``sending``, written just before the platform call.
        Returns the attempt number (1, 2, ...), :attr:`BeginResult.LOST` when the delivery is
        not claimed by ``worker``, or :attr:`BeginResult.CANCELLED` (nothing changed) when its
        job was cancelled."""

    async def finish(
        self, worker: str, key: DeliveryKey, attempt: int, outcome: Outcome, now: dt.datetime
    ) -> bool:
        """Record ``outcome``: from ``claimed`` when ``attempt`` is 0, else from ``sending``
        with that attempt number (or from ``failed``/``uncertain`` of that attempt, which a
        recovery wrote while the call was in fact still running).  A final state counts the
        delivery off its job (the job is ``done`` with the last); ``pending`` puts it back
        due after ``outcome.retry_after``.  False when ``worker`` no longer holds it."""

    async def get_delivery(self, key: DeliveryKey) -> Delivery | None: ...

    async def deliveries(
        self, job_id: str, *, states: Collection[DeliveryState] | None = None
    ) -> list[Delivery]:
        """The job's deliveries in recipient order."""

    async def stats(self, job_id: str) -> dict[str, int]:
        """Counts: ``sent:<via>``, ``failed:<reason>``, ``skipped:<reason>`` and, for those not
        final, ``pending``, ``claimed``, ``sending``."""

    # -- workers --------------------------------------------------------------------------
    async def heartbeat(self, worker: str, now: dt.datetime, lease: float, *, register: bool = False) -> bool:
        """Keep ``worker`` alive for ``lease`` seconds.  ``register`` adds it; otherwise False
        when it had been given up for dead (its claims are gone)."""

    async def recover(self, now: dt.datetime, *, resend_uncertain: bool) -> int:
        """Give up workers whose lease ran out: their ``claimed`` deliveries go back to
        pending; their ``sending`` ones become failed ``uncertain``, or pending again when
        ``resend_uncertain``.  Returns how many deliveries moved."""

    async def retire(self, worker: str, now: dt.datetime, *, resend_uncertain: bool) -> int:
        """A worker's clean exit: the same as :meth:`recover` for ``worker`` alone, at once."""

    # -- opt-outs and quotas --------------------------------------------------------------
    async def set_opt_out(self, user: UserKey, out: bool, now: dt.datetime) -> bool:
        """Opt the user out of (True) or back into (False) reminders and broadcasts; True when
        this changed anything."""

    async def opted_out(self, users: Sequence[UserKey]) -> set[UserKey]:
        """Those of ``users`` who opted out."""

    async def take_quota(self, key: str, cap: int, ttl: dt.timedelta) -> bool:
        """Take one unit of the counter ``key`` (created with lifetime ``ttl``) if fewer than
        ``cap`` are taken: the daily cap of WeChat template messages, across workers."""

    async def close(self) -> None: ...


# -- helpers shared by the backends ----------------------------------------------------------


def job_doc(job: Job) -> dict[str, Any]:
    """The unchanging part of a job as JSON-ready data (state and counters are kept apart)."""
    return {
        "id": job.id,
        "kind": job.kind.value,
        "contest_id": job.contest_id,
        "audience": job.audience,
        "text": job.text,
        "at": job.at.astimezone(dt.UTC).isoformat(),
        "created_by": job.created_by,
        "created_at": job.created_at.astimezone(dt.UTC).isoformat(),
        "expires_at": job.expires_at.astimezone(dt.UTC).isoformat() if job.expires_at else None,
        "meta": job.meta,
    }


def job_from_doc(
    doc: dict[str, Any],
    *,
    state: str,
    total: int,
    remaining: int,
    started_at: str | None,
    finished_at: str | None,
) -> Job:
    from bot.jobs import JobKind

    def when(text: str | None) -> dt.datetime | None:
        return dt.datetime.fromisoformat(text).astimezone(dt.UTC) if text else None

    at, created = when(doc["at"]), when(doc["created_at"])
    assert at is not None and created is not None
    return Job(
        id=doc["id"],
        kind=JobKind(doc["kind"]),
        contest_id=doc["contest_id"],
        audience=doc["audience"],
        text=doc["text"],
        at=at,
        created_by=doc["created_by"],
        created_at=created,
        state=JobState(state),
        expires_at=when(doc.get("expires_at")),
        total=total,
        remaining=remaining,
        started_at=when(started_at),
        finished_at=when(finished_at),
        meta=dict(doc.get("meta") or {}),
    )


def unique_recipients(recipients: Sequence[Recipient]) -> list[Recipient]:
    """One per user, the first kept: a user in two audiences gets one message."""
    seen: set[UserKey] = set()
    out: list[Recipient] = []
    for r in recipients:
        if r.user not in seen:
            seen.add(r.user)
            out.append(r)
    return out


async def open_job_store(*, data_dir: Path, redis_url: str | None, redis_prefix: str = "kepu") -> JobStore:
    """The backend matching :func:`bot.storage.open_storage`: Redis when a URL is given (same
    prefix), else the data directory's SQLite file (its own tables)."""
    if redis_url:
        from .jobs_redis import RedisJobStore

        store = RedisJobStore.from_url(redis_url, redis_prefix)
        try:
            await store.ping()
        except BaseException:
            await store.close()
            raise
        return store
    from . import SQLITE_FILENAME
    from .jobs_sqlite import SqliteJobStore

    return await SqliteJobStore.open(Path(data_dir) / SQLITE_FILENAME)
