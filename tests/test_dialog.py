"""The submission dialog end to end through SubmitHandler on a real store."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.storage import choose_backend
from contests.editions import new_edition
from contests.events import EventKind, FileInfo, Incoming
from contests.ports import EventIsolation, Storage
from contests.records import UserKey
from contests.registry import ContestRegistry, dump_contest
from contests.rules import Contest, FieldType
from dialogs.engine import DialogEngine
from dialogs.messages import Messages
from handlers.submit import SubmitHandler
from tests.conftest import ChatDriver, Clock, asked_fields, beijing, valid_answer, video_answer

Chat = Callable[..., ChatDriver]
CONTEST = "most-cas-2024-kepu"


async def fill_form(
    chat: ChatDriver, registry: ContestRegistry, channel: str = "自荐"
) -> tuple[str, Contest]:
    """Answer every field of the 2024 contest's form correctly; returns the video prompt."""
    text = await chat.start()
    assert "请选择参赛渠道" in text
    text = await chat.say(channel)
    draft = await chat.draft()
    assert draft is not None
    contest = registry.get(draft["contest"])
    assert contest is not None
    form = contest.form(contest.channel(draft["channel"]).forms["work"])
    for field in form.fields:
        assert f"「{field.label}」" in text, f"expected the prompt for {field.id}, got {text}"
        text = await chat.say(valid_answer(field, contest))
    assert "请提交参赛视频" in text
    return text, contest


async def fill_until_review(chat: ChatDriver, registry: ContestRegistry, channel: str = "自荐") -> str:
    """Answer every question of the 2024 contest correctly; returns the review page."""
    _prompt, contest = await fill_form(chat, registry, channel)
    return await chat.say(video_answer(contest))


async def test_whole_submission_is_stored_with_a_number(make_chat: Chat, contests: ContestRegistry) -> None:
    chat = make_chat()
    review = await fill_until_review(chat, contests)
    assert "请核对报名信息" in review
    assert "科学精神照亮前行之路" in review
    done = await chat.say("确认提交")
    assert "提交成功！报名编号：KP2024-000001" in done
    assert "kepuchuwsp@126.com" in done  # where self-nominated works are delivered
    # next: the signed form comes back, signed and sealed in the blanks the form prints
    assert "按表上的签字、盖章栏（" in done and "签字需手写" in done
    after = await chat.draft()
    assert after is not None
    assert (after["step"], after["number"], after["answers"]) == ("scan", "KP2024-000001", {})
    subs = await chat.handler.storage.list_submissions(user=chat.user)
    assert [s.number for s in subs] == ["KP2024-000001"]
    sub = subs[0]
    assert sub.channel_id == "self" and sub.form_id == "self"
    assert sub.answers["phone"] == "13800138000"
    assert sub.answers["authors"] == ["张三", "李四"]
    assert sub.answers["broadcast_date"] == "2023-12-31"
    # No prober in this handler: the link is recorded as given, and marked as not checked.
    assert sub.video == {"kind": "link", "url": "https://video.example.cn/works/kepu.mp4", "checked": False}
    # The next submission of the same contest gets the next number.
    other = make_chat("bob")
    await fill_until_review(other, contests, channel="推荐")
    assert "KP2024-000002" in await other.say("确认提交")


@pytest.mark.parametrize(
    "contest_id",
    ["most-2023-tech-envoy", "cq-2023-scientist-spirit", "hlj-2022-kepu", "cacsi-2022-youth", CONTEST],
)
async def test_every_preset_completes_through_every_channel(
    contest_id: str,
    contests: ContestRegistry,
    engine: DialogEngine,
    sqlite_store: tuple[Storage, EventIsolation],
) -> None:
    contest = contests.get(contest_id)
    assert contest is not None
    now = dt.datetime.combine(contest.deadline, dt.time(12), contest.closes_at().tzinfo)
    storage, _isolation = sqlite_store
    handler = SubmitHandler(engine, storage, clock=Clock(now))
    for channel in contest.channels:
        for track, form_id in channel.forms.items():
            chat = ChatDriver(handler, UserKey("terminal", f"{channel.id}-{track}"))
            text = await chat.start(hint=contest_id)
            if len(contest.channels) > 1:
                text = await chat.say(channel.label)
            if len(channel.forms) > 1:
                text = await chat.say("科普号" if track == "account" else "微视频")
            for field in asked_fields(contest.form(form_id), channel.id):
                assert f"「{field.label}」" in text, (contest_id, field.id, text)
                text = await chat.say(valid_answer(field, contest))
            if track == "work":
                text = await chat.say(video_answer(contest))
            assert "请核对报名信息" in text, text
            done = await chat.say("确认提交")
            assert f"报名编号：{contest.number_prefix}-" in done, done
    stored = await storage.list_submissions(contest_id=contest_id)
    assert sorted((s.channel_id, s.form_id) for s in stored) == sorted(
        (c.id, f) for c in contest.channels for f in c.forms.values()
    )


async def test_prompts_say_the_editions_own_requirements_and_dates(
    tmp_path: Path,
    contests: ContestRegistry,
    messages: Messages,
    sqlite_store: tuple[Storage, EventIsolation],
) -> None:
    """envoy's notice sets no format, size or length: its video prompt says what it does set
    (sound, the notes), never "通知要求：。"; a date's example is a date of the edition."""
    folder = tmp_path / "contests"
    source = contests.get("most-2023-tech-envoy")
    assert source is not None
    edition = new_edition(source, "envoy-2027", dt.date(2027, 6, 30), opens=dt.date(2027, 5, 1))
    dump_contest(edition, folder / "envoy-2027.yaml")
    registry = ContestRegistry.load(folder)
    storage, _isolation = sqlite_store
    handler = SubmitHandler(DialogEngine(registry, messages), storage, clock=Clock(beijing(2027, 6, 1)))
    chat = ChatDriver(handler, UserKey("terminal", "fay"))
    text = await chat.start(hint="envoy-2027")
    contest = registry.get("envoy-2027")
    assert contest is not None
    text = await chat.say("地方推荐")
    for fld in contest.form("recommend").fields:
        if fld.id == "title":  # the form's cell says only 名称: entrants typed their unit's
            assert "请填写「名称」" in text and "微视频作品的名称" in text, text
        if fld.id == "broadcast_date":
            assert "例如 2027-06-01 或 2027年6月1日" in text, text
            assert "2023" not in text
            bad = await chat.say("记不清了")
            assert "例如 2027-06-01 或 2027年6月1日" in bad and "2023" not in bad
        text = await chat.say(valid_answer(fld, contest))
    assert "请提交参赛视频" in text
    assert "通知要求：。" not in text and "通知要求：，" not in text
    assert "通知要求：须有声音。" in text
    assert "需简单配乐，有真人出镜" in text  # the notice's own words about the video


async def test_prompts_and_next_steps_say_what_concerns_this_entrant(
    make_chat: Chat, contests: ContestRegistry
) -> None:
    """Tried as an entrant: the date prompt said only "须在通知规定的时间范围内", the people prompt
    said 第一制作单位 above the 自荐表's own 第一制作人, and a self-nominated work was told
    where recommended works are mailed."""
    chat = make_chat("gus")
    contest = contests.get(CONTEST)
    assert contest is not None
    await chat.start()
    text = await chat.say("自荐")
    form = contest.form("self")
    for fld in form.fields:
        if fld.id == "broadcast_date":
            assert "（通知规定：2023年1月1日至2023年12月31日）" in text, text
        if fld.id == "authors":
            assert "第一制作人" in text and "第一制作单位" not in text, text
            assert "多位请用“、”分隔。\n说明：" in text, text
        text = await chat.say(valid_answer(fld, contest))
    await chat.say(video_answer(contest))
    done = await chat.say("确认提交")
    assert "kepuchuwsp@126.com" in done and "kepuwsp@163.com" not in done, done
    # The form may come after this message (drawn later on the web chat): not "上面的".
    assert "请打印发给您的《" in done and "请打印上面的" not in done, done
    other = make_chat("hal")
    await fill_until_review(other, contests, channel="推荐")
    done = await other.say("确认提交")
    assert "kepuwsp@163.com" in done and "kepuchuwsp@126.com" not in done, done


async def test_video_prompt_lists_each_requirement_once_with_no_dangling_comma(
    make_chat: Chat, contests: ContestRegistry
) -> None:
    chat = make_chat()
    await chat.start()
    text = await chat.say("自荐")
    draft = await chat.draft()
    assert draft is not None
    contest = contests.get(draft["contest"])
    assert contest is not None and contest.video is not None
    for fld in contest.form("self").fields:
        text = await chat.say(valid_answer(fld, contest))
    line = next(x for x in text.splitlines() if x.startswith("通知要求："))
    assert "，，" not in line and not line.startswith("通知要求：，") and line.endswith("。")


def _open_at_deadline(
    contest_id: str, contests: ContestRegistry, engine: DialogEngine, store: tuple[Storage, EventIsolation]
) -> SubmitHandler:
    contest = contests.get(contest_id)
    assert contest is not None
    now = dt.datetime.combine(contest.deadline, dt.time(12), contest.closes_at().tzinfo)
    return SubmitHandler(engine, store[0], clock=Clock(now))


async def test_most_cas_self_nomination_asks_who_reviewed_it_as_the_notice_requires(
    contests: ContestRegistry, engine: DialogEngine, sqlite_store: tuple[Storage, EventIsolation]
) -> None:
    """附件1 三、3: a self-nominated work is reviewed by the entrant's unit or by two experts of
    副高 title or above; asked in the 自荐 route only, and printed on the 自荐表."""
    contest = contests.get(CONTEST)
    assert contest is not None
    handler = _open_at_deadline(CONTEST, contests, engine, sqlite_store)
    assert not any(f.role in ("review_way", "reviewers") for f in contest.form("recommend").fields)
    chat = ChatDriver(handler, UserKey("terminal", "reviewed"))
    await chat.start(hint=CONTEST)
    text = await chat.say("自荐")
    form = contest.form("self")
    for fld in form.fields:
        if fld.role == "review_way":
            break
        text = await chat.say(valid_answer(fld, contest))
    assert "「自荐作品审核方式」" in text and "附件1 三、3" in text
    text = await chat.say("两位副高级职称及以上专家审核")
    assert "「审核单位或审核专家」" in text
    for typed, expected in (
        ("张三 研究员", "须写明两位专家"),
        ("张三 讲师、李四 教授", "“张三 讲师”没有写明副高级及以上职称"),
        ("张三 助理研究员、李四 教授", "“张三 助理研究员”没有写明副高级及以上职称"),
        ("研究员、副教授", "请写明每位专家的姓名和职称"),
    ):
        text = await chat.say(typed)
        assert expected in text, (typed, text)
        assert "reviewers" not in (await chat.draft() or {})["answers"]
    text = await chat.say("张三 研究员、李四 副教授")
    assert "请提交参赛视频" in text
    review = await chat.say(video_answer(contest))
    n_way = next(n for n, f in enumerate(form.fields, 1) if f.role == "review_way")
    assert f"{n_way}. 自荐作品审核方式：两位副高级职称及以上专家审核" in review
    assert f"{n_way + 1}. 审核单位或审核专家：张三 研究员、李四 副教授" in review
    # Another way of review: the reviewers named for the experts are asked again.
    await chat.say(f"修改 {n_way}")
    text = await chat.say("所在单位审核")
    assert "「审核单位或审核专家」" in text
    text = await chat.say("中国科学院物理研究所")
    assert f"{n_way + 1}. 审核单位或审核专家：中国科学院物理研究所" in text
    assert "提交成功" in await chat.say("确认提交")
    sub = (await handler.storage.list_submissions(contest_id=CONTEST))[0]
    assert (sub.answers["review_by"], sub.answers["reviewers"]) == ("所在单位审核", "中国科学院物理研究所")


async def test_cacsi_asks_the_province_names_the_folder_and_asks_for_the_cover(
    contests: ContestRegistry, engine: DialogEngine, sqlite_store: tuple[Storage, EventIsolation]
) -> None:
    """ "文件夹以“省+报送单位（或个人）+视频名称”命名", and 封面图 among the materials."""
    cid = "cacsi-2022-youth"
    contest = contests.get(cid)
    assert contest is not None
    handler = _open_at_deadline(cid, contests, engine, sqlite_store)
    chat = ChatDriver(handler, UserKey("terminal", "folder"))
    await chat.start(hint=cid)
    await chat.say("其他机构和个人自荐（社会征集）")
    text = await chat.say("微视频")
    assert "「所在省份（省、自治区、直辖市）」" in text and "省+报送单位" in text
    text = await chat.say("新疆")  # 新疆维吾尔自治区 or 新疆生产建设兵团: which, asked again
    assert "“新疆”可以指新疆维吾尔自治区、新疆生产建设兵团，请回复其中一个的全称" in text
    assert (await chat.draft() or {})["answers"] == {"member": "否"}  # the route's one answer
    text = await chat.say("广西")
    assert (await chat.draft() or {})["answers"]["province"] == "广西壮族自治区"
    answers = {"unit": "南宁市青少年科技中心", "title": "水的三态变化"}
    for fld in asked_fields(contest.form("video"), "self")[1:]:
        if fld.type is FieldType.URL:
            assert "网盘文件夹请按通知命名为：广西壮族自治区+南宁市青少年科技中心+水的三态变化" in text
            # Tried as an entrant: the video's B站 page passed for the 百度网盘 folder.
            bad = await chat.say("B站 www.bilibili.com/video/BV1ab411c7xy")
            assert "不是网盘分享链接" in bad and fld.id not in (await chat.draft() or {})["answers"]
        if fld.type is FieldType.PEOPLE:  # its 说明 names no order: the prompt's own line does
            assert "第一位为第一作者" in text and "注明人员工作或学习单位" in text, text
        if fld.role == "cover":
            assert "「封面图」" in text
            bad = await chat.say("封面")
            assert "不像图片文件名" in bad and "cover" not in (await chat.draft() or {})["answers"]
            text = await chat.say("水的三态变化封面.png")
            continue
        text = await chat.say(answers.get(fld.id) or valid_answer(fld, contest))
    assert "请提交参赛视频" in text
    assert "文件夹请按通知命名为：广西壮族自治区+南宁市青少年科技中心+水的三态变化" in text
    assert "通知要求：MP4格式，时长3分钟～8分钟" in text
    # The link's advice names the same folder as the prompt (it said 广西壮族自治区-南宁市…).
    text = await chat.say("https://pan.baidu.com/s/1QwErTyUiOp?pwd=k3p9")
    assert "请命名为：广西壮族自治区+南宁市青少年科技中心+水的三态变化" in text, text


async def test_cacsi_account_track_asks_the_province_and_names_its_folder(
    contests: ContestRegistry, engine: DialogEngine, sqlite_store: tuple[Storage, EventIsolation]
) -> None:
    """The notice's folder rule (省+报送单位（或个人）+视频名称) covers the 科普号申报表 uploaded
    beside the videos; the 科普号 track asked no province and named no folder (fifth and sixth
    trial rounds), in its prompt or in what to do after 确认提交."""
    cid = "cacsi-2022-youth"
    contest = contests.get(cid)
    assert contest is not None
    handler = _open_at_deadline(cid, contests, engine, sqlite_store)
    chat = ChatDriver(handler, UserKey("terminal", "account-folder"))
    await chat.start(hint=cid)
    await chat.say("其他机构和个人自荐（社会征集）")
    text = await chat.say("科普号")
    assert "「所在省份（省、自治区、直辖市）」" in text and "省+报送单位" in text, text
    answers = {"province": "浙江", "unit": "杭州市星辰科普工作室", "account_name": "星辰科普"}
    folder = "浙江省+杭州市星辰科普工作室+星辰科普"
    for fld in asked_fields(contest.form("account"), "self"):
        assert f"「{fld.label}」" in text, (fld.id, text)
        if fld.type is FieldType.URL:
            assert f"网盘文件夹请按通知命名为：{folder}" in text, text
        text = await chat.say(answers.get(fld.id) or valid_answer(fld, contest))
    assert "请核对报名信息" in text and "所在省份（省、自治区、直辖市）：浙江省" in text, text
    done = await chat.say("确认提交")
    assert f"网盘文件夹命名为：{folder}" in done, done


async def test_choices_answer_by_number_words_or_button(make_chat: Chat) -> None:
    for how in ("2", "社会征集（自荐）", "自荐", "self"):
        chat = make_chat(f"u-{how}")
        await chat.start()
        await chat.say(how)
        assert (await chat.draft() or {})["channel"] == "self", how
    chat = make_chat("button")
    await chat.start()
    await chat.press("channel|1")
    assert (await chat.draft() or {})["channel"] == "recommend"


async def test_stale_button_restarts_its_step(make_chat: Chat) -> None:
    chat = make_chat()
    await chat.start()
    await chat.say("1")
    before = await chat.draft()
    text = await chat.press("channel|2")  # the channel step is over: this button is stale
    assert "按钮已过期" in text
    assert "推荐单位" in text  # the current question is asked again
    assert await chat.draft() == before


async def test_keep_where_nothing_was_given_asks_the_field_again(make_chat: Chat) -> None:
    # Sixth trial round: "保留" typed at an empty 联系人姓名 (after a run of kept answers) was
    # stored as the contact's name and printed on the form.
    chat = make_chat()
    await chat.start()
    await chat.say("2")
    text = await chat.say("保留")
    assert "还没有填写" in text and "请填写「自荐机构（个人）」" in text, text
    draft = await chat.draft()
    assert draft is not None and "unit" not in draft["answers"] and draft["step"] != "review"
    assert "请填写「作品名称」" in await chat.say("某某科普中心")


async def test_back_returns_with_the_answer_kept(make_chat: Chat) -> None:
    chat = make_chat()
    await chat.start()
    assert "已经是第一步" not in await chat.say("2")
    await chat.say("某某科普中心")
    text = await chat.say("返回")
    assert "请填写「自荐机构（个人）」" in text
    assert "当前内容：某某科普中心" in text
    text = await chat.say("保留")
    assert "已保留原内容" in text and "请填写「作品名称」" in text
    await chat.say("返回")
    await chat.say("返回")
    text = await chat.say("返回")  # at the channel step: nothing before it
    assert "已经是第一步" in text
    assert (await chat.draft() or {})["answers"] == {"unit": "某某科普中心"}


async def test_edit_from_review_changes_one_answer_and_returns(
    make_chat: Chat, contests: ContestRegistry
) -> None:
    chat = make_chat()
    review = await fill_until_review(chat, contests)
    number = next(line.split(".")[0] for line in review.splitlines() if "作品名称：" in line)
    text = await chat.say(f"修改 {number}")
    assert "请填写「作品名称」" in text
    text = await chat.say("新的作品名称")
    assert "请核对报名信息" in text and "作品名称：新的作品名称" in text
    # The menu way: 修改, then the number.
    text = await chat.say("修改")
    assert "要修改哪一项" in text
    text = await chat.say("返回")
    assert "请核对报名信息" in text
    assert "KP2024-000001" in await chat.say("确认提交")
    sub = (await chat.handler.storage.list_submissions())[0]
    assert sub.answers["title"] == "新的作品名称"


async def test_changing_channel_keeps_shared_answers_and_asks_the_rest(
    make_chat: Chat, contests: ContestRegistry
) -> None:
    chat = make_chat()
    review = await fill_until_review(chat, contests)
    assert "· 参赛渠道：社会征集（自荐）" in review  # asked before the form: changed by its name
    await chat.say("修改 参赛渠道")
    text = await chat.say("推荐")
    # The 推荐表 shares its cells with the 自荐表 but one: its 推荐单位 is not the 自荐机构 (the
    # same field id, another cell), so that one is cleared, said so, and asked; the rest is kept.
    assert "已清除" in text and "自荐机构（个人）" in text and "请填写「推荐单位」" in text
    draft = await chat.draft()
    assert draft is not None and "unit" not in draft["answers"] and "review_by" not in draft["answers"]
    text = await chat.say("北京市科学技术委员会")
    assert "请核对报名信息" in text and "参赛渠道：地方、部门推荐" in text


async def test_cancel_asks_first_and_keeps_the_draft_on_no(make_chat: Chat) -> None:
    chat = make_chat()
    await chat.start()
    await chat.say("2")
    await chat.say("某某科普中心")
    text = await chat.say("取消")
    assert "确定要取消" in text
    assert (await chat.draft() or {})["answers"] == {"unit": "某某科普中心"}
    text = await chat.say("继续填写")
    assert "请填写「作品名称」" in text
    await chat.say("取消")
    assert "请填写「作品名称」" in await chat.say("不取消了")  # as people say it
    for said in ("算了，不取消了", "不了，继续"):  # a sentence, as people type it
        await chat.say("取消")
        assert "请填写「作品名称」" in await chat.say(said)
    assert (await chat.draft() or {})["answers"] == {"unit": "某某科普中心"}
    await chat.say("取消")
    text = await chat.press("cancel|1")
    assert "已取消" in text
    assert await chat.draft() is None
    assert "没有进行中的报名" in await chat.say("取消")


async def test_status_counts_as_the_prompt_and_the_review_page_do(
    make_chat: Chat, contests: ContestRegistry
) -> None:
    """A new entrant saw 进度 say 3/14 under a prompt that said 【4/13】: two numberings on one page."""
    chat = make_chat()
    await chat.start()
    await chat.say("自荐")
    contest = contests.get(CONTEST)
    assert contest is not None
    fields = contest.form("self").fields
    for field in fields[:3]:
        await chat.say(valid_answer(field, contest))
    text = await chat.say("进度")
    total = len(fields)
    assert f"已填写：3/{total} 项；视频（第{total + 1}项）未提交" in text
    assert f"当前：【4/{total}】{fields[3].label}" in text
    assert text.count(f"【4/{total}】") == 2  # and the prompt below it
    for field in fields[3:]:
        await chat.say(valid_answer(field, contest))
    assert "请提交参赛视频" in (text := await chat.say("进度"))
    assert f"已填写：{total}/{total} 项；视频（第{total + 1}项）未提交" in text
    assert "当前：参赛视频" in text
    page = await chat.say(video_answer(contest))
    assert f"{total + 1}. 参赛视频" in page  # the number 修改 takes for it
    text = await chat.say("进度")
    assert f"已填写：{total}/{total} 项；视频（第{total + 1}项）已提交" in text


async def test_status_and_help_keep_the_step(make_chat: Chat) -> None:
    chat = make_chat()
    await chat.start()
    await chat.say("2")
    await chat.say("某某科普中心")
    text = await chat.say("进度")
    # One numbering with the prompts' 【2/14】 and the review page's items (the video is 15).
    assert "已填写：1/14 项；视频（第15项）未提交" in text
    assert "2024年10月25日" in text and "还剩24天" in text
    assert "当前：【2/14】作品名称" in text
    assert text.count("【2/14】") == 2  # the prompt after it counts the same
    text = await chat.say("帮助")
    assert "返回：回到上一步" in text and "010-58881430" in text
    assert (await chat.draft() or {})["field"] == "title"


async def test_draft_survives_a_restart(tmp_path: Path, engine: DialogEngine, clock: Clock) -> None:
    user = UserKey("terminal", "carol")
    storage, isolation = await choose_backend(data_dir=tmp_path, redis_url=None).open_storage()
    chat = ChatDriver(SubmitHandler(engine, storage, clock=clock), user)
    await chat.start()
    await chat.say("2")
    await chat.say("某某科普中心")
    await storage.close()
    await isolation.close()

    storage, isolation = await choose_backend(
        data_dir=tmp_path, redis_url=None
    ).open_storage()  # a new process
    chat = ChatDriver(SubmitHandler(engine, storage, clock=clock), user)
    text = await chat.start()
    assert "欢迎回来" in text and "请填写「作品名称」" in text
    assert (await chat.draft() or {})["answers"] == {"unit": "某某科普中心"}
    await storage.close()
    await isolation.close()


BAD_INPUTS = [
    ("", "不能为空"),
    ("   \u3000 ", "不能为空"),
    ("标题\x00注入", "控制字符"),
    ("\x1b[31m红色", "控制字符"),
    ("长" * 40000, "这条消息太长了"),
]


@pytest.mark.parametrize(("bad", "expected"), BAD_INPUTS)
async def test_bad_input_gets_one_sentence_and_loses_nothing(
    make_chat: Chat, bad: str, expected: str
) -> None:
    chat = make_chat()
    await chat.start()
    await chat.say("2")
    await chat.say("某某科普中心")
    before = await chat.draft()
    text = await chat.say(bad)
    assert expected in text
    assert await chat.draft() == before


async def test_summary_limit_counts_characters_not_bytes(make_chat: Chat, contests: ContestRegistry) -> None:
    chat = make_chat()
    await chat.start()
    await chat.say("2")
    contest = contests.get(CONTEST)
    assert contest is not None
    for field in contest.form("self").fields:
        if field.id == "summary":
            break
        await chat.say(valid_answer(field, contest))
    before = await chat.draft()
    text = await chat.say("科" * 101)
    assert "最多100字，您填写了101字，请删减1字" in text
    assert await chat.draft() == before
    hundred = "科普" * 49 + "🔬👩‍🔬"  # 98 CJK + two emoji, one of them a ZWJ sequence: 100 characters
    text = await chat.say(hundred)
    assert "请填写「主要创新点」" in text
    assert (await chat.draft() or {})["answers"]["summary"] == hundred


async def test_a_file_where_text_is_expected(make_chat: Chat) -> None:
    chat = make_chat()
    await chat.start()
    await chat.say("2")
    before = await chat.draft()
    text = await chat.upload("photo.jpg", 2048, "image/jpeg")
    assert "这里需要输入文字" in text and "自荐机构（个人）" in text
    assert await chat.draft() == before


async def test_video_step_checks_what_can_be_checked_from_the_file_itself(
    make_chat: Chat, contests: ContestRegistry
) -> None:
    chat = make_chat()
    await chat.start()
    await chat.say("2")
    contest = contests.get(CONTEST)
    assert contest is not None
    for field in contest.form("self").fields:
        await chat.say(valid_answer(field, contest))
    assert "超过通知规定的300MB" in await chat.upload("big.mp4", 301 * 1024 * 1024)
    assert "小于通知规定的100MB" in await chat.upload("small.mp4", 10 * 1024 * 1024)
    assert "不是视频文件" in await chat.upload("form.pdf", 150 * 1024 * 1024, "application/pdf")
    assert "不是有效的网址" in await chat.say("我稍后再发")
    text = await chat.upload("作品.mp4", 150 * 1024 * 1024)  # the platform would not hand it over
    assert "超出了聊天软件允许机器人接收的大小" in text
    assert "大文件上传页只在服务运行时" in text  # no upload service in this handler
    assert (await chat.draft() or {})["video"] is None
    text = await chat.upload("作品.mp4", 150 * 1024 * 1024, path="/tmp/incoming/x")
    assert "已收到视频文件「作品.mp4」（150.0MB）" in text and "请核对报名信息" in text


async def _cacsi_video_form(
    engine: DialogEngine, sqlite_store: tuple[Storage, EventIsolation], contests: ContestRegistry, user: str
) -> tuple[ChatDriver, Contest]:
    """A cacsi entrant of 其他机构和个人自荐 at the first field of the 微视频 form."""
    contest = contests.get("cacsi-2022-youth")
    assert contest is not None
    storage, _isolation = sqlite_store
    handler = SubmitHandler(engine, storage, clock=Clock(beijing(2022, 10, 1)))
    chat = ChatDriver(handler, UserKey("terminal", user))
    await chat.start(hint=contest.id)
    await chat.press("channel|3")  # 其他机构和个人自荐
    await chat.say("微视频")
    return chat, contest


async def test_share_link_only_contest_refuses_files_and_plain_links(
    engine: DialogEngine, sqlite_store: tuple[Storage, EventIsolation], contests: ContestRegistry
) -> None:
    chat, contest = await _cacsi_video_form(engine, sqlite_store, contests, "dave")
    for field in asked_fields(contest.form("video"), "self"):
        await chat.say(valid_answer(field, contest))
    text = await chat.upload("v.mp4", 150 * 1024 * 1024)
    assert "要求通过网盘提交视频" in text
    text = await chat.say("https://video.example.cn/v.mp4")
    assert "不是网盘分享链接" in text
    # A Baidu link without its code is not recorded; the code typed on its own completes it.
    text = await chat.say("链接：https://pan.baidu.com/s/1AbCdEfG --来自百度网盘超级会员的分享")
    assert "提取码" in text
    assert (await chat.draft() or {})["video"] is None
    text = await chat.say("k3p9")
    assert "已识别为百度网盘分享链接：https://pan.baidu.com/s/1AbCdEfG?pwd=k3p9（提取码 k3p9）" in text
    assert "永久有效" in text  # cacsi requires a permanent link: we remind, we cannot check
    assert "请核对报名信息" in text and "待人工审核" in text  # never claimed as checked
    video = (await chat.draft() or {})["video"]
    assert video["kind"] == "share_link" and video["checked"] is False


async def test_closed_contest_answers_with_its_deadline(make_chat: Chat, clock: Clock) -> None:
    clock.now = beijing(2026, 11, 21)
    chat = make_chat()
    text = await chat.start()
    assert "目前没有正在征集作品的大赛" in text
    assert "2024年全国科普微视频大赛：已于2024年10月25日截止" in text
    assert await chat.draft() is None
    text = await chat.start(hint="hlj-2022-kepu")
    assert "已于2022年5月9日（北京时间）截止征集" in text


async def test_deadline_passing_before_confirm_refuses_and_keeps_draft(
    make_chat: Chat, contests: ContestRegistry, clock: Clock
) -> None:
    chat = make_chat()
    await fill_until_review(chat, contests)
    clock.now = beijing(2024, 10, 25, 23) + dt.timedelta(
        minutes=59, seconds=59
    )  # 23:59:59 Beijing: still open
    before = await chat.draft()
    clock.now = beijing(2024, 10, 26, 0)
    text = await chat.say("确认提交")
    assert "已于2024年10月25日（北京时间）截止征集" in text
    assert await chat.draft() == before
    assert await chat.handler.storage.list_submissions() == []


async def test_new_edition_is_offered_and_closed_ones_are_named(
    tmp_path: Path,
    contests: ContestRegistry,
    messages: Messages,
    sqlite_store: tuple[Storage, EventIsolation],
) -> None:
    folder = tmp_path / "contests"
    for source, new_id in (("hlj-2022-kepu", "hlj-2026-kepu"), (CONTEST, "most-cas-2026-kepu")):
        src = contests.get(source)
        assert src is not None
        edition = new_edition(src, new_id, dt.date(2026, 12, 31), opens=dt.date(2026, 11, 1))
        dump_contest(edition, folder / f"{new_id}.yaml")
    # Made without an opening date: a draft the organiser has not checked, offered to nobody.
    cq = contests.get("cq-2023-scientist-spirit")
    assert cq is not None
    dump_contest(new_edition(cq, "cq-2026-spirit", dt.date(2026, 12, 31)), folder / "cq-2026-spirit.yaml")
    registry = ContestRegistry.load(folder)
    storage, _isolation = sqlite_store
    handler = SubmitHandler(DialogEngine(registry, messages), storage, clock=Clock(beijing(2026, 11, 21)))
    chat = ChatDriver(handler, UserKey("terminal", "erin"))
    text = await chat.start()
    assert "请选择要报名的大赛" in text
    assert "1. 2026年黑龙江省优秀科普微视频作品征集评选活动" in text
    assert "2. 2026年全国科普微视频大赛" in text
    assert "3." not in text and "科学家精神" not in text
    draft = registry.get("cq-2026-spirit")
    assert draft is not None
    text = await chat.say(draft.title)
    assert "尚未开放报名" in text and "截止征集" not in text, text
    text = await chat.say("2024年全国科普微视频大赛")
    assert "已于2024年10月25日（北京时间）截止征集" in text
    text = await chat.say("9")
    assert "没有这个序号" in text
    text = await chat.say("2")
    assert "已选择「2026年全国科普微视频大赛」" in text
    assert (await chat.draft() or {})["contest"] == "most-cas-2026-kepu"


async def test_users_do_not_see_each_others_drafts(make_chat: Chat) -> None:
    alice, bob = make_chat("alice"), make_chat("bob")
    await alice.start()
    await bob.start()
    await alice.say("2")
    await bob.say("1")
    await alice.say("爱丽丝的单位")
    assert (await bob.draft() or {})["answers"] == {}
    assert (await alice.draft() or {})["answers"] == {"unit": "爱丽丝的单位"}


async def test_one_users_events_are_handled_one_at_a_time_in_order(make_chat: Chat) -> None:
    chat = make_chat()
    await chat.start()
    await chat.say("2")
    answers = ["单位甲", "作品乙", "类别丙"]
    # Sent at once, as a burst of webhook deliveries would arrive.
    await asyncio.gather(*(chat.say(a) for a in answers))
    draft = await chat.draft()
    assert draft is not None
    assert [draft["answers"][k] for k in ("unit", "title", "category")] == answers


class FailingStorage:
    """Delegates to a real store but fails every save: a database that went away mid-dialog."""

    def __init__(self, inner: Storage) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    async def save_draft(self, draft: object, **kwargs: object) -> object:
        raise ConnectionError("database went away")


async def test_storage_failure_answers_politely_and_keeps_the_stored_draft(
    make_chat: Chat, engine: DialogEngine, sqlite_store: tuple[Storage, EventIsolation], clock: Clock
) -> None:
    chat = make_chat()
    await chat.start()
    await chat.say("2")
    before = await chat.draft()
    storage, _isolation = sqlite_store
    broken = ChatDriver(SubmitHandler(engine, FailingStorage(storage), clock=clock), chat.user)  # type: ignore[arg-type]
    text = await broken.say("某某科普中心")
    assert "系统刚才出了点问题" in text and "都还在" in text
    assert await chat.draft() == before


async def test_a_draft_of_an_unknown_layout_starts_over(make_chat: Chat) -> None:
    chat = make_chat()
    await chat.start()
    storage = chat.handler.storage
    stored = await storage.get_draft(chat.user)
    assert stored is not None
    stored.data = {"v": 999, "step": "from-the-future"}
    await storage.save_draft(stored)
    text = await chat.say("你好")
    assert "请选择参赛渠道" in text


async def test_an_answer_for_a_field_the_preset_dropped_moves_on(make_chat: Chat) -> None:
    chat = make_chat()
    await chat.start()
    await chat.say("2")
    storage = chat.handler.storage
    stored = await storage.get_draft(chat.user)
    assert stored is not None
    stored.data["field"] = "a_field_removed_from_the_preset"
    await storage.save_draft(stored)
    text = await chat.say("whatever")
    assert "请填写" in text


async def test_every_error_code_has_its_own_sentence(messages: Messages) -> None:
    codes: dict[str, dict[str, object]] = {
        "empty": {},
        "too_long": {"max": 100, "actual": 101, "over": 1},
        "too_short": {"min": 5, "actual": 1},
        "control_chars": {"char": "U+0000"},
        "bad_phone": {"value": "x"},
        "phone_needs_area_code": {"value": "1"},
        "bad_email": {"value": "x"},
        "bad_url": {"value": "x"},
        "url_scheme": {"value": "x"},
        "url_missing": {},
        "not_share_link": {"value": "x"},
        "command_as_answer": {"value": "确认提交"},
        "agreement_as_name": {"value": "同意"},
        "uscc_length": {"actual": 3},
        "uscc_chars": {"char": "I"},
        "uscc_region": {},
        "uscc_check": {},
        "bad_date": {"value": "x"},
        "no_such_day": {"value": "x", "year": 2025, "month": 6, "days": 30},
        "name_is_sentence": {"value": "自己单位报，不走推荐"},
        "date_outside": {"value": "x", "start": dt.date(2023, 1, 1), "end": None},
        "date_in_future": {"value": "x", "today": dt.date(2026, 12, 7)},
        "contact_as_text": {"value": "13611112222"},
        "date_as_text": {"value": "2025年10月15日"},
        "no_real_answer": {"value": "随便", "hint": "如生命科学"},
        "nothing_to_keep": {},
        "name_in_sentence": {"value": "法人是刘校长，刘大成"},
        "bad_integer": {"value": "x"},
        "integer_too_small": {"min": 1, "actual": 0},
        "integer_too_large": {"max": 1, "actual": 2},
        "choice_number": {"max": 3},
        "not_a_choice": {"options": ("是", "否")},
        "people_separator": {},
        "pledge_required": {},
        "contest_unknown": {},
        "video_file_not_accepted": {},
        "video_link_not_accepted": {},
        "video_share_link_required": {"value": "x"},
        "video_too_big": {"actual": "1MB", "max": "2MB"},
        "video_too_small": {"actual": "1MB", "min": "2MB"},
        "video_not_video": {"name": "x"},
        "video_expected": {},
    }
    seen = set()
    for code, params in codes.items():
        text = messages.render("error", code=code, p=params, label="内容简介")
        assert "填写有误" not in text, code  # the generic fallback
        assert text.count("\n") == 0, code
        seen.add(text)
    assert len(seen) == len(codes)


async def test_a_scan_sent_on_the_review_page_is_told_to_wait_for_the_submission(
    make_chat: Chat, contests: ContestRegistry
) -> None:
    chat = make_chat("ivy")
    await fill_until_review(chat, contests)
    text = await chat.send(
        Incoming(chat.user, EventKind.FILE, file=FileInfo("扫描件.png", 1000, "image/png"))
    )
    assert "请先核对下面的信息并回复“确认提交”" in text and "「核对信息」" not in text, text
    draft = await chat.draft()
    assert draft is not None and draft["step"] == "review"


async def test_start_event_on_every_channel_kind_creates_one_draft(make_chat: Chat) -> None:
    chat = make_chat()
    await chat.send(Incoming(chat.user, EventKind.START))
    await chat.send(Incoming(chat.user, EventKind.START))
    draft = await chat.draft()
    assert draft is not None and draft["step"] == "channel"


async def test_the_same_dialog_on_sqlite_and_redis(
    any_store: tuple[Storage, EventIsolation], engine: DialogEngine, contests: ContestRegistry, clock: Clock
) -> None:
    storage, _isolation = any_store
    chat = ChatDriver(SubmitHandler(engine, storage, clock=clock), UserKey("telegram", "42"))
    await fill_until_review(chat, contests)
    assert "KP2024-000001" in await chat.say("确认提交")
    sub = await storage.get_submission("KP2024-000001")
    assert sub is not None and sub.user == UserKey("telegram", "42")
    assert sub.answers["authors"] == ["张三", "李四"]
    scan = await storage.get_draft(chat.user)
    assert scan is not None
    assert scan.data["step"] == "scan"


async def test_a_bare_number_on_the_review_page_edits_that_item_not_an_action(
    make_chat: Chat, contests: ContestRegistry
) -> None:
    chat = make_chat()
    review = await fill_until_review(chat, contests)
    assert "“确认提交” / “修改” / “取消”" in review  # actions as words: the items are numbered
    text = await chat.say("1")  # item 1 is the form's first field, not "confirm"
    assert "【1/14】" in text and "请填写「自荐机构（个人）」" in text
    assert await chat.handler.storage.list_submissions() == []
    text = await chat.say("保留")
    assert "请核对报名信息" in text
    text = await chat.say("渠道")  # the channel, by (part of) its name
    assert "请选择参赛渠道" in text
    assert await chat.handler.storage.list_submissions() == []


async def test_review_numbers_are_the_counters_seen_while_filling_in(
    make_chat: Chat, contests: ContestRegistry
) -> None:
    """ "修改 3" is the field asked as 【3/m】; the video comes after the last field; the
    channel, chosen before the form, is changed by its name."""
    chat = make_chat()
    text = await chat.start()
    text = await chat.say("自荐")
    draft = await chat.draft()
    assert draft is not None
    contest = contests.get(draft["contest"])
    assert contest is not None
    form = contest.form("self")
    asked: dict[int, str] = {}
    for fld in form.fields:
        counter = text[text.index("【") + 1 : text.index("】")]
        n, total = (int(x) for x in counter.split("/"))
        assert total == len(form.fields)
        asked[n] = fld.label
        text = await chat.say(valid_answer(fld, contest))
    review = await chat.say(video_answer(contest))
    lines = review.splitlines()
    for n, label in asked.items():
        assert any(line.startswith(f"{n}. {label}：") for line in lines), (n, label, review)
    assert any(line.startswith(f"{len(form.fields) + 1}. 参赛视频：") for line in lines), review
    for n in (3, len(form.fields)):
        text = await chat.say(f"修改 {n}")
        assert f"【{n}/{len(form.fields)}】" in text and f"「{asked[n]}」" in text
        assert "请核对报名信息" in await chat.say("保留")
    text = await chat.say(f"修改 {len(form.fields) + 1}")
    assert "请提交参赛视频" in text
    assert "请核对报名信息" in await chat.say("保留")
    text = await chat.say(f"修改 {len(form.fields) + 2}")
    assert "没有这一项" in text and f"1～{len(form.fields) + 1}" in text
    # The edit menu numbers them the same way, and its buttons carry those numbers.
    menu = await chat.say("修改")
    assert menu.count(f"3. {asked[3]}：") == 1  # listed once, also where there are no buttons
    text = await chat.press("edit|3")
    assert f"【3/{len(form.fields)}】" in text


def test_the_engine_never_changes_the_state_it_was_given(contests: ContestRegistry) -> None:
    """Drafts are compare-and-set: the caller's copy must stay what the store holds."""
    import copy

    engine = DialogEngine(contests, Messages())
    now = beijing(2024, 10, 1)
    user = UserKey("test", "pure")
    state = engine.handle(None, Incoming(user, EventKind.START), now, contest_hint="most-cas-2024-kepu").state
    for text in ("自荐", "某某科普中心"):
        before = copy.deepcopy(state)
        outcome = engine.handle(state, Incoming(user, EventKind.TEXT, text=text), now)
        assert state == before and outcome.state != before
        state = outcome.state
    assert state is not None and state["answers"]
    answers_before = copy.deepcopy(state["answers"])
    engine.handle(state, Incoming(user, EventKind.TEXT, text="修改 1"), now)
    assert state["answers"] == answers_before


async def test_the_forms_share_link_is_offered_for_the_video(
    engine: DialogEngine, sqlite_store: tuple[Storage, EventIsolation], contests: ContestRegistry
) -> None:
    """cacsi asks the net-disk link on its form and again at the video step (tried as an entrant
    in the web chat: pasted twice); the video is in the same folder, so 同上 takes the form's."""
    chat, contest = await _cacsi_video_form(engine, sqlite_store, contests, "erin")
    link = "https://pan.baidu.com/s/1AbCdEfG?pwd=k3p9"
    for field in contest.form("video").fields:
        text = await chat.say(link if field.type is FieldType.URL else valid_answer(field, contest))
    assert "请提交参赛视频" in text and "回复“同上”即可" in text and "1AbCdEfG" in text
    text = await chat.say("同上")
    assert "已识别为百度网盘分享链接：https://pan.baidu.com/s/1AbCdEfG?pwd=k3p9" in text
    assert "请核对报名信息" in text
    video = (await chat.draft() or {})["video"]
    assert video["kind"] == "share_link" and "1AbCdEfG" in video["url"]
    # The form's link changed later (修改): the video that was 同上 is not left on the old folder.
    url_field = next(f for f in contest.form("video").fields if f.type is FieldType.URL)
    await chat.say(f"修改 {url_field.label}")
    text = await chat.say("https://pan.baidu.com/s/1NewFolder?pwd=ab12")
    assert "参赛视频之前用的是原来的链接，已清空" in text and "请提交参赛视频" in text
    assert (await chat.draft() or {}).get("video") is None
    text = await chat.say("同上")
    assert "1NewFolder" in (await chat.draft() or {})["video"]["url"]


async def test_same_means_nothing_where_the_form_holds_no_share_link(
    make_chat: Chat, contests: ContestRegistry
) -> None:
    # most-cas takes files and links and its form has no net-disk field: no 同上 is offered,
    # and typing it records no video.
    chat = make_chat("frank")
    text, _contest = await fill_form(chat, contests)
    assert "同上" not in text
    await chat.say("同上")
    assert (await chat.draft() or {}).get("video") is None


async def test_a_choice_the_channel_leaves_one_answer_to_is_filled_in_and_told_not_asked(
    engine: DialogEngine, sqlite_store: tuple[Storage, EventIsolation], contests: ContestRegistry
) -> None:
    """cacsi's 其他机构和个人自荐 allows 是否为会员 “否” alone: the trial's entrant was asked it all
    the same, a question with one answer.  It is filled in and said once the form is known,
    skipped on the way forward and back; opened by 修改, it is refused in its own terms (tried
    in the web chat: a number was refused with "1～2", and a word with "是、否")."""
    chat, contest = await _cacsi_video_form(engine, sqlite_store, contests, "gina")
    told = "\n".join(r.text for r in chat.last)
    assert (
        "「是否为会员」已填写为“否”" in told
        and "「其他机构和个人自荐（社会征集）」渠道这一项只能填“否”" in told
    )
    assert (await chat.draft() or {})["answers"] == {"member": "否"}
    fields = [f.id for f in contest.form("video").fields]
    at = fields.index("member")
    for fld in contest.form("video").fields[:at]:
        text = await chat.say(valid_answer(fld, contest))
    assert "「是否为会员」" not in text and f"【{at + 2}/" in text  # the next field is asked
    assert (await chat.draft() or {})["field"] == fields[at + 1]
    text = await chat.say("返回")  # back past it, to the field before
    assert "「是否为会员」" not in text and (await chat.draft() or {})["field"] == fields[at - 1]
    await chat.say("保留")
    text = await chat.say("修改 是否为会员")
    assert "这一项只能选：否" in text
    text = await chat.say("2")
    assert "没有这个序号，请回复 1，" in text
    text = await chat.say("张三")
    assert "请从以下选项中选择：否。" in text
    await chat.say("1")
    assert (await chat.draft() or {})["answers"]["member"] == "否"


async def test_the_video_prompt_names_the_entrants_own_form(
    make_chat: Chat, contests: ContestRegistry
) -> None:
    # most-cas writes 视频片头名称应与推荐表一致 for every route; a 自荐 entrant fills the 自荐表.
    prompt, _contest = await fill_form(make_chat("self"), contests, "自荐")
    assert "视频片头名称应与自荐表一致" in prompt and "推荐表" not in prompt
    prompt, _contest = await fill_form(make_chat("unit"), contests, "推荐")
    assert "视频片头名称应与推荐表一致" in prompt


async def test_a_person_entering_on_their_own_is_asked_to_sign_not_to_seal(
    make_chat: Chat, contests: ContestRegistry
) -> None:
    # Tried: 张伟, entering as 自荐机构（个人）, was told to 签字、盖章 at 自荐机构（盖章）.
    chat = make_chat("zhangwei")
    await chat.start()
    await chat.say("自荐")
    contest = contests.get(CONTEST)
    assert contest is not None
    own = {"unit": "张伟", "authors": "张伟、李四"}
    for field in contest.form("self").fields:
        await chat.say(own.get(field.id) or valid_answer(field, contest))
    await chat.say(video_answer(contest))
    done = await chat.say("确认提交")
    assert "提交成功" in done
    assert "在表上的签字栏（作者承诺 姓名（签字））本人手写签字" in done and "无需盖章" in done
    assert "盖章栏" not in done and "自荐机构（盖章）" not in done and "签字、盖章后" not in done
    later = await chat.say("稍后")
    assert "签字后随时发送" in later and "盖章" not in later


def test_the_submitted_message_names_the_forms_blanks_and_its_note(
    contests: ContestRegistry, messages: Messages
) -> None:
    # Second trial round: an individual of hlj was told to 签字盖章 at 自荐机构（盖章）.
    hlj = contests.get("hlj-2022-kepu")
    assert hlj is not None
    form = hlj.form("self")
    text = messages.render(
        "submitted", number="HLJ2022-000001", contest=hlj, form=form, methods=["x"],
        notes=[n for n in form.footnotes if "签" in n or "章" in n],
    )  # fmt: skip
    assert "处签字盖章" not in text and "个人自荐需手写签字" in text


def test_an_entry_no_unit_recommends_is_not_shown_the_recommending_units_blank(
    contests: ContestRegistry,
) -> None:
    # Third trial round: a cacsi 自荐 non-member was told to get "推荐单位 单位（盖章）".
    from dialogs.scan import _signing

    cacsi = contests.get("cacsi-2022-youth")
    assert cacsi is not None
    form = cacsi.form("video")
    alone, _ = _signing(form, individual=False, unrecommended=True)
    assert not any(b.startswith("推荐单位") for b in alone) and "作者承诺 单位（盖章）" in alone
    recommended, _ = _signing(form, individual=False)
    assert "推荐单位 单位（盖章）" in recommended


def test_the_submitted_message_says_handwriting_once(contests: ContestRegistry, messages: Messages) -> None:
    # Fourth trial round: "…（表注：签字需手写），签字需手写。"
    cas = contests.get("most-cas-2024-kepu")
    assert cas is not None
    form = cas.form("recommend")
    text = messages.render(
        "submitted", number="KP2024-000001", contest=cas, form=form, methods=["x"],
        signatures=("单位（盖章）",), notes=["签字需手写"],
    )  # fmt: skip
    assert text.count("签字需手写") == 1


async def test_a_new_entrant_typing_start_is_not_welcomed_back(
    tmp_path: Path, engine: DialogEngine, clock: Clock
) -> None:
    # A chat opened on a contest has a draft before anything is typed: 开始 then is no return.
    storage, isolation = await choose_backend(data_dir=tmp_path, redis_url=None).open_storage()
    chat = ChatDriver(SubmitHandler(engine, storage, clock=clock), UserKey("terminal", "newbie"))
    await chat.start()
    await chat.say("2")
    text = await chat.start()
    assert "欢迎回来" not in text and "请填写「自荐机构（个人）」" in text
    await storage.close()
    await isolation.close()


def test_the_pledge_prompt_names_who_signs_it(contests: ContestRegistry, messages: Messages) -> None:
    # Trial 5 (cq): the 创作单位诚信承诺 is signed by the 法定代表人, yet the prompt said
    # "打印后仍须本人手写签字" to the unit's contact person.
    cq = contests.get("cq-2023-scientist-spirit")
    assert cq is not None
    form = cq.form("unit_report")
    pledge = next(f for f in form.fields if f.type.value == "pledge")
    text = messages.render("prompt_field", field=pledge, index=11, total=11, current=None, form=form)
    assert "打印后须由法定代表人手写签字" in text and "本人手写签字" not in text
    hlj = contests.get("hlj-2022-kepu")
    assert hlj is not None
    own = hlj.form("self")
    pledge = next(f for f in own.fields if f.type.value == "pledge")
    text = messages.render("prompt_field", field=pledge, index=13, total=13, current=None, form=own)
    assert "打印后仍须本人手写签字" in text
