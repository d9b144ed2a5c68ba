"""``python -m bot …`` run inside the test process: the same ``bot.cli.main``, without the
second or more of imports that a fresh interpreter pays for every command.

Each command still gets what a subprocess would: its own environment (``BOT_*`` variables of
the test process dropped), working folder, stdin, captured stdout and stderr (log lines
included, in the CLI's own format), the exit status argparse or the command gives, and for an
uncaught exception a traceback on stderr and status 1.  It runs in a thread of its own, so a
command's ``asyncio.run`` works from async tests too; one command at a time per process, since
the environment, folder and standard streams it swaps are the process's.

The tests of the entry point itself (``python -m bot`` found and started, ``chat`` and
``serve`` reading a real terminal or serving a port, signals) still start a real process.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import subprocess
import sys
import threading
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path

_ONE_AT_A_TIME = threading.Lock()


@contextlib.contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update({k: v for k, v in saved.items() if not k.startswith("BOT_")})
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _folder(cwd: Path | None) -> Iterator[None]:
    before = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(before)


@contextlib.contextmanager
def _log_to(stream: io.TextIOBase) -> Iterator[None]:
    """The root logger's lines go to ``stream``, as ``logging.basicConfig`` in the CLI would
    send them to a fresh process's stderr (pytest's own handlers make basicConfig a no-op)."""
    root = logging.getLogger()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.getLevelName(os.environ.get("BOT_LOG_LEVEL", "INFO").upper()))
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def run_bot(
    args: list[str], *, env: Mapping[str, str], cwd: Path | None = None, stdin: str | bytes = b""
) -> subprocess.CompletedProcess[str]:
    """``python -m bot *args`` with ``env`` (plus the test process's non-``BOT_`` variables)."""
    from bot.cli import main  # here: a test module that never runs a command does not pay for it

    data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
    out, err = io.StringIO(), io.StringIO()
    status: list[int] = []

    def command() -> None:
        try:
            status.append(main(args))
        except SystemExit as exc:  # argparse's usage errors (2), --help (0)
            code = exc.code
            status.append(code if isinstance(code, int) else (0 if code is None else 1))
        except BaseException:  # what a fresh interpreter would print before exiting 1
            err.write(traceback.format_exc())
            status.append(1)

    with _ONE_AT_A_TIME, _environment(env), _folder(cwd):
        stdin_stream = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
        with (
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            _swap_stdin(stdin_stream),
            _log_to(err),
        ):
            thread = threading.Thread(target=command, name="bot-cli")
            thread.start()
            thread.join(timeout=120)
            if thread.is_alive():
                raise TimeoutError(f"python -m bot {' '.join(args)} did not end within 120 s")
    return subprocess.CompletedProcess(
        ["python", "-m", "bot", *args], status[0], out.getvalue(), err.getvalue()
    )


@contextlib.contextmanager
def _swap_stdin(stream: io.TextIOWrapper) -> Iterator[None]:
    saved, sys.stdin = sys.stdin, stream
    try:
        yield
    finally:
        sys.stdin = saved
