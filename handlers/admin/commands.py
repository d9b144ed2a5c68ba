"""The organisation commands in chat.

:class:`OrgCommands` recognises the chat commands (绑定 / 配额 / 撤回 / 导出, and for the
units that choose among the works submitted through them, cq's 区县: 推荐列表 / 推荐 / 取消推荐 /
推荐表) and answers them with :class:`~contests.events.Reply` lists, so a channel routes a
message to it before the submission dialog.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from contests.events import Document, Reply
from contests.records import UserKey
from forms.render import DISTRICT_FORM, filename_stem, render_district_list_async
from forms.sheet import FormError
from handlers.admin.invites import parse_bind
from handlers.admin.service import AdminService, Denied
from handlers.quota.service import QuotaService

__all__ = ["Command", "OrgCommands", "match_command"]


@dataclass(frozen=True, slots=True)
class Command:
    """An organisation command recognised in a message, with its argument."""

    name: Literal[
        "bind",
        "quota",
        "withdraw",
        "withdraw_confirmed",
        "withdraw_kept",
        "export",
        "candidates",
        "recommend",
        "unrecommend",
        "district_list",
    ]
    arg: str = ""
    contest: str | None = None


_NUMBER = r"([A-Z]{2,6}\d{4}-\d{6})"
_CONTEST = r"(?:\s+([a-z0-9][a-z0-9_-]+))?"
_QUOTA = re.compile(r"^(?:配额|名额|quota|/quota)(?:\s+(\S+))?$", re.IGNORECASE)
_WITHDRAW = re.compile(rf"^(?:撤回|withdraw|/withdraw)\s*[:：]?\s*{_NUMBER}$", re.IGNORECASE)
# 撤回 asks first (as 取消 does); only these withdraw, and 不撤回 is answered.
_WITHDRAW_YES = re.compile(
    rf"^(?:确认撤回|确定撤回|/?withdraw_confirm)(?:\s*[:：]?\s*{_NUMBER})?$", re.IGNORECASE
)
_WITHDRAW_NO = re.compile(
    rf"^(?:不撤回了?|先不撤回|不要撤回|别撤回)(?:\s*[:：]?\s*{_NUMBER})?$", re.IGNORECASE
)
_EXPORT = re.compile(rf"^(?:导出|export|/export)(?:\s+(xlsx|csv|json|excel))?{_CONTEST}$", re.IGNORECASE)
# The units that choose among the works submitted through them (cq 区县).  "推荐" alone is a
# dialog answer (the channel): only "推荐 <编号>" is the command.
_CANDIDATES = re.compile(rf"^(?:推荐列表|待推荐|/?recommendations|/?candidates){_CONTEST}$", re.IGNORECASE)
_RECOMMEND = re.compile(rf"^(?:推荐|/?recommend)\s*[:：]?\s*{_NUMBER}$", re.IGNORECASE)
_UNRECOMMEND = re.compile(rf"^(?:取消推荐|/?unrecommend)\s*[:：]?\s*{_NUMBER}$", re.IGNORECASE)
# "推荐表", "推荐表 cq-2023-scientist-spirit", and for an organiser "推荐表 江北区".
_DISTRICT_LIST = re.compile(
    rf"^(?:推荐表|/?district_list|/?recommend_form){_CONTEST}(?:\s+(\S+))?$", re.IGNORECASE
)


def match_command(text: str) -> Command | None:
    """The organisation command a whole message is, if any."""
    stripped = unicodedata.normalize("NFKC", text).strip()
    if (code := parse_bind(stripped)) is not None:
        return Command("bind", code)
    if m := _QUOTA.match(stripped):
        return Command("quota", contest=m.group(1))
    if m := _WITHDRAW.match(stripped):
        return Command("withdraw", m.group(1).upper())
    if m := _WITHDRAW_YES.match(stripped):
        return Command("withdraw_confirmed", (m.group(1) or "").upper())
    if m := _WITHDRAW_NO.match(stripped):
        return Command("withdraw_kept", (m.group(1) or "").upper())
    if m := _EXPORT.match(stripped):
        fmt = (m.group(1) or "xlsx").lower()
        return Command("export", "xlsx" if fmt == "excel" else fmt, contest=m.group(2))
    if m := _CANDIDATES.match(stripped):
        return Command("candidates", contest=m.group(1))
    if m := _RECOMMEND.match(stripped):
        return Command("recommend", m.group(1).upper())
    if m := _UNRECOMMEND.match(stripped):
        return Command("unrecommend", m.group(1).upper())
    if m := _DISTRICT_LIST.match(stripped):
        return Command("district_list", m.group(2) or "", contest=m.group(1))
    return None


class OrgCommands:
    """绑定 / 配额 / 撤回 / 导出, 推荐列表 / 推荐 / 取消推荐 / 推荐表 in any channel.  ``handle``
    returns None for any other message."""

    def __init__(self, admin: AdminService, quota: QuotaService) -> None:
        self.admin = admin
        self.quota = quota

    @staticmethod
    def matches(text: str) -> bool:
        """Whether :meth:`handle` may act on ``text`` (else it returns None); no I/O."""
        return match_command(text) is not None

    async def handle(
        self, user: UserKey, text: str, *, contest_hint: str | None = None
    ) -> list[Reply] | None:
        command = match_command(text)
        if command is None:
            return None
        if command.name == "bind":
            result = await self.admin.bind(user, command.arg)
            return [Reply(result.text, meta={"bind": result.status})]
        if command.name in ("withdraw", "withdraw_confirmed"):
            # 撤回 cannot be undone: it asks first, and only 确认撤回 <编号> withdraws.
            confirmed = command.name == "withdraw_confirmed"
            if not command.arg:  # the confirmation names the number: nothing is kept between messages
                text = "请连同编号一起回复，例如“确认撤回 KP2026-000001”。"
                return [Reply(text, meta={"withdraw": "number_needed"})]
            done = await self.quota.withdraw(user, command.arg, confirmed=confirmed)
            return [Reply(done.text, meta={"withdraw": done.code})]
        if command.name == "withdraw_kept":
            text = f"好的，没有撤回{' ' + command.arg if command.arg else ''}，报名保持不变。"
            return [Reply(text, meta={"withdraw": "kept"})]
        if command.name in ("recommend", "unrecommend"):
            act = self.quota.recommend if command.name == "recommend" else self.quota.unrecommend
            picked = await act(user, command.arg)
            return [Reply(picked.text, meta={command.name: picked.code})]
        contest_id = await self._contest_for(user, command.contest or contest_hint)
        if contest_id is None:
            example = next(iter(self.admin.contests)).id if len(self.admin.contests) else "大赛编号"
            word = {"quota": "配额", "export": "导出", "candidates": "推荐列表", "district_list": "推荐表"}
            text = f"请注明大赛，例如：{word[command.name]} {example}"
            return [Reply(text, meta={"error": "contest_needed"})]
        if command.name == "quota":
            return [Reply(await self.quota.quota_text(user, contest_id))]
        if command.name == "candidates":
            return [Reply(await self.quota.candidates_text(user, contest_id))]
        if command.name == "district_list":
            return await self._district_list(user, contest_id, command.arg or None)
        got = await self.admin.export_for(user, contest_id, command.arg)
        if isinstance(got, Denied):
            return [Reply(got.text, meta={"error": "export_denied"})]
        return [Reply(f"报名表已导出：{got.filename}", document=got)]

    async def _district_list(self, user: UserKey, contest_id: str, unit: str | None) -> list[Reply]:
        """推荐表: the unit's list form (cq 附件2) of the works it recommended, PDF and DOCX."""
        pick = await self.quota.district_pick(user, contest_id, unit)
        if isinstance(pick, str):
            return [Reply(pick, meta={"error": "district_list"})]
        try:
            form = pick.contest.form(DISTRICT_FORM)
            rendered = await render_district_list_async(pick.contest, pick.unit.name, pick.submissions)
        except (KeyError, FormError) as exc:
            return [Reply(f"推荐表没能生成：{exc}", meta={"error": "district_list"})]
        stem = filename_stem(form, pick.unit.name)
        pdf = Document(f"{stem}.pdf", rendered.pdf, "application/pdf")
        docx = Document(
            f"{stem}.docx",
            rendered.docx,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        )
        text = (
            f"“{pick.unit.name}”的《{form.title}》已生成，共 {len(pick.submissions)} 部作品"
            "（PDF 用于打印，Word 版可编辑）。请填写推荐意见、加盖公章。"
            + "".join(note.removeprefix("说明：") for note in form.footnotes)
        )
        return [Reply(text, document=pdf), Reply(docx.filename, document=docx)]

    async def _contest_for(self, user: UserKey, named: str | None) -> str | None:
        """The contest a command is about: named, else the one the user is bound in, else the
        one the user submitted to, else the one open."""
        if named:
            return named
        bound = {m.contest_id for m in await self.admin.org.list_memberships(user=user)}
        if len(bound) == 1:
            return bound.pop()
        if not bound:
            entered = {s.contest_id for s in await self.admin.storage.list_submissions(user=user)}
            if len(entered) == 1:
                return entered.pop()
            open_now = self.admin.contests.open(self.admin.clock())
            if len(open_now) == 1:
                return open_now[0].id
        return None
