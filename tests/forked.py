"""``python -m bot serve`` (and the broadcast tests' worker processes) forked from a server that
imported the service once, instead of started as fresh interpreters.

A fresh ``serve`` spends ~3 s of CPU on imports before it listens (aiogram's types alone ~2 s),
and the fault tests start it a dozen times a run to SIGKILL it.  multiprocessing's forkserver
imports :data:`PRELOAD` once and forks a process per start: the process is still the real
server, a process of its own, configured from its environment (set before ``bot.cli.main``
reads it), in its own folder and (when asked) its own session, its output in its log, killed
with SIGKILL at the kill and its exit status seen as a subprocess's.  Only the imports are
shared.  ``tests/conftest.py`` stops the forkserver at the session's end and reaps it, so the
processes' CPU counts in the run's (the forkserver reaps each of them).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.context
import multiprocessing.process
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path

#: What the forkserver imports once: what ``serve`` imports (aiogram included), and the module
#: of test_remind.py's worker processes.  The same list for every caller: the first start
#: fixes it.
PRELOAD = ["bot.cli", "bot.app", "bot.channels.telegram", "bot.channels.wechat", "tests.test_remind"]


def forks() -> multiprocessing.context.ForkServerContext:
    """The forkserver context, with :data:`PRELOAD` set before it starts."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


class Forked:
    """A forked ``serve``, with what the tests use of :class:`asyncio.subprocess.Process`."""

    def __init__(self, proc: multiprocessing.process.BaseProcess) -> None:
        self._proc = proc

    @property
    def pid(self) -> int:
        assert self._proc.pid is not None
        return self._proc.pid

    @property
    def returncode(self) -> int | None:
        return self._proc.exitcode

    def send_signal(self, sig: int) -> None:
        if self._proc.exitcode is not None:
            raise ProcessLookupError(self.pid)
        os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    async def wait(self) -> int:
        await asyncio.to_thread(self._proc.join)
        code = self._proc.exitcode
        assert code is not None
        return code


def _serve(cwd: str, env: dict[str, str], log: str | None, new_session: bool) -> None:
    """In the forked process: what ``python -m bot serve`` with this folder, environment and
    output would be."""
    if new_session:
        os.setsid()
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    out = os.open(log or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    from bot.cli import main

    try:
        code = main(["serve"])
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    sys.exit(code)


async def start_serve(
    cwd: Path, env: Mapping[str, str], log: Path | None = None, *, new_session: bool = False
) -> Forked:
    """``python -m bot serve`` in ``cwd`` with exactly ``env``, its output appended to ``log``
    (or dropped), in a session of its own with ``new_session`` (as ``start_new_session``)."""
    proc = forks().Process(
        target=_serve, args=(str(cwd), dict(env), str(log) if log else None, new_session), daemon=True
    )
    await asyncio.to_thread(proc.start)  # the first start waits for the forkserver's imports
    return Forked(proc)
