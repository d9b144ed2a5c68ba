"""Drawing processes for the tests, forked from a warm interpreter instead of started cold.

A submission's forms are drawn in a child process (``python -m forms.drawing``, see
:mod:`forms.drawing`) that every test building the services starts afresh: ~1 s of CPU to
import WeasyPrint and the rest, ~0.9 s more for its first PDF to cut the common characters'
faces and parse the stylesheets (``forms.pdf.font_config``, ``parsed_stylesheet``).  Those
are the same in every drawing process of a run: nothing a test does changes them.

So in the tests (``tests/conftest.py``, every module but ``test_drawing.py``, which tests
the process itself) the command ``python -m forms.drawing`` that :class:`DrawingProcess` runs
becomes a small launcher, ``python -I -S -c LAUNCHER``, that hands its standard streams, its
environment and its folder to this module's zygote: a process of the test session that
imported the drawing code and made those process-wide things once, and forks a child per
launcher.  The child takes the launcher's streams, environment and folder and runs
``forms.drawing.main()``, the drawing process's own entry point, on them; what it draws, how
it is driven (the same pipes, the same frames) and its caches of shapes start as in a fresh
process.  The launcher lives as long as its child and exits as it did; a launcher killed
takes its child with it.  The zygote reaps the children and is reaped by the session, so
their CPU is counted in the run's like that of any child.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import traceback
import types
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

#: The launcher: sends its streams (SCM_RIGHTS), environment and folder to the zygote, keeps
#: no copy of stdin or stdout, waits for the child's exit status and ends the same way.
LAUNCHER = """\
import array, json, os, signal, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
data = json.dumps({"env": dict(os.environ), "cwd": os.getcwd()}).encode()
fds = array.array("i", [0, 1, 2])
s.sendmsg([len(data).to_bytes(4, "big") + data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
os.close(0)
os.close(1)
said = b""
while chunk := s.recv(64):
    said += chunk
code = int(said) if said else -signal.SIGKILL
if code < 0:
    signal.signal(-code, signal.SIG_DFL)
    os.kill(os.getpid(), -code)
sys.exit(code)
"""


# --------------------------------------------------------------------------- the zygote


def _warm() -> None:
    """What every drawing process makes before its first PDF, whatever it draws."""
    import forms.paperwork
    import forms.pdf
    import forms.render  # the drawing functions, and with forms.pdf WeasyPrint

    with contextlib.suppress(Exception):  # no fonts: each child fails as a cold one would
        forms.pdf.font_config()
        for name in ("form.css", "receipt.css"):
            forms.pdf.parsed_stylesheet(name)


def _receive(conn: socket.socket) -> tuple[list[int], dict[str, Any]]:
    msg, ancillary, _, _ = conn.recvmsg(1 << 16, socket.CMSG_SPACE(3 * array.array("i").itemsize))
    fds: list[int] = []
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.extend(array.array("i", data[: len(data) - len(data) % array.array("i").itemsize]))
    size = int.from_bytes(msg[:4], "big")
    body = msg[4:]
    while len(body) < size:
        chunk = conn.recv(size - len(body))
        if not chunk:
            raise EOFError("launcher went away")
        body += chunk
    return fds, json.loads(body)


def _child(fds: list[int], request: dict[str, Any], closing: list[int]) -> None:
    """In the forked child: become the drawing process of the launcher that asked."""
    code = 0
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.set_wakeup_fd(-1)
        for fd in closing:
            os.close(fd)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        from forms.drawing import main

        main()
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)  # not the zygote's exit: its objects (the faces' folder) are not ours


def serve(path: str) -> None:
    """The zygote: warm once, then a child per launcher, until stdin ends (the session's end)."""
    _warm()
    sys.stdout.flush()
    sys.stderr.flush()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    children: dict[int, socket.socket] = {}  # pid -> its launcher's connection
    by_conn: dict[socket.socket, int] = {}
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    selector.register(sys.stdin.fileno(), selectors.EVENT_READ)
    print("ready", flush=True)
    stopping = False
    while not stopping or children:
        for key, _ in selector.select(timeout=1.0 if stopping else None):
            if key.fileobj is listener:
                conn, _ = listener.accept()
                try:
                    fds, request = _receive(conn)
                except (OSError, EOFError, ValueError):
                    conn.close()
                    continue
                closing = [listener.fileno(), wake_r, wake_w, sys.stdin.fileno()]
                closing += [c.fileno() for c in by_conn] + [conn.fileno()]
                pid = os.fork()
                if pid == 0:
                    _child(fds, request, closing)
                for fd in fds:
                    os.close(fd)
                children[pid] = conn
                by_conn[conn] = pid
                selector.register(conn, selectors.EVENT_READ)
            elif key.fileobj == wake_r:
                os.read(wake_r, 4096)
            elif key.fileobj == sys.stdin.fileno():
                if not os.read(sys.stdin.fileno(), 4096):
                    selector.unregister(sys.stdin.fileno())
                    stopping = True
                    for pid in children:  # the session is over: nothing may be left
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(pid, signal.SIGKILL)
            else:  # a launcher's connection: it sends nothing more, so this is its end
                conn = key.fileobj
                assert isinstance(conn, socket.socket)
                selector.unregister(conn)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(by_conn[conn], signal.SIGKILL)  # the launcher was killed
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            conn = children.pop(pid)
            by_conn.pop(conn, None)
            with contextlib.suppress(OSError):
                conn.sendall(str(os.waitstatus_to_exitcode(status)).encode())
            with contextlib.suppress(KeyError, ValueError):
                selector.unregister(conn)
            conn.close()


# --------------------------------------------------------------------------- the session's side


class Zygote:
    """The session's zygote, started on the first drawing process a test asks for."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._folder: str | None = None
        self.path = ""

    def ensure(self) -> str:
        with self._lock:
            if self._proc is None:
                self._folder = tempfile.mkdtemp(prefix="kepu-zygote-")
                self.path = os.path.join(self._folder, "zygote.sock")
                env = dict(os.environ)
                env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
                self._proc = subprocess.Popen(
                    [sys.executable, "-m", "tests.drawing_zygote", self.path],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    env=env,
                    cwd=ROOT,
                )
                assert self._proc.stdout is not None
                while (line := self._proc.stdout.readline()) != b"ready\n":  # whatever warming printed
                    if not line:
                        raise RuntimeError(f"the drawing zygote did not start ({self._proc.wait()})")
            return self.path

    def stop(self) -> None:
        """End the zygote after its children, and reap it (their CPU is then the session's)."""
        with self._lock:
            proc, self._proc = self._proc, None
            if proc is None:
                return
            assert proc.stdin is not None
            proc.stdin.close()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
            if self._folder is not None:
                with contextlib.suppress(OSError):
                    os.unlink(self.path)
                    os.rmdir(self._folder)


ZYGOTE = Zygote()


class _AsyncioForDrawing(types.ModuleType):
    """``asyncio`` as :mod:`forms.drawing` sees it in the tests: the same module, except that
    its one subprocess, ``python -m forms.drawing``, is a launcher of a forked child."""

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    async def create_subprocess_exec(self, program: str, *args: str, **kwargs: Any) -> Any:
        if program == sys.executable and args == ("-m", "forms.drawing"):
            path = await asyncio.to_thread(ZYGOTE.ensure)
            return await asyncio.create_subprocess_exec(
                sys.executable, "-I", "-S", "-c", LAUNCHER, path, **kwargs
            )
        return await asyncio.create_subprocess_exec(program, *args, **kwargs)


ASYNCIO_FOR_DRAWING = _AsyncioForDrawing("asyncio")


if __name__ == "__main__":
    serve(sys.argv[1])
