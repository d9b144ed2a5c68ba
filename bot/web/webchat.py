"""A small web chat page that drives the same dialog, for trying the service without a chat app.

Mounted only when no Telegram/WeChat channel is configured, on the service's own address
(127.0.0.1 by default): it has no login, so whoever reaches it may submit.

The session cookie (HttpOnly, SameSite=Strict) is a credential and nothing else: the store
keeps its hash and the user it opens (:meth:`Storage.open_session`), and the user is
``UserKey("web", "w…")``, an id of the server's that names the entrant in upload links,
receipts and logs without letting anyone who reads it in.  Every load of the page replaces
the cookie (the old one opens nothing after :data:`ROTATION_GRACE`), so a cookie planted or
seen earlier is of no use.

``POST /chat/api/send`` carries one event and answers with the replies; ``GET /chat/api/poll``
long-polls for replies pushed later (the upload page's verdict).  ``POST /chat/api/file``
attaches one file (the signed form's scan, a short video): its raw bytes, streamed to a
private temp folder, up to :data:`MAX_FILE`; a larger file is announced without a copy and the
dialog offers its upload link, as in Telegram.  POSTs need the page's CSRF token in a header,
derived from the user id with a server key.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.message
import hashlib
import hmac
import logging
import re
import secrets
import shutil
import tempfile
import urllib.parse
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from aiohttp import web

from bot.services import Services
from bot.storage.base import session_hash
from bot.web.responses import SECURITY_HEADERS, json_response, render
from contests.events import Document, EventKind, FileInfo, Incoming, Reply
from contests.ports import Storage
from contests.records import Draft, UserKey

log = logging.getLogger(__name__)

CHANNEL: Final = "web"
SESSION_COOKIE: Final = "kepu_chat"
CSRF_HEADER: Final = "X-CSRF-Token"
MAX_TEXT: Final = 20_000  # characters of one message; the dialog refuses long ones politely
MAX_WAIT_S: Final = 25.0
MAX_FILE: Final = 20 * 1024 * 1024  # as Telegram's cloud Bot API: larger files use the upload page
MAX_NAME: Final = 255
_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,8}$")
SESSION_TTL: Final = dt.timedelta(days=30)  # the draft waits in the store; so does the session
# A replaced cookie still names its user this long: two tabs restored at once, or two quick
# reloads, arrive with the same old cookie, and the second must find the same user.
ROTATION_GRACE: Final = dt.timedelta(seconds=30)
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32): the cookie
_USER_ID = re.compile(r"^w[A-Za-z0-9_-]{22}$")  # new_user_id()
_DOC_ID = re.compile(r"^[A-Za-z0-9_-]{16,32}$")


def new_user_id() -> str:
    """A web chat user's id: random, and unrelated to any cookie."""
    return "w" + secrets.token_urlsafe(16)


@dataclass(slots=True)
class _Session:
    outbox: deque[dict[str, Any]]
    docs: OrderedDict[str, Document] = field(default_factory=OrderedDict)
    wake: asyncio.Event = field(default_factory=asyncio.Event)


def choices_json(reply: Reply) -> list[dict[str, Any]]:
    """A reply's buttons for the page.  ``number`` is the button's 序号 where the dialog takes
    its choices by number (``Reply.numbered``), as WeChat and the terminal list them: the
    questions say 回复序号或名称 and a wrong number is answered with 请回复 1～N, so the page
    shows "1. 社会征集（自荐）" (trial round: unnumbered buttons under 回复序号).  None where the
    text numbers something else (the review page's items)."""
    return [
        {"label": c.label, "payload": c.payload, "number": n if reply.numbered else None}
        for n, c in enumerate(reply.choices, 1)
    ]


class WebChat:
    """What each web chat user is waiting for, in memory and bounded, by user id; also the
    ``Notifier`` of channel "web".

    A user forgotten here (evicted, or a restart) loses only queued messages and document
    links: the draft lives in the store under the user key, the session cookie in the store.
    """

    def __init__(
        self, csrf_key: bytes, *, max_sessions: int = 2000, max_queued: int = 50, max_docs: int = 10
    ) -> None:
        self._csrf_key = csrf_key
        self._sessions: OrderedDict[str, _Session] = OrderedDict()
        self.max_sessions, self.max_queued, self.max_docs = max_sessions, max_queued, max_docs
        self.closing = False

    def session(self, user_id: str) -> _Session:
        """The user's queue, the most recently used kept when there are too many."""
        sess = self._sessions.get(user_id)
        if sess is None:
            sess = self._sessions[user_id] = _Session(deque(maxlen=self.max_queued))
            while len(self._sessions) > self.max_sessions:
                _old, evicted = self._sessions.popitem(last=False)
                evicted.wake.set()
        else:
            self._sessions.move_to_end(user_id)
        return sess

    def csrf(self, user_id: str) -> str:
        """The page's CSRF token: the same for every tab of one user, whatever its cookie."""
        return hmac.new(self._csrf_key, user_id.encode("utf-8"), hashlib.sha256).hexdigest()

    def reply_json(self, user_id: str, reply: Reply) -> dict[str, Any]:
        """A reply for the page; a document is kept for download under a random id."""
        doc = None
        if reply.document is not None:
            sess = self.session(user_id)
            doc_id = secrets.token_urlsafe(12)
            sess.docs[doc_id] = reply.document
            while len(sess.docs) > self.max_docs:
                sess.docs.popitem(last=False)
            doc = {"name": reply.document.filename, "url": f"/chat/api/doc/{doc_id}"}
        return {
            "text": reply.text,
            "choices": choices_json(reply),
            "document": doc,
            "upload_url": reply.meta.get("upload_url"),
        }

    async def push(self, user: UserKey, replies: list[Reply]) -> None:
        """Queue replies for the session's next poll (oldest dropped beyond the bound)."""
        if user.channel != CHANNEL or not _USER_ID.match(user.user_id):
            raise ValueError(f"not a web chat user: {user}")
        sess = self.session(user.user_id)
        sess.outbox.extend(self.reply_json(user.user_id, r) for r in replies)
        sess.wake.set()

    async def wait(
        self, user_id: str, seconds: float, alive: Callable[[], bool] = lambda: True
    ) -> list[dict[str, Any]]:
        """Queued replies, waiting up to ``seconds`` for the first one.  ``alive``: whether the
        poll's page is still there to be answered; a page that went away while its poll waited
        (reloaded, closed: aiohttp lets the handler run on) takes nothing, and what came stays
        queued for the next poll (trial 9: a form drawn after 确认提交 went to a reloaded page's
        dead poll and was never shown)."""
        sess = self.session(user_id)
        if not sess.outbox and seconds > 0 and not self.closing:
            sess.wake.clear()
            try:
                async with asyncio.timeout(seconds):
                    await sess.wake.wait()
            except TimeoutError:
                pass
        if not alive():
            return []
        out = list(sess.outbox)
        sess.outbox.clear()
        return out

    def close(self) -> None:
        """Release every waiting poll (on shutdown, so that it does not wait for them)."""
        self.closing = True
        for sess in self._sessions.values():
            sess.wake.set()


class WebChatPages:
    """The aiohttp handlers of the web chat page."""

    def __init__(
        self, chat: Callable[[], WebChat], services: Callable[[], Services], *, secure_cookie: bool = False
    ) -> None:
        # Looked up per request: the app's cleanup_ctx builds both after the routes are added.
        self._chat = chat
        self._services = services
        self._secure = secure_cookie

    @property
    def chat(self) -> WebChat:
        return self._chat()

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/chat", self.page)
        app.router.add_post("/chat/api/send", self.send)
        app.router.add_post("/chat/api/file", self.attach)
        app.router.add_get("/chat/api/poll", self.poll)
        app.router.add_get("/chat/api/doc/{doc_id}", self.document)

        async def on_shutdown(_app: web.Application) -> None:
            self.chat.close()

        app.on_shutdown.append(on_shutdown)

    @property
    def _storage(self) -> Storage:
        return self._services().storage

    async def _user(self, request: web.Request) -> UserKey | None:
        """The user whose live session the request's cookie opens, or None."""
        token = request.cookies.get(SESSION_COOKIE, "")
        if not _TOKEN.match(token):
            return None
        return await self._storage.session_user(session_hash(token))

    async def _authorised(self, request: web.Request) -> UserKey:
        """The user of a POST that carries its CSRF token; 403 otherwise."""
        user = await self._user(request)
        if user is None:
            raise web.HTTPForbidden(text="会话已失效，请刷新页面。", headers=SECURITY_HEADERS)
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), self.chat.csrf(user.user_id).encode()):
            raise web.HTTPForbidden(text="请求校验失败，请刷新页面。", headers=SECURITY_HEADERS)
        return user

    async def page(self, request: web.Request) -> web.Response:
        storage = self._storage
        token = request.cookies.get(SESSION_COOKIE, "")
        old = token if _TOKEN.match(token) else None
        user = await storage.session_user(session_hash(old)) if old else None
        if user is None and old is not None:
            user = await self._adopt_legacy(old)
        if user is None:
            user = UserKey(CHANNEL, new_user_id())
        # A new cookie at every load of the page, the old one kept only for ROTATION_GRACE:
        # whoever planted or saw a cookie before cannot use it afterwards.  Other tabs keep
        # working: they send the browser's current cookie, and their CSRF token is the user's.
        fresh = secrets.token_urlsafe(32)
        await storage.open_session(session_hash(fresh), user, SESSION_TTL)
        if old is not None:
            await storage.open_session(session_hash(old), user, ROTATION_GRACE)
        self.chat.session(user.user_id)
        response = render(request, "chat.html", csrf=self.chat.csrf(user.user_id))
        response.set_cookie(
            SESSION_COOKIE,
            fresh,
            httponly=True,
            samesite="Strict",
            secure=self._secure,
            path="/chat",
            max_age=int(SESSION_TTL.total_seconds()),
        )
        return response

    async def _adopt_legacy(self, token: str) -> UserKey | None:
        """A cookie from before sessions were kept in the store was the user id itself: its
        draft moves to a new id, so the cookie's value (it was shown in upload links) names
        nobody from now on."""
        storage = self._storage
        draft = await storage.get_draft(UserKey(CHANNEL, token))
        if draft is None:
            return None
        user = UserKey(CHANNEL, new_user_id())
        await storage.save_draft(Draft(user, draft.data))
        await storage.delete_draft(draft.user)
        log.info("moved a web chat draft from a pre-session cookie to %s", user)
        return user

    async def send(self, request: web.Request) -> web.Response:
        user = await self._authorised(request)
        try:
            body = await request.json()
        except ValueError:
            return json_response({"error": "bad_request", "message": "请求格式不正确。"}, 400)
        if not isinstance(body, dict):
            return json_response({"error": "bad_request", "message": "请求格式不正确。"}, 400)
        if body.get("start") is True:
            event = Incoming(user, EventKind.START)
        elif isinstance(body.get("choice"), str) and len(body["choice"]) <= 200:
            event = Incoming(user, EventKind.CHOICE, choice=body["choice"])
        elif isinstance(body.get("text"), str) and len(body["text"]) <= MAX_TEXT:
            event = Incoming(user, EventKind.TEXT, text=body["text"])
        else:
            return json_response({"error": "bad_request", "message": "请输入文字或点选按钮。"}, 400)
        # The front door every channel uses: the dialog, and the helpdesk and organisers' commands.
        replies = await self._services().assistant.handle(event)
        return json_response({"replies": [self.chat.reply_json(user.user_id, r) for r in replies]})

    async def attach(self, request: web.Request) -> web.Response:
        """One file as the raw body; its name in ``X-File-Name`` (URL-encoded UTF-8)."""
        user = await self._authorised(request)
        name = urllib.parse.unquote(request.headers.get("X-File-Name", ""))[:MAX_NAME] or "file"
        mime = request.content_type if request.content_type != "application/octet-stream" else ""
        size = request.content_length
        if size is None or size <= 0:
            return json_response({"error": "bad_size", "message": "文件为空或大小未知，请重新选择。"}, 400)
        handle = self._services().assistant.handle
        if size > MAX_FILE:
            # Not read: the dialog answers a file too large for the chat with the upload link.
            info = FileInfo(name, size, mime, limit=MAX_FILE)
            replies = await handle(Incoming(user, EventKind.FILE, file=info))
            return json_response({"replies": [self.chat.reply_json(user.user_id, r) for r in replies]})
        root = self._services().settings.media_folder / "incoming"
        folder = Path(await asyncio.to_thread(_temp_folder, root))
        try:
            m = _SUFFIX.search(name)  # the only part of the client's name that reaches the disk
            target = folder / f"upload{m.group(0).lower() if m else ''}"
            received = await _receive(request, target, size)
            if received != size:
                return json_response({"error": "incomplete", "message": "文件未传完整，请重试。"}, 400)
            info = FileInfo(name, size, mime, path=str(target))
            replies = await handle(Incoming(user, EventKind.FILE, file=info))
        finally:
            await asyncio.to_thread(shutil.rmtree, folder, True)
        return json_response({"replies": [self.chat.reply_json(user.user_id, r) for r in replies]})

    async def poll(self, request: web.Request) -> web.Response:
        user = await self._user(request)
        if user is None:
            return json_response({"error": "no_session", "message": "会话已失效，请刷新页面。"}, 403)
        try:
            wait = min(max(float(request.query.get("wait", "0")), 0.0), MAX_WAIT_S)
        except ValueError:
            wait = 0.0

        def alive() -> bool:
            return request.transport is not None and not request.transport.is_closing()

        return json_response({"replies": await self.chat.wait(user.user_id, wait, alive)})

    async def document(self, request: web.Request) -> web.Response:
        user = await self._user(request)
        doc_id = request.match_info["doc_id"]
        sess = self.chat.session(user.user_id) if user else None
        doc = sess.docs.get(doc_id) if sess and _DOC_ID.match(doc_id) else None
        if doc is None:
            raise web.HTTPNotFound(text="文件不存在或已过期。", headers=SECURITY_HEADERS)
        try:
            body = await doc.load()
        except OSError:  # a drawn document swept after hours (see forms.paperwork)
            raise web.HTTPNotFound(text="文件不存在或已过期。", headers=SECURITY_HEADERS) from None
        quoted = urllib.parse.quote(doc.filename)
        content_type, charset = _split_mime(doc.mime)
        return web.Response(
            body=body,
            content_type=content_type,
            charset=charset,
            headers={
                **SECURITY_HEADERS,
                "Content-Disposition": f"attachment; filename*=UTF-8''{quoted}",
            },
        )


def _split_mime(mime: str) -> tuple[str, str | None]:
    """``(type, charset)`` of a document's MIME type: aiohttp takes a charset only apart
    ("text/csv; charset=utf-8" in ``content_type`` is refused with a 500)."""
    if not mime:
        return "application/octet-stream", None
    header = email.message.Message()
    header["Content-Type"] = mime
    return header.get_content_type(), header.get_content_charset()


def _temp_folder(root: Path) -> str:
    root.mkdir(parents=True, exist_ok=True)
    return tempfile.mkdtemp(prefix="web-", dir=root)


async def _receive(request: web.Request, target: Path, size: int) -> int:
    """Stream the body to ``target``, at most ``size`` bytes (a body longer than it announced is
    cut off); returns the bytes received."""
    received = 0
    fh = await asyncio.to_thread(target.open, "wb")
    try:
        async for piece in request.content.iter_chunked(256 * 1024):
            received += len(piece)
            if received > size:
                break
            await asyncio.to_thread(fh.write, piece)
    finally:
        await asyncio.to_thread(fh.close)
    return received
