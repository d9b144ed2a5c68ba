"""Files that entrants send to the Telegram bot, fetched for the dialog.

Through the cloud Bot API a bot may download at most 20 MB
(https://core.telegram.org/bots/api#getfile); a larger file is announced to the dialog
without a local copy, and the dialog offers its upload link instead.  A self-hosted Bot API
server in ``--local`` mode keeps files of up to 2000 MB on its own disk; they are read from
there, not copied (https://core.telegram.org/bots/api#using-a-local-bot-api-server).

Cloud downloads go to a fresh random directory under ``DATA_DIR/incoming`` named by us, never by
the client's file name, and are deleted once the event is handled (the dialog copies what it
keeps).
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Message

from contests.events import FileInfo

log = logging.getLogger(__name__)

CLOUD_LIMIT = 20 * 1024 * 1024
LOCAL_LIMIT = 2000 * 1024 * 1024
DOWNLOAD_TIMEOUT = 120  # seconds for one file of at most 20 MB
TEMP_PREFIX = "telegram-"
#: Files Telegram says are at most this big are downloaded into memory and written in one
#: worker-thread call; larger ones stream to disk (aiogram writes each 64 KiB chunk through a
#: thread hand-off, which costs more CPU than the bytes for a scan of a few hundred KB).
#: bench/README.md 'Telegram: session 3': a hand-off costs 250–300 µs of CPU.
IN_MEMORY_LIMIT = 2 * 1024 * 1024
# Leftovers of a crashed worker are removed at startup once this old; younger ones may belong
# to another worker that is still handling them.
STALE_AFTER = 24 * 3600
_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,8}$")


@dataclass(frozen=True, slots=True)
class Media:
    """A file attached to a message, as Telegram announced it."""

    file_id: str
    name: str
    size: int | None
    mime: str
    fetch: bool  # worth downloading: something the dialog may accept (videos, documents, images)


def media_of(message: Message) -> Media | None:
    """The file a message carries, or None.  Photos come in several sizes: the largest is taken."""
    if message.document:
        d = message.document
        return Media(d.file_id, d.file_name or "document", d.file_size, d.mime_type or "", True)
    if message.video:
        v = message.video
        return Media(v.file_id, v.file_name or "video.mp4", v.file_size, v.mime_type or "video/mp4", True)
    if message.animation:  # Telegram turns a short silent mp4 into an "animation"
        a = message.animation
        return Media(a.file_id, a.file_name or "video.mp4", a.file_size, a.mime_type or "video/mp4", True)
    if message.video_note:
        n = message.video_note
        return Media(n.file_id, "video_note.mp4", n.file_size, "video/mp4", True)
    if message.photo:
        p = message.photo[-1]
        return Media(p.file_id, "photo.jpg", p.file_size, "image/jpeg", True)
    if message.audio:
        au = message.audio
        return Media(au.file_id, au.file_name or "audio", au.file_size, au.mime_type or "audio/mpeg", False)
    if message.voice:
        vo = message.voice
        return Media(vo.file_id, "voice.ogg", vo.file_size, vo.mime_type or "audio/ogg", False)
    if message.sticker:
        s = message.sticker
        return Media(s.file_id, "sticker.webp", s.file_size, "image/webp", False)
    return None


def safe_suffix(name: str) -> str:
    """The client's extension if it is a plain one (``.mp4``), else nothing: the only part of
    the client's name that reaches the file system."""
    m = _SUFFIX.search(name)
    return m.group(0).lower() if m else ""


class Downloads:
    """Fetches announced files for one bot: into temp directories (cloud Bot API) or by path
    on the local Bot API server's disk (``local``)."""

    def __init__(self, bot: Bot, root: Path, *, local: bool) -> None:
        self.bot = bot
        self.root = root
        self.local = local
        self.limit = LOCAL_LIMIT if local else CLOUD_LIMIT

    async def prepare(self) -> None:
        """Create the download root and remove our own leftovers of a crash."""
        await asyncio.to_thread(_prepare_root, self.root)

    @asynccontextmanager
    async def fetch(self, media: Media) -> AsyncIterator[FileInfo]:
        """``FileInfo`` for ``media``, with ``path`` set when a local copy could be had; any
        temp file made here is deleted when the block exits."""
        info = FileInfo(media.name, media.size, media.mime, ref=media.file_id)
        if not media.fetch or (media.size is not None and media.size > self.limit):
            yield info
            return
        if self.local:
            path = await self._local_path(media)
            yield FileInfo(media.name, media.size, media.mime, ref=media.file_id, path=path)
            return
        name = f"upload{safe_suffix(media.name)}"
        small = media.size is not None and media.size <= IN_MEMORY_LIMIT
        folder: Path | None = None
        try:
            try:
                if small:
                    buffer = io.BytesIO()
                    await self.bot.download(media.file_id, destination=buffer, timeout=DOWNLOAD_TIMEOUT)
                    folder = await asyncio.to_thread(_write_temp, self.root, name, buffer.getvalue())
                else:
                    folder = Path(
                        await asyncio.to_thread(tempfile.mkdtemp, prefix=TEMP_PREFIX, dir=self.root)
                    )
                    await self.bot.download(
                        media.file_id, destination=folder / name, timeout=DOWNLOAD_TIMEOUT
                    )
            except (TelegramAPIError, OSError, TimeoutError) as exc:
                # e.g. "file is too big" when Telegram did not tell the size: no copy, no error
                log.warning("could not download %s: %s", media.file_id, exc)
                yield info
            else:
                assert folder is not None
                yield FileInfo(media.name, media.size, media.mime, ref=media.file_id, path=str(folder / name))
        finally:
            if folder is not None:
                await asyncio.to_thread(shutil.rmtree, folder, True)

    async def _local_path(self, media: Media) -> str:
        """Where the local Bot API server keeps the file, as this process sees it ("" if unseen)."""
        try:
            file = await self.bot.get_file(media.file_id)
        except TelegramAPIError as exc:
            log.warning("getFile failed for %s: %s", media.file_id, exc)
            return ""
        if not file.file_path:
            return ""
        path = Path(self.bot.session.api.wrap_local_file.to_local(file.file_path))
        if not await asyncio.to_thread(path.is_file):
            log.warning("local Bot API file %s is not visible here (check LOCAL_*_DIR)", path)
            return ""
        return str(path)


def _write_temp(root: Path, name: str, data: bytes) -> Path:
    """A new private folder under ``root`` holding ``data`` as ``name``; the folder."""
    folder = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=root))
    try:
        (folder / name).write_bytes(data)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder


def _prepare_root(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - STALE_AFTER
    for entry in root.glob(f"{TEMP_PREFIX}*"):
        try:
            if entry.is_dir() and entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry, ignore_errors=True)
        except OSError:  # removed by another worker meanwhile
            continue
