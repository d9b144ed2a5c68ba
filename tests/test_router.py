"""The front door as the service builds it: commands, questions and the dialog side by side."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.services import Services, services
from bot.settings import Settings
from contests.editions import new_edition
from contests.events import EventKind, Incoming, Reply
from contests.records import UserKey
from contests.registry import ContestRegistry, dump_contest
from dialogs.engine import choices_as_text
from handlers.outbound import turn_key


class Recorder:
    """A channel's notifier that keeps what was pushed: the operator group and the entrant."""

    def __init__(self) -> None:
        self.sent: list[tuple[UserKey, str]] = []

    async def push(self, user: UserKey, replies: list[Reply]) -> None:
        self.sent.extend((user, r.text) for r in replies)


@pytest.fixture
async def svc(tmp_path: Path, contests: ContestRegistry) -> AsyncIterator[Services]:
    source = contests.get("most-cas-2024-kepu")
    assert source is not None
    folder = tmp_path / "contests"
    dump_contest(
        new_edition(source, "most-cas-2099-kepu", dt.date(2099, 10, 25), dt.date(2000, 1, 1)),
        folder / "most-cas-2099-kepu.yaml",
    )
    settings = Settings(data_dir=tmp_path, helpdesk_operators="test:operators")
    async with services(settings) as s:
        yield s


async def say(svc: Services, user: UserKey, text: str) -> str:
    replies = await svc.assistant.handle(Incoming(user, EventKind.TEXT, text=text))
    return "\n".join(choices_as_text(r) for r in replies)


async def test_a_question_mid_dialog_is_answered_and_the_draft_kept(svc: Services) -> None:
    alice = UserKey("test", "alice")
    await svc.assistant.handle(Incoming(alice, EventKind.START))
    await say(svc, alice, "自荐")
    await say(svc, alice, "某某科普中心")
    before = await svc.storage.get_draft(alice)
    text = await say(svc, alice, "问：视频可以多大？")
    assert "300" in text  # the notice's 100～300兆, from the preset
    assert "草稿已保存" in text
    after = await svc.storage.get_draft(alice)
    assert before is not None and after is not None
    assert after.data == before.data and after.version == before.version


async def test_an_unsure_question_becomes_a_ticket_and_the_reply_comes_back(svc: Services) -> None:
    recorder = Recorder()
    svc.reach.register("test", recorder)
    bob, operators = UserKey("test", "bob"), UserKey("test", "operators")
    text = await say(svc, bob, "？我的作品收到了吗")
    found = re.search(r"HD-\d{6}", text)
    assert found is not None, text
    ticket_id = found.group(0)
    await svc.reach.drain()  # posted from the asker's turn, sent from a task of its own
    assert recorder.sent and recorder.sent[0][0] == operators and ticket_id in recorder.sent[0][1]
    confirmation = await say(svc, operators, f"回复 {ticket_id} 已收到，请耐心等待评审。")
    assert ticket_id in confirmation
    await svc.reach.drain()
    assert any(u == bob and "已收到，请耐心等待评审。" in t for u, t in recorder.sent), recorder.sent
    # An entrant who types the same words is not an operator: it is just a message.
    assert "请选择参赛渠道" in await say(svc, bob, f"回复 {ticket_id} 我自己回复")


async def test_quota_command_reaches_the_quota_service(svc: Services) -> None:
    text = await say(svc, UserKey("test", "carol"), "配额")
    assert "名额" in text
    assert "请选择参赛渠道" not in text  # not taken as a dialog answer


async def test_an_answer_to_an_entrant_no_channel_reaches_is_not_called_relayed(svc: Services) -> None:
    """Regression: the relay was posted from a task of its own and every failure swallowed, so
    the operator read 「已转告报名者」 for an entrant whose channel does not run here."""
    svc.reach.register("test", Recorder())
    elsewhere, operators = UserKey("wechat", "oNotHere"), UserKey("test", "operators")
    text = await say(svc, elsewhere, "？我的作品收到了吗")
    found = re.search(r"HD-\d{6}", text)
    assert found is not None, text
    confirmation = await say(svc, operators, f"回复 {found.group(0)} 已收到。")
    assert "未能转告报名者" in confirmation and "已保存" in confirmation


async def test_replies_made_for_a_push_are_made_inside_the_users_turn(svc: Services) -> None:
    """A redelivered Telegram update is answered with where the user is: read once the turn is
    free, not before a newer event of theirs (holding the turn) changed it."""
    recorder = Recorder()
    svc.reach.register("test", recorder)
    user = UserKey("test", "dora")
    made: list[str] = []
    release = asyncio.Event()

    async def newer_event() -> None:
        async with svc.isolation.lock(turn_key(user)):
            await release.wait()
            made.append("newer event handled")

    async def status() -> list[Reply]:
        made.append("status read")
        return [Reply("您的上一条消息已收到。")]

    holder = asyncio.create_task(newer_event())
    await asyncio.sleep(0)
    pushing = asyncio.create_task(svc.reach.push_made(user, status))
    await asyncio.sleep(0.05)
    assert made == []  # the status waits for the turn
    release.set()
    assert await pushing is True
    await holder
    assert made == ["newer event handled", "status read"]
    assert recorder.sent == [(user, "您的上一条消息已收到。")]
