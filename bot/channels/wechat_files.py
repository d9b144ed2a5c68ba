"""Files the WeChat channel keeps on disk.

* ``DATA_DIR/incoming/<random>/``: media a user sent, one private (0700) folder per download,
  the file named by its kind, never by the name the client gave it.
* ``DATA_DIR/outbox/<token>.bin`` + ``.json``: documents (forms, receipts) that a customer-service
  message cannot carry — it has no generic "file" type — offered as a download link with an
  unguessable token that expires.

Both are swept by age, so a worker that died mid-dialog leaves nothing behind for long.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import mimetypes
import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from contests.events import Document, Placement

log = logging.getLogger(__name__)

INCOMING = "incoming"
OUTBOX = "outbox"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")
_MIME = re.compile(r"^[a-z0-9.+-]+/[a-z0-9.+-]+$")
# Served from our own origin: types a browser would render as a page are sent as bytes.
_ACTIVE = {"text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml"}
_EXT = {"image/jpeg": ".jpg", "video/mp4": ".mp4", "audio/amr": ".amr", "audio/mpeg": ".mp3"}


def extension_for(mime: str) -> str:
    """A file extension for ``mime`` (``.bin`` when unknown): the only part of a stored name
    that depends on what the user sent."""
    ext = _EXT.get(mime) or mimetypes.guess_extension(mime or "") or ".bin"
    return ext if re.fullmatch(r"\.[A-Za-z0-9]{1,8}", ext) else ".bin"


def new_incoming_dir(data_dir: Path) -> Path:
    """A fresh private folder under ``data_dir/incoming`` for one download."""
    root = data_dir / INCOMING
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    return Path(tempfile.mkdtemp(prefix="wx-", dir=root))


def sweep_incoming(data_dir: Path, older_than: dt.timedelta) -> int:
    """Remove download folders older than ``older_than``; returns how many."""
    root = data_dir / INCOMING
    if not root.is_dir():
        return 0
    cutoff = time.time() - older_than.total_seconds()
    removed = 0
    for folder in root.glob("wx-*"):
        try:
            if folder.is_dir() and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        except OSError:
            continue
    return removed


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback and the real (e.g. Chinese) name per RFC 6266/5987."""
    fallback = re.sub(r"[^A-Za-z0-9._-]", "_", filename).strip("._") or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def safe_mime(mime: str) -> str:
    mime = mime.strip().lower()
    if not _MIME.match(mime) or mime in _ACTIVE:
        return "application/octet-stream"
    return mime


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    path: Path
    filename: str
    mime: str
    expires: dt.datetime


class Outbox:
    """Documents behind download links: ``put`` stores one and returns its token (``put_many``
    several at once), ``get`` finds it again until it expires.  Files live on disk so that any
    worker sharing ``DATA_DIR`` can serve a link another worker made."""

    def __init__(
        self,
        data_dir: Path,
        ttl: dt.timedelta,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.root = data_dir / OUTBOX
        self.ttl = ttl
        self._clock = clock

    def plan(self, filename: str, mime: str) -> tuple[Document, Placement]:
        """A link for a document not drawn yet: the document as the reply carries it, and where
        the drawing process must write it.  Until it has, the link answers 404 (the page says
        to refresh in a few seconds).  No I/O: this runs in the event loop."""
        _, data, meta = self._new_entry(filename, mime, (self._clock() + self.ttl).isoformat())
        place = Placement(str(data), str(data.with_suffix(".json")), meta)
        return Document(filename, mime=mime, path=str(data)), place

    def _new_entry(self, filename: str, mime: str, expires: str) -> tuple[str, Path, str]:
        """A new entry's token, data file and metadata (JSON text); nothing written yet."""
        token = secrets.token_urlsafe(24)  # 32 characters, 192 bits
        meta = {"filename": filename[:200] or "download", "mime": mime, "expires": expires}
        return token, self.root / f"{token}.bin", json.dumps(meta, ensure_ascii=False)

    def _planned(self, doc: Document) -> str | None:
        """The token of a document :meth:`plan` made, else None."""
        path = Path(doc.path) if doc.path else None
        if path is None or path.parent != self.root or path.suffix != ".bin":
            return None
        return path.stem if _TOKEN.match(path.stem) else None

    def _put_many(self, docs: Sequence[Document]) -> list[str]:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        expires = (self._clock() + self.ttl).isoformat()
        return [self._put(doc, expires) for doc in docs]

    def _put(self, doc: Document, expires: str) -> str:
        token, data, meta = self._new_entry(doc.filename, doc.mime, expires)
        if doc.path:
            # A drawn document is already a private file on this disk: link it, no copy (its
            # own folder is swept; this link lives as long as the download link).
            try:
                os.link(doc.path, data)
            except OSError:
                shutil.copyfile(doc.path, data)
                os.chmod(data, 0o600)
        else:
            fd = os.open(data, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(doc.content)
        # The metadata last: an entry without it is not served.
        data.with_suffix(".json").write_text(meta, encoding="utf-8")
        return token

    async def put(self, doc: Document) -> str:
        """Store ``doc``; its token."""
        [token] = await self.put_many([doc])
        return token

    async def put_many(self, docs: Sequence[Document]) -> list[str]:
        """Store ``docs`` in one thread hand-off (which costs more than the writes); their tokens,
        in the same order.  Documents :meth:`plan` made are in already: no hand-off for them."""
        tokens = [self._planned(doc) for doc in docs]
        new = [doc for doc, token in zip(docs, tokens, strict=True) if token is None]
        if new:
            made = iter(await asyncio.to_thread(self._put_many, new))
            tokens = [token or next(made) for token in tokens]
        return [token for token in tokens if token is not None]

    def _get(self, token: str) -> OutboxEntry | None:
        if not _TOKEN.match(token):  # before any path is built from it
            return None
        meta_path, data = self.root / f"{token}.json", self.root / f"{token}.bin"
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            expires = dt.datetime.fromisoformat(meta["expires"])
            entry = OutboxEntry(data, str(meta["filename"]), safe_mime(str(meta["mime"])), expires)
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if expires <= self._clock():
            self._remove(token)
            return None
        return entry if data.is_file() else None

    async def get(self, token: str) -> OutboxEntry | None:
        return await asyncio.to_thread(self._get, token)

    def _remove(self, token: str) -> None:
        for suffix in (".json", ".bin"):
            (self.root / f"{token}{suffix}").unlink(missing_ok=True)

    def sweep(self) -> int:
        """Remove expired entries (and halves left by a crash); returns how many."""
        if not self.root.is_dir():
            return 0
        now = self._clock()
        removed = 0
        for meta_path in self.root.glob("*.json"):
            try:
                expires = dt.datetime.fromisoformat(json.loads(meta_path.read_text("utf-8"))["expires"])
            except (OSError, ValueError, KeyError, TypeError):
                expires = now
            if expires <= now:
                self._remove(meta_path.stem)
                removed += 1
        horizon = time.time() - 3600  # a .bin whose .json never came, after an hour
        # and a half-written one of a drawing process that was killed (forms.paperwork._place)
        for data in [*self.root.glob("*.bin"), *self.root.glob("*.part")]:
            try:
                orphan = not data.with_suffix(".json").exists() and data.stat().st_mtime < horizon
            except OSError:
                continue
            if orphan:
                data.unlink(missing_ok=True)
                removed += 1
        return removed
