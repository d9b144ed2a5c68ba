"""One contract for every storage backend, plus the event-isolation implementations.

Each storage test runs against SQLite (a file under ``tmp_path``) and a real Redis server
(``KEPU_TEST_REDIS_URL``, default ``redis://127.0.0.1:6379/0``; each test gets its own key
prefix and deletes its keys afterwards).  An unreachable Redis fails the tests, it does not
skip them.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.storage import choose_backend
from bot.storage.memory_lock import LocalIsolation
from bot.storage.redis.common import connect, key_prefix
from bot.storage.redis.drafts import RedisStorage
from bot.storage.redis.lock import RedisIsolation, TurnHandle
from bot.storage.sqlite.drafts import SqliteStorage
from contests.ports import EventIsolation, Storage
from contests.records import (
    AlreadyClaimed,
    Draft,
    FollowUp,
    InboundClaim,
    StaleDraftError,
    Submission,
    Turn,
    UserKey,
    format_number,
)
from tests.conftest import BACKENDS, drop_redis_prefix, redis_for

REDIS_URL = os.environ.get("KEPU_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

ALICE = UserKey("telegram", "1001")
BOB = UserKey("wechat", "oBob")
CST = dt.timezone(dt.timedelta(hours=8))
T0 = dt.datetime(2024, 5, 1, 9, 30, 0, 123456, tzinfo=CST)

RICH_DATA: dict[str, Any] = {
    "step": "title",
    "answers": {
        "title": "黑洞是怎样“吃”掉恒星的？🕳️✨",
        "authors": ["张三", "李四"],
        "school": {"name": "第一中学", "grade": 8},
        "birthday": "2010-03-04",
        "submitted_at": "2024-05-01T09:30:00+08:00",
    },
    "video": {"duration": 179.5, "width": 1920, "height": 1080, "ok": True, "note": None},
    "history": [["intro", 1], ["title", 2]],
    "emoji": "👩‍🔬🧪🌏",
    "empty": {},
    "empty_list": [],
}


# -- fixtures -------------------------------------------------------------------------------


async def _connect_redis() -> aioredis.Redis:
    client = aioredis.from_url(REDIS_URL, decode_responses=True)
    try:
        await client.ping()
    except (RedisConnectionError, OSError) as exc:
        await client.aclose()
        pytest.fail(
            f"Redis at {REDIS_URL} is not reachable ({exc}). These tests need a real server: "
            "start redis-server or point KEPU_TEST_REDIS_URL at one.",
            pytrace=False,
        )
    return client


@pytest.fixture
async def redis_admin() -> AsyncIterator[aioredis.Redis]:
    client = await _connect_redis()
    yield client
    await client.aclose()


@contextlib.asynccontextmanager
async def _scratch_prefix() -> AsyncIterator[str]:
    """A key prefix of the caller's own; its keys are deleted afterwards."""
    admin = await _connect_redis()
    prefix = f"kepu-test-{uuid.uuid4().hex}"
    try:
        yield prefix
    finally:
        keys = [key async for key in admin.scan_iter(match=f"{prefix}:*")]
        if keys:
            await admin.delete(*keys)
        await admin.aclose()


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    async with _scratch_prefix() as prefix:
        yield prefix


class Backend:
    """Opens stores on one underlying database (file or key prefix), closes them at teardown."""

    def __init__(
        self, name: str, tmp_path: Path, redis_prefix: str | None, url: str = REDIS_URL, cluster: bool = False
    ) -> None:
        self.name = name
        self.path = tmp_path / "data" / "kepu.sqlite3"
        self.redis_prefix = redis_prefix
        self.url, self.cluster = url, cluster
        self._opened: list[Storage] = []

    async def open(self) -> Storage:
        """A new store on the same data: a new connection / client, as a restart or another worker."""
        store: Storage
        if self.name == "sqlite":
            store = await SqliteStorage.open(self.path)
        else:
            assert self.redis_prefix is not None
            store = RedisStorage(
                connect(self.url, cluster=self.cluster), key_prefix(self.redis_prefix, cluster=self.cluster)
            )
        self._opened.append(store)
        return store

    async def dump(self) -> str:
        """Everything the backend holds on disk or in the server, as text (keys and values)."""
        if self.name == "sqlite":
            files = sorted(self.path.parent.glob(self.path.name + "*"))
            return "".join(f.read_bytes().decode("latin-1") for f in files)
        assert self.redis_prefix is not None
        client = connect(self.url, cluster=self.cluster)
        try:
            out = []
            async for key in client.scan_iter(
                match=f"{key_prefix(self.redis_prefix, cluster=self.cluster)}:*"
            ):
                out.append(key)
                if await client.type(key) == "string":
                    out.append(str(await client.get(key)))
            return "\n".join(out)
        finally:
            await client.aclose()

    async def close_all(self) -> None:
        for store in self._opened:
            await store.close()


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    async with contextlib.AsyncExitStack() as stack:
        prefix = None
        url, cluster = redis_for(request, request.param)
        if request.param == "redis":
            prefix = await stack.enter_async_context(_scratch_prefix())
        elif url is not None:
            prefix = f"kepu-test-{uuid.uuid4().hex}"
            stack.push_async_callback(drop_redis_prefix, prefix, url, cluster)
        backend = Backend("sqlite" if url is None else "redis", tmp_path, prefix, url or REDIS_URL, cluster)
        stack.push_async_callback(backend.close_all)
        yield backend


@pytest.fixture
async def store(backend: Backend) -> Storage:
    return await backend.open()


async def _submit(
    store: Storage,
    *,
    prefix: str = "KP2024",
    contest: str = "kepu-2024",
    user: UserKey = ALICE,
    now: dt.datetime = T0,
    title: str = "黑洞",
    draft_version: int | None = None,
    turn: Turn | None = None,
) -> Submission:
    return await store.create_submission(
        prefix=prefix,
        contest_id=contest,
        user=user,
        channel_id="tg-main",
        form_id="form-a",
        answers={"title": title, "author": "张三 🧑‍🚀"},
        video={"file_id": "abc", "duration": 120.0, "size": 1_048_576},
        now=now,
        draft_version=draft_version,
        turn=turn,
    )


def _is_utc(moment: dt.datetime | None) -> bool:
    return moment is not None and moment.tzinfo is not None and moment.utcoffset() == dt.timedelta(0)


# -- drafts ---------------------------------------------------------------------------------


async def test_implements_protocol(store: Storage) -> None:
    assert isinstance(store, Storage)


async def test_missing_draft(store: Storage) -> None:
    assert await store.get_draft(ALICE) is None
    assert await store.delete_draft(ALICE) is False


async def test_draft_round_trip(store: Storage) -> None:
    before = dt.datetime.now(dt.UTC)
    draft = Draft(user=ALICE, data=RICH_DATA)
    saved = await store.save_draft(draft)
    after = dt.datetime.now(dt.UTC)

    assert saved.version == 1
    assert saved.user == ALICE
    assert saved.data == RICH_DATA
    assert _is_utc(saved.updated_at)
    assert saved.updated_at is not None
    assert before <= saved.updated_at <= after
    assert draft.version == 0, "the caller's draft is not modified"

    loaded = await store.get_draft(ALICE)
    assert loaded is not None
    assert loaded.data == RICH_DATA
    assert loaded.data["answers"]["title"] == "黑洞是怎样“吃”掉恒星的？🕳️✨"
    assert loaded.version == 1
    assert loaded.user == ALICE
    assert _is_utc(loaded.updated_at)
    assert loaded.updated_at == saved.updated_at


async def test_draft_update_and_stale_version(store: Storage) -> None:
    v1 = await store.save_draft(Draft(user=ALICE, data={"step": "title"}))
    v2 = await store.save_draft(
        Draft(user=ALICE, data={"step": "video", "title": "彩虹"}, version=v1.version)
    )
    assert v2.version == 2
    assert v2.updated_at is not None
    assert v1.updated_at is not None
    assert v2.updated_at >= v1.updated_at

    with pytest.raises(StaleDraftError):
        await store.save_draft(Draft(user=ALICE, data={"step": "LOST"}, version=1))
    with pytest.raises(StaleDraftError):
        await store.save_draft(Draft(user=ALICE, data={"step": "LOST"}, version=0))
    with pytest.raises(StaleDraftError):
        await store.save_draft(Draft(user=ALICE, data={"step": "LOST"}, version=7))

    loaded = await store.get_draft(ALICE)
    assert loaded is not None
    assert (loaded.version, loaded.data) == (2, {"step": "video", "title": "彩虹"})


async def test_new_draft_needs_version_zero(store: Storage) -> None:
    with pytest.raises(StaleDraftError):
        await store.save_draft(Draft(user=ALICE, data={"step": "x"}, version=3))
    assert await store.get_draft(ALICE) is None


async def test_delete_draft(store: Storage) -> None:
    await store.save_draft(Draft(user=ALICE, data={"a": 1}))
    await store.save_draft(Draft(user=BOB, data={"b": 2}))
    assert await store.delete_draft(ALICE) is True
    assert await store.get_draft(ALICE) is None
    assert await store.delete_draft(ALICE) is False
    bob = await store.get_draft(BOB)
    assert bob is not None
    assert bob.data == {"b": 2}
    again = await store.save_draft(Draft(user=ALICE, data={"a": 3}))
    assert again.version == 1, "after a delete the draft starts over at version 0"


async def test_drafts_are_per_user_and_keys_do_not_collide(store: Storage) -> None:
    users = [
        UserKey("telegram", "1"),
        UserKey("wechat", "1"),
        UserKey("telegram", "2"),
        UserKey("a:b", "c"),
        UserKey("a", "b:c"),
        UserKey("web", "用户 1"),
    ]
    for i, user in enumerate(users):
        await store.save_draft(Draft(user=user, data={"i": i}))
    for i, user in enumerate(users):
        loaded = await store.get_draft(user)
        assert loaded is not None
        assert loaded.data == {"i": i}
        assert loaded.version == 1


async def test_unserialisable_draft_is_refused_and_nothing_stored(store: Storage) -> None:
    with pytest.raises(TypeError):
        await store.save_draft(Draft(user=ALICE, data={"when": dt.date(2024, 5, 1)}))
    assert await store.get_draft(ALICE) is None


# -- submissions ----------------------------------------------------------------------------


async def test_numbers_per_prefix(store: Storage) -> None:
    first = [await _submit(store) for _ in range(3)]
    assert [s.number for s in first] == ["KP2024-000001", "KP2024-000002", "KP2024-000003"]
    other = await _submit(store, prefix="KP2025")
    assert other.number == "KP2025-000001" == format_number("KP2025", 1)
    assert (await _submit(store)).number == "KP2024-000004"
    assert (await _submit(store, prefix="KP2025")).number == "KP2025-000002"


async def test_submission_round_trip(store: Storage) -> None:
    created = await _submit(store, user=BOB, title="“光合作用”🌱")
    assert isinstance(created, Submission)
    assert created.number == "KP2024-000001"
    assert created.contest_id == "kepu-2024"
    assert created.user == BOB
    assert created.channel_id == "tg-main"
    assert created.form_id == "form-a"
    assert created.answers == {"title": "“光合作用”🌱", "author": "张三 🧑‍🚀"}
    assert created.video == {"file_id": "abc", "duration": 120.0, "size": 1_048_576}
    assert created.status == "submitted"
    assert created.extra == {}
    assert created.created_at == T0
    assert _is_utc(created.created_at)

    loaded = await store.get_submission(created.number)
    assert loaded == created
    assert loaded is not None
    assert _is_utc(loaded.created_at)
    assert await store.get_submission("KP2024-000002") is None


async def test_extra_given_at_creation_is_stored_with_the_submission(
    store: Storage, backend: Backend
) -> None:
    extra = {"unit": "深圳市科技创新局", "unit_kind": "sub_provincial"}
    created = await store.create_submission(
        prefix="KP2024",
        contest_id="kepu-2024",
        user=BOB,
        channel_id="tg-main",
        form_id="form-a",
        answers={"title": "黑洞"},
        video={},
        now=T0,
        extra={**extra, "unit_unverified": None},  # None: not stored, as in update_submission
    )
    assert created.extra == extra
    again = await (await backend.open()).get_submission(created.number)
    assert again is not None and again.extra == extra
    # Merged into by later updates as any extra is.
    updated = await store.update_submission(created.number, extra={"quota_lost": True})
    assert updated.extra == {**extra, "quota_lost": True}


async def test_a_submission_may_leave_the_next_draft_in_place_of_the_one_it_drops(store: Storage) -> None:
    saved = await store.save_draft(Draft(ALICE, {"step": "review"}, 0))
    saved = await store.save_draft(Draft(ALICE, {"step": "review", "x": 1}, saved.version))
    scan = {"step": "scan", "number": "", "scans": [], "answers": {}, "title": '黑洞 "引号"'}
    created = await store.create_submission(
        prefix="KP2024",
        contest_id="kepu-2024",
        user=ALICE,
        channel_id="tg-main",
        form_id="form-a",
        answers={"title": "黑洞"},
        video={},
        now=T0,
        draft_version=saved.version,
        next_draft=scan,
    )
    draft = await store.get_draft(ALICE)
    assert draft is not None and draft.data == {**scan, "number": created.number}
    assert draft.version == saved.version + 1  # a version the dropped draft never had
    # Without a draft before it, the next one is new (version 1); and it is a draft as any.
    other = await store.create_submission(
        prefix="KP2024", contest_id="kepu-2024", user=BOB, channel_id="tg-main", form_id="form-a",
        answers={}, video={}, now=T0, next_draft={"step": "scan"},
    )  # fmt: skip
    bob = await store.get_draft(BOB)
    assert bob is not None and bob.version == 1 and bob.data == {"step": "scan", "number": other.number}
    await store.save_draft(Draft(BOB, {"step": "scan", "scans": [1]}, 1))


async def test_a_follow_up_stored_with_its_submission_is_taken_over_once_its_hold_lapses(
    store: Storage,
) -> None:
    lease = dt.timedelta(seconds=60)
    owed = FollowUp("", ALICE, "worker-a", T0 + lease, {"kind": "form"})
    created = await store.create_submission(
        prefix="KP2024", contest_id="kepu-2024", user=ALICE, channel_id="tg-main", form_id="form-a",
        answers={}, video={}, now=T0, follow_up=owed,
    )  # fmt: skip
    assert await store.take_follow_ups("worker-b", T0 + dt.timedelta(seconds=59), lease, 10) == []
    # worker-a renews it and records a step done.
    kept = FollowUp(
        created.number, ALICE, "worker-a", T0 + 2 * lease, {"kind": "form", "places": [["p", "m", "t"]]}
    )
    assert await store.keep_follow_up(kept)
    assert await store.take_follow_ups("worker-b", T0 + lease, lease, 10) == []
    # worker-a dies: once its hold lapses, b takes it over, with what a recorded, and only b.
    later = T0 + 2 * lease
    got = await store.take_follow_ups("worker-b", later, lease, 10)
    assert [(f.number, f.user, f.owner, f.data) for f in got] == [
        (created.number, ALICE, "worker-b", kept.data)
    ]
    assert abs(got[0].due - (later + lease)) < dt.timedelta(milliseconds=1)  # kept to the ms
    assert await store.take_follow_ups("worker-c", later, lease, 10) == []
    assert not await store.keep_follow_up(kept)  # a's hold is gone: nothing changed
    assert not await store.finish_follow_up(created.number, "worker-a")
    assert await store.finish_follow_up(created.number, "worker-b")
    assert not await store.finish_follow_up(created.number, "worker-b")
    assert await store.take_follow_ups("worker-c", later + 10 * lease, lease, 10) == []


async def test_follow_ups_are_taken_oldest_due_first_up_to_the_limit(store: Storage) -> None:
    lease = dt.timedelta(seconds=60)
    numbers = []
    for n in range(3):
        owed = FollowUp("", BOB, "dead", T0 + dt.timedelta(seconds=10 - n), {"n": n})
        sub = await store.create_submission(
            prefix="KP2024", contest_id="kepu-2024", user=BOB, channel_id="tg-main", form_id="form-a",
            answers={}, video={}, now=T0, follow_up=owed,
        )  # fmt: skip
        numbers.append(sub.number)
    first = await store.take_follow_ups("w", T0 + lease, lease, 2)
    assert [f.data["n"] for f in first] == [2, 1]
    rest = await store.take_follow_ups("w", T0 + lease, lease, 2)
    assert [f.number for f in rest] == [numbers[0]]


async def test_naive_datetime_is_refused_and_no_number_used(store: Storage) -> None:
    with pytest.raises(ValueError, match="naive"):
        await _submit(store, now=dt.datetime(2024, 5, 1, 9, 30))
    assert await store.list_submissions() == []
    assert (await _submit(store)).number == "KP2024-000001"


async def test_submit_deletes_only_that_users_draft(store: Storage) -> None:
    await store.save_draft(Draft(user=ALICE, data={"step": "confirm"}))
    await store.save_draft(Draft(user=BOB, data={"step": "title"}))
    await _submit(store, user=ALICE)
    assert await store.get_draft(ALICE) is None
    bob = await store.get_draft(BOB)
    assert bob is not None
    assert bob.data == {"step": "title"}


async def test_submit_without_draft(store: Storage) -> None:
    sub = await _submit(store, user=BOB)
    assert await store.get_submission(sub.number) == sub
    assert await store.get_draft(BOB) is None


async def test_a_submission_from_a_draft_that_changed_meanwhile_is_refused_and_nothing_stored(
    store: Storage,
) -> None:
    """Two turns that confirmed one draft (a lock expired under a slow worker, and the turn that
    took over): the submission is stored once, from the draft's version it was made from."""
    first = await store.save_draft(Draft(ALICE, {"step": "review"}, 0))
    now = await store.save_draft(Draft(ALICE, {"step": "review", "edited": True}, first.version))
    with pytest.raises(StaleDraftError):
        await _submit(store, draft_version=first.version)
    assert await store.list_submissions() == []
    kept = await store.get_draft(ALICE)
    assert kept is not None and kept.version == now.version
    made = await _submit(store, draft_version=now.version)
    assert made.number == "KP2024-000001"  # the refused one used no number
    with pytest.raises(StaleDraftError):  # the other turn, confirming the same draft again
        await _submit(store, draft_version=now.version)
    assert [s.number for s in await store.list_submissions()] == [made.number]
    assert await store.get_draft(ALICE) is None
    assert (await _submit(store, user=BOB, draft_version=0)).number == "KP2024-000002"  # no draft: 0


async def test_list_filters_oldest_first(store: Storage) -> None:
    hour = dt.timedelta(hours=1)
    a1 = await _submit(store, user=ALICE, contest="c1", now=T0)
    b1 = await _submit(store, user=BOB, contest="c1", now=T0 + hour)
    a2 = await _submit(store, user=ALICE, contest="c2", now=T0 + 2 * hour, prefix="KX")
    b2 = await _submit(store, user=BOB, contest="c2", now=T0 + 3 * hour)
    # Stored last but created first: the list is by age, not by insertion.
    early = await _submit(store, user=BOB, contest="c1", now=T0 - hour)
    # Same moment as a1: ties keep insertion order.
    tie = await _submit(store, user=ALICE, contest="c1", now=T0.astimezone(dt.UTC))

    def numbers(subs: list[Submission]) -> list[str]:
        return [s.number for s in subs]

    everything = await store.list_submissions()
    assert numbers(everything) == numbers([early, a1, tie, b1, a2, b2])
    assert all(_is_utc(s.created_at) for s in everything)
    assert everything[1] == a1
    assert numbers(await store.list_submissions(contest_id="c1")) == numbers([early, a1, tie, b1])
    assert numbers(await store.list_submissions(contest_id="c2")) == numbers([a2, b2])
    assert numbers(await store.list_submissions(user=ALICE)) == numbers([a1, tie, a2])
    assert numbers(await store.list_submissions(user=BOB)) == numbers([early, b1, b2])
    assert numbers(await store.list_submissions(contest_id="c1", user=BOB)) == numbers([early, b1])
    assert numbers(await store.list_submissions(contest_id="c2", user=ALICE)) == numbers([a2])
    assert await store.list_submissions(contest_id="nope") == []
    assert await store.list_submissions(user=UserKey("web", "nobody")) == []
    assert await store.list_submissions(contest_id="c2", user=UserKey("web", "nobody")) == []


# -- concurrency ----------------------------------------------------------------------------


async def test_50_concurrent_submissions_get_consecutive_numbers(store: Storage) -> None:
    users = [UserKey("web", f"u{i}") for i in range(50)]
    subs = await asyncio.gather(*(_submit(store, user=u) for u in users))
    numbers = sorted(s.number for s in subs)
    assert numbers == [format_number("KP2024", i) for i in range(1, 51)]
    assert len(await store.list_submissions()) == 50
    assert (await _submit(store)).number == "KP2024-000051"


async def test_two_workers_share_one_counter(backend: Backend) -> None:
    one, two = await backend.open(), await backend.open()
    calls = [_submit(one if i % 2 else two, user=UserKey("web", f"u{i}")) for i in range(40)]
    subs = await asyncio.gather(*calls)
    assert sorted(s.number for s in subs) == [format_number("KP2024", i) for i in range(1, 41)]
    assert len(await one.list_submissions()) == len(await two.list_submissions()) == 40


async def test_20_concurrent_saves_of_one_version_one_wins(store: Storage) -> None:
    base = await store.save_draft(Draft(user=ALICE, data={"n": -1}))
    results = await asyncio.gather(
        *(store.save_draft(Draft(user=ALICE, data={"n": i}, version=base.version)) for i in range(20)),
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, Draft)]
    losers = [r for r in results if isinstance(r, StaleDraftError)]
    assert len(winners) == 1
    assert len(losers) == 19
    loaded = await store.get_draft(ALICE)
    assert loaded is not None
    assert loaded.version == 2
    assert loaded.data == winners[0].data


async def test_concurrent_new_drafts_across_workers_one_wins(backend: Backend) -> None:
    one, two = await backend.open(), await backend.open()
    results = await asyncio.gather(
        *((one if i % 2 else two).save_draft(Draft(user=BOB, data={"n": i})) for i in range(20)),
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, Draft)]
    assert len(winners) == 1
    assert all(isinstance(r, StaleDraftError) for r in results if r is not winners[0])
    loaded = await two.get_draft(BOB)
    assert loaded is not None
    assert loaded.data == winners[0].data
    assert loaded.version == 1


# -- persistence ----------------------------------------------------------------------------


async def test_data_survives_close_and_reopen(backend: Backend) -> None:
    first = await backend.open()
    await first.save_draft(Draft(user=ALICE, data=RICH_DATA))
    s1 = await _submit(first, user=BOB)
    s2 = await _submit(first, user=BOB, contest="c2")
    await first.close()

    second = await backend.open()
    draft = await second.get_draft(ALICE)
    assert draft is not None
    assert draft.data == RICH_DATA
    assert draft.version == 1
    assert _is_utc(draft.updated_at)
    assert await second.get_submission(s1.number) == s1
    assert await second.list_submissions(user=BOB) == [s1, s2]
    assert (await _submit(second, user=BOB)).number == "KP2024-000003", "the counter survives too"
    updated = await second.save_draft(Draft(user=ALICE, data={"step": 2}, version=1))
    assert updated.version == 2


async def test_sqlite_schema_version_and_wal(tmp_path: Path) -> None:
    store = await SqliteStorage.open(tmp_path / "nested" / "dir" / "db.sqlite3")
    await store.close()
    await store.close()  # idempotent

    def pragmas() -> tuple[int, str]:
        conn = sqlite3.connect(tmp_path / "nested" / "dir" / "db.sqlite3")
        try:
            return conn.execute("PRAGMA user_version").fetchone()[0], conn.execute(
                "PRAGMA journal_mode"
            ).fetchone()[0]
        finally:
            conn.close()

    version, journal = await asyncio.to_thread(pragmas)
    assert version >= 1
    assert journal == "wal"


# -- open_storage ---------------------------------------------------------------------------


async def test_open_storage_sqlite(tmp_path: Path) -> None:
    data_dir = tmp_path / "does" / "not" / "exist"
    storage, isolation = await choose_backend(data_dir=data_dir, redis_url=None).open_storage()
    try:
        assert isinstance(storage, SqliteStorage)
        assert isinstance(isolation, LocalIsolation)
        assert isinstance(storage, Storage)
        assert isinstance(isolation, EventIsolation)
        assert (data_dir / "kepu.sqlite3").is_file()
        async with isolation.lock("terminal:me"):
            assert (await _submit(storage)).number == "KP2024-000001"
    finally:
        await storage.close()
        await isolation.close()


async def test_open_storage_redis(redis_prefix: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "unused"
    storage, isolation = await choose_backend(
        data_dir=data_dir, redis_url=REDIS_URL, redis_prefix=redis_prefix
    ).open_storage()
    try:
        assert isinstance(storage, RedisStorage)
        assert isinstance(isolation, RedisIsolation)
        async with isolation.lock("terminal:me"):
            assert (await _submit(storage)).number == "KP2024-000001"
    finally:
        await storage.close()
        await isolation.close()
    assert not await asyncio.to_thread(data_dir.exists), "the Redis backend writes no files"


# -- a user's turn: the lock with the draft, ended by the save -------------------------------


@pytest.fixture(params=BACKENDS)
async def paired(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Storage, EventIsolation]]:
    """The store and the isolation of one backend, as ``open_storage`` pairs them."""
    async with contextlib.AsyncExitStack() as stack:
        url, cluster = redis_for(request, request.param)
        prefix = f"kepu-test-{uuid.uuid4().hex}"
        if url is not None:
            stack.push_async_callback(drop_redis_prefix, prefix, url, cluster)
        storage, isolation = await choose_backend(
            data_dir=tmp_path, redis_url=url, redis_prefix=prefix, redis_cluster=cluster
        ).open_storage()
        stack.push_async_callback(storage.close)
        stack.push_async_callback(isolation.close)
        yield storage, isolation


FREE_WITHIN = 5.0


async def _taken_meanwhile(isolation: EventIsolation, key: str, within: float = 0.3) -> bool:
    """Whether another event of ``key`` could start within ``within`` seconds (it waits while the
    turn is held).  A held lock is never taken however long one waits, so the short default
    proves "held"; proving "free" gets seconds, since a busy machine (a Redis Cluster's first
    connections, two test workers) can take longer than 0.3 s to take a free lock."""

    async def other() -> None:
        async with isolation.lock(key):
            pass

    try:
        await asyncio.wait_for(other(), timeout=within)
    except TimeoutError:
        return False
    return True


async def test_turn_reads_the_draft_and_the_save_may_end_it(paired: tuple[Storage, EventIsolation]) -> None:
    storage, isolation = paired
    saved = await storage.save_draft(Draft(ALICE, RICH_DATA, 0))
    async with isolation.turn("user:alice", ALICE) as turn:
        assert turn.user == ALICE
        if turn.draft_read:  # Redis: read in the script that took the lock
            assert turn.draft is not None
            assert (turn.draft.data, turn.draft.version) == (RICH_DATA, saved.version)
        turn.may_end_in_save = True
        again = await storage.save_draft(Draft(ALICE, {"step": "b"}, saved.version), turn=turn)
        assert again.version == saved.version + 1
        # Ended by the save, or still held until the block ends: never both free and not ended.
        if turn.ended:
            assert await _taken_meanwhile(isolation, "user:alice", within=FREE_WITHIN)
        else:
            assert not await _taken_meanwhile(isolation, "user:alice")
    assert await _taken_meanwhile(isolation, "user:alice", within=FREE_WITHIN)
    got = await storage.get_draft(ALICE)
    assert got is not None and got.data == {"step": "b"}


async def test_turn_of_a_user_without_draft(paired: tuple[Storage, EventIsolation]) -> None:
    storage, isolation = paired
    async with isolation.turn("user:bob", BOB) as turn:
        assert turn.draft is None
    assert await storage.get_draft(BOB) is None


async def test_turn_not_marked_is_not_ended_by_the_save(paired: tuple[Storage, EventIsolation]) -> None:
    """A channel that sends its replies inside the turn (Telegram) keeps it past the save."""
    storage, isolation = paired
    async with isolation.turn("user:alice", ALICE) as turn:
        await storage.save_draft(Draft(ALICE, {"step": "a"}, 0), turn=turn)
        assert not turn.ended
        assert not await _taken_meanwhile(isolation, "user:alice")
    assert await _taken_meanwhile(isolation, "user:alice", within=FREE_WITHIN)


async def test_stale_or_claimed_save_leaves_the_turn_held(paired: tuple[Storage, EventIsolation]) -> None:
    storage, isolation = paired
    await storage.save_draft(Draft(ALICE, {"step": "a"}, 0))
    claim = InboundClaim("wechat:msg-1", dt.timedelta(minutes=5), ALICE, T0)
    assert await storage.claim_inbound(claim.key, claim.ttl, ALICE, T0)
    async with isolation.turn("user:alice", ALICE) as turn:
        turn.may_end_in_save = True
        with pytest.raises(StaleDraftError):
            await storage.save_draft(Draft(ALICE, {"step": "b"}, 7), turn=turn)
        with pytest.raises(AlreadyClaimed):
            await storage.save_draft(Draft(ALICE, {"step": "b"}, 1), claim=claim, turn=turn)
        assert not turn.ended
        assert not await _taken_meanwhile(isolation, "user:alice")
    assert await _taken_meanwhile(isolation, "user:alice", within=FREE_WITHIN)
    got = await storage.get_draft(ALICE)
    assert got is not None and got.data == {"step": "a"}


async def test_a_submission_in_a_turn_that_lost_its_lock_is_refused(
    paired: tuple[Storage, EventIsolation],
) -> None:
    """A worker that stalled past its lock may wake up after another turn of the user began:
    it stores no submission then (where turns can be lost at all: not LocalIsolation's)."""
    storage, isolation = paired
    draft = await storage.save_draft(Draft(ALICE, {"step": "review"}, 0))
    async with isolation.turn("user:alice", ALICE) as turn:
        if isinstance(isolation, RedisIsolation):
            assert isinstance(turn.handle, TurnHandle)
            await isolation._redis.set(turn.handle.lock_name, "another turn", px=60_000)
            with pytest.raises(StaleDraftError):
                await _submit(storage, draft_version=draft.version, turn=turn)
            assert await storage.list_submissions() == []
            await isolation._redis.set(turn.handle.lock_name, turn.handle.token, px=60_000)
        made = await _submit(storage, draft_version=draft.version, turn=turn)
    assert [s.number for s in await storage.list_submissions()] == [made.number]


async def test_a_claim_pending_in_a_turn_that_still_holds_the_lock_is_not_taken_over(
    paired: tuple[Storage, EventIsolation],
) -> None:
    """A turn whose lock expired under a slow worker meets the claim of the turn that took the
    lock after it, for the same redelivered message: that turn is alive, the claim is its own."""
    storage, isolation = paired
    ttl = dt.timedelta(minutes=5)
    await storage.save_draft(Draft(ALICE, {"step": "review"}, 0))
    async with isolation.turn("user:alice", ALICE) as alive:
        assert await storage.claim_inbound("wechat:msg-9", ttl, ALICE, T0, turn=alive)
        late = Turn(ALICE)
        if isinstance(alive.handle, TurnHandle):
            late = Turn(ALICE, handle=TurnHandle(alive.handle.lock_name, uuid.uuid4().hex))
        assert not await storage.claim_inbound("wechat:msg-9", ttl, ALICE, T0, turn=late)
        assert late.claims == []
    async with isolation.turn("user:alice", ALICE) as after:  # settled by its own turn's end
        assert not await storage.claim_inbound("wechat:msg-9", ttl, ALICE, T0, turn=after)


# -- LocalIsolation -------------------------------------------------------------------------


async def _run_events(isolation: EventIsolation, keys: list[str], log: list[tuple[str, int]]) -> None:
    async def event(i: int, key: str) -> None:
        async with isolation.lock(key):
            log.append(("start", i))
            for _ in range(3):
                await asyncio.sleep(0.002)
            log.append(("end", i))

    tasks = [asyncio.create_task(event(i, key)) for i, key in enumerate(keys)]
    await asyncio.gather(*tasks)


def _serialised(log: list[tuple[str, int]]) -> bool:
    """Every start is directly followed by its own end."""
    return (
        all(log[k][0] == "start" and log[k + 1] == ("end", log[k][1]) for k in range(0, len(log), 2))
        and len(log) % 2 == 0
    )


async def test_local_isolation_serialises_one_key_in_order() -> None:
    isolation = LocalIsolation()
    assert isinstance(isolation, EventIsolation)
    log: list[tuple[str, int]] = []
    await _run_events(isolation, ["user-1"] * 10, log)
    assert log == [entry for i in range(10) for entry in (("start", i), ("end", i))]
    assert isolation.active_keys == frozenset()


async def test_local_isolation_different_keys_run_concurrently() -> None:
    isolation = LocalIsolation()
    a_in, b_in, checked = asyncio.Event(), asyncio.Event(), asyncio.Event()
    seen: list[frozenset[str]] = []

    async def a() -> None:
        async with isolation.lock("a"):
            a_in.set()
            await b_in.wait()
            seen.append(isolation.active_keys)
            checked.set()

    async def b() -> None:
        async with isolation.lock("b"):
            b_in.set()
            await a_in.wait()
            await checked.wait()

    # Would deadlock (and time out) if "a" and "b" shared one lock.
    await asyncio.wait_for(asyncio.gather(a(), b()), timeout=5)
    assert seen == [frozenset({"a", "b"})]
    assert isolation.active_keys == frozenset()


async def test_local_isolation_cleans_up_after_errors_and_cancellation() -> None:
    isolation = LocalIsolation()
    with pytest.raises(RuntimeError, match="boom"):
        async with isolation.lock("k"):
            raise RuntimeError("boom")
    assert isolation.active_keys == frozenset()

    holding, release = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with isolation.lock("k"):
            holding.set()
            await release.wait()

    async def waiter() -> None:
        async with isolation.lock("k"):
            pytest.fail("a cancelled waiter must not get the lock")

    hold_task = asyncio.create_task(holder())
    await holding.wait()
    wait_task = asyncio.create_task(waiter())
    await asyncio.sleep(0)
    assert isolation.active_keys == frozenset({"k"})
    wait_task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await wait_task
    release.set()
    await hold_task
    assert isolation.active_keys == frozenset()
    async with isolation.lock("k"):  # still usable
        assert isolation.active_keys == frozenset({"k"})


# -- RedisIsolation -------------------------------------------------------------------------


@pytest.fixture
async def two_workers(redis_prefix: str) -> AsyncIterator[tuple[RedisIsolation, RedisIsolation]]:
    await (await _connect_redis()).aclose()  # fail clearly when Redis is down
    one = RedisIsolation(aioredis.from_url(REDIS_URL), redis_prefix, timeout=10, poll_interval=0.005)
    two = RedisIsolation(aioredis.from_url(REDIS_URL), redis_prefix, timeout=10, poll_interval=0.005)
    yield one, two
    await one.close()
    await two.close()


async def test_redis_isolation_serialises_one_key_across_workers(
    two_workers: tuple[RedisIsolation, RedisIsolation], redis_admin: aioredis.Redis
) -> None:
    one, two = two_workers
    assert isinstance(one, EventIsolation)
    log: list[tuple[str, int]] = []

    async def event(i: int) -> None:
        async with (one if i % 2 else two).lock("telegram:42"):
            log.append(("start", i))
            for _ in range(3):
                await asyncio.sleep(0.002)
            log.append(("end", i))

    await asyncio.gather(*(event(i) for i in range(8)))
    assert len(log) == 16
    assert _serialised(log), log
    assert sorted(i for kind, i in log if kind == "start") == list(range(8))
    assert await redis_admin.exists(one.lock_name("telegram:42")) == 0


async def test_redis_isolation_different_keys_run_concurrently(
    two_workers: tuple[RedisIsolation, RedisIsolation],
) -> None:
    one, two = two_workers
    a_in, b_in = asyncio.Event(), asyncio.Event()

    async def a() -> None:
        async with one.lock("a"):
            a_in.set()
            await b_in.wait()

    async def b() -> None:
        async with two.lock("b"):
            b_in.set()
            await a_in.wait()

    await asyncio.wait_for(asyncio.gather(a(), b()), timeout=5)
    assert a_in.is_set()
    assert b_in.is_set()


async def test_redis_lock_expires_and_is_renewed(redis_prefix: str, redis_admin: aioredis.Redis) -> None:
    isolation = RedisIsolation(
        aioredis.from_url(REDIS_URL), redis_prefix, timeout=30, renew_every=0.01, poll_interval=0.005
    )
    name = isolation.lock_name("wechat:o1")
    try:
        async with isolation.lock("wechat:o1"):
            ttl = await redis_admin.pttl(name)
            assert 0 < ttl <= 30_000, "a dead worker's lock must expire"
            await redis_admin.pexpire(name, 1000)  # as if most of the time had passed
            for _ in range(500):
                if await redis_admin.pttl(name) > 1000:
                    break
                await asyncio.sleep(0.01)
            assert await redis_admin.pttl(name) > 1000, "a live worker's lock is renewed"
        assert await redis_admin.exists(name) == 0
    finally:
        await isolation.close()


async def test_redis_isolation_gives_up_after_blocking_timeout(
    two_workers: tuple[RedisIsolation, RedisIsolation], redis_admin: aioredis.Redis
) -> None:
    one, _ = two_workers
    impatient = RedisIsolation(
        aioredis.from_url(REDIS_URL), one.prefix, timeout=10, blocking_timeout=0.03, poll_interval=0.005
    )
    try:
        async with one.lock("k"):
            with pytest.raises(TimeoutError):
                async with impatient.lock("k"):
                    pytest.fail("got a lock that another worker holds")
        async with impatient.lock("k"):
            assert await redis_admin.exists(one.lock_name("k")) == 1
    finally:
        await impatient.close()


async def test_a_waiter_that_came_just_after_the_holder_died_gets_the_lock(
    redis_prefix: str, redis_admin: aioredis.Redis
) -> None:
    """WeChat's redelivery of a dead worker's message reaches the other worker at once, while
    the dead lock still runs its full time: waiting by default outlasts it by more than a poll."""
    isolation = RedisIsolation(aioredis.from_url(REDIS_URL), redis_prefix, timeout=0.3, poll_interval=0.05)
    try:
        await redis_admin.set(isolation.lock_name("k"), "a worker that died just now", px=300)
        async with isolation.lock("k"):
            assert await redis_admin.get(isolation.lock_name("k")) != "a worker that died just now"
    finally:
        await isolation.close()


async def test_redis_isolation_cancelled_waiter_leaves_no_lock(
    two_workers: tuple[RedisIsolation, RedisIsolation], redis_admin: aioredis.Redis
) -> None:
    one, two = two_workers
    holding, release = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with one.lock("k"):
            holding.set()
            await release.wait()

    async def waiter() -> None:
        async with two.lock("k"):
            pytest.fail("a cancelled waiter must not get the lock")

    hold_task = asyncio.create_task(holder())
    try:
        await holding.wait()
        wait_task = asyncio.create_task(waiter())
        await asyncio.sleep(0.02)
        wait_task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await wait_task
    finally:
        release.set()
        await hold_task
    assert await redis_admin.exists(one.lock_name("k")) == 0


async def test_redis_isolation_honours_a_cancel_that_redis_py_swallowed(
    two_workers: tuple[RedisIsolation, RedisIsolation],
    redis_admin: aioredis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Python 3.11's wait_for, around redis-py's socket writes, can drop a cancel."""
    one, _ = two_workers
    real = RedisIsolation._try_take

    async def take_losing_the_cancel(self: RedisIsolation, *args: Any, **kwargs: Any) -> bool:
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(0)  # the cancel lands and is lost, as in wait_for
        return await real(self, *args, **kwargs)

    monkeypatch.setattr(RedisIsolation, "_try_take", take_losing_the_cancel)
    entered = False

    async def handler() -> None:
        nonlocal entered
        async with one.lock("k"):
            entered = True

    with pytest.raises(asyncio.CancelledError):
        await asyncio.create_task(handler())
    assert not entered, "a cancelled task must not run its event"
    assert await redis_admin.exists(one.lock_name("k")) == 0, "nor keep the lock it took"


# -- submission updates, once-only claims, last contact -------------------------------------


async def test_update_submission_changes_status_video_and_merges_extra(
    store: Storage, backend: Backend
) -> None:
    sub = await _submit(store)
    updated = await store.update_submission(
        sub.number, status="complete", extra={"scan": "scan-1.pdf", "receipt": "r1"}
    )
    assert updated.status == "complete"
    assert updated.extra == {"scan": "scan-1.pdf", "receipt": "r1"}
    assert updated.answers == sub.answers
    updated = await store.update_submission(
        sub.number, video={"kind": "file", "sha256": "ab" * 32}, extra={"scan": None}
    )
    assert updated.status == "complete"
    assert updated.video == {"kind": "file", "sha256": "ab" * 32}
    assert updated.extra == {"receipt": "r1"}
    again = await (await backend.open()).get_submission(sub.number)
    assert again is not None
    assert (again.status, again.video, again.extra) == (updated.status, updated.video, updated.extra)


async def test_update_submission_replaces_answers_and_appends_history(
    store: Storage, backend: Backend
) -> None:
    """A resubmission after 退回修改 (new answers) and the review's history, each appended in
    the same atomic write as the change it records."""
    sub = await _submit(store)
    first = {"at": "2024-10-01T04:00:00+00:00", "by": "telegram:1", "event": "decided", "state": "returned"}
    second = {"at": "2024-10-02T04:00:00+00:00", "by": "telegram:2", "event": "resubmitted"}
    await store.update_submission(sub.number, extra={"review": {"decision": "return"}}, history=first)
    answers = {**sub.answers, "title": "新的作品名称"}
    updated = await store.update_submission(
        sub.number, answers=answers, extra={"review": None}, history=second
    )
    assert updated.answers == answers and "review" not in updated.extra
    assert updated.extra["history"] == [first, second]
    again = await (await backend.open()).get_submission(sub.number)
    assert again is not None and again.answers == answers and again.extra["history"] == [first, second]


async def test_concurrent_history_entries_are_all_kept(store: Storage) -> None:
    sub = await _submit(store)
    entries = [{"at": f"2024-10-01T04:00:{i:02d}+00:00", "by": f"t:{i}", "event": "x"} for i in range(12)]
    await asyncio.gather(*(store.update_submission(sub.number, history=e) for e in entries))
    stored = await store.get_submission(sub.number)
    assert stored is not None
    assert sorted(h["by"] for h in stored.extra["history"]) == sorted(e["by"] for e in entries)


async def test_the_submissions_version_changes_with_every_write_and_only_then(
    store: Storage, backend: Backend
) -> None:
    start = await store.submissions_version()
    sub = await _submit(store)
    created = await store.submissions_version()
    assert created != start
    await store.save_draft(Draft(UserKey("telegram", "9"), {"step": "x"}))  # not a submission
    await store.get_submission(sub.number)
    assert await store.submissions_version() == created
    await store.update_submission(sub.number, extra={"k": "v"})
    other = await backend.open()  # another worker on the same store sees the same version
    assert await other.submissions_version() == await store.submissions_version() != created


async def test_submissions_changed_since_a_version(store: Storage, backend: Backend) -> None:
    first = await _submit(store)
    v1, everything = await store.submissions_changed(first.contest_id, 0)
    assert [s.number for s in everything] == [first.number]
    second = await _submit(store, user=UserKey("telegram", "22"))
    v2, new = await store.submissions_changed(first.contest_id, v1)
    assert v2 > v1 and [s.number for s in new] == [second.number]
    assert (await store.submissions_changed(first.contest_id, v2)) == (v2, [])
    await (await backend.open()).update_submission(first.number, extra={"review": {"decision": "pass"}})
    v3, changed = await store.submissions_changed(first.contest_id, v2)
    assert v3 > v2 and [(s.number, s.extra) for s in changed] == [
        (first.number, {"review": {"decision": "pass"}})
    ]
    assert (await store.submissions_changed("another-contest", v2)) == (v3, [])


async def test_update_of_an_unknown_submission_raises_key_error(store: Storage) -> None:
    with pytest.raises(KeyError):
        await store.update_submission("KP2024-999999", status="complete")


async def test_concurrent_extra_updates_are_all_kept(store: Storage) -> None:
    sub = await _submit(store)
    await asyncio.gather(*(store.update_submission(sub.number, extra={f"k{i}": i}) for i in range(20)))
    final = await store.get_submission(sub.number)
    assert final is not None
    assert final.extra == {f"k{i}": i for i in range(20)}


async def test_claim_once_is_true_exactly_once_across_workers(backend: Backend) -> None:
    one, two = await backend.open(), await backend.open()
    ttl = dt.timedelta(minutes=5)
    results = await asyncio.gather(*(s.claim_once("wechat:msg:123", ttl) for s in [one, two] * 10))
    assert results.count(True) == 1
    assert await one.claim_once("wechat:msg:124", ttl) is True


async def test_claim_inbound_claims_once_and_records_the_contact_only_when_claimed(backend: Backend) -> None:
    one, two = await backend.open(), await backend.open()
    ttl = dt.timedelta(minutes=5)
    later = T0 + dt.timedelta(hours=1)
    results = await asyncio.gather(
        *(s.claim_inbound("wechat:msg:7", ttl, ALICE, T0) for s in [one, two] * 10)
    )
    assert results.count(True) == 1, "a message is handled once, by one worker"
    assert await two.last_contact(ALICE) == T0
    # It shares its key space with claim_once: whichever comes first claims the message.
    assert await one.claim_once("wechat:msg:7", ttl) is False
    assert await two.claim_once("wechat:msg:9", ttl) is True
    assert await one.claim_inbound("wechat:msg:9", ttl, ALICE, T0 + dt.timedelta(hours=2)) is False
    # A retry (same key) does not move the contact, even with another time.
    assert await two.claim_inbound("wechat:msg:7", ttl, ALICE, later) is False
    assert await one.last_contact(ALICE) == T0
    # A new message does; an older one arriving late does not go back.
    assert await one.claim_inbound("wechat:msg:8", ttl, ALICE, later) is True
    assert await one.claim_inbound("wechat:msg:6", ttl, ALICE, T0) is True
    assert await two.last_contact(ALICE) == later
    assert await one.last_contact(BOB) is None
    assert await one.list_contacts() == [ALICE]


async def test_a_save_with_a_claim_claims_and_saves_together_or_not_at_all(backend: Backend) -> None:
    one, two = await backend.open(), await backend.open()
    ttl = dt.timedelta(minutes=5)
    first = await one.save_draft(Draft(ALICE, {"step": "a"}))
    claim = InboundClaim("wechat:msg:21", ttl, ALICE, T0)
    # Two workers save the same message's answer: one claims it, the other changes nothing.
    results = await asyncio.gather(
        *(s.save_draft(Draft(ALICE, {"step": "b"}, version=first.version), claim=claim) for s in (one, two)),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["AlreadyClaimed", "Draft"]
    stored = await two.get_draft(ALICE)
    assert stored is not None and stored.data == {"step": "b"} and stored.version == first.version + 1
    assert await one.last_contact(ALICE) == T0  # the contact record came with the claim
    assert await two.claim_inbound("wechat:msg:21", ttl, ALICE, T0) is False  # the key space is shared
    # A stale version: nothing is saved and the message stays unclaimed, for the next attempt.
    stale = InboundClaim("wechat:msg:22", ttl, ALICE, T0 + dt.timedelta(hours=1))
    with pytest.raises(StaleDraftError):
        await one.save_draft(Draft(ALICE, {"step": "c"}, version=first.version), claim=stale)
    assert await one.last_contact(ALICE) == T0
    again = await one.get_draft(ALICE)
    assert again is not None and again.data == {"step": "b"}
    assert await two.claim_once("wechat:msg:22", ttl) is True
    # A message claimed already (by claim_inbound, say) is refused before the version matters.
    with pytest.raises(AlreadyClaimed):
        await one.save_draft(Draft(ALICE, {"step": "d"}, version=again.version), claim=stale)
    final = await two.get_draft(ALICE)
    assert final is not None and final.data == {"step": "b"}
    # A new user's first draft, with its claim.
    bob = await one.save_draft(Draft(BOB, {"step": "a"}), claim=InboundClaim("wechat:msg:23", ttl, BOB, T0))
    assert bob.version == 1 and await two.last_contact(BOB) == T0


def _slots(name: str, n: int = 5) -> list[str]:
    return [f"wechat:cs:{name}:msg:1714527000:{i}" for i in range(1, n + 1)]


async def test_claim_first_claims_the_first_free_key_in_claim_onces_key_space(backend: Backend) -> None:
    one, two = await backend.open(), await backend.open()
    ttl = dt.timedelta(minutes=5)
    keys = _slots("oFirst")
    assert await one.claim_first([], ttl) is None
    assert await two.claim_once(keys[1], ttl) is True  # taken by claim_once: skipped
    assert await one.claim_first(keys, ttl) == 0
    assert [await two.claim_first(keys, ttl) for _ in range(3)] == [2, 3, 4]
    assert await one.claim_first(keys, ttl) is None, "every key is taken"
    # The very keys claim_once would claim, so claims made either way count for both.
    assert [await two.claim_once(key, ttl) for key in keys] == [False] * len(keys)
    assert await one.claim_first([*keys, "wechat:cs:oFirst:other"], ttl) == len(keys)
    assert await one.claim_once("wechat:cs:oFirst:other", ttl) is False


async def test_concurrent_claim_first_across_workers_hands_out_each_key_once(backend: Backend) -> None:
    one, two = await backend.open(), await backend.open()
    ttl = dt.timedelta(minutes=5)
    keys = _slots("oRace")
    calls = 2 * len(keys) + 3
    results = await asyncio.gather(*((one if i % 2 else two).claim_first(keys, ttl) for i in range(calls)))
    # Whichever calls win, each index goes to exactly one of them and the rest get None.
    assert sorted(r for r in results if r is not None) == list(range(len(keys)))
    assert results.count(None) == calls - len(keys)


async def test_claim_first_takes_over_an_expired_key(backend: Backend) -> None:
    one, two = await backend.open(), await backend.open()
    keys = _slots("oExpiry", 3)
    assert await one.claim_first(keys, dt.timedelta(minutes=5)) == 0
    # Long enough to outlive the next two calls on a loaded machine (20 ms did not, under CI load).
    short = dt.timedelta(milliseconds=600)
    assert await two.claim_first(keys, short) == 1
    assert await one.claim_first(keys, short) == 2
    assert await two.claim_first(keys, dt.timedelta(minutes=5)) is None
    await asyncio.sleep(0.8)
    assert await two.claim_first(keys, dt.timedelta(minutes=5)) == 1
    assert await one.claim_first(keys, dt.timedelta(minutes=5)) == 2
    assert await two.claim_first(keys, dt.timedelta(minutes=5)) is None


async def test_an_expired_claim_can_be_claimed_again(store: Storage) -> None:
    assert await store.claim_once("k", dt.timedelta(milliseconds=20)) is True
    assert await store.claim_once("k", dt.timedelta(milliseconds=20)) is False
    await asyncio.sleep(0.05)
    assert await store.claim_once("k", dt.timedelta(minutes=1)) is True


async def test_last_contact_keeps_the_latest_time(store: Storage) -> None:
    assert await store.last_contact(ALICE) is None
    await store.touch_contact(ALICE, T0 + dt.timedelta(hours=2))
    await store.touch_contact(ALICE, T0)  # a late write of an older message does not go back
    assert await store.last_contact(ALICE) == T0 + dt.timedelta(hours=2)
    assert await store.last_contact(BOB) is None


async def test_list_contacts_names_everyone_who_wrote_once(store: Storage) -> None:
    assert await store.list_contacts() == []
    odd = UserKey("wechat", "o:with/colon%and 空格")  # separators and escapes survive the round trip
    for user in (BOB, ALICE, odd, ALICE):
        await store.touch_contact(user, T0)
    assert await store.list_contacts() == sorted({BOB, ALICE, odd}, key=lambda u: (u.channel, u.user_id))


async def test_list_drafts_returns_every_draft_and_forgets_deleted_and_submitted_ones(store: Storage) -> None:
    assert await store.list_drafts() == []
    odd = UserKey("web", "a:b/c")
    for user, step in ((BOB, "video"), (ALICE, "fields"), (odd, "track")):
        await store.save_draft(Draft(user, {"contest": "c1", "step": step}))
    drafts = await store.list_drafts()
    assert [(d.user, d.data["step"], d.version) for d in drafts] == [
        (ALICE, "fields", 1),
        (odd, "track", 1),
        (BOB, "video", 1),
    ]
    assert all(d.updated_at is not None for d in drafts)
    await store.delete_draft(odd)
    await store.create_submission(
        prefix="T", contest_id="c1", user=BOB, channel_id="ch", form_id="f", answers={}, video={}, now=T0
    )
    assert [d.user for d in await store.list_drafts()] == [ALICE]


async def test_a_web_session_names_its_user_until_closed_or_expired(store: Storage) -> None:
    from bot.storage.base import session_hash

    token = "cookie-value-never-stored"
    user = UserKey("web", "w:odd/空格")
    assert await store.session_user(session_hash(token)) is None
    await store.open_session(session_hash(token), user, dt.timedelta(minutes=5))
    assert await store.session_user(session_hash(token)) == user
    assert await store.session_user(session_hash(token + "x")) is None
    await store.close_session(session_hash(token))
    assert await store.session_user(session_hash(token)) is None
    await store.close_session(session_hash(token))  # closing twice is harmless
    await store.open_session(session_hash("short"), user, dt.timedelta(milliseconds=20))
    await asyncio.sleep(0.05)
    assert await store.session_user(session_hash("short")) is None


async def test_a_session_cookie_is_never_stored_as_itself(backend: Backend) -> None:
    """A copy of the store (a backup, a dump) must open no session."""
    from bot.storage.base import session_hash

    store = await backend.open()
    token = "S3cr3t-cookie-" + uuid.uuid4().hex
    await store.open_session(session_hash(token), UserKey("web", "w1"), dt.timedelta(minutes=5))
    assert token not in await backend.dump()
    await store.close()
