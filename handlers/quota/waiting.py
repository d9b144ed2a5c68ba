"""推荐列表 where entrants name their unit at submission (most contests): the entries waiting
for the unit's confirmation, and those it confirmed (see :meth:`DistrictRecommendations.recommend`)."""

from __future__ import annotations

import datetime as dt

from contests.org import Membership, Role, normalise_name
from contests.ports import OrgStore, Storage
from contests.records import Submission, UserKey
from contests.review import ReviewState, awaiting_unit, state_of
from contests.rules import Contest
from handlers.quota.rules import unit_of_member, unit_usage
from handlers.quota.texts import count_line, title_of

__all__ = ["waiting_text"]

SHOWN = 40  # a chat message, not a report: the console and the export have everything
NOT_MEMBER = (
    "只有推荐单位的代表可以查看待确认的作品：请先发送主办方发放的邀请码绑定。"
    "您自己的投稿请发送“我的投稿”查看。"
)
NOBODY_BOUND = "（该单位无人绑定，可由主办方发送“推荐 编号”代为确认）"


def _line(i: int, contest: Contest, sub: Submission) -> str:
    state = state_of(sub)
    label = "待确认" if state is ReviewState.AWAITING_UNIT else state.label
    return f"{i}. {sub.number}{title_of(contest, sub)}【{label}】"


async def _organisers_view(org: OrgStore, contest: Contest, subs: list[Submission]) -> str:
    waiting = [s for s in subs if awaiting_unit(s)]
    members = await org.list_memberships(contest_id=contest.id)
    bound = {m.unit_key for m in members if m.role is Role.MEMBER}
    lines = [f"【{contest.short_title}】待推荐单位确认的作品：共 {len(waiting)} 部。"]
    by_unit: dict[str, list[Submission]] = {}
    for s in waiting:
        by_unit.setdefault(awaiting_unit(s), []).append(s)
    for name, mine in by_unit.items():
        if len(lines) >= SHOWN:
            lines.append("……完整清单请在后台查看或发送“导出”。")
            break
        who = "" if normalise_name(name) in bound else NOBODY_BOUND
        lines.append(f"{name}：{len(mine)} 部{who}")
        lines.extend("  " + _line(i, contest, s) for i, s in enumerate(mine, 1))
    return "\n".join(lines)


async def waiting_text(
    storage: Storage, org: OrgStore, user: UserKey, contest: Contest, now: dt.datetime
) -> str:
    """A member's unit: the entries named to it, waiting or confirmed; an organiser: every
    waiting entry by unit, saying which units have nobody bound to confirm for them."""
    member: Membership | None = await org.get_membership(user, contest.id)
    subs = [s for s in await storage.list_submissions(contest_id=contest.id) if s.extra.get("unit")]
    if member is not None and member.role is Role.ORGANISER:
        return await _organisers_view(org, contest, subs)
    unit = await unit_of_member(org, member)
    if unit is None:
        return NOT_MEMBER
    mine = [s for s in subs if normalise_name(str(s.extra.get("unit"))) == unit.key and s.user != user]
    lines = [f"【{contest.short_title}】报名时填写“{unit.name}”为推荐单位的作品（{len(mine)} 部）："]
    lines.extend(_line(i, contest, s) for i, s in enumerate(mine[:SHOWN], 1))
    if not mine:
        lines.append("还没有。")
    usage = unit_usage(contest, unit, await org.list_places(contest.id, holder=unit.holder), now)
    count = count_line(usage.used, usage.limit, "work", usage.min_works).removeprefix("作品：")
    lines.append(f"“{unit.name}”{count}")
    lines.append("发送“推荐 编号”确认推荐一部（计入本单位名额），“取消推荐 编号”取消。")
    return "\n".join(lines)
