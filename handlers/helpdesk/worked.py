"""Answers worked out from what the asker tells, before any search: their own video's figures, the
characters they wrote in a cell, a limit the forms never set; the day they will submit, their
work's days, an account's figures; whether they, or their kind of body, may enter; who submits
a work several made, which attachment a form is, whether a team may make one.

Each says its verdict first and then the rule it rests on; each is None where the question tells
nothing of its kind, and the search answers instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from contests.rules import Contest
from handlers.helpdesk.attachments import form_attachment
from handlers.helpdesk.entrants import kind_may_enter, person_may_enter
from handlers.helpdesk.fits import VIDEO_FITS, video_fits
from handlers.helpdesk.index import Entry, KnowledgeBase
from handlers.helpdesk.joint import joint_submitter, team_work
from handlers.helpdesk.minimums import MINIMUMS, below_minimums
from handlers.helpdesk.parts import in_time
from handlers.helpdesk.windows import WORK_DATES, work_dates
from handlers.helpdesk.wordcount import LIMIT_UNSAID, TEXT_FITS, limit_unsaid, text_fits


@dataclass(frozen=True, slots=True)
class Worked:
    """A reply worked out, the id it is known by where an entry's would be, and its kind."""

    said: str
    entry_id: str
    kind: Literal["answer", "silent"] = "answer"
    source: str = ""


def own_figures(
    base: KnowledgeBase, contest: Contest, asked: str, text: str, english: Callable[[Entry], str] | None
) -> Worked | None:
    """The asker's video figures, a cell's characters, or a limit no form sets. ``asked`` is the
    question as typed and ``text`` as read (both normalised); ``english`` says an entry in English
    for an English question, which only the video's figures are judged for."""
    if english is not None:
        fits = video_fits(base, contest, asked, english)
        return Worked(fits, VIDEO_FITS) if fits is not None else None
    if (fits := video_fits(base, contest, text)) is not None:
        return Worked(fits, VIDEO_FITS)
    if (counted := text_fits(base, contest, text)) is not None:
        return Worked(counted, TEXT_FITS)
    if (unlimited := limit_unsaid(base, contest, text)) is not None:
        return Worked(unlimited, LIMIT_UNSAID, "silent")
    return None


def own_days(base: KnowledgeBase, contest: Contest, text: str) -> Worked | None:
    """The day the asker will submit, their work's days against the windows, an account's figures."""
    if (late := in_time(base, contest, text)) is not None:
        return Worked(late, "fact:deadline")
    if (dated := work_dates(base, contest, text)) is not None:
        return Worked(dated, WORK_DATES)
    if (short := below_minimums(base, contest, text)) is not None:
        return Worked(short, MINIMUMS)
    return None


def may_enter(base: KnowledgeBase, contest: Contest, text: str) -> Worked | None:
    """Whether a person ("个人能报吗") or a body of a kind the 参与对象 names may enter, with the rule."""
    person = person_may_enter(contest, text)
    decides = base.entry(person[1]) if person is not None else None
    if person is not None and decides is not None:
        return Worked(f"{person[0]}\n{decides.render()}", decides.id, source=decides.source)
    audience = base.entry("fact:audience")
    of_kind = kind_may_enter(contest, contest.audience, text) if audience is not None else None
    if of_kind is not None and audience is not None:
        return Worked(f"{of_kind}\n{audience.render()}", audience.id, source=audience.source)
    return None


def makers_and_forms(
    base: KnowledgeBase, contest: Contest, text: str, asked: str, route: str | None
) -> Worked | None:
    """Who submits a work several made (``route``'s rule, or every route's), which attachment a
    form is, whether a team may make a work.  ``text`` is the question as read and ``asked`` as
    typed (both normalised): a form's name may hold a contest's alias (区县推荐表)."""
    found = (
        joint_submitter(base, contest, text, route)
        or form_attachment(contest, asked)
        or team_work(base, text)
    )
    return Worked(*found) if found is not None else None
