"""Where the shipped contest data lives: presets, notices, FAQs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # jieba is imported when the first index is built, never at import time
    pass


def notices_dir() -> Path:
    return Path(__file__).with_name("notices")


def faq_dir() -> Path:
    return Path(__file__).with_name("faq")
