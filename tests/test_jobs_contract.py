"""One contract for every :class:`~bot.storage.jobs_doc.JobStore` backend (SQLite and real Redis).

What the worker's exactly-once rests on: creating a job twice does nothing, claims never
overlap, every transition is a compare-and-set on (state, owner, attempt), a dead worker's
claims come back and its calls in flight become "uncertain", and the counts add up.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage import choose_backend
from contests.deliveries import BeginResult, DeliveryState, Job, JobKind, JobState, Outcome, Reason, Recipient
from contests.ports import JobStore
from contests.records import UserKey
from tests.conftest import BACKENDS, drop_redis_prefix, redis_for

T0 = dt.datetime(2024, 10, 20, 1, 0, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[JobStore]:
    prefix = f"kepu-test-{uuid.uuid4().hex[:12]}"
    url, cluster = redis_for(request, request.param)
    backend = choose_backend(data_dir=tmp_path, redis_url=url, redis_prefix=prefix, redis_cluster=cluster)
    jobs = await backend.open_jobs()
    yield jobs
    await jobs.close()
    if url:
        await drop_redis_prefix(prefix, url, cluster)


def job(job_id: str = "B1", *, state: JobState = JobState.SCHEDULED, when: float = 0, **kw: object) -> Job:
    fields: dict[str, object] = {
        "kind": JobKind.BROADCAST,
        "contest_id": "most-cas-2024-kepu",
        "audience": "all",
        "text": "各位作者：截止前请检查报名表。",
        "at": at(when),
        "created_by": "telegram:1",
        "created_at": T0,
        "state": state,
    }
    fields.update(kw)
    return Job(id=job_id, **fields)  # type: ignore[arg-type]


def users(n: int, channel: str = "telegram") -> list[Recipient]:
    return [Recipient(UserKey(channel, str(1000 + i))) for i in range(n)]


async def started(store: JobStore, n: int, job_id: str = "B1") -> Job:
    assert await store.create_job(job(job_id))
    assert await store.start_job(job_id, users(n), T0)
    got = await store.get_job(job_id)
    assert got is not None
    return got


# ------------------------------------------------------------------------------- jobs


async def test_create_job_is_idempotent_and_round_trips(store: JobStore) -> None:
    original = job(expires_at=at(3600), meta={"days": 3})
    assert await store.create_job(original)
    assert not await store.create_job(job(text="另一条"))  # same id: refused, nothing changed
    got = await store.get_job("B1")
    assert got is not None
    assert got.text == original.text and got.at == original.at and got.expires_at == original.expires_at
    assert got.state is JobState.SCHEDULED and got.meta == {"days": 3} and got.kind is JobKind.BROADCAST
    assert await store.get_job("nope") is None


async def test_due_jobs_waits_for_at_and_held_jobs_for_confirmation(store: JobStore) -> None:
    await store.create_job(job("LATER", when=60))
    await store.create_job(job("HELD", state=JobState.HELD))
    assert [j.id for j in await store.due_jobs(at(30))] == []
    assert [j.id for j in await store.due_jobs(at(60))] == ["LATER"]
    assert await store.confirm_job("HELD")
    assert not await store.confirm_job("HELD")  # only once
    assert {j.id for j in await store.due_jobs(at(60))} == {"LATER", "HELD"}


async def test_list_jobs_filters_by_contest_and_state(store: JobStore) -> None:
    await store.create_job(job("A"))
    await store.create_job(job("B", contest_id="cq-2023-scientist-spirit"))
    await store.create_job(job("C", state=JobState.HELD))
    assert [j.id for j in await store.list_jobs()] == ["A", "B", "C"]
    assert [j.id for j in await store.list_jobs(contest_id="most-cas-2024-kepu")] == ["A", "C"]
    assert [j.id for j in await store.list_jobs(states={JobState.HELD})] == ["C"]


async def test_start_job_once_with_unique_recipients(store: JobStore) -> None:
    await store.create_job(job())
    twice = [*users(3), Recipient(UserKey("telegram", "1001"), "重复")]
    assert await store.start_job("B1", twice, T0)
    assert not await store.start_job("B1", users(5), T0)  # another worker was first
    got = await store.get_job("B1")
    assert got is not None and got.state is JobState.RUNNING
    assert (got.total, got.remaining) == (3, 3)
    ds = await store.deliveries("B1")
    assert [d.user.user_id for d in ds] == ["1000", "1001", "1002"]
    assert ds[1].text == ""  # the first of a user's entries is kept
    assert await store.stats("B1") == {"pending": 3}


async def test_a_job_without_recipients_is_done_at_once(store: JobStore) -> None:
    await store.create_job(job())
    assert await store.start_job("B1", [], T0)
    got = await store.get_job("B1")
    assert got is not None and got.state is JobState.DONE and got.total == 0 and got.finished_at == T0


# ------------------------------------------------------------------------------- deliveries


async def test_claim_respects_limit_and_due_time(store: JobStore) -> None:
    await started(store, 5)
    first = await store.claim("w1", T0, 2)
    assert [d.seq for d in first] == [0, 1]
    assert all(d.state is DeliveryState.CLAIMED and d.owner == "w1" for d in first)
    assert await store.release("w1", [first[0].key], at(10)) == 1
    rest = await store.claim("w2", T0, 10)
    assert [d.seq for d in rest] == [2, 3, 4]  # 0 is not due before T0+10 s, 1 is w1's
    assert [d.seq for d in await store.claim("w2", at(10), 10)] == [0]


async def test_concurrent_claims_never_overlap(store: JobStore) -> None:
    await started(store, 300)
    batches = await asyncio.gather(*(store.claim(f"w{i % 4}", T0, 7) for i in range(60)))
    keys = [d.key for batch in batches for d in batch]
    assert len(keys) == len(set(keys)) == 300


async def test_begin_and_finish_are_compare_and_set(store: JobStore) -> None:
    await started(store, 2)
    d, other = await store.claim("w1", T0, 2)
    assert await store.begin("w2", d.key, T0) is BeginResult.LOST  # not w2's
    assert await store.begin("w1", d.key, T0) == 1
    assert await store.begin("w1", d.key, T0) is BeginResult.LOST  # already sending
    assert not await store.finish("w1", d.key, 2, Outcome.sent("telegram"), at(1))  # wrong attempt
    assert not await store.finish("w2", d.key, 1, Outcome.sent("telegram"), at(1))  # wrong owner
    assert not await store.finish("w1", d.key, 0, Outcome.sent("telegram"), at(1))  # not claimed any more
    assert await store.finish("w1", d.key, 1, Outcome.sent("telegram"), at(1))
    assert not await store.finish("w1", d.key, 1, Outcome.sent("telegram"), at(1))  # once
    assert await store.finish("w1", other.key, 0, Outcome.skipped(Reason.OPTED_OUT), at(2))
    got = await store.get_job("B1")
    assert got is not None and got.state is JobState.DONE and got.remaining == 0 and got.finished_at == at(2)
    assert await store.stats("B1") == {"sent:telegram": 1, "skipped:opted_out": 1}
    sent = await store.get_delivery(d.key)
    assert sent is not None and sent.state is DeliveryState.SENT and sent.via == "telegram"


async def test_a_retry_goes_back_to_pending_until_its_time(store: JobStore) -> None:
    await started(store, 1)
    (d,) = await store.claim("w1", T0, 1)
    assert await store.begin("w1", d.key, T0) == 1
    assert await store.finish("w1", d.key, 1, Outcome.retry(5, Reason.FLOOD, pause=True), T0)
    assert await store.claim("w1", at(4), 1) == []
    (again,) = await store.claim("w1", at(5), 1)
    assert again.reason == Reason.FLOOD and again.attempt == 1
    assert await store.begin("w1", again.key, at(5)) == 2  # attempts keep counting
    assert await store.stats("B1") == {"sending": 1}


async def test_recover_returns_claims_and_marks_calls_in_flight_uncertain(store: JobStore) -> None:
    await started(store, 3)
    await store.heartbeat("dead", T0, 10, register=True)
    await store.heartbeat("live", T0, 100, register=True)
    claimed, in_flight, mine = await store.claim("dead", T0, 3)
    await store.release("dead", [mine.key], T0)
    assert [d.seq for d in await store.claim("live", T0, 1)] == [mine.seq]
    assert await store.begin("dead", in_flight.key, T0) == 1
    assert await store.recover(at(5), resend_uncertain=False) == 0  # lease not over yet
    assert await store.recover(at(11), resend_uncertain=False) == 2
    assert not await store.heartbeat("dead", at(12), 10)  # given up: it must notice
    assert await store.heartbeat("live", at(12), 100)
    back = await store.get_delivery(claimed.key)
    assert back is not None and back.state is DeliveryState.PENDING and back.owner == ""
    lost = await store.get_delivery(in_flight.key)
    assert lost is not None and lost.state is DeliveryState.FAILED and lost.reason == Reason.UNCERTAIN
    assert await store.stats("B1") == {"pending": 1, "claimed": 1, "failed:uncertain": 1}
    # The stalled worker's call did go through after all: its record still wins, once.
    assert await store.finish("dead", in_flight.key, 1, Outcome.sent("telegram"), at(13))
    assert not await store.finish("dead", in_flight.key, 1, Outcome.sent("telegram"), at(13))
    assert await store.stats("B1") == {"pending": 1, "claimed": 1, "sent:telegram": 1}
    got = await store.get_job("B1")
    assert got is not None and got.remaining == 2


async def test_recover_may_send_uncertain_ones_again(store: JobStore) -> None:
    await started(store, 1)
    await store.heartbeat("dead", T0, 1, register=True)
    (d,) = await store.claim("dead", T0, 1)
    await store.begin("dead", d.key, T0)
    assert await store.recover(at(2), resend_uncertain=True) == 1
    (again,) = await store.claim("w2", at(2), 1)
    assert again.key == d.key and again.attempt == 1
    assert not await store.finish("dead", d.key, 1, Outcome.sent("telegram"), at(3))  # fenced off


async def test_retire_puts_claims_back_at_once(store: JobStore) -> None:
    await started(store, 4)
    await store.heartbeat("w1", T0, 300, register=True)
    got = await store.claim("w1", T0, 4)
    assert await store.retire("w1", T0, resend_uncertain=False) == 4
    assert [d.seq for d in await store.claim("w2", T0, 10)] == [d.seq for d in got]
    assert not await store.heartbeat("w1", T0, 300)


async def test_cancel_skips_what_is_pending_and_stops_what_is_claimed(store: JobStore) -> None:
    await started(store, 4)
    a, b = await store.claim("w1", T0, 2)
    assert await store.begin("w1", a.key, T0) == 1
    cancelled = await store.cancel_job("B1", at(1))
    assert cancelled is not None and cancelled.state is JobState.CANCELLED and cancelled.remaining == 2
    assert await store.begin("w1", b.key, at(1)) is BeginResult.CANCELLED
    assert await store.finish("w1", b.key, 0, Outcome.skipped(Reason.CANCELLED), at(1))
    assert await store.finish("w1", a.key, 1, Outcome.sent("telegram"), at(2))  # was already on its way
    assert await store.claim("w1", at(3), 10) == []
    got = await store.get_job("B1")
    assert got is not None and got.state is JobState.CANCELLED and got.remaining == 0
    assert await store.stats("B1") == {"skipped:cancelled": 3, "sent:telegram": 1}
    unchanged = await store.cancel_job("B1", at(4))
    assert unchanged is not None and unchanged.state is JobState.CANCELLED
    assert await store.cancel_job("nope", at(4)) is None


async def test_a_scheduled_job_can_be_cancelled_before_it_starts(store: JobStore) -> None:
    await store.create_job(job(when=60))
    cancelled = await store.cancel_job("B1", T0)
    assert cancelled is not None and cancelled.state is JobState.CANCELLED
    assert await store.due_jobs(at(120)) == []
    assert not await store.start_job("B1", users(2), at(120))


async def test_deliveries_filter_and_text_round_trip(store: JobStore) -> None:
    await store.create_job(job())
    text = '距「2024科普微视频」截止还有3天 / 12月1日 — 请补交：作品简介、视频 🎬 \\ "引号"'
    await store.start_job("B1", [Recipient(UserKey("wechat", "o-AbC_1/2"), text), *users(2)], T0)
    (d, *_) = await store.claim("w1", T0, 1)
    assert d.text == text and d.user == UserKey("wechat", "o-AbC_1/2")
    await store.finish("w1", d.key, 0, Outcome.skipped(Reason.OUTSIDE_WINDOW, "最后互动 3 天前"), T0)
    skipped = await store.deliveries("B1", states={DeliveryState.SKIPPED})
    assert [(x.seq, x.reason, x.detail, x.text) for x in skipped] == [
        (0, Reason.OUTSIDE_WINDOW, "最后互动 3 天前", text)
    ]
    assert [x.seq for x in await store.deliveries("B1")] == [0, 1, 2]


async def test_many_workers_send_each_delivery_exactly_once(store: JobStore) -> None:
    await started(store, 400)
    done: list[tuple[str, int]] = []

    async def work(name: str) -> None:
        await store.heartbeat(name, T0, 60, register=True)
        while batch := await store.claim(name, T0, 9):
            for d in batch:
                attempt = await store.begin(name, d.key, T0)
                assert isinstance(attempt, int)
                done.append(d.key)
                assert await store.finish(name, d.key, attempt, Outcome.sent("telegram"), T0)

    await asyncio.gather(*(work(f"w{i}") for i in range(4)))
    assert sorted(done) == [("B1", i) for i in range(400)]
    got = await store.get_job("B1")
    assert got is not None and got.state is JobState.DONE
    assert await store.stats("B1") == {"sent:telegram": 400}


# ------------------------------------------------------------------------------- opt-outs, quotas


async def test_opt_out_and_back_in(store: JobStore) -> None:
    alice, bob = UserKey("telegram", "1"), UserKey("wechat", "1")  # same id, other channel
    assert await store.set_opt_out(alice, True, T0)
    assert not await store.set_opt_out(alice, True, T0)  # nothing changed
    assert await store.opted_out([alice, bob, alice]) == {alice}
    assert await store.set_opt_out(alice, False, T0)
    assert not await store.set_opt_out(alice, False, T0)
    assert await store.opted_out([alice, bob]) == set()
    assert await store.opted_out([]) == set()


async def test_take_quota_never_exceeds_its_cap(store: JobStore) -> None:
    taken = await asyncio.gather(
        *(store.take_quota("tpl:2024-10-20", 10, dt.timedelta(days=2)) for _ in range(40))
    )
    assert sum(taken) == 10
    assert await store.take_quota("tpl:2024-10-21", 10, dt.timedelta(days=2))  # another day
    assert not await store.take_quota("zero", 0, dt.timedelta(days=1))
