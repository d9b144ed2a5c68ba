"""The organisers' and units' web console under ``/console/`` (zh-CN, phone first, no script):
sign-in with a one-time link from the chat (``后台``), the list of submissions, one
submission with its files and the decision form, the units' places, downloads and a JSON API.
What each viewer may see and do is :mod:`handlers.console`; this package is its pages."""

from __future__ import annotations

from aiohttp import web

from bot.web.console.api import ConsoleApi
from bot.web.console.audit import AuditPage
from bot.web.console.auth import ConsoleAuth
from bot.web.console.broadcasts import BroadcastsPage
from bot.web.console.files import ConsoleFiles
from bot.web.console.overview import OverviewPage
from bot.web.console.pages import ConsolePages
from bot.web.console.tickets import TicketsPage
from bot.web.upload_links import UploadService

__all__ = ["TEMPLATES", "setup_console"]

TEMPLATES = (
    "console/login.html",
    "console/message.html",
    "console/list.html",
    "console/submission.html",
    "console/units.html",
    "console/units_preview.html",
    "console/tickets.html",
    "console/audit.html",
    "console/broadcasts.html",
    "console/overview.html",
)


def setup_console(app: web.Application, uploads: web.AppKey[UploadService]) -> None:
    """Mount the console's routes; its CSRF key derives from the upload secret (``uploads``)."""
    auth = ConsoleAuth(lambda: app[uploads])
    ConsolePages(auth).add_routes(app)
    ConsoleFiles(auth).add_routes(app)
    ConsoleApi(auth).add_routes(app)
    TicketsPage(auth).add_routes(app)
    AuditPage(auth).add_routes(app)
    BroadcastsPage(auth).add_routes(app)
    OverviewPage(auth).add_routes(app)
