"""Filled-in forms: every form of every preset, opened again as DOCX (python-docx) and PDF (pypdf).

The labels each test looks for are copied from the notices (``/work/shared/seeds``), in the
notice's order, so a row dropped, renamed or moved fails here, not on an organiser's desk.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import os
import re
import subprocess
import threading
import zipfile
from pathlib import Path
from typing import Any

import docx
import pytest
import yaml
from docx.document import Document as DocxDocument
from docx.table import Table
from docx.text.paragraph import Paragraph
from pypdf import PdfReader

import forms.render
from bot.storage import choose_backend
from contests.editions import new_edition
from contests.records import Submission, UserKey
from contests.registry import ContestRegistry
from contests.rules import LOST_WORDS, Contest, FieldType, Form
from forms.layout import Layout, LayoutError, find_layout, generic_layout, layouts_dir
from forms.pdf import html_to_pdf
from forms.render import RenderedForm, filename_stem, render_district_list, render_form, render_form_async
from forms.sheet import MODELLED_NOTE, FormError, printable
from tests.cli_runner import run_bot

ROOT = Path(__file__).resolve().parents[1]

# --- what the notices print ---------------------------------------------------------------

_NATIONAL_ROWS = [
    "类别",
    "播出时间",
    "主创人员（或单位）",
    "播出平台及网址",
    "联系地址",
    "联系电话",
    "电子邮箱",
]

#: (contest, form) -> the notice's words, in the notice's order.
NOTICE: dict[tuple[str, str], list[str]] = {
    ("most-2023-tech-envoy", "recommend"): [
        "附件3", "2023年度“大美科技特派团”微视频征集活动作品推荐表", "推荐单位：", "序号：", "名称",
        *_NATIONAL_ROWS, "内容简介", "（100字以内）", "主要创新点", "（100字以内）", "传播效果（如点击量等）",
        "（100字以内）", "作者承诺", "本人郑重承诺", "姓名（签字）：", "2023年月日", "单位推荐",
        "单位（盖章）",
        "2023年月日", "注：签字需手写",
    ],
    ("most-2023-tech-envoy", "self"): [
        "附件4", "2023年度“大美科技特派团”微视频征集活动作品自荐表", "自荐机构：", "自荐时间：", "名称",
        "类别",
        "播出时间", "主创人员或机构", "播出平台及网址", "联系地址", "联系电话", "电子邮箱", "作品简介",
        "（100字以内）", "推荐理由", "（100字以内）", "作者承诺", "（100字以内）", "本人（本机构）郑重承诺",
        "作者承诺", "姓名（签字）：", "个人印章", "2023年月日", "自荐机构", "自荐机构（盖章）", "2023年月日",
        "注：签字需手写",
    ],
    ("cq-2023-scientist-spirit", "unit_report"): [
        "附件3", "2023年“弘扬科学家精神，加强作风学风建设”短视频大赛作品单位报送表", "创作单位：", "作品名称",
        "联系地址", "联系人姓名", "电子邮箱", "联系电话", "内容简介及主要创新点", "创作单位诚信承诺",
        "我单位",
        "统一社会信用代码为", "郑重承诺", "法定代表人（签字）：", "承诺单位（盖章）", "2023年月日",
    ],
    ("cq-2023-scientist-spirit", "district_list"): [
        "附件2", "2023年“弘扬科学家精神，加强作风学风建设”短视频大赛作品区县推荐表", "推荐单位（盖章）：",
        "序号", "作品名称", "创作单位", "联系地址", "联系方式", "1", "2", "3", "4", "5",
        "区县科技主管部门推荐意见：", "2023年月日", "说明：请将所有推荐参赛作品的报送表附后。",
    ],
    ("most-cas-2024-kepu", "recommend"): [
        "附件3", "2024年全国科普微视频大赛作品推荐表", "推荐单位：", "序号：", "作品名称", *_NATIONAL_ROWS,
        "内容简介", "（100字以内）", "主要创新点", "（100字以内）", "传播效果（如点击量等）", "（100字以内）",
        "作者承诺", "姓名（签字）：", "2024年月日", "单位推荐", "单位（盖章）", "2024年月日",
        "注：签字需手写",
        MODELLED_NOTE,
    ],
    ("most-cas-2024-kepu", "self"): [
        "附件4", "2024年全国科普微视频大赛作品自荐表", "自荐机构（个人）：", "序号：", "作品名称",
        *_NATIONAL_ROWS,
        "内容简介", "（100字以内）", "主要创新点", "（100字以内）", "传播效果（如点击量等）", "（100字以内）",
        "作者承诺", "姓名（签字）：", "2024年月日", "自荐机构", "自荐机构（盖章）", "2024年月日",
        "注：签字需手写",
        MODELLED_NOTE,
    ],
    ("hlj-2022-kepu", "recommend"): [
        "附件1", "2022年黑龙江省优秀科普微视频作品推荐表", "推荐单位（盖章）：", "序号：", "作品名称",
        *_NATIONAL_ROWS,
        "内容简介", "（100字以内）", "主要创新点", "（100字以内）", "传播效果（点击量等）", "（100字以内）",
        "作者承诺", "本人承诺：", "签名（手写签字）：", "2022年月日", "单位推荐", "单位（盖章）",
        "2022年月日",
        "注：1.联系地址及电话请务必仔细填写，后期证书邮寄将以此为依据；",
        "2.单位推荐需加盖公章，个人自荐需手写签字。",
    ],
    ("hlj-2022-kepu", "self"): [
        "附件2", "2022年黑龙江省优秀科普微视频作品自荐表", "自荐机构（个人）：", "序号：", "作品名称",
        *_NATIONAL_ROWS,
        "内容简介（100字以内）", "主要创新点（100字以内）", "传播效果（点击量等）（100字以内）", "作者承诺",
        "本人承诺：", "签名（手写签字）：", "2022年月日", "自荐机构", "自荐机构（盖章）", "2022年月日",
        "注：1.联系地址及电话请务必仔细填写，后期证书邮寄将以此为依据；",
        "2.单位推荐需加盖公章，个人自荐需手写签字。",
    ],
    ("cacsi-2022-youth", "video"): [
        "附件2", "2022年青少年科技教育活动微视频申报表", "单位名称（申报人）", "是否为会员", "微视频名称",
        "类别（专业领域）", "播出时间", "主创人员（或单位）", "（注明人员工作或学习单位及职务）",
        "报送材料网盘链接地址（百度网盘）：", "联系电话", "电子邮箱", "内容简介", "（300字以内）", "作者承诺",
        "本人（本单位）郑重承诺", "姓名（签字）：", "单位（盖章）：", "2022年月日", "推荐单位",
        "单位（盖章）：",
        "2022年月日", "注：签字须手写",
    ],
    ("cacsi-2022-youth", "account"): [
        "附件1", "2022年青少年科技教育活动科普号申报表", "科普号名称", "所属单位（团队、个人）",
        "（如以单位为主体注册，需单位盖章；如以团队或个人为主体注册，则无需盖章。）", "负责人（签名）：",
        "年月日",
        "（单位盖章）", "主要负责人信息", "姓名", "工作单位", "职务", "职称", "专业领域", "粉丝量",
        "联系电话", "邮箱",
        "主要从事科普创作经历、主要成绩", "报送材料网盘链接地址（百度网盘）：", "推荐单位意见", "年月日",
        "推荐单位（盖章）",
    ],
}  # fmt: skip

ALL_FORMS = sorted(NOTICE)

# 100 different characters, so that a cut or a wrapped line that loses one is noticed.
HANZI = (
    "春夏秋冬东南西北山川河海日月星辰风雨雷电花草树木鸟兽虫鱼金水火土天地人和声光热力磁原子分细胞基因蛋白"
    "质量速度时间宇宙银恒行卫彗流黑洞引波谱望远镜显微生物化学反应催熟种苗根茎叶果实壳岩浆冰雪云雾露霜虹霞"
)
assert len(HANZI) == len(set(HANZI)) == 100


def squash(text: str) -> str:
    """Text without any whitespace: PDF extraction breaks lines where a cell wraps."""
    return re.sub(r"\s+", "", text)


def entrant_values(contest: Contest, form: Form) -> dict[str, Any]:
    """One distinct answer per field, as the dialog stores it; 100字 cells filled to the limit."""
    values: dict[str, Any] = {}
    for n, fld in enumerate(form.fields):
        tag = f"{n:02d}"
        match fld.type:
            case FieldType.PEOPLE:
                values[fld.id] = [f"张{tag}", f"李{tag}（某大学 教授）", "王五工作室"]
            case FieldType.DATE:
                values[fld.id] = f"{contest.year}-0{n % 9 + 1}-1{n % 9}"
            case FieldType.PHONE:
                values[fld.id] = f"0451-519205{tag}"
            case FieldType.EMAIL:
                values[fld.id] = f"field{tag}@example.cn"
            case FieldType.USCC:
                values[fld.id] = "91500000MA5U7KXQ3B"
            case FieldType.URL:
                values[fld.id] = f"https://pan.baidu.com/s/1Ab{tag}Cd?pwd=k3p9"
            case FieldType.INTEGER:
                values[fld.id] = 12000 + n
            case FieldType.CHOICE:
                values[fld.id] = fld.options[-1]
            case FieldType.PLEDGE:
                values[fld.id] = "同意"
            case _ if fld.must_contain_url:
                values[fld.id] = f"哔哩哔哩 https://www.bilibili.com/video/BV{tag}xx411c7mD"
            case _ if fld.max_chars:
                text = (HANZI[n:] + HANZI[:n]) * (fld.max_chars // 100 + 1)
                values[fld.id] = text[: fld.max_chars]
            case _:
                values[fld.id] = f"{fld.label[:6]}答案{tag}"
    return values


def shown(contest: Contest, form: Form, values: dict[str, Any]) -> list[str]:
    """The words each value must appear as: names joined with 、, dates in Chinese."""
    layout = find_layout(contest, form)
    out = []
    for fld in form.fields:
        value = values.get(fld.id)
        if fld.id in layout.omit or value is None or fld.type is FieldType.PLEDGE:
            continue
        if isinstance(value, list):
            out.append("、".join(value))
        elif fld.type is FieldType.DATE:
            y, m, d = (int(p) for p in str(value).split("-"))
            out.append(f"{y}年{m}月{d}日")
        else:
            out.append(str(value))
    return out


def pledge_texts(contest: Contest, form: Form, values: dict[str, Any]) -> list[str]:
    """The commitment word for word, with the blanks the notice leaves filled in (cq)."""
    texts = []
    for fld in form.fields:
        if fld.type is FieldType.PLEDGE:
            text = fld.text.replace("（填写单位全称）", str(values.get("unit", "（填写单位全称）")), 1)
            texts.append(text.replace("____", str(values.get("uscc", "____")), 1))
    return texts


# --- reading the outputs back --------------------------------------------------------------


def docx_text(data: bytes) -> str:
    """The DOCX's words in reading order: paragraphs and table cells (a merged cell once)."""
    document: DocxDocument = docx.Document(io.BytesIO(data))
    parts: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            parts.append(block.text)
        elif isinstance(block, Table):
            for row in block.rows:
                seen: set[int] = set()
                for cell in row.cells:
                    if id(cell._tc) not in seen:
                        seen.add(id(cell._tc))
                        parts.append(cell.text)
    return "\n".join(parts)


def pdf_pages(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def pdf_fonts(data: bytes) -> dict[str, bool]:
    """Font name -> whether its program is embedded."""
    found = {}
    for page in PdfReader(io.BytesIO(data)).pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            descriptor = descendant["/FontDescriptor"].get_object()
            found[str(font["/BaseFont"])] = any(
                k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")
            )
    return found


def assert_in_order(haystack: str, needles: list[str], what: str) -> None:
    flat, pos = squash(haystack), 0
    for needle in needles:
        at = flat.find(squash(needle), pos)
        assert at >= 0, f"{what}: {needle!r} missing after position {pos}:\n{flat[pos : pos + 300]}"
        pos = at + len(squash(needle))


@pytest.fixture(scope="module")
def registry() -> ContestRegistry:
    return ContestRegistry.load()


@pytest.fixture(scope="module")
def filled(registry: ContestRegistry) -> dict[tuple[str, str], tuple[dict[str, Any], RenderedForm]]:
    """Every form of every preset, rendered once for the module."""
    out = {}
    for contest_id, form_id in ALL_FORMS:
        contest = registry.get(contest_id)
        assert contest is not None
        values = entrant_values(contest, contest.form(form_id))
        number = f"{contest.number_prefix}-000042"
        out[contest_id, form_id] = (
            values,
            render_form(contest, form_id, values, number=number, verify_code="7KQ2-M9XD"),
        )
    return out


def test_every_preset_form_is_covered(registry: ContestRegistry) -> None:
    assert {(c.id, f.id) for c in registry for f in c.forms} == set(NOTICE)


@pytest.mark.parametrize(("contest_id", "form_id"), ALL_FORMS)
def test_form_shows_the_notice_rows_in_order_and_every_value(
    registry: ContestRegistry,
    filled: dict[tuple[str, str], tuple[dict[str, Any], RenderedForm]],
    contest_id: str,
    form_id: str,
) -> None:
    contest = registry.get(contest_id)
    assert contest is not None
    form = contest.form(form_id)
    values, rendered = filled[contest_id, form_id]
    pages = pdf_pages(rendered.pdf)
    assert len(pages) == 1, "the notice's form is one page"
    assert rendered.filename_stem == f"{contest.number_prefix}-000042_{form.title}"
    for name, text in (("docx", docx_text(rendered.docx)), ("pdf", pages[0])):
        assert_in_order(text, NOTICE[contest_id, form_id], f"{name} labels")
        flat = squash(text)
        for value in shown(contest, form, values):
            assert squash(value) in flat, f"{name}: value {value!r} missing"
        for pledge in pledge_texts(contest, form, values):
            assert squash(pledge) in flat, f"{name}: commitment not word for word"
        assert f"报名编号：{contest.number_prefix}-000042" in flat, name
        assert "校验码：7KQ2-M9XD" in flat, name
        assert "None" not in flat


def test_the_envoy_pledge_marks_its_lost_words_in_bold_on_the_printed_form(
    filled: dict[tuple[str, str], tuple[dict[str, Any], RenderedForm]],
) -> None:
    """The notice's pledge reads 许可其在土动分发平台: words are lost between 在土 and 动分发平台.
    The dialog said so; the printed form must too, or the entrant signs a broken sentence."""
    _values, rendered = filled["most-2023-tech-envoy", "recommend"]
    assert "在土〔原文此处缺字〕动分发平台" in squash(pdf_pages(rendered.pdf)[0])
    runs = [
        run
        for table in docx.Document(io.BytesIO(rendered.docx)).tables
        for row in table.rows
        for cell in row.cells
        for para in cell.paragraphs
        for run in para.runs
    ]
    marks = [run for run in runs if run.text == LOST_WORDS]
    assert marks and all(run.bold for run in marks)
    assert not any("在土动分发平台" in run.text for run in runs)


@pytest.mark.parametrize(("contest_id", "form_id"), ALL_FORMS)
def test_hundred_character_cells_hold_all_hundred(
    registry: ContestRegistry,
    filled: dict[tuple[str, str], tuple[dict[str, Any], RenderedForm]],
    contest_id: str,
    form_id: str,
) -> None:
    contest = registry.get(contest_id)
    assert contest is not None
    values, rendered = filled[contest_id, form_id]
    long = [values[f.id] for f in contest.form(form_id).fields if f.max_chars == 100]
    for value in long:
        assert len(value) == 100
        assert value in docx_text(rendered.docx)  # the DOCX keeps a cell's text in one run
        assert value in squash(pdf_pages(rendered.pdf)[0])


def test_pdf_embeds_its_cjk_fonts_and_is_a4(
    filled: dict[tuple[str, str], tuple[dict[str, Any], RenderedForm]],
) -> None:
    _values, rendered = filled["hlj-2022-kepu", "recommend"]
    fonts = pdf_fonts(rendered.pdf)
    assert any("Noto-Serif-CJK-SC" in name for name in fonts)
    assert all(fonts.values()), fonts
    box = PdfReader(io.BytesIO(rendered.pdf)).pages[0].mediabox
    assert (round(float(box.width) * 25.4 / 72), round(float(box.height) * 25.4 / 72)) == (210, 297)
    section = docx.Document(io.BytesIO(rendered.docx)).sections[0]
    assert section.page_width is not None and section.page_height is not None
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)


def test_qr_code_ties_the_paper_to_the_submission(
    filled: dict[tuple[str, str], tuple[dict[str, Any], RenderedForm]],
) -> None:
    _values, rendered = filled["most-cas-2024-kepu", "recommend"]
    assert rendered.sheet.qr_text == "KEPU:KP2024-000042:7KQ2-M9XD"
    assert 'alt="KEPU:KP2024-000042:7KQ2-M9XD"' in rendered.html
    with zipfile.ZipFile(io.BytesIO(rendered.docx)) as z:
        assert [n for n in z.namelist() if n.startswith("word/media/") and n.endswith(".png")]


def test_a_form_without_number_carries_no_code_or_qr(registry: ContestRegistry) -> None:
    contest = registry.get("hlj-2022-kepu")
    assert contest is not None
    rendered = render_form(contest, "self", {})
    assert rendered.sheet.qr_text is None
    assert "报名编号" not in squash(pdf_pages(rendered.pdf)[0])
    with zipfile.ZipFile(io.BytesIO(rendered.docx)) as z:
        assert not [n for n in z.namelist() if n.startswith("word/media/")]


def test_modelled_forms_say_so_and_reproduced_ones_do_not(
    filled: dict[tuple[str, str], tuple[dict[str, Any], RenderedForm]],
) -> None:
    for (contest_id, _form), (_values, rendered) in filled.items():
        has_note = squash(MODELLED_NOTE) in squash(pdf_pages(rendered.pdf)[0])
        assert has_note == (contest_id == "most-cas-2024-kepu"), contest_id


HOSTILE = {
    "title": "{{ 7*7 }}{% if true %}X{% endif %}<script>alert('x')</script>",
    "unit": "A&B <b>粗体</b> \"引号\" 'single' &amp; &lt;",
    "authors": ["\u202eevil.exe", "名字\u200f", "😀🇨🇳 张三"],
    "summary": "铃声\x07与零字节\x00：]]><![CDATA[ ${x} #{y} \\n",
}


def test_hostile_text_is_printed_exactly_as_typed(registry: ContestRegistry) -> None:
    contest = registry.get("hlj-2022-kepu")
    assert contest is not None
    rendered = render_form(contest, "recommend", HOSTILE, number="HLJ2022-000001")
    expected = [
        "{{ 7*7 }}{% if true %}X{% endif %}<script>alert('x')</script>",
        "A&B <b>粗体</b> \"引号\" 'single' &amp; &lt;",
        "[U+202E]evil.exe、名字[U+200F]、😀🇨🇳 张三",  # bidi controls shown, never obeyed
        "铃声[U+0007]与零字节[U+0000]：]]><![CDATA[ ${x} #{y} \\n",
    ]
    text = docx_text(rendered.docx)
    pdf = squash(pdf_pages(rendered.pdf)[0])
    for value in expected:
        assert value in text
        assert squash(value) in pdf
    for output in (text, pdf):
        assert "49" not in output.replace("0451", "")  # the template never ran the value
        assert "\u202e" not in output and "\x07" not in output
    # Escaped on the way out: the markup of a value is text in the HTML and the DOCX XML.
    assert "<script>" not in rendered.html and "&lt;script&gt;" in rendered.html
    with zipfile.ZipFile(io.BytesIO(rendered.docx)) as z:
        xml = z.read("word/document.xml").decode()
    assert "<script>" not in xml and "&lt;script&gt;" in xml
    assert "Noto-Color-Emoji" in "".join(pdf_fonts(rendered.pdf))  # the emoji are drawn, not boxes


def test_printable_shows_invisible_controls_and_keeps_the_rest() -> None:
    assert printable("a\r\nb\rc\td") == "a\nb\nc\td"
    assert printable("\u202e\u2066\x1b\ud800") == "[U+202E][U+2066][U+001B][U+D800]"
    assert printable("👨\u200d👩\u200d👧 é") == "👨\u200d👩\u200d👧 é"  # joiners of emoji stay


def test_pdf_renderer_fetches_nothing_from_outside(tmp_path: Path) -> None:
    css = tmp_path / "leak.css"
    css.write_text('body::before { content: "LEAKED-FILE" }', encoding="utf-8")
    secret = tmp_path / "secret.svg"
    secret.write_text("<svg xmlns='http://www.w3.org/2000/svg'><text>LEAKED-SVG</text></svg>")
    html = (
        f'<html><head><link rel="stylesheet" href="{css.as_uri()}"></head>'
        f'<body><p>正文</p><img src="{secret.as_uri()}"></body></html>'
    )
    text = pdf_pages(html_to_pdf(html))[0]
    assert "正文" in text and "LEAKED" not in text


def test_missing_values_leave_blank_cells(registry: ContestRegistry) -> None:
    contest = registry.get("cq-2023-scientist-spirit")
    assert contest is not None
    rendered = render_form(contest, "unit_report", {"title": "只填了名称"})
    text = squash(docx_text(rendered.docx))
    assert "只填了名称" in text
    # The notice's instructions stand where the answers are missing; no "None" anywhere.
    assert "创作单位：（填写作品报送单位全称）" in text
    assert "我单位（填写单位全称）（统一社会信用代码为____" in text
    assert "None" not in text and "None" not in squash(pdf_pages(rendered.pdf)[0])


def test_unknown_field_ids_are_refused_by_name(registry: ContestRegistry) -> None:
    contest = registry.get("hlj-2022-kepu")
    assert contest is not None
    with pytest.raises(FormError, match="titel"):
        render_form(contest, "recommend", {"titel": "拼错的字段"})
    with pytest.raises(FormError, match="nosuch"):
        render_form(contest, "nosuch", {})
    with pytest.raises(FormError, match="summary"):
        render_form(contest, "recommend", {"summary": {"nested": "dict"}})


def test_district_list_is_built_from_the_units_submissions(registry: ContestRegistry) -> None:
    contest = registry.get("cq-2023-scientist-spirit")
    assert contest is not None
    unit_form = contest.form("unit_report")
    subs = []
    for n in range(1, 4):
        answers = entrant_values(contest, unit_form)
        answers.update(
            title=f"作品{n}号", unit=f"第{n}创作单位", address=f"渝北区{n}号路", contact_name=f"联系人{n}"
        )
        answers["phone"] = f"023-6000000{n}"
        subs.append(
            Submission(
                f"CQ2023-00000{n}", contest.id, UserKey("terminal", str(n)), "district", "unit_report",
                answers, {}, dt.datetime(2023, 6, 1, tzinfo=dt.UTC),
            )
        )  # fmt: skip
    rendered = render_district_list(contest, "重庆市渝北区科学技术局", subs, opinion="同意推荐。")
    for text in (docx_text(rendered.docx), pdf_pages(rendered.pdf)[0]):
        assert_in_order(text, NOTICE[contest.id, "district_list"][:3], "heading")
        assert "推荐单位（盖章）：重庆市渝北区科学技术局" in squash(text)
        assert_in_order(
            text,
            [
                "1", "CQ2023-000001", "作品1号", "第1创作单位", "渝北区1号路", "联系人1", "023-60000001",
                "2", "CQ2023-000002", "作品2号", "3", "作品3号", "联系人3", "4", "5",
                "区县科技主管部门推荐意见：", "同意推荐。",
            ],
            "rows",
        )  # fmt: skip
    too_many = [subs[0]] * 6
    with pytest.raises(FormError, match="5"):
        render_district_list(contest, "渝北区", too_many)
    other = Submission(
        "KP2024-000001", "most-cas-2024-kepu", UserKey("t", "1"), "self", "self", {}, {}, subs[0].created_at
    )
    with pytest.raises(FormError, match="KP2024-000001"):
        render_district_list(contest, "渝北区", [other])


async def test_render_form_async_renders_in_a_worker_thread(
    registry: ContestRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    contest = registry.get("hlj-2022-kepu")
    assert contest is not None
    threads: list[int] = []
    real = forms.render.render_form

    def spy(*args: Any, **kwargs: Any) -> RenderedForm:
        threads.append(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(forms.render, "render_form", spy)
    rendered = await render_form_async(contest, "self", {"title": "异步"}, number="HLJ2022-000007")
    assert threads and threads[0] != threading.get_ident()
    assert "异步" in docx_text(rendered.docx)
    # Two at once: both finish (PDF renders are serialised inside, never interleaved).
    a, b = await asyncio.gather(
        render_form_async(contest, "self", {"title": "甲"}),
        render_form_async(contest, "recommend", {"title": "乙"}),
    )
    assert "甲" in pdf_pages(a.pdf)[0] and "乙" in pdf_pages(b.pdf)[0]


def test_every_preset_form_has_its_notice_layout(registry: ContestRegistry) -> None:
    for contest in registry:
        for form in contest.forms:
            layout = find_layout(contest, form)
            assert layout != generic_layout(form), (contest.id, form.id)
            layout.check(form)


def test_a_new_edition_keeps_the_notice_layout(registry: ContestRegistry) -> None:
    source = registry.get("hlj-2022-kepu")
    assert source is not None
    edition = Contest.model_validate(new_edition(source, "hlj-2099-kepu", dt.date(2099, 5, 9)))
    assert find_layout(edition, edition.form("recommend")) == find_layout(source, source.form("recommend"))
    rendered = render_form(edition, "recommend", {"title": "新一届"})
    assert_in_order(
        pdf_pages(rendered.pdf)[0], ["2099年黑龙江省优秀科普微视频作品推荐表", "新一届", "2099年月日"], "pdf"
    )


def test_a_changed_form_falls_back_to_a_plain_table(
    registry: ContestRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    source = registry.get("hlj-2022-kepu")
    assert source is not None
    data = source.model_dump(mode="json")
    data["forms"][0]["fields"].append({"id": "extra_cell", "label": "新增栏目"})
    changed = Contest.model_validate(data)
    form = changed.form("recommend")
    with pytest.raises(LayoutError, match="extra_cell"):
        find_layout(source, source.form("recommend")).check(form)
    layout = find_layout(changed, form)
    assert layout == generic_layout(form)
    assert "extra_cell" in caplog.text
    rendered = render_form(changed, "recommend", {"extra_cell": "新栏目的答案", "title": "标题"})
    text = docx_text(rendered.docx)
    assert_in_order(text, ["作品名称", "标题", "新增栏目", "新栏目的答案", "签名（手写签字）"], "generic")


def test_layout_files_are_valid_and_name_their_notice(registry: ContestRegistry) -> None:
    paths = sorted(layouts_dir().glob("*.yaml"))
    assert {p.stem for p in paths} == {c.id for c in registry}
    for path in paths:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        contest = registry.get(path.stem)
        assert contest is not None and raw["contest"] == contest.id
        assert raw["seed"] == contest.notice.seed  # how a new edition finds its notice's forms
        assert set(raw["forms"]) == {f.id for f in contest.forms}
        for layout in raw["forms"].values():
            Layout.model_validate(layout)


def test_file_names_are_safe() -> None:
    form = Form.model_validate(
        {"id": "x1", "title": '../a/b:c*?"<>|表', "fields": [{"id": "t", "label": "t"}]}
    )
    stem = filename_stem(form, "KP2024-000001")
    assert "/" not in stem and ":" not in stem and not stem.startswith(".")
    assert stem.startswith("KP2024-000001_") and stem.endswith("表")


# --- the command line ----------------------------------------------------------------------


def cli(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return run_bot(args, env={"BOT_DATA_DIR": str(cwd / "data"), **env}, cwd=cwd)


def test_cli_render_form_writes_docx_and_pdf(tmp_path: Path) -> None:
    data = tmp_path / "answers.json"
    data.write_text(json.dumps({"title": "命令行作品", "authors": ["张三", "李四"]}, ensure_ascii=False))
    out = tmp_path / "out"
    args = ["render-form", "--contest", "hlj-2022-kepu", "--form", "recommend", "--data", str(data)]
    result = cli([*args, "--out", str(out), "--number", "HLJ2022-000009"], tmp_path)
    assert result.returncode == 0, result.stderr
    written = sorted(p.name for p in out.iterdir())
    assert written == [
        "HLJ2022-000009_2022年黑龙江省优秀科普微视频作品推荐表.docx",
        "HLJ2022-000009_2022年黑龙江省优秀科普微视频作品推荐表.pdf",
    ]
    pdf = (out / written[1]).read_bytes()
    assert "命令行作品" in pdf_pages(pdf)[0] and "张三、李四" in docx_text((out / written[0]).read_bytes())
    assert re.search(r"校验码：[0-9A-Z]{4}-[0-9A-Z]{4}", pdf_pages(pdf)[0])
    assert oct((tmp_path / "data" / "receipt-signing-key.pem").stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize(
    ("args", "data", "message"),
    [
        (["--contest", "nope", "--form", "self"], "{}", "没有找到大赛"),
        (["--contest", "hlj-2022-kepu", "--form", "nope"], "{}", "没有表"),
        (["--contest", "hlj-2022-kepu", "--form", "self"], "{not json", "不是有效的 JSON"),
        (["--contest", "hlj-2022-kepu", "--form", "self"], "[1, 2]", "JSON 对象"),
        (["--contest", "hlj-2022-kepu", "--form", "self"], '{"titel": "x"}', "titel"),
    ],
)
def test_cli_render_form_refuses_bad_input_with_exit_2(
    tmp_path: Path, args: list[str], data: str, message: str
) -> None:
    path = tmp_path / "data.json"
    path.write_text(data, encoding="utf-8")
    result = cli(["render-form", *args, "--data", str(path), "--out", str(tmp_path / "out")], tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert not (tmp_path / "out").exists()


def test_cli_render_form_builds_a_district_list_from_the_store(tmp_path: Path) -> None:
    async def seed() -> list[str]:
        storage, isolation = await choose_backend(data_dir=tmp_path / "data", redis_url=None).open_storage()
        try:
            numbers = []
            for n in (1, 2):
                made = await storage.create_submission(
                    prefix="CQ2023",
                    contest_id="cq-2023-scientist-spirit",
                    user=UserKey("terminal", f"unit{n}"),
                    channel_id="district",
                    form_id="unit_report",
                    answers={
                        "unit": f"第{n}单位",
                        "title": f"库中作品{n}",
                        "address": "渝北区",
                        "phone": "023-1",
                    },
                    video={},
                    now=dt.datetime(2023, 6, 1, tzinfo=dt.UTC),
                )
                numbers.append(made.number)
            return numbers
        finally:
            await isolation.close()
            await storage.close()

    numbers = asyncio.run(seed())
    data = tmp_path / "district.json"
    data.write_text(json.dumps({"unit": "渝北区科技局", "opinion": "同意推荐"}, ensure_ascii=False))
    args = ["render-form", "--contest", "cq-2023-scientist-spirit", "--form", "district_list"]
    args += ["--data", str(data), "--out", str(tmp_path / "out"), "--submissions", ",".join(numbers)]
    result = cli(args, tmp_path)
    assert result.returncode == 0, result.stderr
    pdf = next((tmp_path / "out").glob("*.pdf")).read_bytes()
    assert_in_order(
        pdf_pages(pdf)[0], ["渝北区科技局", "库中作品1", "第1单位", "库中作品2", "同意推荐"], "list"
    )
    missing = cli([*args[:-1], "CQ2023-000099"], tmp_path)
    assert missing.returncode == 2 and "CQ2023-000099" in missing.stderr


async def test_the_drawing_process_draws_each_contest_it_is_sent(
    registry: ContestRegistry, tmp_path: Path
) -> None:
    """Contests travel to the drawing process pickled once each; none may stand in for another."""
    from forms.paperwork import Paperwork
    from forms.receipts import ReceiptSettings, load_signing_key

    work = Paperwork(load_signing_key(tmp_path, ReceiptSettings()))
    try:
        for contest_id in ["most-cas-2024-kepu", "hlj-2022-kepu", "most-cas-2024-kepu"]:
            contest = registry.get(contest_id)
            assert contest is not None
            form = contest.forms[0]
            values = entrant_values(contest, form)
            pdf, docx_doc = await work.form_documents(
                contest, form.id, values, f"{contest.number_prefix}-000007"
            )
            text = squash("".join(pdf_pages(pdf.read())))
            assert squash(form.title) in text, contest_id
            assert f"{contest.number_prefix}-000007" in text
            assert docx_doc.filename.endswith(".docx")
    finally:
        await work.aclose()


async def test_drawn_documents_are_private_files_and_old_ones_are_swept(
    registry: ContestRegistry, tmp_path: Path
) -> None:
    """The drawing process leaves the documents as files (0600) in the folder it is given,
    removing files left there hours ago; closing the pool keeps what the channels may link."""
    from forms.paperwork import KEEP_DRAWN_SECONDS, Paperwork
    from forms.receipts import ReceiptSettings, load_signing_key

    folder = tmp_path / "drawn"
    folder.mkdir(mode=0o700)
    stale, fresh = folder / "old.pdf", folder / "recent.pdf"
    for leftover in (stale, fresh):
        leftover.write_bytes(b"%PDF-old")
    old = dt.datetime.now().timestamp() - KEEP_DRAWN_SECONDS - 60
    os.utime(stale, (old, old))
    contest = registry.get("hlj-2022-kepu")
    assert contest is not None
    form = contest.forms[0]
    work = Paperwork(load_signing_key(tmp_path, ReceiptSettings()), folder=folder)
    try:
        pdf, word = await work.form_documents(
            contest, form.id, entrant_values(contest, form), "HLJ2022-000003"
        )
    finally:
        await work.aclose()
    for doc, magic in ((pdf, b"%PDF-"), (word, b"PK\x03\x04")):
        path = Path(doc.path)
        assert path.parent == folder and doc.content == b""
        assert path.stat().st_mode & 0o777 == 0o600
        assert doc.read().startswith(magic)
    assert "HLJ2022-000003" in "".join(pdf_pages(pdf.read()))
    assert not stale.exists() and fresh.exists()
