"""Input as people type it (issue 17): a contest by part of its name, a channel by a phrase, a
link without https://, a 提取码 in the next message, a link and a question in one message, and
cacsi's 会员 route that cannot be answered 否.

Through the service's front door (with its helpdesk), all five contests open at once as new
editions, as an entrant would meet them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.services import Services, services
from bot.settings import Settings
from contests.editions import new_edition
from contests.records import UserKey
from contests.registry import ContestRegistry, dump_contest
from contests.rules import Contest
from dialogs.choosing import channels_meant, contests_meant, picked_number
from tests.conftest import ChatDriver, asked_fields, valid_answer

EDITION = 2099


def edition_id(preset: str) -> str:
    return preset.replace("2022", str(EDITION)).replace("2023", str(EDITION)).replace("2024", str(EDITION))


CACSI = edition_id("cacsi-2022-youth")
CAS = edition_id("most-cas-2024-kepu")
CQ = edition_id("cq-2023-scientist-spirit")
HLJ = edition_id("hlj-2022-kepu")


@pytest.fixture
async def svc(tmp_path: Path, contests: ContestRegistry) -> AsyncIterator[Services]:
    for source in contests:
        data = new_edition(source, edition_id(source.id), dt.date(EDITION, 10, 25), dt.date(2000, 1, 1))
        dump_contest(data, tmp_path / "contests" / f"{data['id']}.yaml")
    async with services(Settings(data_dir=tmp_path, helpdesk_operators="test:operators")) as s:
        yield s


@pytest.fixture
def chat(svc: Services) -> Callable[[str], ChatDriver]:
    return lambda name: ChatDriver(svc.submit, UserKey("test", name), front=svc.assistant)


def contest(svc: Services, contest_id: str) -> Contest:
    found = svc.contests.get(contest_id)
    assert found is not None
    return found


async def at_field(c: ChatDriver, svc: Services, contest_id: str, channel: str, field_id: str) -> str:
    """Start, pick the contest and channel (and 微视频), answer every field before ``field_id``;
    returns the last reply (its prompt)."""
    await c.start()
    await c.say(contest(svc, contest_id).title)
    text = await c.say(channel)
    draft = await c.draft()
    assert draft is not None and draft["channel"], text
    route = contest(svc, contest_id).channel(draft["channel"])
    if len(route.forms) > 1:
        text = await c.say("微视频")
    form = contest(svc, contest_id).form(route.forms["work"])
    for fld in asked_fields(form, route.id):
        if fld.id == field_id:
            return text
        text = await c.say(valid_answer(fld, contest(svc, contest_id)))
    return text


# ---------------------------------------------------------------------- a contest by part of its name
@pytest.mark.parametrize(("typed", "wanted"), [("黑龙江", HLJ), ("全国科普微视频大赛", CAS), ("重庆", CQ)])
async def test_a_contest_by_part_of_its_name(
    chat: Callable[[str], ChatDriver], svc: Services, typed: str, wanted: str
) -> None:
    c = chat("a" + typed)
    assert "请选择要报名的大赛" in await c.start()
    reply = await c.say(typed)
    assert f"已选择「{contest(svc, wanted).title}」" in reply
    assert (await c.draft() or {}).get("contest") == wanted


async def test_an_ambiguous_part_gets_a_choice_not_a_guess(
    chat: Callable[[str], ChatDriver], svc: Services
) -> None:
    c = chat("amb")
    await c.start()
    reply = await c.say("科普微视频")
    assert "「科普微视频」可能是以下2个大赛" in reply
    assert contest(svc, HLJ).title in reply and contest(svc, CAS).title in reply
    assert (await c.draft() or {}).get("contest") is None
    [offer] = c.last
    assert not offer.numbered and {ch.label for ch in offer.choices} == {
        contest(svc, HLJ).title,
        contest(svc, CAS).title,
    }
    pressed = next(ch.payload for ch in offer.choices if ch.label == contest(svc, CAS).title)
    assert f"已选择「{contest(svc, CAS).title}」" in await c.press(pressed)


def test_contests_meant_by_words_around_the_name(contests: ContestRegistry) -> None:
    every = list(contests)
    assert [x.id for x in contests_meant("我要报名黑龙江的那个比赛", every)] == ["hlj-2022-kepu"]
    assert [x.id for x in contests_meant("大美科技特派团", every)] == ["most-2023-tech-envoy"]
    # Tried as an entrant on the web chat: refused as 没有找到这个大赛.
    assert [x.id for x in contests_meant("我想报科技特派团那个", every)] == ["most-2023-tech-envoy"]
    assert [x.id for x in contests_meant("青少年科技教育的征集", every)] == ["cacsi-2022-youth"]
    assert len(contests_meant("2023", every)) == 2
    assert contests_meant("科", every) == []  # one character names nothing
    # Tried on the web chat (session 15): pieces of the names, most of one name, the organiser.
    assert [x.id for x in contests_meant("我要报名重庆的短视频大赛", every)] == ["cq-2023-scientist-spirit"]
    assert [x.id for x in contests_meant("黑龙江科普微视频", every)] == ["hlj-2022-kepu"]
    assert [x.id for x in contests_meant("中国青少年科技教育工作者协会的征集", every)] == ["cacsi-2022-youth"]
    assert len(contests_meant("科技部的比赛", every)) == 2  # two contests: offered, not guessed
    assert contests_meant("你好", every) == []


# ---------------------------------------------------------------------- a channel by a phrase
@pytest.mark.parametrize(
    ("preset", "typed", "channel"),
    [
        ("cacsi-2022-youth", "我是单位推荐的", "province"),
        ("cacsi-2022-youth", "我是个人会员，选2", "member"),
        ("cacsi-2022-youth", "我是单位会员", "member"),
        ("cacsi-2022-youth", "不是会员，自己报", "self"),
        ("most-cas-2024-kepu", "自己报", "self"),
        ("most-cas-2024-kepu", "我们单位推荐", "recommend"),
        ("hlj-2022-kepu", "个人", "self"),
        ("cq-2023-scientist-spirit", "我是单位推荐的", "district"),
        # The kind after a "not" is the one not meant (tried: it picked 地方推荐).
        ("most-2023-tech-envoy", "自己单位报，不走推荐", "self"),
        ("most-cas-2024-kepu", "不是推荐，自己报", "self"),
    ],
)
def test_channels_meant_by_a_phrase(contests: ContestRegistry, preset: str, typed: str, channel: str) -> None:
    found = contests.get(preset)
    assert found is not None
    assert [ch.id for ch in channels_meant(typed, found.channels)] == [channel]


def test_a_number_in_words() -> None:
    assert picked_number("我是个人会员，选2") == 2 and picked_number("第 3 个") == 3
    assert picked_number("2023年的比赛") is None and picked_number("附件3说的") is None


async def test_channel_phrases_in_the_dialog(chat: Callable[[str], ChatDriver], svc: Services) -> None:
    c = chat("member")
    await c.start()
    await c.say("青少年")
    reply = await c.say("我是个人会员，选2")
    assert "请选择您要申报的类型" in reply
    assert (await c.draft() or {})["channel"] == "member"

    d = chat("unit")
    await d.start()
    await d.say("青少年科技教育")
    await d.say("我是单位推荐的")
    assert (await d.draft() or {})["channel"] == "province"


async def test_a_greeting_before_the_contest_is_greeted_back(chat: Callable[[str], ChatDriver]) -> None:
    c = chat("hello")
    await c.start()
    reply = await c.say("你好")
    assert "您好" in reply and "请选择要报名的大赛" in reply and "没有找到" not in reply


async def test_a_channel_taken_back_at_a_field_is_the_channel_not_the_answer(
    chat: Callable[[str], ChatDriver],
) -> None:
    # Tried: "不对，我选的是自荐" at 推荐单位 was stored as the recommending unit's name.
    c = chat("fix")
    await c.start()
    await c.say("大美科技特派团")
    await c.say("1")
    before = await c.draft() or {}
    assert before["channel"] == "recommend" and before["step"] == "field"
    reply = await c.say("不对，我选的是自荐")
    draft = await c.draft() or {}
    assert "参赛渠道已改为「社会征集（自荐）」" in reply and draft["channel"] == "self"
    assert "不对" not in str(draft.get("answers"))


async def test_a_phrase_that_fits_two_channels_is_asked_about(chat: Callable[[str], ChatDriver]) -> None:
    c = chat("self")
    await c.start()
    await c.say("青少年")
    reply = await c.say("自己报")
    assert (
        "「自己报」可能是以下2个渠道" in reply and "会员推荐/申报" in reply and "其他机构和个人自荐" in reply
    )
    assert (await c.draft() or {})["channel"] is None
    await c.say("其他机构和个人自荐（社会征集）")
    assert (await c.draft() or {})["channel"] == "self"


async def test_words_and_a_number_that_disagree_are_asked_about(chat: Callable[[str], ChatDriver]) -> None:
    c = chat("disagree")
    await c.start()
    await c.say("青少年")
    reply = await c.say("我是个人会员，选1")  # 1 is 省级推荐
    assert "可能是以下2个渠道" in reply and (await c.draft() or {})["channel"] is None


# ---------------------------------------------------------------------- links as people type them
async def test_a_platform_address_without_https(chat: Callable[[str], ChatDriver], svc: Services) -> None:
    c = chat("bili")
    prompt = await at_field(c, svc, CAS, "自荐", "platform")
    assert "「播出平台及网址」" in prompt
    reply = await c.say("B站 www.bilibili.com/video/BV1xx411c7mD")
    assert "「联系地址」" in reply
    assert (await c.draft() or {})["answers"]["platform"] == "B站 https://www.bilibili.com/video/BV1xx411c7mD"


async def test_a_baidu_link_on_the_form_needs_its_code_and_takes_it_from_the_next_message(
    chat: Callable[[str], ChatDriver], svc: Services
) -> None:
    c = chat("baidu")
    await at_field(c, svc, CACSI, "其他机构和个人自荐（社会征集）", "share_link")
    before = await c.draft()
    refused = await c.say("pan.baidu.com/s/1AbCdEfG")
    assert "缺少提取码" in refused and "不是有效的网址" not in refused
    after = await c.draft()
    assert after is not None and before is not None
    assert after["answers"] == before["answers"] and after["field"] == "share_link"
    taken = await c.say("提取码：k3p9")
    assert "「封面图」" in taken  # the next field of cacsi's form
    stored = (await c.draft() or {})["answers"]["share_link"]
    assert stored == "https://pan.baidu.com/s/1AbCdEfG?pwd=k3p9 提取码：k3p9"


async def test_a_link_and_its_code_in_prose_on_one_line(
    chat: Callable[[str], ChatDriver], svc: Services
) -> None:
    c = chat("prose")
    await at_field(c, svc, CACSI, "其他机构和个人自荐（社会征集）", "share_link")
    await c.say("链接：pan.baidu.com/s/1AbCdEfG 提取码: k3p9 复制这段内容后打开百度网盘手机App")
    assert (await c.draft() or {})["answers"]["share_link"].endswith("提取码：k3p9")


async def test_an_aliyun_code_sent_after_its_link_is_added_not_refused(
    chat: Callable[[str], ChatDriver], svc: Services
) -> None:
    c = chat("aliyun")
    await at_field(c, svc, CACSI, "其他机构和个人自荐（社会征集）", "share_link")
    assert "「封面图」" in await c.say("阿里云盘 www.alipan.com/s/Ab12Cd34")
    reply = await c.say("提取码 x7y8")
    assert "已把提取码 x7y8 补到刚才的网盘链接上" in reply and "「封面图」" in reply
    draft = await c.draft()
    assert draft is not None and draft["field"] == "cover" and "cover" not in draft["answers"]
    assert draft["answers"]["share_link"] == "https://www.alipan.com/s/Ab12Cd34 提取码：x7y8"
    # Only the very next message: a code-like answer later is the answer it is.
    assert "「联系电话」" in await c.say("封面.jpg")
    await c.say("13800138000")
    assert (await c.draft() or {})["answers"]["phone"] == "13800138000"


async def test_an_aliyun_code_after_the_video_link(chat: Callable[[str], ChatDriver], svc: Services) -> None:
    c = chat("video")
    form = contest(svc, CACSI).form("video")
    await at_field(c, svc, CACSI, "其他机构和个人自荐（社会征集）", form.fields[-1].id)
    assert "请提交参赛视频" in await c.say("同意")
    await c.say("https://www.alipan.com/s/Vid12345")
    draft = await c.draft()
    assert draft is not None and draft["video"]["code"] == ""
    reply = await c.say("提取码：q1w2")
    assert "已把提取码 q1w2 补到" in reply
    assert (await c.draft() or {})["video"]["code"] == "q1w2"


@pytest.mark.parametrize("said", ["码是q1w2", "q1w2"])
async def test_a_video_links_code_said_briefly_at_the_review_page(
    chat: Callable[[str], ChatDriver], svc: Services, said: str
) -> None:
    # Second trial round: "码是8d3k" and then "8d3k" after the video link were refused as
    # "不是有效的网址"; on the review page a bare code answers nothing else.
    c = chat(f"video-{len(said)}")
    form = contest(svc, CACSI).form("video")
    await at_field(c, svc, CACSI, "其他机构和个人自荐（社会征集）", form.fields[-1].id)
    await c.say("同意")
    assert "请核对报名信息" in await c.say("https://www.alipan.com/s/Vid12345")
    reply = await c.say(said)
    assert "已把提取码 q1w2 补到" in reply and "不是有效的网址" not in reply
    assert (await c.draft() or {})["video"]["code"] == "q1w2"


async def test_the_video_code_asked_for_may_come_with_its_word(
    chat: Callable[[str], ChatDriver], svc: Services
) -> None:
    c = chat("video-baidu")
    form = contest(svc, CACSI).form("video")
    await at_field(c, svc, CACSI, "其他机构和个人自荐（社会征集）", form.fields[-1].id)
    await c.say("同意")
    asked = await c.say("https://pan.baidu.com/s/1VidEoLink")
    assert "提取码" in asked and not (await c.draft() or {}).get("video")
    reply = await c.say("提取码：k3p9")  # refused as "不是有效的网址" before
    assert "不是有效的网址" not in reply
    assert (await c.draft() or {})["video"]["code"] == "k3p9"


async def test_a_link_and_a_question_in_one_message_keep_the_link(
    chat: Callable[[str], ChatDriver], svc: Services
) -> None:
    c = chat("both")
    form = contest(svc, CAS).form("self")
    await at_field(c, svc, CAS, "自荐", form.fields[-1].id)
    assert "请提交参赛视频" in await c.say(valid_answer(form.fields[-1], contest(svc, CAS)))
    reply = await c.say("链接 pan.baidu.com/s/1AbCdEfG 提取码 k3p9，视频可以多大？")
    assert "300" in reply  # the helpdesk answered: 100～300兆
    assert "链接没有丢" in reply and "请核对报名信息" in reply
    assert reply.index("300") < reply.index("链接没有丢")
    video = (await c.draft() or {})["video"]
    assert video["kind"] == "share_link" and video["code"] == "k3p9"


# ---------------------------------------------------------------------- cacsi: 是否为会员 by channel
async def test_the_member_route_does_not_take_no_for_membership(
    chat: Callable[[str], ChatDriver], svc: Services
) -> None:
    c = chat("member-no")
    prompt = await at_field(c, svc, CACSI, "会员推荐/申报（社会征集）", "member")
    assert "1. 单位会员" in prompt and "2. 个人会员" in prompt and "3. 否" not in prompt
    refused = await c.say("否")
    assert "请改选「其他机构和个人自荐（社会征集）」渠道" in refused
    assert "member" not in (await c.draft() or {})["answers"]
    await c.say("2")
    assert (await c.draft() or {})["answers"]["member"] == "个人会员"


async def test_the_others_route_is_for_non_members(chat: Callable[[str], ChatDriver], svc: Services) -> None:
    # Trial: the route that allows 否 alone asked 是否为会员 all the same; it is filled in and told.
    c = chat("self-yes")
    await c.start()
    await c.say(contest(svc, CACSI).title)
    await c.say("其他机构和个人自荐（社会征集）")
    told = await c.say("微视频")
    assert "「是否为会员」已填写为“否”" in told and "这一项只能填“否”，不再询问" in told
    assert (await c.draft() or {})["answers"] == {"member": "否"}
    # Opened by 修改, a member is sent to the members' route.
    assert "这一项只能选：否" in await c.say("修改 3")
    await c.say("1")
    # By its label too, though "是否" reads as a question: it went to the helpdesk, which listed
    # the options of every route.
    opened = await c.say("修改 是否为会员")
    assert "这一项只能选：否" in opened and "单位会员" not in opened
    assert "请改选「会员推荐/申报（社会征集）」渠道" in await c.say("个人会员")
    await c.say("1")
    assert (await c.draft() or {})["answers"]["member"] == "否"


async def test_an_individual_member_is_told_as_whom_they_enter(
    chat: Callable[[str], ChatDriver], svc: Services
) -> None:
    # A 个人会员 entering their 科普号 through 会员推荐/申报 was told "以个人身份自荐" at 确认提交
    # and in the scan prompt: that is the other channel's wording.
    c = chat("member-person")
    cacsi = contest(svc, CACSI)
    await c.start()
    await c.say(cacsi.title)
    await c.say("会员推荐/申报（社会征集）")
    await c.say("科普号")
    own = {"unit": "张三", "member": "个人会员", "lead_name": "张三"}
    for fld in cacsi.form("account").fields:
        await c.say(own.get(fld.id) or valid_answer(fld, cacsi))
    done = await c.say("确认提交")
    assert "提交成功" in done and "以个人会员身份申报，无需盖章" in done and "自荐" not in done
    later = await c.say("表格以后再说")  # the scan prompt, asked again
    assert "以个人会员身份申报，无需盖章" in later and "自荐" not in later
    # A person of the other channel still enters 以个人身份自荐.
    d = chat("self-person")
    await d.start()
    await d.say(cacsi.title)
    await d.say("其他机构和个人自荐（社会征集）")
    await d.say("科普号")
    for fld in asked_fields(cacsi.form("account"), "self"):  # 是否为会员 is 否 there, not asked
        await d.say(own.get(fld.id) or valid_answer(fld, cacsi))
    assert (await d.draft() or {})["answers"]["member"] == "否"
    assert "以个人身份自荐，无需盖章" in await d.say("确认提交")


def test_the_contests_own_name_names_no_channel(contests: ContestRegistry) -> None:
    # Tried in the terminal with the contest already chosen: "我要报名大美科技特派团的微视频征集" at the
    # channel step took 社会征集（自荐） for its 征集.
    envoy = contests.get("most-2023-tech-envoy")
    assert envoy is not None
    names = (envoy.title, envoy.short_title)
    assert channels_meant("我要报名大美科技特派团的微视频征集", envoy.channels, names) == []
    assert [c.id for c in channels_meant("社会征集", envoy.channels, names)] == ["self"]


async def test_a_channel_the_contest_lacks_is_said_to_be_lacking(chat: Callable[[str], ChatDriver]) -> None:
    # Second trial round: cq has only 区县推荐; "不对，我选的是自荐" re-listed the 41 districts.
    c = chat("cq-self")
    await c.start()
    await c.say("重庆")
    await c.say("1")
    reply = await c.say("不对，我选的是自荐")
    assert "本大赛只有以下参赛渠道" in reply and "区县推荐" in reply
    assert (await c.draft() or {})["channel"] == "district"


async def test_a_question_in_the_dialog_is_about_the_drafts_own_call(
    chat: Callable[[str], ChatDriver], svc: Services
) -> None:
    # Second trial round: a cacsi 微视频 entrant asking "推荐单位那栏…要盖章吗" got the 科普号 form's boxes.
    c = chat("own-call")
    form = contest(svc, CACSI).form("video")
    await at_field(c, svc, CACSI, "其他机构和个人自荐（社会征集）", form.fields[1].id)
    reply = await c.say("推荐单位那栏要盖章吗？")
    assert "微视频申报表" in reply and "科普号申报表" not in reply


async def test_a_link_and_a_question_at_a_field_that_must_hold_a_url_keep_the_link(
    chat: Callable[[str], ChatDriver], svc: Services
) -> None:
    # Trial round: "央视频 w.yangshipin.cn/… ，电视台播的也算吗？" at 「播出平台及网址」 was handed off
    # and the link dropped.
    c = chat("platform")
    await at_field(c, svc, CAS, "自荐", "platform")
    reply = await c.say("央视频 w.yangshipin.cn/video?vid=abc123 ，电视台播的也算吗？")
    assert "电视台" in reply and "链接没有丢" in reply and "已填入「播出平台及网址」" in reply
    draft = await c.draft() or {}
    assert "yangshipin.cn" in str(draft) and "也算吗" not in str(draft), reply


async def test_a_platform_then_its_address_in_the_next_message_are_one_answer(
    chat: Callable[[str], ChatDriver], svc: Services
) -> None:
    # Trial round (hlj 自荐): "抖音" at 「播出平台及网址」 was refused, and the address sent next was
    # stored alone: the platform was lost.
    url = "https://www.douyin.com/video/7234567890123456789"
    c = chat("platform-apart")
    await at_field(c, svc, HLJ, "个人自荐", "platform")
    reply = await c.say("抖音")
    assert "已记下“抖音”，请接着发送播放网址" in reply
    assert "platform" not in (await c.draft() or {})["answers"]
    reply = await c.say(url)
    assert "请填写「联系地址」" in reply
    assert (await c.draft() or {})["answers"]["platform"] == f"抖音 {url}"
    # Both again in one message: that message as sent, nothing of the platform kept before it.
    await c.say("修改 播出平台及网址")
    await c.say("快手")
    await c.say(f"B站 {url}")
    assert (await c.draft() or {})["answers"]["platform"] == f"B站 {url}"
    # "网址是…" alone is the address alone; the words around it are not kept.
    await c.say("修改 播出平台及网址")
    await c.say("西瓜视频")
    await c.say(f"网址是{url}")
    assert (await c.draft() or {})["answers"]["platform"] == f"西瓜视频 {url}"


async def test_a_mistyped_email_is_offered_corrected_and_yes_takes_it(
    chat: Callable[[str], ChatDriver], svc: Services
) -> None:
    # Trial round: "abc@xx.gov,cn" was refused with no word of the address meant.
    c = chat("email-near")
    await at_field(c, svc, HLJ, "个人自荐", "email")
    reply = await c.say("abc@xx.gov,cn")
    assert "您是指“abc@xx.gov.cn”吗？是的话请回复“是”" in reply
    assert "email" not in (await c.draft() or {})["answers"]  # offered, never taken
    assert "请填写「内容简介」" in await c.say("是")
    assert (await c.draft() or {})["answers"]["email"] == "abc@xx.gov.cn"
    # Declined by typing another address: that one; "是" later is no answer to an old offer.
    await c.say("修改 电子邮箱")
    await c.say("wxm@qqcom")
    await c.say("wxm@163.com")
    assert (await c.draft() or {})["answers"]["email"] == "wxm@163.com"
    await c.say("修改 电子邮箱")
    assert "不是有效的电子邮箱" in await c.say("是")


async def test_a_track_named_in_words_is_chosen_with_the_channel_or_at_its_step(
    chat: Callable[[str], ChatDriver], svc: Services
) -> None:
    # Third trial round: "我是协会的个人会员，想报我的科普号" was asked 微视频 or 科普号 again, the
    # channel picked without a word; "报视频" at the track step was refused.
    c = chat("member-account")
    await c.start()
    await c.say(contest(svc, CACSI).title)
    reply = await c.say("我是协会的个人会员，想报我的科普号")
    draft = await c.draft() or {}
    assert draft["track"] == "account" and "好的，按“" in reply
    assert "请选择您要申报的类型" not in reply and draft["step"] == "field"  # not asked again
    d = chat("member-video")
    await d.start()
    await d.say(contest(svc, CACSI).title)
    await d.say("我是协会的个人会员")
    await d.say("报视频")
    assert (await d.draft() or {})["track"] == "work"


@pytest.mark.parametrize(("said", "track", "member"), [
    ("我是协会的个人会员，想报我的科普号", "account", "个人会员"),
    ("我们是单位会员", "work", "单位会员"),
])  # fmt: skip
async def test_a_membership_said_with_the_channel_is_not_asked_again(
    chat: Callable[[str], ChatDriver], svc: Services, said: str, track: str, member: str
) -> None:
    # "我是协会的个人会员" chose the 会员 channel, and 是否为会员 was asked all the same.
    cacsi = contest(svc, CACSI)
    form = cacsi.form("account" if track == "account" else "video")
    at = [f.id for f in form.fields].index("member")
    c = chat(f"said-{member}")
    await c.start()
    await c.say(cacsi.title)
    reply = await c.say(said)
    assert f"「是否为会员」填写为“{member}”" in reply
    if track == "work":
        reply = await c.say("微视频")
    for fld in form.fields[:at]:
        reply = await c.say(valid_answer(fld, cacsi))
    draft = await c.draft() or {}
    assert "「是否为会员」" not in reply and draft["answers"]["member"] == member
    assert draft["field"] == form.fields[at + 1].id
    # Another channel, where that answer is not allowed: cleared, and the one it allows filled in.
    reply = await c.say("不对，我选的是其他机构和个人自荐")
    assert (await c.draft() or {})["channel"] == "self"
    reply = await c.say("科普号" if track == "account" else "微视频")
    assert f"「是否为会员」已填写为“否”（原来的“{member}”不适用）" in reply
    for _fld in form.fields[:at]:
        reply = await c.say("保留")
    assert "「是否为会员」" not in reply and (await c.draft() or {})["answers"]["member"] == "否"


@pytest.mark.parametrize(
    ("said", "district"), [("我们单位在江北嘛，就报江北噻", "江北区"), ("万州的，我们是三峡学院", "万州区")]
)
async def test_a_district_named_in_a_sentence_is_chosen(
    chat: Callable[[str], ChatDriver], svc: Services, said: str, district: str
) -> None:
    # Third trial round: both were answered with the whole list of districts again.
    form = contest(svc, CQ).form(contest(svc, CQ).channels[0].forms["work"])
    fld = next(f for f in form.fields if f.role in ("recommender", "province"))
    c = chat(f"district-{district}")
    await at_field(c, svc, CQ, contest(svc, CQ).channels[0].label, fld.id)
    await c.say(said)
    assert (await c.draft() or {})["answers"][fld.id] == district


@pytest.mark.parametrize(
    ("said", "province"),
    [("我在广东", "广东省"), ("我们是内蒙古的", "内蒙古自治区"), ("新疆生产建设兵团的", "新疆生产建设兵团")],
)
async def test_a_province_named_in_a_sentence_by_its_short_name_is_chosen(
    chat: Callable[[str], ChatDriver], svc: Services, said: str, province: str
) -> None:
    # Trial 7 (cacsi 所在省份): "我在广东" was answered with the whole list of provinces again.
    form = contest(svc, CACSI).form("video")
    fld = next(f for f in form.fields if f.role == "province")
    c = chat(f"province-{province}")
    await at_field(c, svc, CACSI, "其他机构和个人自荐（社会征集）", fld.id)
    await c.say(said)
    assert (await c.draft() or {})["answers"][fld.id] == province


async def test_a_video_too_big_for_the_chat_where_only_links_are_taken(
    chat: Callable[[str], ChatDriver], svc: Services
) -> None:
    # Fourth trial round: cacsi's net-disk video step said "视频太大了发不了怎么办" is no valid address.
    c = chat("too-big-link")
    form = contest(svc, CACSI).form("video")
    await at_field(c, svc, CACSI, "其他机构和个人自荐（社会征集）", form.fields[-1].id)
    await c.say("同意")
    reply = await c.say("视频太大了发不了怎么办")
    assert "不是有效的网址" not in reply and "分享链接" in reply
    assert not (await c.draft() or {}).get("video")


async def test_a_broadcast_day_still_to_come_is_refused_where_the_notice_sets_no_window(
    chat: Callable[[str], ChatDriver], svc: Services
) -> None:
    # Fourth trial round: envoy's 播出时间 (no window in the notice) took 2027年1月5日 on 2026-12-07.
    envoy = edition_id("most-2023-tech-envoy")
    c = chat("future-broadcast")
    await at_field(c, svc, envoy, "地方推荐", "broadcast_date")
    reply = await c.say("2090年1月5日")
    assert "晚于今天" in reply
    assert "broadcast_date" not in (await c.draft() or {})["answers"]
    await c.say("2025年1月5日")
    assert (await c.draft() or {})["answers"]["broadcast_date"] == "2025-01-05"


# ---------------------------------------------------------------------- trial 9: words around answers
async def at_review(
    c: ChatDriver, svc: Services, contest_id: str, channel: str, track: str = "微视频"
) -> str:
    """Every field of the channel's form answered and a net-disk video sent: the review page."""
    await c.start()
    await c.say(contest(svc, contest_id).title)
    await c.say(channel)
    draft = await c.draft() or {}
    route = contest(svc, contest_id).channel(draft["channel"])
    key = "work"
    if len(route.forms) > 1:
        await c.say(track)
        key = (await c.draft() or {})["track"]
    for fld in contest(svc, contest_id).form(route.forms[key]).fields:
        await c.say(valid_answer(fld, contest(svc, contest_id)))
    reply = await c.say("链接: https://pan.baidu.com/s/1AbCdEfG 提取码: k3p9")
    assert "请核对报名信息" in reply, reply
    return reply


@pytest.mark.parametrize(
    "said",
    [
        "我们单位是重庆树人科技有限公司",
        "我们公司叫重庆树人科技有限公司",
        "我们单位的全称是重庆树人科技有限公司",
    ],
)
async def test_a_unit_said_as_ours_in_a_sentence_is_its_name(
    chat: Callable[[str], ChatDriver], svc: Services, said: str
) -> None:
    # Trial 9 (cq, web chat): "我们单位是重庆树人科技有限公司" was stored as 创作单位, printed on the
    # form and in the pledge ("我单位（我们单位是…）").
    c = chat("ours-" + said[:4])
    await at_field(c, svc, CQ, contest(svc, CQ).channels[0].label, "unit")
    await c.say(said)
    assert (await c.draft() or {})["answers"]["unit"] == "重庆树人科技有限公司"


@pytest.mark.parametrize(
    ("field_id", "said", "name"),
    [
        ("contact_name", "联系人是张丽", "张丽"),
        ("contact_name", "负责联系的是刘波老师", "刘波"),
        ("legal_rep", "我们法人是王志刚", "王志刚"),
        ("legal_rep", "法人：陈刚", "陈刚"),
    ],
)
async def test_a_person_named_in_a_sentence_is_the_name(
    chat: Callable[[str], ChatDriver], svc: Services, field_id: str, said: str, name: str
) -> None:
    # Trial 9 (cq): "联系人是张丽" and "我们法人是王志刚" were refused as sentences; "负责联系的是刘波老师"
    # and "法人：陈刚" were stored as typed and printed on the form as the person's name.
    c = chat(f"person-{field_id}-{name}")
    await at_field(c, svc, CQ, contest(svc, CQ).channels[0].label, field_id)
    reply = await c.say(said)
    assert "是一句话" not in reply
    assert (await c.draft() or {})["answers"][field_id] == name


async def test_a_title_in_a_sentence_with_its_quotes_is_the_title(
    chat: Callable[[str], ChatDriver], svc: Services
) -> None:
    # Trial 9 (cacsi web chat): "科普号叫“小林爱实验”" was stored whole as 科普号名称 and named the
    # net-disk folder "广东省+个人+科普号叫“小林爱实验”".
    c = chat("account-name")
    await c.start()
    await c.say(contest(svc, CACSI).title)
    await c.say("不是会员，自己报科普号")
    await c.say("广东")
    await c.say("科普号叫“小林爱实验”")
    assert (await c.draft() or {})["answers"]["account_name"] == "小林爱实验"


async def test_a_credit_code_said_with_its_label_is_the_code(
    chat: Callable[[str], ChatDriver], svc: Services
) -> None:
    # Trial 9 (cq): "信用代码12500000450405117W" was "应为18位，您填写了22位".
    c = chat("uscc")
    await at_field(c, svc, CQ, contest(svc, CQ).channels[0].label, "uscc")
    reply = await c.say("信用代码12500000450405117W")
    assert "22位" not in reply
    assert (await c.draft() or {})["answers"]["uscc"] == "12500000450405117W"


@pytest.mark.parametrize(("field_id", "said", "value"), [
    ("followers", "大概2.3w", 23000),
    ("followers", "1.5W粉丝", 15000),
    ("works_count", "发了120多个视频", 120),
])  # fmt: skip
async def test_a_count_as_people_type_it(
    chat: Callable[[str], ChatDriver], svc: Services, field_id: str, said: str, value: int
) -> None:
    # Trial 9 (cacsi 科普号, web chat): "大概2.3w" and "发了120多个视频" were "请填写数字".
    c = chat(f"count-{said}")
    await c.start()
    await c.say(contest(svc, CACSI).title)
    await c.say("不是会员，自己报科普号")
    for fld in contest(svc, CACSI).form("account").fields:
        if fld.id == field_id:
            break
        await c.say(valid_answer(fld, contest(svc, CACSI)))
    await c.say(said)
    assert (await c.draft() or {})["answers"][field_id] == value


async def test_a_channel_taken_back_on_the_review_page_changes_the_channel(
    chat: Callable[[str], ChatDriver], svc: Services
) -> None:
    # Trial 9 (hlj, terminal): on the review page "不对，我选的是单位推荐" opened 自荐机构（个人） (its
    # 单位 named the item), and "不对，我应该是单位推荐的" was "核对页上没有“不对，我”这一项".
    c = chat("review-channel")
    await at_review(c, svc, HLJ, "个人自荐")
    reply = await c.say("不对，我选的是单位推荐")
    draft = await c.draft() or {}
    assert draft["channel"] == "recommend", reply
    assert "「推荐单位」" in reply and "自荐机构（个人）" in reply  # cleared, said so, asked
    d = chat("review-channel-2")
    await at_review(d, svc, HLJ, "个人自荐")
    await d.say("不对，我应该是单位推荐的")
    assert (await d.draft() or {})["channel"] == "recommend"


@pytest.mark.parametrize(("contest_id", "channel", "said", "field_id", "value"), [
    (CQ, "区县推荐", "法人改成陈刚", "legal_rep", "陈刚"),
    (CQ, "区县推荐", "信用代码改成12500000450405117W", "uscc", "12500000450405117W"),
    (CACSI, "其他机构和个人自荐（社会征集）", "申报人改成周晓燕", "unit", "周晓燕"),
])  # fmt: skip
async def test_an_item_named_by_its_short_or_bracketed_name_on_the_review_page(
    chat: Callable[[str], ChatDriver],
    svc: Services,
    contest_id: str,
    channel: str,
    said: str,
    field_id: str,
    value: str,
) -> None:
    # Trial 9: "法人改成陈刚" (法定代表人) and "申报人改成周晓燕" (单位名称（申报人）) were "核对页上没有
    # “法人”这一项"; so was "信用代码改成…" (统一社会信用代码).
    c = chat(f"short-{field_id}")
    await at_review(c, svc, contest_id, channel)
    reply = await c.say(said)
    assert "没有“" not in reply, reply
    assert (await c.draft() or {})["answers"][field_id] == value


async def test_a_contest_named_with_the_channel_in_one_message(
    chat: Callable[[str], ChatDriver], svc: Services
) -> None:
    # Trial 9 (hlj, web chat): "我要报黑龙江的，个人自荐" at the list was "没有找到这个大赛".
    c = chat("contest-and-channel")
    await c.start()
    reply = await c.say("我要报黑龙江的，个人自荐")
    draft = await c.draft() or {}
    assert draft.get("contest") == HLJ and draft.get("channel") == "self", reply
    assert "「自荐机构（个人）」" in reply


async def test_a_greeting_and_who_one_is_around_a_contests_name(
    chat: Callable[[str], ChatDriver], svc: Services
) -> None:
    # Trial 9 (cq, web chat): "你好，我们公司想报重庆那个科学家精神短视频" was "没有找到名为「你好，…」
    # 的大赛", with the contest offered to confirm.
    c = chat("hello-company")
    await c.start()
    reply = await c.say("你好，我们公司想报重庆那个科学家精神短视频")
    assert f"已选择「{contest(svc, CQ).title}」" in reply and "没有找到" not in reply


async def test_a_district_one_sound_away_is_offered(chat: Callable[[str], ChatDriver], svc: Services) -> None:
    # Trial 9 (cq, web chat): "沙平坝区" got the list of 41 districts to find 沙坪坝区 in.
    c = chat("district-typo")
    await at_field(c, svc, CQ, contest(svc, CQ).channels[0].label, "district")
    reply = await c.say("沙平坝区")
    assert "沙坪坝区" in reply and "“沙平坝区”" in reply and "万州区" not in reply
    assert "district" not in (await c.draft() or {})["answers"]
    [offer] = c.last
    assert [ch.label for ch in offer.choices] == ["沙坪坝区"]
    await c.press(offer.choices[0].payload)
    assert (await c.draft() or {})["answers"]["district"] == "沙坪坝区"
    # Typed, as in the terminal: "是" or "1" to the one offered is it, not the list's first (万州区).
    for reply in ("是", "1"):
        d = chat(f"district-typo-{reply}")
        await at_field(d, svc, CQ, contest(svc, CQ).channels[0].label, "district")
        await d.say("九龙波区")
        await d.say(reply)
        assert (await d.draft() or {})["answers"]["district"] == "九龙坡区", reply


@pytest.mark.parametrize(
    ("said", "title"),
    [
        ("作品叫《茶园里的科技特派员》", "茶园里的科技特派员"),
        ("片名：追光者", "追光者"),
        ("视频是科学的眼睛", "视频是科学的眼睛"),
    ],
)
async def test_a_title_said_after_what_the_work_is_called_is_the_title(
    chat: Callable[[str], ChatDriver], svc: Services, said: str, title: str
) -> None:
    # Trial 9 (envoy web chat, the cell labelled 名称): "作品叫《茶园里的科技特派员》" was stored and
    # printed as the title; a title that merely begins with such a word stays as typed.
    c = chat(f"title-{said}")
    await at_field(c, svc, edition_id("most-2023-tech-envoy"), "社会征集（自荐）", "title")
    await c.say(said)
    assert (await c.draft() or {})["answers"]["title"] == title
