"""Exports as the organisers open them: the xlsx read back with openpyxl, the CSV as Excel/WPS
read it (BOM, CRLF), JSON, formula injection, and the redaction helper."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
from typing import Any

import pytest
from openpyxl import load_workbook

from contests.records import Submission, UserKey
from contests.registry import ContestRegistry
from contests.rules import Contest
from handlers.export import (
    ExportRow,
    Viewer,
    export_csv,
    export_json,
    export_xlsx,
    neutralise,
    personal_field_ids,
    render,
    visible_submission,
)
from tests.test_quota import CACSI, CAS, CQ, TECH, make_request

T = dt.datetime(2024, 10, 1, 2, 30, tzinfo=dt.UTC)  # 10:30 in Beijing
OWNER = UserKey("telegram", "owner")


def contest_of(contests: ContestRegistry, contest_id: str) -> Contest:
    found = contests.get(contest_id)
    assert found is not None
    return found


def row(
    contest: Contest,
    channel: str,
    n: int,
    *,
    by: str,
    recommended: bool = True,
    status: str = "submitted",
    track: str = "work",
    video: dict[str, Any] | None = None,
    **answers: Any,
) -> ExportRow:
    req = make_request(contest, channel, track)
    checked = {"kind": "file", "name": "a.mp4", "sha256": "ab" * 32, "checked": True, "verdict": "passed"}
    sub = Submission(
        number=f"{contest.number_prefix}-{n:06d}",
        contest_id=contest.id,
        user=OWNER,
        channel_id=req.channel_id,
        form_id=req.form_id,
        answers={**req.answers, **answers},
        video=video if video is not None else {**checked, "stored": "/srv/v/ab.mp4"},
        created_at=T,
        status=status,
    )
    return ExportRow(sub, by, "district" if recommended else "self", recommended)


def sheet_rows(sheet: Any) -> list[list[Any]]:
    return [[c.value for c in r] for r in sheet.iter_rows()]


# -- xlsx -----------------------------------------------------------------------------------------


def test_cq_workbook_has_the_report_form_and_the_district_list(contests: ContestRegistry) -> None:
    cq = contest_of(contests, CQ)
    rows = [
        row(cq, "district", 1, by="渝中区", title="钱学森的故事", address="重庆市渝中区1号",
            contact_name="王老师", phone="023-12345678", email="a@b.cn", unit="重庆大学"),
        row(cq, "district", 2, by="渝中区", title="撤回的作品", status="withdrawn"),
        row(cq, "district", 3, by="万州区", title="三峡科学家", unit="三峡学院"),
    ]  # fmt: skip
    book = load_workbook(io.BytesIO(export_xlsx(cq, rows)))
    assert book.sheetnames == ["附件3 作品单位报送表", "作品区县推荐表"]

    report = book["附件3 作品单位报送表"]
    assert report.cell(1, 1).value == "2023年“弘扬科学家精神，加强作风学风建设”短视频大赛作品单位报送表"
    header = [c.value for c in report[2]]
    form = cq.form("unit_report")
    assert header == [
        "序号", "报名编号", "报名渠道", "推荐单位（自荐者）", "单位类别", "状态", "区县推荐",
        *(f.label for f in form.fields),
        "视频（链接或文件）", "视频SHA-256", "视频检查结果", "视频内容检查", "提交时间", "提交账号",
    ]  # fmt: skip
    first = dict(zip(header, [c.value for c in report[3]], strict=True))
    assert first["序号"] == 1 and first["报名编号"] == "CQ2023-000001" and first["报名渠道"] == "区县推荐"
    assert first["推荐单位（自荐者）"] == "渝中区" and first["创作单位"] == "重庆大学"
    assert first["作品名称"] == "钱学森的故事" and first["联系电话"] == "023-12345678"
    assert first["视频（链接或文件）"] == "a.mp4" and first["视频SHA-256"] == "ab" * 32
    assert (
        first["视频检查结果"] == "通过"
        and first["提交时间"] == "2024-10-01 10:30"
        and first["状态"] == "已提交"
    )
    assert report.cell(4, 6).value == "已撤回"  # every submission is on the form sheet, with its status
    assert report.max_row == 5

    listing = sheet_rows(book["作品区县推荐表"])
    title = "2023年“弘扬科学家精神，加强作风学风建设”短视频大赛作品区县推荐表"
    assert listing[0][0] == title and listing[1][0] == "推荐单位（盖章）：渝中区"
    assert listing[2][:5] == ["序号", "作品名称", "创作单位", "联系地址", "联系方式"]
    assert listing[3][:5] == [
        1,
        "钱学森的故事",
        "重庆大学",
        "重庆市渝中区1号",
        "王老师，023-12345678，a@b.cn",
    ]
    assert listing[4][0] is None  # the withdrawn work is not recommended: the block ends
    assert listing[5][0] == title and listing[6][0] == "推荐单位（盖章）：万州区"
    assert listing[8][:3] == [1, "三峡科学家", "三峡学院"]


def test_the_state_and_the_unit_tier_are_in_the_consoles_words(contests: ContestRegistry) -> None:
    """Tried: 状态 read “complete” for works the console showed as 通过形式审查 / 退回修改, and
    单位类别 “district_core”."""
    cq = contest_of(contests, CQ)
    passed, returned = (row(cq, "district", n, by="渝中区", status="complete") for n in (1, 2))
    passed.submission.extra.update(review={"decision": "pass"}, recommended_by="terminal:yz")
    returned.submission.extra.update(review={"decision": "return", "items": ["video"]})
    rows = [dataclasses.replace(r, unit_kind="district_core") for r in (passed, returned)]
    report = load_workbook(io.BytesIO(export_xlsx(cq, rows)))["附件3 作品单位报送表"]
    header = [c.value for c in report[2]]
    got = [dict(zip(header, [c.value for c in r], strict=True)) for r in list(report.iter_rows())[2:4]]
    assert [g["状态"] for g in got] == ["通过形式审查", "退回修改"]
    assert got[0]["单位类别"].startswith("渝中区、大渡口区、江北区") and "district" not in got[0]["单位类别"]


def test_national_list_names_the_makers_not_the_recommending_unit(contests: ContestRegistry) -> None:
    tech = contest_of(contests, TECH)
    rows = [
        row(tech, "recommend", 1, by="河北省科学技术厅", authors=["张三", "李四"], unit="河北省科学技术厅"),
        row(tech, "self", 2, by="某公司", recommended=False),
    ]
    book = load_workbook(io.BytesIO(export_xlsx(tech, rows)))
    assert book.sheetnames == ["附件3 作品推荐表", "附件4 作品自荐表", "推荐作品汇总表"]
    listing = sheet_rows(book["推荐作品汇总表"])
    assert listing[0][0] == "2023年度“大美科技特派团”微视频征集活动推荐作品汇总表"
    assert listing[1][0] == "推荐单位（盖章）：河北省科学技术厅"
    assert listing[3][2] == "张三、李四"
    assert len([r for r in listing if r[0] == 1]) == 1  # the self-submitted work is not on the list
    assert book["附件4 作品自荐表"].cell(3, 2).value == "TP2023-000002"


def test_cacsi_has_a_sheet_per_form_with_its_own_columns(contests: ContestRegistry) -> None:
    cacsi = contest_of(contests, CACSI)
    rows = [row(cacsi, "self", 1, by="张老师", recommended=False, track="account", video={})]
    book = load_workbook(io.BytesIO(export_xlsx(cacsi, rows)))
    assert book.sheetnames[:2] == ["附件2 微视频申报表", "附件1 科普号申报表"]
    account = book["附件1 科普号申报表"]
    header = [c.value for c in account[2]]
    assert "粉丝量" in header and "科普号名称" in header and account.cell(3, 2).value == "QK2022-000001"
    assert book["附件2 微视频申报表"].max_row == 2  # headers only: nobody sent a video yet


# -- csv and json ---------------------------------------------------------------------------------


def test_csv_has_a_bom_crlf_and_one_column_per_label(contests: ContestRegistry) -> None:
    tech = contest_of(contests, TECH)
    rows = [
        row(tech, "recommend", 1, by="河北省科学技术厅", title="第一部"),
        row(tech, "self", 2, by="某公司", recommended=False, title="第二部", reason="理由"),
    ]
    data = export_csv(tech, rows)
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    header = table[0]
    assert header.count("名称") == 1 and "推荐理由" in header and "主要创新点" in header and "表格" in header
    records = [dict(zip(header, r, strict=True)) for r in table[1:]]
    assert [r["名称"] for r in records] == ["第一部", "第二部"]
    assert records[0]["推荐理由"] == "" and records[1]["推荐理由"] == "理由"
    assert records[1]["表格"] == "2023年度“大美科技特派团”微视频征集活动作品自荐表"


def test_json_keeps_ids_labels_and_raw_values(contests: ContestRegistry) -> None:
    cas = contest_of(contests, CAS)
    link = {"kind": "share_link", "url": "https://pan.baidu.com/s/1x", "code": "k3p9", "checked": False}
    doc = json.loads(export_json(cas, [row(cas, "recommend", 7, by="甲", title="=1+1", video=link)]))
    [sub] = doc["submissions"]
    assert doc["contest"] == CAS and sub["number"] == "KP2024-000007" and sub["unit"] == "甲"
    fields = {f["id"]: f for f in sub["fields"]}
    assert fields["title"] == {"id": "title", "label": "作品名称", "value": "=1+1"}  # data, not a spreadsheet
    assert (
        sub["video"]["link"] == "https://pan.baidu.com/s/1x 提取码：k3p9"
        and sub["video"]["verdict"] == "未检查"
    )


def test_a_file_video_path_on_the_server_stays_out_of_the_json(contests: ContestRegistry) -> None:
    cas = contest_of(contests, CAS)
    [sub] = json.loads(export_json(cas, [row(cas, "recommend", 1, by="甲")]))["submissions"]
    assert "stored" not in sub["video"] and sub["video"]["sha256"] == "ab" * 32


# -- formula injection ----------------------------------------------------------------------------

DANGEROUS = ['=HYPERLINK("http://evil","点我")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", " =1"]


@pytest.mark.parametrize("text", DANGEROUS)
def test_neutralise_formula_like_text(text: str) -> None:
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("text", ["13800138000", "科学=力量", "a-b", "", "'already"])
def test_plain_text_is_left_alone(text: str) -> None:
    assert neutralise(text) == text


def test_formulas_are_neutralised_in_csv_and_xlsx(contests: ContestRegistry) -> None:
    tech = contest_of(contests, TECH)
    rows = [
        row(tech, "recommend", i, by="@unit", title=text, authors=[text, "李四"], unit="=A1")
        for i, text in enumerate(DANGEROUS, 1)
    ]
    table = list(csv.reader(io.StringIO(export_csv(tech, rows).decode("utf-8-sig"))))
    header = table[0]
    for text, record in zip(DANGEROUS, table[1:], strict=True):
        cells = dict(zip(header, record, strict=True))
        assert cells["名称"] == "'" + text and cells["主创人员（或单位）"] == f"'{text}、李四"
        assert cells["推荐单位（自荐者）"] == "'@unit"
    book = load_workbook(io.BytesIO(export_xlsx(tech, rows)))
    for sheet in book.worksheets:
        for r in sheet.iter_rows():
            for cell in r:
                if isinstance(cell.value, str):
                    assert cell.data_type == "s", (sheet.title, cell.coordinate, cell.value)
                    assert not cell.value.lstrip(" ").startswith(("=", "+", "-", "@", "\t")), cell.value
    assert book["推荐作品汇总表"].cell(2, 1).value == "推荐单位（盖章）：@unit"  # not at the start: safe


def test_control_characters_do_not_break_the_workbook(contests: ContestRegistry) -> None:
    cas = contest_of(contests, CAS)
    book = load_workbook(
        io.BytesIO(export_xlsx(cas, [row(cas, "recommend", 1, by="甲", title="黑洞\x07漫游")]))
    )
    header = [c.value for c in book["附件3 作品推荐表"][2]]
    assert book["附件3 作品推荐表"].cell(3, header.index("作品名称") + 1).value == "黑洞漫游"


def test_render_knows_three_formats(contests: ContestRegistry) -> None:
    cas = contest_of(contests, CAS)
    assert render("json", cas, [])[:1] == b"{" and render("xlsx", cas, [])[:2] == b"PK"
    assert render("csv", cas, []).startswith(b"\xef\xbb\xbf")
    with pytest.raises(ValueError, match="unknown export format"):
        render("pdf", cas, [])


# -- redaction --------------------------------------------------------------------------------------


def test_personal_fields_of_every_form(contests: ContestRegistry) -> None:
    cq = contest_of(contests, CQ)
    assert personal_field_ids(cq.form("unit_report")) == {"address", "contact_name", "email", "phone"}
    cacsi = contest_of(contests, CACSI)
    assert personal_field_ids(cacsi.form("account")) == {"phone", "email", "share_link"}  # 网盘链接地址


def test_visible_submission_hides_personal_data_and_share_codes(contests: ContestRegistry) -> None:
    cas = contest_of(contests, CAS)
    link = {"kind": "share_link", "url": "https://pan.baidu.com/s/1x", "code": "k3p9", "checked": False}
    sub = row(cas, "recommend", 1, by="甲", phone="13800138000", video=link).submission
    stranger = Viewer(UserKey("wechat", "x"), "entrant")
    shown = visible_submission(stranger, sub, cas, holder="unit:甲", unit="甲")
    assert (
        shown["answers"]["phone"] == "（已隐藏）" and shown["video"]["link"] == "https://pan.baidu.com/s/1x"
    )
    assert shown["redacted"] == ["address", "email", "phone"] and shown["unit"] == "甲"
    other_unit = Viewer(UserKey("wechat", "y"), "member", "unit:乙")
    assert visible_submission(other_unit, sub, cas, holder="unit:甲")["answers"]["phone"] == "（已隐藏）"
    for entitled in (Viewer(UserKey("t", "m"), "member", "unit:甲"), Viewer(UserKey("t", "o"), "organiser"),
                     Viewer(OWNER, "entrant")):  # fmt: skip
        full = visible_submission(entitled, sub, cas, holder="unit:甲")
        assert full["answers"]["phone"] == "13800138000" and full["video"]["link"].endswith("提取码：k3p9")
