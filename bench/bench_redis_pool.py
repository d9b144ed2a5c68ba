"""Client CPU per Redis call on the stores' paths, against redis-py's plain ones, in one process
and minute (bench/README.md "The scripts' lane and the blocking pool (lane review)").

- a script of every update: on the lane (``ScriptLane``, as the stores run it) over the
  script called through a plain ``from_url`` client (what the lane replaced);
- any other command (a GET): on the stores' client (``connect``: a blocking pool, so that a
  burst waits for a connection) over a plain ``from_url`` client (which refuses the 101st).

20 coroutines at once, each ``--calls`` calls; each round runs the four in an order that
alternates; the medians' ratios are printed.  On a redis-server of its own (a free port).

    .venv/bin/python bench/bench_redis_pool.py            # 5 rounds of 20 x 200 calls
    .venv/bin/python bench/bench_redis_pool.py --smoke    # one tiny round
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

from bot.storage.redis.common import connect
from bot.storage.redis.lane import ScriptLane
from tests.redis_servers import private_redis, redis_server_missing

USERS = 20


async def _cpu_per_call(call: Callable[[], Awaitable[object]], calls: int) -> float:
    async def user() -> None:
        for _ in range(calls):
            await call()

    start = time.process_time()
    await asyncio.gather(*(user() for _ in range(USERS)))
    return (time.process_time() - start) / (USERS * calls) * 1e6


async def _run(url: str, rounds: int, calls: int) -> None:
    plain, shipped = aioredis.from_url(url, decode_responses=True), connect(url)
    lane = ScriptLane(shipped)
    script = shipped.register_script("return redis.call('GET', KEYS[1])")
    plain_script = plain.register_script("return redis.call('GET', KEYS[1])")
    paths: dict[str, Callable[[], Awaitable[object]]] = {
        "script, plain client": lambda: plain_script(keys=["k"], args=[]),
        "script, lane": lambda: lane.run(script, ["k"], []),
        "GET, plain pool": lambda: plain.get("k"),
        "GET, blocking pool": lambda: shipped.get("k"),
    }
    for call in paths.values():  # connections made, scripts loaded
        await call()
    found: dict[str, list[float]] = {name: [] for name in paths}
    try:
        for r in range(rounds):
            names = list(paths) if r % 2 == 0 else list(reversed(paths))
            for name in names:
                found[name].append(await _cpu_per_call(paths[name], calls))
    finally:
        await lane.close()
        await plain.aclose()
        await shipped.aclose()
    med = {name: statistics.median(v) for name, v in found.items()}
    print(f"client CPU per call, median of {rounds} round(s) of {USERS} x {calls} calls:")
    for name, value in med.items():
        print(f"  {name:<22} {value:6.1f} us   ({', '.join(f'{v:.1f}' for v in found[name])})")
    print(f"lane / plain client (scripts)  = {med['script, lane'] / med['script, plain client']:.2f}")
    print(f"blocking / plain pool (GET)    = {med['GET, blocking pool'] / med['GET, plain pool']:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--smoke", action="store_true", help="one tiny round, seconds")
    opts = parser.parse_args()
    if (why := redis_server_missing()) is not None:
        print(f"skipped: {why}")
        return 0
    rounds, calls = (1, 20) if opts.smoke else (opts.rounds, opts.calls)
    with private_redis() as url:
        asyncio.run(_run(url, rounds, calls))
    return 0


if __name__ == "__main__":
    sys.exit(main())
