"""客服消息 limits: what may go to a WeChat user outside a passive reply, and the refusals.

WeChat lets an account send 客服消息 for 48 hours after the user's last message, 5 per message
(3 within a minute after a menu click or a subscribe); :class:`~bot.channels.wechat.WechatNotifier`
enforces both and raises :class:`CustomerServiceRefused` instead of sending beyond them.  Apart
from the channel so that the reminders' sender (``wechat_sender``) can use them without it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from contests.records import UserKey

__all__ = ["CustomerServiceRefused", "Outgoing", "OutsideWindow", "Quota", "QuotaExhausted"]


class CustomerServiceRefused(Exception):
    """客服消息 cannot reach ``user`` now: ``sent`` messages went out, ``pending`` did not.
    The reminders use a template message instead."""

    def __init__(self, user: UserKey, reason: str, *, sent: int = 0, pending: int = 0) -> None:
        super().__init__(f"{user}: {reason} ({sent} sent, {pending} not sent)")
        self.user = user
        self.reason = reason
        self.sent = sent
        self.pending = pending


class OutsideWindow(CustomerServiceRefused):
    """The user last wrote more than 48 hours ago (or never)."""


class QuotaExhausted(CustomerServiceRefused):
    """The 5 messages allowed after the user's last message (3 after a click) are used up."""


@dataclass(frozen=True, slots=True)
class Quota:
    """客服消息 allowed after one interaction: ``limit`` messages within ``period`` of ``anchor``."""

    anchor: dt.datetime
    limit: int
    period: dt.timedelta
    scope: str


@dataclass(frozen=True, slots=True)
class Outgoing:
    """Replies as WeChat messages: texts packed to 2048 bytes each, then image media ids."""

    texts: tuple[str, ...] = ()
    images: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.texts or self.images)

    @property
    def count(self) -> int:
        return len(self.texts) + len(self.images)
