"""A work's own dates, told in a question, checked against the notice's production and broadcast
windows (``handlers/helpdesk/windows.py``): outside them the answer says the work does not qualify."""

from __future__ import annotations

import pytest

from handlers.helpdesk.answer import Helpdesk
from handlers.helpdesk.windows import WORK_DATES

HLJ = "hlj-2022-kepu"  # both windows 2020-01-01 … 2022-02-28; the notice's year 2022
CAS = "most-cas-2024-kepu"  # both windows 2023; the notice's year 2024
CQ = "cq-2023-scientist-spirit"  # no window


@pytest.mark.parametrize(
    ("contest", "question", "said"),
    [
        (HLJ, "今年3月份刚拍完发的视频能参加吗", "2022年3月完成制作，不在通知要求的制作时间"),
        (HLJ, "我这片子是2022年3月份才整完的，能报不？", "2022年3月完成制作，不在"),  # 东北话 整完
        (HLJ, "我们2019年12月做的片子，播的效果挺好，能报不？", "2019年12月完成制作，不在"),
        (CAS, "片子是22年12月做完的，23年1月才上线播出，符不符合时间要求", "2022年12月完成制作，不在"),
        (CAS, "我的片子22年底做完的 今年初才发到B站 能报吗", "2024年初播出，不在通知要求的播出时间"),
        (CAS, "去年8月拍完，前年就播过一次，能报吗", "2022年播出，不在"),
    ],
)
def test_a_day_outside_the_window_disqualifies_the_work(
    helpdesk: Helpdesk, contest: str, question: str, said: str
) -> None:
    answer = helpdesk.ask(contest, question)
    assert answer.confident and answer.entry_id == WORK_DATES
    assert said in answer.answer and "不符合参评条件" in answer.answer
    assert "（依据：通知" in answer.answer  # the window's clause is quoted


def test_a_day_inside_the_window_beside_one_outside_is_said_too(helpdesk: Helpdesk) -> None:
    answer = helpdesk.ask(CAS, "片子是22年12月做完的，23年1月才上线播出，能报吗")
    assert "2023年1月播出，在通知要求的播出时间（2023年1月1日至2023年12月31日）之内" in answer.answer


def test_a_month_across_the_windows_end_asks_for_the_day(helpdesk: Helpdesk) -> None:
    # hlj's windows end on 2022-02-28: "2022年" as a whole is partly inside.
    answer = helpdesk.ask(HLJ, "2022年做完的片子能报吗")
    assert "跨过了通知要求的制作时间" in answer.answer


@pytest.mark.parametrize(
    ("contest", "question"),
    [
        (CAS, "去年8月播了一期，台里想走省科技厅推荐，又能自荐，两条路都报上行吗"),  # inside: about routes
        (CQ, "我们去年12月拍完的片子能报吗"),  # no window in the notice
        (CAS, "视频时长有什么要求"),  # no day at all
    ],
)
def test_without_a_day_outside_a_window_the_index_answers(
    helpdesk: Helpdesk, contest: str, question: str
) -> None:
    assert helpdesk.ask(contest, question).entry_id != WORK_DATES


@pytest.mark.parametrize(
    ("question", "short", "met"),
    [
        ("我粉丝才800能报科普号吗", ["粉丝量"], []),
        ("我的科普号发了30条视频，粉丝有2000，能报吗", ["发布作品数"], ["粉丝量"]),
        ("运营了一个抖音科普号，发了80多条视频，粉丝大概800个，能申报吗？", ["粉丝量"], ["发布作品数"]),
        ("粉丝0.09万个，可以参评吗", ["粉丝量"], []),
        # Chinese numerals; 一 of 一共 is not a figure
        ("我们科普号粉丝八百多 能报吗", ["粉丝量"], []),
        ("粉丝一共两千个，发了三十条视频，能报吗", ["发布作品数"], ["粉丝量"]),
    ],
)
def test_an_entrants_own_figures_are_checked_against_the_forms_minimums(
    helpdesk: Helpdesk, question: str, short: list[str], met: list[str]
) -> None:
    answer = helpdesk.ask("cacsi-2022-youth", question)
    assert answer.confident and answer.entry_id == "check:minimums"
    for label in short:
        assert f"少于通知要求的「{label}」" in answer.answer
    for label in met:
        assert f"达到了「{label}」" in answer.answer
    # The rule is cited where the notice states it, not the form's table or list of attachments.
    assert "一、征集内容 （一）科普号 2." in answer.answer


def test_figures_that_meet_every_minimum_or_a_question_not_about_entering_are_left_to_the_index(
    helpdesk: Helpdesk,
) -> None:
    for question in ("我的科普号粉丝有5000，发了100条，能报吗", "粉丝800的时候截图怎么截"):
        assert helpdesk.ask("cacsi-2022-youth", question).entry_id != "check:minimums"


def test_days_inside_the_window_are_said_when_the_windows_entry_answers(helpdesk: Helpdesk) -> None:
    """ "片子2021年3月在快手播的，能参加吗" asks of its days alone: inside the window is the answer,
    said first (days inside beside another question still settle nothing, see above)."""
    answer = helpdesk.ask("hlj-2022-kepu", "片子2021年3月在快手播的，能参加吗")
    assert answer.confident and answer.answer.startswith("您说的2021年3月播出，在通知要求的播出时间")
