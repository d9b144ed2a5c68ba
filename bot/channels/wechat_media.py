"""The media of an image, video or file push, fetched for the dialog.

Downloaded by its ``media_id`` into a private folder when WeChat says it is at most
:data:`~bot.channels.wechat_notifier.MEDIA_LIMIT`; otherwise, or when the download fails,
announced without a path, so that the dialog offers the upload link.  The file is named by its
kind, never by the client; the client's name is shown only, cleaned (:func:`_display_name`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
from pathlib import Path, PurePosixPath
from typing import Any

from bot.channels.wechat_api import MediaFile, WechatApi, WechatApiError
from bot.channels.wechat_files import extension_for, new_incoming_dir
from bot.channels.wechat_notifier import MEDIA_LIMIT
from bot.channels.wechat_xml import kind_of
from contests.events import FileInfo

log = logging.getLogger(__name__)

_LABELS = {"image": "图片", "video": "视频", "shortvideo": "小视频", "file": "文件"}
_DEFAULT_MIME = {"image": "image/jpeg", "video": "video/mp4", "shortvideo": "video/mp4", "file": ""}


async def download_media_of(api: WechatApi, media_folder: Path, message: Any) -> FileInfo:
    """The media of an image/video/file push, downloaded by media_id into a private folder
    under ``media_folder`` when it is at most :data:`MEDIA_LIMIT`; otherwise (or on failure)
    announced without ``path``, so that the dialog offers the upload link."""
    data: dict[str, Any] = message._data
    kind = kind_of(message)
    media_id = str(data.get("MediaId") or "")
    mime = _DEFAULT_MIME.get(kind, "")
    total = str(data.get("FileTotalLen") or "")
    size_hint = int(total) if total.isdigit() else None
    title = _display_name(str(data.get("Title") or ""))
    fallback_name = f"{_LABELS.get(kind, '文件')}-{data.get('MsgId', '')}{extension_for(mime)}"
    if not media_id:
        return FileInfo(title or fallback_name, size_hint, mime)
    if size_hint is not None and size_hint > MEDIA_LIMIT:
        return FileInfo(title or fallback_name, size_hint, mime, ref=media_id)
    folder = await asyncio.to_thread(new_incoming_dir, media_folder)
    try:
        media = await api.download_media(media_id, folder / "media.part", limit=MEDIA_LIMIT)
    except WechatApiError as exc:
        log.warning("wechat: media %s not downloaded: %s", media_id, exc)
        media = MediaFile(None, size_hint, mime, "")
    if media.mime and media.mime != "application/octet-stream":
        mime = media.mime
    path: Path | None = None
    if media.path is not None:
        path = folder / f"{kind}{extension_for(mime)}"  # named by kind, never by the client
        await asyncio.to_thread(media.path.rename, path)
    else:
        await asyncio.to_thread(shutil.rmtree, folder, True)
    name = title or _display_name(media.filename) or fallback_name
    size = media.size if media.size is not None else size_hint
    return FileInfo(name, size, mime, ref=media_id, path=str(path or ""))


def _display_name(name: str) -> str:
    """A client-given file name for display only: its last part, no control characters."""
    name = PurePosixPath(name.replace("\\", "/")).name
    return re.sub(r"[\x00-\x1f\x7f]", "", name).strip()[:100]
