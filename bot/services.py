"""The one bootstrap of the services: settings in, every store, service and handler out.

``services(settings)`` builds them in order, each given its collaborators at construction,
and closes them on exit (last opened first).  ``serve``, ``chat``, every CLI command and the
tests call it; nothing is built at import time.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

import aiohttp

from bot.settings import Settings
from bot.storage import open_stores
from bot.storage.base import Stores
from contests.events import Document, Placement, Reply
from contests.ports import EventIsolation, Notifier, PlansDocuments, Storage
from contests.records import UserKey
from contests.rules import Contest, ContestRegistry
from contests.tickets import Ticket
from dialogs.engine import DialogEngine
from dialogs.messages import Messages
from forms.paperwork import Paperwork
from forms.receipts import ReceiptSettings, load_signing_key_async
from handlers.admin.commands import OrgCommands
from handlers.admin.service import AdminService
from handlers.helpdesk.answer import Helpdesk
from handlers.helpdesk.service import HelpdeskService, format_for_operators
from handlers.quota.service import QuotaService
from handlers.router import Assistant
from handlers.submit import SubmitHandler
from validators.media import check_video
from validators.probe import probe_link

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
    stores: Stores
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

    contests = ContestRegistry.load(settings.contest_folder)
    engine = DialogEngine(contests, Messages(settings.locale))
    redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
    async with AsyncExitStack() as stack:
        stores = await stack.enter_async_context(
            open_stores(data_dir=settings.data_dir, redis_url=redis_url, redis_prefix=settings.redis_prefix)
        )
        storage, isolation, org, tickets = stores.storage, stores.isolation, stores.org, stores.tickets
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
            settings,
            contests,
            storage,
            isolation,
            engine,
            submit,
            assistant,
            quota,
            admin,
            helpdesk,
            http,
            stores,
        )
        holder.append(svc)
        submit.pusher = svc
        stack.push_async_callback(submit.aclose)  # documents still being drawn are sent first
        yield svc
