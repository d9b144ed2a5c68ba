"""Quotas as the notices set them: every row of the issue's table (as the seeds have it),
author and channel rules, the atomic confirm-time reservation, 配额 texts and withdrawal.

``make_request`` / ``World`` are shared with test_admin.py and test_export.py (imported, not copied).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot.storage.redis.org import RedisOrgStore
from bot.storage.sqlite.drafts import SqliteStorage
from bot.storage.sqlite.org import SqliteOrgStore
from contests.org import Invite, QuotaRefusal, Role, Unit, hash_code
from contests.ports import EventIsolation, OrgStore, Storage
from contests.records import Submission, UserKey
from contests.registry import ContestRegistry
from contests.rules import Contest
from dialogs.results import SubmitRequest
from handlers.admin.units import parse_units_csv
from handlers.quota.results import AwaitingUnit, Confirmed, Hold, Submitted
from handlers.quota.rules import author_rules, days_left, first_author
from handlers.quota.service import QuotaService
from handlers.quota.texts import book_title, refusal_text, title_of
from tests.conftest import REDIS_URL, Clock, beijing, valid_answer
from validators.fields import check_answer
from validators.text import Valid

CAS = "most-cas-2024-kepu"
TECH = "most-2023-tech-envoy"
CQ = "cq-2023-scientist-spirit"
HLJ = "hlj-2022-kepu"
CACSI = "cacsi-2022-youth"
_serial = itertools.count(1)


def make_request(contest: Contest, channel_id: str, track: str = "work", **overrides: str) -> SubmitRequest:
    """A complete entry as the dialog would hand it over: every field answered and validated.

    ``overrides`` are typed answers by field id (``authors="张三、李四"``); a distinct title and
    first author are made up unless given, so that author rules do not interfere.
    """
    channel = contest.channel(channel_id)
    form = contest.form(channel.forms["account" if track == "account" else "work"])
    n = next(_serial)
    typed = {"title": f"科学之光第{n}集", "authors": f"作者{n}、合作者", "account_name": f"科普号{n}"}
    typed |= overrides
    answers: dict[str, Any] = {}
    for fld in form.fields:
        raw = typed.get(fld.id, valid_answer(fld, contest))
        result = check_answer(fld, raw, contest)
        assert isinstance(result, Valid), (fld.id, raw, result)
        answers[fld.id] = result.value
    video = {"kind": "link", "url": f"https://video.example.cn/{n}.mp4", "checked": False}
    return SubmitRequest(contest.number_prefix, contest.id, channel.id, form.id, answers, video)


@dataclass
class World:
    """The contests, both stores and the quota service on one backend, with a settable clock."""

    contests: ContestRegistry
    storage: Storage
    org: OrgStore
    clock: Clock
    quota: QuotaService

    def contest(self, contest_id: str) -> Contest:
        found = self.contests.get(contest_id)
        assert found is not None
        return found

    async def units(self, contest_id: str, *units: tuple[str, str, str]) -> None:
        await self.org.put_units(contest_id, [Unit(contest_id, n, k, p) for n, k, p in units])

    async def bind(self, user: UserKey, contest_id: str, role: Role, unit: str | None = None) -> None:
        code = f"TEST-{next(_serial)}"
        now = self.clock()
        await self.org.add_invite(
            Invite(hash_code(code), contest_id, role, unit, now, now + dt.timedelta(days=1))
        )
        assert (await self.org.redeem_invite(hash_code(code), user, now)).membership is not None

    async def create(self, user: UserKey, req: SubmitRequest, extra: dict[str, Any]) -> Submission:
        """The store's part of the confirm step, as the submit flow hands it to ``confirm``."""
        return await self.storage.create_submission(
            prefix=req.prefix,
            contest_id=req.contest_id,
            user=user,
            channel_id=req.channel_id,
            form_id=req.form_id,
            answers=req.answers,
            video=req.video,
            now=self.clock(),
            extra=extra,
        )

    async def submit(
        self, user: UserKey, req: SubmitRequest, *, as_member: bool = True
    ) -> Confirmed | Submitted | AwaitingUnit | QuotaRefusal:
        """The confirm step exactly as the submit flow calls it.  ``as_member``: the entrant
        speaks for the unit they name (bound as its member first, unless bound already), so
        the entry counts at once; otherwise it waits for the unit (:class:`AwaitingUnit`)."""
        named = str(req.answers.get("unit") or "")
        unit = await self.org.get_unit(req.contest_id, named) if as_member and named else None
        if unit is not None and await self.org.get_membership(user, req.contest_id) is None:
            await self.bind(user, req.contest_id, Role.MEMBER, named)
        return await self.quota.confirm(
            user, req, lambda extra: self.create(user, req, extra), now=self.clock()
        )

    async def through_unit(self, user: UserKey, req: SubmitRequest, confirmer: UserKey) -> Submission:
        """An entrant names a unit (not being its member); ``confirmer`` (the unit's member, or
        an organiser for a unit nobody is bound to) confirms it."""
        got = await self.submit(user, req, as_member=False)
        assert isinstance(got, AwaitingUnit), got
        confirmed = await self.quota.recommend(confirmer, got.submission.number)
        assert confirmed.ok, confirmed.text
        stored = await self.storage.get_submission(got.submission.number)
        assert stored is not None
        return stored

    async def accepted(self, user: UserKey, req: SubmitRequest) -> Submission:
        """Stored: counted at once, or (cq) submitted through its district for it to recommend."""
        got = await self.submit(user, req)
        assert isinstance(got, Confirmed | Submitted), (
            refusal_text(got) if isinstance(got, QuotaRefusal) else got
        )
        return got.submission


async def open_org_beside(storage: Storage) -> OrgStore:
    """The org store on the same backend (SQLite file or Redis prefix) as ``storage``."""
    if isinstance(storage, SqliteStorage):
        return await SqliteOrgStore.open(storage.path)
    return RedisOrgStore.from_url(REDIS_URL, storage.prefix)  # type: ignore[attr-defined]


async def open_world(contests: ContestRegistry, storage: Storage, now: dt.datetime) -> World:
    org = await open_org_beside(storage)
    clock = Clock(now)
    return World(contests, storage, org, clock, QuotaService(contests, storage, org, clock))


@pytest.fixture
async def world(
    contests: ContestRegistry, sqlite_store: tuple[Storage, EventIsolation]
) -> AsyncIterator[World]:
    w = await open_world(contests, sqlite_store[0], beijing(2024, 10, 1))
    yield w
    await w.org.close()


@pytest.fixture
async def any_world(
    contests: ContestRegistry, any_store: tuple[Storage, EventIsolation]
) -> AsyncIterator[World]:
    """Both backends (any_store's Redis prefix also covers the org keys it deletes)."""
    w = await open_world(contests, any_store[0], beijing(2024, 10, 1))
    yield w
    await w.org.close()


def open_day(contest: Contest) -> dt.datetime:
    return beijing(contest.deadline.year, contest.deadline.month, contest.deadline.day) - dt.timedelta(
        days=10
    )


ALICE = UserKey("telegram", "alice")
BOB = UserKey("wechat", "bob")
CAROL = UserKey("web", "wcarol")

# -- the notices' rules, read from the presets ---------------------------------------------------


@pytest.mark.parametrize(
    ("contest_id", "per_author", "one_channel"),
    [(TECH, True, False), (CQ, False, False), (CAS, True, True), (HLJ, False, False), (CACSI, False, False)],
)
def test_author_rules_are_read_from_each_notice(
    contests: ContestRegistry, contest_id: str, per_author: bool, one_channel: bool
) -> None:
    contest = contests.get(contest_id)
    assert contest is not None
    rules = author_rules(contest)
    assert (rules.one_work_per_first_author, rules.one_channel_per_work) == (per_author, one_channel)


def test_the_first_author_is_the_first_name_of_the_authors_field(contests: ContestRegistry) -> None:
    contest = contests.get(CAS)
    assert contest is not None
    form = contest.form("recommend")
    assert first_author(form, {"authors": ["王五", "赵六"]}) == "王五"
    assert first_author(form, {"authors": "王五，赵六"}) == "王五"
    assert first_author(form, {}) == ""


# -- every row of the quota table ----------------------------------------------------------------

# (contest, channel, unit name, kind as imported, province, track, limit, min) — a unit of None
# means the channel's self rule: the entrant is their own unit.
P = pytest.param
TABLE = [
    P(TECH, "recommend", "河北省科学技术厅", "province", "河北省", "work", 10, None, id="most23-prov-10"),
    P(TECH, "recommend", "阜平县科技特派团", "county_team", "河北省", "work", 1, None, id="most23-county-1"),
    P(TECH, "self", None, "self", "", "work", 1, None, id="most23-self-1"),
    P(CQ, "district", "渝中区", "district", "重庆市", "work", 5, 3, id="cq-core-3to5"),
    P(CQ, "district", "两江新区", "district_core", "重庆市", "work", 5, 3, id="cq-core-lj-3to5"),
    P(CQ, "district", "万州区", "district", "重庆市", "work", 2, 1, id="cq-other-1to2"),
    P(CAS, "recommend", "中国科协科普部", "member_unit", "", "work", 5, None, id="cas24-member-5"),
    P(CAS, "recommend", "北京市科学技术委员会", "province", "北京市", "work", 5, None, id="cas24-prov-5"),
    P(CAS, "recommend", "河北省科学技术厅", "province", "河北省", "work", 6, None, id="cas24-sanqu-6"),
    P(CAS, "recommend", "新疆维吾尔自治区", "province", "", "work", 6, None, id="cas24-sanqu-byname-6"),
    P(CAS, "recommend", "深圳市科技创新局", "sub_provincial", "广东省", "work", 3, None, id="cas24-sub-3"),
    P(CAS, "recommend", "新疆兵团", "sub_provincial", "新疆维吾尔自治区", "work", 3, None, id="cas24-xpcc-3"),
    P(CAS, "self", None, "self", "", "work", 1, None, id="cas24-self-1"),
    P(HLJ, "recommend", "哈尔滨工业大学", "unit", "黑龙江省", "work", None, None, id="hlj-unit-nolimit"),
    P(HLJ, "self", None, "self", "", "work", None, None, id="hlj-self-nolimit"),
    P(CACSI, "province", "北京市科教协会", "province", "北京市", "work", 10, None, id="cacsi-prov-w10"),
    P(CACSI, "province", "北京市科教协会", "province", "北京市", "account", 5, None, id="cacsi-prov-a5"),
    P(CACSI, "member", "某科技馆", "unit_member", "", "work", 3, None, id="cacsi-unit-w3"),
    P(CACSI, "member", "某科技馆", "unit_member", "", "account", 2, None, id="cacsi-unit-a2"),
    P(CACSI, "member", "李老师", "individual_member", "", "work", 1, None, id="cacsi-individual-w1"),
    P(CACSI, "member", "李老师", "individual_member", "", "account", 1, None, id="cacsi-individual-a1"),
    P(CACSI, "self", None, "self", "", "work", 1, None, id="cacsi-self-w1"),
    P(CACSI, "self", None, "self", "", "account", 1, None, id="cacsi-self-a1"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("contest_id", "channel_id", "unit", "kind", "province", "track", "limit", "least"), TABLE
)
async def test_quota_table_row(
    world: World,
    contest_id: str,
    channel_id: str,
    unit: str | None,
    kind: str,
    province: str,
    track: str,
    limit: int | None,
    least: int | None,
) -> None:
    contest = world.contest(contest_id)
    world.clock.now = open_day(contest)
    if unit is not None:
        # Through the real import, so that cq's listed districts get their kind from the notice.
        units, _ = parse_units_csv(f"name,kind,province\n{unit},{kind},{province}\n", contest)
        await world.org.put_units(contest.id, units)
    typed = {"unit": unit} if unit is not None else {}
    entries = 12 if limit is None else limit
    if contest.form(contest.channel(channel_id).forms["work"]).recommender() is not None:
        # cq: works are submitted through the district, which recommends them in 初审阶段.
        assert unit is not None and limit is not None
        subs = [
            await world.accepted(BOB, make_request(contest, channel_id, track, district=unit))
            for _ in range(limit + 1)
        ]
        await world.bind(ALICE, contest.id, Role.MEMBER, unit)
        world.clock.now = beijing(2023, 6, 1)
        for sub in subs[:-1]:
            assert (await world.quota.recommend(ALICE, sub.number)).ok
        refused = await world.quota.recommend(ALICE, subs[-1].number)
        assert (refused.ok, refused.code) == (False, "full") and refused.refusal is not None
        assert (refused.refusal.used, refused.refusal.limit, refused.refusal.min_works) == (
            limit,
            limit,
            least,
        )
        assert f"限推荐 {limit} 部" in refused.text
        return
    for _ in range(entries):
        await world.accepted(ALICE, make_request(contest, channel_id, track, **typed))
    over = await world.submit(ALICE, make_request(contest, channel_id, track, **typed))
    if limit is None:
        assert isinstance(over, Confirmed)
        return
    assert isinstance(over, QuotaRefusal)
    assert (over.reason, over.used, over.limit, over.min_works) == ("full", limit, limit, least)
    assert f"{limit} " in refusal_text(over)
    # The refused entry created nothing.
    assert len(await world.storage.list_submissions(contest_id=contest.id)) == entries


async def test_a_county_team_does_not_use_its_provinces_ten_places(world: World) -> None:
    contest = world.contest(TECH)
    world.clock.now = open_day(contest)
    await world.units(
        TECH, ("河北省科学技术厅", "province", "河北省"), ("阜平县科技特派团", "county_team", "河北省")
    )
    for _ in range(10):
        await world.accepted(ALICE, make_request(contest, "recommend", unit="河北省科学技术厅"))
    team = await world.submit(BOB, make_request(contest, "recommend", unit="阜平县科技特派团"))
    assert isinstance(team, Confirmed) and team.hold.holder.kind == "county_team"
    usage = {u.name: u.used for u in await world.quota.usage(TECH)}
    assert usage == {"河北省科学技术厅": 10, "阜平县科技特派团": 1}


async def test_a_range_enforces_the_maximum_and_reminds_of_the_minimum(world: World) -> None:
    contest = world.contest(CQ)
    world.clock.now = open_day(contest)
    await world.units(CQ, ("渝中区", "district_core", "重庆市"))
    await world.bind(ALICE, CQ, Role.MEMBER, "渝中区")
    subs = [
        await world.accepted(BOB, make_request(contest, "district", district="渝中区", unit="重庆某科技公司"))
        for _ in range(3)
    ]
    world.clock.now = beijing(2023, 6, 1)
    got = await world.quota.recommend(ALICE, subs[0].number)
    assert got.ok and got.text.endswith(
        "（重庆某科技公司）。“渝中区”已推荐 1/5 部（至少 3 部，还差 2 部），还可推荐 4 部。"
    )
    assert "作品：已推荐 1/5 部（至少 3 部，还差 2 部），还可推荐 4 部。" in await world.quota.quota_text(
        ALICE, CQ
    )
    for sub in subs[1:]:
        assert (await world.quota.recommend(ALICE, sub.number)).ok
    assert "还差" not in await world.quota.quota_text(ALICE, CQ)


# -- whose places ---------------------------------------------------------------------------------


async def test_a_bound_member_counts_against_their_unit_whatever_the_form_says(world: World) -> None:
    contest = world.contest(CAS)
    await world.units(
        CAS, ("河北省科学技术厅", "province", "河北省"), ("北京市科学技术委员会", "province", "北京市")
    )
    await world.bind(ALICE, CAS, Role.MEMBER, "河北省科学技术厅")
    got = await world.submit(ALICE, make_request(contest, "recommend", unit="北京市科学技术委员会"))
    assert isinstance(got, Confirmed) and got.hold.holder.name == "河北省科学技术厅"
    stored = await world.storage.get_submission(got.submission.number)
    assert stored is not None and stored.extra == {"unit": "河北省科学技术厅", "unit_kind": "province"}


async def test_the_unit_field_matches_an_imported_unit_after_normalisation(world: World) -> None:
    contest = world.contest(CAS)
    await world.units(CAS, ("中国科协 科普部", "member_unit", ""))
    got = await world.submit(BOB, make_request(contest, "recommend", unit="　中国科协科普部 "))
    assert isinstance(got, Confirmed) and got.hold.holder.key == "unit:中国科协科普部"
    wrong = await world.submit(CAROL, make_request(contest, "recommend", unit="中国科协科普处"))
    assert isinstance(wrong, QuotaRefusal) and wrong.reason == "no_unit"
    text = refusal_text(wrong)
    assert "“中国科协科普处”" in text and "全国科普工作联席会议成员单位" in text and "已保存" in text


async def test_a_cq_entry_waits_for_its_district_and_uses_no_place(world: World) -> None:
    """cq's 报送表 names the 创作单位; the entrant names the 区县 it is submitted through, and
    only that district's recommendation (6/1–7/31) uses one of the district's places."""
    contest = world.contest(CQ)
    world.clock.now = open_day(contest)
    await world.units(CQ, ("万州区", "district", "重庆市"))
    got = await world.submit(BOB, make_request(contest, "district", district="万州区", unit="重庆某科技公司"))
    assert isinstance(got, Submitted)
    assert got.notice.startswith("已报送至“万州区”，待区县推荐：万州区将在初审阶段（2023年6月1日至7月31日）")
    stored = await world.storage.get_submission(got.submission.number)
    assert stored is not None and stored.status == "submitted"
    assert stored.extra == {"district": "万州区", "unit": "万州区", "unit_kind": "district"}
    assert await world.org.list_places(CQ) == []
    assert [(u.name, u.used) for u in await world.quota.usage(CQ)] == [("万州区", 0)]


async def test_a_member_in_the_self_channel_is_their_own_unit(world: World) -> None:
    contest = world.contest(CAS)
    await world.units(CAS, ("河北省科学技术厅", "province", "河北省"))
    await world.bind(ALICE, CAS, Role.MEMBER, "河北省科学技术厅")
    got = await world.submit(ALICE, make_request(contest, "self", unit="张三工作室"))
    assert isinstance(got, Confirmed)
    assert got.hold.holder.key == "self:telegram:alice" and got.hold.holder.name == "张三工作室"


# -- authors and channels --------------------------------------------------------------------------


async def test_one_work_per_first_author_across_channels_2024(world: World) -> None:
    contest = world.contest(CAS)
    await world.units(CAS, ("河北省科学技术厅", "province", "河北省"))
    first = await world.accepted(
        ALICE, make_request(contest, "recommend", unit="河北省科学技术厅", authors="张三、李四")
    )
    again = await world.submit(BOB, make_request(contest, "self", authors="张三", title="另一部作品"))
    assert isinstance(again, QuotaRefusal) and again.reason == "claimed"
    said = refusal_text(again)
    assert said.startswith("第一作者“张三”已有作品报送本赛事") and first.number not in said
    # The first author with an affiliation in brackets is the same person (third trial round).
    with_unit = make_request(contest, "self", authors="张三（北京大学 研究员）、周雪", title="第三部作品")
    assert isinstance(await world.submit(BOB, with_unit), QuotaRefusal)
    # Second author elsewhere is fine: only the first author is limited.
    assert isinstance(await world.submit(BOB, make_request(contest, "self", authors="李四、张三")), Confirmed)


async def test_the_same_work_cannot_enter_through_both_channels_2024(world: World) -> None:
    contest = world.contest(CAS)
    await world.units(CAS, ("河北省科学技术厅", "province", "河北省"))
    await world.accepted(
        ALICE, make_request(contest, "recommend", unit="河北省科学技术厅", title="《黑洞》", authors="王五")
    )
    again = await world.submit(BOB, make_request(contest, "self", title="黑洞", authors=" 王五 "))
    assert isinstance(again, QuotaRefusal) and again.claim is not None and again.claim.startswith("work:")
    assert "《黑洞》（第一作者王五）已报送本赛事" in refusal_text(again)
    assert "一种方式" in refusal_text(again)


async def test_one_work_per_first_author_2023_but_not_in_heilongjiang(world: World) -> None:
    tech, hlj = world.contest(TECH), world.contest(HLJ)
    await world.units(TECH, ("河北省科学技术厅", "province", "河北省"))
    await world.units(HLJ, ("哈尔滨工业大学", "unit", "黑龙江省"))
    world.clock.now = open_day(tech)
    await world.accepted(ALICE, make_request(tech, "recommend", unit="河北省科学技术厅", authors="赵六"))
    assert isinstance(
        await world.submit(ALICE, make_request(tech, "recommend", unit="河北省科学技术厅", authors="赵六")),
        QuotaRefusal,
    )
    world.clock.now = open_day(hlj)
    for _ in range(2):
        await world.accepted(ALICE, make_request(hlj, "recommend", unit="哈尔滨工业大学", authors="赵六"))


# -- confirm time: atomic, and nothing left behind -------------------------------------------------


async def test_fifty_simultaneous_confirmations_for_five_places_left(any_world: World) -> None:
    """The issue's acceptance test through the whole confirm step, on SQLite and on Redis."""
    w = any_world
    contest = w.contest(CAS)
    await w.units(CAS, ("河北省科学技术厅", "province", "河北省"))  # 5 + 1 (三区) places
    await w.accepted(ALICE, make_request(contest, "recommend", unit="河北省科学技术厅"))
    users = [UserKey("telegram", f"u{i}") for i in range(50)]
    results = await asyncio.gather(
        *(w.submit(u, make_request(contest, "recommend", unit="河北省科学技术厅")) for u in users)
    )
    ok = [r for r in results if isinstance(r, Confirmed)]
    refused = [r for r in results if isinstance(r, QuotaRefusal)]
    assert len(ok) == 5 and len(refused) == 45
    assert all(r.reason == "full" and r.used == 6 and r.limit == 6 for r in refused)
    assert all("“河北省科学技术厅”的推荐名额已满" in refusal_text(r) for r in refused)
    assert len(await w.storage.list_submissions(contest_id=CAS)) == 6
    [usage] = await w.quota.usage(CAS)
    assert (usage.used, usage.remaining, len(usage.works)) == (6, 0, 6)


async def test_a_storage_failure_after_reserving_gives_the_place_back(world: World) -> None:
    contest = world.contest(CAS)
    await world.units(CAS, ("深圳市科技创新局", "sub_provincial", "广东省"))
    req = make_request(contest, "recommend", unit="深圳市科技创新局", authors="钱七")

    async def broken(extra: dict[str, Any]) -> Submission:
        raise ConnectionError("disk gone")

    with pytest.raises(ConnectionError):
        await world.quota.confirm(BOB, req, broken)
    assert [p for p in await world.org.list_places(CAS) if p.counts(world.clock())] == []
    # Both the place and the first-author claim are free again.
    assert isinstance(await world.submit(BOB, req), Confirmed)


async def test_the_unit_is_stored_with_the_submission_in_its_one_write(world: World) -> None:
    contest = world.contest(CAS)
    await world.units(CAS, ("深圳市科技创新局", "sub_provincial", "广东省"))
    req = make_request(contest, "recommend", unit="深圳市科技创新局")
    writes: list[str] = []
    update = world.storage.update_submission

    async def counted(number: str, **changes: Any) -> Submission:
        writes.append(number)
        return await update(number, **changes)

    world.storage.update_submission = counted  # type: ignore[method-assign]
    got = await world.submit(BOB, req)
    assert isinstance(got, Confirmed) and got.committed
    assert got.submission.extra == {"unit": "深圳市科技创新局", "unit_kind": "sub_provincial"}
    assert writes == []


async def test_a_hold_that_lapsed_before_its_commit_is_flagged_for_the_organisers(world: World) -> None:
    contest = world.contest(CAS)
    await world.units(CAS, ("深圳市科技创新局", "sub_provincial", "广东省"))
    for _ in range(2):
        await world.accepted(BOB, make_request(contest, "recommend", unit="深圳市科技创新局"))
    slow = make_request(contest, "recommend", unit="深圳市科技创新局")
    other = make_request(contest, "recommend", unit="深圳市科技创新局")

    async def create_slowly(extra: dict[str, Any]) -> Submission:
        # The store took longer than the hold: meanwhile its place went to another entrant.
        world.clock.now += world.quota.hold_ttl + dt.timedelta(minutes=1)
        assert isinstance(await world.submit(ALICE, other), Confirmed)
        return await world.create(BOB, slow, extra)

    got = await world.quota.confirm(BOB, slow, create_slowly)
    assert isinstance(got, Confirmed) and not got.committed
    assert "人工核对" in got.notice
    stored = await world.storage.get_submission(got.submission.number)
    assert stored is not None
    assert stored.extra == {"unit": "深圳市科技创新局", "unit_kind": "sub_provincial", "quota_lost": True}


async def test_reserve_commit_and_release_by_hand(world: World) -> None:
    contest = world.contest(CAS)
    await world.units(CAS, ("深圳市科技创新局", "sub_provincial", "广东省"))
    req = make_request(contest, "recommend", unit="深圳市科技创新局")
    hold = await world.quota.reserve(BOB, req)
    assert isinstance(hold, Hold) and (hold.used, hold.limit) == (1, 3)
    await world.quota.release(hold)
    assert (await world.quota.usage(CAS))[0].used == 0


# -- withdraw ---------------------------------------------------------------------------------------


async def test_withdraw_frees_a_place_before_the_deadline(world: World) -> None:
    contest = world.contest(CAS)
    await world.units(CAS, ("深圳市科技创新局", "sub_provincial", "广东省"))
    await world.bind(ALICE, CAS, Role.MEMBER, "深圳市科技创新局")
    subs = [
        await world.accepted(BOB, make_request(contest, "recommend", unit="深圳市科技创新局"))
        for _ in range(3)
    ]
    assert isinstance(
        await world.submit(BOB, make_request(contest, "recommend", unit="深圳市科技创新局")), QuotaRefusal
    )
    done = await world.quota.withdraw(ALICE, subs[1].number.lower())
    assert done.ok and done.code == "withdrawn"
    assert done.text.startswith(f"已撤回 {subs[1].number}《") and "2/3 部" in done.text
    stored = await world.storage.get_submission(subs[1].number)
    assert stored is not None and stored.status == "withdrawn" and stored.extra["withdrawn_by"] == str(ALICE)
    assert isinstance(
        await world.submit(BOB, make_request(contest, "recommend", unit="深圳市科技创新局")), Confirmed
    )
    again = await world.quota.withdraw(ALICE, subs[1].number)
    assert (again.ok, again.code) == (False, "already")


async def test_the_deadline_blocks_withdraw(world: World) -> None:
    contest = world.contest(CAS)
    await world.units(CAS, ("深圳市科技创新局", "sub_provincial", "广东省"))
    await world.bind(ALICE, CAS, Role.MEMBER, "深圳市科技创新局")
    sub = await world.accepted(ALICE, make_request(contest, "recommend"))
    world.clock.now = beijing(2024, 10, 25, 23)  # the deadline day itself still counts
    assert (await world.quota.withdraw(ALICE, sub.number)).ok
    sub = await world.accepted(ALICE, make_request(contest, "recommend"))
    world.clock.now = beijing(2024, 10, 26, 0)
    late = await world.quota.withdraw(ALICE, sub.number)
    assert (late.ok, late.code) == (False, "closed") and "截止后不能撤回" in late.text
    stored = await world.storage.get_submission(sub.number)
    assert stored is not None and stored.status == "submitted"
    assert (await world.quota.usage(CAS))[0].used == 1


async def test_only_the_unit_the_owner_or_an_organiser_may_withdraw(world: World) -> None:
    contest = world.contest(CAS)
    await world.units(
        CAS, ("深圳市科技创新局", "sub_provincial", "广东省"), ("北京市科学技术委员会", "province", "北京市")
    )
    await world.bind(ALICE, CAS, Role.MEMBER, "北京市科学技术委员会")
    owner = UserKey("wechat", "owner")
    sub = await world.accepted(owner, make_request(contest, "recommend", unit="深圳市科技创新局"))
    for stranger in (ALICE, BOB):  # another unit's member; an unrelated entrant
        refused = await world.quota.withdraw(stranger, sub.number)
        assert (refused.ok, refused.code) == (False, "not_found")  # as for a missing number
    boss = UserKey("telegram", "boss")
    await world.bind(boss, CAS, Role.ORGANISER)
    assert (await world.quota.withdraw(boss, sub.number)).ok
    assert (await world.quota.withdraw(owner, "KP2024-999999")).code == "not_found"


# -- what members and entrants are told ---------------------------------------------------------------


async def test_the_quota_command_for_a_member(world: World) -> None:
    contest = world.contest(CAS)
    await world.units(CAS, ("河北省科学技术厅", "province", "河北省"))
    await world.bind(ALICE, CAS, Role.MEMBER, "河北省科学技术厅")
    a = await world.accepted(ALICE, make_request(contest, "recommend", title="黑洞漫游"))
    waiting = await world.submit(
        BOB, make_request(contest, "recommend", unit="河北省科学技术厅", title="量子之谜"), as_member=False
    )
    assert isinstance(waiting, AwaitingUnit)  # BOB only named the unit: its member confirms
    b = waiting.submission
    assert (await world.quota.recommend(ALICE, b.number)).ok
    text = await world.quota.quota_text(ALICE, CAS)
    assert text.splitlines()[:3] == [
        "【2024全国科普微视频大赛】名额",
        "推荐单位：河北省科学技术厅（省、自治区、直辖市科技管理部门）",
        "作品：已推荐 2/6 部，还可推荐 4 部。",
    ]
    assert f"1. {a.number}《黑洞漫游》 10月01日提交" in text and f"2. {b.number}《量子之谜》" in text
    assert "距截止（2024年10月25日）还有 24 天。" in text and "撤回 编号" in text
    assert (
        await world.quota.start_notice(ALICE, CAS)
        == "本单位（河北省科学技术厅）已推荐 2/6 部，还可推荐 4 部。"
    )
    assert await world.quota.start_notice(BOB, CAS) is None


async def test_the_quota_command_for_an_entrant_and_an_organiser(world: World) -> None:
    contest = world.contest(CAS)
    await world.units(
        CAS, ("河北省科学技术厅", "province", "河北省"), ("深圳市科技创新局", "sub_provincial", "广东省")
    )
    await world.accepted(BOB, make_request(contest, "self"))
    mine = await world.quota.quota_text(BOB, CAS)
    assert "社会征集（自荐）（作品）：限 1 部，您已提交 1 部。" in mine
    assert "地方、部门推荐：名额由推荐单位掌握" in mine and "同一第一作者只能申报一部作品" in mine
    boss = UserKey("telegram", "boss")
    await world.bind(boss, CAS, Role.ORGANISER)
    await world.accepted(BOB, make_request(contest, "recommend", unit="深圳市科技创新局"))
    overview = await world.quota.quota_text(boss, CAS)
    assert "· 河北省科学技术厅：0/6 部" in overview and "· 深圳市科技创新局：1/3 部" in overview
    assert "自荐及其他渠道：1 份。" in overview


async def test_the_cacsi_member_sees_works_and_accounts(world: World) -> None:
    contest = world.contest(CACSI)
    world.clock.now = open_day(contest)
    await world.units(CACSI, ("某科技馆", "unit_member", ""))
    await world.bind(ALICE, CACSI, Role.MEMBER, "某科技馆")
    await world.accepted(ALICE, make_request(contest, "member", "account"))
    text = await world.quota.quota_text(ALICE, CACSI)
    assert "作品：已推荐 0/3 部，还可推荐 3 部。" in text and "科普号：已推荐 1/2 个，还可推荐 1 个。" in text


def test_days_left_counts_beijing_days(contests: ContestRegistry) -> None:
    contest = contests.get(CAS)
    assert contest is not None
    assert days_left(contest, dt.datetime(2024, 10, 24, 16, 30, tzinfo=dt.UTC)) == 0  # 00:30 on the 25th
    assert days_left(contest, dt.datetime(2024, 10, 24, 15, 30, tzinfo=dt.UTC)) == 1
    assert days_left(contest, beijing(2024, 10, 26)) == -1


async def test_a_confirmation_whose_reply_was_lost_keeps_its_place(world: World) -> None:
    contest = world.contest(CAS)
    await world.units(CAS, ("深圳市科技创新局", "sub_provincial", "广东省"))
    req = make_request(contest, "recommend", unit="深圳市科技创新局")
    await world.bind(BOB, CAS, Role.MEMBER, "深圳市科技创新局")  # the entry counts at once

    async def stored_but_unanswered(extra: dict[str, Any]) -> Submission:
        await world.create(BOB, req, extra)  # the script ran...
        raise TimeoutError("no answer from Redis within 5.0 s")  # ...and its reply never came

    with pytest.raises(TimeoutError):
        await world.quota.confirm(BOB, req, stored_but_unanswered, now=world.clock())
    [stored] = await world.storage.list_submissions(user=BOB)
    assert (await world.quota.usage(CAS))[0].used == 1
    places = await world.org.list_places(CAS)
    assert [(p.number, p.state.value) for p in places] == [(stored.number, "committed")]


async def test_a_confirmation_that_failed_before_storing_gives_its_place_back(world: World) -> None:
    contest = world.contest(CAS)
    await world.units(CAS, ("深圳市科技创新局", "sub_provincial", "广东省"))
    req = make_request(contest, "recommend", unit="深圳市科技创新局")
    await world.bind(BOB, CAS, Role.MEMBER, "深圳市科技创新局")

    async def unreachable(extra: dict[str, Any]) -> Submission:
        raise TimeoutError("no answer from Redis within 5.0 s")  # the script never ran

    with pytest.raises(TimeoutError):
        await world.quota.confirm(BOB, req, unreachable)
    assert await world.storage.list_submissions(user=BOB) == []
    assert (await world.quota.usage(CAS))[0].used == 0


async def test_an_individual_member_has_one_account_and_one_work_of_their_own(world: World) -> None:
    """Tried on cacsi-2026: an individual member got two 科普号 (both “提交成功”), waiting for a
    unit called “个人”; 二（二）: 个人会员科普号1个，作品1部, and nobody's seal to wait for."""
    contest = world.contest(CACSI)
    world.clock.now = open_day(contest)
    typed = {"member": "个人会员", "unit": "个人"}
    first = await world.submit(ALICE, make_request(contest, "member", "account", **typed))
    assert isinstance(first, Confirmed), first
    assert "已计入您本人的个人会员名额" in first.notice and "待单位确认" not in first.notice
    assert "awaiting_unit" not in first.submission.extra
    second = await world.submit(ALICE, make_request(contest, "member", "account", **typed))
    assert isinstance(second, QuotaRefusal) and (second.used, second.limit) == (1, 1)
    assert "个人会员限报 1 个科普号" in refusal_text(second)
    # The 微视频申报表's 单位名称（申报人） takes a name, not the word 个人 (trial 9).
    work = {**typed, "unit": "爱丽丝"}
    assert isinstance(await world.submit(ALICE, make_request(contest, "member", **work)), Confirmed)
    assert isinstance(await world.submit(ALICE, make_request(contest, "member", **work)), QuotaRefusal)
    # A 单位会员 still waits for its unit to confirm it.
    unit = await world.submit(
        BOB, make_request(contest, "member", "account", member="单位会员", unit="某科技馆")
    )
    assert isinstance(unit, AwaitingUnit)


def test_a_title_typed_in_book_marks_is_not_printed_doubled(contests: ContestRegistry) -> None:
    """Tried: “CQ2026-000001《《齿轮里的山城》——李工和他的减速器》”."""
    cq = contests.get(CQ)
    assert cq is not None
    req = make_request(cq, "district", title="《齿轮里的山城》——李工和他的减速器")
    sub = Submission(
        "CQ2023-000001", CQ, ALICE, "district", req.form_id, req.answers, {}, beijing(2023, 5, 1)
    )
    assert title_of(cq, sub) == "《〈齿轮里的山城〉——李工和他的减速器》"
    assert book_title("《宇宙有多大？》") == "《宇宙有多大？》"
    assert book_title("《A》和《B》") == "《〈A〉和〈B〉》"


def test_the_folder_name_holds_no_character_windows_refuses(contests: ContestRegistry) -> None:
    """Tried: the cacsi folder “浙江省+杭州市星辰科普工作室+宇宙有多大？”."""
    cacsi = contests.get(CACSI)
    assert cacsi is not None
    answers = {"province": "浙江省", "unit": "杭州市星辰科普工作室", "title": "宇宙有多大？"}
    assert cacsi.share_folder(cacsi.form("video"), answers) == "浙江省+杭州市星辰科普工作室+宇宙有多大"
    answers["title"] = 'A/B:C*"D"<E>|F?'
    assert cacsi.share_folder(cacsi.form("video"), answers) == "浙江省+杭州市星辰科普工作室+ABCDEF"
