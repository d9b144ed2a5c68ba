"""The scripts' lane (bot/storage/redis/lane.py) and the key parts (common.part): what the
speed trick must not change.  On a redis-server of the test's own: the tests flush its script
cache, kill its clients and block it with a slow script."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import quote

import pytest
import redis.asyncio as aioredis
from hypothesis import given
from hypothesis import strategies as st
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.storage.redis.common import part
from bot.storage.redis.lane import ScriptLane
from tests.redis_servers import private_redis, redis_server_missing

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
