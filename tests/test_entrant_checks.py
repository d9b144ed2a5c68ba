"""Who may enter, as the notices say it, checked in the dialog: a person is no 创作单位 (cq) and
no 自荐机构 where only units or organisations nominate themselves (tech-envoy); a person who
nominates themselves is the work's first maker (hlj, most-cas)."""

from __future__ import annotations

import datetime as dt

import pytest

from contests.ports import EventIsolation, Storage
from contests.records import UserKey
from contests.registry import ContestRegistry
from contests.rules import Contest
from dialogs.engine import DialogEngine
from handlers.submit import SubmitHandler
from tests.conftest import ChatDriver, Clock, valid_answer
from validators.fields import TITLE_MAX_CHARS, check_answer, max_chars_of, unquoted_title
from validators.requirements import person_as_unit, self_not_first_maker
from validators.text import Invalid, Valid


async def open_chat(
    contests: ContestRegistry, engine: DialogEngine, store: tuple[Storage, EventIsolation], contest_id: str
) -> tuple[ChatDriver, Contest]:
    """A chat with ``contest_id`` open (its deadline's noon)."""
    contest = contests.get(contest_id)
    assert contest is not None
    now = dt.datetime.combine(contest.deadline, dt.time(12), contest.closes_at().tzinfo)
    handler = SubmitHandler(engine, store[0], clock=Clock(now))
    return ChatDriver(handler, UserKey("terminal", "entrant"), store[1]), contest


async def fill(
    chat: ChatDriver, contest: Contest, channel_id: str, answers: dict[str, str], *, upto: str
) -> str:
    """Start, choose ``channel_id`` and answer each field (``answers`` or a valid one) until the
    field ``upto`` is answered; returns the reply to that answer."""
    text = await chat.start(hint=contest.id)
    channel = contest.channel(channel_id)
    if len(contest.channels) > 1:
        text = await chat.say(channel.label)
    for fld in contest.form(channel.forms["work"]).fields:
        assert f"「{fld.label}」" in text, (fld.id, text)
        text = await chat.say(answers.get(fld.id, valid_answer(fld, contest)))
        if fld.id == upto:
            return text
    raise AssertionError(f"no field {upto}")


async def test_a_person_is_no_creating_unit(
    contests: ContestRegistry, engine: DialogEngine, sqlite_store: tuple[Storage, EventIsolation]
) -> None:
    # cq: "创作单位为在渝企业、本科院校、科研院所" (tester: 李雷 was taken as 创作单位).
    chat, contest = await open_chat(contests, engine, sqlite_store, "cq-2023-scientist-spirit")
    text = await fill(chat, contest, "district", {"unit": "李雷"}, upto="unit")
    assert "“李雷”像是个人的姓名" in text and "「创作单位」要填写单位的全称" in text
    assert "通知规定：创作单位（在渝企业、本科院校、科研院所），以创作单位的名义参加。" in text
    assert "unit" not in ((await chat.draft()) or {})["answers"]
    # A unit's name is taken; a short one that reads as a person's is taken after "答：".
    assert "请填写「作品名称」" in await chat.say("答：华为")
    assert ((await chat.draft()) or {})["answers"]["unit"] == "华为"


def test_which_unit_cells_refuse_a_person(contests: ContestRegistry) -> None:
    def refused(contest_id: str, form_id: str, typed: str) -> str | None:
        contest = contests.get(contest_id)
        assert contest is not None
        fld = next(f for f in contest.form(form_id).fields if f.role == "unit")
        found = person_as_unit(fld, typed, contest)
        return None if found is None else str(found.params["rule"])

    assert refused("hlj-2022-kepu", "recommend", "张伟") == ""  # a 推荐单位 is a unit: nothing to quote
    assert refused("most-cas-2024-kepu", "recommend", "王小二（个人）") == ""
    assert "可由单位或组织（需加盖公章）自荐" in str(refused("most-2023-tech-envoy", "self", "李雷"))
    for place in ("新疆兵团", "北京市", "海淀区", "河北科技", "深圳"):  # a 推荐单位 named by its place
        assert refused("most-cas-2024-kepu", "recommend", place) is None, place
    assert refused("cq-2023-scientist-spirit", "unit_report", "重庆大学") is None
    assert refused("cq-2023-scientist-spirit", "unit_report", "重庆某某科技有限公司") is None
    # Cells a person may fill: 自荐机构（个人）, 单位名称（申报人）, 所属单位（团队、个人）.
    assert refused("hlj-2022-kepu", "self", "李小龙") is None
    assert refused("cacsi-2022-youth", "video", "李小龙") is None
    assert refused("cacsi-2022-youth", "account", "李小龙") is None


async def test_only_units_and_organisations_nominate_themselves_in_tech_envoy(
    contests: ContestRegistry, engine: DialogEngine, sqlite_store: tuple[Storage, EventIsolation]
) -> None:
    # "可由单位或组织（需加盖公章）自荐1部作品" (tester: a person was taken as 自荐机构).
    chat, contest = await open_chat(contests, engine, sqlite_store, "most-2023-tech-envoy")
    text = await fill(chat, contest, "self", {"unit": "王小二（个人，独立视频制作人）"}, upto="unit")
    assert "“王小二（个人，独立视频制作人）”是个人：「自荐机构」要填写单位的全称" in text
    rule = "可由单位或组织（需加盖公章）自荐1部作品。个人不能自荐。"  # the route's description, quoted
    assert "通知规定：为激励社会各界积极参与微视频创作" in text and rule in text
    assert "个人不能自荐" in text and "答：" not in text  # it says it is a person's: no way round
    assert "unit" not in ((await chat.draft()) or {})["answers"]
    assert "个人不能自荐" in await chat.say("答：王小二（个人）")
    assert "请填写「自荐时间」" in await chat.say("王小二影视工作室")


@pytest.mark.parametrize("contest_id", ["hlj-2022-kepu", "most-cas-2024-kepu"])
async def test_a_person_nominating_themselves_is_the_first_maker(
    contest_id: str,
    contests: ContestRegistry,
    engine: DialogEngine,
    sqlite_store: tuple[Storage, EventIsolation],
) -> None:
    # "多人参与制作的…只能由/须由第一制作人自荐" (tester: 李小龙 second of 王大锤、李小龙 was taken).
    chat, contest = await open_chat(contests, engine, sqlite_store, contest_id)
    text = await fill(chat, contest, "self", {"unit": "李小龙", "authors": "王大锤、李小龙"}, upto="authors")
    assert "个人自荐须由第一制作人本人自荐。通知规定：自荐个人" in text and "第一制作人自荐" in text
    assert "自荐机构应为" not in text  # the clause about persons only
    assert "的第一位是“王大锤”，自荐人“李小龙”排第2位" in text
    assert "把“李小龙”写在第一位" in text and "修改 自荐机构（个人）" in text
    assert "authors" not in ((await chat.draft()) or {})["answers"]
    assert "请填写「播出平台及网址」" in await chat.say("李小龙、王大锤")
    # Changed afterwards, the 自荐 person is checked against the 主创人员 now known.
    await chat.say("修改 自荐机构（个人）")
    text = await chat.say("王大锤（个人）")
    assert "的第一位是“李小龙”，自荐人“王大锤”排第2位" in text and "请填写第一制作人“李小龙”" in text
    assert ((await chat.draft()) or {})["answers"]["unit"] == "李小龙"
    text = await chat.say("张小凡")
    assert "其中没有自荐人“张小凡”" in text
    # A unit nominating itself is no person: its name is not among the 主创人员, and need not be.
    await chat.say("黑龙江科普影视工作室")
    assert ((await chat.draft()) or {})["answers"]["unit"] == "黑龙江科普影视工作室"


def test_the_first_maker_is_the_first_name_said_with_or_without_words_around_it(
    contests: ContestRegistry,
) -> None:
    hlj = contests.get("hlj-2022-kepu")
    assert hlj is not None
    for unit, authors in (("李小龙（个人）", ["李小龙", "王大锤"]), ("李小龙", ["李小龙（哈尔滨工业大学）"])):
        assert self_not_first_maker(hlj, "self", "self", {"unit": unit, "authors": authors}) is None
    # Until both are answered, nothing is said; a route without the rule says nothing (cacsi).
    assert self_not_first_maker(hlj, "self", "self", {"unit": "李小龙"}) is None
    cacsi = contests.get("cacsi-2022-youth")
    assert cacsi is not None
    answers = {"unit": "李小龙", "authors": ["王大锤", "李小龙"]}
    assert self_not_first_maker(cacsi, "self", "video", answers) is None
    late = self_not_first_maker(hlj, "self", "self", answers)
    assert late is not None and late.params["position"] == 2


async def test_a_title_has_a_limit_and_loses_the_marks_typed_around_it(
    contests: ContestRegistry, engine: DialogEngine, sqlite_store: tuple[Storage, EventIsolation]
) -> None:
    # Tester: a 240-character 作品名称 was taken (the one-page form became two), and 《追光的人》
    # was kept with its marks, shown as 《《追光的人》》.
    chat, contest = await open_chat(contests, engine, sqlite_store, "hlj-2022-kepu")
    text = await fill(chat, contest, "self", {"unit": "科普影视工作室"}, upto="unit")
    assert "请填写「作品名称」（50字以内）" in text  # said before it is typed
    text = await chat.say("追光的人" * 60)
    assert "「作品名称」最多50字（通知没有规定字数" in text and "您填写了240字，请删减190字" in text
    assert "title" not in ((await chat.draft()) or {})["answers"]
    await chat.say("《追光的人》")
    assert ((await chat.draft()) or {})["answers"]["title"] == "追光的人"


def test_one_pair_of_marks_around_a_title_is_taken_off() -> None:
    for typed in ("《追光的人》", "“追光的人”", '"追光的人"', " 《追光的人》 "):
        assert unquoted_title(typed) == "追光的人"
    for typed in ("《光》与《影》", "“光”与“影”", "追光的人", "《》"):
        assert unquoted_title(typed) == typed
    assert unquoted_title("《《追光的人》》") == "《《追光的人》》"  # marks inside: left as typed


def test_a_title_takes_the_forms_limit_where_it_sets_one(contests: ContestRegistry) -> None:
    contest = contests.get("hlj-2022-kepu")
    assert contest is not None
    title = next(f for f in contest.form("self").fields if f.role == "title")
    assert max_chars_of(title) == TITLE_MAX_CHARS
    assert max_chars_of(title.model_copy(update={"max_chars": 30})) == 30
    too_long = check_answer(title.model_copy(update={"max_chars": 30}), "光" * 31, contest)
    assert isinstance(too_long, Invalid) and too_long.params == {"max": 30, "actual": 31, "over": 1}
    assert check_answer(title, "光" * TITLE_MAX_CHARS, contest) == Valid("光" * TITLE_MAX_CHARS)


@pytest.mark.parametrize(
    ("field_id", "raw", "expected"),
    [
        # Trial 5: "推荐理由：团队带动…" was kept whole, and the review page showed
        # "推荐理由：推荐理由：团队带动…" (printed so on the form too).
        ("reason", "推荐理由：团队带动3000户茶农增收。", "团队带动3000户茶农增收。"),
        ("summary", "内容简介: 讲述茶山上的科技特派团。", "讲述茶山上的科技特派团。"),
        ("title", "名称：茶山上的特派团", "茶山上的特派团"),
        ("impact", "传播效果：播放量3万", "播放量3万"),
    ],
)
def test_the_fields_own_label_typed_before_the_answer_is_not_part_of_it(
    contests: ContestRegistry, field_id: str, raw: str, expected: str
) -> None:
    contest = contests.get("most-2023-tech-envoy")
    assert contest is not None
    fld = next(f for form in contest.forms for f in form.fields if f.id == field_id)
    assert check_answer(fld, raw, contest) == Valid(expected)


def test_a_label_alone_or_inside_the_answer_is_left_as_typed(contests: ContestRegistry) -> None:
    contest = contests.get("most-2023-tech-envoy")
    assert contest is not None
    reason = next(f for f in contest.form("self").fields if f.id == "reason")
    assert check_answer(reason, "因为推荐理由：充分", contest) == Valid("因为推荐理由：充分")
    assert not check_answer(reason, "推荐理由：", contest).ok


async def test_a_date_in_chinese_numerals_is_taken_and_one_without_a_year_asks_for_it(
    contests: ContestRegistry, engine: DialogEngine, sqlite_store: tuple[Storage, EventIsolation]
) -> None:
    # Trial 5 (hlj 播出时间): "五月一号" and "2025年五月一号" were both "不是有效的日期".
    chat, contest = await open_chat(contests, engine, sqlite_store, "hlj-2022-kepu")
    field = next(f for f in contest.form("recommend").fields if f.type.value == "date")
    window = contest.window(field.window) if field.window else None
    assert window is not None
    year = window.start.year
    await fill(chat, contest, "recommend", {}, upto="category")
    text = await chat.say("五月一号")
    assert "“五月一号”没有写年份，请连同年份一起填写，例如" in text
    assert field.id not in ((await chat.draft()) or {})["answers"]
    await chat.say(f"{year}年五月一号")
    assert ((await chat.draft()) or {})["answers"][field.id] == f"{year}-05-01"


@pytest.mark.parametrize("raw", ["个人", "本人", "我自己", "个人自荐"])
def test_a_person_self_nominating_is_asked_for_their_name_not_the_word_person(
    contests: ContestRegistry, raw: str
) -> None:
    # Trial 5 (most-cas 自荐): "个人" was taken as 自荐机构（个人）, to be printed on the 自荐表.
    for contest_id in ("most-cas-2024-kepu", "hlj-2022-kepu"):
        contest = contests.get(contest_id)
        assert contest is not None
        unit = next(f for f in contest.form("self").fields if f.role == "unit")
        checked = check_answer(unit, raw, contest)
        assert isinstance(checked, Invalid) and checked.code == "unit_needs_name", (contest_id, raw)
        assert check_answer(unit, "阿依古丽·买买提", contest) == Valid("阿依古丽·买买提")
        assert check_answer(unit, "张伟（个人）", contest) == Valid("张伟（个人）")


@pytest.mark.parametrize("raw", ["个人", "本人", "个人申报"])
def test_the_word_person_as_cacsis_applicant_is_asked_for_a_name(contests: ContestRegistry, raw: str) -> None:
    # Trial 9 (cacsi 微视频申报表): "个人" was taken as 单位名称（申报人）, printed on the form and
    # naming the net-disk folder "浙江省+个人+…"; the 申报人 is a person's or a unit's name.
    contest = contests.get("cacsi-2022-youth")
    assert contest is not None
    unit = contest.form("video").field("unit")
    assert unit is not None
    checked = check_answer(unit, raw, contest)
    assert isinstance(checked, Invalid) and checked.code == "unit_needs_name", raw
    assert check_answer(unit, "周晓燕", contest) == Valid("周晓燕")
    said = check_answer(unit, "我是杭州市青少年科技中心的周老师，周晓燕", contest)
    assert isinstance(said, Invalid) and said.code == "name_said_in_sentence"  # was printed as typed


async def test_the_word_person_at_the_self_nominating_cell_is_told_what_to_write(
    contests: ContestRegistry, engine: DialogEngine, sqlite_store: tuple[Storage, EventIsolation]
) -> None:
    chat, contest = await open_chat(contests, engine, sqlite_store, "most-cas-2024-kepu")
    text = await fill(chat, contest, "self", {"unit": "个人"}, upto="unit")
    assert "不要只写“个人”" in text and "填写本人姓名（与签字一致）" in text
    assert "unit" not in ((await chat.draft()) or {})["answers"]


@pytest.mark.parametrize(
    ("raw", "expected"), [("杨 凌", "杨凌"), ("欧阳 娜娜", "欧阳娜娜"), ("杨  凌 ", "杨凌")]
)
def test_a_persons_name_typed_with_a_space_is_kept_without_it(
    contests: ContestRegistry, raw: str, expected: str
) -> None:
    # Trial 5 (cacsi 主要负责人姓名): "杨 凌" was printed on the 申报表 as "杨 凌".
    contest = contests.get("cacsi-2022-youth")
    assert contest is not None
    name = next(f for f in contest.form("account").fields if f.id == "lead_name")
    assert check_answer(name, raw, contest) == Valid(expected)
    assert check_answer(name, "John Smith", contest) == Valid("John Smith")


@pytest.mark.parametrize("raw", ["我一个人做的", "就我自己", "本人", "我自己拍的", "只有我一个"])
def test_authors_said_as_oneself_are_asked_for_the_names(contests: ContestRegistry, raw: str) -> None:
    # Trial 5 (主创人员): "我一个人做的" and "就我自己" were stored as the authors' names, and
    # printed on the form as the first author.
    contest = contests.get("most-cas-2024-kepu")
    assert contest is not None
    authors = next(f for f in contest.form("self").fields if f.role == "authors")
    checked = check_answer(authors, raw, contest)
    assert isinstance(checked, Invalid) and checked.code == "authors_need_names", (raw, checked)
    assert check_answer(authors, "我思科普工作室、李四", contest).ok


@pytest.mark.parametrize(
    ("form_id", "field_id", "raw", "expected"),
    [
        # Trial 7: the label said in a sentence ("推荐单位是…", "自荐机构就是我们公司，…") or shortened
        # ("创新点：" at 主要创新点) was kept, and printed on the form before the value.
        ("recommend", "unit", "推荐单位是江西省科学技术厅", "江西省科学技术厅"),
        ("self", "unit", "自荐机构就是我们公司，福建山海农业科技有限公司", "福建山海农业科技有限公司"),
        ("recommend", "innovation", "创新点：用无人机监测果园。", "用无人机监测果园。"),
        ("self", "summary", "简介：讲述茶山上的科技特派团。", "讲述茶山上的科技特派团。"),
        ("recommend", "unit", "我们单位，江西省科学技术厅", "江西省科学技术厅"),
    ],
)
def test_the_label_said_in_words_or_shortened_before_the_answer_is_not_part_of_it(
    contests: ContestRegistry, form_id: str, field_id: str, raw: str, expected: str
) -> None:
    contest = contests.get("most-2023-tech-envoy")
    assert contest is not None
    fld = next(f for f in contest.form(form_id).fields if f.id == field_id)
    assert check_answer(fld, raw, contest) == Valid(expected)


def test_words_that_only_look_like_a_label_are_left_as_typed(contests: ContestRegistry) -> None:
    contest = contests.get("most-2023-tech-envoy")
    assert contest is not None
    title = next(f for f in contest.form("self").fields if f.id == "title")
    summary = next(f for f in contest.form("self").fields if f.id == "summary")
    # A title that begins with a word of the label is the title ("名称之谜" is no "名称："), and an
    # answer made of the label's words and nothing after them is no label before an answer.
    assert check_answer(title, "名称之谜", contest) == Valid("名称之谜")
    assert check_answer(summary, "简介短片一部", contest) == Valid("简介短片一部")
    assert not check_answer(summary, "简介：", contest).ok


@pytest.mark.parametrize("raw", ["同意", "好的", "确认", "没问题", "同意。"])
def test_agreeing_is_no_name_of_a_person_or_unit(contests: ContestRegistry, raw: str) -> None:
    # Trial 7 (cq 法定代表人): "同意", typed one step early for the pledge, was taken as the legal
    # representative's name and printed on the 单位报送表.
    contest = contests.get("cq-2023-scientist-spirit")
    assert contest is not None
    for field_id in ("legal_rep", "unit"):
        fld = next(f for f in contest.form("unit_report").fields if f.id == field_id)
        result = check_answer(fld, raw, contest)
        assert isinstance(result, Invalid) and result.code == "agreement_as_name", (field_id, result)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("我叫王晓明，个人", "王晓明"),
        ("我叫王晓明", "王晓明"),
        ("本人王晓明，个人自荐", "王晓明"),
        ("我的名字是王晓明", "王晓明"),
        ("王晓明，个人", "王晓明"),
        ("王晓明（个人）", "王晓明（个人）"),
    ],
)
def test_a_self_nominating_persons_self_introduction_is_not_printed_as_their_name(
    contests: ContestRegistry, raw: str, expected: str
) -> None:
    # Trial 8 (hlj 自荐): "我叫王晓明，个人" at 自荐机构（个人） was stored whole, and the first-maker
    # check then looked for "我叫王晓明" among the 主创人员.
    hlj = contests.get("hlj-2022-kepu")
    assert hlj is not None
    unit = next(f for f in hlj.form("self").fields if f.role == "unit")
    assert check_answer(unit, raw, hlj) == Valid(expected)
    answers = {"unit": expected, "authors": ["王晓明", "李娜"]}
    assert self_not_first_maker(hlj, "self", "self", answers) is None


def test_the_first_part_of_a_two_part_label_said_before_the_answer_is_not_part_of_it(
    contests: ContestRegistry,
) -> None:
    # Trial 8 (hlj 推荐): "播出平台：抖音 https://…" at 播出平台及网址 was stored with its "播出平台：".
    hlj = contests.get("hlj-2022-kepu")
    assert hlj is not None
    fld = next(f for f in hlj.form("recommend").fields if f.label == "播出平台及网址")
    url = "https://www.douyin.com/video/7301234567890123456"
    assert check_answer(fld, f"播出平台：抖音 {url}", hlj) == Valid(f"抖音 {url}")
    # the address alone: the platform its host names is put before it
    assert check_answer(fld, f"网址是{url}", hlj) == Valid(f"抖音 {url}")


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("四川卫视，还有B站 {url}", "四川卫视、B站 {url}"),  # the trial's words
        ("抖音和快手 {url}", "抖音、快手 {url}"),
        ("B站以及西瓜视频 {url}", "B站、西瓜视频 {url}"),
        ("四川卫视 {url} 另外 B站 {url}", "四川卫视 {url}、B站 {url}"),
        ("和讯网 {url}", "和讯网 {url}"),  # a name's own 和 stays
        ("共和国科普 {url}", "共和国科普 {url}"),
    ],
)
def test_the_words_joining_two_platforms_are_not_stored(
    contests: ContestRegistry, typed: str, stored: str
) -> None:
    # Trial round (hlj 自荐): "四川卫视，还有B站 https://…" at 播出平台及网址 kept its 还有 on the form.
    hlj = contests.get("hlj-2022-kepu")
    assert hlj is not None
    fld = next(f for f in hlj.form("self").fields if f.label == "播出平台及网址")
    url = "https://www.bilibili.com/video/BV1xx411c7mD"
    assert check_answer(fld, typed.format(url=url), hlj) == Valid(stored.format(url=url))


@pytest.mark.parametrize("typed", ["去年10月15号", "2025年10月15日", "2025-10-15"])
def test_a_date_typed_a_step_early_is_no_category(contests: ContestRegistry, typed: str) -> None:
    # Trial round (hlj 自荐): "去年10月15号", the 播出时间 typed one step early, was taken as 类别.
    hlj = contests.get("hlj-2022-kepu")
    assert hlj is not None
    fld = next(f for f in hlj.form("self").fields if f.id == "category")
    today = dt.date(2022, 5, 1)
    assert check_answer(fld, typed, hlj, today=today) == Invalid("date_as_text", {"value": typed})
    assert check_answer(fld, typed, hlj, confirmed=True, today=today) == Valid(typed)  # "答：…"
    assert check_answer(fld, "天文", hlj, today=today) == Valid("天文")
