"""The console's audit-log page, ``/console/audit`` (organisers: their contest's entries,
filtered and paged), and its CSV export, ``/console/audit.csv`` (audited).  The use case is
:class:`handlers.console.auditlog.AuditReader`."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from bot.web.console.auth import ConsoleAuth
from bot.web.console.organisers import OrganiserGate
from bot.web.responses import SECURITY_HEADERS, render
from bot.web.zipstream import content_disposition
from handlers.console.auditlog import ACTION_FILTERS, AUDIT_COLUMNS, AuditQuery, AuditReader


class AuditPage:
    """The aiohttp handlers of ``/console/audit``."""

    def __init__(self, auth: ConsoleAuth) -> None:
        self.auth = auth
        self.gate = OrganiserGate(auth)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/console/audit", self.audit)
        app.router.add_get("/console/audit.csv", self.export)

    async def audit(self, request: web.Request) -> web.Response:
        view = await self.gate.page(request)
        q = AuditQuery.of(request.query)
        rows = await AuditReader(view.console).page(view.viewer, view.chosen, q)

        def link(path: str = "/console/audit", **changes: object) -> str:
            return path + "?" + urlencode({"contest": view.chosen, **q.query(**changes)})

        further = ""
        if len(rows) == q.limit:
            # Oldest first, the next page starts after the last seq shown; newest first, the
            # pages go on from the oldest (the log's port pages by ``after_seq`` only).
            further = link(after_seq=rows[-1]["seq"]) if q.order == "old" else link(order="old", after_seq=0)
        return render(
            request,
            "console/audit.html",
            session=view.session,
            contests=view.contests,
            chosen=view.chosen,
            q=q,
            columns=AUDIT_COLUMNS,
            action_filters=ACTION_FILTERS,
            rows=rows,
            further=further,
            newest=link(order="new", after_seq=0),
            export_link=link("/console/audit.csv", order="new", after_seq=0, limit=50),
        )

    async def export(self, request: web.Request) -> web.Response:
        view = await self.gate.page(request)
        q = AuditQuery.of(request.query)
        body = await AuditReader(view.console).export(view.viewer, view.chosen, q, source=view.session.source)
        if body is None:
            raise web.HTTPNotFound(headers=SECURITY_HEADERS)
        name = f"审计日志-{view.chosen}.csv"
        return web.Response(
            body=body,
            content_type="text/csv",
            charset="utf-8",
            headers={**SECURITY_HEADERS, "Content-Disposition": content_disposition(name)},
        )
