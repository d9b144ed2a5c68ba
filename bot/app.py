"""The composition root: settings in, services and the aiohttp application out.

Nothing is built at import time; ``services(settings)`` opens the store and closes it on exit,
and ``create_app(settings)`` ties the same lifetime to the web application via ``cleanup_ctx``.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.channels import Channel, discover
from bot.deliveries import remind_context
from bot.keys import SERVICES, SETTINGS
from bot.services import listening_url, services
from bot.settings import Settings
from bot.settings_remind import RemindSettings
from bot.storage.base import store_unreachable, unreachable_reason
from bot.web import UPLOADS, WEB_CHAT, setup_web
from bot.web.responses import SECURITY_HEADERS
from bot.web.upload_links import UploadService, UploadSettings

log = logging.getLogger(__name__)
# What a request that meets the store down is answered; it wrote nothing, the draft is intact.
STORE_BUSY = "系统繁忙，请稍后再试。您已填写的内容不会丢失。"
RETRY_AFTER_S = 5
# A store that has not answered /healthz by then is as good as down for a balancer.
HEALTH_PING_TIMEOUT_S = 2.0


CHANNELS = web.AppKey("channels", list[Channel])


def _services_ctx(
    upload_settings: UploadSettings | None,
) -> Callable[[web.Application], AsyncIterator[None]]:
    """The services' lifetime, first of the app's: the upload links they mint come from the
    key the upload page verifies them with."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        uploads = await UploadService.open(settings, upload_settings)
        public_url = settings.public_base_url or uploads.base_url
        async with services(settings, uploads=uploads, public_url=public_url) as svc:
            app[UPLOADS] = uploads
            app[SERVICES] = svc
            yield

    return context


async def _follow_ups_ctx(app: web.Application) -> AsyncIterator[None]:
    """The forms owed to submissions: renewed while this worker holds them, taken over from
    workers that died (:class:`handlers.follow_ups.FollowUps`).  After the channels, whose
    notifiers deliver them."""
    stop = asyncio.Event()
    task = asyncio.create_task(app[SERVICES].follow_ups.run(stop), name="follow-ups")
    try:
        yield
    finally:
        stop.set()
        await task


async def healthz(request: web.Request) -> web.Response:
    """The service and its store: 200 when the store answers, else 503 (take this worker out
    of the balancer's rotation; it recovers by itself when the store is back)."""
    svc = request.app[SERVICES]
    body: dict[str, Any] = {
        "status": "ok",
        "storage": "redis" if svc.settings.redis_url else "sqlite",
        "store": "ok",
        "contests": len(svc.contests),
        # The web chat page is a channel too, served when no chat platform is configured.
        "channels": [c.name for c in request.app[CHANNELS]] + (["web"] if WEB_CHAT in request.app else []),
    }
    try:
        async with asyncio.timeout(HEALTH_PING_TIMEOUT_S):
            await svc.storage.ping()
    except Exception as exc:  # whatever the cause, the store cannot serve this worker now
        reason = "timed out" if isinstance(exc, TimeoutError) else unreachable_reason(exc)
        log.warning("health check: the store does not answer: %s", reason)
        body |= {
            "status": "unavailable",
            "store": "unavailable",
            "error": "store_unavailable",
            "message": "存储服务不可用，请稍后再试。",
        }
        return web.json_response(body, status=503, dumps=_dumps)
    return web.json_response(body, dumps=_dumps)


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)


@web.middleware
async def store_unavailable(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """A request that meets the store down gets a 503 with a message to show, not a 500:
    nothing it would have written was written, so it can simply be sent again."""
    try:
        return await handler(request)
    except Exception as exc:
        if not store_unreachable(exc):
            raise
        # The route's pattern, not the path: upload and download paths carry tokens.
        resource = request.match_info.route.resource
        log.warning(
            "%s %s: the store does not answer: %s",
            request.method,
            resource.canonical if resource is not None else "?",
            unreachable_reason(exc),
        )
        return web.json_response(
            {"error": "store_unavailable", "message": STORE_BUSY},
            status=503,
            headers={**SECURITY_HEADERS, "Retry-After": str(RETRY_AFTER_S)},
            dumps=_dumps,
        )


# bench/README.md 'WeChat' session 7: full collections 19.4 → 3.0 µs per update.
async def freeze_heap(app: web.Application) -> None:
    """An ``on_startup`` hook of ``serve``, last, once the services and channels are up.

    What exists by then (modules, contests, compiled templates, the channels) lives as long as
    the process, yet every full collection of the cyclic GC walked it again: ~45 ms each, about
    4% of the CPU the dialog costs under load (bench/bench_wechat.py).  Collected once, then
    frozen: only what is allocated later is scanned.
    """
    gc.collect()
    gc.freeze()
    log.debug("%d objects of the startup heap frozen for the GC", gc.get_freeze_count())


def create_app(
    settings: Settings,
    channels: list[Channel] | None = None,
    *,
    upload_settings: UploadSettings | None = None,
    remind_settings: RemindSettings | None = None,
) -> web.Application:
    """The aiohttp application of ``serve``; the chat channels mount their webhooks on it.

    ``channels`` defaults to those configured in the environment (:func:`bot.channels.discover`).
    """
    app = web.Application(client_max_size=1024**2, middlewares=[store_unavailable])
    app[SETTINGS] = settings
    app.cleanup_ctx.append(_services_ctx(upload_settings))  # first: the channels' lifetimes use the services
    app.router.add_get("/healthz", healthz)
    app[CHANNELS] = discover(settings) if channels is None else channels
    for channel in app[CHANNELS]:
        channel.setup(app)

    app.cleanup_ctx.append(_follow_ups_ctx)  # after the channels: it pushes through them
    # The upload page always; the web chat page only when no chat channel is configured, so
    # that a newcomer can try the dialog in a browser (it listens where BOT_HTTP_HOST says).
    # Before the reminders: the web chat's notifier is one of the channels they send through.
    setup_web(app, settings, chat_page=not app[CHANNELS])
    # After the channels: the delivery worker sends through their notifiers, and stops first.
    app.cleanup_ctx.append(remind_context(lambda running: running[SERVICES], remind_settings))
    if not app[CHANNELS]:
        log.warning(
            "no chat channel is configured: set BOT_TELEGRAM_TOKEN or BOT_WECHAT_TOKEN (see .env.example); "
            "meanwhile the web chat at %s/chat and `python -m bot chat` in the terminal run the whole dialog",
            listening_url(settings),
        )
    return app
