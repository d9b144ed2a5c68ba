"""Questions about the asker's own entry, told apart from questions about the rule that merely
name the asker; and questions about nothing a notice covers."""

from __future__ import annotations

import pytest

from contests.registry import ContestRegistry
from handlers.helpdesk.analyzer import normalise
from handlers.helpdesk.answer import Helpdesk
from handlers.helpdesk.personal import about_own_submission

OWN = [
    "我们单位上个月寄过去的光盘和推荐表，现在到哪一步了？",
    "我闺女报的那个片子有消息了没",
    "我们公司报给江北区的作品，区里审得怎么样了",
    "我前天传的视频怎么还没有审核结果",
    "我们学校发的网盘链接有问题吗？你们能打开不",
    "俺们县推荐的片子分数出来了没有",
    "我的作品是不是被退回了",
    "我上传的作品为啥一直没通过",
    "我们的申报表你们那边收到了没呀",
    "我的作品评上奖了吗？",
    "我们推荐的那部片子进会议评审名单了没有？",
    "我们的视频拿到奖没得？",
    "我的科普号评上优秀了没有？",
    "俺前天传的片子，你们那边收着没？",  # 东北话 收着 is 收到
    "我们报的《实验室里的追光人》初审过了没得？",  # a stage passed
    "我10月20号顺丰寄出的光盘，你们签收了吗？",  # 签收, of what was 寄出
    "我们单位推荐的三个片子都传上去了，你们后台能看着不？",  # can you see it
    "俺那证书寄出来没，咋还没收着呢",
    "组委会收到我们区7月28号发的邮件没有哦？",  # the receiving said first
    "你们收到我寄的推荐表没有",
    "我6月29号把盖好章的推荐表用顺丰寄出去了，你们那边签收了没有？",  # a long way to the verb
    "俺5月6号传的片子，咋在「我的投稿」里找不着了呢？是不是让人给删了",
    "我的百度网盘链接是不是失效了？你们那边能打开吗",
    "我们单位报的三部片子有没有进200部那个名单？",
    "我们寄过去的光盘好像刻坏了读不出来，你们那边检查过我们的盘没有？",  # what went wrong with it
    "我们片子已经交到区县了，才发现解说跟画面没对上，可不可以撤回来改了重新交？",  # a change of what was sent
    "俺把原来的投稿删了准备重新传，结果现在咋也传不上去，能帮我把原来那条恢复不？",
    "听说评审老师反映我们交的片子声音忽大忽小，能不能让我们重新发一版过去？",
]
RULE = [
    "我们交的作品找不到报名入口怎么办",
    "我的链接要设置成永久有效吗",
    "收到我们报送的作品后会通知吗",
    "组委会收到材料后会给我们发回执吗",
    "我们的作品要通过形式审查吗",
    "我们上传的视频需要多大",
    "我们单位做的片子能参加吗",
    "我寄的光盘需要写什么",
    "作品已经提交了还能重新传吗",  # hlj's notice says how to delete and upload again
    "形式审查过了才能投票吗",
    # 发动 is no sending, and whether votes count is the rule.
    "老板说要发动员工给我们的片子拉票，网友投票在哪投，投的票到底算不算成绩？",
]


#: Shapes no phrasing list above names, read from the three cues: the asker's own, something already
#: done, a state asked of it (or a change asked of one's own record).
OWN_BY_CUES = [
    "我们前天寄的推荐表到了没",
    "俺家孩子上周交的视频审了吗",
    "我们的片子处理了没有",
    "帮我们把作品名称改一下",
    "能帮我核对一下我们报的作者名单吗",
    "我想把我们报名的作品名称改一下",
    "把我自荐表里的作品名改成新名字",
    "我们单位推荐了三部 现在都还在吗",
    "我们交的作品评了好多分嘛？",
    # said as an order: look up, withdraw or count one's own
    "查查我的投稿有没有通过初审。",
    "查一下我的投稿现在是什么状态。",
    "看看我申报的作品进了那200部没有。",
    "我想撤回已经自荐的那部作品。",
    "我这个账号下现在一共交了几部作品？",
    "我报的那部微视频想撤回",
]
RULE_BESIDE_CUES = [
    "帮我看一下视频时长有什么要求",  # a look asked, nothing of one's own done
    "我们已经寄了光盘，还需要发邮件吗",  # done, then the rule asked
    "我昨天看到通知，截止是哪天",
    "我已经报了一部，还能再报吗",
    "给我推荐几本好看的科幻小说",
    "大美科技特派团那个微视频最晚哪天得交上去啊？我们县里片子还在剪，怕赶不上",
    "老板说要发动员工给我们的片子拉票，投的票到底算不算成绩？",
    # A review found these taken for one's own state: the rule is still what is asked.
    "麻烦问一下，我们提交后还能修改作品名称吗",
    "我想问报名通道还在不",
    "我们已经在B站发布过了，算公开播映吗",
    "我们已经报名了，评审结果什么时候出？",
    "我想问一下截止时间到了没有",
    "我们已经拍完了，入选名单会公示吗",
    "Our video was posted on YouTube, is that acceptable?",
    "我想撤回作品，怎么操作",  # how it is done (hlj's 删除投稿), not a favour asked
    "我的投稿在哪里看",
    "一共能交几部作品",
]


@pytest.mark.parametrize("question", OWN_BY_CUES)
def test_ones_own_work_done_and_its_state_asked_is_personal(question: str) -> None:
    assert about_own_submission(normalise(question))


@pytest.mark.parametrize("question", RULE_BESIDE_CUES)
def test_a_cue_alone_leaves_the_rule_asked(question: str) -> None:
    assert not about_own_submission(normalise(question))


@pytest.mark.parametrize("question", OWN)
def test_a_status_asked_of_something_already_sent_is_personal(question: str) -> None:
    assert about_own_submission(normalise(question))


@pytest.mark.parametrize("question", RULE)
def test_what_must_be_done_is_the_rule(question: str) -> None:
    assert not about_own_submission(normalise(question))


def test_personal_questions_in_english_get_an_english_reply() -> None:
    helpdesk = Helpdesk(ContestRegistry.load())
    for question in (
        "Is our video shortlisted?",
        "Has my entry passed the formal review yet?",
        "I uploaded my video yesterday. Can you confirm it went through successfully?",
        "Did my science account application get approved? I submitted it at the end of October.",
        "Could you check whether our district has already sent its list, including our video?",
        "Could you tell me whether our science account application has made it into the top 20?",
    ):
        answer = helpdesk.ask("most-cas-2024-kepu", question)
        assert answer.kind == "personal" and answer.english
        assert "your own entry" in answer.answer
    for asked in (
        "Our video must be 16:9, is 4:3 allowed?",
        "Did my video meet the size limit of 300 MB?",
        "Could you tell me if our video has to be in Mandarin?",
    ):
        assert helpdesk.ask("most-cas-2024-kepu", asked).kind == "answer"


@pytest.mark.parametrize(
    "question",
    [
        "Who won the World Cup?",
        "How do I make a good cup of coffee?",
        # Harbin names the contest and "what time" sounds like a date: still not about the contest.
        "What time is it in Harbin now?",
        "推荐一部好看的电影",
        "帮我订一张去北京的机票",
        "我家孩子数学不好怎么办",
        # An errand carrying a contest word (recommend, Chinese) is still an errand.
        "Can you recommend a cheap hotel near Beijing West Railway Station?",
        "How do I renew my Chinese passport?",
        "推荐几本适合初中生看的科幻小说",  # 推荐几本 is no quota
        "帮我查一下明天哈尔滨到长春的火车票还有没有",  # 帮我查 of a ticket, not of one's entry
    ],
)
def test_what_no_notice_is_about_gets_the_scope_reply(question: str) -> None:
    answer = Helpdesk(ContestRegistry.load()).ask("hlj-2022-kepu", question)
    assert answer.kind == "offtopic" and answer.confident


def test_an_english_question_with_a_word_of_the_contest_is_searched() -> None:
    helpdesk = Helpdesk(ContestRegistry.load())
    for question in ("Is there an entry fee?", "When is the deadline? Answer in English please."):
        assert helpdesk.ask("hlj-2022-kepu", question).kind != "offtopic"


@pytest.mark.parametrize("question", ["有消息了没", "出结果了吗", "审完了没"])
def test_a_status_asked_alone_is_personal(question: str) -> None:
    # Its subject is the asker's entry, left to the chat (asked mid-dialog on the web page).
    assert about_own_submission(normalise(question))
    assert not about_own_submission(normalise("结果什么时候出"))  # the notice's date, or its silence


def test_a_real_word_is_no_slip_of_a_term_that_sounds_alike() -> None:
    helpdesk = Helpdesk(ContestRegistry.load())
    helpdesk.warm()
    # 有消 sounds like 有效, but 消息 is meant: never the permanent-link rule.
    terms = helpdesk.analyzer.query("有消息了没有人说").terms
    assert "有效" not in terms
    # A slip before another word is still read: 视平 -> 视频 is not blocked by 分辨.
    assert "分辨率" in helpdesk.analyzer.query("视平分辨律要好多").terms


def test_ones_own_work_sent_back_is_the_askers_record(helpdesk: Helpdesk) -> None:
    """ "被退回来了…哪里不行" asks what the review said of this entrant's work: their record, not a rule;
    "作品被退回了怎么办" asks the rule and stays with the notice."""
    own = helpdesk.ask(
        "cq-2023-scientist-spirit", "我的作品被退回来了，说是不符合要求，能告诉我具体哪里不行吗"
    )
    assert own.kind == "personal"
    assert helpdesk.ask("cq-2023-scientist-spirit", "作品被退回了怎么办").kind != "personal"


def test_ones_own_form_looked_over_is_the_askers_record(helpdesk: Helpdesk) -> None:
    assert (
        helpdesk.ask("cacsi-2022-youth", "我的申报表是不是漏填了是否为会员 你帮我看一下").kind == "personal"
    )


def test_a_work_sent_back_in_a_supposition_asks_the_rule(helpdesk: Helpdesk) -> None:
    """ "如果我的作品被退回了" supposes: what may be done then is the notice's, not the asker's record."""
    answer = helpdesk.ask("hlj-2022-kepu", "如果我的作品被退回了，还能再交吗")
    assert answer.kind != "personal"


def test_a_favour_done_to_ones_own_entry_is_the_askers_record(helpdesk: Helpdesk) -> None:
    assert helpdesk.ask(None, "我上次提交的那个作品还能撤回吗？帮我撤了").kind == "personal"


def test_whether_ones_own_work_passed_a_stage_is_the_askers_record(helpdesk: Helpdesk) -> None:
    cq = "cq-2023-scientist-spirit"
    assert helpdesk.ask(cq, "我的作品有没有通过初审").kind == "personal"
    assert helpdesk.ask(cq, "作品需要通过初审吗").kind != "personal"  # the rule, no owner
