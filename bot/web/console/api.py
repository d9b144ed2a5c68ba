"""The console's JSON API, for the same session as the pages (cookie ``kepu_console``; changes
carry the session's CSRF token in ``X-CSRF-Token``):

* ``GET /console/api/submissions?contest=&channel=&state=&unit=&verdict=&scan=&q=&sort=&page=``
* ``GET /console/api/submissions/<number>`` (audited: it shows personal data to those entitled)
* ``POST /console/api/submissions/<number>/decision`` ``{"decision", "reason", "items"}``
* ``POST /console/api/submissions/<number>/link-check`` ``{"checks": {key: bool}, "note"}``
* ``GET /console/api/units?contest=`` every unit (a member: theirs) with used/limit/waiting
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.web.console.auth import ConsoleAuth
from bot.web.responses import json_response
from handlers.console.views import Filters


def _error(code: str, message: str, status: int) -> web.Response:
    return json_response({"error": code, "message": message}, status)


class ConsoleApi:
    """The aiohttp handlers of ``/console/api/``."""

    def __init__(self, auth: ConsoleAuth) -> None:
        self.auth = auth

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/console/api/submissions", self.submissions)
        app.router.add_get("/console/api/submissions/{number:[A-Za-z0-9_-]+}", self.submission)
        app.router.add_post("/console/api/submissions/{number:[A-Za-z0-9_-]+}/decision", self.decision)
        app.router.add_post("/console/api/submissions/{number:[A-Za-z0-9_-]+}/link-check", self.link_check)
        app.router.add_get("/console/api/units", self.units)

    async def submissions(self, request: web.Request) -> web.Response:
        session = await self.auth.required(request, api=True)
        console = self.auth.services(request).console
        viewer = session.viewer
        listing = await console.listing(viewer, Filters.of(request.query))
        return json_response(
            {
                "contest": listing.filters.contest,
                "total": listing.total,
                "page": listing.page,
                "pages": listing.pages,
                "submissions": [e.row() for e in listing.entries],
            }
        )

    async def submission(self, request: web.Request) -> web.Response:
        session = await self.auth.required(request, api=True)
        console = self.auth.services(request).console
        viewer = session.viewer
        entry = await console.entry(viewer, request.match_info["number"])
        if entry is None:
            return _error("not_found", "没有这个作品，或您无权查看。", 404)
        return json_response(await console.detail(viewer, entry, source=session.source))

    async def decision(self, request: web.Request) -> web.Response:
        session, _ = await self.auth.changing(request, api=True)
        try:
            body: Any = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _error("bad_request", "请求格式不正确：应为 JSON 对象 {decision, reason, items}。", 400)
        items = body.get("items") or []
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            return _error("bad_request", "items 应为字符串列表。", 400)
        console = self.auth.services(request).console
        viewer = session.viewer
        entry = await console.entry(viewer, request.match_info["number"])
        if entry is None:
            return _error("not_found", "没有这个作品，或您无权查看。", 404)
        result = await console.decide(
            viewer,
            entry,
            str(body.get("decision") or ""),
            str(body.get("reason") or ""),
            items,
            source=session.source,
        )
        status = 200 if result.ok else (403 if result.code == "forbidden" else 400)
        return json_response({"ok": result.ok, "code": result.code, "message": result.text}, status)

    async def link_check(self, request: web.Request) -> web.Response:
        session, _ = await self.auth.changing(request, api=True)
        try:
            body: Any = await request.json()
        except ValueError:
            body = None
        checks = body.get("checks") if isinstance(body, dict) else None
        if not isinstance(checks, dict) or not all(isinstance(v, bool) for v in checks.values()):
            return _error("bad_request", "请求格式不正确：应为 {checks: {项: true/false}, note}。", 400)
        console = self.auth.services(request).console
        viewer = session.viewer
        entry = await console.entry(viewer, request.match_info["number"])
        if entry is None:
            return _error("not_found", "没有这个作品，或您无权查看。", 404)
        note = str(body.get("note") or "")
        result = await console.check_link(viewer, entry, checks, note, source=session.source)
        status = 200 if result.ok else (403 if result.code == "forbidden" else 400)
        return json_response({"ok": result.ok, "code": result.code, "message": result.text}, status)

    async def units(self, request: web.Request) -> web.Response:
        session = await self.auth.required(request, api=True)
        console = self.auth.services(request).console
        viewer = session.viewer
        rows = await console.units(viewer, request.query.get("contest", ""))
        if rows is None:
            return _error("not_found", "没有这个大赛，或您在其中没有身份。", 404)
        return json_response({"contest": request.query.get("contest", ""), "units": rows})
