"""English questions that name a place, ask where to send something, or ask what a notice only
advises; and a fee the notice never mentions (会费)."""

from __future__ import annotations

import pytest

from contests.registry import ContestRegistry
from handlers.helpdesk.answer import Helpdesk
from handlers.helpdesk.english import chinese_terms

CACSI = "cacsi-2022-youth"
CQ = "cq-2023-scientist-spirit"
CAS = "most-cas-2024-kepu"
HLJ = "hlj-2022-kepu"
ENVOY = "most-2023-tech-envoy"


@pytest.mark.parametrize(
    ("contest", "question", "said", "not_said"),
    [
        (CQ, "How many entries can Liangjiang New Area recommend?", "3—5", "1—2"),
        (CQ, "How many works can Wanzhou district recommend?", "1—2", "3—5"),
        (
            CQ,
            "Is Liangjiang New Area in the 3–5 works group or the 1–2 works group for district"
            " recommendations?",
            "3—5部",
            "1—2部",
        ),
        (CAS, "How many can Dalian recommend?", "不超过3部", "不超过5部"),
        (CAS, "How many works can Guangxi recommend?", "共6部", "不超过3部"),
    ],
)
def test_a_place_named_in_pinyin_gets_its_own_quota(
    helpdesk: Helpdesk, contest: str, question: str, said: str, not_said: str
) -> None:
    answer = helpdesk.ask(contest, question)
    assert answer.confident and answer.english
    assert said in answer.answer and not_said not in answer.answer.split("(Source")[0]


def test_a_place_is_read_only_where_the_question_asks_a_quota() -> None:
    # Elsewhere the place is noise the notice lacks ("a university in Chengdu"): not a search term.
    assert "成都" not in chinese_terms("Can a university based in Chengdu take part?")
    assert "成都" in chinese_terms("How many videos can Chengdu recommend?")
    # "will be chosen" asks the winners, not anybody's places.
    assert "名额" not in chinese_terms("How many videos will be chosen as excellent works?")


def test_where_to_send_the_link_is_the_e_mail_not_the_form_field(helpdesk: Helpdesk) -> None:
    answer = helpdesk.ask(CACSI, "Where do I send the Baidu cloud-drive link?")
    assert answer.confident and "xhhd@cacsi.org.cn" in answer.answer


def test_a_resolution_the_notice_only_advises_is_said_to_be_unset(helpdesk: Helpdesk) -> None:
    for question in ("视频分辨率有具体要求吗，得不得1080P", "分辨率多少", "视频要高清吗"):
        answer = helpdesk.ask(HLJ, question)
        assert answer.confident and "没有规定具体的视频分辨率" in answer.answer
        assert "最好为高清" in answer.answer
    english = helpdesk.ask(HLJ, "What resolution is required?")
    assert "no particular resolution" in english.answer and "high definition" in english.answer
    # Where the notice sets one, it is said as a rule.
    assert "1080" in helpdesk.ask(CAS, "分辨率多少").answer


def test_membership_fees_are_not_the_members_places(helpdesk: Helpdesk) -> None:
    answer = helpdesk.ask(CACSI, "成为协会个人会员要交多少会费")
    assert answer.kind == "silent" and "会费" in answer.answer and "不超过1部" not in answer.answer


def test_contact_questions_in_english_reach_the_contacts_and_a_call_for_entries_does_not(
    helpdesk: Helpdesk,
) -> None:
    answer = helpdesk.ask(
        HLJ, "Who should I call at the Heilongjiang provincial S&T department, and at what number?"
    )
    assert answer.confident and "82624327" in answer.answer  # 科技厅 is the notice's 科学技术厅
    assert helpdesk.ask(HLJ, "What is the contact phone number?").confident
    assert "联系" not in chinese_terms("How long should the videos be for the youth education call?")


def test_the_share_of_ai_footage_is_not_the_pictures_aspect_ratio(helpdesk: Helpdesk) -> None:
    for question in (
        "片子里用了AI生成的画面，算原创吗，有没有比例限制",
        "素材占比有限制吗",
        "非原创素材最多能占多大比例",
    ):
        answer = helpdesk.ask(CAS, question)
        assert answer.confident and "10%" in answer.answer and "16:9" not in answer.answer
        # "多大比例" is no file size, and a share of the length is not the length.
        assert "兆" not in answer.answer and "分钟" not in answer.answer
    assert "16:9" in helpdesk.ask(CAS, "画面比例多少").answer


def test_a_ministry_is_not_glossed_as_works(helpdesk: Helpdesk) -> None:
    answer = helpdesk.ask(CAS, "Who can I contact about the policy?")
    assert "58881430" in answer.answer and "部 = works" not in answer.answer
    assert "部 = works" in helpdesk.ask(CAS, "How many can Dalian recommend?").answer


def test_how_many_win_is_said_to_be_unstated_where_the_notice_gives_no_number(helpdesk: Helpdesk) -> None:
    for question in (
        "这次最终会评出多少部优秀科普微视频",
        "How many videos will be chosen as excellent works?",
    ):
        answer = helpdesk.ask(CAS, question)
        assert answer.kind == "silent" and (
            "评出多少部" in answer.answer or "how many works" in answer.answer
        )
    assert helpdesk.ask(HLJ, "一共评几个奖？一等奖几个？").kind == "silent"
    assert "10%" in helpdesk.ask(CQ, "一等奖有几个").answer  # cq gives the shares
    # A unit's places are not winners, and a notice that gives the number is searched.
    assert helpdesk.ask(CAS, "能推荐几部优秀作品").kind == "answer"
    assert "200" in helpdesk.ask(CACSI, "How many videos will be chosen as excellent works?").answer


@pytest.mark.parametrize(
    "question",
    [
        "能帮我剪一下视频吗",
        "帮我推荐个好用的视频剪辑软件呗，免费的最好",
        "重庆科技馆周一开门吗",
        "北京今天限号尾号几",
        "能推荐个电脑吗，剪视频用的",
        "下周去上海出差，住哪片交通方便一点？",
        "Can you recommend a good laptop for video editing under 8000 yuan?",
    ],
)
def test_what_no_notice_is_about_gets_the_scope_reply(helpdesk: Helpdesk, question: str) -> None:
    # Each names a contest's word (视频, 推荐, 科技), which used to send it to a person.
    assert helpdesk.ask(CQ, question).kind == "offtopic"


def test_a_contest_question_with_a_word_of_daily_life_is_still_answered(helpdesk: Helpdesk) -> None:
    answer = helpdesk.ask(CAS, "光盘和推荐表寄到哪里？")
    assert answer.kind == "answer" and "复兴路" in answer.answer


@pytest.mark.parametrize(
    ("contest", "question", "said"),
    [
        (CAS, "邮寄的光盘是以邮戳为准还是以收到为准", "邮戳"),
        (CAS, "光盘用DVD还是CD 有要求吗", "光盘"),
        (CACSI, "封面图尺寸有要求吗", "封面图"),
        (ENVOY, "交上去以后还能修改作品吗", "修改"),
        (HLJ, "获奖名单在哪里公布", "名单"),
    ],
)
def test_more_things_notices_leave_unsaid_are_said_to_be_unsaid(
    helpdesk: Helpdesk, contest: str, question: str, said: str
) -> None:
    answer = helpdesk.ask(contest, question)
    assert answer.kind == "silent" and said in answer.answer and "没有" in answer.answer


@pytest.mark.parametrize(
    "question",
    [
        "北京市科委这次最多能推荐几部？有没有三区加的名额",
        "我们是北京市科委，能推荐几部？北京算不算“三区”省份？",
    ],
)
def test_the_unit_one_part_names_is_the_one_asked_about_in_the_next(
    helpdesk: Helpdesk, question: str
) -> None:
    answer = helpdesk.ask(CAS, question).answer
    assert "北京市不在“三区”名单内" in answer and "6部" not in answer  # not the 三区 rule in general


def test_a_story_that_mentions_the_3_areas_places_is_not_asking_its_standing(helpdesk: Helpdesk) -> None:
    question = "我在云南边境的村小教书，省里说我的片子可能用三区名额推荐。那材料是省里帮我交还是得我自己交？"
    assert "云南省在“三区”名单内" not in helpdesk.ask(CAS, question).answer


def test_the_works_own_period_is_not_the_calls(helpdesk: Helpdesk) -> None:
    question = "Within what period must the video have been completed and aired to be eligible?"
    answer = helpdesk.ask(HLJ, question).answer
    assert "2020" in answer and "2022" in answer and "deadline" not in answer.lower()
    assert "May 9, 2022" in helpdesk.ask(HLJ, "What is the submission period?").answer


def test_which_of_our_works_won_is_about_the_askers_own(helpdesk: Helpdesk) -> None:
    assert helpdesk.ask(HLJ, "我们单位推荐那三个片子哪个评上了？").kind == "personal"


def test_the_words_of_rules_quoted_in_chinese_are_glossed(helpdesk: Helpdesk) -> None:
    ai = helpdesk.ask(CAS, "Can we use AI-generated footage in our entry? Please answer in English.").answer
    assert "非原创 = non-original" in ai and "10%" in ai
    fix = helpdesk.ask(HLJ, "I made a mistake in my entry after submitting it. How do I fix it?").answer
    assert "删除 = delete" in fix


def test_how_long_voting_lasts_is_not_the_videos_length(helpdesk: Helpdesk) -> None:
    assert "10" in helpdesk.ask(ENVOY, "How long does the online public voting period last?").answer
    assert "2 to 5 minutes" in helpdesk.ask(CAS, "How long can the video last?").answer


def test_when_and_to_whom_gets_both(helpdesk: Helpdesk) -> None:
    answer = helpdesk.ask(CQ, "When and to whom should a Chongqing creating unit submit its video?").answer
    assert "May 31" in answer and "区县" in answer


def test_a_district_forwarding_its_picks_asks_the_districts_deadline_in_english() -> None:
    answer = Helpdesk(ContestRegistry.load()).ask(
        "cq-2023-scientist-spirit",
        "Our district science bureau needs to know: by what date must we forward the recommended works"
        " to the organizing committee, and how?",
    )
    assert answer.confident and "7月31日" in answer.answer and "5月31日" not in answer.answer


def test_finalists_and_outstanding_works_are_the_rounds_counts_in_english() -> None:
    answer = Helpdesk(ContestRegistry.load()).ask(
        "most-2023-tech-envoy",
        "After the first round of expert scoring, how many finalists go through, and how many outstanding"
        " works are picked in the end?",
    )
    assert answer.confident and "100部入围作品" in answer.answer and "优秀作品60部" in answer.answer


def test_a_route_the_question_names_is_not_sunk_as_another_routes() -> None:
    helpdesk = Helpdesk(ContestRegistry.load())
    # Asked from a 推荐 draft, "个人能报吗" is about the 自荐 route: units or organisations only.
    answer = helpdesk.ask("most-2023-tech-envoy", "个人能报吗", route="recommend")
    assert answer.confident and answer.entry_id == "fact:channels.self" and "单位或组织" in answer.answer
    # A question naming no route keeps to the asker's own.
    own = helpdesk.ask("most-2023-tech-envoy", "能报几部", route="recommend")
    assert "自荐1部" not in own.answer


def test_a_unit_recommending_its_video_is_the_contests_business(helpdesk: Helpdesk) -> None:
    # "recommend" of a thing to buy is an errand; of the entrant's video, the contest's route.
    assert helpdesk.ask(CQ, "Can you recommend our video to the committee?").kind == "answer"


def test_an_answer_does_not_depend_on_which_contests_were_asked_about_first() -> None:
    # Each contest's words used to be taught to the tokenizer on its first question, so the same
    # question was cut, and answered, differently after questions about other contests.
    question = "Can you recommend our video to the committee?"
    fresh = Helpdesk(ContestRegistry.load()).ask(CQ, question)
    helpdesk = Helpdesk(ContestRegistry.load())
    helpdesk.ask(CAS, "How many can Dalian recommend?")
    helpdesk.ask(HLJ, "这个视频分辨率有要求吗")
    after = helpdesk.ask(CQ, question)
    assert (after.kind, after.entry_id, after.answer) == (fresh.kind, fresh.entry_id, fresh.answer)
    assert after.kind == "answer"


def test_a_word_only_the_notice_uses_keeps_a_question_from_the_scope_reply() -> None:
    # The story after the question ("刚进站的博士后…头衔") matched nothing; 宣传主体 is the notice's own.
    answer = Helpdesk(ContestRegistry.load()).ask(
        CQ, "宣传主体的职位有限制没得？我们想拍一个刚进站的博士后，还没得啥子头衔"
    )
    assert answer.kind != "offtopic"


@pytest.mark.parametrize(("contest", "asked"), [(CQ, "时长多久"), (HLJ, "video多大"), (CAS, "video要多少MB")])
def test_a_short_question_about_the_video_is_no_errand(helpdesk: Helpdesk, contest: str, asked: str) -> None:
    # 多久 asks, it names nothing unknown; "video" typed in a Chinese message is 视频.
    answer = helpdesk.ask(contest, asked)
    assert answer.kind == "answer" and answer.confident


def test_a_number_plate_rule_is_an_errand_whatever_the_deadline_says_of_beijing_time(
    helpdesk: Helpdesk,
) -> None:
    assert helpdesk.ask(CACSI, "北京今天限号吗").kind == "offtopic"


def test_a_unit_compared_with_the_others_gets_both_tiers(helpdesk: Helpdesk) -> None:
    answer = helpdesk.ask(CQ, "两江新区跟普通区县名额一样吗")
    assert "3—5" in answer.answer and "1—2" in answer.answer
    assert "1—2" not in helpdesk.ask(CQ, "两江新区能推几个").answer
