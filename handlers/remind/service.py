"""Deadline reminders, organisers' broadcasts, delivery reports and 退订/订阅.

* **Reminders**: before each deadline (7, 3 and 1 days by default, ``BOT_REMIND_DAYS``; per
  contest ``BOT_REMIND_CONTEST_DAYS``) at ``BOT_REMIND_HOUR`` Beijing time, one job per
  contest and offset, created once (its id is fixed), to entrants with unfinished drafts
  (what is still missing) and to members whose unit has unused places.
* **Broadcasts**: an organiser's message to an audience (``all``, ``drafts``, ``members``,
  ``unit:<名称>``), now or at a set time, by the chat command 广播 (held until 确认广播) or
  ``python -m bot broadcast``.  The audience is taken when the job starts, not when it is made.
* **Sending**: :class:`handlers.deliveries.Worker` over the :class:`~bot.storage.jobs.JobStore`, with one
  sender per channel here: Telegram through aiogram (30/s overall, 1/s per chat, 429 waited
  out), WeChat by 客服消息 within 48 h of the user's last message and by 模板消息 beyond
  (daily cap), other channels through their notifier.
* **Reports** for the organiser: sent (and how), failed and why, skipped and why.

Platform rules:
https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this ·
https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Service_Center_messages.html ·
https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Template_Message_Interface.html
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import secrets
import sys
import unicodedata
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

import aiohttp
from aiohttp import web
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contests.deliveries import Delivery, DeliveryState, Job, JobKind, JobState, Outcome, Reason, Recipient
from contests.events import Reply
from contests.org import Role, normalise_name
from contests.ports import JobStore, OrgStore, Storage
from contests.records import UserKey
from contests.rules import SHANGHAI, Contest, ContestRegistry
from dialogs.states import Submission as Step
from handlers.deliveries import ChatSpacing, Outlet, TokenBucket, Worker, WorkerConfig
from handlers.quota import QuotaService, days_left

if TYPE_CHECKING:
    # aiogram is imported where it is used: building its types takes seconds, and the CLI
    # (``broadcast``) never sends.
    from aiogram import Bot

    from bot.channels.wechat import Quota
    from contests.ports import Notifier

__all__ = [
    "REASONS",
    "REMIND",
    "AudienceError",
    "DeliveryReport",
    "PushSender",
    "RemindService",
    "RemindSettings",
    "TelegramSender",
    "WechatSender",
    "list_draft_users",
    "missing_items",
    "parse_audience",
    "parse_days",
    "remind_context",
    "reminder_slot",
    "reminder_times",
]

log = logging.getLogger(__name__)

WECHAT_WINDOW = dt.timedelta(hours=48)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# ------------------------------------------------------------------------------- settings


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


def _parse_overrides(text: str) -> dict[str, tuple[int, ...]]:
    out: dict[str, tuple[int, ...]] = {}
    for part in re.split(r"[;；]", text):
        if not part.strip():
            continue
        contest_id, sep, days = part.partition("=")
        if not sep or not contest_id.strip():
            raise ValueError(f"expected contest-id=7,3,1 in {part!r}")
        out[contest_id.strip()] = parse_days(days)
    return out


class RemindSettings(BaseSettings):
    """``BOT_REMIND_*``: when reminders go, how fast deliveries may go, WeChat templates."""

    model_config = SettingsConfigDict(
        env_prefix="BOT_REMIND_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    enabled: bool = Field(default=True, description="automatic deadline reminders")
    days: str = Field(default="7,3,1", description="days before each deadline")
    contest_days: str = Field(default="", description="per contest: id=10,3,1;other-id=5,1")
    hour: int = Field(default=10, ge=0, le=23, description="Beijing hour at which reminders go")
    worker: bool = Field(default=True, description="run the delivery worker inside serve")
    concurrency: int = Field(default=8, ge=1, le=256)
    poll_interval: float = Field(default=1.0, gt=0, le=60)
    lease: float = Field(default=30.0, ge=1, le=3600, description="seconds before a silent worker is dead")
    telegram_rate: float = Field(default=30.0, gt=0, description="messages per second, whole bot")
    telegram_chat_interval: float = Field(default=1.0, ge=0, description="seconds between two to one chat")
    wechat_rate: float = Field(default=20.0, gt=0)
    other_rate: float = Field(default=20.0, gt=0)
    resend_uncertain: bool = Field(default=False, description="after a crash mid-send: resend (dup risk)")
    max_chars: int = Field(default=600, ge=10, le=680, description="a broadcast fits one WeChat message")
    cs_margin_minutes: int = Field(
        default=10, ge=0, le=600, description="do not start a 客服消息 this near 48 h"
    )
    wechat_template_id: str = Field(default="", description="模板消息 template_id; empty: no template")
    wechat_template_fields: str = Field(default="first=title,keyword1=contest,keyword2=deadline,remark=text")
    wechat_template_url: str = Field(default="", description="page the template message opens")
    wechat_template_max_chars: int = Field(default=20, ge=0, description="per value; 0: no limit")
    wechat_template_daily_cap: int = Field(default=10_000, ge=0)

    @field_validator("days")
    @classmethod
    def _days(cls, value: str) -> str:
        parse_days(value)
        return value

    @field_validator("contest_days")
    @classmethod
    def _contest_days(cls, value: str) -> str:
        _parse_overrides(value)
        return value

    @field_validator("wechat_template_fields")
    @classmethod
    def _fields(cls, value: str) -> str:
        _template_fields(value)
        return value

    def offsets(self, contest_id: str) -> tuple[int, ...]:
        """The days before ``contest_id``'s deadline at which reminders go."""
        return _parse_overrides(self.contest_days).get(contest_id, parse_days(self.days))

    def worker_config(self) -> WorkerConfig:
        return WorkerConfig(
            concurrency=self.concurrency,
            poll_interval=self.poll_interval,
            lease=self.lease,
            resend_uncertain=self.resend_uncertain,
        )


_TEMPLATE_VALUES = ("title", "contest", "deadline", "days", "text")


def _template_fields(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if (
            not sep
            or value.strip() not in _TEMPLATE_VALUES
            or not re.fullmatch(r"[A-Za-z0-9_]+", key.strip())
        ):
            raise ValueError(f"expected templatekey=one of {'/'.join(_TEMPLATE_VALUES)} in {part!r}")
        out[key.strip()] = value.strip()
    return out


# ------------------------------------------------------------------------------- words

TEXTS = {
    "head": "距「{title}」截止还有{days}天（{deadline}24:00截止）。",
    "head_today": "「{title}」今天（{deadline}）24:00截止。",
    "draft": "您的报名还差：{items}。发送“继续”接着填写。",
    "scan": "您的报名（编号 {number}）还差签字盖章的报名表扫描件，发送“继续”上传。",
    "unit": "本单位（{unit}）已推荐 {used}/{limit} 部，还可推荐 {left} 部。",
    "unit_min": "通知要求至少推荐 {min} 部，还差 {short} 部。",
    "unit_none": "本单位（{unit}）尚未推荐作品。",
    "footer": "（回复“退订”不再接收提醒和通知）",
    "opted_out": "已退订：不再向您发送截止提醒和主办方通知。回复“订阅”可恢复。",
    "opted_out_again": "您已经退订过了。回复“订阅”可恢复接收截止提醒和主办方通知。",
    "opted_in": "已恢复订阅：截止前会提醒您，主办方的通知也会发给您。回复“退订”可取消。",
    "opted_in_again": "您正在接收截止提醒和主办方通知。回复“退订”可取消。",
    "template_title_reminder": "截止提醒",
    "template_title_broadcast": "主办方通知",
}

#: How the report words each reason code of :class:`handlers.deliveries.Reason`.
REASONS = {
    Reason.OPTED_OUT: "已退订",
    Reason.NO_CHANNEL: "所在渠道不能主动发消息（终端、未启用的渠道）",
    Reason.OUTSIDE_WINDOW: "超过48小时未互动，且未配置模板消息",
    Reason.CS_QUOTA: "本次互动后可发的客服消息已用完，且未配置模板消息",
    Reason.BLOCKED: "用户已屏蔽或拒收",
    Reason.CHAT_NOT_FOUND: "找不到该用户的会话",
    Reason.UNSUBSCRIBED: "用户已取消关注公众号",
    Reason.UNCERTAIN: "发送途中服务中断，无法确认是否送达（未重发）",
    Reason.EXPIRED: "截止前未能送达",
    Reason.CANCELLED: "广播已取消",
    Reason.RETRIES: "多次重试仍失败",
    Reason.REJECTED: "平台拒绝了这条消息",
    Reason.ERROR: "其他错误",
    Reason.FLOOD: "平台限流，稍后重发",
    Reason.NETWORK: "网络不通，稍后重发",
    Reason.TEMPLATE_QUOTA: "模板消息今日额度已用完，次日再发",
}
VIA = {"telegram": "Telegram", "cs": "微信客服消息", "template": "微信模板消息", "push": "网页"}
_AUDIENCE_LABELS = {"all": "所有联系过的用户", "drafts": "报名未完成的用户", "members": "推荐单位代表"}
_STATE_LABELS = {
    JobState.HELD: "待确认",
    JobState.SCHEDULED: "已安排",
    JobState.RUNNING: "发送中",
    JobState.DONE: "已完成",
    JobState.CANCELLED: "已取消",
}


def audience_label(spec: str) -> str:
    if spec.startswith("unit:"):
        return f"推荐单位“{spec[5:]}”（代表及其推荐的报名人）"
    if spec == "reminder":
        return "报名未完成的用户和名额未用完的推荐单位代表"
    return _AUDIENCE_LABELS.get(spec, spec)


def _date_cn(day: dt.date) -> str:
    return f"{day.month}月{day.day}日"


def _beijing(moment: dt.datetime) -> str:
    local = moment.astimezone(SHANGHAI)
    return f"{local.year}-{local.month:02d}-{local.day:02d} {local:%H:%M}"


# ------------------------------------------------------------------------------- pure rules


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
    but never two at once.  Reminders before the contest opens are left out.
    """
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


def _items_text(items: list[str], shown: int = 5) -> str:
    text = "、".join(items[:shown])
    return text + (f"等 {len(items)} 项" if len(items) > shown else "")


AudienceKind = Literal["all", "drafts", "members", "unit"]
_AUDIENCE_WORDS: dict[str, AudienceKind] = {
    "all": "all", "全部": "all", "所有人": "all", "全体": "all", "所有": "all",
    "drafts": "drafts", "草稿": "drafts", "未完成": "drafts", "未完成报名": "drafts",
    "members": "members", "代表": "members", "推荐单位": "members", "成员": "members", "单位代表": "members",
}  # fmt: skip


class AudienceError(ValueError):
    """The audience is not one we know, or names an unknown unit; the message says which."""


def parse_audience(text: str) -> str:
    """``all`` / ``drafts`` / ``members`` / ``unit:<名称>`` from the CLI's or the chat's words."""
    raw = unicodedata.normalize("NFKC", text).strip()
    low = raw.casefold()
    if low in _AUDIENCE_WORDS:
        return _AUDIENCE_WORDS[low]
    m = re.fullmatch(r"(?:unit|单位)\s*:\s*(.+)", raw, flags=re.IGNORECASE)
    if m and m.group(1).strip():
        return "unit:" + m.group(1).strip()
    raise AudienceError(
        f"受众“{text}”不认识：可用 全部(all)、草稿(drafts)、代表(members)、单位:名称(unit:名称)"
    )


# ------------------------------------------------------------------------------- store access


async def list_draft_users(storage: Storage, contest_id: str | None = None) -> list[UserKey]:
    """Users with a draft (of ``contest_id``, when given)."""
    return [
        d.user
        for d in await storage.list_drafts()
        if contest_id is None or d.data.get("contest") == contest_id
    ]


# ------------------------------------------------------------------------------- senders


class TelegramSender:
    """Telegram through aiogram, on a session of its own: no retrying middleware in between,
    so a 429 reaches the worker, which holds every send for ``retry_after``."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def route(self, job: Job, delivery: Delivery, now: dt.datetime) -> str | Outcome:
        if not re.fullmatch(r"-?\d{1,20}", delivery.user.user_id):
            return Outcome.failed(Reason.CHAT_NOT_FOUND, f"not a Telegram chat id: {delivery.user.user_id}")
        return "telegram"

    async def send(self, job: Job, delivery: Delivery, text: str, route: str) -> Outcome:
        from aiogram.exceptions import (
            TelegramAPIError,
            TelegramBadRequest,
            TelegramForbiddenError,
            TelegramNetworkError,
            TelegramRetryAfter,
            TelegramServerError,
        )

        try:
            await self.bot.send_message(chat_id=int(delivery.user.user_id), text=text)
        except TelegramRetryAfter as exc:
            return Outcome.retry(float(exc.retry_after), Reason.FLOOD, pause=True, detail=exc.message)
        except TelegramForbiddenError as exc:  # blocked by the user, or the account is gone
            return Outcome.failed(Reason.BLOCKED, exc.message)
        except TelegramBadRequest as exc:
            reason = Reason.CHAT_NOT_FOUND if "chat not found" in exc.message.lower() else Reason.REJECTED
            return Outcome.failed(reason, exc.message)
        except TelegramNetworkError as exc:
            if isinstance(exc.__cause__, aiohttp.ClientConnectorError):
                return Outcome.retry(0, Reason.NETWORK, detail=exc.message)  # never connected: not sent
            return Outcome.unsure(exc.message)  # the request may have gone out
        except TelegramServerError as exc:
            return Outcome.unsure(exc.message)
        except TelegramAPIError as exc:
            return Outcome.failed(Reason.ERROR, exc.message)
        return Outcome.sent("telegram")


class WechatNotifierLike(Protocol):
    """What :class:`bot.channels.wechat.WechatNotifier` offers that the WeChat sender uses."""

    @property
    def api(self) -> Any: ...

    async def message_quota(self, user: UserKey) -> Quota: ...

    async def send(self, user: UserKey, out: Any, quota: Quota) -> None: ...


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
        self.fields = _template_fields(config.wechat_template_fields)

    async def route(self, job: Job, delivery: Delivery, now: dt.datetime) -> str | Outcome:
        last = await self.storage.last_contact(delivery.user)
        if last is not None and now - last < WECHAT_WINDOW - dt.timedelta(
            minutes=self.config.cs_margin_minutes
        ):
            return "cs"
        if self.config.wechat_template_id:
            return "template"
        when = f"最后互动 {_beijing(last)}" if last else "从未互动"
        return Outcome.skipped(Reason.OUTSIDE_WINDOW, when)

    async def send(self, job: Job, delivery: Delivery, text: str, route: str) -> Outcome:
        from bot.channels.wechat import CustomerServiceRefused, Outgoing, QuotaExhausted
        from bot.channels.wechat_api import WechatApiError

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
                return self._api_error(exc)
        return await self._template(job, delivery, text)

    async def _template(self, job: Job, delivery: Delivery, text: str) -> Outcome:
        from bot.channels.wechat_api import WechatApiError

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
            return self._api_error(exc)
        return Outcome.sent("template")

    def template_data(self, job: Job, text: str) -> dict[str, str]:
        """The template's keys filled from the job (``BOT_REMIND_WECHAT_TEMPLATE_FIELDS``)."""
        contest = self.contests.get(job.contest_id)
        values = {
            "title": TEXTS[f"template_title_{job.kind.value}"],
            "contest": contest.short_title if contest else job.contest_id,
            "deadline": f"{_date_cn(contest.deadline)}24:00" if contest else "",
            "days": f"{job.meta.get('days')}天" if "days" in job.meta else "",
            "text": text.replace(TEXTS["footer"], "").strip(),
        }
        limit = self.config.wechat_template_max_chars
        out = {}
        for key, name in self.fields.items():
            value = values[name]
            out[key] = value if not limit or len(value) <= limit else value[: limit - 1] + "…"
        return out

    @staticmethod
    def _api_error(exc: Any) -> Outcome:
        from bot.channels.wechat_api import NOT_CONFIGURED, TRANSPORT_ERROR

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


class PushSender:
    """Any other channel with a notifier (the web chat): its ``push``."""

    def __init__(self, notifier: Notifier, via: str = "push") -> None:
        self.notifier = notifier
        self.via = via

    async def route(self, job: Job, delivery: Delivery, now: dt.datetime) -> str | Outcome:
        return self.via

    async def send(self, job: Job, delivery: Delivery, text: str, route: str) -> Outcome:
        try:
            await self.notifier.push(delivery.user, [Reply(text)])
        except ValueError as exc:
            return Outcome.failed(Reason.REJECTED, str(exc))
        return Outcome.sent(self.via)


# ------------------------------------------------------------------------------- reports


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What became of a job's deliveries, for the organiser."""

    job: Job
    counts: dict[str, int]
    problems: tuple[Delivery, ...]  # failed and skipped, in recipient order

    def _by(self, state: str) -> dict[str, int]:
        head = state + ":"
        return {k[len(head) :]: v for k, v in sorted(self.counts.items()) if k.startswith(head)}

    @property
    def sent_by(self) -> dict[str, int]:
        return self._by("sent")

    @property
    def failed_by(self) -> dict[str, int]:
        return self._by("failed")

    @property
    def skipped_by(self) -> dict[str, int]:
        return self._by("skipped")

    @property
    def sent(self) -> int:
        return sum(self.sent_by.values())

    @property
    def failed(self) -> int:
        return sum(self.failed_by.values())

    @property
    def skipped(self) -> int:
        return sum(self.skipped_by.values())

    @property
    def waiting(self) -> int:
        return sum(self.counts.get(s, 0) for s in ("pending", "claimed", "sending"))

    def to_json(self) -> dict[str, Any]:
        j = self.job
        return {
            "job": j.id,
            "kind": j.kind.value,
            "contest": j.contest_id,
            "audience": j.audience,
            "state": j.state.value,
            "at": j.at.isoformat(),
            "started_at": j.started_at.isoformat() if j.started_at else None,
            "finished_at": j.finished_at.isoformat() if j.finished_at else None,
            "total": j.total,
            "sent": self.sent,
            "failed": self.failed,
            "skipped": self.skipped,
            "waiting": self.waiting,
            "sent_by": self.sent_by,
            "failed_by": self.failed_by,
            "skipped_by": self.skipped_by,
            "problems": [
                {"user": str(d.user), "state": d.state.value, "reason": d.reason, "detail": d.detail}
                for d in self.problems
            ],
        }

    def text(self, *, listed: int = 10) -> str:
        """The report in Chinese; up to ``listed`` failed or skipped recipients by name."""
        j = self.job
        what = "截止提醒" if j.kind is JobKind.REMINDER else "广播"
        lines = [f"【{what} {j.id}】{audience_label(j.audience)}，共 {j.total} 人"]
        state = _STATE_LABELS[j.state]
        if j.started_at:
            state += f"（{_beijing(j.started_at)} 开始"
            state += f"，{_beijing(j.finished_at)} 结束）" if j.finished_at else "）"
        elif j.state in (JobState.HELD, JobState.SCHEDULED):
            state += f"（{_beijing(j.at)} 发送）"
        lines.append("状态：" + state)
        lines.append(f"已送达 {self.sent}" + _breakdown(self.sent_by, VIA))
        lines.append(f"失败 {self.failed}" + _breakdown(self.failed_by, REASONS))
        lines.append(f"跳过 {self.skipped}" + _breakdown(self.skipped_by, REASONS))
        if self.waiting:
            lines.append(f"等待发送 {self.waiting}")
        for d in self.problems[:listed]:
            word = "失败" if d.state is DeliveryState.FAILED else "跳过"
            detail = f"（{d.detail}）" if d.detail else ""
            lines.append(f"· {d.user} {word}：{REASONS.get(d.reason, d.reason)}{detail}")
        if len(self.problems) > listed:
            lines.append(
                f"……另有 {len(self.problems) - listed} 人，完整名单：python -m bot broadcast --report {j.id}"
            )
        return "\n".join(lines)


def _breakdown(counts: Mapping[str, int], words: Mapping[str, str]) -> str:
    if not counts:
        return ""
    return "：" + "；".join(f"{words.get(k, k or '其他')} {v}" for k, v in counts.items())


# ------------------------------------------------------------------------------- the use case

_JOB_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_COMMAND = re.compile(r"^(?:广播|群发|/?broadcast)(?=$|\s)\s*(.*)$", re.IGNORECASE | re.DOTALL)
_SHORT = re.compile(r"^(确认广播|取消广播|广播报告)\s*(\S*)\s*$")
_WHEN = re.compile(
    r"^(?:(?P<y>\d{4})[-/年－])?(?P<m>\d{1,2})[-/月－](?P<d>\d{1,2})日?(?:\s+|T)"
    r"(?P<H>\d{1,2})[:：](?P<M>\d{2})\s*(?P<rest>.*)$",
    re.DOTALL,
)
USAGE = (
    "群发用法（主办方）：\n"
    "广播 [大赛编号] 受众 [定时 2024-10-20 09:00] 内容\n"
    "受众：全部、草稿（报名未完成）、代表（推荐单位代表）、单位:单位名称\n"
    "例：广播 草稿 距截止还有三天，请尽快完成报名。\n"
    "其他：广播 列表｜广播报告 编号｜取消广播 编号"
)


_OPT_OUT = frozenset({"退订", "取消订阅", "退订提醒", "td", "unsubscribe", "/unsubscribe"})
_OPT_IN = frozenset({"订阅", "恢复订阅", "订阅提醒", "subscribe", "/subscribe"})


def is_chat_command(text: str) -> bool:
    """Whether ``text`` may be 退订 / 订阅 or a 广播 command (no I/O: whether the sender may
    broadcast is :meth:`RemindService.chat_command`'s to find out)."""
    word = unicodedata.normalize("NFKC", text).strip().casefold()
    stripped = text.strip()
    return word in _OPT_OUT or word in _OPT_IN or bool(_SHORT.match(stripped) or _COMMAND.match(stripped))


class RemindCommand:
    """退订 / 订阅 / 广播 as the router's extra command (:class:`handlers.router.ChatCommand`)."""

    def __init__(self, service: RemindService) -> None:
        self.service = service

    def matches(self, user: UserKey, text: str) -> bool:
        return is_chat_command(text)

    async def __call__(self, user: UserKey, text: str) -> list[Reply] | None:
        return await self.service.chat_command(user, text)


def _pop(text: str) -> tuple[str, str]:
    m = re.match(r"\s*(\S+)\s*(.*)$", text, re.DOTALL)
    return (m.group(1), m.group(2)) if m else ("", "")


class RemindService:
    """Reminders, broadcasts, reports and opt-outs of every contest in ``contests``."""

    def __init__(
        self,
        contests: ContestRegistry,
        storage: Storage,
        org: OrgStore,
        jobs: JobStore,
        config: RemindSettings | None = None,
        *,
        notifiers: Mapping[str, Notifier] | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.contests = contests
        self.storage = storage
        self.org = org
        self.jobs = jobs
        self.config = config or RemindSettings()
        # The channels' notifiers as they come and go (``services.notifiers``), read when
        # the worker starts.
        self.notifiers: Mapping[str, Notifier] = notifiers if notifiers is not None else {}
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
        deadline = _date_cn(contest.deadline)
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
                line = TEXTS["draft"].format(items=_items_text(missing_items(contest, draft.data)))
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
        found: set[UserKey] = set()
        if spec == "all":
            found.update(await self.storage.list_contacts())
            found.update(d.user for d in await self.storage.list_drafts())
            found.update(s.user for s in await self.storage.list_submissions())
            found.update(m.user for m in await self.org.list_memberships(contest_id=contest_id))
        elif spec == "drafts":
            found.update(
                d.user
                for d in await self.storage.list_drafts()
                if d.data.get("contest") == contest_id and d.data.get("step") != Step.SCAN
            )
        elif spec == "members":
            found.update(
                m.user
                for m in await self.org.list_memberships(contest_id=contest_id)
                if m.role is Role.MEMBER
            )
        elif spec.startswith("unit:"):
            unit = await self.org.get_unit(contest_id, spec[5:])
            if unit is None:
                raise AudienceError(f"本赛事没有登记名为“{spec[5:]}”的推荐单位。")
            found.update(
                m.user
                for m in await self.org.list_memberships(contest_id=contest_id)
                if m.role is Role.MEMBER and m.unit_key == unit.key
            )
            found.update(
                s.user
                for s in await self.storage.list_submissions(contest_id=contest_id)
                if s.status != "withdrawn" and normalise_name(str(s.extra.get("unit") or "")) == unit.key
            )
        else:
            raise AudienceError(f"不认识的受众：{spec}")
        return sorted(found, key=str)

    async def expand(self, job: Job) -> list[Recipient]:
        """A due job's recipients, as of now (the worker's ``expand``)."""
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
            raise ValueError(f"定时 {_beijing(when)} 已经过去了。")
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

    # -- the chat command -------------------------------------------------------------------

    async def chat_command(self, user: UserKey, text: str) -> list[Reply] | None:
        """退订 / 订阅 (the whole message) and the organisers' 广播 commands; None for anything
        else, and always when :func:`is_chat_command` is False.  :class:`RemindCommand` is
        how :class:`handlers.router.Assistant` calls it."""
        if not is_chat_command(text):
            return None
        word = unicodedata.normalize("NFKC", text).strip().casefold()
        if word in _OPT_OUT:
            return await self.set_opt_out(user, True)
        if word in _OPT_IN:
            return await self.set_opt_out(user, False)
        return await self.handle_command(user, text)

    async def handle_command(self, user: UserKey, text: str) -> list[Reply] | None:
        """广播 … / 确认广播 ID / 取消广播 ID / 广播报告 [ID] / 广播 列表, for organisers.
        None when ``text`` is not such a command."""
        stripped = text.strip()
        if not (_SHORT.match(stripped) or _COMMAND.match(stripped)):
            return None
        if not any(m.role is Role.ORGANISER for m in await self.org.list_memberships(user=user)):
            # Not an organiser anywhere: the words are an entrant's, e.g. an answer in the
            # dialog that happens to start with 广播; let the dialog have them.
            return None
        if m := _SHORT.match(stripped):
            verb, arg = {"确认广播": "确认", "取消广播": "取消", "广播报告": "报告"}[m.group(1)], m.group(2)
            return await self._verb(user, verb, arg)
        m = _COMMAND.match(stripped)
        if m is None:
            return None
        rest = m.group(1)
        word, after = _pop(rest)
        if not word or word in ("帮助", "help", "?", "？"):
            return [Reply(USAGE)]
        if word in ("确认", "取消", "报告", "列表", "状态"):
            return await self._verb(user, word, _pop(after)[0])
        contest_id: str | None = None
        if self.contests.get(word) is not None:
            contest_id, rest = word, after
        contest_id, denied = await self._organiser_contest(user, contest_id)
        if denied is not None:
            return [denied]
        assert contest_id is not None
        word, rest = _pop(rest)
        try:
            spec = parse_audience(word)
        except AudienceError as exc:
            return [Reply(f"{exc}\n\n{USAGE}", meta={"error": "audience"})]
        at: dt.datetime | None = None
        if rest.startswith(("定时", "at ")):
            try:
                at, rest = self._parse_when(rest.removeprefix("定时").removeprefix("at "))
            except ValueError as exc:
                return [Reply(str(exc), meta={"error": "when"})]
        try:
            job, reach = await self.create_broadcast(contest_id, spec, rest, at=at, by=str(user), hold=True)
        except ValueError as exc:
            return [Reply(str(exc), meta={"error": "broadcast"})]
        when = "确认后立即发送" if at is None else f"{_beijing(job.at)}（北京时间）发送"
        body = job.text
        return [
            Reply(
                f"将向{audience_label(spec)}共 {reach} 人发送以下消息，{when}：\n——\n{body}\n——\n"
                f"回复“确认广播 {job.id}”发送，回复“取消广播 {job.id}”作废。",
                meta={"job": job.id},
            )
        ]

    def _parse_when(self, text: str) -> tuple[dt.datetime, str]:
        # On the original text (\d and int() take full-width digits too): the message after
        # the time must reach the recipients exactly as typed.
        m = _WHEN.match(text.strip())
        if m is None:
            raise ValueError("定时的写法：定时 2024-10-20 09:00（北京时间）")
        now = self.clock().astimezone(SHANGHAI)
        year = int(m.group("y") or now.year)
        try:
            local = dt.datetime(
                year,
                int(m.group("m")),
                int(m.group("d")),
                int(m.group("H")),
                int(m.group("M")),
                tzinfo=SHANGHAI,
            )
        except ValueError:
            raise ValueError("定时的日期或时间不存在。") from None
        return local, m.group("rest")

    async def _organiser_contest(self, user: UserKey, named: str | None) -> tuple[str | None, Reply | None]:
        """The contest an organiser's command is about: named, else their only one."""
        mine = [m.contest_id for m in await self.org.list_memberships(user=user) if m.role is Role.ORGANISER]
        if named is not None:
            if named not in mine:
                return None, Reply(f"只有“{named}”的主办方可以群发消息。", meta={"error": "forbidden"})
            return named, None
        if not mine:
            return None, Reply(
                "只有主办方可以群发消息；请先发送主办方邀请码绑定。", meta={"error": "forbidden"}
            )
        if len(set(mine)) > 1:
            return None, Reply(
                f"您是多个大赛的主办方，请注明大赛：广播 {mine[0]} 受众 内容",
                meta={"error": "contest_needed"},
            )
        return mine[0], None

    async def _verb(self, user: UserKey, verb: str, arg: str) -> list[Reply]:
        if verb in ("列表", "状态") or (verb == "报告" and not arg):
            contest_id, denied = await self._organiser_contest(user, None)
            if denied is not None:
                return [denied]
            assert contest_id is not None
            jobs = await self.jobs.list_jobs(contest_id=contest_id)
            if verb == "报告":
                if not jobs:
                    return [Reply("还没有广播或提醒。")]
                report = await self.report(jobs[-1].id)
                assert report is not None
                return [Reply(report.text())]
            if not jobs:
                return [Reply("还没有广播或提醒。")]
            lines = ["最近的广播和提醒："]
            for j in jobs[-10:]:
                what = "提醒" if j.kind is JobKind.REMINDER else "广播"
                lines.append(
                    f"· {j.id} {what} {_STATE_LABELS[j.state]} {_beijing(j.at)} {audience_label(j.audience)}"
                )
            return [Reply("\n".join(lines))]
        job = await self.jobs.get_job(arg.upper()) or await self.jobs.get_job(arg)
        if job is None:
            return [Reply(f"没有编号为“{arg}”的广播。", meta={"error": "not_found"})]
        _, denied = await self._organiser_contest(user, job.contest_id)
        if denied is not None:
            return [denied]
        if verb == "确认":
            confirmed = await self.confirm(job.id)
            if confirmed is None:
                return [Reply(f"广播 {job.id} 当前{_STATE_LABELS[job.state]}，无需确认。")]
            return [
                Reply(
                    f"广播 {job.id} 已确认，{_beijing(confirmed.at)} 开始发送。"
                    f"发送“广播报告 {job.id}”查看结果。"
                )
            ]
        if verb == "取消":
            if job.state in (JobState.DONE, JobState.CANCELLED):
                return [Reply(f"广播 {job.id} 已{_STATE_LABELS[job.state].removeprefix('已')}，不能取消。")]
            await self.cancel(job.id)
            return [Reply(f"广播 {job.id} 已取消；尚未发出的不再发送。")]
        report = await self.report(job.id)
        assert report is not None
        return [Reply(report.text())]

    # -- the worker ---------------------------------------------------------------------------

    def outlets(self, notifiers: Mapping[str, Notifier]) -> tuple[dict[str, Outlet], list[Bot]]:
        """A sender with its limits for every channel that can push; and the Telegram bots made
        for it (their sessions are the caller's to close)."""
        from bot.channels.wechat import WechatNotifier

        c = self.config
        out: dict[str, Outlet] = {}
        bots: list[Bot] = []
        # aiogram only where Telegram runs (its channel imported it): importing it takes
        # seconds of CPU, and this runs in the event loop of a server already answering.
        aiogram = sys.modules.get("aiogram")
        for channel, notifier in notifiers.items():
            bot = getattr(notifier, "bot", None)
            if channel == "telegram" and aiogram is not None and isinstance(bot, aiogram.Bot):
                from aiogram.client.session.aiohttp import AiohttpSession

                # The channel's own session retries 429s itself; ours must see them.
                own = aiogram.Bot(token=bot.token, session=AiohttpSession(api=bot.session.api))
                bots.append(own)
                sender: Any = TelegramSender(own)
                out[channel] = Outlet(
                    sender, TokenBucket(c.telegram_rate), ChatSpacing(c.telegram_chat_interval)
                )
            elif isinstance(notifier, WechatNotifier):
                sender = WechatSender(notifier, self.storage, self.jobs, self.contests, c, self.clock)
                out[channel] = Outlet(sender, TokenBucket(c.wechat_rate), ChatSpacing(0))
            else:
                out[channel] = Outlet(PushSender(notifier), TokenBucket(c.other_rate), ChatSpacing(0))
        return out, bots

    def worker(self, outlets: Mapping[str, Outlet], config: WorkerConfig | None = None) -> Worker:
        return Worker(
            self.jobs,
            outlets,
            expand=self.expand,
            tick=self.schedule_reminders,
            config=config or self.config.worker_config(),
            clock=self.clock,
        )

    async def run_worker(self, stop: asyncio.Event) -> None:
        """Send until ``stop`` is set (or the task is cancelled), through the channels'
        notifiers as they are when it starts.  Cancellation-safe; see :class:`handlers.deliveries.Worker`."""
        outlets, bots = self.outlets(self.notifiers)
        try:
            await self.worker(outlets).run(stop)
        finally:
            for bot in bots:
                await bot.session.close()


REMIND = web.AppKey("remind", RemindService)


def remind_context(
    config: RemindSettings | None = None,
) -> Callable[[web.Application], AsyncIterator[None]]:
    """The ``cleanup_ctx`` of reminders and broadcasts: append it in ``create_app`` *after*
    the channels (their notifiers must exist when the worker starts; on shutdown the worker
    stops first, with the calls in flight recorded)."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        from bot.app import SERVICES
        from bot.storage.jobs import open_job_store

        svc = app[SERVICES]
        settings = svc.settings
        remind = config or RemindSettings()
        url = settings.redis_url.get_secret_value() if settings.redis_url else None
        jobs = await open_job_store(
            data_dir=settings.data_dir, redis_url=url, redis_prefix=settings.redis_prefix
        )
        task: asyncio.Task[None] | None = None
        stop = asyncio.Event()
        service = RemindService(
            svc.contests, svc.storage, svc.admin.org, jobs, remind, notifiers=svc.notifiers
        )
        app[REMIND] = service
        # 退订 / 订阅 / 广播 in every channel, through the router's hook for extra commands.
        assistant = svc.assistant  # the one registered with, even if a test swaps it later
        command = RemindCommand(service)
        assistant.extra.append(command)
        try:
            if remind.worker:
                task = asyncio.create_task(service.run_worker(stop), name="remind-worker")
            yield
        finally:
            stop.set()
            assistant.extra.remove(command)
            if task is not None:
                try:
                    await task
                except Exception:
                    log.exception("the delivery worker failed")
            await jobs.close()

    return context
