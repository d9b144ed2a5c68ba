"""撤回 <编号> in the chat asks first, as 取消 does: it says what withdrawing means (the entry is
void and cannot be brought back) and withdraws only on 确认撤回 <编号>; 不撤回 keeps it.  What
would be refused anyway (not yours, after the deadline, withdrawn already) is said at once."""

from __future__ import annotations

from contests.org import Role
from contests.records import UserKey
from handlers.admin.commands import OrgCommands, match_command
from handlers.admin.service import AdminService
from tests.conftest import beijing
from tests.test_quota import CAS, World, make_request
from tests.test_quota import world as world

ENTRANT = UserKey("wechat", "entrant")
STRANGER = UserKey("wechat", "stranger")
UNIT = "深圳市科技创新局"


def commands(world: World) -> OrgCommands:
    return OrgCommands(AdminService(world.contests, world.storage, world.org, world.clock), world.quota)


async def say(world: World, user: UserKey, text: str) -> tuple[str, dict[str, str]]:
    [reply] = await commands(world).handle(user, text) or []
    return reply.text, dict(reply.meta)


async def status(world: World, number: str) -> str:
    stored = await world.storage.get_submission(number)
    assert stored is not None
    return stored.status


def test_the_confirmation_words() -> None:
    yes = match_command("确认撤回 kp2024-000003")
    assert yes is not None and (yes.name, yes.arg) == ("withdraw_confirmed", "KP2024-000003")
    for text in ("不撤回", "不撤回了", "不撤回 KP2024-000003"):
        no = match_command(text)
        assert no is not None and no.name == "withdraw_kept", text
    bare = match_command("确认撤回")  # answered with how to say it, never a guess at the number
    assert bare is not None and (bare.name, bare.arg) == ("withdraw_confirmed", "")
    plain = match_command("撤回 KP2024-000003")
    assert plain is not None and plain.name == "withdraw"


async def test_withdraw_asks_first_and_only_a_yes_withdraws(world: World) -> None:
    contest = world.contest(CAS)
    await world.units(CAS, (UNIT, "sub_provincial", "广东省"))
    sub = await world.accepted(ENTRANT, make_request(contest, "recommend", unit=UNIT))

    asked, meta = await say(world, ENTRANT, f"撤回 {sub.number}")
    assert meta == {"withdraw": "confirm"}
    assert await status(world, sub.number) == "submitted"  # nothing happened yet
    assert (await world.quota.usage(CAS))[0].used == 1
    assert sub.number in asked and "无法恢复" in asked and "不再参加" in asked
    assert f"确认撤回 {sub.number}" in asked and "不撤回" in asked

    told, meta = await say(world, ENTRANT, "确认撤回")
    assert meta == {"withdraw": "number_needed"} and "确认撤回 KP" in told
    assert await status(world, sub.number) == "submitted"
    kept, meta = await say(world, ENTRANT, "不撤回")
    assert meta == {"withdraw": "kept"} and "没有撤回" in kept
    assert await status(world, sub.number) == "submitted"

    done, meta = await say(world, ENTRANT, f"确认撤回 {sub.number}")
    assert meta == {"withdraw": "withdrawn"} and done.startswith(f"已撤回 {sub.number}")
    assert await status(world, sub.number) == "withdrawn"
    again, meta = await say(world, ENTRANT, f"撤回 {sub.number}")
    assert meta == {"withdraw": "already"}, again


async def test_what_would_be_refused_is_refused_without_asking(world: World) -> None:
    contest = world.contest(CAS)
    await world.units(CAS, (UNIT, "sub_provincial", "广东省"))
    sub = await world.accepted(ENTRANT, make_request(contest, "recommend", unit=UNIT))
    for text in (f"撤回 {sub.number}", f"确认撤回 {sub.number}"):
        _, meta = await say(world, STRANGER, text)
        assert meta == {"withdraw": "not_found"}, text  # as for a number that does not exist
    world.clock.now = beijing(2024, 10, 26, 0)
    for text in (f"撤回 {sub.number}", f"确认撤回 {sub.number}"):
        _, meta = await say(world, ENTRANT, text)
        assert meta == {"withdraw": "closed"}, text
    assert await status(world, sub.number) == "submitted"


async def test_an_organiser_is_asked_too(world: World) -> None:
    contest = world.contest(CAS)
    await world.units(CAS, (UNIT, "sub_provincial", "广东省"))
    sub = await world.accepted(ENTRANT, make_request(contest, "recommend", unit=UNIT))
    boss = UserKey("telegram", "boss")
    await world.bind(boss, CAS, Role.ORGANISER)
    _, meta = await say(world, boss, f"撤回 {sub.number}")
    assert meta == {"withdraw": "confirm"} and await status(world, sub.number) == "submitted"
    _, meta = await say(world, boss, f"确认撤回 {sub.number}")
    assert meta == {"withdraw": "withdrawn"}
