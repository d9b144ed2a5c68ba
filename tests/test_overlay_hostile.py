"""Values typed by entrants, at their worst, set over a skeleton (:mod:`forms.overlay`): each
document is either drawn pixel for pixel as the whole drawing or drawn whole (the fallback),
never a page that looks wrong, a crash or a file read."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from PIL import ImageChops
from pypdf import PdfReader

from contests.registry import ContestRegistry
from contests.rules import FieldType
from forms import pdf
from forms.layout import find_layout
from forms.sheet import Sheet, build_sheet
from tests.test_form_looks import needs_pdf_tools, png, typical


@pytest.fixture(scope="module")
def registry() -> ContestRegistry:
    return ContestRegistry.load()


def sheet_with(registry: ContestRegistry, contest_id: str, form_id: str, **answers: Any) -> Sheet:
    contest = registry.get(contest_id)
    assert contest is not None
    form = contest.form(form_id)
    values = typical(contest, form) | answers
    return build_sheet(
        contest, form, find_layout(contest, form), values, number="KP2024-000123", verify_code="7KQ2-M9XD"
    )


def drawn(sheet: Sheet, folder: Path) -> str:
    """How :func:`forms.pdf.sheet_pdf` drew ``sheet``: ``"whole"`` (it fell back) or ``"fast"``,
    then asserted to give the whole drawing's pages, pixel for pixel."""
    whole = pdf.full_sheet_pdf(sheet)
    fell: list[Sheet] = []
    real = pdf.full_sheet_pdf
    with mock.patch.object(pdf, "full_sheet_pdf", side_effect=lambda s: fell.append(s) or real(s)):
        out = pdf.sheet_pdf(sheet)
    if fell:
        return "whole"
    pages = len(PdfReader(io.BytesIO(whole)).pages)
    assert len(PdfReader(io.BytesIO(out)).pages) == pages
    for n in range(1, pages + 1):
        old, new = png(whole, folder, "whole", page=n), png(out, folder, "fast", page=n)
        assert old.size == new.size
        assert ImageChops.difference(old, new).getbbox() is None, f"page {n} differs"
    return "fast"


@needs_pdf_tools
@pytest.mark.parametrize("unit", ["W" * 60, "https://example.org/" + "abcdefghij" * 12])
def test_an_unbroken_value_wider_than_its_heading_cell(
    registry: ContestRegistry, unit: str, tmp_path: Path
) -> None:
    """The heading's tables are laid out automatically: a word wider than its cell widens the
    cell in the whole drawing (and pushes 序号 aside); over the skeleton it would overprint it."""
    sheet = sheet_with(registry, "most-cas-2024-kepu", "recommend", unit=unit)
    drawn(sheet, tmp_path)


def test_an_error_inside_weasyprint_is_logged_once_per_shape(
    registry: ContestRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    """WeasyPrint's internal functions changing under the values' layout: each submission is
    drawn whole, and the traceback is logged once for the shape, not once per submission."""
    from forms import overlay

    sheet = sheet_with(registry, "hlj-2022-kepu", "recommend")
    pdf.sheet_pdf(sheet)  # the shape's skeleton made and kept
    caplog.set_level("DEBUG", logger="forms")
    with mock.patch.object(overlay.Skeleton, "_layout", side_effect=TypeError("changed")):
        drawn = [pdf.sheet_pdf(sheet) for _ in range(3)]
    assert all(d.startswith(b"%PDF") for d in drawn)
    errors = [r for r in caplog.records if r.levelname in ("ERROR", "WARNING")]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert errors[0].exc_info is not None


def test_the_stylesheets_and_fonts_are_made_under_the_render_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parsing a stylesheet goes through Pango and fontconfig (its @font-face rules, the font
    configuration made on first use): not while another thread lays out a skeleton or a page."""
    held: list[bool] = []
    real = pdf.parsed_stylesheet

    def parsed(name: str) -> Any:
        held.append(pdf._RENDER_LOCK.locked())
        return real(name)

    monkeypatch.setattr(pdf, "parsed_stylesheet", parsed)
    pdf.html_to_pdf("<!DOCTYPE html><p>甲</p>", stylesheets=("form.css",))
    assert held == [True]


@pytest.fixture
def receipt_skeletons() -> Iterator[list[dict[int, int]]]:
    """The receipt skeletons laid out while the test runs (by the lines added to their
    stand-ins), from empty caches."""
    from forms import overlay, receipts

    overlay._kept().clear()
    pdf._last_extra().clear()
    made: list[dict[int, int]] = []
    real = receipts.skeleton_of

    def counted(html: str, name: str, qr: Any, extra: dict[int, int]) -> Any:
        made.append(extra)
        return real(html, name, qr, extra)

    with mock.patch.object(receipts, "skeleton_of", counted):
        yield made


def test_receipts_of_one_shape_share_its_skeletons_whatever_their_tokens(
    registry: ContestRegistry, receipt_skeletons: list[dict[int, int]]
) -> None:
    """The token, the page's last paragraph, grows with the payload and has no stand-in lines
    of its own: its length must not name the skeleton (else each receipt whose title wraps
    would lay a new one out, ~0.4 s, and push the others out of the 32 kept)."""
    import random

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from forms import receipts
    from tests.test_receipts import submission

    contest = registry.get("most-cas-2024-kepu")
    assert contest is not None
    key, rng = Ed25519PrivateKey.generate(), random.Random(7)
    with mock.patch.object(receipts.Receipt, "full_pdf", side_effect=AssertionError("drawn whole")):
        for n in range(6):
            title = "超导的秘密" * (8 if n % 2 else 1)  # two lines, then one
            unit = "".join(rng.choices("中国科学院物理研究所北京大学清华复旦", k=5 + 4 * n))  # one line
            answers = {"unit": unit, "title": title, "authors": ["张三"], "summary": "x"}
            receipts.issue_receipt(submission(answers=answers), contest, key).pdf()
    # The stand-ins' first guess, then one a line profile: the SHA-256 takes two lines, and the
    # title one or two.
    assert receipt_skeletons == [{}, {7: 1}, {3: 1, 7: 1}]


def test_a_value_of_many_lines_is_drawn_whole_without_a_skeleton_of_its_own(
    registry: ContestRegistry, receipt_skeletons: list[dict[int, int]]
) -> None:
    """A title at the input's limit (1,500 characters: pages of lines) cannot be set over any
    skeleton that keeps a page's rows; laying one out for it (~1 s, three pages) would only
    push the useful skeletons out of the 32 kept."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from forms import receipts
    from tests.test_receipts import submission

    contest = registry.get("most-cas-2024-kepu")
    assert contest is not None
    answers = {"unit": "物理所", "title": "黑土是大自然给予人类的得天独厚的宝藏，" * 80, "authors": ["张三"]}
    receipt = receipts.issue_receipt(submission(answers=answers), contest, Ed25519PrivateKey.generate())
    drawn = receipt.pdf()
    assert len(PdfReader(io.BytesIO(drawn)).pages) > 1
    assert receipt_skeletons == [{}]


#: What entrants may type (the validators keep it printable and within the limits).
HOSTILE = {
    "latin": "A" * 300,
    "rtl": "שלום עולם مرحبا بالعالم " * 5,
    "combining": "e\u0301\u0302\u0303" * 40 + "Z\u0336\u0337\u0338" * 20,
    "emoji": "黑土😀👨‍👩‍👧🇨🇳",
    "zero-width": "黑\u200b土\u200d\ufeff是\u2060大" * 10,
    "outside the cut faces": "𠀀龘𪚥𰻞" * 10,
    "tabs and line feeds": "a\tb\t\tc\n\n\nd\r\ne\rf" * 3,
    "markup": "</td><script>alert(1)</script><img src=x> url(file:///etc/passwd) &amp; &lt;",
    "many lines": "\n".join("行" for _ in range(30)),
    "spaces": "   lead  trail   ",
    "nbsp, soft hyphen, separators": "a\u00a0b\u00adc\u2028d\u2029e" * 10,
}


@needs_pdf_tools
@pytest.mark.parametrize("kind", list(HOSTILE))
def test_hostile_values_are_drawn_as_the_whole_drawing_or_drawn_whole(
    registry: ContestRegistry, kind: str, tmp_path: Path
) -> None:
    contest = registry.get("most-cas-2024-kepu")
    assert contest is not None
    form = contest.form("recommend")
    value = HOSTILE[kind]
    answers: dict[str, Any] = {
        fld.id: value if kind == "many lines" else value[: fld.max_chars or 24]
        for fld in form.fields
        if fld.type is FieldType.TEXT
    }
    answers["authors"] = [value[:30], "李四"]
    drawn(sheet_with(registry, "most-cas-2024-kepu", "recommend", **answers), tmp_path)
