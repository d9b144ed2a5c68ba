"""The console's downloads, each behind the viewer's role and written to the audit log: the
video (with HTTP Range, for the page's ``<video>``), the scans (inline), the drawn form and
receipt, one work as a ZIP, and a whole contest (organisers) or unit (members) as one
streamed ZIP with the xlsx list inside."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from bot.web.console.auth import ConsoleAuth, ConsoleSession
from bot.web.responses import SECURITY_HEADERS
from bot.web.zipstream import ZipMember, content_disposition, zip_response
from contests.events import Document
from handlers.console.bundle import folder_name, layout, safe_name
from handlers.console.login import SESSION_IDLE
from handlers.console.service import ConsoleService, ConsoleUser
from handlers.console.views import ConsoleEntry

log = logging.getLogger(__name__)

# A scan (PDF) is shown in an <iframe> of the submission's page: framed by our own pages only.
_FRAMABLE = {
    **SECURITY_HEADERS,
    "Content-Security-Policy": SECURITY_HEADERS["Content-Security-Policy"].replace(
        "frame-ancestors 'none'", "frame-ancestors 'self'"
    ),
}
_NOT_FOUND = "文件不存在，或您无权查看。"
# Where an entrant's files are kept under the data folder: the checked videos and scans, and
# (no checker, or a video taken from the upload page) the channels' downloads and the uploads.
# Never the folder itself: it holds the database, the receipt-signing key and the upload secret.
FILE_FOLDERS = ("videos", "scans", "uploads", "incoming")
# What a kept file is served as, by its suffix; anything else is bytes to download (with nosniff):
# a file named .html or .svg among them must not open as a page of ours.
VIDEO_TYPES = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime", ".webm": "video/webm"}
SCAN_TYPES = {
    ".pdf": "application/pdf",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".gif": "image/gif",
}


def _not_found() -> web.HTTPNotFound:
    return web.HTTPNotFound(text=_NOT_FOUND, headers=SECURITY_HEADERS)


class ConsoleFiles:
    """The aiohttp handlers of the console's downloads."""

    def __init__(self, auth: ConsoleAuth) -> None:
        self.auth = auth

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/console/s/{number:[A-Za-z0-9_-]+}/video", self.video)
        app.router.add_get("/console/s/{number:[A-Za-z0-9_-]+}/scan/{index:[0-9]+}", self.scan)
        app.router.add_get("/console/s/{number:[A-Za-z0-9_-]+}/form.{fmt:pdf|docx}", self.form)
        app.router.add_get("/console/s/{number:[A-Za-z0-9_-]+}/receipt.pdf", self.receipt)
        app.router.add_get("/console/s/{number:[A-Za-z0-9_-]+}.zip", self.submission_zip)
        app.router.add_get("/console/export/{contest}.zip", self.contest_zip)

    async def _entry(
        self, request: web.Request
    ) -> tuple[ConsoleSession, ConsoleService, ConsoleUser, ConsoleEntry]:
        session = await self.auth.required(request)
        console = self.auth.services(request).console
        viewer = session.viewer
        entry = await console.entry(viewer, request.match_info["number"])
        if entry is None:
            raise _not_found()
        return session, console, viewer, entry

    async def _kept(self, request: web.Request, path: Path | None) -> Path:
        """A stored file's path, only when it is a file in one of the data folder's
        :data:`FILE_FOLDERS` (a forged or stale record names nothing else)."""
        if path is None:
            raise _not_found()
        # resolve() and is_file() touch the disk (a shared volume, with several workers):
        # off the event loop, as every other file access here.
        real = await asyncio.to_thread(_kept_file, self.auth.services(request).settings.media_folder, path)
        if real is None:
            raise _not_found()
        return real

    @staticmethod
    def _disposition(request: web.Request, name: str) -> str:
        if request.query.get("download"):
            return content_disposition(name)
        return content_disposition(name).replace("attachment", "inline", 1)

    async def video(self, request: web.Request) -> web.FileResponse:
        session, console, viewer, entry = await self._entry(request)
        found = next((f for f in console.files(entry) if f.kind == "video"), None)
        path = await self._kept(request, found.path if found else None)
        # A <video> asks for many ranges: one entry per session's viewing of the work (whichever
        # range comes first: "bytes=1-" is the whole video too), and one per whole download.
        viewing = f"console-viewing:{hashlib.sha256(session.csrf.encode()).hexdigest()[:32]}:{entry.number}"
        storage = self.auth.services(request).storage
        if "Range" not in request.headers or await storage.claim_once(viewing, SESSION_IDLE):
            await console.record(
                viewer, "file.video", entry.contest.id, target=entry.number, source=session.source
            )
        assert found is not None
        return web.FileResponse(
            path,
            headers={
                **SECURITY_HEADERS,
                "Content-Type": VIDEO_TYPES.get(path.suffix.lower(), "application/octet-stream"),
                "Content-Disposition": self._disposition(request, found.name),
            },
        )

    async def scan(self, request: web.Request) -> web.FileResponse:
        session, console, viewer, entry = await self._entry(request)
        index = int(request.match_info["index"])
        found = next((f for f in console.files(entry) if f.kind == "scan" and f.index == index), None)
        path = await self._kept(request, found.path if found else None)
        assert found is not None
        await console.record(
            viewer,
            "file.scan",
            entry.contest.id,
            target=entry.number,
            source=session.source,
            detail={"index": index},
        )
        return web.FileResponse(
            path,
            headers={
                **_FRAMABLE,
                "Content-Type": SCAN_TYPES.get(path.suffix.lower(), "application/octet-stream"),
                "Content-Disposition": self._disposition(request, found.name),
            },
        )

    async def _drawn(self, request: web.Request, entry: ConsoleEntry, kind: str) -> Document:
        paperwork = self.auth.services(request).submit.paperwork
        if paperwork is None:
            raise _not_found()
        if kind == "receipt":
            return await paperwork.receipt_document(paperwork.receipt(entry.sub, entry.contest))
        documents = await paperwork.form_documents(
            entry.contest, entry.sub.form_id, entry.sub.answers, entry.number
        )
        wanted = next((d for d in documents if d.filename.endswith("." + kind)), None)
        if wanted is None:
            raise _not_found()
        return wanted

    async def _send_document(self, request: web.Request, document: Document) -> web.StreamResponse:
        headers = {**SECURITY_HEADERS, "Content-Disposition": self._disposition(request, document.filename)}
        if document.path:
            return web.FileResponse(Path(document.path), headers={**headers, "Content-Type": document.mime})
        return web.Response(body=document.content, content_type=document.mime, headers=headers)

    async def form(self, request: web.Request) -> web.StreamResponse:
        session, console, viewer, entry = await self._entry(request)
        fmt = request.match_info["fmt"]
        document = await self._drawn(request, entry, fmt)
        await console.record(
            viewer,
            "file.form",
            entry.contest.id,
            target=entry.number,
            source=session.source,
            detail={"format": fmt},
        )
        return await self._send_document(request, document)

    async def receipt(self, request: web.Request) -> web.StreamResponse:
        session, console, viewer, entry = await self._entry(request)
        document = await self._drawn(request, entry, "receipt")
        await console.record(
            viewer, "file.receipt", entry.contest.id, target=entry.number, source=session.source
        )
        return await self._send_document(request, document)

    async def submission_zip(self, request: web.Request) -> web.StreamResponse:
        """One work: its folder with the drawn form, the scans and the video."""
        session, console, viewer, entry = await self._entry(request)
        provinces = await console.provinces(entry.contest.id)
        members = await self._members(request, console, entry, provinces.get(entry.holder or "", ""))
        paperwork = self.auth.services(request).submit.paperwork
        if paperwork is not None:
            pdf = await self._drawn(request, entry, "pdf")
            folder = members[0].name.split("/")[0] if members else safe_name(f"{entry.number}+{entry.title}")
            members.insert(0, _document_member(f"{folder}/{safe_name(pdf.filename, 120)}", pdf))
        await console.record(
            viewer, "download.submission", entry.contest.id, target=entry.number, source=session.source
        )
        return await zip_response(request, members, f"{safe_name(entry.number + '+' + entry.title)}.zip")

    async def _members(
        self, request: web.Request, console: ConsoleService, entry: ConsoleEntry, province: str, top: str = ""
    ) -> list[ZipMember]:
        members = []
        for name, path in layout(entry, console.files(entry), province=province, top=top):
            try:
                members.append(ZipMember(name, path=await self._kept(request, path)))
            except web.HTTPNotFound:
                log.warning("%s: a stored file is missing: %s", entry.number, path)
        return members

    async def contest_zip(self, request: web.Request) -> web.StreamResponse:
        """Every work the viewer may see (a member: their unit's) with the xlsx list."""
        session = await self.auth.required(request)
        console = self.auth.services(request).console
        viewer = session.viewer
        contest_id = request.match_info["contest"]
        document = await console.export(viewer, contest_id, source=session.source)
        contest = console.contest(contest_id)
        if document is None or contest is None:
            raise _not_found()
        entries = await console.entries(viewer, contest_id)
        provinces = await console.provinces(contest_id)
        top = safe_name(contest.short_title)

        drawing = self.auth.services(request).submit.paperwork is not None

        async def members() -> AsyncIterator[ZipMember]:
            yield ZipMember(f"{top}/{safe_name(document.filename, 120)}", data=document.read())
            for entry in entries:
                province = provinces.get(entry.holder or "", "")
                if drawing:
                    # The notice asks for the form beside the scan and the video.  Drawn as the
                    # archive streams (a third of a CPU second each, in the drawing child), so
                    # the download starts at once and memory stays flat.
                    pdf = await self._drawn(request, entry, "pdf")
                    folder = f"{top}/{folder_name(entry, province)}"
                    yield _document_member(f"{folder}/{safe_name(pdf.filename, 120)}", pdf)
                for member in await self._members(request, console, entry, province, top):
                    yield member

        scope = "全部" if viewer.role(contest_id) == "organiser" else "本单位"
        await console.record(
            viewer,
            "download.contest",
            contest_id,
            source=session.source,
            detail={"works": len(entries), "scope": scope},
        )
        return await zip_response(request, members(), f"{top}-{scope}作品.zip")


def _document_member(name: str, document: Document) -> ZipMember:
    """A drawn document in a ZIP: from its file, or from memory when it has none."""
    if document.path:
        return ZipMember(name, path=Path(document.path))
    return ZipMember(name, data=document.content)


def _kept_file(data: Path, path: Path) -> Path | None:
    """``path`` resolved, when it is a file under one of ``data``'s :data:`FILE_FOLDERS`."""
    try:
        real = path.resolve()
        roots = [(data / folder).resolve() for folder in FILE_FOLDERS]
    except OSError:
        return None
    if not any(real.is_relative_to(root) for root in roots) or not real.is_file():
        return None
    return real
