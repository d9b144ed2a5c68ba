"""An entrant's own figures checked against the contest's rules: a video's (可以 or 不符合 said
first, then the rule quoted), a cell's count of characters (可以 or 超了), the day they will submit
(来得及 or 已过); a figure that only tells the story around another question is left alone."""

from __future__ import annotations

import pytest

from handlers.helpdesk.answer import Helpdesk
from handlers.helpdesk.fits import VIDEO_FITS
from handlers.helpdesk.wordcount import TEXT_FITS

CQ = "cq-2023-scientist-spirit"
CAS = "most-cas-2024-kepu"
HLJ = "hlj-2022-kepu"


@pytest.mark.parametrize(
    ("contest", "question", "lead"),
    [
        (
            CQ,
            "剪完三分半左右，时长要求是多少，三分半可以吧",
            "可以：您说的“三分半”符合通知要求的时长3分钟～4分钟。",
        ),
        (CQ, "分辩率７２０Ｐ的行不行 我们设备比较老", "可以：您说的“720P”符合"),  # cq allows 1280×720
        (CAS, "分辨率720P的行不行", "不符合：您说的“720P”不满足通知要求的分辨率1080P以上。"),
        (CAS, "视频301MB超了吗", "不符合：您说的“301MB”不满足通知要求的文件大小100～300兆（MB）。"),
        (CAS, "5分01秒可以吗 时长超了没", "不符合：您说的“5分01秒”不满足通知要求的时长2分钟～5分钟。"),
        (CAS, "4:3的可以吗", "不符合：您说的“4:3”不满足通知要求的画面比例16:9（横屏）。"),
        (CAS, "竖屏拍的行不行", "不符合"),
        (HLJ, "视频得整多长啊？俺们剪了六分来钟，能行不", "不符合：您说的“六分来钟”"),
        (CAS, "1080×1920可以吗", "不符合：您说的“1080×1920”不满足通知要求的画面比例16:9"),  # upright
        (CQ, "1440×1080可以吗", "不符合"),  # 4:3, though cq allows 1080 lines
        (CAS, "0.3G可以吗", "可以"),  # what entrants call 300M
    ],
)
def test_the_entrants_figure_is_judged_first(
    helpdesk: Helpdesk, contest: str, question: str, lead: str
) -> None:
    answer = helpdesk.ask(contest, question)
    assert answer.confident and lead in answer.answer, answer.answer
    assert "依据" in answer.answer  # the rule is quoted beside the verdict


@pytest.mark.parametrize(
    ("contest", "question"),
    [
        (CAS, "片长4分钟，里面有30秒是网上下载的素材，这样行不行？"),  # the footage is asked, not the length
        (CQ, "题材内容占30分可以吗"),  # a score, not minutes
        (CAS, "截止是10月25日10:30吗 来得及吗"),  # a time of day
        (HLJ, "4:3的可以吗"),  # hlj sets no ratio: the search says so, nothing is judged
        # A review found these judged as the video's: another thing's figure, a bound or a range,
        # two figures, or another matter asked beside the length.
        (HLJ, "附件上传每个20M以内，推荐表扫描件25M行不行"),
        (CAS, "报名表扫描件2M可以吗"),
        (CAS, "用4G手机拍的可以吗"),
        (CAS, "手机内存128G，拍出来能用吗"),
        (CAS, "家里100兆宽带上传可以吗"),
        (HLJ, "评审30分钟可以吗"),
        (CAS, "片头10秒可以吗"),
        (CQ, "背景音乐30秒可以吗"),
        (CAS, "海报1920×1080可以吗"),
        (CAS, "720P的素材剪进1080P的片子里可以吗"),
        (CAS, "三分钟的视频能不能用手机拍"),
        (CAS, "我的视频不到200M可以吗"),  # under a figure inside the range: settles nothing
        (CQ, "超过3分钟可以吗"),
        (CQ, "2到4分钟可以吗"),
        (CQ, "原片5分半，剪到4分钟可以吗"),
    ],
)
def test_a_figure_that_is_not_the_videos_measure_asked_is_not_judged(
    helpdesk: Helpdesk, contest: str, question: str
) -> None:
    assert helpdesk.ask(contest, question).entry_id != VIDEO_FITS


ENVOY = "most-2023-tech-envoy"
CACSI = "cacsi-2022-youth"


@pytest.mark.parametrize(
    ("contest", "question", "lead", "limit"),
    [
        (
            ENVOY,
            "自荐表里的推荐理由我写了95个字，应该没问题吧",
            "可以：您说的“95个字”没有超过「推荐理由」",
            "100字",
        ),
        (
            ENVOY,
            "推荐表上的内容简介我写了120字，超了吗？要删吗",
            "超了：您说的“120字”超过了「内容简介」",
            "100字",
        ),
        (CACSI, "微视频申报表的内容简介我写了350字，超了吗？", "超了：", "300字"),
        # the figure of another contest's rule is not the asker's own
        (
            CACSI,
            "内容简介写了250字可以吧？别的比赛都说100字以内，我有点拿不准",
            "可以：您说的“250字”",
            "300字",
        ),
        (HLJ, "推荐表里的内容简介我写了两百字，可以吧？", "超了：您说的“两百字”", "100字"),
        # a form the notice does not print: its limit is last year's, and said so
        (CAS, "内容简介写了120字行吗", "超了：", "按往年同类表格"),
    ],
)
def test_a_cells_count_of_characters_is_judged_against_its_limit(
    helpdesk: Helpdesk, contest: str, question: str, lead: str, limit: str
) -> None:
    answer = helpdesk.ask(contest, question)
    assert answer.entry_id == TEXT_FITS and answer.answer.startswith(lead), answer.answer
    assert limit in answer.answer


@pytest.mark.parametrize(
    "question",
    [
        "内容简介限多少字",  # no count of its own
        "推荐表要求简介100字以内，标题有字数限制吗",  # the rule's figure, not the asker's
        "字幕用多大的字号合适",
        # a count of another text than the cell's: the subtitles', a title's, letters
        "字幕有100个字，内容简介可以吗",
        "我们片子的字幕大概有300字，简介超了吗",
        "标题写了20个字，内容简介写得下吗，可以吗",
        "内容简介里有三个字母缩写，可以吗",
    ],
)
def test_no_count_of_the_askers_own_is_left_to_the_search(helpdesk: Helpdesk, question: str) -> None:
    assert helpdesk.ask(HLJ, question).entry_id != TEXT_FITS


@pytest.mark.parametrize(
    ("contest", "question", "said"),
    [
        (ENVOY, "我们打算6月28号把材料交上去，应该还在时间内吧？", "您说的6月28日在截止日期之内"),
        (HLJ, "5月8号交可以吧？单位盖章拖了几天", "您说的5月8日在截止日期之内"),
        # the day the asker acts on, not the deadline they guess at first
        (CAS, "截止是10月25号还是10月31号？我们10月28号寄出来得及吗？", "您说的10月28日已过截止日期"),
        # a day said with 前 is a deadline the asker repeats, not the day they act on
        (CQ, "我们6月5号交给区县，区县7月31日前报送组委会，来得及吗", "您说的6月5日已过截止日期"),
    ],
)
def test_the_day_the_asker_will_submit_is_judged_against_the_deadline(
    helpdesk: Helpdesk, contest: str, question: str, said: str
) -> None:
    answer = helpdesk.ask(contest, question)
    assert answer.confident and answer.answer.startswith(said), answer.answer


@pytest.mark.parametrize(
    ("contest", "question", "lead"),
    [
        (
            CQ,
            "My entry runs 3 min 45 s. Is that length OK?",
            "Yes: the 3 min 45 s you give is within the required duration of 3–4 minutes.",
        ),
        (
            CAS,
            "My film is 6 minutes long, is that too long?",
            "No: the 6 min you give does not meet the required duration of 2–5 minutes.",
        ),
        (
            CAS,
            "Is a 280MB video ok?",
            "Yes: the 280MB you give is within the required file size of 100–300 MB.",
        ),
    ],
)
def test_an_english_question_gives_its_figure_and_hears_yes_or_no_in_english(
    helpdesk: Helpdesk, contest: str, question: str, lead: str
) -> None:
    answer = helpdesk.ask(contest, question)
    assert answer.entry_id == VIDEO_FITS and answer.answer.startswith(lead), answer.answer
    assert "(Source: the notice" in answer.answer


@pytest.mark.parametrize(
    ("contest", "question", "said"),
    [
        (CQ, "时长超过4分钟行不行", "不符合：您说的“超过4分钟”不满足通知要求的时长3分钟～4分钟。"),
        (CQ, "视频不到3分钟可以吗", "不符合：您说的“不到3分钟”"),
        (CAS, "视频500兆以上行吗", "不符合：您说的“500兆以上”"),
        (CAS, "我的视频不到100M可以吗", "不符合：您说的“不到100M”"),  # under the minimum whatever it is
    ],
)
def test_a_bound_that_settles_it_is_judged(
    helpdesk: Helpdesk, contest: str, question: str, said: str
) -> None:
    answer = helpdesk.ask(contest, question)
    assert answer.entry_id == VIDEO_FITS and answer.answer.startswith(said), answer.answer


def test_a_bound_that_settles_nothing_is_left_to_the_rule(helpdesk: Helpdesk) -> None:
    assert helpdesk.ask(CQ, "超过2分钟可以吗").entry_id != VIDEO_FITS  # 2–5 minutes or 6: unknown


@pytest.mark.parametrize(
    ("contest", "question", "said"),
    [
        (CQ, "单位报送表里头内容简介要写好多字以内", "通知没有规定「内容简介及主要创新点」的字数。"),
        (HLJ, "作品名称有字数限制吗", "通知没有规定「作品名称」的字数。（本助手接受50字以内。）"),
    ],
)
def test_a_cells_limit_the_forms_never_set_is_said_plainly(
    helpdesk: Helpdesk, contest: str, question: str, said: str
) -> None:
    answer = helpdesk.ask(contest, question)
    assert answer.confident and answer.kind == "silent" and answer.answer.startswith(said), answer.answer


def test_a_cells_limit_a_form_sets_is_not_called_unsaid(helpdesk: Helpdesk) -> None:
    answer = helpdesk.ask(HLJ, "内容简介限多少字")
    assert answer.kind == "answer" and "限100字以内" in answer.answer


@pytest.mark.parametrize(
    ("question", "lead"),
    [
        ("视频140多兆，能交吗", "可以：您说的“140多兆”"),
        ("视频200多兆可以吗", "不符合：您说的“200多兆”"),  # just over hlj's 200
    ],
)
def test_a_size_said_with_more_is_judged(helpdesk: Helpdesk, question: str, lead: str) -> None:
    answer = helpdesk.ask(HLJ, question)
    assert answer.entry_id == VIDEO_FITS and answer.answer.startswith(lead), answer.answer
