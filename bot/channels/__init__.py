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
from typing import Protocol

from aiohttp import web

from bot.settings import Settings

log = logging.getLogger(__name__)

# Known channel modules.  A module missing from an installation is skipped, not an error.
CHANNEL_MODULES = ("bot.channels.telegram", "bot.channels.wechat")


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
