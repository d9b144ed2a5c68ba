"""What the submit flow needs from ``forms``: the filled-in form as documents, a check of a
returned scan, and the receipt.  Everything blocking runs in worker threads."""

from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
import pickle
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from bot.contests import Contest
from bot.storage.base import Submission
from dialogs.events import Document

from .receipts import Receipt, SigningKey, form_code, issue_receipt
from .render import RenderedForm, render_form

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


def _draw_form(pickled: bytes, form_id: str, answers: dict[str, Any], number: str, code: str) -> RenderedForm:
    return render_form(_contest(pickled), form_id, answers, number=number, verify_code=code)


class Paperwork:
    """Forms and receipts signed with the organiser's key.

    Drawing a PDF is a third of a CPU second of pure Python and C under the GIL: in a thread it
    would stall the event loop of every chat.  So drawing happens in a small process pool of
    its own (``workers`` processes, started on first use, "spawn" so that no lock of this
    process is inherited), which also bounds how many are drawn at once.
    """

    def __init__(self, key: SigningKey, *, verify_url: str | None = None, workers: int = 1) -> None:
        self.key = key
        self.verify_url = verify_url
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None
        # Pickling a contest costs ~0.3 ms (a pydantic model of the whole notice): it is sent
        # to the drawing process as bytes pickled once per contest object, which the process
        # unpickles once too (see _contest).  The object is kept so that its id is not reused.
        self._pickled: dict[int, tuple[Contest, bytes]] = {}

    async def _run(self, fn: Callable[[], Any]) -> Any:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self._workers, mp_context=multiprocessing.get_context("spawn"))
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)

    async def aclose(self) -> None:
        """Stop the drawing processes (after what they are drawing is done)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, True)

    async def form_documents(
        self, contest: Contest, form_id: str, answers: Mapping[str, Any], number: str
    ) -> list[Document]:
        """The form to print (PDF) and to edit (DOCX), carrying the number and its code."""
        code = form_code(number, self.key)
        rendered: RenderedForm = await self._run(
            functools.partial(_draw_form, self._pickle(contest), form_id, dict(answers), number, code)
        )
        stem = rendered.filename_stem
        return [
            Document(f"{stem}.pdf", rendered.pdf, "application/pdf"),
            Document(
                f"{stem}.docx",
                rendered.docx,
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ),
        ]

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

    async def receipt_document(self, receipt: Receipt) -> Document:
        """The receipt as a PDF with its QR code, drawn in a worker thread."""
        pdf: bytes = await self._run(functools.partial(receipt.pdf, self.verify_url))
        return Document(f"{receipt.payload.get('number')}_回执.pdf", pdf, "application/pdf")


def read_head(path: Path, n: int = 16) -> bytes:
    with path.open("rb") as fh:
        return fh.read(n)
