"""A fake Telegram Bot API server: real HTTP on 127.0.0.1, the real wire protocol.

``POST /bot<token>/<method>`` with a JSON, url-encoded or multipart body answers
``{"ok": true, "result": ...}`` with objects shaped like Telegram's; ``GET
/file/bot<token>/<path>`` serves files.  Every call is recorded.  A method the fake does not
know, a missing or malformed parameter, a wrong token or an unknown file is recorded in
``errors`` and answered as Telegram would (400/401/404); :meth:`FakeTelegram.assert_clean` (run
by the tests' fixture at teardown) fails the test on any of them.

It also builds updates from the samples in ``tests/fixtures/telegram/`` and serves them to
``getUpdates`` (long polling), and can answer the next call of a method with a 429.
Used by ``tests/test_telegram.py`` and ``bench/bench_telegram.py``.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import re
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from aiohttp import web

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "telegram"
TOKEN = "7000000001:AAFakeTokenForTestsOnly_kepu-submit0"
CLOUD_DOWNLOAD_LIMIT = 20 * 1024 * 1024
_TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
UPDATE_TYPES = {
    "message", "edited_message", "channel_post", "edited_channel_post", "callback_query",
    "inline_query", "chosen_inline_result", "shipping_query", "pre_checkout_query", "poll",
    "poll_answer", "my_chat_member", "chat_member", "chat_join_request", "message_reaction",
    "message_reaction_count", "chat_boost", "removed_chat_boost", "business_connection",
    "business_message", "edited_business_message", "deleted_business_messages", "purchased_paid_media",
}  # fmt: skip


# method -> the parameters it may take: what the Bot API documents, for the methods this app uses.
# Anything else is an unexpected call and fails the test.
KNOWN_METHODS: dict[str, frozenset[str]] = {
    "getMe": frozenset(),
    "sendMessage": frozenset({"chat_id", "text", "reply_markup", "parse_mode", "link_preview_options"}),
    "sendDocument": frozenset({"chat_id", "document", "caption", "reply_markup", "parse_mode"}),
    "answerCallbackQuery": frozenset({"callback_query_id", "text", "show_alert", "cache_time"}),
    "getFile": frozenset({"file_id"}),
    "setMyCommands": frozenset({"commands", "scope", "language_code"}),
    "setWebhook": frozenset(
        {"url", "secret_token", "allowed_updates", "max_connections", "drop_pending_updates"}
    ),
    "deleteWebhook": frozenset({"drop_pending_updates"}),
    "getUpdates": frozenset({"offset", "limit", "timeout", "allowed_updates"}),
}


class Malformed(Exception):
    """A call Telegram would refuse with 400 Bad Request."""


@dataclass(frozen=True, slots=True)
class Upload:
    filename: str
    content: bytes


@dataclass(slots=True)
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, Upload]
    at: float  # time.monotonic() when it arrived


@dataclass(slots=True)
class StoredFile:
    file_id: str
    unique_id: str
    size: int
    content: bytes | None  # None: only announced (a big video nobody may download)
    file_path: str


@dataclass(slots=True)
class _Updates:
    queue: list[dict[str, Any]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)


# ---------------------------------------------------------------------------- parameter checks
def _int(params: dict[str, Any], name: str, *, required: bool = True) -> int | None:
    value = params.get(name)
    if value is None:
        if required:
            raise Malformed(f"Bad Request: parameter {name!r} is required")
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Malformed(f"Bad Request: {name!r} must be an integer, got {value!r}") from None


def _str(params: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = params.get(name)
    if value is None:
        if required:
            raise Malformed(f"Bad Request: parameter {name!r} is required")
        return None
    if not isinstance(value, str):
        raise Malformed(f"Bad Request: {name!r} must be a string")
    return value


def _bool(params: dict[str, Any], name: str) -> bool | None:
    value = params.get(name)
    if value is None or isinstance(value, bool):
        return value
    if value in ("true", "false", "True", "False", "1", "0"):
        return value in ("true", "True", "1")
    raise Malformed(f"Bad Request: {name!r} must be a boolean")


def _json(params: dict[str, Any], name: str) -> Any:
    value = params.get(name)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise Malformed(f"Bad Request: can't parse {name!r} JSON object") from None
    return value


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _check_text(text: str, limit: int, name: str) -> None:
    if not text.strip():
        raise Malformed(f"Bad Request: {name} must be non-empty")
    if _utf16(text) > limit:
        raise Malformed(f"Bad Request: {name} is too long")


def _check_markup(params: dict[str, Any]) -> dict[str, Any] | None:
    markup = _json(params, "reply_markup")
    if markup is None:
        return None
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    if not isinstance(rows, list) or not rows or set(markup) != {"inline_keyboard"}:
        raise Malformed("Bad Request: can't parse inline keyboard button: reply_markup")
    for row in rows:
        if not isinstance(row, list) or not row:
            raise Malformed("Bad Request: inline keyboard row must be a non-empty array")
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str) or not button["text"]:
                raise Malformed("Bad Request: inline keyboard button text is empty")
            data = button.get("callback_data")
            if set(button) != {"text", "callback_data"} or not isinstance(data, str):
                raise Malformed(f"Bad Request: unexpected inline keyboard button {button!r}")
            if not 1 <= len(data.encode()) <= 64:
                raise Malformed("Bad Request: BUTTON_DATA_INVALID")
    return dict(markup)


class FakeTelegram:
    """The fake server.  ``await start()``, point aiogram at :attr:`url`, ``await close()``."""

    # method -> parameters it may take (what the Bot API documents for what this app uses)
    KNOWN: ClassVar[dict[str, frozenset[str]]] = KNOWN_METHODS

    def __init__(self, token: str = TOKEN, *, local: bool = False, record: bool = True) -> None:
        if not _TOKEN_RE.fullmatch(token):
            raise ValueError("not a bot token")
        self.token = token
        self.bot_id = int(token.partition(":")[0])
        self.local = local  # like a --local server: getFile gives absolute paths, no size cap
        self.record = record
        # Seconds each send takes, as a real round trip to Telegram does (tens of ms): lets a
        # test show what another update does while replies are still going out.
        self.send_latency = 0.0
        self.calls: list[Call] = []
        self.errors: list[str] = []
        self.counts: dict[str, int] = defaultdict(int)
        self.files: dict[str, StoredFile] = {}
        self.webhook: dict[str, Any] | None = None
        self.commands: list[dict[str, str]] = []
        self.callback_ids: dict[str, bool] = {}  # id -> answered
        # chat id -> time.perf_counter() of each document sent there (kept even without record)
        self.documents_at: dict[int, list[float]] = defaultdict(list)
        self._failures: dict[str, deque[tuple[int, dict[str, Any]]]] = defaultdict(deque)
        self._ids = itertools.count(1)
        self._update_ids = itertools.count(810000001)
        self._message_ids = itertools.count(5001)
        self._updates: _Updates | None = None
        self._changed: asyncio.Condition | None = None
        self._closing: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self.url = ""
        self._samples = {p.stem: json.loads(p.read_text("utf-8")) for p in FIXTURES.glob("*.json")}

    # ------------------------------------------------------------------ server
    async def start(self) -> str:
        self._updates = _Updates()
        self._changed = asyncio.Condition()
        self._closing = asyncio.Event()
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._api)
        app.router.add_get("/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def close(self) -> None:
        if self._closing is not None:
            self._closing.set()  # long polls return at once
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def assert_clean(self) -> None:
        """Fail when any call was unexpected or malformed."""
        assert not self.errors, "fake Bot API saw bad calls:\n" + "\n".join(self.errors)

    # ------------------------------------------------------------------ inspection
    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def sent(self, chat_id: int | None = None) -> list[Call]:
        """Messages and documents sent, to ``chat_id`` or to anyone."""
        return [
            c
            for c in self.calls
            if c.method in ("sendMessage", "sendDocument")
            and (chat_id is None or int(c.params["chat_id"]) == chat_id)
        ]

    def texts(self, chat_id: int) -> list[str]:
        return [c.params.get("text") or c.params.get("caption") or "" for c in self.sent(chat_id)]

    def last_keyboard(self, chat_id: int) -> list[tuple[str, str]]:
        """(label, callback_data) of the buttons under the last message to ``chat_id`` that had any."""
        for call in reversed(self.sent(chat_id)):
            markup = call.params.get("reply_markup")
            if markup:
                return [(b["text"], b["callback_data"]) for row in markup["inline_keyboard"] for b in row]
        return []

    async def wait_for(self, predicate: Callable[[], bool], within: float = 5.0) -> None:
        """Until ``predicate()`` holds after some call; woken by every call, not by polling."""
        assert self._changed is not None
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(predicate)

    # ------------------------------------------------------------------ scripting
    def fail_next(self, method: str, *, retry_after: int | None = None, code: int = 429) -> None:
        """Answer the next call of ``method`` with an error (429 flood control by default)."""
        body: dict[str, Any] = {"ok": False, "error_code": code}
        if retry_after is not None:
            body["description"] = f"Too Many Requests: retry after {retry_after}"
            body["parameters"] = {"retry_after": retry_after}
        else:
            body["description"] = "Bad Request: something went wrong"
        self._failures[method].append((code, body))

    def add_file(
        self, content: bytes | None = None, *, size: int | None = None, path: str | None = None
    ) -> str:
        """Store a file the users may send; returns its file_id.  ``content`` None with a
        ``size`` announces a file too big to ever be fetched.  ``path`` (local mode) is where
        the file lies on disk."""
        n = next(self._ids)
        file_id = f"BQACAgUAAxkBAAIB{n:06d}ZmFrZQ"
        size = len(content) if content is not None else size
        assert size is not None
        file_path = path or f"documents/file_{n}.bin"
        self.files[file_id] = StoredFile(file_id, f"AgAD{n:06d}", size, content, file_path)
        return file_id

    def push_update(self, update: dict[str, Any]) -> None:
        """Queue an update for getUpdates."""
        assert self._updates is not None
        self._updates.queue.append(update)
        self._updates.arrived.set()

    # ------------------------------------------------------------------ updates from the samples
    def _sample(self, name: str, user_id: int) -> dict[str, Any]:
        update: dict[str, Any] = copy.deepcopy(self._samples[name])
        update["update_id"] = next(self._update_ids)
        body = update.get("message") or update["callback_query"]
        body["from"]["id"] = user_id
        msg = body if "message" in update else body["message"]
        if msg["chat"]["type"] == "private":
            msg["chat"]["id"] = user_id
        msg["date"] = int(time.time())
        msg["message_id"] = next(self._message_ids)
        return update

    def text(self, user_id: int, text: str) -> dict[str, Any]:
        """A private text message; commands get their bot_command entity, as Telegram sends."""
        name = "message_command" if text.startswith("/") else "message_text"
        update = self._sample(name, user_id)
        update["message"]["text"] = text
        if text.startswith("/"):
            command = text.split()[0]
            update["message"]["entities"] = [{"offset": 0, "length": _utf16(command), "type": "bot_command"}]
        return update

    def group_text(self, user_id: int, text: str) -> dict[str, Any]:
        update = self._sample("message_group_text", user_id)
        update["message"]["text"] = text
        return update

    def location(self, user_id: int) -> dict[str, Any]:
        return self._sample("message_location", user_id)

    def press(self, user_id: int, data: str) -> dict[str, Any]:
        """A press of an inline button carrying ``data`` (answerCallbackQuery expected)."""
        update = self._sample("callback_query", user_id)
        query_id = f"{next(self._ids)}{user_id}"
        update["callback_query"]["id"] = query_id
        update["callback_query"]["data"] = data
        self.callback_ids[query_id] = False
        return update

    def document(
        self, user_id: int, file_id: str, name: str, mime: str = "application/pdf"
    ) -> dict[str, Any]:
        update = self._sample("message_document", user_id)
        stored = self.files[file_id]
        update["message"]["document"].update(
            file_id=file_id,
            file_unique_id=stored.unique_id,
            file_size=stored.size,
            file_name=name,
            mime_type=mime,
        )
        return update

    def video(self, user_id: int, file_id: str, name: str = "作品.mp4") -> dict[str, Any]:
        update = self._sample("message_video", user_id)
        stored = self.files[file_id]
        update["message"]["video"].update(
            file_id=file_id, file_unique_id=stored.unique_id, file_size=stored.size, file_name=name
        )
        return update

    def photo(self, user_id: int, file_id: str) -> dict[str, Any]:
        update = self._sample("message_photo", user_id)
        stored = self.files[file_id]
        largest = update["message"]["photo"][-1]
        largest.update(file_id=file_id, file_unique_id=stored.unique_id, file_size=stored.size)
        return update

    # ------------------------------------------------------------------ objects
    def _me(self) -> dict[str, Any]:
        return {
            "id": self.bot_id, "is_bot": True, "first_name": "科普投稿助手", "username": "kepu_submit_bot",
            "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False,
            "can_connect_to_business": False, "has_main_web_app": False,
        }  # fmt: skip

    def _message(self, chat_id: int, **content: Any) -> dict[str, Any]:
        return {
            "message_id": next(self._message_ids),
            "from": {k: v for k, v in self._me().items() if k in ("id", "is_bot", "first_name", "username")},
            "chat": {"id": chat_id, "first_name": "小明", "type": "private"},
            "date": int(time.time()),
            **content,
        }

    # ------------------------------------------------------------------ HTTP
    async def _params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, Upload]]:
        params: dict[str, Any] = dict(request.query)
        files: dict[str, Upload] = {}
        ctype = request.content_type
        if ctype == "application/json":
            body = await request.json()
            if not isinstance(body, dict):
                raise Malformed("Bad Request: request body must be a JSON object")
            params.update(body)
        elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = Upload(value.filename, value.file.read())
                else:
                    params[key] = value
        elif request.can_read_body:
            raise Malformed(f"Bad Request: unsupported content type {ctype!r}")
        return params, files

    def _fail(self, status: int, description: str, what: str) -> web.Response:
        self.errors.append(f"{what}: {description}")
        return web.json_response(
            {"ok": False, "error_code": status, "description": description}, status=status
        )

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return self._fail(401, "Unauthorized", f"{method} with a wrong token")
        try:
            params, files = await self._params(request)
        except (Malformed, ValueError) as exc:
            return self._fail(400, str(exc), method)
        if method not in self.KNOWN:
            return self._fail(404, "Not Found: method not found", f"unexpected method {method}")
        unknown = set(params) - self.KNOWN[method]
        if unknown:
            return self._fail(400, f"Bad Request: unexpected parameters {sorted(unknown)}", method)
        call = Call(method, params, files, time.monotonic())
        self.counts[method] += 1
        if self.record:
            self.calls.append(call)
        try:
            if self._failures[method]:
                status, body = self._failures[method].popleft()
                return web.json_response(body, status=status)
            if self.send_latency and method in ("sendMessage", "sendDocument"):
                await asyncio.sleep(self.send_latency)
            result = await getattr(self, f"_m_{method}")(call)
        except Malformed as exc:
            return self._fail(400, str(exc), f"{method} {params}")
        finally:
            assert self._changed is not None
            async with self._changed:
                self._changed.notify_all()
        if isinstance(result, web.Response):
            return result
        return web.json_response({"ok": True, "result": result})

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._fail(401, "Unauthorized", "file download with a wrong token")
        path = request.match_info["path"]
        stored = next((f for f in self.files.values() if f.file_path == path), None)
        self.counts["download"] += 1
        if self.record:
            self.calls.append(Call("download", {"path": path}, {}, time.monotonic()))
        if self.local:
            return self._fail(404, "Not Found", f"HTTP download {path} from a --local server")
        if stored is None or stored.content is None:
            return self._fail(404, "Not Found", f"download of unknown file {path}")
        return web.Response(body=stored.content, content_type="application/octet-stream")

    # ------------------------------------------------------------------ methods
    async def _m_getMe(self, call: Call) -> Any:
        return self._me()

    async def _m_sendMessage(self, call: Call) -> Any:
        p = call.params
        chat_id = _int(p, "chat_id")
        text = _str(p, "text")
        assert chat_id is not None and text is not None
        _check_text(text, 4096, "message text")
        if p.get("parse_mode") not in (None, "HTML", "MarkdownV2", "Markdown"):
            raise Malformed("Bad Request: unsupported parse_mode")
        markup = _check_markup(p)
        p["reply_markup"] = markup
        return self._message(chat_id, text=text, **({"reply_markup": markup} if markup else {}))

    async def _m_sendDocument(self, call: Call) -> Any:
        p = call.params
        chat_id = _int(p, "chat_id")
        assert chat_id is not None
        ref = p.get("document")
        # A file goes in its own part, named directly or through "attach://<part name>".
        if isinstance(ref, str) and ref.startswith("attach://"):
            upload = call.files.get(ref.removeprefix("attach://"))
        else:
            upload = call.files.get("document")
        if upload is None:
            raise Malformed("Bad Request: there is no document in the request")
        if not upload.content:
            raise Malformed("Bad Request: file must be non-empty")
        caption = _str(p, "caption", required=False)
        if caption is not None:
            _check_text(caption, 1024, "message caption")
        markup = _check_markup(p)
        p["reply_markup"] = markup
        doc = {
            "file_name": upload.filename, "mime_type": "application/octet-stream",
            "file_id": f"BQACAgUAAxkDAAI{next(self._ids):06d}",
            "file_unique_id": f"AgADsent{next(self._ids)}",
            "file_size": len(upload.content),
        }  # fmt: skip
        self.documents_at[chat_id].append(time.perf_counter())
        extra = {"caption": caption} if caption else {}
        return self._message(chat_id, document=doc, **extra, **({"reply_markup": markup} if markup else {}))

    async def _m_answerCallbackQuery(self, call: Call) -> Any:
        query_id = _str(call.params, "callback_query_id")
        if query_id not in self.callback_ids:
            raise Malformed(
                "Bad Request: query is too old and response timeout expired or query ID is invalid"
            )
        if self.callback_ids[query_id]:
            raise Malformed(f"Bad Request: callback query {query_id} answered twice")
        self.callback_ids[query_id] = True
        return True

    async def _m_getFile(self, call: Call) -> Any:
        file_id = _str(call.params, "file_id")
        stored = self.files.get(file_id or "")
        if stored is None:
            raise Malformed("Bad Request: invalid file_id")
        if not self.local and stored.size > CLOUD_DOWNLOAD_LIMIT:
            # What the cloud Bot API says; a bot that knows the size never asks.
            raise Malformed("Bad Request: file is too big")
        return {
            "file_id": stored.file_id, "file_unique_id": stored.unique_id,
            "file_size": stored.size, "file_path": stored.file_path,
        }  # fmt: skip

    async def _m_setMyCommands(self, call: Call) -> Any:
        commands = _json(call.params, "commands")
        if not isinstance(commands, list) or not commands or len(commands) > 100:
            raise Malformed("Bad Request: commands must be a non-empty array of at most 100")
        for c in commands:
            if not isinstance(c, dict) or set(c) != {"command", "description"}:
                raise Malformed(f"Bad Request: bad BotCommand {c!r}")
            if not _COMMAND_RE.fullmatch(c["command"]) or not 1 <= len(c["description"]) <= 256:
                raise Malformed(f"Bad Request: BOT_COMMAND_INVALID {c!r}")
        self.commands = commands
        return True

    async def _m_setWebhook(self, call: Call) -> Any:
        p = call.params
        url = _str(p, "url")
        assert url is not None
        if not url.startswith("https://"):
            raise Malformed("Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        secret = _str(p, "secret_token", required=False)
        if secret is not None and not _SECRET_RE.fullmatch(secret):
            raise Malformed("Bad Request: secret token contains unallowed characters")
        allowed = _json(p, "allowed_updates")
        if allowed is not None and (not isinstance(allowed, list) or not set(allowed) <= UPDATE_TYPES):
            raise Malformed(f"Bad Request: bad allowed_updates {allowed!r}")
        self.webhook = {"url": url, "secret_token": secret, "allowed_updates": allowed}
        return True

    async def _m_deleteWebhook(self, call: Call) -> Any:
        _bool(call.params, "drop_pending_updates")
        self.webhook = None
        return True

    async def _m_getUpdates(self, call: Call) -> Any:
        if self.webhook is not None:
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 409,
                    "description": "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                },
                status=409,
            )
        p = call.params
        offset = _int(p, "offset", required=False)
        timeout = _int(p, "timeout", required=False) or 0
        allowed = _json(p, "allowed_updates")
        if allowed is not None and (not isinstance(allowed, list) or not set(allowed) <= UPDATE_TYPES):
            raise Malformed(f"Bad Request: bad allowed_updates {allowed!r}")
        state, closing = self._updates, self._closing
        assert state is not None and closing is not None
        if offset is not None:  # everything before the offset is confirmed
            state.queue = [u for u in state.queue if u["update_id"] >= offset]
        if not state.queue and timeout > 0 and not closing.is_set():
            state.arrived.clear()
            waits = [asyncio.ensure_future(state.arrived.wait()), asyncio.ensure_future(closing.wait())]
            try:
                await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waits:
                    w.cancel()
                await asyncio.gather(*waits, return_exceptions=True)
        return state.queue[:100]  # at most 100 per call, as Telegram
