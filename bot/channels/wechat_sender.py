"""Reminders and broadcasts to WeChat: 客服消息 within the 48-hour window, 模板消息 beyond it.

* 客服消息: https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Service_Center_messages.html
* 模板消息: https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Template_Message_Interface.html
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import aiohttp

from bot.channels.wechat_api import NOT_CONFIGURED, TRANSPORT_ERROR, WechatApi, WechatApiError
from bot.channels.wechat_limits import CustomerServiceRefused, Outgoing, Quota, QuotaExhausted
from bot.settings_remind import RemindSettings, template_fields
from contests.deliveries import Delivery, Job, Outcome, Reason
from contests.ports import JobStore, Storage
from contests.records import UserKey
from contests.registry import ContestRegistry
from contests.rules import SHANGHAI
from handlers.remind.texts import beijing, template_values

__all__ = ["WechatNotifierLike", "WechatSender"]

WECHAT_WINDOW = dt.timedelta(hours=48)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@runtime_checkable
class WechatNotifierLike(Protocol):
    """What :class:`bot.channels.wechat.WechatNotifier` offers that the WeChat sender uses
    (and how the wiring recognises a WeChat notifier without importing the channel)."""

    @property
    def api(self) -> WechatApi: ...

    async def message_quota(self, user: UserKey) -> Quota: ...

    async def send(self, user: UserKey, out: Outgoing, quota: Quota) -> None: ...


class WechatSender:
    """客服消息 while the user's 48-hour window is open (with ``cs_margin`` to spare), 模板消息
    beyond it when a template is configured (within the daily cap), else skipped."""

    def __init__(
        self,
        notifier: WechatNotifierLike,
        storage: Storage,
        jobs: JobStore,
        contests: ContestRegistry,
        config: RemindSettings,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.notifier = notifier
        self.storage = storage
        self.jobs = jobs
        self.contests = contests
        self.config = config
        self.clock = clock
        self.fields = template_fields(config.wechat_template_fields)

    async def route(self, job: Job, delivery: Delivery, now: dt.datetime) -> str | Outcome:
        last = await self.storage.last_contact(delivery.user)
        if last is not None and now - last < WECHAT_WINDOW - dt.timedelta(
            minutes=self.config.cs_margin_minutes
        ):
            return "cs"
        if self.config.wechat_template_id:
            return "template"
        when = f"最后互动 {beijing(last)}" if last else "从未互动"
        return Outcome.skipped(Reason.OUTSIDE_WINDOW, when)

    async def send(self, job: Job, delivery: Delivery, text: str, route: str) -> Outcome:
        if route == "cs":
            try:
                quota = await self.notifier.message_quota(delivery.user)
                await self.notifier.send(delivery.user, Outgoing((text,)), quota)
                return Outcome.sent("cs")
            except CustomerServiceRefused as exc:
                # One message, refused before or by the API: nothing went out, a template may.
                if not self.config.wechat_template_id:
                    used_up = isinstance(exc, QuotaExhausted)
                    return Outcome.skipped(Reason.CS_QUOTA if used_up else Reason.OUTSIDE_WINDOW, exc.reason)
            except WechatApiError as exc:
                return _api_error(exc)
        return await self._template(job, delivery, text)

    async def _template(self, job: Job, delivery: Delivery, text: str) -> Outcome:
        now = self.clock().astimezone(SHANGHAI)
        day = now.date().isoformat()
        cap = self.config.wechat_template_daily_cap
        if not await self.jobs.take_quota(f"wechat-template:{day}", cap, dt.timedelta(days=2)):
            return Outcome.retry(_until_tomorrow(now), Reason.TEMPLATE_QUOTA, detail=f"{day} 已发 {cap} 条")
        try:
            await self.notifier.api.send_template(
                delivery.user.user_id,
                self.config.wechat_template_id,
                self.template_data(job, text),
                url=self.config.wechat_template_url or None,
            )
        except WechatApiError as exc:
            return _api_error(exc)
        return Outcome.sent("template")

    def template_data(self, job: Job, text: str) -> dict[str, str]:
        """The template's keys filled from the job (``BOT_REMIND_WECHAT_TEMPLATE_FIELDS``)."""
        values = template_values(job, self.contests.get(job.contest_id), text)
        limit = self.config.wechat_template_max_chars
        out = {}
        for key, name in self.fields.items():
            value = values[name]
            out[key] = value if not limit or len(value) <= limit else value[: limit - 1] + "…"
        return out


def _api_error(exc: WechatApiError) -> Outcome:
    code, message = int(exc.errcode), f"{exc.errcode}: {exc.errmsg}"
    if code == TRANSPORT_ERROR:
        if isinstance(exc.__cause__, aiohttp.ClientConnectorError):
            return Outcome.retry(0, Reason.NETWORK, detail=message)
        return Outcome.unsure(message)
    if code == -1:  # 系统繁忙: WeChat asks to try again later
        return Outcome.retry(0, Reason.NETWORK, detail=message)
    if code == 45009:  # the API's daily call limit
        return Outcome.retry(
            _until_tomorrow(utcnow().astimezone(SHANGHAI)), Reason.TEMPLATE_QUOTA, detail=message
        )
    reasons = {
        43004: Reason.UNSUBSCRIBED,  # require subscribe
        43101: Reason.BLOCKED,  # user refuses to receive the message
        40003: Reason.CHAT_NOT_FOUND,  # invalid openid
        40037: Reason.REJECTED,  # invalid template_id
        47003: Reason.REJECTED,  # a template value over its limit
        NOT_CONFIGURED: Reason.ERROR,
    }
    return Outcome.failed(reasons.get(code, Reason.ERROR), message)


def _until_tomorrow(now_beijing: dt.datetime) -> float:
    midnight = dt.datetime.combine(now_beijing.date() + dt.timedelta(days=1), dt.time(0, 1), SHANGHAI)
    return (midnight - now_beijing).total_seconds()
