"""Personal one-time upload links: their settings and their signed tokens.

Chat apps cannot carry a 300 MB video to a bot, so the dialog hands the entrant a link
(:meth:`UploadService.mint`, the ``UploadLinks`` of :mod:`handlers.submit`).  The link is a
capability: an HMAC-signed payload naming the user, the contest, the expiry and a nonce.  It is
stateless, so every worker that shares the secret verifies it; its one-time use is a
``storage.claim_once`` at completion (:mod:`bot.web.upload`), which every backend shares.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.settings import Settings, base_url
from contests.records import UserKey

log = logging.getLogger(__name__)

MIB: Final = 1024 * 1024
DEFAULT_CHUNK: Final = 8 * MIB
# The server takes any chunk up to this; larger bodies are refused before a byte is read.
MAX_CHUNK: Final = 64 * MIB
SECRET_FILE: Final = "upload.key"
_TOKEN_MAX = 2048
_B64 = re.compile(r"^[A-Za-z0-9_-]+$")
_SIGN_CONTEXT = b"kepu-upload-link/v1\x00"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UploadSettings(BaseSettings):
    """Settings of the upload page (prefix ``BOT_UPLOAD_``); see ``.env.example``."""

    model_config = SettingsConfigDict(
        env_prefix="BOT_UPLOAD_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    ttl_hours: float = Field(default=24.0, gt=0, le=24 * 30, description="how long a link stays valid")
    public_base_url: str | None = Field(
        default=None, description="scheme://host[:port] entrants reach; default http://HTTP_HOST:HTTP_PORT"
    )
    max_mb: int = Field(default=2048, ge=1, le=1024 * 1024, description="hard cap on a file, MiB")
    secret: SecretStr | None = Field(
        default=None, description="signs the links; default: generated once into DATA_DIR/upload.key"
    )
    chunk_kib: int = Field(
        default=DEFAULT_CHUNK // 1024, ge=64, le=MAX_CHUNK // 1024, description="the page's chunk size"
    )
    max_open_per_user: int = Field(
        default=2, ge=1, le=100, description="unfinished uploads one entrant may hold on disk at once"
    )

    @field_validator("public_base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        return base_url(value)

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("SECRET must be at least 32 characters (e.g. `openssl rand -hex 32`)")
        return value


# --------------------------------------------------------------------------- tokens


class UploadLinkError(Exception):
    """A link that may not be used; ``reason`` picks the page and the HTTP status."""

    def __init__(self, reason: Literal["forged", "expired", "used"]) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class UploadGrant:
    """What a verified link allows: one upload for ``user``'s draft of ``contest_id``."""

    user: UserKey
    contest_id: str
    expires_at: dt.datetime
    # Hex digest of the signed payload: names the upload's folder and its one-time claim.
    token_id: str


def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_or_create_secret(path: Path) -> bytes:
    """The key in ``path``, created once (0600) if missing; several workers agree on the first."""
    try:
        return _read_secret(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(32) + "\n")
        # Atomic and never overwrites: the first worker's key wins.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return _read_secret(path)


def _read_secret(path: Path) -> bytes:
    text = path.read_text(encoding="ascii").strip()
    if len(text) < 32:
        raise ValueError(f"{path}: the upload secret is too short; delete the file to generate a new one")
    if path.stat().st_mode & 0o077:
        log.warning("%s is readable by other users; chmod 600 it", path)
    return text.encode("ascii")


class UploadService:
    """Mints and verifies personal one-time upload links (``handlers.submit.UploadLinks``)."""

    def __init__(
        self,
        config: UploadSettings,
        *,
        key: bytes,
        base_url: str,
        data_dir: Path,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.config = config
        self.base_url = base_url.rstrip("/")
        self.root = data_dir / "uploads"
        self.clock = clock
        self._master = key
        self._key = self.subkey("upload-link")

    @classmethod
    async def open(
        cls,
        settings: Settings,
        config: UploadSettings | None = None,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> UploadService:
        """Read the settings and the key (from the environment, else ``DATA_DIR/upload.key``)."""
        config = config or UploadSettings()
        if config.secret is not None:
            key = config.secret.get_secret_value().encode("utf-8")
        else:
            key = await asyncio.to_thread(load_or_create_secret, settings.data_dir / SECRET_FILE)
        return cls(
            config,
            key=key,
            base_url=default_base_url(settings, config),
            data_dir=settings.media_folder,
            clock=clock,
        )

    def subkey(self, purpose: str) -> bytes:
        """A key for one purpose, so that one secret never signs two kinds of thing."""
        return hmac.new(self._master, b"kepu/" + purpose.encode(), hashlib.sha256).digest()

    @property
    def ttl(self) -> dt.timedelta:
        return dt.timedelta(hours=self.config.ttl_hours)

    async def mint(self, user: UserKey, contest_id: str) -> tuple[str, dt.datetime]:
        """A personal upload link for ``user``'s draft of ``contest_id`` and when it expires."""
        token, grant = self.token(user, contest_id)
        return f"{self.base_url}/upload/{token}", grant.expires_at

    def token(self, user: UserKey, contest_id: str) -> tuple[str, UploadGrant]:
        expires = (self.clock() + self.ttl).replace(microsecond=0)
        body = {
            "v": 1,
            "ch": user.channel,
            "u": user.user_id,
            "c": contest_id,
            "e": int(expires.timestamp()),
            "n": _b64e(secrets.token_bytes(16)),  # two links for one draft never share a folder
        }
        payload = _b64e(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
        token = f"{payload}.{self._sign(payload)}"
        return token, self.verify(token)

    def _sign(self, payload: str) -> str:
        return _b64e(hmac.new(self._key, _SIGN_CONTEXT + payload.encode("ascii"), hashlib.sha256).digest())

    def verify(self, token: str) -> UploadGrant:
        """The grant of a genuine, unexpired link; :class:`UploadLinkError` otherwise."""
        payload, _, signature = token.partition(".")
        if (
            len(token) > _TOKEN_MAX
            or not _B64.match(payload)
            or not _B64.match(signature)
            or not hmac.compare_digest(signature, self._sign(payload))
        ):
            raise UploadLinkError("forged")
        try:
            body = json.loads(_b64d(payload))
            user = UserKey(str(body["ch"]), str(body["u"]))
            contest_id = str(body["c"])
            expires = dt.datetime.fromtimestamp(int(body["e"]), dt.UTC)
        except (ValueError, KeyError, TypeError) as exc:  # signed by us, so only an old format
            raise UploadLinkError("forged") from exc
        if self.clock() >= expires:
            raise UploadLinkError("expired")
        token_id = hashlib.sha256(payload.encode("ascii")).hexdigest()[:32]
        return UploadGrant(user, contest_id, expires, token_id)

    def folder(self, grant: UploadGrant) -> Path:
        return self.root / grant.token_id


def default_base_url(settings: Settings, config: UploadSettings) -> str:
    if config.public_base_url:
        return config.public_base_url
    host = settings.http_host
    if host in ("0.0.0.0", "::", ""):
        log.warning(
            "BOT_HTTP_HOST=%s is not an address entrants can open: set BOT_UPLOAD_PUBLIC_BASE_URL", host
        )
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.http_port}"
