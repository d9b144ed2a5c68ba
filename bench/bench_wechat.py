"""Bench: simulated entrants completing the whole dialog through the WeChat webhook.

Each entrant sends what a person would (subscribe, the channel, every field of the form, the
video link, 确认提交) as signed XML pushes — encrypted too with ``--safe`` — and waits for the
passive reply before the next message.  The same pushes go, in the same run, to:

- a bare wechatpy handler: aiohttp, the signature check (and AES), wechatpy's parse and a
  passive reply, nothing else: the floor any WeChat bot in Python pays;
- an echo bot behind our webhook: our ``/wechat`` with an echo in place of the assistant (its
  checks, MsgId claim and contact record, reply task, passive reply).  This is the issue's
  yardstick, "a bare echo bot behind the same webhook" (see ``verdict``);
- our channel with the real dialog, drafts, quota and forms.

Each server runs in a process of its own (this process only generates load).  Reported per
server: updates per second, p50/p99/max passive-reply latency, server CPU per update (the
server process's CPU time, threads included, and split by thread; Redis's own CPU is not in
it), and how many answers outlived the reply budget and went as 客服消息.  Exits 0 when issue
5's targets are met by the whole dialog, else 1.  Loopback only, bounded by the number of
entrants and by ``--time-limit``.

    .venv/bin/python bench/bench_wechat.py                       # 500 entrants, SQLite, plain
    .venv/bin/python bench/bench_wechat.py --rounds 3 --entrants 200  # median of 3 interleaved rounds
    .venv/bin/python bench/bench_wechat.py --store redis --safe  # Redis at 127.0.0.1:6379, AES
    .venv/bin/python bench/bench_wechat.py --no-forms            # the dialog without its forms
    .venv/bin/python bench/bench_wechat.py --profile /tmp/wx.prof  # cProfile of our whole app's window
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import multiprocessing as mp
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402

from bench.cpu_probe import CpuProbe  # noqa: E402

TOKEN = "kepuBenchToken"
APP_ID = "wxbench000000000"
APP_SECRET = "bench-secret"
AES_KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"
SHARED_REDIS_URL = "redis://127.0.0.1:6379/0"


# --------------------------------------------------------------------------- servers (child processes)


def _echo_app(safe: bool) -> web.Application:
    """The baseline: what any WeChat webhook must do, and nothing more."""
    from wechatpy import create_reply, parse_message
    from wechatpy.crypto import WeChatCrypto
    from wechatpy.exceptions import InvalidSignatureException
    from wechatpy.utils import check_signature

    crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID) if safe else None

    async def echo(request: web.Request) -> web.Response:
        q = request.query
        try:
            check_signature(TOKEN, q.get("signature", ""), q.get("timestamp", ""), q.get("nonce", ""))
            body = await request.read()
            if crypto is not None:
                body = crypto.decrypt_message(body, q["msg_signature"], q["timestamp"], q["nonce"])
        except InvalidSignatureException:
            return web.Response(status=403)
        message = parse_message(body)
        xml = create_reply(f"收到：{getattr(message, 'content', '')}", message=message, render=True)
        if crypto is not None:
            xml = crypto.encrypt_message(xml, q["nonce"], q["timestamp"])
        return web.Response(text=xml, content_type="application/xml")

    async def idle(request: web.Request) -> web.Response:
        return web.Response(text="idle")

    app = web.Application()
    app.router.add_post("/wechat", echo)
    app.router.add_get("/_cpu", CpuProbe().handle)
    app.router.add_get("/_idle", idle)
    return app


class _EchoDialog:
    """In place of the assistant (the submission dialog and the commands before it):
    isolates the channel's own cost (checks, claim, contact record, task, passive reply) from
    the dialog's and its drafts'."""

    async def handle(self, event: Any, *, contest_hint: str | None = None, gate: Any = None) -> list[Any]:
        from contests.events import Reply

        return [Reply(f"收到：{event.text}")]


def _our_app(
    safe: bool,
    data_dir: str,
    store: str,
    prefix: str,
    api_base: str,
    redis_url: str = SHARED_REDIS_URL,
    cluster: bool = False,
    forms: bool = True,
    dialog: bool = True,
    store_writes: bool = True,
    kind: str = "ours",
    profile: str = "",
) -> web.Application:
    from bot.app import create_app, freeze_heap
    from bot.channels.wechat import WechatChannel
    from bot.channels.wechat_notifier import WechatSettings
    from bot.keys import SERVICES
    from bot.settings import Settings

    # Each server its own store: what one stored (claims, submissions) must not change how the
    # next one answers.  The contest is shared.
    settings = Settings(
        _env_file=None,
        data_dir=Path(data_dir) / f"{kind}-{store}",
        contests_dir=Path(data_dir) / "contests",
        redis_url=redis_url if store == "redis" else None,
        redis_prefix=f"{prefix}-{kind}",
        redis_cluster=cluster and store == "redis",
    )
    config = WechatSettings(
        _env_file=None,
        token=TOKEN,
        app_id=APP_ID,
        app_secret=APP_SECRET,
        aes_key=AES_KEY if safe else None,
        api_base=api_base,
        # As a real deployment must: the forms are offered as download links (else each is
        # logged as undeliverable, which is not what production pays for).
        public_base_url="https://kepu.example.cn",
    )
    channel = WechatChannel(settings, config)
    app = create_app(settings, channels=[channel])
    app.router.add_get("/_cpu", CpuProbe(profile).handle)

    async def idle(request: web.Request) -> web.Response:
        await channel.idle()  # replies that outlived their budget are still on their way
        await app[SERVICES].submit.aclose()  # and forms drawn after the reply, then pushed
        await channel.idle()
        return web.Response(text="idle")

    app.router.add_get("/_idle", idle)
    app.router.add_get("/_trips", _count_round_trips())

    async def adjust(app: web.Application) -> None:  # runs once the services are up
        if not store_writes:  # diagnosis only: what the channel costs without its two writes
            storage: Any = app[SERVICES].storage

            async def claim_once(key: str, ttl: dt.timedelta) -> bool:
                return True

            async def touch_contact(user: Any, when: dt.datetime) -> None:
                return None

            async def claim_inbound(
                key: str, ttl: dt.timedelta, user: Any, when: dt.datetime, *, turn: Any = None
            ) -> bool:
                return True

            async def claim_first(keys: Any, ttl: dt.timedelta) -> int | None:
                return 0

            storage.claim_once, storage.touch_contact = claim_once, touch_contact
            storage.claim_inbound, storage.claim_first = claim_inbound, claim_first
        if not dialog:  # the channel hands every event to the assistant
            app[SERVICES].assistant = _EchoDialog()  # type: ignore[assignment]
        elif not forms:
            app[SERVICES].submit.paperwork = None  # the confirmation without its PDF/DOCX forms

    app.on_startup.append(adjust)
    app.on_startup.append(freeze_heap)  # as serve does (both servers built here)
    return app


def _count_round_trips() -> Any:
    """A handler answering how many times this process has written to a Redis connection: one
    per command sent alone, one per pipeline, one per script call (what INFO commandstats
    cannot tell apart: a script's own commands are counted there too, under their names)."""
    from redis.asyncio.connection import AbstractConnection

    sent = [0]
    real = AbstractConnection.send_packed_command

    async def counted(self: Any, command: Any, check_health: bool = True) -> None:
        sent[0] += 1
        await real(self, command, check_health)

    AbstractConnection.send_packed_command = counted  # type: ignore[method-assign]

    async def trips(request: web.Request) -> web.Response:
        return web.json_response(sent[0])

    return trips


async def _cpu_now(session: aiohttp.ClientSession) -> tuple[float, float, dict[str, float]]:
    """(CPU seconds, its drawing children's, by thread kind) of the server under test."""
    async with session.get("/_cpu") as resp:
        got = await resp.json()
    return float(got["cpu"]), float(got["children"]), dict(got["threads"])


def _serve(kind: str, args: dict[str, Any], ready: Any, stop: Any) -> None:
    import logging

    logging.basicConfig(level=logging.WARNING)

    async def main() -> None:
        profile = args.pop("profile", "")
        if kind == "echo":
            app = _echo_app(args["safe"])
        else:
            app = _our_app(
                **args,
                dialog=kind == "ours",
                store_writes=kind != "stubbed",
                kind=kind,
                profile=profile if kind == "ours" else "",
            )
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        ready.send(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        await asyncio.get_running_loop().run_in_executor(None, stop.recv)
        await runner.cleanup()

    asyncio.run(main())


class Server:
    """A server in a child process, on a random loopback port."""

    def __init__(self, kind: str, args: dict[str, Any]) -> None:
        ctx = mp.get_context("spawn")
        self._ready, child_ready = ctx.Pipe()
        self._stop, child_stop = ctx.Pipe()
        # Not a daemon: our server draws its forms in a child process of its own, which it
        # stops when it is stopped in order (by __exit__), not killed at this process's exit.
        self.process = ctx.Process(target=_serve, args=(kind, args, child_ready, child_stop))

    def __enter__(self) -> str:
        self.process.start()
        if not self._ready.poll(60):
            raise RuntimeError("server did not start")
        return f"http://127.0.0.1:{self._ready.recv()}"

    def __exit__(self, *exc: object) -> None:
        self._stop.send("stop")
        self.process.join(30)
        if self.process.is_alive():
            self.process.kill()


# --------------------------------------------------------------------------- load


@dataclass
class Result:
    name: str
    updates: int
    seconds: float
    latencies: list[float]
    cpu: float
    completed: int
    deferred: int  # answered "success": the reply followed as 客服消息
    by_step: dict[str, list[float]]
    drawing: float = 0.0  # CPU seconds of the server's child processes (drawing forms), not in ``cpu``
    threads: dict[str, float] = field(default_factory=dict)  # ``cpu`` by thread kind (live threads)
    commands: dict[str, int] = field(default_factory=dict)  # Redis INFO commandstats calls in the window
    workers: int = 1  # server processes sharing the load (each message to either)
    load_cpu: float = 0.0  # CPU seconds of this process (the load generator, the fake API) in the window
    redis_cpu: float = 0.0  # CPU seconds of redis-server in the window (INFO cpu), 0 without Redis
    drained: float = 0.0  # seconds from the first message to the end of the work the load left
    window: dict[str, float] = field(default_factory=dict)  # CPU seconds by process while the entrants talked

    @property
    def per_second(self) -> float:
        return self.updates / self.seconds

    def pct(self, q: float, values: list[float] | None = None) -> float:
        values = values or self.latencies
        if len(values) < 2:  # a smoke run's single step
            return max(values) * 1000
        return statistics.quantiles(values, n=1000)[int(q * 1000) - 1] * 1000

    @property
    def cpu_per_update_ms(self) -> float:
        return self.cpu / self.updates * 1000

    def slowest_step(self) -> tuple[str, float]:
        step, values = max(self.by_step.items(), key=lambda kv: statistics.median(kv[1]))
        return step, statistics.median(values) * 1000


_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉"


def script(data_dir: Path) -> list[list[str]]:
    """What each entrant types, in order.  Titles and first authors differ per entrant: the
    notice allows one work per first author and per title."""
    from contests.editions import new_edition
    from contests.registry import ContestRegistry, dump_contest
    from tests.conftest import valid_answer

    source = ContestRegistry.load().get("most-cas-2024-kepu")
    assert source is not None
    today = dt.date.today()
    deadline = today + dt.timedelta(days=300)
    new_id = f"most-cas-{deadline.year}-kepu"
    contest = dump_contest(
        new_edition(source, new_id, deadline, opens=today - dt.timedelta(days=30)),
        data_dir / "contests" / f"{new_id}.yaml",
    )
    form = contest.form(contest.channel("self").forms["work"])
    # A 网盘 share link for the video: nothing probes it over the network (loopback only).
    share_link = "链接: https://pan.baidu.com/s/1AbCdEfG 提取码: k3p9"

    def answer(field: Any, i: int) -> str:
        name = _SURNAMES[i % 20] + _GIVEN[i // 20 % 30] + _GIVEN[i // 600 % 30]
        if field.role == "authors":
            return f"{name}、李四"
        if field.role == "title":
            return f"科学精神照亮前行之路第{i}集"
        return valid_answer(field, contest)

    return [
        ["自荐", *(answer(f, i) for f in form.fields), share_link, "确认提交"]
        for i in range(20 * 30 * 30)  # the names above repeat after this many entrants
    ]


async def run_load(
    name: str,
    base: str | list[str],
    scripts: list[list[str]],
    entrants: int,
    concurrency: int,
    safe: bool,
    limit: float,
    api: Any,
    first: int = 0,
    warmup: int = 0,
    submits: bool = True,
    redis_url: str | None = None,
    think: float = 0.0,
) -> Result:
    """Each entrant's messages in turn; with several ``base`` (workers), each message to one of
    them at random, as a load balancer in front of the workers would."""
    from tests.fakes.wechat_server import FakeWechat

    pusher = FakeWechat(TOKEN, APP_ID, APP_SECRET, AES_KEY if safe else None)  # signs, encrypts, opens
    latencies: list[float] = []
    by_step: dict[str, list[float]] = {}
    finished: set[str] = set()
    refused: list[str] = []  # confirmations answered with something else than 提交成功
    deferred = 0
    gate = asyncio.Semaphore(concurrency)
    bases = [base] if isinstance(base, str) else base
    pick = random.Random(7).choice
    pause = random.Random(11).random
    run_id = uuid.uuid4().hex[:6]

    async with contextlib.AsyncExitStack() as stack:
        sessions = [
            await stack.enter_async_context(
                aiohttp.ClientSession(b, connector=aiohttp.TCPConnector(limit=concurrency))
            )
            for b in bases
        ]

        async def one(xml: str, step: str) -> str:
            nonlocal deferred
            query, body = pusher.signed(xml)
            started = time.perf_counter()
            async with pick(sessions).post("/wechat", params=query, data=body) as resp:
                text = await resp.text()
            elapsed = time.perf_counter() - started
            latencies.append(elapsed)
            by_step.setdefault(step, []).append(elapsed)
            assert resp.status == 200, (resp.status, text)
            if text in ("", "success"):
                deferred += 1
                return ""
            return pusher.open_reply(text, xml)

        async def entrant(i: int, index: int) -> None:
            openid = f"oBench{run_id}{i:05d}" if i >= 0 else f"oWarm{run_id}{-i:05d}"
            async with gate:
                if think:  # not all at the same instant
                    await asyncio.sleep(think * pause())
                await one(pusher.xml("event_subscribe", openid), "subscribe")
                for n, text in enumerate(scripts[index]):
                    if think:  # a person reads the reply, then types
                        await asyncio.sleep(think * (0.5 + pause()))
                    step = "确认提交" if text == "确认提交" else f"{n:02d}"
                    reply = await one(pusher.text(openid, text), step)
                    if "提交成功" in reply:
                        finished.add(openid)
                    elif step == "确认提交" and reply:
                        refused.append(f"{openid}: {reply[:300]}")

        # Warm-up entrants, not measured: a server's first requests pay for lazy imports, template
        # compilation and the drawing process's start, which 200 entrants would not amortise.
        # Their scripts are taken from the end of the list, apart from the measured ones.
        warm = [len(scripts) - 1 - first // max(entrants, 1) * warmup - w for w in range(warmup)]
        await asyncio.wait_for(asyncio.gather(*(entrant(-1 - w, k) for w, k in enumerate(warm))), limit)
        await _each(sessions, "/_idle", limit)
        latencies.clear()
        by_step.clear()
        finished.clear()
        refused.clear()
        deferred = 0
        if redis_url:
            redis0 = await _redis_cpu(redis_url)
            await _redis_stats(redis_url, reset=True)
            trips0 = sum(await _each(sessions, "/_trips"))
        cpu0, drawn0, threads0 = await _cpu_all(sessions)
        load0 = time.process_time()
        started = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(*(entrant(i, first + i) for i in range(entrants))), limit)
        seconds, load_window = time.perf_counter() - started, time.process_time() - load0
        window = {"the load generator (this process: entrants, signing, the fake API)": load_window}
        if len(bases) > 1:  # who had the cores while the entrants talked
            cpu_mid, drawn_mid, _ = await _cpu_all(sessions)
            window[f"the {len(bases)} workers"] = cpu_mid - cpu0
            window["their drawing processes (nice 10)"] = drawn_mid - drawn0
            if redis_url:
                window["redis-server"] = await _redis_cpu(redis_url) - redis0
        await _each(sessions, "/_idle", limit)
        # To the end of the work the load left (replies sent late, forms drawn and pushed).
        load_cpu, drained = time.process_time() - load0, time.perf_counter() - started
        cpu1, drawn1, threads1 = await _cpu_all(sessions)
        commands = await _redis_stats(redis_url) if redis_url else {}
        redis_cpu = await _redis_cpu(redis_url) - redis0 if redis_url else 0.0
        if redis_url:
            commands["(round trips)"] = sum(await _each(sessions, "/_trips")) - trips0
    for line in refused[:3] if submits else []:
        print(f"{name}: not submitted: {line}", file=sys.stderr)
    # A confirmation that outlived the reply budget arrived as 客服消息 (through the fake API).
    for message in api.sent:
        if message["touser"].startswith(f"oBench{run_id}") and "提交成功" in message["text"]["content"]:
            finished.add(message["touser"])
    return Result(
        name,
        len(latencies),
        seconds,
        latencies,
        cpu1 - cpu0,
        len(finished),
        deferred,
        by_step,
        drawn1 - drawn0,
        {k: v - threads0.get(k, 0.0) for k, v in threads1.items()},
        commands,
        len(bases),
        load_cpu,
        redis_cpu,
        drained,
        window,
    )


async def _each(sessions: list[aiohttp.ClientSession], path: str, limit: float = 60.0) -> list[Any]:
    """GET ``path`` of every server, one after the other: their JSON (or text) answers."""
    answers = []
    for session in sessions:
        async with session.get(path, timeout=aiohttp.ClientTimeout(total=limit)) as resp:
            answers.append(
                await resp.json() if resp.content_type == "application/json" else await resp.text()
            )
    return answers


async def _cpu_all(sessions: list[aiohttp.ClientSession]) -> tuple[float, float, dict[str, float]]:
    """:func:`_cpu_now` summed over the servers (workers)."""
    cpu, drawn, threads = 0.0, 0.0, dict[str, float]()
    for session in sessions:
        c, d, t = await _cpu_now(session)
        cpu, drawn = cpu + c, drawn + d
        for k, v in t.items():
            threads[k] = threads.get(k, 0.0) + v
    return cpu, drawn, threads


async def _nodes(url: str) -> list[str]:
    """The URL itself, or every primary's when it names a node of a Redis Cluster."""
    import redis.asyncio as aioredis

    client = aioredis.from_url(url)
    try:
        if (await client.info("cluster")).get("cluster_enabled") != 1:
            return [url]
        listing = (await client.execute_command("CLUSTER", "NODES")).decode()
    finally:
        await client.aclose()
    return [f"redis://{line.split()[1].split('@')[0]}/0" for line in listing.splitlines() if "master" in line]


async def _redis_cpu(url: str) -> float:
    """redis-server's CPU seconds so far (user + system, its ``INFO cpu``), every node's summed."""
    import redis.asyncio as aioredis

    total = 0.0
    for node in await _nodes(url):
        client = aioredis.from_url(node)
        try:
            got = await client.info("cpu")
        finally:
            await client.aclose()
        total += float(got["used_cpu_user"]) + float(got["used_cpu_sys"])
    return total


async def _redis_stats(url: str, reset: bool = False) -> dict[str, int]:
    """Calls per command since the last reset (``INFO commandstats``; a script's own commands
    are counted too, under their names, beside its ``evalsha``)."""
    import redis.asyncio as aioredis

    calls: dict[str, int] = {}
    for node in await _nodes(url):
        client = aioredis.from_url(node)
        try:
            if reset:
                await client.config_resetstat()
                continue
            stats = await client.info("commandstats")
        finally:
            await client.aclose()
        for k, v in stats.items():
            if not k.startswith(("cmdstat_cluster|nodes", "cmdstat_info")):  # the bench's own reads
                calls[k.removeprefix("cmdstat_")] = calls.get(k.removeprefix("cmdstat_"), 0) + int(v["calls"])
    return calls


def _table(results: list[Result]) -> list[str]:
    lines = [
        f"{'server':<48}{'updates':>8}{'upd/s':>7}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}"
        f"{'cpu ms/upd':>11}{'late':>6}"
    ]
    for r in results:
        lines.append(
            f"{r.name:<48}{r.updates:>8}{r.per_second:>7.0f}{r.pct(0.50):>8.1f}{r.pct(0.99):>8.1f}"
            f"{max(r.latencies) * 1000:>8.0f}{r.cpu_per_update_ms:>11.3f}{r.deferred:>6}"
        )
    return lines


def _details(r: Result) -> list[str]:
    """Where a server's CPU went (by thread) and what it asked of Redis, per update."""
    split = sorted(r.threads.items(), key=lambda kv: -kv[1])
    shown = ", ".join(f"{k} {v / r.updates * 1e6:.0f}" for k, v in split if v > 0)
    lines = [f"{r.name}: CPU µs per update by thread: {shown}"]
    if r.commands:
        per = sorted(r.commands.items(), key=lambda kv: -kv[1])
        calls = ", ".join(f"{k} {v / r.updates:.2f}" for k, v in per if not k.startswith("config"))
        lines.append(
            f"{r.name}: Redis per update (INFO commandstats; round trips counted in the client): {calls}"
        )
    return lines


def report(results: list[Result], entrants: int) -> str:
    echo = results[0]
    lines = _table(results)
    for r in results[1:]:
        step, median = r.slowest_step()
        others = [v for k, vs in r.by_step.items() if k != step for v in vs]
        lines.append(
            f"{r.name}: per update vs the bare handler: wall {echo.per_second / r.per_second:.2f}x, "
            f"server CPU {r.cpu_per_update_ms / echo.cpu_per_update_ms:.2f}x; "
            f"slowest step {step} p50 {median:.0f} ms, p99 of the other steps {r.pct(0.99, others):.0f} ms"
        )
    lines.append(
        f"submissions completed: {results[-1].completed}/{entrants}; "
        "late = answered success, the reply sent as 客服消息"
    )
    ours = results[-1]
    for r in results:
        lines += _details(r)
    if ours.drawing:
        lines.append(
            f"forms drawn in the server's drawing process: {ours.drawing / max(ours.completed, 1):.2f} s CPU "
            "per submission, not in cpu ms/upd (the echo draws nothing)"
        )
    return "\n".join(lines)


#: Issue 5: cost per update within 2x of the bare echo; p99 far below WeChat's 5 s (here: 1 s).
TARGET_RATIO = 2.0
TARGET_P99_MS = 1000.0


def verdict(rounds: list[list[Result]], entrants: int) -> tuple[bool, str]:
    """Targets judged on the whole dialog (the last server), with every submission completed.

    With several rounds (each server once per round, in turn) the CPU ratio is the median of
    the rounds' ratios: this VM's speed drifts by a fifth within minutes, and a ratio taken
    within one round, from servers run a minute apart, is what drifts least.

    The yardstick is the issue's "bare echo bot behind the same webhook": our ``/wechat`` with
    an echo in place of the assistant (``kepu channel, echo dialog``).  WeChat has no webhook
    framework to borrow (wechatpy gives the pieces: signature, AES, parse, reply), so the
    webhook is ours, and what it must do for *any* bot behind it, an echo included, is in it:
    the size and prolog checks, the 4-s passive-reply budget, MsgId deduplication (a retried
    push answered twice would reach the user twice) and the 48-hour contact record.  The
    ratio to the bare wechatpy handler, which does none of that, is printed beside it.
    """

    def echo_of(results: list[Result]) -> Result:
        return next(r for r in results if r.name.startswith("kepu channel, echo dialog ("))

    ratios = [r[-1].cpu_per_update_ms / echo_of(r).cpu_per_update_ms for r in rounds]
    floor_ratios = [r[-1].cpu_per_update_ms / r[0].cpu_per_update_ms for r in rounds]
    echo_ratios = [echo_of(r).cpu_per_update_ms / r[0].cpu_per_update_ms for r in rounds]
    ratio = statistics.median(ratios)
    p99 = rounds[0][-1].pct(0.99, [v for r in rounds for v in r[-1].latencies])
    completed, expected = sum(r[-1].completed for r in rounds), entrants * len(rounds)
    each = f" (rounds: {', '.join(f'{x:.2f}' for x in ratios)})" if len(rounds) > 1 else ""
    checks = [
        (
            f"server CPU per update, ours / echo bot behind our webhook = {ratio:.2f}{each}",
            f"<= {TARGET_RATIO}",
            ratio <= TARGET_RATIO,
        ),
        (f"p99 passive-reply latency = {p99:.0f} ms", f"<= {TARGET_P99_MS:.0f} ms", p99 <= TARGET_P99_MS),
        (f"submissions completed = {completed}", f"= {expected}", completed == expected),
    ]
    text = "\n".join(f"{what}  (target {target}) {'met' if ok else 'NOT met'}" for what, target, ok in checks)
    text += (
        f"\nfor scale: ours / bare wechatpy handler = {statistics.median(floor_ratios):.2f}, "
        f"the echo bot behind our webhook / bare wechatpy handler = {statistics.median(echo_ratios):.2f}"
    )
    return all(ok for *_, ok in checks), text


#: Issue 19: Redis's server CPU per update within 1.5x of SQLite's, same script, same run.
TARGET_STORES = 1.5
#: Issue 19: p99 passive reply with two workers on one Redis, 500 entrants.
TARGET_WORKERS_P99_MS = 100.0


def verdict_stores(rounds: list[list[Result]], entrants: int) -> tuple[bool, str]:
    """``--store both``: each round runs our whole dialog on SQLite and on Redis, the same
    entrants' script, one after the other (the order swapped every round); the ratio is Redis's
    CPU per update over SQLite's within a round, the median of the rounds'."""

    def of(results: list[Result], store: str) -> Result:
        return next(r for r in results if r.name.endswith(f", {store})") or f", {store}," in r.name)

    ratios = [of(r, "redis").cpu_per_update_ms / of(r, "sqlite").cpu_per_update_ms for r in rounds]
    ratio = statistics.median(ratios)
    completed = sum(x.completed for r in rounds for x in r)
    expected = entrants * 2 * len(rounds)
    each = f" (rounds: {', '.join(f'{x:.2f}' for x in ratios)})" if len(rounds) > 1 else ""
    checks = [
        (
            f"server CPU per update, Redis / SQLite = {ratio:.2f}{each}",
            f"<= {TARGET_STORES}",
            ratio <= TARGET_STORES,
        ),
        (f"submissions completed = {completed}", f"= {expected}", completed == expected),
    ]
    text = "\n".join(f"{what}  (target {target}) {'met' if ok else 'NOT met'}" for what, target, ok in checks)
    return all(ok for *_, ok in checks), text


def verdict_workers(r: Result, entrants: int, floors: list[Result]) -> tuple[bool, str]:
    """``--workers N``: the p99 passive reply over every message, and where the cores went."""
    cores = os.cpu_count() or 1
    lines = [f"CPU while the entrants talked ({r.seconds:.1f} s, {cores} cores):"]
    lines += [
        f"  {what}: {cpu:.1f} s, {cpu / r.seconds / cores:.0%} of the cores" for what, cpu in r.window.items()
    ]
    rest = sum(r.window.values())
    lines.append(
        f"  all of them: {rest / r.seconds / cores:.0%}; the rest went to other work on the machine or idled"
    )
    per = 1e6 / r.updates
    lines.append(
        f"then the work the load left (forms drawn and pushed) took {r.drained - r.seconds:.1f} s more; "
        f"in all, {r.cpu * per:.0f} µs of worker CPU per update, "
        f"{r.drawing / max(r.completed, 1):.2f} s of drawing per submission, "
        f"{r.redis_cpu * per:.0f} µs of redis-server, {r.load_cpu * per:.0f} µs of load generator per update"
    )
    steps = sorted(r.by_step.items(), key=lambda kv: -r.pct(0.99, kv[1]))
    lines.append(
        "slowest steps by p99 (p50/p99 ms): "
        + ", ".join(f"{k} {r.pct(0.5, v):.0f}/{r.pct(0.99, v):.0f}" for k, v in steps[:5])
    )
    for floor in floors:
        lines.append(
            f"for scale, {floor.name} under the same load: p50 {floor.pct(0.5):.0f} ms, "
            f"p99 {floor.pct(0.99):.0f} ms ({floor.cpu_per_update_ms * 1000:.0f} µs CPU per update)"
        )
    p99 = r.pct(0.99)
    checks = [
        (
            f"p99 passive-reply latency, {r.workers} workers = {p99:.0f} ms",
            f"<= {TARGET_WORKERS_P99_MS:.0f} ms",
            p99 <= TARGET_WORKERS_P99_MS,
        ),
        (f"submissions completed = {r.completed}", f"= {entrants}", r.completed == entrants),
    ]
    lines += [f"{what}  (target {target}) {'met' if ok else 'NOT met'}" for what, target, ok in checks]
    return all(ok for *_, ok in checks), "\n".join(lines)


async def main_async(args: argparse.Namespace) -> int:
    from tests.redis_servers import private_redis, redis_cluster, redis_server_missing

    if args.cluster:
        if (why := redis_server_missing()) is not None:
            print(f"no Redis Cluster ({why})", file=sys.stderr)
            return 1
        with redis_cluster() as url:  # three primaries of our own, every key under one hash tag
            return await _bench(args, url)
    if args.store == "sqlite" or args.shared_redis:
        return await _bench(args, SHARED_REDIS_URL)
    if (why := redis_server_missing()) is not None:
        print(f"no private Redis ({why}): counting on the shared server", file=sys.stderr)
        return await _bench(args, SHARED_REDIS_URL)
    # A server of our own: INFO commandstats then counts our servers' commands only.
    with private_redis() as url:
        return await _bench(args, url)


async def _bench(args: argparse.Namespace, redis_url: str) -> int:
    from tests.fakes.wechat_server import FakeWechat

    # The API the channel calls when a reply outlives its budget (客服消息); any other call fails.
    fake = await FakeWechat(TOKEN, APP_ID, APP_SECRET).start()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-wechat-") as tmp:
            scripts = script(Path(tmp))
            prefix = f"kepu-bench-{uuid.uuid4().hex[:8]}"
            ours_args = {
                "forms": not args.no_forms,
                "safe": args.safe,
                "data_dir": tmp,
                "store": args.store,
                "prefix": prefix,
                "api_base": fake.base_url,
                "redis_url": redis_url,
                "cluster": args.cluster,
                "profile": args.profile,
            }
            mode = "safe" if args.safe else "plain"
            forms = ", no forms" if args.no_forms else ""
            workers = f", {args.workers} workers" if args.workers > 1 else ""
            runs = [
                ("echo", f"bare wechatpy handler ({mode})", {"safe": args.safe}),
                ("channel", f"kepu channel, echo dialog ({mode})", ours_args),
                ("ours", f"kepu channel + dialog ({mode}, {args.store}{forms}{workers})", ours_args),
            ]
            if args.diagnose:
                runs.insert(2, ("stubbed", f"kepu channel, echo dialog, no writes ({mode})", ours_args))
            if args.workers > 1:  # the workers' latency, and the bare handler's under the same load
                runs = [runs[0], runs[-1]]
            if args.store == "both":  # the same script on either store, in one run
                runs = [
                    (
                        "ours",
                        f"kepu channel + dialog ({mode}, {store}{forms})",
                        {**ours_args, "store": store, "profile": args.profile and f"{args.profile}.{store}"},
                    )
                    for store in ("sqlite", "redis")
                ]
            rounds: list[list[Result]] = []
            for n in range(args.rounds):
                results = []
                # Swapped every round, so that neither store always runs on a warmer machine.
                for kind, name, server_args in runs[:: -1 if args.store == "both" and n % 2 else 1]:
                    # Each round its own entrants: one work per first author and per title.
                    with contextlib.ExitStack() as servers:
                        count = args.workers if kind == "ours" else 1
                        bases = [
                            # The profile (if any) of the first worker only.
                            servers.enter_context(
                                Server(kind, {**server_args, "profile": ""} if i else server_args)
                            )
                            for i in range(count)
                        ]
                        uses_redis = server_args.get("store") == "redis"
                        results.append(
                            await run_load(
                                name,
                                bases,
                                scripts,
                                args.entrants,
                                args.concurrency,
                                args.safe,
                                args.time_limit,
                                fake,
                                first=n * args.entrants,
                                warmup=args.warmup,
                                submits=kind == "ours",
                                redis_url=redis_url if uses_redis else None,
                                think=args.think,
                            )
                        )
                rounds.append(results)
            if args.store != "sqlite" and not args.cluster:  # the cluster goes with its servers
                import redis.asyncio as aioredis

                client = aioredis.from_url(redis_url)
                keys = [k async for k in client.scan_iter(match=f"{prefix}-*:*")]
                if keys:
                    await client.delete(*keys)
                await client.aclose()
    finally:
        await fake.close()
    for n, results in enumerate(rounds, 1):
        if len(rounds) > 1:
            print(f"-- round {n} of {len(rounds)}")
        if args.store == "both" or args.workers > 1:
            print("\n".join(_table(results) + [line for r in results for line in _details(r)]))
        else:
            print(report(results, args.entrants))
    fake.assert_clean()
    if args.store == "both":
        ok, text = verdict_stores(rounds, args.entrants)
    elif args.workers > 1:
        ok, text = verdict_workers(rounds[0][-1], args.entrants, rounds[0][:-1])
    else:
        ok, text = verdict(rounds, args.entrants)
    print(text)
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entrants", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=50, help="entrants talking at once")
    parser.add_argument("--warmup", type=int, default=10, help="entrants before measuring, per server")
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="seconds an entrant waits after each reply before its next message (on average, ±50 %%); "
        "0: answers at once (a closed loop: latency is then the queue of --concurrency entrants)",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="run every server this many times, in turn (new entrants each)"
    )
    parser.add_argument(
        "--store",
        choices=["sqlite", "redis", "both"],
        default="sqlite",
        help="both: our dialog only, on SQLite and on Redis in turn, the same script; prints Redis / SQLite",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="our dialog only, in this many server processes on one Redis (--store redis), each message "
        "to either at random; prints the p99 and each process's share of the cores",
    )
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="Redis (--store redis or both) on a Redis Cluster of three primaries the bench starts "
        "(BOT_REDIS_CLUSTER); commands and CPU summed over its nodes",
    )
    parser.add_argument("--safe", action="store_true", help="安全模式: AES-encrypted pushes and replies")
    parser.add_argument(
        "--no-forms",
        action="store_true",
        help="confirm without rendering the PDF/DOCX forms (the dialog alone)",
    )
    parser.add_argument(
        "--diagnose",
        action="store_true",
        help="also run the channel with its MsgId claim and contact record stubbed: what those writes cost",
    )
    parser.add_argument("--time-limit", type=float, default=600.0, help="seconds per server before giving up")
    parser.add_argument("--profile", default="", help="write a cProfile of our app's window to this file")
    parser.add_argument(
        "--shared-redis",
        action="store_true",
        help=f"use {SHARED_REDIS_URL} instead of a redis-server of the bench's own (commandstats then "
        "count other clients too)",
    )
    parser.add_argument(
        "--smoke", action="store_true", help="one tiny round (1 entrant): seconds, no verdict"
    )
    args = parser.parse_args()
    if args.workers > 1 and args.store != "redis":
        parser.error("--workers needs --store redis: several workers share one Redis")
    if args.cluster and args.store == "sqlite":
        parser.error("--cluster needs Redis: --store redis or both")
    if args.workers > 1 and args.rounds > 1:
        parser.error("--workers runs one round")
    if args.smoke:
        args.entrants, args.warmup, args.rounds, args.concurrency = 1, 0, 1, 1
    code = asyncio.run(main_async(args))
    return 0 if args.smoke else code


if __name__ == "__main__":
    raise SystemExit(main())
