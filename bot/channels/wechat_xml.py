"""The webhook's wire format: signatures, 安全模式 (AES), hostile-XML-proof parsing, passive replies.

Only wechatpy's pure parts are used: ``check_signature``, ``WeChatCrypto``, its message
registries (what ``parse_message`` dispatches on) and ``create_reply``.

Hostile XML: a push is ``<xml>…</xml>``, optionally after an XML declaration, and nothing else.
:func:`parse_xml` refuses anything else *before* parsing — in particular any ``<!DOCTYPE``, so
no entity can be declared: no billion laughs, no external entity or DTD is ever fetched — and
then parses once with expat, the encoding forced to UTF-8 so that a declared encoding cannot
make the parser see other characters than the check saw.  (defusedxml would do the same job at
about three times the cost of this whole step: it swaps expat's C handlers for Python ones.)

* 接入指南 (GET echostr): https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Access_Overview.html
* 消息加解密: https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Message_encryption_and_decryption_instructions.html
* 接收普通消息: https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Receiving_standard_messages.html
* 被动回复用户消息: https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Passive_user_reply_message.html
"""

from __future__ import annotations

import re
import secrets
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from typing import Any

from wechatpy import create_reply
from wechatpy.crypto import WeChatCrypto
from wechatpy.events import EVENT_TYPES
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.messages import MESSAGE_TYPES, UnknownMessage
from wechatpy.utils import check_signature

#: A push is a few hundred bytes (an encrypted one about 4/3 of that): 64 KiB is plenty.
MAX_BODY = 64 * 1024
#: One text message, passive or customer-service: WeChat cuts at 2048 bytes of UTF-8.
TEXT_LIMIT = 2047
#: Seconds a request's signed ``timestamp`` may be from our clock, either way.  WeChat signs
#: each request as it sends it (a retry is signed anew), so a genuine one is seconds old; an
#: older one is a replay: in 明文模式 the signature does not even cover the body.  Five
#: minutes, as WeChat Pay's own SDK refuses older answers (wechatpay-apiv3's
#: wechatpay-apache-httpclient, ``WechatPay2Validator``: "拒绝5分钟之外的应答"); wechatpy checks
#: no timestamp at all.  Claims of a message must outlast this window (see ``CLAIM_TTL``).
FRESHNESS = 300

_DIGITS = re.compile(r"^\d{1,12}$")
_NONCE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SIGNATURE = re.compile(r"^[0-9a-f]{40}$")
_OPENID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# The whole prolog a push may have: an XML declaration, then the root element at once.  A DTD
# can only stand in the prolog; after the root start tag expat refuses it as a syntax error.
_PROLOG = re.compile(r"\A\s*(?:<\?xml\s[^<>]*\?>\s*)?<xml>")
# XML 1.0 forbids these characters; a reply carrying one would be refused by WeChat's parser.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class Rejected(Exception):
    """A request that is not a genuine, well-formed push: answer ``status`` and do nothing."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def parse_xml(raw: bytes | str) -> dict[str, Any]:
    """One push as a dict shaped like xmltodict's (text, or a dict for nested elements).

    Refuses (400) anything but ``<xml>…</xml>`` with at most an XML declaration before it.
    """
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise Rejected(400, "push is not UTF-8") from None
    if not _PROLOG.match(text):
        reason = "DTD refused" if "<!" in text[:512] else "not an <xml> push"
        raise Rejected(400, f"hostile or malformed XML: {reason}")
    parser = ET.XMLParser(encoding="utf-8")  # overrides any encoding the document declares
    try:
        parser.feed(text.encode())
        root = parser.close()
    except ET.ParseError as exc:
        raise Rejected(400, f"malformed XML: {exc}") from exc
    return {child.tag: (child.text if len(child) == 0 else {g.tag: g.text for g in child}) for child in root}


def to_message(data: dict[str, Any]) -> Any:
    """``wechatpy.parse_message``'s dispatch on an already parsed push: the registered message
    or event class (``UnknownMessage`` for kinds wechatpy does not know, e.g. ``file``)."""
    msg_type = str(data["MsgType"]).lower()
    if msg_type != "event":
        return MESSAGE_TYPES.get(msg_type, UnknownMessage)(data)
    event = str(data.get("Event") or "").lower()
    key = data.get("EventKey")
    if event == "subscribe" and isinstance(key, str) and key:
        if key.startswith(("scanbarcode|", "scanimage|")):
            event = data["Event"] = "subscribe_scan_product"
        elif key.startswith("qrscene_"):
            event = data["Event"] = "subscribe_scan"
            data["EventKey"] = key.removeprefix("qrscene_")
    return EVENT_TYPES.get(event, UnknownMessage)(data)


def _text(data: Mapping[str, Any], tag: str) -> str:
    value = data.get(tag)
    return value.strip() if isinstance(value, str) else ""


class Codec:
    """Checks and opens pushes, seals replies: plain mode, or 安全模式 with ``crypto``."""

    def __init__(
        self, token: str, crypto: WeChatCrypto | None = None, *, now: Callable[[], float] = time.time
    ) -> None:
        self.token = token
        self.crypto = crypto
        self.now = now  # seconds since the epoch, as WeChat's timestamp

    @property
    def safe_mode(self) -> bool:
        return self.crypto is not None

    def check_query(self, query: Mapping[str, str]) -> None:
        """The ``signature`` WeChat puts on every request: sha1 of sorted token, timestamp, nonce;
        and the timestamp within :data:`FRESHNESS` of now."""
        signature, timestamp, nonce = (query.get(k, "") for k in ("signature", "timestamp", "nonce"))
        if not (_SIGNATURE.match(signature) and _DIGITS.match(timestamp) and _NONCE.match(nonce)):
            raise Rejected(403, "signature parameters missing or malformed")
        try:
            check_signature(self.token, signature, timestamp, nonce)
        except InvalidSignatureException:
            raise Rejected(403, "bad signature") from None
        if abs(self.now() - int(timestamp)) > FRESHNESS:
            raise Rejected(403, f"timestamp {timestamp} outside {FRESHNESS} s of now")

    def echo(self, query: Mapping[str, str]) -> str:
        """URL verification (GET): the ``echostr`` back when the signature is right."""
        self.check_query(query)
        echostr = query.get("echostr", "")
        if not echostr or len(echostr) > 128:
            raise Rejected(400, "echostr missing or too long")
        return echostr

    def open(self, query: Mapping[str, str], body: bytes) -> Any:
        """A checked push as a wechatpy message (``TextMessage``, ``SubscribeEvent``, …;
        ``UnknownMessage`` for types wechatpy does not know, e.g. ``file``)."""
        self.check_query(query)
        data = parse_xml(body)
        if self.crypto is not None:
            if query.get("encrypt_type") != "aes":
                # 安全模式 is configured: a plain push means the account and we disagree.
                raise Rejected(400, "plain push while BOT_WECHAT_AES_KEY is set")
            encrypted = _text(data, "Encrypt")
            msg_signature = query.get("msg_signature", "")
            if not encrypted or not _SIGNATURE.match(msg_signature):
                raise Rejected(403, "encrypted push without Encrypt or msg_signature")
            try:
                plain = self.crypto.decrypt_message(
                    {"Encrypt": encrypted}, msg_signature, query["timestamp"], query["nonce"]
                )
            except (InvalidSignatureException, InvalidAppIdException):
                raise Rejected(403, "bad msg_signature or AppID") from None
            except Exception as exc:  # bad base64, padding or length: garbage under a good signature
                raise Rejected(400, f"undecryptable push: {type(exc).__name__}") from exc
            data = parse_xml(plain)
        elif query.get("encrypt_type") == "aes":
            raise Rejected(400, "encrypted push but BOT_WECHAT_AES_KEY is not set")
        if not _text(data, "MsgType") or not _OPENID.match(_text(data, "FromUserName")):
            raise Rejected(400, "push without MsgType or FromUserName")
        if not _text(data, "ToUserName") or not _DIGITS.match(_text(data, "CreateTime")):
            raise Rejected(400, "push without ToUserName or CreateTime")
        msg_id = data.get("MsgId")
        if msg_id is not None and not (isinstance(msg_id, str) and msg_id.isdigit()):
            raise Rejected(400, "MsgId is not a number")
        return to_message(data)

    def seal(self, xml: str) -> str:
        """A passive reply as it goes on the wire: encrypted and signed in 安全模式."""
        if self.crypto is None:
            return xml
        return str(self.crypto.encrypt_message(xml, secrets.token_hex(8), str(int(self.now()))))


def cdata_safe(text: str) -> str:
    """``text`` fit for wechatpy's ``<![CDATA[...]]>``: "]]>" split, invalid XML characters dropped."""
    return _XML_INVALID.sub("", text).replace("]]>", "]]]]><![CDATA[>")


def text_reply(message: Any, content: str) -> str:
    """被动回复 a text message, to whoever sent ``message``."""
    return str(create_reply(cdata_safe(content), message=message, render=True))


def kind_of(message: Any) -> str:
    """Registry key of a push: its MsgType, or ``event:<Event>`` (both lower-case)."""
    data: dict[str, Any] = message._data
    msg_type = str(data.get("MsgType", "")).lower()
    if msg_type == "event":
        return f"event:{str(data.get('Event', '')).lower()}"
    return msg_type


def dedup_key(message: Any) -> str:
    """The key under which a push is processed once: MsgId, or for events (which have none)
    FromUserName + CreateTime, as WeChat recommends, plus the event and its key so that two
    events of one second (subscribe then a menu click, two clicks) stay apart; a retry repeats
    all of them."""
    data: dict[str, Any] = message._data
    account = data.get("ToUserName", "")
    if data.get("MsgId"):
        return f"wechat:{account}:msg:{data['MsgId']}"
    who, when, key = data.get("FromUserName"), data.get("CreateTime"), data.get("EventKey") or ""
    return f"wechat:{account}:evt:{who}:{when}:{kind_of(message)}:{key}"


def _utf8_len(text: str) -> int:
    return len(text.encode())


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """``text`` in pieces of at most ``limit`` bytes, cut between lines where possible."""
    if _utf8_len(text) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while _utf8_len(line) > limit:  # one line longer than a message: cut between characters
            cut = len(line.encode()[:limit].decode("utf-8", errors="ignore"))
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:cut])
            line = line[cut:]
        candidate = f"{current}\n{line}" if current else line
        if _utf8_len(candidate) <= limit:
            current = candidate
        else:
            pieces.append(current)
            current = line
    if current:
        pieces.append(current)
    return pieces


def pack_texts(texts: list[str], limit: int = TEXT_LIMIT, sep: str = "\n\n") -> list[str]:
    """As few messages as possible, each at most ``limit`` bytes, texts kept whole and in order
    where they fit."""
    chunks: list[str] = []
    current = ""
    for text in texts:
        if not text.strip():
            continue
        for piece in split_text(text, limit):
            candidate = f"{current}{sep}{piece}" if current else piece
            if _utf8_len(candidate) <= limit:
                current = candidate
            else:
                chunks.append(current)
                current = piece
    if current:
        chunks.append(current)
    return chunks
