"""What every Redis store shares: the client, key parts and replies as text."""

from __future__ import annotations

import functools
import re
from typing import cast
from urllib.parse import quote

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

#: Connections of one client, unless the URL says (``?max_connections=``).
MAX_CONNECTIONS = 100


def connect(url: str, *, cluster: bool = False, decode: bool = True) -> aioredis.Redis:
    """A new client for ``url`` (connects lazily): with ``cluster``, a Redis Cluster client that
    ``url`` introduces to any node of the cluster.

    The cluster client is typed as the plain one: it speaks every command, script and
    single-slot transaction the stores use, routed by each key's slot (the contract suites run
    on both), but the two classes share no base."""
    if cluster:
        return cast(aioredis.Redis, RedisCluster.from_url(url, decode_responses=decode))
    # A burst of users waits for a connection (up to the pool's timeout) instead of being
    # refused: redis-py 8's plain pool raises "Too many connections" past its 100.  The URL's
    # ``max_connections`` wins over this one; the scripts' lane keeps to it too.
    pool = aioredis.BlockingConnectionPool.from_url(
        url, decode_responses=decode, max_connections=MAX_CONNECTIONS
    )
    client = aioredis.Redis(connection_pool=pool)
    client.auto_close_connection_pool = True  # as from_url sets it: aclose() closes the pool
    return client


def key_prefix(prefix: str, *, cluster: bool = False) -> str:
    """The keys' prefix: on a cluster a hash tag, so that every key that a script or a
    transaction touches together lies in one slot (a single server keeps the plain prefix,
    and with it the keys it has stored)."""
    return f"{{{prefix}}}" if cluster else prefix


#: What ``quote(text, safe="")`` leaves as it is.
_UNQUOTED = re.compile(r"[A-Za-z0-9_.~-]*")


def part(text: str) -> str:
    """One component of a key, percent-encoded so that ``:`` in an id cannot make two keys collide."""
    # An openid or a contest id is nearly always made of unquoted characters: ~10 keys per
    # update (bench/README.md "Redis CPU per update (issue 19, part 3)").
    return text if _UNQUOTED.fullmatch(text) else _quoted(text)


@functools.lru_cache(maxsize=4096)
def _quoted(text: str) -> str:
    """A user's turn key ("wechat:openid") comes with every update: quoted once."""
    return quote(text, safe="")


def claim_key(prefix: str, key: str) -> str:
    """The key of a message's claim (``claim_once``, ``claim_inbound``)."""
    return f"{prefix}:claim:{part(key)}"


def turn_mark(token: str) -> str:
    """How a claim pending in the turn of lock ``token`` begins (the draft's version follows);
    the turn's release settles it to "1"."""
    return f"t:{token}:"


def as_text(value: object) -> str:
    """A reply as text, whether or not the client decodes responses."""
    return value.decode() if isinstance(value, bytes) else str(value)
