"""The next edition of a contest, made from last year's: its id, dates, numbering and prose moved.

``python -m bot contests new`` makes it (:func:`plan_edition`) and writes it
(:func:`contests.registry.dump_contest`); the dates written in its sentences move with it
(:mod:`contests.prose`), and what cannot be moved for sure is listed for the organiser to check
against the new notice.  Without an opening date the edition is a draft, never open.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from contests.prose import Moved, Unchecked, drop_answered, move_prose
from contests.rules import Contest


def next_prefix(source: Contest, deadline: dt.date) -> str:
    """The submission numbers' prefix of ``source``'s edition with this ``deadline`` (KP2024 →
    KP2026): the letters kept, the year moved."""
    years = deadline.year - source.deadline.year
    return re.sub(r"\d{4}$", str(source.year + years), source.number_prefix)


@dataclass(frozen=True, slots=True)
class Edition:
    """A new edition as plain data, with what its prose said and what is left to check."""

    data: dict[str, Any]
    moved: tuple[Moved, ...]  # dates in the prose moved with the edition
    unchecked: tuple[Unchecked, ...]  # lines the organiser must read against the new notice
    answered: tuple[Unchecked, ...] = ()  # notes of the old notice dropped: an option given answers them


# Keys whose values are not prose: ids, the dates themselves (moved as dates), the old notice.
_NOT_PROSE = frozenset({"id", "number_prefix", "year", "deadline", "opens", "start", "end", "notice", "seed"})


# A gap that says the old notice gave no start date ("起始日期不明，故不设开始日期"): answered by --opens.
_START_DATE = re.compile(r"(?:起始|开始|开放|启动|报名)(?:日期|时间)|何时开始")

#: How much further from the deadline a window moved by whole years may end than last year's did
#: before it is listed to check.
_WINDOW_DRIFT_DAYS = 90


def plan_edition(
    source: Contest,
    new_id: str,
    deadline: dt.date,
    opens: dt.date | None = None,
    *,
    prefix: str | None = None,
) -> Edition:
    """Last year's contest as the start of this year's: new id, dates, numbering and prose.

    The deadline and the opening are given; the stages keep their distance from the deadline
    (cq's districts choose in the two months after it); the production and broadcast windows
    move by whole years, so that "produced in the year before" stays true.  Dates written in
    the prose move with the dates they are, and year names take the new year
    (:mod:`contests.prose`); the rest is listed in :attr:`Edition.unchecked`.  Without an
    ``opens`` the edition is a draft, never open, until the organiser sets its opening date.
    """
    data = source.model_dump(mode="json", exclude_defaults=True)
    years = deadline.year - source.deadline.year
    days = deadline - source.deadline
    data["id"] = new_id
    data["series"] = source.lineage  # the earlier editions a re-entered work is compared with
    data["year"] = source.year + years
    data["number_prefix"] = prefix or next_prefix(source, deadline)
    data["deadline"] = deadline.isoformat()
    moves: dict[dt.date, dt.date] = {source.deadline: deadline}
    new_opens = opens or (_shift(source.opens, years) if source.opens else None)
    late_opens = opens is None and new_opens is not None and new_opens > deadline
    if source.opens is not None and new_opens is not None:
        moves[source.opens] = new_opens
    data.pop("opens", None)
    if new_opens is not None and not late_opens:
        data["opens"] = new_opens.isoformat()
    # Opened only by a date the organiser gave: without one the edition is a draft (never open)
    # until they have checked it against the new notice and set ``opens`` themselves.
    data.pop("draft", None)
    if opens is None:
        data["draft"] = True
    for stage in data.get("schedule", []):
        for end in ("start", "end"):
            if stage.get(end):
                old = dt.date.fromisoformat(stage[end])
                stage[end] = moves.setdefault(old, old + days).isoformat()
    for key in ("production_window", "broadcast_window"):
        window = data.get(key)
        for end in ("start", "end"):
            if window and window.get(end):
                old = dt.date.fromisoformat(window[end])
                window[end] = moves.setdefault(old, _shift(old, years)).isoformat()
    answered: list[Unchecked] = []
    if opens is not None and data.get("gaps"):
        data["gaps"], dropped = drop_answered(data["gaps"], _START_DATE)
        why = f"开始日期已给出（--opens {opens.isoformat()}），此说明已从新一届删去"
        answered += [Unchecked("gaps", clause, why) for clause in dropped]
    moved, unchecked = move_prose(data, moves, source.year, source.year + years, skip=_NOT_PROSE)
    if late_opens and new_opens is not None:
        # hlj opened 3月28日 for a 5月9日 deadline; moved by a year it would open after a deadline
        # of 2月1日, which no contest can: left out, for the organiser to give.
        why = "上一届的开始日期按整年移动后晚于本届截止日期，未写入；请按新通知填写 opens"
        unchecked.append(Unchecked("opens", new_opens.isoformat(), why))
    for key in ("production_window", "broadcast_window"):
        window, was = data.get(key), getattr(source, key)
        # Moved by whole years, a window that closed before last year's deadline can close after
        # this year's (hlj: 2月28日 against a deadline of 2月1日): the works would be entered
        # before the window they must fall in has ended.
        closed_before = was is not None and was.end is not None and was.end <= source.deadline
        if closed_before and window and window.get("end") and dt.date.fromisoformat(window["end"]) > deadline:
            why = "按整年移动后晚于本届截止日期（上一届早于截止日期），请按新通知核对"
            unchecked.append(Unchecked(f"{key}.end", window["end"], why))
        elif closed_before and window and window.get("end") and was is not None and was.end is not None:
            # A deadline moved within the year leaves a window moved by whole years far from it (hlj:
            # 2月28日 closed ten weeks before 5月9日; against 12月25日 it closes ten months before).
            gap, was_gap = deadline - dt.date.fromisoformat(window["end"]), source.deadline - was.end
            if gap - was_gap > dt.timedelta(days=_WINDOW_DRIFT_DAYS):
                months, before = gap.days // 30, was_gap.days // 30
                why = (
                    f"按整年移动后早于本届截止日期约{months}个月（上一届约{before}个月），"
                    "之后制作或播出的作品会被拒收，请按新通知核对"
                )
                unchecked.append(Unchecked(f"{key}.end", window["end"], why))
    notice = source.notice
    if notice.document_no or notice.date:
        # Last year's number is not this year's: shown to entrants ("由…（青科教发〔2022〕2号）发文")
        # it would be presented as the new notice's.  Cleared, and listed for the new one.
        data["notice"].pop("document_no", None)
        data["notice"].pop("date", None)
        issued = notice.date.isoformat() if notice.date else ""
        named = "，".join(x for x in (notice.document_no, issued) if x)
        why = (
            "上一届通知的文号和日期：新一届已清空，不再向参赛者显示；"
            "请填入新一届通知的 notice.document_no、notice.date"
        )
        unchecked.append(Unchecked("notice", named, why))
    data["gaps"] = [
        *data.get("gaps", []),
        f"由 {source.id} 复制生成：日期随新一届的截止日期移动（文中写到的日期一并移动），"
        "规则与文字沿用上一届，请对照新通知核对。",
    ]
    return Edition(data, tuple(moved), tuple(unchecked), tuple(answered))


def new_edition(
    source: Contest,
    new_id: str,
    deadline: dt.date,
    opens: dt.date | None = None,
    *,
    prefix: str | None = None,
) -> dict[str, Any]:
    """The data of :func:`plan_edition`, for callers that need no list of what to check."""
    return plan_edition(source, new_id, deadline, opens, prefix=prefix).data


def _shift(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
