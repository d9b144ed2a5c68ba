"""The terminal channel: ``python -m bot chat`` talks to the dialog line by line.

Reads stdin (a person or a pipe), prints each reply with its choices as a numbered list, as
WeChat shows them.  ``/file PATH`` sends a local file as if it had been uploaded: like the chat
apps' downloads, a private copy of it is what the dialog checks and keeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import mimetypes
import shutil
import stat
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TextIO

from bot.reminders import open_reminders
from bot.services import Services, services
from bot.settings import Settings
from bot.settings_remind import RemindSettings
from contests.events import Document, EventKind, FileInfo, Incoming, Reply
from contests.records import UserKey
from dialogs.engine import choices_as_text
from handlers.remind.command import RemindCommand

log = logging.getLogger(__name__)

FILE_COMMAND = "/file"
FILE_USAGE = "用法：/file 文件路径，例如 /file ~/视频/作品.mp4"


class FileRefused(Exception):
    """A path ``/file`` cannot send; the message says why, for the user."""


def _copy_in(path: Path, folder: Path) -> tuple[Path, int, str]:
    """``(copy, size, mime)`` of the regular file at ``path``, copied into ``folder``
    (blocking: run in a worker thread).  Raises :class:`FileRefused`."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise FileRefused(f"找不到文件：{path}。请检查路径是否正确。") from None
    except OSError as exc:
        raise FileRefused(f"无法读取文件：{path}（{exc.strerror or exc}）。") from None
    if stat.S_ISDIR(info.st_mode):
        raise FileRefused(f"{path} 是一个文件夹，请给出其中某个文件的路径。")
    if not stat.S_ISREG(info.st_mode):
        # A FIFO or a device would block the copy or never end.
        raise FileRefused(f"{path} 不是普通文件，请给出视频或扫描件文件的路径。")
    target = folder / f"upload{path.suffix.lower()[:9]}"
    try:
        shutil.copyfile(path, target)
    except OSError as exc:
        raise FileRefused(f"无法读取文件：{path}（{exc.strerror or exc}）。") from None
    mime = mimetypes.guess_type(path.name)[0] or ""
    return target, target.stat().st_size, mime


def _temp_folder(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="terminal-", dir=root))


def _file_path(argument: str) -> Path | None:
    """The path after ``/file``; quotes around it (a dragged-in file) are not part of it."""
    text = argument.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]
    return Path(text).expanduser() if text else None


async def send_file(svc: Services, user: UserKey, argument: str) -> list[Reply]:
    """The replies to ``/file ARGUMENT``: the dialog's to the file, or why it was not sent."""
    path = _file_path(argument)
    if path is None:
        return [Reply(FILE_USAGE)]
    folder = await asyncio.to_thread(_temp_folder, svc.settings.media_folder / "incoming")
    try:
        try:
            copy, size, mime = await asyncio.to_thread(_copy_in, path, folder)
        except FileRefused as exc:
            return [Reply(str(exc))]
        info = FileInfo(path.name, size, mime, path=str(copy))
        return await svc.assistant.handle(Incoming(user, EventKind.FILE, file=info))
    finally:
        # The dialog keeps what it accepts elsewhere (a hard link or a copy).
        await asyncio.to_thread(shutil.rmtree, folder, True)


def _save_document(folder: Path, document: Document) -> Path:
    """Write a document the dialog sent where the user can open it (blocking: worker thread).
    The name is the document's own (its number and form), never a path the sender chose."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (Path(document.filename).name or "document")
    target.write_bytes(document.read())
    return target


async def _keep_documents(replies: list[Reply], folder: Path) -> dict[int, Path]:
    """Each document of ``replies`` saved under ``folder``: the terminal has no download button,
    and the drawn file itself is swept after a few hours under a temporary name."""
    saved = {}
    for i, reply in enumerate(replies):
        if reply.document is not None:  # read and written in one worker-thread call
            saved[i] = await asyncio.to_thread(_save_document, folder, reply.document)
    return saved


def _print(replies: list[Reply], out: TextIO, saved: dict[int, Path] | None = None) -> None:
    for i, reply in enumerate(replies):
        out.write(choices_as_text(reply) + "\n")
        if reply.document is not None:
            where = (saved or {}).get(i)
            out.write(f"[文件] {reply.document.filename}" + (f"，已保存到：{where}" if where else "") + "\n")
        out.write("\n")
    out.flush()


#: How often the terminal looks for decisions made on its entrant's works by another process.
WATCH_S = 5.0


async def tell_decisions(svc: Services, user: UserKey, *, interval: float = WATCH_S) -> None:
    """Print the formal review's decisions on ``user``'s submissions made by another process
    (the console or the chat of ``serve``, ``python -m bot review``), which cannot reach the
    terminal: the entrant is told as a chat app's user is (trial 9: a return went untold).
    Runs until cancelled; what was decided before it started is not told again."""
    seen: dict[str, int] | None = None
    while True:
        try:
            if seen is None:
                seen = await svc.review.decided_counts(user)
            else:
                texts, seen = await svc.review.decisions_since(user, seen)
                if texts:
                    await svc.reach.push(user, [Reply(t) for t in texts])
        except Exception:
            log.exception("decisions on %s's submissions could not be looked up", user)
        await asyncio.sleep(interval)


# The terminal reaches nobody: a broadcast made here is stored and sent by ``serve``'s worker,
# as one made with ``python -m bot broadcast`` is.
_SENT_BY_SERVE = (
    "（终端本身不发送消息：广播由运行中的 python -m bot serve 发送；发送“广播报告 编号”查看结果。）"
)


class TerminalBroadcasts:
    """退订 / 订阅 / 广播 in the terminal (tried: a bound organiser's “广播 全部 …” was taken for
    a contest's name): the chat command of ``serve``, saying who sends what it schedules."""

    def __init__(self, command: RemindCommand) -> None:
        self.command = command

    def matches(self, user: UserKey, text: str) -> bool:
        return self.command.matches(user, text)

    async def __call__(self, user: UserKey, text: str) -> list[Reply] | None:
        replies = await self.command(user, text)
        if replies and "广播" in text:
            replies = [*replies, Reply(_SENT_BY_SERVE)]
        return replies


async def run_chat(settings: Settings, *, user: str, contest: str | None, out: TextIO = sys.stdout) -> int:
    key = UserKey("terminal", user)
    files = settings.data_dir / "terminal-files" / (Path(user).name or "user")

    async def show(replies: list[Reply]) -> None:
        _print(replies, out, await _keep_documents(replies, files))

    class Printer:
        """The terminal as a channel the service can reach: what comes later (a content check's
        report, an operator's answer, a form drawn after the reply) is printed when it comes."""

        async def push(self, user: UserKey, replies: list[Reply]) -> None:
            if user == key:
                await show(replies)

    async with (
        services(settings) as svc,
        open_reminders(
            svc.contests, svc.storage, svc.stores.org, svc.stores.jobs, RemindSettings()
        ) as remind,
    ):
        svc.assistant.extra.append(TerminalBroadcasts(RemindCommand(remind)))
        svc.reach.register(key.channel, Printer())
        start = Incoming(key, EventKind.START)
        await show(await svc.assistant.handle(start, contest_hint=contest))
        watching = asyncio.get_running_loop().create_task(tell_decisions(svc, key))
        try:
            await _read_lines(svc, key, show)
        finally:
            watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watching  # owned to its end: a failure of the watch is not lost
    return 0


async def _read_lines(svc: Services, key: UserKey, show: Callable[[list[Reply]], Awaitable[None]]) -> None:
    """The entrant's lines, each handled in turn, until the input ends."""
    while True:
        # stdin is blocking: read it in a worker thread so the loop stays free.
        line = await asyncio.to_thread(sys.stdin.readline)
        if not line:
            break
        line = line.rstrip("\n")
        if not line.strip():
            continue
        command, _, argument = line.partition(" ")
        if command == FILE_COMMAND:
            await show(await send_file(svc, key, argument))
            continue
        await show(await svc.assistant.handle(Incoming(key, EventKind.TEXT, text=line)))
