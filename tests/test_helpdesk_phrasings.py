"""Questions in entrants' own phrasings, each read for what it asks: a count of works offered,
judged against the quota rule that binds the asker (可以 or 不可以 first; nothing first where only a
三区 unit's extra place decides); a route named in words; a list of stages; consent, rank, paper,
judging, rights and the ceremony asked without the notice's words; slips of shape and Taiwan's
words; what the notice leaves unsaid (an account's age, a disc, an unpublished e-mail)."""

from __future__ import annotations

import pytest

from contests.registry import ContestRegistry
from handlers.helpdesk.analyzer import Analyzer
from handlers.helpdesk.answer import Helpdesk
from handlers.helpdesk.places import each_unit

CACSI = "cacsi-2022-youth"
CQ = "cq-2023-scientist-spirit"
CAS = "most-cas-2024-kepu"
ENVOY = "most-2023-tech-envoy"


@pytest.mark.parametrize(
    ("contest", "question", "first"),
    [
        (ENVOY, "我们是个农技协会，盖了公章走自荐，报1部片子可以吧？", "可以：1部在名额之内"),
        (ENVOY, "我们单位自荐报2部可以吗", "不可以：2部超过了名额，最多1部"),
        (ENVOY, "我们帮扶县特派团拍了三条片子，能三条都报吗", "不可以：3部超过了名额，最多1部"),
        (CQ, "北碚区推荐6部可以吗", "不可以：6部超过了名额，最多5部"),
        (CQ, "渝北区推荐2个作品可以吗", "不可以：2部不够，至少3部"),
        (CQ, "万州区推3部行不行", "不可以：3部超过了名额，最多2部"),
        (CAS, "四川推荐7部可以吗", "不可以：7部超过了名额，最多6部"),
        (CAS, "我们省推荐7部可以吗", "不可以：7部超过了名额，最多5部（“三区”名单内的6部）"),
        (CAS, "个人自荐报两部行吗", "不可以：2部超过了名额，最多1部"),
        # the 自荐 rule the question names, not the places of the province it names
        (CAS, "我是河北省的个人，自荐2部可以吗", "不可以：2部超过了名额，最多1部"),
        (CACSI, "单位会员推荐3个科普号可以吗", "不可以：3个科普号超过了名额，最多2个科普号"),
        (CACSI, "我们省级协会推荐12部作品可以吗", "不可以：12部超过了名额，最多10部"),
    ],
)
def test_a_count_offered_is_judged_against_its_rule_first(
    helpdesk: Helpdesk, contest: str, question: str, first: str
) -> None:
    answer = helpdesk.ask(contest, question)
    assert answer.confident and answer.kind == "answer"
    assert answer.answer.startswith(first)


@pytest.mark.parametrize(
    ("contest", "question"),
    [
        # Six is within a 三区 province's places only: which province asks decides.
        (CAS, "我们省推荐6部可以吗"),
        # A figure asked for, not a count offered; two counts (received, sent) name none.
        (CQ, "我们是北碚区科技局，收到8个，最多能推几个"),
        # Who asks is unsaid: a province's 10 or a county team's 1 is the search's guess.
        (ENVOY, "我们拍了两部片子，都报可以吗"),
    ],
)
def test_no_verdict_where_the_count_does_not_decide(helpdesk: Helpdesk, contest: str, question: str) -> None:
    answer = helpdesk.ask(contest, question)
    assert answer.confident
    assert not answer.answer.startswith(("可以", "不可以"))


def test_an_unnamed_province_is_not_said_to_be_off_the_3_areas_list(helpdesk: Helpdesk) -> None:
    answer = helpdesk.ask(CAS, "省科技厅能推几部")
    assert "不在“三区”名单内" not in answer.answer
    assert "在“三区”名单内的增加1个名额，共6部" in answer.answer


@pytest.mark.parametrize("question", ["推荐作品由谁审核", "推荐作品的审核又是谁做"])
def test_a_route_named_in_words_sinks_the_other_routes_clauses(helpdesk: Helpdesk, question: str) -> None:
    # With no draft to say the asker's route, "推荐作品" names it: not the 自荐 works' reviewers.
    answer = helpdesk.ask(CAS, question)
    assert answer.confident and "推荐单位需预先进行政治性、科学性审核" in answer.answer
    assert "副高级" not in answer.answer


def test_how_many_stages_is_answered_with_every_stage(helpdesk: Helpdesk) -> None:
    # "分为初评和复评两个阶段" inside one stage's clause is not the list of stages asked for.
    answer = helpdesk.ask(ENVOY, "评选分几个阶段啊")
    assert answer.confident and "网友投票" in answer.answer and "评委评选" in answer.answer


def test_a_work_that_won_before_asks_the_rule_on_earlier_entries(helpdesk: Helpdesk) -> None:
    # most-cas has no rule on works entered before: said plainly, not its production window
    silent = helpdesk.ask(CAS, "去年得过奖的片子今年还能再报不")
    assert silent.kind == "silent" and "往届" in silent.answer
    # hlj has one (已参加过历届本活动的作品不再参加本次活动)
    ruled = helpdesk.ask("hlj-2022-kepu", "去年得过奖的片子今年还能再报不")
    assert ruled.confident and "历届" in ruled.answer


@pytest.mark.parametrize(
    "question", ["我们公司报名是推荐还是自荐", "我们是一家影视制作公司，能参加吗？走什么渠道报？"]
)
def test_which_route_to_take_is_answered_with_every_route(helpdesk: Helpdesk, question: str) -> None:
    answer = helpdesk.ask(ENVOY, question)
    assert answer.confident and "地方推荐：" in answer.answer and "社会征集（自荐）：" in answer.answer


def test_where_the_way_in_is_asks_every_step(helpdesk: Helpdesk) -> None:
    answer = helpdesk.ask("hlj-2022-kepu", "删除投稿的入口在哪？")
    assert answer.confident and "我的投稿" in answer.answer and "删除投稿" in answer.answer


def test_an_e_mail_asked_for_with_words_between_is_the_unpublished_one(helpdesk: Helpdesk) -> None:
    for question in ("有没有可以发邮件咨询的邮箱？", "有咨询邮箱吗"):
        assert helpdesk.ask("hlj-2022-kepu", question).kind == "silent"
    assert "kepuwsp@163.com" in helpdesk.ask(CAS, "有咨询邮箱吗").answer  # where one is published


def test_how_long_an_account_must_have_run_is_unsaid(helpdesk: Helpdesk) -> None:
    answer = helpdesk.ask(CACSI, "科普号要开通运营多久才能申报？")
    assert answer.kind == "silent" and "活跃度" in answer.answer  # what the notice does set, beside it


def test_terms_a_phrase_implies_are_searched_as_the_index_holds_them(helpdesk: Helpdesk) -> None:
    # 版权归谁 implies 使用权 永久, which the index holds as 权利 (永久使用权); 联系方式 stays an intent
    answer = helpdesk.ask(CQ, "作品交上去以后版权归谁 组委会能用多久")
    assert answer.confident and "永久使用权" in answer.answer
    contacts = helpdesk.ask("hlj-2022-kepu", "咨询电话是多少")
    assert contacts.confident and "0451-51920576" in contacts.answer


def test_hours_are_not_places_so_two_cities_are_not_two_units() -> None:
    contest = ContestRegistry.load().get(CAS)
    assert contest is not None
    assert each_unit("上海到北京的高铁要坐几个小时？", contest) == ["上海到北京的高铁要坐几个小时？"]
    assert len(each_unit("上海和北京分别能推几个", contest)) == 2


def test_a_disc_is_said_to_be_not_asked_for_where_the_notice_takes_none(helpdesk: Helpdesk) -> None:
    hlj = helpdesk.ask("hlj-2022-kepu", "这个黑龙江的活动，跟国家那个一样，也要把光盘寄过去吧？")
    assert hlj.kind == "silent" and "没有要求寄送光盘" in hlj.answer and "二维码" in hlj.answer
    cas = helpdesk.ask(CAS, "要寄光盘吗")  # most-cas takes discs by post
    assert cas.kind == "answer" and "光盘" in cas.answer


def test_what_else_goes_with_a_form_is_what_goes_behind_it(helpdesk: Helpdesk) -> None:
    answer = helpdesk.ask(
        CQ, "我是北碚区科技局的，我们收到8个，最多能往市里推几个？推的时候除了区县推荐表还要附啥？"
    )
    assert answer.confident and "3—5部" in answer.answer and "报送表附后" in answer.answer


def test_whether_the_public_vote_counts_is_its_share_of_the_score_quoted_from_its_clause(
    helpdesk: Helpdesk,
) -> None:
    answer = helpdesk.ask(ENVOY, "网友投票算分吗 还是走个过场")
    assert answer.confident and "公众评选结果作为作品成绩的一部分" in answer.answer
    # its 投票期为10天 is not the results' 2023年10月—12月
    assert "结果发布和展示" not in answer.answer


def test_phrases_are_read_on_the_lower_cased_question() -> None:
    assert "播出" in Analyzer().query("片子在B站发过，能报吗").implied  # B站 is b站 by then


def test_an_english_second_question_joined_by_and_by_what_date(helpdesk: Helpdesk) -> None:
    answer = helpdesk.ask(
        CACSI, "Which email address should the Baidu Netdisk link be sent to, and by what date?"
    )
    assert answer.confident and "xhhd@cacsi.org.cn" in answer.answer and "10月31日" in answer.answer


def test_a_size_in_chinese_numerals_is_read_as_a_figure(helpdesk: Helpdesk) -> None:
    # jieba cuts 两百兆 into 两 + 百兆; in digits it is a size like 200兆
    answer = helpdesk.ask(ENVOY, "视频要啥格式 MP4吗 多大 两百兆以内可以不")
    assert answer.confident and answer.kind == "silent" and "没有规定视频文件大小" in answer.answer


def test_another_contest_named_by_a_name_of_its_own_is_the_one_answered(helpdesk: Helpdesk) -> None:
    answer = helpdesk.ask("hlj-2022-kepu", "重庆那个科学家精神短视频要求的分辨率是多少？")
    assert answer.contest_id == CQ and "1920×1080" in answer.answer and "科学家精神" in answer.answer
    # compared with another, or naming one the notice itself names: still this contest's
    assert helpdesk.ask(CQ, "你们这个和全国科普微视频大赛一样是2到5分钟吧？").contest_id == CQ
    assert helpdesk.ask("hlj-2022-kepu", "获奖的能推荐参加全国科普微视频大赛吗").contest_id == "hlj-2022-kepu"
    # a place alone (重庆) or a generic name (科普微视频大赛) names no other contest
    assert helpdesk.ask(CAS, "我们是重庆的单位，截止是哪天").contest_id == CAS
    assert helpdesk.ask(ENVOY, "这个科普微视频大赛截止是哪天").contest_id == ENVOY


@pytest.mark.parametrize(
    ("question", "said"), [("类别那格填什么", "专业领域"), ("微视频申报表最下面“推荐单位”那格要干嘛", "盖章")]
)
def test_the_cell_asked_about_is_no_word_of_its_own(helpdesk: Helpdesk, question: str, said: str) -> None:
    answer = helpdesk.ask(CACSI, question)  # 那格 / 那栏 only point at the cell
    assert answer.confident and said in answer.answer


def test_how_many_makers_a_cell_may_name_is_unsaid(helpdesk: Helpdesk) -> None:
    answer = helpdesk.ask(ENVOY, "主创人员那栏最多能写几个人")
    assert answer.kind == "silent" and "没有规定主创人员" in answer.answer


def test_places_asked_of_no_one_are_every_tier_or_the_drafts_unit(helpdesk: Helpdesk) -> None:
    every = helpdesk.ask(ENVOY, "能推几部")  # no unit, no route: every tier, not the search's guess
    assert "不超过10部" in every.answer and "帮扶县" in every.answer and "社会征集" in every.answer
    own = helpdesk.ask(ENVOY, "能推几部", route="recommend", unit="四川省科学技术厅")
    assert own.answer.startswith("四川省属于") and "不超过10部" in own.answer


def test_the_camera_is_unset_where_the_notice_names_none(helpdesk: Helpdesk) -> None:
    assert helpdesk.ask(CQ, "可以用手机拍吗").kind == "silent"
    assert helpdesk.ask("hlj-2022-kepu", "可以用手机拍吗").answer.startswith("可以")  # hlj names phones
    # a story about the equipment beside another question is not asked about it
    assert helpdesk.ask(CQ, "技术性那块占好多分？我们拍摄设备一般般，有点虚").kind != "silent"


# A review's cases: each was answered confidently and wrongly by this file's readings at first.
@pytest.mark.parametrize(
    ("contest", "question"),
    [
        (CQ, "我们是渝北区的公司，报2个作品可以吗"),  # a creating unit: the district's places are not its own
        (CQ, "我们区推荐4个作品可以吗"),  # one of the twelve (3—5) or another district (1—2)
        (CAS, "我们科技馆报两部可以吗"),
        (ENVOY, "我们县科技局推荐2部可以吗"),  # a county office under a province's rule
        (CAS, "我们是河北省科技厅下面的石家庄市科技局，推荐6部可以吗"),
        (CAS, "我个人自荐1部，单位再推荐我1部可以吗"),  # one work twice
        (CACSI, "单位会员推荐多于3部作品可以吗"),  # a bound, not a count
        (CQ, "渝中区推荐5个以上可以吗"),
        (ENVOY, "我们省有两个重点帮扶县，省里一共推荐12部可以吗"),  # 不受10部限制
    ],
)
def test_no_count_verdict_where_the_rule_or_the_count_is_not_the_askers(
    helpdesk: Helpdesk, contest: str, question: str
) -> None:
    assert not helpdesk.ask(contest, question).answer.startswith(("可以：", "不可以："))


@pytest.mark.parametrize(
    ("contest", "question"),
    [
        ("hlj-2022-kepu", "我是科技特派员，时长有什么要求"),  # a role, not the envoy contest
        (CAS, "我是学校的科技辅导员，能自荐吗"),
        (CQ, "我们讲的是大美科技特派团的故事，能参赛吗"),  # a subject
        (CAS, "我们之前参加过大美科技特派团的活动，这次还能报吗"),  # the asker's past
        (CACSI, "这个片子已经报了全国科普微视频大赛，还能报这个吗"),
    ],
)
def test_another_contests_words_as_a_role_subject_or_past_keep_this_contest(
    helpdesk: Helpdesk, contest: str, question: str
) -> None:
    assert helpdesk.ask(contest, question).contest_id == contest


@pytest.mark.parametrize(
    ("contest", "question", "not_said"),
    [
        (CQ, "我们是一家在渝企业，想拍我们的高级技师，可以参加吗", "不在所列之内"),  # the person filmed
        (CQ, "我们是本科院校，专科部的老师拍的能参加吗", "不在所列之内"),
        (CQ, "我退休了，能参加吗", "不受其年龄"),  # the asker, not the person filmed
        ("hlj-2022-kepu", "推荐表里有没有要填电子邮箱", "没有公布"),  # the form's cell, not an address
        (ENVOY, "出镜人员最多几个人", "主创人员"),
        (CQ, "公司注册满一年才能参加吗", "科普号"),
        (ENVOY, "只拍果树的话，可以用手机拍吗", "不行"),  # the phone is asked about
        (CQ, "原创作品的画面比例是多少", "非原创"),  # the picture's ratio, not borrowed footage
    ],
)
def test_readings_stay_within_what_is_asked(
    helpdesk: Helpdesk, contest: str, question: str, not_said: str
) -> None:
    assert not_said not in helpdesk.ask(contest, question).answer


def test_followers_in_ten_thousands_are_not_read_as_their_last_digit(helpdesk: Helpdesk) -> None:
    for question in ("粉丝有一万二，能申报吗", "我的科普号粉丝一万，作品一百多条，可以申报吗"):
        assert "少于通知要求的「粉丝量」" not in helpdesk.ask(CACSI, question).answer


@pytest.mark.parametrize(
    ("contest", "question", "said"),
    [
        # a unit's places asked as a premise to confirm
        # a range of places said as a premise ("只能推1到2个，对吧") asks the unit's places
        (CQ, "万盛经开区不是主城区，应该算“其它区县”，只能推1到2个，对吧？", "3—5部"),
        # a province's standing asked with 吧
        (CAS, "北京应该也在“三区”名单里吧？", "北京市不在“三区”名单内"),
        # framing and who judges
        ("hlj-2022-kepu", "征集时间是从哪天到哪天？", "2022年3月28日—2022年5月9日"),  # 是从 frames
        (CQ, "评审会大概什么时候开？谁来评？", "评审专家组"),  # who judges: the judges
        (CAS, "自荐作品需要找谁审核", "副高"),  # whom to ask for a review: not the judges,
        # slips of shape, and Taiwan's words
        (CAS, "载止日期是哪天", "2024年10月25日"),  # 载 for 截: a slip of shape
        (CQ, "請問作品要多長？解析度要多少？", "1920×1080"),  # Taiwan's 解析度 is 分辨率,
        # phrases for consent rank paper and judging
        (CQ, "拍人之前要不要对方同意", "同意"),  # the filmed person's consent
        (CQ, "宣传对象有没有年龄、职称的要求？我们想拍个刚来的博士后", "不受其年龄"),
        ("hlj-2022-kepu", "推荐表直接传Word电子版行不行？", "纸质版扫描件"),
        (CAS, "评选流程大概是怎样的？", "形式审查"),
        (CAS, "省厅推荐的作品电子版发哪个邮箱", "kepuwsp@163.com"),  # 版发 is no slip for 办法,
        # words for when the ceremony and a change after sending
        (ENVOY, "专家评审几月份？结果又是几月份发布", "2023年9月"),  # 几月份 asks when, nothing else
        (CQ, "颁奖典礼哪天开啊 想提前安排行程", "另行通知"),  # 颁奖典礼 is the notice's 颁奖仪式
        ("hlj-2022-kepu", "提交完发现作品名称打错了一个字，能直接在上面改吗？", "删除投稿"),
        # no one on screen the recommenders cell and borrowed footage
        (ENVOY, "纯动画没人出镜行吗", "不行：通知要求有真人出镜"),  # no one on screen: envoy's 真人出镜
        (ENVOY, "片子里可以不出现人吗？我们打算全用航拍加字幕", "真人出镜"),
        (CQ, "区县推荐表左上角“推荐单位”写啥", "全称并盖章"),  # the cell reads 推荐单位（盖章）
        (CAS, "片子5分钟，里面用了40秒新闻资料画面，这样比例行吗", "非原创部分不得超过"),  # not the aspect,
    ],
)
def test_answered_with_what_the_notice_says(
    helpdesk: Helpdesk, contest: str, question: str, said: str
) -> None:
    answer = helpdesk.ask(contest, question)
    assert answer.confident and said in answer.answer


HLJ = "hlj-2022-kepu"


@pytest.mark.parametrize(
    ("contest", "question", "first", "rule"),
    [
        (
            ENVOY,
            "我们跟农科院合作拍了一部纪录片，两家单位都出了力，应该由谁来提交？",
            "由第一制作单位",
            "第一制作单位提交",
        ),
        (ENVOY, "好几家机构一起做的视频走自荐，应该哪家出面报", "由第一制作机构提交", "第一制作机构自荐"),
        (CAS, "我们所和隔壁大学合拍了一部，两家能各报一次吗", "不可以分别报", "第一制作单位提交"),
        (CAS, "我们三个人合拍的，能不能每人各报一次", "不可以分别报", "第一制作人自荐"),
        (
            HLJ,
            "我们几个同学一起做了个动画，我是队长，我们该由谁来自荐？",
            "由第一制作人提交",
            "第一制作人自荐",
        ),
        # a work about the 三区: the rule's 三区 part, from the clause that states it
        (
            CAS,
            "我们是省城的公司，拍的是边疆少数民族地区的片子，应该由谁来提交？",
            "地方、部门推荐",
            "须由该区域的作者",
        ),
    ],
)
def test_who_submits_a_work_several_made(
    helpdesk: Helpdesk, contest: str, question: str, first: str, rule: str
) -> None:
    answer = helpdesk.ask(contest, question)
    assert answer.confident and answer.kind == "answer"
    assert answer.answer.startswith(first)
    assert rule in answer.answer and "（依据：通知" in answer.answer


@pytest.mark.parametrize(
    ("contest", "question", "unlike"),
    [
        # a province asking for its 三区 place, not a work made there
        (CAS, "北京在不在那个三区名单里？我们北京能不能多一个推荐名额", "该区域的作者"),
        # who signs, not who submits
        (CAS, "我们和大学一起做的，作者承诺谁签字", "不可以分别报"),
        # a team as the story, the video's content as the question
        (ENVOY, "我们团队想做个纯动画的片子，全程不拍人，这样可以吗？", "鼓励团队合作"),
    ],
)
def test_a_joint_work_or_a_team_in_the_story_is_not_what_is_asked(
    helpdesk: Helpdesk, contest: str, question: str, unlike: str
) -> None:
    assert unlike not in helpdesk.ask(contest, question).answer


@pytest.mark.parametrize("question", ["可以几个人组队做吗", "能几个人组团一起做吗 还是只能个人"])
def test_a_team_may_make_a_work_where_the_notice_encourages_it(helpdesk: Helpdesk, question: str) -> None:
    answer = helpdesk.ask(ENVOY, question)
    assert answer.confident and answer.answer.startswith("可以，通知鼓励团队合作")
    # cq's notice says nothing of teams: no yes from this reader there
    assert not helpdesk.ask(CQ, question).answer.startswith("可以，通知鼓励团队合作")


@pytest.mark.parametrize(
    ("contest", "question", "named", "fact"),
    [
        # another contest called by a phrase of the asker's own that ends like a contest's name
        (
            ENVOY,
            "另外问一句，重庆那个弘扬科学家精神短视频大赛，区县报到市里截止是几号？",
            "科学家精神",
            "7月31日",
        ),
        (CAS, "黑龙江省那个优秀科普微视频评选，文件大小是不是也是100到300兆？", "黑龙江", "100～200兆"),
    ],
)
def test_another_contest_called_by_a_phrase_of_ones_own(
    helpdesk: Helpdesk, contest: str, question: str, named: str, fact: str
) -> None:
    answer = helpdesk.ask(contest, question)
    assert answer.confident and named in answer.answer.splitlines()[0]
    assert fact in answer.answer


def test_another_contest_seen_or_heard_of_is_a_comparison_not_the_one_asked() -> None:
    from handlers.helpdesk.naming import other_named

    contests = list(ContestRegistry.load())
    assert (
        other_named(contests, lambda _id: None, CACSI, "片头片尾要去掉吧？我看重庆那个比赛是要求去掉的。")
        is None
    )


@pytest.mark.parametrize(
    ("contest", "question", "said"),
    [
        (
            HLJ,
            "自荐表是附件几来着？我们下载的时候文件名乱了",
            "《2022年黑龙江省优秀科普微视频作品自荐表》是附件2。",
        ),
        # a cq alias (区县推荐) in the form's name still names the form
        (CQ, "区县推荐表是附件几", "区县推荐表》是附件2。"),
        # two forms of the kind named: both
        (CACSI, "申报表是附件几", "科普号申报表》是附件1。"),
    ],
)
def test_which_attachment_a_form_is(helpdesk: Helpdesk, contest: str, question: str, said: str) -> None:
    answer = helpdesk.ask(contest, question)
    assert answer.confident and said in answer.answer


@pytest.mark.parametrize(
    ("contest", "question", "fact"),
    [
        (HLJ, "获奖的能推荐到国家那个比赛吗？", "全国科普微视频大赛"),
        (HLJ, "征集的内容里有没有科技东奥", "科技冬奥"),  # 东 for 冬: a slip of sound
        (CACSI, "视频要求三到八分中对吧", "3～8分钟"),  # 分中 for 分钟
        (ENVOY, "评选期间要是有人说我们侵权，这个责任谁来担", "个人承担"),  # 侵权 is the clause's 纠纷
        (HLJ, "纸质推荐表要寄过去吗", "扫描件"),  # 寄过去 is 邮寄
        # which route lets one send more: each route's places side by side
        (ENVOY, "推荐和自荐哪个能报的多", "社会征集（自荐）·单位或组织：作品不超过1部"),
    ],
)
def test_the_askers_own_words_for_what_the_notice_says(
    helpdesk: Helpdesk, contest: str, question: str, fact: str
) -> None:
    answer = helpdesk.ask(contest, question)
    assert answer.confident and fact in answer.answer


@pytest.mark.parametrize(
    "question", ["我们做了个单位logo的片头，片尾还有滚动字幕，这些能保留吗", "片头片尾能保留吗"]
)
def test_a_title_card_kept_where_the_notice_wants_it_gone_is_a_plain_no(
    helpdesk: Helpdesk, question: str
) -> None:
    # the offer colliding with the clause's requirement is what the clause is about, however few
    # of the asker's other words (单位, 滚动字幕, 这些) it shares
    answer = helpdesk.ask(CQ, question)
    assert answer.confident and answer.answer.startswith("不行：通知要求去除所有水印和片头片尾")


def test_a_review_asked_of_is_not_the_forms_list_of_cells(helpdesk: Helpdesk) -> None:
    # the list names 自荐作品审核方式 among its cells, but the question asks of the review itself
    answer = helpdesk.ask(CAS, "我是自由职业者走自荐，没有单位给我审核怎么办")
    assert "的栏目" not in answer.answer


@pytest.mark.parametrize(
    ("contest", "question"),
    [
        (CAS, "国家自然科学基金什么时候申报"),
        (ENVOY, "科技特派员的工作补贴今年啥时候发放？"),
        (CACSI, "孩子想参加信息学奥赛，去哪报名"),
    ],
)
def test_another_programmes_business_is_out_of_scope(helpdesk: Helpdesk, contest: str, question: str) -> None:
    answer = helpdesk.ask(contest, question)
    assert answer.confident and answer.kind == "offtopic"


def test_a_subsidy_asked_of_a_prize_is_the_unsaid_prize_money(helpdesk: Helpdesk) -> None:
    answer = helpdesk.ask(ENVOY, "获奖了有补贴吗")
    assert answer.kind == "silent" and "没有提到奖金" in answer.answer


def test_where_to_post_is_told_the_way_the_notice_sends_instead(helpdesk: Helpdesk) -> None:
    answer = helpdesk.ask(CACSI, "材料要寄到哪里？")
    assert answer.kind == "silent" and answer.answer.startswith("通知没有要求邮寄材料")
    assert "百度云" in answer.answer and "通知原文" not in answer.answer  # the fact; its clause not again


@pytest.mark.parametrize(
    ("contest", "question"),
    [(HLJ, "我的投稿怎么看不到了"), (CACSI, "我发的网盘链接你们打得开吗")],
)
def test_ones_own_entry_gone_or_its_link_checked_is_personal(
    helpdesk: Helpdesk, contest: str, question: str
) -> None:
    assert helpdesk.ask(contest, question).kind == "personal"


def test_an_errand_on_the_work_stays_out_of_scope(helpdesk: Helpdesk) -> None:
    assert helpdesk.ask(ENVOY, "能帮我剪一下视频吗").kind == "offtopic"


@pytest.mark.parametrize(
    ("contest", "question", "said"),
    [
        (HLJ, "要16比9吗", "通知没有规定画面比例"),  # 16比9 said aloud is 16:9
        (ENVOY, "1080还是720啊", "通知没有规定视频分辨率"),  # a bare 1080 is a resolution
        (HLJ, "有投票环节吗", "通知没有提到网络投票"),  # no vote at all in the notice
    ],
)
def test_specs_said_aloud_and_a_vote_never_mentioned(
    helpdesk: Helpdesk, contest: str, question: str, said: str
) -> None:
    answer = helpdesk.ask(contest, question)
    assert answer.kind == "silent" and said in answer.answer


def test_a_vote_the_notice_has_is_not_said_to_be_missing(helpdesk: Helpdesk) -> None:
    assert "通知没有提到网络投票" not in helpdesk.ask(ENVOY, "有投票环节吗").answer


@pytest.mark.parametrize(
    "question", ["视频太大邮箱发不了咋办", "视频太大邮件发不出去 自荐的有没有别的办法传"]
)
def test_a_video_too_big_for_e_mail_gets_the_other_way_to_send(helpdesk: Helpdesk, question: str) -> None:
    answer = helpdesk.ask(CAS, question)
    assert answer.confident and "2720922592" in answer.answer  # 如需在线传送，请联系QQ
