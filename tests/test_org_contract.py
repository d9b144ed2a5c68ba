"""One contract for every OrgStore backend: units, invites and roles, quota places and claims.

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

from bot.storage import choose_backend
from bot.storage.redis.common import connect, key_prefix, part
from bot.storage.redis.lock import TurnHandle
from bot.storage.redis.org import RedisOrgStore
from bot.storage.sqlite.org import SqliteOrgStore
from contests.org import Invite, PlaceState, QuotaRefusal, RedeemStatus, Reservation, Role, Unit, hash_code
from contests.ports import OrgStore
from contests.records import Turn, UserKey
from tests.conftest import BACKENDS, drop_redis_prefix, redis_for

REDIS_URL = os.environ.get("KEPU_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
C = "most-cas-2024-kepu"
T0 = dt.datetime(2024, 10, 1, 4, 0, tzinfo=dt.UTC)
ALICE = UserKey("telegram", "1001")
BOB = UserKey("wechat", "oBob")
HEBEI = "unit:河北省科学技术厅"


class Backend:
    """Opens stores of one backend; several stores share one database / key prefix."""

    def __init__(self, kind: str, tmp_path: Path, redis: tuple[str | None, bool] = (None, False)) -> None:
        self.kind = kind
        self.url, self.cluster = redis
        self.path = tmp_path / "kepu.sqlite3"
        self.prefix = f"kepu-test-{uuid.uuid4().hex[:12]}"
        self.opened: list[OrgStore] = []

    async def open(self) -> OrgStore:
        store: OrgStore
        if self.kind == "sqlite":
            store = await SqliteOrgStore.open(self.path)
        else:
            store = await choose_backend(
                data_dir=self.path.parent,
                redis_url=self.url,
                redis_prefix=self.prefix,
                redis_cluster=self.cluster,
            ).open_org()
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
async def org(backend: Backend) -> OrgStore:
    return await backend.open()


async def reserve(
    org: OrgStore,
    holder: str = HEBEI,
    *,
    limit: int | None = 2,
    claims: tuple[str, ...] = (),
    now: dt.datetime = T0,
    track: str = "work",
    ttl: dt.timedelta = dt.timedelta(minutes=10),
    owner: UserKey = ALICE,
    turn: Turn | None = None,
) -> Reservation | QuotaRefusal:
    return await org.reserve(
        contest_id=C,
        holder=holder,
        track="work" if track == "work" else "account",
        limit=limit,
        claims=claims,
        owner=owner,
        now=now,
        ttl=ttl,
        turn=turn,
    )


async def held(org: OrgStore, holder: str = HEBEI, **kw: object) -> Reservation:
    got = await reserve(org, holder, **kw)  # type: ignore[arg-type]
    assert isinstance(got, Reservation), got
    return got


# -- units ----------------------------------------------------------------------------------


async def test_units_are_kept_in_import_order_and_replaced_by_normalised_name(org: OrgStore) -> None:
    await org.put_units(
        C, [Unit(C, "河北省科学技术厅", "province", "河北省"), Unit(C, "深圳市科技创新局", "sub_provincial")]
    )
    await org.put_units(
        C, [Unit(C, "河北省 科学技术厅", "province", "河北"), Unit(C, "科普联席会", "member_unit")]
    )
    units = await org.list_units(C)
    assert [(u.name, u.kind, u.province) for u in units] == [
        ("河北省 科学技术厅", "province", "河北"),
        ("深圳市科技创新局", "sub_provincial", ""),
        ("科普联席会", "member_unit", ""),
    ]
    found = await org.get_unit(C, "河北省科学技术厅　")  # an ideographic space does not matter
    assert found is not None and found.province == "河北"
    assert await org.get_unit(C, "河北省科技厅") is None
    assert await org.list_units("other-contest") == []


# -- invites and roles ------------------------------------------------------------------------


def invite(
    code: str, *, role: Role = Role.MEMBER, unit: str | None = "河北省科学技术厅", days: int = 7
) -> Invite:
    return Invite(hash_code(code), C, role, unit, T0, T0 + dt.timedelta(days=days))


async def test_an_invite_binds_once_and_sets_the_membership(org: OrgStore) -> None:
    await org.add_invite(invite("CODE-A"))
    first = await org.redeem_invite(hash_code("CODE-A"), ALICE, T0 + dt.timedelta(hours=1))
    assert first.status is RedeemStatus.OK
    assert first.membership is not None and first.membership.unit_key == "河北省科学技术厅"
    again = await org.redeem_invite(hash_code("CODE-A"), BOB, T0 + dt.timedelta(hours=2))
    assert again.status is RedeemStatus.USED and again.membership is None
    assert again.invite is not None and again.invite.used_by == ALICE
    member = await org.get_membership(ALICE, C)
    assert member is not None and member.role is Role.MEMBER
    assert await org.get_membership(BOB, C) is None
    assert await org.get_membership(ALICE, "other-contest") is None


async def test_an_expired_or_unknown_code_binds_nobody(org: OrgStore) -> None:
    await org.add_invite(invite("CODE-OLD", days=1))
    late = await org.redeem_invite(hash_code("CODE-OLD"), ALICE, T0 + dt.timedelta(days=1))
    assert late.status is RedeemStatus.EXPIRED
    forged = await org.redeem_invite(hash_code("CODE-NEVER-MADE"), ALICE, T0)
    assert forged.status is RedeemStatus.UNKNOWN
    assert await org.list_memberships(contest_id=C) == []


async def test_adding_the_same_code_twice_is_refused(org: OrgStore) -> None:
    await org.add_invite(invite("CODE-DUP"))
    with pytest.raises(Exception):  # noqa: B017, PT011 - IntegrityError on SQLite, ValueError on Redis
        await org.add_invite(invite("CODE-DUP", role=Role.ORGANISER, unit=None))
    result = await org.redeem_invite(hash_code("CODE-DUP"), ALICE, T0)
    assert result.membership is not None and result.membership.role is Role.MEMBER  # the first one stands


async def test_a_later_binding_replaces_the_role_in_that_contest_only(org: OrgStore) -> None:
    await org.add_invite(invite("CODE-1"))
    await org.add_invite(invite("CODE-2", role=Role.ORGANISER, unit=None))
    await org.add_invite(
        Invite(
            hash_code("CODE-3"), "hlj-2022-kepu", Role.MEMBER, "哈尔滨工业大学", T0, T0 + dt.timedelta(days=3)
        )
    )
    for code in ("CODE-1", "CODE-2", "CODE-3"):
        assert (await org.redeem_invite(hash_code(code), ALICE, T0)).status is RedeemStatus.OK
    mine = await org.list_memberships(user=ALICE)
    assert sorted((m.contest_id, m.role.value, m.unit_key) for m in mine) == [
        ("hlj-2022-kepu", "member", "哈尔滨工业大学"),
        (C, "organiser", None),
    ]


async def test_fifty_users_racing_for_one_code_bind_exactly_one(org: OrgStore) -> None:
    await org.add_invite(invite("CODE-RACE"))
    users = [UserKey("telegram", str(i)) for i in range(50)]
    results = await asyncio.gather(*(org.redeem_invite(hash_code("CODE-RACE"), u, T0) for u in users))
    assert sum(r.status is RedeemStatus.OK for r in results) == 1
    assert sum(r.status is RedeemStatus.USED for r in results) == 49
    assert len(await org.list_memberships(contest_id=C)) == 1


# -- places -----------------------------------------------------------------------------------


async def test_places_run_out_at_the_limit_and_say_how_many_are_used(org: OrgStore) -> None:
    a, b = await held(org), await held(org)
    assert (a.used, b.used) == (1, 2)  # each counts itself
    assert await org.commit(a, "KP2024-000001", T0)
    refused = await reserve(org)
    assert isinstance(refused, QuotaRefusal)
    assert (refused.reason, refused.used, refused.limit) == ("full", 2, 2)
    assert await org.release(b)
    assert isinstance(await reserve(org), Reservation)


async def test_no_limit_means_no_refusal_but_places_are_still_counted(org: OrgStore) -> None:
    for i in range(12):
        assert await org.commit(await held(org, limit=None), f"HLJ2022-{i:06d}", T0)
    places = await org.list_places(C, holder=HEBEI)
    assert len(places) == 12 and all(p.counts(T0) for p in places)


async def test_tracks_and_holders_have_separate_places(org: OrgStore) -> None:
    await held(org, limit=1)
    other_track = await reserve(org, limit=1, track="account")
    assert isinstance(other_track, Reservation) and other_track.used == 1
    assert isinstance(await reserve(org, "unit:石家庄", limit=1), Reservation)
    assert isinstance(await reserve(org, limit=1), QuotaRefusal)


async def test_a_pending_place_stops_counting_after_its_ttl(org: OrgStore) -> None:
    lost = await held(org, limit=1, ttl=dt.timedelta(minutes=5))
    assert isinstance(await reserve(org, limit=1, now=T0 + dt.timedelta(minutes=4)), QuotaRefusal)
    later = T0 + dt.timedelta(minutes=5)
    taken = await reserve(org, limit=1, now=later)
    assert isinstance(taken, Reservation) and taken.used == 1  # the lapsed place no longer counts
    # The crashed worker comes back: its place went to someone else, so it must not commit.
    assert not await org.commit(lost, "KP2024-000009", later)
    assert await org.place_of(C, "KP2024-000009") is None


async def test_an_expired_but_untaken_reservation_still_commits(org: OrgStore) -> None:
    slow = await held(org, limit=1, ttl=dt.timedelta(seconds=1))
    assert await org.commit(slow, "KP2024-000002", T0 + dt.timedelta(minutes=1))
    assert isinstance(await reserve(org, limit=1, now=T0 + dt.timedelta(minutes=2)), QuotaRefusal)


async def test_commit_is_idempotent_for_its_number_only(org: OrgStore) -> None:
    r = await held(org)
    assert await org.commit(r, "KP2024-000003", T0)
    assert await org.commit(r, "KP2024-000003", T0)
    assert not await org.commit(r, "KP2024-000004", T0)
    assert not await org.release(r)  # committed places are withdrawn, not released


async def test_a_claim_is_held_across_holders_and_channels_until_withdrawn(org: OrgStore) -> None:
    first = await held(org, claims=("author:张三",))
    assert await org.commit(first, "KP2024-000001", T0)
    clash = await reserve(org, "self:wechat:oBob", limit=1, claims=("work:x", "author:张三"))
    assert isinstance(clash, QuotaRefusal)
    assert (clash.reason, clash.claim, clash.claim_number) == ("claimed", "author:张三", "KP2024-000001")
    # The refused attempt took nothing: its other claim is free.
    assert isinstance(await reserve(org, "self:x:y", claims=("work:x",)), Reservation)
    gone = await org.withdraw(C, "KP2024-000001", T0)
    assert gone is not None and gone.state is PlaceState.WITHDRAWN
    assert isinstance(await reserve(org, "self:wechat:oBob", limit=1, claims=("author:张三",)), Reservation)


async def test_a_pending_claim_blocks_and_an_expired_one_is_taken_over(org: OrgStore) -> None:
    stale = await held(org, claims=("author:李四",), ttl=dt.timedelta(minutes=1))
    blocked = await reserve(org, "unit:other", claims=("author:李四",), now=T0 + dt.timedelta(seconds=30))
    assert isinstance(blocked, QuotaRefusal) and blocked.claim_number is None
    later = T0 + dt.timedelta(minutes=2)
    taken = await held(org, "unit:other", claims=("author:李四",), now=later)
    assert not await org.commit(stale, "KP2024-000007", later)  # its claim went to `taken`
    assert await org.commit(taken, "KP2024-000008", later)
    assert [p.number for p in await org.list_places(C, holder=HEBEI)] == []


def lock_of(backend: Backend, owner: UserKey) -> str:
    """The Redis key of ``owner``'s turn lock, as the backend's isolation names it."""
    return f"{key_prefix(backend.prefix, cluster=backend.cluster)}:lock:{part(f'user:{owner}')}"


def turn_in(backend: Backend, token: str, owner: UserKey = ALICE) -> Turn:
    """A turn of ``owner`` as the backend's own isolation hands it out (on Redis: its lock's
    name and token; whether that lock is held is up to the test)."""
    if backend.kind == "sqlite":
        return Turn(owner)
    return Turn(owner, handle=TurnHandle(lock_of(backend, owner), token))


async def test_a_place_its_owners_dead_turn_left_pending_gives_way_to_their_next_turn(
    backend: Backend, org: OrgStore
) -> None:
    """A worker died between holding an entrant's place and storing the submission; their
    redelivered 确认提交 reserves again, in a new turn, and is not refused by that place."""
    dead = await held(org, claims=("author:王五", "work:星空"), turn=turn_in(backend, "dead"))
    # Outside a turn, for someone else, or for another holder the dead place still holds.
    assert isinstance(await reserve(org, claims=("author:王五",)), QuotaRefusal)
    other = await reserve(org, claims=("work:星空",), owner=BOB, turn=turn_in(backend, "bob", BOB))
    assert isinstance(other, QuotaRefusal) and other.claim == "work:星空"
    elsewhere = await reserve(org, "unit:other", claims=("author:王五",), turn=turn_in(backend, "next"))
    assert isinstance(elsewhere, QuotaRefusal)
    again = await held(org, claims=("author:王五", "work:星空"), turn=turn_in(backend, "next"))
    assert again.used == 1  # the dead place no longer counts
    assert not await org.commit(dead, "KP2024-000030", T0)
    assert await org.commit(again, "KP2024-000031", T0)
    assert [(p.token, p.number) for p in await org.list_places(C)] == [(again.token, "KP2024-000031")]
    # A committed place is never given way, whatever the turn.
    late = await reserve(org, claims=("author:王五",), turn=turn_in(backend, "later"))
    assert isinstance(late, QuotaRefusal) and late.claim_number == "KP2024-000031"


async def test_a_dead_turns_place_without_claims_gives_way_too(backend: Backend, org: OrgStore) -> None:
    """An entry that holds no claim (the account track, a contest without author rules): the
    place its owner's dead turn left pending neither fills the holder's last place for the
    redelivered 确认提交 nor counts beside the place that redelivery takes."""
    dead = await held(org, limit=1, turn=turn_in(backend, "dead"))
    # Outside a turn, for someone else, or on the other track, the dead place still counts.
    assert isinstance(await reserve(org, limit=1), QuotaRefusal)
    bob = await reserve(org, limit=1, owner=BOB, turn=turn_in(backend, "bob", BOB))
    assert isinstance(bob, QuotaRefusal) and bob.reason == "full"
    again = await held(org, limit=1, turn=turn_in(backend, "next"))
    assert again.used == 1
    assert not await org.commit(dead, "KP2024-000050", T0)
    assert await org.commit(again, "KP2024-000051", T0)
    assert [p.number for p in await org.list_places(C, holder=HEBEI)] == ["KP2024-000051"]


async def test_a_place_whose_turn_still_holds_the_lock_is_not_taken_over(
    backend: Backend, org: OrgStore
) -> None:
    """Several workers: a turn whose lock expired under a slow worker may meet the place of the
    turn that took the lock after it; that one is alive, and its place stands."""
    if backend.kind == "sqlite":
        pytest.skip("one worker: turns of one owner never overlap, and never outlive their lock")
    client = connect(backend.url or REDIS_URL, cluster=backend.cluster)
    try:
        await client.set(lock_of(backend, ALICE), "alive", px=60_000)
        alive = await held(org, claims=("author:赵六",), turn=turn_in(backend, "alive"))
        late = await reserve(org, claims=("author:赵六",), turn=turn_in(backend, "late"))
        assert isinstance(late, QuotaRefusal) and late.reason == "claimed"
        await client.delete(lock_of(backend, ALICE))  # that turn ended without settling: dead now
        after = await held(org, claims=("author:赵六",), turn=turn_in(backend, "late"))
        assert not await org.commit(alive, "KP2024-000040", T0)
        assert await org.commit(after, "KP2024-000041", T0)
    finally:
        await client.aclose()


async def test_withdraw_frees_the_place_and_keeps_the_record(org: OrgStore) -> None:
    r = await held(org, limit=1)
    assert await org.commit(r, "KP2024-000005", T0)
    assert isinstance(await reserve(org, limit=1), QuotaRefusal)
    assert await org.withdraw(C, "KP2024-000005", T0) is not None
    assert await org.withdraw(C, "KP2024-000005", T0) is None  # only once
    assert await org.withdraw(C, "KP2024-000404", T0) is None
    place = await org.place_of(C, "KP2024-000005")
    assert place is not None and place.state is PlaceState.WITHDRAWN and not place.counts(T0)
    assert isinstance(await reserve(org, limit=1), Reservation)


async def test_a_withdrawn_number_may_be_committed_again(org: OrgStore) -> None:
    """A district cancels its recommendation of a work, then recommends it again."""
    first = await held(org, limit=1)
    assert await org.commit(first, "KP2024-000020", T0)
    assert await org.withdraw(C, "KP2024-000020", T0) is not None
    again = await held(org, limit=1, now=T0 + dt.timedelta(seconds=1))
    assert await org.commit(again, "KP2024-000020", T0 + dt.timedelta(seconds=1))
    place = await org.place_of(C, "KP2024-000020")
    assert place is not None and place.token == again.token and place.state is PlaceState.COMMITTED
    states = [(p.token, p.state) for p in await org.list_places(C) if p.number == "KP2024-000020"]
    assert states == [(first.token, PlaceState.WITHDRAWN), (again.token, PlaceState.COMMITTED)]
    assert isinstance(await reserve(org, limit=1), QuotaRefusal)  # the place is used again


async def test_list_places_shows_state_number_owner_and_order(org: OrgStore) -> None:
    a = await held(org, limit=None, claims=("author:甲",))
    b = await held(org, limit=None, now=T0 + dt.timedelta(seconds=1))
    await org.commit(a, "KP2024-000010", T0)
    places = await org.list_places(C)
    assert [(p.token, p.state, p.number) for p in places] == [
        (a.token, PlaceState.COMMITTED, "KP2024-000010"),
        (b.token, PlaceState.PENDING, None),
    ]
    assert places[0].owner == ALICE and places[0].claims == ("author:甲",) and places[0].expires_at is None
    assert places[1].claims == () and places[1].expires_at == b.expires_at
    assert await org.list_places("other-contest") == []


async def test_fifty_simultaneous_confirmations_for_five_places_give_five(backend: Backend) -> None:
    """The issue's acceptance test: a unit with 5 places left, 50 confirmations at once."""
    stores = [await backend.open() for _ in range(5)]  # five workers (connections) on one database
    setup = await held(stores[0], limit=6)
    assert await stores[0].commit(setup, "KP2024-000001", T0)

    async def confirm(i: int) -> int | bool:
        store = stores[i % len(stores)]
        got = await reserve(store, limit=6)
        if isinstance(got, QuotaRefusal):
            assert (got.reason, got.used, got.limit) == ("full", 6, 6)
            return False
        assert await store.commit(got, f"KP2024-{i + 100:06d}", T0)
        return got.used

    outcomes = await asyncio.gather(*(confirm(i) for i in range(50)))
    assert outcomes.count(False) == 45
    # Each winner was told its own count, taken in the same atomic step.
    assert sorted(o for o in outcomes if o is not False) == [2, 3, 4, 5, 6]
    committed = [p for p in await stores[0].list_places(C, holder=HEBEI) if p.state is PlaceState.COMMITTED]
    assert len(committed) == 6


async def test_open_org_store_picks_the_configured_backend(tmp_path: Path) -> None:
    store = await choose_backend(data_dir=tmp_path, redis_url=None).open_org()
    try:
        assert isinstance(store, SqliteOrgStore) and store.path == tmp_path / "kepu.sqlite3"
    finally:
        await store.close()
    prefix = f"kepu-test-{uuid.uuid4().hex[:12]}"
    store = await choose_backend(data_dir=tmp_path, redis_url=REDIS_URL, redis_prefix=prefix).open_org()
    try:
        assert isinstance(store, RedisOrgStore) and store.prefix == prefix
    finally:
        await store.close()


async def test_the_sqlite_tables_live_beside_the_submission_store(tmp_path: Path) -> None:
    from bot.storage.sqlite.drafts import SqliteStorage

    storage = await SqliteStorage.open(tmp_path / "kepu.sqlite3")
    org = await SqliteOrgStore.open(tmp_path / "kepu.sqlite3")
    try:
        await org.put_units(C, [Unit(C, "甲", "province")])
        assert await storage.list_submissions() == []
    finally:
        await org.close()
        await storage.close()
    reopened = await SqliteOrgStore.open(tmp_path / "kepu.sqlite3")  # migrations are idempotent
    try:
        assert [u.name for u in await reopened.list_units(C)] == ["甲"]
    finally:
        await reopened.close()
