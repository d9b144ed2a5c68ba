"""An upload on disk: its folder, its files, and the state machine of its finish.

Bytes go to ``DATA_DIR/uploads/<token id>/video.part`` as they arrive (never the client's file
name, never the whole file in memory) and are hashed on the way.  The part file lives on the
worker's disk: with several workers, route ``/upload/`` stickily or share ``DATA_DIR``.

Finishing is a state machine kept on disk, so that a crash at any point is picked up by the
next ``finish`` (the page calls it again on load) and never runs the dialog twice::

    video.part --(seal: rename)--> video.mp4 --(handoff.json, then the store's claim)-->
    handed to the dialog --(handoff.json gets "keep", then result.json)--> done, settled

A ``handoff.json`` without ``result.json`` is a hand-off of this folder that did not finish:
the claim is its own, and the draft tells whether the dialog took the video already.

Everything here blocks on the file system: the pages (:mod:`bot.web.upload`) call it in
worker threads.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from validators.hashing import StreamingHash

PART_NAME: Final = "video.part"
DONE_NAME: Final = "video.mp4"
META_NAME: Final = "meta.json"
RESULT_NAME: Final = "result.json"
HANDOFF_NAME: Final = "handoff.json"
# Serialises the check-and-start of uploads (the per-entrant cap) across requests and across
# workers sharing DATA_DIR; held for a scan of the folder names, never during a transfer.
START_LOCK: Final = "upload-start.lock"  # next to the uploads folder, which holds only links


def write_json(path: Path, data: dict[str, Any]) -> None:
    """``data`` to ``path`` whole or not at all (written aside, then renamed over it)."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    except OSError:
        tmp.unlink(missing_ok=True)  # a full disk leaves no half-written file behind
        raise
    os.replace(tmp, path)


def read_json(path: Path) -> dict[str, Any] | None:
    """The object in ``path``; None when the file is missing or holds no JSON object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


@dataclass(frozen=True, slots=True)
class OnDisk:
    """What the disk holds of one link's upload, read in one go."""

    result: dict[str, Any] | None  # set once the upload completed
    meta: dict[str, Any] | None  # the announced file, set by ``start``
    size: int  # bytes received so far: of the part file, or of the sealed video
    sealed: bool = False  # the part became ``video.mp4``: no more bytes are taken
    handoff: dict[str, Any] | None = None  # a hand-off to the dialog began (and may have ended)

    @property
    def finishing(self) -> bool:
        """Whole and on its way to the dialog, with no verdict yet (a crash may have left it)."""
        return self.result is None and self.meta is not None and (self.sealed or self.handoff is not None)


def look(folder: Path) -> OnDisk:
    """What ``folder`` holds of its upload."""
    part, video = folder / PART_NAME, folder / DONE_NAME
    sealed = not part.exists() and video.exists()
    return OnDisk(
        read_json(folder / RESULT_NAME),
        read_json(folder / META_NAME),
        _size(video if sealed else part),
        sealed,
        read_json(folder / HANDOFF_NAME),
    )


def settle(folder: Path) -> None:
    """The last step of a finish, again if a crash cut it short: with the verdict written, drop
    the video unless the dialog keeps it here, then the hand-off record."""
    handoff = read_json(folder / HANDOFF_NAME)
    if handoff is None or not (folder / RESULT_NAME).exists():
        return
    if handoff.get("keep") is False:
        (folder / DONE_NAME).unlink(missing_ok=True)
    (folder / HANDOFF_NAME).unlink(missing_ok=True)


@contextlib.contextmanager
def _flocked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (created if missing), waited for: one holder at a time,
    in this process or another; the kernel drops it when its holder dies."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # also releases the lock


def try_lock_folder(folder: Path) -> int | None:
    """A held exclusive lock on ``folder`` (its open descriptor), None when another request,
    here or in another worker, holds it.  A killed holder's lock goes with it."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def start_files(root: Path, folder: Path, user: str, cap: int, meta: dict[str, Any]) -> int | None:
    """Start ``folder``'s upload over for the file ``meta`` announces unless ``user`` holds
    ``cap`` other unfinished uploads already (then their number); the count and the start are
    one step under the start lock, so concurrent starts cannot all pass the count."""
    root.mkdir(parents=True, exist_ok=True)
    with _flocked(root.with_name(START_LOCK)):
        others = open_uploads(root, user, folder.name)
        if others >= cap:
            return others
        folder.mkdir(exist_ok=True)
        held = try_lock_folder(folder)
        if held is None:  # another worker is finishing this link
            raise BlockingIOError(errno.EWOULDBLOCK, "upload folder busy")
        try:
            (folder / DONE_NAME).unlink(missing_ok=True)  # a sealed earlier choice, never handed
            with (folder / PART_NAME).open("wb"):
                pass
            write_json(folder / META_NAME, meta)
        finally:
            os.close(held)
    return None


def open_at(path: Path, offset: int) -> int:
    """A descriptor writing ``path`` from ``offset`` on (the start of a chunk)."""
    # O_CREAT: a part file lost with its folder's earlier state is started again, not a 500.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    os.lseek(fd, offset, os.SEEK_SET)
    return fd


def write_all(fd: int, pieces: list[bytes]) -> None:
    """All of ``pieces`` at the file position: one system call for a batch, as a rule."""
    views = [memoryview(p) for p in pieces]
    while views:
        written = os.writev(fd, views)
        while views and written >= len(views[0]):
            written -= len(views[0])
            views.pop(0)
        if views and written:
            views[0] = views[0][written:]


def upload_id(disk: OnDisk) -> str | None:
    """The id ``start`` gave the announced file (None for uploads started before ids)."""
    key = disk.meta.get("id") if disk.meta is not None else None
    return str(key) if key else None


def hash_fits(hasher: StreamingHash | None, hashed_id: str | None, disk: OnDisk) -> bool:
    """``hasher``, made for the upload ``hashed_id``, saw a prefix of the bytes on disk.

    Within one upload (one ``id``) the part file only grows, or is cut back to the start of a
    chunk that failed, never below a chunk that completed: so a hash of this worker's earlier
    chunks covers a prefix even when another worker sharing DATA_DIR appended since.  A new
    file (``start`` in another worker) has a new id, even when its part reached the same size."""
    if hasher is None:
        return False
    key = upload_id(disk)
    if key is None:  # from before the ids: only a hash of the whole part counts
        return hasher.size == disk.size
    return key == hashed_id and hasher.size <= disk.size


def rehash(path: Path, size: int, hasher: StreamingHash | None) -> StreamingHash:
    """The hash of the first ``size`` bytes of ``path``: ``hasher`` (one that ``hash_fits``)
    caught up on what was appended since it last saw the file, else the file read again
    from its start (a restart: once per worker)."""
    if hasher is not None:
        if hasher.size < size:
            hasher.follow(path, size)
        return hasher
    return StreamingHash.from_file(path, size) if size else StreamingHash()


def open_uploads(root: Path, user: str, except_id: str) -> int:
    """How many started, unfinished uploads ``user`` has on disk, besides ``except_id``'s."""
    if not root.is_dir():
        return 0
    count = 0
    for folder in root.iterdir():
        if folder.name == except_id or not folder.is_dir() or (folder / RESULT_NAME).exists():
            continue
        meta = read_json(folder / META_NAME)
        if meta is None or meta.get("user") != user:
            continue
        if (folder / PART_NAME).exists() or (folder / DONE_NAME).exists():
            count += 1
    return count


def _expires(folder: Path) -> dt.datetime:
    meta = read_json(folder / META_NAME) or {}
    try:
        return dt.datetime.fromisoformat(str(meta["expires"]))
    except (KeyError, ValueError):
        # No readable meta: judge by age, against the longest TTL a link can have.
        return dt.datetime.fromtimestamp(folder.stat().st_mtime, dt.UTC) + dt.timedelta(days=30)


def stalled(root: Path, before: dt.datetime, busy: set[str]) -> list[tuple[str, str]]:
    """(token id, user) of expired folders holding a video handed over without a verdict."""
    found: list[tuple[str, str]] = []
    if not root.is_dir():
        return found
    for folder in root.iterdir():
        if (
            folder.is_dir()
            and folder.name not in busy
            and (folder / HANDOFF_NAME).exists()
            and (folder / DONE_NAME).exists()
            and not (folder / RESULT_NAME).exists()
            and _expires(folder) < before
        ):
            found.append((folder.name, str((read_json(folder / META_NAME) or {}).get("user", ""))))
    return found


def sweep(root: Path, before: dt.datetime, busy: set[str], keep: set[str]) -> list[str]:
    """Settle every folder not ``busy``; delete those expired ``before``, but for a video a
    draft points at (completed, or in ``keep``).  The token ids of the folders deleted."""
    removed: list[str] = []
    if not root.is_dir():
        return removed
    for folder in root.iterdir():
        if not folder.is_dir() or folder.name in busy:
            continue
        settle(folder)
        if _expires(folder) >= before:
            continue
        done = (folder / RESULT_NAME).exists() and not (folder / HANDOFF_NAME).exists()
        if (folder / DONE_NAME).exists() and (done or folder.name in keep):
            # A completed video still here is the one a draft points at (no video folder is
            # configured): keep it, drop the rest.
            for path in folder.iterdir():
                if path.name != DONE_NAME:
                    path.unlink(missing_ok=True)
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder.name)
    return removed
