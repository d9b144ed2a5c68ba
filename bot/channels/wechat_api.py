"""微信公众号 server API over aiohttp, with one access_token shared by every worker.

wechatpy's ``WeChatClient`` uses ``requests`` and would block the event loop, so the few calls
the channel needs are written here against the same endpoints:

* access_token —  https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Get_access_token.html
* 客服消息 —       https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Service_Center_messages.html
* 临时素材 —       https://developers.weixin.qq.com/doc/offiaccount/Asset_Management/New_temporary_materials.html
* 模板消息 —       https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Template_Message_Interface.html
* 自定义菜单 —     https://developers.weixin.qq.com/doc/offiaccount/Custom_Menus/Creating_Custom-Defined_Menu.html

The token lives in Redis when the service runs on Redis (several workers: one of them refreshes
it under a Redis lock), else in the process under an :class:`asyncio.Lock`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import redis.asyncio as aioredis

log = logging.getLogger(__name__)

#: errcodes meaning "this access_token is no good": 40001 invalid credential, 42001 expired,
#: 40014 invalid access_token.  Refresh once and retry the call.
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
#: 45015: the 48-hour window is closed; 45047: the customer-service quota is used up.
WINDOW_CLOSED = 45015
QUOTA_EXHAUSTED = 45047
#: errcode we use for transport failures (no answer, not JSON): WeChat's own are positive.
TRANSPORT_ERROR = -2
#: errcode we use when the account's credentials are not configured: no call is made.
NOT_CONFIGURED = -3

TokenFetch = Callable[[], Awaitable[tuple[str, int]]]


class WechatApiError(Exception):
    """The API answered ``errcode`` != 0 (or could not be reached: :data:`TRANSPORT_ERROR`)."""

    def __init__(self, errcode: int, errmsg: str, path: str = "") -> None:
        super().__init__(f"{path or 'wechat api'}: errcode {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


def refresh_margin(expires_in: int) -> float:
    """Seconds before ``expires_in`` at which a token counts as expired: 5 min, or 10 % if shorter."""
    return min(300.0, expires_in * 0.1)


class TokenStore(Protocol):
    """Where the access_token is cached.  ``stale`` is a token the API just refused: a cached
    token equal to it is refreshed, a different one (another worker refreshed) is returned."""

    async def get(self, fetch: TokenFetch, *, stale: str | None = None) -> str: ...


class LocalTokenStore:
    """One process: the token in memory, refreshed by one coroutine at a time."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._token: str | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()
        self._clock = clock

    def _valid(self, stale: str | None) -> str | None:
        if self._token is not None and self._token != stale and self._clock() < self._expires:
            return self._token
        return None

    async def get(self, fetch: TokenFetch, *, stale: str | None = None) -> str:
        if token := self._valid(stale):
            return token
        async with self._lock:
            if token := self._valid(stale):  # refreshed while we waited for the lock
                return token
            token, expires_in = await fetch()
            self._token = token
            self._expires = self._clock() + expires_in - refresh_margin(expires_in)
            return token


class RedisTokenStore:
    """Several workers: the token under ``<prefix>:wechat:token:<appid>`` with a TTL that ends
    shortly before WeChat's, refreshed by whichever worker holds the Redis lock.

    WeChat invalidates the previous token (after a 5-minute overlap) whenever a new one is
    fetched, so workers that each fetched their own would keep knocking each other out.
    """

    def __init__(self, client: aioredis.Redis, prefix: str, app_id: str, lock_timeout: float = 30.0) -> None:
        self._redis = client
        self.key = f"{prefix}:wechat:token:{app_id}"
        self._lock_key = f"{prefix}:wechat:token-lock:{app_id}"
        self._lock_timeout = lock_timeout

    async def _cached(self, stale: str | None) -> str | None:
        value = await self._redis.get(self.key)
        if value is None:
            return None
        token = value.decode() if isinstance(value, bytes) else str(value)
        return None if token == stale else token

    async def get(self, fetch: TokenFetch, *, stale: str | None = None) -> str:
        if token := await self._cached(stale):
            return token
        lock = self._redis.lock(
            self._lock_key, timeout=self._lock_timeout, blocking_timeout=self._lock_timeout
        )
        async with lock:
            if token := await self._cached(stale):  # another worker refreshed it meanwhile
                return token
            token, expires_in = await fetch()
            ttl_ms = max(1, int((expires_in - refresh_margin(expires_in)) * 1000))
            await self._redis.set(self.key, token, px=ttl_ms)
            return token


@dataclass(frozen=True, slots=True)
class MediaFile:
    """A downloaded media file: ``path`` is None when it was over the cap or could not be fetched."""

    path: Path | None
    size: int | None
    mime: str
    filename: str


def _dumps(data: dict[str, Any]) -> bytes:
    # WeChat shows \\uXXXX escapes literally in some APIs (menus, templates): send UTF-8 as is.
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


class WechatApi:
    """The calls the channel makes.  Every call carries the shared access_token; an answer that
    the token is invalid refreshes it once and repeats the call."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base: str,
        app_id: str,
        app_secret: str,
        tokens: TokenStore,
    ) -> None:
        self._session = session
        self.base = base.rstrip("/")
        self.app_id = app_id
        self._secret = app_secret
        self._tokens = tokens

    # -- access_token ------------------------------------------------------------------------

    async def _fetch_token(self) -> tuple[str, int]:
        """GET /cgi-bin/token; 40164 here means the server's IP is not on the account's whitelist."""
        if not self.app_id or not self._secret:
            raise WechatApiError(NOT_CONFIGURED, "BOT_WECHAT_APP_ID / BOT_WECHAT_APP_SECRET not set")
        params = {"grant_type": "client_credential", "appid": self.app_id, "secret": self._secret}
        data = await self._request("GET", "/cgi-bin/token", params=params)
        token, expires_in = data.get("access_token"), data.get("expires_in")
        if not isinstance(token, str) or not isinstance(expires_in, int):
            raise WechatApiError(TRANSPORT_ERROR, "token answer without access_token", "/cgi-bin/token")
        log.info("wechat access_token refreshed (expires in %ss)", expires_in)
        return token, expires_in

    async def access_token(self, *, stale: str | None = None) -> str:
        return await self._tokens.get(self._fetch_token, stale=stale)

    # -- plumbing ----------------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: bytes | aiohttp.FormData | None = None,
    ) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"} if isinstance(body, bytes) else None
        try:
            async with self._session.request(
                method, self.base + path, params=params, data=body, headers=headers
            ) as resp:
                raw = await resp.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise WechatApiError(TRANSPORT_ERROR, f"{type(exc).__name__}: {exc}", path) from exc
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise WechatApiError(TRANSPORT_ERROR, f"not JSON (HTTP {resp.status})", path) from exc
        if not isinstance(data, dict):
            raise WechatApiError(TRANSPORT_ERROR, "not a JSON object", path)
        errcode = data.get("errcode", 0)
        if errcode:
            raise WechatApiError(int(errcode), str(data.get("errmsg", "")), path)
        return data

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json_body: dict[str, Any] | None = None,
        form: Callable[[], aiohttp.FormData] | None = None,
    ) -> dict[str, Any]:
        """One API call with the access_token; ``form`` builds a multipart body (one per attempt:
        aiohttp consumes it)."""
        token = await self.access_token()
        for attempt in (1, 2):
            body = _dumps(json_body) if json_body is not None else form() if form else None
            try:
                return await self._request(
                    method, path, params={**(params or {}), "access_token": token}, body=body
                )
            except WechatApiError as exc:
                if exc.errcode not in TOKEN_ERRORS or attempt == 2:
                    raise
                log.warning("wechat refused the access_token (%s); refreshing once", exc.errcode)
                token = await self.access_token(stale=token)
        raise AssertionError("unreachable")

    # -- 客服消息 ----------------------------------------------------------------------------

    async def send_custom(self, openid: str, message: dict[str, Any]) -> None:
        """POST /cgi-bin/message/custom/send: ``message`` is ``{"msgtype": ..., <msgtype>: {...}}``."""
        await self.call("POST", "/cgi-bin/message/custom/send", json_body={"touser": openid, **message})

    async def send_text(self, openid: str, text: str) -> None:
        await self.send_custom(openid, {"msgtype": "text", "text": {"content": text}})

    async def send_image(self, openid: str, media_id: str) -> None:
        await self.send_custom(openid, {"msgtype": "image", "image": {"media_id": media_id}})

    # -- 模板消息 / 菜单 ----------------------------------------------------------------------

    async def send_template(
        self,
        openid: str,
        template_id: str,
        data: dict[str, str],
        *,
        url: str | None = None,
    ) -> int:
        """POST /cgi-bin/message/template/send; the only way to reach a user outside the 48 h.
        ``data`` maps the template's keys to their values.  Returns WeChat's msgid."""
        body: dict[str, Any] = {
            "touser": openid,
            "template_id": template_id,
            "data": {key: {"value": value} for key, value in data.items()},
        }
        if url:
            body["url"] = url
        answer = await self.call("POST", "/cgi-bin/message/template/send", json_body=body)
        return int(answer.get("msgid", 0))

    async def create_menu(self, menu: dict[str, Any]) -> None:
        """POST /cgi-bin/menu/create with ``{"button": [...]}``."""
        await self.call("POST", "/cgi-bin/menu/create", json_body=menu)

    # -- 临时素材 ----------------------------------------------------------------------------

    async def upload_media(self, kind: str, filename: str, content: bytes, mime: str) -> str:
        """POST /cgi-bin/media/upload?type=image|voice|video|thumb; returns the media_id (valid 3 days)."""

        def form() -> aiohttp.FormData:
            data = aiohttp.FormData()
            data.add_field("media", content, filename=filename, content_type=mime)
            return data

        answer = await self.call("POST", "/cgi-bin/media/upload", params={"type": kind}, form=form)
        media_id = answer.get("media_id")
        if not isinstance(media_id, str):
            raise WechatApiError(TRANSPORT_ERROR, "upload answer without media_id", "/cgi-bin/media/upload")
        return media_id

    async def download_media(self, media_id: str, dest: Path, *, limit: int) -> MediaFile:
        """GET /cgi-bin/media/get into the file ``dest``, at most ``limit`` bytes.

        Images and voice come back as the bytes themselves; video as ``{"video_url": ...}``,
        fetched in turn.  A file announced (Content-Length) or found to be larger than
        ``limit`` is not kept: ``path`` is None and ``size`` what was announced, if anything.
        """
        token = await self.access_token()
        for attempt in (1, 2):
            params = {"access_token": token, "media_id": media_id}
            try:
                return await self._download(self.base + "/cgi-bin/media/get", params, dest, limit)
            except WechatApiError as exc:
                if exc.errcode not in TOKEN_ERRORS or attempt == 2:
                    raise
                token = await self.access_token(stale=token)
        raise AssertionError("unreachable")

    async def _download(
        self, url: str, params: dict[str, str] | None, dest: Path, limit: int, *, follow: bool = True
    ) -> MediaFile:
        try:
            async with self._session.get(url, params=params) as resp:
                mime = resp.content_type
                if mime in ("application/json", "text/plain"):
                    # An error, or the video's download address (WeChat labels both text/plain).
                    data = json.loads(await resp.content.read(64 * 1024))
                    if isinstance(data, dict) and data.get("errcode"):
                        raise WechatApiError(int(data["errcode"]), str(data.get("errmsg", "")), url)
                    video_url = data.get("video_url") if isinstance(data, dict) else None
                    if (
                        follow
                        and isinstance(video_url, str)
                        and video_url.startswith(("http://", "https://"))
                    ):
                        return await self._download(video_url, None, dest, limit, follow=False)
                    raise WechatApiError(TRANSPORT_ERROR, "media answer without content", url)
                filename = (resp.content_disposition.filename if resp.content_disposition else None) or ""
                announced = resp.content_length
                if resp.status != 200:
                    raise WechatApiError(TRANSPORT_ERROR, f"HTTP {resp.status}", url)
                if announced is not None and announced > limit:
                    return MediaFile(None, announced, mime, filename)
                size = 0
                # Small blocking writes: the kernel's page cache takes 64 KiB in microseconds.
                fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    async for chunk in resp.content.iter_chunked(64 * 1024):
                        size += len(chunk)
                        if size > limit:
                            break
                        fh.write(chunk)
                if size > limit:
                    await asyncio.to_thread(dest.unlink, missing_ok=True)
                    return MediaFile(None, announced, mime, filename)
                return MediaFile(dest, size, mime, filename)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            await asyncio.to_thread(dest.unlink, missing_ok=True)
            raise WechatApiError(TRANSPORT_ERROR, f"{type(exc).__name__}: {exc}", url) from exc
