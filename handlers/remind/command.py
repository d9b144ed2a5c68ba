"""退订 / 订阅 for everyone, and the organisers' 广播 commands, in any channel.

    广播 [大赛编号] 受众 [定时 2024-10-20 09:00] 内容     (held until 确认广播 编号)
    确认广播 编号 · 取消广播 编号 · 广播报告 [编号] · 广播 列表

:class:`RemindCommand` is the router's extra command (:class:`handlers.router.ChatCommand`).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from contests.deliveries import JobKind, JobState
from contests.events import Reply
from contests.org import Role
from contests.records import UserKey
from contests.rules import SHANGHAI
from handlers.remind.audience import AudienceError, parse_audience
from handlers.remind.service import RemindService
from handlers.remind.texts import STATE_LABELS, audience_label, beijing

__all__ = ["USAGE", "RemindCommand", "is_chat_command"]

_COMMAND = re.compile(r"^(?:广播|群发|/?broadcast)(?=$|\s)\s*(.*)$", re.IGNORECASE | re.DOTALL)
_SHORT = re.compile(r"^(确认广播|取消广播|广播报告)\s*(\S*)\s*$")
_WHEN = re.compile(
    r"^(?:(?P<y>\d{4})[-/年－])?(?P<m>\d{1,2})[-/月－](?P<d>\d{1,2})日?(?:\s+|T)"
    r"(?P<H>\d{1,2})[:：](?P<M>\d{2})\s*(?P<rest>.*)$",
    re.DOTALL,
)
USAGE = (
    "群发用法（主办方）：\n"
    "广播 [大赛编号] 受众 [定时 2024-10-20 09:00] 内容\n"
    "受众：全部、草稿（报名未完成）、代表（推荐单位代表）、单位:单位名称\n"
    "例：广播 草稿 距截止还有三天，请尽快完成报名。\n"
    "其他：广播 列表｜广播报告 编号｜取消广播 编号"
)

_OPT_OUT = frozenset({"退订", "取消订阅", "退订提醒", "td", "unsubscribe", "/unsubscribe"})
_OPT_IN = frozenset({"订阅", "恢复订阅", "订阅提醒", "subscribe", "/subscribe"})


def is_chat_command(text: str) -> bool:
    """Whether ``text`` may be 退订 / 订阅 or a 广播 command (no I/O: whether the sender may
    broadcast is :meth:`RemindCommand.__call__`'s to find out)."""
    word = unicodedata.normalize("NFKC", text).strip().casefold()
    stripped = text.strip()
    return word in _OPT_OUT or word in _OPT_IN or bool(_SHORT.match(stripped) or _COMMAND.match(stripped))


def _pop(text: str) -> tuple[str, str]:
    m = re.match(r"\s*(\S+)\s*(.*)$", text, re.DOTALL)
    return (m.group(1), m.group(2)) if m else ("", "")


class RemindCommand:
    """退订 / 订阅 / 广播 as the router's extra command, on a :class:`RemindService`."""

    def __init__(self, service: RemindService) -> None:
        self.service = service

    def matches(self, user: UserKey, text: str) -> bool:
        return is_chat_command(text)

    async def __call__(self, user: UserKey, text: str) -> list[Reply] | None:
        """退订 / 订阅 (the whole message) and the organisers' 广播 commands; None for anything
        else, and always when :func:`is_chat_command` is False."""
        if not is_chat_command(text):
            return None
        word = unicodedata.normalize("NFKC", text).strip().casefold()
        if word in _OPT_OUT:
            return await self.service.set_opt_out(user, True)
        if word in _OPT_IN:
            return await self.service.set_opt_out(user, False)
        return await self.handle_command(user, text)

    async def handle_command(self, user: UserKey, text: str) -> list[Reply] | None:
        """广播 … / 确认广播 ID / 取消广播 ID / 广播报告 [ID] / 广播 列表, for organisers.
        None when ``text`` is not such a command."""
        stripped = text.strip()
        if not (_SHORT.match(stripped) or _COMMAND.match(stripped)):
            return None
        svc = self.service
        if not any(m.role is Role.ORGANISER for m in await svc.org.list_memberships(user=user)):
            # Not an organiser anywhere: the words are an entrant's, e.g. an answer in the
            # dialog that happens to start with 广播; let the dialog have them.
            return None
        if m := _SHORT.match(stripped):
            verb, arg = {"确认广播": "确认", "取消广播": "取消", "广播报告": "报告"}[m.group(1)], m.group(2)
            return await self._verb(user, verb, arg)
        m = _COMMAND.match(stripped)
        if m is None:
            return None
        rest = m.group(1)
        word, after = _pop(rest)
        if not word or word in ("帮助", "help", "?", "？"):
            return [Reply(USAGE)]
        if word in ("确认", "取消", "报告", "列表", "状态"):
            return await self._verb(user, word, _pop(after)[0])
        contest_id: str | None = None
        if svc.contests.get(word) is not None:
            contest_id, rest = word, after
        contest_id, denied = await self._organiser_contest(user, contest_id)
        if denied is not None:
            return [denied]
        assert contest_id is not None
        word, rest = _pop(rest)
        try:
            spec = parse_audience(word)
        except AudienceError as exc:
            return [Reply(f"{exc}\n\n{USAGE}", meta={"error": "audience"})]
        at: dt.datetime | None = None
        if rest.startswith(("定时", "at ")):
            try:
                at, rest = self._parse_when(rest.removeprefix("定时").removeprefix("at "))
            except ValueError as exc:
                return [Reply(str(exc), meta={"error": "when"})]
        try:
            job, reach = await svc.create_broadcast(contest_id, spec, rest, at=at, by=str(user), hold=True)
        except ValueError as exc:
            return [Reply(str(exc), meta={"error": "broadcast"})]
        when = "确认后立即发送" if at is None else f"{beijing(job.at)}（北京时间）发送"
        body = job.text
        return [
            Reply(
                f"将向{audience_label(spec)}共 {reach} 人发送以下消息，{when}：\n——\n{body}\n——\n"
                f"回复“确认广播 {job.id}”发送，回复“取消广播 {job.id}”作废。",
                meta={"job": job.id},
            )
        ]

    def _parse_when(self, text: str) -> tuple[dt.datetime, str]:
        # On the original text (\d and int() take full-width digits too): the message after
        # the time must reach the recipients exactly as typed.
        m = _WHEN.match(text.strip())
        if m is None:
            raise ValueError("定时的写法：定时 2024-10-20 09:00（北京时间）")
        now = self.service.clock().astimezone(SHANGHAI)
        year = int(m.group("y") or now.year)
        try:
            local = dt.datetime(
                year,
                int(m.group("m")),
                int(m.group("d")),
                int(m.group("H")),
                int(m.group("M")),
                tzinfo=SHANGHAI,
            )
        except ValueError:
            raise ValueError("定时的日期或时间不存在。") from None
        return local, m.group("rest")

    async def _organiser_contest(self, user: UserKey, named: str | None) -> tuple[str | None, Reply | None]:
        """The contest an organiser's command is about: named, else their only one."""
        memberships = await self.service.org.list_memberships(user=user)
        mine = [m.contest_id for m in memberships if m.role is Role.ORGANISER]
        if named is not None:
            if named not in mine:
                return None, Reply(f"只有“{named}”的主办方可以群发消息。", meta={"error": "forbidden"})
            return named, None
        if not mine:
            return None, Reply(
                "只有主办方可以群发消息；请先发送主办方邀请码绑定。", meta={"error": "forbidden"}
            )
        if len(set(mine)) > 1:
            return None, Reply(
                f"您是多个大赛的主办方，请注明大赛：广播 {mine[0]} 受众 内容",
                meta={"error": "contest_needed"},
            )
        return mine[0], None

    async def _verb(self, user: UserKey, verb: str, arg: str) -> list[Reply]:
        svc = self.service
        if verb in ("列表", "状态") or (verb == "报告" and not arg):
            contest_id, denied = await self._organiser_contest(user, None)
            if denied is not None:
                return [denied]
            assert contest_id is not None
            # Notices to single entrants about their own work are not the organisers' broadcasts.
            jobs = [
                j for j in await svc.jobs.list_jobs(contest_id=contest_id) if j.kind is not JobKind.NOTICE
            ]
            if verb == "报告":
                if not jobs:
                    return [Reply("还没有广播或提醒。")]
                report = await svc.report(jobs[-1].id)
                assert report is not None
                return [Reply(report.text())]
            if not jobs:
                return [Reply("还没有广播或提醒。")]
            lines = ["最近的广播和提醒："]
            for j in jobs[-10:]:
                what = "提醒" if j.kind is JobKind.REMINDER else "广播"
                lines.append(
                    f"· {j.id} {what} {STATE_LABELS[j.state]} {beijing(j.at)} {audience_label(j.audience)}"
                )
            return [Reply("\n".join(lines))]
        job = await svc.jobs.get_job(arg.upper()) or await svc.jobs.get_job(arg)
        if job is None:
            return [Reply(f"没有编号为“{arg}”的广播。", meta={"error": "not_found"})]
        _, denied = await self._organiser_contest(user, job.contest_id)
        if denied is not None:
            return [denied]
        if verb == "确认":
            confirmed = await svc.confirm(job.id)
            if confirmed is None:
                return [Reply(f"广播 {job.id} 当前{STATE_LABELS[job.state]}，无需确认。")]
            return [
                Reply(
                    f"广播 {job.id} 已确认，{beijing(confirmed.at)} 开始发送。"
                    f"发送“广播报告 {job.id}”查看结果。"
                )
            ]
        if verb == "取消":
            if job.state in (JobState.DONE, JobState.CANCELLED):
                return [Reply(f"广播 {job.id} 已{STATE_LABELS[job.state].removeprefix('已')}，不能取消。")]
            await svc.cancel(job.id)
            return [Reply(f"广播 {job.id} 已取消；尚未发出的不再发送。")]
        report = await svc.report(job.id)
        assert report is not None
        return [Reply(report.text())]
