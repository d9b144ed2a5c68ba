"""Filled-in forms: the public entry points.

``render_form(contest, form_id, values)`` gives the notice's form with the entrant's answers
as DOCX (to edit in Word or WPS) and PDF (to print, sign and seal); ``render_district_list``
gives a district's list of the works it sends (cq 区县推荐表) from its units' submissions.
Both are blocking (WeasyPrint takes about a third of a second): from the event loop, await the
``*_async`` variants, which run them in a worker thread.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from contests.records import Submission
from contests.rules import Contest, Form
from forms.layout import find_layout
from forms.pdf import sheet_html, sheet_pdf
from forms.sheet import FormError, Sheet, build_sheet, display
from forms.word import filled_docx

#: The district list of the cq notice holds five works.
DISTRICT_FORM = "district_list"


@dataclass(frozen=True, slots=True)
class RenderedForm:
    """One filled-in form in both formats; ``filename_stem`` is safe as a file name."""

    docx: bytes
    pdf: bytes
    filename_stem: str
    sheet: Sheet

    @property
    def html(self) -> str:
        """The HTML the PDF was drawn from (for previews)."""
        return sheet_html(self.sheet)


def get_form(contest: Contest, form_id: str) -> Form:
    """The contest's form ``form_id``; :class:`FormError` names the forms there are."""
    try:
        return contest.form(form_id)
    except KeyError:
        known = ", ".join(f.id for f in contest.forms)
        raise FormError(
            f"大赛 {contest.id} 没有表 {form_id!r}（可用：{known}）"
            f" / contest {contest.id!r} has no form {form_id!r}"
        ) from None


_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+|^[.\s]+|[.\s]+$')


def filename_stem(form: Form, number: str | None) -> str:
    """``KP2024-000123_2024年全国科普微视频大赛作品推荐表``: what the entrant's download is called."""
    stem = f"{number}_{form.title}" if number else form.title
    return _UNSAFE_NAME.sub("_", stem)[:120] or form.id


def _render(form: Form, sheet: Sheet, number: str | None) -> RenderedForm:
    return RenderedForm(
        docx=filled_docx(sheet), pdf=sheet_pdf(sheet), filename_stem=filename_stem(form, number), sheet=sheet
    )


def render_form(
    contest: Contest,
    form_id: str,
    values: Mapping[str, Any],
    *,
    number: str | None = None,
    verify_code: str | None = None,
) -> RenderedForm:
    """The notice's form ``form_id`` of ``contest`` filled in with ``values``.

    ``values`` maps the form's field ids to answers as the dialog stores them (people as a
    list of names, dates as ISO text); a missing value leaves its cell blank, an unknown
    field id raises :class:`FormError`.  ``number`` and ``verify_code`` are printed at the
    top with a QR code, tying the paper to the submission (see
    :func:`forms.receipts.form_code`).  Blocking: see :func:`render_form_async`.
    """
    form = get_form(contest, form_id)
    layout = find_layout(contest, form)
    sheet = build_sheet(contest, form, layout, values, number=number, verify_code=verify_code)
    return _render(form, sheet, number)


async def render_form_async(
    contest: Contest,
    form_id: str,
    values: Mapping[str, Any],
    *,
    number: str | None = None,
    verify_code: str | None = None,
) -> RenderedForm:
    """:func:`render_form` in a worker thread, so that the event loop keeps serving."""
    return await asyncio.to_thread(
        render_form, contest, form_id, dict(values), number=number, verify_code=verify_code
    )


# --- the district list (cq 区县推荐表) -----------------------------------------------------


def _answer_by(form: Form, answers: Mapping[str, Any], *, role: str = "", label: str = "") -> str:
    for fld in form.fields:
        if (role and fld.role == role) or (label and label in fld.label):
            return display(fld, answers.get(fld.id)).strip()
    return ""


def district_items(contest: Contest, submissions: Sequence[Submission]) -> list[dict[str, str]]:
    """One row of the district list per submission: 作品名称, 创作单位, 联系地址, 联系方式.

    Read from each submission's answers through its form's field roles (title, unit, phone)
    and labels (联系地址, 联系人), so that a renamed field id does not empty the list.
    """
    items = []
    for sub in submissions:
        if sub.contest_id != contest.id:
            raise FormError(
                f"报名 {sub.number} 属于大赛 {sub.contest_id}，不是 {contest.id}"
                f" / submission {sub.number} belongs to {sub.contest_id!r}"
            )
        form = get_form(contest, sub.form_id)
        contact = [
            _answer_by(form, sub.answers, label="联系人"),
            _answer_by(form, sub.answers, role="phone"),
        ]
        items.append(
            {
                "number": sub.number,
                "title": _answer_by(form, sub.answers, role="title"),
                "unit": _answer_by(form, sub.answers, role="unit"),
                "address": _answer_by(form, sub.answers, label="地址"),
                "contact": "\n".join(c for c in contact if c),
            }
        )
    return items


def render_district_list(
    contest: Contest,
    district_name: str,
    submissions: Sequence[Submission],
    *,
    opinion: str = "",
    form_id: str = DISTRICT_FORM,
) -> RenderedForm:
    """A district's list of the works it recommends, filled from its units' submissions.

    ``district_name`` goes in the 推荐单位 line, ``opinion`` in 推荐意见.  The notice's list
    has five rows; more submissions than rows raise :class:`FormError` (the district has to
    choose), fewer leave rows blank.
    """
    form = get_form(contest, form_id)
    layout = find_layout(contest, form)
    capacity = max((r.repeat for r in layout.rows), default=1)
    if len(submissions) > capacity:
        raise FormError(
            f"{form.title} 最多填写 {capacity} 部作品，收到 {len(submissions)} 部"
            f" / the list holds {capacity} works, got {len(submissions)}"
        )
    values: dict[str, Any] = {}
    if form.field("unit") is not None:
        values["unit"] = district_name
    if opinion and form.field("opinion") is not None:
        values["opinion"] = opinion
    items = district_items(contest, submissions)
    sheet = build_sheet(contest, form, layout, values, items=items)
    return _render(form, sheet, None)


async def render_district_list_async(
    contest: Contest,
    district_name: str,
    submissions: Sequence[Submission],
    *,
    opinion: str = "",
    form_id: str = DISTRICT_FORM,
) -> RenderedForm:
    """:func:`render_district_list` in a worker thread."""
    return await asyncio.to_thread(
        render_district_list, contest, district_name, list(submissions), opinion=opinion, form_id=form_id
    )
