"""The formal review (形式审查): organisers decide, entrants see where they stand and fix
what was returned, under the same number and keeping their place.

States and history are read by :mod:`contests.review`; every change here is one atomic
:meth:`~contests.ports.Storage.update_submission` that also appends its history entry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from contests.audit import AuditEntry
from contests.org import Role
from contests.ports import AuditLog, OrgStore, Storage
from contests.records import Submission, UserKey
from contests.registry import ContestRegistry
from contests.review import (
    ITEM_LABELS,
    ITEM_SCAN,
    ITEM_VIDEO,
    Decision,
    HistoryEntry,
    ReviewState,
    awaiting_district,
    history_of,
    last_decision,
    returned_items,
    shown_value,
    state_of,
    state_text,
)
from contests.rules import Contest
from dialogs.states import DRAFT_VERSION, State, Step
from handlers.outbound import Tell, tell
from handlers.quota.rules import days_left
from handlers.quota.texts import title_of

__all__ = ["LINK_CHECKS", "MAX_REASON_CHARS", "OPERATOR_CHANNEL", "ReviewOutcome", "ReviewService"]

log = logging.getLogger(__name__)

MAX_REASON_CHARS = 500
# Control characters and bidi overrides in an organiser's reason or note: a terminal escape, a NUL
# that XML (xlsx, WeChat) cannot hold, or a right-to-left override that turns the text around on
# the entrant's screen; what the organiser meant is the text around them.
_INVISIBLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _plain(text: str) -> str:
    """One line of plain text: controls dropped, whitespace runs folded to one space."""
    return " ".join(_INVISIBLE.sub("", text).split())


# Who acts from the server itself (``python -m bot review``): trusted as an organiser.
OPERATOR_CHANNEL = "cli"
# What an organiser checks of a cloud-drive link (the notices: 网盘链接须长期有效、提取码正确).
LINK_CHECKS: dict[str, str] = {
    "opened": "链接能打开",
    "plays": "视频能播放",
    "code_works": "提取码正确",
    "permanent": "长期有效（非临时链接）",
    "folder_named": "文件夹按通知要求命名",
}


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class ReviewOutcome:
    """The answer to a decision, a link check or a resubmission: ``text`` is for the one who
    asked (page or chat); ``code`` names the outcome (ok, not_found, forbidden, invalid, ...)."""

    ok: bool
    code: str
    text: str
    submission: Submission | None = None
    needs_scan: bool = False  # a resubmission whose form changed: print, sign and scan again


def item_label(contest: Contest, sub: Submission, item: str) -> str:
    """What a returned item is called for the entrant: a field's label, 视频, 扫描件."""
    if item in ITEM_LABELS:
        return ITEM_LABELS[item]
    try:
        fld = next((f for f in contest.form(sub.form_id).fields if f.id == item), None)
    except KeyError:
        fld = None
    return fld.label if fld else item


class ReviewService:
    """Decisions, link checks, resubmissions and 我的投稿 for every contest in ``contests``."""

    def __init__(
        self,
        contests: ContestRegistry,
        storage: Storage,
        org: OrgStore,
        *,
        tell: Tell | None = None,
        audit: AuditLog | None = None,
        clock: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        self.contests = contests
        self.storage = storage
        self.org = org
        self.tell = tell
        self.audit = audit
        self.clock = clock

    async def _audit(
        self, by: UserKey, action: str, sub: Submission, source: str, detail: dict[str, Any]
    ) -> None:
        """Every decision and link check is kept in the append-only audit log."""
        if self.audit is None:
            return
        role = "operator" if by.channel == OPERATOR_CHANNEL else "organiser"
        entry = AuditEntry(
            at=self.clock(),
            actor=str(by),
            role=role,
            action=action,
            contest_id=sub.contest_id,
            target=sub.number,
            detail=detail,
            source=source,
        )
        await self.audit.append(entry)

    # -- who ---------------------------------------------------------------------------------

    async def is_organiser(self, user: UserKey, contest_id: str) -> bool:
        member = await self.org.get_membership(user, contest_id)
        return member is not None and member.role is Role.ORGANISER

    async def _found(self, number: str, by: UserKey | None) -> tuple[Submission, Contest] | ReviewOutcome:
        # ``by`` None: nobody to check (the entrant's own, checked by the caller); the server's
        # own operator (``cli:`` on the machine itself) acts as an organiser.
        number = number.strip().upper()
        sub = await self.storage.get_submission(number)
        contest = self.contests.get(sub.contest_id) if sub else None
        if sub is None or contest is None:
            return ReviewOutcome(False, "not_found", f"没有找到编号为 {number} 的投稿。")
        if by is not None and by.channel != OPERATOR_CHANNEL and not await self.is_organiser(by, contest.id):
            return ReviewOutcome(False, "forbidden", "只有本大赛的主办方可以进行形式审查。")
        return sub, contest

    # -- the organisers' decision ------------------------------------------------------------

    def valid_items(self, contest: Contest, sub: Submission) -> dict[str, str]:
        """What a 退回修改 may name for this submission: its form's fields, the video, the scan."""
        try:
            fields = {f.id: f.label for f in contest.form(sub.form_id).fields}
        except KeyError:
            fields = {}
        return {**fields, ITEM_VIDEO: ITEM_LABELS[ITEM_VIDEO], ITEM_SCAN: ITEM_LABELS[ITEM_SCAN]}

    async def decide(
        self,
        number: str,
        decision: Decision,
        reason: str,
        *,
        by: UserKey,
        items: Sequence[str] = (),
        now: dt.datetime | None = None,
        source: str = "chat",
        via: str = "",
    ) -> ReviewOutcome:
        """通过 / 退回修改 / 未通过, with a reason (required for the last two); the entrant is
        told at once.  A return names what is to be fixed (``items``: field ids, ``video``,
        ``scan``); the entrant reopens exactly those with “修改 编号”.  ``source``: the audit
        log's (an address, "chat", "cli"); ``via``: "console" where the console made it, kept
        in the history (:attr:`HistoryEntry.via`)."""
        found = await self._found(number, by)
        if isinstance(found, ReviewOutcome):
            return found
        sub, contest = found
        now = now or self.clock()
        reason = _plain(reason)
        if len(reason) > MAX_REASON_CHARS:
            return ReviewOutcome(
                False, "invalid", f"理由太长（{len(reason)} 字），请控制在 {MAX_REASON_CHARS} 字以内。"
            )
        state = state_of(sub)
        if state is ReviewState.WITHDRAWN:
            return ReviewOutcome(False, "withdrawn", f"{sub.number} 已撤回，不能审查。")
        if decision is not Decision.PASS and not reason:
            return ReviewOutcome(False, "invalid", f"“{decision.label}”须写明理由，报名者会收到这段话。")
        allowed = self.valid_items(contest, sub)
        chosen = tuple(dict.fromkeys(i for i in items if i))
        unknown = [i for i in chosen if i not in allowed]
        if unknown:
            return ReviewOutcome(False, "invalid", f"无法识别要修改的项：{'、'.join(unknown)}。")
        if decision is Decision.RETURN and not chosen:
            return ReviewOutcome(
                False, "invalid", "退回修改须至少选择一项要修改的内容（字段、视频或扫描件）。"
            )
        if decision is Decision.PASS:
            blocker = self._pass_blocker(sub, state)
            if blocker:
                return ReviewOutcome(False, "not_ready", blocker)
        record = {
            "decision": decision.value,
            "reason": reason,
            "items": list(chosen) if decision is Decision.RETURN else [],
            "by": str(by),
            "at": now.isoformat(),
        }
        kept = chosen if decision is Decision.RETURN else ()
        history = HistoryEntry(now, str(by), "decided", decision.state.value, reason, kept, via=via)
        stored = await self.storage.update_submission(
            sub.number, extra={"review": record}, history=history.to_json()
        )
        await self._audit(
            by,
            "review.decide",
            sub,
            source,
            {"decision": decision.value, "reason": reason, "items": list(kept)},
        )
        await tell(self.tell, sub.user, self._decision_text(contest, stored, now), contest.id)
        return ReviewOutcome(
            True, decision.value, f"已记录：{sub.number}{title_of(contest, sub)} {decision.label}。", stored
        )

    @staticmethod
    def _pass_blocker(sub: Submission, state: ReviewState) -> str:
        if state is ReviewState.AWAITING_UNIT:
            return f"{sub.number} 还在等待推荐单位确认，确认后才能通过形式审查。"
        if district := awaiting_district(sub):
            # cq 五（二）: only the works a district chooses (择优推荐) go to the 组委会.
            return (
                f"{sub.number} 还在等待“{district}”择优推荐：只有推荐单位推荐的作品才报送主办方，"
                "推荐后才能通过形式审查。"
            )
        if sub.status != "complete":
            return f"{sub.number} 材料不齐：还没有收到签字盖章的扫描件。"
        video = sub.video or {}
        if video.get("kind") != "file" and not video.get("checked"):
            check = sub.extra.get("link_check")
            if not (isinstance(check, dict) and check.get("ok")):
                return (
                    f"{sub.number} 的视频是网盘或外部链接：请先记录链接核验（能打开、能播放、提取码正确……）。"
                )
        return ""

    async def decided_counts(self, user: UserKey) -> dict[str, int]:
        """How many decisions each of ``user``'s submissions has had, by number."""
        return _decided(await self.storage.list_submissions(user=user))

    async def decisions_since(
        self, user: UserKey, seen: Mapping[str, int], now: dt.datetime | None = None
    ) -> tuple[list[str], dict[str, int]]:
        """What ``user`` is told of the decisions made on their submissions since ``seen`` (their
        :meth:`decided_counts` then), and the counts now: for a channel that runs where the
        decision was not made (the terminal chat, beside ``serve``'s console)."""
        subs = await self.storage.list_submissions(user=user)
        counts = _decided(subs)
        texts = []
        for sub in subs:
            contest = self.contests.get(sub.contest_id)
            if counts[sub.number] > seen.get(sub.number, 0) and contest is not None:
                texts.append(self._decision_text(contest, sub, now or self.clock()))
        return texts, counts

    def _decision_text(self, contest: Contest, sub: Submission, now: dt.datetime) -> str:
        decision = last_decision(sub) or {}
        head = f"【{contest.short_title}】您的投稿 {sub.number}{title_of(contest, sub)}"
        reason = str(decision.get("reason") or "")
        match decision.get("decision"):
            case Decision.PASS:
                return f"{head} 已通过形式审查。" + (f"\n备注：{reason}" if reason else "")
            case Decision.REJECT:
                return f"{head} 未通过形式审查。\n理由：{reason}\n如有疑问请联系主办方。"
        names = "、".join(item_label(contest, sub, i) for i in returned_items(sub))
        return (
            f"{head} 被退回修改。\n理由：{reason}\n需要修改：{names}\n"
            f"请在截止（{contest.deadline.month}月{contest.deadline.day}日）前发送“修改 {sub.number}”"
            "按提示修改后重新提交；编号和名额保持不变。"
        )

    async def check_link(
        self,
        number: str,
        *,
        by: UserKey,
        checks: Mapping[str, bool],
        note: str = "",
        now: dt.datetime | None = None,
        source: str = "chat",
        via: str = "",
    ) -> ReviewOutcome:
        """Record an organiser's check of a cloud-drive link: each of :data:`LINK_CHECKS`
        passed or not; the link counts as checked when all passed (``source``, ``via``: as
        :meth:`decide`'s)."""
        found = await self._found(number, by)
        if isinstance(found, ReviewOutcome):
            return found
        sub, _contest = found
        if (sub.video or {}).get("kind") == "file":
            return ReviewOutcome(
                False, "not_applicable", f"{sub.number} 的视频是上传的文件，不需要链接核验。"
            )
        unknown = [k for k in checks if k not in LINK_CHECKS]
        if unknown:
            return ReviewOutcome(False, "invalid", f"无法识别的核验项：{'、'.join(unknown)}。")
        now = now or self.clock()
        result = {k: bool(checks.get(k)) for k in LINK_CHECKS}
        ok = all(result.values())
        note = _plain(note)[:MAX_REASON_CHARS]
        record = {"ok": ok, "checks": result, "note": note, "by": str(by), "at": now.isoformat()}
        failed = [LINK_CHECKS[k] for k, v in result.items() if not v]
        detail = {"ok": ok, "failed": failed}
        history = HistoryEntry(now, str(by), "link_checked", reason=note, detail=detail, via=via)
        stored = await self.storage.update_submission(
            sub.number, extra={"link_check": record}, history=history.to_json()
        )
        await self._audit(by, "review.link_check", sub, source, {"ok": ok, "failed": failed})
        text = "链接核验通过。" if ok else "链接核验未通过：" + "、".join(failed) + "。"
        return ReviewOutcome(True, "link_checked", text, stored)

    # -- the entrant's side -------------------------------------------------------------------

    async def reopen_state(self, user: UserKey, number: str, now: dt.datetime | None = None) -> State | str:
        """The draft in which the entrant fixes a returned submission (the review page with
        every answer as stored, marked with the number it is resubmitted under), or why not."""
        found = await self._found(number, None)
        if isinstance(found, ReviewOutcome):
            return found.text
        sub, contest = found
        if sub.user != user:
            return f"没有找到您的投稿 {sub.number}。"  # the same answer as for no such number
        if state_of(sub) is not ReviewState.RETURNED:
            return f"{sub.number} 目前为“{state_of(sub).label}”，不需要修改。发送“我的投稿”查看状态。"
        if (now or self.clock()) >= contest.closes_at():
            return (
                f"投稿已于 {contest.deadline.month}月{contest.deadline.day}日截止，不能再修改 {sub.number}。"
            )
        channel = contest.channel(sub.channel_id)
        track = next((t for t, f in channel.forms.items() if f == sub.form_id), "work")
        return {
            "v": DRAFT_VERSION,
            "step": Step.REVIEW,
            "field": None,
            "contest": contest.id,
            "contest_fixed": True,
            "channel": channel.id,
            "track": track,
            "answers": dict(sub.answers),
            "video": dict(sub.video or {}),
            "amend": sub.number,
        }

    async def return_note(self, number: str) -> str:
        """What the standing 退回修改 of ``number`` asked, said again where the entrant fixes it
        ("退回理由：…；需要修改：作品名称。"), or ""."""
        found = await self._found(number, None)
        if isinstance(found, ReviewOutcome):
            return ""
        sub, contest = found
        decision = last_decision(sub)
        if decision is None or decision.get("decision") != Decision.RETURN:
            return ""
        reason = str(decision.get("reason") or "").rstrip("。.；;！! ")  # its own full stop: joined below
        parts = [f"退回理由：{reason}"] if reason else []
        if items := returned_items(sub):
            parts.append("需要修改：" + "、".join(item_label(contest, sub, i) for i in items))
        return "；".join(parts) + "。" if parts else ""

    async def resubmit(
        self,
        user: UserKey,
        number: str,
        answers: dict[str, Any],
        video: dict[str, Any],
        now: dt.datetime | None = None,
    ) -> ReviewOutcome:
        """Store the fixed answers under the same number (its place kept).  The unit an entry
        counts for cannot change here: that is a new entry."""
        found = await self._found(number, None)
        if isinstance(found, ReviewOutcome):
            return found
        sub, contest = found
        now = now or self.clock()
        if sub.user != user or state_of(sub) is not ReviewState.RETURNED:
            return ReviewOutcome(
                False, "not_returned", f"{sub.number} 目前不能重新提交（状态：{state_of(sub).label}）。"
            )
        if now >= contest.closes_at():
            return ReviewOutcome(False, "closed", "投稿已截止，不能再重新提交。")
        form = contest.form(sub.form_id)
        fixed = {f.id for f in form.fields if f.role in ("unit", "recommender")}
        moved = [f.label for f in form.fields if f.id in fixed and answers.get(f.id) != sub.answers.get(f.id)]
        if moved:
            text = f"“{'、'.join(moved)}”不能在修改中更换；如需更换推荐单位，请撤回后重新报名。"
            return ReviewOutcome(False, "unit_changed", text)
        changed = [f.id for f in form.fields if answers.get(f.id) != sub.answers.get(f.id)]
        video_changed = video != (sub.video or {})
        same = [
            item_label(contest, sub, i)
            for i in returned_items(sub)
            if (i == ITEM_VIDEO and not video_changed) or (i in sub.answers and i not in changed)
        ]
        mark = hashlib.sha256(json.dumps([answers, video], sort_keys=True, default=str).encode()).hexdigest()
        if same and sub.extra.get("unchanged_confirmed") != mark:
            # The return named them: the entrant says so once more before they go back unchanged.
            await self.storage.update_submission(sub.number, extra={"unchanged_confirmed": mark})
            text = (
                f"退回时要求修改的“{'、'.join(same)}”与退回前相同，还没有改动。请发送“修改”选择该项，"
                "改好后再回复“确认提交”；如确实不需要改动，请再次回复“确认提交”。"
            )
            return ReviewOutcome(False, "unchanged", text)
        needs_scan = bool(changed) or ITEM_SCAN in returned_items(sub)
        # What was changed, as it read before and after: the organisers see it in the history.
        changes = {f: [shown_value(sub.answers.get(f)), shown_value(answers.get(f))] for f in changed}
        history = HistoryEntry(
            now,
            str(user),
            "resubmitted",
            detail={"fields": changed, "changes": changes, "video": video_changed, "scan_again": needs_scan},
        )
        stored = await self.storage.update_submission(
            sub.number,
            status="submitted" if needs_scan else None,
            answers=answers,
            video=video,
            extra={
                "review": None,
                "scans": None if needs_scan else sub.extra.get("scans"),
                "previous_scans": sub.extra.get("scans") if needs_scan else None,
            },
            history=history.to_json(),
        )
        # Named by its title as now stored: the fix may have been the title itself.
        text = f"已重新提交 {sub.number}{title_of(contest, stored)}（编号和名额不变），主办方将再次审查。"
        return ReviewOutcome(True, "resubmitted", text, stored, needs_scan)

    async def own_submissions(self, user: UserKey) -> str | None:
        """:meth:`mine_text` for a question about one's own submissions, None when there are none
        (then the question goes to a person as before)."""
        if not await self.storage.list_submissions(user=user):
            return None
        return "您问的是本人投稿的情况，以下是系统中的记录：\n" + await self.mine_text(user)

    async def mine_text(self, user: UserKey, now: dt.datetime | None = None) -> str:
        """我的投稿: every submission of the user with its state, the reason of a decision,
        what is still missing and the days left."""
        now = now or self.clock()
        subs = await self.storage.list_submissions(user=user)
        if not subs:
            return "您还没有提交过作品。发送“开始”报名。"
        lines = [f"您的投稿（{len(subs)} 份）："]
        for i, sub in enumerate(subs, 1):
            contest = self.contests.get(sub.contest_id)
            if contest is None:
                continue
            state = state_of(sub)
            lines.append(
                f"{i}. {sub.number}{title_of(contest, sub)}【{state_text(sub)}】{contest.short_title}"
            )
            lines.extend("   " + line for line in self._explain(contest, sub, state, now))
        return "\n".join(lines)

    def _explain(self, contest: Contest, sub: Submission, state: ReviewState, now: dt.datetime) -> list[str]:
        found: list[str] = []
        decision = last_decision(sub) or {}
        if state in (ReviewState.RETURNED, ReviewState.REJECTED) or (
            state is ReviewState.PASSED and decision.get("reason")
        ):
            found.append(f"理由：{decision.get('reason')}")
        if state is ReviewState.RETURNED:
            names = "、".join(item_label(contest, sub, i) for i in returned_items(sub))
            found.append(f"需要修改：{names}；发送“修改 {sub.number}”修改后重新提交。")
        if state is ReviewState.AWAITING_UNIT:
            found.append(f"待“{sub.extra.get('awaiting_unit')}”确认推荐。")
        if (district := awaiting_district(sub)) and state in (ReviewState.SUBMITTED, ReviewState.COMPLETE):
            found.append(f"已报送至“{district}”，待其择优推荐；推荐后才报送主办方进行形式审查。")
        missing = []
        if sub.status != "complete" and state not in (ReviewState.WITHDRAWN, ReviewState.REJECTED):
            # A person entering on their own signs and has no seal (fourth trial round: told 签字盖章).
            signed = "签字" if contest.by_individual(sub.channel_id, sub.form_id, sub.answers) else "签字盖章"
            missing.append(f"{signed}的扫描件（发送“开始”继续上传）")
        if missing:
            found.append("还缺：" + "、".join(missing))
        if state not in (ReviewState.WITHDRAWN, ReviewState.REJECTED, ReviewState.PASSED):
            days = days_left(contest, now)
            found.append(f"距截止还有 {days} 天。" if days >= 0 else "已截止。")
        return found


def _decided(subs: Sequence[Submission]) -> dict[str, int]:
    return {s.number: sum(1 for h in history_of(s) if h.event == "decided") for s in subs}
