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

Verifying a receipt, and what it certifies: :mod:`forms.verify`.

Keys.  ``BOT_RECEIPT_PRIVATE_KEY`` (PEM, or base64 of the 32-byte seed or of PKCS#8 DER)
when set; otherwise ``<BOT_DATA_DIR>/receipt-signing-key.pem``, created on first use with
mode 0600.  Losing that file means old receipts can no longer be re-issued under the same key
(they still verify against the old public key): back it up with the database.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import hashlib
import json
import logging
import os
import re
import secrets
import stat
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from contests.records import Submission
from contests.rules import SHANGHAI, Contest, FieldType
from forms.overlay import Skeleton
from forms.pdf import html_to_pdf, set_over, skeleton_of, stylesheet, template_env
from forms.qr import QR_SRC, QRDrawing, qr_svg_uri
from forms.sheet import display, printable
from forms.stand_ins import STAND_IN

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
    "track",
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
    "track": "申报类型",
    "title": "作品名称",
    "first_author": "第一作者",
    "unit": "单位",
    "submitted_at": "提交时间",
    "video_sha256": "视频 SHA-256",
    "video_link": "视频链接",
    "check": "自动检查",
    "key_id": "签名密钥",
}

#: The title's label where the entry is not a work: a 科普号 (account) is named by its own name.
TITLE_LABELS_ZH = {"account": "科普号名称"}

CHECK_ZH = {
    "passed": "已通过",
    "failed": "未通过",
    "not_checked": "未检查（以链接提交，由主办方核验）",
    "content_failed": "格式规格已通过；内容检查有未通过项，由主办方核查",
}


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
    content = video.get("content")
    if verdict == "passed" and isinstance(content, Mapping) and content.get("ok") is False:
        # The format passed but a content check did not (a duplicate, no subtitles…): the receipt
        # must not read as if every check passed.
        verdict = "content_failed"
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
    individual = contest.by_individual(submission.channel_id, submission.form_id, submission.answers)
    at = submission.created_at.astimezone(SHANGHAI).isoformat(timespec="seconds")
    payload: dict[str, str | None] = {
        "number": submission.number,
        "contest_id": contest.id,
        "contest_title": contest.title,
        "channel_id": submission.channel_id,
        "channel": channel,
        # Only a 科普号's: a work's receipt reads (and its payload is signed) as before.
        "track": "account" if contest.form(submission.form_id).track == "account" else None,
        "title": _by_role(contest, submission, "title"),
        "first_author": _first_author(contest, submission),
        # A person entering on their own (自荐机构（个人）: 张伟) has no 单位 to certify.
        "unit": None if individual else _by_role(contest, submission, "unit"),
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
            if value is None or name in ("contest_id", "channel_id", "track"):
                continue
            label = LABELS_ZH[name]
            if name == "check":
                value = CHECK_ZH.get(value, value)
            elif name == "submitted_at":
                value = _beijing(value)
            elif name == "title":
                label = TITLE_LABELS_ZH.get(str(self.payload.get("track")), label)
            rows.append((label, printable(value)))
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

    def html(
        self, verify_url: str | None = None, *, qr_uri: str | None = None, inline_css: bool = True
    ) -> str:
        """The HTML the PDF is drawn from, its QR code an SVG unless ``qr_uri`` names another
        image, its stylesheet inside unless not ``inline_css``."""
        return (
            template_env()
            .get_template("receipt.html.j2")
            .render(
                receipt=self,
                rows=self.lines_zh(),
                qr_uri=qr_svg_uri(self.qr_text(verify_url)) if qr_uri is None else qr_uri,
                verify_url=verify_url,
                css=stylesheet("receipt.css") if inline_css else "",
            )
        )

    def pdf(self, verify_url: str | None = None) -> bytes:
        """The receipt as a one-page PDF with its QR code; the receipt file is embedded as
        ``receipt.json`` so that ``verify-receipt`` can read the PDF itself.  Blocking.

        The values and the token are set over a skeleton of the receipt (:mod:`forms.overlay`,
        one per contest, key, verify page and rows) when they fit, else the whole receipt is
        drawn (:meth:`full_pdf`)."""
        rows = self.lines_zh()
        qr = QRDrawing(self.qr_text(verify_url))

        def make(extra: dict[int, int]) -> Skeleton:
            stand_ins = [
                (label, "\n".join([STAND_IN] * (1 + extra.get(n, 0)))) for n, (label, _) in enumerate(rows)
            ]
            blank = _Blank(self.payload, TOKEN_STAND_IN)
            html = (
                template_env()
                .get_template("receipt.html.j2")
                .render(receipt=blank, rows=stand_ins, qr_uri=QR_SRC, verify_url=verify_url, css="")
            )
            return skeleton_of(html, "receipt.css", qr, extra)

        key: tuple[Any, ...] = (
            "receipt",
            self.payload.get("contest_title"),
            self.payload.get("key_id"),
            verify_url,
        )
        key += tuple(label for label, _ in rows)
        texts = [value for _, value in rows] + [self.token]
        attachments = {"receipt.json": self.to_json().encode()}
        title = f"投稿回执 {self.payload.get('number')}"  # as receipt.html.j2's <title>
        fast = set_over(key, make, texts, qr, attachments=attachments, title=title)
        return fast if fast is not None else self.full_pdf(verify_url)

    def full_pdf(self, verify_url: str | None = None) -> bytes:
        """The receipt drawn whole by WeasyPrint (what :meth:`pdf` falls back to)."""
        return html_to_pdf(
            self.html(verify_url, qr_uri=QR_SRC, inline_css=False),
            attachments={"receipt.json": self.to_json().encode()},
            images={QR_SRC: QRDrawing(self.qr_text(verify_url))},
            stylesheets=("receipt.css",),
        )


#: The token's stand-in in the receipt's skeleton: a letter of its monospaced face.
TOKEN_STAND_IN = "A"


@dataclass(frozen=True, slots=True)
class _Blank:
    """What receipt.html.j2 reads of a receipt, for its skeleton: the payload (the number in
    the title, the contest and the key's id) and the token's stand-in."""

    payload: Mapping[str, Any]
    token: str


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
