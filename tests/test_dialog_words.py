"""Answers in an entrant's own words, as the tester typed them in the terminal chat: a date with
filler and a relative year, a category with a modal particle, the review way said in words, a
contest's name with a typo."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from contests.editions import new_edition
from contests.events import EventKind, Incoming
from contests.records import UserKey
from contests.registry import ContestRegistry, dump_contest
from contests.rules import Contest
from dialogs import review
from dialogs.engine import DialogEngine, choices_as_text
from dialogs.messages import Messages
from dialogs.states import State
from tests.conftest import ChatDriver, valid_answer, video_answer

Chat = Callable[..., ChatDriver]
CONTEST = "most-cas-2024-kepu"


async def until(chat: ChatDriver, contests: ContestRegistry, field_id: str, channel: str = "自荐") -> str:
    """Answer the 2024 contest's form correctly up to ``field_id``; returns its prompt."""
    await chat.start()
    text = await chat.say(channel)
    contest = contests.get(CONTEST)
    assert contest is not None
    draft = await chat.draft()
    assert draft is not None
    for fld in contest.form(contest.channel(draft["channel"]).forms["work"]).fields:
        if fld.id == field_id:
            return text
        text = await chat.say(valid_answer(fld, contest))
    raise AssertionError(f"no field {field_id}")


async def answers(chat: ChatDriver) -> dict[str, object]:
    draft = await chat.draft()
    assert draft is not None
    return dict(draft["answers"])


async def test_a_date_said_with_filler_and_a_relative_year_is_taken(
    make_chat: Chat, contests: ContestRegistry
) -> None:
    """ "去年10月15号发的" and "哦，是2023年3月8日" were "不是有效的日期" (the clock: 2024-10-01)."""
    chat = make_chat()
    assert "「播出时间」" in await until(chat, contests, "broadcast_date")
    assert "「主创人员（或单位）」" in await chat.say("去年10月15号发的")
    assert (await answers(chat))["broadcast_date"] == "2023-10-15"
    await chat.say("修改 4")
    await chat.say("哦，是2023年3月8日")
    assert (await answers(chat))["broadcast_date"] == "2023-03-08"


async def test_a_date_with_a_two_digit_year_is_taken(make_chat: Chat, contests: ContestRegistry) -> None:
    """A new entrant's "23年12月1日" at 播出时间 was "不是有效的日期" (the clock: 2024-10-01)."""
    chat = make_chat()
    assert "「播出时间」" in await until(chat, contests, "broadcast_date")
    assert "「主创人员（或单位）」" in await chat.say("23年12月1日")
    assert (await answers(chat))["broadcast_date"] == "2023-12-01"


async def test_a_date_said_after_a_relative_day_is_the_date_written_out(
    make_chat: Chat, contests: ContestRegistry
) -> None:
    """ "今天吧，2026年12月7号" was "不是有效的日期", the date alone was taken (the clock: 2024-10-01)."""
    chat = make_chat()
    assert "「播出时间」" in await until(chat, contests, "broadcast_date")
    reply = await chat.say("昨天吧，2023年10月15号")
    assert "不是有效的日期" not in reply and "「主创人员（或单位）」" in reply
    assert (await answers(chat))["broadcast_date"] == "2023-10-15"


async def test_a_role_after_a_name_is_left_off_and_its_order_said(
    make_chat: Chat, contests: ContestRegistry
) -> None:
    """ "刘强（第一作者）" was printed on the receipt and the form as the first author's name."""
    chat = make_chat()
    await until(chat, contests, "authors")
    reply = await chat.say("张三、刘强（第一作者）")
    assert "「播出平台及网址」" in reply
    assert "刘强、张三" in reply and "第一作者" in reply  # the order kept, said back
    assert (await answers(chat))["authors"] == ["刘强", "张三"]
    await chat.say("修改 主创人员（或单位）")
    reply = await chat.say("王芳（负责人）")
    assert (await answers(chat))["authors"] == ["王芳"]
    assert "王芳（负责人）" not in reply


async def test_a_category_said_with_a_modal_particle_is_stored_without_it(
    make_chat: Chat, contests: ContestRegistry
) -> None:
    """ "科普动画吧" was stored as the 类别 "科普动画吧"."""
    chat = make_chat()
    assert "「类别」" in await until(chat, contests, "category")
    assert "「播出时间」" in await chat.say("科普动画吧")
    assert (await answers(chat))["category"] == "科普动画"


async def test_the_review_way_said_in_words_is_the_option_it_means(
    make_chat: Chat, contests: ContestRegistry
) -> None:
    """ "找了两个专家，都是副教授" was "请从以下选项中选择" (副教授 is 副高)."""
    chat = make_chat()
    assert "「自荐作品审核方式」" in await until(chat, contests, "review_by")
    text = await chat.say("找了两个专家，都是副教授")
    assert "请从以下选项中选择" not in text and "「审核单位或审核专家」" in text
    assert (await answers(chat))["review_by"] == "两位副高级职称及以上专家审核"
    await chat.say("返回")
    await chat.say("单位审的")
    assert (await answers(chat))["review_by"] == "所在单位审核"
    await chat.say("返回")
    text = await chat.say("单位找了两位专家")  # both said: asked, not guessed
    assert "请从以下选项中选择" in text


def open_editions(folder: Path) -> ContestRegistry:
    """This year's editions of three contests, all open on 2026-12-07."""
    base = ContestRegistry.load()
    made: list[Contest] = []
    for source, new in (
        ("hlj-2022-kepu", "hlj-2026-kepu"),
        ("most-cas-2024-kepu", "most-cas-2026-kepu"),
        ("most-2023-tech-envoy", "envoy-2026"),
    ):
        contest = base.get(source)
        assert contest is not None
        data = new_edition(contest, new, dt.date(2026, 12, 25), opens=dt.date(2026, 11, 1))
        made.append(dump_contest(data, folder / f"{new}.yaml"))
    return ContestRegistry(made)


def test_a_contest_name_with_a_typo_is_offered_not_refused(tmp_path: Path) -> None:
    """ "黑龙家省的科普视频征集" was "没有找到这个大赛": the near one is offered, and "是" takes it."""
    engine = DialogEngine(open_editions(tmp_path), Messages())
    now = dt.datetime(2026, 12, 7, 12, tzinfo=dt.UTC)
    user = UserKey("terminal", "typo")

    def say(state: State | None, text: str) -> tuple[State | None, str]:
        result = engine.handle(state, Incoming(user, EventKind.TEXT, text=text), now)
        return result.state, "\n".join(choices_as_text(r) for r in result.replies)

    state = engine.handle(None, Incoming(user, EventKind.START), now).state
    state, text = say(state, "黑龙家省的科普视频征集")
    assert "没有找到这个大赛" not in text
    assert "您是想报名这个大赛吗" in text and "2026年黑龙江省优秀科普微视频作品征集评选活动" in text
    state, text = say(state, "是")
    assert state is not None and state["contest"] == "hlj-2026-kepu"
    assert "请选择参赛渠道" in text
    # Words that are near no contest are still refused, and a "是" with nothing offered is no choice.
    state = engine.handle(None, Incoming(user, EventKind.START), now).state
    state, text = say(state, "上海市的书法比赛")
    assert "没有找到这个大赛" in text
    state, text = say(state, "是")
    assert state is not None and not state.get("contest")


def test_a_reply_to_the_offer_that_is_neither_yes_nor_no_nor_a_contest_shows_the_list(tmp_path: Path) -> None:
    """At "您是想报名这个大赛吗", "我再看看" was told "没有找到这个大赛" with no list to choose from."""
    engine = DialogEngine(open_editions(tmp_path), Messages())
    now = dt.datetime(2026, 12, 7, 12, tzinfo=dt.UTC)
    user = UserKey("terminal", "offer")

    def say(state: State | None, text: str) -> tuple[State | None, str]:
        result = engine.handle(state, Incoming(user, EventKind.TEXT, text=text), now)
        return result.state, "\n".join(choices_as_text(r) for r in result.replies)

    titles = ["2026年黑龙江省优秀科普微视频作品征集评选活动", "2026年全国科普微视频大赛"]
    for reply in ("我再看看", "不是", "嗯……不太确定"):
        state = engine.handle(None, Incoming(user, EventKind.START), now).state
        state, text = say(state, "黑龙家省的科普视频征集")
        assert "您是想报名这个大赛吗" in text
        state, text = say(state, reply)
        assert state is not None and not state.get("contest")
        assert "没有找到这个大赛" not in text, reply
        assert all(t in text for t in titles), (reply, text)  # the list, to choose from
        assert "2026年黑龙江省优秀科普微视频作品征集评选活动" in text and "序号" in text
        state, text = say(state, "2")  # and a number of that list is taken
        assert state is not None and state["contest"], (reply, text)
    # Words that are not an answer leave the offer standing: "是" still takes the contest offered.
    state = engine.handle(None, Incoming(user, EventKind.START), now).state
    state, text = say(state, "黑龙家省的科普视频征集")
    state, text = say(state, "我再看看")
    state, text = say(state, "是")
    assert state is not None and state["contest"] == "hlj-2026-kepu"


def test_a_first_message_naming_a_contest_starts_the_dialog_with_it(tmp_path: Path) -> None:
    """WeChat users type first: "我想报名大美科技特派团" as the very first message (no draft) showed
    only the contest list, the contest named dropped."""
    opened = open_editions(tmp_path)
    closed = ContestRegistry.load().get("cq-2023-scientist-spirit")
    assert closed is not None
    engine = DialogEngine(ContestRegistry([*opened, closed]), Messages())
    now = dt.datetime(2026, 12, 7, 12, tzinfo=dt.UTC)
    user = UserKey("wechat", "first")

    def first(text: str) -> tuple[State | None, str]:
        result = engine.handle(None, Incoming(user, EventKind.TEXT, text=text), now)
        return result.state, "\n".join(choices_as_text(r) for r in result.replies)

    state, text = first("我想报名大美科技特派团")
    assert state is not None and state["contest"] == "envoy-2026", text
    assert "您好！我是" in text and "已选择「2026年度“大美科技特派团”微视频征集活动」" in text
    assert "请选择参赛渠道" in text and "请选择要报名的大赛" not in text
    # A near name is offered, a closed one said closed, each after the welcome.
    state, text = first("黑龙家省的科普视频征集")
    assert "您好！我是" in text and "您是想报名这个大赛吗" in text
    state, text = say_to(engine, state, user, "是", now)
    assert state is not None and state["contest"] == "hlj-2026-kepu"
    state, text = first("我要报名重庆的短视频大赛")
    assert "截止征集" in text and "请选择要报名的大赛" in text
    # Words that name no contest: the welcome and the list, as before, said once.
    for words in ("你好", "嗯嗯"):
        state, text = first(words)
        assert text.count("您好") == 1 and "请选择要报名的大赛" in text and "没有找到" not in text, text


def say_to(
    engine: DialogEngine, state: State | None, user: UserKey, text: str, now: dt.datetime
) -> tuple[State | None, str]:
    result = engine.handle(state, Incoming(user, EventKind.TEXT, text=text), now)
    return result.state, "\n".join(choices_as_text(r) for r in result.replies)


async def review_page(chat: ChatDriver, contests: ContestRegistry) -> str:
    text = await until(chat, contests, "review_by")
    contest = contests.get(CONTEST)
    assert contest is not None
    for fld in contest.form("self").fields[-2:]:
        text = await chat.say(valid_answer(fld, contest))
    text = await chat.say(video_answer(contest))
    assert "请核对报名信息" in text
    return text


async def test_a_field_named_in_plain_words_on_the_review_page_is_opened(
    make_chat: Chat, contests: ContestRegistry
) -> None:
    """ "类别改一下" just showed the review page again; it opens 类别, and back to the review after."""
    chat = make_chat()
    await review_page(chat, contests)
    text = await chat.say("类别改一下")
    assert "「类别」" in text and "当前内容" in text
    text = await chat.say("科普动画")
    assert "请核对报名信息" in text and "3. 类别：科普动画" in text


async def test_a_new_value_given_on_the_review_page_is_checked_and_taken(
    make_chat: Chat, contests: ContestRegistry
) -> None:
    """ "我想把联系电话改成手机 13904511234": changed at once, said so, back on the review page."""
    chat = make_chat()
    await review_page(chat, contests)
    text = await chat.say("我想把联系电话改成手机 13904511234")
    assert "已把「联系电话」改为：13904511234" in text and "请核对报名信息" in text
    assert (await answers(chat))["phone"] == "13904511234"
    # A value that fails its check is not taken: the field is opened, with the reason.
    text = await chat.say("电话改成 123")
    assert "不是有效的电话号码" in text and "「联系电话」" in text
    assert (await answers(chat))["phone"] == "13904511234"
    assert "请核对报名信息" in await chat.say("13800000000")
    # Asked as a question, it is still the change ("邮箱能改一下吗？").
    text = await chat.say("邮箱能改一下吗？")
    assert "「电子邮箱」" in text and "当前内容" in text


def test_a_question_about_changing_is_still_a_question(
    engine: DialogEngine, contests: ContestRegistry
) -> None:
    """ "视频改了以后要重新提交吗？" asks about changing; "电话能改一下吗？" asks for a change."""
    state: State = {"v": 1, "step": "review", "contest": CONTEST, "channel": "self", "answers": {}}
    contest = contests.get(CONTEST)
    assert contest is not None
    state["answers"] = {f.id: valid_answer(f, contest) for f in contest.form("self").fields}
    state["video"] = {"kind": "link", "url": "https://video.example.cn/v.mp4", "checked": False}
    assert not review.wants_change(engine, state, "视频改了以后要重新提交吗？")
    assert not review.wants_change(engine, state, "提交以后还能改吗？")
    assert review.wants_change(engine, state, "电话能改一下吗？")
    assert review.wants_change(engine, state, "可以把邮箱换成别的吗")


async def test_anything_not_understood_on_the_review_page_is_said_so(
    make_chat: Chat, contests: ContestRegistry
) -> None:
    chat = make_chat()
    await review_page(chat, contests)
    before = await chat.draft()
    text = await chat.say("我再看看")
    assert "没看明白这条消息，报名信息没有改动" in text and "修改 3" in text and "确认提交" in text
    assert await chat.draft() == before
    text = await chat.say("我想改一下")  # a change, but of what: the list to pick from
    assert "要修改哪一项" in text


def test_a_name_cell_is_named_without_its_word_for_name(
    engine: DialogEngine, contests: ContestRegistry
) -> None:
    # Fourth trial round: "联系人改成张敏" on cq's review page (联系人姓名) only opened the list.
    cq = contests.get("cq-2023-scientist-spirit")
    assert cq is not None
    form = cq.form(cq.channels[0].forms["work"])
    state: State = {"v": 1, "step": "review", "contest": cq.id, "channel": cq.channels[0].id, "answers": {}}
    state["answers"] = {f.id: valid_answer(f, cq) for f in form.fields}
    named = review.named_items(engine, state, "联系人改成张敏")
    assert [i.label for i in named] == ["联系人姓名"]


async def test_a_field_changed_in_plain_words_by_its_label_or_a_near_word(
    make_chat: Chat, contests: ContestRegistry
) -> None:
    """The new-entrant trial's review page: "视频名称改成 种子去旅行" asked which of 作品名称 and
    参赛视频 was meant, and "地址应该是 …" was not understood."""
    chat = make_chat()
    await review_page(chat, contests)
    text = await chat.say("视频名称改成 种子去旅行")
    assert "已把「作品名称」改为：种子去旅行" in text and "请核对报名信息" in text, text
    assert "2. 作品名称：种子去旅行" in text
    text = await chat.say("作品名称改为星空的秘密")
    assert "已把「作品名称」改为：星空的秘密" in text and "2. 作品名称：星空的秘密" in text
    text = await chat.say("地址应该是 重庆市渝北区金开大道1号")
    assert "已把「联系地址」改为：重庆市渝北区金开大道1号" in text and "请核对报名信息" in text, text
    got = await answers(chat)
    assert (got["title"], got["address"]) == ("星空的秘密", "重庆市渝北区金开大道1号")
    # Checked as when it was asked: a title that is a question about the contest is not taken.
    text = await chat.say("作品名称改成 截止日期是哪天？")
    assert (await answers(chat))["title"] == "星空的秘密"


async def test_a_change_of_an_item_the_page_lacks_says_how_to_change(
    make_chat: Chat, contests: ContestRegistry
) -> None:
    """ "联系人改成 张敏" where the form has no 联系人 opened the bare list: it says there is no
    such item, and how to change one (修改 N, with the items' numbers)."""
    chat = make_chat()
    await review_page(chat, contests)
    before = await chat.draft()
    text = await chat.say("联系人改成 张敏")
    assert "没有“联系人”这一项" in text and "报名信息没有改动" in text, text
    assert "修改 序号" in text and "1. 自荐机构（个人）" in text and "7. 联系地址" in text
    assert "15. 参赛视频" in text
    assert await chat.draft() == before
    # Words that name two items: which one, by its number.
    text = await chat.say("电话和邮箱应该是 13800000000")
    assert "可能是" in text and "8. 联系电话" in text and "9. 电子邮箱" in text and "修改 序号" in text
    assert await chat.draft() == before


async def test_a_change_in_plain_words_at_the_list_of_items(
    make_chat: Chat, contests: ContestRegistry
) -> None:
    """At the list 修改 opens, "地址应该是 …" was "没有这一项": it is the change, as on the page."""
    chat = make_chat()
    await review_page(chat, contests)
    assert "要修改哪一项" in await chat.say("修改")
    text = await chat.say("地址应该是 重庆市渝北区金开大道1号")
    assert "已把「联系地址」改为：重庆市渝北区金开大道1号" in text and "请核对报名信息" in text, text
    assert "要修改哪一项" in await chat.say("修改")
    text = await chat.say("联系人改成 张敏")
    assert "没有“联系人”这一项" in text and "要修改哪一项" in text
    assert "没有这一项" in await chat.say("99")


async def test_another_items_change_in_words_while_one_item_is_open_is_that_change(
    make_chat: Chat, contests: ContestRegistry
) -> None:
    """Trial 5: "把联系电话改成 …" on the review page fell back to 联系电话's question; the entrant
    then typed "作品名称改成「追光者」" there, and it was read as 联系电话's answer (at a free-text
    item it would have been taken as its value)."""
    chat = make_chat()
    await review_page(chat, contests)
    before = (await answers(chat))["summary"]
    text = await chat.say("内容简介改一下")
    assert "「内容简介」" in text and "当前内容" in text
    text = await chat.say("作品名称改成「追光者」")
    assert "已把「作品名称」改为：追光者" in text and "请核对报名信息" in text
    now = await answers(chat)
    assert now["title"] == "追光者" and now["summary"] == before
    # Words that only mention an item are still the open item's answer.
    await chat.say("内容简介改一下")
    text = await chat.say("本片介绍作品名称的由来。")
    assert (await answers(chat))["summary"] == "本片介绍作品名称的由来。"


async def test_an_indifferent_category_is_asked_again_with_its_examples(
    make_chat: Chat, contests: ContestRegistry
) -> None:
    """Sixth trial round: "随便" at 类别 was stored and printed on the form."""
    chat = make_chat()
    assert "「类别」" in await until(chat, contests, "category")
    text = await chat.say("随便")
    assert "“随便”不能填在表上" in text and "生命科学" in text, text
    assert "category" not in await answers(chat)
    assert "「播出时间」" in await chat.say("生命科学")


def test_cacsi_category_names_the_notices_kinds_of_work(contests: ContestRegistry) -> None:
    """cacsi's 类别（专业领域） had no word of what it takes: "随便" was told nothing to write."""
    cacsi = contests.get("cacsi-2022-youth")
    assert cacsi is not None
    category = cacsi.form("video").field("category")
    assert category is not None and "科学小实验" in category.hint


def test_review_page_says_how_to_change_each_item_it_names() -> None:
    """The page said 要改大赛、参赛渠道，回复“修改 大赛”, which told a 自荐 entrant of most-cas
    no way to change the channel: each item named is given its own command."""
    page = Messages().render("review", contest=None, items=[], named=["大赛", "参赛渠道"])
    assert "要改大赛、参赛渠道，回复“修改 大赛”或“修改 参赛渠道”。" in page, page
    page = Messages().render("review", contest=None, items=[], named=["大赛"])
    assert "要改大赛，回复“修改 大赛”。" in page, page
