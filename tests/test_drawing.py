"""The drawing process (``forms.drawing``): a child driven from the event loop by pipes.

The functions sent are the standard library's, so that the child imports nothing of the tests.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator

import pytest

from forms.drawing import DrawingFailed, DrawingProcess


@pytest.fixture
async def drawer() -> AsyncIterator[DrawingProcess]:
    process = DrawingProcess()
    try:
        yield process
    finally:
        await process.aclose()


async def test_calls_run_in_a_child_in_order_and_an_error_comes_back_as_itself(
    drawer: DrawingProcess,
) -> None:
    pid = await drawer.call(os.getpid)
    assert pid != os.getpid()
    with pytest.raises(ValueError, match="not a number"):
        await drawer.call(int, "not a number")
    # Many at once, answered one by one, each to its own caller.
    assert await asyncio.gather(*(drawer.call(abs, -n) for n in range(50))) == list(range(50))
    await drawer.call(print, "a stray print goes to stderr, not into the answers")
    assert await drawer.call(os.getpid) == pid  # the same process all along
    assert drawer.load == 0


async def test_a_child_that_dies_fails_what_it_owed_and_the_next_call_starts_another(
    drawer: DrawingProcess,
) -> None:
    pid = await drawer.call(os.getpid)
    # Both requests are written before the child reads the first, which kills it.
    dying = asyncio.create_task(drawer.call(os._exit, 3))
    queued = asyncio.create_task(drawer.call(abs, -1))
    for task in (dying, queued):
        with pytest.raises(DrawingFailed):
            await task
    assert drawer.load == 0
    new_pid = await drawer.call(os.getpid)
    assert new_pid != pid
    assert await drawer.call(abs, -7) == 7


async def test_a_caller_that_gives_up_leaves_the_others_their_answers(drawer: DrawingProcess) -> None:
    await drawer.call(os.getpid)
    slow = asyncio.create_task(drawer.call(time.sleep, 0.3))
    await asyncio.sleep(0.05)
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow
    assert await drawer.call(abs, -5) == 5  # its late answer was dropped, not given to this call


async def test_closing_waits_for_what_was_sent_then_the_child_exits() -> None:
    drawer = DrawingProcess()
    pid = await drawer.call(os.getpid)
    calls = [asyncio.create_task(drawer.call(abs, -n)) for n in range(5)]
    await asyncio.sleep(0)  # every request written
    await drawer.aclose()
    assert [call.result() for call in calls] == list(range(5))
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # gone, and reaped
    await drawer.aclose()  # twice is harmless
