"""Who is asking, for every page, API call and download of the console; and the checks on
every change: a CSRF token derived from the session (a hidden field, or ``X-CSRF-Token`` for
the API), compared with :func:`hmac.compare_digest`, and an ``Origin``/``Referer`` of our own
when the browser sends one."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from aiohttp import web

from bot.keys import SERVICES
from bot.services import Services
from bot.web.responses import SECURITY_HEADERS
from bot.web.upload_links import UploadService
from contests.records import UserKey
from handlers.console.service import ConsoleUser

COOKIE: Final = "kepu_console"
CSRF_FIELD: Final = "csrf"
CSRF_HEADER: Final = "X-CSRF-Token"
PATH: Final = "/console"
NOTICE_MAX_CHARS: Final = 300  # a notice shown after a change (see ConsoleAuth.notice_query)


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    """A signed-in request: its user and their roles, the session's CSRF token, and the
    client's address."""

    user: UserKey
    csrf: str
    source: str
    viewer: ConsoleUser  # read once per request; every page and file asks it

    @property
    def organiser(self) -> bool:
        """Of some contest: the desk pages are in the menu (each page checks its contest)."""
        return any(scope.role == "organiser" for scope in self.viewer.scopes.values())


class ConsoleAuth:
    """Cookies, sessions and CSRF tokens of the console (looked up per request: the app's
    cleanup context opens the services after the routes are added)."""

    def __init__(self, uploads: Callable[[], UploadService]) -> None:
        self._uploads = uploads

    @staticmethod
    def services(request: web.Request) -> Services:
        return request.app[SERVICES]

    @classmethod
    def source(cls, request: web.Request) -> str:
        """The client's address: the peer's, or behind a trusted proxy (``BOT_TRUSTED_PROXIES``)
        the nearest address in ``X-Forwarded-For`` that is not one of the proxies (the ones
        before it are whatever the client wrote)."""
        remote = request.remote or "-"
        proxies = cls.services(request).settings.proxies
        if remote not in proxies:
            return remote
        for hop in reversed(",".join(request.headers.getall("X-Forwarded-For", [])).split(",")):
            hop = hop.strip()
            if hop and hop not in proxies:
                try:
                    return str(ipaddress.ip_address(hop))
                except ValueError:
                    return remote
        return remote

    def notice_query(self, text: str) -> dict[str, str]:
        """Query parameters carrying a notice for the next page, signed: a link someone crafted
        cannot put its own words in the console's "done" box (phishing on our domain)."""
        text = text[:NOTICE_MAX_CHARS]
        return {"notice": text, "ns": self._notice_sig(text)}

    def notice_of(self, request: web.Request) -> str:
        """The notice of :meth:`notice_query`, or "" when it is missing or its signature is not ours."""
        text = request.query.get("notice", "")
        if not text or len(text) > NOTICE_MAX_CHARS:
            return ""
        return text if hmac.compare_digest(request.query.get("ns", ""), self._notice_sig(text)) else ""

    def _notice_sig(self, text: str) -> str:
        key = self._uploads().subkey("console-notice")
        return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()[:32]

    def csrf_of(self, session_id: str) -> str:
        key = self._uploads().subkey("console-csrf")
        return hmac.new(key, session_id.encode("ascii"), hashlib.sha256).hexdigest()

    def secure(self, request: web.Request) -> bool:
        svc = self.services(request)
        return request.secure or svc.sign_in.base_url.startswith("https://")

    async def session(self, request: web.Request) -> ConsoleSession | None:
        cookie = request.cookies.get(COOKIE, "")
        sign_in = self.services(request).sign_in
        user = await sign_in.user_of(cookie)
        if user is None:
            return None
        viewer = await self.services(request).console.who(user)
        return ConsoleSession(user, self.csrf_of(sign_in.session_id(cookie)), self.source(request), viewer)

    async def required(self, request: web.Request, *, api: bool = False) -> ConsoleSession:
        """The request's session; else the page that says how to sign in (401)."""
        found = await self.session(request)
        if found is None:
            if api:
                raise web.HTTPUnauthorized(
                    text='{"error":"no_session","message":"未登录或登录已过期，请在聊天中发送“后台”获取登录链接。"}',
                    content_type="application/json",
                    headers=SECURITY_HEADERS,
                )
            raise web.HTTPUnauthorized(
                text="未登录或登录已过期：请在聊天中发送“后台”获取新的登录链接。",
                headers=SECURITY_HEADERS,
            )
        return found

    def check_origin(self, request: web.Request) -> None:
        """A change must come from our own pages, when the browser says where from."""
        ours = {urlsplit(self.services(request).sign_in.base_url).netloc, request.host}
        for header in ("Origin", "Referer"):
            value = request.headers.get(header)
            if value and value != "null" and urlsplit(value).netloc not in ours:
                raise web.HTTPForbidden(text="请求来源不符，已拒绝。", headers=SECURITY_HEADERS)

    async def changing(
        self, request: web.Request, *, api: bool = False
    ) -> tuple[ConsoleSession, dict[str, str]]:
        """The session of a change (POST) carrying its CSRF token, and the form it posted."""
        found = await self.required(request, api=api)
        self.check_origin(request)
        form: dict[str, str] = {}
        if api:
            sent = request.headers.get(CSRF_HEADER, "")
        else:
            posted = await request.post()
            form = {k: str(v) for k, v in posted.items() if isinstance(v, str)}
            form |= {f"{k}[]": ",".join(str(x) for x in posted.getall(k)) for k in set(posted.keys())}
            sent = form.get(CSRF_FIELD, "")
        if not hmac.compare_digest(sent.encode(), found.csrf.encode()):
            raise web.HTTPForbidden(text="请求校验失败（CSRF），请刷新页面后重试。", headers=SECURITY_HEADERS)
        return found, form

    def set_cookie(self, request: web.Request, response: web.StreamResponse, cookie: str) -> None:
        response.set_cookie(
            COOKIE,
            cookie,
            httponly=True,
            samesite="Strict",
            secure=self.secure(request),
            path=PATH,  # a browser-session cookie: the store's idle limit (SESSION_IDLE) decides
        )
