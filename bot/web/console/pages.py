"""The console's HTML pages: signing in and out, the list of submissions, one submission with
its decision form, and the units' places.  Every page asks :class:`ConsoleAuth` who is
looking and :class:`~handlers.console.service.ConsoleService` what they may see."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from aiohttp import web

from bot.web.console.auth import COOKIE, PATH, ConsoleAuth, ConsoleSession
from bot.web.responses import SECURITY_HEADERS, render
from contests.review import Decision, ReviewState
from handlers.console.views import SORTS, VERDICT_LABELS, Filters
from handlers.review.service import LINK_CHECKS, ReviewOutcome

log = logging.getLogger(__name__)

_SIGN_IN_REFUSED = {
    "invalid": "这个登录链接无效或已过期（链接 10 分钟内有效）。",
    "used": "这个登录链接已经使用过了：每个链接只能使用一次。",
    "limited": "尝试次数过多，请稍后再试。",
}


def _message(request: web.Request, title: str, message: str, status: int, **context: object) -> web.Response:
    return render(
        request, "console/message.html", status, title=title, message=message, error=status >= 400, **context
    )


class ConsolePages:
    """The aiohttp handlers of the console's pages."""

    def __init__(self, auth: ConsoleAuth) -> None:
        self.auth = auth

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/console/login/{token}", self.login_page)
        app.router.add_post("/console/login/{token}", self.login)
        app.router.add_post("/console/logout", self.logout)
        app.router.add_get("/console", self.to_list)
        app.router.add_get("/console/", self.submissions)
        app.router.add_get("/console/submissions", self.submissions)
        app.router.add_get("/console/s/{number:[A-Za-z0-9_-]+}", self.submission)
        app.router.add_post("/console/s/{number:[A-Za-z0-9_-]+}/decision", self.decision)
        app.router.add_post("/console/s/{number:[A-Za-z0-9_-]+}/link-check", self.link_check)
        app.router.add_get("/console/units", self.units)
        app.router.add_post("/console/units/confirm", self.confirm_for_unit)
        app.router.add_post("/console/units/preview", self.preview_units)
        app.router.add_post("/console/units/import", self.import_units)

    # -- signing in and out ---------------------------------------------------------------

    async def login_page(self, request: web.Request) -> web.Response:
        """The link's page: a button that signs in (a GET burns nothing: link previews)."""
        user = await self.auth.services(request).sign_in.peek(request.match_info["token"])
        if user is None:
            return render(request, "console/login.html", 404, ok=False, message=_SIGN_IN_REFUSED["invalid"])
        who = await self.auth.services(request).console.describe(user)
        return render(request, "console/login.html", ok=True, who=who, message="")

    async def login(self, request: web.Request) -> web.StreamResponse:
        self.auth.check_origin(request)
        result = await self.auth.services(request).sign_in.redeem(
            request.match_info["token"], self.auth.source(request)
        )
        if result.status != "ok":
            status = 429 if result.status == "limited" else 403
            return render(
                request, "console/login.html", status, ok=False, message=_SIGN_IN_REFUSED[result.status]
            )
        response = web.Response(status=303, headers={**SECURITY_HEADERS, "Location": "/console/"})
        self.auth.set_cookie(request, response, result.cookie)
        return response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        await self.auth.changing(request)
        await self.auth.services(request).sign_in.sign_out(request.cookies.get(COOKIE, ""))
        response = _message(request, "已退出", "您已退出管理后台。需要时在聊天中发送“后台”重新登录。", 200)
        response.del_cookie(COOKIE, path=PATH)
        return response

    # -- the list -------------------------------------------------------------------------

    async def to_list(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/console/", headers=SECURITY_HEADERS)

    async def submissions(self, request: web.Request) -> web.Response:
        session = await self.auth.required(request)
        console = self.auth.services(request).console
        viewer = session.viewer
        listing = await console.listing(viewer, Filters.of(request.query))
        f = listing.filters

        def link(**changes: object) -> str:
            return "/console/?" + urlencode(f.query(**changes))

        return render(
            request,
            "console/list.html",
            session=session,
            listing=listing,
            rows=[e.row() for e in listing.entries],
            role=viewer.role(f.contest),
            states=[(s.value, s.label) for s in ReviewState],
            verdicts=list(VERDICT_LABELS.items()),
            sorts=list(SORTS.items()),
            prev_link=link(page=listing.page - 1) if listing.page > 1 else "",
            next_link=link(page=listing.page + 1) if listing.page < listing.pages else "",
            export_link=f"/console/export/{f.contest}.zip" if f.contest else "",
        )

    # -- one submission -------------------------------------------------------------------

    async def submission(self, request: web.Request) -> web.Response:
        session = await self.auth.required(request)
        console = self.auth.services(request).console
        viewer = session.viewer
        entry = await console.entry(viewer, request.match_info["number"])
        if entry is None:
            return _message(request, "没有找到", "没有这个作品，或您无权查看。", 404, session=session)
        view = await console.detail(viewer, entry, source=session.source)
        return render(
            request,
            "console/submission.html",
            session=session,
            s=view,
            decisions=[(d.value, d.label) for d in Decision],
            notice=self.auth.notice_of(request),
        )

    async def decision(self, request: web.Request) -> web.Response:
        session, form = await self.auth.changing(request)
        console = self.auth.services(request).console
        viewer = session.viewer
        entry = await console.entry(viewer, request.match_info["number"])
        if entry is None:
            return _message(request, "没有找到", "没有这个作品，或您无权查看。", 404, session=session)
        items = [i for i in form.get("items[]", "").split(",") if i]
        result = await console.decide(
            viewer, entry, form.get("decision", ""), form.get("reason", ""), items, source=session.source
        )
        return self._after(request, session, entry.number, result, "未能保存审核决定")

    async def link_check(self, request: web.Request) -> web.Response:
        session, form = await self.auth.changing(request)
        console = self.auth.services(request).console
        viewer = session.viewer
        entry = await console.entry(viewer, request.match_info["number"])
        if entry is None:
            return _message(request, "没有找到", "没有这个作品，或您无权查看。", 404, session=session)
        ticked = {c for c in form.get("checks[]", "").split(",") if c}
        checks = {key: key in ticked for key in LINK_CHECKS}
        result = await console.check_link(viewer, entry, checks, form.get("note", ""), source=session.source)
        return self._after(request, session, entry.number, result, "未能保存链接核验")

    def _after(
        self, request: web.Request, session: ConsoleSession, number: str, result: ReviewOutcome, title: str
    ) -> web.Response:
        """Back to the work's page with the console's signed notice, or why not."""
        if result.ok:
            raise web.HTTPSeeOther(
                f"/console/s/{number}?" + urlencode(self.auth.notice_query(result.text)),
                headers=SECURITY_HEADERS,
            )
        status = 403 if result.code == "forbidden" else 400
        return _message(request, title, result.text, status, session=session)

    # -- units ----------------------------------------------------------------------------

    async def units(self, request: web.Request) -> web.Response:
        session = await self.auth.required(request)
        console = self.auth.services(request).console
        viewer = session.viewer
        contests = [(cid, c.short_title) for cid in viewer.scopes if (c := console.contest(cid))]
        chosen = request.query.get("contest") or (contests[0][0] if contests else "")
        rows = await console.units(viewer, chosen) or []
        return render(
            request,
            "console/units.html",
            session=session,
            contests=contests,
            chosen=chosen,
            rows=rows,
            notice=self.auth.notice_of(request),
            may_import=(scope := viewer.scopes.get(chosen)) is not None and scope.role == "organiser",
        )

    async def preview_units(self, request: web.Request) -> web.Response:
        """导入单位, first step: the pasted file mapped line by line, with a 确认导入 button."""
        session, form = await self.auth.changing(request)
        console = self.auth.services(request).console
        chosen, data = form.get("contest", ""), form.get("csv", "")
        preview = await console.preview_units(session.viewer, chosen, data)
        if preview is None:
            return _message(request, "不能导入单位", "只有主办方可以导入推荐单位。", 403, session=session)
        errors = preview if isinstance(preview, list) else []
        return render(
            request,
            "console/units_preview.html",
            session=session,
            chosen=chosen,
            csv=data,
            digest="" if isinstance(preview, list) else preview.digest,
            lines=[] if isinstance(preview, list) else preview.lines(),
            importing=0 if isinstance(preview, list) else len(preview.rows),
            skipped=0 if isinstance(preview, list) else len(preview.skipped),
            done="",
            to_fix="",
            errors=errors,
            status=400 if errors else 200,
        )

    async def import_units(self, request: web.Request) -> web.Response:
        """导入单位, confirmed: saved as previewed (the file is mapped again, all or nothing, and
        only when it maps as the preview whose digest the form carries)."""
        session, form = await self.auth.changing(request)
        console = self.auth.services(request).console
        chosen = form.get("contest", "")
        done = await console.import_units(
            session.viewer, chosen, form.get("csv", ""), shown=form.get("preview", ""), source=session.source
        )
        if done is None:
            return _message(request, "不能导入单位", "只有主办方可以导入推荐单位。", 403, session=session)
        if isinstance(done, list):
            return _message(request, "未导入任何单位", "\n".join(done), 400, session=session)
        text = f"已导入推荐单位：新增 {done.added} 个，更新 {done.updated} 个。"
        if done.skipped:  # the lines left out, shown to fix rather than lost
            return render(
                request,
                "console/units_preview.html",
                session=session,
                chosen=chosen,
                done=f"{text}另有 {len(done.skipped)} 行未能对应，没有导入。",
                lines=[s.text() for s in done.skipped],
                to_fix=done.to_fix(),
                csv="",
                digest="",
                importing=0,
                skipped=len(done.skipped),
                errors=[],
            )
        query = urlencode({"contest": chosen, **self.auth.notice_query(text)})
        raise web.HTTPSeeOther(f"/console/units?{query}", headers=SECURITY_HEADERS)

    async def confirm_for_unit(self, request: web.Request) -> web.Response:
        """确认推荐 from the units page (see :meth:`ConsoleService.confirm_for_unit`)."""
        session, form = await self.auth.changing(request)
        console = self.auth.services(request).console
        viewer = session.viewer
        ok, text = await console.confirm_for_unit(viewer, form.get("number", ""), source=session.source)
        if not ok:
            return _message(request, "未能确认推荐", text, 400, session=session)
        query = urlencode({"contest": form.get("contest", ""), **self.auth.notice_query(text)})
        raise web.HTTPSeeOther(f"/console/units?{query}", headers=SECURITY_HEADERS)
