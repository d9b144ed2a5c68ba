"""The fonts the PDF is set in, and a check that the machine has them.

WeasyPrint finds fonts through fontconfig and quietly falls back to any font it has; without a
CJK font the Chinese would print as empty boxes.  :func:`missing_fonts` asks fontconfig once
per process, so that :func:`forms.render.render_form` can fail with a message that names the
Debian package instead (``forms/SYSTEM_DEPS.txt``).  The DOCX names the fonts every Chinese
Windows, macOS and WPS install has (宋体, 黑体); Word substitutes its own when they are absent.
"""

from __future__ import annotations

import functools
import logging
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

#: CSS font families of the PDF, in fallback order (the names fontconfig knows them by).
SERIF = "Noto Serif CJK SC"  # 宋体-like: the body of the notices' tables
SANS = "Noto Sans CJK SC"  # 黑体-like: the 附件 label (titles are bold serif, like 小标宋)
MONO = "DejaVu Sans Mono"  # the receipt's token and key id
MONO_CJK = "Noto Sans Mono CJK SC"  # the Chinese words among them (what fontconfig's monospace gave)
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
    MONO_CJK: "fonts-noto-cjk",
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


# --- the common characters' faces ------------------------------------------------------------
#
# bench/README.md 'Forms': WeasyPrint copies each font it uses whole (the Noto CJK collections
# are 19-27 MB) and subsets it keeping every glyph's number (up to 65,535), for every PDF:
# about half the CPU of a form.  The stylesheets therefore name first a face cut, once per
# process, from the same font to the characters of GB 2312 and the punctuation and Latin
# around them (~13,000 glyphs, ~4.6 MB): the same outlines and metrics, so the page looks the
# same (tests/test_form_looks.py), and a character outside it falls back to the full font.

#: The faces cut to the common characters: (family the stylesheets name, full family, weight,
#: part of :func:`common_codepoints`).
#:
#: bench/README.md 'Documents at the deadline': WeasyPrint still subsets each face a PDF uses,
#: keeping the glyph numbers up to the highest used, and the full-width punctuation of every
#: Chinese line sits at the end of a face's glyphs: a face cut to all of GB 2312 (13,108 glyphs)
#: cost ~4-6 ms to subset and ~100-190 KB to deflate per PDF and face.  The serif faces are
#: therefore cut in two: the 3,755 hanzi of GB 2312's first level (the frequent ones, with the
#: Latin and punctuation: ~7,700 glyphs) and, named next, the 3,008 of its second level.
COMMON_FACES = (
    ("Noto Serif CJK SC Common", SERIF, "normal", 1),
    ("Noto Serif CJK SC Common 2", SERIF, "normal", 2),
    ("Noto Serif CJK SC Common", SERIF, "bold", 1),
    ("Noto Serif CJK SC Common 2", SERIF, "bold", 2),
    ("Noto Sans CJK SC Common", SANS, "normal", 1),  # 附件1: the full font draws any rarer hanzi
    # bench/README.md 'Documents at the deadline': the receipt's command line names 回执.pdf and
    # 主办方公钥.pem in a monospaced span; fontconfig drew them from the whole 19 MB collection,
    # whose subset (glyph numbers up to 42,619 kept) was ~13 ms and ~470 KB of every receipt.
    ("Noto Sans Mono CJK SC Common", MONO_CJK, "normal", 1),
)


def _gb2312_level(cp: int) -> int:
    """1 or 2 for a hanzi of GB 2312's first or second level, else 0."""
    try:
        code = chr(cp).encode("gb2312")
    except UnicodeEncodeError:
        return 0
    return 1 if code[0] < 0xD8 else 2


def common_codepoints(part: int = 0) -> list[int]:
    """Latin, punctuation, CJK symbols, full-width forms and the 6,763 hanzi of GB 2312; or
    ``part`` 1 of them (all but the hanzi of GB 2312's second level) or ``part`` 2 (those)."""
    ranges = ((0x20, 0x250), (0x2000, 0x2070), (0x2100, 0x2200), (0x2460, 0x2500), (0x3000, 0x3040))
    points = set()
    if part != 2:
        points = {cp for low, high in (*ranges, (0xFF00, 0xFFF0)) for cp in range(low, high)}
    for cp in range(0x4E00, 0xA000):
        level = _gb2312_level(cp)
        if level and part in (0, level):
            points.add(cp)
    return sorted(points)


@dataclass(frozen=True, slots=True)
class CommonFace:
    family: str
    weight: str
    data: bytes  # an OpenType font


def _font_file(family: str, weight: str) -> tuple[str, int] | None:
    """The file and face index fontconfig gives ``family`` at ``weight``."""
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        return None
    query = f"{family}:weight={'bold' if weight == 'bold' else 'regular'}"
    out = subprocess.run(
        [fc_match, "-f", "%{family}|%{file}|%{index}", query],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    ).stdout
    families, _, rest = out.partition("|")
    path, _, index = rest.partition("|")
    if family not in families.split(",") or not path or not index.isdigit():
        return None  # fontconfig substituted another font: cut nothing from it
    return path, int(index)


def _harfbuzz() -> tuple[Any, Any, Any]:
    import cffi  # type: ignore[import-untyped]  # WeasyPrint's bindings, where PDFs are drawn

    ffi = cffi.FFI()
    ffi.cdef(
        """
        typedef struct hb_blob_t hb_blob_t; typedef struct hb_face_t hb_face_t;
        typedef struct hb_set_t hb_set_t; typedef struct hb_subset_input_t hb_subset_input_t;
        hb_blob_t *hb_blob_create_from_file (const char *file_name);
        void hb_blob_destroy (hb_blob_t *blob);
        const char *hb_blob_get_data (hb_blob_t *blob, unsigned int *length);
        hb_face_t *hb_face_create (hb_blob_t *blob, unsigned int index);
        hb_blob_t *hb_face_reference_blob (hb_face_t *face);
        void hb_face_destroy (hb_face_t *face);
        void hb_set_add_sorted_array (hb_set_t *set, const uint32_t *array, unsigned int n);
        hb_subset_input_t *hb_subset_input_create_or_fail (void);
        void hb_subset_input_destroy (hb_subset_input_t *input);
        hb_set_t *hb_subset_input_unicode_set (hb_subset_input_t *input);
        hb_set_t *hb_subset_input_set (hb_subset_input_t *input, int set_type);
        void hb_set_del (hb_set_t *set, uint32_t codepoint);
        void hb_subset_input_set_flags (hb_subset_input_t *input, unsigned value);
        hb_face_t *hb_subset_or_fail (hb_face_t *source, const hb_subset_input_t *input);
        """
    )
    return ffi, ffi.dlopen("libharfbuzz.so.0"), ffi.dlopen("libharfbuzz-subset.so.0")


_DROP_TABLE_TAG = 3  # hb_subset_sets_t
_BASE = int.from_bytes(b"BASE", "big")
_PASSTHROUGH_UNRECOGNIZED = 0x20  # hb_subset_flags_t


def _cut(path: str, index: int, points: list[int]) -> bytes:
    ffi, hb, subset = _harfbuzz()
    blob = hb.hb_blob_create_from_file(path.encode())
    face = hb.hb_face_create(blob, index)
    request = subset.hb_subset_input_create_or_fail()
    try:
        array = ffi.new("uint32_t[]", points)
        hb.hb_set_add_sorted_array(subset.hb_subset_input_unicode_set(request), array, len(points))
        # HarfBuzz drops the baseline table (BASE) by default, or cannot subset it (6.0), and
        # Pango places a line of Latin letters by it: kept as it is (it names no glyphs here).
        hb.hb_set_del(subset.hb_subset_input_set(request, _DROP_TABLE_TAG), _BASE)
        subset.hb_subset_input_set_flags(request, _PASSTHROUGH_UNRECOGNIZED)
        cut = subset.hb_subset_or_fail(face, request)
        if cut == ffi.NULL:
            raise OSError(f"HarfBuzz could not subset {path}")
        out = hb.hb_face_reference_blob(cut)
        size = ffi.new("unsigned int *")
        data = bytes(ffi.buffer(hb.hb_blob_get_data(out, size), size[0]))
        hb.hb_blob_destroy(out)
        hb.hb_face_destroy(cut)
    finally:
        subset.hb_subset_input_destroy(request)
        hb.hb_face_destroy(face)
        hb.hb_blob_destroy(blob)
    if not data:
        raise OSError(f"HarfBuzz gave an empty subset of {path}")
    return data


def common_faces() -> Iterator[CommonFace]:
    """Each face of :data:`COMMON_FACES` that could be cut (about 0.5 s each; a face that
    cannot be, for want of its font or of HarfBuzz's subsetter, is left out with a warning:
    the stylesheets' next family, the full font, then draws everything)."""
    for family, full, weight, part in COMMON_FACES:
        found = _font_file(full, weight)
        if found is None:
            log.warning("no file for %s (%s): PDFs use the full font", full, weight)
            continue
        try:
            yield CommonFace(family, weight, _cut(*found, common_codepoints(part)))
        except (ImportError, OSError) as exc:  # cffi or a library missing, or a failed cut
            log.warning("%s (%s) not cut to the common characters: %s", full, weight, exc)
