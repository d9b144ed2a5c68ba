"""Reminders and broadcasts wired to the channels: what ``serve`` runs.

* :func:`build_outlets`: a sender with its limits for every channel that can push — the one a
  channel hands (:class:`~contests.ports.HandsSender`: Telegram, whose aiogram is imported only
  where that channel runs), WeChat's 客服消息/模板消息, else the channel's ``push``.
* :func:`remind_context`: the ``cleanup_ctx`` of ``serve``: the service, its chat command in
  the router, and the delivery worker.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Protocol

from aiohttp import web

from bot.channels.wechat_sender import WechatNotifierLike, WechatSender
from bot.reminders import open_reminders
from bot.settings import Settings
from bot.settings_remind import RemindSettings
from bot.storage.base import Stores
from contests.deliveries import Delivery, Job, Outcome, Reason
from contests.events import Reply
from contests.ports import HandsSender, JobStore, Notifier, OwnedSender, Storage
from contests.registry import ContestRegistry
from handlers.deliveries import ChatSpacing, Outlet, TokenBucket
from handlers.remind.command import RemindCommand
from handlers.remind.service import RemindService
from handlers.router import Assistant

__all__ = ["REMIND", "PushSender", "RemindHost", "build_outlets", "remind_context"]

log = logging.getLogger(__name__)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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


def build_outlets(
    config: RemindSettings,
    notifiers: Mapping[str, Notifier],
    *,
    storage: Storage,
    jobs: JobStore,
    contests: ContestRegistry,
    clock: Callable[[], dt.datetime] = utcnow,
) -> tuple[dict[str, Outlet], list[OwnedSender]]:
    """A sender with its limits for every channel in ``notifiers``; and the senders that hold
    a connection of their own (the caller closes them, after the worker)."""
    c = config
    out: dict[str, Outlet] = {}
    opened: list[OwnedSender] = []
    for channel, notifier in notifiers.items():
        if isinstance(notifier, HandsSender):
            sender = notifier.delivery_sender()
            opened.append(sender)
            if channel == "telegram":
                out[channel] = Outlet(
                    sender, TokenBucket(c.telegram_rate), ChatSpacing(c.telegram_chat_interval)
                )
            else:
                out[channel] = Outlet(sender, TokenBucket(c.other_rate), ChatSpacing(0))
        elif isinstance(notifier, WechatNotifierLike):
            wechat = WechatSender(notifier, storage, jobs, contests, c, clock)
            out[channel] = Outlet(wechat, TokenBucket(c.wechat_rate), ChatSpacing(0))
        else:
            out[channel] = Outlet(PushSender(notifier), TokenBucket(c.other_rate), ChatSpacing(0))
    return out, opened


class RemindHost(Protocol):
    """What :func:`remind_context` uses of the services (:class:`bot.services.Services`)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def contests(self) -> ContestRegistry: ...

    @property
    def storage(self) -> Storage: ...

    @property
    def stores(self) -> Stores: ...

    @property
    def assistant(self) -> Assistant: ...

    @property
    def notifiers(self) -> Mapping[str, Notifier]: ...


REMIND = web.AppKey("remind", RemindService)


def remind_context(
    services: Callable[[web.Application], RemindHost], config: RemindSettings | None = None
) -> Callable[[web.Application], AsyncIterator[None]]:
    """The ``cleanup_ctx`` of reminders and broadcasts, over the services ``services(app)``
    gives: append it in ``create_app`` *after* the channels (their notifiers must exist when
    the worker starts; on shutdown the worker stops first, with the calls in flight recorded)."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        svc = services(app)
        remind = config or RemindSettings()

        def outlets(jobs: JobStore) -> tuple[dict[str, Outlet], list[OwnedSender]]:
            # The channels' notifiers as they are now: they were set up before this context.
            return build_outlets(remind, svc.notifiers, storage=svc.storage, jobs=jobs, contests=svc.contests)

        async with open_reminders(
            svc.contests,
            svc.storage,
            svc.stores.org,
            svc.stores.jobs,
            remind,
            outlets=outlets if remind.worker else None,
        ) as service:
            app[REMIND] = service
            # 退订 / 订阅 / 广播 in every channel, through the router's hook for extra commands.
            assistant = svc.assistant  # the one registered with, even if a test swaps it later
            command = RemindCommand(service)
            assistant.extra.append(command)
            stop = asyncio.Event()
            task = (
                asyncio.create_task(service.run_worker(stop), name="remind-worker") if remind.worker else None
            )
            try:
                yield
            finally:
                stop.set()
                assistant.extra.remove(command)
                if task is not None:
                    try:
                        await task
                    except Exception:
                        log.exception("the delivery worker failed")

    return context
