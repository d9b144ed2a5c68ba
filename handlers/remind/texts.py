"""The words of reminders, broadcasts and their reports, in one place: what a user reads."""

from __future__ import annotations

import datetime as dt

from contests.deliveries import Job, JobState, Reason
from contests.rules import SHANGHAI, Contest

__all__ = [
    "REASONS",
    "STATE_LABELS",
    "TEMPLATE_VALUES",
    "TEXTS",
    "VIA",
    "audience_label",
    "beijing",
    "date_cn",
    "items_text",
    "template_values",
]

TEXTS = {
    "head": "距「{title}」截止还有{days}天（{deadline}24:00截止）。",
    "head_today": "「{title}」今天（{deadline}）24:00截止。",
    "draft": "您的报名还差：{items}。发送“继续”接着填写。",
    "scan": "您的报名（编号 {number}）还差签字盖章的报名表扫描件，发送“继续”上传。",
    "unit": "本单位（{unit}）已推荐 {used}/{limit} 部，还可推荐 {left} 部。",
    "unit_min": "通知要求至少推荐 {min} 部，还差 {short} 部。",
    "unit_none": "本单位（{unit}）尚未推荐作品。",
    "footer": "（回复“退订”不再接收提醒和通知）",
    "opted_out": "已退订：不再向您发送截止提醒和主办方通知。回复“订阅”可恢复。",
    "opted_out_again": "您已经退订过了。回复“订阅”可恢复接收截止提醒和主办方通知。",
    "opted_in": "已恢复订阅：截止前会提醒您，主办方的通知也会发给您。回复“退订”可取消。",
    "opted_in_again": "您正在接收截止提醒和主办方通知。回复“退订”可取消。",
    "template_title_reminder": "截止提醒",
    "template_title_broadcast": "主办方通知",
    "template_title_notice": "投稿状态通知",
}

#: How the report words each reason code of :class:`contests.deliveries.Reason`.
REASONS = {
    Reason.OPTED_OUT: "已退订",
    Reason.NO_CHANNEL: "所在渠道不能主动发消息（终端、未启用的渠道）",
    Reason.OUTSIDE_WINDOW: "超过48小时未互动，且未配置模板消息",
    Reason.CS_QUOTA: "本次互动后可发的客服消息已用完，且未配置模板消息",
    Reason.BLOCKED: "用户已屏蔽或拒收",
    Reason.CHAT_NOT_FOUND: "找不到该用户的会话",
    Reason.UNSUBSCRIBED: "用户已取消关注公众号",
    Reason.UNCERTAIN: "发送途中服务中断，无法确认是否送达（未重发）",
    Reason.EXPIRED: "截止前未能送达",
    Reason.CANCELLED: "广播已取消",
    Reason.RETRIES: "多次重试仍失败",
    Reason.REJECTED: "平台拒绝了这条消息",
    Reason.ERROR: "其他错误",
    Reason.FLOOD: "平台限流，稍后重发",
    Reason.NETWORK: "网络不通，稍后重发",
    Reason.TEMPLATE_QUOTA: "模板消息今日额度已用完，次日再发",
}
#: How the report words each way a delivery went out (the ``via`` of a sent outcome).
VIA = {"telegram": "Telegram", "cs": "微信客服消息", "template": "微信模板消息", "push": "网页"}
_AUDIENCE_LABELS = {
    "all": "本大赛的全部参与者（有草稿或投稿的用户、推荐单位代表和主办方）",
    "drafts": "报名未完成的用户",
    "members": "推荐单位代表",
}
STATE_LABELS = {
    JobState.HELD: "待确认",
    JobState.SCHEDULED: "已安排",
    JobState.RUNNING: "发送中",
    JobState.DONE: "已完成",
    JobState.CANCELLED: "已取消",
}


def audience_label(spec: str) -> str:
    """An audience (``all``, ``unit:<名称>``, ...) as the organiser reads it."""
    if spec.startswith("unit:"):
        return f"推荐单位“{spec[5:]}”（代表及其推荐的报名人）"
    if spec == "reminder":
        return "报名未完成的用户和名额未用完的推荐单位代表"
    return _AUDIENCE_LABELS.get(spec, spec)


def date_cn(day: dt.date) -> str:
    """10月25日."""
    return f"{day.month}月{day.day}日"


def beijing(moment: dt.datetime) -> str:
    """2024-10-20 09:00, Beijing time."""
    local = moment.astimezone(SHANGHAI)
    return f"{local.year}-{local.month:02d}-{local.day:02d} {local:%H:%M}"


def items_text(items: list[str], shown: int = 5) -> str:
    """The first ``shown`` missing items, and how many there are when there are more."""
    text = "、".join(items[:shown])
    return text + (f"等 {len(items)} 项" if len(items) > shown else "")


#: The names :func:`template_values` gives, which a template's keys may be mapped to.
TEMPLATE_VALUES = ("title", "contest", "deadline", "days", "text")


def template_values(job: Job, contest: Contest | None, text: str) -> dict[str, str]:
    """What a platform's message template may show of a job (WeChat's 模板消息): its title,
    the contest, the deadline, the days left and the text without the opt-out footer."""
    return {
        "title": TEXTS[f"template_title_{job.kind.value}"],
        "contest": contest.short_title if contest else job.contest_id,
        "deadline": f"{date_cn(contest.deadline)}24:00" if contest else "",
        "days": f"{job.meta.get('days')}天" if "days" in job.meta else "",
        "text": text.replace(TEXTS["footer"], "").strip(),
    }
