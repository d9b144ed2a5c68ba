"""The personal large-file upload page: one-time signed links and resumable chunked uploads.

Chat apps cannot carry a 300 MB video to a bot, so the dialog hands the entrant a link
(:meth:`UploadService.mint`, the ``UploadLinks`` of :mod:`handlers.submit`).  The link is a
capability: an HMAC-signed payload naming the user, the contest, the expiry and a nonce.  It is
stateless, so every worker that shares the secret verifies it; its one-time use is a
``storage.claim_once`` at completion, which every backend shares.

Protocol, all under ``/upload/{token}``::

    GET   /upload/{token}          the page (zh-CN)
    GET   /upload/{token}/status   {"state", "offset", "size", "max_bytes", "chunk", ...}
    POST  /upload/{token}/start    {"name", "size", "last_modified"} -> {"offset"}; the same file resumes
    PUT   /upload/{token}/chunk    bytes start..end, ``Content-Range: bytes start-end/size``
    POST  /upload/{token}/finish   runs the dialog with the file; returns the verdict

Bytes go to ``DATA_DIR/uploads/<token id>/video.part`` as they arrive (never the client's file
name, never the whole file in memory) and are hashed on the way.  The part file lives on the
worker's disk: with several workers, route ``/upload/`` stickily or share ``DATA_DIR``.

Finishing is a state machine kept on disk, so that a crash at any point is picked up by the
next ``finish`` (the page calls it again on load) and never runs the dialog twice::

    video.part --(seal: rename)--> video.mp4 --(handoff.json, then the store's claim)-->
    handed to the dialog --(handoff.json gets "keep", then result.json)--> done, settled

A ``handoff.json`` without ``result.json`` is a hand-off of this folder that did not finish:
the claim is its own, and the draft tells whether the dialog took the video already.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import errno
import fcntl
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import shutil
import unicodedata
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import jinja2
from aiohttp import web
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.settings import Settings
from contests.events import EventKind, FileInfo, Incoming, Reply
from contests.records import Draft, UserKey
from contests.rules import SHANGHAI, Contest
from dialogs.states import Step
from validators.media import StreamingHash, format_size

if TYPE_CHECKING:  # bot.app imports this package to mount it
    from bot.services import Services

log = logging.getLogger(__name__)

MIB: Final = 1024 * 1024
DEFAULT_CHUNK: Final = 8 * MIB
# The server takes any chunk up to this; larger bodies are refused before a byte is read.
MAX_CHUNK: Final = 64 * MIB
# Largest piece read from the socket at a time; pieces go to the writer thread in batches of
# about WRITE_BATCH (fewer thread hand-offs, no copies), and at most MAX_PENDING bytes wait
# for it: together they bound the memory one upload uses, whatever the file size.
READ_BLOCK: Final = 1 * MIB
WRITE_BATCH: Final = 1 * MIB
MAX_PENDING: Final = 4 * MIB
PART_NAME: Final = "video.part"
DONE_NAME: Final = "video.mp4"
META_NAME: Final = "meta.json"
RESULT_NAME: Final = "result.json"
HANDOFF_NAME: Final = "handoff.json"
# Serialises the check-and-start of uploads (the per-entrant cap) across requests and across
# workers sharing DATA_DIR; held for a scan of the folder names, never during a transfer.
START_LOCK: Final = "upload-start.lock"  # next to the uploads folder, which holds only links
SECRET_FILE: Final = "upload.key"
_TOKEN_MAX = 2048
_B64 = re.compile(r"^[A-Za-z0-9_-]+$")
_RANGE = re.compile(r"^bytes (\d{1,15})-(\d{1,15})/(\d{1,15})$")
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
        if value is None or value == "":
            return None
        if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
            raise ValueError("PUBLIC_BASE_URL looks like https://example.cn or http://127.0.0.1:8080")
        return value.rstrip("/")

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
            data_dir=settings.data_dir,
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


def display_name(name: str) -> str:
    """The client's file name for showing only: last path part, no control characters, short."""
    name = unicodedata.normalize("NFC", str(name))
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")
    return name[:120] or "video.mp4"


# --------------------------------------------------------------------------- files (worker threads)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    except OSError:
        tmp.unlink(missing_ok=True)  # a full disk leaves no half-written file behind
        raise
    os.replace(tmp, path)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


@dataclass(frozen=True, slots=True)
class _OnDisk:
    """What the disk holds of one link's upload, read in one go."""

    result: dict[str, Any] | None  # set once the upload completed
    meta: dict[str, Any] | None  # the announced file, set by ``start``
    size: int  # bytes received so far: of the part file, or of the sealed video
    sealed: bool = False  # the part became ``video.mp4``: no more bytes are taken
    handoff: dict[str, Any] | None = None  # a hand-off to the dialog began (and may have ended)

    @property
    def finishing(self) -> bool:
        """Whole and on its way to the dialog, with no verdict yet (a crash may have left it)."""
        return self.result is None and self.meta is not None and (self.sealed or self.handoff is not None)


def _look(folder: Path) -> _OnDisk:
    part, video = folder / PART_NAME, folder / DONE_NAME
    sealed = not part.exists() and video.exists()
    return _OnDisk(
        _read_json(folder / RESULT_NAME),
        _read_json(folder / META_NAME),
        _size(video if sealed else part),
        sealed,
        _read_json(folder / HANDOFF_NAME),
    )


def _settle(folder: Path) -> None:
    """The last step of a finish, again if a crash cut it short: with the verdict written, drop
    the video unless the dialog keeps it here, then the hand-off record."""
    handoff = _read_json(folder / HANDOFF_NAME)
    if handoff is None or not (folder / RESULT_NAME).exists():
        return
    if handoff.get("keep") is False:
        (folder / DONE_NAME).unlink(missing_ok=True)
    (folder / HANDOFF_NAME).unlink(missing_ok=True)


@contextlib.contextmanager
def _flocked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (created if missing), waited for: one holder at a time,
    in this process or another; the kernel drops it when its holder dies."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # also releases the lock


def _try_lock_folder(folder: Path) -> int | None:
    """A held exclusive lock on ``folder`` (its open descriptor), None when another request,
    here or in another worker, holds it.  A killed holder's lock goes with it."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _start_files(root: Path, folder: Path, user: str, cap: int, meta: dict[str, Any]) -> int | None:
    """Start ``folder``'s upload over for the file ``meta`` announces unless ``user`` holds
    ``cap`` other unfinished uploads already (then their number); the count and the start are
    one step under the start lock, so concurrent starts cannot all pass the count."""
    root.mkdir(parents=True, exist_ok=True)
    with _flocked(root.with_name(START_LOCK)):
        others = _open_uploads(root, user, folder.name)
        if others >= cap:
            return others
        folder.mkdir(exist_ok=True)
        held = _try_lock_folder(folder)
        if held is None:  # another worker is finishing this link
            raise BlockingIOError(errno.EWOULDBLOCK, "upload folder busy")
        try:
            (folder / DONE_NAME).unlink(missing_ok=True)  # a sealed earlier choice, never handed
            with (folder / PART_NAME).open("wb"):
                pass
            _write_json(folder / META_NAME, meta)
        finally:
            os.close(held)
    return None


def _open_at(path: Path, offset: int) -> int:
    # O_CREAT: a part file lost with its folder's earlier state is started again, not a 500.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    os.lseek(fd, offset, os.SEEK_SET)
    return fd


def _write_all(fd: int, pieces: list[bytes]) -> None:
    """All of ``pieces`` at the file position: one system call for a batch, as a rule."""
    views = [memoryview(p) for p in pieces]
    while views:
        written = os.writev(fd, views)
        while views and written >= len(views[0]):
            written -= len(views[0])
            views.pop(0)
        if views and written:
            views[0] = views[0][written:]


def _rehash(path: Path) -> StreamingHash:
    """The hash of what is already on disk: once, when a resumed upload has no hash in memory."""
    return StreamingHash.from_file(path)


@dataclass(slots=True)
class _Upload:
    """In-memory state of one link's upload; the disk holds the rest."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Covers exactly the bytes of the part file, or None (then rebuilt from the file once).
    hasher: StreamingHash | None = None


class _Reject(Exception):
    """Ends a request with a JSON error the page shows as is."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(code)
        self.status, self.code, self.message, self.extra = status, code, message, extra


# --------------------------------------------------------------------------- pages

# What the entrant reads for each refusal; the page shows ``message`` as text.
LINK_ERRORS: dict[str, tuple[int, str, str]] = {
    "forged": (403, "链接无效", "这个上传链接无效或不完整。请在聊天中回复“上传”获取新的专属链接。"),
    "expired": (410, "链接已过期", "这个上传链接已过期。请在聊天中回复“上传”获取新的专属链接。"),
    "used": (410, "链接已使用",
             "这个上传链接已经用过一次，不能再次上传。如需重新上传，请在聊天中回复“上传”获取新链接。"),
}  # fmt: skip
NO_DRAFT = "没有找到与此链接对应的报名草稿（可能已取消或已提交）。请回到聊天中查看。"
DISK_FULL = (
    "服务器存储空间暂时已满，无法继续接收文件。已上传的部分已保存，"
    "请稍后重新打开本页，选择同一个文件从断点继续。"
)
FINISHING = "文件已上传完整，正在检查，不能再更换或续传。请刷新本页查看检查结果。"
RECOVERED = "您的视频已收到并保存到报名草稿。请回到聊天中继续报名。"


def _disk_full(exc: OSError, **extra: Any) -> _Reject:
    """The refusal for a full disk (or quota); other system errors are not ours to word."""
    if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
        raise exc
    log.error("upload refused: %s", exc)
    return _Reject(507, "disk_full", DISK_FULL, **extra)


SECURITY_HEADERS: dict[str, str] = {
    # Everything is served from here: no CDN, no inline script, no framing.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    # The token is in the URL: never send it on as a Referer.
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
TEMPLATES = web.AppKey("web_templates", jinja2.Environment)


def template_env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=True,  # every template here is HTML
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(request: web.Request, name: str, status: int = 200, **context: Any) -> web.Response:
    html = request.app[TEMPLATES].get_template(name).render(**context)
    return web.Response(
        text=html, status=status, content_type="text/html", charset="utf-8", headers=SECURITY_HEADERS
    )


def json_response(data: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(
        data, status=status, headers=SECURITY_HEADERS, dumps=lambda d: json.dumps(d, ensure_ascii=False)
    )


def _open_draft(draft: Draft | None, grant: UploadGrant) -> bool:
    """The link's owner still has an unsubmitted draft of the link's contest."""
    return (
        draft is not None
        and draft.data.get("contest") == grant.contest_id
        and draft.data.get("step") != Step.SCAN  # submitted: only the signed form is missing
    )


def _limit_text(size: int) -> str:
    """A size limit as the notice writes it: "300MB", "0.25MB" (兆 are MiB)."""
    return f"{size / MIB:.2f}".rstrip("0").rstrip(".") + "MB"


class UploadPages:
    """The aiohttp handlers of the upload page; one instance per application."""

    def __init__(self, services: Callable[[], Services], service: Callable[[], UploadService]) -> None:
        # Both are looked up per request: the app's cleanup_ctx builds them after the routes
        # are added.
        self._services = services
        self._service = service
        self._uploads: dict[str, _Upload] = {}

    @property
    def service(self) -> UploadService:
        return self._service()

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/upload/{token}", self.page)
        app.router.add_get("/upload/{token}/status", self.status)
        app.router.add_post("/upload/{token}/start", self.start)
        app.router.add_put("/upload/{token}/chunk", self.chunk)
        app.router.add_post("/upload/{token}/chunk", self.chunk)
        app.router.add_post("/upload/{token}/finish", self.finish)

    # ----------------------------------------------------------- helpers
    def _state(self, grant: UploadGrant) -> _Upload:
        up = self._uploads.get(grant.token_id)
        if up is None:
            up = self._uploads[grant.token_id] = _Upload()
        return up

    def _grant(self, request: web.Request) -> UploadGrant:
        """The link's grant, refusing forged and expired links (as JSON)."""
        try:
            return self.service.verify(request.match_info["token"])
        except UploadLinkError as exc:
            status, _title, message = LINK_ERRORS[exc.reason]
            raise _Reject(status, exc.reason, message) from exc

    async def _disk(self, grant: UploadGrant) -> _OnDisk:
        """The upload's files, refusing a link that completed already (as JSON)."""
        disk = await asyncio.to_thread(_look, self.service.folder(grant))
        if disk.result is not None:
            status, _title, message = LINK_ERRORS["used"]
            # With the verdict: a page whose finish answer was lost (a crash) can still show it.
            raise _Reject(status, "used", message, result=disk.result)
        return disk

    def _lock(self, grant: UploadGrant, busy: str) -> _Upload:
        """The link's state, refusing (409) while another request of the link holds it: two
        windows uploading one link would interleave chunks."""
        up = self._state(grant)
        if up.lock.locked():
            raise _Reject(409, "busy", busy)
        return up

    def _contest(self, grant: UploadGrant) -> Contest:
        contest = self._services().contests.get(grant.contest_id)
        if contest is None:
            raise _Reject(410, "contest_gone", "这项大赛已不在征集列表中，无法上传。")
        return contest

    def limits(self, contest: Contest) -> tuple[int, int]:
        """(min, max) file size in bytes: the notice's range, within the service's hard cap."""
        cap = self.service.config.max_mb * MIB
        spec = contest.video
        if spec is not None and spec.max_size_mib is not None:
            cap = min(cap, int(spec.max_size_mib * MIB))
        low = int(spec.min_size_mib * MIB) if spec is not None and spec.min_size_mib is not None else 1
        return max(1, low), cap

    @staticmethod
    def _error(exc: _Reject) -> web.Response:
        return json_response({"error": exc.code, "message": exc.message, **exc.extra}, exc.status)

    # ----------------------------------------------------------- GET /upload/{token}
    async def page(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        try:
            grant = self.service.verify(token)
        except UploadLinkError as exc:
            status, title, message = LINK_ERRORS[exc.reason]
            return render(request, "upload_error.html", status, title=title, message=message, result=None)
        folder = self.service.folder(grant)
        result = await asyncio.to_thread(_read_json, folder / RESULT_NAME)
        if result is not None:
            status, title, message = LINK_ERRORS["used"]
            return render(request, "upload_error.html", status, title=title, message=message, result=result)
        contest = self._services().contests.get(grant.contest_id)
        if contest is None:
            return render(
                request,
                "upload_error.html",
                410,
                title="大赛已结束",
                message="这项大赛已不在征集列表中。",
                result=None,
            )
        draft = await self._services().storage.get_draft(grant.user)
        if not _open_draft(draft, grant):
            # Said before a 300 MB upload, not after it.
            return render(
                request, "upload_error.html", 409, title="没有找到报名草稿", message=NO_DRAFT, result=None
            )
        assert draft is not None
        low, cap = self.limits(contest)
        return render(
            request,
            "upload.html",
            not_video_step=draft.data.get("step") != Step.VIDEO,
            contest=contest,
            api=f"/upload/{token}",
            chunk=self.service.config.chunk_kib * 1024,
            max_bytes=cap,
            min_bytes=low,
            cap_text=_limit_text(cap),
            min_text=_limit_text(low) if low > 1 else "",
            expires=grant.expires_at.astimezone(SHANGHAI).strftime("%Y年%m月%d日 %H:%M"),
        )

    # ----------------------------------------------------------- GET status
    async def status(self, request: web.Request) -> web.Response:
        try:
            grant = self._grant(request)
            disk = await asyncio.to_thread(_look, self.service.folder(grant))
            # A finished link answers with its result, so that a page whose /finish answer
            # was lost (or that was reloaded) still shows the verdict.
            if disk.result is not None:
                return json_response({"state": "done", "result": disk.result})
            contest = self._contest(grant)
        except _Reject as exc:
            return self._error(exc)
        meta, offset = disk.meta, disk.size
        low, cap = self.limits(contest)
        # "finishing": whole, with the dialog's verdict still to come (the page calls finish).
        state = "new" if meta is None else "finishing" if disk.finishing else "uploading"
        if meta is not None and disk.finishing:
            offset = meta["size"]
        return json_response(
            {
                "state": state,
                "offset": offset if meta else 0,
                "size": meta["size"] if meta else None,
                "name": meta["name"] if meta else None,
                "last_modified": meta.get("last_modified") if meta else None,
                "chunk": self.service.config.chunk_kib * 1024,
                "max_bytes": cap,
                "min_bytes": low,
            }
        )

    # ----------------------------------------------------------- POST start
    async def start(self, request: web.Request) -> web.Response:
        """Announce the file: refused here when it is too large or too small, before any byte
        is sent; the same file (name, size, date) continues where it stopped."""
        try:
            grant = self._grant(request)
            contest = self._contest(grant)
            up = self._lock(grant, "这个链接正在另一个窗口上传，请关闭其他窗口后重试。")
            async with up.lock:
                disk = await self._disk(grant)
                name, size, modified = await self._announced(request, contest)
                try:
                    offset = await self._begin(grant, up, disk, name=name, size=size, modified=modified)
                except OSError as exc:
                    raise _disk_full(exc) from exc
        except _Reject as exc:
            return self._error(exc)
        return json_response({"offset": offset, "size": size, "chunk": self.service.config.chunk_kib * 1024})

    async def _announced(self, request: web.Request, contest: Contest) -> tuple[str, int, int | None]:
        """(display name, size, last modified) of the file ``start`` announces, within limits."""
        try:
            body = await request.json()
            size = body["size"]
            name = display_name(str(body.get("name") or ""))
            modified = body.get("last_modified")
        except (ValueError, KeyError, TypeError) as exc:
            raise _Reject(400, "bad_request", "请求格式不正确。") from exc
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            raise _Reject(400, "bad_size", "文件大小不正确，请重新选择文件。")
        if not isinstance(modified, int) or isinstance(modified, bool):
            modified = None
        low, cap = self.limits(contest)
        if size > cap:
            raise _Reject(
                413, "too_large", f"文件 {format_size(size)}，超过上限 {_limit_text(cap)}，请压缩后再上传。"
            )
        if size < low:
            raise _Reject(
                422,
                "too_small",
                f"文件 {format_size(size)}，小于通知要求的 {_limit_text(low)}，请检查是否选错文件。",
            )
        return name, size, modified

    async def _begin(
        self, grant: UploadGrant, up: _Upload, disk: _OnDisk, *, name: str, size: int, modified: int | None
    ) -> int:
        folder = self.service.folder(grant)
        meta = disk.meta
        same = (
            meta is not None
            and meta.get("size") == size
            and meta.get("name") == name
            and meta.get("last_modified") == modified
        )
        if same:
            return disk.size
        if disk.handoff is not None:
            raise _Reject(409, "finishing", FINISHING, offset=disk.size)
        new_meta = {
            "user": str(grant.user),
            "contest": grant.contest_id,
            "expires": grant.expires_at.isoformat(),
            "name": name,
            "size": size,
            "last_modified": modified,
        }
        # Links cost nothing to mint (they are signed, not stored), so what bounds one entrant's
        # share of the disk is how many partial files they may keep at once.
        cap = self.service.config.max_open_per_user
        try:
            others = await asyncio.to_thread(
                _start_files, self.service.root, folder, str(grant.user), cap, new_meta
            )
        except BlockingIOError as exc:
            raise _Reject(409, "busy", "这个链接正在另一个窗口上传，请关闭其他窗口后重试。") from exc
        if others is not None:
            raise _Reject(
                429,
                "too_many",
                f"您已有 {others} 个未完成的上传（上限 {cap} 个）。请在原来的上传页面继续，"
                "或等那些链接过期后再开始新的上传。",
            )
        up.hasher = StreamingHash()
        return 0

    # ----------------------------------------------------------- PUT chunk
    async def chunk(self, request: web.Request) -> web.Response:
        try:
            grant = self._grant(request)
            match = _RANGE.match(request.headers.get("Content-Range", ""))
            if match is None:
                raise _Reject(400, "bad_range", "缺少或错误的 Content-Range。")
            start, end, total = (int(g) for g in match.groups())
            length = end - start + 1
            if end < start or end >= total:
                raise _Reject(400, "bad_range", "分块范围与文件大小不符，请重新开始上传。")
            if length > MAX_CHUNK:
                raise _Reject(413, "chunk_too_large", "分块过大。")
            if request.content_length is not None and request.content_length != length:
                raise _Reject(400, "length_mismatch", "分块长度与声明的范围不符。")
            up = self._lock(grant, "这个链接正在另一个窗口上传，请关闭其他窗口后重试。")
            async with up.lock:
                disk = await self._disk(grant)  # one trip to the disk per chunk
                if disk.meta is None:
                    raise _Reject(409, "not_started", "请先选择文件开始上传。", offset=0)
                if disk.finishing:
                    raise _Reject(409, "finishing", FINISHING, offset=disk.meta["size"])
                if total != disk.meta["size"]:
                    raise _Reject(400, "bad_range", "分块范围与文件大小不符，请重新开始上传。")
                if start != disk.size:
                    raise _Reject(409, "wrong_offset", "分块位置不对，将从断点继续。", offset=disk.size)
                part = self.service.folder(grant) / PART_NAME
                if up.hasher is None or up.hasher.size != disk.size:
                    up.hasher = await asyncio.to_thread(_rehash, part) if disk.size else StreamingHash()
                try:
                    await self._receive(request, part, start, length, up)
                except OSError as exc:  # the chunk was cut back already: resume from its start
                    raise _disk_full(exc, offset=start) from exc
        except _Reject as exc:
            return self._error(exc)
        offset = start + length
        return json_response({"offset": offset, "size": total, "complete": offset == total})

    async def _receive(self, request: web.Request, part: Path, start: int, length: int, up: _Upload) -> None:
        """Stream the body to ``part`` at ``start``: the loop reads while one worker thread writes
        and hashes (hashlib releases the GIL), at most ``MAX_PENDING`` bytes in flight.  Pieces
        go to the thread in batches as they arrive, never copied.  Anything short of exactly
        ``length`` bytes leaves the file as it was before the chunk."""
        hasher = up.hasher
        assert hasher is not None
        # One thread per chunk keeps every write, the truncate and the close in order, even
        # when this request ends half-way.
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="upload")
        fd = await asyncio.wrap_future(pool.submit(_open_at, part, start))
        pending: deque[tuple[Future[None], int]] = deque()
        in_flight = 0

        def write(pieces: list[bytes]) -> None:
            _write_all(fd, pieces)
            for data in pieces:
                hasher.update(data)

        received = 0
        done = False
        batch: list[bytes] = []
        batched = 0
        try:
            async for piece in request.content.iter_chunked(READ_BLOCK):
                received += len(piece)
                if received > length:
                    raise _Reject(400, "body_too_long", "分块内容超过了声明的长度。")
                batch.append(piece)
                batched += len(piece)
                if batched < WRITE_BATCH:
                    continue
                while in_flight > MAX_PENDING:  # the disk is slower than the network
                    fut, size = pending.popleft()
                    await asyncio.wrap_future(fut)
                    in_flight -= size
                pending.append((pool.submit(write, batch), batched))
                in_flight += batched
                batch, batched = [], 0
            if received != length:
                raise _Reject(400, "body_too_short", "分块不完整（连接中断？），将从断点继续。")
            pending.append((pool.submit(write, batch), batched))
            for fut, _size in pending:
                await asyncio.wrap_future(fut)
            done = True
        finally:

            def close() -> None:
                # A failed chunk is undone whole, so the file is always a prefix of the video.
                if not done:
                    os.ftruncate(fd, start)
                os.close(fd)

            if not done:
                up.hasher = None  # it may have seen bytes that are now cut off
            closing = pool.submit(close)
            pool.shutdown(wait=False)
            # Shielded: the file must be closed (and cut back) even if this request is torn down.
            await asyncio.shield(asyncio.wrap_future(closing))

    # ----------------------------------------------------------- POST finish
    async def finish(self, request: web.Request) -> web.Response:
        """The file is complete: hand it to the dialog as a FILE event of the link's owner.
        Called again after a crash at any step, it carries on from where the disk says."""
        svc = self._services()
        busy = "上传仍在进行，请稍候。"
        try:
            grant = self._grant(request)
            self._contest(grant)
            up = self._lock(grant, busy)
            async with up.lock:
                disk = await self._disk(grant)
                if disk.meta is None:
                    raise _Reject(409, "incomplete", "文件尚未上传完整，将从断点继续。", offset=0)
                async with self._folder_lock(grant, busy):
                    # Again under the lock: another worker may have moved it on meanwhile.
                    result = await self._complete(svc, grant, up, await self._disk(grant))
        except _Reject as exc:
            return self._error(exc)
        except OSError as exc:  # every step so far is kept: finish again once there is room
            return self._error(_disk_full(exc))
        return json_response(result)

    @contextlib.asynccontextmanager
    async def _folder_lock(self, grant: UploadGrant, busy: str) -> AsyncIterator[None]:
        """The link's folder, locked against a finish or restart of it in another worker."""
        fd = await asyncio.to_thread(_try_lock_folder, self.service.folder(grant))
        if fd is None:
            raise _Reject(409, "busy", busy)
        try:
            yield
        finally:
            os.close(fd)

    async def _complete(
        self, svc: Services, grant: UploadGrant, up: _Upload, disk: _OnDisk
    ) -> dict[str, Any]:
        folder = self.service.folder(grant)
        meta = disk.meta
        assert meta is not None
        video = folder / DONE_NAME
        handoff = disk.handoff
        resumed = handoff is not None
        if handoff is None:
            if not disk.sealed and disk.size != meta["size"]:
                raise _Reject(409, "incomplete", "文件尚未上传完整，将从断点继续。", offset=disk.size)
            await self._check_draft(svc, grant)
            sha256 = await self._seal(folder, up, disk)
            handoff = {"sha256": sha256, "size": meta["size"], "name": meta["name"]}
            # Written before the claim: a crash after it leaves the record that says the claim
            # is this folder's, so that the next finish resumes instead of finding it "used".
            await asyncio.to_thread(_write_json, folder / HANDOFF_NAME, handoff)
            # One completion per link, across workers: the claim lives in the shared store.
            ttl = max(grant.expires_at - self.service.clock(), dt.timedelta(0)) + dt.timedelta(days=1)
            if not await svc.storage.claim_once(f"upload:{grant.token_id}", ttl):
                await asyncio.to_thread((folder / HANDOFF_NAME).unlink, True)
                status, _title, message = LINK_ERRORS["used"]
                raise _Reject(status, "used", message)
        sha256 = str(handoff["sha256"])
        held = await self._holder(svc, grant.user, video, sha256, taken=True) if resumed else None
        if held is not None:
            # A crash came after the dialog took the video: say so rather than run it twice.
            result = self._recovered(meta, sha256, held)
        else:
            await self._check_draft(svc, grant)
            result = await self._hand_over(svc, grant, meta, video, sha256)
        # The keep-or-drop decision goes to disk before the verdict, so that _settle can finish
        # the clean-up after a crash without asking the store.
        keep = await self._holder(svc, grant.user, video) is not None
        await asyncio.to_thread(_write_json, folder / HANDOFF_NAME, {**handoff, "keep": keep})
        await asyncio.to_thread(_write_json, folder / RESULT_NAME, result)
        await asyncio.to_thread(_settle, folder)
        self._uploads.pop(grant.token_id, None)
        return result

    async def _check_draft(self, svc: Services, grant: UploadGrant) -> None:
        """Refuse (409) unless the link's owner has a draft of its contest at the video step."""
        draft = await svc.storage.get_draft(grant.user)
        if not _open_draft(draft, grant):
            raise _Reject(409, "no_draft", NO_DRAFT)
        assert draft is not None
        if draft.data.get("step") != Step.VIDEO:
            raise _Reject(
                409,
                "not_video_step",
                "您的报名当前不在“参赛视频”这一步。请在聊天中回复“修改”并选择参赛视频，然后刷新本页即可完成。",
            )

    async def _seal(self, folder: Path, up: _Upload, disk: _OnDisk) -> str:
        """The SHA-256 of the whole file, renamed to ``video.mp4`` (once: a sealed file stays)."""
        path = folder / (DONE_NAME if disk.sealed else PART_NAME)
        hasher = up.hasher
        if hasher is None or hasher.size != disk.size:
            hasher = up.hasher = await asyncio.to_thread(_rehash, path)
        if not disk.sealed:
            await asyncio.to_thread(os.replace, path, folder / DONE_NAME)
        return hasher.hexdigest()

    async def _hand_over(
        self, svc: Services, grant: UploadGrant, meta: dict[str, Any], video: Path, sha256: str
    ) -> dict[str, Any]:
        """Run the dialog with the video and push its replies to the chat: the verdict."""
        info = FileInfo(
            name=meta["name"],
            size=meta["size"],
            mime="video/mp4",
            ref=grant.token_id,
            path=str(video),
            sha256=sha256,
        )
        replies: list[Reply] = await svc.assistant.handle(Incoming(grant.user, EventKind.FILE, file=info))
        pushed = False
        try:
            pushed = await svc.reach.push(grant.user, replies)
        except Exception:  # the page shows the replies instead
            log.exception("could not push the upload result to %s", grant.user)
        report = next((r for r in replies if "media_ok" in r.meta), None)
        return {
            "state": "done",
            "ok": report.meta["media_ok"] == "True" if report else None,
            "verdict": report.text if report else "",
            "replies": [] if pushed else [reply_json(r) for r in replies],
            "pushed": pushed,
            "name": meta["name"],
            "size": meta["size"],
            "size_text": format_size(meta["size"]),
            "sha256": sha256,
        }

    @staticmethod
    def _recovered(meta: dict[str, Any], sha256: str, held: dict[str, Any]) -> dict[str, Any]:
        """The verdict of a hand-off whose answer a crash lost, from the video record the
        dialog made of it (a checked one passed the check: a refused one makes none)."""
        checked = bool(held.get("checked"))
        return {
            "state": "done",
            "ok": True if checked else None,
            "verdict": "✅ 视频检查通过" if checked else "",
            "replies": [reply_json(Reply(RECOVERED))],
            "pushed": False,
            "name": meta["name"],
            "size": meta["size"],
            "size_text": format_size(meta["size"]),
            "sha256": sha256,
        }

    async def _holder(
        self, svc: Services, user: UserKey, video: Path, sha256: str | None = None, *, taken: bool = False
    ) -> dict[str, Any] | None:
        """The video record of the user's draft or submission that holds this upload: its path
        (no video folder configured) or, with ``sha256``, the same file kept under its hash.
        ``taken``: only a draft past the video step counts (one still there takes the file,
        again, itself)."""

        def holds(record: dict[str, Any] | None) -> bool:
            record = record or {}
            if record.get("kind", "file") != "file":
                return False
            return record.get("stored") == str(video) or (
                sha256 is not None and record.get("sha256") == sha256
            )

        draft = await svc.storage.get_draft(user)
        if draft is not None and not (taken and draft.data.get("step") == Step.VIDEO):
            record = draft.data.get("video")
            if isinstance(record, dict) and holds(record):
                return dict(record)
        return next(
            (dict(s.video) for s in await svc.storage.list_submissions(user=user) if holds(s.video)), None
        )

    # ----------------------------------------------------------- housekeeping
    async def sweep(self, grace: dt.timedelta = dt.timedelta(hours=1)) -> int:
        """Finish the clean-up of completed uploads a crash interrupted, and delete the folders
        of links that expired more than ``grace`` ago; returns how many folders went."""
        now = self.service.clock()
        busy = {tid for tid, up in self._uploads.items() if up.lock.locked()}
        before = now - grace
        # An expired hand-off a crash left without a verdict: its video stays only when the
        # entrant's draft or submission points at it (no video folder configured).
        keep: set[str] = set()
        for tid, user in await asyncio.to_thread(_stalled, self.service.root, before, busy):
            channel, _, user_id = user.partition(":")
            if await self._holder(
                self._services(), UserKey(channel, user_id), self.service.root / tid / DONE_NAME
            ):
                keep.add(tid)
        removed = await asyncio.to_thread(_sweep, self.service.root, before, busy, keep)
        for tid in removed:
            self._uploads.pop(tid, None)
        return len(removed)


def _open_uploads(root: Path, user: str, except_id: str) -> int:
    """How many started, unfinished uploads ``user`` has on disk, besides ``except_id``'s."""
    if not root.is_dir():
        return 0
    count = 0
    for folder in root.iterdir():
        if folder.name == except_id or not folder.is_dir() or (folder / RESULT_NAME).exists():
            continue
        meta = _read_json(folder / META_NAME)
        if meta is None or meta.get("user") != user:
            continue
        if (folder / PART_NAME).exists() or (folder / DONE_NAME).exists():
            count += 1
    return count


def _expires(folder: Path) -> dt.datetime:
    meta = _read_json(folder / META_NAME) or {}
    try:
        return dt.datetime.fromisoformat(str(meta["expires"]))
    except (KeyError, ValueError):
        # No readable meta: judge by age, against the longest TTL a link can have.
        return dt.datetime.fromtimestamp(folder.stat().st_mtime, dt.UTC) + dt.timedelta(days=30)


def _stalled(root: Path, before: dt.datetime, busy: set[str]) -> list[tuple[str, str]]:
    """(token id, user) of expired folders holding a video handed over without a verdict."""
    found: list[tuple[str, str]] = []
    if not root.is_dir():
        return found
    for folder in root.iterdir():
        if (
            folder.is_dir()
            and folder.name not in busy
            and (folder / HANDOFF_NAME).exists()
            and (folder / DONE_NAME).exists()
            and not (folder / RESULT_NAME).exists()
            and _expires(folder) < before
        ):
            found.append((folder.name, str((_read_json(folder / META_NAME) or {}).get("user", ""))))
    return found


def _sweep(root: Path, before: dt.datetime, busy: set[str], keep: set[str]) -> list[str]:
    removed: list[str] = []
    if not root.is_dir():
        return removed
    for folder in root.iterdir():
        if not folder.is_dir() or folder.name in busy:
            continue
        _settle(folder)
        if _expires(folder) >= before:
            continue
        done = (folder / RESULT_NAME).exists() and not (folder / HANDOFF_NAME).exists()
        if (folder / DONE_NAME).exists() and (done or folder.name in keep):
            # A completed video still here is the one a draft points at (no video folder is
            # configured): keep it, drop the rest.
            for path in folder.iterdir():
                if path.name != DONE_NAME:
                    path.unlink(missing_ok=True)
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder.name)
    return removed


def reply_json(reply: Reply) -> dict[str, Any]:
    """A reply as the pages show it: text, buttons, and the upload link if it carries one."""
    return {
        "text": reply.text,
        "choices": [{"label": c.label, "payload": c.payload} for c in reply.choices],
        "upload_url": reply.meta.get("upload_url"),
    }


async def sweeper(pages: UploadPages, every: dt.timedelta = dt.timedelta(hours=1)) -> AsyncIterator[None]:
    """cleanup_ctx body: sweep expired uploads hourly, the task kept and awaited on shutdown."""

    async def loop() -> None:
        while True:
            try:
                removed = await pages.sweep()
                if removed:
                    log.info("removed %d expired upload folder(s)", removed)
            except Exception:
                log.exception("upload sweep failed")
            await asyncio.sleep(every.total_seconds())

    task = asyncio.create_task(loop(), name="upload-sweeper")
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
