"""What the quota commands say: counts, deadlines, the selection window and refusals, in the
interface's Chinese."""

from __future__ import annotations

import datetime as dt

from contests.org import Place, QuotaRefusal, Track
from contests.records import Submission
from contests.rules import Contest, EntryRoute
from handlers.quota.rules import days_left, field_value, selection_window

__all__ = [
    "cn_day",
    "count_line",
    "deadline_text",
    "noun",
    "pick_line",
    "refusal_text",
    "title_of",
    "window_text",
]


def cn_day(day: dt.date) -> str:
    """A date as written in the notices: 2023年6月1日."""
    return f"{day.year}年{day.month}月{day.day}日"


def window_text(contest: Contest, channel: EntryRoute) -> str:
    """When the units recommend, e.g. 初审阶段（2023年6月1日至7月31日）."""
    start, end, name = selection_window(contest, channel)
    last = cn_day(end) if end else ""
    if start and end and start.year == end.year:
        last = last.removeprefix(f"{end.year}年")  # 2023年6月1日至7月31日
    span = "".join([cn_day(start) if start else "", "至" if start and end else "", last])
    if start and not end:
        span += "起"
    return f"{name or channel.label}（{span}）" if span else (name or channel.label)


def pick_line(used: int, limit: int | None, least: int | None) -> str:
    """E.g. "已推荐 2/5 部（至少 3 部，还差 1 部），还可推荐 3 部。"."""
    text = f"已推荐 {used}/{limit} 部" if limit is not None else f"已推荐 {used} 部（通知未限数量）"
    if least:
        text += f"（至少 {least} 部，还差 {least - used} 部）" if used < least else f"（至少 {least} 部）"
    if limit is not None:
        text += f"，还可推荐 {max(limit - used, 0)} 部"
    return text + "。"


def deadline_text(contest: Contest, now: dt.datetime) -> str:
    """E.g. "距截止（2024年9月30日）还有 3 天。", or that the deadline is today or has passed."""
    d = contest.deadline
    when = f"{d.year}年{d.month}月{d.day}日"
    left = days_left(contest, now)
    if left < 0:
        return f"报名已于{when}截止。"
    if left == 0:
        return f"今天（{when}）截止。"
    return f"距截止（{when}）还有 {left} 天。"


def noun(track: Track) -> tuple[str, str]:
    """What ``track`` counts and its measure word: (作品, 部) or (科普号, 个)."""
    return ("科普号", "个") if track == "account" else ("作品", "部")


def count_line(
    used: int, limit: int | None, track: Track, min_works: int | None = None, verb: str = "推荐"
) -> str:
    """E.g. "作品：已推荐 2/6 部，还可推荐 4 部。", and what is missing to the notice's minimum;
    ``verb`` 自荐 for one's own entries ("已自荐 1/1 部")."""
    what, unit = noun(track)
    if limit is None:
        return f"{what}：已{verb} {used} {unit}（通知未限数量）。"
    left = max(limit - used, 0)
    text = f"{what}：已{verb} {used}/{limit} {unit}，还可{verb} {left} {unit}。"
    if track == "work" and min_works and used < min_works:
        text += f"通知要求至少{verb} {min_works} {unit}，还差 {min_works - used} {unit}。"
    return text


def _held_by(refusal: QuotaRefusal) -> str:
    """Where the place went, without the other entry's number: it may be another entrant's
    (a trial round was told "（编号 KP2026-000001）", someone else's work); one's own is in 我的投稿."""
    if refusal.claim_number:
        return "（如是您本人已提交的，可发送“我的投稿”查看）"
    return "（另一份报名正在提交）"


def refusal_text(refusal: QuotaRefusal) -> str:
    """The Chinese message for a refused entry; the entrant's answers are kept in the draft."""
    kept = "您填写的内容已保存，修改后可再次提交。"
    what, unit = noun(refusal.track)
    if refusal.reason == "no_unit":
        named = f"“{refusal.unit_name}”" if refusal.unit_name else "推荐单位"
        return (
            f"没有在本赛事已登记的推荐单位中找到{named}。此渠道须由已登记的推荐单位（{refusal.label}）推荐："
            f"请核对推荐单位全称，或请本单位代表发送邀请码绑定后再提交。{kept}"
        )
    if refusal.reason == "claimed":
        by = _held_by(refusal)
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


def title_of(contest: Contest, sub: Submission) -> str:
    """The submission's title as 《…》, or "" when its form has none."""
    try:
        form = contest.form(sub.form_id)
    except KeyError:
        return ""
    title = bare_title(str(field_value(form, sub.answers, "title") or ""))
    return book_title(title) if title else ""


def bare_title(title: str) -> str:
    """A title without the one pair of 《》 an entrant may have typed around the whole of it."""
    title = title.strip()
    if not (title.startswith("《") and title.endswith("》")):
        return title
    depth = 0
    for i, ch in enumerate(title):
        depth += 1 if ch == "《" else -1 if ch == "》" else 0
        if depth == 0 and i < len(title) - 1:
            return title  # 《A》和《B》: two titles, not one enclosed
    return title[1:-1].strip()


def book_title(title: str) -> str:
    """``title`` in 书名号, a 书名号 inside it as the single one (《〈齿轮里的山城〉——李工和他的减速器》),
    never doubled."""
    return "《" + bare_title(title).replace("《", "〈").replace("》", "〉") + "》"


def named_claim_text(refusal: QuotaRefusal) -> str:
    """Said when the first author is named and already holds this contest's one work (or this
    work was sent another way): before the rest of the form is filled in for nothing."""
    by = _held_by(refusal)
    if (refusal.claim or "").startswith("work:"):
        head = f"{refusal.detail}已报送本赛事{by}：通知规定作品只能通过一种方式参加评选。"
    else:
        head = f"第一作者“{refusal.detail}”已有作品报送本赛事{by}：通知规定同一作者只能申报一部作品。"
    return head + "请核对主创人员（按署名顺序，第一位为第一作者）；如不再报名，可回复“取消”。"


def withdraw_prompt(number: str, title: str, place: Place | None) -> str:
    """撤回 asked about first, as 取消 is: what withdrawing means, and how to confirm it."""
    freed = "，它占用的推荐名额随之释放" if place is not None and place.holder.startswith("unit:") else ""
    return (
        f"确定要撤回 {number}{title}吗？撤回即退出本次评选：这份报名作废，不再参加审查和评审{freed}。"
        "撤回后无法恢复；截止前如仍想参赛，须重新报名。\n"
        f"确认撤回请回复“确认撤回 {number}”；不撤回请回复“不撤回”。"
    )
