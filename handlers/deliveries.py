"""Persistent delivery jobs: the models, the platform rate limits and the worker that sends.

A *job* (a broadcast, or one deadline reminder of one contest) becomes, when it is due, one
*delivery* per recipient.  Each delivery moves through states kept in the
:class:`~bot.storage.jobs_doc.JobStore`::

    pending ──claim──▶ claimed ──begin──▶ sending ──finish──▶ sent | failed | skipped
       ▲                  │                  │
       └──── release ─────┘                  └── finish(retry) ──▶ pending (not before T)

* ``claim`` takes due deliveries for one worker (atomic: two workers never claim the same one);
  ``claimed`` means "nobody has tried yet", so a claim of a dead worker simply goes back.
* ``begin`` is written immediately before the platform call, ``finish`` immediately after.
  Only a delivery left in ``sending`` by a dead worker is *uncertain*: the call may or may not
  have reached the platform, and neither Telegram nor WeChat has an idempotency key or lets a
  bot read back its chat.  The worker's ``resend_uncertain`` decides: False (default) records
  it as failed ``uncertain`` and never sends it again (at most once); True sends it again (at
  least once).
* The worker never leaves ``sending`` behind on its own: begin → send → finish runs in a task
  that cancelling the worker does not interrupt (it is shielded, kept and awaited), so a
  cancelled or stopped worker resumes with nothing uncertain.  Only a process killed in the
  middle of a platform call (at most ``concurrency`` deliveries) leaves uncertain ones.

Pure apart from the store and the senders it is given: no platform SDK is imported here.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import datetime as dt
import logging
import math
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from contests.deliveries import (
    NOTICE_JOB_PREFIX,
    BeginResult,
    Delivery,
    DeliveryState,
    Job,
    Outcome,
    Reason,
    Recipient,
)
from contests.ports import JobStore, Sender

__all__ = [
    "ChatSpacing",
    "Outlet",
    "TokenBucket",
    "Worker",
    "WorkerConfig",
    "new_worker_id",
]

log = logging.getLogger(__name__)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# ------------------------------------------------------------------------------- models


# ------------------------------------------------------------------------------- rate limits


class TokenBucket:
    """Paces sends to ``rate`` per second.

    :meth:`acquire`, when a delivery is picked: a GCRA ("virtual scheduling") token bucket
    spaces sends ``1/rate`` apart and lets ``burst`` go back to back, so that late wake-ups
    (event-loop jitter) do not lower the long-run rate.  :meth:`gate`, right before the call:
    no more than ``rate`` calls start within any one second, so the configured limit is also
    a ceiling per second (Telegram counts per second) whatever the store writes in between
    took.  :meth:`pause` holds every send for a while (Telegram's 429 ``retry_after``).
    """

    def __init__(self, rate: float, burst: int = 2, clock: Callable[[], float] = time.monotonic) -> None:
        if not math.isfinite(rate) or rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and finite, burst at least 1")
        self.rate = rate
        self.interval = 1.0 / rate
        self.tolerance = self.interval * (burst - 1)
        self._clock = clock
        self._tat = clock()  # theoretical arrival time of the next conforming send
        self._paused_until = 0.0
        self._recent: collections.deque[float] = collections.deque(maxlen=max(1, math.floor(rate)))

    def try_take(self) -> float:
        """Take a send now (returns 0.0) or say how many seconds until one is allowed."""
        now = self._clock()
        tat = max(self._tat, now)
        allowed_at = max(tat - self.tolerance, self._paused_until)
        if now < allowed_at:
            return allowed_at - now
        self._tat = tat + self.interval
        return 0.0

    async def acquire(self) -> None:
        """Wait for a send (the wait is computed, so a timed sleep, not an event)."""
        while True:
            wait = self.try_take()
            if wait <= 0:
                return
            await asyncio.sleep(wait)

    async def gate(self) -> None:
        """Wait until fewer than ``rate`` calls started within the last second; mark this one."""
        while len(self._recent) == self._recent.maxlen:
            wait = self._recent[0] + 1.0 - self._clock()
            if wait <= 0:
                break
            await asyncio.sleep(wait)
        self._recent.append(self._clock())

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    @property
    def paused_for(self) -> float:
        return max(0.0, self._paused_until - self._clock())


class ChatSpacing:
    """At most one message per ``interval`` seconds to one chat (Telegram asks ~1/s per chat).

    :meth:`reserve` books the chat when a delivery is picked: one whose chat is busy is put
    back with a ``not_before`` rather than waited for, so a busy chat never holds up the
    others.  :meth:`gate`, right before the call, waits out the little that may be left
    since the chat's last call (the booking and the call are a store write apart).
    """

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._booked: dict[str, float] = {}
        self._called: dict[str, float] = {}

    def reserve(self, chat: str) -> float:
        """Book the chat now (returns 0.0) or say how many seconds until it may be used."""
        if self.interval <= 0:
            return 0.0
        now = self._clock()
        ready = self._booked.get(chat, 0.0)
        if now < ready:
            return ready - now
        self._prune(now)
        self._booked[chat] = now + self.interval
        return 0.0

    async def gate(self, chat: str) -> None:
        """Wait until ``interval`` has passed since the chat's last call, and mark this one."""
        if self.interval <= 0:
            return
        wait = self._called.get(chat, -math.inf) + self.interval - self._clock()
        if wait > 0:
            await asyncio.sleep(wait)
        self._called[chat] = self._clock()

    def _prune(self, now: float) -> None:
        if len(self._booked) > 50_000:  # bounded memory: entries in the past mean nothing
            self._booked = {k: v for k, v in self._booked.items() if v > now}
            self._called = {k: v for k, v in self._called.items() if v + self.interval > now}


# ------------------------------------------------------------------------------- outlets


@dataclass(slots=True)
class Outlet:
    """A channel's sender with its limits: ``bucket`` for the channel as a whole, ``spacing``
    per chat."""

    sender: Sender
    bucket: TokenBucket
    spacing: ChatSpacing


# ------------------------------------------------------------------------------- the worker


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    concurrency: int = 8  # platform calls in flight at once
    batch: int = 100  # deliveries claimed per store call
    poll_interval: float = 1.0  # seconds between looks for due jobs and deliveries
    # While looks find nothing the interval doubles, up to poll_interval × idle_backoff: an
    # idle worker then costs its server an eighth of the CPU (measured ~1.3 ms/s at 1 s).  A
    # job made in this process wakes it at once; one made elsewhere (the CLI, another worker)
    # is seen within the longest interval.
    # bench/README.md 'WeChat' session 5: an idle worker cost ~1.3 ms of CPU per second.
    idle_backoff: float = 8.0
    lease: float = 30.0  # a worker silent this long counts as dead (its claims go back)
    tick_interval: float = 60.0  # seconds between calls of ``tick`` (reminder scheduling)
    resend_uncertain: bool = False  # see the module docstring
    max_attempts: int = 5  # tries of a delivery that meets network errors
    max_flood_retries: int = 50  # 429s one delivery may meet before it fails
    send_timeout: float = 30.0  # seconds for one platform call
    retry_base: float = 2.0  # back-off after a network error: base · 2^(attempt-1) s

    def backoff(self, attempt: int) -> float:
        return min(600.0, self.retry_base * 2.0 ** max(0, attempt - 1))

    def idle_wait(self, empty_looks: int) -> float:
        """Seconds before the next look after ``empty_looks`` in a row found nothing."""
        return self.poll_interval * min(2.0 ** max(0, empty_looks - 1), max(1.0, self.idle_backoff))


def new_worker_id() -> str:
    """Unique per process start: a restarted process never mistakes old claims for its own."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


Expand = Callable[[Job], Awaitable[Sequence[Recipient]]]
Tick = Callable[[dt.datetime], Awaitable[object]]


class Worker:
    """Sends the deliveries of due jobs, ``concurrency`` at a time, within each channel's limits.

    ``run(stop)`` returns when ``stop`` is set, or raises CancelledError when cancelled; either
    way it first lets the platform calls in flight finish and be recorded, puts back what it
    had claimed but not begun, and retires its id.  ``expand`` turns a due job into its
    recipients (the audience as of that moment); ``tick`` is called every ``tick_interval``
    (the reminders' scheduler).
    """

    def __init__(
        self,
        store: JobStore,
        outlets: Mapping[str, Outlet],
        *,
        expand: Expand,
        tick: Tick | None = None,
        config: WorkerConfig | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        worker_id: str | None = None,
    ) -> None:
        self.store = store
        self.outlets = dict(outlets)
        self.expand = expand
        self.tick = tick
        self.config = config or WorkerConfig()
        self.clock = clock
        self.id = worker_id or new_worker_id()
        self._queue: asyncio.Queue[Delivery] = asyncio.Queue()
        self._claimed: dict[tuple[str, int], Delivery] = {}  # claimed here, not begun yet
        self._attempts: set[asyncio.Task[None]] = set()
        self._jobs: dict[str, Job] = {}
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._stopping = False
        self.sent = 0  # deliveries this worker finished as sent (for benches and logs)

    # -- lifetime -------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        await self.store.heartbeat(self.id, self.clock(), self.config.lease, register=True)
        loop = asyncio.get_running_loop()
        tasks = [
            loop.create_task(self._schedule(), name=f"jobs-schedule-{self.id}"),
            loop.create_task(self._feed(), name=f"jobs-feed-{self.id}"),
            *(
                loop.create_task(self._slot(), name=f"jobs-slot-{n}-{self.id}")
                for n in range(self.config.concurrency)
            ),
        ]
        stopping = loop.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait([stopping, *tasks], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stopping:
                    task.result()  # a loop that ended on its own failed: raise it here
                    raise RuntimeError(f"{task.get_name()} ended")
        finally:
            self._stopping = True
            # Shielded: a second cancellation must not cut short the put-back of claims.
            await asyncio.shield(self._wind_down([stopping, *tasks]))

    async def _wind_down(self, tasks: list[asyncio.Task[Any]]) -> None:
        # Cancelled again until they end: on Python 3.11 ``asyncio.wait_for`` (which redis-py
        # uses) can swallow a cancellation that lands as its inner call completes; the loops
        # also check ``_stopping`` so that such a loop ends at its next turn anyway.
        pending: set[asyncio.Task[Any]] = set(tasks)
        while pending:
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=1.0)
        for task in tasks:
            if not task.cancelled() and task.exception() is not None:
                log.error("%s failed while stopping", task.get_name(), exc_info=task.exception())
        # Platform calls in flight finish and are recorded (bounded by send_timeout).
        while self._attempts:
            await asyncio.wait(set(self._attempts))
        held = len(self._claimed)
        self._claimed.clear()
        try:
            # Everything still claimed by this id goes back to pending (also claims whose
            # store call was cut short by the cancellation and so are unknown here).
            await self.store.retire(self.id, self.clock(), resend_uncertain=self.config.resend_uncertain)
        except Exception:
            # They go back anyway once the lease runs out (another worker's recover).
            log.exception("worker %s could not put back its %d claimed deliveries", self.id, held)

    # -- loops ----------------------------------------------------------------------------

    async def _schedule(self) -> None:
        """Heartbeat, recovery of dead workers' claims, reminders, and starting due jobs."""
        loop = asyncio.get_running_loop()
        beat_every = self.config.lease / 3
        next_beat = next_recover = next_tick = loop.time()
        empty = 0  # looks in a row that found no due job
        while not self._stopping:
            try:
                now_m = loop.time()
                if now_m >= next_beat:
                    next_beat = now_m + beat_every
                    await self._beat()
                if now_m >= next_recover:
                    next_recover = now_m + self.config.lease / 2
                    moved = await self.store.recover(
                        self.clock(), resend_uncertain=self.config.resend_uncertain
                    )
                    if moved:
                        log.warning("recovered %d deliveries of stopped workers", moved)
                        self._wake.set()
                if self.tick is not None and now_m >= next_tick:
                    next_tick = now_m + self.config.tick_interval
                    await self.tick(self.clock())
                due = await self.store.due_jobs(self.clock())
                empty = 0 if due else empty + 1
                for job in due:
                    await self._start(job)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("job scheduling failed; trying again")
            # A plain sleep: the wake-up is the feed's (it follows _start and recover), and
            # taking it here would leave the feed asleep for its whole idle interval.
            await asyncio.sleep(min(self.config.idle_wait(empty), beat_every))

    async def _beat(self) -> None:
        alive = await self.store.heartbeat(self.id, self.clock(), self.config.lease)
        if not alive:
            # Declared dead (stalled past the lease): its claims went to others.  Drop what
            # is queued here and carry on under a new id; begin() fences anything stale.
            log.error("worker %s outlived its lease; continuing as a new worker", self.id)
            self._drop_queue()
            self.id = new_worker_id()
            await self.store.heartbeat(self.id, self.clock(), self.config.lease, register=True)

    def _drop_queue(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()
        self._claimed.clear()
        self._room.set()

    async def _start(self, job: Job) -> None:
        recipients = await self.expand(job)
        if await self.store.start_job(job.id, recipients, self.clock()):
            log.info("job %s started: %d recipients", job.id, len(recipients))
            self._wake.set()

    async def _feed(self) -> None:
        """Claims due deliveries in batches while the queue has room."""
        low = max(1, self.config.batch // 2)
        empty = 0  # claims in a row that found nothing
        while not self._stopping:
            try:
                await self._room.wait()
                want = self.config.batch - self._queue.qsize()
                got = await self.store.claim(self.id, self.clock(), want)
                if not got:
                    empty += 1
                    if await self._sleep(self.config.idle_wait(empty)):
                        empty = 0
                    continue
                empty = 0
                for d in got:
                    self._claimed[d.key] = d
                opted = await self.store.opted_out([d.user for d in got])
                for d in got:
                    if d.user in opted and not d.job_id.startswith(NOTICE_JOB_PREFIX):
                        await self._finish(d, 0, Outcome.skipped(Reason.OPTED_OUT))
                    else:
                        self._queue.put_nowait(d)
                if self._queue.qsize() >= low:
                    self._room.clear()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("claiming deliveries failed; trying again")
                await self._sleep(self.config.poll_interval)

    async def _slot(self) -> None:
        while not self._stopping:
            d = await self._queue.get()
            if self._queue.qsize() < max(1, self.config.batch // 2):
                self._room.set()
            try:
                await self._process(d)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery %s/%s failed in the worker", d.job_id, d.seq)

    async def _sleep(self, seconds: float) -> bool:
        """Wait ``seconds`` or until woken (a job started, claims recovered); True if woken."""
        woken = False
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()
                woken = True
        self._wake.clear()
        return woken

    # -- one delivery ---------------------------------------------------------------------

    async def _job(self, job_id: str) -> Job | None:
        job = self._jobs.get(job_id)
        if job is None:
            job = await self.store.get_job(job_id)
            if job is not None:
                if len(self._jobs) > 1000:
                    self._jobs.clear()
                self._jobs[job_id] = job
        return job

    async def _process(self, d: Delivery) -> None:
        if d.key not in self._claimed:
            return  # dropped (the worker lost its lease meanwhile)
        now = self.clock()
        job = await self._job(d.job_id)
        if job is None:
            await self._finish(d, 0, Outcome.failed(Reason.ERROR, "job not found"))
            return
        if job.expires_at is not None and now >= job.expires_at:
            await self._finish(d, 0, Outcome.skipped(Reason.EXPIRED))
            return
        outlet = self.outlets.get(d.user.channel)
        if outlet is None:
            await self._finish(d, 0, Outcome.skipped(Reason.NO_CHANNEL, d.user.channel))
            return
        route = await outlet.sender.route(job, d, now)
        if isinstance(route, Outcome):
            if route.state is DeliveryState.PENDING:
                await self._put_back(d, route.retry_after)
            else:
                await self._finish(d, 0, route)
            return
        wait = outlet.spacing.reserve(str(d.user))
        if wait > 0:
            await self._put_back(d, wait)
            return
        await outlet.bucket.acquire()
        # From here on the attempt runs to its end even if this worker is cancelled: the
        # platform call and its record must not be separated (see the module docstring).
        self._claimed.pop(d.key, None)
        task = asyncio.get_running_loop().create_task(self._attempt(d, job, outlet, route))
        self._attempts.add(task)
        task.add_done_callback(self._attempts.discard)
        await asyncio.shield(task)

    async def _attempt(self, d: Delivery, job: Job, outlet: Outlet, route: str) -> None:
        begun = await self.store.begin(self.id, d.key, self.clock())
        if begun is BeginResult.LOST:
            log.warning("delivery %s/%s was taken over; not sent by %s", d.job_id, d.seq, self.id)
            return
        if begun is BeginResult.CANCELLED:
            # Still claimed (begin changed nothing): finish it from there.
            await self._finish(d, 0, Outcome.skipped(Reason.CANCELLED))
            return
        attempt = int(begun)
        await outlet.spacing.gate(str(d.user))
        await outlet.bucket.gate()
        try:
            async with asyncio.timeout(self.config.send_timeout):
                outcome = await outlet.sender.send(job, d, d.text or job.text, route)
        except TimeoutError:
            outcome = Outcome.unsure(f"no answer within {self.config.send_timeout} s")
        except Exception as exc:
            log.exception("sender of %s raised", d.user.channel)
            outcome = Outcome.unsure(f"{type(exc).__name__}: {exc}")
        if outcome.pause and outcome.retry_after > 0:
            outlet.bucket.pause(outcome.retry_after)
        await self._finish(d, attempt, self._settle(outcome, attempt))

    def _settle(self, outcome: Outcome, attempt: int) -> Outcome:
        """Apply the policies: uncertain results, and how often a delivery may be retried."""
        if outcome.uncertain and self.config.resend_uncertain:
            outcome = Outcome.retry(self.config.backoff(attempt), Reason.UNCERTAIN, detail=outcome.detail)
        if outcome.state is not DeliveryState.PENDING:
            return outcome
        if outcome.retry_after <= 0:  # the sender left the back-off to us
            outcome = dataclasses.replace(outcome, retry_after=self.config.backoff(attempt))
        cap = self.config.max_flood_retries if outcome.reason == Reason.FLOOD else self.config.max_attempts
        if attempt >= cap:
            return Outcome.failed(Reason.RETRIES, f"{outcome.reason}: {outcome.detail}".strip(": "))
        return outcome

    async def _put_back(self, d: Delivery, after: float) -> None:
        self._claimed.pop(d.key, None)
        await self.store.release(self.id, [d.key], self.clock() + dt.timedelta(seconds=after))

    async def _finish(self, d: Delivery, attempt: int, outcome: Outcome) -> None:
        self._claimed.pop(d.key, None)
        # A few tries: a delivery left in ``sending`` would count as uncertain later.
        for n in range(3):
            try:
                done = await self.store.finish(self.id, d.key, attempt, outcome, self.clock())
                break
            except Exception:
                if n == 2:
                    raise
                log.warning("recording delivery %s/%s failed; retrying", d.job_id, d.seq, exc_info=True)
                await asyncio.sleep(0.2 * (n + 1))
        if not done:
            log.warning("delivery %s/%s: outcome %s not recorded (taken over)", d.job_id, d.seq, outcome)
        elif outcome.state is DeliveryState.SENT:
            self.sent += 1
