"""Delivery jobs: a broadcast or a reminder, and one delivery per recipient, with their states."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from contests.records import UserKey

if TYPE_CHECKING:
    pass


class JobKind(StrEnum):
    BROADCAST = "broadcast"
    REMINDER = "reminder"
    # One entrant told about their own submission (a decision, their unit's confirmation): it
    # goes whatever they opted out of, which concerns reminders and broadcasts only.
    NOTICE = "notice"


NOTICE_JOB_PREFIX = "notice-"  # a notice's job id: its deliveries skip the opt-out check


def notice_audience(user: UserKey) -> str:
    """The audience of a notice: exactly one user."""
    return f"user:{user.channel}:{user.user_id}"


def notice_recipient(audience: str) -> UserKey | None:
    """The user a notice's audience names, or None when it names nobody."""
    channel, _, user_id = audience.removeprefix("user:").partition(":")
    return UserKey(channel, user_id) if audience.startswith("user:") and channel and user_id else None


class JobState(StrEnum):
    HELD = "held"  # created in chat, waits for the organiser's 确认
    SCHEDULED = "scheduled"  # waits for ``at``
    RUNNING = "running"  # deliveries exist; some are not final yet
    DONE = "done"
    CANCELLED = "cancelled"


class DeliveryState(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


TERMINAL = frozenset({DeliveryState.SENT, DeliveryState.FAILED, DeliveryState.SKIPPED})


class Reason:
    """Why a delivery was skipped, failed or put off (codes kept in the store; the report
    words them, see :data:`handlers.remind.texts.REASONS`)."""

    OPTED_OUT = "opted_out"
    NO_CHANNEL = "no_channel"  # the user's channel cannot push (terminal) or is not running
    OUTSIDE_WINDOW = "outside_48h"  # WeChat: no 客服消息 possible and no template configured
    CS_QUOTA = "cs_quota"  # WeChat: the 客服消息 allowed after the user's message are used up
    BLOCKED = "blocked"  # Telegram 403: the user blocked the bot
    CHAT_NOT_FOUND = "chat_not_found"
    UNSUBSCRIBED = "unsubscribed"  # WeChat 43004: no longer follows the account
    UNCERTAIN = "uncertain"  # the process stopped during the platform call: not sent again
    EXPIRED = "expired"  # not delivered before the job's ``expires_at`` (e.g. the deadline)
    CANCELLED = "cancelled"
    RETRIES = "retries_exhausted"
    REJECTED = "rejected"  # the platform refused the message itself (400)
    ERROR = "error"
    FLOOD = "flood"  # 429 retry_after (put off, not final)
    NETWORK = "network"  # could not connect (put off, not final)
    TEMPLATE_QUOTA = "template_quota"  # the day's template cap is used (put off, not final)


@dataclass(frozen=True, slots=True)
class Job:
    """What to send to whom, and when.  ``text`` is the message of a broadcast; a reminder's
    deliveries carry their own texts."""

    id: str
    kind: JobKind
    contest_id: str
    audience: str  # all | drafts | members | unit:<name> | reminder
    text: str
    at: dt.datetime
    created_by: str
    created_at: dt.datetime
    state: JobState = JobState.SCHEDULED
    expires_at: dt.datetime | None = None  # deliveries not made by then are skipped "expired"
    total: int = 0
    remaining: int = 0  # deliveries not final yet
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Recipient:
    """One user of a job's audience; ``text`` overrides the job's (personal reminders)."""

    user: UserKey
    text: str = ""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message to one recipient of one job (``seq`` numbers the job's recipients)."""

    job_id: str
    seq: int
    user: UserKey
    text: str
    state: DeliveryState
    reason: str = ""
    detail: str = ""
    via: str = ""  # how it went out: telegram, cs (客服消息), template, push
    attempt: int = 0  # begun attempts
    owner: str = ""  # the worker holding it (claimed / sending)
    updated_at: dt.datetime | None = None

    @property
    def key(self) -> tuple[str, int]:
        return (self.job_id, self.seq)


class BeginResult(StrEnum):
    LOST = "lost"  # not claimed by this worker any more (recovered after a stall)
    CANCELLED = "cancelled"  # the job was cancelled: finish the delivery as skipped


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one attempt.  ``state`` PENDING means "try again after ``retry_after``"
    (nothing was delivered); ``uncertain`` means the call may or may not have reached the user."""

    state: DeliveryState
    reason: str = ""
    detail: str = ""
    via: str = ""
    retry_after: float = 0.0
    pause: bool = False  # 429: hold every send on this channel for ``retry_after``
    uncertain: bool = False

    @classmethod
    def sent(cls, via: str, detail: str = "") -> Outcome:
        return cls(DeliveryState.SENT, via=via, detail=detail)

    @classmethod
    def failed(cls, reason: str, detail: str = "") -> Outcome:
        return cls(DeliveryState.FAILED, reason=reason, detail=detail[:300])

    @classmethod
    def skipped(cls, reason: str, detail: str = "") -> Outcome:
        return cls(DeliveryState.SKIPPED, reason=reason, detail=detail[:300])

    @classmethod
    def retry(cls, after: float, reason: str, *, pause: bool = False, detail: str = "") -> Outcome:
        return cls(DeliveryState.PENDING, reason=reason, detail=detail[:300], retry_after=after, pause=pause)

    @classmethod
    def unsure(cls, detail: str) -> Outcome:
        return cls(DeliveryState.FAILED, reason=Reason.UNCERTAIN, detail=detail[:300], uncertain=True)


DeliveryKey = tuple[str, int]
