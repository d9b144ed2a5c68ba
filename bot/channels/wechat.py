"""微信公众号 channel: the webhook at ``/wechat`` that drives the submission dialog.

WeChat pushes each user message as signed (in 安全模式 also encrypted) XML and waits 5 seconds
for a 被动回复; without one it retries three times.  So every push is handled like this:

1. signature, size and XML checked before anything else (:mod:`.wechat_xml`); a bad one gets
   403/400/413 and touches nothing;
2. the dialog runs in a task owned by the channel; a MsgId (events: FromUserName + CreateTime)
   is claimed in the store before its first effect, within the user's turn (``ClaimGate``), so
   a retry, even on another worker, never runs the dialog twice, and one after a worker died
   before the effect landed runs it once;
3. if the dialog answers within ``BOT_WECHAT_REPLY_BUDGET`` (4 s), the replies go back as one
   passive text reply (choices as a numbered list — WeChat has no buttons); what does not fit in
   2048 bytes follows as 客服消息.  If not, the push is answered ``success`` and the replies
   follow as 客服消息 when the dialog is done.  A retry arriving meanwhile waits for the same
   task and can still carry its passive reply.

What each kind of push becomes is its translator's (:mod:`.wechat_kinds`); an image, video or
file is fetched by :mod:`.wechat_media`.

客服消息 reach a user only for 48 hours after they wrote, and at most 5 per message
(3 within a minute after a menu click or a subscribe): :class:`WechatNotifier` enforces both
and raises :class:`CustomerServiceRefused` instead of sending beyond them.

* 被动回复: https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Passive_user_reply_message.html
* 客服消息: https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Service_Center_messages.html
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import redis.asyncio as aioredis
from aiohttp import web
from wechatpy.crypto import WeChatCrypto

from bot.channels.wechat_api import (
    LocalTokenStore,
    RedisTokenStore,
    TokenStore,
    WechatApi,
    WechatApiError,
)
from bot.channels.wechat_files import (
    Outbox,
    content_disposition,
    sweep_incoming,
)
from bot.channels.wechat_kinds import DEFAULT_MENU, translator
from bot.channels.wechat_limits import CustomerServiceRefused, Outgoing, OutsideWindow, Quota, QuotaExhausted
from bot.channels.wechat_media import download_media_of
from bot.channels.wechat_notifier import (
    EVENT_QUOTA,
    EVENT_WINDOW,
    TEXTS,
    WechatNotifier,
    WechatSettings,
    utcnow,
)
from bot.channels.wechat_xml import FRESHNESS, MAX_BODY, Codec, Rejected, dedup_key, kind_of, text_reply
from bot.keys import SERVICES
from bot.services import Services
from bot.settings import Settings
from bot.storage import RedisBackend, choose_backend
from contests.events import FileInfo, Incoming, Reply
from contests.records import AlreadyClaimed, InboundClaim, UserKey
from handlers.claims import ClaimGate

__all__ = [
    "CustomerServiceRefused",
    "OutsideWindow",
    "QuotaExhausted",
    "WechatChannel",
    "create",
]

log = logging.getLogger(__name__)

#: How long a MsgId stays claimed: far beyond WeChat's three retries (about 15 s), and beyond
#: any replay of a captured push the freshness check lets in.  A push signed at T passes it
#: from T - FRESHNESS to T + FRESHNESS, so its first arrival and its last replay can be up to
#: 2 × FRESHNESS apart: the claim must last at least that, or the replay runs again.
CLAIM_TTL = dt.timedelta(hours=1)
#: A push's CreateTime is WeChat's clock (in 明文模式 anyone's: the signature does not cover the
#: body): it is taken as the time the user wrote only when at most this much before our clock,
#: else our own receive time is.
PLAUSIBLE_DELAY = dt.timedelta(seconds=FRESHNESS)
#: Replies that say the attempt failed (Reply.meta["error"]): such an attempt does not claim
#: its message, so that another attempt (a retry, another worker) may still answer it.
_FAILED = frozenset({"internal", "stale"})
#: Seconds a finished answer stays in memory for a retry whose first response got lost.
KEEP_ANSWERS = 60.0
#: At most this many finished answers are kept (about 1.5 KB each): without a cap, every push
#: of the last minute stayed, and after a load all of them until the next push came.  A retry
#: of an answer dropped early still meets the store's claim: not run twice, answered success.
KEEP_ANSWERS_MAX = 2000
#: Downloads older than this are swept: whatever checks a video copies what it keeps.
KEEP_INCOMING = dt.timedelta(days=3)


# --------------------------------------------------------------------------- the channel


@dataclass(eq=False)
class _Attempt:
    """One push (by its dedup key) and the task answering it, shared by its retries."""

    key: str
    user: UserKey
    kind: str
    created: dt.datetime
    done: asyncio.Event = field(default_factory=asyncio.Event)
    waiting: int = 0  # webhook requests of this push still inside their reply budget
    passive: bool = False  # True: a webhook response carries ``outgoing``
    outgoing: Outgoing | None = None  # None: nothing to say, or another worker claimed the push
    rest_sent: bool = False

    @property
    def is_event(self) -> bool:
        return self.kind.startswith("event:")


@dataclass(slots=True)
class _Runtime:
    services: Services
    api: WechatApi
    notifier: WechatNotifier
    outbox: Outbox


class WechatChannel:
    """The WeChat official-account channel: mount with ``setup(app)`` on the ``serve`` app."""

    name = "wechat"

    def __init__(
        self,
        settings: Settings,
        config: WechatSettings,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
        shutdown_grace: float = 20.0,
    ) -> None:
        self.settings = settings
        self.config = config
        self.clock = clock
        self.shutdown_grace = shutdown_grace
        assert config.token is not None
        token = config.token.get_secret_value()
        crypto = None
        if config.aes_key is not None:
            crypto = WeChatCrypto(token, config.aes_key.get_secret_value(), config.app_id)
        self.codec = Codec(token, crypto, now=lambda: self.clock().timestamp())
        self._rt: _Runtime | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._janitor: asyncio.Task[None] | None = None
        self._attempts: dict[str, _Attempt] = {}
        self._finished: collections.deque[tuple[float, _Attempt]] = collections.deque()
        self._tails: dict[str, asyncio.Task[None]] = {}  # each user's latest task: keeps their order

    # -- wiring ----------------------------------------------------------------------------------

    def setup(self, app: web.Application) -> None:
        app.router.add_get("/wechat", self.verify)
        app.router.add_post("/wechat", self.receive)
        app.router.add_get("/wechat/files/{token}", self.download)
        app.cleanup_ctx.append(self._lifetime)

    @property
    def services(self) -> Services:
        return self._runtime().services

    @property
    def notifier(self) -> WechatNotifier:
        return self._runtime().notifier

    def _runtime(self) -> _Runtime:
        if self._rt is None:
            raise RuntimeError("the WeChat channel is not running (app not started)")
        return self._rt

    async def _lifetime(self, app: web.Application) -> AsyncIterator[None]:
        """The HTTP session, the token store and the notifier live as long as the app; tasks
        still running at shutdown are awaited (then cancelled after ``shutdown_grace``)."""
        services = app[SERVICES]
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30, connect=5))
        redis_client: aioredis.Redis | None = None
        try:
            tokens: TokenStore
            backend = choose_backend(
                data_dir=self.settings.data_dir,
                redis_url=self.settings.redis_url.get_secret_value() if self.settings.redis_url else None,
                redis_prefix=self.settings.redis_prefix,
                redis_cluster=self.settings.redis_cluster,
            )
            if isinstance(backend, RedisBackend):  # the token is shared by the workers
                redis_client = backend.connect(decode=False)
                tokens = RedisTokenStore(redis_client, backend.key_prefix, self.config.app_id)
            else:
                tokens = LocalTokenStore()
            secret = self.config.app_secret.get_secret_value() if self.config.app_secret else ""
            api = WechatApi(
                session,
                base=self.config.api_base,
                app_id=self.config.app_id,
                app_secret=secret,
                tokens=tokens,
            )
            outbox = Outbox(
                self.settings.media_folder, dt.timedelta(hours=self.config.link_ttl_hours), clock=self.clock
            )
            notifier = WechatNotifier(
                api, services, outbox, download_base=self.config.download_base, clock=self.clock
            )
            self._rt = _Runtime(services, api, notifier, outbox)
            services.reach.register(self.name, notifier)
            self._janitor = asyncio.create_task(self._sweep_forever(), name="wechat-janitor")
            if self.config.create_menu:
                self.spawn(self._create_menu())
            log.info("wechat channel up (%s mode)", "safe" if self.codec.safe_mode else "plain")
            yield
        finally:
            await self._drain()
            await services.reach.drain()  # what was posted to WeChat users goes before the API does
            services.reach.unregister(self.name)
            self._rt = None
            await session.close()
            if redis_client is not None:
                await redis_client.aclose()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` in a task the channel keeps and awaits on shutdown."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("wechat task failed", exc_info=task.exception())

    async def idle(self) -> None:
        """Return once no push is being handled and no 客服消息 is on its way."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def _drain(self) -> None:
        if self._janitor is not None:
            self._janitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._janitor
            self._janitor = None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.shutdown_grace
        while self._tasks:
            _, late = await asyncio.wait(set(self._tasks), timeout=max(0.0, deadline - loop.time()))
            if late:
                log.warning("wechat: cancelling %d tasks still running at shutdown", len(late))
                for task in late:
                    task.cancel()
                await asyncio.gather(*late, return_exceptions=True)

    async def _sweep_forever(self) -> None:
        while True:
            try:
                rt = self._runtime()
                removed = await asyncio.to_thread(sweep_incoming, self.settings.media_folder, KEEP_INCOMING)
                removed += await asyncio.to_thread(rt.outbox.sweep)
                if removed:
                    log.info("wechat: swept %d old files", removed)
            except Exception:
                log.exception("wechat: sweeping old files failed")
            await asyncio.sleep(3600)

    async def _create_menu(self) -> None:
        try:
            await self._runtime().api.create_menu(DEFAULT_MENU)
        except WechatApiError as exc:
            log.error("wechat: creating the menu failed: %s", exc)

    # -- webhook ---------------------------------------------------------------------------------

    async def verify(self, request: web.Request) -> web.Response:
        """GET: 服务器配置's URL check; answer ``echostr`` when the signature is right."""
        try:
            return web.Response(text=self.codec.echo(request.query))
        except Rejected as exc:
            log.warning("wechat verification refused: %s", exc.reason)
            return web.Response(status=exc.status)

    async def receive(self, request: web.Request) -> web.StreamResponse:
        """POST: one push in, a passive reply or ``success`` out, within the reply budget."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.reply_budget
        if self._rt is None:
            return web.Response(status=503)
        try:
            self.codec.check_query(request.query)  # before reading a byte of the body
            message = self.codec.open(request.query, await _read_capped(request, MAX_BODY))
        except Rejected as exc:
            log.warning("wechat push refused (%d): %s", exc.status, exc.reason)
            return web.Response(status=exc.status)
        attempt = self._attempt_for(message, loop.time())
        out = await self._await_answer(attempt, deadline)
        if not out or not out.texts:
            return web.Response(text="success")
        response = web.Response(
            text=self.codec.seal(text_reply(message, out.texts[0])), content_type="application/xml"
        )
        rest = Outgoing(out.texts[1:], out.images)
        if rest and not attempt.rest_sent:
            attempt.rest_sent = True
            # The passive reply first, then the rest as 客服消息, so that they arrive in order.
            await response.prepare(request)
            await response.write_eof()
            self.spawn(self._deliver(attempt, rest))
        return response

    def _attempt_for(self, message: Any, now: float) -> _Attempt:
        self._forget_answers(now)
        key = dedup_key(message)
        attempt = self._attempts.get(key)
        if attempt is not None:
            log.info("wechat: retry of %s", key)
            return attempt
        openid = str(message.source)
        attempt = _Attempt(key, UserKey(self.name, openid), kind_of(message), self._written_at(message))
        self._attempts[key] = attempt
        task = self.spawn(self._run(attempt, message, self._tails.get(openid)))
        self._tails[openid] = task
        task.add_done_callback(self._untail)
        return attempt

    def _forget_answers(self, now: float) -> None:
        """Drop finished answers older than :data:`KEEP_ANSWERS`, and the oldest beyond
        :data:`KEEP_ANSWERS_MAX`."""
        finished = self._finished
        while finished and (len(finished) > KEEP_ANSWERS_MAX or finished[0][0] < now - KEEP_ANSWERS):
            attempt = finished.popleft()[1]
            if self._attempts.get(attempt.key) is attempt:  # not a later attempt of the same key
                del self._attempts[attempt.key]

    def _written_at(self, message: Any) -> dt.datetime:
        """When the user wrote, for the 48-hour window and the event quota: the push's
        CreateTime when plausible, so that every retry and worker records the same time; else
        (a far-future or ancient one, year 33658 included) when we received it."""
        now = self.clock()
        sent = int(message._data["CreateTime"])  # digits only (Codec.open): no overflow in int
        if 0 <= now.timestamp() - sent <= PLAUSIBLE_DELAY.total_seconds():
            return dt.datetime.fromtimestamp(sent, dt.UTC)
        log.info("wechat: CreateTime %s implausible, the contact time is ours", sent)
        return now

    def _untail(self, task: asyncio.Task[Any]) -> None:
        for openid, tail in list(self._tails.items()):
            if tail is task:
                del self._tails[openid]

    async def _await_answer(self, attempt: _Attempt, deadline: float) -> Outgoing | None:
        attempt.waiting += 1
        try:
            if not attempt.done.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout_at(deadline):
                        await attempt.done.wait()
        finally:
            attempt.waiting -= 1
        # Checked after the wait whatever ended it: if the task finished while this request was
        # still counted as waiting, the task left the answer to this request.
        return attempt.outgoing if attempt.passive else None

    async def _run(self, attempt: _Attempt, message: Any, previous: asyncio.Task[None] | None) -> None:
        """The task behind one push: claim, dialog, then hand the answer to a waiting request
        or, when none is left, send it as 客服消息."""
        out: Outgoing | None = None
        try:
            if previous is not None:  # the user's earlier message first
                await asyncio.wait({previous})
            out = await self._answer(attempt, message)
        except Exception:
            log.exception("wechat: handling %s failed", attempt.key)
            out = Outgoing((self.services.engine.msg.render("internal_error"),))
        attempt.outgoing = out
        attempt.passive = bool(out and out.texts and attempt.waiting)
        attempt.done.set()
        now = asyncio.get_running_loop().time()
        self._finished.append((now, attempt))
        self._forget_answers(now)
        if out and not attempt.passive:
            await self._deliver(attempt, out)

    async def _answer(self, attempt: _Attempt, message: Any) -> Outgoing | None:
        # Claimed when first needed: a plain answer in the dialog claims its message in the
        # same write as its draft (one store round trip instead of two), anything with an
        # effect claims it first (ClaimGate), within the user's turn: a worker that dies
        # before the effect lands leaves the claim to the redelivery (a subscribe, or a video
        # being checked, claimed on arrival used to be lost with it).  A user message opens
        # WeChat's 48-hour window, its own CreateTime keeping the record the same whichever
        # retry or worker writes it; an event is nothing the user wrote: its claim records no
        # contact.  An image, video or file is downloaded before its turn: a retry at another
        # worker may download it again (WeChat retries at most three times), and then finds
        # it claimed in the turn.
        claim = InboundClaim(attempt.key, CLAIM_TTL, attempt.user, attempt.created, not attempt.is_event)
        gate = ClaimGate(self.services.storage, claim)
        try:
            replies = await translator(attempt.kind)(self, message, attempt.user, gate)
            failed = any(r.meta.get("error") in _FAILED for r in replies)
            if gate.pending is not None and not failed:
                await gate.ensure()  # an answer that stored nothing: claimed (and recorded) now
        except AlreadyClaimed:
            log.info("wechat: %s was already handled", attempt.key)
            return None
        return await self.notifier.compose(replies) if replies else None

    async def _deliver(self, attempt: _Attempt, out: Outgoing) -> None:
        """Send ``out`` as 客服消息 within the quota of what the user just did."""
        notifier = self.notifier
        try:
            if attempt.is_event:
                quota = Quota(attempt.created, EVENT_QUOTA, EVENT_WINDOW, "evt")
            else:
                quota = await notifier.message_quota(attempt.user)
            await notifier.send(attempt.user, out, quota)
        except CustomerServiceRefused as exc:
            log.warning("wechat: follow-up of %s not delivered: %s", attempt.key, exc)
        except WechatApiError as exc:
            log.error("wechat: follow-up of %s failed: %s", attempt.key, exc)

    # -- what the translators use ----------------------------------------------------------------

    async def dialog(
        self, event: Incoming, hint: str | None = None, gate: ClaimGate | None = None
    ) -> list[Reply]:
        return await self.services.assistant.handle(event, contest_hint=hint, gate=gate)

    async def fetch_media(self, message: Any) -> FileInfo:
        """The media of an image/video/file push (:func:`~bot.channels.wechat_media.download_media_of`)."""
        return await download_media_of(self._runtime().api, self.settings.media_folder, message)

    # -- download links --------------------------------------------------------------------------

    async def download(self, request: web.Request) -> web.StreamResponse:
        """GET /wechat/files/{token}: a document behind a link, until the link expires."""
        if self._rt is None:
            return web.Response(status=503)
        entry = await self._rt.outbox.get(request.match_info["token"])
        if entry is None:
            # Also what a link given at 确认提交 answers while its form is still being drawn.
            return web.Response(status=404, text=TEXTS["not_ready"], headers={"Cache-Control": "no-store"})
        return web.FileResponse(
            entry.path,
            headers={
                "Content-Type": entry.mime,
                "Content-Disposition": content_disposition(entry.filename),
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "sandbox",
                "Cache-Control": "private, no-store",
                "Referrer-Policy": "no-referrer",
            },
        )


async def _read_capped(request: web.Request, limit: int) -> bytes:
    """The body, refused (413) as soon as it is known to exceed ``limit`` bytes."""
    if request.content_length is not None and request.content_length > limit:
        raise Rejected(413, f"body of {request.content_length} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(16 * 1024):
        size += len(chunk)
        if size > limit:
            raise Rejected(413, f"body over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def create(settings: Settings) -> WechatChannel | None:
    """The channel when ``BOT_WECHAT_TOKEN`` is set, else None (see :func:`bot.channels.discover`)."""
    config = WechatSettings()
    if config.token is None:
        return None
    if not config.app_id or config.app_secret is None:
        log.warning(
            "BOT_WECHAT_APP_ID/APP_SECRET not set: passive replies only (no 客服消息, no media download)"
        )
    return WechatChannel(settings, config)
