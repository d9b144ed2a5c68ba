"""CPU accounting shared by the channel benches, mounted on each server under test.

``GET`` the probe's path for ``{"cpu": …, "children": …, "threads": {…}}``: this process's CPU
seconds, its live children's (the process that draws the PDFs), which ``process_time()``
leaves out, and each live thread's by kind (the event loop, the SQLite connection, the
worker threads of ``to_thread``…), which says where a process's CPU went.
With a profile path, the first call starts cProfile and the second writes what ran in between
(the measured window, not the imports).
"""

from __future__ import annotations

import contextlib
import cProfile
import os
import re
import threading
import time
from pathlib import Path

from aiohttp import web

__all__ = ["CpuProbe", "children_cpu", "process_cpu_s", "rss_kib", "threads_cpu"]


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    """Resident memory of process ``pid`` (VmRSS), KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def children_cpu() -> float:
    """CPU seconds of this process's live children, from /proc (0 where there is none)."""
    me, total = os.getpid(), 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rpartition(")")[2].split()
            if int(fields[1]) == me:  # ppid; then utime, stime, cutime, cstime in clock ticks
                total += sum(int(f) for f in fields[11:15])
    return total / os.sysconf("SC_CLK_TCK")


def threads_cpu() -> dict[str, float]:
    """CPU seconds of this process's live threads, summed by kind: the thread's name without
    its numbers ("asyncio_3" and "asyncio_0" are both "asyncio_")."""
    tick, total = os.sysconf("SC_CLK_TCK"), dict[str, float]()
    for thread in threading.enumerate():
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = Path(f"/proc/self/task/{thread.native_id}/stat").read_text()
            fields = stat.rpartition(")")[2].split()
            kind = "event loop" if thread is threading.main_thread() else re.sub(r"\d+", "", thread.name)
            total[kind] = total.get(kind, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return total


class CpuProbe:
    """The handler; ``profile`` is where to write the window's cProfile ("" for none)."""

    def __init__(self, profile: str = "") -> None:
        self.profile = profile
        self._profiler: cProfile.Profile | None = None

    async def handle(self, request: web.Request) -> web.Response:
        now, children = time.process_time(), children_cpu()
        if self.profile and self._profiler is None:
            self._profiler = cProfile.Profile()
            self._profiler.enable()
        elif self._profiler is not None:
            self._profiler.disable()
            self._profiler.dump_stats(self.profile)
        return web.json_response({"cpu": now, "children": children, "threads": threads_cpu()})
