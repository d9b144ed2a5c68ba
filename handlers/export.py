"""Exports and redaction, pure: submissions in, xlsx/csv/json bytes or a visible dict out.

No store, clock or file system here: :mod:`handlers.admin` gathers the rows and decides who
may see what; this module lays them out.

* **xlsx** – one sheet per form, titled like the paper form, a row per submission and a
  column per cell of the form (labelled as printed), then the notice's list form (cq's
  区县推荐表: 序号/作品名称/创作单位/联系地址/联系方式) with one block per recommending unit.
* **csv** – one table over all forms (columns by field label), UTF-8 with a BOM so that Excel
  and WPS open the Chinese correctly.
* **json** – every submission with its fields as ``{id, label, value}``.

Every text cell of csv and xlsx is passed through :func:`neutralise`: a cell starting with
``= + - @`` (or a tab / carriage return) would run as a formula when the organiser opens the
file, so it gets a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from contests.records import Submission, UserKey
from contests.review import state_of, state_text
from contests.rules import SHANGHAI, Contest, FieldType, Form, FormField
from validators.content import ContentReport

__all__ = [
    "FORMATS",
    "ExportRow",
    "Viewer",
    "export_csv",
    "export_json",
    "export_xlsx",
    "neutralise",
    "personal_field_ids",
    "render",
    "visible_submission",
]

Format = Literal["xlsx", "csv", "json"]
FORMATS: dict[str, str] = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}

REDACTED = "（已隐藏）"
VERDICT_CN = {"passed": "通过", "failed": "未通过"}
LIST_COLUMNS = ("序号", "作品名称", "创作单位", "联系地址", "联系方式")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Characters XML 1.0 (hence xlsx) cannot hold; a pasted form may carry them.
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


@dataclass(frozen=True, slots=True)
class ExportRow:
    """One submission with what the stores know about it besides its own record."""

    submission: Submission
    unit: str  # the recommending unit, or the self-entrant's own name
    unit_kind: str  # quota kind ("province", "self", ...), "" if unknown
    recommended: bool  # counted against an imported unit (goes on the list form)
    # Where units choose among the works submitted through them (cq 区县推荐): "已推荐" or
    # "待推荐"; "" elsewhere.  Shown in a column named after the channel ("区县推荐").
    selection: str = ""


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is looking: their role in the contest and, for a member, their unit's holder key."""

    user: UserKey
    role: Literal["organiser", "member", "entrant"]
    unit_holder: str | None = None

    def entitled(self, submission: Submission, holder: str | None) -> bool:
        """Whether the viewer may list this work and read its personal data (phones, e-mail,
        addresses, contact persons): organisers every work, a member their unit's (``holder``
        is the unit the work counts against), everybody their own."""
        if self.role == "organiser" or submission.user == self.user:
            return True
        return self.role == "member" and holder is not None and holder == self.unit_holder


# ------------------------------------------------------------------ cells


def neutralise(value: str) -> str:
    """Text that a spreadsheet shows as text: formula-like cells get a leading apostrophe."""
    value = _ILLEGAL_XML.sub("", value)
    return "'" + value if value.lstrip(" ").startswith(_FORMULA_START) else value


def _cell(value: Any) -> str | int | float:
    """An answer as one cell: lists (主创人员) joined with 、, numbers kept as numbers."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | float):
        return value
    if isinstance(value, list | tuple):
        return neutralise("、".join(str(v) for v in value))
    if value is None:
        return ""
    return neutralise(str(value))


def personal_field_ids(form: Form) -> set[str]:
    """Cells that are personal data: phone numbers, e-mail, addresses and contact persons.

    Matched by type and by label, so a 网盘链接地址 (whose link opens the entrant's files) is
    hidden too."""
    found = set()
    for f in form.fields:
        if (
            f.type in (FieldType.PHONE, FieldType.EMAIL)
            or f.role in ("phone", "email")
            or any(word in f.label for word in ("地址", "联系人", "电话", "手机", "邮箱"))
        ):
            found.add(f.id)
    return found


def _video(video: dict[str, Any]) -> tuple[str, str, str]:
    """(link or file name, sha256, verdict) of a submission's video."""
    if video.get("kind") in ("link", "share_link"):
        where = str(video.get("url") or "")
        if video.get("code"):
            where += f" 提取码：{video['code']}"
    else:
        where = str(video.get("name") or "")
    verdict = str(video.get("verdict") or "")
    if not verdict:
        verdict = "" if not video else ("未检查" if not video.get("checked") else "")
    return where, str(video.get("sha256") or ""), VERDICT_CN.get(verdict, verdict)


def content_summary(video: dict[str, Any]) -> str:
    """The content checks' verdict in one cell: 通过, 建议修改 or 不符合 with what, or why none."""
    stored = video.get("content")
    if isinstance(stored, dict):
        return ContentReport.from_dict(stored).summary_zh()
    if video.get("checked") and video.get("kind") in ("file", "link"):
        return "未检查"
    return ""


def _when(sub: Submission) -> str:
    return sub.created_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _channel_label(contest: Contest, channel_id: str) -> str:
    try:
        return contest.channel(channel_id).label
    except KeyError:
        return channel_id


def _form_of(contest: Contest, form_id: str) -> Form | None:
    try:
        return contest.form(form_id)
    except KeyError:
        return None


# ------------------------------------------------------------------ redaction


def visible_submission(
    viewer: Viewer, submission: Submission, contest: Contest, *, holder: str | None, unit: str = ""
) -> dict[str, Any]:
    """The submission as ``viewer`` may see it: personal cells hidden unless they are entitled.

    ``holder`` is the quota holder the submission counts against (see :mod:`handlers.quota`).
    """
    personal = viewer.entitled(submission, holder)
    form = _form_of(contest, submission.form_id)
    hidden = set() if personal or form is None else personal_field_ids(form)
    answers = {k: (REDACTED if k in hidden else v) for k, v in submission.answers.items()}
    labels = {f.id: f.label for f in form.fields} if form else {}
    where, sha, verdict = _video(submission.video)
    video: dict[str, Any] = {
        "kind": submission.video.get("kind", ""),
        "link": where,
        "sha256": sha,
        "verdict": verdict,
    }
    if not personal and submission.video.get("code"):
        # A share link's 提取码 opens the entrant's files: only for those who see personal data.
        video["link"] = str(submission.video.get("url") or "")
    return {
        "number": submission.number,
        "contest_id": submission.contest_id,
        "channel": _channel_label(contest, submission.channel_id),
        "form": form.title if form else submission.form_id,
        "status": submission.status,
        "created_at": submission.created_at.isoformat(),
        "unit": unit,
        "user": str(submission.user) if personal else REDACTED,
        "answers": answers,
        "labels": labels,
        "video": video,
        "redacted": sorted(hidden),
    }


# ------------------------------------------------------------------ tables


_BEFORE = ("序号", "报名编号", "报名渠道", "推荐单位（自荐者）", "单位类别", "状态")
_AFTER = ("视频（链接或文件）", "视频SHA-256", "视频检查结果", "视频内容检查", "提交时间", "提交账号")


def _selection_label(contest: Contest) -> str | None:
    """The label of the channel whose units choose among the works submitted through them
    (a work form with a ``recommender`` field: cq's 区县推荐), or None."""
    for channel in contest.channels:
        form = _form_of(contest, channel.forms.get("work", ""))
        if form is not None and form.recommender() is not None:
            return channel.label
    return None


def kind_label(contest: Contest, kind: str) -> str:
    """A quota kind in the notice's words, as the console's 单位名额 page shows it (the rule's
    label: 其它区县, 单位会员), else the kind itself."""
    return next((r.label for c in contest.channels for r in c.quota if r.kind == kind and r.label), kind)


def _before(contest: Contest) -> tuple[str, ...]:
    label = _selection_label(contest)
    return _BEFORE if label is None else (*_BEFORE, label)


def _fixed(i: int, contest: Contest, row: ExportRow) -> tuple[list[Any], list[Any]]:
    sub = row.submission
    where, sha, verdict = _video(sub.video)
    before: list[Any] = [
        i,
        sub.number,
        neutralise(_channel_label(contest, sub.channel_id)),
        neutralise(row.unit),
        kind_label(contest, row.unit_kind),
        state_text(sub),  # the review's state, as the console shows it (通过形式审查, 退回修改…)
    ]
    if _selection_label(contest) is not None:
        before.append(row.selection)
    content = neutralise(content_summary(sub.video))
    after: list[Any] = [
        neutralise(where),
        sha,
        neutralise(verdict),
        content,
        _when(sub),
        neutralise(str(sub.user)),
    ]
    return before, after


def _forms_in_use(contest: Contest, rows: Sequence[ExportRow]) -> list[Form]:
    used = {fid for c in contest.channels for fid in c.forms.values()}
    used |= {r.submission.form_id for r in rows}
    return [f for f in contest.forms if f.id in used]


def _form_table(contest: Contest, form: Form, rows: Sequence[ExportRow]) -> list[list[Any]]:
    header = [*_before(contest), *(f.label for f in form.fields), *_AFTER]
    table: list[list[Any]] = [header]
    mine = [r for r in rows if r.submission.form_id == form.id]
    for i, row in enumerate(mine, 1):
        before, after = _fixed(i, contest, row)
        cells = [_cell(row.submission.answers.get(f.id)) for f in form.fields]
        table.append([*before, *cells, *after])
    return table


def _by_label(form: Form, answers: dict[str, Any], test: Any) -> str:
    values = [answers.get(f.id) for f in form.fields if test(f)]
    return "，".join(str(_cell(v)) for v in values if v not in (None, "", []))


def _list_row(contest: Contest, row: ExportRow) -> list[Any]:
    """序号 is filled in by the caller; the rest as the notice's list form has them."""
    form = _form_of(contest, row.submission.form_id)
    answers = row.submission.answers
    if form is None:
        return ["", "", "", "", ""]

    def is_role(role: str) -> Any:
        return lambda f: f.role == role

    unit_field = next((f for f in form.fields if f.role == "unit"), None)
    # cq's 报送表 names the 创作单位; the national forms name the 推荐单位 there, and the makers under 主创.
    maker = (
        _by_label(form, answers, is_role("unit"))
        if unit_field is not None and "推荐" not in unit_field.label
        else _by_label(form, answers, is_role("authors"))
    )
    return [
        "",
        _by_label(form, answers, is_role("title")),
        maker,
        _by_label(form, answers, lambda f: f.id == "address" or "地址" in f.label),
        "，".join(
            part
            for part in (
                _by_label(form, answers, lambda f: "联系人" in f.label),
                _by_label(form, answers, lambda f: f.role == "phone" or f.type is FieldType.PHONE),
                _by_label(form, answers, lambda f: f.role == "email" or f.type is FieldType.EMAIL),
            )
            if part
        ),
    ]


def _list_form(contest: Contest) -> tuple[str, str, str]:
    """(title, recommending-unit label, sheet name) of the notice's list form: a form no channel
    uses whose title names a 推荐表 (cq's 附件2), else a generic summary in the same layout."""
    used = {fid for c in contest.channels for fid in c.forms.values()}
    for form in contest.forms:
        if form.id not in used and "推荐表" in form.title:
            unit = next((f.label for f in form.fields if f.role == "unit"), "推荐单位")
            sheet = form.title[form.title.rindex("作品") :] if "作品" in form.title else "推荐表"
            return form.title, unit, sheet
    return f"{contest.title}推荐作品汇总表", "推荐单位", "推荐作品汇总表"


def _list_blocks(contest: Contest, rows: Sequence[ExportRow]) -> list[list[Any]]:
    """The list form, one block per recommending unit, withdrawn works left out."""
    title, unit_label, _ = _list_form(contest)
    units: dict[str, list[ExportRow]] = {}
    for row in rows:
        if row.recommended and row.submission.status != "withdrawn":
            units.setdefault(row.unit, []).append(row)
    out: list[list[Any]] = []
    for unit, mine in units.items():
        out.append([neutralise(title)])
        out.append([neutralise(f"{unit_label}（盖章）：{unit}")])
        out.append(list(LIST_COLUMNS))
        for i, row in enumerate(mine, 1):
            out.append([i, *_list_row(contest, row)[1:]])
        out.append([])
    return out


# ------------------------------------------------------------------ formats


def _sheet_name(form: Form, taken: set[str]) -> str:
    title = form.title
    if "作品" in title:
        short = title[title.rindex("作品") :]
    elif "活动" in title:
        short = title[title.rindex("活动") + 2 :]
    else:
        short = title[-12:]
    name = re.sub(r"[\[\]:*?/\\']", "", f"{form.attachment} {short}".strip())[:31]
    base, n = name, 2
    while name in taken:
        name = f"{base[:28]}({n})"
        n += 1
    taken.add(name)
    return name


def export_xlsx(contest: Contest, rows: Sequence[ExportRow]) -> bytes:
    """The workbook: one sheet per form (row 1 the form's title, row 2 its cells), then the list form."""
    # bench/bench_cli.py: openpyxl takes ~0.35 s to import; only an export needs it.
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    first = book.active  # the empty default sheet, dropped once the real ones exist
    taken: set[str] = set()
    bold = Font(bold=True)
    for form in _forms_in_use(contest, rows):
        sheet = book.create_sheet(_sheet_name(form, taken))
        table = _form_table(contest, form, rows)
        sheet.append([neutralise(form.title)])
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(table[0]))
        sheet.cell(1, 1).font = Font(bold=True, size=14)
        sheet.cell(1, 1).alignment = Alignment(horizontal="center")
        _append(sheet, table)
        for cell in sheet[2]:
            cell.font = bold
        sheet.freeze_panes = "C3"
        for col, label in enumerate(table[0], 1):
            sheet.column_dimensions[get_column_letter(col)].width = min(max(len(str(label)) * 2 + 2, 8), 40)
    if any(r.recommended for r in rows) or any(c.kind == "recommend" for c in contest.channels):
        sheet = book.create_sheet(_list_form_sheet_name(contest, taken))
        _append(sheet, _list_blocks(contest, rows))
        for cell in sheet["A"]:
            if cell.value in LIST_COLUMNS:
                for c in sheet[cell.row]:
                    c.font = bold
        for letter, width in zip("ABCDE", (6, 30, 24, 30, 24), strict=True):
            sheet.column_dimensions[letter].width = width
    if first is not None and len(book.worksheets) > 1:
        book.remove(first)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _list_form_sheet_name(contest: Contest, taken: set[str]) -> str:
    name = re.sub(r"[\[\]:*?/\\']", "", _list_form(contest)[2])[:31]
    if name in taken:
        name = "推荐汇总"
    taken.add(name)
    return name


def _append(sheet: Any, table: Iterable[list[Any]]) -> None:
    from openpyxl.styles import Alignment

    wrap = Alignment(wrap_text=True, vertical="top")
    # Values are appended, then text cells are pinned to the string type: openpyxl would store a
    # string beginning with "=" as a formula (neutralise() already prevents that; this is belt and braces).
    for values in table:
        sheet.append(values)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"
                cell.alignment = wrap


def export_csv(contest: Contest, rows: Sequence[ExportRow]) -> bytes:
    """One table over every form: columns by field label (a label two forms share is one column)."""
    forms = _forms_in_use(contest, rows)
    labels: list[str] = []
    for used in forms:
        labels += [f.label for f in used.fields if f.label not in labels]
    header = [*_before(contest), "表格", *labels, *_AFTER]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    for i, row in enumerate(rows, 1):
        form = _form_of(contest, row.submission.form_id)
        by_label: dict[str, Any] = {}
        for f in form.fields if form else ():
            by_label.setdefault(f.label, _cell(row.submission.answers.get(f.id)))
        before, after = _fixed(i, contest, row)
        title = neutralise(form.title) if form else row.submission.form_id
        writer.writerow([*before, title, *(by_label.get(label, "") for label in labels), *after])
    return buf.getvalue().encode("utf-8-sig")  # the BOM tells Excel/WPS the file is UTF-8


def _json_field(f: FormField, answers: dict[str, Any]) -> dict[str, Any]:
    return {"id": f.id, "label": f.label, "value": answers.get(f.id)}


def export_json(contest: Contest, rows: Sequence[ExportRow]) -> bytes:
    """Every submission with its fields ``{id, label, value}``; machine-readable, so not neutralised."""
    out = []
    for row in rows:
        sub = row.submission
        form = _form_of(contest, sub.form_id)
        where, sha, verdict = _video(sub.video)
        out.append(
            {
                "number": sub.number,
                "channel": sub.channel_id,
                "channel_label": _channel_label(contest, sub.channel_id),
                "form": sub.form_id,
                "form_title": form.title if form else "",
                "unit": row.unit,
                "unit_kind": row.unit_kind,
                "status": sub.status,
                "state": state_of(sub).value,
                "state_label": state_text(sub),
                "unit_kind_label": kind_label(contest, row.unit_kind),
                **({"recommended": row.recommended} if _selection_label(contest) is not None else {}),
                "created_at": sub.created_at.isoformat(),
                "user": str(sub.user),
                "fields": [_json_field(f, sub.answers) for f in form.fields] if form else [],
                # "stored" is a path on the server, the fingerprint its own bytes: of no use outside.
                "video": {
                    **{k: v for k, v in sub.video.items() if k not in ("stored", "content")},
                    **({"content": _content_json(sub.video["content"])} if sub.video.get("content") else {}),
                    "link": where,
                    "sha256": sha,
                    "verdict": verdict,
                },
            }
        )
    doc = {"contest": contest.id, "title": contest.title, "submissions": out}
    return json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8")


def _content_json(stored: Any) -> dict[str, Any]:
    if not isinstance(stored, dict):
        return {}
    return {k: v for k, v in stored.items() if k not in ("fingerprint", "timings")}


def render(fmt: str, contest: Contest, rows: Sequence[ExportRow]) -> bytes:
    """The export in ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "xlsx":
        return export_xlsx(contest, rows)
    if fmt == "csv":
        return export_csv(contest, rows)
    if fmt == "json":
        return export_json(contest, rows)
    raise ValueError(f"unknown export format {fmt!r}; one of {', '.join(FORMATS)}")
