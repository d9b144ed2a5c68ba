"""What one part of a message takes from the rest and from the contest: every item of a list it
asks for, the route or unit another part names, and the day it asks about against the deadline."""

from __future__ import annotations

import datetime as dt
import re

from contests.rules import Contest, Stage
from handlers.helpdesk.analyzer import normalise
from handlers.helpdesk.facts import INTRODUCES_A_LIST
from handlers.helpdesk.index import Hit, KnowledgeBase
from handlers.helpdesk.places import listed_units, place_of

#: A question that asks for every item of something ("拍摄方向有哪几个", "分哪几类").
ASKS_A_LIST = re.compile(
    r"哪些|哪几|几个(?:阶段|环节|步骤)|几轮|哪[两三四五六]|有什么|有啥|包括什么|包括啥|[几两三四五六]类|[几两三四五六]种|几个方向|分别是"
    # Directions suggested ("有没有推荐的选题方向"); where and how something is done, step by step.
    r"|推荐的[^，。？?]{0,4}(方向|选题)|(选题|方向)[^，。？?]{0,4}(推荐|参考)|(在哪|哪里|怎么|如何)(里)?操作|步骤|(在哪|哪里|哪儿)(里)?(找|看|删|改)|按钮在哪|入口在哪"
)
#: How a clause that is one item of a list ends its citation: （四）, 4., （4）.
_ITEM = re.compile(r"\s(（[一二三四五六七八九十\d]+）|\d+[.．、])$")
#: A list longer than this is a section, not an answer.
MOST_ITEMS = 8


def items_of(base: KnowledgeBase, top: Hit) -> list[Hit]:
    """When the best entry is one item of the notice's list (附件1 一、作品方向 （四）), every item
    of that list in the notice's order: a question asking which ones wants them all."""
    entry = top.entry
    if entry.kind != "clause" or not _ITEM.search(entry.source):
        return []
    parent = _ITEM.sub("", entry.source)
    items = [e for e in base.entries if e.kind == "clause" and _ITEM.sub("", e.source) == parent
             and _ITEM.search(e.source)]  # fmt: skip
    if not 2 <= len(items) <= MOST_ITEMS:
        return []
    return [top if e is entry else Hit(e, top.score, top.confidence) for e in items]


#: An item numbered （1）, （2）… after a numbered clause of the same section.
_SUB_ITEM = re.compile(r"\s（\d+）$")


def lead_of(base: KnowledgeBase, top: Hit) -> Hit | None:
    """The clause that an item of a list is read under, when the notice states a rule there ("2. 非原创
    部分不得超过视频总时长的10%，以下涉及……均视为非原创部分" above "（4）使用人工智能生成的……"): an
    item quoted alone would say that AI footage is non-original, not how much of it is allowed."""
    entry = top.entry
    if entry.kind != "clause" or not _SUB_ITEM.search(entry.source):
        return None
    section = _SUB_ITEM.sub("", entry.source)
    at = base.entries.index(entry)
    for earlier in reversed(base.entries[:at]):
        if earlier.kind != "clause" or not earlier.source.startswith(section):
            return None
        if _SUB_ITEM.search(earlier.source):
            continue
        return Hit(earlier, top.score, top.confidence) if INTRODUCES_A_LIST.search(earlier.text) else None
    return None


#: How a message names the way its works are entered: later parts of it ask about the same way.
ROUTE_WORDS = re.compile(r"(地方|单位|部门|省级|区县|省里|市里)推荐|社会征集|自荐|个人会员|单位会员")


def route_word(text: str) -> str | None:
    """The route a question names in words ("地方推荐"), if any."""
    found = ROUTE_WORDS.search(text)
    return found.group(0) if found else None


def with_route_named(parts: list[str]) -> list[str]:
    """Each part of a message that names no route, with the route an earlier part named ("地方推荐的
    作品，要寄什么、又要往邮箱发什么": the e-mail is the 地方推荐 one too)."""
    named = ""
    out = []
    for part in parts:
        found = ROUTE_WORDS.search(part)
        if found:
            named = found.group(0)
        out.append(part if found or not named else f"{named} {part}")
    return out


def selection_stage(contest: Contest, text: str, *, any_unit: bool = False) -> tuple[str, Stage] | None:
    """The unit ``text`` names, as named, and the schedule's stage at which it selects the works
    it recommends (cq's districts: 初审阶段, to 7月31日), when its route has one: a unit the notice
    names (渝中区), or with ``any_unit`` the kind's word alone too ("区县能推几个").  None otherwise."""
    place = place_of(text, contest)
    if place is None or not place.route.selection_stage:
        return None
    if not any_unit and place.named not in listed_units(contest):
        return None
    stage = next((s for s in contest.schedule if s.name == place.route.selection_stage), None)
    return (place.named, stage) if stage is not None else None


#: "7月1号还来得及吗": a day of the year, and whether something can still be done then.
_ON_DAY = re.compile(r"(?:(\d{4})年)?(\d{1,2})月(\d{1,2})[日号]")
#: A day said as a bound ("7月31日前", "之前", "截止"): a deadline, not the day the asker acts on.
_BY_DAY = re.compile(r"\s*(?:前|之前|以前|截止|截至|为止)")
#: A day of the work's own life ("3月10日才首播"): the question is about the work's window, not the deadline.
_WORK_DAY = re.compile(r"播|制作|完成|拍摄|拍完|做好|做完|上线|发布")
_STILL = re.compile(
    r"来得及|来不及|赶得上|赶不上|还能|还可以|还行|晚了|迟了|过期|逾期|超时|过了|截止了"
    # "6月28号交上去，应该还在时间内吧", "5月8号交可以吧"
    r"|时间内|期限内|截止前|之内吧|(?:交|寄|报|提交|寄出|发)[^，。？?]{0,6}(?:可以吧|可以吗|行吗|行吧|没问题吧)"
)


def in_time(base: KnowledgeBase, contest: Contest, text: str) -> str | None:
    """Whether the day a question names is within the entrants' deadline, with the deadline's
    clause; None when the question does not ask that."""
    still = _STILL.search(text)
    if still is None or _WORK_DAY.search(text):
        return None
    # The day the asker will act on is the one told last before the asking ("截止是10月25号还是10月31号？
    # 我们10月28号寄出来得及吗" asks about the 28th), but not a deadline they repeat ("6月5号交给区县，
    # 区县7月31日前报送组委会，来得及吗" asks about the 5th) unless it is the only day told.
    days = [d for d in _ON_DAY.finditer(text) if d.start() < still.end()]
    acted = [d for d in days if not _BY_DAY.match(text, d.end())] or days
    if not acted:
        return None
    found = acted[-1]
    entry = base.entry("fact:deadline")
    if entry is None:
        return None
    year = int(found.group(1)) if found.group(1) else contest.deadline.year
    try:
        day = dt.date(year, int(found.group(2)), int(found.group(3)))
    except ValueError:
        return None
    asked = f"{day.month}月{day.day}日"
    deadline, lead = contest.deadline, ""
    selecting = selection_stage(contest, text)
    if selecting is not None and selecting[1].end is not None:  # a named unit selects until its stage ends
        unit, stage = selecting
        deadline = end = selecting[1].end
        entry = base.entry(f"fact:schedule.{contest.schedule.index(stage)}") or entry
        lead = f"{unit}推荐作品的期限是{stage.name}结束（{end.month}月{end.day}日）。"
    if not lead and contest.opens and day < contest.opens:
        opens = f"{contest.opens.year}年{contest.opens.month}月{contest.opens.day}日"
        verdict = f"您说的{asked}还没到征集开始的日子（{opens}），那时还不能提交。"
    elif day <= deadline:
        verdict = (
            f"您说的{asked}在截止日期之内（截止日当天仍可提交），来得及；请尽早提交，留出检查和修改的时间。"
        )
    else:
        verdict = f"您说的{asked}已过截止日期，按通知不能再提交；如有特殊情况，请直接联系主办方。"
    return f"{lead}{verdict}\n{entry.render()}"


#: A question about when something is due, in the words the analyzer reads as its 截止 intent.
_WHEN_DUE = re.compile(r"截止|最晚|什么时候|啥时候|几号|哪天|时间")


def at_stage(part: str, stage: Stage | None, contest: Contest) -> str:
    """A part asking when things are due, asked by a unit that selects works at ``stage``, is about
    that stage's end (cq's districts: 初审阶段, 7月31日), not the entrants' deadline."""
    if stage is None or not _WHEN_DUE.search(part) or place_of(normalise(part), contest) is not None:
        return part
    return f"{part} {stage.name}"


#: A selecting unit as the one that recommends ("区县推荐的截止时间", "区里往市里推", "区县报组委会"),
#: not as where an entrant sends ("交给区县", "报到区县科技局"): its deadline is its stage's end.
_UNIT = r"(?:区县|区里|县里|区上|县上|[\u4e00-\u9fff]{1,5}[区县])(?:科技局|科委|科协|主管部门|那边|这边)?"
_UNIT_RECOMMENDS = re.compile(
    _UNIT
    + r"(?:的)?(?:择优|最晚|最迟|啥时候|什么时候|好久|几号|要|得|把作品){0,3}"
    + r"(?:推荐|推|报送|上报|往|向|报给|报到|交给|交到|报组委会|交组委会)"
    + r"|(?:区县|区里|县里).{0,8}(?:组委会|市里|市上|市科技局)"
)
_TO_UNIT = re.compile(r"(?:交|报|送|投|发|寄)(?:给|到|至|去)?(?:所在|所属|我们|本)?(?:的)?" + _UNIT)


def unit_recommends(contest: Contest, text: str) -> Stage | None:
    """The stage at which the unit a question names as recommending selects its works, when the
    question asks when that is due (cq: "区县推荐的截止时间" → 初审阶段, 7月31日)."""
    if not _WHEN_DUE.search(text) or not _UNIT_RECOMMENDS.search(text) or _TO_UNIT.search(text):
        return None
    selecting = selection_stage(contest, text, any_unit=True)
    return selecting[1] if selecting is not None else None


#: Two sizes a question may set side by side: the video's and the scanned forms' upload limit.
_SIZES = ("fact:video.size", "fact:delivery.scan_limits")
_NAMES_VIDEO = re.compile(r"视频|片子|\bvideo")
_NAMES_SCANS = re.compile(r"附件|扫描|\battachment|\bscan")
_CALL_NAMES = re.compile(
    r"科普微视频|微视频(?:评选|大赛|征集)|science (?:micro-?)?video (?:contest|competition|call)"
)


def other_size(base: KnowledgeBase, top: Hit, text: str) -> Hit | None:
    """The other of the two sizes, when the question names both the video and the scans ("我视频150兆，
    可附件那块写着每个20M以内"): each limit is told, or the entrant reads the scans' 20M as the video's."""
    text = _CALL_NAMES.sub("", text)  # "黑龙江省优秀科普微视频评选" names the call, not the file
    if top.entry.id not in _SIZES or not (_NAMES_VIDEO.search(text) and _NAMES_SCANS.search(text)):
        return None
    other = base.entry(next(i for i in _SIZES if i != top.entry.id))
    return Hit(other, top.score, top.confidence) if other is not None else None


#: Sending past the unit that selects ("我们单位能不能直接发到组委会邮箱"), or asking whom to send to
#: ("片子交给哪个部门嘛"): the route goes through it.
_PAST_UNIT = re.compile(
    r"(?:交|报|送|发)(?:给|到)(?:哪个|哪|什么|啥)(?:部门|单位|地方|里)|(?:交|报|送)给谁|找哪个部门|"
    r"直接[^，。？?]{0,10}(?:发|交|报|送|寄|投|传)[^，。？?]{0,6}(?:组委会|主办方|市里|市科技局|大赛)"
    r"|(?:发|交|报|送|寄|投|传)[^，。？?]{0,4}(?:组委会|主办方|市里)[^，。？?]{0,6}直接"
    r"|(?:不经过|绕过|跳过|不通过)[^，。？?]{0,4}(?:区县|区里|县里)"
)


def route_through(contest: Contest, text: str) -> str | None:
    """The id of the route whose units select the works (cq's districts), when a question asks about
    sending past them straight to the organisers; None otherwise."""
    if not _PAST_UNIT.search(text):
        return None
    return next((c.id for c in contest.channels if c.selection_stage), None)
