"""What a question is about, apart from the words that only frame it: words jieba's dictionary tags
as adverbs, pronouns or locatives (刚好, 其中, 后面) barely count against an entry's coverage, and
in a long message the sentence that asks is the question, not the story told after it."""

from __future__ import annotations

import pytest

from contests.registry import ContestRegistry
from handlers.helpdesk.analyzer import Analyzer, asked_part
from handlers.helpdesk.answer import Helpdesk
from handlers.helpdesk.english import glossary
from handlers.helpdesk.index import FRAMING_WEIGHT, SINGLE_CHAR_WEIGHT

CACSI = "cacsi-2022-youth"
ENVOY = "most-2023-tech-envoy"
CAS = "most-cas-2024-kepu"


@pytest.mark.parametrize(
    ("word", "framing"),
    [("刚好", True), ("其中", True), ("后面", True), ("粉丝", False), ("版权", False), ("研究所", False)],
)
def test_framing_words_come_from_jiebas_dictionary(word: str, framing: bool) -> None:
    assert Analyzer().function_word(word) is framing


def test_a_framing_word_the_notice_lacks_counts_like_a_single_character(helpdesk: Helpdesk) -> None:
    base = helpdesk.knowledge(CACSI)
    assert not base.index.knows("刚好")
    assert base._weights(["粉丝", "刚好"])["刚好"] == pytest.approx(base.index.unseen_idf * FRAMING_WEIGHT)
    assert base._weights(["粉丝", "刚好"])["粉丝"] == pytest.approx(base.index.idf("粉丝"))
    assert FRAMING_WEIGHT <= SINGLE_CHAR_WEIGHT
    # A content word the notice lacks still counts in full: it is what the index cannot answer.
    assert base._weights(["粉丝", "研究所"])["研究所"] == pytest.approx(base.index.unseen_idf)


def test_a_question_with_framing_words_is_answered(helpdesk: Helpdesk) -> None:
    answer = helpdesk.ask(CACSI, "我的科普号粉丝刚好1000，能报吗？")
    assert answer.confident and "1000" in answer.answer


def test_the_sentence_that_asks_is_the_question_not_the_story_after_it(helpdesk: Helpdesk) -> None:
    text = "大美科技特派团那个微视频，最晚哪天得交上去啊？我们县里片子还在剪，怕赶不上"
    assert asked_part(text) == ("大美科技特派团那个微视频，最晚哪天得交上去啊？", False)
    # Without a sentence that asks, the last one stands for the question, as before.
    story = "我们县里片子还在剪。怕赶不上截止日期了，心里很着急"
    assert asked_part(story) == ("怕赶不上截止日期了，心里很着急", False)
    answer = helpdesk.ask(ENVOY, text)
    assert answer.confident and "6月30日" in answer.answer


def test_online_and_again_are_understood(helpdesk: Helpdesk) -> None:
    analyzer = helpdesk.knowledge(CAS).analyzer
    assert "网络" in analyzer.query("做好了但还没在网上播过的能参赛不").terms
    assert "重复" in analyzer.query("单位已经推荐了我的片子 我自己还能再自荐一次吗").terms
    answer = helpdesk.ask(CAS, "单位已经推荐了我的片子 我自己还能再自荐一次吗")
    assert answer.confident and "一种" in answer.answer


@pytest.mark.parametrize(
    "question",
    [
        "帮忙查下我们公司作品的评审分数出来没",
        "帮我看一下我投稿那个视频的浏览量多少",
        "我们那部片子进没进复评",
    ],
)
def test_asking_someone_to_look_up_ones_own_work_is_personal(helpdesk: Helpdesk, question: str) -> None:
    assert helpdesk.ask(CAS, question).kind == "personal"


def test_asking_to_look_up_a_rule_is_not_personal(helpdesk: Helpdesk) -> None:
    assert helpdesk.ask(CAS, "帮我看一下视频时长有什么要求").kind != "personal"


@pytest.mark.parametrize("question", ["孩子五年级了，报什么兴趣班好", "我家孩子数学不好，请什么样的家教合适"])
def test_a_question_on_nothing_of_the_contest_gets_the_scope_reply(helpdesk: Helpdesk, question: str) -> None:
    answer = helpdesk.ask(CACSI, question)
    assert answer.kind == "offtopic" and "不在大赛通知的范围内" in answer.answer


def test_what_goes_on_the_net_disk_is_the_list_of_materials(helpdesk: Helpdesk) -> None:
    # Not the link cell of the form, whose label also names 网盘 and 材料.
    answer = helpdesk.ask(CACSI, "网盘里要放哪些材料？")
    assert answer.confident and all(word in answer.answer for word in ("封面图", "简介", "申报表"))


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        ("字幕用繁体字行不行", "简体"),  # the notice asks for 简体中文
        ("引用新闻报道的画面 上面要标注啥", "出处"),  # the notice says 注明
        ("背景音乐用流行歌要授权吗", "授权"),
    ],
)
def test_words_entrants_use_for_the_notices_own(helpdesk: Helpdesk, question: str, fact: str) -> None:
    answer = helpdesk.ask(CAS, question)
    assert answer.confident and fact in answer.answer


def test_a_chinese_quote_in_an_english_answer_comes_with_its_words_in_english(helpdesk: Helpdesk) -> None:
    answer = helpdesk.ask("cq-2023-scientist-spirit", "Can a company from outside Chongqing take part?")
    assert answer.english and "在渝 = based in Chongqing" in answer.answer
    # Longest first: 第一制作单位 whole, not 第一 and 制作单位 apart.
    assert glossary("须由第一制作单位提交") == "第一制作单位 = lead producer (unit); 须 = must"
    assert glossary("2023年6月30日") == ""


def test_a_short_question_then_a_remark_is_read_for_the_question(helpdesk: Helpdesk) -> None:
    assert asked_part("片子要不要配音乐？我们原片是纯现场声") == ("片子要不要配音乐？", False)
    assert asked_part("截止日期几号？视频最大多大") == ("截止日期几号？视频最大多大", False)  # both ask
    both = helpdesk.ask("hlj-2022-kepu", "截止日期几号？视频最大多大")
    assert "5月9日" in both.answer and "200" in both.answer


def test_haojiu_is_when_in_chongqing(helpdesk: Helpdesk) -> None:
    answer = helpdesk.ask("cq-2023-scientist-spirit", "我们公司拍的片子要在好久之前交给区科技局哦？")
    assert answer.confident and "5月31日" in answer.answer


def test_video_platforms_are_whole_words(helpdesk: Helpdesk) -> None:
    terms = helpdesk.knowledge(CACSI).analyzer.query("作品会在哪些平台展播？抖音上会放吗").terms
    assert "抖音" in terms and "抖" not in terms


def test_an_entry_far_ahead_of_the_next_answers_a_question_told_as_a_story(helpdesk: Helpdesk) -> None:
    # Its words are a small part of the message, but one clause stands far above every other.
    answer = helpdesk.ask("cq-2023-scientist-spirit", "我们拍单位的研究员，要不要先征得他本人同意嘛")
    assert answer.confident and "征得参与主体同意" in answer.answer
    assert answer.score < helpdesk.threshold  # answered for its lead, not its coverage


def test_a_clear_lead_needs_both_a_gap_and_some_coverage() -> None:
    from handlers.helpdesk.combine import clear_lead
    from handlers.helpdesk.index import Entry, Hit

    entry = Entry("clause:1", "clause", "x", "通知")
    ahead, close, far = Hit(entry, 10.0, 0.3), Hit(entry, 8.0, 0.3), Hit(entry, 4.0, 0.3)
    assert clear_lead([ahead, far], 0.45)
    assert not clear_lead([ahead, close], 0.45)  # a close second: still unsure
    assert not clear_lead([Hit(entry, 10.0, 0.1), far], 0.45)  # too little of the question covered


def test_a_form_word_two_forms_share_answers_for_both(helpdesk: Helpdesk) -> None:
    # cacsi's 科普号申报表 and 微视频申报表 are both 申报表; only the second says 签字须手写.
    answer = helpdesk.ask(CACSI, "申报表签名能用电子签吗？")
    assert answer.confident and "科普号申报表" in answer.answer and "签字须手写" in answer.answer
    # Naming one of them, or asking as a 科普号 entrant, is about that one alone.
    video = helpdesk.ask(CACSI, "微视频申报表签名能打字吗")
    assert "签字须手写" in video.answer and "科普号申报表" not in video.answer
    own = helpdesk.ask(CACSI, "申报表签名能用电子签吗？", track="account")
    assert "微视频申报表" not in own.answer


def test_an_unsure_part_beside_a_sure_one_is_read_as_its_detail() -> None:
    # "中间有没有啥审查环节" alone covers too little; asked with the voting question before it, the
    # voting clause (形式审查, then the vote) answers both, and surely.
    helpdesk = Helpdesk(ContestRegistry.load())
    asked = "作品交上去后是直接挂出来让网友投票吗？中间有没有啥审查环节"
    answer = helpdesk.ask("most-2023-tech-envoy", asked)
    assert answer.confident and "形式审查" in answer.answer
