"""What the quota use case is given (:class:`EntryRequest`) and what it answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from contests.org import QuotaRefusal, Reservation, Unit
from contests.records import Submission
from contests.rules import Contest, QuotaRule
from handlers.quota.texts import count_line

__all__ = [
    "AwaitingUnit",
    "Candidate",
    "Confirmed",
    "DistrictPick",
    "EntryRequest",
    "Hold",
    "Holder",
    "SelectResult",
    "Submitted",
    "WithdrawResult",
]


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
    # recommended entry uses, so it waits, flagged, for an organiser to check it.
    unverified: bool = False
    # True when the entrant only named the unit (they are not its member): the entry uses no
    # place until the unit's member (or an organiser on its behalf) confirms it.
    awaiting: bool = False


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
            # Said without "名额": where the notice sets no limit (hlj) there are none to count.
            return "主办方尚未导入推荐单位名单，本作品的推荐单位将由主办方人工核对。"
        track = self.reservation.track
        rule = self.holder.rule
        if rule is not None and rule.personal:
            return f"已计入您本人的{rule.label}名额（无需单位确认，会员身份由主办方核对）。" + count_line(
                self.used, self.limit, track, None, "申报"
            )
        min_works = self.holder.rule.min_works if self.holder.rule else None
        who = "您的自荐" if self.holder.unit is None else f"“{self.holder.name}”的推荐名额"
        verb = "自荐" if self.holder.unit is None else "推荐"
        return f"已计入{who}。" + count_line(self.used, self.limit, track, min_works, verb)


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
class AwaitingUnit:
    """An entry stored as waiting for its recommending unit to confirm it (the unit, not the
    entrant, is answerable for a recommendation: its seal is on the form).  It uses no place
    until then (see :meth:`QuotaService.recommend`)."""

    submission: Submission
    unit_name: str
    verified: bool  # False: the organisers imported no units yet, nobody can confirm it yet
    usage: str  # the unit's places now, e.g. "已推荐 2/5 部，还可推荐 3 部。"

    @property
    def notice(self) -> str:
        if not self.verified:
            return (
                "主办方尚未导入推荐单位名单，本作品的推荐单位将由主办方人工核对；"
                "核对前作品状态为“待单位确认”，可随时发送“我的投稿”查看。"
            )
        return (
            f"本作品待“{self.unit_name}”确认推荐：推荐由单位负责（推荐表须加盖单位公章），"
            f"单位确认后才计入其名额。“{self.unit_name}”目前{self.usage}"
            "确认后会通知您；也可随时发送“我的投稿”查看状态。"
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
class WithdrawResult:
    ok: bool
    code: str  # withdrawn | confirm (asked first) | already | not_found (or not yours) | forbidden | closed
    text: str
