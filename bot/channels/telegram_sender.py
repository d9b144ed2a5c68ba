"""Reminders and broadcasts to Telegram: one ``sendMessage`` per delivery, its errors as outcomes.

Made by the Telegram channel's notifier (:meth:`TelegramNotifier.delivery_sender`), so that a
server without Telegram never imports aiogram (seconds of CPU, in a running event loop).
Limits: https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this
"""

from __future__ import annotations

import datetime as dt
import re

import aiohttp
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)

from contests.deliveries import Delivery, Job, Outcome, Reason

__all__ = ["TelegramSender"]


class TelegramSender:
    """Telegram through aiogram, with no retrying middleware in between, so that a 429 reaches
    the worker, which holds every send for ``retry_after``."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    @classmethod
    def on_own_session(cls, bot: Bot) -> TelegramSender:
        """A sender for ``bot``'s token on a session of its own: the channel's session retries
        429s itself, ours must see them.  :meth:`aclose` closes it."""
        return cls(Bot(token=bot.token, session=AiohttpSession(api=bot.session.api)))

    async def route(self, job: Job, delivery: Delivery, now: dt.datetime) -> str | Outcome:
        if not re.fullmatch(r"-?\d{1,20}", delivery.user.user_id):
            return Outcome.failed(Reason.CHAT_NOT_FOUND, f"not a Telegram chat id: {delivery.user.user_id}")
        return "telegram"

    async def send(self, job: Job, delivery: Delivery, text: str, route: str) -> Outcome:
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

    async def aclose(self) -> None:
        """Close the bot's session (one made by :meth:`on_own_session`)."""
        await self.bot.session.close()
