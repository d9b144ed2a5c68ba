"""The scripts of every update (the turn's lock with the draft, the draft's save, the claims, the
release) on connections of their own, each call under one timeout.

redis-py's client wraps every command in its pool's lock, its retry, its metrics hooks and, with
``socket_timeout`` (5 s by default since redis-py 6), a ``wait_for`` task around each socket
write and a timer around each read: about 45 µs of CPU per EVALSHA on this machine, against
~17 µs for the same call on a connection taken from a plain list under one ``asyncio.timeout``
(bench/README.md "Redis CPU per update (issue 19, part 3)").  Only what every update sends goes
this way; everything else keeps the client.

A call that fails in any other way than Redis answering an error (a timeout, a cancel, a cut
connection) closes its connection, since the reply may still arrive and must never be read
as another call's; it is not sent again (its script may have run), as the client built by
``from_url`` (no retries) does not either.  A connection the server closed while it waited in
the list (Redis restarted, an idle timeout) is replaced before use.  At most the client pool's
``max_connections`` are open; calls beyond wait within their timeout.  Not for a Redis
Cluster, whose client routes each key to its node: there the scripts keep the client's path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis

try:
    from hiredis import pack_command as hiredis_pack
except ImportError:  # a dependency (redis[hiredis]), but redis-py works without it, and so does this
    hiredis_pack = None  # type: ignore[assignment]
from redis.asyncio.connection import AbstractConnection
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

#: Seconds a call may take when the client sets no ``socket_timeout``.
DEFAULT_TIMEOUT = 5.0


class ScriptLane:
    """EVALSHA of registered scripts on a list of connections made as ``redis``'s pool makes
    them (same server, database, credentials, decoding), without its per-socket-op timeouts:
    the whole call is bounded by the client's ``socket_timeout`` instead."""

    def __init__(self, redis: aioredis.Redis) -> None:
        pool = redis.connection_pool
        kwargs = dict(pool.connection_kwargs)
        self.timeout: float = kwargs.get("socket_timeout") or DEFAULT_TIMEOUT
        kwargs["socket_timeout"] = None
        self._class = pool.connection_class
        self._kwargs = kwargs
        self._free: list[AbstractConnection] = []
        # No more connections than the client's pool may open (``max_connections``, 100 by
        # default in redis-py 8, or the URL's): 500 users at once wait for a free one within
        # their timeout rather than each opening one that would then be kept for good.
        self._slots = asyncio.Semaphore(max(1, int(getattr(pool, "max_connections", None) or 2**31)))
        self._closed = False

    async def run(self, script: AsyncScript, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        """What ``script(keys=keys, args=args)`` returns."""
        try:
            async with asyncio.timeout(self.timeout), self._slots:
                conn = self._free.pop() if self._free else self._class(**self._kwargs)
                if _cut(conn):  # closed by Redis while it waited in the list: connect again
                    await conn.disconnect(nowait=True)
                try:
                    # Never sent twice: a reply lost after the script ran (a cut, a timeout)
                    # leaves its outcome unknown, and a second run of a claim or a save would
                    # find the first one's work and refuse its own caller.
                    reply = await _call(conn, script, keys, args)
                except ResponseError:
                    await self._give_back(conn)  # Redis answered: the connection is in step
                    raise
                except BaseException:  # a timeout or a cancel too: its reply may still come
                    await conn.disconnect(nowait=True)
                    raise
                await self._give_back(conn)
                return reply
        except TimeoutError as exc:
            raise RedisTimeoutError(f"no answer from Redis within {self.timeout} s") from exc

    async def _give_back(self, conn: AbstractConnection) -> None:
        if self._closed:  # a call that was in flight when the lane closed
            await conn.disconnect(nowait=True)
        else:
            self._free.append(conn)

    async def close(self) -> None:
        """Close the lane's connections, those of calls still in flight as they end.  A call
        after this still works, on a connection closed after it."""
        self._closed = True
        free, self._free = self._free, []
        for conn in free:
            await conn.disconnect(nowait=True)


def _cut(conn: AbstractConnection) -> bool:
    """Whether the server closed ``conn`` (a restart, a ``CLIENT KILL``, its idle ``timeout``):
    the event loop has fed its stream the end (or the error) while it sat unused.  redis-py's
    pool asks the socket instead (a read per command); this costs no system call."""
    reader = getattr(conn, "_reader", None)
    return isinstance(reader, asyncio.StreamReader) and (reader.at_eof() or reader.exception() is not None)


def _pack(conn: AbstractConnection, *args: Any) -> Any:
    """A command as bytes: by hiredis where installed (redis-py's own packer encodes each
    argument in Python first)."""
    if hiredis_pack is not None:
        return hiredis_pack(args)
    return conn.pack_command(*args)


async def _call(
    conn: AbstractConnection, script: AsyncScript, keys: Sequence[Any], args: Sequence[Any]
) -> Any:
    if not conn.is_connected:
        await conn.connect()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
    await conn.send_packed_command(
        _pack(conn, "EVALSHA", script.sha, len(keys), *keys, *args), check_health=False
    )
    try:
        return await conn.read_response()
    except NoScriptError:  # not in Redis's script cache (a restart, SCRIPT FLUSH): EVAL loads it
        await conn.send_packed_command(
            _pack(conn, "EVAL", script.script, len(keys), *keys, *args), check_health=False
        )
        return await conn.read_response()
