"""The documents' speed tricks (bench/README.md 'Forms', 'Documents at the deadline') leave
them looking as they did.

* PDF: the stylesheets name first the faces cut to the common characters
  (:func:`forms.fonts.common_faces`), the QR codes are written straight into the page
  (:class:`forms.qr.QRDrawing`, their masks chosen with numpy: :func:`forms.qr.qr_matrix`) and
  the streams deflated at another level; each form and the receipt are drawn both ways, the
  old way (full fonts only, the QR code an SVG image) and the shipped one, and their pages
  compared as PNG renders (``pdftoppm``) with a small pixel tolerance.
* DOCX: drawn once per shape of sheet with the values written in
  (:func:`forms.word.filled_docx`); every part must be what python-docx writes itself.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image, ImageChops, ImageFilter
from pypdf import PdfReader
from segno import encoder

from contests.records import Submission, UserKey
from contests.registry import ContestRegistry
from contests.rules import Contest, FieldType, Form
from forms.fonts import missing_fonts
from forms.layout import find_layout
from forms.pdf import html_to_pdf, sheet_html, sheet_pdf
from forms.qr import _scores, qr_matrix, qr_png
from forms.receipts import issue_receipt
from forms.sheet import build_sheet
from forms.word import filled_docx, sheet_docx

CONTESTS = [
    "most-2023-tech-envoy",
    "cq-2023-scientist-spirit",
    "most-cas-2024-kepu",
    "hlj-2022-kepu",
    "cacsi-2022-youth",
]
#: A name's character outside GB 2312: drawn from the full font, next in the stylesheet.
RARE = "堃"
#: One of GB 2312's second level: drawn from the second common face (the first has the first level).
LEVEL2 = "鑫"
#: A pixel differs when it is further than this (of 255 greys) from every pixel around the same
#: place on the other page: half-pixel shifts of a line pass, a changed or missing glyph does not.
GREYS = 64

needs_pdf_tools = pytest.mark.skipif(
    shutil.which("pdftoppm") is None or bool(missing_fonts()),
    reason="pdftoppm (poppler-utils) or the Noto CJK fonts missing: scripts/system-deps.sh --test",
)


@pytest.fixture(scope="module")
def registry() -> ContestRegistry:
    return ContestRegistry.load()


def typical(contest: Contest, form: Form, *, odd: bool = False) -> dict[str, Any]:
    """Answers as entrants give them; ``odd`` adds what XML and Word treat specially."""
    text = "黑土是大自然给予人类的得天独厚的宝藏，是一种性状好、肥力高、适宜农耕的优质土地。"
    if odd:
        text = " 甲&乙 <丙> “引号”\t制表\n第二行 "
    out: dict[str, Any] = {}
    for fld in form.fields:
        match fld.type:
            case FieldType.PEOPLE:
                out[fld.id] = [f"张{RARE}（某研究院 研究员）", f"李{LEVEL2}（某大学 副教授）"]
            case FieldType.DATE:
                out[fld.id] = f"{contest.year}-02-15"
            case FieldType.INTEGER:
                out[fld.id] = 12800
            case FieldType.CHOICE:
                out[fld.id] = fld.options[0]
            case FieldType.PLEDGE:
                out[fld.id] = "同意"
            case FieldType.URL:
                out[fld.id] = "https://pan.baidu.com/s/1AbCdEfGhIjKlMnOpQrSt?pwd=k3p9"
            case _:
                out[fld.id] = text[: fld.max_chars or 24]
    return out


def full_fonts_only(html: str) -> str:
    """The HTML as the stylesheets were before the common faces: the full fonts only."""
    return re.sub(r'"Noto [A-Za-z ]+ CJK SC Common( 2)?", ', "", html)


def embedded(pdf: bytes) -> set[str]:
    names = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for ref in page["/Resources"]["/Font"].values():
            names.add(str(ref.get_object()["/BaseFont"]))
    return names


def png(pdf: bytes, folder: Path, name: str, dpi: int = 72, page: int = 1) -> Image.Image:
    (folder / f"{name}.pdf").write_bytes(pdf)
    pages = ["-f", str(page), "-l", str(page)]
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            str(dpi),
            "-gray",
            *pages,
            "-singlefile",
            str(folder / f"{name}.pdf"),
            str(folder / name),
        ],
        check=True,
        timeout=60,
    )
    return Image.open(folder / f"{name}.pgm")


def strays(page: Image.Image, other: Image.Image) -> int:
    """Pixels of ``page`` more than ``GREYS`` outside the range of the 3×3 pixels around the
    same place on ``other``."""
    darker = ImageChops.subtract(other.filter(ImageFilter.MinFilter(3)), page)
    lighter = ImageChops.subtract(page, other.filter(ImageFilter.MaxFilter(3)))
    return sum(ImageChops.lighter(darker, lighter).histogram()[GREYS + 1 :])


def assert_same_look(before: bytes, after: bytes, folder: Path) -> None:
    old, new = png(before, folder, "before"), png(after, folder, "after")
    assert old.size == new.size
    assert ImageChops.difference(old, new).getbbox() is None or (strays(new, old), strays(old, new)) == (0, 0)


@needs_pdf_tools
@pytest.mark.parametrize("contest_id", CONTESTS)
def test_forms_look_the_same_with_the_common_faces(
    registry: ContestRegistry, contest_id: str, tmp_path: Path
) -> None:
    contest = registry.get(contest_id)
    assert contest is not None
    form = contest.forms[0]
    sheet = build_sheet(
        contest,
        form,
        find_layout(contest, form),
        typical(contest, form),
        number="KP2024-000123",
        verify_code="7KQ2-M9XD",
    )
    before, after = html_to_pdf(full_fonts_only(sheet_html(sheet))), sheet_pdf(sheet)
    assert not any("Common" in name for name in embedded(before))
    assert any("Noto-Serif-CJK-SC-Common" in name for name in embedded(after))  # the trick is on
    assert_same_look(before, after, tmp_path)
    shown = "".join(PdfReader(io.BytesIO(after)).pages[0].extract_text().split())
    assert "KP2024-000123" in shown
    assert "黑土是大自然给予人类" in shown  # the entrant's text stays text, not outlines
    if form.field("authors") is not None:
        assert f"张{RARE}" in shown  # the rare character is drawn and extractable too
        assert f"李{LEVEL2}" in shown
        assert any("Noto-Serif-CJK-SC-Common-2" in name for name in embedded(after))


@needs_pdf_tools
def test_receipt_looks_the_same_with_the_common_faces(registry: ContestRegistry, tmp_path: Path) -> None:
    contest = registry.get("most-cas-2024-kepu")
    assert contest is not None
    form = contest.form("recommend")
    submission = Submission(
        "KP2024-000123", contest.id, UserKey("telegram", "42"), "recommend", form.id, typical(contest, form),
        {"kind": "file", "sha256": "ab" * 32, "checked": True, "verdict": "passed"},
        dt.datetime(2024, 10, 1, tzinfo=dt.UTC),
    )  # fmt: skip
    receipt = issue_receipt(submission, contest, Ed25519PrivateKey.generate())
    attached = {"receipt.json": receipt.to_json().encode()}
    html = receipt.html("https://kepu.example/verify")
    before, after = html_to_pdf(full_fonts_only(html), attached), receipt.pdf("https://kepu.example/verify")
    assert any("Common" in name for name in embedded(after))
    # the Chinese of the monospaced command line too, not from the whole 19 MB collection
    assert [name for name in embedded(after) if "Mono-CJK" in name and "Common" not in name] == []
    assert any("Mono-CJK-SC-Common" in name for name in embedded(after))
    assert_same_look(before, after, tmp_path)
    # the QR code drawn without its SVG reads back as the receipt's token, behind the verify page
    page = png(after, tmp_path, "qr", dpi=200)
    assert qr_reads(page) == receipt.qr_text("https://kepu.example/verify")


def qr_reads(page: Image.Image) -> str:
    """What OpenCV reads from the QR code on ``page`` (the whole page, then its lower left
    part where the receipt's code is), or ""."""
    cv2 = pytest.importorskip("cv2")
    import numpy as np

    pixels = np.asarray(page.convert("L"))
    height, width = pixels.shape
    for image in (pixels, pixels[height // 3 :, : width // 2]):
        for detector in (cv2.QRCodeDetector(), cv2.QRCodeDetectorAruco()):
            text, _, _ = detector.detectAndDecode(image)
            if text:
                return str(text)
    return ""


def test_qr_matrix_is_segnos_own() -> None:
    """The masks scored with numpy choose what segno chooses: the same symbol, module for
    module, for short and long texts (every one of the eight masks among them)."""
    rng = random.Random(19)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_:/#."
    texts = ["KEPU:KP2024-000123:7KQ2-M9XD", "KEPU:KP2024-000000:7KQ2-M9XD", "报名编号" * 20]  # 2nd: mask 0
    texts += ["".join(rng.choices(alphabet, k=rng.randint(1, 900))) for _ in range(160)]
    masks = set()
    for text in texts:
        code = segno.make(text, error="m", micro=False)
        masks.add(code.mask)
        assert qr_matrix(text) == tuple(code.matrix), text
    assert masks == set(range(8))


def test_qr_mask_scores_are_segnos_own() -> None:
    """The eight penalties scored at once are segno's, on random matrices strewn with 1:1:3:1:1
    patterns, overlapping ones among them (which segno's search steps over)."""
    rng = np.random.default_rng(19)
    stepped_over = 0
    for size in (21, 25, 45, 97):
        stack = (rng.random((8, size, size)) < rng.random((8, 1, 1))).astype(np.uint8)
        for _ in range(40):
            n, line, at = rng.integers(8), rng.integers(size), rng.integers(size - 11)
            overlapping = rng.random() < 0.5
            pattern = [1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1] if overlapping else [0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1]
            if rng.random() < 0.5:
                stack[n, line, at : at + 11] = pattern
            else:
                stack[n, at : at + 11, line] = pattern
            stepped_over += overlapping
        ours = _scores(stack)
        assert ours == [encoder.evaluate_mask(tuple(bytearray(row) for row in m), size, size) for m in stack]
    assert stepped_over


def test_qr_png_is_segnos_own() -> None:
    """The DOCX's QR image, its matrix from :func:`qr_matrix`, is the PNG segno writes itself."""
    for text in ["KEPU:KP2024-000123:7KQ2-M9XD", "KEPU:KP2024-000000:7KQ2-M9XD", "报名编号" * 20, "A" * 700]:
        buf = io.BytesIO()
        segno.make(text, error="m", micro=False).save(buf, kind="png", scale=8, border=2)
        assert qr_png(text) == buf.getvalue(), text


def parts(docx: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(docx)) as package:
        return {name: package.read(name) for name in package.namelist()}


@pytest.mark.parametrize("contest_id", CONTESTS)
def test_docx_drawn_once_per_shape_is_what_python_docx_writes(
    registry: ContestRegistry, contest_id: str
) -> None:
    contest = registry.get(contest_id)
    assert contest is not None
    for form in contest.forms:
        answers = typical(contest, form)
        for values, number, code in (
            (answers, "KP2024-000001", "7KQ2-M9XD"),
            (typical(contest, form, odd=True), "KP2024-000002", "AB12-CD34"),
            ({k: v for n, (k, v) in enumerate(answers.items()) if n % 2}, "KP2024-000003", None),
            (answers, None, None),
        ):
            sheet = build_sheet(
                contest, form, find_layout(contest, form), values, number=number, verify_code=code
            )
            written, filled = parts(sheet_docx(sheet)), parts(filled_docx(sheet))
            assert written.keys() == filled.keys()
            assert [name for name in written if written[name] != filled[name]] == [], (form.id, number)


# --- the form's page drawn once per shape, the values set over it (forms.overlay) --------------

#: Values that wrap, mix Latin, digits and punctuation, and break lines of their own.
EDGE = (
    "Kepu 2024：黑土（black soil）—— 3.5亿亩、“肥力高”，适宜农耕; see https://example.org/a_b?c=1&d=2 …" * 2
)


@needs_pdf_tools
@pytest.mark.parametrize("contest_id", CONTESTS)
@pytest.mark.parametrize("kind", ["typical", "long", "edge"])
def test_values_set_over_the_skeleton_look_as_the_whole_drawing(
    registry: ContestRegistry, contest_id: str, kind: str, tmp_path: Path
) -> None:
    """Each form with realistic, full-length and odd values: the page set over its skeleton
    (:func:`forms.pdf.sheet_pdf`) and drawn whole by WeasyPrint (:func:`forms.pdf.full_sheet_pdf`)
    give the same pixels, and the values stay extractable text."""
    from unittest import mock

    from forms import pdf, stand_ins
    from forms.pdf import full_sheet_pdf

    contest = registry.get(contest_id)
    assert contest is not None
    for form in contest.forms:
        values = typical(contest, form)
        texts = [fld.id for fld in form.fields if fld.type is FieldType.TEXT]
        for field_id in texts:
            limit = form.field(field_id).max_chars or 24  # type: ignore[union-attr]
            if kind == "long":
                values[field_id] = ("黑土是大自然给予人类的得天独厚的宝藏，" * 20)[:limit]
            elif kind == "edge":
                values[field_id] = EDGE[:limit]
        layout = find_layout(contest, form)
        sheet = build_sheet(contest, form, layout, values, number="KP2024-000123", verify_code="7KQ2-M9XD")
        assert stand_ins.values(sheet)  # there are values to set
        sheet_pdf(sheet)  # the skeletons of its shape drawn
        whole = full_sheet_pdf(sheet)
        with mock.patch.object(pdf, "full_sheet_pdf", side_effect=AssertionError("drawn whole")):
            fast = sheet_pdf(sheet)  # set over the skeleton
        pages = len(PdfReader(io.BytesIO(whole)).pages)
        assert len(PdfReader(io.BytesIO(fast)).pages) == pages
        for n in range(1, pages + 1):
            old = png(whole, tmp_path, f"{form.id}-whole", page=n)
            new = png(fast, tmp_path, f"{form.id}-fast", page=n)
            assert old.size == new.size
            assert ImageChops.difference(old, new).getbbox() is None, f"{form.id}: page {n} differs"
        shown = "".join("".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(fast)).pages)
        assert "KP2024-000123" in shown
        for field_id in texts:
            assert "".join(str(values[field_id]).split())[:8] in shown, (form.id, field_id)


def test_the_skeleton_is_used_when_values_fit(registry: ContestRegistry) -> None:
    """A second submission of the same shape is set over the kept skeleton, not drawn whole."""
    from unittest import mock

    from forms import pdf

    contest = registry.get("most-cas-2024-kepu")
    assert contest is not None
    form = contest.form("recommend")
    sheet = build_sheet(
        contest, form, find_layout(contest, form), typical(contest, form), number="KP2024-000123"
    )
    pdf.sheet_pdf(sheet)
    with mock.patch.object(pdf, "full_sheet_pdf", side_effect=AssertionError("drawn whole")):
        assert pdf.sheet_pdf(sheet).startswith(b"%PDF-")


@needs_pdf_tools
@pytest.mark.parametrize("kind", ["typical", "long", "edge"])
def test_receipt_set_over_its_skeleton_looks_as_the_whole_drawing(
    registry: ContestRegistry, kind: str, tmp_path: Path
) -> None:
    """The receipt's values and token set over its skeleton give the pixels of the receipt
    drawn whole, at 72 and 150 dpi; its text and its embedded receipt file stay."""
    from unittest import mock

    from forms import receipts
    from forms.verify import verify_receipt

    contest = registry.get("most-cas-2024-kepu")
    assert contest is not None
    form = contest.form("recommend")
    answers = typical(contest, form)
    video: dict[str, Any] = {"kind": "file", "sha256": "ab" * 32, "checked": True, "verdict": "passed"}
    if kind == "long":
        answers["title"] = "黑土是大自然给予人类的得天独厚的宝藏，是一种性状好、肥力高、适宜农耕的优质土地"
        answers["unit"] = "中国科学院东北地理与农业生态研究所黑土地保护与利用科普工作室（长春）"
    elif kind == "edge":
        answers["title"] = EDGE[:60]
        video = {
            "kind": "link",
            "url": "https://pan.baidu.com/s/1AbCdEfGhIjKlMnOpQrSt?pwd=k3p9",
            "checked": False,
        }
    submission = Submission(
        "KP2024-000123", contest.id, UserKey("telegram", "42"), "recommend", form.id, answers, video,
        dt.datetime(2024, 10, 1, tzinfo=dt.UTC),
    )  # fmt: skip
    key = Ed25519PrivateKey.generate()
    receipt = issue_receipt(submission, contest, key)
    url = "https://kepu.example/verify"
    receipt.pdf(url)  # the skeletons of its shape drawn
    with mock.patch.object(receipts, "html_to_pdf", side_effect=AssertionError("drawn whole")):
        fast = receipt.pdf(url)
    whole = receipt.full_pdf(url)
    for dpi in (72, 150):
        old, new = png(whole, tmp_path, f"whole-{dpi}", dpi=dpi), png(fast, tmp_path, f"fast-{dpi}", dpi=dpi)
        assert old.size == new.size
        assert ImageChops.difference(old, new).getbbox() is None, f"{dpi} dpi"
    shown = "".join(PdfReader(io.BytesIO(fast)).pages[0].extract_text().split())
    assert "".join(str(answers["title"]).split())[:10] in shown
    assert receipt.token[:40] in shown
    assert verify_receipt(fast, key.public_key()).ok  # the embedded file, the rows shown in order
