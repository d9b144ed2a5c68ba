"""Quotas as the notices set them: who an entry counts against, the atomic reservation at
confirm time, the 配额 text, and withdrawing a recommendation.

The first half is pure (rules from :mod:`contests.rules` data, no I/O); :class:`QuotaService`
joins it to the stores.  How an entry's *holder* (the unit whose places it uses) is found:

* a recommend (or member) channel: the unit the submitting member is bound to, else the
  form's ``unit`` field matched by name (after :func:`~bot.storage.org.normalise_name`)
  against the units the organiser imported, provided the unit's quota rule belongs to that
  channel;
* a channel with a ``self`` rule: the entrant is their own unit (one holder per chat user);
* otherwise the entry is refused with ``no_unit``: nobody could tell whose places it uses.

A channel whose form has a ``recommender`` field (cq: 报送区县) works in two steps, as its
notice does: the entrant's confirm uses no place, it stores the entry as submitted through
the unit it names (``extra.district``, "待区县推荐"); in the channel's ``selection_stage``
that unit's member then *recommends* entries (推荐 / 取消推荐), and each recommendation is a
place reserved and committed against the unit's quota in one atomic step of the store.

Where the notice says so, every work also *claims* its first author (一个第一作者一部) and
its title with first author (one channel per work), contest-wide, in the same atomic step.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import re
import unicodedata
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from contests.org import (
    DEFAULT_HOLD_TTL,
    Membership,
    Place,
    PlaceState,
    QuotaRefusal,
    Reservation,
    Role,
    Track,
    Unit,
    normalise_name,
    self_holder,
)
from contests.ports import OrgStore, Storage
from contests.records import Submission, UserKey
from contests.rules import (
    SHANGHAI,
    Channel,
    Contest,
    ContestRegistry,
    Form,
    FormField,
    QuotaRule,
    match_place,
)

__all__ = [
    "AuthorRules",
    "Candidate",
    "Confirmed",
    "DistrictPick",
    "EntryRequest",
    "Hold",
    "Holder",
    "QuotaService",
    "SelectResult",
    "Submitted",
    "UnitUsage",
    "WithdrawResult",
    "author_rules",
    "claims_for",
    "days_left",
    "first_author",
    "limit_for",
    "recommender_of",
    "refusal_text",
    "rule_for_unit",
    "selection_field",
    "submitted_through",
]

log = logging.getLogger(__name__)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# ------------------------------------------------------------------ pure rules


@dataclass(frozen=True, slots=True)
class AuthorRules:
    """The notice's rules about authors that can be checked from the form."""

    one_work_per_first_author: bool  # "只能由第一作者提交，限1部" / "同一作者只能申报一部作品"
    one_channel_per_work: bool  # "作品只能通过……一种方式参加评选"


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def author_rules(contest: Contest) -> AuthorRules:
    """Read the author rules from the preset's own words.

    The contest schema has no field for them, so the notice's sentences (kept verbatim in the
    presets' ``submitter`` and ``rules``) are recognised here.  Pinned per preset by the tests.
    """
    submitters = [_flat(c.submitter) for c in contest.channels]
    rules = [_flat(r) for r in contest.rules]
    one_per_author = any("限1部" in s for s in submitters) or any("同一作者只能申报一部" in r for r in rules)
    one_channel = any("只能通过" in r and "一种方式" in r for r in rules)
    return AuthorRules(one_per_author, one_channel)


def rule_for_unit(channel: Channel, unit: Unit) -> QuotaRule | None:
    """The rule of ``channel`` that governs ``unit``: one that names it, else one of its kind
    that names nobody (cq's 12 listed districts vs. every other 区县)."""
    key = unit.key
    for rule in channel.quota:
        if any(normalise_name(u) == key for u in rule.units):
            return rule
    for rule in channel.quota:
        if rule.kind == unit.kind and not rule.units:
            return rule
    return None


def _bonus(rule: QuotaRule, unit: Unit | None) -> int:
    if unit is None or not rule.bonus:
        return 0
    names = {normalise_name(n) for n in rule.bonus_units}
    # A province's department is imported under its own name; its province column names the province.
    return (
        rule.bonus if unit.key in names or (unit.province and normalise_name(unit.province) in names) else 0
    )


def limit_for(rule: QuotaRule | None, unit: Unit | None, track: Track) -> int | None:
    """Places of one holder on ``track``: works count against ``max_works`` (plus the rule's
    bonus for the units it lists), 科普号 against ``max_accounts``.  None: no limit."""
    if rule is None:
        return None
    if track == "account":
        return rule.max_accounts
    if rule.max_works is None:
        return None
    return rule.max_works + _bonus(rule, unit)


def _field_value(form: Form, answers: Mapping[str, Any], role: str) -> Any:
    fld = next((f for f in form.fields if f.role == role), None)
    return answers.get(fld.id) if fld is not None else None


def first_author(form: Form, answers: Mapping[str, Any]) -> str:
    """The first name of the ``authors`` field (stored as a list; a string is split like the form does)."""
    value = _field_value(form, answers, "authors")
    if isinstance(value, list):
        return str(value[0]).strip() if value else ""
    if isinstance(value, str):
        return re.split(r"[、,，;；\n]", value.strip(), maxsplit=1)[0].strip()
    return ""


def _title_key(title: str) -> str:
    # Quotes, book-title marks and spacing differ between two copies of one title; words do not.
    return "".join(ch for ch in normalise_name(title) if ch.isalnum())


def claims_for(
    contest: Contest, form: Form, answers: Mapping[str, Any]
) -> tuple[tuple[str, ...], dict[str, str]]:
    """The contest-wide keys this entry must hold, and each key's human form for messages."""
    rules = author_rules(contest)
    author = first_author(form, answers)
    if form.track != "work" or not author:
        return (), {}
    claims: list[str] = []
    shown: dict[str, str] = {}
    title = str(_field_value(form, answers, "title") or "").strip()
    if rules.one_channel_per_work and title:
        key = f"work:{_title_key(title)}|{normalise_name(author)}"
        claims.append(key)
        shown[key] = f"《{title}》（第一作者{author}）"
    if rules.one_work_per_first_author:
        key = f"author:{normalise_name(author)}"
        claims.append(key)
        shown[key] = author
    return tuple(claims), shown


def days_left(contest: Contest, now: dt.datetime) -> int:
    """Whole days from today (Beijing) to the deadline day; negative once it has passed."""
    return (contest.deadline - now.astimezone(SHANGHAI).date()).days


def _cn_day(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def selection_field(contest: Contest, channel: Channel) -> FormField | None:
    """The ``recommender`` field of the channel's work form: set when entries are submitted
    through a unit that later recommends some of them (cq: 报送区县), else None."""
    form_id = channel.forms.get("work")
    return contest.form(form_id).recommender() if form_id else None


def recommender_of(contest: Contest, sub: Submission) -> str:
    """The unit a two-step entry was submitted through: ``extra.district``, else its answer."""
    try:
        fld = contest.form(sub.form_id).recommender()
    except KeyError:
        return ""
    if fld is None:
        return ""
    return str(sub.extra.get("district") or sub.answers.get(fld.id) or "").strip()


def submitted_through(contest: Contest, sub: Submission, units: Iterable[Unit]) -> Unit | None:
    """The imported unit a two-step entry was submitted through, or None (not two-step, or
    the unit is not imported)."""
    try:
        fld = contest.form(sub.form_id).recommender()
    except KeyError:
        return None
    if fld is None:
        return None
    named = recommender_of(contest, sub)
    return next((u for u in units if _same_unit(fld, u, named)), None)


def _same_unit(fld: FormField, unit: Unit, named: str) -> bool:
    """Whether the imported ``unit`` ("重庆市江北区科学技术局" or "江北区") is the one named."""
    if not named:
        return False
    canonical = match_place(unit.name, fld.options) or unit.name
    return normalise_name(canonical) == normalise_name(named)


def _selection_window(contest: Contest, channel: Channel) -> tuple[dt.date | None, dt.date | None, str]:
    """(first day, last day, stage name) in which the units recommend.  Without the stage (a
    copied edition whose schedule is not written yet): from the day after the deadline, no end."""
    stage = contest.stage(channel.selection_stage)
    if stage is not None:
        return stage.start, stage.end, stage.name
    return contest.deadline + dt.timedelta(days=1), None, ""


def _window_text(contest: Contest, channel: Channel) -> str:
    start, end, name = _selection_window(contest, channel)
    last = _cn_day(end) if end else ""
    if start and end and start.year == end.year:
        last = last.removeprefix(f"{end.year}年")  # 2023年6月1日至7月31日
    span = "".join([_cn_day(start) if start else "", "至" if start and end else "", last])
    if start and not end:
        span += "起"
    return f"{name or channel.label}（{span}）" if span else (name or channel.label)


def _pick_line(used: int, limit: int | None, least: int | None) -> str:
    """E.g. "已推荐 2/5 部（至少 3 部，还差 1 部），还可推荐 3 部。"."""
    text = f"已推荐 {used}/{limit} 部" if limit is not None else f"已推荐 {used} 部（通知未限数量）"
    if least:
        text += f"（至少 {least} 部，还差 {least - used} 部）" if used < least else f"（至少 {least} 部）"
    if limit is not None:
        text += f"，还可推荐 {max(limit - used, 0)} 部"
    return text + "。"


def _deadline_text(contest: Contest, now: dt.datetime) -> str:
    d = contest.deadline
    when = f"{d.year}年{d.month}月{d.day}日"
    left = days_left(contest, now)
    if left < 0:
        return f"报名已于{when}截止。"
    if left == 0:
        return f"今天（{when}）截止。"
    return f"距截止（{when}）还有 {left} 天。"


def _noun(track: Track) -> tuple[str, str]:
    return ("科普号", "个") if track == "account" else ("作品", "部")


def _count_line(used: int, limit: int | None, track: Track, min_works: int | None = None) -> str:
    what, unit = _noun(track)
    if limit is None:
        return f"{what}：已推荐 {used} {unit}（通知未限数量）。"
    left = max(limit - used, 0)
    text = f"{what}：已推荐 {used}/{limit} {unit}，还可推荐 {left} {unit}。"
    if track == "work" and min_works and used < min_works:
        text += f"通知要求至少推荐 {min_works} {unit}，还差 {min_works - used} {unit}。"
    return text


def refusal_text(refusal: QuotaRefusal) -> str:
    """The Chinese message for a refused entry; the entrant's answers are kept in the draft."""
    kept = "您填写的内容已保存，修改后可再次提交。"
    what, unit = _noun(refusal.track)
    if refusal.reason == "no_unit":
        named = f"“{refusal.unit_name}”" if refusal.unit_name else "推荐单位"
        return (
            f"没有在本赛事已登记的推荐单位中找到{named}。此渠道须由已登记的推荐单位（{refusal.label}）推荐："
            f"请核对推荐单位全称，或请本单位代表发送邀请码绑定后再提交。{kept}"
        )
    if refusal.reason == "claimed":
        by = f"（编号 {refusal.claim_number}）" if refusal.claim_number else "（另一份报名正在提交）"
        if (refusal.claim or "").startswith("work:"):
            return f"{refusal.detail}已报送本赛事{by}：通知规定作品只能通过一种方式参加评选。{kept}"
        return (
            f"第一作者“{refusal.detail}”已有作品报送本赛事{by}：通知规定同一作者只能申报一部作品，"
            f"且只能由第一作者（第一制作单位）提交。{kept}"
        )
    if refusal.holder.startswith("self:"):
        return (
            f"{refusal.label or '自荐'}限报 {refusal.limit} {unit}{what}，您已提交 {refusal.used} {unit}，"
            f"名额已用完。如需改报，请先发送“撤回 编号”撤回已提交的{what}。{kept}"
        )
    text = (
        f"“{refusal.unit_name}”的推荐名额已满：通知规定{refusal.label}限推荐 {refusal.limit} {unit}{what}，"
        f"已推荐 {refusal.used} {unit}（含正在提交的）。如需改推，请本单位代表先发送“撤回 编号”撤回一{unit}。"
    )
    return text + kept


# ------------------------------------------------------------------ records


class EntryRequest(Protocol):
    """What the dialog hands over at confirm (:class:`dialogs.results.SubmitRequest` fits)."""

    @property
    def contest_id(self) -> str: ...
    @property
    def channel_id(self) -> str: ...
    @property
    def form_id(self) -> str: ...
    @property
    def answers(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Holder:
    """Whose places an entry uses."""

    key: str  # the store's holder: unit:<name> or self:<channel>:<user>
    name: str  # as shown: the unit's name, or the entrant's own
    kind: str  # the quota kind ("province", "self", ...); "" when the channel has no rule
    rule: QuotaRule | None
    unit: Unit | None  # None for self-entrants
    # True when the organisers have imported no units yet: nobody can tell whose places a
    # recommended entry uses, so it is taken and flagged rather than refused.
    unverified: bool = False


@dataclass(frozen=True, slots=True)
class Hold:
    """A reserved place (see :meth:`QuotaService.reserve`)."""

    reservation: Reservation
    holder: Holder
    limit: int | None
    used: int  # including this entry

    @property
    def extra(self) -> dict[str, Any]:
        """What the submission stores about its unit (``extra.unit``), given to its creation."""
        extra: dict[str, Any] = {"unit": self.holder.name, "unit_kind": self.holder.kind}
        if self.holder.unverified:
            extra["unit_unverified"] = True
        return extra

    @property
    def notice(self) -> str:
        """One line for the entrant after the submission was stored."""
        if self.holder.unverified:
            return "主办方尚未导入推荐单位名单，本作品的推荐名额将由主办方人工核对。"
        track = self.reservation.track
        min_works = self.holder.rule.min_works if self.holder.rule else None
        who = "您的自荐" if self.holder.unit is None else f"“{self.holder.name}”的推荐名额"
        return f"已计入{who}。" + _count_line(self.used, self.limit, track, min_works)


@dataclass(frozen=True, slots=True)
class Confirmed:
    submission: Submission
    hold: Hold
    committed: bool  # False only if the hold was lost in between (see QuotaService.confirm)

    @property
    def notice(self) -> str:
        if self.committed:
            return self.hold.notice
        return "名额确认未能完成，主办方会人工核对这份报名；如有疑问请联系主办方。"


@dataclass(frozen=True, slots=True)
class Submitted:
    """An entry stored as submitted through its recommending unit (cq: 报送区县): it uses no
    place until that unit recommends it (see :meth:`QuotaService.recommend`)."""

    submission: Submission
    recommender: str  # the unit named by the entrant, e.g. 江北区
    label: str  # the channel's label, e.g. 区县推荐
    window: str  # when the units choose, e.g. 初审阶段（2023年6月1日至7月31日）

    @property
    def notice(self) -> str:
        return (
            f"已报送至“{self.recommender}”，待{self.label}：{self.recommender}将在{self.window}"
            "择优推荐，推荐后才计入其名额。推荐结果可随时发送“配额”查看。"
        )


@dataclass(frozen=True, slots=True)
class SelectResult:
    """The answer to 推荐 / 取消推荐."""

    ok: bool
    # recommended | cancelled | already | full | not_recommended | not_found |
    # forbidden | not_applicable | not_open | closed | withdrawn | lost
    code: str
    text: str
    refusal: QuotaRefusal | None = None  # for ``full``: the store's refusal, filled in


@dataclass(frozen=True, slots=True)
class Candidate:
    """A work submitted through a recommending unit, and whether that unit recommended it."""

    submission: Submission
    recommender: str  # as the entrant named it
    title: str
    maker: str  # the form's ``unit`` answer (cq: 创作单位)
    recommended: bool


@dataclass(frozen=True, slots=True)
class DistrictPick:
    """What a 推荐表 is drawn from: the unit and the works it recommended, oldest first."""

    contest: Contest
    unit: Unit
    submissions: tuple[Submission, ...]


@dataclass(frozen=True, slots=True)
class UnitUsage:
    """One holder's places at a moment: what ``quota --json`` prints per unit."""

    holder: str
    name: str
    kind: str
    label: str
    used: int
    limit: int | None
    min_works: int | None
    accounts_used: int
    accounts_limit: int | None
    works: tuple[str, ...]  # numbers of the committed works, oldest first
    accounts: tuple[str, ...]

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(self.limit - self.used, 0)

    def to_json(self, *, with_accounts: bool) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "unit": self.name,
            "kind": self.kind,
            "used": self.used,
            "limit": self.limit,
            "min": self.min_works,
            "remaining": self.remaining,
            "works": list(self.works),
        }
        if with_accounts:
            doc |= {
                "accounts_used": self.accounts_used,
                "accounts_limit": self.accounts_limit,
                "accounts_remaining": (
                    None if self.accounts_limit is None else max(self.accounts_limit - self.accounts_used, 0)
                ),
                "accounts": list(self.accounts),
            }
        return doc


@dataclass(frozen=True, slots=True)
class WithdrawResult:
    ok: bool
    code: str  # withdrawn | already | not_found (or not yours) | forbidden | closed
    text: str


def _not_yours(number: str) -> WithdrawResult:
    # One answer for "no such number" and "not yours": 撤回 must not tell a stranger which
    # numbers exist.
    return WithdrawResult(
        False,
        "not_found",
        f"没有找到您可以撤回的报名 {number}：只有提交人、其推荐单位代表或主办方可以撤回，请核对编号。",
    )


# ------------------------------------------------------------------ the use case


class QuotaService:
    """Quota checks for the submit flow and the 配额 / 撤回 commands."""

    def __init__(
        self,
        contests: ContestRegistry,
        storage: Storage,
        org: OrgStore,
        clock: Callable[[], dt.datetime] = utcnow,
        *,
        hold_ttl: dt.timedelta = DEFAULT_HOLD_TTL,
    ) -> None:
        self.contests = contests
        self.storage = storage
        self.org = org
        self.clock = clock
        self.hold_ttl = hold_ttl

    # -- whose places ----------------------------------------------------------------------

    async def _unit_of_member(self, member: Membership | None) -> Unit | None:
        if member is None or member.role is not Role.MEMBER or not member.unit_key:
            return None
        return await self.org.get_unit(member.contest_id, member.unit_key)

    async def resolve_holder(
        self, user: UserKey, contest: Contest, channel: Channel, form: Form, answers: Mapping[str, Any]
    ) -> Holder | QuotaRefusal:
        """Whose places this entry uses (see the module docstring), or ``no_unit``."""
        unit = await self._unit_of_member(await self.org.get_membership(user, contest.id))
        rule = rule_for_unit(channel, unit) if unit else None
        named = str(_field_value(form, answers, "unit") or "").strip()
        if rule is None and named:
            unit = await self.org.get_unit(contest.id, named)
            rule = rule_for_unit(channel, unit) if unit else None
        if unit is not None and rule is not None:
            return Holder(unit.holder, unit.name, rule.kind, rule, unit)
        own = next((r for r in channel.quota if r.kind == "self"), None)
        if own is not None or not channel.quota:
            return Holder(self_holder(user), named or str(user), own.kind if own else "", own, None)
        if not await self.org.list_units(contest.id):
            key = f"unit-unverified:{normalise_name(named) or self_holder(user)}"
            return Holder(key, named or str(user), "", None, None, unverified=True)
        track: Track = "account" if form.track == "account" else "work"
        labels = "、".join(r.label for r in channel.quota)
        return QuotaRefusal("no_unit", contest.id, "", track, unit_name=named, label=labels)

    # -- confirm time ------------------------------------------------------------------------

    async def reserve(
        self, user: UserKey, request: EntryRequest, now: dt.datetime | None = None
    ) -> Hold | QuotaRefusal:
        """Hold a place for ``request`` or say why not.  Create the submission with
        :attr:`Hold.extra` (its unit), then commit; or release what you get."""
        now = now or self.clock()
        contest = self._contest(request.contest_id)
        channel, form = contest.channel(request.channel_id), contest.form(request.form_id)
        holder = await self.resolve_holder(user, contest, channel, form, request.answers)
        if isinstance(holder, QuotaRefusal):
            return holder
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
    ) -> Confirmed | Submitted | QuotaRefusal:
        """Reserve, then ``create(extra)`` the submission, then commit; release if ``create``
        fails.

        Call it where the submit flow now calls ``storage.create_submission``, passing it
        ``extra`` (the unit the entry counts for, stored in the same write); a refusal leaves
        nothing behind (show :func:`refusal_text`, keep the draft).  In a two-step channel
        (a form field of role ``recommender``) nothing is reserved: the entry is stored as
        submitted through the unit it names (:class:`Submitted`).
        """
        contest = self._contest(request.contest_id)
        channel = contest.channel(request.channel_id)
        fld = contest.form(request.form_id).recommender()
        if fld is not None:
            return await self._submit_through(contest, channel, fld, request, create)
        hold = await self.reserve(user, request, now)
        if isinstance(hold, QuotaRefusal):
            return hold
        try:
            submission = await create(hold.extra)
        except BaseException:
            # Shielded: a cancelled event must still give its place back; if even that fails
            # the pending place stops counting after hold_ttl.
            try:
                await asyncio.shield(self.release(hold))
            except Exception:
                log.warning("could not release the quota hold of %s; it lapses in %s", user, self.hold_ttl)
            raise
        committed = await self.commit(hold, submission, now)
        return Confirmed(submission, hold, committed)

    async def _submit_through(
        self,
        contest: Contest,
        channel: Channel,
        fld: FormField,
        request: EntryRequest,
        create: Callable[[dict[str, Any]], Awaitable[Submission]],
    ) -> Submitted | QuotaRefusal:
        named = str(request.answers.get(fld.id) or "").strip()
        if not named:  # the dialog asks for it before confirm; a hand-made request may not
            return QuotaRefusal("no_unit", contest.id, "", "work", label=fld.label)
        unit = await self._unit_named(contest, fld, named)
        rule = rule_for_unit(channel, unit) if unit is not None else None
        kind = rule.kind if rule else next((r.kind for r in channel.quota if named in r.units), "")
        # Where the entry waits, stored with it.
        submission = await create({"district": named, "unit": named, "unit_kind": kind})
        return Submitted(submission, named, channel.label, _window_text(contest, channel))

    # -- two steps: the recommending units choose (cq 区县推荐) ------------------------------

    async def _unit_named(self, contest: Contest, fld: FormField, named: str) -> Unit | None:
        """The imported unit an entrant's answer names ("江北区" for 重庆市江北区科学技术局)."""
        found = await self.org.get_unit(contest.id, named)
        if found is not None:
            return found
        return next((u for u in await self.org.list_units(contest.id) if _same_unit(fld, u, named)), None)

    async def _recommended(self, contest_id: str) -> dict[str, Place]:
        """Committed places by submission number."""
        return {
            p.number: p
            for p in await self.org.list_places(contest_id)
            if p.number and p.state is PlaceState.COMMITTED
        }

    async def candidates(self, contest: Contest, unit: Unit | None = None) -> list[Candidate]:
        """Works of the contest's two-step channels not withdrawn, oldest first: those submitted
        through ``unit``, or every one (``unit`` None, for the organisers)."""
        picked = await self._recommended(contest.id)
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
            if unit is not None and not _same_unit(fld, unit, named):
                continue
            place = picked.get(sub.number)
            found.append(
                Candidate(
                    sub,
                    named,
                    str(_field_value(form, sub.answers, "title") or ""),
                    str(_field_value(form, sub.answers, "unit") or ""),
                    place is not None and (unit is None or place.holder == unit.holder),
                )
            )
        return found

    async def _selector(
        self, user: UserKey, contest: Contest
    ) -> tuple[Unit, Channel, FormField, QuotaRule] | str:
        """The user's unit if it recommends in a two-step channel of ``contest``, else why not."""
        member = await self.org.get_membership(user, contest.id)
        if member is not None and member.role is Role.ORGANISER:
            return (
                "推荐由作品报送的区县（推荐单位）代表发送；主办方可发送“推荐列表”查看各区县的报送和推荐情况，"
                "发送“推荐表 区县名”获取某区县的推荐表。"
            )
        unit = await self._unit_of_member(member)
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
        self, contest: Contest, channel: Channel, now: dt.datetime, *, cancel: bool
    ) -> SelectResult | None:
        """Why the units cannot choose today (Beijing), or None when they can.  The organisers
        cannot override the notice's dates."""
        start, end, _name = _selection_window(contest, channel)
        today = now.astimezone(SHANGHAI).date()
        when = _window_text(contest, channel)
        if start is not None and today < start and not cancel:
            text = f"{channel.label}在{when}进行，今天还不能推荐；请于{_cn_day(start)}起再发送“推荐 编号”。"
            return SelectResult(False, "not_open", text)
        if end is not None and today > end:
            text = f"{when}已结束（{_cn_day(end)}），不能再推荐或取消推荐；如有疑问请联系主办方。"
            return SelectResult(False, "closed", text)
        return None

    async def _own_candidate(
        self, user: UserKey, number: str
    ) -> tuple[Contest, Submission, Unit, Channel, FormField, QuotaRule] | SelectResult:
        """The submission ``number`` if the user's unit may choose it, else the refusal."""
        sub = await self.storage.get_submission(number)
        contest = self.contests.get(sub.contest_id) if sub else None
        if sub is None or contest is None:
            return SelectResult(False, "not_found", f"没有找到编号为 {number} 的报名。")
        try:
            channel = contest.channel(sub.channel_id)
        except KeyError:
            return SelectResult(False, "not_found", f"没有找到编号为 {number} 的报名。")
        if selection_field(contest, channel) is None:
            return SelectResult(
                False, "not_applicable", f"{number} 所在的“{channel.label}”不经初审推荐：无需“推荐”。"
            )
        selector = await self._selector(user, contest)
        if isinstance(selector, str):
            return SelectResult(False, "forbidden", selector)
        unit, own_channel, fld, rule = selector
        if own_channel.id != channel.id or not _same_unit(fld, unit, recommender_of(contest, sub)):
            # Another unit's entry: say no more than that it is not this unit's.
            return SelectResult(False, "not_found", f"没有找到报送至“{unit.name}”的作品 {number}。")
        return contest, sub, unit, channel, fld, rule

    async def _used(self, contest: Contest, unit: Unit, now: dt.datetime) -> int:
        return sum(
            1 for p in await self.org.list_places(contest.id, holder=unit.holder) if _counts(p, "work", now)
        )

    async def recommend(self, user: UserKey, number: str) -> SelectResult:
        """推荐 <编号>: the member's unit recommends a work submitted through it, using one of its
        places (reserved and committed atomically: the maximum holds under any concurrency)."""
        number = number.strip().upper()
        found = await self._own_candidate(user, number)
        if isinstance(found, SelectResult):
            return found
        contest, sub, unit, channel, _fld, rule = found
        now = self.clock()
        title = _title(contest, sub)
        if sub.status == "withdrawn":
            return SelectResult(False, "withdrawn", f"{number}{title} 已由报送单位撤回，不能推荐。")
        late = self._out_of_window(contest, channel, now, cancel=False)
        if late is not None:
            return late
        limit = limit_for(rule, unit, "work")
        least = rule.min_works

        async def already() -> SelectResult:
            used = await self._used(contest, unit, now)
            text = f"{number}{title} 已经推荐过了。“{unit.name}”" + _pick_line(used, limit, least)
            return SelectResult(False, "already", text)

        before = [p for p in await self.org.list_places(contest.id, holder=unit.holder) if p.number == number]
        if any(p.state is PlaceState.COMMITTED for p in before):
            return await already()
        got = await self.org.reserve(
            contest_id=contest.id,
            holder=unit.holder,
            track="work",
            limit=limit,
            claims=(f"pick:{number}",),  # one recommendation per work, even if sent twice at once
            owner=user,
            now=now,
            ttl=self.hold_ttl,
        )
        if isinstance(got, QuotaRefusal):
            if got.reason == "claimed":  # the same 推荐 sent twice at once: the other one won
                return await already()
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
            },
        )
        used = await self._used(contest, unit, now)
        maker = str(_field_value(contest.form(sub.form_id), sub.answers, "unit") or "")
        by = f"（{maker}）" if maker else ""
        text = f"已推荐 {number}{title}{by}。“{unit.name}”" + _pick_line(used, limit, least)
        return SelectResult(True, "recommended", text)

    async def unrecommend(self, user: UserKey, number: str) -> SelectResult:
        """取消推荐 <编号>: free the place of a work the member's unit recommended, until the
        end of the selection stage."""
        number = number.strip().upper()
        found = await self._own_candidate(user, number)
        if isinstance(found, SelectResult):
            return found
        contest, sub, unit, channel, _fld, rule = found
        now = self.clock()
        title = _title(contest, sub)
        picked = (await self._recommended(contest.id)).get(number)
        if picked is None or picked.holder != unit.holder:
            return SelectResult(False, "not_recommended", f"{number}{title} 还没有推荐，无需取消。")
        late = self._out_of_window(contest, channel, now, cancel=True)
        if late is not None:
            return late
        freed = await self.org.withdraw(contest.id, number, now)
        if freed is None:  # cancelled at the same moment by another message
            return SelectResult(False, "not_recommended", f"{number}{title} 还没有推荐，无需取消。")
        await self.storage.update_submission(
            number,
            extra={"recommended_by": None, "recommended_at": None, "unrecommended_at": now.isoformat()},
        )
        used = await self._used(contest, unit, now)
        limit = limit_for(rule, unit, "work")
        text = f"已取消推荐 {number}{title}，释放 1 个名额。“{unit.name}”"
        text += _pick_line(used, limit, rule.min_works)
        return SelectResult(True, "cancelled", text)

    async def candidates_text(self, user: UserKey, contest_id: str) -> str:
        """推荐列表: a member's unit's submitted works with their state; an organiser's, every unit's."""
        contest = self.contests.get(contest_id)
        if contest is None:
            return f"没有找到大赛“{contest_id}”。"
        channel = next((c for c in contest.channels if selection_field(contest, c) is not None), None)
        if channel is None:
            return f"【{contest.short_title}】没有报送后由推荐单位初审推荐的环节。"
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
            lines.append(f"{i}. {c.submission.number}《{c.title}》{maker}【{state}】")
        if not works:
            lines.append("还没有作品报送至本单位。")
        used = await self._used(contest, unit, now)
        lines.append(f"“{unit.name}”" + _pick_line(used, limit_for(rule, unit, "work"), rule.min_works))
        lines.append(
            f"{_window_text(contest, channel)}：发送“推荐 编号”推荐一部，“取消推荐 编号”取消，"
            "“推荐表”生成区县推荐表（PDF 和 Word）。"
        )
        return "\n".join(lines)

    async def _all_candidates_text(self, contest: Contest, channel: Channel, head: str) -> str:
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
                lines.append(f"  · {c.submission.number}《{c.title}》{c.maker}【{state}】")
        if not works:
            lines.append("还没有作品报送。")
        lines.append(f"{_window_text(contest, channel)}由各推荐单位代表推荐。")
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
                picked = {p.holder for p in (await self._recommended(contest.id)).values()}
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

    # -- what is used ------------------------------------------------------------------------

    async def usage(self, contest_id: str, *, unit: str | None = None) -> list[UnitUsage]:
        """Every imported unit's places (or one unit's), in import order."""
        contest = self._contest(contest_id)
        now = self.clock()
        places = await self.org.list_places(contest_id)
        units = await self.org.list_units(contest_id)
        if unit is not None:
            units = [u for u in units if u.key == normalise_name(unit)]
        return [_usage(contest, u, places, now) for u in units]

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
        unit = await self._unit_of_member(member)
        if unit is not None:
            return await self._unit_text(contest, unit, head, now)
        return await self._entrant_text(contest, user, head, now)

    async def start_notice(self, user: UserKey, contest_id: str) -> str | None:
        """One line before a member starts a new entry: "本单位已推荐 3/6 部，还可推荐 3 部。"."""
        contest = self.contests.get(contest_id)
        unit = (
            await self._unit_of_member(await self.org.get_membership(user, contest_id)) if contest else None
        )
        if contest is None or unit is None:
            return None
        u = _usage(contest, unit, await self.org.list_places(contest.id, holder=unit.holder), self.clock())
        line = _count_line(u.used, u.limit, "work", u.min_works).removeprefix("作品：")
        return f"本单位（{unit.name}）{line}"

    # -- withdraw ----------------------------------------------------------------------------

    async def withdraw(self, user: UserKey, number: str) -> WithdrawResult:
        """Take a recommendation back before the deadline, freeing its place.

        Allowed to the member of the unit it counts against, the contest's organisers, and
        the entrant who submitted it.
        """
        number = number.strip().upper()
        sub = await self.storage.get_submission(number)
        contest = self.contests.get(sub.contest_id) if sub else None
        if sub is None or contest is None:
            return _not_yours(number)
        now = self.clock()
        place = await self.org.place_of(contest.id, number)
        member = await self.org.get_membership(user, contest.id)
        unit = await self._unit_of_member(member)
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
            return WithdrawResult(False, "closed", f"{_deadline_text(contest, now)}截止后不能撤回 {number}。")
        if sub.status != "withdrawn":
            # Status first: if freeing the place then fails, a retry frees it (never the reverse,
            # which could leave a counted-out work still "submitted").
            await self.storage.update_submission(
                number, status="withdrawn", extra={"withdrawn_by": str(user), "withdrawn_at": now.isoformat()}
            )
        freed = await self.org.withdraw(contest.id, number, now)
        if freed is None and sub.status == "withdrawn":
            return WithdrawResult(False, "already", f"{number} 已经撤回过了。")
        title = _title(contest, sub)
        text = f"已撤回 {number}{title}。"
        if freed is not None and freed.holder.startswith("unit:"):
            units = {u.holder: u for u in await self.org.list_units(contest.id)}
            owner_unit = units.get(freed.holder)
            if owner_unit is not None:
                u = _usage(
                    contest, owner_unit, await self.org.list_places(contest.id, holder=freed.holder), now
                )
                used, limit = (
                    (u.used, u.limit) if freed.track == "work" else (u.accounts_used, u.accounts_limit)
                )
                text += f"“{owner_unit.name}”释放 1 个名额，" + _count_line(
                    used, limit, freed.track, u.min_works
                )
        return WithdrawResult(True, "withdrawn", text)

    async def _own_entries(self, contest: Contest, channel: Channel, user: UserKey) -> list[str]:
        """An entrant's works in a two-step channel, each with whether it was recommended."""
        mine = [
            s
            for s in await self.storage.list_submissions(contest_id=contest.id, user=user)
            if s.channel_id == channel.id
        ]
        if not mine:
            return []
        picked = await self._recommended(contest.id)
        lines = ["您报送的作品："]
        for i, sub in enumerate(mine, 1):
            named = recommender_of(contest, sub)
            if sub.status == "withdrawn":
                state = "已撤回"
            elif sub.number in picked:
                state = f"已获“{named}”推荐"
            else:
                state = f"待{channel.label}"
            lines.append(f"{i}. {sub.number}{_title(contest, sub)} 报送至{named}【{state}】")
        return lines

    # -- helpers -----------------------------------------------------------------------------

    def _contest(self, contest_id: str) -> Contest:
        contest = self.contests.get(contest_id)
        if contest is None:
            raise KeyError(f"unknown contest {contest_id!r}")
        return contest

    async def _unit_text(self, contest: Contest, unit: Unit, head: str, now: dt.datetime) -> str:
        u = _usage(contest, unit, await self.org.list_places(contest.id, holder=unit.holder), now)
        lines = [
            head,
            f"推荐单位：{unit.name}（{u.label or unit.kind}）",
            _count_line(u.used, u.limit, "work", u.min_works),
        ]
        if "account" in contest.tracks():
            lines.append(_count_line(u.accounts_used, u.accounts_limit, "account"))
        numbers = [*u.works, *u.accounts]
        choosing = next(
            (c for c in contest.channels if selection_field(contest, c) and rule_for_unit(c, unit)), None
        )
        if choosing is not None:
            # A unit that chooses among the works submitted through it (cq 区县推荐).
            lines[2] = "作品：" + _pick_line(u.used, u.limit, u.min_works)
            if numbers:
                lines.append("已推荐的作品：")
                for i, number in enumerate(numbers, 1):
                    sub = await self.storage.get_submission(number)
                    lines.append(f"{i}. {number}{_title(contest, sub) if sub else ''}")
            waiting = sum(1 for c in await self.candidates(contest, unit) if not c.recommended)
            lines.append(f"报送至本单位、待推荐的作品 {waiting} 部，发送“推荐列表”查看。")
            lines.append(
                f"{_window_text(contest, choosing)}：发送“推荐 编号”推荐，“取消推荐 编号”取消，"
                "“推荐表”生成推荐表。"
            )
            return "\n".join(lines)
        if numbers:
            lines.append("已计入名额的报名：")
            for i, number in enumerate(numbers, 1):
                sub = await self.storage.get_submission(number)
                when = sub.created_at.astimezone(SHANGHAI).strftime("%m月%d日") if sub else ""
                lines.append(f"{i}. {number}{_title(contest, sub) if sub else ''} {when}提交".rstrip())
        lines.append(_deadline_text(contest, now))
        if days_left(contest, now) >= 0 and numbers:
            lines.append("截止前可发送“撤回 编号”撤回一部，释放名额。")
        return "\n".join(lines)

    async def _overview(self, contest: Contest, head: str, now: dt.datetime) -> str:
        places = await self.org.list_places(contest.id)
        units = await self.org.list_units(contest.id)
        lines = [head + f"（{len(units)} 个推荐单位）"]
        shown = 30  # a chat message, not a report: the export has everything
        for unit in units[:shown]:
            u = _usage(contest, unit, places, now)
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
            waiting = sum(1 for c in await self.candidates(contest) if not c.recommended)
            lines.append(f"已报送、待推荐单位推荐的作品：{waiting} 部（发送“推荐列表”查看）。")
        lines.append(_deadline_text(contest, now))
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
                    what, unit = _noun(t)
                    cap = "不限数量" if limit is None else f"限 {limit} {unit}"
                    lines.append(f"{channel.label}（{what}）：{cap}，您已提交 {used} {unit}。")
            elif selection_field(contest, channel) is not None:
                when = _window_text(contest, channel)
                lines.append(
                    f"{channel.label}：作品报送至所选推荐单位，由其在{when}择优推荐，推荐后才计入其名额。"
                )
                lines.extend(await self._own_entries(contest, channel, user))
            elif channel.quota:
                lines.append(f"{channel.label}：名额由推荐单位掌握，推荐单位代表可发送“配额”查看。")
        rules = author_rules(contest)
        if rules.one_work_per_first_author:
            lines.append("通知规定：同一第一作者只能申报一部作品。")
        if rules.one_channel_per_work:
            lines.append("通知规定：作品只能通过一种方式（推荐或自荐）参加评选。")
        lines.append(_deadline_text(contest, now))
        return "\n".join(lines)


def _counts(place: Place, track: Track, now: dt.datetime) -> bool:
    return place.track == track and place.counts(now)


def _usage(contest: Contest, unit: Unit, places: list[Place], now: dt.datetime) -> UnitUsage:
    rule = next((r for c in contest.channels if (r := rule_for_unit(c, unit)) is not None), None)
    mine = [p for p in places if p.holder == unit.holder]
    committed = [p for p in mine if p.state is PlaceState.COMMITTED and p.number]
    return UnitUsage(
        holder=unit.holder,
        name=unit.name,
        kind=rule.kind if rule else unit.kind,
        label=rule.label if rule else "",
        used=sum(1 for p in mine if _counts(p, "work", now)),
        limit=limit_for(rule, unit, "work"),
        min_works=rule.min_works if rule else None,
        accounts_used=sum(1 for p in mine if _counts(p, "account", now)),
        accounts_limit=limit_for(rule, unit, "account"),
        works=tuple(p.number or "" for p in committed if p.track == "work"),
        accounts=tuple(p.number or "" for p in committed if p.track == "account"),
    )


def _title(contest: Contest, sub: Submission) -> str:
    try:
        form = contest.form(sub.form_id)
    except KeyError:
        return ""
    title = _field_value(form, sub.answers, "title")
    return f"《{title}》" if title else ""
