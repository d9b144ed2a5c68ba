"""What each kind of WeChat push becomes: a registry of translators, with a safe fallback.

A translator turns one push (``text``, ``image``, ``event:subscribe``, ``event:click`` …) into
the dialog's event and returns the replies; it is registered for its kinds with
:func:`handles`, and :func:`translator` gives the fallback for a kind nobody registered: a
polite reply to a message, silence to an event (after wechatpy's ``register_message`` and
``UnknownMessage``).  The menu's keys and the event each stands for are here too.  The channel
(:class:`bot.channels.wechat.WechatChannel`) calls them with itself as :class:`Chat`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from bot.channels.wechat_notifier import TEXTS
from bot.channels.wechat_xml import kind_of
from bot.services import Services
from contests.events import EventKind, FileInfo, Incoming, Reply
from contests.records import UserKey
from handlers.claims import ClaimGate

log = logging.getLogger(__name__)

#: Menu keys (CLICK events) and the event each stands for; :data:`DEFAULT_MENU` uses them.
MENU_KEYS: dict[str, tuple[EventKind, str]] = {
    "KEPU_START": (EventKind.START, ""),
    "KEPU_STATUS": (EventKind.TEXT, "进度"),
    "KEPU_HELP": (EventKind.TEXT, "帮助"),
}
DEFAULT_MENU: dict[str, Any] = {
    "button": [
        {"type": "click", "name": "开始报名", "key": "KEPU_START"},
        {"type": "click", "name": "填写进度", "key": "KEPU_STATUS"},
        {"type": "click", "name": "帮助", "key": "KEPU_HELP"},
    ]
}


class Chat(Protocol):
    """What a translator uses of the channel."""

    @property
    def services(self) -> Services: ...

    async def dialog(
        self, event: Incoming, hint: str | None = None, gate: ClaimGate | None = None
    ) -> list[Reply]: ...

    async def fetch_media(self, message: Any) -> FileInfo: ...


#: ``(channel, message, user, gate)``: ``gate`` is the message's claim, taken when first needed
#: (:class:`ClaimGate`); None only where a caller claimed the message itself.
Translate = Callable[[Chat, Any, UserKey, ClaimGate | None], Awaitable[list[Reply]]]
_KINDS: dict[str, Translate] = {}


def handles(*kinds: str) -> Callable[[Translate], Translate]:
    """Register the translator of some push kinds (``text``, ``event:subscribe``, …)."""

    def register(fn: Translate) -> Translate:
        for kind in kinds:
            _KINDS[kind] = fn
        return fn

    return register


@handles("text")
async def _on_text(channel: Chat, message: Any, user: UserKey, gate: ClaimGate | None) -> list[Reply]:
    return await channel.dialog(Incoming(user, EventKind.TEXT, text=str(message.content or "")), gate=gate)


@handles("image", "video", "shortvideo", "file")
async def _on_media(channel: Chat, message: Any, user: UserKey, gate: ClaimGate | None) -> list[Reply]:
    info = await channel.fetch_media(message)
    return await channel.dialog(Incoming(user, EventKind.FILE, file=info), gate=gate)


@handles("voice", "location", "link")
async def _on_polite(channel: Chat, message: Any, user: UserKey, gate: ClaimGate | None) -> list[Reply]:
    return [Reply(TEXTS[kind_of(message)])]


@handles("event:subscribe", "event:subscribe_scan", "event:scan")
async def _on_subscribe(channel: Chat, message: Any, user: UserKey, gate: ClaimGate | None) -> list[Reply]:
    # A QR code with a scene (qrscene_<contest id>) starts that contest's dialog.
    scene = str(message._data.get("EventKey") or "")
    hint = scene if scene and channel.services.contests.get(scene) is not None else None
    return await channel.dialog(Incoming(user, EventKind.START), hint=hint, gate=gate)


@handles("event:click")
async def _on_click(channel: Chat, message: Any, user: UserKey, gate: ClaimGate | None) -> list[Reply]:
    action = MENU_KEYS.get(str(message._data.get("EventKey") or ""))
    if action is None:
        return [Reply(TEXTS["unsupported"])]
    kind, text = action
    return await channel.dialog(Incoming(user, kind, text=text), gate=gate)


@handles(
    "event:unsubscribe",  # nobody left to answer
    "event:view",  # a menu link opened a page
    "event:location",  # reported by the client on its own every few seconds
    "event:templatesendjobfinish",
    "event:masssendjobfinish",
    "event:view_miniprogram",
)
async def _on_silent(channel: Chat, message: Any, user: UserKey, gate: ClaimGate | None) -> list[Reply]:
    return []


async def _unknown_message(channel: Chat, message: Any, user: UserKey, gate: ClaimGate | None) -> list[Reply]:
    log.info("wechat: unsupported message type %s", kind_of(message))
    return [Reply(TEXTS["unsupported"])]


async def _unknown_event(channel: Chat, message: Any, user: UserKey, gate: ClaimGate | None) -> list[Reply]:
    # Events are not something the user said: an unknown one gets no answer.
    log.info("wechat: ignored event %s", kind_of(message))
    return []


def translator(kind: str) -> Translate:
    """The registered translator of ``kind``, or the safe fallback."""
    fallback = _unknown_event if kind.startswith("event:") else _unknown_message
    return _KINDS.get(kind, fallback)
