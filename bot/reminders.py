"""The reminders' use case opened on the job store the settings name: the one root of the
``broadcast`` command and of ``serve`` (``bot/deliveries.py`` adds the channels' senders).

Light on purpose: every CLI command module is imported at start-up, so nothing of the
channels is imported here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager

from bot.settings import Settings
from bot.settings_remind import RemindSettings
from bot.storage.jobs import open_job_store
from contests.ports import JobStore, OrgStore, OwnedSender, Storage
from contests.rules import ContestRegistry
from handlers.deliveries import Outlet
from handlers.remind.service import RemindService

__all__ = ["Outlets", "open_reminders"]

#: Makes the channels' outlets once the job store is open; returns them and the senders that
#: hold a connection of their own (closed when the service is).
Outlets = Callable[[JobStore], tuple[Mapping[str, Outlet], Sequence[OwnedSender]]]


@asynccontextmanager
async def open_reminders(
    settings: Settings,
    contests: ContestRegistry,
    storage: Storage,
    org: OrgStore,
    config: RemindSettings | None = None,
    *,
    outlets: Outlets | None = None,
) -> AsyncIterator[RemindService]:
    """The job store and the service on it, sending through what ``outlets`` makes (none:
    the service makes and reads jobs, as the CLI does, but has nothing to send with)."""
    remind = config or RemindSettings()
    url = settings.redis_url.get_secret_value() if settings.redis_url else None
    jobs = await open_job_store(data_dir=settings.data_dir, redis_url=url, redis_prefix=settings.redis_prefix)
    opened: Sequence[OwnedSender] = ()
    try:
        made: Mapping[str, Outlet] = {}
        if outlets is not None:
            made, opened = outlets(jobs)
        yield RemindService(
            contests,
            storage,
            org,
            jobs,
            remind.remind_config(),
            outlets=made,
            worker_config=remind.worker_config(),
        )
    finally:
        for sender in opened:
            await sender.aclose()
        await jobs.close()
