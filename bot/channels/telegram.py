"""The Telegram channel (aiogram 3): updates in, the dialog's replies out.

Messages and button presses become :class:`~contests.events.Incoming` events for
:class:`~handlers.submit.SubmitHandler`; its replies go back as messages with inline keyboards
and as documents.  Nothing about the dialog lives here.

Two ways to receive updates (``BOT_TELEGRAM_MODE``):

* ``polling`` (default; works behind NAT, no public URL): ``getUpdates`` in a task owned by the
  app's ``cleanup_ctx``.  Telegram allows one poller per bot, so run one process.
* ``webhook``: Telegram POSTs to ``serve`` at ``/telegram`` (aiogram's ``SimpleRequestHandler``,
  secret token checked); any number of workers behind one public HTTPS URL.

Settings are read by :func:`create`, never at import time.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import logging
import re
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import SimpleFilesPathWrapper, TelegramAPIServer
from aiogram.enums import ChatType
from aiogram.exceptions import AiogramError, TelegramForbiddenError
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteWebhook,
    GetFile,
    GetMe,
    GetUpdates,
    Response,
    SendDocument,
    SendMessage,
    SetMyCommands,
    SetWebhook,
    TelegramMethod,
)
from aiogram.types import BotCommand, CallbackQuery, Message, TelegramObject, Update, User
from aiogram.utils.token import TokenValidationError, validate_token
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.channels.telegram_files import Downloads, media_of
from bot.channels.telegram_replies import RetryAfterMiddleware, send_replies
from bot.channels.telegram_sender import TelegramSender
from bot.keys import SERVICES
from bot.services import Services
from bot.settings import Settings
from contests.events import EventKind, Incoming, Reply
from contests.records import AlreadyClaimed, InboundClaim, UserKey
from handlers.claims import ClaimGate

log = logging.getLogger(__name__)

CHANNEL = "telegram"
WEBHOOK_PATH = "/telegram"
# The commands of the dialog, as the menu shows them (setMyCommands).
MENU = (
    ("start", "开始或继续报名"),
    ("help", "帮助：当前问题与填写规则"),
    ("status", "查看进度与截止日期"),
    ("back", "返回上一步"),
    ("edit", "修改已填写的内容"),
    ("cancel", "取消本次报名"),
)
# A retried update (webhook redelivery, getUpdates after a crash) is claimed in the store for
# this long; Telegram keeps undelivered updates for 24 hours.
UPDATE_SEEN_TTL = dt.timedelta(hours=25)
#: Replies that say handling failed (Reply.meta["error"]): such an update is not claimed, so
#: that a redelivery may still be handled.
_FAILED = frozenset({"internal", "stale"})
#: To a redelivered update that was handled before (then the process died before Telegram got
#: its answer): the entrant may have seen nothing, so where they are is shown again.  Not
#: "saved": a crash after the claim of a submission but before the store kept it is possible,
#: and then the review page shown again is what tells them.
HANDLED_BEFORE = "您的上一条消息已收到。当前进度如下："
HANDLED_NO_DRAFT = "您的上一条消息已收到。如需报名，请发送 /start。"
DRAIN_TIMEOUT = 30.0  # seconds to let updates in flight finish on shutdown
POLLING_CONCURRENCY = 64  # updates handled at once in polling mode (each user's still in order)
_CONTEST_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{1,63}$")  # a /start deep-link payload naming a contest
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what Telegram allows as secret_token
_SECRET_LABEL = b"kepu-submit/telegram-webhook-secret/v1"
# The Bot API methods this channel calls (see TelegramBot._response_types).
_METHODS_USED: tuple[type[TelegramMethod[Any]], ...] = (
    GetMe, SetMyCommands, SetWebhook, DeleteWebhook, GetUpdates,
    SendMessage, SendDocument, AnswerCallbackQuery, GetFile,
)  # fmt: skip


class TelegramSettings(BaseSettings):
    """``BOT_TELEGRAM_*``: the bot token, how updates arrive, and an optional own Bot API server."""

    model_config = SettingsConfigDict(
        env_prefix="BOT_TELEGRAM_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    token: SecretStr | None = Field(default=None, description="from @BotFather; unset: channel off")
    mode: Literal["polling", "webhook"] = "polling"
    api_server: str | None = Field(default=None, description="self-hosted Bot API base URL")
    local: bool = Field(default=False, description="API_SERVER runs with --local (files ≤ 2000 MB)")
    local_server_dir: Path | None = Field(default=None, description="its --dir, as it sees it")
    local_dir: Path | None = Field(default=None, description="the same folder as this process sees it")
    webhook_url: str | None = Field(default=None, description="public HTTPS URL Telegram POSTs to")
    webhook_secret: SecretStr | None = Field(default=None, description="unset: derived from TOKEN")

    @field_validator("token")
    @classmethod
    def _token_format(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value():
            try:
                validate_token(value.get_secret_value())
            except TokenValidationError:
                raise ValueError("not a bot token (expected 123456789:AA… from @BotFather)") from None
        return value

    @field_validator("api_server")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("expected http(s)://host[:port]")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_chars(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _SECRET.fullmatch(value.get_secret_value()):
            raise ValueError("1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> TelegramSettings:
        if self.mode == "webhook" and not (self.webhook_url or "").startswith("https://"):
            raise ValueError("MODE=webhook needs WEBHOOK_URL, an https:// URL that Telegram can reach")
        if self.local and not self.api_server:
            raise ValueError("LOCAL needs API_SERVER: only a self-hosted Bot API server has local mode")
        if (self.local_server_dir is None) != (self.local_dir is None):
            raise ValueError("set both LOCAL_SERVER_DIR and LOCAL_DIR, or neither")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.token and self.token.get_secret_value())

    def secret(self) -> str:
        """The webhook's secret token: the configured one, else HMAC-SHA256(token, label).

        Derived rather than refused: every worker computes the same value without sharing
        anything, it is as hard to guess as the token itself, and whoever holds the token can
        re-point the webhook anyway; a new token gives a new secret.
        """
        if self.webhook_secret is not None:
            return self.webhook_secret.get_secret_value()
        assert self.token is not None
        digest = hmac.new(self.token.get_secret_value().encode(), _SECRET_LABEL, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def api(self) -> TelegramAPIServer | None:
        """The self-hosted Bot API server, or None for Telegram's cloud."""
        if not self.api_server:
            return None
        if self.local_server_dir is not None and self.local_dir is not None:
            wrap = SimpleFilesPathWrapper(self.local_server_dir, self.local_dir)
            return TelegramAPIServer.from_base(self.api_server, is_local=self.local, wrap_local_file=wrap)
        return TelegramAPIServer.from_base(self.api_server, is_local=self.local)


def user_key(user: User) -> UserKey:
    return UserKey(CHANNEL, str(user.id))


class _InFlight:
    """Counts updates being handled, so that shutdown can wait for them (polling hands each
    update to a task of aiogram's own)."""

    def __init__(self) -> None:
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def enter(self) -> None:
        self.count += 1
        self._idle.clear()

    def leave(self) -> None:
        self.count -= 1
        if self.count == 0:
            self._idle.set()

    async def drained(self) -> None:
        await self._idle.wait()


class _Recent:
    """The last ``size`` update ids this process saw: a redelivery to the same process comes
    back within seconds, and is dropped without asking the store."""

    def __init__(self, size: int = 10_000) -> None:
        self._order: deque[int] = deque(maxlen=size)
        self._ids: set[int] = set()

    def first_time(self, update_id: int) -> bool:
        if update_id in self._ids:
            return False
        if len(self._order) == self._order.maxlen:
            self._ids.discard(self._order[0])
        self._order.append(update_id)
        self._ids.add(update_id)
        return True


# The filters are coroutine functions on purpose: aiogram runs a plain function, and a magic
# filter such as ``F.text``, in a worker thread (``asyncio.to_thread``), a thread hand-off per
# check that cost more than the check (three per text message, ~45 µs of CPU each).
# bench/README.md 'Telegram: what changed … session 2': three hand-offs, ~45 µs each.
async def _private(message: Message) -> bool:
    """A private chat with a sender: the chat is the user's."""
    return message.chat.type == ChatType.PRIVATE and message.from_user is not None


async def _has_text(message: Message) -> bool:
    return bool(message.text)


async def _has_media(message: Message) -> bool:
    return media_of(message) is not None


class TelegramBot:
    """One bot on one running app: aiogram's Bot and Dispatcher wired to the submit handler."""

    def __init__(self, config: TelegramSettings, services: Services) -> None:
        assert config.token is not None
        self.config = config
        self.services = services
        api = config.api()
        session = AiohttpSession(api=api) if api is not None else AiohttpSession()
        session.middleware(RetryAfterMiddleware())
        # No parse mode: the dialog's texts are plain and echo what entrants typed.
        self.bot = Bot(token=config.token.get_secret_value(), session=session)
        self.downloads = Downloads(
            self.bot, services.settings.media_folder / "incoming", local=bool(api and api.is_local)
        )
        # No aiogram FSM: the dialog keeps its drafts in our own store, and the submit handler
        # and chat locks isolate each user's events (across workers on Redis).
        self.dp = Dispatcher(name="kepu-telegram", disable_fsm=True)
        self.dp.update.outer_middleware(self._guard)
        self.dp.include_router(self._operators_router())
        self.dp.include_router(self._router())
        self.webhook = SimpleRequestHandler(
            self.dp,
            self.bot,
            # Handle before answering: Telegram redelivers an update whose request failed, and
            # no background task outlives the app.
            handle_in_background=False,
            secret_token=config.secret(),
        )
        self.inflight = _InFlight()
        # A redelivery to this very process is dropped without asking the store; one after a
        # restart, or to another worker, meets the update's claim in the store (see _handle).
        self.recent = _Recent()
        self.arrival = _ArrivalOrder()
        self._polling: asyncio.Task[None] | None = None
        # aiogram parses every answer as ``Response[T]``; pydantic caches such generic models
        # only weakly, so without a reference each is garbage-collected and rebuilt (~10 ms of
        # schema building) again and again under load.  Holding them makes them built once.
        self._response_types = [Response.__class_getitem__(m.__returning__) for m in _METHODS_USED]

    def _operators_router(self) -> Router:
        """An operators' group (``BOT_HELPDESK_OPERATORS=telegram:<group id>``): the group, not
        whoever typed, answers tickets there; everything else said in it is ignored."""
        router = Router(name="kepu-operators")
        groups = {
            int(key.partition(":")[2])
            for key in self.services.settings.operator_keys
            if key.startswith(f"{CHANNEL}:") and key.partition(":")[2].lstrip("-").isdigit()
        }

        async def operators_group(message: Message) -> bool:
            return message.chat.type != ChatType.PRIVATE and message.chat.id in groups

        router.message.filter(operators_group)
        router.message.register(self.on_operators_text, _has_text)
        router.message.register(self.on_operators_other)
        return router

    async def on_operators_text(self, message: Message, event_update: Update) -> None:
        assert message.text is not None
        group = UserKey(CHANNEL, str(message.chat.id))

        async def respond(replies: list[Reply]) -> None:
            try:
                await send_replies(self.bot, message.chat.id, replies)
            except AiogramError as exc:
                log.warning("confirmation to operators %s not sent: %s", group, exc)

        # Claimed before it acts (an answer goes to an entrant): an operator who sees no
        # confirmation after a crash sends the answer again.
        claim = InboundClaim(self._claim_key(event_update), UPDATE_SEEN_TTL, group, dt.datetime.now(dt.UTC))
        try:
            await self.services.assistant.operators_chat(
                group, message.text, respond, gate=ClaimGate(self.services.storage, claim)
            )
        except AlreadyClaimed:
            log.info("telegram update %s handled before: skipped", event_update.update_id)

    async def on_operators_other(self, message: Message) -> None:
        """Photos, stickers, members joining…: not for the bot."""

    def _router(self) -> Router:
        router = Router(name="kepu-submit")
        # Answers are private; in a group every member's message would be taken as an answer.
        router.message.filter(_private)
        router.message.register(self.on_start, CommandStart())
        router.message.register(self.on_command, Command(*(name for name, _ in MENU if name != "start")))
        router.message.register(self.on_text, _has_text)
        router.message.register(self.on_file, _has_media)
        router.message.register(self.on_other)
        router.callback_query.register(self.on_callback)
        return router

    # ------------------------------------------------------------------ lifetime
    async def start(self) -> None:
        """Check the token, fill the command menu, and start receiving updates."""
        me = await self.bot.me()
        log.info("telegram bot @%s (%s mode)", me.username, self.config.mode)
        await self.downloads.prepare()
        await self.bot.set_my_commands([BotCommand(command=c, description=d) for c, d in MENU])
        allowed = self.dp.resolve_used_update_types()
        if self.config.mode == "webhook":
            assert self.config.webhook_url is not None
            await self.bot.set_webhook(
                url=self.config.webhook_url, secret_token=self.config.secret(), allowed_updates=allowed
            )
            return
        # getUpdates is refused while a webhook is set (e.g. left by an earlier deployment).
        await self.bot.delete_webhook()
        started = asyncio.get_running_loop().create_future()

        async def _started() -> None:
            if not started.done():
                started.set_result(None)

        self.dp.startup.register(_started)
        self._polling = asyncio.create_task(
            self.dp.start_polling(
                self.bot,
                handle_signals=False,  # aiohttp's runner owns the signals
                close_bot_session=False,  # closed in stop(), after the updates in flight
                allowed_updates=allowed,
                tasks_concurrency_limit=POLLING_CONCURRENCY,
            ),
            name="telegram-polling",
        )
        # Return only once polling runs (so that stop() may stop it) or has failed.
        await asyncio.wait({self._polling, started}, return_when=asyncio.FIRST_COMPLETED)
        if self._polling.done():
            started.cancel()
            await self._polling  # raises what went wrong
            raise RuntimeError("telegram polling ended at startup")

    async def stop_receiving(self) -> None:
        """Stop polling and let updates in flight finish (the session stays open)."""
        try:
            if self._polling is not None:
                if not self._polling.done():
                    await self.dp.stop_polling()
                await self._polling
        finally:
            try:
                await asyncio.wait_for(self.inflight.drained(), DRAIN_TIMEOUT)
            except TimeoutError:
                log.warning("%d telegram update(s) still running at shutdown", self.inflight.count)

    async def close(self) -> None:
        await self.bot.session.close()

    # ------------------------------------------------------------------ webhook
    async def handle_webhook(self, request: web.Request) -> web.Response:
        """aiogram's handler (secret checked first: 401 without it), with a malformed body
        answered 400 rather than 500."""
        try:
            return await self.webhook.handle(request)
        except ValueError:  # invalid JSON, or JSON that is not an Update
            log.warning("malformed telegram webhook body", exc_info=True)
            return web.json_response({"ok": False, "description": "malformed update"}, status=400)

    # ------------------------------------------------------------------ updates in
    async def _guard(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        """Every update once here (a redelivery to this process is dropped), counted while it
        runs; the store's claim (:meth:`_handle`) makes it once across restarts and workers."""
        assert isinstance(event, Update)
        self.inflight.enter()
        try:
            if not self.recent.first_time(event.update_id):
                log.info("telegram update %s seen before: skipped", event.update_id)
                return None
            # aiogram handles updates in concurrent tasks, and a filter may await (CommandStart
            # asks for the bot's name): queued here, in arrival order, before any of that, one
            # sender's updates reach their turn in the order Telegram sent them.
            async with self.arrival.hold(_sender(event)):
                return await handler(event, data)
        finally:
            self.inflight.leave()

    def _claim_key(self, update: Update) -> str:
        return f"telegram:update:{self.bot.id}:{update.update_id}"

    async def on_start(self, message: Message, command: CommandObject, event_update: Update) -> None:
        """/start, optionally with a deep-link payload naming a contest (t.me/<bot>?start=<id>)."""
        assert message.from_user is not None
        hint = command.args if command.args and _CONTEST_ID.fullmatch(command.args) else None
        event = Incoming(user_key(message.from_user), EventKind.START)
        await self._handle(event_update, message.chat.id, event, hint)

    async def on_command(self, message: Message, command: CommandObject, event_update: Update) -> None:
        """/help /back /edit /cancel /status (also ``/help@bot``), as the dialog's own words."""
        assert message.from_user is not None
        text = f"/{command.command}"
        if command.command == "edit" and command.args:
            text = f"edit {command.args}"  # "/edit 3": straight to item 3 of the review page
        event = Incoming(user_key(message.from_user), EventKind.TEXT, text=text)
        await self._handle(event_update, message.chat.id, event)

    async def on_text(self, message: Message, event_update: Update) -> None:
        assert message.from_user is not None and message.text is not None
        event = Incoming(user_key(message.from_user), EventKind.TEXT, text=message.text)
        await self._handle(event_update, message.chat.id, event)

    async def on_file(self, message: Message, event_update: Update) -> None:
        """A document, video, photo…: downloaded when allowed, then handed to the dialog."""
        assert message.from_user is not None
        media = media_of(message)
        assert media is not None
        async with self.downloads.fetch(media) as info:
            event = Incoming(user_key(message.from_user), EventKind.FILE, file=info)
            await self._handle(event_update, message.chat.id, event)

    async def on_other(self, message: Message, event_update: Update) -> None:
        """A location, contact, poll…: not an answer to anything, so the polite reply is the help
        for the current step (which asks the question again)."""
        assert message.from_user is not None
        event = Incoming(user_key(message.from_user), EventKind.TEXT, text="/help")
        await self._handle(event_update, message.chat.id, event)

    async def on_callback(self, query: CallbackQuery, event_update: Update) -> None:
        """A button press.  Answered at once (the client shows a spinner until then); stale or
        malformed data is the dialog's to judge: it says the button expired and asks again."""
        try:
            await self.bot.answer_callback_query(callback_query_id=query.id)
        except AiogramError as exc:  # e.g. "query is too old" after a restart: still handle it
            log.info("could not answer callback query: %s", exc)
        event = Incoming(user_key(query.from_user), EventKind.CHOICE, choice=query.data or "")
        await self._handle(event_update, query.from_user.id, event)

    async def _handle(self, update: Update, chat_id: int, event: Incoming, hint: str | None = None) -> None:
        # The update is claimed in the store when first needed (ClaimGate): with the draft for
        # a plain answer (one write, as before), before anything else with an effect, and at
        # the end when nothing was stored (replayed after later updates, a rejected answer
        # could fill a step reached since).  So a redelivery after a crash that came before
        # the claim is handled afresh, and one after it changes nothing.  The claim also
        # records who wrote, for broadcasts to everyone.  Private chats only (the router's
        # filter), so the chat is the user's.
        claim = InboundClaim(self._claim_key(update), UPDATE_SEEN_TTL, event.user, dt.datetime.now(dt.UTC))
        gate = ClaimGate(self.services.storage, claim)

        async def respond(replies: list[Reply]) -> None:
            if gate.pending is not None and not _failed(replies):
                await gate.ensure()
            try:
                await send_replies(self.bot, chat_id, replies)
            except AiogramError as exc:
                # The answer is stored; failing the update would only make Telegram redeliver
                # it (and the claim turn it away).  The entrant sees the question again on /start.
                log.warning("replies to %s not sent: %s", event.user, exc)

        try:
            # Sent inside the user's turn: the replies to two quick messages never interleave.
            await self.services.assistant.handle(event, contest_hint=hint, gate=gate, respond=respond)
        except AlreadyClaimed:
            log.info("telegram update %s handled before: where the user is, again", update.update_id)
            # Read inside the turn: a newer update of this user may be under way meanwhile.
            await self.services.reach.push_made(event.user, lambda: self._handled_before(event.user))

    async def _handled_before(self, user: UserKey) -> list[Reply]:
        """For a redelivered update that was handled before: the progress and the current
        question, read from the store and changing nothing."""
        services = self.services
        draft = await services.storage.get_draft(user)
        if draft is None:
            return [Reply(HANDLED_NO_DRAFT)]
        status = Incoming(user, EventKind.TEXT, text="/status")
        outcome = services.engine.handle(draft.data, status, services.submit.clock())
        return [Reply(HANDLED_BEFORE), *outcome.replies]


def _sender(update: Update) -> int | None:
    """Whose update it is (the chat of a message, the user of a button press)."""
    if update.message is not None:
        return update.message.chat.id
    if update.callback_query is not None:
        return update.callback_query.from_user.id
    return None


class _ArrivalOrder:
    """One FIFO queue per sender, forgotten when empty: ``asyncio.Lock`` wakes its waiters in
    the order they came."""

    def __init__(self) -> None:
        self._queues: dict[int, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, sender: int | None) -> AsyncIterator[None]:
        if sender is None:
            yield
            return
        lock, users = self._queues.get(sender, (asyncio.Lock(), 0))
        self._queues[sender] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._queues[sender]
            if users == 1:
                del self._queues[sender]
            else:
                self._queues[sender] = (lock, users - 1)


def _failed(replies: Sequence[Reply]) -> bool:
    return any(r.meta.get("error") in _FAILED for r in replies)


class TelegramNotifier:
    """Reaches a Telegram user outside of a reply (video checks, reminders)."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def push(self, user: UserKey, replies: list[Reply]) -> None:
        """Send ``replies`` to the user's private chat (its id is the user id).  Called by
        :meth:`handlers.outbound.Reach.push` inside the user's turn, so never in the middle of
        the replies to one of their messages.  A user who blocked the bot is logged and
        skipped; other errors propagate."""
        if user.channel != CHANNEL:
            raise ValueError(f"not a telegram user: {user}")
        chat_id = int(user.user_id)
        try:
            await send_replies(self.bot, chat_id, replies)
        except TelegramForbiddenError:
            log.info("telegram user %s blocked the bot; message dropped", user.user_id)

    def delivery_sender(self) -> TelegramSender:
        """The sender of reminders and broadcasts (:class:`~contests.ports.HandsSender`), on a
        session of its own; the caller closes it."""
        return TelegramSender.on_own_session(self.bot)


TELEGRAM = web.AppKey("telegram", TelegramBot)


class TelegramChannel:
    """Mounts the bot on the ``serve`` app: the webhook route (webhook mode) and the bot's
    lifetime (session, menu, webhook or polling task, notifier) in ``cleanup_ctx``."""

    name = CHANNEL

    def __init__(self, config: TelegramSettings) -> None:
        self.config = config

    def setup(self, app: web.Application) -> None:
        if self.config.mode == "webhook":
            app.router.add_post(WEBHOOK_PATH, _webhook)
        app.cleanup_ctx.append(self._lifetime)

    async def _lifetime(self, app: web.Application) -> AsyncIterator[None]:
        services = app[SERVICES]
        bot = TelegramBot(self.config, services)
        app[TELEGRAM] = bot
        try:
            await bot.start()
            services.reach.register(self.name, TelegramNotifier(bot.bot))
            yield
        finally:
            try:
                await bot.stop_receiving()
                # Forms and receipts are drawn after the reply and pushed through this bot: let
                # them go out before the bot goes (the services close after the channels).
                await services.submit.aclose()
                await services.reach.drain()  # and what was posted (relays, ticket notices)
            finally:
                services.reach.unregister(self.name)
                await bot.close()


async def _webhook(request: web.Request) -> web.Response:
    return await request.app[TELEGRAM].handle_webhook(request)


def create(settings: Settings, config: TelegramSettings | None = None) -> TelegramChannel | None:
    """The channel, or None when no ``BOT_TELEGRAM_TOKEN`` is set.  ``config`` defaults to the
    environment (read here, not at import)."""
    config = config if config is not None else TelegramSettings()
    return TelegramChannel(config) if config.enabled else None
