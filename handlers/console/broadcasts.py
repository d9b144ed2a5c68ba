"""Broadcasts from the console: how many an audience reaches on which channel, counted before
anything is sent; then the broadcast made the way the chat's ``广播`` makes it
(:meth:`RemindService.create_broadcast` holds the job, :meth:`RemindService.confirm` lets it
go) and audited; and the delivery reports of the contest's past broadcasts."""

from __future__ import annotations

import collections
import datetime as dt
from dataclasses import dataclass, field

from contests.deliveries import JobKind
from contests.rules import SHANGHAI
from handlers.console.service import ConsoleService, ConsoleUser
from handlers.console.tickets import organised
from handlers.console.views import channel_label
from handlers.remind.audience import AudienceError, parse_audience
from handlers.remind.service import RemindService
from handlers.remind.texts import STATE_LABELS, audience_label, beijing

__all__ = ["AUDIENCES", "BroadcastDesk", "BroadcastReach", "parse_when"]

AUDIENCES = (
    ("all", "本大赛的全部参与者（有草稿或投稿的用户、推荐单位代表和主办方）"),
    ("drafts", "报名未完成的用户"),
    ("members", "推荐单位代表"),
)
PAST_JOBS = 20


def parse_when(text: str) -> dt.datetime | None:
    """A ``datetime-local`` value (``2026-05-01T09:00``) as Beijing time; None when empty.
    Raises ValueError (Chinese message) when it is not a time."""
    text = text.strip()
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"发送时间“{text[:30]}”看不懂，请按 2026-05-01 09:00 的格式填写。") from None
    return moment.replace(tzinfo=SHANGHAI) if moment.tzinfo is None else moment


@dataclass(frozen=True, slots=True)
class BroadcastReach:
    """Who a broadcast would reach now: ``by_channel`` is ``(channel label, users)``; ``error``
    says why it cannot be sent (then nothing else is meaningful)."""

    audience: str = ""
    label: str = ""
    text: str = ""
    at: dt.datetime | None = None
    total: int = 0
    by_channel: list[tuple[str, int]] = field(default_factory=list)
    error: str = ""

    @property
    def when(self) -> str:
        return beijing(self.at) + "（北京时间）" if self.at else "确认后立即发送"

    @property
    def at_value(self) -> str:
        return self.at.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M") if self.at else ""


class BroadcastDesk:
    """An organiser's broadcasts of one contest, through the running :class:`RemindService`."""

    def __init__(self, remind: RemindService, console: ConsoleService) -> None:
        self.remind = remind
        self.console = console

    async def reach(
        self, viewer: ConsoleUser, contest_id: str, audience: str, text: str, at: str = ""
    ) -> BroadcastReach:
        """The audience's users now, counted per channel, with what would stop the broadcast."""
        if contest_id not in organised(viewer):
            return BroadcastReach(error="只有本大赛的主办方可以发送广播。")
        body = text.strip()
        try:
            spec = parse_audience(audience)
            when = parse_when(at)
            if not body:
                raise ValueError("广播内容是空的。")
            if len(body) > self.remind.config.max_chars:
                raise ValueError(f"广播内容 {len(body)} 字，超过 {self.remind.config.max_chars} 字。")
            if when is not None and when < self.remind.clock() - dt.timedelta(minutes=1):
                raise ValueError(f"定时 {beijing(when)} 已经过去了。")
            users = await self.remind.audience(contest_id, spec)
        except (AudienceError, ValueError) as exc:
            return BroadcastReach(text=body, error=str(exc))
        counts = collections.Counter(u.channel for u in users)
        return BroadcastReach(
            audience=spec,
            label=audience_label(spec),
            text=body,
            at=when,
            total=len(users),
            by_channel=[
                (channel_label(c), n) for c, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            ],
        )

    async def send(
        self, viewer: ConsoleUser, contest_id: str, audience: str, text: str, at: str, *, source: str
    ) -> tuple[str, str]:
        """Make the broadcast (held, then confirmed) and audit it: ``(job id, "")`` or
        ``("", why not)``."""
        checked = await self.reach(viewer, contest_id, audience, text, at)
        if checked.error:
            return "", checked.error
        try:
            job, reach = await self.remind.create_broadcast(
                contest_id, checked.audience, checked.text, at=checked.at, by=str(viewer.user), hold=True
            )
        except ValueError as exc:
            return "", str(exc)
        confirmed = await self.remind.confirm(job.id)
        await self.console.record(
            viewer,
            "broadcast.create",
            contest_id,
            target=job.id,
            source=source,
            detail={
                "audience": checked.audience,
                "reach": reach,
                "at": job.at.isoformat(),
                "chars": len(checked.text),
            },
        )
        if confirmed is None:
            return "", f"广播 {job.id} 未能确认发送，请在下方查看它的状态。"
        return job.id, ""

    async def past(self, viewer: ConsoleUser, contest_id: str) -> list[dict[str, str]]:
        """The contest's latest broadcasts, newest first, each with its delivery report."""
        if contest_id not in organised(viewer):
            return []
        jobs = [
            j for j in await self.remind.jobs.list_jobs(contest_id=contest_id) if j.kind is JobKind.BROADCAST
        ]
        rows = []
        for job in reversed(jobs[-PAST_JOBS:]):
            report = await self.remind.report(job.id)
            rows.append(
                {
                    "id": job.id,
                    "state": STATE_LABELS[job.state],
                    "at": beijing(job.at),
                    "audience": audience_label(job.audience),
                    "by": job.created_by,
                    "text": job.text,
                    "report": report.text() if report else "",
                }
            )
        return rows
