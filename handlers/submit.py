"""The submit use case: one event of one user through the dialog, with the draft stored.

Channels (terminal, Telegram, WeChat, web) translate their updates to :class:`Incoming` and
send back the :class:`Reply` list; everything in between happens here, under the user's lock,
so that two updates of one user are never handled at once, even on two workers.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from bot.storage.base import Draft, EventIsolation, StaleDraftError, Storage
from dialogs.engine import DialogEngine
from dialogs.events import Incoming, Reply

log = logging.getLogger(__name__)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class SubmitHandler:
    def __init__(
        self,
        engine: DialogEngine,
        storage: Storage,
        isolation: EventIsolation,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.storage = storage
        self.isolation = isolation
        self.clock = clock

    async def handle(self, event: Incoming, *, contest_hint: str | None = None) -> list[Reply]:
        """Handle one event; on a storage failure the stored draft is left as it was."""
        try:
            async with self.isolation.lock(f"user:{event.user}"):
                return await self._handle_locked(event, contest_hint)
        except Exception:
            log.exception("event of %s failed", event.user)
            return [Reply(self.engine.msg.render("internal_error"), meta={"error": "internal"})]

    async def _handle_locked(self, event: Incoming, contest_hint: str | None) -> list[Reply]:
        draft = await self.storage.get_draft(event.user)
        now = self.clock()
        outcome = self.engine.handle(draft.data if draft else None, event, now, contest_hint=contest_hint)
        if outcome.submit is not None:
            req = outcome.submit
            submission = await self.storage.create_submission(
                prefix=req.prefix,
                contest_id=req.contest_id,
                user=event.user,
                channel_id=req.channel_id,
                form_id=req.form_id,
                answers=req.answers,
                video=req.video,
                now=now,
            )
            assert outcome.state is not None
            log.info("submission %s by %s", submission.number, event.user)
            return [*outcome.replies, *self.engine.submitted(outcome.state, submission.number).replies]
        if outcome.state is None:
            if draft is not None:
                await self.storage.delete_draft(event.user)
        elif draft is None or outcome.state != draft.data:
            new = Draft(user=event.user, data=outcome.state, version=draft.version if draft else 0)
            try:
                await self.storage.save_draft(new)
            except StaleDraftError:
                # Only possible if the lock expired under a very slow event: drop this answer,
                # keep what is stored, and ask the user to send it again.
                log.warning("stale draft for %s; event dropped", event.user)
                return [Reply(self.engine.msg.render("internal_error"), meta={"error": "stale"})]
        return outcome.replies
