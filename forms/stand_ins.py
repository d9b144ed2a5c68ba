"""A sheet's shape: what a skeleton (:mod:`forms.overlay`) is drawn from.

A shape is the sheet with each value's words replaced by stand-ins (:func:`shape`); the
values themselves, in the order the skeleton sets them, are :func:`values`.  When the values
do not fit a shape the skeleton raises :class:`Unfit`, or :class:`Taller` when a shape with
more lines in some stand-ins would do.
"""

from __future__ import annotations

import dataclasses

from forms.sheet import Para, Run, Sheet

#: A value's stand-in in the skeleton: one common hanzi, so that the line is as tall as text.
STAND_IN = "国"
#: The number and code at the top are right-aligned in a column as wide as their text: their
#: stand-ins are a full-width letter per character, wider than any digit or Latin letter.
WIDE = "Ｗ"
#: At most this many lines added to the stand-ins (:class:`Taller`) over all of a document's
#: values: beyond, the whole document is drawn, its skeleton not made (values of pages of lines
#: would change the page anyway, and each such skeleton would push a useful one out).  The
#: forms' full-length values of tests/test_form_looks.py add at most 10.
MOST_LINES_ADDED = 24


class Unfit(Exception):
    """The values do not fit the skeleton: draw the whole document instead."""


class Taller(Unfit):
    """The values take other numbers of lines than their stand-ins: ``extra`` maps a value's
    index (:func:`values`' order) to the lines its paragraph takes beyond what it takes with a
    one-line stand-in (the skeleton to use is :func:`shape` with these)."""

    def __init__(self, extra: dict[int, int]) -> None:
        super().__init__(f"values take more lines: {extra}")
        self.extra = extra


def shape(sheet: Sheet, extra: dict[int, int] | None = None) -> Sheet:
    """``sheet`` with each value's words replaced by :data:`STAND_IN`, the number and code by
    :data:`WIDE` (as many as their characters): what its skeleton is drawn from.  ``extra``:
    lines to add to some values' stand-ins (by index in :func:`values`' order; :class:`Taller`)."""
    extra = extra or {}
    count = [2 if sheet.number and sheet.verify_code else 1 if sheet.number else 0]

    def stand_in(run: Run) -> Run:
        if run.kind != "value":
            return run
        n = extra.get(count[0], 0)
        count[0] += 1
        return dataclasses.replace(run, text="\n".join([STAND_IN] * (1 + n)))

    def para_shape(para: Para) -> Para:
        return dataclasses.replace(para, runs=tuple(stand_in(r) for r in para.runs))

    heading = tuple(tuple(para_shape(p) for p in line) for line in sheet.heading)
    rows = tuple(
        dataclasses.replace(
            row,
            cells=tuple(
                dataclasses.replace(cell, paras=tuple(para_shape(p) for p in cell.paras))
                for cell in row.cells
            ),
        )
        for row in sheet.rows
    )
    return dataclasses.replace(
        sheet,
        rows=rows,
        heading=heading,
        number=WIDE * len(sheet.number) if sheet.number else None,
        verify_code=WIDE * len(sheet.verify_code) if sheet.verify_code else None,
    )


def values(sheet: Sheet) -> list[str]:
    """The words the template writes in ``span.value`` and ``span.code``, in document order
    (``forms/templates/form.html.j2``: the number and code, the heading, the table)."""
    out = [t for t in (sheet.number, sheet.verify_code if sheet.number else None) if t]
    paras = [p for line in sheet.heading for p in line]
    paras += [p for row in sheet.rows for cell in row.cells for p in cell.paras]
    out += [r.text for p in paras for r in p.runs if r.kind == "value"]
    return out
