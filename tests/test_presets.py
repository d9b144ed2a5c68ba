"""The shipped contest presets: they load, they say what their notices say, and broken ones are named."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from contests.editions import new_edition, next_prefix, plan_edition
from contests.prose import move_prose
from contests.registry import ContestError, ContestRegistry, dump_contest, load_contest, preset_dir
from contests.rules import SHANGHAI, Contest, FieldType

PRESET_IDS = {
    "most-2023-tech-envoy": "000_bc3e89be88159730.txt",
    "cq-2023-scientist-spirit": "001_52651e9ad448f32f.txt",
    "most-cas-2024-kepu": "002_5a07b555da3e9a27.txt",
    "hlj-2022-kepu": "003_f30e56f14bbba9c0.txt",
    "cacsi-2022-youth": "004_5845655773588315.txt",
}


@pytest.fixture(scope="module")
def registry() -> ContestRegistry:
    return ContestRegistry.load()


def contest(registry: ContestRegistry, contest_id: str) -> Contest:
    found = registry.get(contest_id)
    assert found is not None, f"preset {contest_id} is missing"
    return found


def quota(c: Contest, channel_id: str, kind: str) -> Any:
    rules = {q.kind: q for q in c.channel(channel_id).quota}
    assert kind in rules, f"{c.id}: channel {channel_id} has no quota kind {kind}"
    return rules[kind]


def field(c: Contest, form_id: str, field_id: str) -> Any:
    found = c.form(form_id).field(field_id)
    assert found is not None, f"{c.id}: form {form_id} has no field {field_id}"
    return found


# --- every preset -------------------------------------------------------------------------


def test_every_preset_file_loads_and_the_five_notices_are_there(registry: ContestRegistry) -> None:
    files = sorted(preset_dir().glob("*.yaml"))
    assert {p.stem for p in files} >= set(PRESET_IDS)
    for path in files:
        assert load_contest(path).id == path.stem
    assert {c.id for c in registry} >= set(PRESET_IDS)
    assert len(registry) == len(files)


@pytest.mark.parametrize(("contest_id", "seed"), sorted(PRESET_IDS.items()))
def test_preset_names_its_seed_and_uses_the_shared_field_ids(
    registry: ContestRegistry, contest_id: str, seed: str
) -> None:
    c = contest(registry, contest_id)
    assert c.notice.seed == seed
    assert c.gaps, "every notice leaves something silent; the preset must say what"
    assert re.fullmatch(r"[A-Z]{2,6}" + str(c.year), c.number_prefix)
    for channel in c.channels:
        assert channel.quota, f"{contest_id}: channel {channel.id} has no quota rule"
    for form in c.forms:
        for fld in form.fields:
            if fld.role in {"title", "phone", "email", "summary", "unit", "authors"}:
                assert fld.required
            if fld.type is FieldType.PLEDGE:
                assert "承诺" in fld.text
        roles = {fld.role: fld.id for fld in form.fields if fld.role}
        for role, expected in (
            ("phone", "phone"),
            ("email", "email"),
            ("summary", "summary"),
            ("unit", "unit"),
        ):
            if role in roles:
                assert roles[role] == expected, f"{contest_id}/{form.id}: {role} should use id {expected}"


# --- 000 大美科技特派团 ---------------------------------------------------------------------


def test_tech_envoy_2023(registry: ContestRegistry) -> None:
    c = contest(registry, "most-2023-tech-envoy")
    assert c.deadline == dt.date(2023, 6, 30)
    assert c.opens is None
    assert c.number_prefix == "TP2023"
    assert [ch.id for ch in c.channels] == ["recommend", "self"]
    assert quota(c, "recommend", "province").max_works == 10
    team = quota(c, "recommend", "county_team")
    assert team.max_works == 1
    assert team.counted_in_parent is False
    assert quota(c, "self", "self").max_works == 1

    recommend = c.form("recommend")
    assert recommend.attachment == "附件3"
    assert [f.id for f in recommend.fields] == [
        "unit", "title", "category", "broadcast_date", "authors", "platform", "address",
        "phone", "email", "summary", "innovation", "impact", "pledge",
    ]  # fmt: skip
    assert field(c, "recommend", "summary").max_chars == 100
    assert field(c, "recommend", "impact").max_chars == 100
    assert field(c, "recommend", "platform").must_contain_url
    assert field(c, "recommend", "broadcast_date").window is None  # the notice sets no window
    assert c.broadcast_window is None
    assert "许可其在土〔原文此处缺字〕动分发平台" in field(c, "recommend", "pledge").text
    assert field(c, "self", "reason").max_chars == 100
    assert "科技日报社会媒体平台" in field(c, "self", "pledge").text
    assert "个人印章" in " ".join(c.form("self").signatures)
    assert c.form("self").footnotes == ("签字需手写",)

    assert {r.criterion: r.weight_percent for r in c.rubric} == {
        "科学性": 30,
        "创新性": 30,
        "实用性": 20,
        "艺术性": 20,
    }
    assert c.video is not None
    assert c.video.audio_required
    assert c.video.container is None
    assert c.video.max_duration_s is None
    assert any("010-62196000" in p for ct in c.contacts for p in ct.phones)
    gaps = " ".join(c.gaps)
    for garbled in ("活动时间", "173 311", "在土", "技术要求"):
        assert garbled in gaps
    assert any("100部" in r and "60部" in r for r in c.rules)
    assert any("10天" in r for r in c.rules)


# --- 001 重庆 科学家精神 --------------------------------------------------------------------


def test_chongqing_scientist_spirit_2023(registry: ContestRegistry) -> None:
    c = contest(registry, "cq-2023-scientist-spirit")
    assert c.deadline == dt.date(2023, 5, 31)
    assert c.number_prefix == "CQ2023"
    assert any(s.end == dt.date(2023, 7, 31) for s in c.schedule)
    (channel,) = c.channels
    assert channel.kind == "recommend"
    assert channel.forms == {"work": "unit_report"}
    core = quota(c, "district", "district_core")
    assert (core.min_works, core.max_works) == (3, 5)
    assert len(core.units) == 12
    assert "西部科学城重庆高新区" in core.units
    assert "万州区" not in core.units
    other = quota(c, "district", "district")
    assert (other.min_works, other.max_works) == (1, 2)

    assert [f.id for f in c.form("unit_report").fields] == [
        "district", "unit", "title", "address", "contact_name", "email", "phone",
        "summary", "uscc", "legal_rep", "pledge",
    ]  # fmt: skip
    # 报送区县: every unit that may recommend (the notice's 协办单位), the 12 named ones among them;
    # the districts choose in 初审阶段 (6/1–7/31).
    district = field(c, "unit_report", "district")
    assert (district.type, district.role, len(district.options)) == (FieldType.CHOICE, "recommender", 41)
    assert set(core.units) <= set(district.options) and "石柱土家族自治县" in district.options
    assert c.form("unit_report").recommender() == district
    stage = c.stage(channel.selection_stage)
    assert stage is not None and (stage.start, stage.end) == (dt.date(2023, 6, 1), dt.date(2023, 7, 31))
    assert field(c, "unit_report", "uscc").type is FieldType.USCC
    summary = field(c, "unit_report", "summary")
    assert summary.max_chars is None or any("字数" in g for g in c.gaps)
    assert "自愿接受相关失信惩戒" in field(c, "unit_report", "pledge").text
    assert c.form("district_list").attachment == "附件2"
    assert field(c, "district_list", "opinion").multiline

    assert c.video is not None
    assert c.video.container == "mp4"
    assert (c.video.min_duration_s, c.video.max_duration_s) == (180, 240)
    assert c.video.resolutions == ((1920, 1080), (1280, 720))
    assert c.video.aspect_ratio == "16:9"
    assert c.video.max_size_mib is None
    assert sum(r.points or 0 for r in c.rubric) == 100
    assert [r.points for r in c.rubric if r.criterion == "技术性"] == [15, 10, 5]
    assert any("大小" in g for g in c.gaps)


# --- 002 全国科普微视频大赛 2024 -------------------------------------------------------------


def test_most_cas_2024(registry: ContestRegistry) -> None:
    c = contest(registry, "most-cas-2024-kepu")
    assert c.deadline == dt.date(2024, 10, 25)
    assert quota(c, "recommend", "province").max_works == 5
    assert quota(c, "recommend", "province").bonus == 1
    assert quota(c, "recommend", "sub_provincial").max_works == 3
    assert field(c, "recommend", "summary").max_chars == 100
    assert c.video is not None
    assert (c.video.min_size_mib, c.video.max_size_mib) == (100, 300)
    assert any("18910962919" in ct.phones for ct in c.contacts)
    assert c.form("recommend").reproduced is False


# --- 003 黑龙江 2022 -----------------------------------------------------------------------


def test_heilongjiang_2022(registry: ContestRegistry) -> None:
    c = contest(registry, "hlj-2022-kepu")
    assert (c.opens, c.deadline) == (dt.date(2022, 3, 28), dt.date(2022, 5, 9))
    assert c.number_prefix == "HLJ2022"
    assert c.broadcast_window is not None
    assert (c.broadcast_window.start, c.broadcast_window.end) == (dt.date(2020, 1, 1), dt.date(2022, 2, 28))
    assert "前" in c.broadcast_window.note
    assert c.broadcast_window.contains(dt.date(2022, 2, 28))
    assert not c.broadcast_window.contains(dt.date(2022, 3, 1))
    assert not c.broadcast_window.contains(dt.date(2019, 12, 31))
    assert field(c, "recommend", "broadcast_date").window == "broadcast"
    assert quota(c, "recommend", "unit").max_works is None
    assert quota(c, "self", "self").max_works is None
    assert field(c, "self", "innovation").max_chars == 100
    assert "如在评期间" in field(c, "recommend", "pledge").text

    assert c.video is not None
    assert (c.video.min_duration_s, c.video.max_duration_s) == (120, 300)
    assert (c.video.min_size_mib, c.video.max_size_mib) == (100, 200)
    assert c.video.min_height is None  # "最好为高清视频" is a wish
    assert any("高清" in n for n in c.video.notes)
    assert "最多3个" in c.delivery.scan_limits
    assert "20M" in c.delivery.scan_limits
    assert set(c.delivery.accepts) == {"file", "link", "share_link"}
    assert any("0451-82624327" in ct.phones for ct in c.contacts)
    assert any("已参加过历届本活动的作品不再参加" in r for r in c.rules)
    assert any("删除" in r and "重新提交" in r for r in c.rules)

    start = dt.datetime(2022, 3, 28, tzinfo=SHANGHAI)
    assert c.status(start - dt.timedelta(seconds=1)) == "upcoming"
    assert c.status(dt.datetime(2022, 5, 9, 23, 59, tzinfo=SHANGHAI)) == "open"
    assert c.status(dt.datetime(2022, 5, 10, 0, 0, tzinfo=SHANGHAI)) == "closed"


# --- 004 青少年科技教育 2022 ----------------------------------------------------------------


def test_cacsi_youth_2022(registry: ContestRegistry) -> None:
    c = contest(registry, "cacsi-2022-youth")
    assert c.deadline == dt.date(2022, 10, 31)
    assert c.opens is None
    assert c.tracks() == ["work", "account"]
    province = quota(c, "province", "province")
    assert (province.max_works, province.max_accounts) == (10, 5)
    unit_member = quota(c, "member", "unit_member")
    assert (unit_member.max_works, unit_member.max_accounts) == (3, 2)
    individual = quota(c, "member", "individual_member")
    assert (individual.max_works, individual.max_accounts) == (1, 1)
    assert (quota(c, "self", "self").max_works, quota(c, "self", "self").max_accounts) == (1, 1)
    assert c.form("video").track == "work"
    assert c.form("account").track == "account"

    assert field(c, "video", "summary").max_chars == 300
    # The kind of member picks the limit, on both forms (the paper's 是/否 cannot tell them apart).
    for form_id in ("video", "account"):
        assert field(c, form_id, "member").options == ("单位会员", "个人会员", "否")
        assert field(c, form_id, "member").channel_options == {
            "member": ("单位会员", "个人会员"),
            "self": ("否",),
        }
    assert (unit_member.chosen_by, individual.chosen_by, individual.personal) == (
        "单位会员",
        "个人会员",
        True,
    )
    assert field(c, "video", "share_link").type is FieldType.URL
    assert "科普中国、科创筑梦、微信、抖音" in field(c, "video", "pledge").text
    assert field(c, "account", "followers").min_value == 1000
    assert field(c, "account", "works_count").min_value == 50
    assert any("发布作品数" in g for g in c.gaps)

    assert c.video is not None
    assert (c.video.min_duration_s, c.video.max_duration_s) == (180, 480)
    assert (c.video.min_size_mib, c.video.max_size_mib) == (100, 300)
    assert c.video.min_height == 1080
    assert any("跳帧" in n for n in c.video.notes)
    assert c.delivery.accepts == ("share_link",)
    assert c.delivery.share_link_permanent
    assert c.delivery.share_folder_name == "省+报送单位（或个人）+视频名称"
    assert any("xhhd@cacsi.org.cn" in ct.emails for ct in c.contacts)
    assert any("010-64522026" in ct.phones for ct in c.contacts)


# --- broken presets -----------------------------------------------------------------------


def _raw(contest_id: str) -> dict[str, Any]:
    data = yaml.safe_load((preset_dir() / f"{contest_id}.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _write(folder: Path, data: dict[str, Any], stem: str | None = None) -> Path:
    path = folder / f"{stem or data['id']}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_a_typo_in_a_key_is_named_with_the_file(tmp_path: Path) -> None:
    data = _raw("most-2023-tech-envoy")
    summary = next(f for f in data["forms"][0]["fields"] if f["id"] == "summary")
    summary["max_char"] = summary.pop("max_chars")
    path = _write(tmp_path, data)
    with pytest.raises(ContestError, match="max_char") as info:
        ContestRegistry.load(tmp_path)
    message = str(info.value)
    assert str(path) in message
    assert "forms.0.fields.9.max_char" in message


def test_a_wrong_type_is_named_with_the_file(tmp_path: Path) -> None:
    data = _raw("cq-2023-scientist-spirit")
    data["video"]["min_duration_s"] = "三分钟"
    path = _write(tmp_path, data)
    with pytest.raises(ContestError, match=r"video\.min_duration_s") as info:
        load_contest(path)
    assert str(path) in str(info.value)


def test_a_bad_date_is_named_with_the_file(tmp_path: Path) -> None:
    data = _raw("hlj-2022-kepu")
    data["deadline"] = "2022-02-30"
    path = _write(tmp_path, data)
    with pytest.raises(ContestError, match="deadline") as info:
        load_contest(path)
    assert str(path) in str(info.value)


def test_a_channel_naming_an_unknown_form_is_refused(tmp_path: Path) -> None:
    data = _raw("cacsi-2022-youth")
    data["channels"][1]["forms"]["account"] = "kepuhao"
    path = _write(tmp_path, data)
    with pytest.raises(ContestError, match="unknown form 'kepuhao'") as info:
        load_contest(path)
    assert str(path) in str(info.value)
    assert "'member'" in str(info.value)


def test_a_channel_naming_a_form_of_the_wrong_track_is_refused(tmp_path: Path) -> None:
    data = _raw("cacsi-2022-youth")
    data["channels"][0]["forms"]["account"] = "video"
    path = _write(tmp_path, data)
    with pytest.raises(ContestError, match="is not a account form"):
        load_contest(path)


def test_a_pledge_without_text_is_refused(tmp_path: Path) -> None:
    data = _raw("hlj-2022-kepu")
    pledge = next(f for f in data["forms"][1]["fields"] if f["id"] == "pledge")
    pledge["text"] = ""
    path = _write(tmp_path, data)
    with pytest.raises(ContestError, match=r"forms\.1\.fields\.12.*pledge field needs its text"):
        load_contest(path)


def test_a_file_whose_name_is_not_its_id_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, _raw("hlj-2022-kepu"), stem="hlj-2022")
    with pytest.raises(ContestError, match="does not match the file name"):
        load_contest(path)


def test_invalid_yaml_is_named_with_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("id: broken\ntitle: [未闭合\n", encoding="utf-8")
    with pytest.raises(ContestError, match="not valid YAML") as info:
        ContestRegistry.load(tmp_path)
    assert str(path) in str(info.value)


def test_an_operator_file_replaces_the_preset_with_the_same_id(tmp_path: Path) -> None:
    data = _raw("hlj-2022-kepu")
    data["deadline"] = "2022-05-20"
    _write(tmp_path, data)
    c = ContestRegistry.load(tmp_path).get("hlj-2022-kepu")
    assert c is not None
    assert c.deadline == dt.date(2022, 5, 20)


def test_the_shipped_contests_number_from_sequences_of_their_own(registry: ContestRegistry) -> None:
    """Letters, not only prefixes, differ: most-cas (KP2024) and envoy (KP2023) both rolled to
    KP2026 in their next editions."""
    letters = [re.sub(r"\d{4}$", "", c.number_prefix) for c in registry]
    assert len(set(letters)) == len(letters), letters
    for source in registry:
        for other in registry:
            if other is not source:
                assert next_prefix(source, dt.date(2027, 1, 1)) != next_prefix(other, dt.date(2027, 1, 1))


def test_two_contests_with_one_prefix_are_refused_at_load_naming_both(tmp_path: Path) -> None:
    data = _raw("hlj-2022-kepu")
    data["id"] = "hlj-copy"
    data["number_prefix"] = "CQ2023"
    _write(tmp_path, data)
    with pytest.raises(ContestError) as info:
        ContestRegistry.load(tmp_path)
    message = str(info.value)
    assert "CQ2023" in message and "hlj-copy" in message and "cq-2023-scientist-spirit" in message
    # The same prefix under the same id is the organiser's correction of a preset, not a clash.
    other = tmp_path / "other"
    other.mkdir()
    _write(other, _raw("cq-2023-scientist-spirit"))
    assert ContestRegistry.load(other).get("cq-2023-scientist-spirit") is not None


def test_cacsi_names_its_folder_from_the_answers_and_a_wrong_field_is_refused(
    registry: ContestRegistry, tmp_path: Path
) -> None:
    c = contest(registry, "cacsi-2022-youth")
    form = c.form("video")
    answers = {"province": "北京市", "unit": "某某中学", "title": "水的三态变化"}
    assert c.share_folder(form, answers) == "北京市+某某中学+水的三态变化"
    assert c.share_folder(form, {**answers, "province": ""}) is None  # not yet answered
    # The 科普号申报表 is uploaded beside the videos: its 科普号名称 stands for the 视频名称.
    account = {"province": "北京市", "unit": "某某中学", "account_name": "星辰科普"}
    assert c.share_folder(c.form("account"), account) == "北京市+某某中学+星辰科普"
    # Trial 9: a 科普号 registered by a person (所属单位 "个人") named the folder "广东省+个人+…":
    # the 报送单位（或个人） is the person's name, the 主要负责人's.
    by_person = {**account, "unit": "个人", "lead_name": "林晓"}
    assert c.share_folder(c.form("account"), by_person) == "北京市+林晓+星辰科普"
    assert contest(registry, "hlj-2022-kepu").share_folder(form, answers) is None  # none prescribed
    data = _raw("cacsi-2022-youth")
    data["delivery"]["share_folder_fields"] = ["province", "school"]
    with pytest.raises(ContestError, match="school"):
        load_contest(_write(tmp_path, data))


# --- next year's edition ------------------------------------------------------------------


def test_new_edition_round_trips_through_dump_and_load(registry: ContestRegistry, tmp_path: Path) -> None:
    source = contest(registry, "hlj-2022-kepu")
    data = new_edition(source, "hlj-2023-kepu", dt.date(2023, 5, 9))
    assert data["id"] == "hlj-2023-kepu"
    assert data["year"] == 2023
    assert data["number_prefix"] == "HLJ2023"
    assert data["deadline"] == "2023-05-09"
    assert data["opens"] == "2023-03-28"
    assert data["broadcast_window"]["start"] == "2021-01-01"
    assert data["broadcast_window"]["end"] == "2023-02-28"
    # Stages keep their distance from the deadline (here: the same days a year later).
    first = data["schedule"][0]
    assert (first["name"], first.get("start"), first.get("end")) == (
        "作品征集",
        "2023-03-28",
        "2023-05-09",
    )
    assert "hlj-2022-kepu" in data["gaps"][-1]

    path = tmp_path / "hlj-2023-kepu.yaml"
    written = dump_contest(data, path)
    loaded = load_contest(path)
    assert loaded == written
    assert loaded.id == "hlj-2023-kepu"
    assert loaded.deadline == dt.date(2023, 5, 9)
    assert loaded.number_prefix == "HLJ2023"
    # Titles name the year and follow it; everything else of the forms is carried over unchanged.
    assert [f.title for f in loaded.forms] == [f.title.replace("2022", "2023") for f in source.forms]
    assert [f.fields for f in loaded.forms] == [f.fields for f in source.forms]
    assert loaded.title == source.title.replace("2022", "2023")
    assert loaded.channels == source.channels
    assert loaded.video == source.video
    assert len(loaded.gaps) == len(source.gaps) + 1
    # A gap quoting the window's dates follows them; the old document number is left as quoted.
    assert "2021年1月1日至2023年2月28日前" in loaded.gaps[1]
    assert loaded.gaps[0] == source.gaps[0]

    both = ContestRegistry.load(tmp_path)
    assert both.get("hlj-2022-kepu") is not None
    assert both.get("hlj-2023-kepu") == loaded

    before = path.read_text(encoding="utf-8")
    again = new_edition(source, "hlj-2023-kepu", dt.date(2023, 6, 1))
    with pytest.raises(FileExistsError):
        dump_contest(again, path)
    assert path.read_text(encoding="utf-8") == before


def _prose(data: Any) -> str:
    """Every string of a contest's data but the old notice block and the line naming the
    source edition (the last gap), as one text."""
    if isinstance(data, dict) and "gaps" in data:
        data = {**data, "gaps": data["gaps"][:-1]}
    if isinstance(data, str):
        return data
    if isinstance(data, list):
        return "\n".join(_prose(x) for x in data)
    if isinstance(data, dict):
        return "\n".join(_prose(v) for k, v in data.items() if k != "notice")
    return ""


def test_hlj_edition_moves_the_dates_in_its_delivery_text_and_lists_the_activity_page(
    registry: ContestRegistry,
) -> None:
    edition = plan_edition(
        contest(registry, "hlj-2022-kepu"), "hlj-2027", dt.date(2027, 5, 20), dt.date(2027, 4, 1)
    )
    method = edition.data["delivery"]["methods"][0]
    assert method.startswith(
        "请于5月20日前，使用微信扫描二维码进入活动页面（“2027年黑龙江省科普微视频征集评选活动”）"
    )
    stage = edition.data["schedule"][0]
    assert stage["text"].startswith("征集时间为2027年4月1日-5月20日。请于5月20日前")
    assert (stage["start"], stage["end"]) == ("2027-04-01", "2027-05-20")
    assert "2027年1月1日至2027年2月28日前" not in _prose(edition.data)  # windows move by whole years
    assert "2025年1月1日至2027年2月28日前" in edition.data["rules"][2]
    text = _prose(edition.data)
    for old in ("5月9日", "3月28日", "2022年", "2022"):
        assert old not in text.replace("[2022]", ""), old
    checks = {u.where: u.reason for u in edition.unchecked}
    assert "活动页面" in checks["delivery.methods[0]"] and "年份" in checks["delivery.methods[0]"]
    assert "年份" in checks["title"] and "年份" in checks["forms[recommend].title"]
    assert "文号" in checks["notice"]
    assert ("delivery.methods[0]", "5月9日", "5月20日") in {(m.where, m.old, m.new) for m in edition.moved}
    # What is listed was not invented: every line to check is a line of the written data.
    for line in edition.unchecked:
        assert line.where == "notice" or line.text in text


def test_cacsi_and_envoy_editions_keep_no_date_of_last_year(registry: ContestRegistry) -> None:
    cacsi = plan_edition(contest(registry, "cacsi-2022-youth"), "cacsi-2027", dt.date(2027, 10, 31))
    assert "于2027年10月31日前" in cacsi.data["delivery"]["methods"][0]
    assert "2022" not in _prose(cacsi.data)
    envoy = plan_edition(contest(registry, "most-2023-tech-envoy"), "envoy-2027", dt.date(2027, 6, 30))
    stages = {s["name"]: s for s in envoy.data["schedule"]}
    assert stages["专家评审"]["text"].startswith("2027年9月，专家评审")
    assert (stages["专家评审"]["start"], stages["专家评审"]["end"]) == ("2027-09-01", "2027-09-30")
    assert stages["结果发布和展示"]["text"].startswith("2027年10月—12月")
    assert "2023" not in _prose(envoy.data)


def test_cq_edition_moves_the_district_stage_and_its_deadline_together(registry: ContestRegistry) -> None:
    """A deadline moved to the year's end: the districts still choose in the two months after
    it, and the text saying until when says the same date as the stage."""
    source = contest(registry, "cq-2023-scientist-spirit")
    edition = plan_edition(source, "cq-2026", dt.date(2026, 12, 31))
    stage = next(s for s in edition.data["schedule"] if s["name"] == source.channels[0].selection_stage)
    assert (stage["start"], stage["end"]) == ("2027-01-01", "2027-03-02")
    assert "务于2027年3月2日前报送" in stage["text"]
    assert "7月31日" not in _prose(edition.data)
    assert any("2027年3月2日前" in m for m in edition.data["delivery"]["methods"])
    assert "线上征集" in {s["name"] for s in edition.data["schedule"]}
    assert "至12月31日" in edition.data["schedule"][0]["text"]


def test_a_date_in_the_prose_that_is_none_of_the_contests_is_listed_not_moved(
    registry: ContestRegistry,
) -> None:
    data = _raw("hlj-2022-kepu")
    data["rules"] = [*data["rules"], "颁奖典礼定于2022年12月20日举行，详见2022-12-20的公告。"]
    source = Contest.model_validate(data)
    edition = plan_edition(source, "hlj-2023", dt.date(2023, 5, 9))
    last = edition.data["rules"][-1]
    assert last == "颁奖典礼定于2022年12月20日举行，详见2022-12-20的公告。"
    assert "日期" in {u.where: u.reason for u in edition.unchecked}[f"rules[{len(data['rules']) - 1}]"]


def test_an_example_date_is_one_of_the_edition(registry: ContestRegistry) -> None:
    most_cas = contest(registry, "most-cas-2024-kepu")
    broadcast = field(most_cas, "recommend", "broadcast_date")
    assert most_cas.example_date(broadcast) == dt.date(2023, 12, 1)  # inside the 2023 window
    envoy = contest(registry, "most-2023-tech-envoy")
    assert envoy.example_date(field(envoy, "recommend", "broadcast_date")) == dt.date(2023, 6, 1)
    moved = Contest.model_validate(new_edition(most_cas, "most-cas-2027", dt.date(2027, 10, 25)))
    assert moved.example_date(broadcast) == dt.date(2026, 12, 1)


def test_a_new_edition_is_a_draft_until_it_is_given_its_opening_date(registry: ContestRegistry) -> None:
    """Copied from last year without ``opens``, an edition is never open (not even after last
    year's opening date moved by a year); given one, it opens on it."""
    source = contest(registry, "hlj-2022-kepu")  # opens 2022-03-28
    draft = Contest.model_validate(new_edition(source, "hlj-2027", dt.date(2027, 5, 9)))
    assert draft.draft and draft.opens == dt.date(2027, 3, 28)
    assert draft.status(dt.datetime(2027, 4, 1, tzinfo=SHANGHAI)) == "draft"
    assert ContestRegistry([draft]).open(dt.datetime(2027, 4, 1, tzinfo=SHANGHAI)) == []
    data = new_edition(draft, "hlj-2028", dt.date(2028, 5, 9), opens=dt.date(2028, 4, 1))
    given = Contest.model_validate(data)
    assert "draft" not in data and not given.draft
    assert given.status(dt.datetime(2028, 4, 1, tzinfo=SHANGHAI)) == "open"


def test_new_edition_with_explicit_opens_and_a_two_track_contest(
    registry: ContestRegistry, tmp_path: Path
) -> None:
    source = contest(registry, "cacsi-2022-youth")
    data = new_edition(source, "cacsi-2024-youth", dt.date(2024, 10, 31), opens=dt.date(2024, 9, 1))
    written = dump_contest(data, tmp_path / "cacsi-2024-youth.yaml")
    assert written.number_prefix == "QK2024"
    assert written.year == 2024
    assert written.opens == dt.date(2024, 9, 1)
    assert written.tracks() == ["work", "account"]
    assert written.delivery.methods[0].startswith("于2024年10月31日前")
    assert written.delivery.model_copy(update={"methods": source.delivery.methods}) == source.delivery


def test_dump_contest_refuses_invalid_data_and_writes_nothing(
    registry: ContestRegistry, tmp_path: Path
) -> None:
    data = new_edition(
        contest(registry, "most-2023-tech-envoy"), "most-2024-tech-envoy", dt.date(2024, 6, 30)
    )
    data["number_prefix"] = "kp2024"
    path = tmp_path / "most-2024-tech-envoy.yaml"
    with pytest.raises(ValidationError, match="number_prefix"):
        dump_contest(data, path)
    assert not path.exists()


def test_a_window_moved_past_the_new_deadline_is_listed_to_check(registry: ContestRegistry) -> None:
    # Tried as an organiser: hlj's windows ended 2027-02-28 for a deadline of 2027-02-01, unlisted.
    edition = plan_edition(contest(registry, "hlj-2022-kepu"), "hlj-2027", dt.date(2027, 2, 1))
    late = [u for u in edition.unchecked if u.where.endswith("window.end")]
    assert [(u.where, u.text) for u in late] == [
        ("production_window.end", "2027-02-28"),
        ("broadcast_window.end", "2027-02-28"),
    ]
    on_time = plan_edition(contest(registry, "hlj-2022-kepu"), "hlj-2027", dt.date(2027, 5, 9))
    assert not [u for u in on_time.unchecked if u.where.endswith("window.end")]


def test_a_month_the_new_edition_spreads_over_two_is_written_as_its_days(registry: ContestRegistry) -> None:
    # Trial round: envoy's "2023年9月，专家评审" stayed beside the stage's new 2027年2月26日—3月27日.
    envoy = plan_edition(contest(registry, "most-2023-tech-envoy"), "envoy-2026", dt.date(2026, 12, 25))
    stage = next(s for s in envoy.data["schedule"] if s["name"] == "专家评审")
    assert (stage["start"], stage["end"]) == ("2027-02-26", "2027-03-27")
    assert stage["text"].startswith("2027年2月26日—3月27日，专家评审")
    assert not [u for u in envoy.unchecked if "专家评审" in u.where]


def test_a_window_left_far_from_a_deadline_moved_within_the_year_is_listed(registry: ContestRegistry) -> None:
    # hlj's windows closed ten weeks before 5月9日; moved by whole years against 12月25日, ten months.
    edition = plan_edition(contest(registry, "hlj-2022-kepu"), "hlj-2026", dt.date(2026, 12, 25))
    drift = [u for u in edition.unchecked if u.where.endswith("window.end")]
    assert [u.text for u in drift] == ["2026-02-28", "2026-02-28"]
    assert all("约10个月（上一届约2个月）" in u.reason for u in drift)


def test_a_part_of_a_month_in_a_stage_moves_with_the_stage(registry: ContestRegistry) -> None:
    # Tried as an organiser: cq's 评审阶段 kept "8月上旬" beside its new 2027年2月25日—3月6日.
    source = contest(registry, "cq-2023-scientist-spirit")
    edition = plan_edition(source, "cq-2026-spirit", dt.date(2026, 12, 25), dt.date(2026, 11, 1))
    stage = next(s for s in edition.data["schedule"] if s["name"] == "评审阶段")
    assert (stage["start"], stage["end"]) == ("2027-02-25", "2027-03-06")
    assert stage["text"].startswith("2027年2月25日—3月6日。大赛组委会组织评审")
    assert ("schedule[评审阶段].text", "8月上旬", "2027年2月25日—3月6日") in {
        (m.where, m.old, m.new) for m in edition.moved
    }
    assert not [u for u in edition.unchecked if "评审阶段" in u.where]
    # Moved by a whole number of days that keeps it a 上旬, it is written as one again.
    later = plan_edition(source, "cq-2024", dt.date(2024, 5, 31))
    stage = next(s for s in later.data["schedule"] if s["name"] == "评审阶段")
    assert stage["text"].startswith("8月上旬。")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023年8月中旬公布结果", "2027年2月中旬公布结果"),  # the known days in it all went to one 中旬
        ("9月底前公示", "9月底（上一届）前公示"),  # no known day in it: marked, listed, not moved
        ("8月初赛", "2027年2月初赛"),  # 初赛 is no 月初: the month moves alone
    ],
)
def test_a_part_of_a_month_goes_where_its_days_went_or_is_marked_as_last_years(
    text: str, expected: str
) -> None:
    moves = {dt.date(2023, 8, 12): dt.date(2027, 2, 13), dt.date(2023, 8, 18): dt.date(2027, 2, 19)}
    data = {"rules": [text]}
    _, unchecked = move_prose(data, moves, 2023, 2026)
    assert data["rules"] == [expected]
    assert bool(unchecked) == ("上一届" in expected)


def test_a_gap_that_the_given_opening_answers_is_dropped(registry: ContestRegistry) -> None:
    # Tried as an organiser: "起始日期不明，故不设开始日期" stayed although --opens was given.
    source = contest(registry, "cq-2023-scientist-spirit")
    edition = plan_edition(source, "cq-2026-spirit", dt.date(2026, 12, 25), dt.date(2026, 11, 1))
    assert edition.data["opens"] == "2026-11-01"
    assert "起始日期不明" not in _prose(edition.data)
    assert edition.data["gaps"][0].startswith(
        "通知文本未见文号与发文日期。截止日期取创作单位报送区县的12月25日"
    )
    assert [u.text for u in edition.answered] == ["线上征集“即日起”的起始日期不明，故不设开始日期。"]
    # Without --opens the note still holds for the new edition, and stays.
    kept = plan_edition(source, "cq-2026-spirit", dt.date(2026, 12, 25))
    assert "起始日期不明" in kept.data["gaps"][0] and kept.answered == ()


def test_last_years_document_number_is_not_shown_as_the_new_editions(registry: ContestRegistry) -> None:
    source = contest(registry, "cacsi-2022-youth")
    edition = plan_edition(source, "cacsi-2026", dt.date(2026, 10, 31))
    new = Contest.model_validate(edition.data)
    assert (new.notice.document_no, new.notice.date) == ("", None)
    assert new.notice.issuer == source.notice.issuer and new.notice.seed == source.notice.seed
    [listed] = [u for u in edition.unchecked if u.where == "notice"]
    assert listed.text == "青科教发〔2022〕2号" and "不再向参赛者显示" in listed.reason
