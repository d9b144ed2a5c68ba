"""Verifying a receipt (回执): its JSON file, its PDF, or the pasted token, offline.

What is certified.  Only the signed data: the JSON embedded in the PDF, or the token.  So
that a page cannot show one thing while carrying another, verifying a PDF also checks that
its text shows every signed row (and only one receipt), and verifying a text checks every
"label：value" line beside the token; input bigger than any receipt is refused unread.

How receipts are signed, and their keys: :mod:`forms.receipts`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import json
import re
import unicodedata
import zlib
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pypdf import PdfReader
from pypdf.errors import LimitReachedError

from forms.receipts import (
    FIELDS,
    FORMAT,
    LABELS_ZH,
    TITLE_LABELS_ZH,
    TOKEN_PREFIX,
    Receipt,
    field_digests,
    key_id,
    load_public_key,
    signed_message,
)

#: Sizes beyond any real receipt (a payload is under 1 KB, its JSON file about 1.5 KB, its PDF
#: about 330 KB): bigger input is refused unread, so that a small hostile token or PDF cannot
#: decompress into hundreds of megabytes.
MAX_PAYLOAD_BYTES = 32 * 1024  # a token's decompressed payload
MAX_TEXT_BYTES = 64 * 1024  # a receipt file, a text holding a token, the JSON embedded in a PDF
MAX_PDF_BYTES = 4 * 1024 * 1024
MAX_PDF_PAGES = 4
MAX_PDF_STREAM_BYTES = 4 * 1024 * 1024  # any one decompressed stream while reading a PDF


def _unb64(text: str) -> bytes:
    text = "".join(text.split())
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


Part = Literal["format", "truncated", "too_large", "key", "signature", "digests", "payload", "shown"]


@dataclass(frozen=True, slots=True)
class Verification:
    """The verdict on a receipt.  ``part`` names what failed: ``format``, ``truncated``,
    ``too_large`` (refused unread), ``key`` (signed by another key), ``signature``, ``digests``,
    ``payload.<field>``, or ``shown`` (the signature holds but the PDF page or the text lines
    beside the token show something else).  ``signed``: the signature and every field hold,
    so ``payload`` is what the organiser signed, even when what is shown differs."""

    ok: bool
    payload: dict[str, Any] | None = None
    problem: str | None = None
    part: str | None = None
    source: Literal["json", "token", "pdf", ""] = ""
    signed: bool = False

    def certifies_zh(self) -> str:
        """What the signature certifies, one field a line (empty unless it holds)."""
        if not self.signed or self.payload is None:
            return ""
        receipt = Receipt({k: self.payload.get(k) for k in FIELDS}, b"")
        return "\n".join(f"{label}：{value}" for label, value in receipt.lines_zh())


def _fail(part: str, problem: str, payload: dict[str, Any] | None = None, source: Any = "") -> Verification:
    return Verification(False, payload, problem, part, source)


def _too_large(problem: str, source: Any = "") -> Verification:
    return _fail("too_large", problem, source=source)


def _kib(n: int) -> str:
    return f"{n // 1024} KB" if n < 1024 * 1024 else f"{n // (1024 * 1024)} MB"


_TOKEN = re.compile(re.escape(TOKEN_PREFIX) + r"[A-Za-z0-9_-]+(?:[ \t]*\r?\n[ \t]*[A-Za-z0-9_-]+)*")


def _from_token(text: str) -> tuple[dict[str, Any] | None, bytes, Verification | None]:
    m = _TOKEN.search(text)
    assert m is not None
    try:
        raw = _unb64(m[0][len(TOKEN_PREFIX) :])
    except (binascii.Error, ValueError):
        return (
            None,
            b"",
            _fail("truncated", "凭证不完整或已损坏（base64 无法解码）/ token damaged", source="token"),
        )
    if len(raw) < 64 + 8:
        return None, b"", _fail("truncated", "凭证不完整（太短）/ token truncated", source="token")
    # Never more than a receipt can hold: a few hundred bytes of deflate can expand to gigabytes.
    inflater = zlib.decompressobj()
    try:
        body = inflater.decompress(raw[64:], MAX_PAYLOAD_BYTES + 1)
    except zlib.error:
        return (
            None,
            b"",
            _fail("truncated", "凭证不完整或已损坏（无法解压）/ token truncated or damaged", source="token"),
        )
    if len(body) > MAX_PAYLOAD_BYTES or inflater.unconsumed_tail:
        too_big = (
            f"凭证解压后超过 {_kib(MAX_PAYLOAD_BYTES)}，不是真实的回执，未予处理 / token payload too large"
        )
        return None, b"", _too_large(too_big, "token")
    if not inflater.eof:
        return None, b"", _fail("truncated", "凭证不完整（数据被截断）/ token truncated", source="token")
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return None, b"", _fail("format", "凭证内容不是回执 / token does not hold a receipt", source="token")
    return payload, raw[:64], None


class _PdfTooLarge(Exception):
    pass


def _pdf_limits() -> contextlib.AbstractContextManager[object]:
    """pypdf's decompression limits, lowered to what a receipt can need, for this context only."""
    try:
        from pypdf import apply_configuration
    except ImportError:  # pypdf before its Configuration: only its own, larger limits apply
        return contextlib.nullcontext()
    return apply_configuration(
        zlib_maximum_output_length=MAX_PDF_STREAM_BYTES,
        lzw_maximum_output_length=MAX_PDF_STREAM_BYTES,
        run_length_maximum_output_length=MAX_PDF_STREAM_BYTES,
        array_based_stream_maximum_output_length=MAX_PDF_STREAM_BYTES,
        maximum_declared_stream_length=MAX_PDF_BYTES,
    )


def _read_pdf(data: bytes) -> tuple[bytes | None, str]:
    """The embedded ``receipt.json`` (None when there is none) and the text the pages show.

    Raises :class:`_PdfTooLarge` past the limits above, ValueError for an unreadable PDF."""

    try:
        with _pdf_limits():
            reader = PdfReader(io.BytesIO(data))
            pages = len(reader.pages)
            if pages > MAX_PDF_PAGES:
                raise _PdfTooLarge(f"PDF 有 {pages} 页，回执只有 1 页 / {pages} pages")
            found = reader.attachments.get("receipt.json")
            if not found:
                return None, ""
            if len(found[0]) > MAX_TEXT_BYTES:
                raise _PdfTooLarge(f"PDF 内嵌的回执数据超过 {_kib(MAX_TEXT_BYTES)} / embedded file too large")
            shown = "\n".join(page.extract_text() or "" for page in reader.pages)
            return found[0], shown
    except LimitReachedError as exc:
        raise _PdfTooLarge(f"PDF 中的数据解压后过大 / a PDF stream is too large ({exc})") from exc
    except _PdfTooLarge:
        raise
    except Exception as exc:
        # pypdf can fail in many ways on a damaged or hostile file; a verifier only needs to
        # say that it could not read it, never crash.
        raise ValueError(str(exc)) from exc


#: Characters a page draws no glyph for (zero-width spaces and joiners, soft hyphens, line and
#: paragraph separators): the PDF's text does not have them, so neither side is compared on them.
_UNSEEN = frozenset({"Cf", "Zl", "Zp"})


def _squash(text: str) -> str:
    """For comparing what a page shows: NFKC (full-width forms, ligatures), no whitespace, no
    character that draws nothing."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in "".join(text.split()) if unicodedata.category(ch) not in _UNSEEN)


def _shown_in_pdf(shown: str, rows: list[tuple[str, str]]) -> str | None:
    """What the page text fails to show of the signed rows, in words; None when it shows
    them all, in order and once."""
    page = _squash(shown)
    items = [(_squash(label), _squash(value)) for label, value in rows]
    block = "".join(label + value for label, value in items)
    first = items[0][0]
    if block in page and page.count(first) == 1:
        return None
    problems = []
    for i, (label, value) in enumerate(items):
        nxt = items[i + 1][0] if i + 1 < len(items) else ""
        if label + value + nxt in page:
            continue
        at = page.find(label)
        if at < 0:
            problems.append(f"{rows[i][0]}：签名为“{rows[i][1]}”，页面上没有这一项")
            continue
        end = page.find(nxt, at + len(label)) if nxt else -1
        seen = page[at + len(label) : end if end >= 0 else at + len(label) + 40][:60]
        problems.append(f"{rows[i][0]}：签名为“{rows[i][1]}”，页面显示“{seen}”")
    if not problems:
        problems.append(f"页面上“{rows[0][0]}”出现了 {page.count(first)} 次：显示的不止一份回执内容")
    return "；".join(problems)


_SHOWN_LABELS = sorted({*LABELS_ZH.values(), *TITLE_LABELS_ZH.values()}, key=len, reverse=True)
_LINE = re.compile(
    r"^[ \t]*(" + "|".join(re.escape(label) for label in _SHOWN_LABELS) + r")[ \t]*[：:][ \t]*(.*?)[ \t]*$",
    re.M,
)


def _shown_in_text(text: str, rows: list[tuple[str, str]]) -> str | None:
    """How the "label：value" lines of a text receipt differ from the signed rows; None when
    every such line matches (lines left out are not counted against it)."""
    signed = {label: value.split("\n", 1)[0].strip() for label, value in rows}
    problems = []
    for m in _LINE.finditer(text):
        label, value = m[1], m[2]
        if label not in signed:
            problems.append(f"{label}：显示“{value}”，签名中没有这一项")
        elif _squash(value) != _squash(signed[label]):
            problems.append(f"{label}：显示“{value}”，签名为“{signed[label]}”")
    return "；".join(dict.fromkeys(problems)) or None


def _with_shown(result: Verification, problem: str | None, what_zh: str, what_en: str) -> Verification:
    if problem is None:
        return result
    return Verification(
        False,
        result.payload,
        f"签名有效，但{what_zh}与签名内容不符（以签名内容为准）：{problem}"
        f" / the signature holds, but {what_en} shows something else",
        "shown",
        result.source,
        signed=True,
    )


def verify_receipt(data: str | bytes, public_key: Ed25519PublicKey | bytes | str) -> Verification:
    """Check a receipt given as its JSON file, its PDF, or the pasted token (any text holding it).

    The signature certifies the signed data only.  For a PDF, the text its pages show must
    also present every signed row; for a text holding the token, every "label：value" line
    must match; otherwise ``part`` is ``shown``.

    Never raises on bad input: a malformed, truncated, oversized, altered or foreign receipt
    gives ``ok=False`` with the failing ``part`` and a ``problem`` in Chinese and English.
    """
    key = public_key if isinstance(public_key, Ed25519PublicKey) else load_public_key(public_key)
    if isinstance(data, bytes) and data.lstrip()[:5] == b"%PDF-":
        return _verify_pdf(data, key)
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
    if size > MAX_TEXT_BYTES:
        return _too_large(
            f"文件有 {_kib(size)}，超过回执的上限 {_kib(MAX_TEXT_BYTES)}，未予处理 / too large for a receipt",
            "json",
        )
    return _verify_text(data, key, "json")


def _verify_pdf(data: bytes, key: Ed25519PublicKey) -> Verification:
    if len(data) > MAX_PDF_BYTES:
        return _too_large(
            f"PDF 有 {_kib(len(data))}，超过回执 PDF 的上限 {_kib(MAX_PDF_BYTES)}，未予处理 / PDF too large",
            "pdf",
        )
    try:
        embedded, shown = _read_pdf(data)
    except _PdfTooLarge as exc:
        return _too_large(f"{exc}，未予处理", "pdf")
    except ValueError:
        return _fail("format", "PDF 无法读取（可能不完整）/ unreadable or truncated PDF", source="pdf")
    if embedded is None:
        return _fail("format", "PDF 中没有回执数据 / the PDF holds no receipt", source="pdf")
    result = _verify_text(embedded, key, "pdf")
    if not result.signed or result.payload is None:
        return result
    rows = Receipt({k: result.payload.get(k) for k in FIELDS}, b"").lines_zh()
    return _with_shown(result, _shown_in_pdf(shown, rows), "PDF 页面显示的内容", "the page")


def _verify_text(data: str | bytes, key: Ed25519PublicKey, source: Literal["json", "pdf"]) -> Verification:
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return _fail("format", "不是回执（无法按 UTF-8 读取）/ not a receipt", source=source)
    else:
        text = data

    digests: dict[str, Any] | None = None
    stripped = text.strip()
    kind: Literal["json", "token", "pdf"] = source
    if stripped.startswith("{"):
        try:
            document = json.loads(stripped)
        except (ValueError, RecursionError):
            return _fail(
                "truncated",
                "回执文件不是完整的 JSON（可能被截断）/ receipt JSON is incomplete",
                source=source,
            )
        if not isinstance(document, dict) or document.get("format") is None:
            return _fail("format", "不是回执（缺少 format）/ not a receipt", source=source)
        if document.get("format") != FORMAT:
            return _fail(
                "format", f"不支持的回执格式 {document.get('format')!r} / unsupported format", source=source
            )
        payload, digests = document.get("payload"), document.get("digests")
        if digests is None:
            return _fail("format", "回执文件缺少摘要表 digests / receipt file without digests", source=source)
        try:
            signature = _unb64(str(document.get("signature", "")))
        except (binascii.Error, ValueError):
            return _fail("signature", "签名无法解码 / signature is not base64url", source=source)
    elif _TOKEN.search(text):
        payload, signature, failed = _from_token(text)
        if failed is not None:
            return failed
        kind = "token" if source == "json" else source
    else:
        return _fail("format", "不是回执：既非回执文件，也不含 KSR1. 凭证 / not a receipt", source=source)

    if not isinstance(payload, dict) or not all(isinstance(v, str | None) for v in payload.values()):
        return _fail("format", "回执内容格式不对 / the payload is not a receipt's", source=kind)
    missing = [k for k in ("number", "key_id") if k not in payload]
    if missing:
        return _fail("format", f"回执缺少 {', '.join(missing)} / not a receipt", payload, kind)
    if digests is not None and (
        not isinstance(digests, dict) or not all(isinstance(v, str) for v in digests.values())
    ):
        return _fail("digests", "摘要表格式不对 / digests malformed", payload, kind)
    result = _check(payload, digests, signature, key, kind)
    if kind == "token" and result.signed:
        rows = Receipt({k: payload.get(k) for k in FIELDS}, b"").lines_zh()
        result = _with_shown(result, _shown_in_text(text, rows), "文字中显示的内容", "the text")
    return result


def _check(
    payload: dict[str, Any],
    digests: dict[str, str] | None,
    signature: bytes,
    key: Ed25519PublicKey,
    source: Literal["json", "token", "pdf"],
) -> Verification:
    computed = field_digests(payload)
    claimed = computed if digests is None else digests
    try:
        key.verify(signature, signed_message(claimed))
    except InvalidSignature:
        ours = key_id(key)
        theirs = payload.get("key_id")
        if theirs != ours and claimed == computed:
            return _fail(
                "key",
                f"回执由另一把密钥签发（回执的密钥编号 {theirs}，所给公钥 {ours}）"
                f" / signed by another key ({theirs}, not {ours})",
                payload,
                source,
            )
        if claimed != computed:
            changed = sorted(k for k in set(claimed) | set(computed) if claimed.get(k) != computed.get(k))
            return _fail(
                "digests",
                f"签名不成立，且字段与摘要不符：{', '.join(changed)}（内容与摘要表都被改动过）"
                f" / signature invalid; fields and digests disagree: {', '.join(changed)}",
                payload,
                source,
            )
        return _fail(
            "signature",
            "签名与内容不符：回执内容或签名被改动 / signature does not match: content or signature altered",
            payload,
            source,
        )
    # The signature holds, so the digests are the signer's: any field that no longer
    # matches its digest was changed after signing.
    added = sorted(set(computed) - set(claimed))
    removed = sorted(set(claimed) - set(computed))
    changed = sorted(k for k in set(claimed) & set(computed) if claimed[k] != computed[k])
    for names, what_zh, what_en in (
        (changed, "被改动", "altered"),
        (added, "是签名后添加的", "added after signing"),
        (removed, "被删除", "removed"),
    ):
        if names:
            labels = "、".join(LABELS_ZH.get(n, n) for n in names)
            return _fail(
                "payload." + names[0],
                f"字段 {', '.join(names)}（{labels}）{what_zh} / field {', '.join(names)} {what_en}",
                payload,
                source,
            )
    return Verification(True, payload, None, None, source, signed=True)
