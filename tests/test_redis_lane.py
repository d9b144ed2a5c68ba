"""The scripts' lane (bot/storage/redis/lane.py) and the key parts (common.part): what the
speed trick must not change.  On a redis-server of the test's own: the tests flush its script
cache, kill its clients and block it with a slow script."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import cast
from urllib.parse import quote

import pytest
import redis.asyncio as aioredis
from hypothesis import given
from hypothesis import strategies as st
from redis.asyncio.cluster import RedisCluster
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.storage.redis.common import connect, part
from bot.storage.redis.drafts import RedisStorage
from bot.storage.redis.lane import ScriptLane
from tests.redis_servers import free_ports, private_redis, redis_server_missing

ECHO = "return {KEYS[1], ARGV[1]}"
SLOW = """
local t = redis.call('TIME')
local stop = tonumber(t[1]) * 1000000 + tonumber(t[2]) + tonumber(ARGV[1])
repeat t = redis.call('TIME') until tonumber(t[1]) * 1000000 + tonumber(t[2]) >= stop
return 'slow done'
"""
FAILS = "return redis.error_reply('refused here')"


@given(st.text())
def test_part_quotes_as_quote_does(text: str) -> None:
    assert part(text) == quote(text, safe="")


def test_part_keeps_ids_and_quotes_separators() -> None:
    assert part("oBench1a2b-_.~") == "oBench1a2b-_.~"
    assert part("wechat:o1") == "wechat%3Ao1"
    assert part("王:1") == quote("王:1", safe="")


@pytest.fixture
async def client() -> AsyncIterator[aioredis.Redis]:
    if (why := redis_server_missing()) is not None:
        pytest.skip(why)
    with private_redis() as url:
        redis = aioredis.from_url(url, decode_responses=True, socket_timeout=0.3)
        yield redis
        await redis.aclose()


@pytest.fixture
async def lane(client: aioredis.Redis) -> AsyncIterator[ScriptLane]:
    lane = ScriptLane(client)
    yield lane
    await lane.close()


async def test_a_script_missing_from_the_cache_is_loaded(client: aioredis.Redis, lane: ScriptLane) -> None:
    echo = client.register_script(ECHO)
    assert await lane.run(echo, ["k"], ["v"]) == ["k", "v"]  # never loaded: EVAL
    assert await lane.run(echo, ["k2"], [3]) == ["k2", "3"]  # now by its sha
    await client.script_flush()
    assert await lane.run(echo, ["k3"], ["中文"]) == ["k3", "中文"]


async def test_an_error_reply_is_raised_and_the_connection_kept(
    client: aioredis.Redis, lane: ScriptLane
) -> None:
    fails, echo = client.register_script(FAILS), client.register_script(ECHO)
    with pytest.raises(ResponseError, match="refused here"):
        await lane.run(fails, [], [])
    assert await lane.run(echo, ["a"], ["b"]) == ["a", "b"]
    assert len(await client.client_list()) == 2  # the client's own connection and one of the lane


async def test_a_late_reply_is_never_read_as_the_next_calls(client: aioredis.Redis, lane: ScriptLane) -> None:
    slow, echo = client.register_script(SLOW), client.register_script(ECHO)
    assert lane.timeout == 0.3  # the client's socket_timeout, for the whole call
    await lane.run(echo, ["warm"], ["up"])
    with pytest.raises(RedisTimeoutError):
        await lane.run(slow, [], [500_000])  # 0.5 s of Lua: "slow done" comes after the timeout
    await asyncio.sleep(0.4)  # Redis is done with it: its reply went to the connection closed
    assert await lane.run(echo, ["next"], ["call"]) == ["next", "call"]


async def test_a_cancelled_call_leaves_no_reply_behind(client: aioredis.Redis, lane: ScriptLane) -> None:
    slow, echo = client.register_script(SLOW), client.register_script(ECHO)
    await lane.run(slow, [], [0])  # loaded
    task = asyncio.create_task(lane.run(slow, [], [200_000]))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.25)
    assert await lane.run(echo, ["x"], ["y"]) == ["x", "y"]


async def test_connections_cut_while_idle_are_replaced(client: aioredis.Redis, lane: ScriptLane) -> None:
    echo = client.register_script(ECHO)
    await asyncio.gather(*(lane.run(echo, [f"k{i}"], [i]) for i in range(3)))  # three connections kept
    await client.client_kill_filter(_type="normal", skipme=True)  # as a Redis restart would
    assert await asyncio.gather(*(lane.run(echo, [f"k{i}"], [i]) for i in range(3))) == [
        [f"k{i}", str(i)] for i in range(3)
    ]


def _lane_clients(clients: list[dict[str, str]]) -> list[dict[str, str]]:
    """The connections of CLIENT LIST that are not the test client's own (``cmd`` not client)."""
    return [c for c in clients if c.get("cmd") not in ("client|list", "client")]


async def test_concurrent_calls_never_share_a_connection_and_stay_within_the_pools_limit() -> None:
    """500 users' updates at once: each gets its own reply, and the lane opens no more
    connections than the client's pool may (``max_connections``, from BOT_REDIS_URL too):
    the calls beyond it wait for a free one instead of opening one each."""
    if (why := redis_server_missing()) is not None:
        pytest.skip(why)
    with private_redis() as url:
        client = aioredis.from_url(url + "?max_connections=8", decode_responses=True)
        lane = ScriptLane(client)
        try:
            echo = client.register_script(ECHO)
            replies = await asyncio.gather(*(lane.run(echo, [f"k{i}"], [i]) for i in range(500)))
            assert replies == [[f"k{i}", str(i)] for i in range(500)]
            assert len(_lane_clients(await client.client_list())) <= 8
        finally:
            await lane.close()
            await client.aclose()


async def test_close_also_closes_the_connections_of_calls_in_flight(
    client: aioredis.Redis, lane: ScriptLane
) -> None:
    slow = client.register_script(SLOW)
    await lane.run(slow, [], [0])  # loaded
    call = asyncio.create_task(lane.run(slow, [], [100_000]))
    await asyncio.sleep(0.03)
    await lane.close()
    assert await call == "slow done"
    await asyncio.sleep(0.05)  # the server notices the closed socket
    assert _lane_clients(await client.client_list()) == []


async def test_the_urls_password_and_database_are_the_lanes_too() -> None:
    if (why := redis_server_missing()) is not None:
        pytest.skip(why)
    with private_redis("--requirepass", "s3cret 中") as url:
        url = url.replace("redis://", "redis://:s3cret%20%E4%B8%AD@").removesuffix("/0") + "/3"
        client = aioredis.from_url(url, decode_responses=True)
        lane = ScriptLane(client)
        try:
            put = client.register_script(
                "redis.call('SET', KEYS[1], ARGV[1]) return redis.call('GET', KEYS[1])"
            )
            assert await lane.run(put, ["where"], ["db3"]) == "db3"
            assert await client.get("where") == "db3"
        finally:
            await lane.close()
            await client.aclose()


async def test_a_restart_mid_load_gives_each_call_its_own_reply_or_an_error() -> None:
    """Redis stopped while 200 calls are on the wire and started again on its port: no call
    reads another's reply, and once it is back every call succeeds."""
    if (why := redis_server_missing()) is not None:
        pytest.skip(why)
    (port,) = free_ports(1)
    mixed: list[object] = []

    async def user(i: int, lane: ScriptLane, echo: AsyncScript) -> int:
        done = 0
        for n in range(30):
            try:
                reply = await lane.run(echo, [f"u{i}"], [n])
            except RedisError:
                await asyncio.sleep(0.01)
                continue
            if reply != [f"u{i}", str(n)]:
                mixed.append(reply)
            done += 1
        return done

    with private_redis(port=port) as url:
        client = aioredis.from_url(url, decode_responses=True, socket_timeout=2)
        lane = ScriptLane(client)
        echo = client.register_script(ECHO)
        users = [asyncio.create_task(user(i, lane, echo)) for i in range(200)]
        await asyncio.sleep(0.02)  # calls in flight; then the server goes (blocking the loop)
    try:
        with private_redis(port=port):
            await asyncio.gather(*users)
            assert mixed == []
            after = await asyncio.gather(*(lane.run(echo, [f"a{i}"], [i]) for i in range(50)))
            assert after == [[f"a{i}", str(i)] for i in range(50)]
    finally:
        for task in users:
            task.cancel()
        await lane.close()
        await client.aclose()


def test_a_cluster_client_gets_no_lane() -> None:
    """On a Redis Cluster each key goes to its own node: the store keeps the client's path."""
    cluster = RedisCluster(host="127.0.0.1", port=1)  # not connected: nothing is sent
    assert RedisStorage(cast(aioredis.Redis, cluster))._lane is None
    assert RedisStorage(aioredis.Redis())._lane is not None


async def test_a_call_waiting_for_a_connection_is_bounded_by_its_timeout() -> None:
    """With every connection busy, a call waits for one no longer than its timeout, and the
    lane serves the next calls once Redis is free again."""
    if (why := redis_server_missing()) is not None:
        pytest.skip(why)
    with private_redis() as url:
        client = aioredis.from_url(url + "?max_connections=1", decode_responses=True, socket_timeout=0.3)
        lane = ScriptLane(client)
        try:
            slow, echo = client.register_script(SLOW), client.register_script(ECHO)
            await lane.run(slow, [], [0])  # loaded
            # Redis busy for 1.5 s: the first call's socket gives up at 0.3 s and frees the slot, the
            # next call takes it and gives up at 0.6 s.  (With 0.5 s the next call's reply could
            # come at 0.5 s, inside its own 0.3 s: the test failed on a quiet machine.)
            first = asyncio.create_task(lane.run(slow, [], [1_500_000]))
            await asyncio.sleep(0.1)
            with pytest.raises(RedisTimeoutError):
                await lane.run(echo, ["waits"], ["1"])
            with pytest.raises(RedisTimeoutError):
                await first
            await asyncio.sleep(1.2)  # Redis free again
            assert await lane.run(echo, ["then"], ["2"]) == ["then", "2"]
            assert len(_lane_clients(await client.client_list())) == 1
        finally:
            await lane.close()
            await client.aclose()


class _ReplyCutter:
    """A TCP proxy to Redis that, when told, drops the next reply and cuts the client's
    connection: the script ran, its caller never hears of it (Redis killed just then, a
    network cut)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cut_next = False
        self.server: asyncio.Server | None = None
        self.tasks: list[asyncio.Task[None]] = []

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"redis://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/0"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.port)

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, replies: bool) -> None:
            try:
                while data := await src.read(65536):
                    if replies and self.cut_next:
                        self.cut_next = False
                        break
                    dst.write(data)
            finally:
                writer.close()
                up_writer.close()

        self.tasks += [
            asyncio.create_task(pump(reader, up_writer, False)),
            asyncio.create_task(pump(up_reader, writer, True)),
        ]

    async def close(self) -> None:
        assert self.server is not None
        self.server.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def test_a_script_whose_reply_was_lost_is_not_run_again(client: aioredis.Redis) -> None:
    """The reply of a script that ran never came (the connection cut after Redis answered):
    the caller is told (the outcome is unknown), the script is not sent again.  A second run
    of a claim would find the caller's own claim and drop its message as handled."""
    port = client.connection_pool.connection_kwargs["port"]
    cutter = _ReplyCutter(port)
    proxied = aioredis.from_url(await cutter.start(), decode_responses=True)
    lane = ScriptLane(proxied)
    try:
        incr = proxied.register_script("return redis.call('INCR', KEYS[1])")
        assert await lane.run(incr, ["n"], []) == 1  # its connection now waits in the list
        cutter.cut_next = True
        with pytest.raises(RedisConnectionError):
            await lane.run(incr, ["n"], [])
        assert await client.get("n") == "2"  # ran once
        assert await lane.run(incr, ["n"], []) == 3
    finally:
        await lane.close()
        await proxied.aclose()
        await cutter.close()


async def test_a_burst_beyond_the_pools_size_waits_for_connections_rather_than_failing() -> None:
    """500 users' commands at once on one of the stores' clients: redis-py 8's pool has 100
    connections and refused the 101st ("Too many connections"); they must wait for one."""
    if (why := redis_server_missing()) is not None:
        pytest.skip(why)
    with private_redis() as url:
        client = connect(url)
        try:
            echo = client.register_script(ECHO)
            got = await asyncio.gather(*(client.get(f"k{i}") for i in range(500)), return_exceptions=True)
            assert [g for g in got if g is not None] == []
            ran = await asyncio.gather(*(echo(keys=[f"k{i}"], args=[i]) for i in range(500)))
            assert ran == [[f"k{i}", str(i)] for i in range(500)]
            assert len(await client.client_list()) <= 100
        finally:
            await client.aclose()
