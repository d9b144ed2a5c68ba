"""The personal large-file upload page: resumable chunked uploads through a one-time link.

The link and its token are :mod:`bot.web.upload_links`; the files of an upload and the state
machine that makes its finish survive a crash are :mod:`bot.web.upload_disk`.

Protocol, all under ``/upload/{token}``::

    GET   /upload/{token}          the page (zh-CN)
    GET   /upload/{token}/status   {"state", "offset", "size", "max_bytes", "chunk", ...}
    POST  /upload/{token}/start    {"name", "size", "last_modified"} -> {"offset"}; the same file resumes
    PUT   /upload/{token}/chunk    bytes start..end, ``Content-Range: bytes start-end/size``
    POST  /upload/{token}/finish   runs the dialog with the file; returns the verdict
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import errno
import logging
import os
import re
import secrets
import unicodedata
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

# Called through their modules: each step has one name wherever it is used.
import bot.web.upload_disk as upload_disk
import bot.web.upload_handoff as upload_handoff
from bot.services import Services
from bot.web.responses import json_response, render
from bot.web.upload_links import MAX_CHUNK, MIB, UploadGrant, UploadLinkError, UploadService
from bot.web.upload_writer import MAX_PENDING, ChunkWriter
from contests.records import Draft, UserKey
from contests.rules import SHANGHAI, Contest
from dialogs.states import Step
from validators.hashing import StreamingHash
from validators.media_text import format_size

log = logging.getLogger(__name__)

_RANGE = re.compile(r"^bytes (\d{1,15})-(\d{1,15})/(\d{1,15})$")


def display_name(name: str) -> str:
    """The client's file name for showing only: last path part, no control characters, short."""
    name = unicodedata.normalize("NFC", str(name))
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")
    return name[:120] or "video.mp4"


@dataclass(slots=True)
class _Upload:
    """In-memory state of one link's upload; the disk holds the rest."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Covers a prefix of the part file of the upload ``hash_id`` (``start``'s id in its meta),
    # or None (then rebuilt from the file once); caught up when another worker appended.
    hasher: StreamingHash | None = None
    hash_id: str | None = None
    # The last chunk's writer: its thread may still be hashing the chunk's last pieces.
    tail: ChunkWriter | None = None


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


def _disk_full(exc: OSError, **extra: Any) -> _Reject:
    """The refusal for a full disk (or quota); other system errors are not ours to word."""
    if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
        raise exc
    log.error("upload refused: %s", exc)
    return _Reject(507, "disk_full", DISK_FULL, **extra)


def _open_draft(draft: Draft | None, grant: UploadGrant) -> bool:
    """The link's owner still has an unsubmitted draft of the link's contest."""
    return (
        draft is not None
        and draft.data.get("contest") == grant.contest_id
        and draft.data.get("step") != Step.SCAN  # submitted: only the signed form is missing
    )


def _chunk_refusal(disk: upload_disk.OnDisk, start: int, total: int) -> _Reject | None:
    """Why a chunk of bytes ``start``… of a ``total``-byte file does not fit the upload on
    disk, or None.  Pure: the chunk's thread asks it too, before it opens the file."""
    if disk.result is not None:  # with the verdict: a page whose finish answer was lost shows it
        status, _title, message = LINK_ERRORS["used"]
        return _Reject(status, "used", message, result=disk.result)
    if disk.meta is None:
        return _Reject(409, "not_started", "请先选择文件开始上传。", offset=0)
    if disk.finishing:
        return _Reject(409, "finishing", FINISHING, offset=disk.meta["size"])
    if total != disk.meta["size"]:
        return _Reject(400, "bad_range", "分块范围与文件大小不符，请重新开始上传。")
    if start != disk.size:
        return _Reject(409, "wrong_offset", "分块位置不对，将从断点继续。", offset=disk.size)
    return None


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

    async def _disk(self, grant: UploadGrant) -> upload_disk.OnDisk:
        """The upload's files, refusing a link that completed already (as JSON)."""
        disk = await asyncio.to_thread(upload_disk.look, self.service.folder(grant))
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
        result = await asyncio.to_thread(upload_disk.read_json, folder / upload_disk.RESULT_NAME)
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
            disk = await asyncio.to_thread(upload_disk.look, self.service.folder(grant))
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
        self,
        grant: UploadGrant,
        up: _Upload,
        disk: upload_disk.OnDisk,
        *,
        name: str,
        size: int,
        modified: int | None,
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
        upload_id = secrets.token_hex(8)  # tells this file's hash from an earlier file's
        new_meta = {
            "id": upload_id,
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
                upload_disk.start_files, self.service.root, folder, str(grant.user), cap, new_meta
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
        up.hasher, up.hash_id = StreamingHash(), upload_id
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
                await self._receive(request, grant, up, start, length, total)
        except _Reject as exc:
            return self._error(exc)
        offset = start + length
        return json_response({"offset": offset, "size": total, "complete": offset == total})

    async def _receive(
        self, request: web.Request, grant: UploadGrant, up: _Upload, start: int, length: int, total: int
    ) -> None:
        """Stream the body to the part file at ``start``: the loop reads and queues the pieces
        as they arrive, the chunk's own thread looks at the folder, writes and hashes
        (:class:`ChunkWriter`), at most ``MAX_PENDING`` bytes in between.  Anything short of
        exactly ``length`` bytes leaves the file as it was before the chunk."""

        def fits(disk: upload_disk.OnDisk) -> bool:
            return _chunk_refusal(disk, start, total) is None

        writer = ChunkWriter(self.service.folder(grant), start, (up.hasher, up.hash_id), fits, up.tail)
        fed = False
        try:
            try:
                disk = await writer.open()  # one trip to the disk per chunk, with the file's opening
            except OSError as exc:
                raise _disk_full(exc, offset=start) from exc
            finally:
                up.tail = writer  # the next chunk's thread waits for this one's hash
            refusal = _chunk_refusal(disk, start, total)
            if refusal is not None:
                raise refusal
            fed = True
            received = 0
            async for piece in request.content.iter_any():  # as parsed: no join, no copy
                received += len(piece)
                if received > length:
                    raise _Reject(400, "body_too_long", "分块内容超过了声明的长度。")
                writer.put(piece)
                if writer.backlog > MAX_PENDING:  # the disk or the hash is slower than the network
                    await writer.drain()
                if writer.error is not None:
                    break
            if writer.error is None and received != length:
                raise _Reject(400, "body_too_short", "分块不完整（连接中断？），将从断点继续。")
            try:
                await writer.finish()
            except OSError as exc:  # the chunk was cut back already: resume from its start
                raise _disk_full(exc, offset=start) from exc
        finally:
            await writer.close()
            # The hash as the thread left it: caught up to the chunk's end (its last pieces
            # perhaps still being hashed), unchanged for a refused chunk, None for a failed one.
            up.hasher, up.hash_id = writer.hasher, writer.hash_id
            if fed and not writer.complete:
                up.hasher = None  # it may have seen bytes that are now cut off

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
        fd = await asyncio.to_thread(upload_disk.try_lock_folder, self.service.folder(grant))
        if fd is None:
            raise _Reject(409, "busy", busy)
        try:
            yield
        finally:
            os.close(fd)

    async def _complete(
        self, svc: Services, grant: UploadGrant, up: _Upload, disk: upload_disk.OnDisk
    ) -> dict[str, Any]:
        folder = self.service.folder(grant)
        meta = disk.meta
        assert meta is not None
        video = folder / upload_disk.DONE_NAME
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
            await asyncio.to_thread(upload_disk.write_json, folder / upload_disk.HANDOFF_NAME, handoff)
            # One completion per link, across workers: the claim lives in the shared store.
            ttl = max(grant.expires_at - self.service.clock(), dt.timedelta(0)) + dt.timedelta(days=1)
            if not await svc.storage.claim_once(f"upload:{grant.token_id}", ttl):
                await asyncio.to_thread((folder / upload_disk.HANDOFF_NAME).unlink, True)
                status, _title, message = LINK_ERRORS["used"]
                raise _Reject(status, "used", message)
        sha256 = str(handoff["sha256"])
        held = await upload_handoff.holder(svc, grant.user, video, sha256, taken=True) if resumed else None
        if held is not None:
            # A crash came after the dialog took the video: say so rather than run it twice.
            result = upload_handoff.recovered(meta, sha256, held)
        else:
            await self._check_draft(svc, grant)
            result = await upload_handoff.hand_over(svc, grant, meta, video, sha256)
        # The keep-or-drop decision goes to disk before the verdict, so that settle can finish
        # the clean-up after a crash without asking the store.
        keep = await upload_handoff.holder(svc, grant.user, video) is not None
        await asyncio.to_thread(
            upload_disk.write_json, folder / upload_disk.HANDOFF_NAME, {**handoff, "keep": keep}
        )
        await asyncio.to_thread(upload_disk.write_json, folder / upload_disk.RESULT_NAME, result)
        await asyncio.to_thread(upload_disk.settle, folder)
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

    async def _seal(self, folder: Path, up: _Upload, disk: upload_disk.OnDisk) -> str:
        """The SHA-256 of the whole file, renamed to ``video.mp4`` (once: a sealed file stays)."""
        path = folder / (upload_disk.DONE_NAME if disk.sealed else upload_disk.PART_NAME)
        if up.tail is not None:
            await up.tail.hashed  # the last chunk's last pieces
        hasher = up.hasher if upload_disk.hash_fits(up.hasher, up.hash_id, disk) else None
        if hasher is None or hasher.size != disk.size:
            hasher = await asyncio.to_thread(upload_disk.rehash, path, disk.size, hasher)
            up.hasher, up.hash_id = hasher, upload_disk.upload_id(disk)
        if not disk.sealed:
            await asyncio.to_thread(os.replace, path, folder / upload_disk.DONE_NAME)
        return hasher.hexdigest()

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
        for tid, user in await asyncio.to_thread(upload_disk.stalled, self.service.root, before, busy):
            channel, _, user_id = user.partition(":")
            if await upload_handoff.holder(
                self._services(), UserKey(channel, user_id), self.service.root / tid / upload_disk.DONE_NAME
            ):
                keep.add(tid)
        removed = await asyncio.to_thread(upload_disk.sweep, self.service.root, before, busy, keep)
        for tid in removed:
            self._uploads.pop(tid, None)
        return len(removed)


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
