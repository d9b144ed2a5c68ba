"""How a notice's paper form is laid out: the table's rows and cells, as data.

A contest's layouts live in ``forms/layouts/<contest-id>.yaml``, one entry per form id.  A
layout says what the notice's table looks like (which label sits beside which cell, which
rows are tall, where the signature and seal blanks are); the words of the fields, the
commitment text and the footnotes come from the contest preset.  Both outputs (DOCX and PDF)
are drawn from the same layout, so they cannot drift apart.

Text in a layout may hold tokens, never entrant input (values are inserted after parsing and
are never parsed themselves):

``{field:ID}`` / ``{field:ID|placeholder}``
    the value of a field; the placeholder (an instruction such as ``（填写单位全称）``) is
    printed in grey when the value is blank.
``{pledge:ID}`` / ``{pledge:ID|bold-lead; 占位=field_id}``
    the pledge field's commitment text, word for word; ``bold-lead`` sets the words up to
    the first "：" in bold, and ``占位=field_id`` fills a blank of the text with a value.
``{item:KEY}``
    a column of a repeated row (the works of a district's list).
``{blank:N}``
    an underlined space N characters wide, for a handwritten signature.
``{year}``
    the contest's year, as in "{year}年　月　日".

A contest without a layout file (a new edition written by an organiser, say) gets
:func:`generic_layout`: every field in a labelled row, then the pledge and signatures.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from contests.rules import Contest, FieldType, Form

log = logging.getLogger(__name__)

Align = Literal["left", "center", "right", "justify"]

TOKEN = re.compile(r"\{(field|pledge|item|blank|year)(?::([A-Za-z0-9_]+))?(?:\|([^{}]*))?\}")


class LayoutError(Exception):
    """A layout file is unreadable, breaks the schema, or does not match its form."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _para_shorthand(value: Any) -> Any:
    return {"text": value} if isinstance(value, str) else value


class ParaSpec(_Spec):
    """One paragraph of a cell: text with tokens, its alignment and size."""

    text: str
    align: Align = "left"
    small: bool = False


Para = Annotated[ParaSpec, BeforeValidator(_para_shorthand)]


def _cell_shorthand(value: Any) -> Any:
    return {"label": value} if isinstance(value, str) else value


class CellSpec(_Spec):
    """A table cell: a label, a field's value, a column of a repeated row, or free paragraphs.

    Exactly one of ``label``, ``field``, ``item`` and ``paras`` is given.  ``note`` is the
    small print of the notice beside a label or inside a value cell, e.g. ``（100字以内）``.
    """

    label: str | None = None
    field: str | None = None
    item: str | None = None
    paras: tuple[Para, ...] = ()
    note: str = ""
    placeholder: str = ""
    span: int = Field(default=1, ge=1, le=12)
    align: Align | None = None
    valign: Literal["top", "middle"] | None = None  # default: top for long text, else middle

    @model_validator(mode="after")
    def _one_kind(self) -> CellSpec:
        kinds = [self.label is not None, self.field is not None, self.item is not None, bool(self.paras)]
        if sum(kinds) != 1:
            raise ValueError("a cell has exactly one of label, field, item or paras")
        return self


Cell = Annotated[CellSpec, BeforeValidator(_cell_shorthand)]


def _row_shorthand(value: Any) -> Any:
    return {"cells": value} if isinstance(value, list) else value


class RowSpec(_Spec):
    """A table row; ``height`` (mm) is the least height, as tall as the notice's blank cell.

    ``repeat`` draws the row that many times, for lists (区县推荐表: five works).
    """

    cells: tuple[Cell, ...]
    height: float | None = Field(default=None, gt=0, le=250)
    repeat: int = Field(default=1, ge=1, le=50)


Row = Annotated[RowSpec, BeforeValidator(_row_shorthand)]


def _heading_shorthand(value: Any) -> Any:
    return [value] if isinstance(value, str | dict) else value


HeadingLine = Annotated[tuple[Para, ...], BeforeValidator(_heading_shorthand)]


class Layout(_Spec):
    """The whole sheet of one form."""

    columns: tuple[float, ...] = Field(min_length=1)  # relative widths of the grid
    heading: tuple[HeadingLine, ...] = ()  # lines between title and table: 推荐单位：… 序号：…
    rows: tuple[Row, ...]
    title_break_after: str = ""  # the notice breaks its long title after these words
    font_pt: float = Field(default=10.5, ge=8, le=16)  # 五号, the size of the notices' tables
    omit: dict[str, str] = {}  # field id -> why the paper has no cell for it

    @model_validator(mode="after")
    def _rows_fill_grid(self) -> Layout:
        if any(not 1 <= len(line) <= 2 for line in self.heading):
            raise ValueError("a heading line has one part, or two: left and right")
        width = len(self.columns)
        for n, row in enumerate(self.rows, 1):
            used = sum(c.span for c in row.cells)
            if used != width:
                raise ValueError(f"row {n} spans {used} columns, the grid has {width}")
        return self

    def tokens(self) -> Iterator[tuple[str, str | None, str | None]]:
        """Every token of the layout as (kind, argument, options)."""
        texts: list[str] = [p.text for line in self.heading for p in line]
        for row in self.rows:
            for cell in row.cells:
                texts.extend(p.text for p in cell.paras)
        for text in texts:
            for m in TOKEN.finditer(text):
                yield m[1], m[2], m[3]

    def placed_fields(self) -> list[str]:
        """Field ids that have a place of their own (a cell, a field or pledge token)."""
        placed = [arg for kind, arg, _o in self.tokens() if kind in ("field", "pledge") and arg]
        placed.extend(c.field for row in self.rows for c in row.cells if c.field)
        return placed

    def filled_fields(self) -> list[str]:
        """Field ids written into the blanks of a commitment text (may repeat a placed one)."""
        return [
            value for kind, _a, options in self.tokens() if kind == "pledge"
            for _key, value in pledge_options(options)[1]
        ]  # fmt: skip

    def check(self, form: Form) -> None:
        """Raise :class:`LayoutError` unless every field of ``form`` is shown exactly once
        (a commitment's blank may repeat it) or is omitted with a reason."""
        ids = [f.id for f in form.fields]
        placed, filled = self.placed_fields(), self.filled_fields()
        unknown = sorted(
            {p for p in placed + filled if form.field(p) is None} | {o for o in self.omit if o not in ids}
        )
        twice = sorted({p for p in placed if placed.count(p) > 1})
        missing = [i for i in ids if i not in placed and i not in filled and i not in self.omit]
        for kind, arg, _options in self.tokens():
            if kind == "pledge" and arg and (fld := form.field(arg)) and fld.type is not FieldType.PLEDGE:
                unknown.append(f"{arg} (not a pledge)")
        problems = [
            f"{label}: {', '.join(items)}"
            for label, items in (("unknown", unknown), ("placed twice", twice), ("missing", missing))
            if items
        ]
        if problems:
            raise LayoutError(f"layout of form {form.id!r} does not match it: " + "; ".join(problems))


def _fills(options: str) -> list[str]:
    return [o.strip() for o in options.split(";") if "=" in o]


def pledge_options(options: str | None) -> tuple[bool, list[tuple[str, str]]]:
    """``bold-lead`` and the ``placeholder=field`` fills of a pledge token."""
    if not options:
        return False, []
    bold = any(o.strip() == "bold-lead" for o in options.split(";"))
    fills = [(k.strip(), v.strip()) for k, v in (f.split("=", 1) for f in _fills(options))]
    return bold, fills


class LayoutFile(_Spec):
    """``forms/layouts/<contest>.yaml``: which notice it draws, and a layout per form id."""

    contest: str
    seed: str = ""  # the notice (``notice.seed`` of the preset): a new edition keeps its forms
    forms: dict[str, Layout]


def layouts_dir() -> Path:
    return Path(__file__).with_name("layouts")


@functools.cache
def _layout_files(folder: Path) -> tuple[LayoutFile, ...]:
    # Read once per process and folder: layouts are package data, not user data.
    found = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
            found.append(LayoutFile.model_validate(raw))
        except (OSError, yaml.YAMLError, ValidationError) as exc:
            raise LayoutError(f"{path}: {exc}") from exc
    return tuple(found)


def find_layout(contest: Contest, form: Form, folder: Path | None = None) -> Layout:
    """The notice's layout of ``form``: by contest id, then by the notice it was written from.

    Falls back to :func:`generic_layout` (with a warning in the log) when there is none or
    when the organiser changed the form's fields so that the notice's layout no longer fits.
    """
    files = _layout_files(folder or layouts_dir())
    candidates = [f for f in files if f.contest == contest.id]
    if contest.notice.seed:
        candidates += [f for f in files if f.contest != contest.id and f.seed == contest.notice.seed]
    for file in candidates:
        layout = file.forms.get(form.id)
        if layout is None:
            continue
        try:
            layout.check(form)
        except LayoutError as exc:
            log.warning("%s; drawing a plain table instead", exc)
            break
        return layout
    return generic_layout(form)


def generic_layout(form: Form) -> Layout:
    """A plain two-column table: label, value; then the pledge and the signature blanks.
    A ``recommender`` field has no row: it says where the form is sent, it is not on it."""
    rows: list[dict[str, Any]] = []
    for fld in form.fields:
        if fld.role == "recommender":
            continue  # the unit submitted through (cq 报送区县) is not a cell of the paper form
        label = {"label": fld.label}
        if fld.type is FieldType.PLEDGE:
            rows.append({"cells": [label, {"paras": [f"{{pledge:{fld.id}}}"]}]})
            continue
        note = f"（{fld.max_chars}字以内）" if fld.max_chars else ""
        height = 8.0 + (fld.max_chars or 60) / 6 if fld.multiline else None
        rows.append({"cells": [label, {"field": fld.id, "note": note}], "height": height})
    if form.signatures:
        paras: list[dict[str, Any]] = [
            {"text": f"{s}：{{blank:8}}", "align": "right"} for s in form.signatures
        ]
        paras.append({"text": "{year}年　　月　　日", "align": "right"})
        rows.append({"cells": [{"label": "签字盖章"}, {"paras": paras}]})
    return Layout.model_validate({"columns": [1, 3], "rows": rows})
