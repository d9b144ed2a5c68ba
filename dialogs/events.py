"""Channel-neutral events in and replies out: what every channel translates to and from."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.storage.base import UserKey


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
    filename: str
    content: bytes
    mime: str = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    choices: tuple[Choice, ...] = ()
    document: Document | None = None
    meta: dict[str, str] = field(default_factory=dict)
    # False when the text numbers something else (the review page's items): text-only
    # channels then show the choices as words to reply with, not as 1, 2, 3.
    numbered: bool = True
