"""The use case of reminders and broadcasts: jobs made, their recipients, reports, opt-outs.

:class:`RemindService` gets everything at construction, the channels' senders included (an
:class:`~handlers.deliveries.Outlet` per channel, made in ``bot/deliveries.py``), and talks to
ports only; :class:`handlers.deliveries.Worker` sends.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import secrets
from collections.abc import Callable, Mapping

from contests.deliveries import DeliveryState, Job, JobKind, JobState, Recipient, notice_recipient
from contests.events import Reply
from contests.org import Role
from contests.ports import JobStore, OrgStore, Storage
from contests.records import UserKey
from contests.registry import ContestRegistry
from contests.rules import Contest
from dialogs.states import Step
from handlers.deliveries import Outlet, Worker, WorkerConfig
from handlers.quota.rules import days_left
from handlers.quota.service import QuotaService
from handlers.remind.audience import AudienceError, audience_of, parse_audience
from handlers.remind.report import DeliveryReport
from handlers.remind.schedule import RemindConfig, missing_items, reminder_job_id, reminder_slot
from handlers.remind.texts import TEXTS, beijing, date_cn, items_text

__all__ = ["RemindService"]

log = logging.getLogger(__name__)

_JOB_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class RemindService:
    """Reminders, broadcasts, reports and opt-outs of every contest in ``contests``.

    ``outlets``: the way out of each channel that can push (none for the CLI, which only
    makes and reads jobs); ``worker_config``: how the worker claims and sends.
    """

    def __init__(
        self,
        contests: ContestRegistry,
        storage: Storage,
        org: OrgStore,
        jobs: JobStore,
        config: RemindConfig | None = None,
        *,
        outlets: Mapping[str, Outlet] | None = None,
        worker_config: WorkerConfig | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.contests = contests
        self.storage = storage
        self.org = org
        self.jobs = jobs
        self.config = config or RemindConfig()
        self.outlets: Mapping[str, Outlet] = outlets if outlets is not None else {}
        self.worker_config = worker_config or WorkerConfig()
        self.clock = clock
        self._known: set[str] = set()  # reminder jobs known to exist: no store call each tick

    # -- reminders --------------------------------------------------------------------------

    async def schedule_reminders(self, now: dt.datetime | None = None) -> list[Job]:
        """Create the reminder jobs whose turn it is (each only once, whoever asks)."""
        if not self.config.enabled:
            return []
        now = now or self.clock()
        created = []
        for contest in self.contests:
            slot = reminder_slot(contest, self.config.offsets(contest.id), self.config.hour, now)
            if slot is None:
                continue
            days, moment = slot
            job = Job(
                id=reminder_job_id(contest, days),
                kind=JobKind.REMINDER,
                contest_id=contest.id,
                audience="reminder",
                text="",
                at=moment,
                created_by="reminder",
                created_at=now,
                expires_at=contest.closes_at(),
                meta={"days": days},
            )
            if job.id in self._known:
                continue
            if await self.jobs.create_job(job):
                log.info("reminder %s scheduled", job.id)
                created.append(job)
            self._known.add(job.id)
        return created

    async def reminder_recipients(self, contest: Contest, now: dt.datetime) -> list[Recipient]:
        """Entrants with an unfinished draft (what is missing) and members whose unit has places
        left, each with one personal message."""
        left = days_left(contest, now)
        if left < 0:
            return []
        deadline = date_cn(contest.deadline)
        if left == 0:
            head = TEXTS["head_today"].format(title=contest.short_title, deadline=deadline)
        else:
            head = TEXTS["head"].format(title=contest.short_title, days=left, deadline=deadline)
        lines: dict[UserKey, list[str]] = {}
        for draft in await self.storage.list_drafts():
            if draft.data.get("contest") != contest.id:
                continue
            if draft.data.get("step") == Step.SCAN:
                line = TEXTS["scan"].format(number=draft.data.get("number") or "")
            else:
                line = TEXTS["draft"].format(items=items_text(missing_items(contest, draft.data)))
            lines.setdefault(draft.user, []).append(line)
        members = [m for m in await self.org.list_memberships(contest_id=contest.id) if m.role is Role.MEMBER]
        if members:
            usage = {
                u.holder: u
                for u in await QuotaService(self.contests, self.storage, self.org).usage(contest.id)
            }
            for m in members:
                u = usage.get(f"unit:{m.unit_key}") if m.unit_key else None
                if u is None:
                    continue
                if u.limit is None:
                    if u.used == 0:
                        lines.setdefault(m.user, []).append(TEXTS["unit_none"].format(unit=u.name))
                    continue
                short = (u.min_works or 0) - u.used
                if u.used >= u.limit and short <= 0:
                    continue
                line = TEXTS["unit"].format(
                    unit=u.name, used=u.used, limit=u.limit, left=max(u.limit - u.used, 0)
                )
                if short > 0:
                    line += TEXTS["unit_min"].format(min=u.min_works, short=short)
                lines.setdefault(m.user, []).append(line)
        return [
            Recipient(user, "\n".join([head, *found, TEXTS["footer"]]))
            for user, found in sorted(lines.items(), key=lambda kv: str(kv[0]))
        ]

    # -- audiences --------------------------------------------------------------------------

    async def audience(self, contest_id: str, spec: str) -> list[UserKey]:
        """The users of an audience right now, each once, in a stable order."""
        return await audience_of(self.storage, self.org, contest_id, spec)

    async def expand(self, job: Job) -> list[Recipient]:
        """A due job's recipients, as of now (the worker's ``expand``)."""
        if job.kind is JobKind.NOTICE:
            user = notice_recipient(job.audience)
            return [Recipient(user)] if user is not None else []
        contest = self.contests.get(job.contest_id)
        if contest is None:
            log.error("job %s names unknown contest %s: nobody to send to", job.id, job.contest_id)
            return []
        if job.kind is JobKind.REMINDER:
            return await self.reminder_recipients(contest, self.clock())
        try:
            return [Recipient(u) for u in await self.audience(contest.id, job.audience)]
        except AudienceError as exc:
            log.error("job %s: %s", job.id, exc)
            return []

    # -- broadcasts -------------------------------------------------------------------------

    async def create_broadcast(
        self,
        contest_id: str,
        audience: str,
        text: str,
        *,
        at: dt.datetime | None = None,
        by: str = "cli",
        hold: bool = False,
    ) -> tuple[Job, int]:
        """A broadcast job and how many it would reach now.  ``hold``: waits for
        :meth:`confirm` (the chat command's safety step).  Raises ValueError (Chinese message)
        for an unknown contest or audience, an empty or too long text, or a time passed."""
        contest = self.contests.get(contest_id)
        if contest is None:
            raise ValueError(f"没有找到大赛“{contest_id}”。")
        spec = parse_audience(audience)
        body = text.strip()
        if not body:
            raise ValueError("广播内容是空的。")
        if len(body) > self.config.max_chars:
            raise ValueError(
                f"广播内容 {len(body)} 字，超过 {self.config.max_chars} 字（须能作为一条微信消息发出）。"
            )
        now = self.clock()
        when = at or now
        if when < now - dt.timedelta(minutes=1):
            raise ValueError(f"定时 {beijing(when)} 已经过去了。")
        reach = len(await self.audience(contest.id, spec))
        for _ in range(5):
            job = Job(
                id="B" + "".join(secrets.choice(_JOB_ALPHABET) for _ in range(6)),
                kind=JobKind.BROADCAST,
                contest_id=contest.id,
                audience=spec,
                text=f"{body}\n{TEXTS['footer']}",
                at=max(when, now),
                created_by=by,
                created_at=now,
                state=JobState.HELD if hold else JobState.SCHEDULED,
            )
            if await self.jobs.create_job(job):
                return job, reach
        raise RuntimeError("could not find a free broadcast id")

    async def confirm(self, job_id: str) -> Job | None:
        """A held broadcast goes out (at its time, or now if that has passed)."""
        if not await self.jobs.confirm_job(job_id):
            return None
        return await self.jobs.get_job(job_id)

    async def cancel(self, job_id: str) -> Job | None:
        return await self.jobs.cancel_job(job_id, self.clock())

    async def report(self, job_id: str) -> DeliveryReport | None:
        job = await self.jobs.get_job(job_id)
        if job is None:
            return None
        problems = await self.jobs.deliveries(job_id, states={DeliveryState.FAILED, DeliveryState.SKIPPED})
        return DeliveryReport(job, await self.jobs.stats(job_id), tuple(problems))

    # -- opt-out ----------------------------------------------------------------------------

    async def set_opt_out(self, user: UserKey, out: bool) -> list[Reply]:
        """退订 (``out``) or 订阅: every reminder and broadcast skips an opted-out user."""
        changed = await self.jobs.set_opt_out(user, out, self.clock())
        key = ("opted_out" if out else "opted_in") + ("" if changed else "_again")
        return [Reply(TEXTS[key], meta={"opt_out": "1" if out else "0"})]

    # -- the worker ---------------------------------------------------------------------------

    def worker(
        self, outlets: Mapping[str, Outlet] | None = None, config: WorkerConfig | None = None
    ) -> Worker:
        """A worker sending through ``outlets`` (default: the service's own)."""
        return Worker(
            self.jobs,
            self.outlets if outlets is None else outlets,
            expand=self.expand,
            tick=self.schedule_reminders,
            config=config or self.worker_config,
            clock=self.clock,
        )

    async def run_worker(self, stop: asyncio.Event) -> None:
        """Send until ``stop`` is set (or the task is cancelled).  Cancellation-safe; see
        :class:`handlers.deliveries.Worker`."""
        await self.worker().run(stop)
