"""A net-disk link's 提取码 sent apart from it, as people do: the link in one message, "提取码
ab12" in the next.

* A link whose drive needs a code (百度网盘) is refused without it and kept under
  :data:`PENDING_CODE`; the next message at that step that is only a code is joined to it.
* The platform of 播出平台及网址 sent without its address ("抖音") is refused and kept under
  :data:`PENDING_PLATFORM`; the next message at that step that is only the address is joined
  to it ("抖音 https://…"), as the entrant meant the two.
* A link whose drive takes a code but does not need one (阿里云盘) is taken at once; if the very
  next message names a code ("提取码 1x2y"), whatever step it arrives at, it is added to that
  link (:data:`LAST_LINK`, dropped after one message) instead of being refused or ignored.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from contests.events import Reply
from dialogs.kit import DialogKit
from dialogs.states import State, Step
from validators.link_fields import check_link_field, code_alone, platform_then_address, with_code
from validators.links import VideoLink, assess_share_link, drive_for, parse_video_link
from validators.text import Valid

__all__ = [
    "LAST_LINK",
    "PENDING_CODE",
    "PENDING_PLATFORM",
    "joined",
    "keep_pending",
    "keep_platform",
    "late_code",
    "remember_link",
    "with_platform",
]

PENDING_CODE = "pending_code"  # {"at": the step's token, "text": the link as sent}
PENDING_PLATFORM = "pending_platform"  # {"at": the step's token, "text": the platform as sent}
#: The most characters of a platform kept for its address to follow (not a paragraph of prose).
_PLATFORM_CHARS = 40
LAST_LINK = "last_link"  # {"at": "video" or the field's id}: the share link just taken without a code


def joined(state: State, token: str, value: str) -> str:
    """``value``, or the link kept for this step with ``value`` as its code."""
    pending = state.pop(PENDING_CODE, None)
    if isinstance(pending, dict) and pending.get("at") == token and (code := code_alone(value)):
        return with_code(str(pending.get("text", "")), code)
    return value


def keep_pending(state: State, token: str, value: str) -> None:
    """The link refused for want of its code, kept for the next message."""
    state[PENDING_CODE] = {"at": token, "text": value}


def with_platform(state: State, token: str, value: str) -> str:
    """``value``, or the platform kept for this step with ``value``, an address alone, after it."""
    pending = state.pop(PENDING_PLATFORM, None)
    if isinstance(pending, dict) and pending.get("at") == token:
        return platform_then_address(str(pending.get("text", "")), value) or value
    return value


def keep_platform(state: State, token: str, value: str) -> str:
    """A platform refused for want of its address, kept for the next message; the words kept,
    or "" when they are too long or several lines to be a platform's name."""
    text = value.strip()
    if not text or len(text) > _PLATFORM_CHARS or "\n" in text:
        return ""
    state[PENDING_PLATFORM] = {"at": token, "text": text}
    return text


def remember_link(state: State, at: str, text: str) -> None:
    """After a link was taken at ``at``: a share link without the code its drive may have is
    remembered for the next message."""
    found = parse_video_link(text)
    if not isinstance(found, Valid) or found.value.code:
        return
    drive = drive_for(urlsplit(found.value.url).hostname or "")
    if drive is not None and drive.code != "none":
        state[LAST_LINK] = {"at": at}


def late_code(kit: DialogKit, state: State, text: str) -> Reply | None:
    """The message right after a share link taken without a code, when it names one: the code
    is added to that link and the entrant told; else None (and the chance is gone)."""
    last = state.pop(LAST_LINK, None)
    if not isinstance(last, dict):
        return None
    # A bare word may answer the next field; on the review page nothing else is asked by one.
    code = code_alone(text, bare=state.get("step") == Step.REVIEW)
    if code is None:
        return None
    at = str(last.get("at", ""))
    if at == Step.VIDEO:
        video: dict[str, Any] | None = state.get("video")
        if not video or video.get("kind") != "share_link":
            return None
        found = parse_video_link(with_code(str(video.get("original") or video.get("url")), code))
        contest = kit.contest(state)
        if not isinstance(found, Valid) or contest is None:
            return None
        link: VideoLink = found.value
        state["video"] = assess_share_link(link, contest, dict(state["answers"])).video_record()
        return Reply(kit.msg.render("late_code", code=code, url=state["video"]["url"]))
    answer = state["answers"].get(at)
    if not isinstance(answer, str) or not answer:
        return None
    checked = check_link_field(with_code(answer, code))
    if not isinstance(checked, Valid):
        return None
    state["answers"][at] = checked.value
    return Reply(kit.msg.render("late_code", code=code, url=checked.value))
