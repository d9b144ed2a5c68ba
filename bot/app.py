"""The composition root: settings in, services and the aiohttp application out.

Nothing is built at import time; ``services(settings)`` opens the store and closes it on exit,
and ``create_app(settings)`` ties the same lifetime to the web application via ``cleanup_ctx``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web

from dialogs.engine import DialogEngine
from dialogs.messages import Messages
from handlers.submit import SubmitHandler

from .channels import Channel, Notifier, discover
from .contests import ContestRegistry
from .settings import Settings
from .storage import EventIsolation, Storage, open_storage

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Services:
    settings: Settings
    contests: ContestRegistry
    storage: Storage
    isolation: EventIsolation
    engine: DialogEngine
    submit: SubmitHandler
    # Channel name -> how to reach its users later; filled in by each channel's setup.
    notifiers: dict[str, Notifier] = field(default_factory=dict)


@asynccontextmanager
async def services(settings: Settings) -> AsyncIterator[Services]:
    """Everything a channel needs, with the store opened here and closed on exit."""
    contests = ContestRegistry.load(settings.contest_folder)
    engine = DialogEngine(contests, Messages(settings.locale))
    redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
    storage, isolation = await open_storage(
        data_dir=settings.data_dir, redis_url=redis_url, redis_prefix=settings.redis_prefix
    )
    try:
        yield Services(
            settings, contests, storage, isolation, engine, SubmitHandler(engine, storage, isolation)
        )
    finally:
        await isolation.close()
        await storage.close()


SERVICES = web.AppKey("services", Services)
SETTINGS = web.AppKey("settings", Settings)
CHANNELS = web.AppKey("channels", list[Channel])


async def _services_ctx(app: web.Application) -> AsyncIterator[None]:
    async with services(app[SETTINGS]) as svc:
        app[SERVICES] = svc
        yield


async def healthz(request: web.Request) -> web.Response:
    svc = request.app[SERVICES]
    return web.json_response(
        {
            "status": "ok",
            "storage": "redis" if svc.settings.redis_url else "sqlite",
            "contests": len(svc.contests),
            "channels": [c.name for c in request.app[CHANNELS]],
        }
    )


def create_app(settings: Settings, channels: list[Channel] | None = None) -> web.Application:
    """The aiohttp application of ``serve``; the chat channels mount their webhooks on it.

    ``channels`` defaults to those configured in the environment (:func:`bot.channels.discover`).
    """
    app = web.Application(client_max_size=1024**2)
    app[SETTINGS] = settings
    app.cleanup_ctx.append(_services_ctx)  # first: the channels' lifetimes use the services
    app.router.add_get("/healthz", healthz)
    app[CHANNELS] = discover(settings) if channels is None else channels
    for channel in app[CHANNELS]:
        channel.setup(app)
    if not app[CHANNELS]:
        log.warning(
            "no chat channel is configured: set BOT_TELEGRAM_TOKEN or BOT_WECHAT_TOKEN (see .env.example); "
            "meanwhile `python -m bot chat` runs the whole dialog in the terminal"
        )
    return app
