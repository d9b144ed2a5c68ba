"""The reminders' use case on the stores the bootstrap opened: the one root of the
``broadcast`` command and of ``serve`` (``bot/deliveries.py`` adds the channels' senders).

Light on purpose: every CLI command module is imported at start-up, so nothing of the
channels is imported here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager

from bot.settings_remind import RemindSettings
from contests.ports import JobStore, OrgStore, OwnedSender, Storage
from contests.registry import ContestRegistry
from handlers.deliveries import Outlet
from handlers.remind.service import RemindService

__all__ = ["Outlets", "open_reminders"]

#: Makes the channels' outlets once the job store is open; returns them and the senders that
#: hold a connection of their own (closed when the service is).
Outlets = Callable[[JobStore], tuple[Mapping[str, Outlet], Sequence[OwnedSender]]]


@asynccontextmanager
async def open_reminders(
    contests: ContestRegistry,
    storage: Storage,
    org: OrgStore,
    jobs: JobStore,
    config: RemindSettings | None = None,
    *,
    outlets: Outlets | None = None,
) -> AsyncIterator[RemindService]:
    """The service on ``jobs``, sending through what ``outlets`` makes (none: the service
    makes and reads jobs, as the CLI does, but has nothing to send with); the senders that
    hold a connection of their own are closed on exit."""
    remind = config or RemindSettings()
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
