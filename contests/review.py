"""Where a submission stands (形式审查), as the entrant and the organisers both see it.

A submission's state is read from what the store keeps of it, never stored twice: its
``status`` (``submitted``, ``complete`` once the signed scan is in, ``withdrawn``), the
organisers' last decision (``extra["review"]``), and whether its recommending unit has
confirmed it (``extra["awaiting_unit"]`` until then).  Every change is appended to
``extra["history"]`` (:class:`HistoryEntry`) in the same atomic write as the change itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from contests.records import Submission


class ReviewState(StrEnum):
    SUBMITTED = "submitted"
    AWAITING_UNIT = "awaiting_unit"
    RECOMMENDED = "recommended"
    COMPLETE = "complete"
    PASSED = "passed"
    RETURNED = "returned"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return STATE_LABELS[self]


STATE_LABELS: dict[ReviewState, str] = {
    ReviewState.SUBMITTED: "已提交",
    ReviewState.AWAITING_UNIT: "待单位确认",
    ReviewState.RECOMMENDED: "已推荐",
    ReviewState.COMPLETE: "材料齐全",
    ReviewState.PASSED: "通过形式审查",
    ReviewState.RETURNED: "退回修改",
    ReviewState.REJECTED: "未通过",
    ReviewState.WITHDRAWN: "已撤回",
}


class Decision(StrEnum):
    """What an organiser decides in the formal review."""

    PASS = "pass"
    RETURN = "return"
    REJECT = "reject"

    @property
    def state(self) -> ReviewState:
        return _DECISION_STATES[self]

    @property
    def label(self) -> str:
        return {Decision.PASS: "通过", Decision.RETURN: "退回修改", Decision.REJECT: "未通过"}[self]


_DECISION_STATES = {
    Decision.PASS: ReviewState.PASSED,
    Decision.RETURN: ReviewState.RETURNED,
    Decision.REJECT: ReviewState.REJECTED,
}

# What a return may name besides the form's fields: the entrant reopens exactly these.
ITEM_VIDEO = "video"
ITEM_SCAN = "scan"
ITEM_LABELS = {ITEM_VIDEO: "参赛视频（文件或链接）", ITEM_SCAN: "签字盖章的扫描件"}


VIA_CONSOLE = "console"  # a change made in the web console (:attr:`HistoryEntry.via`)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One change of a submission: what happened, by whom (``UserKey`` text, ``cli:…``), when."""

    at: dt.datetime
    by: str
    # submitted, unit_confirmed, unit_cancelled, complete, decided, resubmitted, withdrawn
    event: str
    state: str = ""  # the state after the change, when it changed one
    reason: str = ""
    items: tuple[str, ...] = ()
    detail: dict[str, Any] = field(default_factory=dict)
    # Where it was done, when not in a chat or on the command line: VIA_CONSOLE, the web console
    # (its person's chat channel says nothing of it).
    via: str = ""

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "at": self.at.astimezone(dt.UTC).isoformat(),
            "by": self.by,
            "event": self.event,
        }
        if self.state:
            doc["state"] = self.state
        if self.reason:
            doc["reason"] = self.reason
        if self.items:
            doc["items"] = list(self.items)
        if self.detail:
            doc["detail"] = self.detail
        if self.via:
            doc["via"] = self.via
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> HistoryEntry:
        return cls(
            at=dt.datetime.fromisoformat(str(doc["at"])),
            by=str(doc.get("by") or ""),
            event=str(doc.get("event") or ""),
            state=str(doc.get("state") or ""),
            reason=str(doc.get("reason") or ""),
            items=tuple(str(i) for i in doc.get("items") or ()),
            detail=dict(doc.get("detail") or {}),
            via=str(doc.get("via") or ""),
        )


#: The most characters of an answer a history line keeps (a summary is cut, with "…").
SHOWN_CHARS = 40


def shown_value(value: Any) -> str:
    """An answer as one short line of a history: people joined with "、", long text cut."""
    if value is None:
        return ""
    text = "、".join(str(v) for v in value) if isinstance(value, list | tuple) else str(value)
    text = " ".join(text.split())
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def history_of(sub: Submission) -> list[HistoryEntry]:
    """The submission's changes, oldest first; its creation comes first even when the record
    predates the history (stored before it was kept)."""
    kept = [HistoryEntry.from_json(d) for d in sub.extra.get("history") or [] if isinstance(d, dict)]
    if not kept or kept[0].event != "submitted":
        kept.insert(0, HistoryEntry(sub.created_at, str(sub.user), "submitted", ReviewState.SUBMITTED.value))
    return kept


def last_decision(sub: Submission) -> dict[str, Any] | None:
    """The organisers' standing decision (``decision``, ``reason``, ``items``, ``by``, ``at``),
    or None (none yet, or the entrant resubmitted after a return)."""
    review = sub.extra.get("review")
    return review if isinstance(review, dict) and review.get("decision") in set(Decision) else None


def awaiting_unit(sub: Submission) -> str:
    """The unit whose confirmation the entry waits for, or ""."""
    return str(sub.extra.get("awaiting_unit") or "")


def awaiting_district(sub: Submission) -> str:
    """The unit a two-step entry was submitted through (cq 报送区县, ``extra["district"]``)
    while that unit has not recommended it, or "".  Only the works it recommends go on to the
    organisers (cq 五（二）: 区县择优推荐后报送组委会)."""
    if sub.status == "withdrawn" or sub.extra.get("recommended_by"):
        return ""
    return str(sub.extra.get("district") or "")


def state_of(sub: Submission) -> ReviewState:
    """Where the submission stands now."""
    if sub.status == "withdrawn":
        return ReviewState.WITHDRAWN
    decision = last_decision(sub)
    if decision is not None:
        return Decision(decision["decision"]).state
    if awaiting_unit(sub):
        return ReviewState.AWAITING_UNIT
    if sub.status == "complete":
        return ReviewState.COMPLETE
    if sub.extra.get("recommended_by"):
        return ReviewState.RECOMMENDED
    return ReviewState.SUBMITTED


def state_text(sub: Submission) -> str:
    """The state as shown to people: its label, and the unit a two-step entry still waits for
    ("材料齐全，待“万州区”推荐": its materials are complete, its district has not chosen it)."""
    state = state_of(sub)
    district = awaiting_district(sub)
    if district and state in (ReviewState.SUBMITTED, ReviewState.COMPLETE):
        return f"{state.label}，待“{district}”推荐"
    return state.label


def waiting_note(sub: Submission) -> str:
    """What an entrant whose materials are complete is told while the unit it was submitted
    through has not chosen it (cq's district) or confirmed it (a recommending unit) yet, or ""."""
    district = awaiting_district(sub)
    if district:
        return (
            f"材料已齐全，作品仍待“{district}”择优推荐：推荐后才报送主办方进行形式审查；"
            "推荐结果可随时发送“配额”或“我的投稿”查看。"
        )
    unit = awaiting_unit(sub)
    if unit and sub.status != "withdrawn":
        # "材料齐全" alone, then 我的投稿 saying 待单位确认, read as two answers that disagree
        return f"材料已齐全，作品仍待“{unit}”确认推荐：确认后才进入形式审查；进展可随时发送“我的投稿”查看。"
    return ""


def returned_items(sub: Submission) -> tuple[str, ...]:
    """What a standing 退回修改 names (field ids, ``video``, ``scan``); empty otherwise."""
    decision = last_decision(sub)
    if decision is None or decision.get("decision") != Decision.RETURN:
        return ()
    return tuple(str(i) for i in decision.get("items") or ())
