"""CPU accounting shared by the channel benches, mounted on each server under test.

``GET`` the probe's path for ``{"cpu": …, "children": …}``: this process's CPU seconds and
its live children's (the process that draws the PDFs), which ``process_time()`` leaves out.
With a profile path, the first call starts cProfile and the second writes what ran in between
(the measured window, not the imports).
"""

from __future__ import annotations

import contextlib
import cProfile
import os
import time
from pathlib import Path

from aiohttp import web

__all__ = ["CpuProbe", "children_cpu"]


def children_cpu() -> float:
    """CPU seconds of this process's live children, from /proc (0 where there is none)."""
    me, total = os.getpid(), 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rpartition(")")[2].split()
            if int(fields[1]) == me:  # ppid; then utime, stime, cutime, cstime in clock ticks
                total += sum(int(f) for f in fields[11:15])
    return total / os.sysconf("SC_CLK_TCK")


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
        return web.json_response({"cpu": now, "children": children})
