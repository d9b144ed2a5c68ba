"""WeasyPrint's boxes that hold a form's values: found in the laid-out page, copied with an
entrant's words.

The templates mark a value's element by its class (:data:`VALUE_CLASSES`); a block whose
children are line boxes is a paragraph the skeleton (:mod:`forms.overlay`) lays out again
with the values' words in it (:func:`with_texts`), each word checked as WeasyPrint's box
builder would have treated it; anything it would have treated otherwise is :class:`Unfit`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from forms.stand_ins import Unfit

_LINE_FEEDS = re.compile(r"\r\n?")


def classes(box: Any) -> list[str]:
    element = getattr(box, "element", None)
    if element is None or not hasattr(element, "get"):
        return []
    return str(element.get("class") or "").split()


def walk(box: Any) -> Iterator[Any]:
    yield box
    for child in getattr(box, "children", ()):
        yield from walk(child)


#: The classes of the templates' elements whose text is a value: ``form.html.j2``'s
#: ``span.value`` and ``span.code`` (the number and code), ``receipt.html.j2``'s ``td.value``
#: and ``p.token``.
VALUE_CLASSES = ("value", "code", "token")


def is_value(box: Any) -> bool:
    """A text box of a value (its element's own text, one text box a value)."""
    from weasyprint.formatting_structure import boxes  # type: ignore[import-untyped]

    return isinstance(box, boxes.TextBox) and any(c in classes(box) for c in VALUE_CLASSES)


def lines_holder(box: Any) -> bool:
    """A block whose children are line boxes (a paragraph, or a cell with inline content)."""
    from weasyprint.formatting_structure import boxes

    return (
        isinstance(box, boxes.BlockContainerBox)
        and bool(box.children)
        and all(isinstance(c, boxes.LineBox) for c in box.children)
    )


class ValueQueue:
    """The values, taken one by one."""

    def __init__(self, texts: list[str]) -> None:
        self.texts, self.taken = texts, 0

    def __next__(self) -> str:
        if self.taken >= len(self.texts):
            raise Unfit("more cells for values than values")
        self.taken += 1
        return self.texts[self.taken - 1]


def with_texts(line: Any, queue: ValueQueue) -> Any:
    """A deep copy of ``line`` (before layout), each value's text the next of ``queue``."""
    from weasyprint.formatting_structure import boxes

    def copy(box: Any) -> Any:
        if is_value(box):
            return _text_box(box, next(queue))
        if isinstance(box, boxes.ParentBox):
            return box.copy_with_children([copy(c) for c in box.children])
        return box.copy()

    return copy(line)


def _text_box(box: Any, text: str) -> Any:
    """``box`` with ``text``, processed as WeasyPrint's box builder processes a value's."""
    if not text:
        raise Unfit("an empty value")
    if box.style["white_space"] not in ("pre", "pre-wrap") and any(ch.isspace() for ch in text):
        raise Unfit("spaces in a value whose spaces collapse")
    text = _LINE_FEEDS.sub("\n", text)
    if box.style["text_transform"] != "none" or box.style["hyphens"] == "none":
        raise Unfit("a transformed text")
    return box.copy_with_text(text)


def px(value: Any) -> float:
    if getattr(value, "unit", "px") != "px":
        raise Unfit(f"a length in {value.unit}")
    return float(getattr(value, "value", value))
