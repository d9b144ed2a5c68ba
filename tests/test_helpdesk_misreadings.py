"""Questions that look like what a reader answers but ask something else: people filmed, not a team
making the work; an asker who is in the 三区, not a work about them; 附件 as a file uploaded, not the
notice's numbered attachment.  Each asserts the misreading's reply is gone and, where the notice
answers, that the right fact is there."""

from __future__ import annotations

import pytest

from handlers.helpdesk.answer import Helpdesk

CQ = "cq-2023-scientist-spirit"
CAS = "most-cas-2024-kepu"
ENVOY = "most-2023-tech-envoy"
HLJ = "hlj-2022-kepu"
YOUTH = "cacsi-2022-youth"


@pytest.mark.parametrize(
    ("contest", "question", "wrong"),
    [
        # The several people are filmed: 团队合作 says nothing of who may appear in the picture.
        (ENVOY, "视频里可以拍几个人一起做实验吗", "鼓励团队合作"),
        (ENVOY, "画面里能不能出现三个人一起做饭的镜头", "鼓励团队合作"),
        # How big a team may be or how many works it enters: the notice does not say.
        (ENVOY, "可以组队参加吗，队伍最多几个人", "可以，通知鼓励团队合作"),
        (ENVOY, "可以组团参加多个作品吗", "可以，通知鼓励团队合作"),
        # The asker's unit is in the 三区; the work is not said to be about them.
        (CAS, "我们是边疆的单位，拍了片子，谁来推荐", "地方、部门推荐：涉及“三区”的微视频"),
        (CAS, "我们是贫困地区的学校，拍的片子谁来提交", "地方、部门推荐：涉及“三区”的微视频"),
        # 附件 is the upload page's slot for the scans, not the notice's 附件1.
        (HLJ, "推荐表扫描件上传到哪个附件里", "《2022年黑龙江省优秀科普微视频作品推荐表》是附件1"),
        (HLJ, "推荐表作为附件上传，哪个附件位置", "《2022年黑龙江省优秀科普微视频作品推荐表》是附件1"),
        # The route named, the form asked: not the route's quota.
        (HLJ, "个人自荐要填附件几", "个人自荐·个人：推荐作品数量不限"),
        # One word of the business with what befell it: a trouble reported, not the word asked about.
        (HLJ, "电话出问题了", "联系方式"),
        (CAS, "邮箱满了", "联系方式"),
        (YOUTH, "网盘出问题了", "《2022年青少年科技教育活动微视频申报表》"),
        (HLJ, "快递出问题了", "通知原文：“注：1. 联系地址及电话请务必仔细填写"),
        # More of something else than places: no route's quota.
        (HLJ, "推荐和自荐哪个要求多一些", "单位推荐·全省各有关单位：推荐作品数量不限"),
        (ENVOY, "推荐和自荐哪个多一些人报", "地方推荐·省、自治区、直辖市科技厅"),
        # The original's share is not the picture's 16:9, nor the video's length.
        (CQ, "原创比例多少", "画面比例须为16:9"),
        (YOUTH, "原创比例多少", "画面比例须为16:9"),
        (YOUTH, "非原创的比例是多少", "视频时长须为"),
    ],
)
def test_a_reader_leaves_what_it_does_not_answer(
    helpdesk: Helpdesk, contest: str, question: str, wrong: str
) -> None:
    answer = helpdesk.ask(contest, question)
    assert not (answer.confident and answer.answer.startswith(wrong))


@pytest.mark.parametrize(
    ("contest", "question", "right"),
    [
        (ENVOY, "可以几个人组队做吗", "可以，通知鼓励团队合作"),
        (CAS, "拍了个革命老区的片子，谁提交", "涉及“三区”的微视频须由该区域的作者（制作单位）提交"),
        (CAS, "我们是北京的单位，拍了一部边疆题材的片子，谁提交", "须由该区域的作者（制作单位）提交"),
        (HLJ, "个人自荐要填附件几", "《2022年黑龙江省优秀科普微视频作品自荐表》是附件2"),
        (ENVOY, "我们是自荐的，要填附件几", "自荐表》是附件4"),
        (HLJ, "推荐表是第几个附件", "《2022年黑龙江省优秀科普微视频作品推荐表》是附件1"),
        # Two questions: the seal asked too, which the form's fact answers with its number.
        (CAS, "推荐表在附件几，要盖章吗", "（附件3）的签字、盖章栏"),
        (CQ, "区县推荐表是附件几，谁来填", "区县科技主管部门汇总填写《区县推荐表》（附件2）"),
        # Places compared between the routes.
        (ENVOY, "推荐和自荐哪个可以报多一些", "社会征集（自荐）·单位或组织：作品不超过1部"),
        (CAS, "原创比例多少", "非原创部分不得超过视频总时长的10%"),
        (CQ, "画面比例多少", "画面比例须为16:9"),
    ],
)
def test_what_a_reader_answers_is_still_answered(
    helpdesk: Helpdesk, contest: str, question: str, right: str
) -> None:
    answer = helpdesk.ask(contest, question)
    assert answer.confident and right in answer.answer


@pytest.mark.parametrize(
    ("contest", "question", "stays"),
    [
        # The national contest's own theme in the asker's own event, not the Chongqing contest.
        (CAS, "我们单位组织的弘扬科学家精神主题活动拍的片子能报吗", CAS),
        (CAS, "我们拍的是院士弘扬科学家精神系列活动，时长多少合适", CAS),
        # A work of another contest entered in this one, or the asker's past there.
        (CAS, "去年大美科技特派团活动的作品能报吗", CAS),
        (CAS, "我们拍的片子得过大美科技特派团活动的奖，能报这个吗", CAS),
        (HLJ, "参加过重庆那个科学家精神短视频大赛的作品能报吗", HLJ),
        # A city's round, named by its place alone.
        (CAS, "重庆市里组织的初选活动截止是哪天", CAS),
        # Another contest heard of, this one asked ("这个呢").
        (ENVOY, "我听说重庆那个科学家精神比赛要3到4分钟，这个呢", ENVOY),
    ],
)
def test_another_contest_as_story_does_not_switch_the_contest(
    helpdesk: Helpdesk, contest: str, question: str, stays: str
) -> None:
    answer = helpdesk.ask(contest, question)
    assert answer.contest_id == stays
    assert "以下按“2023年“弘扬科学家精神" not in answer.answer


@pytest.mark.parametrize(
    ("contest", "question", "other"),
    [
        (HLJ, "重庆那个弘扬科学家精神短视频大赛截止是哪天", CQ),
        (CQ, "黑龙江省那个优秀科普微视频评选截止是哪天", HLJ),
    ],
)
def test_another_contest_pointed_at_is_still_answered(
    helpdesk: Helpdesk, contest: str, question: str, other: str
) -> None:
    assert helpdesk.ask(contest, question).contest_id == other


@pytest.mark.parametrize(
    ("question", "refused"),
    [
        # The title cards are gone already; the sound is what is kept.
        ("片头片尾去掉了，这样原声能保留吗", False),
        ("水印都去了，这样片尾还能留着吗", True),
        ("我们做了个单位logo的片头，这些能保留吗", True),
        ("我们把片头删了，片尾logo保留可以吗", True),
    ],
)
def test_what_the_asker_already_took_out_is_not_refused(
    helpdesk: Helpdesk, question: str, refused: bool
) -> None:
    answer = helpdesk.ask(CQ, question)
    assert answer.answer.startswith("不行：通知要求去除所有水印和片头片尾") == refused


def test_a_score_out_of_100_is_not_read_as_minutes(helpdesk: Helpdesk) -> None:
    # "100分中" is of the 100 points, not a typo of 分钟: the rubric, not the duration.
    answer = helpdesk.ask(CQ, "总分100分中题材内容占多少")
    assert "视频时长须为3～4分钟" not in answer.answer
    assert answer.confident and "题材内容30分" in answer.answer


@pytest.mark.parametrize(("contest", "question"), [(CQ, "时长三到八分中可以吗"), (CQ, "五分中可以吗")])
def test_minutes_typed_as_fen_zhong_are_a_duration(helpdesk: Helpdesk, contest: str, question: str) -> None:
    answer = helpdesk.ask(contest, question)
    assert answer.kind != "offtopic"
    assert answer.confident and "视频时长须为3～4分钟" in answer.answer


def test_asking_what_the_asker_told_they_are_keeps_the_telling(helpdesk: Helpdesk) -> None:
    # "是会员吗" asks of the 高校 just told, not of the form's 是否为会员 cell.
    answer = helpdesk.ask("cacsi-2022-youth", "我们是高校，是会员吗")
    assert not (answer.confident and "「是否为会员」" in answer.answer)


@pytest.mark.parametrize(
    ("contest", "question", "lead"),
    [
        # Persons made it: the envoy notice's 自荐 is for 机构 only, so its 第一制作机构 is no answer.
        (ENVOY, "我们是第一作者，和别人一起拍的，谁提交", "由第一作者提交。"),
        (
            ENVOY,
            "我和同事一起拍的，可以再单独报一次吗",
            "不可以分别报：几方共同制作的同一部作品只报一次，由第一作者提交。",
        ),
        # Two units made it: hlj's 个人自荐 rule (第一制作人) is not theirs.
        (HLJ, "两家单位合拍的片子谁来提交", "由第一制作单位提交。"),
    ],
)
def test_who_submits_a_joint_work_is_the_rule_for_its_makers(
    helpdesk: Helpdesk, contest: str, question: str, lead: str
) -> None:
    answer = helpdesk.ask(contest, question)
    assert answer.confident and answer.answer.startswith(lead)


@pytest.mark.parametrize(
    "question",
    [
        "我们要先报到市里吗",  # no district says it: 市里 is no body of this contest, no off-topic reply
        "作品被别人侵权了怎么办",  # being infringed is not the author's pledge about disputes
    ],
)
def test_the_city_and_infringement_read_only_where_they_mean_the_rule(
    helpdesk: Helpdesk, question: str
) -> None:
    answer = helpdesk.ask(CAS, question)
    assert answer.kind != "offtopic" and not (answer.confident and "承诺" in answer.answer)


@pytest.mark.parametrize(
    ("question", "offtopic"),
    [
        ("时长超了扣分吗", False),  # the video's length said, not a measure of something unknown asked
        ("两家单位合拍，两家能各报一次吗", False),  # a joint work is the contest's business (cq is silent)
        ("宇宙有多大", True),
    ],
)
def test_a_measure_said_is_not_a_measure_of_the_unknown_asked(
    helpdesk: Helpdesk, question: str, offtopic: bool
) -> None:
    assert (helpdesk.ask(CQ, question).kind == "offtopic") == offtopic


def test_materials_posted_are_not_the_certificates_posted_back(helpdesk: Helpdesk) -> None:
    # hlj collects entries online; its only 邮寄 is the certificates it posts back to the form's address
    asked = helpdesk.ask(HLJ, "推荐表寄哪里")
    assert asked.kind == "silent" and "通知没有要求邮寄材料" in asked.answer and "二维码" in asked.answer
    back = helpdesk.ask(HLJ, "获奖证书寄到哪儿，根据啥寄")
    assert "通知没有要求邮寄材料" not in back.answer
