"""The drawing process: a child process that runs the functions it is sent, one at a time,
driven from the event loop through its stdin and stdout.

Why not :class:`concurrent.futures.ProcessPoolExecutor`: its two threads (one feeding the
pipe, one waiting for results) each fight the event loop for the GIL at every call, which
cost a WeChat server ~0.5 ms of CPU per submission for a few hundred bytes of result.  Here
the event loop writes a request and reads the answer itself, as it reads a socket.

The wire: each frame is a 4-byte big-endian length and a pickle.  A request is
``(call id, function, args)``; the answer ``(call id, ok, result or exception)``.  Both ends
are this program, so the pickles are trusted.  ``python -m forms.drawing`` is the child.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import pickle
import signal
import struct
import sys
import traceback
from collections.abc import Callable
from typing import Any, BinaryIO

log = logging.getLogger(__name__)

_HEAD = struct.Struct(">I")
#: The child imports this package from where this process found it.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: A frame longer than this is a broken stream, not a request (a request is a few KB).
MAX_FRAME = 64 * 1024 * 1024


class DrawingFailed(RuntimeError):
    """The drawing process ended (or could not start) before it answered."""


def _frame(obj: object) -> bytes:
    data = pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)
    return _HEAD.pack(len(data)) + data


# --------------------------------------------------------------------------- the child


def _serve(requests: BinaryIO, answers: BinaryIO) -> None:
    """Answer each request until the input ends (the parent closed it: time to stop)."""
    while True:
        head = requests.read(_HEAD.size)
        if len(head) < _HEAD.size:
            return
        (size,) = _HEAD.unpack(head)
        call_id, fn, args = pickle.loads(requests.read(size))
        try:
            answer = _frame((call_id, True, fn(*args)))
        except Exception as exc:
            traceback.print_exc()  # to stderr: the server's log has the whole story
            try:
                answer = _frame((call_id, False, exc))
            except Exception:  # an exception that does not pickle
                answer = _frame((call_id, False, RuntimeError(f"{type(exc).__name__}: {exc}")))
        answers.write(answer)
        answers.flush()


def main() -> None:
    """The child's entry point: frames on stdout, anything else printed goes to stderr."""
    # Drawing is background work: entrants waiting for a reply come first.
    with contextlib.suppress(OSError):
        os.nice(10)
    # Ctrl-C in a terminal reaches the whole process group; the parent decides when this
    # process stops (by closing its input), after what it was sent is drawn.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print() must not corrupt the frames
    sys.stdout = sys.stderr
    _serve(sys.stdin.buffer, answers)


# --------------------------------------------------------------------------- the parent


class _Child:
    """One incarnation of the process: its pipes, its reader task and the calls it owes."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.reader = asyncio.get_running_loop().create_task(self._read(), name="kepu-drawing-reader")

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None and not self.reader.done()

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        stdout = self.proc.stdout
        try:
            while True:
                (size,) = _HEAD.unpack(await stdout.readexactly(_HEAD.size))
                if size > MAX_FRAME:
                    raise DrawingFailed(f"frame of {size} bytes")
                call_id, ok, value = pickle.loads(await stdout.readexactly(size))
                future = self.pending.pop(call_id, None)
                if future is None or future.done():  # its caller gave up waiting
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)
        except asyncio.IncompleteReadError:
            pass  # the process ended
        except Exception:
            log.exception("the drawing process's answers could not be read")
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
        finally:
            pending, self.pending = self.pending, {}
            for future in pending.values():
                if not future.done():
                    future.set_exception(DrawingFailed("绘制进程意外退出"))


# bench/README.md 'WeChat' session 6: the pool's two threads cost ~35 µs per update.
class DrawingProcess:
    """Calls functions in a child process (``python -m forms.drawing``), started on first use
    and again after it died; calls are drawn one at a time, in order."""

    def __init__(self) -> None:
        self._child: _Child | None = None
        self._starting = asyncio.Lock()
        self._ids = itertools.count()

    @property
    def load(self) -> int:
        """Calls sent and not answered yet."""
        return len(self._child.pending) if self._child is not None else 0

    async def _start(self) -> _Child:
        async with self._starting:
            if self._child is not None:
                if self._child.alive:
                    return self._child
                if self._child.proc.stdin is not None:  # the dead one's pipe, not left open
                    self._child.proc.stdin.close()
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(p for p in (_ROOT, env.get("PYTHONPATH", "")) if p)
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "forms.drawing",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                env=env,
            )
            self._child = _Child(proc)
            return self._child

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` in the drawing process (``fn`` and ``args`` must pickle); raises what
        ``fn`` raised, or :class:`DrawingFailed` when the process ended before answering."""
        child = self._child if self._child is not None and self._child.alive else await self._start()
        assert child.proc.stdin is not None
        call_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        child.pending[call_id] = future
        try:
            child.proc.stdin.write(_frame((call_id, fn, args)))
            await child.proc.stdin.drain()
            return await future
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise DrawingFailed("绘制进程意外退出") from exc
        finally:
            child.pending.pop(call_id, None)

    async def aclose(self) -> None:
        """Stop the process after it has answered what it was sent."""
        child, self._child = self._child, None
        if child is None:
            return
        try:
            if child.proc.stdin is not None:
                child.proc.stdin.close()  # the process sees the end of its input once it is drained
            await asyncio.wait({child.reader})
            await child.proc.wait()
        except BaseException:  # cancelled: stop it now rather than leave it behind
            with contextlib.suppress(ProcessLookupError):
                child.proc.kill()
            await asyncio.shield(child.proc.wait())
            child.reader.cancel()
            raise


if __name__ == "__main__":
    main()
