"""The composition root: settings in, services and the aiohttp application out.

Nothing is built at import time; ``services(settings)`` opens the store and closes it on exit,
and ``create_app(settings)`` ties the same lifetime to the web application via ``cleanup_ctx``.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web

from bot.channels import Channel, discover
from bot.deliveries import remind_context
from bot.settings import Settings
from bot.settings_remind import RemindSettings
from bot.storage import open_storage
from bot.web import setup_web
from bot.web.upload import UploadSettings
from contests.events import Document, Placement, Reply
from contests.ports import EventIsolation, Notifier, PlansDocuments, Storage
from contests.records import UserKey
from contests.rules import Contest, ContestRegistry
from dialogs.engine import DialogEngine
from dialogs.messages import Messages
from handlers.router import Assistant
from handlers.submit import SubmitHandler

if TYPE_CHECKING:
    from contests.tickets import Ticket
    from handlers.admin import AdminService
    from handlers.helpdesk import HelpdeskService
    from handlers.quota import QuotaService

log = logging.getLogger(__name__)
# Users whose last stored draft the submit handler keeps in memory (a few KB each).
DRAFT_CACHE = 10_000


@dataclass(slots=True)
class Services:
    """What the channels and pages share for the lifetime of one process."""

    settings: Settings
    contests: ContestRegistry
    storage: Storage
    isolation: EventIsolation
    engine: DialogEngine
    submit: SubmitHandler
    assistant: Assistant
    quota: QuotaService
    admin: AdminService
    helpdesk: HelpdeskService
    http: aiohttp.ClientSession
    # Channel name -> how to reach its users later; filled in by each channel's setup.
    notifiers: dict[str, Notifier] = field(default_factory=dict)

    def can_reach(self, user: UserKey) -> bool:
        """Whether :meth:`push` can reach this user (their channel runs in this process)."""
        return user.channel in self.notifiers

    def plan_documents(
        self, user: UserKey, files: Sequence[tuple[str, str]]
    ) -> list[tuple[Document, Placement]] | None:
        """Links to documents not drawn yet, where the user's channel gives them (WeChat);
        else None, and the documents are pushed once drawn."""
        notifier = self.notifiers.get(user.channel)
        if isinstance(notifier, PlansDocuments):
            return notifier.plan_documents(files)
        return None

    async def push(self, user: UserKey, replies: list[Reply]) -> bool:
        """Send to a user outside a reply to their own message; False when their channel
        cannot (the terminal, or a channel that is not running in this process)."""
        notifier = self.notifiers.get(user.channel)
        if notifier is None:
            log.warning("no way to reach %s now; %d message(s) not delivered", user, len(replies))
            return False
        await notifier.push(user, replies)
        return True


class _Operators:
    """Tells the operators named in settings about a new helpdesk ticket, via their channels."""

    def __init__(self, svc: list[Services]) -> None:
        self._svc = svc

    async def __call__(self, ticket: Ticket) -> None:
        from handlers.helpdesk import format_for_operators

        svc = self._svc[0]
        keys = sorted(svc.settings.operator_keys)
        if not keys:
            log.warning("helpdesk ticket with no operator configured:\n%s", format_for_operators(ticket))
        for key in keys:
            channel, _, user_id = key.partition(":")
            await svc.push(UserKey(channel, user_id), [Reply(format_for_operators(ticket))])


@asynccontextmanager
async def services(settings: Settings) -> AsyncIterator[Services]:
    """Everything a channel needs, opened here and closed on exit, last opened first closed."""
    from bot.storage.org import open_org_store
    from bot.storage.tickets import open_ticket_store
    from forms.paperwork import Paperwork
    from forms.receipts import ReceiptSettings, load_signing_key_async
    from handlers.admin import AdminService, OrgCommands
    from handlers.helpdesk import HelpdeskService
    from handlers.knowledge import Helpdesk
    from handlers.quota import QuotaService
    from validators.media import check_video
    from validators.probe import probe_link

    contests = ContestRegistry.load(settings.contest_folder)
    engine = DialogEngine(contests, Messages(settings.locale))
    redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
    stores = {"data_dir": settings.data_dir, "redis_url": redis_url, "redis_prefix": settings.redis_prefix}
    async with AsyncExitStack() as stack:
        storage, isolation = await open_storage(**stores)  # type: ignore[arg-type]
        stack.push_async_callback(storage.close)
        stack.push_async_callback(isolation.close)
        org = await open_org_store(**stores)  # type: ignore[arg-type]
        stack.push_async_callback(org.close)
        tickets = await open_ticket_store(**stores)  # type: ignore[arg-type]
        stack.push_async_callback(tickets.close)
        http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        stack.push_async_callback(http.close)
        receipt_settings = ReceiptSettings()
        key = await load_signing_key_async(settings.data_dir, receipt_settings)

        async def probe(url: str, contest: Contest) -> object:
            return await probe_link(url, contest, session=http, allow_private=settings.links_allow_private)

        paperwork = Paperwork(key, verify_url=receipt_settings.verify_url, folder=settings.data_dir / "drawn")
        stack.push_async_callback(paperwork.aclose)  # after the documents still being drawn
        quota = QuotaService(contests, storage, org)
        admin = AdminService(contests, storage, org)
        submit = SubmitHandler(
            engine,
            storage,
            isolation,
            media_checker=check_video,
            link_prober=probe,  # type: ignore[arg-type]
            video_dir=settings.data_dir / "videos",
            scan_dir=settings.data_dir / "scans",
            quota=quota,
            paperwork=paperwork,
            # SQLite serves one worker process, the only one writing its drafts; with Redis
            # another worker may have handled the user's last event (see SubmitHandler).
            draft_cache=0 if redis_url else DRAFT_CACHE,
        )
        holder: list[Services] = []  # the helpdesk reaches users through the channels' notifiers

        async def push(user: UserKey, text: str) -> None:
            await holder[0].push(user, [Reply(text)])

        helpdesk = HelpdeskService(
            Helpdesk(contests, [settings.data_dir / "faq"]), tickets, _Operators(holder), push
        )
        assistant = Assistant(
            submit,
            storage,
            org=OrgCommands(admin, quota),
            helpdesk=helpdesk,
            operators=settings.operator_keys,
        )
        svc = Services(
            settings, contests, storage, isolation, engine, submit, assistant, quota, admin, helpdesk, http
        )
        holder.append(svc)
        submit.pusher = svc
        stack.push_async_callback(submit.aclose)  # documents still being drawn are sent first
        yield svc


SERVICES = web.AppKey("services", Services)
SETTINGS = web.AppKey("settings", Settings)
CHANNELS = web.AppKey("channels", list[Channel])


async def _services_ctx(app: web.Application) -> AsyncIterator[None]:
    async with services(app[SETTINGS]) as svc:
        app[SERVICES] = svc
        yield


async def healthz(request: web.Request) -> web.Response:
    svc = request.app[SERVICES]
    return web.json_response(
        {
            "status": "ok",
            "storage": "redis" if svc.settings.redis_url else "sqlite",
            "contests": len(svc.contests),
            "channels": [c.name for c in request.app[CHANNELS]],
        }
    )


async def freeze_heap(app: web.Application) -> None:
    """An ``on_startup`` hook of ``serve``, last, once the services and channels are up.

    What exists by then (modules, contests, compiled templates, the channels) lives as long as
    the process, yet every full collection of the cyclic GC walked it again: ~45 ms each, about
    4% of the CPU the dialog costs under load (bench/bench_wechat.py).  Collected once, then
    frozen: only what is allocated later is scanned.
    """
    gc.collect()
    gc.freeze()
    log.debug("%d objects of the startup heap frozen for the GC", gc.get_freeze_count())


def create_app(
    settings: Settings,
    channels: list[Channel] | None = None,
    *,
    upload_settings: UploadSettings | None = None,
    remind_settings: RemindSettings | None = None,
) -> web.Application:
    """The aiohttp application of ``serve``; the chat channels mount their webhooks on it.

    ``channels`` defaults to those configured in the environment (:func:`bot.channels.discover`).
    """
    app = web.Application(client_max_size=1024**2)
    app[SETTINGS] = settings
    app.cleanup_ctx.append(_services_ctx)  # first: the channels' lifetimes use the services
    app.router.add_get("/healthz", healthz)
    app[CHANNELS] = discover(settings) if channels is None else channels
    for channel in app[CHANNELS]:
        channel.setup(app)
    # After the channels: the delivery worker sends through their notifiers, and stops first.
    app.cleanup_ctx.append(remind_context(lambda running: running[SERVICES], remind_settings))
    # The upload page always; the web chat page only when no chat channel is configured, so
    # that a newcomer can try the dialog in a browser (it listens where BOT_HTTP_HOST says).
    setup_web(app, settings, chat_page=not app[CHANNELS], upload_settings=upload_settings)
    if not app[CHANNELS]:
        log.warning(
            "no chat channel is configured: set BOT_TELEGRAM_TOKEN or BOT_WECHAT_TOKEN (see .env.example); "
            "meanwhile `python -m bot chat` runs the whole dialog in the terminal"
        )
    return app
