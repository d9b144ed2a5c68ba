"""One chunk of an upload written and hashed in a thread of its own, fed by the event loop.

The loop reads the request body and queues its pieces as the HTTP parser hands them over
(no copy, no join); the chunk's thread looks at the upload's folder, opens the part file,
then writes the pieces (several per system call when they queue up) and feeds the hash.  The
loop hears from the thread three times per chunk at most — the folder looked at, the file
closed, and only when it waits, the backlog drained — instead of once per write.

The chunk's answer waits for its bytes to be in the file, not for their hash: what was still
queued when the body ended is written, the file closed and the answer sent, and the thread
hashes those last pieces meanwhile.  The hash is needed only by the next chunk of the link in
this process (its thread waits for this one first) and by ``finish`` (which waits for
``hashed``); so the next request's round trip overlaps the hash instead of the loop waiting
for it.  bench/README.md 'Upload page, issue 19': less CPU per GiB than the pool of futures
it replaced, no wall-time gain measured on the shared 2-core VM.

A chunk is written whole or not at all: anything short of ``finish`` (a refusal, a cut
connection, a full disk) cuts the file back to the chunk's start, so the part file is always a
prefix of the video.
"""

from __future__ import annotations

import asyncio
import contextlib
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
# Pieces that queued up meanwhile go to the file in one writev, up to this much.
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
    ``start``, then (after the thread of ``after``, the link's previous chunk here, has
    hashed its last pieces) brings ``hasher`` up to the file (``upload_disk.rehash``), all
    in the thread; ``put`` queues a piece; ``drain`` waits while too much is queued;
    ``finish`` waits for the last write and closes the file; ``close`` (always, in
    ``finally``) cuts an unfinished chunk back and waits until the file is closed.
    ``hashed`` is done once the hash has seen the whole chunk (or given up on it).
    """

    def __init__(
        self,
        folder: Path,
        start: int,
        hashed: tuple[StreamingHash | None, str | None],
        accepts: Callable[[upload_disk.OnDisk], bool],
        after: ChunkWriter | None = None,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._folder, self._start, self._accepts, self._after = folder, start, accepts, after
        # The hash kept of this upload and the upload id it belongs to; once the file is
        # closed, the hash of the part up to the chunk's end (its last pieces may still be
        # on their way in: ``hashed``), or None when the chunk failed.
        self.hasher, self.hash_id = hashed
        # Pieces, then None: the end, of a whole chunk when ``_whole`` was set before it.
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._whole = False
        self.complete = False  # the chunk is whole in the file (set before ``close`` returns)
        self._flush = False  # the body is all queued: write the rest at once, hash it after
        self._lock = threading.Lock()  # guards the counters and the waiter below
        self._queued = 0  # bytes put (the loop's count)
        self._written = 0  # bytes written and hashed (the thread's count)
        self._waiter: tuple[asyncio.Future[None], int] | None = None
        self.error: OSError | None = None  # the write that failed; later pieces are dropped
        self._opened: asyncio.Future[upload_disk.OnDisk] = self._loop.create_future()
        self._ended: asyncio.Future[None] = self._loop.create_future()
        self.hashed: asyncio.Future[None] = self._loop.create_future()
        self._thread: threading.Thread | None = None
        self._closed = False

    async def open(self) -> upload_disk.OnDisk:
        """What the folder holds (the thread then writes only if ``accepts`` said yes)."""
        # A daemon: a process killed mid-chunk loses the chunk either way; ``close`` always
        # ends the writing of a live one, and the hash after it is bounded by MAX_PENDING.
        thread = threading.Thread(target=self._run, name="upload-chunk", daemon=True)
        try:
            thread.start()
        except BaseException:  # no thread (none left to start): nothing to wait for, ever
            self.hashed.set_result(None)
            raise
        self._thread = thread
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
        """The whole chunk is queued: wait for it to be in the file and the file closed;
        raises the write's ``OSError`` (the chunk then cut back)."""
        self._whole = self._flush = self._closed = True
        self._queue.put(None)
        await asyncio.shield(self._ended)

    async def close(self) -> None:
        """End the writing (an unfinished chunk is cut back first); shielded, so that the file
        is closed even when the request is torn down."""
        if self._thread is None:
            return
        if not self._closed:
            self._closed = True
            self._queue.put(None)
        await asyncio.shield(asyncio.gather(self._ended, return_exceptions=True))

    # ------------------------------------------------------------------ the thread
    def _wake(self, fut: asyncio.Future[T], value: T | BaseException) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
            self._loop.call_soon_threadsafe(_settle, fut, value)

    def _run(self) -> None:
        fd: int | None = None
        done = False
        tail: list[bytes] = []  # written after the body ended, hashed after the file closed
        try:
            try:
                disk = upload_disk.look(self._folder)
                if self._accepts(disk):
                    fd = upload_disk.open_at(self._folder / upload_disk.PART_NAME, self._start)
            except BaseException as exc:  # told to the loop, which raises it
                self._wake(self._opened, exc)
                return
            self._wake(self._opened, disk)
            if fd is not None:
                self._catch_up(disk)
            done = self._pump(fd, tail)
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
            self.complete = done and error is None
            self._wake(self._ended, error if error is not None else None)
            if done and self.hasher is not None:
                for piece in tail:
                    self.hasher.update(piece)
            self._wake(self.hashed, None)

    def _catch_up(self, disk: upload_disk.OnDisk) -> None:
        """The hash brought up to the part file, once the previous chunk's thread is done
        with it; a failure to read the file back is the chunk's failure."""
        if self._after is not None and self._after._thread is not None:
            self._after._thread.join()
        hasher = self.hasher if upload_disk.hash_fits(self.hasher, self.hash_id, disk) else None
        self.hasher = None  # until it is known good again
        try:
            if hasher is None or hasher.size != disk.size:
                hasher = upload_disk.rehash(self._folder / upload_disk.PART_NAME, disk.size, hasher)
        except OSError as exc:
            self.error = exc
            return
        self.hasher, self.hash_id = hasher, upload_disk.upload_id(disk)

    def _pump(self, fd: int | None, tail: list[bytes]) -> bool:
        """Write what the loop queues until its end: True when the chunk is whole on disk."""
        while True:
            first = self._queue.get()
            pieces = [] if first is None else [first]
            size = len(first) if first is not None else 0
            end = first is None
            # What queued up meanwhile goes in the same system call; once the body ended,
            # all of it.
            while not end and (size < WRITE_BATCH or self._flush):
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
                    if self._flush:
                        tail.extend(pieces)
                    else:
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
