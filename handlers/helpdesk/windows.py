"""A work's own dates, as an entrant tells them ("22年12月做完的，23年1月才上线"), checked against
the notice's production and broadcast windows: the answer says whether the work qualifies."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from contests.rules import Contest, Window
from handlers.helpdesk.index import KnowledgeBase

#: A year (2022年, 22年, 去年), then a month (3月, 3月份, 3月10日) or a part of the year (年底, 年初).
_WHEN = re.compile(
    r"(?:(?P<year>\d{4}|\d{2})年|(?P<rel>去年|前年|今年))"
    r"(?:(?P<month>\d{1,2}|十[一二]|[一二三四五六七八九十])月份?(?:(?P<day>\d{1,2})[日号])?"
    r"|(?P<part>底|末|初|年底|年末|年初))?"
)
#: What happened then, said right after the date: the work was made, or first shown.
_MADE = re.compile(r"做完|做好|完成|制作|拍完|拍好|剪完|整完|弄完|搞完|拍摄|做的|拍的|剪的|成片")
_SHOWN = re.compile(r"播|上线|发布|发到|发在|发的|发过|发了|上传到|首映")
#: The question asks whether the work may take part (its dates here, an account's figures in
#: ``minimums.py``).
QUALIFIES = re.compile(r"能|可以|可不可以|行|够|符合|算|赶得上|来得及|报|参加|参赛|参评|有效|资格|达标|门槛")
_YEARS_BACK = {"今年": 0, "去年": 1, "前年": 2}
_MONTHS = {m: i for i, m in enumerate("一二三四五六七八九十", 1)} | {"十一": 11, "十二": 12}
_YEAR_END = frozenset({"底", "末", "年底", "年末"})
#: What an answer from here is called where an entry's id would be (no entry: it is worked out).
WORK_DATES = "check:work_dates"


@dataclass(frozen=True, slots=True)
class _Told:
    first: dt.date
    last: dt.date
    said: str
    made: bool  # made (production window) rather than shown (broadcast window)


def _span(match: re.Match[str], this_year: int) -> tuple[dt.date, dt.date] | None:
    if match.group("year"):
        year = int(match.group("year"))
        year += 2000 if year < 100 else 0
    else:
        year = this_year - _YEARS_BACK[match.group("rel")]
    month, day, part = match.group("month"), match.group("day"), match.group("part")
    month = str(_MONTHS.get(month, month)) if month else month  # 三月份 is 3月份
    try:
        if month and day:
            one = dt.date(year, int(month), int(day))
            return one, one
        if month:
            first = dt.date(year, int(month), 1)
            following = dt.date(year + (first.month == 12), first.month % 12 + 1, 1)
            return first, following - dt.timedelta(days=1)
    except ValueError:
        return None
    if part in _YEAR_END:
        return dt.date(year, 12, 1), dt.date(year, 12, 31)
    if part in ("初", "年初"):
        return dt.date(year, 1, 1), dt.date(year, 2, 28)
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def _said(match: re.Match[str], first: dt.date) -> str:
    """The date as the entrant meant it, with the year written out ("22年底" -> "2022年底")."""
    if match.group("day"):
        return f"{first.year}年{first.month}月{first.day}日"
    if match.group("month"):
        return f"{first.year}年{first.month}月"
    part = match.group("part")
    if not part:
        return f"{first.year}年"
    return f"{first.year}年{'底' if part in _YEAR_END else '初'}"


def _told(text: str, this_year: int) -> list[_Told]:
    told = []
    for match in _WHEN.finditer(text):
        if not (match.group("month") or match.group("part")) and match.group("rel") == "今年":
            continue  # "今年" alone is the contest's year ("今年的征集"), not a day of the work
        span = _span(match, this_year)
        after = text[match.end() : match.end() + 8]
        made, shown = _MADE.search(after), _SHOWN.search(after)
        if span is None or not (made or shown):
            continue
        is_made = made is not None and (shown is None or made.start() < shown.start())
        told.append(_Told(span[0], span[1], _said(match, span[0]), is_made))
    return told


def _day(day: dt.date | None) -> str:
    return "" if day is None else f"{day.year}年{day.month}月{day.day}日"


def _judged(contest: Contest, text: str) -> tuple[list[str], list[str], bool]:
    """Each day the question gives for its work's making or first showing, judged against the
    notice's window: the verdicts, the windows' entry ids, and whether any falls outside."""
    verdicts: list[str] = []
    entries: list[str] = []
    outside = False
    for told in _told(text, contest.deadline.year):
        window: Window | None = contest.production_window if told.made else contest.broadcast_window
        if window is None:
            continue
        what, when = ("完成制作", "制作时间") if told.made else ("播出", "播出时间")
        span = f"{_day(window.start)}至{_day(window.end)}"
        if window.contains(told.first) and window.contains(told.last):
            verdicts.append(f"您说的{told.said}{what}，在通知要求的{when}（{span}）之内，符合这一条。")
        elif not window.contains(told.first) and not window.contains(told.last):
            outside = True
            verdicts.append(
                f"您说的{told.said}{what}，不在通知要求的{when}（{span}）之内，按通知不符合参评条件。"
            )
        else:
            outside = True
            verdicts.append(
                f"您说的{told.said}{what}，跨过了通知要求的{when}（{span}）的边界：要看具体是哪一天，"
                f"须在{span}之间。"
            )
        entry = "fact:production_window" if told.made else "fact:broadcast_window"
        if entry not in entries:
            entries.append(entry)
    return verdicts, entries, outside


def work_dates(base: KnowledgeBase, contest: Contest, text: str) -> str | None:
    """The days a question gives for its work's making or first showing that fall outside the
    notice's windows (with those inside beside them), with each window's clause; None when the
    question gives none outside, asks nothing of the kind, or the notice sets no window."""
    if not QUALIFIES.search(text):
        return None
    verdicts, entries, outside = _judged(contest, text)
    # Days inside the windows settle nothing: the question is about something else ("去年12月发在
    # 快手上了…手机拍的这种能报吗"), which the index answers.
    if not outside:
        return None
    rules = (e for e in map(base.entry, entries) if e is not None)
    return "\n".join([*verdicts, *(e.render() for e in rules)])


#: The entries that state the windows: a question they answer best is about its days.
WINDOW_ENTRIES = frozenset({"fact:production_window", "fact:broadcast_window"})


def inside_windows(contest: Contest, text: str) -> str:
    """For a question the window's own entry answers ("2021年做的，当年在快手上播过，能参加吗"): the
    verdicts on the days it gives, all inside; "" when it gives none or asks nothing of the kind."""
    if not QUALIFIES.search(text):
        return ""
    verdicts, _, outside = _judged(contest, text)
    return "" if outside else "\n".join(verdicts)
