"""cq's 区县推荐 in two steps, as the notice has it: a 创作单位 submits its work through its
区县 (by 5/31), and in 初审阶段 (6/1–7/31) the district's member recommends 3–5 (or 1–2) of
the works submitted to it, which only then use the district's places; the 区县推荐表 (附件2)
is drawn from them.

The whole path runs through the terminal :class:`ChatDriver` talking to the real front door
(:class:`Assistant`: org commands, then the dialog) on real stores.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import re
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import docx
import pytest

from bot.services import services
from bot.settings import Settings
from contests.editions import new_edition
from contests.events import EventKind, FileInfo, Incoming
from contests.names import match_place
from contests.org import Role
from contests.ports import AuditLog, EventIsolation, Storage
from contests.records import UserKey
from contests.registry import ContestRegistry, dump_contest
from contests.review import Decision, ReviewState, state_of
from contests.rules import FieldType
from dialogs.engine import DialogEngine
from forms.layout import generic_layout
from forms.render import render_form
from handlers.admin.commands import Command, OrgCommands, match_command
from handlers.admin.invites import IssuedInvite
from handlers.admin.service import AdminService
from handlers.console.service import ConsoleService
from handlers.quota.results import Confirmed
from handlers.quota.service import QuotaService
from handlers.review.service import LINK_CHECKS, ReviewService
from handlers.router import Assistant
from handlers.submit import SubmitHandler
from tests.conftest import ChatDriver, Clock, beijing, valid_answer, valid_uscc, video_answer
from tests.test_admin import cli
from tests.test_quota import CAS, CQ, World, make_request, open_org_beside
from tests.test_submission_flow import png_scan

ENTRANT = UserKey("terminal", "chuangzuo")  # a 创作单位 in 江北区
JIANGBEI = UserKey("terminal", "jiangbei")  # 江北区科技局's member
YUZHONG = UserKey("terminal", "yuzhong")  # 渝中区's member
BOSS = UserKey("terminal", "boss")  # the organisers
UNITS = (
    "name,kind,province\n江北区,district_core,重庆市\n渝中区,district_core,重庆市\n万州区,district,重庆市\n"
)
SUBMITTING = beijing(2023, 5, 20)  # before the 5/31 deadline
CHOOSING = beijing(2023, 6, 5)  # 初审阶段


@dataclass
class Desk:
    """Everything the service wires together, for cq, on one backend."""

    world: World
    admin: AdminService
    assistant: Assistant

    def chat(self, user: UserKey) -> ChatDriver:
        return ChatDriver(self.assistant.submit, user, front=self.assistant)

    async def bind(self, user: UserKey, role: Role, unit: str | None = None) -> str:
        issued = await self.admin.create_invite(CQ, role, unit)
        assert isinstance(issued, IssuedInvite)
        return await self.chat(user).say(f"绑定 {issued.code}")


async def open_desk(
    contests: ContestRegistry, engine: DialogEngine, storage: Storage, isolation: EventIsolation
) -> Desk:
    org = await open_org_beside(storage)
    clock = Clock(SUBMITTING)
    quota = QuotaService(contests, storage, org, clock)
    admin = AdminService(contests, storage, org, clock)
    submit = SubmitHandler(engine, storage, clock=clock, quota=quota)
    assistant = Assistant(submit, storage, isolation, org=OrgCommands(admin, quota))
    await admin.import_units(CQ, UNITS)
    return Desk(World(contests, storage, org, clock, quota), admin, assistant)


@pytest.fixture
async def desk(
    contests: ContestRegistry, engine: DialogEngine, sqlite_store: tuple[Storage, EventIsolation]
) -> AsyncIterator[Desk]:
    d = await open_desk(contests, engine, *sqlite_store)
    yield d
    await d.world.org.close()


@pytest.fixture
async def any_desk(
    contests: ContestRegistry, engine: DialogEngine, any_store: tuple[Storage, EventIsolation]
) -> AsyncIterator[Desk]:
    d = await open_desk(contests, engine, *any_store)
    yield d
    await d.world.org.close()


async def pdf_text(pdf: bytes) -> str:
    """The PDF's text by pdftotext, without whitespace: a long 创作单位 wraps inside its cell."""
    done = await asyncio.to_thread(
        subprocess.run, ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
    )
    return re.sub(r"\s+", "", done.stdout.decode("utf-8"))


async def submit_through_chat(desk: Desk, user: UserKey, district: str, *, unit: str, title: str) -> str:
    """An entrant fills the whole 报送表 in the dialog, naming the district as typed."""
    contest = desk.world.contest(CQ)
    chat = desk.chat(user)
    text = await chat.start(hint=CQ)
    typed = {"district": district, "unit": unit, "title": title}
    for fld in contest.form("unit_report").fields:
        assert f"「{fld.label}」" in text, (fld.id, text)
        text = await chat.say(typed.get(fld.id, valid_answer(fld, contest)))
    text = await chat.say(video_answer(contest))
    assert "请核对报名信息" in text
    return await chat.say("确认提交")


# -- the whole path ------------------------------------------------------------------------------


async def test_a_work_submitted_through_jiangbei_is_recommended_listed_and_freed(desk: Desk) -> None:
    clock, world = desk.world.clock, desk.world
    entrant = desk.chat(ENTRANT)

    # The entrant is asked the district first, as a choice checked as typed: no wall of buttons.
    first = await entrant.start(hint=CQ)
    assert "「报送区县」" in first and "可选：万州区、黔江区" in first and "两江新区" in first
    assert entrant.last[-1].choices == ()
    refused = await entrant.say("北京市海淀区")
    assert "请从以下选项中选择" in refused and (await entrant.draft() or {})["answers"] == {}
    assert "“新区”可以指两江新区、西部科学城重庆高新区" in await entrant.say("新区")  # ambiguous: asked which
    await entrant.say("重庆市江北")
    assert (await entrant.draft() or {})["answers"]["district"] == "江北区"
    await entrant.say("取消")
    await entrant.say("确认取消")

    done = await submit_through_chat(desk, ENTRANT, "江北", unit="重庆两江智能科技有限公司", title="追光的人")
    assert "提交成功！报名编号：CQ2023-000001" in done
    assert "已报送至“江北区”，待区县推荐：江北区将在初审阶段（2023年6月1日至7月31日）择优推荐" in done
    number = "CQ2023-000001"
    stored = await world.storage.get_submission(number)
    assert stored is not None and stored.status == "submitted" and stored.extra["district"] == "江北区"
    assert await world.org.list_places(CQ) == []  # the entrant's confirm used no place
    assert "报送至：江北区，待区县推荐" in await entrant.say("进度")
    mine = await entrant.say("配额")
    assert f"1. {number}《追光的人》 报送至江北区【待区县推荐】" in mine

    # Another 创作单位 submits through 渝中区.
    other = await world.accepted(
        UserKey("terminal", "yuzhong-unit"),
        make_request(world.contest(CQ), "district", district="渝中区", unit="重庆大学", title="渝中故事"),
    )

    # An entrant is refused the district's commands.
    assert "只有推荐单位" in await entrant.say("推荐列表")
    assert "只有推荐单位" in await entrant.say(f"推荐 {number}")
    assert entrant.last[0].meta == {"recommend": "forbidden"}
    assert "只有推荐单位" in await entrant.say("推荐表")

    # 江北区's member binds with an invite code and sees only the works submitted to 江北区.
    bound = await desk.bind(JIANGBEI, Role.MEMBER, "江北区")
    assert "绑定成功" in bound and "推荐列表" in bound
    member = desk.chat(JIANGBEI)
    listing = await member.say("推荐列表")
    assert f"1. {number}《追光的人》 创作单位：重庆两江智能科技有限公司【待推荐】" in listing
    assert other.number not in listing and "渝中故事" not in listing
    assert "“江北区”已推荐 0/5 部（至少 3 部，还差 3 部），还可推荐 5 部。" in listing
    assert await member.say("待推荐") == listing  # the same list

    # Not before 初审阶段.
    early = await member.say(f"推荐 {number}")
    assert member.last[0].meta == {"recommend": "not_open"} and "2023年6月1日起" in early

    clock.now = CHOOSING
    picked = await member.say(f"推荐 {number.lower()}")
    assert member.last[0].meta == {"recommend": "recommended"}
    assert picked == (
        f"已推荐 {number}《追光的人》（重庆两江智能科技有限公司）。"
        "“江北区”已推荐 1/5 部（至少 3 部，还差 2 部），还可推荐 4 部。"
    )
    assert "已经推荐过了" in await member.say(f"推荐 {number}")
    quota = await member.say("配额")
    assert (
        "推荐单位：江北区" in quota
        and "作品：已推荐 1/5 部（至少 3 部，还差 2 部），还可推荐 4 部。" in quota
    )
    assert f"已推荐的作品：\n1. {number}《追光的人》" in quota
    assert "【已获“江北区”推荐】" in await entrant.say("配额")
    [usage] = [u for u in await world.quota.usage(CQ) if u.name == "江北区"]
    assert (usage.used, usage.limit, usage.min_works, usage.works) == (1, 5, 3, (number,))

    # 推荐表: 附件2 filled with the recommended work, as PDF and DOCX.
    await member.say("推荐表")
    pdf, word = member.last[0].document, member.last[1].document
    assert pdf is not None and pdf.filename.endswith(".pdf") and pdf.content.startswith(b"%PDF")
    assert "江北区" in pdf.filename and "区县推荐表" in pdf.filename
    text = await pdf_text(pdf.content)
    assert "追光的人" in text and "重庆两江智能科技有限公司" in text and "推荐单位（盖章）：江北区" in text
    assert "渝中故事" not in text
    assert word is not None and word.filename.endswith(".docx")
    assert "追光的人" in "\n".join(
        c.text for t in docx.Document(io.BytesIO(word.content)).tables for r in t.rows for c in r.cells
    )

    # Another district's member neither sees nor recommends it.
    await desk.bind(YUZHONG, Role.MEMBER, "渝中区")
    yuzhong = desk.chat(YUZHONG)
    assert number not in await yuzhong.say("推荐列表")
    assert await yuzhong.say(f"推荐 {number}") == f"没有找到报送至“渝中区”的作品 {number}。"
    assert await yuzhong.say(f"取消推荐 {number}") == f"没有找到报送至“渝中区”的作品 {number}。"
    assert "还没有推荐作品" in await yuzhong.say("推荐表")

    # The organisers see every district's works, and may draw any district's list, not choose.
    await desk.bind(BOSS, Role.ORGANISER)
    boss = desk.chat(BOSS)
    overview = await boss.say("推荐列表")
    assert number in overview and other.number in overview and "共 2 部，已推荐 1 部" in overview
    assert "推荐由作品报送的区县" in await boss.say(f"推荐 {other.number}")
    overview = await boss.say("配额")
    assert "· 江北区：1/5 部（不足 3 部）" in overview and "已报送、待推荐单位推荐的作品：1 部" in overview
    await boss.say("推荐表 江北")
    assert boss.last[0].document is not None and "追光的人" in await pdf_text(boss.last[0].document.content)

    # Exports name the district and whether it recommended.
    rows = {r.submission.number: r for r in await desk.admin.export_rows(CQ)}
    assert (rows[number].unit, rows[number].selection, rows[number].recommended) == ("江北区", "已推荐", True)
    assert (rows[other.number].unit, rows[other.number].selection, rows[other.number].recommended) == (
        "渝中区",
        "待推荐",
        False,
    )
    await member.say("导出 json")
    exported = json.loads(member.last[0].document.content if member.last[0].document else b"{}")
    assert [(s["number"], s["unit"], s["recommended"]) for s in exported["submissions"]] == [
        (number, "江北区", True)
    ]
    assert {"id": "district", "label": "报送区县", "value": "江北区"} in exported["submissions"][0]["fields"]

    # The district cancels its choice (not the entrant's entry): the place is free again.
    assert "取消推荐" in await member.say(f"撤回 {number}")
    freed = await member.say(f"取消推荐 {number}")
    assert member.last[0].meta == {"unrecommend": "cancelled"}
    assert freed.endswith("“江北区”已推荐 0/5 部（至少 3 部，还差 3 部），还可推荐 5 部。")
    assert "释放 1 个名额" in freed
    assert "还没有推荐，无需取消" in await member.say(f"取消推荐 {number}")
    assert [u.used for u in await world.quota.usage(CQ) if u.name == "江北区"] == [0]
    rows = {r.submission.number: r for r in await desk.admin.export_rows(CQ)}
    assert (rows[number].selection, rows[number].recommended) == ("待推荐", False)
    stored = await world.storage.get_submission(number)
    assert stored is not None and stored.status == "submitted"
    # The district changes its mind again: the same work is recommended once more, then freed.
    assert "已推荐 1/5 部" in await member.say(f"推荐 {number}")
    assert member.last[0].meta == {"recommend": "recommended"}
    assert "已推荐 0/5 部" in await member.say(f"取消推荐 {number}")
    # Another work takes the place.  After 7/31 neither is possible.
    again, late = [
        await world.accepted(ENTRANT, make_request(world.contest(CQ), "district", district="江北区"))
        for _ in range(2)
    ]
    assert "已推荐 1/5 部" in await member.say(f"推荐 {again.number}")
    clock.now = beijing(2023, 8, 1)
    assert "已结束" in await member.say(f"取消推荐 {again.number}")
    assert member.last[0].meta == {"unrecommend": "closed"}
    assert "初审阶段（2023年6月1日至7月31日）已结束" in await member.say(f"推荐 {late.number}")
    assert [u.used for u in await world.quota.usage(CQ) if u.name == "江北区"] == [1]


# -- the quota and concurrency --------------------------------------------------------------------


async def test_a_district_cannot_recommend_beyond_its_maximum(desk: Desk) -> None:
    world = desk.world
    subs = [
        await world.accepted(ENTRANT, make_request(world.contest(CQ), "district", district="万州区"))
        for _ in range(3)
    ]
    await world.bind(JIANGBEI, CQ, Role.MEMBER, "万州区")
    world.clock.now = CHOOSING
    first = await world.quota.recommend(JIANGBEI, subs[0].number)
    assert first.ok and first.text.endswith("“万州区”已推荐 1/2 部（至少 1 部），还可推荐 1 部。")
    assert (await world.quota.recommend(JIANGBEI, subs[1].number)).ok
    full = await world.quota.recommend(JIANGBEI, subs[2].number)
    assert (full.ok, full.code) == (False, "full")
    assert full.text == (
        "“万州区”的推荐名额已满：通知规定其它区县每个限推荐 2 部作品，已推荐 2 部。"
        "如需改推，请先发送“取消推荐 编号”取消一部。"
    )
    assert (await world.quota.unrecommend(JIANGBEI, subs[0].number)).ok
    assert (await world.quota.recommend(JIANGBEI, subs[2].number)).ok


async def test_ten_simultaneous_recommendations_for_five_places(any_desk: Desk) -> None:
    """The district's maximum holds under concurrency, on SQLite and on Redis."""
    world = any_desk.world
    cq = world.contest(CQ)
    subs = [
        await world.accepted(UserKey("telegram", f"unit{i}"), make_request(cq, "district", district="江北区"))
        for i in range(10)
    ]
    await world.bind(JIANGBEI, CQ, Role.MEMBER, "江北区")
    world.clock.now = CHOOSING
    results = await asyncio.gather(*(world.quota.recommend(JIANGBEI, s.number) for s in subs))
    assert sorted(r.code for r in results) == ["full"] * 5 + ["recommended"] * 5
    assert all(
        r.refusal is not None and (r.refusal.used, r.refusal.limit) == (5, 5) for r in results if not r.ok
    )
    [usage] = [u for u in await world.quota.usage(CQ) if u.name == "江北区"]
    assert (usage.used, usage.remaining, len(usage.works)) == (5, 0, 5)


async def test_the_same_work_sent_five_times_at_once_is_recommended_once(any_desk: Desk) -> None:
    world = any_desk.world
    sub = await world.accepted(ENTRANT, make_request(world.contest(CQ), "district", district="江北区"))
    await world.bind(JIANGBEI, CQ, Role.MEMBER, "江北区")
    world.clock.now = CHOOSING
    results = await asyncio.gather(*(world.quota.recommend(JIANGBEI, sub.number) for _ in range(5)))
    assert sorted(r.code for r in results) == ["already"] * 4 + ["recommended"]
    assert [u.used for u in await world.quota.usage(CQ) if u.name == "江北区"] == [1]


# -- elsewhere unchanged ----------------------------------------------------------------------------


async def test_an_entrant_of_another_preset_is_counted_at_confirm_as_before(desk: Desk) -> None:
    world = desk.world
    world.clock.now = beijing(2024, 10, 1)
    await world.units(CAS, ("河北省科学技术厅", "province", "河北省"))
    got = await world.submit(ENTRANT, make_request(world.contest(CAS), "recommend", unit="河北省科学技术厅"))
    assert isinstance(got, Confirmed) and got.hold.holder.name == "河北省科学技术厅"
    others = [f for c in world.contests if c.id != CQ for form in c.forms for f in form.fields]
    assert others and all(f.role != "recommender" for f in others)
    await world.bind(JIANGBEI, CAS, Role.MEMBER, "河北省科学技术厅")
    nothing = await world.quota.recommend(JIANGBEI, got.submission.number)
    assert nothing.code == "not_applicable"
    listed = await world.quota.candidates_text(JIANGBEI, CAS)  # the entries naming its unit
    assert (
        "报名时填写“河北省科学技术厅”为推荐单位的作品（1 部）" in listed and got.submission.number in listed
    )


def test_the_district_is_not_printed_on_the_unit_report(contests: ContestRegistry) -> None:
    cq = contests.get(CQ)
    assert cq is not None
    form = cq.form("unit_report")
    values = {"district": "石柱土家族自治县", "unit": "重庆某研究院", "title": "深山里的实验室"}
    rendered = render_form(cq, "unit_report", values)
    body = "\n".join(p.text for p in docx.Document(io.BytesIO(rendered.docx)).paragraphs)
    cells = "\n".join(
        c.text for t in docx.Document(io.BytesIO(rendered.docx)).tables for r in t.rows for c in r.cells
    )
    assert "深山里的实验室" in cells and "重庆某研究院" in body + cells
    assert "石柱" not in body + cells and "报送区县" not in body + cells
    # Neither in the plain table drawn when a layout no longer fits the form.
    labels = [c.label for row in generic_layout(form).rows for c in row.cells if c.label]
    assert "报送区县" not in labels and "创作单位" in labels


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("渝中", "渝中区"), ("渝中区", "渝中区"), ("重庆市渝中区", "渝中区"),
        ("渝中区科学技术局", "渝中区"), ("两江", "两江新区"), ("高新区", "西部科学城重庆高新区"),
        ("万盛", "万盛经开区"), ("石柱", "石柱土家族自治县"), ("忠县", "忠县"),
        ("万", None), ("新区", None), ("北京市", None), ("", None),
    ],
)  # fmt: skip
def test_a_district_is_recognised_by_its_short_or_long_name(
    contests: ContestRegistry, typed: str, found: str | None
) -> None:
    cq = contests.get(CQ)
    assert cq is not None
    fld = cq.form("unit_report").recommender()
    assert fld is not None and fld.type is FieldType.CHOICE
    assert match_place(typed, fld.options) == found


def test_the_district_command_words() -> None:
    one, two = "CQ2023-000001", "CQ2023-000002"
    cases = {
        "推荐列表": ("candidates", ""), "待推荐": ("candidates", ""), "/recommendations": ("candidates", ""),
        "推荐 cq2023-000001": ("recommend", one), "recommend CQ2023-000001": ("recommend", one),
        "取消推荐：CQ2023-000002": ("unrecommend", two), "/unrecommend CQ2023-000002": ("unrecommend", two),
        "推荐表": ("district_list", ""), "推荐表 江北区": ("district_list", "江北区"),
        "/district_list": ("district_list", ""),
    }  # fmt: skip
    for text, (name, arg) in cases.items():
        command = match_command(text)
        assert command is not None and (command.name, command.arg) == (name, arg), text
    assert match_command("推荐表 cq-2023-scientist-spirit") == Command("district_list", "", CQ)
    # "推荐" alone is the channel answer of the national contests' dialog, not a command.
    for text in ("推荐", "地方推荐", "推荐理由很充分", "取消"):
        assert match_command(text) is None, text


# -- the organiser's command line ---------------------------------------------------------------------


async def _recommend_two(data_dir: Path) -> None:
    async with services(Settings(data_dir=data_dir)) as svc:
        contests, storage, org = svc.contests, svc.storage, svc.stores.org
        clock = Clock(SUBMITTING)
        world = World(contests, storage, org, clock, QuotaService(contests, storage, org, clock))
        await AdminService(contests, storage, org, clock).import_units(CQ, UNITS)
        subs = [
            await world.accepted(ENTRANT, make_request(world.contest(CQ), "district", district=name))
            for name in ("江北区", "江北区", "江北区", "万州区")
        ]
        await world.bind(JIANGBEI, CQ, Role.MEMBER, "江北区")
        clock.now = CHOOSING
        for sub in subs[:2]:
            assert (await world.quota.recommend(JIANGBEI, sub.number)).ok


def test_the_quota_command_line_counts_recommended_works_per_district(tmp_path: Path) -> None:
    asyncio.run(_recommend_two(tmp_path))
    done = cli(["quota", "--contest", CQ, "--json"], tmp_path)
    assert done.returncode == 0, done.stderr
    counted = {u["unit"]: (u["kind"], u["used"], u["limit"], u["min"]) for u in json.loads(done.stdout)}
    # Submitted works count for nobody until recommended: 万州区 has one waiting, none used.
    assert counted == {
        "江北区": ("district_core", 2, 5, 3),
        "渝中区": ("district_core", 0, 5, 3),
        "万州区": ("district", 0, 2, 1),
    }


# -- the formal review waits for the district ------------------------------------------------------


async def test_an_organiser_cannot_pass_a_work_its_district_never_recommended(desk: Desk) -> None:
    """Tried on cq-2026: 通过 on a work still 待区县推荐 was recorded (console and chat), though
    only the works a district chooses (五（二）择优推荐) go to the 组委会."""
    world = desk.world
    review = ReviewService(world.contests, world.storage, world.org, clock=world.clock)
    sub = await world.accepted(
        ENTRANT, make_request(world.contest(CQ), "district", district="万州区", title="齿轮里的山城")
    )
    await world.storage.update_submission(sub.number, status="complete")  # the signed scan is in
    await desk.bind(BOSS, Role.ORGANISER)
    refused = await review.decide(sub.number, Decision.PASS, "", by=BOSS)
    assert (refused.ok, refused.code) == (False, "not_ready")
    assert "还在等待“万州区”择优推荐" in refused.text and "推荐后才能通过形式审查" in refused.text
    stored = await world.storage.get_submission(sub.number)
    assert stored is not None and state_of(stored) is ReviewState.COMPLETE  # nothing recorded
    # 我的投稿 says both: the materials are complete, the district has not chosen it.
    mine = await review.mine_text(ENTRANT)
    assert "【材料齐全，待“万州区”推荐】" in mine and "已报送至“万州区”，待其择优推荐" in mine

    await desk.bind(UserKey("terminal", "wanzhou"), Role.MEMBER, "万州区")
    world.clock.now = CHOOSING
    assert (await world.quota.recommend(UserKey("terminal", "wanzhou"), sub.number)).ok
    await review.check_link(sub.number, by=BOSS, checks=dict.fromkeys(LINK_CHECKS, True))
    passed = await review.decide(sub.number, Decision.PASS, "", by=BOSS)
    assert passed.ok, passed.text


async def test_the_completed_scan_says_the_district_has_still_to_choose(tmp_path: Path) -> None:
    """The receipt's message said “材料齐全” alone while the work was 【待区县推荐】."""
    source = ContestRegistry.load().get(CQ)
    assert source is not None
    today = dt.date.today()
    data = new_edition(source, "cq-open-spirit", today + dt.timedelta(days=60), opens=today, prefix="CQ2099")
    dump_contest(data, tmp_path / "contests" / "cq-open-spirit.yaml")
    settings = Settings(_env_file=None, data_dir=tmp_path, contests_dir=tmp_path / "contests")
    async with services(settings) as svc:
        contest = svc.contests.get("cq-open-spirit")
        assert contest is not None
        chat = ChatDriver(svc.assistant.submit, ENTRANT, front=svc.assistant)
        await chat.start(hint=contest.id)
        for fld in contest.form("unit_report").fields:
            await chat.say("万州" if fld.id == "district" else valid_answer(fld, contest))
        await chat.say("链接: https://pan.baidu.com/s/1AbCdEfG 提取码: k3p9")  # probed by nobody
        assert "提交成功" in await chat.say("确认提交")
        scan = tmp_path / "scan.png"
        scan.write_bytes(png_scan())
        info = FileInfo(scan.name, scan.stat().st_size, "image/png", "ref-1", path=str(scan))
        await svc.assistant.handle(Incoming(ENTRANT, EventKind.FILE, file=info))
        done = await chat.say("完成")
        assert "材料齐全" in done and "材料已齐全，作品仍待“万州区”择优推荐" in done


async def test_a_code_another_unit_gave_is_pointed_out_and_kept(desk: Desk) -> None:
    """Two 创作单位 of different names gave one 统一社会信用代码 and nobody was told: one of the two
    codes is likely mistyped.  The second is told at once, nothing of the first entry named."""
    contest = desk.world.contest(CQ)
    done = await submit_through_chat(desk, ENTRANT, "江北", unit="重庆某某科技有限公司", title="作品一")
    assert "提交成功" in done
    fields = contest.form("unit_report").fields
    code_at = next(i for i, f in enumerate(fields) if f.type is FieldType.USCC)

    async def up_to_the_code(who: str, unit: str) -> tuple[ChatDriver, str]:
        chat = desk.chat(UserKey("terminal", who))
        text = await chat.start(hint=CQ)
        typed = {"district": "万州", "unit": unit, "title": f"{who}的作品"}
        for fld in fields[: code_at + 1]:
            text = await chat.say(typed.get(fld.id) or valid_answer(fld, contest))
        return chat, text

    other, said = await up_to_the_code("other", "重庆另一家科技有限公司")
    assert "统一社会信用代码 " + valid_uscc() + " 已用于本大赛的另一份报名" in said
    assert "创作单位不是“重庆另一家科技有限公司”" in said and "修改 统一社会信用代码" in said
    assert "重庆某某" not in said and "CQ2023-" not in said  # nothing of the other entry
    assert said.index("请核对") < said.index(f"「{fields[code_at + 1].label}」")  # the question last
    draft = await other.draft() or {}
    assert draft["answers"]["uscc"] == valid_uscc() and draft["field"] == fields[code_at + 1].id  # kept
    # The unit corrected (from the review page): the same unit, and nothing more is said.
    for fld in fields[code_at + 1 :]:
        await other.say(valid_answer(fld, contest))
    await other.say(video_answer(contest))
    fixed = await other.say("创作单位改成 重庆某某科技有限公司")
    assert "已把「创作单位」改为" in fixed and "已用于本大赛" not in fixed
    # The same unit written another way (a full-width space) is the same unit.
    _same, said = await up_to_the_code("same", "重庆某某科技　有限公司")
    assert "已用于本大赛" not in said


async def test_the_consoles_waiting_count_is_the_districts_list(desk: Desk) -> None:
    """Tried: the console's 单位名额 showed 待确认 0 for 江北区 and 万州区 while their 推荐列表
    listed 1 and 3 works 【待推荐】: it counted only entries waiting for a unit's confirmation."""
    world = desk.world
    contest = world.contest(CQ)
    for district, n in (("江北区", 1), ("万州区", 3)):
        for i in range(n):
            req = make_request(contest, "district", district=district, title=f"{district}作品{i}")
            await world.accepted(UserKey("terminal", f"{district}{i}"), req)
    await desk.bind(BOSS, Role.ORGANISER)
    console = ConsoleService(desk.admin, world.quota, world.org, cast(AuditLog, None), clock=world.clock)
    units = await console.units(await console.who(BOSS), CQ)
    assert units is not None
    waiting = {u["unit"]: u["waiting"] for u in units}
    assert (waiting["江北区"], waiting["万州区"], waiting["渝中区"]) == (1, 3, 0)
    listing = await desk.chat(BOSS).say("推荐列表")
    assert listing.count("【待推荐】") == 4
