"""Units import, invite codes, binding, roles and visibility, the chat commands, and the
organiser's command line (units / invite / quota / export) run as real subprocesses."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sqlite3
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.services import services
from bot.settings import Settings
from contests.events import Document
from contests.org import Role, Unit
from contests.records import UserKey
from contests.registry import ContestRegistry
from contests.rules import Contest
from handlers.admin.commands import OrgCommands, match_command
from handlers.admin.invites import IssuedInvite, new_code, normalise_code, parse_bind
from handlers.admin.service import AdminService, Denied
from handlers.admin.units import UnitsImportError, parse_units_csv, read_units
from handlers.quota.service import QuotaService
from tests.cli_runner import run_bot
from tests.conftest import Clock, beijing
from tests.test_quota import CAS, CQ, TECH, World, make_request
from tests.test_quota import world as world

ROOT = Path(__file__).resolve().parents[1]
ALICE = UserKey("telegram", "alice")  # 河北 member
BOB = UserKey("wechat", "bob")  # entrant
CAROL = UserKey("telegram", "carol")  # 北京 member
BOSS = UserKey("terminal", "boss")  # organiser


@pytest.fixture
def admin(world: World) -> AdminService:
    return AdminService(world.contests, world.storage, world.org, world.clock)


def contest_of(contests: ContestRegistry, contest_id: str) -> Contest:
    found = contests.get(contest_id)
    assert found is not None
    return found


# -- units import -----------------------------------------------------------------------------


def test_units_csv_with_a_bom_and_chinese_headers(contests: ContestRegistry) -> None:
    data = (
        "\ufeff名称,类别,省份\n河北省科学技术厅,province,河北省\n\n深圳市科技创新局,sub_provincial,广东省\n"
    )
    units, notes = parse_units_csv(data.encode("utf-8"), contest_of(contests, CAS))
    assert [(u.name, u.kind, u.province) for u in units] == [
        ("河北省科学技术厅", "province", "河北省"),
        ("深圳市科技创新局", "sub_provincial", "广东省"),
    ]
    assert notes == []


def test_units_csv_saved_by_wps_in_gbk(contests: ContestRegistry) -> None:
    data = "name,kind,province\n万州区,district,重庆市\n".encode("gb18030")
    units, _ = parse_units_csv(data, contest_of(contests, CQ))
    assert [u.name for u in units] == ["万州区"]


def test_units_csv_errors_name_every_bad_line(contests: ContestRegistry) -> None:
    data = (
        "name,kind,province\n"
        "河北省科学技术厅,province,河北省\n"  # 2: fine
        ",province,山西省\n"  # 3
        "某单位,provnce,\n"  # 4: typo
        "张三,self,\n"  # 5
        "河北省 科学技术厅,province,河北省\n"  # 6: duplicate of 2 after normalisation
        "甲,province,乙,丙\n"  # 7: a column too many
    )
    with pytest.raises(UnitsImportError) as caught:
        parse_units_csv(data, contest_of(contests, CAS))
    assert caught.value.errors == [
        "第 3 行：单位名称为空",
        "第 4 行：“某单位”的类别“provnce”不是本赛事的名额类别（可用：member_unit、province、sub_provincial）",
        "第 5 行：“张三”的类别 self 指自荐者本人，不需要导入",
        "第 6 行：“河北省 科学技术厅”与第 2 行重复",
        "第 7 行：多出 1 列（表头只有 3 列）",
    ]


def test_units_csv_without_a_header_or_empty(contests: ContestRegistry) -> None:
    cas = contest_of(contests, CAS)
    # README: name[,kind,province]; a file without the header row is read in that order.
    units, _ = parse_units_csv("河北省科学技术厅,province,河北省\n广西科技厅\n", cas)
    assert [(u.name, u.kind, u.province) for u in units] == [
        ("河北省科学技术厅", "province", "河北省"),
        ("广西科技厅", "province", "广西壮族自治区"),
    ]
    cq = contest_of(contests, CQ)
    assert [u.name for u in parse_units_csv("万州区\t\n江北区\n", cq)[0]] == ["万州区", "江北区"]
    preview = read_units("深圳市科技创新局,,,多余\n某某中心\n", cas)
    assert preview.skipped[0].reason == "第 1 行：多出 1 列（只有 名称,类别,省份 三列）"
    # The lines left to fix get the header, so that the file imports again as it is.
    assert preview.to_fix().splitlines()[0] == "名称,类别,省份,,未导入原因,建议改为"
    # Header words without a name column are a header written wrong, not a unit.
    with pytest.raises(UnitsImportError, match="第 1 行的表头没有名称列"):
        parse_units_csv("类别,省份\nprovince,河北省\n", cas)
    with pytest.raises(UnitsImportError, match="文件是空的"):
        parse_units_csv("\n\n", cas)
    with pytest.raises(UnitsImportError, match="不是 UTF-8 也不是 GBK"):
        parse_units_csv(b"name,kind\n\xff\xfe\xfa,province\n", cas)


def test_cq_listed_districts_take_the_notices_kind(contests: ContestRegistry) -> None:
    cq = contest_of(contests, CQ)
    units, notes = parse_units_csv("name,kind\n渝中区,district\n万州区,district\n", cq)
    assert [(u.name, u.kind) for u in units] == [("渝中区", "district_core"), ("万州区", "district")]
    assert notes == ["第 2 行：“渝中区”在通知名单中，类别按通知改为 district_core"]
    # Either way round: the notice's list decides the tier, and the organiser is told.
    units, notes = parse_units_csv("name,kind\n万州区,district_core\n", cq)
    assert [(u.name, u.kind) for u in units] == [("万州区", "district")]
    assert notes == ["第 2 行：“万州区”在通知名单中，类别按通知改为 district"]


def test_a_province_without_its_province_column_takes_it_from_its_name(contests: ContestRegistry) -> None:
    units, notes = parse_units_csv("name,kind\n河北省科学技术厅,province\n", contest_of(contests, CAS))
    assert [(u.name, u.province) for u in units] == [("河北省科学技术厅", "河北省")] and notes == []


async def test_import_is_all_or_nothing_and_counts_updates(admin: AdminService, world: World) -> None:
    with pytest.raises(UnitsImportError):
        await admin.import_units(CAS, "name,kind\n甲,province\n乙,nonsense\n")
    assert await world.org.list_units(CAS) == []
    first = await admin.import_units(CAS, "name,kind,province\n甲,province,河北省\n乙,member_unit,\n")
    assert (first.added, first.updated) == (2, 0)
    again = await admin.import_units(CAS, "name,kind,province\n甲,province,山西省\n丙,member_unit,\n")
    assert (again.added, again.updated) == (1, 1)
    assert [(u.name, u.province) for u in await world.org.list_units(CAS)] == [
        ("甲", "山西省"),
        ("乙", ""),
        ("丙", ""),
    ]


# -- invite codes --------------------------------------------------------------------------------


def test_codes_are_long_random_and_typed_back_in_any_form() -> None:
    codes = {new_code() for _ in range(200)}
    assert len(codes) == 200
    code = codes.pop()
    assert len(code) == len("KP-XXXX-XXXX-XXXX-XXXX") and normalise_code(code) == code
    body = code.removeprefix("KP-")
    sloppy = " kp " + body.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    assert normalise_code(sloppy) == code
    assert normalise_code("ＫＰ－" + body) == code  # full-width, as a Chinese IME types it
    assert normalise_code("KP-1234") is None
    assert normalise_code(code + "X") is None


def test_binding_messages_are_recognised_and_answers_are_not() -> None:
    code = new_code()
    assert parse_bind(f"绑定 {code}") == code
    assert parse_bind(f"绑定：{code.lower()}") == code.lower()
    assert parse_bind(f"/bind {code}") == code
    assert parse_bind(code) == code
    assert parse_bind("绑定 123") == "123"  # answered with "malformed", not ignored
    for answer in (
        "科学之光",
        "KP2024-000001",
        "kp",
        code.replace("-", "") + "ABCD",
        "绑定一生的科学",
        "bindings",
    ):
        assert parse_bind(answer) is None, answer


async def test_only_organisers_and_the_operator_create_codes(admin: AdminService, world: World) -> None:
    await world.units(CAS, ("河北省科学技术厅", "province", "河北省"))
    assert isinstance(await admin.create_invite(CAS, Role.MEMBER, "河北省科学技术厅"), IssuedInvite)
    denied = await admin.create_invite(CAS, Role.ORGANISER, by=BOB)
    assert isinstance(denied, Denied) and "只有主办方" in denied.text
    await world.bind(BOSS, CAS, Role.ORGANISER)
    assert isinstance(await admin.create_invite(CAS, Role.ORGANISER, by=BOSS), IssuedInvite)
    no_unit = await admin.create_invite(CAS, Role.MEMBER, "不存在的单位")
    assert isinstance(no_unit, Denied) and "先导入单位名单" in no_unit.text
    assert isinstance(await admin.create_invite(CAS, Role.ORGANISER, "河北省科学技术厅"), Denied)


async def test_a_code_is_stored_only_as_its_hash(admin: AdminService, world: World, tmp_path: Path) -> None:
    issued = await admin.create_invite(CAS, Role.ORGANISER)
    assert isinstance(issued, IssuedInvite)

    def dump() -> str:
        with sqlite3.connect(tmp_path / "kepu.sqlite3") as db:
            return "\n".join(db.iterdump())

    stored = await asyncio.to_thread(dump)
    assert (
        "org_invites" in stored and issued.code not in stored and issued.code.replace("-", "") not in stored
    )


async def test_a_code_binds_once(admin: AdminService, world: World) -> None:
    await world.units(CAS, ("河北省科学技术厅", "province", "河北省"))
    issued = await admin.create_invite(CAS, Role.MEMBER, "河北省 科学技术厅")
    assert isinstance(issued, IssuedInvite) and issued.unit == "河北省科学技术厅"
    ok = await admin.bind(ALICE, issued.code.lower())
    assert ok.ok and ok.text.startswith(
        "绑定成功：您是【2024全国科普微视频大赛】的推荐单位代表（河北省科学技术厅）"
    )
    used = await admin.bind(BOB, issued.code)
    assert (used.ok, used.status) == (False, "used")
    assert (await admin.viewer(BOB, CAS)).role == "entrant"
    assert (await admin.viewer(ALICE, CAS)).unit_holder == "unit:河北省科学技术厅"


async def test_a_code_expires(admin: AdminService, world: World) -> None:
    issued = await admin.create_invite(CAS, Role.ORGANISER)
    assert isinstance(issued, IssuedInvite)
    world.clock.now = issued.expires_at
    late = await admin.bind(BOB, issued.code)
    assert (late.ok, late.status) == (False, "expired") and "过期" in late.text
    assert await world.org.get_membership(BOB, CAS) is None


async def test_a_forged_or_mistyped_code_binds_nobody(admin: AdminService, world: World) -> None:
    await admin.create_invite(CAS, Role.ORGANISER)
    forged = await admin.bind(BOB, new_code())
    assert (forged.ok, forged.status) == (False, "unknown")
    malformed = await admin.bind(BOB, "12345")
    assert (malformed.ok, malformed.status) == (False, "malformed") and "KP-XXXX" in malformed.text
    assert await world.org.list_memberships(contest_id=CAS) == []


# -- who sees what -------------------------------------------------------------------------------


async def people(world: World) -> dict[str, str]:
    """河北 (ALICE's unit) has one work by BOB; 北京 (CAROL's) one by a stranger; BOB self-submits too."""
    cas = world.contest(CAS)
    await world.units(
        CAS, ("河北省科学技术厅", "province", "河北省"), ("北京市科学技术委员会", "province", "北京市")
    )
    await world.bind(ALICE, CAS, Role.MEMBER, "河北省科学技术厅")
    await world.bind(CAROL, CAS, Role.MEMBER, "北京市科学技术委员会")
    await world.bind(BOSS, CAS, Role.ORGANISER)
    hebei = await world.through_unit(
        BOB, make_request(cas, "recommend", unit="河北省科学技术厅", phone="13911112222"), ALICE
    )
    stranger = UserKey("wechat", "stranger")
    beijing_ = await world.through_unit(
        stranger, make_request(cas, "recommend", unit="北京市科学技术委员会"), CAROL
    )
    own = await world.accepted(BOB, make_request(cas, "self"))
    return {"hebei": hebei.number, "beijing": beijing_.number, "self": own.number}


async def test_an_entrant_cannot_see_anothers_phone(admin: AdminService, world: World) -> None:
    numbers = await people(world)
    theirs = await world.storage.get_submission(numbers["beijing"])
    assert theirs is not None
    shown = await admin.visible_submission(BOB, theirs)
    assert shown["answers"]["phone"] == "（已隐藏）" and shown["answers"]["address"] == "（已隐藏）"
    assert shown["answers"]["email"] == "（已隐藏）" and shown["user"] == "（已隐藏）"
    assert shown["answers"]["title"] == theirs.answers["title"]  # the work itself is not personal
    mine = await world.storage.get_submission(numbers["hebei"])
    assert mine is not None
    assert (await admin.visible_submission(BOB, mine))["answers"]["phone"] == "13911112222"


async def test_a_member_sees_only_their_units_personal_data(admin: AdminService, world: World) -> None:
    numbers = await people(world)
    hebei = await world.storage.get_submission(numbers["hebei"])
    beijing_ = await world.storage.get_submission(numbers["beijing"])
    assert hebei is not None and beijing_ is not None
    assert (await admin.visible_submission(ALICE, hebei))["answers"]["phone"] == "13911112222"
    assert (await admin.visible_submission(ALICE, beijing_))["answers"]["phone"] == "（已隐藏）"
    assert (await admin.visible_submission(CAROL, hebei))["answers"]["phone"] == "（已隐藏）"
    listed = await admin.submissions_for(ALICE, CAS)
    assert [s["number"] for s in listed] == [numbers["hebei"]]
    assert [s["number"] for s in await admin.submissions_for(BOB, CAS)] == [numbers["hebei"], numbers["self"]]


async def test_an_organiser_sees_everything(admin: AdminService, world: World) -> None:
    numbers = await people(world)
    listed = await admin.submissions_for(BOSS, CAS)
    assert [s["number"] for s in listed] == list(numbers.values())
    assert all(s["redacted"] == [] and s["answers"]["phone"] != "（已隐藏）" for s in listed)


async def test_exports_follow_the_roles(admin: AdminService, world: World) -> None:
    numbers = await people(world)
    denied = await admin.export_for(BOB, CAS, "csv")
    assert isinstance(denied, Denied) and "只有主办方和推荐单位代表" in denied.text

    def rows(doc: Document | Denied) -> list[str]:
        assert isinstance(doc, Document)
        return [r["报名编号"] for r in csv.DictReader(io.StringIO(doc.content.decode("utf-8-sig")))]

    assert rows(await admin.export_for(ALICE, CAS, "csv")) == [numbers["hebei"]]
    assert rows(await admin.export_for(CAROL, CAS, "csv")) == [numbers["beijing"]]
    assert rows(await admin.export_for(BOSS, CAS, "csv")) == list(numbers.values())
    assert isinstance(await admin.export_for(BOSS, CAS, "pdf"), Denied)
    doc = await admin.export_for(ALICE, CAS)
    assert isinstance(doc, Document) and doc.filename.endswith(".xlsx") and "-unit-" in doc.filename


# -- chat commands -------------------------------------------------------------------------------


def test_command_words() -> None:
    assert match_command("配额") is not None and match_command("quota most-cas-2024-kepu") is not None
    withdraw = match_command("撤回 kp2024-000003")
    assert withdraw is not None and (withdraw.name, withdraw.arg) == ("withdraw", "KP2024-000003")
    export = match_command("导出 Excel")
    assert export is not None and (export.name, export.arg) == ("export", "xlsx")
    for text in ("我想撤回", "配额是多少", "导出表格吗", "科学之光"):
        assert match_command(text) is None, text


async def test_commands_in_chat(admin: AdminService, world: World) -> None:
    commands = OrgCommands(admin, world.quota)
    await world.units(CAS, ("河北省科学技术厅", "province", "河北省"))
    issued = await admin.create_invite(CAS, Role.MEMBER, "河北省科学技术厅")
    assert isinstance(issued, IssuedInvite)
    assert await commands.handle(ALICE, "科学之光") is None
    [bound] = await commands.handle(ALICE, issued.code) or []
    assert bound.meta == {"bind": "ok"}
    sub = await world.accepted(ALICE, make_request(world.contest(CAS), "recommend"))
    [quota] = await commands.handle(ALICE, "配额") or []  # the contest she is bound in
    assert "已推荐 1/6 部" in quota.text
    [export] = await commands.handle(ALICE, "导出 json") or []
    assert export.document is not None
    assert [s["number"] for s in json.loads(export.document.content)["submissions"]] == [sub.number]
    [asked] = await commands.handle(ALICE, f"撤回 {sub.number}") or []
    assert asked.meta == {"withdraw": "confirm"}  # asked first: only 确认撤回 withdraws
    [withdrawn] = await commands.handle(ALICE, f"确认撤回 {sub.number}") or []
    assert withdrawn.meta == {"withdraw": "withdrawn"}
    # An entrant bound nowhere, with several contests open, is asked which one.
    world.clock.now = beijing(2099, 1, 1)
    [ask] = await commands.handle(BOB, "导出") or []
    assert ask.meta == {"error": "contest_needed"}
    [denied] = await commands.handle(BOB, f"导出 {CAS}") or []
    assert denied.meta == {"error": "export_denied"}


# -- the command line ------------------------------------------------------------------------------


def cli(args: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    return run_bot(args, env={"BOT_DATA_DIR": str(data_dir)}, cwd=data_dir)  # cwd: no developer's .env


async def _submit_as_member(data_dir: Path, code: str) -> list[str]:
    """A member binds with the CLI's code and recommends two works; returns their numbers."""
    async with services(Settings(data_dir=data_dir)) as svc:
        contests, storage, org = svc.contests, svc.storage, svc.stores.org
        clock = Clock(beijing(2023, 6, 1))
        w = World(contests, storage, org, clock, QuotaService(contests, storage, org, clock))
        admin = AdminService(contests, storage, org, clock)
        assert (await admin.bind(ALICE, code)).ok
        tech = w.contest(TECH)
        return [
            (await w.accepted(ALICE, make_request(tech, "recommend", title="=cmd|' /C calc'!A0"))).number,
            (await w.accepted(ALICE, make_request(tech, "recommend"))).number,
        ]


def test_the_organisers_command_line_end_to_end(tmp_path: Path) -> None:
    units = tmp_path / "units.csv"
    units.write_text(
        "name,kind,province\n河北省科学技术厅,province,河北省\n阜平县科技特派团,county_team,河北省\n"
    )
    unconfirmed = cli(["units", "import", str(units), "--contest", TECH], tmp_path)
    assert unconfirmed.returncode == 1 and "未导入" in unconfirmed.stdout  # no terminal, no --yes
    imported = cli(["units", "import", str(units), "--contest", TECH, "--yes"], tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert "河北省科学技术厅 → 河北省 · province" in imported.stdout  # the mapping, shown before saving
    assert "新增 2 个，更新 0 个" in imported.stdout

    invited = cli(
        ["invite", "--contest", TECH, "--role", "member", "--unit", "河北省科学技术厅", "--json"], tmp_path
    )
    assert invited.returncode == 0, invited.stderr
    [code] = json.loads(invited.stdout)
    assert code["role"] == "member" and code["unit"] == "河北省科学技术厅" and normalise_code(code["code"])

    numbers = asyncio.run(_submit_as_member(tmp_path, code["code"]))

    quota = cli(["quota", "--contest", TECH, "--json"], tmp_path)
    assert quota.returncode == 0, quota.stderr
    hebei = {"unit": "河北省科学技术厅", "kind": "province", "used": 2, "limit": 10, "min": None}
    team = {"unit": "阜平县科技特派团", "kind": "county_team", "used": 0, "limit": 1, "min": None}
    assert json.loads(quota.stdout) == [
        {**hebei, "remaining": 8, "works": numbers},
        {**team, "remaining": 1, "works": []},
    ]
    one = cli(["quota", "--contest", TECH, "--unit", "阜平县科技特派团"], tmp_path)
    assert one.returncode == 0 and one.stdout.strip() == "阜平县科技特派团\tcounty_team\t作品 0/1"

    out = tmp_path / "all.xlsx"
    exported = cli(["export", "--contest", TECH, "--format", "xlsx", "--out", str(out)], tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.strip() == f"已导出 2 份报名到 {out}"
    book = load_workbook(out)
    sheet = book["附件3 作品推荐表"]
    header = [c.value for c in sheet[2]]
    assert header[:3] == ["序号", "报名编号", "报名渠道"] and "主创人员（或单位）" in header
    assert [sheet.cell(r, 2).value for r in (3, 4)] == numbers
    title_col = header.index("名称") + 1
    assert sheet.cell(3, title_col).value == "'=cmd|' /C calc'!A0"  # neutralised, not a formula
    assert sheet.cell(3, title_col).data_type == "s"

    for fmt in ("csv", "json"):
        path = tmp_path / f"hebei.{fmt}"
        done = cli(
            ["export", "--contest", TECH, "--format", fmt, "--out", str(path), "--unit", "河北省科学技术厅"],
            tmp_path,
        )
        assert done.returncode == 0, done.stderr
    assert (tmp_path / "hebei.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert len(json.loads((tmp_path / "hebei.json").read_text(encoding="utf-8"))["submissions"]) == 2


def test_command_line_errors_exit_2_with_a_reason(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("name,kind\n甲,provnce\n", encoding="utf-8")
    failed = cli(["units", "import", str(bad), "--contest", CAS], tmp_path)
    assert failed.returncode == 2 and "第 2 行" in failed.stderr and "provnce" in failed.stderr
    missing = cli(["units", "import", str(tmp_path / "nope.csv"), "--contest", CAS], tmp_path)
    assert missing.returncode == 2 and "无法读取" in missing.stderr
    unknown = cli(["quota", "--contest", "no-such-contest"], tmp_path)
    assert unknown.returncode == 2 and "没有找到大赛" in unknown.stderr
    no_unit = cli(["invite", "--contest", CAS, "--role", "member", "--unit", "甲"], tmp_path)
    assert no_unit.returncode == 2 and "先导入单位名单" in no_unit.stderr
    no_such = cli(["export", "--contest", CAS, "--format", "csv", "--out", "x.csv", "--unit", "甲"], tmp_path)
    assert no_such.returncode == 2 and not (tmp_path / "x.csv").exists()


def test_units_list_after_import(tmp_path: Path) -> None:
    async def seed() -> None:
        async with services(Settings(data_dir=tmp_path)) as svc:
            org = svc.stores.org
            await org.put_units(CQ, [Unit(CQ, "万州区", "district", "重庆市")])

    asyncio.run(seed())
    listed = cli(["units", "list", "--contest", CQ, "--json"], tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == [{"name": "万州区", "kind": "district", "province": "重庆市"}]
