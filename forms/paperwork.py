"""What the submit flow needs from ``forms``: the filled-in form as documents, a check of a
returned scan, and the receipt.  Everything blocking runs in worker threads."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import pickle
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from contests.events import Document, Placement
from contests.records import Submission
from contests.rules import Contest
from forms.drawing import DrawingProcess
from forms.receipts import Receipt, SigningKey, form_code, issue_receipt
from forms.render import filename_stem, render_form

log = logging.getLogger(__name__)

# Magic numbers of what a signed form may come back as; the client's file name and the
# platform's MIME type are not trusted.
_SCAN_MAGIC = ((b"\xff\xd8\xff", "jpg"), (b"\x89PNG\r\n\x1a\n", "png"), (b"%PDF-", "pdf"))


def scan_kind(head: bytes) -> str | None:
    """``jpg``, ``png`` or ``pdf`` judged from the file's first bytes, else None."""
    return next((kind for magic, kind in _SCAN_MAGIC if head.startswith(magic)), None)


@functools.lru_cache(maxsize=8)
def _contest(pickled: bytes) -> Contest:
    """The contest a drawing process was sent, unpickled once per process and edition."""
    contest = pickle.loads(pickled)
    assert isinstance(contest, Contest)
    return contest


#: Drawn documents older than this are removed from the drawing folder: the channels have
#: sent, linked or served them long before (WeChat's download links keep their own copy).
KEEP_DRAWN_SECONDS = 6 * 3600


def _spill(folder: str, places: Sequence[Placement] | None, *files: tuple[str, bytes]) -> list[str]:
    """Each ``(suffix, data)`` in a new private file in ``folder``, after removing the files
    left there long ago (in the drawing process, where blocking is fine); their paths.

    With ``places`` (one per file), each goes where its :class:`Placement` says instead.
    """
    if places is not None:
        return [_place(place, data) for place, (_, data) in zip(places, files, strict=True)]
    os.makedirs(folder, mode=0o700, exist_ok=True)
    cutoff = time.time() - KEEP_DRAWN_SECONDS
    with os.scandir(folder) as entries:
        for entry in entries:
            with contextlib.suppress(OSError):
                if entry.is_file() and entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)
    paths = []
    for suffix, data in files:
        fd, path = tempfile.mkstemp(suffix=suffix, dir=folder)  # 0600
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        paths.append(path)
    return paths


def _place(place: Placement, data: bytes) -> str:
    # Written aside and renamed into place: a document drawn again there (by a worker that
    # took the form over from one that died while drawing it) replaces it whole.
    os.makedirs(os.path.dirname(place.path), mode=0o700, exist_ok=True)
    fd, part = tempfile.mkstemp(suffix=".part", dir=os.path.dirname(place.path))  # 0600
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(part, place.path)
    fd, part = tempfile.mkstemp(suffix=".part", dir=os.path.dirname(place.marker))
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(place.marker_text)
    os.replace(part, place.marker)
    return place.path


def _draw_form(
    pickled: bytes,
    form_id: str,
    answers: dict[str, Any],
    number: str,
    code: str,
    places: Sequence[Placement] | None,
    folder: str,
) -> tuple[str, str]:
    """(PDF path, DOCX path) of the filled-in form, drawn in the drawing process."""
    rendered = render_form(_contest(pickled), form_id, answers, number=number, verify_code=code)
    pdf, docx = _spill(folder, places, (".pdf", rendered.pdf), (".docx", rendered.docx))
    return pdf, docx


def _draw_receipt(
    receipt: Receipt, verify_url: str | None, places: Sequence[Placement] | None, folder: str
) -> str:
    [pdf] = _spill(folder, places, (".pdf", receipt.pdf(verify_url)))
    return pdf


PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class Paperwork:
    """Forms and receipts signed with the organiser's key.

    Drawing a PDF is a third of a CPU second of pure Python and C under the GIL: in a thread it
    would stall the event loop of every chat.  So drawing happens in ``workers`` drawing
    processes of its own (:mod:`forms.drawing`: fresh interpreters started on first use, at a
    lower priority, driven from the event loop), which also bounds how many are drawn at once.

    The documents come back as files in ``folder`` (:attr:`Document.path`), or where the
    caller's :class:`Placement` says, not through the pipe: a 380 KB form sent back as bytes
    cost this process ~2 ms of CPU per submission, and WeChat then wrote the same bytes to
    disk again for its download link, where it now links the file.
    """

    def __init__(
        self,
        key: SigningKey,
        *,
        verify_url: str | None = None,
        workers: int = 1,
        folder: Path | None = None,
    ) -> None:
        self.key = key
        self.verify_url = verify_url
        self._drawers = [DrawingProcess() for _ in range(max(1, workers))]
        # Where the drawing process leaves the documents (a private temporary folder if None,
        # removed by aclose()).
        self._folder: str | None = str(folder) if folder is not None else None
        self._own_folder = folder is None
        # Pickling a contest costs ~0.3 ms (a pydantic model of the whole notice): it is sent
        # to the drawing process as bytes pickled once per contest object, which the process
        # unpickles once too (see _contest).  The object is kept so that its id is not reused.
        self._pickled: dict[int, tuple[Contest, bytes]] = {}

    async def _draw(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args, folder)`` in the least busy drawing process; ``folder`` is created on
        first use."""
        if self._folder is None:
            self._folder = await asyncio.to_thread(tempfile.mkdtemp, prefix="kepu-paperwork-")
        drawer = min(self._drawers, key=lambda d: d.load)
        return await drawer.call(fn, *args, self._folder)

    async def aclose(self) -> None:
        """Stop the drawing processes (after what they are drawing is done)."""
        await asyncio.gather(*(drawer.aclose() for drawer in self._drawers))
        if self._own_folder and self._folder is not None:
            folder, self._folder = self._folder, None
            await asyncio.to_thread(shutil.rmtree, folder, True)

    @staticmethod
    def form_files(contest: Contest, form_id: str, number: str) -> list[tuple[str, str]]:
        """``(file name, MIME type)`` of what :meth:`form_documents` draws, known before it is drawn."""
        stem = filename_stem(contest.form(form_id), number)
        return [(f"{stem}.pdf", PDF), (f"{stem}.docx", DOCX)]

    async def form_documents(
        self,
        contest: Contest,
        form_id: str,
        answers: Mapping[str, Any],
        number: str,
        places: Sequence[Placement] | None = None,
    ) -> list[Document]:
        """The form to print (PDF) and to edit (DOCX), carrying the number and its code;
        written where ``places`` say (one per :meth:`form_files` entry) when given."""
        code = form_code(number, self.key)
        paths = await self._draw(
            _draw_form, self._pickle(contest), form_id, dict(answers), number, code, places
        )
        files = self.form_files(contest, form_id, number)
        return [Document(name, mime=mime, path=path) for (name, mime), path in zip(files, paths, strict=True)]

    def _pickle(self, contest: Contest) -> bytes:
        kept = self._pickled.get(id(contest))
        if kept is None:
            if len(self._pickled) >= 16:  # contests reloaded many times: start afresh
                self._pickled.clear()
            kept = self._pickled[id(contest)] = (contest, pickle.dumps(contest, pickle.HIGHEST_PROTOCOL))
        return kept[1]

    def receipt(self, submission: Submission, contest: Contest) -> Receipt:
        """The signed receipt (signing is cheap; drawing its PDF is not: see below)."""
        return issue_receipt(submission, contest, self.key)

    def receipt_text(self, receipt: Receipt) -> str:
        return receipt.text_zh(self.verify_url)

    @staticmethod
    def receipt_files(receipt: Receipt) -> list[tuple[str, str]]:
        """``(file name, MIME type)`` of :meth:`receipt_document`, known before it is drawn."""
        return [(f"{receipt.payload.get('number')}_回执.pdf", PDF)]

    async def receipt_document(self, receipt: Receipt, places: Sequence[Placement] | None = None) -> Document:
        """The receipt as a PDF with its QR code, drawn in the drawing process (written where
        ``places`` says when given)."""
        path = await self._draw(_draw_receipt, receipt, self.verify_url, places)
        [(name, mime)] = self.receipt_files(receipt)
        return Document(name, mime=mime, path=path)


def read_head(path: Path, n: int = 16) -> bytes:
    with path.open("rb") as fh:
        return fh.read(n)
