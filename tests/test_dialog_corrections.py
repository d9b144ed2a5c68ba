"""What an entrant says back to the dialog rather than an answer: the reply to 「填写 / 提问」 in
their own words, and "上一个填错了" (a step back, nothing stored)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.services import Services
from contests.events import EventKind, Incoming
from contests.records import UserKey
from contests.registry import ContestRegistry
from dialogs.engine import DialogEngine
from dialogs.questions import PENDING, says_answer
from dialogs.results import StepResult
from dialogs.states import copy_state
from tests.conftest import OPEN_2024, ChatDriver
from tests.test_questions_in_dialog import CLARIFY, at_field, at_title, handle, open_cas_services

HELD = "台风是怎样炼成的"


@pytest.fixture
async def svc(tmp_path: Path, contests: ContestRegistry) -> AsyncIterator[Services]:
    async with open_cas_services(tmp_path, contests) as s:
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


# ---------------------------------------------------------------------- "是答案" after an answer
def asked_at(engine: DialogEngine, field_id: str, text: str) -> tuple[dict[str, Any], StepResult]:
    """At ``field_id`` (a step that never asks 「填写 / 提问」), ``text`` answered at once as a
    question: the draft as it was, and the result (its ``answered`` held by the caller)."""
    state = at_field(engine, field_id)
    result = handle(engine, state, text)
    assert result.question and result.state == state  # answered, nothing recorded
    return state, result


def said_after(engine: DialogEngine, state: dict[str, Any], text: str, answered: Any) -> StepResult:
    event = Incoming(UserKey("test", "q"), EventKind.TEXT, text=text)
    return engine.handle(copy_state(state), event, OPEN_2024, questions=True, answered=answered)


@pytest.mark.parametrize(
    "reply", ["是答案", "这是答案", "就是答案", "是要填写的", "刚才那条是要填的", "不是问题"]
)
def test_saying_the_answered_question_was_the_answer_fills_the_field_with_it(
    engine: DialogEngine, reply: str
) -> None:
    """The new-entrant trial: at envoy's 自荐机构 (never asked 「填写 / 提问」) a question was
    answered at once, and the "是答案" typed after it was stored as the field's value."""
    state, asked = asked_at(engine, "category", "生命科学？")
    assert asked.answered == {"at": "field:category", "text": "生命科学？"}
    done = said_after(engine, state, reply, asked.answered)
    assert done.state is not None and done.state["answers"] == {"category": "生命科学？"}, reply
    assert "已把您上一条消息“生命科学？”填入「类别」" in done.replies[0].text
    assert done.state["field"] == "broadcast_date" and not done.answered


def test_the_held_message_is_checked_as_any_answer(engine: DialogEngine) -> None:
    state, asked = asked_at(engine, "broadcast_date", "2023年5月1日可以吗？")
    done = said_after(engine, state, "是答案", asked.answered)
    assert done.state is not None and done.state["answers"] == {}
    assert done.replies[0].meta.get("error") and "填入" not in done.replies[0].text


@pytest.mark.parametrize("held", [None, {"at": "field:unit", "text": "某某科普中心？"}])
def test_saying_it_was_the_answer_with_nothing_held_asks_for_the_value(
    engine: DialogEngine, held: dict[str, str] | None
) -> None:
    """Nothing held here (another worker, a restart, a question asked at another field): the
    words are not the value; the field is asked again, with what to send."""
    state = at_field(engine, "category")
    done = said_after(engine, state, "是答案", held)
    assert done.state == state
    assert "没有填入「类别」" in done.replies[0].text and "答：" in done.replies[0].text
    assert "请填写「类别」" in done.replies[-1].text


@pytest.mark.parametrize("reply", ["好的", "是", "对", "嗯", "谢谢"])
def test_words_that_only_agree_are_not_taken_for_it(engine: DialogEngine, reply: str) -> None:
    """ "好的" may thank for the answer; "是" agrees to a pledge: read as before."""
    assert not says_answer(reply)


async def test_saying_it_was_the_answer_through_the_front_door(chat: Callable[[str], ChatDriver]) -> None:
    c = chat("lin")
    await at_title(c)
    await c.say("星空的秘密")
    before = await c.draft()
    reply = await c.say("生命科学？")
    assert "没有填入「类别」" in reply and await c.draft() == before  # the question leaves it as it was
    reply = await c.say("是答案")
    assert "已把您上一条消息“生命科学？”填入「类别」" in reply and "请填写「播出时间」" in reply
    draft = await c.draft()
    assert draft is not None and draft["answers"]["category"] == "生命科学？"
    # Once only: a second "是答案" is not the value either.
    await c.say("返回")
    reply = await c.say("是答案")
    assert "找不到刚才那条要填写的消息" in reply
    draft = await c.draft()
    assert draft is not None and draft["answers"]["category"] == "生命科学？"
