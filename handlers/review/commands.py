"""The formal review in chat: 我的投稿 (also 查询 / 进度 once nothing is being filled in),
修改 <编号> for a returned submission, and for organisers 审核 <编号> 通过|退回|不通过 <理由>."""

from __future__ import annotations

import re
import unicodedata

from contests.events import Reply
from contests.records import UserKey
from contests.review import ITEM_SCAN, ITEM_VIDEO, Decision
from dialogs.states import Step
from handlers.review.service import ReviewService
from handlers.submit import SubmitHandler

__all__ = ["ReviewCommands"]

_NUMBER = r"([A-Za-z]{2,6}\d{4}-\d{6})"
_MINE = re.compile(r"^(?:我的投稿|我的作品|我的报名|查询|查询进度|投稿状态|/?mine|/?my)$", re.IGNORECASE)
_STATUS = re.compile(r"^(?:进度|/?status)$", re.IGNORECASE)
_AMEND = re.compile(rf"^(?:修改|/?amend)\s*[:：]?\s*{_NUMBER}$", re.IGNORECASE)
# 审核 KP2026-000001 退回 视频,扫描件 理由……  (the items only for 退回, separated by , ， 、)
_DECIDE = re.compile(rf"^(?:审核|/?review)\s+{_NUMBER}\s+(\S+)(?:\s+(.*))?$", re.IGNORECASE | re.DOTALL)
_DECISIONS = {
    "通过": Decision.PASS, "pass": Decision.PASS,
    "退回": Decision.RETURN, "退回修改": Decision.RETURN, "return": Decision.RETURN,
    "不通过": Decision.REJECT, "未通过": Decision.REJECT, "reject": Decision.REJECT,
}  # fmt: skip
_ITEM_WORDS = {"视频": ITEM_VIDEO, "video": ITEM_VIDEO, "扫描件": ITEM_SCAN, "scan": ITEM_SCAN}


def _clean(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


class ReviewCommands:
    """A :class:`~handlers.router.ChatCommand` for the review loop."""

    def __init__(self, review: ReviewService, submit: SubmitHandler) -> None:
        self.review = review
        self.submit = submit

    def matches(self, user: UserKey, text: str) -> bool:
        t = _clean(text)
        return bool(_MINE.match(t) or _STATUS.match(t) or _AMEND.match(t) or _DECIDE.match(t))

    async def __call__(self, user: UserKey, text: str) -> list[Reply] | None:
        t = _clean(text)
        if _MINE.match(t):
            return [Reply(await self._mine(user))]
        if _STATUS.match(t):
            draft = await self.submit.storage.get_draft(user)
            if draft is not None and draft.data.get("step") != Step.SCAN:
                return None  # the dialog's own 进度: where the entrant is in the form
            if not await self.submit.storage.list_submissions(user=user):
                return None
            return [Reply(await self.review.mine_text(user))]
        if m := _AMEND.match(t):
            return await self._amend(user, m.group(1).upper())
        if m := _DECIDE.match(t):
            return [Reply(await self._decide(user, m.group(1).upper(), m.group(2), m.group(3) or ""))]
        return None

    async def _mine(self, user: UserKey) -> str:
        """我的投稿, and the form still being filled in: tried as an entrant on the review page,
        "您还没有提交过作品。发送“开始”报名。" read as if the whole form were lost."""
        draft = await self.submit.storage.get_draft(user)
        # A draft with nothing in it yet (帮助 after a receipt starts one) is no form being filled.
        data = draft.data if draft is not None else {}
        filling = data.get("step") != Step.SCAN and not data.get("amend") and bool(data.get("answers"))
        if not filling:
            return await self.review.mine_text(user)
        pending = "正在填写的报名还没有提交：发送“进度”查看填到哪一项，填完后在核对页回复“确认提交”。"
        if not await self.submit.storage.list_submissions(user=user):
            return "您还没有提交过作品。" + pending
        return await self.review.mine_text(user) + "\n另有一份" + pending

    async def _amend(self, user: UserKey, number: str) -> list[Reply]:
        draft = await self.submit.storage.get_draft(user)
        data = draft.data if draft is not None else {}
        # A draft with nothing entered (a question asked without a prefix starts one) is no
        # form being filled: tried as an entrant, "我的作品审核通过了吗" then blocked 修改.
        started = bool(data.get("answers")) or bool(data.get("video"))
        if started and data.get("step") != Step.SCAN and data.get("amend") != number:
            return [Reply("您有一份正在填写的报名，请先提交或发送“取消”，再修改已提交的作品。")]
        state = await self.review.reopen_state(user, number)
        if isinstance(state, str):
            return [Reply(state)]
        head = f"正在修改 {number}："
        if asked := await self.review.return_note(number):  # the return's reason and items, again
            head += asked + "\n"
        head += "核对后可按编号修改各项，改好后回复“确认提交”重新提交。"
        return await self.submit.reopen(user, state, head=head)

    async def _decide(self, user: UserKey, number: str, word: str, rest: str) -> str:
        decision = _DECISIONS.get(word.lower())
        if decision is None:
            return (
                "审核结论应为“通过”“退回”或“不通过”，例如："
                "审核 KP2026-000001 退回 视频,作品名称 片头缺少作品名称。"
            )
        items: list[str] = []
        reason = rest.strip()
        if decision is Decision.RETURN and reason:
            first, _, after = reason.partition(" ")
            sub = await self.submit.storage.get_submission(number)
            contest = self.review.contests.get(sub.contest_id) if sub else None
            by_label = {}
            if sub is not None and contest is not None:
                by_label = {label: key for key, label in self.review.valid_items(contest, sub).items()}
                by_label |= {key: key for key in self.review.valid_items(contest, sub)}
            words = [w for w in re.split(r"[,，、]", first) if w]
            named = [_ITEM_WORDS.get(w.lower(), by_label.get(w, "")) for w in words]
            if words and all(named):
                items, reason = named, after.strip()
        outcome = await self.review.decide(number, decision, reason, by=user, items=items)
        return outcome.text
