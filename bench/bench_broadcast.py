"""Bench: the delivery rate a broadcast achieves against the configured platform limit.

A broadcast of ``rate × seconds`` recipients goes through the real worker
(:class:`handlers.deliveries.Worker`:
claims, begin/finish records in the store, the token bucket) and real aiogram sends to the
fake Bot API server of ``tests/fakes/telegram_api.py`` on loopback, which answers at once.
The rate is measured where Telegram would measure it, at the server: messages between the
first and the last arrival over that time.  Also reported: the most calls started within any
one second (the ceiling the limiter keeps) and the most that arrived within any one second
(the same plus the scheduling jitter of a fake server sharing the worker's event loop).

Default scenarios: Telegram's 30/s for 10 s, and 300/s for 10 s.  Target: achieved /
configured ≥ 0.95 in each; exit 0 when met, 1 when not.  Loopback only; every wait is bounded.

    .venv/bin/python bench/bench_broadcast.py [--storage sqlite|redis] [--seconds 10]
        [--rates 30,300] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import datetime as dt
import json
import logging
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a file, not only as ``-m bench.bench_broadcast``
    sys.path.insert(0, str(ROOT))

from aiogram import Bot  # noqa: E402
from aiogram.client.session.aiohttp import AiohttpSession  # noqa: E402
from aiogram.client.telegram import TelegramAPIServer  # noqa: E402

from bot.channels.telegram_sender import TelegramSender  # noqa: E402
from bot.storage import choose_backend  # noqa: E402
from contests.deliveries import Delivery, Job, JobKind, JobState, Outcome, Recipient  # noqa: E402
from contests.ports import JobStore  # noqa: E402
from contests.records import UserKey  # noqa: E402
from handlers.deliveries import ChatSpacing, Outlet, TokenBucket, Worker, WorkerConfig  # noqa: E402
from tests.fakes.telegram_api import TOKEN, FakeTelegram  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/0"
TARGET = 0.95


class ArrivalServer(FakeTelegram):
    """The fake Bot API server, noting when each message arrived (nothing else is kept)."""

    def __init__(self) -> None:
        super().__init__(record=False)
        self.arrivals: list[float] = []

    async def _m_sendMessage(self, call: Any) -> Any:
        result = await super()._m_sendMessage(call)
        self.arrivals.append(call.at)
        return result


class TimedSender(TelegramSender):
    """The real sender, noting when each call started (what the limiter controls)."""

    def __init__(self, bot: Bot) -> None:
        super().__init__(bot)
        self.starts: list[float] = []

    async def send(self, job: Job, delivery: Delivery, text: str, route: str) -> Outcome:
        self.starts.append(time.monotonic())
        return await super().send(job, delivery, text, route)


@dataclass
class Figures:
    configured: float
    recipients: int
    delivered: int
    span_s: float
    achieved: float
    ratio: float
    max_started_in_1s: int  # calls started within any one second (the limiter's ceiling)
    max_arrived_in_1s: int  # arrivals at the server within any one second (adds loopback jitter)
    storage: str


def max_in_window(times: Sequence[float], window: float = 1.0) -> int:
    """The most arrivals within any ``window`` seconds."""
    best = 0
    for i, t in enumerate(times):
        best = max(best, bisect.bisect_left(times, t + window, lo=i) - i)
    return best


async def one_run(rate: float, seconds: float, storage: str, data_dir: Path) -> Figures:
    n = max(2, round(rate * seconds))
    prefix = f"kepu-bench-{uuid.uuid4().hex[:10]}"
    jobs: JobStore = await choose_backend(
        data_dir=data_dir / f"r{rate:g}",
        redis_url=REDIS_URL if storage == "redis" else None,
        redis_prefix=prefix,
    ).open_jobs()
    server = ArrivalServer()
    await server.start()
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(server.url)))
    recipients = [Recipient(UserKey("telegram", str(200_000 + i))) for i in range(n)]

    async def expand(job: Job) -> list[Recipient]:
        return recipients

    sender = TimedSender(bot)
    outlets = {"telegram": Outlet(sender, TokenBucket(rate), ChatSpacing(1.0))}
    # As serve runs it (RemindSettings' defaults), but polling more often than once a second
    # so that the start is not a poll interval late (it is outside the measured span anyway).
    worker = Worker(jobs, outlets, expand=expand, config=WorkerConfig(poll_interval=0.1))
    now = dt.datetime.now(dt.UTC)
    await jobs.create_job(Job("BENCH", JobKind.BROADCAST, "bench", "all", "基准测试消息", now, "bench", now))
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        async with asyncio.timeout(seconds * 3 + 30):  # bounded, whatever happens
            while len(server.arrivals) < n:
                if task.done():
                    task.result()
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task
        await bot.session.close()
        await server.close()
        job = await jobs.get_job("BENCH")
        if storage == "redis":
            import redis.asyncio as aioredis

            client = aioredis.from_url(REDIS_URL)
            keys = [k async for k in client.scan_iter(match=f"{prefix}:*")]
            if keys:
                await client.delete(*keys)
            await client.aclose()
        await jobs.close()
    assert job is not None and job.state is JobState.DONE, job
    times = sorted(server.arrivals)
    span = times[-1] - times[0]
    achieved = (len(times) - 1) / span if span > 0 else float("inf")
    return Figures(
        rate,
        n,
        len(times),
        span,
        achieved,
        achieved / rate,
        max_in_window(sorted(sender.starts)),
        max_in_window(times),
        storage,
    )


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--storage", choices=("sqlite", "redis"), default="sqlite")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of sending per scenario")
    parser.add_argument("--rates", default="30,300", help="configured limits, messages per second")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="one tiny round, seconds: the bench still runs, its figures mean nothing",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.seconds, args.rates = 0.5, "30"
    logging.basicConfig(level=logging.WARNING)
    rates = [float(r) for r in args.rates.split(",") if r.strip()]
    results: list[Figures] = []
    with tempfile.TemporaryDirectory(prefix="bench-broadcast-") as tmp:
        for rate in rates:
            results.append(await one_run(rate, args.seconds, args.storage, Path(tmp)))
    met = all(r.ratio >= TARGET for r in results)
    if args.json:
        print(json.dumps({"target": TARGET, "met": met, "runs": [asdict(r) for r in results]}, indent=2))
        return 0 if met else 1
    print(f"storage {args.storage}, {args.seconds:g} s of sending per limit, fake Bot API on loopback")
    for r in results:
        print(
            f"limit {r.configured:>6g}/s  {r.delivered:>5} messages in {r.span_s:6.2f} s  "
            f"achieved {r.achieved:7.2f}/s  achieved/configured = {r.ratio:.3f}  "
            f"most in any 1 s: {r.max_started_in_1s} started, {r.max_arrived_in_1s} arrived"
        )
    print(f"target achieved/configured >= {TARGET}: {'met' if met else 'NOT met'}")
    return 0 if met or args.smoke else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
