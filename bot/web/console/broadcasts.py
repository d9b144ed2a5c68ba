"""The console's broadcasts page, ``/console/broadcasts``: compose (text, audience, an optional
time), see the reach per channel (``POST …/preview``, nothing sent), confirm (``POST …/send``),
and the delivery reports of past broadcasts.  Broadcasts go through the reminder worker's
:class:`RemindService` (the app's ``REMIND`` key); without it the page says so.  The use case is
:class:`handlers.console.broadcasts.BroadcastDesk`."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from urllib.parse import urlencode

from aiohttp import web

from bot.deliveries import REMIND
from bot.web.console.auth import ConsoleAuth
from bot.web.console.organisers import OrganiserGate, OrganiserView, refused
from bot.web.responses import SECURITY_HEADERS, render
from handlers.console.broadcasts import AUDIENCES, BroadcastDesk, BroadcastReach

_NONCE = re.compile(r"^[A-Za-z0-9_-]{22}$")
NOT_RUNNING = "广播服务没有运行（提醒与广播的发送程序未启动），暂时不能发送广播。请联系技术人员。"


class BroadcastsPage:
    """The aiohttp handlers of ``/console/broadcasts``."""

    def __init__(self, auth: ConsoleAuth) -> None:
        self.auth = auth
        self.gate = OrganiserGate(auth)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/console/broadcasts", self.broadcasts)
        app.router.add_post("/console/broadcasts/preview", self.preview)
        app.router.add_post("/console/broadcasts/send", self.send)

    def _desk(self, request: web.Request, view: OrganiserView) -> BroadcastDesk | None:
        remind = request.app.get(REMIND)
        return BroadcastDesk(remind, view.console) if remind is not None else None

    async def _page(
        self,
        request: web.Request,
        view: OrganiserView,
        *,
        reach: BroadcastReach | None = None,
        status: int = 200,
    ) -> web.Response:
        desk = self._desk(request, view)
        units = await self.auth.services(request).stores.org.list_units(view.chosen)
        return render(
            request,
            "console/broadcasts.html",
            status,
            session=view.session,
            contests=view.contests,
            chosen=view.chosen,
            running=desk is not None,
            not_running=NOT_RUNNING,
            audiences=[*AUDIENCES, *((f"unit:{u.name}", f"推荐单位：{u.name}") for u in units)],
            reach=reach,
            nonce=secrets.token_urlsafe(16),
            past=await desk.past(view.viewer, view.chosen) if desk else [],
            notice=self.auth.notice_of(request),
        )

    async def broadcasts(self, request: web.Request) -> web.Response:
        return await self._page(request, await self.gate.page(request))

    async def preview(self, request: web.Request) -> web.Response:
        view, form = await self.gate.change(request)
        desk = self._desk(request, view)
        if desk is None:
            return await self._page(request, view, status=503)
        reach = await desk.reach(
            view.viewer, view.chosen, form.get("audience", ""), form.get("text", ""), form.get("at", "")
        )
        return await self._page(request, view, reach=reach, status=400 if reach.error else 200)

    async def send(self, request: web.Request) -> web.Response:
        view, form = await self.gate.change(request)
        desk = self._desk(request, view)
        if desk is None:
            return await self._page(request, view, status=503)
        # One confirmation, one broadcast: a double tap or a resent form does not send it twice.
        nonce = form.get("nonce", "")
        storage = self.auth.services(request).storage
        if not _NONCE.match(nonce) or not await storage.claim_once(
            f"console-broadcast:{nonce}", dt.timedelta(days=1)
        ):
            return refused(
                request, view.session, "广播未发送", "这次确认已经处理过了，请在发送记录中查看。", 409
            )
        job_id, error = await desk.send(
            view.viewer,
            view.chosen,
            form.get("audience", ""),
            form.get("text", ""),
            form.get("at", ""),
            source=view.session.source,
        )
        if error:
            return refused(request, view.session, "广播未发送", error, 400)
        notice = f"广播 {job_id} 已确认，将按时发送。发送情况见下方报告。"
        query = urlencode({"contest": view.chosen, **self.auth.notice_query(notice)})
        raise web.HTTPSeeOther(f"/console/broadcasts?{query}", headers=SECURITY_HEADERS)
