"""Dates and year names written into a contest's prose, moved with a new edition.

A notice writes its dates into sentences ("请于5月9日前……", "2022年3月28日-5月9日").  A new
edition knows where its own dates went (the deadline, the opening, the stages, the windows):
every date in the prose that is one of those moves with it, written as it was (with or
without its year); a part of a month ("8月上旬", "2023年9月底") goes where the days it names
went, written as a part of a month again or as those days; every year's name ("2022年黑龙江省
……活动") takes the new year.  What cannot be moved for sure is listed for the organiser to read
against the new notice: the names just given the new year, activity pages and links, dates that
match none of the known ones; a part of a month that cannot be placed is also marked as last
year's in the text, so that nobody reads it as this year's.  A note of the old notice that a
new edition's option answers (a start date "不明" once ``--opens`` is given) is dropped
(:func:`drop_answered`).  Imports nothing of the project: :func:`contests.editions.plan_edition`
calls it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# One scanner, left to right, so that a date without its year ("5月9日") takes the year last
# written before it in the same sentence.  Alternatives in the order they are tried.
_DATES = re.compile(
    r"(?:(?P<dy>\d{4})\s*年\s*)?(?P<dm>\d{1,2})\s*月\s*(?P<dd>\d{1,2})\s*(?P<ds>[日号])"
    r"|(?<!\d)(?P<iy>\d{4})(?P<isep>[-/.])(?P<im>\d{1,2})(?P=isep)(?P<id>\d{1,2})(?!\d)"
    r"|(?:(?P<py>\d{4})\s*年\s*)?(?P<pm>\d{1,2})\s*月\s*(?P<pp>[上中下]旬|初(?![赛审评选])|底|末|中(?![国华央心]))"
    r"|(?:(?P<my>\d{4})\s*年\s*)?(?P<mm>\d{1,2})\s*月(?![\d份])"
    r"|(?<![\d×xX*.])(?P<yy>(?:19|20)\d{2})(?=\s*年)"
    r"|(?<![\d×xX*.\-])(?P<ny>(?:19|20)\d{2})(?![\d×xX*\-])"
)
# Words that name a page, a code or a link the new edition may have changed.
_PAGES = re.compile(r"https?://|www\.|活动页面|二维码|报名通道|小程序|公众号")

REASON_YEAR = "名称中的年份已改为新一届的年份，请核对名称"
REASON_OTHER_YEAR = "提到另一个年份，未改动，请核对"
REASON_DATE = "日期与本届已知日期都对不上，未移动，请核对"
REASON_MONTH = "月份无法确定移到哪个月，未移动，请核对"
REASON_PAGE = "活动页面、二维码或网址可能随新一届变化，请核对"
REASON_PART = "上一届的旬、月初或月底无法随本届日期确定，未移动，已在文中标为上一届，请按新通知改写"
#: How a part of a month is marked when it cannot be moved: it is last year's, not this year's.
LAST_YEARS = "（上一届）"

# A part of a month: its first and last day (the last capped at the month's end), and the words
# of each family in which it is written again ("8月上旬" → "2月下旬", "9月底" → "3月中").
_PART_DAYS = {"上旬": (1, 10), "中旬": (11, 20), "下旬": (21, 31), "初": (1, 10), "中": (11, 20)}
_PART_DAYS |= {"底": (21, 31), "末": (21, 31)}
_PART_WORDS = {
    "上旬": ("上旬", "中旬", "下旬"),
    "中旬": ("上旬", "中旬", "下旬"),
    "下旬": ("上旬", "中旬", "下旬"),
}
_PART_WORDS |= {"初": ("初", "中", "底"), "中": ("初", "中", "底"), "底": ("初", "中", "底")}
_PART_WORDS |= {"末": ("初", "中", "末")}


@dataclass(frozen=True, slots=True)
class Moved:
    """A date written in the prose and where it went."""

    where: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class Unchecked:
    """A line of prose the organiser must still read against the new notice, and why."""

    where: str
    text: str
    reason: str


def _date(year: str | int, month: str, day: str) -> dt.date | None:
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError:
        return None


class _Line:
    """One string being rewritten: its years of context, what moved, what to check."""

    def __init__(self, moves: Mapping[dt.date, dt.date], old_year: int, new_year: int) -> None:
        self.moves = moves
        self.old_year, self.new_year = old_year, new_year
        self.old_ctx, self.new_ctx = old_year, new_year
        self.moved: list[tuple[str, str]] = []
        self.reasons: list[str] = []

    def flag(self, reason: str) -> None:
        if reason not in self.reasons:
            self.reasons.append(reason)

    def sub(self, m: re.Match[str]) -> str:
        text = m.group(0)
        if m.group("dm") is not None:
            return self._day(text, m.group("dy"), m.group("dm"), m.group("dd"), m.group("ds"))
        if m.group("iy") is not None:
            day = _date(m.group("iy"), m.group("im"), m.group("id"))
            return self._iso(text, day, m.group("isep"))
        if m.group("pm") is not None:
            return self._part(text, m.group("py"), m.group("pm"), m.group("pp"))
        if m.group("mm") is not None:
            return self._month(text, m.group("my"), m.group("mm"))
        year = int(m.group("yy") or m.group("ny"))
        quoted = m.start() > 0 and m.string[m.start() - 1] in "[〔（(【"  # a document number
        if year == self.old_year and self.old_year != self.new_year and not quoted:
            self.flag(REASON_YEAR)
            self.old_ctx, self.new_ctx = year, self.new_year
            return str(self.new_year)
        if m.group("ny") is None or abs(year - self.old_year) <= 3:
            self.flag(REASON_OTHER_YEAR)
            self.old_ctx = self.new_ctx = year
        return text

    def _day(self, text: str, year: str | None, month: str, day: str, suffix: str) -> str:
        old = _date(year or self.old_ctx, month, day)
        if year:
            self.old_ctx = int(year)
        new = self.moves.get(old) if old else None
        if new is None:
            self.flag(REASON_DATE)
            self.new_ctx = int(year) if year else self.new_ctx
            return text
        with_year = bool(year) or new.year != self.new_ctx
        self.new_ctx = new.year
        written = (f"{new.year}年" if with_year else "") + f"{new.month}月{new.day}{suffix}"
        return self._record(text, written)

    def _iso(self, text: str, old: dt.date | None, sep: str) -> str:
        new = self.moves.get(old) if old else None
        if old is not None:
            self.old_ctx = old.year
        if new is None:
            self.flag(REASON_DATE)
            return text
        self.new_ctx = new.year
        return self._record(text, f"{new.year}{sep}{new.month:02d}{sep}{new.day:02d}")

    def _month(self, text: str, year: str | None, month: str) -> str:
        old_year = int(year) if year else self.old_ctx
        self.old_ctx = old_year
        if not 1 <= int(month) <= 12:
            return text
        landed = {
            (new.year, new.month)
            for old, new in self.moves.items()
            if (old.year, old.month) == (old_year, int(month))
        }
        if len(landed) != 1:
            span = self._month_span(old_year, int(month))
            if span is None:
                self.flag(REASON_MONTH)
                return text
            return self._record(text, span)
        ((new_year, new_month),) = landed
        with_year = bool(year) or new_year != self.new_ctx
        self.new_ctx = new_year
        return self._record(text, (f"{new_year}年" if with_year else "") + f"{new_month}月")

    def _month_span(self, year: int, month: int) -> str | None:
        """A whole month the new edition spreads over two ("2023年9月" of a stage that ran 9月1日—
        9月30日, now 2027年2月26日—3月27日): the days it went to, when its first and last days moved."""
        first = dt.date(year, month, 1)
        last = _month_end(first)
        start, end = self.moves.get(first), self.moves.get(last)
        if start is None or end is None or end < start:
            return None
        self.new_ctx = end.year
        tail = (f"{end.year}年" if end.year != start.year else "") + f"{end.month}月{end.day}日"
        return f"{start.year}年{start.month}月{start.day}日—{tail}"

    def _part(self, text: str, year: str | None, month: str, part: str) -> str:
        """A part of a month ("8月上旬"): where its first and last day went, written as a part of
        a month when they went to one, else as the days ("2027年2月25日—3月6日"); else where the
        known days inside it went, when they are all in one part of one month; else marked as
        last year's and listed."""
        old_year = int(year) if year else self.old_ctx
        self.old_ctx = old_year
        if not 1 <= int(month) <= 12:
            return text
        lo, hi = _PART_DAYS[part]
        first = dt.date(old_year, int(month), lo)
        last = dt.date(old_year, int(month), min(hi, _month_end(first).day))
        start, end = self.moves.get(first), self.moves.get(last)
        if start is not None and end is not None and start <= end:
            if _part_of(start) == _part_of(end) and (start.day, end.day) == _part_span(start):
                return self._record(text, self._part_text(start, year, part))
            self.new_ctx = end.year
            tail = (f"{end.year}年" if end.year != start.year else "") + f"{end.month}月{end.day}日"
            return self._record(text, f"{start.year}年{start.month}月{start.day}日—{tail}")
        inside = [new for old, new in self.moves.items() if first <= old <= last]
        if inside and len({_part_of(d) for d in inside}) == 1:
            return self._record(text, self._part_text(inside[0], year, part))
        self.flag(REASON_PART)
        return text + LAST_YEARS

    def _part_text(self, day: dt.date, year: str | None, part: str) -> str:
        with_year = bool(year) or day.year != self.new_ctx
        self.new_ctx = day.year
        word = _PART_WORDS[part][_part_of(day)[2]]
        return (f"{day.year}年" if with_year else "") + f"{day.month}月{word}"

    def _record(self, old: str, new: str) -> str:
        if old != new:
            self.moved.append((old, new))
        return new


def _month_end(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def _part_of(day: dt.date) -> tuple[int, int, int]:
    """(year, month, 0 | 1 | 2): the 上旬, 中旬 or 下旬 a day is in."""
    return day.year, day.month, min((day.day - 1) // 10, 2)


def _part_span(day: dt.date) -> tuple[int, int]:
    """The first and last day of the part of its month that ``day`` is in."""
    index = _part_of(day)[2]
    return index * 10 + 1, (_month_end(day).day if index == 2 else index * 10 + 10)


# A note that a date of the old notice was not known or not set: answered once the organiser
# gives that date for the new edition.
_UNKNOWN = re.compile(r"不明|未写明|未明确|未给出|没有写|未见|不设|未设")
_CLAUSES = re.compile(r"[^；;。]+[；;。]?")


def drop_answered(notes: list[str], topic: re.Pattern[str]) -> tuple[list[str], list[str]]:
    """``notes`` without the clauses that say a date of ``topic`` is unknown or not set (the
    organiser gave it for the new edition), and the clauses dropped.  A note left empty is
    dropped whole."""
    kept: list[str] = []
    dropped: list[str] = []
    for note in notes:
        out: list[str] = []
        for clause in _CLAUSES.findall(note):
            if not (topic.search(clause) and _UNKNOWN.search(clause)):
                out.append(clause)
                continue
            dropped.append(clause)
            if clause.endswith("。") and out and out[-1].endswith(("；", ";")):
                out[-1] = out[-1][:-1] + "。"  # it ended a sentence: the clause before it ends it now
        if "".join(out).strip():
            kept.append("".join(out))
    return kept, dropped


def move_prose(
    data: Any,
    moves: Mapping[dt.date, dt.date],
    old_year: int,
    new_year: int,
    *,
    skip: frozenset[str] = frozenset(),
) -> tuple[list[Moved], list[Unchecked]]:
    """Rewrite, in place, every string of ``data`` (a contest as plain data) whose dates are
    keys of ``moves`` or whose years are ``old_year``; keys in ``skip`` are left alone.
    Returns the dates moved and the lines still to check, each with where it is."""
    moved: list[Moved] = []
    unchecked: list[Unchecked] = []

    def rewrite(text: str, where: str) -> str:
        line = _Line(moves, old_year, new_year)
        new = _DATES.sub(line.sub, text)
        moved.extend(Moved(where, a, b) for a, b in line.moved)
        if _PAGES.search(new):
            line.flag(REASON_PAGE)
        if line.reasons:
            unchecked.append(Unchecked(where, new, "；".join(line.reasons)))
        return new

    def walk(node: Any, where: str) -> Any:
        if isinstance(node, str):
            return rewrite(node, where)
        if isinstance(node, list):
            return [walk(item, f"{where}[{_name(item, i)}]") for i, item in enumerate(node)]
        if isinstance(node, dict):
            for key, value in node.items():
                if key not in skip:
                    node[key] = walk(value, f"{where}.{key}" if where else key)
        return node

    walk(data, "")
    return moved, unchecked


def _name(item: Any, index: int) -> str:
    """A list item as the organiser finds it in the file: by its id, else its position."""
    if isinstance(item, dict):
        for key in ("id", "name"):
            value = item.get(key)
            if isinstance(value, str):
                return value
    return str(index)
