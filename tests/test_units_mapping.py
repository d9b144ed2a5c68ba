"""Units imported as organisers name them (issue 17): every suffix and short form mapped onto the
notice's list and tier, shown before it is saved, and what cannot be mapped refused with a reason."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from contests.names import (
    city_of,
    closest,
    county_base,
    expand,
    is_person,
    office_core,
    place_of_unit,
    province_of,
    same_name,
)
from contests.org import Role, Unit
from contests.registry import ContestRegistry
from contests.rules import Contest
from handlers.admin.service import AdminService, Denied
from handlers.admin.units import UnitsImportError, read_units
from handlers.quota.rules import find_unit, limit_for, rule_for_unit
from tests.cli_runner import run_bot
from tests.test_quota import ALICE, CAS, CQ, TECH, World
from tests.test_quota import world as world

CACSI = "cacsi-2022-youth"


def contest_of(contests: ContestRegistry, contest_id: str) -> Contest:
    found = contests.get(contest_id)
    assert found is not None
    return found


def mapped(contests: ContestRegistry, contest_id: str, csv: str) -> list[tuple[str, str, str, str]]:
    """(name, matched place, kind, places in words) of every line."""
    preview = read_units(csv, contest_of(contests, contest_id))
    return [(r.typed, r.matched, r.unit.kind, r.places) for r in preview.rows]


def refused(contests: ContestRegistry, contest_id: str, csv: str) -> list[str]:
    """Why each line that cannot be mapped is skipped, with the names it may have meant."""
    preview = read_units(csv, contest_of(contests, contest_id))
    assert preview.skipped
    return preview.errors


# ---------------------------------------------------------------------- the names themselves
@pytest.mark.parametrize(
    ("typed", "place"),
    [
        ("重庆市江北区科学技术局", "江北区"),
        ("江北区科技局", "江北区"),
        ("江北科委", "江北区"),
        ("渝北区科学技术委员会", "渝北区"),
        ("两江新区科技创新局", "两江新区"),
        ("高新区科技局", "西部科学城重庆高新区"),
        ("重庆市科学技术局", None),  # the city's own office is no 区县
        ("新区科技局", None),  # fits several: no guess
    ],
)
def test_a_district_office_stands_for_its_district(
    contests: ContestRegistry, typed: str, place: str | None
) -> None:
    cq = contest_of(contests, CQ)
    options = cq.form("unit_report").fields[0].options
    assert place_of_unit(typed, options) == place


def test_short_forms_are_spelled_out_and_offices_taken_off() -> None:
    assert expand("河北省科技厅") == expand("河北省科学技术厅")
    assert expand("中国科协") == expand("中国 科学技术协会")
    assert expand("北京市科委") == expand("北京市科学技术委员会")
    assert expand("中科院") == expand("中国科学院")
    assert expand("河北省科技厅") != expand("河北省科协")
    assert office_core("广西科技厅") == "广西"
    assert province_of("广西科技厅") == "广西壮族自治区"
    assert city_of("广东省深圳市科技局") == "深圳市" and city_of("宁波科技局") == "宁波市"
    assert city_of("河北省科技厅") == ""
    assert same_name("河北科技厅", "河北省科学技术厅") and same_name("中国科协", "中国科学技术协会")
    assert not same_name("河北省科技厅", "山西省科技厅") and not same_name("河北省科协", "河北省科技厅")


# ---------------------------------------------------------------- cq: 12 named districts 3—5, others 1—2
def test_cq_districts_in_any_form_get_their_tier(contests: ContestRegistry) -> None:
    rows = mapped(
        contests,
        CQ,
        "名称\n重庆市江北区科学技术局\n渝北区科技局\n两江新区科委\n万州区科学技术局\n巫溪县科技局\n",
    )
    assert rows == [
        ("重庆市江北区科学技术局", "江北区", "district_core", "作品 3—5 部"),
        ("渝北区科技局", "渝北区", "district_core", "作品 3—5 部"),
        ("两江新区科委", "两江新区", "district_core", "作品 3—5 部"),
        ("万州区科学技术局", "万州区", "district", "作品 1—2 部"),
        ("巫溪县科技局", "巫溪县", "district", "作品 1—2 部"),
    ]


def test_cq_refuses_what_is_no_district_and_one_district_twice(contests: ContestRegistry) -> None:
    errors = refused(contests, CQ, "名称\n重庆市科学技术局\n江北区科技局\n江北科委\n")
    assert errors[0].startswith("第 2 行：“重庆市科学技术局”不是通知所列的区县")
    assert errors[1] == "第 4 行：“江北科委”与第 3 行重复"


def test_an_imported_district_office_keeps_its_places_and_its_entries(contests: ContestRegistry) -> None:
    cq = contest_of(contests, CQ)
    [unit] = read_units("名称\n重庆市江北区科学技术局\n", cq).units
    rule = rule_for_unit(cq.channel("district"), unit)
    assert rule is not None and rule.kind == "district_core" and limit_for(rule, unit, "work") == 5


# ---------------------------------------------------------------- most-cas: provinces, 三区 +1, cities 3
def test_most_cas_offices_by_any_name(contests: ContestRegistry) -> None:
    rows = mapped(
        contests,
        CAS,
        "名称,类别,省份\n河北省科技厅,,\n北京市科学技术委员会,,\n广西科技厅,,\n"
        "深圳市科技创新局,,\n宁波科技局,计划单列市,\n新疆生产建设兵团科技局,,\n中国科协,member_unit,\n",
    )
    assert [(n, m, k) for n, m, k, _ in rows] == [
        ("河北省科技厅", "河北省", "province"),
        ("北京市科学技术委员会", "北京市", "province"),
        ("广西科技厅", "广西壮族自治区", "province"),
        ("深圳市科技创新局", "深圳市", "sub_provincial"),
        ("宁波科技局", "宁波市", "sub_provincial"),
        ("新疆生产建设兵团科技局", "新疆生产建设兵团", "sub_provincial"),
        ("中国科协", "", "member_unit"),
    ]
    places = {n: p for n, _, _, p in rows}
    assert "5+1=6" in places["河北省科技厅"]  # 附件2 三区
    assert places["北京市科学技术委员会"] == "作品不超过 5 部"  # not in 附件2
    assert places["深圳市科技创新局"] == "作品不超过 3 部"


def test_most_cas_asks_about_what_it_cannot_place(contests: ContestRegistry) -> None:
    errors = refused(
        contests,
        CAS,
        "名称,类别,省份\n北京市海淀区科委,,\n上海市科委,province,浙江省\n大连市科技局,province,\n"
        "某某中心,province,\n中国科协,member_unit,\n中国科学技术协会,member_unit,\n",
    )
    assert errors[0].startswith(
        "第 2 行：看不出“北京市海淀区科委”属于哪一类名额，请在类别列填写：member_unit"
    )
    assert "省份列是“浙江省”" in errors[1] and "上海市" in errors[1]
    assert "类别应为 sub_provincial" in errors[2]
    assert errors[3].startswith("第 5 行：看不出“某某中心”是哪个") and "省份列" in errors[3]
    assert errors[4] == "第 7 行：“中国科学技术协会”与第 6 行重复"


def test_a_province_column_must_name_one_of_the_notices_provinces(contests: ContestRegistry) -> None:
    errors = refused(
        contests,
        CAS,
        "名称,类别,省份\n某某中心,province,火星省\n某某协会,member_unit,河北省石家庄市\n",
    )
    assert errors == [
        "第 2 行：“某某中心”的省份列“火星省”不是省、自治区、直辖市的名称，请核对后再导入",
        "第 3 行：“某某协会”的省份列“河北省石家庄市”不是省、自治区、直辖市的名称，请核对后再导入",
    ]
    # cacsi's own 所在省份 list has no 台湾省: the notice's provinces, not every province.
    [error] = refused(contests, CACSI, "名称,类别,省份\n台湾科技教育协会,province,台湾省\n")
    assert error == "第 2 行：“台湾科技教育协会”的省份列“台湾省”不在本赛事通知所列的省份之中，请核对后再导入"
    # A short name is the province, spelled out as the notice writes it.
    [unit] = read_units("名称,类别,省份\n某某协会,member_unit,广西\n", contest_of(contests, CAS)).units
    assert unit.province == "广西壮族自治区"
    [unit] = read_units("名称,类别,省份\n兵团科协,province,兵团\n", contest_of(contests, CACSI)).units
    assert unit.province == "新疆生产建设兵团"


# ---------------------------------------------------------------- envoy, cacsi: kinds by the notice's words
def test_envoy_takes_the_xpcc_with_the_provinces(contests: ContestRegistry) -> None:
    rows = mapped(contests, TECH, "名称,类别\n河北省科技厅,\n新疆兵团科技局,\n阜平县科技特派团,county_team\n")
    assert [(m, k) for _, m, k, _ in rows] == [
        ("河北省", "province"),
        ("新疆生产建设兵团", "province"),
        ("", "county_team"),
    ]


def test_cacsi_kinds_written_in_the_notices_words(contests: ContestRegistry) -> None:
    rows = mapped(contests, CACSI, "名称,类别\n北京市青少年科技教育协会,\n张三,个人会员\n某某学校,单位会员\n")
    assert [(n, k, p) for n, _, k, p in rows] == [
        ("北京市青少年科技教育协会", "province", "作品不超过 10 部，科普号不超过 5 个"),
        ("张三", "individual_member", "作品不超过 1 部，科普号不超过 1 个"),
        ("某某学校", "unit_member", "作品不超过 3 部，科普号不超过 2 个"),
    ]


# ---------------------------------------------------------------------- shown, then confirmed
async def test_the_preview_saves_nothing_and_a_second_name_updates_the_first(world: World) -> None:
    admin = AdminService(world.contests, world.storage, world.org, world.clock)
    preview = await admin.preview_units(CQ, "名称\n江北区\n")
    assert await world.org.list_units(CQ) == []
    assert (
        preview.lines()[1].startswith("第 2 行 江北区 · district_core") and "（新增）" in preview.lines()[1]
    )
    await admin.import_units(CQ, "名称\n江北区\n")
    again = await admin.preview_units(CQ, "名称\n重庆市江北区科学技术局\n")
    assert again.rows[0].updates == "江北区" and "更新已导入的“江北区”" in again.lines()[1]
    summary = await admin.import_units(CQ, "名称\n重庆市江北区科学技术局\n")
    assert (summary.added, summary.updated) == (0, 1)
    assert [u.name for u in await world.org.list_units(CQ)] == ["江北区"]


def _cli(args: list[str], data_dir: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_bot(args, env={"BOT_DATA_DIR": str(data_dir)}, cwd=data_dir, stdin=stdin or "")  # no .env


def test_the_cli_shows_the_mapping_and_saves_only_when_confirmed(tmp_path: Path) -> None:
    units = tmp_path / "units.csv"
    units.write_text("名称\n重庆市江北区科学技术局\n巫溪县科委\n", encoding="utf-8")
    dry = _cli(["units", "import", str(units), "--contest", CQ, "--dry-run"], tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "重庆市江北区科学技术局 → 江北区" in dry.stdout and "作品 3—5 部" in dry.stdout
    assert "巫溪县科委 → 巫溪县" in dry.stdout and "作品 1—2 部" in dry.stdout and "未保存" in dry.stdout
    # Piped input is no terminal: a "y" there does not confirm.
    piped = _cli(["units", "import", str(units), "--contest", CQ], tmp_path, stdin="y\n")
    assert piped.returncode == 1 and "未导入" in piped.stdout
    listed = _cli(["units", "list", "--contest", CQ], tmp_path)
    assert listed.stdout.strip() == ""
    done = _cli(["units", "import", str(units), "--contest", CQ, "--yes"], tmp_path)
    assert done.returncode == 0 and "新增 2 个" in done.stdout
    listed = _cli(["units", "list", "--contest", CQ], tmp_path)
    assert listed.stdout.splitlines() == [
        "江北区\tdistrict_core\t重庆市",
        "巫溪县\tdistrict\t",
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text("名称\n重庆市科学技术局\n", encoding="utf-8")
    refused_ = _cli(["units", "import", str(bad), "--contest", CQ, "--yes"], tmp_path)
    assert refused_.returncode == 2 and "不是通知所列的区县" in refused_.stderr


async def test_a_confirmation_saves_what_its_preview_showed_or_nothing(world: World) -> None:
    admin = AdminService(world.contests, world.storage, world.org, world.clock)
    pasted = "名称\n重庆市江北区科学技术局\n"
    shown = await admin.preview_units(CQ, pasted)
    assert "（新增）" in shown.lines()[1]
    await admin.import_units(CQ, "名称\n江北区\n")  # another organiser, meanwhile
    with pytest.raises(UnitsImportError) as changed:
        await admin.import_units(CQ, pasted, shown=shown.digest)
    assert "请重新预览" in changed.value.errors[0]
    with pytest.raises(UnitsImportError):
        await admin.import_units(CQ, "名称\n巫溪县科委\n", shown=shown.digest)  # another file
    assert [u.name for u in await world.org.list_units(CQ)] == ["江北区"]
    again = await admin.preview_units(CQ, pasted)
    assert again.digest != shown.digest and "更新已导入的“江北区”" in again.lines()[1]
    summary = await admin.import_units(CQ, pasted, shown=again.digest)
    assert (summary.added, summary.updated) == (0, 1)


# ---------------------------------------------------------------- a unit typed later by another name
async def test_a_unit_typed_by_another_name_is_the_imported_one(world: World) -> None:
    admin = AdminService(world.contests, world.storage, world.org, world.clock)
    await admin.import_units(CAS, "名称,类别\n河北省科学技术厅,\n中国科学技术协会,member_unit\n")
    for typed in ("河北省科技厅", "河北科技厅", "河北省 科学技术厅"):
        found = await find_unit(world.org, CAS, typed)
        assert found is not None and found.name == "河北省科学技术厅", typed
    assert await find_unit(world.org, CAS, "山西省科技厅") is None
    invite = await admin.create_invite(CAS, Role.MEMBER, "河北科技厅")
    assert not isinstance(invite, Denied) and invite.unit == "河北省科学技术厅"
    notice = await world.quota.unit_notice(ALICE, CAS, "recommend", "河北省科技厅")
    assert notice is not None and notice.startswith("“河北省科学技术厅”目前")


# ---------------------------------------------------------------- a county by its short name (石柱县)
@pytest.mark.parametrize(
    ("typed", "county"),
    [
        ("石柱县科技局", "石柱土家族自治县"),
        ("重庆市石柱县科学技术局", "石柱土家族自治县"),
        ("石柱自治县科委", "石柱土家族自治县"),
        ("秀山县科技局", "秀山土家族苗族自治县"),
        ("酉阳县科技局", "酉阳土家族苗族自治县"),
        ("彭水县科技局", "彭水苗族土家族自治县"),
        ("彭水土家族苗族自治县科技局", "彭水苗族土家族自治县"),  # its nationalities in another order
        ("忠县科技局", "忠县"),
    ],
)
def test_an_autonomous_county_by_its_short_name_is_the_listed_one(
    contests: ContestRegistry, typed: str, county: str
) -> None:
    [(name, matched, kind, places)] = mapped(contests, CQ, f"名称\n{typed}\n")
    assert (matched, kind, places) == (county, "district", "作品 1—2 部")
    assert name == typed  # saved as the organiser wrote it
    assert county_base(county) == county_base(office_core(typed).removeprefix("重庆市"))


# ---------------------------------------------------------------- a misspelt name: suggested, never saved
def test_a_misspelt_district_is_offered_its_closest_listed_names(contests: ContestRegistry) -> None:
    preview = read_units(
        "名称\n重庆市九龙波区科学技术局\n酉杨县科技局\n重庆市科学技术局\n", contest_of(contests, CQ)
    )
    assert preview.rows == ()  # nothing taken as a guess
    assert [s.suggestions for s in preview.skipped] == [("九龙坡区",), ("酉阳土家族苗族自治县",), ()]
    assert preview.errors[0] == (
        "第 2 行：“重庆市九龙波区科学技术局”不是通知所列的区县（如 万州区、黔江区、涪陵区），请写区县名称；"
        "是否为“九龙坡区”？请核对、改正后再导入"
    )
    assert closest("万洲区科技局", ["万州区", "万盛经开区"]) == ["万州区"]  # the same sound
    assert closest("河兆省科技厅", ["河北省", "山西省"]) == ["河北省"]
    assert closest("璧山", ["璧山区", "巫山县"]) == ["璧山区"]  # two characters: by sound only


# ---------------------------------------------------------------- one bad line does not block the file
async def test_one_line_that_cannot_be_mapped_is_skipped_once_the_organiser_saw_it(world: World) -> None:
    admin = AdminService(world.contests, world.storage, world.org, world.clock)
    csv = "名称\n重庆市江北区科学技术局\n重庆市九龙波区科学技术局\n石柱县科技局\n"
    preview = await admin.preview_units(CQ, csv)
    lines = preview.lines()
    assert lines[0].startswith("共 3 行：将导入 2 个单位") and "跳过 1 行" in lines[0]
    assert lines[1].startswith("第 2 行 重庆市江北区科学技术局 → 江北区")
    assert lines[2].startswith("✗ 第 3 行：“重庆市九龙波区科学技术局”") and "是否为“九龙坡区”" in lines[2]
    assert lines[3].startswith("第 4 行 石柱县科技局 → 石柱土家族自治县")
    with pytest.raises(UnitsImportError) as whole:  # not confirmed as shown: all or nothing
        await admin.import_units(CQ, csv)
    assert "九龙波区" in whole.value.errors[0] and await world.org.list_units(CQ) == []
    summary = await admin.import_units(CQ, csv, shown=preview.digest)
    assert (summary.added, summary.updated) == (2, 0)
    assert [u.name for u in await world.org.list_units(CQ)] == ["江北区", "石柱土家族自治县"]
    assert [s.typed for s in summary.skipped] == ["重庆市九龙波区科学技术局"]
    assert summary.to_fix().splitlines() == [
        "名称,未导入原因,建议改为",
        "重庆市九龙波区科学技术局,第 3 行：“重庆市九龙波区科学技术局”不是通知所列的区县（如 万州区、黔江区、"
        "涪陵区），请写区县名称,九龙坡区",
    ]


def test_the_cli_imports_the_lines_it_maps_and_keeps_the_others_to_fix(tmp_path: Path) -> None:
    units = tmp_path / "units.csv"
    units.write_text("名称\n重庆市九龙波区科学技术局\n石柱县科技局\n", encoding="utf-8")
    dry = _cli(["units", "import", str(units), "--contest", CQ, "--dry-run"], tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "将导入 1 个单位" in dry.stdout and "跳过 1 行" in dry.stdout and "是否为“九龙坡区”" in dry.stdout
    assert "石柱县科技局 → 石柱土家族自治县" in dry.stdout
    done = _cli(["units", "import", str(units), "--contest", CQ, "--yes"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "新增 1 个" in done.stdout and "未导入 1 行" in done.stdout
    listed = _cli(["units", "list", "--contest", CQ], tmp_path)
    assert listed.stdout.splitlines() == ["石柱土家族自治县\tdistrict\t"]
    left = tmp_path / "units.未导入.csv"
    assert "重庆市九龙波区科学技术局" in left.read_text(encoding="utf-8-sig")
    # Fixed as suggested, the file of lines left is imported as it is.
    left.write_text(left.read_text(encoding="utf-8-sig").replace("九龙波区", "九龙坡区"), encoding="utf-8")
    again = _cli(["units", "import", str(left), "--contest", CQ, "--yes"], tmp_path)
    assert again.returncode == 0 and "新增 1 个" in again.stdout and "未导入" not in again.stdout


@pytest.mark.parametrize(
    ("name", "person"),
    [
        ("张伟", True),
        ("欧阳明月", True),
        ("买买提·艾力", True),
        ("张伟（个人）", True),
        ("个人", True),
        ("黑龙江省气象台", False),
        ("哈尔滨工业大学", False),
        ("省科协", False),
        ("光影工作室", False),
        ("科学精神照亮前行之路", False),
        ("", False),
    ],
)
def test_a_self_nominating_person_is_told_from_an_organisation(name: str, person: bool) -> None:
    """自荐机构（个人）: a person signs, an organisation seals."""
    assert is_person(name) is person


def test_an_author_named_as_the_entrant_is_a_person_whatever_the_name() -> None:
    assert not is_person("王台") and is_person("王台", ["王台", "李四"])


# ---------------------------------------------------------------- saved under the notice's listed name
def test_a_unit_is_saved_under_the_listed_name_it_maps_to_and_invited_by_any_of_them(
    tmp_path: Path,
) -> None:
    units = tmp_path / "units.csv"
    units.write_text("名称\n万州科委\n石柱县\n重庆市江北区科学技术局\n", encoding="utf-8")
    done = _cli(["units", "import", str(units), "--contest", CQ, "--yes"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "万州科委 → 万州区" in done.stdout and "石柱县 → 石柱土家族自治县" in done.stdout
    quota = _cli(["quota", "--contest", CQ], tmp_path)
    assert [line.split("\t")[0] for line in quota.stdout.splitlines()] == [
        "万州区",
        "石柱土家族自治县",
        "江北区",
    ]
    for typed, unit in [
        ("江北区", "江北区"),
        ("江北科委", "江北区"),
        ("重庆市江北区科学技术局", "江北区"),
        ("万州科委", "万州区"),
        ("万州区科技局", "万州区"),
        ("石柱县", "石柱土家族自治县"),
    ]:
        got = _cli(["invite", "--contest", CQ, "--role", "member", "--unit", typed, "--json"], tmp_path)
        assert got.returncode == 0, (typed, got.stderr)
        assert f'"unit": "{unit}"' in got.stdout, typed
    one = _cli(["quota", "--contest", CQ, "--unit", "江北科委"], tmp_path)
    assert one.returncode == 0 and one.stdout.startswith("江北区\t"), one.stderr
    nobody = _cli(["invite", "--contest", CQ, "--role", "member", "--unit", "渝北区"], tmp_path)
    assert nobody.returncode == 2 and "没有登记名为“渝北区”" in nobody.stderr


async def test_a_unit_saved_under_its_typed_name_is_found_by_its_listed_name(world: World) -> None:
    # Imported before units were saved under the listed name: still found by any name it maps to.
    await world.org.put_units(CQ, [Unit(CQ, "重庆市江北区科学技术局", "district_core", "重庆市")])
    admin = AdminService(world.contests, world.storage, world.org, world.clock)
    for typed in ("江北区", "江北科委", "江北区科技局"):
        invite = await admin.create_invite(CQ, Role.MEMBER, typed)
        assert not isinstance(invite, Denied) and invite.unit == "重庆市江北区科学技术局", typed
    assert isinstance(await admin.create_invite(CQ, Role.MEMBER, "渝北区"), Denied)


# ---------------------------------------------------------------- a tier the notice lists no names for
def test_a_national_unit_is_asked_for_its_tier_the_notice_lists_no_names_of(
    contests: ContestRegistry,
) -> None:
    # most-cas: 全国科普工作联席会议成员单位 is a tier, but the notice names none of its members,
    # so 中国科协 is not put there by its name: the organiser is told how to write it.
    [error] = refused(contests, CAS, "中国科协\n")
    assert error.startswith("第 1 行：看不出“中国科协”属于哪一类名额，请在类别列填写：member_unit")
    assert error.endswith(
        "；通知没有列出“全国科普工作联席会议成员单位”的名单，“中国科协”若是其中之一，"
        "请写“中国科协,member_unit”或“中国科协,全国科普工作联席会议成员单位”"
    )
    # The way the README and the console show it.
    rows = mapped(contests, CAS, "中国科协,成员单位\n中国科学技术协会青少年科技中心,member_unit\n")
    assert [(n, k) for n, _, k, _ in rows] == [
        ("中国科协", "member_unit"),
        ("中国科学技术协会青少年科技中心", "member_unit"),
    ]
    # A place's office is not told to be a national unit.
    [office] = refused(contests, CAS, "北京市海淀区科委\n")
    assert "通知没有列出" not in office


def test_a_unit_listed_among_the_authors_is_still_a_unit() -> None:
    # Trial 5: a cacsi 单位会员 named itself in 主创人员（或单位） as well, and was told
    # "以个人身份自荐，无需盖章": its 作者承诺 单位（盖章） went unsealed.
    unit = "深圳市青少年科技教育协会"
    assert not is_person(unit, ["刘洋（深圳中学 生物教师）", unit])
    assert is_person("王台", ["王台"]) and is_person("John Smith", ["John Smith"])


def test_a_unit_member_of_cacsi_enters_as_a_unit(contests: ContestRegistry) -> None:
    cacsi = contests.get("cacsi-2022-youth")
    assert cacsi is not None
    unit = "深圳市青少年科技教育协会"
    answers = {"unit": unit, "member": "单位会员", "authors": ["刘洋（深圳中学 生物教师）", unit]}
    assert not cacsi.by_individual("member", "video", answers)
    short = {"unit": "小杨", "member": "单位会员", "authors": ["小杨"]}
    assert not cacsi.by_individual("member", "video", short)
    assert cacsi.by_individual("member", "video", {**short, "member": "个人会员"})
