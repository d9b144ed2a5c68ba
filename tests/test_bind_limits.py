"""Limits on 绑定 (trying invite codes) and no existence oracle in 撤回.

The attempt counter is part of the org store, so its contract runs on SQLite and on a real
Redis (the fixtures of ``test_org_contract``); the bind and withdraw behaviour runs on both
backends through the services and the chat commands.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from contests.org import AttemptLimit, Role
from contests.ports import OrgStore
from contests.records import UserKey
from handlers.admin.commands import OrgCommands
from handlers.admin.invites import IssuedInvite, new_code
from handlers.admin.service import AdminService
from tests.test_org_contract import Backend
from tests.test_org_contract import backend as backend
from tests.test_org_contract import org as org
from tests.test_quota import CAS, World, make_request, open_org_beside
from tests.test_quota import any_world as any_world

T0 = dt.datetime(2024, 10, 1, 4, 0, tzinfo=dt.UTC)  # a whole hour: windows start here
MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)
MALLORY = UserKey("telegram", "mallory")
ALICE = UserKey("wechat", "alice")


# -- the store's attempt counter (both backends) ------------------------------------------------


async def test_attempts_count_up_to_the_limit_then_name_the_end_of_the_window(org: OrgStore) -> None:
    limit = [AttemptLimit("bind:user:x", 3, MINUTE)]
    assert [await org.count_attempt(limit, T0 + dt.timedelta(seconds=s)) for s in (0, 10, 20)] == [None] * 3
    assert await org.count_attempt(limit, T0 + dt.timedelta(seconds=30)) == T0 + MINUTE
    assert await org.count_attempt(limit, T0 + dt.timedelta(seconds=59)) == T0 + MINUTE
    assert await org.count_attempt(limit, T0 + MINUTE) is None  # a new window
    assert await org.count_attempt([AttemptLimit("bind:user:y", 3, MINUTE)], T0) is None  # another key


async def test_a_refused_attempt_is_counted_under_no_limit(org: OrgStore) -> None:
    user, prefix = AttemptLimit("u", 2, MINUTE), AttemptLimit("p", 3, HOUR)
    assert [await org.count_attempt([user, prefix], T0) for _ in range(2)] == [None, None]
    for _ in range(5):  # refused by the user limit: the prefix counter must not move
        assert await org.count_attempt([user, prefix], T0) == T0 + MINUTE
    assert await org.count_attempt([prefix], T0) is None  # its third
    assert await org.count_attempt([prefix], T0) == T0 + HOUR
    # Both reached: the later end is when another attempt can count.
    assert await org.count_attempt([user, prefix], T0) == T0 + HOUR


async def test_workers_sharing_a_backend_share_the_count(backend: Backend) -> None:
    first, second = await backend.open(), await backend.open()
    limit = [AttemptLimit("bind:user:shared", 4, MINUTE)]
    got = [await (first if i % 2 else second).count_attempt(limit, T0) for i in range(6)]
    assert got == [None] * 4 + [T0 + MINUTE] * 2


async def test_simultaneous_attempts_never_pass_the_limit(backend: Backend) -> None:
    stores = [await backend.open() for _ in range(3)]
    limit = [AttemptLimit("bind:user:race", 5, MINUTE), AttemptLimit("bind:prefix:RACE", 50, HOUR)]
    got = await asyncio.gather(*(stores[i % 3].count_attempt(limit, T0) for i in range(60)))
    assert got.count(None) == 5 and set(got) == {None, T0 + MINUTE}


# -- 绑定 through the service and the chat command (both backends) ------------------------------


@pytest.fixture
def admin(any_world: World) -> AdminService:
    return AdminService(any_world.contests, any_world.storage, any_world.org, any_world.clock)


def with_prefix(prefix: str) -> str:
    """A random well-formed code whose first group is ``prefix``."""
    return "KP-" + prefix + new_code()[7:]


async def test_a_chat_trying_codes_is_stopped_after_a_few_a_minute_and_told_when(
    any_world: World, admin: AdminService
) -> None:
    commands = OrgCommands(admin, any_world.quota)
    genuine = await admin.create_invite(CAS, Role.ORGANISER)
    assert isinstance(genuine, IssuedInvite)
    start = any_world.clock.now  # 12:00 in Beijing, a whole minute
    answers = [await commands.handle(MALLORY, f"绑定 {new_code()}") for _ in range(5)]
    assert [a[0].meta for a in answers if a] == [{"bind": "unknown"}] * 5
    limited = await commands.handle(MALLORY, f"绑定 {new_code()}")
    assert limited is not None and limited[0].meta == {"bind": "limited"}
    assert "尝试次数过多" in limited[0].text and "北京时间 12:01" in limited[0].text
    assert "约 1 分钟后" in limited[0].text
    # Even the genuine code is refused unread while limited: it is not used up.
    refused = await admin.bind(MALLORY, genuine.code)
    assert (refused.ok, refused.status, refused.retry_at) == (False, "limited", start + MINUTE)
    assert await any_world.org.get_membership(MALLORY, CAS) is None
    any_world.clock.now = start + MINUTE
    assert (await admin.bind(MALLORY, genuine.code)).ok


async def test_many_chats_sweeping_one_code_prefix_are_stopped_within_the_hour(
    any_world: World, admin: AdminService
) -> None:
    start = any_world.clock.now
    sweepers = [UserKey("telegram", f"sock{i}") for i in range(30)]
    for i, user in enumerate(sweepers):  # one try each: no user limit is reached
        any_world.clock.now = start + dt.timedelta(minutes=i)
        assert (await admin.bind(user, with_prefix("7H3Q"))).status == "unknown"
    any_world.clock.now = start + dt.timedelta(minutes=31)
    late = await admin.bind(UserKey("wechat", "newcomer"), with_prefix("7H3Q"))
    assert (late.status, late.retry_at) == ("limited", start + HOUR)
    assert "北京时间 13:00" in late.text and "约 29 分钟后" in late.text
    other = await admin.bind(UserKey("wechat", "newcomer"), with_prefix("M9X2"))
    assert other.status == "unknown"  # another prefix is not affected
    any_world.clock.now = start + HOUR
    assert (await admin.bind(UserKey("wechat", "newcomer"), with_prefix("7H3Q"))).status == "unknown"


async def test_a_flood_from_one_chat_reaches_the_invites_a_few_times_only(
    any_world: World, admin: AdminService
) -> None:
    genuine = await admin.create_invite(CAS, Role.ORGANISER)
    assert isinstance(genuine, IssuedInvite)
    second = AdminService(
        any_world.contests, any_world.storage, await open_org_beside(any_world.storage), any_world.clock
    )
    try:
        tries = [new_code() for _ in range(199)] + [genuine.code]
        got = await asyncio.gather(*((admin, second)[i % 2].bind(MALLORY, c) for i, c in enumerate(tries)))
    finally:
        await second.org.close()
    statuses = [r.status for r in got]
    assert statuses.count("limited") == 195 and statuses.count("unknown") + statuses.count("ok") == 5
    if got[-1].status == "limited":  # the genuine code came too late: still unused
        assert await any_world.org.get_membership(MALLORY, CAS) is None


async def test_a_malformed_code_is_answered_without_counting(admin: AdminService) -> None:
    for _ in range(10):
        assert (await admin.bind(ALICE, "12345")).status == "malformed"
    assert (await admin.bind(ALICE, new_code())).status == "unknown"


# -- 撤回 tells nobody which numbers exist -------------------------------------------------------


async def test_withdraw_answers_a_stranger_alike_for_a_missing_and_someone_elses_number(
    any_world: World,
) -> None:
    contest = any_world.contest(CAS)
    owner = UserKey("wechat", "owner")
    sub = await any_world.accepted(owner, make_request(contest, "self", unit="张三工作室"))
    missing = sub.number[:-6] + "999999"
    theirs = await any_world.quota.withdraw(MALLORY, sub.number)
    nothing = await any_world.quota.withdraw(MALLORY, missing)
    assert not theirs.ok and not nothing.ok
    assert theirs.code == nothing.code
    assert theirs.text.replace(sub.number, "N") == nothing.text.replace(missing, "N")
    stored = await any_world.storage.get_submission(sub.number)
    assert stored is not None and stored.status == "submitted"  # untouched
    assert (await any_world.quota.withdraw(owner, sub.number)).ok


async def test_withdraw_through_the_chat_command_gives_the_same_reply_too(
    any_world: World, admin: AdminService
) -> None:
    contest = any_world.contest(CAS)
    sub = await any_world.accepted(
        UserKey("wechat", "owner"), make_request(contest, "self", unit="张三工作室")
    )
    commands = OrgCommands(admin, any_world.quota)
    theirs = await commands.handle(MALLORY, f"撤回 {sub.number}")
    nothing = await commands.handle(MALLORY, "撤回 KP2024-999999")
    assert theirs is not None and nothing is not None
    assert theirs[0].meta == nothing[0].meta
    assert theirs[0].text.replace(sub.number, "N") == nothing[0].text.replace("KP2024-999999", "N")
