"""The quota use case: whose places an entry uses, the atomic reservation at confirm time,
the 配额 text and 撤回 (see :mod:`handlers.quota` for the rules it follows)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from contests.audit import AuditEntry
from contests.org import DEFAULT_HOLD_TTL, QuotaRefusal, Role, Track, Unit, normalise_name, self_holder
from contests.ports import AuditLog, OrgStore, Storage
from contests.records import StaleDraftError, Submission, Turn, UserKey
from contests.registry import ContestRegistry
from contests.review import HistoryEntry, ReviewState
from contests.rules import SHANGHAI, Contest, EntryRoute, Form
from handlers.outbound import Tell
from handlers.quota.district import DistrictRecommendations
from handlers.quota.results import (
    AwaitingUnit,
    Confirmed,
    DistrictPick,
    EntryRequest,
    Hold,
    Holder,
    SelectResult,
    Submitted,
    WithdrawResult,
)
from handlers.quota.rules import (
    UnitUsage,
    author_rules,
    chosen_rule,
    claims_for,
    days_left,
    field_value,
    find_unit,
    limit_for,
    rule_for_unit,
    selection_field,
    unit_of_member,
    unit_usage,
)
from handlers.quota.texts import (
    count_line,
    deadline_text,
    named_claim_text,
    noun,
    pick_line,
    title_of,
    window_text,
    withdraw_prompt,
)

__all__ = ["QuotaService", "utcnow"]

log = logging.getLogger(__name__)


def utcnow() -> dt.datetime:
    """Now, aware (UTC): the services' default clock."""
    return dt.datetime.now(dt.UTC)


class QuotaService:
    """Quota checks for the submit flow and the 配额 / 撤回 commands; the units' recommendations
    (推荐 / 取消推荐 / 推荐列表 / 推荐表) go to its :attr:`districts`."""

    def __init__(
        self,
        contests: ContestRegistry,
        storage: Storage,
        org: OrgStore,
        clock: Callable[[], dt.datetime] = utcnow,
        *,
        hold_ttl: dt.timedelta = DEFAULT_HOLD_TTL,
        tell: Tell | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        self.contests = contests
        self.storage = storage
        self.org = org
        self.clock = clock
        self.hold_ttl = hold_ttl
        self.audit = audit  # units' confirmations, who and from where
        self.districts = DistrictRecommendations(contests, storage, org, clock, hold_ttl=hold_ttl, tell=tell)

    # -- whose places ----------------------------------------------------------------------

    async def resolve_holder(
        self, user: UserKey, contest: Contest, channel: EntryRoute, form: Form, answers: Mapping[str, Any]
    ) -> Holder | QuotaRefusal:
        """Whose places this entry uses (see :mod:`handlers.quota`), or ``no_unit``.

        Only the unit's own member (or an organiser) takes a unit's place at confirm time; an
        entrant who merely names the unit gets a holder marked ``awaiting``: the entry waits,
        using no place, until the unit confirms it (:meth:`recommend`)."""
        member = await self.org.get_membership(user, contest.id)
        unit = await unit_of_member(self.org, member)
        rule = rule_for_unit(channel, unit) if unit else None
        named = str(field_value(form, answers, "unit") or "").strip()
        chosen = chosen_rule(channel, form, answers)
        if rule is None and chosen is not None and chosen.personal:
            # 个人会员: a person, whose own places these are; no unit confirms them.
            return Holder(self_holder(user), named or str(user), chosen.kind, chosen, None)
        awaiting = False
        if rule is None and named:
            unit = await find_unit(self.org, contest.id, named)
            rule = rule_for_unit(channel, unit) if unit else None
            awaiting = member is None or member.role is not Role.ORGANISER
        if unit is not None and rule is not None:
            return Holder(unit.holder, unit.name, rule.kind, rule, unit, awaiting=awaiting)
        own = next((r for r in channel.quota if r.kind == "self"), None)
        if own is not None or not channel.quota:
            return Holder(self_holder(user), named or str(user), own.kind if own else "", own, None)
        if not await self.org.list_units(contest.id):
            key = f"unit-unverified:{normalise_name(named) or self_holder(user)}"
            return Holder(key, named or str(user), "", None, None, unverified=True, awaiting=True)
        track: Track = "account" if form.track == "account" else "work"
        labels = "、".join(r.label for r in channel.quota)
        return QuotaRefusal("no_unit", contest.id, "", track, unit_name=named, label=labels)

    # -- confirm time ------------------------------------------------------------------------

    async def reserve(
        self,
        user: UserKey,
        request: EntryRequest,
        now: dt.datetime | None = None,
        *,
        holder: Holder | None = None,
        turn: Turn | None = None,
    ) -> Hold | QuotaRefusal:
        """Hold a place for ``request`` (of ``holder``, resolved here when not given) or say
        why not.  Create the submission with :attr:`Hold.extra` (its unit), then commit; or
        release what you get.  Within ``turn`` (``user``'s), a place left pending by an
        earlier turn of theirs that died does not stand in the way (:meth:`OrgStore.reserve`)."""
        now = now or self.clock()
        contest = self._contest(request.contest_id)
        channel, form = contest.channel(request.channel_id), contest.form(request.form_id)
        resolved = holder or await self.resolve_holder(user, contest, channel, form, request.answers)
        if isinstance(resolved, QuotaRefusal):
            return resolved
        holder = resolved
        track: Track = "account" if form.track == "account" else "work"
        limit = limit_for(holder.rule, holder.unit, track)
        claims, shown = claims_for(contest, form, request.answers)
        got = await self.org.reserve(
            contest_id=contest.id,
            holder=holder.key,
            track=track,
            limit=limit,
            claims=claims,
            owner=user,
            now=now,
            ttl=self.hold_ttl,
            turn=turn,
        )
        if isinstance(got, QuotaRefusal):
            return dataclasses.replace(
                got,
                unit_name=holder.name,
                label=holder.rule.label if holder.rule else "",
                min_works=holder.rule.min_works if holder.rule else None,
                detail=shown.get(got.claim or "", ""),
            )
        return Hold(got, holder, limit, got.used)

    async def named_claim(
        self,
        contest_id: str,
        form_id: str,
        answers: Mapping[str, Any],
        *,
        amend: str | None = None,
        now: dt.datetime | None = None,
    ) -> str | None:
        """Why an entry cannot be sent, said as soon as its first author is named: another live
        entry of the contest holds that first author (where the notice allows one work each) or
        this work (one channel per work).  ``amend``: the returned submission being corrected,
        whose own place does not count.  None when nothing holds them; the confirm step's
        atomic reservation stays the rule, this only says it early."""
        contest = self.contests.get(contest_id)
        try:
            form = contest.form(form_id) if contest is not None else None
        except KeyError:
            form = None
        if contest is None or form is None:
            return None
        claims, shown = claims_for(contest, form, answers)
        if not claims:
            return None
        now = now or self.clock()
        for place in await self.org.list_places(contest.id):
            if not place.counts(now) or (amend is not None and place.number == amend):
                continue
            held = next((c for c in claims if c in place.claims), None)
            if held is not None:
                refusal = QuotaRefusal(
                    "claimed", contest.id, place.holder, place.track, claim=held,
                    claim_number=place.number, detail=shown.get(held, ""),
                )  # fmt: skip
                return named_claim_text(refusal)
        return None

    async def commit(self, hold: Hold, submission: Submission, now: dt.datetime | None = None) -> bool:
        """Make the place permanent; False (and the submission flagged ``extra.quota_lost``)
        when the hold was lost.  The unit was stored with the submission (:attr:`Hold.extra`)."""
        now = now or self.clock()
        ok = await self.org.commit(hold.reservation, submission.number, now)
        if not ok:
            # Only after the hold outlived its ttl and its place went to someone else.
            log.error("quota hold of %s was lost; flagged for the organisers", submission.number)
            await self.storage.update_submission(submission.number, extra={"quota_lost": True})
        return ok

    async def release(self, hold: Hold) -> None:
        """Give the place back (the submission could not be stored)."""
        await self.org.release(hold.reservation)

    async def confirm(
        self,
        user: UserKey,
        request: EntryRequest,
        create: Callable[[dict[str, Any]], Awaitable[Submission]],
        now: dt.datetime | None = None,
        *,
        turn: Turn | None = None,
    ) -> Confirmed | Submitted | AwaitingUnit | QuotaRefusal:
        """Reserve (within ``turn``, the user's, when given), then ``create(extra)`` the
        submission, then commit; release if ``create`` fails.

        Call it where the submit flow now calls ``storage.create_submission``, passing it
        ``extra`` (the unit the entry counts for, stored in the same write); a refusal leaves
        nothing behind (show :func:`refusal_text`, keep the draft).  In a two-step channel
        (a form field of role ``recommender``) nothing is reserved: the entry is stored as
        submitted through the unit it names (:class:`Submitted`); an entrant who is not the
        named unit's member gets :class:`AwaitingUnit` (no place until the unit confirms).
        """
        contest = self._contest(request.contest_id)
        channel = contest.channel(request.channel_id)
        fld = contest.form(request.form_id).recommender()
        if fld is not None:
            return await self.districts.submit_through(contest, channel, fld, request, create)
        form = contest.form(request.form_id)
        holder = await self.resolve_holder(user, contest, channel, form, request.answers)
        if isinstance(holder, QuotaRefusal):
            return holder
        if holder.awaiting:
            return await self._await_unit(contest, holder, create, now or self.clock())
        hold = await self.reserve(user, request, now, holder=holder, turn=turn)
        if isinstance(hold, QuotaRefusal):
            return hold
        try:
            submission = await create(hold.extra)
        except BaseException as exc:
            # Shielded: a cancelled event must still settle its place; if even that fails
            # the pending place stops counting after hold_ttl.
            try:
                await asyncio.shield(
                    self._settle_failed(user, request, hold, now, stale=isinstance(exc, StaleDraftError))
                )
            except Exception:
                log.warning("could not settle the quota hold of %s; it lapses in %s", user, self.hold_ttl)
            raise
        committed = await self.commit(hold, submission, now)
        return Confirmed(submission, hold, committed)

    async def _settle_failed(
        self, user: UserKey, request: EntryRequest, hold: Hold, now: dt.datetime | None, *, stale: bool
    ) -> None:
        """The place of a creation that raised: committed to the submission if the store made
        it all the same (a reply lost after the write: a timeout, a dropped connection, a
        cancellation), else given back.  A refusal of a stale draft stored nothing."""
        made = None if stale else await self._made_by(user, request, hold, now)
        if made is None:
            await self.release(hold)
            return
        log.warning("submission %s was stored though its creation failed; its place is kept", made.number)
        await self.commit(hold, made, now)

    async def _made_by(
        self, user: UserKey, request: EntryRequest, hold: Hold, now: dt.datetime | None
    ) -> Submission | None:
        """The submission this confirmation stored, if any: the entrant's, with its route,
        form, answers, time and unit, and no place of its own yet."""
        for sub in reversed(await self.storage.list_submissions(contest_id=request.contest_id, user=user)):
            if (
                sub.form_id == request.form_id
                and sub.answers == request.answers
                and sub.channel_id == request.channel_id
                and (now is None or sub.created_at == now)
                and sub.extra.get("unit") == hold.holder.name
                and await self.org.place_of(request.contest_id, sub.number) is None
            ):
                return sub
        return None

    async def _await_unit(
        self,
        contest: Contest,
        holder: Holder,
        create: Callable[[dict[str, Any]], Awaitable[Submission]],
        now: dt.datetime,
    ) -> AwaitingUnit:
        extra: dict[str, Any] = {"unit": holder.name, "unit_kind": holder.kind, "awaiting_unit": holder.name}
        usage = ""
        if holder.unverified:
            extra["unit_unverified"] = True
        elif holder.unit is not None:
            u = unit_usage(
                contest, holder.unit, await self.org.list_places(contest.id, holder=holder.key), now
            )
            usage = count_line(u.used, u.limit, "work", u.min_works).removeprefix("作品：")
        submission = await create(extra)
        return AwaitingUnit(submission, holder.name, not holder.unverified, usage)

    # -- two steps: the recommending units choose (cq 区县推荐) ------------------------------

    async def recommend(
        self, user: UserKey, number: str, *, source: str = "chat", via: str = ""
    ) -> SelectResult:
        """推荐 <编号> (see :meth:`DistrictRecommendations.recommend`); audited when it took a place
        (``source``: the audit log's; ``via``: "console" where the console did it, kept in the
        history)."""
        result = await self.districts.recommend(user, number, via=via)
        await self._audit(user, "unit.confirm", number, result, source)
        return result

    async def unrecommend(self, user: UserKey, number: str, *, source: str = "chat") -> SelectResult:
        """取消推荐 <编号> (see :meth:`DistrictRecommendations.unrecommend`); audited when it freed one."""
        result = await self.districts.unrecommend(user, number)
        await self._audit(user, "unit.cancel", number, result, source)
        return result

    async def _audit(
        self, user: UserKey, action: str, number: str, result: SelectResult, source: str
    ) -> None:
        sub = await self.storage.get_submission(number.strip().upper()) if result.ok and self.audit else None
        if sub is None or self.audit is None:
            return
        member = await self.org.get_membership(user, sub.contest_id)
        role = "organiser" if member is not None and member.role is Role.ORGANISER else "member"
        entry = AuditEntry(
            at=self.clock(),
            actor=str(user),
            role=role,
            action=action,
            contest_id=sub.contest_id,
            target=sub.number,
            detail={"text": result.text},
            source=source,
        )
        await self.audit.append(entry)

    async def candidates_text(self, user: UserKey, contest_id: str) -> str:
        """推荐列表 (see :meth:`DistrictRecommendations.candidates_text`)."""
        return await self.districts.candidates_text(user, contest_id)

    async def district_pick(
        self, user: UserKey, contest_id: str, unit_name: str | None = None
    ) -> DistrictPick | str:
        """What a 推荐表 is drawn from (see :meth:`DistrictRecommendations.district_pick`)."""
        return await self.districts.district_pick(user, contest_id, unit_name)

    # -- what is used ------------------------------------------------------------------------

    async def usage(self, contest_id: str, *, unit: str | None = None) -> list[UnitUsage]:
        """Every imported unit's places (or one unit's), in import order."""
        contest = self._contest(contest_id)
        now = self.clock()
        places = await self.org.list_places(contest_id)
        units = await self.org.list_units(contest_id)
        if unit is not None:
            # The unit by any of its names: as imported, or another name of it (江北科委 → 江北区).
            found = await find_unit(self.org, contest_id, unit, contest=contest)
            units = [found] if found is not None else []
        return [unit_usage(contest, u, places, now) for u in units]

    async def quota_text(self, user: UserKey, contest_id: str) -> str:
        """The 配额 reply: a member's unit in full, an organiser's overview, an entrant's own entries."""
        contest = self.contests.get(contest_id)
        if contest is None:
            return f"没有找到大赛“{contest_id}”。"
        now = self.clock()
        member = await self.org.get_membership(user, contest.id)
        head = f"【{contest.short_title}】名额"
        if member is not None and member.role is Role.ORGANISER:
            return await self._overview(contest, head, now)
        unit = await unit_of_member(self.org, member)
        if unit is not None:
            return await self._unit_text(contest, unit, head, now)
        return await self._entrant_text(contest, user, head, now)

    async def start_notice(self, user: UserKey, contest_id: str) -> str | None:
        """One line before a member starts a new entry: "本单位已推荐 3/6 部，还可推荐 3 部。"."""
        contest = self.contests.get(contest_id)
        unit = (
            await unit_of_member(self.org, await self.org.get_membership(user, contest_id))
            if contest
            else None
        )
        if contest is None or unit is None:
            return None
        u = unit_usage(
            contest, unit, await self.org.list_places(contest.id, holder=unit.holder), self.clock()
        )
        line = count_line(u.used, u.limit, "work", u.min_works).removeprefix("作品：")
        return f"本单位（{unit.name}）{line}"

    async def unit_notice(self, user: UserKey, contest_id: str, channel_id: str, named: str) -> str | None:
        """One line when an entrant names a recommending unit (not being its member): its places
        now, and that the entry will wait for its confirmation.  None when there is nothing to say."""
        contest = self.contests.get(contest_id)
        if contest is None or not named.strip():
            return None
        try:
            channel = contest.channel(channel_id)
        except KeyError:
            return None
        unit = await find_unit(self.org, contest.id, named)
        rule = rule_for_unit(channel, unit) if unit is not None else None
        if unit is None or rule is None:
            return None
        member = await self.org.get_membership(user, contest.id)
        if member is not None and (member.role is Role.ORGANISER or member.unit_key == unit.key):
            return None
        u = unit_usage(
            contest, unit, await self.org.list_places(contest.id, holder=unit.holder), self.clock()
        )
        line = count_line(u.used, u.limit, "work", u.min_works).removeprefix("作品：")
        return f"“{unit.name}”目前{line}提交后须由该单位确认推荐，确认后才计入其名额。"

    # -- withdraw ----------------------------------------------------------------------------

    async def withdraw(self, user: UserKey, number: str, *, confirmed: bool = True) -> WithdrawResult:
        """Take a recommendation back before the deadline, freeing its place.

        Allowed to the member of the unit it counts against, the contest's organisers, and
        the entrant who submitted it.  Not ``confirmed`` (the chat's 撤回 before its 确认撤回),
        a withdrawal that would be made is only described and asked about (code ``confirm``).
        """
        number = number.strip().upper()
        sub = await self.storage.get_submission(number)
        contest = self.contests.get(sub.contest_id) if sub else None
        if sub is None or contest is None:
            return _not_yours(number)
        now = self.clock()
        place = await self.org.place_of(contest.id, number)
        member = await self.org.get_membership(user, contest.id)
        unit = await unit_of_member(self.org, member)
        allowed = (
            sub.user == user
            or (member is not None and member.role is Role.ORGANISER)
            or (unit is not None and place is not None and place.holder == unit.holder)
        )
        if not allowed:
            return _not_yours(number)
        owner_or_organiser = sub.user == user or (member is not None and member.role is Role.ORGANISER)
        channel = next((c for c in contest.channels if c.id == sub.channel_id), None)
        if not owner_or_organiser and channel is not None and selection_field(contest, channel):
            # The unit only chose this work: it cancels its choice, the entry stays the entrant's.
            text = f"推荐单位请发送“取消推荐 {number}”取消推荐；撤回报名须由报送单位本人提出。"
            return WithdrawResult(False, "forbidden", text)
        if now >= contest.closes_at():
            return WithdrawResult(False, "closed", f"{deadline_text(contest, now)}截止后不能撤回 {number}。")
        if not confirmed and sub.status != "withdrawn":
            return WithdrawResult(False, "confirm", withdraw_prompt(number, title_of(contest, sub), place))
        if sub.status != "withdrawn":
            # Status first: if freeing the place then fails, a retry frees it (never the reverse,
            # which could leave a counted-out work still "submitted").
            await self.storage.update_submission(
                number,
                status="withdrawn",
                extra={"withdrawn_by": str(user), "withdrawn_at": now.isoformat()},
                history=HistoryEntry(now, str(user), "withdrawn", ReviewState.WITHDRAWN.value).to_json(),
            )
        freed = await self.org.withdraw(contest.id, number, now)
        if freed is None and sub.status == "withdrawn":
            return WithdrawResult(False, "already", f"{number} 已经撤回过了。")
        title = title_of(contest, sub)
        text = f"已撤回 {number}{title}。"
        if freed is not None and freed.holder.startswith("unit:"):
            units = {u.holder: u for u in await self.org.list_units(contest.id)}
            owner_unit = units.get(freed.holder)
            if owner_unit is not None:
                u = unit_usage(
                    contest, owner_unit, await self.org.list_places(contest.id, holder=freed.holder), now
                )
                used, limit = (
                    (u.used, u.limit) if freed.track == "work" else (u.accounts_used, u.accounts_limit)
                )
                text += f"“{owner_unit.name}”释放 1 个名额，" + count_line(
                    used, limit, freed.track, u.min_works
                )
        return WithdrawResult(True, "withdrawn", text)

    # -- helpers -----------------------------------------------------------------------------

    def _contest(self, contest_id: str) -> Contest:
        contest = self.contests.get(contest_id)
        if contest is None:
            raise KeyError(f"unknown contest {contest_id!r}")
        return contest

    async def _unit_text(self, contest: Contest, unit: Unit, head: str, now: dt.datetime) -> str:
        u = unit_usage(contest, unit, await self.org.list_places(contest.id, holder=unit.holder), now)
        lines = [
            head,
            f"推荐单位：{unit.name}（{u.label or unit.kind}）",
            count_line(u.used, u.limit, "work", u.min_works),
        ]
        if "account" in contest.tracks():
            lines.append(count_line(u.accounts_used, u.accounts_limit, "account"))
        numbers = [*u.works, *u.accounts]
        choosing = next(
            (c for c in contest.channels if selection_field(contest, c) and rule_for_unit(c, unit)), None
        )
        if choosing is not None:
            # A unit that chooses among the works submitted through it (cq 区县推荐).
            lines[2] = "作品：" + pick_line(u.used, u.limit, u.min_works)
            if numbers:
                lines.append("已推荐的作品：")
                for i, number in enumerate(numbers, 1):
                    sub = await self.storage.get_submission(number)
                    lines.append(f"{i}. {number}{title_of(contest, sub) if sub else ''}")
            waiting = sum(1 for c in await self.districts.candidates(contest, unit) if not c.recommended)
            lines.append(f"报送至本单位、待推荐的作品 {waiting} 部，发送“推荐列表”查看。")
            lines.append(
                f"{window_text(contest, choosing)}：发送“推荐 编号”推荐，“取消推荐 编号”取消，"
                "“推荐表”生成推荐表。"
            )
            return "\n".join(lines)
        if numbers:
            lines.append("已计入名额的报名：")
            for i, number in enumerate(numbers, 1):
                sub = await self.storage.get_submission(number)
                when = sub.created_at.astimezone(SHANGHAI).strftime("%m月%d日") if sub else ""
                lines.append(f"{i}. {number}{title_of(contest, sub) if sub else ''} {when}提交".rstrip())
        lines.append(deadline_text(contest, now))
        if days_left(contest, now) >= 0 and numbers:
            lines.append("截止前可发送“撤回 编号”撤回一部，释放名额。")
        return "\n".join(lines)

    async def _overview(self, contest: Contest, head: str, now: dt.datetime) -> str:
        places = await self.org.list_places(contest.id)
        units = await self.org.list_units(contest.id)
        lines = [head + f"（{len(units)} 个推荐单位）"]
        shown = 30  # a chat message, not a report: the export has everything
        for unit in units[:shown]:
            u = unit_usage(contest, unit, places, now)
            limit = "不限" if u.limit is None else str(u.limit)
            line = f"· {unit.name}：{u.used}/{limit} 部"
            if u.accounts_used or u.accounts_limit:
                cap = "不限" if u.accounts_limit is None else str(u.accounts_limit)
                line += f"，科普号 {u.accounts_used}/{cap} 个"
            if u.min_works and u.used < u.min_works:
                line += f"（不足 {u.min_works} 部）"
            lines.append(line)
        if len(units) > shown:
            lines.append(f"……另有 {len(units) - shown} 个单位，完整清单请发送“导出”或运行 quota 命令。")
        own = sum(1 for p in places if p.holder.startswith("self:") and p.counts(now))
        lines.append(f"自荐及其他渠道：{own} 份。")
        if any(selection_field(contest, c) for c in contest.channels):
            waiting = sum(1 for c in await self.districts.candidates(contest) if not c.recommended)
            lines.append(f"已报送、待推荐单位推荐的作品：{waiting} 部（发送“推荐列表”查看）。")
        lines.append(deadline_text(contest, now))
        return "\n".join(lines)

    async def _entrant_text(self, contest: Contest, user: UserKey, head: str, now: dt.datetime) -> str:
        lines = [head]
        mine = [p for p in await self.org.list_places(contest.id, holder=self_holder(user)) if p.counts(now)]
        for channel in contest.channels:
            own = next((r for r in channel.quota if r.kind == "self"), None)
            if own is not None:
                for track in channel.forms:
                    t: Track = "account" if track == "account" else "work"
                    limit = limit_for(own, None, t)
                    used = sum(1 for p in mine if p.track == t)
                    what, unit = noun(t)
                    cap = "不限数量" if limit is None else f"限 {limit} {unit}"
                    lines.append(f"{channel.label}（{what}）：{cap}，您已提交 {used} {unit}。")
            elif selection_field(contest, channel) is not None:
                when = window_text(contest, channel)
                lines.append(
                    f"{channel.label}：作品报送至所选推荐单位，由其在{when}择优推荐，推荐后才计入其名额。"
                )
                lines.extend(await self.districts.own_entries(contest, channel, user))
            elif channel.quota:
                lines.append(f"{channel.label}：名额由推荐单位掌握，推荐单位代表可发送“配额”查看。")
        rules = author_rules(contest)
        if rules.one_work_per_first_author:
            lines.append("通知规定：同一第一作者只能申报一部作品。")
        if rules.one_channel_per_work:
            lines.append("通知规定：作品只能通过一种方式（推荐或自荐）参加评选。")
        lines.append(deadline_text(contest, now))
        return "\n".join(lines)


def _not_yours(number: str) -> WithdrawResult:
    # One answer for "no such number" and "not yours": 撤回 must not tell a stranger which
    # numbers exist.
    return WithdrawResult(
        False,
        "not_found",
        f"没有找到您可以撤回的报名 {number}：只有提交人、其推荐单位代表或主办方可以撤回，请核对编号。",
    )
