"""One contract for every FingerprintStore backend: put, replace, list by lineage, remove.

Each test runs against SQLite (a file under ``tmp_path``) and a real Redis server
(``KEPU_TEST_REDIS_URL``, default ``redis://127.0.0.1:6379/0``) under its own key prefix,
deleted afterwards.  An unreachable Redis fails the tests; it does not skip them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage import choose_backend, open_stores
from bot.storage.redis.fingerprints import RedisFingerprintStore
from bot.storage.sqlite.fingerprints import SqliteFingerprintStore
from contests.ports import FingerprintStore
from contests.records import FingerprintRecord
from tests.conftest import drop_redis_prefix

REDIS_URL = os.environ.get("KEPU_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
T0 = dt.datetime(2024, 10, 1, 4, 0, tzinfo=dt.UTC)
LINEAGE = "most-cas-kepu"


def record(
    number: str, *, contest_id: str = "most-cas-2024-kepu", lineage: str = LINEAGE, data: bytes = b""
) -> FingerprintRecord:
    # Bytes of every value, a NUL and high bytes among them: the store must keep them exactly.
    payload = data or bytes(range(256)) + number.encode()
    return FingerprintRecord(contest_id, lineage, number, payload, f"作品 {number}", T0)


class Backend:
    def __init__(self, kind: str, tmp_path: Path) -> None:
        self.kind = kind
        self.path = tmp_path / "kepu.sqlite3"
        self.prefix = f"kepu-test-{uuid.uuid4().hex[:12]}"
        self.opened: list[FingerprintStore] = []

    async def open(self) -> FingerprintStore:
        store: FingerprintStore
        if self.kind == "sqlite":
            store = await SqliteFingerprintStore.open(self.path)
        else:
            store = RedisFingerprintStore.from_url(REDIS_URL, self.prefix)
        self.opened.append(store)
        return store

    async def cleanup(self) -> None:
        for store in self.opened:
            await store.close()
        if self.kind == "redis":
            await drop_redis_prefix(self.prefix)


@pytest.fixture(params=["sqlite", "redis"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    b = Backend(request.param, tmp_path)
    yield b
    await b.cleanup()


@pytest.fixture
async def store(backend: Backend) -> FingerprintStore:
    return await backend.open()


async def test_a_record_comes_back_byte_for_byte(store: FingerprintStore) -> None:
    assert await store.get("most-cas-2024-kepu", "KP2024-000001") is None
    made = record("KP2024-000001")
    await store.put(made)
    assert await store.get("most-cas-2024-kepu", "KP2024-000001") == made
    assert await store.get("most-cas-2024-kepu", "KP2024-000002") is None
    assert await store.get("hlj-2022-kepu", "KP2024-000001") is None


async def test_the_lineage_lists_every_edition_and_nothing_of_another_contest(
    store: FingerprintStore,
) -> None:
    made = [
        record("KP2025-000001", contest_id="most-cas-2025-kepu"),
        record("KP2024-000002"),
        record("KP2024-000001"),
        record("HLJ2022-000001", contest_id="hlj-2022-kepu", lineage="hlj-kepu"),
    ]
    for r in made:
        await store.put(r)
    listed = await store.list_lineage(LINEAGE)
    assert [(r.contest_id, r.number) for r in listed] == [
        ("most-cas-2024-kepu", "KP2024-000001"),
        ("most-cas-2024-kepu", "KP2024-000002"),
        ("most-cas-2025-kepu", "KP2025-000001"),
    ]
    assert await store.list_lineage("hlj-kepu") == [made[3]]
    assert await store.list_lineage("nope") == []


async def test_a_replaced_video_replaces_its_fingerprint_even_across_lineages(
    store: FingerprintStore,
) -> None:
    await store.put(record("KP2024-000001", data=b"old"))
    await store.put(record("KP2024-000001", data=b"new"))
    assert [r.data for r in await store.list_lineage(LINEAGE)] == [b"new"]
    moved = record("KP2024-000001", lineage="renamed", data=b"moved")
    await store.put(moved)
    assert await store.list_lineage(LINEAGE) == []
    assert await store.list_lineage("renamed") == [moved]


async def test_remove_forgets_one_record_and_says_whether_there_was_one(store: FingerprintStore) -> None:
    await store.put(record("KP2024-000001"))
    await store.put(record("KP2024-000002"))
    assert await store.remove("most-cas-2024-kepu", "KP2024-000001") is True
    assert await store.remove("most-cas-2024-kepu", "KP2024-000001") is False
    assert [r.number for r in await store.list_lineage(LINEAGE)] == ["KP2024-000002"]
    assert await store.get("most-cas-2024-kepu", "KP2024-000001") is None


async def test_two_workers_storing_at_once_lose_nothing(backend: Backend) -> None:
    stores = [await backend.open(), await backend.open()]
    await asyncio.gather(*(stores[i % 2].put(record(f"KP2024-{i:06d}")) for i in range(40)))
    listed = await stores[1].list_lineage(LINEAGE)
    assert [r.number for r in listed] == [f"KP2024-{i:06d}" for i in range(40)]


async def test_a_record_survives_reopening(backend: Backend) -> None:
    first = await backend.open()
    await first.put(record("KP2024-000007"))
    await first.close()
    backend.opened.remove(first)
    again = await backend.open()
    assert await again.get("most-cas-2024-kepu", "KP2024-000007") == record("KP2024-000007")


async def test_open_stores_gives_the_fingerprints_of_the_configured_backend(tmp_path: Path) -> None:
    local = await choose_backend(data_dir=tmp_path, redis_url=None).open_fingerprints()
    try:
        assert isinstance(local, SqliteFingerprintStore)
    finally:
        await local.close()
    prefix = f"kepu-test-{uuid.uuid4().hex[:12]}"
    try:
        async with open_stores(data_dir=tmp_path, redis_url=REDIS_URL, redis_prefix=prefix) as stores:
            assert isinstance(stores.fingerprints, RedisFingerprintStore)
            await stores.fingerprints.put(record("KP2024-000009"))
            assert [r.number for r in await stores.fingerprints.list_lineage(LINEAGE)] == ["KP2024-000009"]
    finally:
        await drop_redis_prefix(prefix)
