"""Hostile receipts: a PDF that shows one thing and carries another, edited text beside a
genuine token, and inputs built to exhaust memory when decompressed.  Each is refused with
a clear answer, never certified and never allowed to grow without bound."""

from __future__ import annotations

import base64
import io
import random
import tracemalloc
import zlib
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from contests.rules import Contest
from forms.pdf import html_to_pdf, stylesheet, template_env
from forms.qr import qr_svg_uri
from forms.receipts import FIELDS, TOKEN_PREFIX, Receipt, issue_receipt, public_pem
from forms.verify import MAX_PAYLOAD_BYTES, MAX_PDF_BYTES, MAX_TEXT_BYTES, verify_receipt
from tests.test_receipts import cli, submission
from tests.test_receipts import contest as contest
from tests.test_receipts import key as key
from tests.test_receipts import receipt as receipt
from tests.test_receipts import receipt_pdf as receipt_pdf


@pytest.fixture(scope="module")
def other(contest: Contest, key: Ed25519PrivateKey) -> Receipt:
    """Another genuine receipt of the same organiser: another number, title and authors."""
    answers = {
        "unit": "北京市科学技术委员会",
        "title": "黑洞漫游",
        "authors": ["王五"],
        "summary": "讲黑洞。",
    }
    return issue_receipt(submission(number="KP2024-000777", answers=answers), contest, key)


def page_html(shown: Receipt) -> str:
    """The receipt page exactly as the organiser draws it for ``shown``."""
    return (
        template_env()
        .get_template("receipt.html.j2")
        .render(
            receipt=shown,
            rows=shown.lines_zh(),
            qr_uri=qr_svg_uri(shown.token),
            verify_url=None,
            css=stylesheet("receipt.css"),
        )
    )


def carrying(html: str, carried: bytes | str) -> bytes:
    data = carried.encode() if isinstance(carried, str) else carried
    return html_to_pdf(html, attachments={"receipt.json": data})


def token_of(signature: bytes, body_chunks: int, chunk: bytes = b" " * (1 << 20)) -> str:
    """A token whose payload inflates to ``body_chunks`` MB, built without holding it."""
    deflate = zlib.compressobj(9)
    packed = b"".join(deflate.compress(chunk) for _ in range(body_chunks)) + deflate.flush()
    return TOKEN_PREFIX + base64.urlsafe_b64encode(signature + packed).decode().rstrip("=")


# -- defect 12: what the PDF or the text shows must be what was signed ---------------------------


def test_a_pdf_of_one_submission_carrying_anothers_receipt_is_not_valid(
    receipt: Receipt, other: Receipt, key: Ed25519PrivateKey
) -> None:
    forged = carrying(page_html(other), receipt.to_json())
    result = verify_receipt(forged, key.public_key())
    assert (result.ok, result.part, result.source) == (False, "shown", "pdf")
    problem = result.problem or ""
    assert "报名编号：签名为“KP2024-000123”，页面显示“KP2024-000777”" in problem
    assert "作品名称：签名为“超导的秘密”，页面显示“黑洞漫游”" in problem
    # What the signature does certify is still said, and it is the carried receipt.
    assert result.signed and "作品名称：超导的秘密" in result.certifies_zh()


def test_a_blank_page_carrying_a_receipt_is_not_valid(receipt: Receipt, key: Ed25519PrivateKey) -> None:
    blank = carrying("<!DOCTYPE html><html><body></body></html>", receipt.to_json())
    result = verify_receipt(blank, key.public_key())
    assert (result.ok, result.part) == (False, "shown")
    assert "报名编号：签名为“KP2024-000123”，页面上没有这一项" in (result.problem or "")


def test_a_page_showing_a_second_receipt_beside_the_signed_one_is_not_valid(
    receipt: Receipt, other: Receipt, key: Ed25519PrivateKey
) -> None:
    extra = page_html(other).split("<body>", 1)[1].split("</body>", 1)[0]
    both = page_html(receipt).replace("</body>", extra + "</body>")
    result = verify_receipt(carrying(both, receipt.to_json()), key.public_key())
    assert (result.ok, result.part) == (False, "shown")
    assert "不止一份" in (result.problem or "")


def test_the_organisers_own_pdf_still_verifies(receipt_pdf: bytes, key: Ed25519PrivateKey) -> None:
    result = verify_receipt(receipt_pdf, key.public_key())
    assert (result.ok, result.source, result.signed) == (True, "pdf", True)


def test_a_text_receipt_with_an_edited_line_is_not_valid(receipt: Receipt, key: Ed25519PrivateKey) -> None:
    edited = receipt.text_zh().replace("作品名称：超导的秘密", "作品名称：冒名的作品")
    result = verify_receipt(edited, key.public_key())
    assert (result.ok, result.part, result.source) == (False, "shown", "token")
    assert "作品名称：显示“冒名的作品”，签名为“超导的秘密”" in (result.problem or "")
    added = receipt.text_zh().replace("【投稿回执】", "【投稿回执】\n奖项：一等奖\n第一作者：李四")
    assert "第一作者：显示“李四”" in (verify_receipt(added, key.public_key()).problem or "")
    assert verify_receipt(receipt.text_zh(), key.public_key()).ok


def test_verify_receipt_says_what_is_certified_and_fails_on_what_differs(
    tmp_path: Path, receipt: Receipt, other: Receipt, key: Ed25519PrivateKey
) -> None:
    pem = tmp_path / "organiser.pem"
    pem.write_text(public_pem(key.public_key()))
    genuine = tmp_path / "genuine.txt"
    genuine.write_text(receipt.text_zh(), encoding="utf-8")
    ok = cli(["verify-receipt", str(genuine), "--public-key", str(pem)], tmp_path)
    assert ok.returncode == 0 and "签名只证明上列签名数据" in ok.stdout

    edited = tmp_path / "edited.txt"
    edited.write_text(receipt.text_zh().replace("第一作者：张三", "第一作者：赵六"), encoding="utf-8")
    warned = cli(["verify-receipt", str(edited), "--public-key", str(pem)], tmp_path)
    assert warned.returncode == 1, warned.stdout + warned.stderr
    assert "第一作者：显示“赵六”，签名为“张三”" in warned.stdout
    assert "第一作者：张三" in warned.stdout  # what the signature does certify

    forged = tmp_path / "forged.pdf"
    forged.write_bytes(carrying(page_html(other), receipt.to_json()))
    refused = cli(["verify-receipt", str(forged), "--public-key", str(pem)], tmp_path)
    assert refused.returncode == 1 and "回执无效" in refused.stdout and "黑洞漫游" in refused.stdout


# -- defect 13: nothing read from the input grows without bound ----------------------------------


def test_a_token_that_inflates_beyond_any_receipt_is_refused_unread(key: Ed25519PrivateKey) -> None:
    bomb = token_of(bytes(64), 20)  # 20 MB of payload in about 27 KB of token
    assert len(bomb) < MAX_TEXT_BYTES
    tracemalloc.start()
    try:
        result = verify_receipt(bomb, key.public_key())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (result.ok, result.part) == (False, "too_large")
    assert "32 KB" in (result.problem or "")
    assert peak < 16 * MAX_PAYLOAD_BYTES  # bounded by the limit, not by the bomb


def test_a_text_larger_than_any_receipt_is_refused(receipt: Receipt, key: Ed25519PrivateKey) -> None:
    long_token = TOKEN_PREFIX + "A" * (530 * 1024)  # the size of the reported token
    for data in (long_token, long_token.encode(), receipt.to_json() + " " * MAX_TEXT_BYTES):
        result = verify_receipt(data, key.public_key())
        assert (result.ok, result.part) == (False, "too_large")


def test_an_oversized_pdf_is_refused_unread(key: Ed25519PrivateKey) -> None:
    result = verify_receipt(b"%PDF-1.7\n" + b"%" * MAX_PDF_BYTES, key.public_key())
    assert (result.ok, result.part, result.source) == (False, "too_large", "pdf")


def test_a_pdf_whose_embedded_receipt_is_oversized_is_refused(
    receipt: Receipt, key: Ed25519PrivateKey
) -> None:
    padded = receipt.to_json() + " " * (2 * MAX_TEXT_BYTES)  # still a valid signed receipt file
    result = verify_receipt(carrying(page_html(receipt), padded), key.public_key())
    assert (result.ok, result.part) == (False, "too_large")
    assert "内嵌" in (result.problem or "")


def test_a_pdf_whose_page_inflates_beyond_the_limit_is_refused(
    receipt: Receipt, key: Ed25519PrivateKey
) -> None:
    writer = PdfWriter()
    page = writer.add_blank_page(595, 842)
    helvetica = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    # A font, so that a text extractor has to read the content stream.
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): helvetica})}
    )
    stream = DecodedStreamObject()
    stream.set_data(b" " * (8 << 20))  # 8 MB of nothing: twice the per-stream limit
    page.replace_contents(stream)
    page.compress_content_streams()
    writer.add_attachment("receipt.json", receipt.to_json().encode())
    out = io.BytesIO()
    writer.write(out)
    assert len(out.getvalue()) < MAX_PDF_BYTES
    result = verify_receipt(out.getvalue(), key.public_key())
    assert (result.ok, result.part) == (False, "too_large")


def test_deeply_nested_json_is_refused_without_a_crash(key: Ed25519PrivateKey) -> None:
    nested = '{"format": "kepu-submit/receipt/v1", "payload": ' + "[" * 30000 + "]" * 30000 + "}"
    result = verify_receipt(nested, key.public_key())
    assert not result.ok and result.part in {"format", "truncated"}
    inner = zlib.compress(b"[" * 15000 + b"]" * 15000)
    token = TOKEN_PREFIX + base64.urlsafe_b64encode(bytes(64) + inner).decode().rstrip("=")
    assert verify_receipt(token, key.public_key()).part == "format"


def test_damaged_pdfs_are_refused_and_never_raise(receipt_pdf: bytes, key: Ed25519PrivateKey) -> None:
    rng = random.Random(12)
    parts = set()
    for _ in range(40):
        damaged = bytearray(receipt_pdf)
        for _ in range(rng.randint(1, 40)):
            damaged[rng.randrange(16, len(damaged))] = rng.randrange(256)
        result = verify_receipt(bytes(damaged), key.public_key())
        parts.add(result.part)
        if result.ok:  # only bytes no reader looks at were hit
            assert result.payload is not None and result.payload["number"] == "KP2024-000123"
    known = {None, "format", "truncated", "too_large", "signature", "digests", "shown"}
    assert parts <= known | {f"payload.{name}" for name in FIELDS}


def test_verify_receipt_exits_2_for_what_it_refuses(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    pem = tmp_path / "organiser.pem"
    pem.write_text(public_pem(key.public_key()))
    bomb = tmp_path / "bomb.txt"
    bomb.write_text(token_of(bytes(64), 20), encoding="ascii")
    huge = tmp_path / "huge.pdf"
    with huge.open("wb") as f:
        f.write(b"%PDF-1.7\n")
        f.truncate(MAX_PDF_BYTES + 10)  # sparse: nothing real is written
    for path, said in ((bomb, "32 KB"), (huge, "4 MB")):
        refused = cli(["verify-receipt", str(path), "--public-key", str(pem)], tmp_path)
        assert refused.returncode == 2, (path, refused.stdout, refused.stderr)
        assert said in refused.stderr and refused.stdout == ""


# -- the organiser's receipts are set over a skeleton (forms.overlay): the same checks hold --------


def fast_pdf(shown: Receipt) -> bytes:
    """``shown``'s PDF as the bot draws it, asserted to be set over the skeleton, not drawn whole."""
    from unittest import mock

    with mock.patch.object(Receipt, "full_pdf", side_effect=AssertionError("drawn whole")):
        return shown.pdf("https://kepu.example.cn/receipts/verify")


def reattached(pdf: bytes, carried: str) -> bytes:
    """``pdf``, its pages untouched, carrying ``carried`` as its receipt.json instead."""
    writer = PdfWriter(clone_from=io.BytesIO(pdf))
    del writer.root_object[NameObject("/Names")]
    writer.add_attachment("receipt.json", carried.encode())
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_the_fast_pdf_verifies_and_carrying_another_receipt_does_not(
    receipt: Receipt, other: Receipt, key: Ed25519PrivateKey
) -> None:
    mine, theirs = fast_pdf(receipt), fast_pdf(other)
    assert verify_receipt(mine, key.public_key()).ok
    assert verify_receipt(theirs, key.public_key()).ok
    result = verify_receipt(reattached(theirs, receipt.to_json()), key.public_key())
    assert (result.ok, result.part, result.source) == (False, "shown", "pdf")
    assert "报名编号：签名为“KP2024-000123”，页面显示“KP2024-000777”" in (result.problem or "")


def test_a_fast_pdf_with_a_value_taken_off_its_page_is_not_valid(
    receipt: Receipt, key: Ed25519PrivateKey
) -> None:
    """The values are streams of their own between the skeleton's: dropping one (the title's)
    leaves the label without its value on the page."""
    writer = PdfWriter(clone_from=io.BytesIO(fast_pdf(receipt)))
    contents = writer.pages[0][NameObject("/Contents")]
    title = next(n for n, ref in enumerate(contents) if "超导的秘密" in _shows(writer, ref))
    stream = DecodedStreamObject()
    stream.set_data(b"")
    contents[title] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    result = verify_receipt(out.getvalue(), key.public_key())
    assert (result.ok, result.part) == (False, "shown")
    assert "作品名称：签名为“超导的秘密”" in (result.problem or "")


def _shows(writer: PdfWriter, ref: Any) -> str:
    """The text the page shows with only the content stream ``ref``."""
    page = writer.pages[0]
    kept = page[NameObject("/Contents")]
    page[NameObject("/Contents")] = ref
    try:
        return "".join((page.extract_text() or "").split())
    finally:
        page[NameObject("/Contents")] = kept
