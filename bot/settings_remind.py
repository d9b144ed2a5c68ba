"""``BOT_REMIND_*``: when reminders go, how fast deliveries may go, WeChat templates.

Read here, in the bot layer; the use case gets plain values (:class:`RemindConfig`,
:class:`WorkerConfig`) and each channel's sender the part that is its own.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from handlers.deliveries import WorkerConfig
from handlers.remind.schedule import RemindConfig, parse_days, parse_overrides
from handlers.remind.texts import TEMPLATE_VALUES

__all__ = ["RemindSettings", "template_fields"]


def template_fields(text: str) -> dict[str, str]:
    """ "first=title,remark=text" → the template's keys and which value each shows."""
    out: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or value.strip() not in TEMPLATE_VALUES or not re.fullmatch(r"[A-Za-z0-9_]+", key.strip()):
            raise ValueError(f"expected templatekey=one of {'/'.join(TEMPLATE_VALUES)} in {part!r}")
        out[key.strip()] = value.strip()
    return out


class RemindSettings(BaseSettings):
    """``BOT_REMIND_*``: when reminders go, how fast deliveries may go, WeChat templates."""

    model_config = SettingsConfigDict(
        env_prefix="BOT_REMIND_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    enabled: bool = Field(default=True, description="automatic deadline reminders")
    days: str = Field(default="7,3,1", description="days before each deadline")
    contest_days: str = Field(default="", description="per contest: id=10,3,1;other-id=5,1")
    hour: int = Field(default=10, ge=0, le=23, description="Beijing hour at which reminders go")
    worker: bool = Field(default=True, description="run the delivery worker inside serve")
    concurrency: int = Field(default=8, ge=1, le=256)
    poll_interval: float = Field(default=1.0, gt=0, le=60)
    lease: float = Field(default=30.0, ge=1, le=3600, description="seconds before a silent worker is dead")
    telegram_rate: float = Field(default=30.0, gt=0, description="messages per second, whole bot")
    telegram_chat_interval: float = Field(default=1.0, ge=0, description="seconds between two to one chat")
    wechat_rate: float = Field(default=20.0, gt=0)
    other_rate: float = Field(default=20.0, gt=0)
    resend_uncertain: bool = Field(default=False, description="after a crash mid-send: resend (dup risk)")
    max_chars: int = Field(default=600, ge=10, le=680, description="a broadcast fits one WeChat message")
    cs_margin_minutes: int = Field(
        default=10, ge=0, le=600, description="do not start a 客服消息 this near 48 h"
    )
    wechat_template_id: str = Field(default="", description="模板消息 template_id; empty: no template")
    wechat_template_fields: str = Field(default="first=title,keyword1=contest,keyword2=deadline,remark=text")
    wechat_template_url: str = Field(default="", description="page the template message opens")
    wechat_template_max_chars: int = Field(default=20, ge=0, description="per value; 0: no limit")
    wechat_template_daily_cap: int = Field(default=10_000, ge=0)

    @field_validator("days")
    @classmethod
    def _days(cls, value: str) -> str:
        parse_days(value)
        return value

    @field_validator("contest_days")
    @classmethod
    def _contest_days(cls, value: str) -> str:
        parse_overrides(value)
        return value

    @field_validator("wechat_template_fields")
    @classmethod
    def _fields(cls, value: str) -> str:
        template_fields(value)
        return value

    def offsets(self, contest_id: str) -> tuple[int, ...]:
        """The days before ``contest_id``'s deadline at which reminders go."""
        return self.remind_config().offsets(contest_id)

    def remind_config(self) -> RemindConfig:
        """What :class:`~handlers.remind.service.RemindService` needs of these settings."""
        return RemindConfig(
            enabled=self.enabled,
            days=parse_days(self.days),
            contest_days=parse_overrides(self.contest_days),
            hour=self.hour,
            max_chars=self.max_chars,
        )

    def worker_config(self) -> WorkerConfig:
        """What the delivery worker needs of these settings."""
        return WorkerConfig(
            concurrency=self.concurrency,
            poll_interval=self.poll_interval,
            lease=self.lease,
            resend_uncertain=self.resend_uncertain,
        )
