"""The console's helpdesk page, ``/console/tickets``: the organiser's contests' tickets (open by
default; answered, closed or all with ``?status=``), answered and closed from the page.  The
use case is :class:`handlers.console.tickets.DeskTickets`."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from bot.web.console.auth import ConsoleAuth
from bot.web.console.organisers import OrganiserGate, OrganiserView, refused
from bot.web.responses import SECURITY_HEADERS, render
from handlers.console.tickets import STATUS_LABELS, DeskTickets

_ID = "{ticket:HD-[0-9]{6}}"


class TicketsPage:
    """The aiohttp handlers of ``/console/tickets``."""

    def __init__(self, auth: ConsoleAuth) -> None:
        self.auth = auth
        self.gate = OrganiserGate(auth)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/console/tickets", self.tickets)
        app.router.add_post(f"/console/tickets/{_ID}/answer", self.answer)
        app.router.add_post(f"/console/tickets/{_ID}/close", self.close)

    def _desk(self, request: web.Request, view: OrganiserView) -> DeskTickets:
        return DeskTickets(self.auth.services(request).helpdesk, view.console)

    async def tickets(self, request: web.Request) -> web.Response:
        view = await self.gate.page(request)
        status = request.query.get("status", "open")
        status = status if status in STATUS_LABELS else "open"
        rows = await self._desk(request, view).rows(view.viewer, view.chosen, status)
        return render(
            request,
            "console/tickets.html",
            session=view.session,
            contests=view.contests,
            chosen=view.chosen,
            shown=status,
            statuses=list(STATUS_LABELS.items()),
            rows=rows,
            notice=self.auth.notice_of(request),
        )

    def _back(self, view: OrganiserView, form: dict[str, str], text: str) -> web.HTTPSeeOther:
        query = {
            "contest": view.chosen,
            "status": form.get("status") or "open",
            **self.auth.notice_query(text),
        }
        return web.HTTPSeeOther("/console/tickets?" + urlencode(query), headers=SECURITY_HEADERS)

    async def answer(self, request: web.Request) -> web.Response:
        view, form = await self.gate.change(request)
        outcome = await self._desk(request, view).answer(
            view.viewer,
            request.match_info["ticket"],
            form.get("text", ""),
            close=form.get("close") == "1",
            source=view.session.source,
        )
        if outcome.ok:
            raise self._back(view, form, outcome.text)
        status = {"not_found": 404, "closed": 409, "not_relayed": 502}.get(outcome.code, 400)
        return refused(request, view.session, "答复未能送达", outcome.text, status)

    async def close(self, request: web.Request) -> web.Response:
        view, form = await self.gate.change(request)
        outcome = await self._desk(request, view).close(
            view.viewer, request.match_info["ticket"], source=view.session.source
        )
        if outcome.ok:
            raise self._back(view, form, outcome.text)
        return refused(request, view.session, "未能关闭工单", outcome.text, 404)
