"""What an entrant says back to the dialog rather than an answer: the reply to 「填写 / 提问」 in
their own words, and "上一个填错了" (a step back, nothing stored)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.services import Services, services
from bot.settings import Settings
from contests.records import UserKey
from contests.rules import ContestRegistry, dump_contest, new_edition
from dialogs.engine import DialogEngine
from dialogs.questions import PENDING
from tests.conftest import ChatDriver
from tests.test_questions_in_dialog import CLARIFY, at_field, at_title, handle

HELD = "台风是怎样炼成的"


@pytest.fixture
async def svc(tmp_path: Path, contests: ContestRegistry) -> AsyncIterator[Services]:
    source = contests.get("most-cas-2024-kepu")
    assert source is not None
    dump_contest(
        new_edition(source, "most-cas-2099-kepu", dt.date(2099, 10, 25), dt.date(2000, 1, 1)),
        tmp_path / "contests" / "most-cas-2099-kepu.yaml",
    )
    async with services(Settings(data_dir=tmp_path, helpdesk_operators="test:operators")) as s:
        yield s


@pytest.fixture
def chat(svc: Services) -> Callable[[str], ChatDriver]:
    return lambda name="alice": ChatDriver(svc.submit, UserKey("test", name), front=svc.assistant)


@pytest.mark.parametrize(
    "reply",
    [
        "是答案",
        "是要填写的",
        "填写",
        "答案",
        "对",
        "是",
        "是的",
        "对的",
        "嗯",
        "要填写的",
        "是填写的。",
        "就是答案",
        "对，是要填写的",
        "是作品名称",
        "填进去",
        "yes",
        "不是问题",
        "不是，是答案",
    ],
)
def test_a_reply_meaning_fill_it_in_stores_the_held_message(engine: DialogEngine, reply: str) -> None:
    asked = handle(engine, at_field(engine, "title"), HELD)
    assert asked.state is not None and asked.state[PENDING]["text"] == HELD
    done = handle(engine, asked.state, reply)
    assert done.state is not None and PENDING not in done.state
    assert done.state["answers"] == {"title": HELD}, reply
    assert not done.question
    assert done.state["field"] == "category"


@pytest.mark.parametrize("reply", ["是简介", "内容简介", "对，是简介的", "简介"])
def test_naming_the_field_fills_it_with_the_held_message(engine: DialogEngine, reply: str) -> None:
    held = "你知道星星是怎么诞生的吗？"
    asked = handle(engine, at_field(engine, "summary"), held)
    assert asked.state is not None and asked.state[PENDING]["text"] == held
    done = handle(engine, asked.state, reply)
    assert done.state is not None and done.state["answers"] == {"summary": held}, reply
    assert not done.question


@pytest.mark.parametrize(
    "reply",
    [
        "提问",
        "是问题",
        "想问问题",
        "问问题",
        "是提问",
        "是想问问题",
        "我是想问一下",
        "不是",
        "问的",
        "提问的",
        "不是答案",
        "不是，是问题",
    ],
)
def test_a_reply_meaning_a_question_answers_the_held_one_and_asks_the_field_again(
    engine: DialogEngine, reply: str
) -> None:
    asked = handle(engine, at_field(engine, "title"), HELD)
    assert asked.state is not None
    done = handle(engine, asked.state, reply)
    assert done.state is not None and PENDING not in done.state
    assert "title" not in done.state["answers"], reply
    assert done.question == HELD
    assert done.state["field"] == "title"
    assert "请填写「作品名称」" in done.replies[-1].text


def test_a_new_value_is_a_fresh_answer_to_the_field(engine: DialogEngine) -> None:
    asked = handle(engine, at_field(engine, "title"), HELD)
    assert asked.state is not None
    done = handle(engine, asked.state, "气象")
    assert done.state is not None and done.state["answers"] == {"title": "气象"}
    assert done.state["field"] == "category"  # one field on, never two


async def test_the_web_chat_walk_keeps_every_answer_in_its_field(chat: Callable[[str], ChatDriver]) -> None:
    c = chat("wen")
    await at_title(c)
    assert CLARIFY in await c.say(HELD)
    reply = await c.say("是答案")
    assert "请填写「类别」" in reply and "按提问处理" not in reply
    await c.say("气象")
    draft = await c.draft()
    assert draft is not None
    assert draft["answers"] == {"unit": "某某科普中心", "title": HELD, "category": "气象"}


# ---------------------------------------------------------------------- "上一个填错了": a step back
@pytest.mark.parametrize(
    "said",
    [
        "不对，上一个填错了",
        "上一个填错了",
        "填错了，返回",
        "上一步填错了",
        "刚才写错了",
        "填错了",
        "前一个填错了，我要改",
        "不好意思，上一个写错了",
    ],
)
def test_saying_the_last_answer_was_wrong_goes_back_and_stores_nothing(
    engine: DialogEngine, said: str
) -> None:
    state = at_field(engine, "category")
    state["answers"]["title"] = "星空的秘密"
    done = handle(engine, state, said)
    assert done.state is not None
    assert done.state["answers"] == {"title": "星空的秘密"}, said
    assert done.state["field"] == "title"
    assert "请填写「作品名称」" in done.replies[-1].text


def test_a_held_clarification_is_dropped_by_the_step_back(engine: DialogEngine) -> None:
    asked = handle(engine, at_field(engine, "title"), HELD)
    assert asked.state is not None
    done = handle(engine, asked.state, "不对，上一个填错了")
    assert done.state is not None and PENDING not in done.state and done.state["answers"] == {}
    assert done.state["field"] == "unit"


@pytest.mark.parametrize("said", ["填错了怎么办", "关于填错了信息的处理办法", "错题本"])
def test_words_about_mistakes_that_are_not_a_step_back_are_read_as_before(
    engine: DialogEngine, said: str
) -> None:
    state = at_field(engine, "category")
    done = handle(engine, state, said)
    assert done.state is not None and done.state["field"] != "title"


async def test_the_step_back_through_the_front_door(chat: Callable[[str], ChatDriver]) -> None:
    c = chat("gao")
    await at_title(c)
    await c.say("星空的秘密")
    reply = await c.say("不对，上一个填错了")
    assert "请填写「作品名称」" in reply
    draft = await c.draft()
    assert draft is not None and draft["answers"] == {"unit": "某某科普中心", "title": "星空的秘密"}
    await c.say("星空的奥秘")
    await c.say("天文")
    draft = await c.draft()
    assert draft is not None
    assert draft["answers"] == {"unit": "某某科普中心", "title": "星空的奥秘", "category": "天文"}
