"""Replies out to Telegram: inline keyboards from the dialog's choices, long texts split to
Telegram's limits, documents as uploads, and flood-control waits.

The keyboard and splitting helpers are pure so that they are tested without a bot.
Limits are the Bot API's: https://core.telegram.org/bots/api#sendmessage
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Iterable, Sequence

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup

from contests.events import Choice, Reply

log = logging.getLogger(__name__)

MAX_TEXT = 4096  # UTF-16 code units in one message
MAX_CAPTION = 1024  # UTF-16 code units in a document's caption
MAX_CALLBACK_DATA = 64  # bytes of callback_data
# Sent instead of a payload that cannot be made to fit: the dialog treats it as a stale button
# (says so and asks the step again), and the entrant can still type the choice.
UNFIT_CALLBACK = "-"
# Labels this short fit three to a row on a phone; longer ones get a row each.
_SHORT_LABEL = 8


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units: an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """``text`` in pieces of at most ``limit`` UTF-16 units, cut after a line where possible."""
    if utf16_len(text) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while utf16_len(line) > limit:  # one line longer than a message: cut it by characters
            if current:
                pieces.append(current)
                current = ""
            cut = _fit(line, limit)
            pieces.append(line[:cut])
            line = line[cut:]
        if utf16_len(current) + utf16_len(line) > limit:
            pieces.append(current)
            current = ""
        current += line
    if current:
        pieces.append(current)
    return [p.rstrip("\n") for p in pieces if p.strip()]


def _fit(text: str, limit: int) -> int:
    """How many characters of ``text`` fit in ``limit`` UTF-16 units."""
    used = 0
    for i, ch in enumerate(text):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > limit:
            return max(i, 1)
    return len(text)


def callback_data(choice: Choice, number: int, *, numbered: bool = True) -> str:
    """What the button sends back: the dialog's payload when it fits in 64 bytes; else
    ``token|number`` where the step takes its choices by number, or ``token|label`` where it
    takes them by their words (``Reply.numbered`` False); else a marker the dialog treats as
    a stale button."""
    if len(choice.payload.encode()) <= MAX_CALLBACK_DATA:
        return choice.payload
    token = choice.payload.partition("|")[0]
    short = f"{token}|{number}" if numbered else f"{token}|{choice.label}"
    return short if len(short.encode()) <= MAX_CALLBACK_DATA else UNFIT_CALLBACK


def keyboard(choices: Sequence[Choice], *, numbered: bool = True) -> InlineKeyboardMarkup | None:
    """An inline keyboard with one button per choice, or None when there are none."""
    if not choices:
        return None
    buttons = [
        InlineKeyboardButton(text=c.label, callback_data=callback_data(c, n, numbered=numbered))
        for n, c in enumerate(choices, 1)
    ]
    per_row = 3 if all(len(c.label) <= _SHORT_LABEL for c in choices) else 1
    return InlineKeyboardMarkup(
        inline_keyboard=[buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]
    )


def merge_replies(replies: Iterable[Reply], limit: int = MAX_TEXT) -> list[Reply]:
    """Consecutive text replies joined into one message where they fit, the buttons of the last
    under it.  Telegram asks bots for about one message per second per chat and 30 per second
    in all (https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this):
    a welcome, an intro and a question are one message, not three.  Documents stay apart, and
    a reply with buttons ends its message (the buttons belong under its question)."""
    merged: list[Reply] = []
    for reply in replies:
        prev = merged[-1] if merged else None
        if (
            prev is not None
            and prev.document is None
            and not prev.choices
            and reply.document is None
            and prev.text.strip()
            and reply.text.strip()
            and utf16_len(prev.text) + 2 + utf16_len(reply.text) <= limit
        ):
            merged[-1] = dataclasses.replace(
                reply, text=prev.text + "\n\n" + reply.text, meta={**prev.meta, **reply.meta}
            )
        else:
            merged.append(reply)
    return merged


class RetryAfterMiddleware(BaseRequestMiddleware):
    """Waits out Telegram's flood control (429 with ``retry_after``) and sends again, a bounded
    number of times; a wait longer than ``max_wait`` seconds is not worth holding an update
    for, so the error is raised to the caller instead."""

    def __init__(self, attempts: int = 3, max_wait: float = 30.0) -> None:
        self.attempts = attempts
        self.max_wait = max_wait

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        for attempt in range(1, self.attempts + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if attempt == self.attempts or exc.retry_after > self.max_wait:
                    raise
                log.warning(
                    "flood control on %s: waiting %s s (attempt %d of %d)",
                    type(method).__name__,
                    exc.retry_after,
                    attempt,
                    self.attempts,
                )
                await asyncio.sleep(exc.retry_after)
        raise AssertionError("unreachable: the last attempt returns or raises")


async def send_replies(bot: Bot, chat_id: int, replies: Iterable[Reply]) -> None:
    """Send the dialog's replies in order: text with its choices as an inline keyboard under
    the last piece, a document as an upload (its text as caption when short enough).
    Telegram errors propagate; the caller decides whether they matter."""
    for reply in merge_replies(replies):
        markup = keyboard(reply.choices, numbered=reply.numbered)
        if reply.document is not None:
            doc = reply.document
            caption = reply.text if utf16_len(reply.text) <= MAX_CAPTION else None
            if reply.text and caption is None:
                for piece in split_text(reply.text):
                    await bot.send_message(chat_id=chat_id, text=piece)
            await bot.send_document(
                chat_id=chat_id,
                # A drawn form is a file: read in one worker-thread call (aiogram's own file
                # input would hand every 64 KB chunk to a thread).
                document=BufferedInputFile(await doc.load(), filename=doc.filename),
                caption=caption or None,
                reply_markup=markup,
            )
            continue
        pieces = split_text(reply.text) if reply.text.strip() else []
        if not pieces and markup is not None:
            pieces = ["…"]  # buttons need a message to hang under
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            await bot.send_message(chat_id=chat_id, text=piece, reply_markup=markup if last else None)
