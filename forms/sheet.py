"""A form filled in: the layout's tokens resolved against the entrant's values.

:func:`build_sheet` turns a :class:`~forms.layout.Layout` and the values into a :class:`Sheet`
of rows, cells, paragraphs and runs of plain text.  The DOCX and the HTML/PDF writers only
draw a sheet; neither of them looks at a value's meaning, so the two outputs show the same
words.  Values are never parsed as templates or markup: they become runs of text here, and
each writer escapes them on output.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from contests.rules import LOST_WORDS, Contest, FieldType, Form, FormField
from forms.layout import TOKEN, Align, CellSpec, Layout, ParaSpec, pledge_options

RunKind = Literal["text", "value", "placeholder", "blank"]
CellKind = Literal["label", "value", "free"]

#: Rows without a height of their own are at least this tall (mm): room for a pen.
MIN_ROW_MM = 9.0

MODELLED_NOTE = (
    "说明：通知只列出本表名称，未附表样；本表参照往年全国科普微视频大赛表样制作，请以主办方下发的表样为准。"
)


def _mark_lost(run: Run) -> list[Run]:
    """``run`` with the preset's mark of the notice's lost words in bold: visible on paper."""
    if run.kind != "text" or LOST_WORDS not in run.text:
        return [run]
    out: list[Run] = []
    for i, part in enumerate(run.text.split(LOST_WORDS)):
        if i:
            out.append(Run(LOST_WORDS, bold=True))
        if part:
            out.append(Run(part, run.kind, run.bold, run.underline))
    return out


class FormError(ValueError):
    """The form cannot be filled in as asked: unknown form or field ids, or an unprintable value."""


@dataclass(frozen=True, slots=True)
class Run:
    """A stretch of text: fixed words of the form, an entrant's value, a grey instruction
    shown where a value is missing, or a blank line to write or sign on."""

    text: str
    kind: RunKind = "text"
    bold: bool = False
    underline: bool = False  # a value written into a line of fixed words: 推荐单位：＿＿


@dataclass(frozen=True, slots=True)
class Para:
    runs: tuple[Run, ...]
    align: Align = "left"
    small: bool = False

    @property
    def text(self) -> str:
        return "".join(r.text for r in self.runs)


@dataclass(frozen=True, slots=True)
class Cell:
    paras: tuple[Para, ...]
    kind: CellKind
    span: int = 1
    align: Align | None = None  # of the cell's paragraphs, when they do not set their own
    valign: Literal["top", "middle"] = "middle"


@dataclass(frozen=True, slots=True)
class Row:
    cells: tuple[Cell, ...]
    height_mm: float


@dataclass(frozen=True, slots=True)
class Sheet:
    """Everything a writer draws, in reading order."""

    contest_title: str
    form_title: str
    attachment: str  # 附件3
    title_lines: tuple[str, ...]
    heading: tuple[tuple[Para, ...], ...]
    columns: tuple[float, ...]  # percentages of the text width, summing to 100
    rows: tuple[Row, ...]
    footnotes: tuple[str, ...]
    model_note: str  # printed when the notice does not reproduce the form
    number: str | None
    verify_code: str | None
    font_pt: float

    @property
    def qr_text(self) -> str | None:
        """What the QR code on the form says: the submission number and its code.

        Upper case, digits, ``-`` and ``:`` only, so the code stays small (QR alphanumeric mode).
        """
        if not self.number:
            return None
        parts = ["KEPU", self.number.upper()]
        if self.verify_code:
            parts.append(self.verify_code.upper())
        return ":".join(parts)

    def plain_text(self) -> str:
        """The sheet's words in reading order (for logs and tests)."""
        lines = [self.attachment, *self.title_lines]
        lines += ["  ".join(p.text for p in line) for line in self.heading]
        for row in self.rows:
            lines.append(" | ".join(" / ".join(p.text for p in c.paras) for c in row.cells))
        return "\n".join([*lines, *self.footnotes, self.model_note])


# --- values ------------------------------------------------------------------------------

# Characters that reorder or hide text when interpreted: bidi embeddings, overrides, isolates
# and marks.  A paper form must show what was typed, so they are printed as their code point.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def printable(text: str) -> str:
    """``text`` as it is to be printed: every character that would be interpreted instead of
    shown (bidi controls, C0/C1 controls, lone surrogates, XML non-characters) becomes a
    visible ``[U+XXXX]``; line breaks stay; ``\\r\\n``, ``\\r`` and the line and paragraph
    separators (U+2028, U+2029: Pango draws them into a page whose text no reader can take
    back, so a genuine receipt would fail its check) become ``\\n``."""
    text = text.replace("\r\n", "\n")
    text = text.replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    out: list[str] = []
    for ch in text:
        code = ord(ch)
        if ch in "\n\t":
            out.append(ch)
        elif ch in _BIDI or unicodedata.category(ch) in ("Cc", "Cs") or code in (0xFFFE, 0xFFFF):
            out.append(f"[U+{code:04X}]")
        else:
            out.append(ch)
    return "".join(out)


_ISO_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_ISO_MONTH = re.compile(r"(\d{4})-(\d{2})")


def display(fld: FormField | None, value: Any) -> str:
    """How a stored answer is printed: names joined with 、, ISO dates as 2023年5月1日."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        if fld is not None and fld.type is FieldType.DATE:
            if m := _ISO_DAY.fullmatch(value.strip()):
                return f"{int(m[1])}年{int(m[2])}月{int(m[3])}日"
            if m := _ISO_MONTH.fullmatch(value.strip()):
                return f"{int(m[1])}年{int(m[2])}月"
        return printable(value)
    if isinstance(value, dt.date):
        return f"{value.year}年{value.month}月{value.day}日"
    if isinstance(value, list | tuple):
        return "、".join(s for s in (display(None, v) for v in value) if s)
    name = fld.id if fld else "value"
    raise FormError(
        f"字段 {name} 的值无法打印（{type(value).__name__}）/ cannot print a {type(value).__name__}"
    )


def check_values(form: Form, values: Mapping[str, Any]) -> None:
    """Refuse field ids the form does not have: a typo must not silently leave a cell blank."""
    if not isinstance(values, Mapping):
        raise FormError("填写内容应为“字段 → 值”的映射 / values must map field ids to values")
    unknown = sorted(str(k) for k in values if not isinstance(k, str) or form.field(k) is None)
    if unknown:
        known = ", ".join(f.id for f in form.fields)
        raise FormError(
            f"表 {form.id} 没有这些字段：{', '.join(unknown)}（可用：{known}）"
            f" / form {form.id!r} has no field {', '.join(unknown)}"
        )
    for key, value in values.items():
        display(form.field(key), value)  # raises FormError on a value that cannot be printed


# --- resolving ---------------------------------------------------------------------------


class _Resolver:
    def __init__(
        self,
        contest: Contest,
        form: Form,
        values: Mapping[str, Any],
        items: Sequence[Mapping[str, str]],
    ) -> None:
        self.contest, self.form, self.values, self.items = contest, form, values, items

    def value(self, field_id: str) -> str:
        return display(self.form.field(field_id), self.values.get(field_id)).strip("\n")

    def runs(self, text: str, item: int | None) -> list[Run]:
        runs: list[Run] = []
        pos = 0
        for m in TOKEN.finditer(text):
            if m.start() > pos:
                runs.append(Run(text[pos : m.start()]))
            runs.extend(self.token(m[1], m[2], m[3], item))
            pos = m.end()
        if pos < len(text):
            runs.append(Run(text[pos:]))
        return runs

    def token(self, kind: str, arg: str | None, options: str | None, item: int | None) -> list[Run]:
        match kind:
            case "field":
                value = self.value(arg or "")
                if value:
                    return [Run(value, "value", underline=True)]
                return [Run(options, "placeholder")] if options else [blank(10)]
            case "pledge":
                return self.pledge(arg or "", options)
            case "item":
                return [Run(self.item(arg or "", item), "value")]
            case "blank":
                return [blank(int(arg or 8))]
            case "year":
                return [Run(str(self.contest.year))]
        raise AssertionError(kind)  # pragma: no cover - TOKEN admits only these kinds

    def item(self, key: str, index: int | None) -> str:
        if index is None:
            return ""
        if key == "index":
            return str(index + 1)
        if index >= len(self.items):
            return ""
        return printable(str(self.items[index].get(key, "")))

    def pledge(self, field_id: str, options: str | None) -> list[Run]:
        fld = self.form.field(field_id)
        assert fld is not None  # the layout was checked against the form
        bold_lead, fills = pledge_options(options)
        runs: list[Run] = [Run(fld.text)]
        for placeholder, fill_id in fills:
            value = self.value(fill_id)
            filled = Run(value, "value", underline=True) if value else None
            spliced: list[Run] = []
            for run in runs:
                if run.kind != "text" or placeholder not in run.text:
                    spliced.append(run)
                    continue
                before, after = run.text.split(placeholder, 1)
                if filled is None:
                    gap = blank(len(placeholder)) if set(placeholder) == {"_"} else Run(placeholder)
                else:
                    gap = filled
                spliced.extend(r for r in (Run(before), gap, Run(after)) if r.text)
            runs = spliced
        if bold_lead and runs and runs[0].kind == "text" and "：" in runs[0].text:
            lead, rest = runs[0].text.split("：", 1)
            runs[:1] = [Run(lead + "：", bold=True), *([Run(rest)] if rest else [])]
        return [part for run in runs for part in _mark_lost(run)]

    def para(self, spec: ParaSpec, item: int | None) -> Para:
        runs = self.runs(spec.text, item)
        if all(r.kind == "value" or not r.text.strip() for r in runs):
            # A value alone on its line is not filling a blank of the form's words.
            runs = [Run(r.text, r.kind, r.bold) for r in runs]
        return Para(tuple(runs), spec.align, spec.small)

    def cell(self, spec: CellSpec, item: int | None, tall: bool) -> Cell:
        note_runs = tuple(self.runs(spec.note, item)) if spec.note else ()
        note = [Para(note_runs, small=True)] if "".join(r.text for r in note_runs) else []
        if spec.label is not None:
            lines = [Para((Run(line),), "center") for line in spec.label.split("\n")]
            return Cell(tuple(lines + [Para(p.runs, "center", True) for p in note]), "label", spec.span)
        if spec.paras:
            paras = [self.para(p, item) for p in spec.paras]
            return Cell(tuple(note + paras), "free", spec.span, spec.align, spec.valign or "middle")
        value = self.value(spec.field) if spec.field is not None else self.item(spec.item or "", item)
        if value:
            body = Para((Run(value, "value"),), spec.align or "left")
        elif spec.placeholder:
            body = Para((Run(spec.placeholder, "placeholder"),))
        else:
            body = Para(())
        # Tall cells hold long text that starts at the top, as written by hand; a list's
        # cells stay centred like its header row.
        valign = spec.valign or ("top" if tall and spec.item is None else "middle")
        return Cell((*note, body), "value", spec.span, spec.align, valign)


def blank(width: int) -> Run:
    """A line to write on, ``width`` characters wide (underscores: they print in every viewer
    and survive copy and paste, unlike underlined spaces)."""
    return Run("_" * (2 * width), "blank")


def footnote_lines(notes: Sequence[str]) -> tuple[str, ...]:
    """The notice's 注 as printed: one note as ``注：…``; several numbered, ``；`` between."""
    if not notes:
        return ()
    if len(notes) == 1:
        note = notes[0]
        return (note if note.startswith(("注", "说明")) else f"注：{note}",)
    lines = []
    for n, note in enumerate(notes, 1):
        end = "。" if n == len(notes) else "；"
        lines.append(f"{'注：' if n == 1 else '　　'}{n}. {note.rstrip('。；;.')}{end}")
    return tuple(lines)


def title_lines(title: str, break_after: str) -> tuple[str, ...]:
    if break_after and break_after in title:
        head, tail = title.split(break_after, 1)
        if tail:
            return (head + break_after, tail)
    return (title,)


def build_sheet(
    contest: Contest,
    form: Form,
    layout: Layout,
    values: Mapping[str, Any],
    *,
    number: str | None = None,
    verify_code: str | None = None,
    items: Sequence[Mapping[str, str]] = (),
) -> Sheet:
    """Resolve ``layout`` for ``form`` with ``values`` (field id -> answer) and list ``items``."""
    check_values(form, values)
    resolver = _Resolver(contest, form, values, items)
    heading = tuple(tuple(resolver.para(p, None) for p in line) for line in layout.heading)
    rows: list[Row] = []
    for spec in layout.rows:
        for n in range(spec.repeat):
            item = n if spec.repeat > 1 or any(c.item for c in spec.cells) else None
            tall = spec.height is not None
            cells = tuple(resolver.cell(c, item, tall) for c in spec.cells)
            rows.append(Row(cells, spec.height or MIN_ROW_MM))
    total = sum(layout.columns)
    return Sheet(
        contest_title=contest.title,
        form_title=form.title,
        attachment=form.attachment,
        title_lines=title_lines(form.title, layout.title_break_after),
        heading=heading,
        columns=tuple(round(100 * w / total, 3) for w in layout.columns),
        rows=tuple(rows),
        footnotes=footnote_lines(form.footnotes),
        model_note="" if form.reproduced else MODELLED_NOTE,
        number=printable(number) if number else None,
        verify_code=printable(verify_code) if verify_code else None,
        font_pt=layout.font_pt,
    )
