"""A finished upload handed to the dialog, and what the page then shows of it.

The dialog takes the video as a FILE event of the link's owner, exactly as if the chat had
carried it; its replies go to the owner's chat and make the page's verdict.  After a crash
the video record the dialog kept in the draft (or the submission) tells whether it took the
file already (:func:`holder`), so that a finish run again never hands it over twice.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Final

from bot.services import Services
from bot.web.upload_links import UploadGrant
from contests.events import EventKind, FileInfo, Incoming, Reply
from contests.records import UserKey
from dialogs.states import Step
from validators.media_text import format_size

log = logging.getLogger(__name__)

RECOVERED: Final = "您的视频已收到并保存到报名草稿。请回到聊天中继续报名。"


async def hand_over(
    svc: Services, grant: UploadGrant, meta: dict[str, Any], video: Path, sha256: str
) -> dict[str, Any]:
    """Run the dialog with the video and push its replies to the chat: the verdict."""
    info = FileInfo(
        name=meta["name"],
        size=meta["size"],
        mime="video/mp4",
        ref=grant.token_id,
        path=str(video),
        sha256=sha256,
    )
    replies: list[Reply] = await svc.assistant.handle(Incoming(grant.user, EventKind.FILE, file=info))
    pushed = False
    try:
        pushed = await svc.reach.push(grant.user, replies)
    except Exception:  # the page shows the replies instead
        log.exception("could not push the upload result to %s", grant.user)
    report = next((r for r in replies if "media_ok" in r.meta), None)
    return {
        "state": "done",
        "ok": report.meta["media_ok"] == "True" if report else None,
        "verdict": report.text if report else "",
        "replies": [] if pushed else [reply_json(r) for r in replies],
        "pushed": pushed,
        "name": meta["name"],
        "size": meta["size"],
        "size_text": format_size(meta["size"]),
        "sha256": sha256,
    }


def recovered(meta: dict[str, Any], sha256: str, held: dict[str, Any]) -> dict[str, Any]:
    """The verdict of a hand-off whose answer a crash lost, from the video record the
    dialog made of it (a checked one passed the check: a refused one makes none)."""
    checked = bool(held.get("checked"))
    return {
        "state": "done",
        "ok": True if checked else None,
        "verdict": "✅ 视频检查通过" if checked else "",
        "replies": [reply_json(Reply(RECOVERED))],
        "pushed": False,
        "name": meta["name"],
        "size": meta["size"],
        "size_text": format_size(meta["size"]),
        "sha256": sha256,
    }


async def holder(
    svc: Services, user: UserKey, video: Path, sha256: str | None = None, *, taken: bool = False
) -> dict[str, Any] | None:
    """The video record of the user's draft or submission that holds this upload: its path
    (no video folder configured) or, with ``sha256``, the same file kept under its hash.
    ``taken``: only a draft past the video step counts (one still there takes the file,
    again, itself)."""

    def holds(record: dict[str, Any] | None) -> bool:
        record = record or {}
        if record.get("kind", "file") != "file":
            return False
        return record.get("stored") == str(video) or (sha256 is not None and record.get("sha256") == sha256)

    draft = await svc.storage.get_draft(user)
    if draft is not None and not (taken and draft.data.get("step") == Step.VIDEO):
        record = draft.data.get("video")
        if isinstance(record, dict) and holds(record):
            return dict(record)
    return next(
        (dict(s.video) for s in await svc.storage.list_submissions(user=user) if holds(s.video)), None
    )


def reply_json(reply: Reply) -> dict[str, Any]:
    """A reply as the pages show it: text, buttons, and the upload link if it carries one."""
    return {
        "text": reply.text,
        "choices": [{"label": c.label, "payload": c.payload} for c in reply.choices],
        "upload_url": reply.meta.get("upload_url"),
    }
