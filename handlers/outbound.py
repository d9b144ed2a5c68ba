"""Messages to a user outside a reply to their own message: documents drawn later, an
upload's verdict, an operator's answer, a reminder.

Each running channel registers its notifier here when it starts (:meth:`Reach.register`).
A push takes the user's turn (the lock :class:`handlers.router.Assistant` holds while it
handles one of their messages and sends the replies), so that it never lands in the middle of
those replies.  Code that runs inside a turn must not wait for another turn (it could be its
own, or one that waits for its own): it :meth:`Reach.post` s instead, and the message goes out
from a task of its own, kept and awaited by :meth:`Reach.drain`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

from contests.events import Document, Placement, Reply
from contests.ports import EventIsolation, Notifier, PlansDocuments
from contests.records import UserKey

log = logging.getLogger(__name__)


async def _ready(replies: list[Reply]) -> list[Reply]:
    return replies


def turn_key(user: UserKey) -> str:
    """The isolation key of a user's turn."""
    return f"user:{user}"


class Reach:
    """The channels' notifiers, and pushes ordered with the users' turns."""

    def __init__(self, isolation: EventIsolation) -> None:
        self.isolation = isolation
        self._notifiers: dict[str, Notifier] = {}
        self._posted: set[asyncio.Task[None]] = set()

    @property
    def notifiers(self) -> Mapping[str, Notifier]:
        """The notifiers of the channels running now, by channel name."""
        return self._notifiers

    def register(self, channel: str, notifier: Notifier) -> None:
        """A channel that started: its users can be reached from now on."""
        self._notifiers[channel] = notifier

    def unregister(self, channel: str) -> None:
        """A channel that stopped."""
        self._notifiers.pop(channel, None)

    def can_reach(self, user: UserKey) -> bool:
        """Whether :meth:`push` can reach this user (their channel runs in this process)."""
        return user.channel in self._notifiers

    def plan_documents(
        self, user: UserKey, files: Sequence[tuple[str, str]]
    ) -> list[tuple[Document, Placement]] | None:
        """Links to documents not drawn yet, where the user's channel gives them (WeChat);
        else None, and the documents are pushed once drawn."""
        notifier = self._notifiers.get(user.channel)
        if isinstance(notifier, PlansDocuments):
            return notifier.plan_documents(files)
        return None

    async def push(self, user: UserKey, replies: list[Reply]) -> bool:
        """Send to a user once their turn is free; False when their channel cannot (the
        terminal, or a channel not running in this process).  Never call it inside a turn."""
        return await self.push_made(user, lambda: _ready(replies))

    async def push_made(self, user: UserKey, make: Callable[[], Awaitable[list[Reply]]]) -> bool:
        """:meth:`push` of replies made inside the user's turn, from what the store holds then
        (not before another event of theirs changed it)."""
        notifier = self._notifiers.get(user.channel)
        if notifier is None:
            log.warning("no way to reach %s now; message(s) not delivered", user)
            return False
        async with self.isolation.lock(turn_key(user)):
            await notifier.push(user, await make())
        return True

    async def settle(self, user: UserKey, make: Callable[[], Awaitable[list[Reply]]]) -> bool:
        """Run ``make`` in the user's turn, whether or not their channel runs here (what it
        stores cannot interleave with their own events), then push its replies where it can.
        False when the replies could not go out (none, or no channel reaches the user)."""
        async with self.isolation.lock(turn_key(user)):
            replies = await make()
            notifier = self._notifiers.get(user.channel)
            if not replies:
                return False
            if notifier is None:
                log.info("%s is not reachable from this process; kept for 我的投稿 and the console", user)
                return False
            await notifier.push(user, replies)
        return True

    async def post(self, user: UserKey, replies: list[Reply]) -> None:
        """:meth:`push` from a task of its own: what code inside a turn uses."""

        async def send() -> None:
            try:
                await self.push(user, replies)
            except Exception:
                log.exception("message to %s could not be sent", user)

        task = asyncio.get_running_loop().create_task(send())
        self._posted.add(task)
        task.add_done_callback(self._posted.discard)

    async def drain(self) -> None:
        """Wait for the posted messages still on their way (at shutdown, and in tests)."""
        while self._posted:
            await asyncio.gather(*list(self._posted), return_exceptions=True)


# Sends an entrant a message outside of a reply to their own, from someone else's turn (an
# organiser's decision, a unit's confirmation): it must post, never wait for the entrant's turn.
Tell = Callable[[UserKey, list[Reply]], Awaitable[None]]


async def tell(send: Tell | None, user: UserKey, text: str, contest_id: str) -> None:
    """Tell ``user`` about their own submission; a message that cannot go out is only logged
    (the entrant sees the state in 我的投稿 whatever happens)."""
    if send is None:
        return
    try:
        await send(user, [Reply(text, meta={"contest": contest_id})])
    except Exception:
        log.warning("could not tell %s about their submission: %s", user, text[:40], exc_info=True)
