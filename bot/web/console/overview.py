"""The console's overview page, ``/console/overview?contest=``: a contest at a glance, drawn as
inline SVG charts on the server (no script).  The figures are
:class:`handlers.console.overview.Overview`."""

from __future__ import annotations

import datetime as dt

from aiohttp import web
from markupsafe import Markup

from bot.web.console.auth import ConsoleAuth
from bot.web.console.organisers import OrganiserGate
from bot.web.responses import render
from contests.rules import SHANGHAI
from handlers.console.overview import Overview


class OverviewPage:
    """The aiohttp handler of ``/console/overview``."""

    def __init__(self, auth: ConsoleAuth) -> None:
        self.auth = auth
        self.gate = OrganiserGate(auth)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/console/overview", self.overview)

    async def overview(self, request: web.Request) -> web.Response:
        view = await self.gate.page(request)
        contest = view.console.contest(view.chosen)
        if contest is None:
            raise web.HTTPNotFound()
        entries = await view.console.entries(view.viewer, view.chosen)
        figures = Overview.of(contest, entries, dt.datetime.now(SHANGHAI).date())
        # The charts are built in Python with every text escaped (handlers.console.charts).
        charts = {name: Markup(svg) for name, svg in figures.charts().items()}
        return render(
            request,
            "console/overview.html",
            session=view.session,
            contests=view.contests,
            chosen=view.chosen,
            o=figures,
            charts=charts,
        )
