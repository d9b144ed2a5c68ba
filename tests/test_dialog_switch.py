"""Another contest or channel chosen mid-draft (the new-entrant trial): the answers the new form
does not have, or that fail its checks, are cleared and the entrant told which; the rest is kept."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from contests.editions import new_edition
from contests.events import EventKind, Incoming
from contests.records import UserKey
from contests.registry import ContestRegistry, dump_contest
from contests.rules import Contest
from dialogs.engine import DialogEngine, choices_as_text
from dialogs.messages import Messages
from dialogs.refit import FITTED
from dialogs.states import State

NOW = dt.datetime(2026, 12, 7, 12, tzinfo=dt.UTC)
EDITIONS = {
    "hlj-2022-kepu": "hlj-2026-kepu",
    "cq-2023-scientist-spirit": "cq-2026-spirit",
    "most-2023-tech-envoy": "envoy-2026",
    "most-cas-2024-kepu": "most-cas-2026-kepu",
}
CLEARED = "已清除"
USER = UserKey("test", "s")


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> DialogEngine:
    folder: Path = tmp_path_factory.mktemp("contests")
    base = ContestRegistry.load()
    made: list[Contest] = []
    for source, new in EDITIONS.items():
        contest = base.get(source)
        assert contest is not None
        data = new_edition(contest, new, dt.date(2026, 12, 25), opens=dt.date(2026, 11, 1))
        made.append(dump_contest(data, folder / f"{new}.yaml"))
    return DialogEngine(ContestRegistry(made), Messages())


class Chat:
    def __init__(self, engine: DialogEngine) -> None:
        self.engine = engine
        self.state: State | None = engine.handle(None, Incoming(USER, EventKind.START), NOW).state

    def say(self, text: str) -> str:
        result = self.engine.handle(self.state, Incoming(USER, EventKind.TEXT, text=text), NOW)
        self.state = result.state
        return "\n".join(choices_as_text(r) for r in result.replies)

    @property
    def answers(self) -> dict[str, Any]:
        assert self.state is not None
        return dict(self.state["answers"])


def hlj_recommended(engine: DialogEngine) -> Chat:
    chat = Chat(engine)
    chat.say("黑龙江")
    chat.say("单位推荐")
    assert "「作品名称」" in chat.say("福建省科技厅")
    chat.say("种子去旅行")
    assert "「播出时间」" in chat.say("生命科学")
    return chat


def test_another_contest_drops_what_its_form_lacks_and_keeps_the_rest(engine: DialogEngine) -> None:
    """hlj's 推荐单位 "福建省科技厅" was kept as cq's 创作单位 (the same field id, "unit")."""
    chat = hlj_recommended(engine)
    chat.say("修改 大赛")
    text = chat.say("重庆")  # one route: no channel to choose, straight to the form
    assert CLEARED in text and "推荐单位“福建省科技厅”" in text and "类别“生命科学”" in text, text
    assert "作品名称" not in text.split(CLEARED, 1)[1].split("\n\n", 1)[0]  # kept, not listed
    assert chat.answers == {"title": "种子去旅行"}
    assert "「报送区县」" in text.rsplit("\n\n", 1)[-1] or "报送区县" in text  # the first one missing
    assert chat.state is not None and FITTED not in chat.state
    # ...and back: what cq's form had and hlj's lacks goes the same way.
    chat.say("江北")
    assert chat.answers["district"] == "江北区"
    chat.say("修改 大赛")
    chat.say("黑龙江")
    text = chat.say("单位推荐")
    assert CLEARED in text and "报送区县“江北区”" in text, text
    assert chat.answers == {"title": "种子去旅行"}
    assert "请填写「推荐单位」" in text


def test_an_answer_the_new_contest_refuses_is_dropped_with_its_reason(engine: DialogEngine) -> None:
    """hlj's 自荐机构（个人） takes a person; envoy's 自荐机构 takes only a unit or organisation."""
    chat = Chat(engine)
    chat.say("黑龙江")
    chat.say("个人自荐")
    chat.say("张敏")
    chat.say("种子去旅行")
    assert chat.answers == {"unit": "张敏", "title": "种子去旅行"}
    chat.say("修改 大赛")
    chat.say("大美科技特派团")
    text = chat.say("社会征集（自荐）")
    assert CLEARED in text and "自荐机构（个人）“张敏”" in text and "不能填写个人" in text, text
    assert chat.answers == {"title": "种子去旅行"}
    assert "请填写「自荐机构」" in text


def test_another_channel_of_the_same_contest_refits_the_answers_too(engine: DialogEngine) -> None:
    chat = hlj_recommended(engine)
    text = chat.say("不对，我选的是自荐")
    assert CLEARED in text and "推荐单位“福建省科技厅”" in text, text
    assert chat.answers == {"title": "种子去旅行", "category": "生命科学"}
    assert "请填写「自荐机构（个人）」" in text


def test_the_same_route_chosen_again_clears_nothing(engine: DialogEngine) -> None:
    chat = hlj_recommended(engine)
    before = chat.answers
    chat.say("修改 参赛渠道")
    text = chat.say("单位推荐")
    assert CLEARED not in text and chat.answers == before
    assert chat.state is not None and FITTED not in chat.state


def test_a_pledge_agreed_to_another_notice_is_asked_again(engine: DialogEngine) -> None:
    """The 作者承诺 is the notice's own text: agreeing to hlj's is not agreeing to envoy's."""
    chat = hlj_recommended(engine)
    assert chat.state is not None
    chat.state["answers"]["pledge"] = "同意"
    chat.say("修改 大赛")
    chat.say("大美科技特派团")
    text = chat.say("地方推荐")
    assert CLEARED in text and "作者承诺" in text, text
    assert "pledge" not in chat.answers and chat.answers["title"] == "种子去旅行"


@pytest.mark.parametrize("said", ["换成重庆那个", "不对，我要报重庆的短视频大赛"])
def test_another_contest_named_at_a_field_is_a_switch_not_the_fields_answer(
    engine: DialogEngine, said: str
) -> None:
    """'换成重庆那个' at 播出时间 was stored as the field's answer (a session's own trial)."""
    chat = hlj_recommended(engine)
    text = chat.say(said)
    assert said not in chat.answers.values()
    assert chat.state is not None and chat.state["contest"] == "cq-2026-spirit"
    assert CLEARED in text and "推荐单位“福建省科技厅”" in text, text
    assert chat.answers == {"title": "种子去旅行"}


def test_a_title_that_only_mentions_a_place_is_still_the_title(engine: DialogEngine) -> None:
    chat = Chat(engine)
    chat.say("黑龙江")
    chat.say("单位推荐")
    chat.say("福建省科技厅")
    chat.say("重庆的山城科学家")
    assert chat.answers["title"] == "重庆的山城科学家"
