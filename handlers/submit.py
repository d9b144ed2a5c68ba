"""The submit use case: one event of one user through the dialog, with the draft stored.

Channels (terminal, Telegram, WeChat, web) translate their updates to :class:`Incoming` and
send back the :class:`Reply` list; everything in between happens here, under the user's lock,
so that two updates of one user are never handled at once, even on two workers.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from bot.contests import SHANGHAI, Contest
from bot.storage.base import Draft, EventIsolation, StaleDraftError, Storage, UserKey
from dialogs.engine import DialogEngine
from dialogs.events import EventKind, Incoming, Reply
from dialogs.states import Submission

log = logging.getLogger(__name__)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class MediaReportLike(Protocol):
    @property
    def ok(self) -> bool: ...
    @property
    def sha256(self) -> str | None: ...
    def to_dict(self) -> dict[str, Any]: ...
    def text_zh(self) -> str: ...


class MediaChecker(Protocol):
    """Checks a received video file against a contest's rules (``validators.media.check_video``)."""

    async def __call__(self, path: Path, contest: Contest) -> MediaReportLike: ...


class UploadLinks(Protocol):
    """Mints a personal, expiring large-file upload link for one entrant's draft."""

    async def mint(self, user: UserKey, contest_id: str) -> tuple[str, dt.datetime]: ...


def keep_video(path: Path, folder: Path, sha256: str) -> Path:
    """Keep an accepted video under its content hash: never under the client's file name, and
    the channel may delete its own temporary copy afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{sha256}.mp4"
    if not target.exists():
        partial = target.with_suffix(".part")
        try:
            os.link(path, partial)  # same disk: no copy of a 300 MB file
        except OSError:
            shutil.copyfile(path, partial)
        os.replace(partial, target)
    return target


class SubmitHandler:
    def __init__(
        self,
        engine: DialogEngine,
        storage: Storage,
        isolation: EventIsolation,
        clock: Callable[[], dt.datetime] = utcnow,
        *,
        media_checker: MediaChecker | None = None,
        uploads: UploadLinks | None = None,
        video_dir: Path | None = None,
    ) -> None:
        self.engine = engine
        self.storage = storage
        self.isolation = isolation
        self.clock = clock
        self.media_checker = media_checker
        self.uploads = uploads
        self.video_dir = video_dir

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
        event = await self._check_media(event, draft)
        outcome = self.engine.handle(draft.data if draft else None, event, now, contest_hint=contest_hint)
        replies = list(outcome.replies)
        for action in outcome.actions:
            replies.extend(await self._do(action, event.user, outcome.state))
        outcome.replies = replies
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

    async def _check_media(self, event: Incoming, draft: Draft | None) -> Incoming:
        """A video file at the video step is checked here, before the dialog sees the event."""
        if (
            event.kind is not EventKind.FILE
            or event.file is None
            or not event.file.path
            or event.media is not None
            or self.media_checker is None
            or draft is None
            or draft.data.get("step") != Submission.VIDEO
        ):
            return event
        contest = self.engine.contests.get(draft.data.get("contest") or "")
        if contest is None or "file" not in contest.delivery.accepts:
            return event
        report = await self.media_checker(Path(event.file.path), contest)
        media = {**report.to_dict(), "text": report.text_zh()}
        if report.ok and report.sha256 and self.video_dir is not None:
            kept = await asyncio.to_thread(keep_video, Path(event.file.path), self.video_dir, report.sha256)
            media["stored"] = str(kept)
        return dataclasses.replace(event, media=media)

    async def _do(self, action: str, user: UserKey, state: dict[str, Any] | None) -> list[Reply]:
        if action == "upload_link":
            contest_id = (state or {}).get("contest") or ""
            if self.uploads is None:
                return [Reply(self.engine.msg.render("upload_unavailable"))]
            url, expires = await self.uploads.mint(user, contest_id)
            when = expires.astimezone(SHANGHAI).strftime("%m月%d日%H:%M")
            return [
                Reply(self.engine.msg.render("upload_link", url=url, expires=when), meta={"upload_url": url})
            ]
        raise ValueError(f"unknown dialog action {action!r}")
