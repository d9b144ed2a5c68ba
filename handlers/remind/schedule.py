"""When deadline reminders go, and what an unfinished draft still lacks: pure rules.

Before each deadline (7, 3 and 1 days by default; per contest if configured) at a set hour
Beijing time, one job per contest and offset, created once (its id is fixed).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from contests.rules import SHANGHAI, Contest

__all__ = [
    "RemindConfig",
    "missing_items",
    "parse_days",
    "parse_overrides",
    "reminder_job_id",
    "reminder_slot",
    "reminder_times",
]


def parse_days(text: str) -> tuple[int, ...]:
    """ "7,3,1" → (7, 3, 1): distinct whole days before the deadline, largest first."""
    parts = [p.strip() for p in re.split(r"[,，\s]+", text.strip()) if p.strip()]
    if not parts:
        return ()
    try:
        days = {int(p) for p in parts}
    except ValueError:
        raise ValueError(f"days before the deadline are whole numbers: {text!r}") from None
    if any(d < 0 or d > 120 for d in days):
        raise ValueError(f"days before the deadline are 0–120: {text!r}")
    return tuple(sorted(days, reverse=True))


def parse_overrides(text: str) -> dict[str, tuple[int, ...]]:
    """ "id=10,3,1;other-id=5" → the days of each contest named."""
    out: dict[str, tuple[int, ...]] = {}
    for part in re.split(r"[;；]", text):
        if not part.strip():
            continue
        contest_id, sep, days = part.partition("=")
        if not sep or not contest_id.strip():
            raise ValueError(f"expected contest-id=7,3,1 in {part!r}")
        out[contest_id.strip()] = parse_days(days)
    return out


@dataclass(frozen=True, slots=True)
class RemindConfig:
    """What the use case needs to know of the settings (``bot/settings_remind.py`` reads them)."""

    enabled: bool = True  # automatic deadline reminders
    days: tuple[int, ...] = (7, 3, 1)  # days before each deadline
    contest_days: Mapping[str, tuple[int, ...]] = field(default_factory=dict)  # per contest
    hour: int = 10  # Beijing hour at which reminders go
    max_chars: int = 600  # a broadcast fits one WeChat message

    def offsets(self, contest_id: str) -> tuple[int, ...]:
        """The days before ``contest_id``'s deadline at which reminders go."""
        return tuple(self.contest_days.get(contest_id, self.days))


def reminder_times(contest: Contest, offsets: Sequence[int], hour: int) -> list[tuple[int, dt.datetime]]:
    """(days before, moment) of each reminder: ``hour`` o'clock Beijing time on the day that
    is ``days`` before the deadline day, largest first."""
    return [
        (d, dt.datetime.combine(contest.deadline - dt.timedelta(days=d), dt.time(hour), SHANGHAI))
        for d in sorted(set(offsets), reverse=True)
    ]


def reminder_slot(
    contest: Contest, offsets: Sequence[int], hour: int, now: dt.datetime
) -> tuple[int, dt.datetime] | None:
    """The reminder whose turn it is at ``now``, or None.

    A reminder's turn lasts from its moment to the next reminder's (the last one's until the
    contest closes), so a service that was down at 10:00 still sends it when it comes back,
    but never two at once.  Reminders before the contest opens, or of a draft, are left out.
    """
    if contest.draft:  # not checked by the organiser yet, so not open: nobody is reminded
        return None
    times = reminder_times(contest, offsets, hour)
    opens = contest.opens_at()
    for i, (days, moment) in enumerate(times):
        until = times[i + 1][1] if i + 1 < len(times) else contest.closes_at()
        if opens is not None and moment < opens:
            continue
        if moment <= now < min(until, contest.closes_at()):
            return days, moment
    return None


def reminder_job_id(contest: Contest, days: int) -> str:
    """Fixed per contest, deadline and offset: a second scheduler finds it taken.  A moved
    deadline gives new ids, hence new reminders."""
    return f"remind:{contest.id}:{contest.deadline.isoformat()}:{days}d"


def missing_items(contest: Contest, state: Mapping[str, Any]) -> list[str]:
    """What an unfinished draft still lacks, as the entrant knows the steps."""
    items: list[str] = []
    channel = None
    if state.get("channel"):
        try:
            channel = contest.channel(str(state["channel"]))
        except KeyError:
            channel = None
    if channel is None:
        return ["选择报名渠道" if len(contest.channels) > 1 else "填写报名表"]
    track = state.get("track") or (next(iter(channel.forms)) if len(channel.forms) == 1 else None)
    if track is None or track not in channel.forms:
        return ["选择参赛类别（作品或科普号）"]
    form = contest.form(channel.forms[track])
    answers = state.get("answers") or {}
    items += [f.label for f in form.fields if f.required and f.id not in answers]
    if track == "work" and not state.get("video"):
        items.append("作品视频（文件或链接）")
    return items or ["确认提交"]
