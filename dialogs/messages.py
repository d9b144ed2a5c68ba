"""Message texts live in jinja2 templates (``dialogs/templates/<locale>/``), not in the code.

Each template file holds macros; ``Messages.render("prompt_field", ...)`` calls the macro of
that name from whichever file defines it.  zh_CN is the default and the fallback locale.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path
from typing import Any

import jinja2

from validators.fields import max_chars_of

DEFAULT_LOCALE = "zh_CN"
_FILES = ("messages.j2", "errors.j2")


def _cn_date(value: dt.date | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value)
    return f"{value.year}年{value.month}月{value.day}日"


def _duration(seconds: int | float | None) -> str:
    if seconds is None:
        return ""
    seconds = round(seconds)
    minutes, rest = divmod(seconds, 60)
    if minutes and rest:
        return f"{minutes}分{rest}秒"
    return f"{minutes}分钟" if minutes else f"{rest}秒"


class Messages:
    """Renders named messages for one locale."""

    def __init__(self, locale: str = DEFAULT_LOCALE, template_dir: Path | None = None) -> None:
        root = template_dir or Path(__file__).with_name("templates")
        if not (root / locale).is_dir():
            raise ValueError(f"no templates for locale {locale!r} in {root}")
        self.locale = locale
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader([root / locale, root / DEFAULT_LOCALE]),
            # Chat text is plain text, never markup: channels send it without a parse mode.
            autoescape=False,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self._env.filters["cn_date"] = _cn_date
        self._env.filters["duration"] = _duration
        self._env.globals["max_chars"] = max_chars_of  # a cell's limit, a title's where the form sets none
        self._macros: dict[str, Any] = {}
        for name in _FILES:
            module = self._env.get_template(name).module
            for attr in dir(module):
                if not attr.startswith("_"):
                    self._macros[attr] = getattr(module, attr)

    def render(self, name: str, /, **context: Any) -> str:
        try:
            macro = self._macros[name]
        except KeyError:
            raise KeyError(f"no message {name!r} in locale {self.locale}") from None
        text = str(macro(**context))
        lines = [line.rstrip() for line in textwrap.dedent(text).strip("\n").splitlines()]
        return "\n".join(lines).strip()

    def has(self, name: str) -> bool:
        return name in self._macros
