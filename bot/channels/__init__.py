"""Chat channels that the service mounts: each drives the same dialog (``handlers.submit``).

A channel module (``bot/channels/<name>.py``) defines ``create(settings) -> Channel | None``:
it reads its own settings class (e.g. ``BOT_TELEGRAM_*``) and returns None when it is not
configured.  ``Channel.setup(app)`` adds its routes and, through ``app.cleanup_ctx``, its own
resources (HTTP sessions, polling tasks), and registers a :class:`Notifier` so that work which
finishes later (a video check, an upload, a reminder) can reach the user.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from aiohttp import web

from dialogs.events import Document, Placement, Reply

from ..settings import Settings
from ..storage import UserKey

log = logging.getLogger(__name__)

# Known channel modules.  A module missing from an installation is skipped, not an error.
CHANNEL_MODULES = ("bot.channels.telegram", "bot.channels.wechat")


class Notifier(Protocol):
    """Sends replies to a user outside of a reply to their own message."""

    async def push(self, user: UserKey, replies: list[Reply]) -> None: ...


@runtime_checkable
class PlansDocuments(Protocol):
    """A notifier whose channel hands out documents as links, and can give the links before
    the documents are drawn (WeChat): the entrant gets them in the reply to 确认提交, with no
    客服消息 to wait for."""

    def plan_documents(self, files: Sequence[tuple[str, str]]) -> list[tuple[Document, Placement]] | None:
        """For each ``(file name, MIME type)``, the document to put in a reply and where to draw
        it; None when links cannot be given (then the documents are pushed once drawn)."""


class Channel(Protocol):
    name: str

    def setup(self, app: web.Application) -> None:
        """Add routes and lifetimes to ``app``; called before the app starts."""


def discover(settings: Settings) -> list[Channel]:
    """The configured channels, in a stable order."""
    found: list[Channel] = []
    for name in CHANNEL_MODULES:
        if importlib.util.find_spec(name) is None:
            continue
        module = importlib.import_module(name)
        channel = module.create(settings)
        if channel is not None:
            found.append(channel)
    return found
