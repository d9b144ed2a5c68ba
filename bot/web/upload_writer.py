"""One chunk of an upload written and hashed in a thread of its own, fed by the event loop.

The loop reads the request body and queues its pieces as the HTTP parser hands them over
(no copy, no join); the chunk's thread looks at the upload's folder, opens the part file,
then writes the pieces (several per system call when they queue up) and feeds the hash.  The
loop hears from the thread three times per chunk at most — the folder looked at, the file
closed, and only when it waits, the backlog drained — instead of once per write: on two cores
those wake-ups were a third of the page's cost beyond the bare handler's
(bench/README.md 'Upload page, issue 19').

A chunk is written whole or not at all: anything short of ``finish`` (a refusal, a cut
connection, a full disk) cuts the file back to the chunk's start, so the part file is always a
prefix of the video.
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Final, TypeVar

# Called through their modules: each step has one name wherever it is used (and tests stub it).
import bot.web.upload_disk as upload_disk
from validators.hashing import StreamingHash

MIB: Final = 1024 * 1024
# At most this much of a chunk waits in memory for its thread (the disk or the hash slower
# than the network); then the loop stops reading until half of it is written.
MAX_PENDING: Final = 2 * MIB
# bench/README.md 'Upload page, issue 19': pieces that queued up meanwhile go to the file in
# one writev, up to this much.
WRITE_BATCH: Final = 1 * MIB

T = TypeVar("T")


def _settle(fut: asyncio.Future[T], value: T | BaseException) -> None:
    """Called in the loop: ``fut`` resolved, unless its waiter gave up (cancelled) meanwhile."""
    if fut.done():
        return
    if isinstance(value, BaseException):
        fut.set_exception(value)
    else:
        fut.set_result(value)


class ChunkWriter:
    """Writes bytes ``start``… of ``folder``'s part file in its own thread.

    ``open`` looks at the folder and, when ``accepts`` the chunk, opens the part file at
    ``start`` and brings ``hasher`` up to the file (``upload_disk.rehash``), all in the
    thread; ``put`` queues a piece; ``drain`` waits while too much is
    queued; ``finish`` waits for the last write and closes the file; ``close`` (always, in
    ``finally``) cuts an unfinished chunk back and waits for the thread to end.
    """

    def __init__(
        self,
        folder: Path,
        start: int,
        hashed: tuple[StreamingHash | None, str | None],
        accepts: Callable[[upload_disk.OnDisk], bool],
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._folder, self._start, self._accepts = folder, start, accepts
        # The hash kept of this upload and the upload id it belongs to; after ``open``, the
        # hash of the part up to ``start``, or None when the chunk was refused or it failed.
        self.hasher, self.hash_id = hashed
        # Pieces, then None: the end, of a whole chunk when ``_whole`` was set before it.
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._whole = False
        self._lock = threading.Lock()  # guards the counters and the waiter below
        self._queued = 0  # bytes put (the loop's count)
        self._written = 0  # bytes written and hashed (the thread's count)
        self._waiter: tuple[asyncio.Future[None], int] | None = None
        self.error: OSError | None = None  # the write that failed; later pieces are dropped
        self._opened: asyncio.Future[upload_disk.OnDisk] = self._loop.create_future()
        self._ended: asyncio.Future[None] = self._loop.create_future()
        self._thread: threading.Thread | None = None
        self._closed = False

    async def open(self) -> upload_disk.OnDisk:
        """What the folder holds (the thread then writes only if ``accepts`` said yes)."""
        # A daemon: a process killed mid-chunk loses the chunk either way; ``close`` always
        # ends the thread of a live one.
        self._thread = threading.Thread(target=self._run, name="upload-chunk", daemon=True)
        self._thread.start()
        return await self._opened

    def put(self, piece: bytes) -> None:
        self._queue.put(piece)
        self._queued += len(piece)

    @property
    def backlog(self) -> int:
        return self._queued - self._written

    async def drain(self) -> None:
        """Wait until at most half of ``MAX_PENDING`` is queued (or a write failed)."""
        target = self._queued - MAX_PENDING // 2
        with self._lock:
            if self._written >= target or self.error is not None:
                return
            fut: asyncio.Future[None] = self._loop.create_future()
            self._waiter = (fut, target)
        await fut

    async def finish(self) -> None:
        """The whole chunk is queued: wait for it to be on disk and the file closed; raises
        the write's ``OSError`` (the chunk then cut back)."""
        self._whole = self._closed = True
        self._queue.put(None)
        await asyncio.shield(self._ended)

    async def close(self) -> None:
        """End the thread (an unfinished chunk is cut back first); shielded, so that the file
        is closed even when the request is torn down."""
        if self._thread is None:
            return
        if not self._closed:
            self._closed = True
            self._queue.put(None)
        await asyncio.shield(asyncio.gather(self._ended, return_exceptions=True))

    # ------------------------------------------------------------------ the thread
    def _wake(self, fut: asyncio.Future[T], value: T | BaseException) -> None:
        self._loop.call_soon_threadsafe(_settle, fut, value)

    def _run(self) -> None:
        fd: int | None = None
        done = False
        try:
            try:
                disk = upload_disk.look(self._folder)
                if self._accepts(disk):
                    part = self._folder / upload_disk.PART_NAME
                    hasher = self.hasher
                    if not upload_disk.hash_fits(hasher, self.hash_id, disk):
                        hasher = None
                    self.hasher = None  # until it is known good again
                    if hasher is None or hasher.size != disk.size:
                        hasher = upload_disk.rehash(part, disk.size, hasher)
                    self.hasher, self.hash_id = hasher, upload_disk.upload_id(disk)
                    fd = upload_disk.open_at(part, self._start)
            except BaseException as exc:  # told to the loop, which raises it
                self._wake(self._opened, exc)
                return
            self._wake(self._opened, disk)
            done = self._pump(fd)
        finally:
            error: BaseException | None = None
            try:
                if fd is not None:
                    try:
                        if not done:
                            os.ftruncate(fd, self._start)
                    finally:
                        os.close(fd)
            except OSError as exc:
                error = exc
            error = self.error if self.error is not None else error
            self._wake(self._ended, error if error is not None else None)

    def _pump(self, fd: int | None) -> bool:
        """Write what the loop queues until its end: True when the chunk is whole on disk."""
        while True:
            first = self._queue.get()
            pieces = [] if first is None else [first]
            size = len(first) if first is not None else 0
            end = first is None
            # What queued up meanwhile goes in the same system call.
            while not end and size < WRITE_BATCH:
                try:
                    piece = self._queue.get_nowait()
                except queue.Empty:
                    break
                if piece is None:
                    end = True
                else:
                    pieces.append(piece)
                    size += len(piece)
            if pieces and fd is not None and self.error is None:
                try:
                    upload_disk.write_all(fd, pieces)
                    hasher = self.hasher
                    assert hasher is not None
                    for piece in pieces:
                        hasher.update(piece)
                except OSError as exc:
                    self.error = exc  # the rest of the body is read and dropped
            with self._lock:
                self._written += size
                waiter = self._waiter
                if waiter is not None and (self._written >= waiter[1] or self.error is not None):
                    self._waiter = None
                    self._wake(waiter[0], None)
            if end:
                return self._whole and self.error is None and fd is not None
