"""The fonts the PDF is set in, and a check that the machine has them.

WeasyPrint finds fonts through fontconfig and quietly falls back to any font it has; without a
CJK font the Chinese would print as empty boxes.  :func:`missing_fonts` asks fontconfig once
per process, so that :func:`forms.render.render_form` can fail with a message that names the
Debian package instead (``forms/SYSTEM_DEPS.txt``).  The DOCX names the fonts every Chinese
Windows, macOS and WPS install has (宋体, 黑体); Word substitutes its own when they are absent.
"""

from __future__ import annotations

import functools
import shutil
import subprocess

#: CSS font families of the PDF, in fallback order (the names fontconfig knows them by).
SERIF = "Noto Serif CJK SC"  # 宋体-like: the body of the notices' tables
SANS = "Noto Sans CJK SC"  # 黑体-like: the 附件 label (titles are bold serif, like 小标宋)
MONO = "DejaVu Sans Mono"  # the receipt's token and key id
# An entrant may type emoji; fontconfig falls back to this font for them.  It is not named in
# the stylesheets: listed there, Pango would take the digits from it too (bitmaps, 3× larger).
EMOJI = "Noto Color Emoji"
REQUIRED = (SERIF, SANS)

#: Fonts named in the DOCX: (East Asian, Latin).
DOCX_BODY = ("宋体", "Times New Roman")
DOCX_LABEL = ("黑体", "Arial")  # 附件1

PACKAGES = {
    SERIF: "fonts-noto-cjk",
    SANS: "fonts-noto-cjk",
    MONO: "fonts-dejavu-core",
    EMOJI: "fonts-noto-color-emoji",
}


class FontsMissing(RuntimeError):
    """fontconfig does not know a font the PDF needs."""


@functools.cache
def _known_families() -> frozenset[str] | None:
    # Cached: fontconfig's list does not change while the process runs, and fc-list takes
    # tens of milliseconds.  None when fc-list itself is absent (checked by WeasyPrint later).
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    out = subprocess.run(
        [fc_list, ":", "family"], capture_output=True, text=True, timeout=30, check=False
    ).stdout
    return frozenset(name.strip() for line in out.splitlines() for name in line.split(","))


def missing_fonts(families: tuple[str, ...] = REQUIRED) -> list[str]:
    """The families of ``families`` that fontconfig does not know (all, if it cannot be asked)."""
    known = _known_families()
    if known is None:
        return list(families)
    return [f for f in families if f not in known]


def require_fonts() -> None:
    """Raise :class:`FontsMissing`, naming the packages to install, when a required font is absent."""
    missing = missing_fonts()
    if missing:
        packages = sorted({PACKAGES[f] for f in missing})
        raise FontsMissing(
            f"缺少 PDF 所需的中文字体：{', '.join(missing)}；请安装 {' '.join(packages)}"
            f" / missing fonts {', '.join(missing)}: apt-get install {' '.join(packages)}"
        )
