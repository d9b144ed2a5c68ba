"""How a submission's files are laid out in a ZIP, as the notice asks.

Where the notice prescribes a folder name (cacsi: “省+报送单位（或个人）+视频名称”, the contest's
``delivery.share_folder_name``) each work's folder is named so; elsewhere ``<编号>+<作品名称>``.
The folder holds the drawn form, the signed scans and the video.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from handlers.console.views import ConsoleEntry, ConsoleFile

__all__ = ["folder_name", "layout", "safe_name"]

_UNSAFE = re.compile(r'[\x00-\x1f/\\:*?"<>|]+')


def safe_name(text: str, limit: int = 80) -> str:
    """A file or folder name any unzip tool accepts (no separators, no control characters)."""
    cleaned = _UNSAFE.sub("_", text).strip(" ._")
    return cleaned[:limit] or "未命名"


def folder_name(entry: ConsoleEntry, province: str = "") -> str:
    """The work's folder in a ZIP."""
    if entry.contest.delivery.share_folder_name:
        return safe_name(f"{province}{entry.unit}{entry.title}")
    return safe_name(f"{entry.number}+{entry.title}")


def layout(
    entry: ConsoleEntry, files: Sequence[ConsoleFile], *, province: str = "", top: str = ""
) -> list[tuple[str, Path]]:
    """``(name inside the ZIP, file)`` for each of the work's files, in its folder (under
    ``top`` when given: a whole contest's archive)."""
    folder = folder_name(entry, province)
    prefix = f"{top}/{folder}" if top else folder
    out: list[tuple[str, Path]] = []
    taken: set[str] = set()
    for f in files:
        if f.path is None:
            continue
        name = safe_name(f.name, 120)
        if f.kind == "video":
            suffix = f.path.suffix or Path(name).suffix
            name = safe_name(f"{entry.title}{suffix}", 120)
        while name in taken:
            name = "_" + name
        taken.add(name)
        out.append((f"{prefix}/{name}", f.path))
    return out
