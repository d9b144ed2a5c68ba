"""The WeChat official account's settings and its notifier: 客服消息 within WeChat's limits,
and download links for documents (``BOT_WECHAT_*``)."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Sequence

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.channels.wechat_api import QUOTA_EXHAUSTED, WINDOW_CLOSED, WechatApi, WechatApiError
from bot.channels.wechat_files import Outbox
from bot.channels.wechat_limits import Outgoing, OutsideWindow, Quota, QuotaExhausted
from bot.channels.wechat_xml import pack_texts
from bot.services import Services
from contests.events import Document, Placement, Reply
from contests.records import UserKey
from contests.rules import SHANGHAI
from dialogs.engine import choices_as_text

#: 临时素材 for video is capped at 10 MB; larger media is not downloaded (the dialog offers
#: the upload link instead).  The same cap keeps any other download bounded.
MEDIA_LIMIT = 10 * 1024 * 1024
#: Images the API can carry as themselves (otherwise a document becomes a download link).
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif"})
#: 客服消息: at most 5 within 48 hours of a message, 3 within a minute of an event.
MESSAGE_WINDOW = dt.timedelta(hours=48)
MESSAGE_QUOTA = 5
EVENT_WINDOW = dt.timedelta(minutes=1)
EVENT_QUOTA = 3


# WeChat-only wording (kinds of message the dialog has no use for).
TEXTS = {
    "voice": "暂时无法识别语音，请用文字回复；发送「帮助」查看填写说明。",
    "location": "收到您的位置。报名只需要文字、视频文件或视频链接，请按上一条提示回复。",
    "link": "收到链接卡片，但读不到其中的网址。请把链接复制成文字直接发送。",
    "unsupported": "暂不支持这种消息。请用文字回复，或发送视频文件、视频链接；发送「帮助」查看说明。",
    "download": "「{name}」下载链接（{expires}前有效）：\n{url}",
    "no_download": "「{name}」暂时无法通过微信发送，请联系主办方获取。",
    "not_ready": "文件暂时无法下载：刚提交的报名表或回执需要几秒钟生成，请稍后刷新本页。"
    "若链接已过期，请在公众号回复“表格”重新获取报名表。",
}


log = logging.getLogger(__name__)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class WechatSettings(BaseSettings):
    """``BOT_WECHAT_*``: the official account's 服务器配置 and API credentials (see .env.example)."""

    model_config = SettingsConfigDict(
        env_prefix="BOT_WECHAT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    token: SecretStr | None = Field(default=None, description="服务器配置 › Token (3–32 letters/digits)")
    app_id: str = Field(default="", description="开发者ID (AppID)")
    app_secret: SecretStr | None = Field(default=None, description="开发者密码 (AppSecret)")
    aes_key: SecretStr | None = Field(
        default=None, description="服务器配置 › EncodingAESKey (43 characters); set → 安全模式"
    )
    api_base: str = Field(default="https://api.weixin.qq.com", pattern=r"^https?://[^\s/]+(/[^\s]*)?$")
    public_base_url: str = Field(
        default="", description="https://… where `serve` is reachable; download links start with it"
    )
    reply_budget: float = Field(default=4.0, gt=0, le=4.5, description="seconds before answering success")
    link_ttl_hours: float = Field(default=72, gt=0, le=720)
    create_menu: bool = Field(default=False, description="replace the account's menu at startup")

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9]{3,32}", value.get_secret_value()):
            raise ValueError("the Token of 服务器配置 is 3-32 English letters or digits")
        return value

    @field_validator("aes_key")
    @classmethod
    def _aes_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9]{43}", value.get_secret_value()):
            raise ValueError("EncodingAESKey is 43 letters or digits")
        return value

    @model_validator(mode="after")
    def _safe_mode_needs_app_id(self) -> WechatSettings:
        if self.aes_key is not None and not self.app_id:
            raise ValueError("安全模式 (BOT_WECHAT_AES_KEY) needs BOT_WECHAT_APP_ID: each message carries it")
        return self

    @property
    def download_base(self) -> str:
        return self.public_base_url.rstrip("/")


class WechatNotifier:
    """Reaches a WeChat user outside a passive reply (registered in ``services.reach``).

    Counts every message against WeChat's limits *before* sending it, with ``claim_once``
    slots in the shared store, so that several workers together stay within them too.
    """

    def __init__(
        self,
        api: WechatApi,
        services: Services,
        outbox: Outbox,
        *,
        download_base: str,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.api = api
        self.storage = services.storage
        self.outbox = outbox
        self.download_base = download_base
        self.clock = clock

    async def push(self, user: UserKey, replies: list[Reply]) -> None:
        """Send ``replies`` as 客服消息; raises :class:`OutsideWindow` (nothing sent) or
        :class:`QuotaExhausted` (some sent) rather than going beyond WeChat's limits."""
        if not replies:
            return
        quota = await self.message_quota(user)
        await self.send(user, await self.compose(replies), quota)

    def plan_documents(self, files: Sequence[tuple[str, str]]) -> list[tuple[Document, Placement]] | None:
        """Download links given before the documents are drawn (see :class:`PlansDocuments`);
        None without ``BOT_WECHAT_PUBLIC_BASE_URL``."""
        if not self.download_base:
            return None
        return [self.outbox.plan(name, mime) for name, mime in files]

    async def message_quota(self, user: UserKey) -> Quota:
        last = await self.storage.last_contact(user)
        if last is None or self.clock() - last >= MESSAGE_WINDOW:
            log.warning("wechat %s: last message %s, outside the 48 h window", user, last)
            raise OutsideWindow(user, "outside the 48-hour window")
        return Quota(last, MESSAGE_QUOTA, MESSAGE_WINDOW, "msg")

    async def compose(self, replies: list[Reply]) -> Outgoing:
        """Texts (choices as numbered lists) packed into as few messages as possible; documents
        as images where WeChat can carry them, else as a download link in the text."""
        texts: list[str] = []
        images: list[str] = []
        linked: list[tuple[int, Document]] = []  # documents going out as links, by index in texts
        for reply in replies:
            if reply.document is not None:
                media_id = await self._upload_image(reply.document)
                if media_id:
                    images.append(media_id)
                else:
                    linked.append((len(texts), reply.document))
            texts.append(choices_as_text(reply))
        if linked:
            # All links of the reply in one outbox job: bench/README.md 'WeChat' session 6.
            links = await self._links([doc for _, doc in linked])
            for (i, doc), link in zip(linked, links, strict=True):
                # A reply that is only the file's name says nothing the link line does not.
                texts[i] = f"{texts[i]}\n\n{link}" if texts[i] and texts[i] != doc.filename else link
        return Outgoing(tuple(pack_texts(texts)), tuple(images))

    async def _upload_image(self, doc: Document) -> str | None:
        if doc.mime not in IMAGE_TYPES:
            return None
        content = await doc.load()
        if len(content) > MEDIA_LIMIT:
            return None
        try:
            return await self.api.upload_media("image", doc.filename, content, doc.mime)
        except WechatApiError as exc:
            log.warning("wechat image upload failed (%s); sending a link instead", exc)
            return None

    async def _links(self, docs: list[Document]) -> list[str]:
        """A download-link line for each of ``docs``, all stored in one outbox job."""
        if not self.download_base:
            for doc in docs:
                log.warning(
                    "BOT_WECHAT_PUBLIC_BASE_URL is not set: %s cannot be offered as a link", doc.filename
                )
            return [TEXTS["no_download"].format(name=doc.filename) for doc in docs]
        tokens = await self.outbox.put_many(docs)
        expires = (self.clock() + self.outbox.ttl).astimezone(SHANGHAI)
        when = f"{expires.month}月{expires.day}日{expires:%H:%M}"
        return [
            TEXTS["download"].format(
                name=doc.filename, expires=when, url=f"{self.download_base}/wechat/files/{token}"
            )
            for doc, token in zip(docs, tokens, strict=True)
        ]

    async def send(self, user: UserKey, out: Outgoing, quota: Quota) -> None:
        """Send ``out`` in order, each message only with a free slot of ``quota``."""
        messages = [("text", t) for t in out.texts] + [("image", m) for m in out.images]
        for sent, (kind, value) in enumerate(messages):
            pending = len(messages) - sent
            if self.clock() - quota.anchor >= quota.period:
                raise OutsideWindow(user, f"{quota.scope} window closed", sent=sent, pending=pending)
            if not await self._take_slot(user, quota):
                log.warning("wechat %s: 客服消息 quota (%d) used up", user, quota.limit)
                raise QuotaExhausted(user, "quota used up", sent=sent, pending=pending)
            try:
                if kind == "text":
                    await self.api.send_text(user.user_id, value)
                else:
                    await self.api.send_image(user.user_id, value)
            except WechatApiError as exc:
                if exc.errcode == WINDOW_CLOSED:
                    raise OutsideWindow(user, exc.errmsg, sent=sent, pending=pending) from exc
                if exc.errcode == QUOTA_EXHAUSTED:
                    raise QuotaExhausted(user, exc.errmsg, sent=sent, pending=pending) from exc
                raise

    async def _take_slot(self, user: UserKey, quota: Quota) -> bool:
        stamp = int(quota.anchor.timestamp())
        # The same keys one claim_once per slot used, so slots taken before a deploy still count.
        keys = [f"wechat:cs:{user.user_id}:{quota.scope}:{stamp}:{n}" for n in range(1, quota.limit + 1)]
        return await self.storage.claim_first(keys, quota.period) is not None
