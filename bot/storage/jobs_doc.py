"""The job store: persistent jobs and the state of every one of their deliveries.

Beside :class:`~contests.ports.Storage` and :class:`~contests.ports.OrgStore`, this keeps
what :mod:`handlers.deliveries` needs to send every message exactly once through crashes and restarts:

* **jobs** – broadcasts and reminders, held / scheduled / running / done / cancelled;
* **deliveries** – one per recipient of a started job, with its state (``pending`` →
  ``claimed`` → ``sending`` → ``sent`` / ``failed`` / ``skipped``), its reason and its owner;
* **workers** – a heartbeat per running worker; the claims of a worker whose heartbeat ran out
  are recovered by whoever notices first;
* **opt-outs** (退订) and small **daily quotas** (WeChat template messages).

Every state change is one atomic step on the server (one SQLite statement or transaction,
one Redis Lua script) guarded by compare-and-set on (state, owner, attempt), so two workers
never claim, begin or finish the same delivery.  Backends: :mod:`bot.storage.sqlite.jobs`
and :mod:`bot.storage.redis.jobs`; ``tests/test_jobs_contract.py`` runs one contract suite
over both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from contests.deliveries import (
    Job,
    JobKind,
    JobState,
    Recipient,
)
from contests.records import UserKey

__all__ = ["job_doc", "job_from_doc", "unique_recipients"]


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
