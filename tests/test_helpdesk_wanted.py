"""The helpdesk's checks of what a question asks for: the kind of answer (a date, a number, a
person to call, an e-mail, an address) and every intent of a unit's question about its places."""

from __future__ import annotations

import re

import pytest

from handlers.helpdesk.answer import Helpdesk
from handlers.helpdesk.index import Entry, Hit
from handlers.helpdesk.wanted import TYPE_DAMPING, by_wanted, has, wanted

CQ = "cq-2023-scientist-spirit"


def _hit(entry_id: str, text: str, score: float, confidence: float = 0.8) -> Hit:
    return Hit(Entry(entry_id, "clause", text, "通知"), score, confidence)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("材料几号截止", "date"),
        ("最晚啥时候交", "date"),
        ("一个单位能推荐几部", "number"),
        ("视频多大", "number"),
        ("咨询电话是多少", "contact"),
        ("自荐的邮箱是哪个", "email"),
        ("光盘寄到哪里", "address"),
        ("片头要不要放片名", None),
        ("自荐作品找谁审核", None),  # a role, not a number to call
        ("我和几个同学拍了一部片子，学生能参加吗", None),  # several, not how many
        ("我们几个人一起拍的，可以吗", None),
        ("有几个奖项", "number"),
    ],
)
def test_the_kind_of_answer_a_question_wants(question: str, kind: str | None) -> None:
    assert wanted(question) == kind


def test_a_close_runner_up_that_has_what_is_asked_goes_first() -> None:
    greeting = _hit("clause:0", "各市科技局、各有关单位：省科技厅拟开展征集评选活动。", 10.0)
    contact = _hit("fact:contacts.0", "联系人：张三，电话 0451-12345678。", 7.0)
    hits = by_wanted([greeting, contact], "省科技厅的联系人是谁")
    assert hits[0] is contact and hits[1] is greeting


def test_without_one_nearby_the_top_entry_is_damped_to_a_hand_off() -> None:
    theme = _hit("clause:11", "（三）先进帮扶模式。科技特派团在帮扶工作中创新探索。", 10.0, confidence=0.56)
    far = _hit("clause:3", "征集时间为3月28日至5月9日。", 3.0)  # has a number, but scores far below
    hits = by_wanted([theme, far], "这个制度推行多少周年")
    assert hits[0].entry is theme.entry and hits[0].confidence == pytest.approx(0.56 * TYPE_DAMPING)


def test_an_entry_saying_the_notice_is_silent_answers_any_kind() -> None:
    silent = _hit("fact:delivery.1", "各区县于7月31日前报送至指定邮箱（邮箱未在通知中公布）。", 10.0)
    assert by_wanted([silent], "组委会邮箱是哪个")[0] is silent


def test_a_units_places_and_its_deadline_asked_together(helpdesk: Helpdesk) -> None:
    answer = helpdesk.ask(CQ, "江北区科技局想问，我们区能推荐几部？截止到什么时候？")
    assert answer.confident and "3—5" in answer.answer and "7月31日" in answer.answer
    alone = helpdesk.ask(CQ, "江北区科技局能推荐几部")
    assert "3—5" in alone.answer and "7月31日" not in alone.answer


def test_a_question_asking_which_ones_gets_every_item_of_the_notices_list(helpdesk: Helpdesk) -> None:
    answer = helpdesk.ask("most-2023-tech-envoy", "可以拍哪几个方向")
    assert answer.confident
    for item in ("推广科技成果", "突破产业瓶颈", "先进帮扶模式", "工作生活日常", "带货"):
        assert item in answer.answer
    assert answer.answer.index("（一）") < answer.answer.index("（五）")  # in the notice's order


def test_a_short_piece_pointing_back_leans_on_the_one_before(helpdesk: Helpdesk) -> None:
    answer = helpdesk.ask("hlj-2022-kepu", "扫描件能传几个？每个多大？")
    assert answer.confident and "3个" in answer.answer and "20M" in answer.answer
    assert "100～200" not in answer.answer  # the video's size is not what "每个" points at


def test_when_the_results_come_out_is_said_only_where_the_notice_is_silent(helpdesk: Helpdesk) -> None:
    silent = helpdesk.ask("hlj-2022-kepu", "获奖名单啥时候公布")
    assert silent.confident and silent.kind == "silent" and "没有写明评选结果公布的时间" in silent.answer
    dated = helpdesk.ask("most-2023-tech-envoy", "评选结果什么时候公布")  # （五）2023年10月—12月
    assert dated.kind != "silent" and "10月" in (dated.suggestion or dated.answer)


def test_the_route_one_part_names_holds_for_the_parts_after_it(helpdesk: Helpdesk) -> None:
    answer = helpdesk.ask("most-cas-2024-kepu", "地方推荐的作品，光盘寄到哪、又要往哪个邮箱发？")
    assert answer.confident and "kepuwsp@163.com" in answer.answer
    assert "kepuchuwsp@126.com" not in answer.answer  # the 社会征集 route's e-mail is not the asker's
    both = helpdesk.ask("most-cas-2024-kepu", "省里推荐的作品要用哪两种方式交材料")
    assert both.confident and "光盘" in both.answer and "kepuwsp@163.com" in both.answer


def test_a_day_asked_about_is_compared_with_the_deadline(helpdesk: Helpdesk) -> None:
    late = helpdesk.ask("most-2023-tech-envoy", "7月1号再交还来得及吗")
    assert late.confident and "已过截止日期" in late.answer and "2023年6月30日" in late.answer
    last_day = helpdesk.ask("most-2023-tech-envoy", "6月30号交还来得及吗")
    assert "来得及" in last_day.answer and "已过" not in last_day.answer
    # a district that the notice names selects until its stage ends, not the entrants' 5月31日
    district = helpdesk.ask(CQ, "我们是江北区科技局，7月30号推荐还来得及吗")
    assert "7月31日" in district.answer and "已过" not in district.answer
    entrant = helpdesk.ask(CQ, "6月2号交作品还来得及吗")
    assert "已过截止日期" in entrant.answer and "5月31日" in entrant.answer
    early = helpdesk.ask("most-cas-2024-kepu", "7月1号交还来得及吗")  # the call opens 2024年9月26日
    assert "还没到征集开始的日子" in early.answer and "来得及" not in early.answer
    # a day in the work's own life is about its window, not the deadline
    aired = helpdesk.ask("hlj-2022-kepu", "片子2022年3月10日才首播，赶得上吗")
    assert "截止日期之内" not in aired.answer and "已过截止日期" not in aired.answer


def test_whether_all_can_go_up_is_the_rule_not_the_askers_own_state(helpdesk: Helpdesk) -> None:
    rule = helpdesk.ask(CQ, "城口县收了3个作品能都推荐上去吗")
    assert rule.kind == "answer" and "1—2" in rule.answer
    for own in ("我们县的片子推上去没得", "我的作品推荐上去了吗"):
        assert helpdesk.ask(CQ, own).kind == "personal"


def test_an_entry_about_the_asked_word_outranks_one_that_lists_it(helpdesk: Helpdesk) -> None:
    # most-cas's forms list 类别 among their columns; only its gap says the notice sets no options
    answer = helpdesk.ask("most-cas-2024-kepu", "类别有哪些可以选")
    # The gap, or the field's own hint: either says the notice sets none (and what to write).
    assert answer.confident and re.search(
        r"未规定“?类别”?的?可选项|「类别」：通知未规定可选项", answer.answer
    )
    assert "推荐单位、作品名称、类别" not in answer.answer


def test_a_stage_the_notice_gives_no_dates_says_so_in_words_entrants_read(helpdesk: Helpdesk) -> None:
    answer = helpdesk.ask("most-2023-tech-envoy", "网友投票大概从几月几号开始？")
    assert answer.confident and "网友投票：通知未写明日期" in answer.answer
    # Saying a stage's dates are missing does not pass for saying its numbers are.
    stage = _hit("fact:schedule.2", "专家评审：通知未写明日期。专家进行评审。", 5.0)
    assert has("date", stage) and not has("number", stage)
