"""Settings from the environment (prefix ``BOT_``) and ``.env``; see ``.env.example``."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def base_url(value: str | None) -> str | None:
    """A ``*_PUBLIC_BASE_URL`` setting checked: scheme://host[:port][/path], no trailing slash;
    None when unset."""
    if value is None or value == "":
        return None
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
        raise ValueError("PUBLIC_BASE_URL looks like https://example.cn or http://127.0.0.1:8080")
    return value.rstrip("/")


class Settings(BaseSettings):
    """Everything the service and the CLI read.  Build one with ``Settings()``; nothing reads
    the environment at import time."""

    model_config = SettingsConfigDict(
        env_prefix="BOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Field(
        default=Path("data"), description="SQLite database, keys and new contests live here"
    )
    media_dir: Path | None = Field(
        default=None,
        description="videos, scans, upload chunks, drawn documents and files in flight; with several "
        "workers, a folder they all share (a shared volume). Default DATA_DIR",
    )
    contests_dir: Path | None = Field(
        default=None, description="extra contest YAML files; default DATA_DIR/contests"
    )
    redis_url: SecretStr | None = Field(default=None, description="redis://… to use Redis instead of SQLite")
    redis_prefix: str = Field(default="kepu", pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    redis_cluster: bool = Field(
        default=False, description="REDIS_URL names any node of a Redis Cluster (keys under the tag {PREFIX})"
    )
    redis_lock_timeout: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="seconds a user's turn stays locked after its worker died (renewed while it lives)",
    )
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=1, le=65535)
    locale: str = "zh_CN"
    log_level: str = "INFO"
    links_allow_private: bool = Field(
        default=False, description="probe video links on private/loopback addresses (tests, intranets)"
    )
    content_workers: int = Field(
        default=1,
        ge=0,
        description="content checks (a whole-video decode each) run at once in the background; "
        "0 turns them off",
    )
    drawing_workers: int = Field(
        default=2,
        ge=1,
        description="processes drawing forms and receipts (PDF, DOCX) at once, at a lower priority "
        "than the chats; 150 confirmations at a deadline are drawn that many times faster",
    )
    helpdesk_operators: str = Field(
        default="",
        description="who answers helpdesk tickets: channel:user ids, comma separated "
        "(telegram:-1001234567890 for a group, wechat:oOPENID)",
    )

    trusted_proxies: str = Field(
        default="",
        description="addresses of the reverse proxies (nginx) in front of this service, comma "
        "separated; their X-Forwarded-For gives the client's address (console sign-in limits, "
        "audit log). Empty: the header is never believed",
    )

    public_base_url: str | None = Field(
        default=None,
        description="scheme://host[:port] where people reach this service (console sign-in links); "
        "default BOT_UPLOAD_PUBLIC_BASE_URL, else http://HTTP_HOST:HTTP_PORT",
    )

    @field_validator("public_base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        return base_url(value)

    @property
    def media_folder(self) -> Path:
        """Where files live (``BOT_MEDIA_DIR``, else the data folder); keys and databases stay in
        ``data_dir``."""
        return self.media_dir or self.data_dir

    @property
    def contest_folder(self) -> Path:
        return self.contests_dir or self.data_dir / "contests"

    @property
    def proxies(self) -> frozenset[str]:
        return frozenset(a.strip() for a in self.trusted_proxies.split(",") if a.strip())

    @property
    def operator_keys(self) -> frozenset[str]:
        return frozenset(k.strip() for k in self.helpdesk_operators.split(",") if ":" in k)
