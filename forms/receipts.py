"""Signed receipts (回执): what was submitted, signed with the organiser's Ed25519 key.

A receipt certifies a submission's number, contest, channel, title, first author and unit,
time (Asia/Shanghai), the video's SHA-256 or its link, the automatic check's verdict and the
id of the signing key.  Anyone holding the organiser's public key (``python -m bot keys``)
can check it offline; nothing else is needed.

How it is signed.  Each payload field is hashed on its own (SHA-256 of its canonical JSON),
and the signature covers the map of those digests.  A receipt file (JSON, or the JSON embedded
in the PDF) carries the digests beside the payload, so that a verifier whose signature check
passes can name the very field that was changed.  The compact token the entrant pastes
(``KSR1.…``) leaves the digests out to stay short: the verifier recomputes them, and a
changed token fails as a whole.

What is certified.  Only the signed data: the JSON embedded in the PDF, or the token.  So
that a page cannot show one thing while carrying another, verifying a PDF also checks that
its text shows every signed row (and only one receipt), and verifying a text checks every
"label：value" line beside the token; input bigger than any receipt is refused unread.

Keys.  ``BOT_RECEIPT_PRIVATE_KEY`` (PEM, or base64 of the 32-byte seed or of PKCS#8 DER)
when set; otherwise ``<BOT_DATA_DIR>/receipt-signing-key.pem``, created on first use with
mode 0600.  Losing that file means old receipts can no longer be re-issued under the same key
(they still verify against the old public key): back it up with the database.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import datetime as dt
import hashlib
import io
import json
import logging
import os
import re
import secrets
import stat
import unicodedata
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from pypdf import PdfReader
from pypdf.errors import LimitReachedError

from contests.records import Submission
from contests.rules import SHANGHAI, Contest, FieldType
from forms.pdf import html_to_pdf, stylesheet, template_env
from forms.qr import qr_svg_uri
from forms.sheet import display, printable

log = logging.getLogger(__name__)

FORMAT = "kepu-submit/receipt/v1"
TOKEN_PREFIX = "KSR1."
KEY_FILENAME = "receipt-signing-key.pem"
_SIGNED_PREFIX = FORMAT.encode() + b"\n"
_FORM_CODE_PREFIX = b"kepu-submit/form/v1\n"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # no I, L, O, U: read aloud and typed back

#: Payload fields, in the order the receipt shows them.
FIELDS = (
    "number",
    "contest_id",
    "contest_title",
    "channel_id",
    "channel",
    "title",
    "first_author",
    "unit",
    "submitted_at",
    "video_sha256",
    "video_link",
    "check",
    "key_id",
)

LABELS_ZH = {
    "number": "报名编号",
    "contest_id": "大赛编号",
    "contest_title": "大赛",
    "channel_id": "渠道编号",
    "channel": "报名渠道",
    "title": "作品名称",
    "first_author": "第一作者",
    "unit": "单位",
    "submitted_at": "提交时间",
    "video_sha256": "视频 SHA-256",
    "video_link": "视频链接",
    "check": "自动检查",
    "key_id": "签名密钥",
}

#: Sizes beyond any real receipt (a payload is under 1 KB, its JSON file about 1.5 KB, its PDF
#: about 330 KB): bigger input is refused unread, so that a small hostile token or PDF cannot
#: decompress into hundreds of megabytes.
MAX_PAYLOAD_BYTES = 32 * 1024  # a token's decompressed payload
MAX_TEXT_BYTES = 64 * 1024  # a receipt file, a text holding a token, the JSON embedded in a PDF
MAX_PDF_BYTES = 4 * 1024 * 1024
MAX_PDF_PAGES = 4
MAX_PDF_STREAM_BYTES = 4 * 1024 * 1024  # any one decompressed stream while reading a PDF

CHECK_ZH = {"passed": "已通过", "failed": "未通过", "not_checked": "未检查（以链接提交，由主办方核验）"}


class ReceiptKeyError(Exception):
    """The configured signing key or the key file cannot be used; the message never holds the key."""


class ReceiptSettings(BaseSettings):
    """Receipt settings from the environment (prefix ``BOT_RECEIPT_``) and ``.env``."""

    model_config = SettingsConfigDict(
        env_prefix="BOT_RECEIPT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    private_key: SecretStr | None = Field(
        default=None,
        description="Ed25519 signing key: PEM (PKCS#8), or base64 of the 32-byte seed or of PKCS#8 DER; "
        "default: a key generated into BOT_DATA_DIR on first use",
    )
    key_file: Path | None = Field(
        default=None, description=f"where the generated key lives; default BOT_DATA_DIR/{KEY_FILENAME}"
    )
    verify_url: str | None = Field(
        default=None,
        pattern=r"^https?://\S+$",
        description="public page that verifies a receipt; its QR code then opens it with the token",
    )


# --- encoding ----------------------------------------------------------------------------


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8, no NaN: the same bytes for the same data, everywhere."""
    return json.dumps(
        value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
    ).encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    text = "".join(text.split())
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def field_digests(payload: Mapping[str, Any]) -> dict[str, str]:
    """SHA-256 of each field's canonical JSON (base64url)."""
    return {k: _b64(hashlib.sha256(canonical_json(v)).digest()) for k, v in payload.items()}


def signed_message(digests: Mapping[str, str]) -> bytes:
    """The bytes the signature covers: the format, then the digests of every field."""
    return _SIGNED_PREFIX + canonical_json(dict(digests))


# --- keys --------------------------------------------------------------------------------


def key_id(public_key: Ed25519PublicKey) -> str:
    """16 hex digits of the SHA-256 of the raw public key: printed on every receipt."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def fingerprint(public_key: Ed25519PublicKey) -> str:
    """``SHA256:…`` of the raw public key, as ssh prints key fingerprints."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "SHA256:" + base64.b64encode(hashlib.sha256(raw).digest()).decode().rstrip("=")


def public_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def parse_private_key(text: str) -> Ed25519PrivateKey:
    """A configured key: PEM, or base64 of the raw 32-byte seed or of PKCS#8 DER."""
    try:
        if "-----BEGIN" in text:
            key: object = serialization.load_pem_private_key(text.strip().encode(), password=None)
        else:
            raw = base64.b64decode("".join(text.split()).replace("-", "+").replace("_", "/") + "==")
            if len(raw) == 32:
                key = Ed25519PrivateKey.from_private_bytes(raw)
            else:
                key = serialization.load_der_private_key(raw, password=None)
    except (ValueError, TypeError, binascii.Error, UnicodeError):
        raise ReceiptKeyError(
            "BOT_RECEIPT_PRIVATE_KEY 不是可读的 Ed25519 私钥 / is not a readable key"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ReceiptKeyError("BOT_RECEIPT_PRIVATE_KEY 不是 Ed25519 私钥 / is not an Ed25519 key")
    return key


_PEM_PUBLIC = re.compile(rb"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.S)


def load_public_key(data: bytes | str) -> Ed25519PublicKey:
    """The public key in ``data`` (PEM, comments around it allowed, as ``keys`` prints it)."""
    raw = data.encode() if isinstance(data, str) else data
    m = _PEM_PUBLIC.search(raw)
    try:
        if m is None:
            raise ValueError("no PEM block")
        key = serialization.load_pem_public_key(m[0])
    except ValueError:
        raise ReceiptKeyError("不是 PEM 格式的公钥 / not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ReceiptKeyError("不是 Ed25519 公钥 / not an Ed25519 public key")
    return key


@dataclass(frozen=True, slots=True)
class SigningKey:
    """The organiser's key and where it came from (``configured`` or the key file)."""

    private: Ed25519PrivateKey
    source: str
    created: bool = False

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def key_id(self) -> str:
        return key_id(self.public)


def key_path(data_dir: Path, settings: ReceiptSettings | None = None) -> Path:
    return (settings.key_file if settings and settings.key_file else None) or Path(data_dir) / KEY_FILENAME


def _read_key_file(path: Path) -> Ed25519PrivateKey:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("receipt key %s is readable by others (mode %o); chmod 600 it", path, mode)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ReceiptKeyError(f"{path} 不是 Ed25519 私钥 / is not an Ed25519 key")
    return key


def _create_key_file(path: Path) -> tuple[Ed25519PrivateKey, bool]:
    """Write a new key to ``path`` unless one appears meanwhile; (key, created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # Written whole to a private temporary file, then linked into place: a second worker
    # starting at the same moment either wins the link or reads the complete winner's key.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return _read_key_file(path), False
    finally:
        tmp.unlink()
    return key, True


def load_signing_key(
    data_dir: Path, settings: ReceiptSettings | None = None, *, create: bool = True
) -> SigningKey:
    """The configured key, else the key file in ``data_dir`` (made on first use when ``create``).

    Blocking (file system): call it once at start-up, or through ``asyncio.to_thread``.
    Raises :class:`ReceiptKeyError` for an unusable key, :class:`FileNotFoundError` when there
    is no key and ``create`` is false.
    """
    if settings and settings.private_key is not None:
        return SigningKey(
            parse_private_key(settings.private_key.get_secret_value()), "BOT_RECEIPT_PRIVATE_KEY"
        )
    path = key_path(data_dir, settings)
    try:
        return SigningKey(_read_key_file(path), str(path))
    except FileNotFoundError:
        if not create:
            raise
    except ValueError:
        raise ReceiptKeyError(f"{path} 不是可读的私钥文件 / is not a readable key file") from None
    key, created = _create_key_file(path)
    if created:
        log.info("generated a new receipt signing key %s in %s", key_id(key.public_key()), path)
    return SigningKey(key, str(path), created=created)


def _private(key: Ed25519PrivateKey | SigningKey) -> Ed25519PrivateKey:
    return key.private if isinstance(key, SigningKey) else key


# --- the code printed on a form ------------------------------------------------------------


def form_code(number: str, key: Ed25519PrivateKey | SigningKey) -> str:
    """A short code (``7KQ2-M9XD``) for the paper form of submission ``number``.

    Derived from the organiser's signature over the number, so only the key holder can
    make or check it (:func:`check_form_code`); 40 bits are plenty against guessing a code
    for a paper that is also checked by hand.
    """
    sig = _private(key).sign(_FORM_CODE_PREFIX + number.encode())
    bits = int.from_bytes(sig[:5], "big")
    chars = "".join(_CROCKFORD[(bits >> shift) & 31] for shift in range(35, -1, -5))
    return f"{chars[:4]}-{chars[4:]}"


def check_form_code(number: str, code: str, key: Ed25519PrivateKey | SigningKey) -> bool:
    """Whether ``code`` is the form code of ``number`` (case, dashes and O/0, I/L/1 forgiven)."""
    norm = code.upper().replace("-", "").replace(" ", "").translate(str.maketrans("OIL", "011"))
    return secrets.compare_digest(norm, form_code(number, key).replace("-", ""))


# --- issuing -------------------------------------------------------------------------------


def _first_author(contest: Contest, sub: Submission) -> str | None:
    form = contest.form(sub.form_id)
    for fld in form.fields:
        if fld.role == "authors":
            value = sub.answers.get(fld.id)
            names = value if isinstance(value, list) else str(value or "").split("、")
            first = next((str(n).strip() for n in names if str(n).strip()), "")
            return first or None
    return None


def _by_role(contest: Contest, sub: Submission, role: str) -> str | None:
    # Text is certified exactly as stored; only the printed receipt makes controls visible.
    for fld in contest.form(sub.form_id).fields:
        if fld.role == role and fld.type is not FieldType.PEOPLE:
            value = sub.answers.get(fld.id)
            text = value if isinstance(value, str) else display(fld, value)
            return text.strip() or None
    return None


def _video(video: Mapping[str, Any]) -> tuple[str | None, str | None, str]:
    sha = video.get("sha256") if video.get("kind") == "file" else None
    link = video.get("url") if video.get("kind") in ("link", "share_link") else None
    verdict = video.get("verdict") or ("passed" if video.get("checked") else "not_checked")
    return (str(sha) if sha else None), (str(link) if link else None), str(verdict)


def receipt_payload(submission: Submission, contest: Contest, signer_key_id: str) -> dict[str, str | None]:
    """What a receipt certifies, read from the stored submission and its contest."""
    if submission.contest_id != contest.id:
        raise ValueError(f"submission {submission.number} is of {submission.contest_id}, not {contest.id}")
    try:
        channel = contest.channel(submission.channel_id).label
    except KeyError:
        channel = submission.channel_id
    sha, link, verdict = _video(submission.video or {})
    at = submission.created_at.astimezone(SHANGHAI).isoformat(timespec="seconds")
    payload: dict[str, str | None] = {
        "number": submission.number,
        "contest_id": contest.id,
        "contest_title": contest.title,
        "channel_id": submission.channel_id,
        "channel": channel,
        "title": _by_role(contest, submission, "title"),
        "first_author": _first_author(contest, submission),
        "unit": _by_role(contest, submission, "unit"),
        "submitted_at": at,
        "video_sha256": sha,
        "video_link": link,
        "check": verdict,
        "key_id": signer_key_id,
    }
    assert tuple(payload) == FIELDS
    return payload


@dataclass(frozen=True, slots=True)
class Receipt:
    """A signed receipt; ``token`` is the compact form an entrant pastes back."""

    payload: dict[str, str | None]
    signature: bytes
    digests: dict[str, str] = field(default_factory=dict)

    @property
    def token(self) -> str:
        """``KSR1.`` + base64url(signature ‖ zlib(canonical payload))."""
        return TOKEN_PREFIX + _b64(self.signature + zlib.compress(canonical_json(self.payload), 9))

    def to_json(self) -> str:
        """The receipt file: payload, per-field digests and signature (UTF-8 JSON)."""
        document = {
            "format": FORMAT,
            "payload": self.payload,
            "digests": self.digests or field_digests(self.payload),
            "signature": _b64(self.signature),
        }
        return json.dumps(document, ensure_ascii=False, indent=2) + "\n"

    def lines_zh(self) -> list[tuple[str, str]]:
        """(label, value) rows as printed: only the fields that have a value."""
        rows = []
        for name in FIELDS:
            value = self.payload.get(name)
            if value is None or name in ("contest_id", "channel_id"):
                continue
            if name == "check":
                value = CHECK_ZH.get(value, value)
            elif name == "submitted_at":
                value = _beijing(value)
            rows.append((LABELS_ZH[name], printable(value)))
        return rows

    def text_zh(self, verify_url: str | None = None) -> str:
        """The receipt as a chat message: what was received, and the token to keep."""
        body = "\n".join(f"{label}：{value}" for label, value in self.lines_zh())
        tail = f"\n在线核验：{verify_url}" if verify_url else ""
        return (
            f"【投稿回执】\n{body}\n\n"
            "以下凭证由主办方密钥签名，可证明本次投稿的内容与时间，请完整保存：\n"
            f"{self.token}{tail}"
        )

    def qr_text(self, verify_url: str | None = None) -> str:
        """What the PDF's QR code carries: the token, behind the verify page when there is one.

        The token goes in the URL's fragment, which browsers do not send to the server."""
        return f"{verify_url.rstrip('#')}#{self.token}" if verify_url else self.token

    def pdf(self, verify_url: str | None = None) -> bytes:
        """The receipt as a one-page PDF with its QR code; the receipt file is embedded as
        ``receipt.json`` so that ``verify-receipt`` can read the PDF itself.  Blocking."""

        html = (
            template_env()
            .get_template("receipt.html.j2")
            .render(
                receipt=self,
                rows=self.lines_zh(),
                qr_uri=qr_svg_uri(self.qr_text(verify_url)),
                verify_url=verify_url,
                css=stylesheet("receipt.css"),
            )
        )
        return html_to_pdf(html, attachments={"receipt.json": self.to_json().encode()})


def _beijing(iso: str) -> str:
    try:
        moment = dt.datetime.fromisoformat(iso).astimezone(SHANGHAI)
    except ValueError:
        return iso
    return moment.strftime("%Y年%m月%d日 %H:%M:%S（北京时间）")


async def load_signing_key_async(
    data_dir: Path, settings: ReceiptSettings | None = None, *, create: bool = True
) -> SigningKey:
    """:func:`load_signing_key` in a worker thread (it may write the key file)."""
    return await asyncio.to_thread(load_signing_key, data_dir, settings, create=create)


async def receipt_pdf_async(receipt: Receipt, verify_url: str | None = None) -> bytes:
    """:meth:`Receipt.pdf` in a worker thread: drawing a PDF takes a third of a second."""
    return await asyncio.to_thread(receipt.pdf, verify_url)


def issue_receipt(submission: Submission, contest: Contest, key: Ed25519PrivateKey | SigningKey) -> Receipt:
    """Sign the receipt of ``submission``.  Deterministic: issuing it again gives the same bytes."""
    private = _private(key)
    payload = receipt_payload(submission, contest, key_id(private.public_key()))
    digests = field_digests(payload)
    return Receipt(payload, private.sign(signed_message(digests)), digests)


# --- verifying -----------------------------------------------------------------------------

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


def _squash(text: str) -> str:
    """For comparing what a page shows: NFKC (full-width forms, ligatures), no whitespace."""
    return "".join(unicodedata.normalize("NFKC", text).split())


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


_SHOWN_LABELS = sorted(LABELS_ZH.values(), key=len, reverse=True)
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
