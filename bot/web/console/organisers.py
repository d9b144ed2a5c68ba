"""What the organisers' own pages (helpdesk, broadcasts, overview, audit log) share: the
signed-in viewer, refused with 403 unless they organise a contest, and the contest they chose."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from bot.web.console.auth import ConsoleAuth, ConsoleSession
from bot.web.responses import SECURITY_HEADERS, render
from handlers.console.service import ConsoleService, ConsoleUser
from handlers.console.tickets import organised


@dataclass(frozen=True, slots=True)
class OrganiserView:
    """A request of an organiser: their session, viewer, the contests they organise
    (``(id, short title)``) and the one chosen (``?contest=`` or a form's ``contest``)."""

    session: ConsoleSession
    console: ConsoleService
    viewer: ConsoleUser
    contests: list[tuple[str, str]]
    chosen: str


def refused(
    request: web.Request, session: ConsoleSession, title: str, message: str, status: int
) -> web.Response:
    return render(
        request, "console/message.html", status, title=title, message=message, error=True, session=session
    )


class OrganiserGate:
    """Organisers only: a unit's member gets 403 (no session: the sign-in page, 401)."""

    def __init__(self, auth: ConsoleAuth) -> None:
        self.auth = auth

    def _view(
        self, request: web.Request, session: ConsoleSession, viewer: ConsoleUser, wanted: str
    ) -> OrganiserView:
        console = self.auth.services(request).console
        contests = [(cid, c.short_title) for cid in organised(viewer) if (c := console.contest(cid))]
        ids = [cid for cid, _ in contests]
        # Never another contest than the one asked for: a broadcast or an export must not land
        # on the viewer's first contest because the one named is not theirs.
        if not contests or (wanted and wanted not in ids):
            raise web.HTTPForbidden(
                text=refused(request, session, "无权访问", "这个页面只对大赛主办方开放。", 403).text,
                content_type="text/html",
                headers=SECURITY_HEADERS,
            )
        return OrganiserView(session, console, viewer, contests, wanted or ids[0])

    async def page(self, request: web.Request) -> OrganiserView:
        """A GET of an organiser's page."""
        session = await self.auth.required(request)
        viewer = session.viewer
        return self._view(request, session, viewer, request.query.get("contest", ""))

    async def change(self, request: web.Request) -> tuple[OrganiserView, dict[str, str]]:
        """A POST of an organiser's page: its CSRF token checked, and the form it posted."""
        session, form = await self.auth.changing(request)
        viewer = session.viewer
        wanted = form.get("contest") or request.query.get("contest", "")
        return self._view(request, session, viewer, wanted), form
