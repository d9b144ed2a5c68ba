"""``serve``: the aiohttp service that carries the chat channels' webhooks and pages."""

from __future__ import annotations

import argparse

from aiohttp import web

from bot.app import create_app, freeze_heap
from bot.settings import Settings
from bot.web.access_log import RedactingAccessLogger


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    serve = sub.add_parser("serve", help="run the web service (webhooks, pages, health check)")
    serve.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    app = create_app(settings)
    # Here rather than in create_app: tests build hundreds of apps in one process, and a
    # frozen heap is never collected.
    app.on_startup.append(freeze_heap)
    web.run_app(
        app,
        host=settings.http_host,
        port=settings.http_port,
        print=None,
        # Upload and download links are bearer tokens; WeChat's query names the user.
        access_log_class=RedactingAccessLogger,
    )
    return 0
