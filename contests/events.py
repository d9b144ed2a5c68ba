"""Channel-neutral events in and replies out: what every channel translates to and from."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from contests.records import UserKey


class EventKind(StrEnum):
    TEXT = "text"  # anything typed; commands and links are recognised from the text
    CHOICE = "choice"  # a button press; ``choice`` carries the payload of :class:`Choice`
    FILE = "file"  # a document, video or image the user sent
    START = "start"  # /start, a subscribe event, or a first contact


@dataclass(frozen=True, slots=True)
class FileInfo:
    """A file as the channel announced it; ``ref`` is the channel's own id for fetching it."""

    name: str
    size: int | None
    mime: str = ""
    ref: str = ""
    # A local copy the channel already downloaded ("" when it could not, e.g. too large for
    # the platform's bot download limit).  The client's file name is never used as a path.
    path: str = ""
    # The SHA-256 of ``path`` when whoever received it already computed it on the way (the
    # upload page hashes while streaming), so the media check need not read the file again.
    sha256: str = ""
    # The largest file the channel takes itself, set when this one was over it (the web chat
    # page's 20 MB): the entrant is told that limit rather than a chat app's.
    limit: int | None = None


@dataclass(frozen=True, slots=True)
class Incoming:
    user: UserKey
    kind: EventKind
    text: str = ""
    choice: str | None = None
    file: FileInfo | None = None
    # The technical check of ``file`` (MediaReport.to_dict() plus "text"), attached by the
    # handler before the dialog sees the event; the dialog itself never reads files.
    media: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Choice:
    """An answer the user may pick: channels with buttons show ``label`` and send back ``payload``;
    on text-only channels the user types its number or its label."""

    label: str
    payload: str


@dataclass(frozen=True, slots=True)
class Document:
    """A file for the user: its bytes in ``content``, or in the file at ``path``.

    Forms and receipts come as ``path``: the drawing process writes them (under
    ``DATA_DIR/drawn``, swept after a few hours) instead of sending 400 KB back through a
    pipe, and a channel that stores them (WeChat's download links) links the file instead of
    copying it.  :meth:`read` gives the bytes either way.
    """

    filename: str
    content: bytes = b""
    mime: str = "application/octet-stream"
    path: str = ""

    def read(self) -> bytes:
        """The bytes; blocking when they are in a file (call it in a worker thread then)."""
        if not self.path:
            return self.content
        with open(self.path, "rb") as fh:
            return fh.read()

    async def load(self) -> bytes:
        """The bytes, from the event loop: a file is read in one worker-thread call."""
        return await asyncio.to_thread(self.read) if self.path else self.content


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a document not drawn yet is to be written, for a channel that hands out its link
    before it exists (WeChat's download links, given in the passive reply of 确认提交).

    The drawing process writes the document to ``path`` (a new private file), then
    ``marker_text`` to ``marker`` (the link's metadata) by an atomic rename: whoever serves
    the link sees the document whole or not at all.
    """

    path: str
    marker: str
    marker_text: str


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    choices: tuple[Choice, ...] = ()
    document: Document | None = None
    meta: dict[str, str] = field(default_factory=dict)
    # False when the text numbers something else (the review page's items): text-only
    # channels then show the choices as words to reply with, not as 1, 2, 3.
    numbered: bool = True
