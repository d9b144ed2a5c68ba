"""A fake WeChat (微信公众平台) for the channel: both directions, real HTTP on 127.0.0.1.

* **Pushes**: builds XML from the samples in ``tests/fixtures/wechat/``, signs it exactly as
  WeChat does (``signature`` = sha1 of the sorted token, timestamp and nonce), in 安全模式
  encrypts it (AES-CBC, ``msg_signature`` over the ciphertext, wechatpy's ``WeChatCrypto``),
  posts it to the app's ``/wechat``, retries it as WeChat does, and opens the passive reply
  the way WeChat would (decrypting and checking its signature in 安全模式).
* **API**: ``/cgi-bin/token`` (tokens with an expiry; :meth:`FakeWechat.revoke_token` makes the
  next call answer 40001), ``message/custom/send`` (recorded in ``sent``), ``media/get``
  (bytes with headers, or a large body streamed to whoever reads it), ``media/upload``,
  ``message/template/send`` and ``menu/create``.  Every call is recorded; a call the fake does not
  expect, or a malformed one, lands in ``errors`` and :meth:`FakeWechat.assert_clean` fails.

Used by ``tests/test_wechat.py`` and ``bench/bench_wechat.py``.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import secrets
import time
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from wechatpy.crypto import WeChatCrypto

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "wechat"
ACCOUNT = "gh_kepu_0123456789"  # the official account's 原始ID: ToUserName of every push


def sign(token: str, timestamp: str, nonce: str, *extra: str) -> str:
    """WeChat's signature: sha1 over the sorted, concatenated parts."""
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, *extra])).encode()).hexdigest()


def cdata(text: str) -> str:
    """``text`` for a ``<![CDATA[...]]>`` section (WeChat splits "]]>" the same way)."""
    return text.replace("]]>", "]]]]><![CDATA[>")


@dataclass
class Media:
    """A temporary media file on the fake: ``content``, or ``size`` zero bytes streamed."""

    content: bytes = b""
    content_type: str = "image/jpeg"
    filename: str = "media.jpg"
    size: int | None = None  # set for large media: streamed, never held in memory
    as_video_url: bool = False  # answer {"video_url": ...} as WeChat does for video


@dataclass
class Delivery:
    """One webhook request and its answer, as WeChat saw it."""

    status: int
    body: str
    content: str | None = None  # the passive reply's text, None for "success" or an error
    elapsed: float = 0.0


@dataclass
class FakeWechat:
    token: str
    app_id: str
    app_secret: str
    aes_key: str | None = None
    expires_in: int = 7200
    account: str = ACCOUNT
    calls: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    templates: list[dict[str, Any]] = field(default_factory=list)
    uploads: list[dict[str, Any]] = field(default_factory=list)
    menus: list[dict[str, Any]] = field(default_factory=list)
    media: dict[str, Media] = field(default_factory=dict)
    media_served: dict[str, int] = field(default_factory=dict)
    token_fetches: int = 0
    custom_errors: dict[str, int] = field(default_factory=dict)  # openid -> errcode to answer
    fail_token_once: bool = False

    def __post_init__(self) -> None:
        self.crypto = WeChatCrypto(self.token, self.aes_key, self.app_id) if self.aes_key else None
        self._tokens: dict[str, float] = {}
        self._revoked: set[str] = set()
        self._ids = itertools.count(int(time.time()) * 1000)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # -- lifetime ---------------------------------------------------------------------------------

    async def start(self) -> FakeWechat:
        app = web.Application()
        app.router.add_get("/cgi-bin/token", self._token)
        app.router.add_post("/cgi-bin/message/custom/send", self._custom_send)
        app.router.add_get("/cgi-bin/media/get", self._media_get)
        app.router.add_get("/_video/{media_id}", self._video_download)
        app.router.add_post("/cgi-bin/media/upload", self._media_upload)
        app.router.add_post("/cgi-bin/message/template/send", self._template_send)
        app.router.add_post("/cgi-bin/menu/create", self._menu_create)
        app.router.add_route("*", "/{tail:.*}", self._unexpected)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def assert_clean(self) -> None:
        assert not self.errors, f"unexpected or malformed WeChat API calls: {self.errors}"

    # -- API --------------------------------------------------------------------------------------

    def revoke_token(self) -> None:
        """Every token issued so far is refused with 40001 (as after a refresh elsewhere)."""
        self._revoked.update(self._tokens)

    def expire_tokens(self) -> None:
        """Every token issued so far is refused with 42001, as after its expires_in."""
        for token in self._tokens:
            self._tokens[token] = time.monotonic()

    def _check_token(self, request: web.Request) -> web.Response | None:
        token = request.query.get("access_token", "")
        expires = self._tokens.get(token)
        if expires is None or token in self._revoked:
            return _json({"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"})
        if expires <= time.monotonic():
            return _json({"errcode": 42001, "errmsg": "access_token expired"})
        return None

    async def _token(self, request: web.Request) -> web.Response:
        self.calls.append(("GET", "/cgi-bin/token"))
        q = request.query
        if q.get("grant_type") != "client_credential":
            self.errors.append(f"token: grant_type {q.get('grant_type')!r}")
            return _json({"errcode": 40002, "errmsg": "invalid grant_type"})
        if q.get("appid") != self.app_id or q.get("secret") != self.app_secret:
            self.errors.append("token: wrong appid or secret")
            return _json({"errcode": 40125, "errmsg": "invalid appsecret"})
        self.token_fetches += 1
        if self.fail_token_once:
            self.fail_token_once = False
            return _json({"errcode": 40164, "errmsg": "invalid ip 127.0.0.1, not in whitelist"})
        token = f"TOKEN-{secrets.token_hex(8)}"
        self._tokens[token] = time.monotonic() + self.expires_in
        return _json({"access_token": token, "expires_in": self.expires_in})

    async def _custom_send(self, request: web.Request) -> web.Response:
        self.calls.append(("POST", "/cgi-bin/message/custom/send"))
        if (refused := self._check_token(request)) is not None:
            return refused
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            self.errors.append(f"custom/send: not JSON: {raw[:80]!r}")
            return _json({"errcode": 47001, "errmsg": "data format error"})
        if b"\\u" in raw:
            self.errors.append("custom/send: Chinese sent as \\u escapes")
        msgtype = body.get("msgtype")
        if (
            not body.get("touser")
            or msgtype not in ("text", "image")
            or not isinstance(body.get(msgtype), dict)
        ):
            self.errors.append(f"custom/send: malformed {body}")
            return _json({"errcode": 40008, "errmsg": "invalid message type"})
        if msgtype == "text" and len(body["text"].get("content", "").encode()) > 2048:
            self.errors.append("custom/send: text over 2048 bytes")
        if errcode := self.custom_errors.get(body["touser"]):
            return _json({"errcode": errcode, "errmsg": "refused by the fake"})
        self.sent.append(body)
        return _json({"errcode": 0, "errmsg": "ok"})

    async def _media_get(self, request: web.Request) -> web.StreamResponse:
        self.calls.append(("GET", "/cgi-bin/media/get"))
        if (refused := self._check_token(request)) is not None:
            return refused
        media_id = request.query.get("media_id", "")
        media = self.media.get(media_id)
        if media is None:
            self.errors.append(f"media/get: unknown media_id {media_id!r}")
            return _json({"errcode": 40007, "errmsg": "invalid media_id"})
        if media.as_video_url:
            return _json({"video_url": f"{self.base_url}/_video/{media_id}"})
        return await self._serve(request, media_id, media)

    async def _video_download(self, request: web.Request) -> web.StreamResponse:
        self.calls.append(("GET", "/_video"))
        media_id = request.match_info["media_id"]
        media = self.media.get(media_id)
        if media is None:
            self.errors.append(f"video download: unknown {media_id!r}")
            raise web.HTTPNotFound()
        return await self._serve(request, media_id, media)

    async def _serve(self, request: web.Request, media_id: str, media: Media) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": media.content_type,
                "Content-disposition": f'attachment; filename="{media.filename}"',
            }
        )
        size = media.size if media.size is not None else len(media.content)
        response.content_length = size
        await response.prepare(request)
        served = 0
        try:
            if media.size is None:
                await response.write(media.content)
                served = size
            else:
                chunk = b"\0" * 65536
                while served < size:
                    part = chunk[: size - served]
                    await response.write(part)
                    served += len(part)
            await response.write_eof()
        except (ConnectionError, aiohttp.ClientConnectionResetError):
            pass  # the channel stopped reading: what it should do with a file over the cap
        self.media_served[media_id] = self.media_served.get(media_id, 0) + served
        return response

    async def _media_upload(self, request: web.Request) -> web.Response:
        self.calls.append(("POST", "/cgi-bin/media/upload"))
        if (refused := self._check_token(request)) is not None:
            return refused
        kind = request.query.get("type", "")
        post = await request.post()
        media = post.get("media")
        if kind not in ("image", "voice", "video", "thumb") or not isinstance(media, web.FileField):
            self.errors.append(f"media/upload: type {kind!r} or no 'media' file part")
            return _json({"errcode": 40004, "errmsg": "invalid media type"})
        content = media.file.read()
        media_id = f"up-{len(self.uploads) + 1}"
        self.uploads.append(
            {"type": kind, "filename": media.filename, "content_type": media.content_type, "content": content}
        )
        return _json({"type": kind, "media_id": media_id, "created_at": int(time.time())})

    async def _template_send(self, request: web.Request) -> web.Response:
        self.calls.append(("POST", "/cgi-bin/message/template/send"))
        if (refused := self._check_token(request)) is not None:
            return refused
        body = await request.json()
        if not body.get("touser") or not body.get("template_id") or not isinstance(body.get("data"), dict):
            self.errors.append(f"template/send: malformed {body}")
            return _json({"errcode": 40037, "errmsg": "invalid template_id"})
        self.templates.append(body)
        return _json({"errcode": 0, "errmsg": "ok", "msgid": 200228332 + len(self.templates)})

    async def _menu_create(self, request: web.Request) -> web.Response:
        self.calls.append(("POST", "/cgi-bin/menu/create"))
        if (refused := self._check_token(request)) is not None:
            return refused
        body = await request.json()
        if not isinstance(body.get("button"), list) or not 1 <= len(body["button"]) <= 3:
            self.errors.append(f"menu/create: malformed {body}")
            return _json({"errcode": 40016, "errmsg": "invalid button size"})
        self.menus.append(body)
        return _json({"errcode": 0, "errmsg": "ok"})

    async def _unexpected(self, request: web.Request) -> web.Response:
        self.calls.append((request.method, request.path))
        self.errors.append(f"unexpected call {request.method} {request.path}")
        return _json({"errcode": 40066, "errmsg": "invalid url"}, status=404)

    # -- pushes -----------------------------------------------------------------------------------

    def next_msg_id(self) -> int:
        return next(self._ids)

    def xml(self, sample: str, openid: str, **fields: Any) -> str:
        """A push from ``tests/fixtures/wechat/<sample>.xml`` (CreateTime now, a fresh MsgId)."""
        values: dict[str, Any] = {
            "account": self.account,
            "openid": openid,
            "create_time": int(time.time()),
            "msg_id": self.next_msg_id(),
        }
        values.update({k: cdata(v) if isinstance(v, str) else v for k, v in fields.items()})
        return (FIXTURES / f"{sample}.xml").read_text(encoding="utf-8").format(**values)

    def text(self, openid: str, content: str, **fields: Any) -> str:
        return self.xml("text", openid, content=content, **fields)

    def signed(
        self, xml: str, *, token: str | None = None, at: int | None = None
    ) -> tuple[dict[str, str], str]:
        """Query string and body of the POST WeChat would make for ``xml`` (signed now, or at
        the epoch second ``at``)."""
        timestamp = str(int(time.time()) if at is None else at)
        nonce = str(secrets.randbelow(10**10))
        query = {
            "signature": sign(token or self.token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
            "openid": "",
        }
        if self.crypto is None:
            return query, xml
        envelope = self.crypto.encrypt_message(xml, nonce, timestamp)
        root = ET.fromstring(envelope)
        encrypted = root.findtext("Encrypt") or ""
        # WeChat posts only ToUserName and Encrypt; msg_signature covers the ciphertext.
        body = (
            f"<xml><ToUserName><![CDATA[{self.account}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        )
        query["encrypt_type"] = "aes"
        query["msg_signature"] = sign(token or self.token, timestamp, nonce, encrypted)
        return query, body

    async def post(
        self,
        client: Any,
        xml: str,
        *,
        query: Mapping[str, str] | None = None,
        body: str | bytes | None = None,
        path: str = "/wechat",
    ) -> Delivery:
        """One webhook request with ``xml`` (signed unless ``query``/``body`` are given)."""
        signed_query, signed_body = self.signed(xml)
        started = time.monotonic()
        resp = await client.post(
            path,
            params=dict(query if query is not None else signed_query),
            data=(body if body is not None else signed_body),
            headers={"Content-Type": "text/xml"},
        )
        text = await resp.text()
        delivery = Delivery(resp.status, text, elapsed=time.monotonic() - started)
        if resp.status == 200 and text not in ("", "success"):
            delivery.content = self.open_reply(text, xml)
        return delivery

    async def deliver(
        self, client: Any, xml: str, *, patience: float = 5.0, retries: int = 3
    ) -> list[Delivery]:
        """Push ``xml`` as WeChat does: no answer within ``patience`` → the same message again
        (same MsgId, new signature), up to ``retries`` times; earlier requests stay open."""
        tasks: list[asyncio.Task[Delivery]] = []
        for _ in range(retries + 1):
            task = asyncio.create_task(self.post(client, xml))
            tasks.append(task)
            done, _ = await asyncio.wait({task}, timeout=patience)
            if done and task.result().status == 200:
                break
        return list(await asyncio.gather(*tasks))

    def open_reply(self, text: str, push: str) -> str:
        """The text of a passive reply, checked as WeChat would check it."""
        if self.crypto is not None:
            envelope = ET.fromstring(text)
            signature = envelope.findtext("MsgSignature") or ""
            timestamp = envelope.findtext("TimeStamp") or ""
            nonce = envelope.findtext("Nonce") or ""
            encrypted = envelope.findtext("Encrypt") or ""
            assert signature == sign(self.token, timestamp, nonce, encrypted), "reply signature"
            text = self.crypto.decrypt_message(text, signature, timestamp, nonce)
        reply = ET.fromstring(text)
        sent = ET.fromstring(push)
        assert reply.findtext("ToUserName") == sent.findtext("FromUserName"), "reply to someone else"
        assert reply.findtext("FromUserName") == sent.findtext("ToUserName"), "reply from another account"
        assert reply.findtext("MsgType") == "text", text
        content = reply.findtext("Content") or ""
        assert len(content.encode()) <= 2048, f"passive reply of {len(content.encode())} bytes"
        return content

    def texts_to(self, openid: str) -> list[str]:
        """Text 客服消息 sent to ``openid``, in order."""
        return [m["text"]["content"] for m in self.sent if m["touser"] == openid and m["msgtype"] == "text"]


def _json(data: dict[str, Any], status: int = 200) -> web.Response:
    # WeChat labels its JSON answers text/plain; the channel must cope.
    return web.Response(text=json.dumps(data, ensure_ascii=False), status=status, content_type="text/plain")
