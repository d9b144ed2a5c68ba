"""The two-step channels (cq: 报送区县): entries submitted through a unit, which then
recommends some of them.

The entrant's confirm uses no place (:meth:`DistrictRecommendations.submit_through`); in the
channel's ``selection_stage`` the unit's member recommends (推荐) or cancels (取消推荐) works,
each recommendation a place reserved and committed against the unit's quota in one atomic
step of the store, and draws the unit's 推荐表 from the works it recommended.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from contests.names import match_place
from contests.org import (
    DEFAULT_HOLD_TTL,
    Place,
    PlaceState,
    QuotaRefusal,
    Role,
    Track,
    Unit,
    normalise_name,
)
from contests.ports import OrgStore, Storage
from contests.records import Submission, UserKey
from contests.registry import ContestRegistry
from contests.review import HistoryEntry, ReviewState, awaiting_unit
from contests.rules import SHANGHAI, Contest, EntryRoute, FormField, QuotaRule
from handlers.outbound import Tell, tell
from handlers.quota.results import Candidate, DistrictPick, EntryRequest, SelectResult, Submitted
from handlers.quota.rules import (
    claims_for,
    field_value,
    find_unit,
    limit_for,
    place_counts,
    recommender_of,
    rule_for_unit,
    same_unit,
    selection_field,
    selection_window,
    unit_of_member,
)
from handlers.quota.texts import (
    bare_title,
    book_title,
    cn_day,
    pick_line,
    refusal_text,
    title_of,
    window_text,
)
from handlers.quota.waiting import waiting_text

__all__ = ["DistrictRecommendations"]

log = logging.getLogger(__name__)


class DistrictRecommendations:
    """推荐列表 / 推荐 / 取消推荐 / 推荐表 of the units that choose among the works submitted
    through them; :class:`~handlers.quota.service.QuotaService` owns one."""

    def __init__(
        self,
        contests: ContestRegistry,
        storage: Storage,
        org: OrgStore,
        clock: Callable[[], dt.datetime],
        *,
        hold_ttl: dt.timedelta = DEFAULT_HOLD_TTL,
        tell: Tell | None = None,
    ) -> None:
        self.contests = contests
        self.storage = storage
        self.org = org
        self.clock = clock
        self.hold_ttl = hold_ttl
        self.tell = tell

    async def submit_through(
        self,
        contest: Contest,
        channel: EntryRoute,
        fld: FormField,
        request: EntryRequest,
        create: Callable[[dict[str, Any]], Awaitable[Submission]],
    ) -> Submitted | QuotaRefusal:
        """Store an entry of a two-step channel as submitted through the unit its ``fld``
        answer names, using no place (see :meth:`~handlers.quota.service.QuotaService.confirm`)."""
        named = str(request.answers.get(fld.id) or "").strip()
        if not named:  # the dialog asks for it before confirm; a hand-made request may not
            return QuotaRefusal("no_unit", contest.id, "", "work", label=fld.label)
        unit = await self._unit_named(contest, fld, named)
        rule = rule_for_unit(channel, unit) if unit is not None else None
        kind = rule.kind if rule else next((r.kind for r in channel.quota if named in r.units), "")
        # Where the entry waits, stored with it.
        submission = await create({"district": named, "unit": named, "unit_kind": kind})
        return Submitted(submission, named, channel.label, window_text(contest, channel))

    async def _unit_named(self, contest: Contest, fld: FormField, named: str) -> Unit | None:
        """The imported unit an entrant's answer names ("江北区" for 重庆市江北区科学技术局)."""
        found = await find_unit(self.org, contest.id, named)
        if found is not None:
            return found
        return next((u for u in await self.org.list_units(contest.id) if same_unit(fld, u, named)), None)

    async def recommended(self, contest_id: str) -> dict[str, Place]:
        """Committed places by submission number."""
        return {
            p.number: p
            for p in await self.org.list_places(contest_id)
            if p.number and p.state is PlaceState.COMMITTED
        }

    async def candidates(self, contest: Contest, unit: Unit | None = None) -> list[Candidate]:
        """Works of the contest's two-step channels not withdrawn, oldest first: those submitted
        through ``unit``, or every one (``unit`` None, for the organisers)."""
        picked = await self.recommended(contest.id)
        found: list[Candidate] = []
        for sub in await self.storage.list_submissions(contest_id=contest.id):
            try:
                form = contest.form(sub.form_id)
            except KeyError:
                continue
            fld = form.recommender()
            if fld is None or sub.status == "withdrawn":
                continue
            named = recommender_of(contest, sub)
            if unit is not None and not same_unit(fld, unit, named):
                continue
            place = picked.get(sub.number)
            found.append(
                Candidate(
                    sub,
                    named,
                    bare_title(str(field_value(form, sub.answers, "title") or "")),
                    str(field_value(form, sub.answers, "unit") or ""),
                    place is not None and (unit is None or place.holder == unit.holder),
                )
            )
        return found

    async def _selector(
        self, user: UserKey, contest: Contest
    ) -> tuple[Unit, EntryRoute, FormField, QuotaRule] | str:
        """The user's unit if it recommends in a two-step channel of ``contest``, else why not."""
        member = await self.org.get_membership(user, contest.id)
        if member is not None and member.role is Role.ORGANISER:
            return (
                "推荐由作品报送的区县（推荐单位）代表发送；主办方可发送“推荐列表”查看各区县的报送和推荐情况，"
                "发送“推荐表 区县名”获取某区县的推荐表。"
            )
        unit = await unit_of_member(self.org, member)
        for channel in contest.channels:
            fld = selection_field(contest, channel)
            rule = rule_for_unit(channel, unit) if unit is not None and fld is not None else None
            if unit is not None and fld is not None and rule is not None:
                return unit, channel, fld, rule
        return (
            "只有推荐单位（区县科技行政主管部门）的代表可以查看和推荐报送的作品：请先发送主办方发放的邀请码绑定。"
            "您自己报送的作品是否获推荐，可发送“配额”查看。"
        )

    def _out_of_window(
        self, contest: Contest, channel: EntryRoute, now: dt.datetime, *, cancel: bool
    ) -> SelectResult | None:
        """Why the units cannot choose today (Beijing), or None when they can.  The organisers
        cannot override the notice's dates."""
        start, end, _name = selection_window(contest, channel)
        today = now.astimezone(SHANGHAI).date()
        when = window_text(contest, channel)
        if start is not None and today < start and not cancel:
            text = f"{channel.label}在{when}进行，今天还不能推荐；请于{cn_day(start)}起再发送“推荐 编号”。"
            return SelectResult(False, "not_open", text)
        if end is not None and today > end:
            text = f"{when}已结束（{cn_day(end)}），不能再推荐或取消推荐；如有疑问请联系主办方。"
            return SelectResult(False, "closed", text)
        return None

    async def _own_candidate(
        self, user: UserKey, number: str
    ) -> tuple[Contest, Submission, Unit, EntryRoute, QuotaRule, bool] | SelectResult:
        """The submission ``number`` if the user's unit may choose it, with whether it is a
        two-step entry (chosen in the selection stage) or one waiting for its unit's
        confirmation; else the refusal.  An organiser confirms for a unit no member is bound to."""
        sub = await self.storage.get_submission(number)
        contest = self.contests.get(sub.contest_id) if sub else None
        if sub is None or contest is None:
            return SelectResult(False, "not_found", f"没有找到编号为 {number} 的报名。")
        try:
            channel = contest.channel(sub.channel_id)
        except KeyError:
            return SelectResult(False, "not_found", f"没有找到编号为 {number} 的报名。")
        if selection_field(contest, channel) is None:
            return await self._confirming_unit(user, contest, sub, channel)
        selector = await self._selector(user, contest)
        if isinstance(selector, str):
            return SelectResult(False, "forbidden", selector)
        unit, own_channel, fld, rule = selector
        if own_channel.id != channel.id or not same_unit(fld, unit, recommender_of(contest, sub)):
            # Another unit's entry: say no more than that it is not this unit's.
            return SelectResult(False, "not_found", f"没有找到报送至“{unit.name}”的作品 {number}。")
        return contest, sub, unit, channel, rule, True

    async def _confirming_unit(
        self, user: UserKey, contest: Contest, sub: Submission, channel: EntryRoute
    ) -> tuple[Contest, Submission, Unit, EntryRoute, QuotaRule, bool] | SelectResult:
        """The unit that confirms a one-step entry named to it, if ``user`` speaks for it."""
        number = sub.number
        named = awaiting_unit(sub) or str(sub.extra.get("unit") or "")
        if not (awaiting_unit(sub) or sub.extra.get("recommended_by")) or not named:
            return SelectResult(
                False, "not_applicable", f"{number} 不需要推荐单位确认（本人即推荐单位代表，或为自荐）。"
            )
        member = await self.org.get_membership(user, contest.id)
        if member is not None and member.role is Role.ORGANISER:
            unit = await find_unit(self.org, contest.id, named)
            if unit is None:
                return SelectResult(
                    False, "not_found", f"“{named}”不在推荐单位名单中：请先导入该单位，再代为确认 {number}。"
                )
            bound = [
                m
                for m in await self.org.list_memberships(contest_id=contest.id)
                if m.role is Role.MEMBER and m.unit_key == unit.key
            ]
            if bound:
                return SelectResult(
                    False,
                    "forbidden",
                    f"“{unit.name}”已有绑定的代表，应由该单位代表发送“推荐 {number}”确认。",
                )
        else:
            unit = await unit_of_member(self.org, member)
            if unit is None:
                return SelectResult(
                    False, "forbidden", "只有推荐单位的代表可以确认推荐：请先发送主办方发放的邀请码绑定。"
                )
            if normalise_name(unit.name) != normalise_name(named):
                return SelectResult(False, "not_found", f"没有找到待“{unit.name}”确认的作品 {number}。")
        rule = rule_for_unit(channel, unit)
        if rule is None:
            return SelectResult(
                False, "not_applicable", f"“{channel.label}”没有“{unit.name}”这一类单位的名额规定。"
            )
        return contest, sub, unit, channel, rule, False

    async def _used(self, contest: Contest, unit: Unit, now: dt.datetime) -> int:
        return sum(
            1
            for p in await self.org.list_places(contest.id, holder=unit.holder)
            if place_counts(p, "work", now)
        )

    async def recommend(self, user: UserKey, number: str, *, via: str = "") -> SelectResult:
        """推荐 <编号>: the member's unit recommends a work submitted through it, using one of its
        places (reserved and committed atomically: the maximum holds under any concurrency)."""
        number = number.strip().upper()
        found = await self._own_candidate(user, number)
        if isinstance(found, SelectResult):
            return found
        contest, sub, unit, channel, rule, two_step = found
        now = self.clock()
        title = title_of(contest, sub)
        if sub.status == "withdrawn":
            return SelectResult(False, "withdrawn", f"{number}{title} 已由报送单位撤回，不能推荐。")
        late = self._out_of_window(contest, channel, now, cancel=False) if two_step else None
        if late is not None:
            return late
        limit = limit_for(rule, unit, "work")
        least = rule.min_works

        async def already() -> SelectResult:
            used = await self._used(contest, unit, now)
            text = f"{number}{title} 已经推荐过了。“{unit.name}”" + pick_line(used, limit, least)
            return SelectResult(False, "already", text)

        before = [p for p in await self.org.list_places(contest.id, holder=unit.holder) if p.number == number]
        if any(p.state is PlaceState.COMMITTED for p in before):
            return await already()
        # One recommendation per work, even if sent twice at once; a one-step entry takes the
        # author and work claims it would have taken had its unit's member submitted it.
        claims: tuple[str, ...] = (f"pick:{number}",)
        track: Track = "work"
        shown: dict[str, str] = {}
        if not two_step:
            form = contest.form(sub.form_id)
            more, shown = claims_for(contest, form, sub.answers)
            claims += more
            track = "account" if form.track == "account" else "work"
        got = await self.org.reserve(
            contest_id=contest.id,
            holder=unit.holder,
            track=track,
            limit=limit_for(rule, unit, track),
            claims=claims,
            owner=user,
            now=now,
            ttl=self.hold_ttl,
        )
        if isinstance(got, QuotaRefusal):
            if got.reason == "claimed" and got.claim == f"pick:{number}":  # sent twice at once
                return await already()
            if got.reason == "claimed":
                got = dataclasses.replace(got, detail=shown.get(got.claim or "", ""))
                text = f"不能推荐 {number}{title}：" + refusal_text(got)
                return SelectResult(False, "claimed", text, got)
            refusal = dataclasses.replace(got, unit_name=unit.name, label=rule.label, min_works=least)
            text = (
                f"“{unit.name}”的推荐名额已满：通知规定{rule.label}每个限推荐 {limit} 部作品，"
                f"已推荐 {got.used} 部。如需改推，请先发送“取消推荐 编号”取消一部。"
            )
            return SelectResult(False, "full", text, refusal)
        try:
            committed = await self.org.commit(got, number, now)
        except BaseException:
            await asyncio.shield(self.org.release(got))  # else the place counts until the hold lapses
            raise
        if not committed:
            return SelectResult(False, "lost", f"推荐 {number} 未能完成，请重新发送“推荐 {number}”。")
        await self.storage.update_submission(
            number,
            extra={
                "unit": unit.name,
                "unit_kind": rule.kind,
                "recommended_by": str(user),
                "recommended_at": now.isoformat(),
                "awaiting_unit": None,
            },
            history=HistoryEntry(
                now,
                str(user),
                "unit_confirmed",
                ReviewState.RECOMMENDED.value,
                detail={"unit": unit.name},
                via=via,
            ).to_json(),
        )
        told = f"您的作品 {number}{title} 已获“{unit.name}”确认推荐，计入其推荐名额。"
        await tell(self.tell, sub.user, told, contest.id)
        used = await self._used(contest, unit, now)
        maker = str(field_value(contest.form(sub.form_id), sub.answers, "unit") or "")
        by = f"（{maker}）" if maker else ""
        text = f"已推荐 {number}{title}{by}。“{unit.name}”" + pick_line(used, limit, least)
        return SelectResult(True, "recommended", text)

    async def unrecommend(self, user: UserKey, number: str) -> SelectResult:
        """取消推荐 <编号>: free the place of a work the member's unit recommended, until the
        end of the selection stage."""
        number = number.strip().upper()
        found = await self._own_candidate(user, number)
        if isinstance(found, SelectResult):
            return found
        contest, sub, unit, channel, rule, two_step = found
        now = self.clock()
        title = title_of(contest, sub)
        picked = (await self.recommended(contest.id)).get(number)
        if picked is None or picked.holder != unit.holder:
            return SelectResult(False, "not_recommended", f"{number}{title} 还没有推荐，无需取消。")
        late = self._out_of_window(contest, channel, now, cancel=True) if two_step else None
        if late is not None:
            return late
        freed = await self.org.withdraw(contest.id, number, now)
        if freed is None:  # cancelled at the same moment by another message
            return SelectResult(False, "not_recommended", f"{number}{title} 还没有推荐，无需取消。")
        await self.storage.update_submission(
            number,
            extra={
                "recommended_by": None,
                "recommended_at": None,
                "unrecommended_at": now.isoformat(),
                "awaiting_unit": None if two_step else unit.name,
            },
            history=HistoryEntry(now, str(user), "unit_cancelled", detail={"unit": unit.name}).to_json(),
        )
        told = f"“{unit.name}”取消了对您的作品 {number}{title} 的推荐。如有疑问请联系该单位。"
        await tell(self.tell, sub.user, told, contest.id)
        used = await self._used(contest, unit, now)
        limit = limit_for(rule, unit, "work")
        text = f"已取消推荐 {number}{title}，释放 1 个名额。“{unit.name}”"
        text += pick_line(used, limit, rule.min_works)
        return SelectResult(True, "cancelled", text)

    async def candidates_text(self, user: UserKey, contest_id: str) -> str:
        """推荐列表: a member's unit's submitted works with their state; an organiser's, every unit's."""
        contest = self.contests.get(contest_id)
        if contest is None:
            return f"没有找到大赛“{contest_id}”。"
        channel = next((c for c in contest.channels if selection_field(contest, c) is not None), None)
        if channel is None:  # entrants name their unit at submission: it confirms them
            return await waiting_text(self.storage, self.org, user, contest, self.clock())
        head = f"【{contest.short_title}】"
        member = await self.org.get_membership(user, contest.id)
        if member is not None and member.role is Role.ORGANISER:
            return await self._all_candidates_text(contest, channel, head)
        selector = await self._selector(user, contest)
        if isinstance(selector, str):
            return selector
        unit, channel, _fld, rule = selector
        now = self.clock()
        works = await self.candidates(contest, unit)
        lines = [f"{head}报送至“{unit.name}”的作品（{len(works)} 部）："]
        for i, c in enumerate(works, 1):
            state = "已推荐" if c.recommended else "待推荐"
            maker = f" 创作单位：{c.maker}" if c.maker else ""
            lines.append(f"{i}. {c.submission.number}{book_title(c.title)}{maker}【{state}】")
        if not works:
            lines.append("还没有作品报送至本单位。")
        used = await self._used(contest, unit, now)
        lines.append(f"“{unit.name}”" + pick_line(used, limit_for(rule, unit, "work"), rule.min_works))
        lines.append(
            f"{window_text(contest, channel)}：发送“推荐 编号”推荐一部，“取消推荐 编号”取消，"
            "“推荐表”生成区县推荐表（PDF 和 Word）。"
        )
        return "\n".join(lines)

    async def _all_candidates_text(self, contest: Contest, channel: EntryRoute, head: str) -> str:
        works = await self.candidates(contest)
        by_unit: dict[str, list[Candidate]] = {}
        for c in works:
            by_unit.setdefault(c.recommender, []).append(c)
        picked = sum(1 for c in works if c.recommended)
        lines = [f"{head}各推荐单位报送的作品：共 {len(works)} 部，已推荐 {picked} 部。"]
        shown = 40  # a chat message, not a report: the export has everything
        for name, mine in by_unit.items():
            if len(lines) >= shown:
                lines.append("……完整清单请发送“导出”。")
                break
            lines.append(f"{name}：报送 {len(mine)} 部，已推荐 {sum(1 for c in mine if c.recommended)} 部")
            for c in mine:
                state = "已推荐" if c.recommended else "待推荐"
                lines.append(f"  · {c.submission.number}{book_title(c.title)}{c.maker}【{state}】")
        if not works:
            lines.append("还没有作品报送。")
        lines.append(f"{window_text(contest, channel)}由各推荐单位代表推荐。")
        return "\n".join(lines)

    async def district_pick(
        self, user: UserKey, contest_id: str, unit_name: str | None = None
    ) -> DistrictPick | str:
        """What the 推荐表 of the user's unit (an organiser: of ``unit_name``) is drawn from,
        or why there is none."""
        contest = self.contests.get(contest_id)
        if contest is None:
            return f"没有找到大赛“{contest_id}”。"
        channel = next((c for c in contest.channels if selection_field(contest, c) is not None), None)
        if channel is None:
            return f"【{contest.short_title}】没有推荐单位的推荐表。"
        member = await self.org.get_membership(user, contest.id)
        unit: Unit | None
        if member is not None and member.role is Role.ORGANISER:
            units = await self.org.list_units(contest.id)
            wanted = match_place(unit_name or "", [u.name for u in units]) if unit_name else None
            unit = next((u for u in units if u.name == wanted), None)
            if unit is None:
                picked = {p.holder for p in (await self.recommended(contest.id)).values()}
                named = "、".join(u.name for u in units if u.holder in picked) or "（还没有）"
                example = units[0].name if units else "单位名称"
                return f"请注明推荐单位，例如“推荐表 {example}”。已有推荐的：{named}。"
        else:
            selector = await self._selector(user, contest)
            if isinstance(selector, str):
                return selector
            unit = selector[0]
        places = [
            p
            for p in await self.org.list_places(contest.id, holder=unit.holder)
            if p.state is PlaceState.COMMITTED and p.number
        ]
        subs = [s for p in places if (s := await self.storage.get_submission(p.number or "")) is not None]
        if not subs:
            return f"“{unit.name}”还没有推荐作品：先发送“推荐 编号”推荐，再发送“推荐表”。"
        return DistrictPick(contest, unit, tuple(subs))

    async def own_entries(self, contest: Contest, channel: EntryRoute, user: UserKey) -> list[str]:
        """An entrant's works in a two-step channel, each with whether it was recommended."""
        mine = [
            s
            for s in await self.storage.list_submissions(contest_id=contest.id, user=user)
            if s.channel_id == channel.id
        ]
        if not mine:
            return []
        picked = await self.recommended(contest.id)
        lines = ["您报送的作品："]
        for i, sub in enumerate(mine, 1):
            named = recommender_of(contest, sub)
            if sub.status == "withdrawn":
                state = "已撤回"
            elif sub.number in picked:
                state = f"已获“{named}”推荐"
            else:
                state = f"待{channel.label}"
            lines.append(f"{i}. {sub.number}{title_of(contest, sub)} 报送至{named}【{state}】")
        return lines
