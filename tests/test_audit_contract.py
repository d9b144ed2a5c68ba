"""One contract for every AuditLog backend: numbering, filters, order, durability, append-only.

Each test runs against SQLite (a file under ``tmp_path``) and a real Redis server
(``KEPU_TEST_REDIS_URL``, default ``redis://127.0.0.1:6379/0``) under its own key prefix,
deleted afterwards.  An unreachable Redis fails the tests; it does not skip them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.storage import choose_backend, open_stores
from bot.storage.redis import audit as redis_audit
from bot.storage.redis.audit import RedisAuditLog
from bot.storage.sqlite.audit import SqliteAuditLog
from contests.audit import AuditEntry
from contests.ports import AuditLog
from tests.conftest import BACKENDS, drop_redis_prefix, redis_for

REDIS_URL = os.environ.get("KEPU_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
C = "most-cas-2024-kepu"
OTHER = "most-cas-2025-kepu"
T0 = dt.datetime(2024, 10, 1, 4, 0, tzinfo=dt.UTC)
ORGANISER = "telegram:1001"
MEMBER = "wechat:oBob"


def entry(
    action: str = "submission.view",
    *,
    i: int = 0,
    actor: str = ORGANISER,
    contest_id: str = C,
    target: str = "",
    detail: dict[str, Any] | None = None,
    role: str = "organiser",
    source: str = "203.0.113.7",
) -> AuditEntry:
    return AuditEntry(
        at=T0 + dt.timedelta(seconds=i),
        actor=actor,
        role=role,
        action=action,
        contest_id=contest_id,
        target=target,
        detail=detail or {},
        source=source,
    )


class Backend:
    """Opens audit logs of one backend; several share one database / key prefix."""

    def __init__(self, kind: str, tmp_path: Path, redis: tuple[str | None, bool] = (None, False)) -> None:
        self.kind = kind
        self.url, self.cluster = redis
        self.tmp_path = tmp_path
        self.path = tmp_path / "kepu.sqlite3"
        self.prefix = f"kepu-test-{uuid.uuid4().hex[:12]}"
        self.opened: list[AuditLog] = []

    async def open(self) -> AuditLog:
        store: AuditLog
        if self.kind == "sqlite":
            store = await SqliteAuditLog.open(self.path)
        else:
            store = await choose_backend(
                data_dir=self.path.parent,
                redis_url=self.url,
                redis_prefix=self.prefix,
                redis_cluster=self.cluster,
            ).open_audit()
        self.opened.append(store)
        return store

    async def cleanup(self) -> None:
        for store in self.opened:
            await store.close()
        if self.url is not None:
            await drop_redis_prefix(self.prefix, self.url, self.cluster)


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    b = Backend(request.param, tmp_path, redis_for(request, request.param))
    yield b
    await b.cleanup()


@pytest.fixture
async def log(backend: Backend) -> AuditLog:
    return await backend.open()


@pytest.fixture
async def seeded(log: AuditLog) -> list[AuditEntry]:
    """Six entries over two contests, two actors and three targets, in this order."""
    made = [
        entry("console.login", i=0, source="chat"),
        entry("submission.view", i=1, target="KP2024-000001"),
        entry("submission.download", i=2, target="KP2024-000001", actor=MEMBER, role="member"),
        entry("submission.view", i=3, target="KP2025-000001", contest_id=OTHER),
        entry("export.contest", i=4, detail={"format": "xlsx", "rows": 12}),
        entry("review.decide", i=5, target="KP2024-000002", actor=MEMBER, role="member"),
    ]
    return [await log.append(e) for e in made]


def actions(found: list[AuditEntry]) -> list[tuple[str, str]]:
    return [(e.action, e.target) for e in found]


# -- numbering -------------------------------------------------------------------------------


async def test_append_gives_strictly_increasing_seqs_and_changes_nothing_else(log: AuditLog) -> None:
    first = entry("console.login")
    appended = [await log.append(first), await log.append(entry("submission.view", i=1))]
    assert first.seq == 0 and appended[0].seq >= 1
    assert appended[0].seq < appended[1].seq
    assert appended[0] == first.with_seq(appended[0].seq)
    assert await log.list_entries(newest_first=False) == appended


async def test_an_entry_is_appended_once(log: AuditLog) -> None:
    appended = await log.append(entry())
    with pytest.raises(ValueError, match="seq"):
        await log.append(appended)
    assert await log.list_entries() == [appended]


async def test_a_detail_that_is_not_json_is_refused_before_anything_is_written(log: AuditLog) -> None:
    with pytest.raises(TypeError):
        await log.append(entry(detail={"when": object()}))
    assert await log.list_entries() == []


async def test_fifty_simultaneous_appends_get_fifty_distinct_seqs(backend: Backend) -> None:
    logs = [await backend.open(), await backend.open()]  # two workers on one store
    made = await asyncio.gather(
        *(logs[i % 2].append(entry(target=f"KP2024-{i:06d}", i=i)) for i in range(50))
    )
    seqs = [e.seq for e in made]
    assert len(set(seqs)) == 50 and min(seqs) >= 1
    listed = await logs[0].list_entries(newest_first=False)
    assert [e.seq for e in listed] == sorted(seqs)
    assert {e.target for e in listed} == {f"KP2024-{i:06d}" for i in range(50)}
    assert {e.seq: e for e in listed} == {e.seq: e for e in made}


# -- reading ---------------------------------------------------------------------------------


async def test_newest_first_by_default_oldest_first_on_request(
    log: AuditLog, seeded: list[AuditEntry]
) -> None:
    assert await log.list_entries() == seeded[::-1]
    assert await log.list_entries(newest_first=False) == seeded


async def test_filter_by_contest(log: AuditLog, seeded: list[AuditEntry]) -> None:
    assert await log.list_entries(contest_id=OTHER) == [seeded[3]]
    found = await log.list_entries(contest_id=C, newest_first=False)
    assert found == [seeded[i] for i in (0, 1, 2, 4, 5)]
    assert await log.list_entries(contest_id="nope") == []


async def test_filter_by_actor(log: AuditLog, seeded: list[AuditEntry]) -> None:
    found = await log.list_entries(actor=MEMBER)
    assert actions(found) == [("review.decide", "KP2024-000002"), ("submission.download", "KP2024-000001")]
    assert {e.role for e in found} == {"member"}


async def test_filter_by_target(log: AuditLog, seeded: list[AuditEntry]) -> None:
    found = await log.list_entries(target="KP2024-000001", newest_first=False)
    assert found == [seeded[1], seeded[2]]
    assert await log.list_entries(target="") == [seeded[4], seeded[0]]  # "": entries without one


async def test_filter_by_action_prefix(log: AuditLog, seeded: list[AuditEntry]) -> None:
    found = await log.list_entries(action_prefix="submission.", newest_first=False)
    assert actions(found) == [
        ("submission.view", "KP2024-000001"),
        ("submission.download", "KP2024-000001"),
        ("submission.view", "KP2025-000001"),
    ]
    assert actions(await log.list_entries(action_prefix="submission.view")) == [
        ("submission.view", "KP2025-000001"),
        ("submission.view", "KP2024-000001"),
    ]
    # A prefix, compared exactly: case matters, and '%' or '_' are no wildcards.
    assert await log.list_entries(action_prefix="Submission.") == []
    assert await log.list_entries(action_prefix="%view") == []
    assert await log.list_entries(action_prefix="submission_view") == []
    assert await log.list_entries(action_prefix="") == seeded[::-1]


async def test_filters_combine(log: AuditLog, seeded: list[AuditEntry]) -> None:
    assert await log.list_entries(contest_id=C, action_prefix="submission.view") == [seeded[1]]
    assert await log.list_entries(actor=MEMBER, target="KP2024-000001") == [seeded[2]]
    assert await log.list_entries(actor=MEMBER, contest_id=OTHER) == []


async def test_after_seq_keeps_only_later_entries(log: AuditLog, seeded: list[AuditEntry]) -> None:
    later = await log.list_entries(after_seq=seeded[2].seq, newest_first=False)
    assert later == seeded[3:]
    assert await log.list_entries(after_seq=seeded[2].seq) == seeded[3:][::-1]
    assert await log.list_entries(after_seq=seeded[-1].seq) == []
    assert await log.list_entries(after_seq=seeded[2].seq, actor=MEMBER) == [seeded[5]]


async def test_limit_takes_the_newest_or_the_oldest(log: AuditLog, seeded: list[AuditEntry]) -> None:
    assert await log.list_entries(limit=2) == [seeded[5], seeded[4]]
    assert await log.list_entries(limit=2, newest_first=False) == [seeded[0], seeded[1]]
    assert await log.list_entries(limit=1, contest_id=C, action_prefix="submission.") == [seeded[2]]
    # Paging forward: after the last seq seen.
    page = await log.list_entries(limit=4, newest_first=False)
    rest = await log.list_entries(limit=4, newest_first=False, after_seq=page[-1].seq)
    assert page + rest == seeded
    for wrong in (0, -1):
        with pytest.raises(ValueError, match="limit"):
            await log.list_entries(limit=wrong)


async def test_filtered_reads_that_span_many_pages(log: AuditLog, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redis_audit, "SCAN_PAGE", 3)  # Redis reads the stream three at a time
    made = [await log.append(entry(contest_id=(C if i % 4 == 0 else OTHER), i=i)) for i in range(30)]
    ours = [e for e in made if e.contest_id == C]  # 0, 4, 8, …, 28
    assert await log.list_entries(contest_id=C, limit=5) == ours[::-1][:5]
    assert await log.list_entries(contest_id=C, limit=5, newest_first=False) == ours[:5]
    assert await log.list_entries(contest_id=C, limit=50, after_seq=made[9].seq) == ours[3:][::-1]
    assert await log.list_entries(contest_id=C, limit=50, newest_first=False) == ours


async def test_chinese_text_and_detail_come_back_as_written(log: AuditLog) -> None:
    detail = {
        "原因": "材料不全：缺少《承诺书》",
        "fields": ["姓名", "手机号"],
        "nested": {"count": 3, "ok": True, "none": None, "ratio": 0.5},
    }
    written = await log.append(
        AuditEntry(
            at=dt.datetime(2024, 10, 1, 12, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=8))),
            actor="cli:管理员",
            role="organiser",
            action="review.decide",
            contest_id="全国科普微视频大赛-2024",
            target="KP2024-000001",
            detail=detail,
            source="cli",
        )
    )
    assert written.at == dt.datetime(2024, 10, 1, 4, 0, 0, 123456, tzinfo=dt.UTC)
    assert written.at.tzinfo == dt.UTC
    [found] = await log.list_entries(contest_id="全国科普微视频大赛-2024", actor="cli:管理员")
    assert found == written and found.detail == detail
    assert AuditEntry.from_json(found.to_json()) == found
    assert "材料不全" in found.to_json()


async def test_entries_survive_closing_and_reopening(backend: Backend) -> None:
    first = await backend.open()
    kept = [await first.append(entry("submission.view", i=i, target=f"KP2024-{i:06d}")) for i in range(3)]
    await first.close()
    again = await backend.open()
    assert await again.list_entries(newest_first=False) == kept
    later = await again.append(entry("export.contest", i=9))
    assert later.seq > kept[-1].seq
    assert await again.list_entries(limit=1) == [later]


# -- append-only ---------------------------------------------------------------------------


def test_the_port_offers_no_way_to_change_or_remove_an_entry() -> None:
    public = sorted(n for n in vars(AuditLog) if not n.startswith("_"))
    assert public == ["append", "close", "list_entries"]


async def test_both_backends_implement_the_port(log: AuditLog) -> None:
    assert isinstance(log, AuditLog)


async def test_the_sqlite_table_refuses_update_and_delete(tmp_path: Path) -> None:
    log = await SqliteAuditLog.open(tmp_path / "kepu.sqlite3")
    try:
        kept = await log.append(entry(target="KP2024-000001"))
    finally:
        await log.close()
    conn = sqlite3.connect(tmp_path / "kepu.sqlite3")
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE audit_log SET actor = 'someone-else'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM audit_log WHERE seq = ?", (kept.seq,))
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM audit_log")  # no truncate shortcut around the trigger
        conn.rollback()
        assert conn.execute("SELECT seq, actor FROM audit_log").fetchall() == [(kept.seq, ORGANISER)]
    finally:
        conn.close()
    log = await SqliteAuditLog.open(tmp_path / "kepu.sqlite3")
    try:
        assert await log.list_entries() == [kept]
    finally:
        await log.close()


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        AuditEntry(
            at=dt.datetime(2024, 10, 1, 12, 0),
            actor=ORGANISER,
            role="organiser",
            action="console.login",
            contest_id=C,
            source="chat",
        )


def test_an_entry_keeps_its_own_copy_of_the_detail() -> None:
    detail = {"rows": 1}
    made = entry(detail=detail)
    detail["rows"] = 2
    assert made.detail == {"rows": 1}


# -- wiring ----------------------------------------------------------------------------------


async def test_open_audit_picks_the_configured_backend(tmp_path: Path) -> None:
    store = await choose_backend(data_dir=tmp_path, redis_url=None).open_audit()
    try:
        assert isinstance(store, SqliteAuditLog) and store.path == tmp_path / "kepu.sqlite3"
    finally:
        await store.close()
    prefix = f"kepu-test-{uuid.uuid4().hex[:12]}"
    store = await choose_backend(data_dir=tmp_path, redis_url=REDIS_URL, redis_prefix=prefix).open_audit()
    try:
        assert isinstance(store, RedisAuditLog) and store.prefix == f"{prefix}:audit"
    finally:
        await store.close()


async def test_open_stores_opens_the_audit_log_beside_the_others(tmp_path: Path) -> None:
    async with open_stores(data_dir=tmp_path, redis_url=None) as stores:
        appended = await stores.audit.append(entry())
        await stores.storage.ping()
    async with open_stores(data_dir=tmp_path, redis_url=None) as stores:
        assert await stores.audit.list_entries() == [appended]
