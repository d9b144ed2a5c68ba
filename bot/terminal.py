"""The terminal channel: ``python -m bot chat`` talks to the dialog line by line.

Reads stdin (a person or a pipe), prints each reply with its choices as a numbered list, as
WeChat shows them.  ``/file PATH`` sends a local file as if it had been uploaded.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TextIO

from bot.app import services
from bot.settings import Settings
from contests.events import EventKind, FileInfo, Incoming, Reply
from contests.records import UserKey
from dialogs.engine import choices_as_text


def _event(user: UserKey, line: str) -> Incoming:
    if line.startswith("/file "):
        path = Path(line[6:].strip()).expanduser()
        size = path.stat().st_size if path.is_file() else None
        mime = "video/mp4" if path.suffix.lower() in {".mp4", ".m4v"} else ""
        return Incoming(user, EventKind.FILE, file=FileInfo(path.name, size, mime, str(path)))
    return Incoming(user, EventKind.TEXT, text=line)


def _print(replies: list[Reply], out: TextIO) -> None:
    for reply in replies:
        out.write(choices_as_text(reply) + "\n")
        if reply.document is not None:
            out.write(f"[文件] {reply.document.filename}\n")
        out.write("\n")
    out.flush()


async def run_chat(settings: Settings, *, user: str, contest: str | None, out: TextIO = sys.stdout) -> int:
    key = UserKey("terminal", user)
    async with services(settings) as svc:
        start = Incoming(key, EventKind.START)
        _print(await svc.assistant.handle(start, contest_hint=contest), out)
        while True:
            # stdin is blocking: read it in a worker thread so the loop stays free.
            line = await asyncio.to_thread(sys.stdin.readline)
            if not line:
                break
            line = line.rstrip("\n")
            if not line.strip():
                continue
            _print(await svc.assistant.handle(_event(key, line)), out)
    return 0
