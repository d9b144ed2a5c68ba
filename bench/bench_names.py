"""What loose name matching costs (issue 17), against the exact match in the same process.

* the channel step: a phrase ("我是个人会员，选2") against the channel's own label, per event;
* the contest step: part of a name ("科普微视频", a choice of two) against the full title;
* a units file of ``--lines`` lines mapped (:func:`read_units`) against reading it with ``csv``;
* a unit typed by another name (:func:`find_unit`'s fallback over ``--units`` units) against
  the exact lookup.

Prints µs per operation and the ratio; exits 0 when a phrase costs under a millisecond per
event (a typed message's whole turn is several), else 1.

    .venv/bin/python bench/bench_names.py [--rounds 5] [--lines 1000] [--units 500] [--smoke]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import io
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bot.storage import open_stores
from contests.editions import new_edition
from contests.events import EventKind, Incoming
from contests.org import Unit
from contests.records import UserKey
from contests.registry import ContestRegistry
from contests.rules import Contest
from dialogs.engine import DialogEngine
from dialogs.messages import Messages
from handlers.admin.units import read_units
from handlers.quota.rules import find_unit

NOW = dt.datetime(2099, 6, 1, 4, tzinfo=dt.UTC)
USER = UserKey("bench", "u")


def per_call(fn: Callable[[], object], rounds: int, n: int) -> float:
    """The best of ``rounds`` runs of ``n`` calls, in µs per call."""
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t0) / n)
    return best * 1e6


def registry() -> ContestRegistry:
    editions = [
        Contest.model_validate(new_edition(c, c.id + "-b", dt.date(2099, 10, 25), dt.date(2000, 1, 1)))
        for c in ContestRegistry.load()
    ]
    return ContestRegistry(editions)


def at(engine: DialogEngine, *said: str) -> dict[str, object]:
    state = None
    for text in said:
        state = engine.handle(state, Incoming(USER, EventKind.TEXT, text=text), NOW).state
    assert state is not None
    return state


def line(name: str, baseline: float, measured: float) -> None:
    print(f"{name:<44} baseline {baseline:9.1f} µs   loose {measured:9.1f} µs   ×{measured / baseline:5.2f}")


async def lookups(rounds: int, units: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as folder:
        async with open_stores(data_dir=Path(folder), redis_url=None) as stores:
            org = stores.org
            await org.put_units("c", [Unit("c", f"第{i}号单位科学技术局", "unit") for i in range(units)])
            target = f"第{units // 2}号单位科学技术局"
            short = f"第{units // 2}号单位科技局"

            async def timed(name: str) -> float:
                best = float("inf")
                for _ in range(rounds):
                    t0 = time.perf_counter()
                    for _ in range(20):
                        assert await find_unit(org, "c", name) is not None
                    best = min(best, (time.perf_counter() - t0) / 20)
                return best * 1e6

            return await timed(target), await timed(short)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--lines", type=int, default=1000)
    parser.add_argument("--units", type=int, default=500)
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="one tiny round, seconds: the bench still runs, its figures mean nothing",
    )
    args = parser.parse_args()
    if args.smoke:
        args.rounds, args.lines, args.units = 1, 20, 10
    engine = DialogEngine(registry(), Messages())
    cacsi = next(c for c in engine.contests if c.id.startswith("cacsi"))
    at_channel = at(engine, "开始", cacsi.title)

    def channel(text: str) -> Callable[[], object]:
        return lambda: engine.handle(at_channel, Incoming(USER, EventKind.TEXT, text=text), NOW)

    exact = per_call(channel("会员推荐/申报（社会征集）"), args.rounds, 300)
    phrase = per_call(channel("我是个人会员，选2"), args.rounds, 300)
    line("channel step: label → phrase", exact, phrase)
    at_contest = at(engine, "开始")
    cas = next(c for c in engine.contests if c.id.startswith("most-cas"))

    def contest(text: str) -> Callable[[], object]:
        return lambda: engine.handle(at_contest, Incoming(USER, EventKind.TEXT, text=text), NOW)

    line(
        "contest step: title → part (a choice of 2)",
        per_call(contest(cas.title), args.rounds, 300),
        per_call(contest("科普微视频"), args.rounds, 300),
    )
    cas_rows = "名称,类别\n" + "\n".join(f"某某{i}单位,member_unit" for i in range(args.lines))
    baseline = per_call(lambda: list(csv.reader(io.StringIO(cas_rows))), args.rounds, 3)
    mapped = per_call(lambda: read_units(cas_rows, cas), args.rounds, 3)
    line(f"units file, {args.lines} lines: csv → mapped", baseline, mapped)
    found, fallback = asyncio.run(lookups(args.rounds, args.units))
    line(f"unit lookup, {args.units} units: exact → other name", found, fallback)
    print(f"per event, a phrase adds {phrase - exact:.1f} µs at the channel step")
    return 0 if phrase - exact < 1000 or args.smoke else 1


if __name__ == "__main__":
    sys.exit(main())
