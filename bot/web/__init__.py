"""The service's own web pages: the large-file upload page and, without chat apps, a web chat.

``setup_web(app, settings, chat_page=...)`` adds the routes and one ``cleanup_ctx`` that, once
the services are up (``bot.app``'s context runs first and opens the :class:`UploadService` the
submit handler mints its links with), compiles the templates, registers the web chat's
notifier, and runs the sweeper of expired uploads.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from bot.keys import SERVICES
from bot.settings import Settings
from bot.web.console import TEMPLATES as CONSOLE_TEMPLATES
from bot.web.console import setup_console
from bot.web.responses import TEMPLATES, template_env
from bot.web.upload import UploadPages, sweeper
from bot.web.upload_links import UploadService, UploadSettings
from bot.web.webchat import CHANNEL, WebChat, WebChatPages

__all__ = ["UPLOADS", "UPLOAD_PAGES", "WEB_CHAT", "UploadService", "UploadSettings", "WebChat", "setup_web"]

log = logging.getLogger(__name__)

UPLOADS = web.AppKey("uploads", UploadService)
UPLOAD_PAGES = web.AppKey("upload_pages", UploadPages)
WEB_CHAT = web.AppKey("web_chat", WebChat)
STATIC_DIR = Path(__file__).with_name("static")
_PAGE_TEMPLATES = ("upload.html", "upload_error.html", "chat.html", *CONSOLE_TEMPLATES)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def setup_web(
    app: web.Application,
    settings: Settings,
    *,
    chat_page: bool,
) -> None:
    """Mount the upload page (always) and the web chat (when ``chat_page``) on ``app``.

    Call after ``bot.app`` appended its services context: ours uses ``app[SERVICES]`` and
    ``app[UPLOADS]``, which it opens.
    """

    env = template_env()
    app[TEMPLATES] = env
    app.router.add_static("/web/static/", STATIC_DIR, name="web_static")
    uploads = app[UPLOAD_PAGES] = UploadPages(lambda: app[SERVICES], lambda: app[UPLOADS])
    uploads.add_routes(app)
    setup_console(app, UPLOADS)
    if chat_page:
        WebChatPages(lambda: app[WEB_CHAT], lambda: app[SERVICES]).add_routes(app)
        if not is_loopback(settings.http_host):
            log.warning(
                "the web chat has no login and the service listens on %s: whoever reaches it can submit",
                settings.http_host,
            )

    async def web_ctx(app: web.Application) -> AsyncIterator[None]:
        svc = app[SERVICES]
        # Compile the templates off the loop, once, so that no request reads them from disk.
        await asyncio.gather(*(asyncio.to_thread(env.get_template, n) for n in _PAGE_TEMPLATES))
        if chat_page:
            chat = app[WEB_CHAT] = WebChat(app[UPLOADS].subkey("webchat-csrf"))
            svc.reach.register(CHANNEL, chat)
        try:
            async for _ in sweeper(uploads):
                yield
        finally:
            if chat_page:
                await svc.reach.drain()
                svc.reach.unregister(CHANNEL)

    app.cleanup_ctx.append(web_ctx)
