"""Recommendations are the unit's: an entrant who names a unit waits for its member (or, where
nobody is bound for it, an organiser) to confirm the entry, and only then is a place used."""

from __future__ import annotations

from contests.events import Reply
from contests.org import Role
from contests.records import UserKey
from contests.review import ReviewState, history_of, state_of
from handlers.quota.results import AwaitingUnit, Confirmed
from handlers.quota.service import QuotaService
from tests.test_quota import ALICE, BOB, CAROL, CAS, World, make_request, open_day
from tests.test_quota import world as world

BOSS = UserKey("telegram", "boss")
STRANGER = UserKey("wechat", "stranger")
HEBEI = ("河北省科学技术厅", "province", "河北省")
BEIJING = ("北京市科学技术委员会", "province", "北京市")


class Told:
    def __init__(self) -> None:
        self.sent: list[tuple[UserKey, str]] = []

    async def __call__(self, user: UserKey, replies: list[Reply]) -> None:
        self.sent.extend((user, r.text) for r in replies)


def telling(world: World) -> Told:
    told = Told()
    world.quota = QuotaService(world.contests, world.storage, world.org, world.clock, tell=told)
    return told


async def usage(world: World, unit: str) -> int:
    return next(u.used for u in await world.quota.usage(CAS) if u.name == unit)


async def test_an_unbound_entrant_naming_a_unit_uses_none_of_its_places(world: World) -> None:
    contest = world.contest(CAS)
    world.clock.now = open_day(contest)
    await world.units(CAS, HEBEI, BEIJING)
    got = await world.submit(
        STRANGER, make_request(contest, "recommend", unit="北京市科学技术委员会"), as_member=False
    )
    assert isinstance(got, AwaitingUnit)
    assert "待“北京市科学技术委员会”确认推荐" in got.notice and "已推荐 0/5 部，还可推荐 5 部" in got.notice
    assert await usage(world, "北京市科学技术委员会") == 0
    stored = await world.storage.get_submission(got.submission.number)
    assert stored is not None and state_of(stored) is ReviewState.AWAITING_UNIT


async def test_the_units_member_confirms_and_the_entrant_is_told(world: World) -> None:
    contest = world.contest(CAS)
    world.clock.now = open_day(contest)
    told = telling(world)
    await world.units(CAS, HEBEI, BEIJING)
    await world.bind(ALICE, CAS, Role.MEMBER, "河北省科学技术厅")
    await world.bind(CAROL, CAS, Role.MEMBER, "北京市科学技术委员会")
    got = await world.submit(
        BOB, make_request(contest, "recommend", unit="河北省科学技术厅"), as_member=False
    )
    assert isinstance(got, AwaitingUnit)
    number = got.submission.number
    other = await world.quota.recommend(CAROL, number)  # another unit's member
    assert (other.ok, other.code) == (False, "not_found") and "河北" not in other.text
    nobody = await world.quota.recommend(STRANGER, number)
    assert (nobody.ok, nobody.code) == (False, "forbidden")
    await world.bind(BOSS, CAS, Role.ORGANISER)
    refused = await world.quota.recommend(BOSS, number)  # the unit has a member of its own
    assert (refused.ok, refused.code) == (False, "forbidden") and "代表" in refused.text
    assert await usage(world, "河北省科学技术厅") == 0
    listed = await world.quota.candidates_text(ALICE, CAS)
    assert f"1. {number}" in listed and "【待确认】" in listed and "推荐 编号" in listed
    assert number not in await world.quota.candidates_text(CAROL, CAS)
    overview = await world.quota.candidates_text(BOSS, CAS)
    assert "河北省科学技术厅：1 部" in overview and "无人绑定" not in overview
    done = await world.quota.recommend(ALICE, number)
    assert done.ok and "1/6" in done.text
    assert "【已推荐】" in await world.quota.candidates_text(ALICE, CAS)
    assert await usage(world, "河北省科学技术厅") == 1
    stored = await world.storage.get_submission(number)
    assert stored is not None and state_of(stored) is ReviewState.RECOMMENDED
    assert [(h.event, h.by) for h in history_of(stored)] == [
        ("submitted", str(BOB)),
        ("unit_confirmed", str(ALICE)),
    ]
    assert told.sent == [
        (
            BOB,
            f"您的作品 {number}《{stored.answers['title']}》 已获“河北省科学技术厅”确认推荐，"
            "计入其推荐名额。",
        )
    ]
    again = await world.quota.recommend(ALICE, number)
    assert (again.ok, again.code) == (False, "already")
    cancelled = await world.quota.unrecommend(ALICE, number)
    assert cancelled.ok and await usage(world, "河北省科学技术厅") == 0
    stored = await world.storage.get_submission(number)
    assert stored is not None and state_of(stored) is ReviewState.AWAITING_UNIT
    assert "取消了对您的作品" in told.sent[-1][1]


async def test_an_organiser_confirms_for_a_unit_nobody_is_bound_to(world: World) -> None:
    contest = world.contest(CAS)
    world.clock.now = open_day(contest)
    await world.units(CAS, HEBEI)
    await world.bind(BOSS, CAS, Role.ORGANISER)
    got = await world.submit(
        BOB, make_request(contest, "recommend", unit="河北省科学技术厅"), as_member=False
    )
    assert isinstance(got, AwaitingUnit)
    done = await world.quota.recommend(BOSS, got.submission.number)
    assert done.ok and await usage(world, "河北省科学技术厅") == 1


async def test_confirmations_stop_at_the_units_limit(world: World) -> None:
    contest = world.contest(CAS)
    world.clock.now = open_day(contest)
    await world.units(CAS, ("测试科技厅", "sub_provincial", ""))  # ≤3 works
    await world.bind(ALICE, CAS, Role.MEMBER, "测试科技厅")
    numbers = []
    for n in range(4):
        entrant = UserKey("web", f"w{n}")
        req = make_request(contest, "recommend", unit="测试科技厅", title=f"第{n}部", authors=f"作者{n}")
        got = await world.submit(entrant, req, as_member=False)
        assert isinstance(got, AwaitingUnit)
        numbers.append(got.submission.number)
    results = [await world.quota.recommend(ALICE, n) for n in numbers]
    assert [r.ok for r in results] == [True, True, True, False]
    assert results[-1].code == "full" and "限推荐 3 部" in results[-1].text
    member_own = await world.submit(
        ALICE, make_request(contest, "recommend", title="本单位的", authors="作者9")
    )
    assert not isinstance(member_own, Confirmed)  # the member is refused too: the unit is full


async def test_a_unit_nobody_imported_is_flagged_never_counted(world: World) -> None:
    contest = world.contest(CAS)
    world.clock.now = open_day(contest)
    got = await world.submit(BOB, make_request(contest, "recommend", unit="某某科协"), as_member=False)
    assert isinstance(got, AwaitingUnit) and not got.verified
    assert "尚未导入推荐单位名单" in got.notice
    stored = await world.storage.get_submission(got.submission.number)
    assert stored is not None and stored.extra["unit_unverified"] is True
    assert state_of(stored) is ReviewState.AWAITING_UNIT
    assert await world.org.list_places(CAS) == []
