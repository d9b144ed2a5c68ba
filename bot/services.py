"""The one bootstrap of the services: settings in, every store, service and handler out.

``services(settings)`` builds them in order, each given its collaborators at construction,
and closes them on exit (last opened first).  ``serve``, ``chat``, every CLI command and the
tests call it; nothing is built at import time.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bot.settings import Settings
from bot.storage import open_stores
from bot.storage.base import Stores, session_hash
from contests.deliveries import NOTICE_JOB_PREFIX, Job, JobKind, notice_audience
from contests.events import Reply
from contests.ports import EventIsolation, Notifier, Storage
from contests.records import UserKey
from contests.registry import ContestRegistry
from contests.rules import Contest
from contests.tickets import Ticket
from dialogs.engine import DialogEngine
from dialogs.messages import Messages
from forms.paperwork import Paperwork
from forms.receipts import ReceiptSettings, load_signing_key_async
from handlers.admin.commands import OrgCommands
from handlers.admin.service import AdminService
from handlers.console.login import ConsoleCommand, ConsoleSignIn
from handlers.console.service import ConsoleService
from handlers.content import ContentChecks
from handlers.draft_cache import DraftCache
from handlers.follow_ups import FollowUps
from handlers.helpdesk.answer import Helpdesk
from handlers.helpdesk.service import HelpdeskService, format_for_operators
from handlers.outbound import Reach
from handlers.quota.service import QuotaService
from handlers.review.commands import ReviewCommands
from handlers.review.service import ReviewService
from handlers.router import Assistant
from handlers.submit import SubmitHandler, UploadLinks
from validators.content import ContentReport, check_content
from validators.download import fetched_video
from validators.media import check_video
from validators.probe import probe_link

log = logging.getLogger(__name__)

# A direct link's video fetched for the content checks: the notice's size limit, else this;
# and the time the whole download may take.
FETCH_MAX_MIB = 2048
FETCH_TIMEOUT_S = 1800.0

# Users whose last stored draft the submit handler keeps in memory (a few KB each).
# bench/README.md 'WeChat' session 4: ~90 + ~80 µs less per typed answer.
DRAFT_CACHE = 10_000


@dataclass(slots=True)
class Services:
    """What the channels and pages share for the lifetime of one process."""

    settings: Settings
    contests: ContestRegistry
    stores: Stores
    engine: DialogEngine
    reach: Reach
    submit: SubmitHandler
    assistant: Assistant
    quota: QuotaService
    admin: AdminService
    helpdesk: HelpdeskService
    review: ReviewService
    http: aiohttp.ClientSession
    sign_in: ConsoleSignIn
    console: ConsoleService
    content: ContentChecks
    follow_ups: FollowUps

    @property
    def storage(self) -> Storage:
        return self.stores.storage

    @property
    def isolation(self) -> EventIsolation:
        return self.stores.isolation

    @property
    def notifiers(self) -> Mapping[str, Notifier]:
        """The running channels' notifiers (registered in :attr:`reach` as they start)."""
        return self.reach.notifiers


class _Operators:
    """Tells the operators named in settings about a new helpdesk ticket, via their channels.

    Called inside the asker's turn, so each message is posted, not pushed: waiting there for an
    operator's turn could wait for the asker's own."""

    def __init__(self, reach: Reach, operators: frozenset[str]) -> None:
        self.reach = reach
        self.operators = sorted(operators)

    async def __call__(self, ticket: Ticket) -> None:
        if not self.operators:
            log.warning("helpdesk ticket with no operator configured:\n%s", format_for_operators(ticket))
        for key in self.operators:
            channel, _, user_id = key.partition(":")
            await self.reach.post(UserKey(channel, user_id), [Reply(format_for_operators(ticket))])


@asynccontextmanager
async def services(
    settings: Settings, *, uploads: UploadLinks | None = None, public_url: str | None = None
) -> AsyncIterator[Services]:
    """Everything a channel needs, opened here and closed on exit, last opened first closed.

    ``uploads`` mints the personal large-file upload links, where a page serves them
    (``serve``); without it the dialog offers none.  ``public_url`` is where people reach the
    pages (``serve`` knows it; default :attr:`Settings.public_base_url`, else the listening
    address): the console's sign-in links start with it.
    """

    contests = ContestRegistry.load(settings.contest_folder)
    engine = DialogEngine(contests, Messages(settings.locale))
    redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
    async with AsyncExitStack() as stack:
        stores = await stack.enter_async_context(
            open_stores(
                data_dir=settings.data_dir,
                redis_url=redis_url,
                redis_prefix=settings.redis_prefix,
                redis_cluster=settings.redis_cluster,
                lock_timeout=settings.redis_lock_timeout,
            )
        )
        storage, isolation, org, tickets = stores.storage, stores.isolation, stores.org, stores.tickets
        http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        stack.push_async_callback(http.close)
        receipt_settings = ReceiptSettings()
        key = await load_signing_key_async(settings.data_dir, receipt_settings)

        async def probe(url: str, contest: Contest) -> object:
            return await probe_link(url, contest, session=http, allow_private=settings.links_allow_private)

        # bench/README.md 'Documents at the deadline': one drawing process a core.
        paperwork = Paperwork(
            key,
            verify_url=receipt_settings.verify_url,
            workers=settings.drawing_workers,
            folder=settings.media_folder / "drawn",
        )
        stack.push_async_callback(paperwork.aclose)  # after the documents still being drawn
        reach = Reach(isolation)
        stack.push_async_callback(reach.drain)

        async def tell(user: UserKey, replies: list[Reply]) -> None:
            # An entrant told what their unit or an organiser did, from someone else's turn:
            # posted, not pushed.  WeChat allows 客服消息 only 48 h after the user last wrote,
            # then a template where configured: a notice job, sent by the delivery worker,
            # which knows those rules.  Where no channel of this process reaches them (the
            # terminal, a channel another worker runs), the state waits in 我的投稿.
            if user.channel == "wechat":
                now = dt.datetime.now(dt.UTC)
                job = Job(
                    id=f"{NOTICE_JOB_PREFIX}{uuid.uuid4().hex}",
                    kind=JobKind.NOTICE,
                    contest_id=replies[0].meta.get("contest", ""),
                    audience=notice_audience(user),
                    text="\n".join(r.text for r in replies),
                    at=now,
                    created_by="system",
                    created_at=now,
                )
                await stores.jobs.create_job(job)
            elif reach.can_reach(user):
                await reach.post(user, replies)
            else:
                log.info("%s is not reachable from this process; not told: %s", user, replies[0].text[:40])

        async def content_check(path: Path, contest: Contest, title: str) -> ContentReport:
            return await check_content(path, contest, title=title)

        # A whole video takes minutes to arrive: no total limit per request, as ``http`` has,
        # but one per read, and the download's own budget (FETCH_TIMEOUT_S).
        downloads = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_read=60))
        stack.push_async_callback(downloads.close)

        def download(url: str, contest: Contest) -> AbstractAsyncContextManager[Path | str]:
            limit = contest.video.max_size_mib if contest.video else None
            return fetched_video(
                url,
                session=downloads,
                max_bytes=int((limit or FETCH_MAX_MIB) * 1024 * 1024) + 1,
                timeout=FETCH_TIMEOUT_S,
                allow_private=settings.links_allow_private,
                tmp_dir=settings.media_folder / "fetched",
            )

        # SQLite serves one worker process, the only one writing its drafts; with Redis another
        # worker may have handled the user's last event (see SubmitHandler).  The dialog and the
        # content checks (which keep a report with the draft) share it.
        drafts = DraftCache(0 if redis_url else DRAFT_CACHE)
        content = ContentChecks(
            contests,
            storage,
            stores.fingerprints,
            reach,
            content_check,
            engine.msg,
            download=download,
            workers=settings.content_workers,
            queue=settings.content_queue,
            drafts=drafts,
        )
        stack.push_async_callback(content.aclose)  # before the stores: a check's child is ended
        quota = QuotaService(contests, storage, org, tell=tell, audit=stores.audit)
        review = ReviewService(contests, storage, org, tell=tell, audit=stores.audit)
        admin = AdminService(contests, storage, org, audit=stores.audit)
        # The forms owed to confirmed submissions, taken over from a worker that died (held
        # as long as a user's turn would be: BOT_REDIS_LOCK_TIMEOUT).
        follow_ups = FollowUps(
            storage,
            paperwork,
            contests,
            engine.msg,
            reach,
            lease=dt.timedelta(seconds=settings.redis_lock_timeout),
        )
        stack.push_async_callback(follow_ups.aclose)  # before the drawing processes end
        submit = SubmitHandler(
            engine,
            storage,
            media_checker=check_video,
            link_prober=probe,  # type: ignore[arg-type]
            video_dir=settings.media_folder / "videos",
            scan_dir=settings.media_folder / "scans",
            quota=quota,
            paperwork=paperwork,
            uploads=uploads,
            pusher=reach,
            resubmitter=review,
            content=content,
            follow_ups=follow_ups,
            draft_cache=drafts,
        )
        stack.push_async_callback(submit.aclose)  # documents still being drawn are sent first

        async def relay(user: UserKey, text: str) -> None:
            # An operator's answer, sent from the operator's turn: posted, not pushed.  What
            # cannot go out at all fails here, so the operator is told to try again.
            if not reach.can_reach(user):
                raise LookupError(f"no channel reaches {user} in this process")
            await reach.post(user, [Reply(text)])

        helpdesk = HelpdeskService(
            Helpdesk(contests, [settings.data_dir / "faq"]),
            tickets,
            _Operators(reach, settings.operator_keys),
            relay,
            own_submissions=review.own_submissions,
        )
        sign_in = ConsoleSignIn(
            storage,
            org,
            stores.audit,
            base_url=public_url or settings.public_base_url or listening_url(settings),
            hash_token=session_hash,
        )
        assistant = Assistant(
            submit,
            storage,
            isolation,
            org=OrgCommands(admin, quota),
            helpdesk=helpdesk,
            operators=settings.operator_keys,
            extra=[ReviewCommands(review, submit), ConsoleCommand(sign_in)],
        )
        yield Services(
            settings,
            contests,
            stores,
            engine,
            reach,
            submit,
            assistant,
            quota,
            admin,
            helpdesk,
            review,
            http,
            sign_in,
            ConsoleService(admin, quota, org, stores.audit, review=review),
            content,
            follow_ups,
        )


def listening_url(settings: Settings) -> str:
    """``http://HTTP_HOST:HTTP_PORT``: the service's own address, where no public one is set."""
    host = settings.http_host
    return f"http://[{host}]:{settings.http_port}" if ":" in host else f"http://{host}:{settings.http_port}"
