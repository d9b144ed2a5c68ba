"""The signed form's scan: is this file really a JPEG, PNG or PDF that opens?

A file's first bytes say what it claims to be, not what it is (``%PDF-1.4`` and then an HTML
page is no PDF), so the file is opened with a real parser: Pillow decodes an image, pypdf
reads a PDF's structure and every page.  Parsers of untrusted files can be made to allocate
or loop without end (a 30000×30000 PNG of one colour is a few hundred KB), so the parsing
runs in a short-lived child process per file, under an address space cap, a CPU limit and a
wall-clock alarm, with Pillow's pixel cap and a page cap for PDFs.

The children are forked by a small server of this module's own, started on the first scan:

    python -I scan.py --serve FD

It has imported nothing but the two parsers; for each request on its control socket (a
``SOCK_SEQPACKET`` pair: one message, the limits, with two descriptors, the file opened and
checked by the caller and the socket for the answer) it forks a child that applies the limits,
reads the file, parses it and sends one JSON message back: ``{"kind": "png", ...}`` or
``{"problem": code, ...}``.  A fresh interpreter per scan spent ~0.1 s of CPU on its imports,
so 150 entrants sending their scans at a deadline kept both cores busy for seconds and starved
the drawing of their forms (bench/README.md "Scans at the deadline"); a fork costs ~2 ms and
still gives every file a process, and limits, of its own.  This module imports nothing from
the project, so that the server holds the interpreter and the parsers only.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import math
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Magic numbers of what a signed form may come back as; the client's file name and the
# platform's MIME type are not trusted.
_MAGIC = ((b"\xff\xd8\xff", "jpg"), (b"\x89PNG\r\n\x1a\n", "png"), (b"%PDF-", "pdf"))
_FORMATS = {"jpg": "JPEG", "png": "PNG"}  # Pillow's names
# What a browser's content sniffing takes for a web page; a scan has no reason to contain it.
_HTML_MARKS = (b"<!doctype html", b"<html", b"<script", b"<body", b"<iframe", b"<svg", b"<head")
_HEAD = 4096
_KIND_NAMES = {"jpg": "JPG 图片", "png": "PNG 图片", "pdf": "PDF 文件"}
_SEND_INSTEAD = "请重新扫描或用手机拍照，发送 jpg、png 或 pdf 文件"


@dataclass(frozen=True, slots=True)
class ScanLimits:
    """Bounds on one parse: wall time, address space, decoded pixels, PDF pages."""

    timeout_s: float = 20.0
    memory_mib: int = 1024
    # A 108-megapixel phone photo of the form passes; a 30000×30000 bomb (900 MP) does not.
    max_pixels: int = 120_000_000
    max_pages: int = 30  # the form and its attachments; a real scan has a handful


DEFAULT_SCAN_LIMITS = ScanLimits()


@dataclass(frozen=True, slots=True)
class ScanVerdict:
    """``kind`` (jpg, png, pdf) when the file opens; else ``problem`` and ``reason`` (Chinese)."""

    kind: str | None
    problem: str = ""  # "type": none of the three; "broken": it claims one and does not open
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.kind is not None


def kind_of(head: bytes) -> str | None:
    """``jpg``, ``png`` or ``pdf`` as the file's first bytes claim, else None."""
    return next((kind for magic, kind in _MAGIC if head.startswith(magic)), None)


#: The producer the assistant's drawn forms carry (forms.overlay, WeasyPrint): a "scan" made by it is
#: the unsigned original.
DRAWN_BY = "WeasyPrint"
_UNSIGNED = "这是助手生成的原表，还没有签字盖章。请打印出来签字、盖章后，再拍照或扫描发回"


def _broken(kind: str, why: str) -> ScanVerdict:
    name = _KIND_NAMES[kind]
    return ScanVerdict(None, "broken", f"文件开头标明是 {name}，但{why}。{_SEND_INSTEAD}", {"claimed": kind})


# --- the parent side ----------------------------------------------------------------------------


def inspect_scan(path: Path, limits: ScanLimits = DEFAULT_SCAN_LIMITS) -> ScanVerdict:
    """Open ``path`` with a real parser in a bounded child (blocking: run it in a worker thread)."""
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return ScanVerdict(None, "type", f"文件无法读取。{_SEND_INSTEAD}")
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size == 0:
            return ScanVerdict(None, "type", f"文件是空的。{_SEND_INSTEAD}")
        kind = kind_of(os.pread(fd, 16, 0))
        if kind is None:
            return ScanVerdict(None, "type", f"文件不是 jpg、png 或 pdf。{_SEND_INSTEAD}")
        return _run_child(fd, kind, limits)
    finally:
        os.close(fd)


class _Forks:
    """The fork server, as the parent sees it: started on first use, again after it died."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._control: socket.socket | None = None
        self._server: subprocess.Popen[bytes] | None = None

    def _started(self) -> socket.socket:
        with self._lock:
            if self._control is not None and self._server is not None and self._server.poll() is None:
                return self._control
            if self._control is not None:
                self._control.close()
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            env = {k: v for k, v in os.environ.items() if k in ("PATH", "LD_LIBRARY_PATH")}
            try:
                # -I: no PYTHONPATH, no user site: the interpreter and its installed packages only.
                command = [sys.executable, "-I", __file__, "--serve", str(theirs.fileno())]
                self._server = subprocess.Popen(
                    command, stdin=subprocess.DEVNULL, pass_fds=(theirs.fileno(),), env=env
                )
            except OSError as exc:  # the server's fault, not the file's
                ours.close()
                raise RuntimeError(f"cannot start the scan parser: {exc}") from exc
            finally:
                theirs.close()
            self._control = ours
            return ours

    def close(self) -> None:
        """Close the control socket (the server sees it and exits) and wait for the server."""
        with self._lock:
            control, self._control = self._control, None
            server, self._server = self._server, None
        if control is not None:
            control.close()
        if server is not None:
            try:
                server.wait(timeout=5)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()

    def ask(self, fd: int, limits: ScanLimits) -> dict[str, Any] | None:
        """The child's answer for the file open at ``fd``; None when it died without one (a
        limit killed it); raises ``TimeoutError`` when it outlasts ``limits.timeout_s``."""
        mine, childs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            request = json.dumps([limits.max_pixels, limits.max_pages, limits.memory_mib, limits.timeout_s])
            for attempt in (1, 2):  # a server that died since the last scan is started again
                control = self._started()
                try:
                    socket.send_fds(control, [request.encode()], [fd, childs.fileno()])
                    break
                except OSError:
                    if attempt == 2:
                        raise
                    with self._lock:
                        if self._server is not None:  # gone before _started looks again
                            self._server.kill()
                            self._server.wait()
            childs.close()  # the child holds it now: its end closes when the child ends
            mine.settimeout(limits.timeout_s)
            try:
                answer = mine.recv(65536)
            except TimeoutError:  # an OSError too, but not a dead child: the caller says so
                raise
            except OSError:
                return None
        finally:
            mine.close()
            childs.close()
        if not answer:
            return None
        said = json.loads(answer)
        return said if isinstance(said, dict) else None


@functools.cache
def _forks() -> _Forks:
    """This process's fork server, made on the first scan and closed when the process exits."""
    forks = _Forks()
    atexit.register(forks.close)
    return forks


def _run_child(fd: int, kind: str, limits: ScanLimits) -> ScanVerdict:
    try:
        said = _forks().ask(fd, limits) or {}
    except TimeoutError:
        return _broken(kind, f"{limits.timeout_s:g} 秒内没能打开，文件结构异常")
    if said.get("kind") == kind and str(said.get("producer", "")).startswith(DRAWN_BY):
        # The form as the assistant drew it, sent back untouched: nobody has signed or sealed it.
        return ScanVerdict(None, "broken", _UNSIGNED, {"claimed": kind})
    if said.get("kind") == kind:
        return ScanVerdict(kind, details={k: v for k, v in said.items() if k != "kind"})
    if said.get("problem") == "missing":  # the parsers are not installed: an operator problem
        raise RuntimeError(f"scan parser unavailable: {said.get('why')}")
    if said.get("problem"):
        return _broken(kind, str(said.get("why") or "无法打开"))
    # Killed by the memory or CPU cap or the alarm, or a parser crash: a file no scanner makes.
    return _broken(kind, "打开时耗尽了允许的内存或时间，文件结构异常")


# --- the child side -----------------------------------------------------------------------------


class _Refused(Exception):
    """The file does not open as what it claims; the message says why, in Chinese."""


def _apply_limits(memory_mib: int, cpu_s: int) -> None:
    try:
        import resource
    except ImportError:  # not POSIX: the parent's timeout is the only bound
        return
    memory = memory_mib << 20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _looks_like_html(data: bytes) -> bool:
    head = data[:_HEAD].lower()
    return any(mark in head for mark in _HTML_MARKS) or b"<script" in data.lower()


#: Grey levels below this count as ink, the rest as (light) paper; a page with less than
#: ``_LEAST_INK`` of ink pixels is blank.
_DARK_LEVEL = 160
_LEAST_INK = 0.002
_BLANK = "图片几乎是一张白纸，看不到表格的内容；请把签字盖章后的报名表拍清楚或扫描后再发送"
#: A printed form is light paper with some ink on it, so a scan or photo of it is mostly light
#: (fifth trial round: an all-blue 800×600 PNG and a holiday photo were taken as the signed form,
#: since they have "ink" everywhere).  At least this share of the picture must be paper: a flat
#: colour is then refused either way (all paper and no ink, or all ink and no paper), and so is a
#: full-bleed photo, while a phone photo of the form with some desk around it still passes.
_LEAST_PAPER = 0.5
_NO_PAPER = (
    "图片不像一张纸质表格（大部分画面不是浅色的纸面，像是纯色图片或照片）；"
    "请把签字盖章后的报名表平放，让表格占满大半个画面，拍清楚或扫描后再发送"
)


def _looks_like_paper(image: Any) -> None:
    """Refuse a loaded picture that shows no printed form: blank, a flat colour or a photo."""
    # A blank page (a white PNG was taken as the signed form in the fourth trial round):
    # a form's print, even photographed, darkens more than a few pixels in a thousand.
    small = image.resize((256, 256), reducing_gap=2.0).convert("L")
    dark = sum(small.histogram()[:_DARK_LEVEL])
    if dark < _LEAST_INK * 256 * 256:
        raise _Refused(_BLANK)
    # And no page at all (a flat colour, a photo): too little of it is light paper.
    if 256 * 256 - dark < _LEAST_PAPER * 256 * 256:
        raise _Refused(_NO_PAPER)


def _check_image(data: bytes, kind: str, max_pixels: int) -> dict[str, Any]:
    import io
    import warnings

    from PIL import Image

    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            # Over the cap is a bomb, not a warning (Pillow only errs at twice the cap).
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[_FORMATS[kind]]) as image:
                width, height = image.size
                if kind == "jpg":
                    image.draft("RGB", (2048, 2048))  # every coefficient is still read
                image.load()
                _looks_like_paper(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _Refused("图片的像素多得不合理（可能是恶意构造的文件），无法作为扫描件") from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise _Refused("图片数据无法解码，文件已损坏或不完整") from None
    return {"width": width, "height": height}


def _scanned_pages_look_like_paper(reader: Any, max_pixels: int) -> None:
    """A PDF whose first page is only a picture (a phone's "save as PDF", a scanner's output) is
    judged by that picture as an image would be: a holiday photo saved as PDF is no signed form.
    A page with text or drawings of its own is not judged here (that needs rendering)."""
    import warnings

    from PIL import Image

    page = reader.pages[0]
    if (page.extract_text() or "").strip():
        return
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            pictures = [p.image for p in page.images[:4]]
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise
    except Exception:  # pypdf's DependencyError is no PyPdfError, and any decoder may fail
        # A picture pypdf cannot decode here (JBIG2, common in office scanners' compact PDFs, needs
        # jbig2dec, which the sandbox could not run anyway) is not judged: the scan is not refused.
        return
    pictures = [p for p in pictures if p is not None]
    if pictures:
        _looks_like_paper(max(pictures, key=lambda p: p.width * p.height))


def _check_pdf(data: bytes, max_pages: int, max_pixels: int) -> dict[str, Any]:
    import io
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError
    from pypdf.generic import DictionaryObject

    logging.disable(logging.CRITICAL)  # pypdf logs what strict mode turns into errors anyway
    if b"/JavaScript" in data:  # a script action; "/JS" alone is 3 bytes, too common in binary streams
        raise _Refused("其中含有脚本代码，扫描件不应含有脚本")
    try:
        # Strict: a broken cross-reference table is refused, not silently rebuilt.
        reader = PdfReader(io.BytesIO(data), strict=True)
        if reader.is_encrypted:
            raise _Refused("文件设有密码或加密，无法查看")
        tree = reader.root_object.get("/Pages")
        tree = tree.get_object() if tree is not None else None
        count = tree.get("/Count", 0) if isinstance(tree, DictionaryObject) else 0
        if not isinstance(count, int) or count > max_pages:
            raise _Refused(f"页数过多（{count} 页，最多 {max_pages} 页）")
        pages = len(reader.pages)  # the real page tree, not the /Count it claims
        if pages > max_pages:
            raise _Refused(f"页数过多（{pages} 页，最多 {max_pages} 页）")
        if pages == 0:
            raise _Refused("文件里没有任何页面")
        for page in reader.pages:
            box = page.mediabox
            if not (box.width > 0 and box.height > 0):
                raise _Refused("页面尺寸无效")
        _scanned_pages_look_like_paper(reader, max_pixels)
        info = reader.metadata
        producer = str(info.producer or "")[:80] if info is not None else ""
    except _Refused:
        raise
    except (PyPdfError, KeyError, ValueError, TypeError, AttributeError, IndexError, RecursionError):
        raise _Refused("文件结构损坏（如交叉引用表错误），无法作为 PDF 打开") from None
    return {"pages": pages, "producer": producer}


def _verdict(data: bytes, max_pixels: int, max_pages: int) -> dict[str, Any]:
    kind = kind_of(data[:16])
    if kind is None:
        return {"problem": "type"}
    try:
        if _looks_like_html(data):
            raise _Refused("其中夹带了网页代码（HTML/脚本），不是正常的扫描件")
        details = (
            _check_pdf(data, max_pages, max_pixels) if kind == "pdf" else _check_image(data, kind, max_pixels)
        )
    except ImportError as missing:  # Pillow or pypdf not installed
        return {"problem": "missing", "why": str(missing)}
    except _Refused as refused:
        return {"problem": "broken", "why": str(refused)}
    except MemoryError:
        return {"problem": "broken", "why": "打开时耗尽了允许的内存，文件结构异常"}
    except Exception:  # whatever else a parser raises on a hostile file is a refusal too
        return {"problem": "broken", "why": "无法打开，文件已损坏"}
    return {"kind": kind, **details}


def _child(file_fd: int, answer: socket.socket, limits: list[Any]) -> None:
    """One forked child: the alarm and limits first, then the file, then the parser."""
    max_pixels, max_pages, memory_mib, timeout_s = limits
    signal.signal(signal.SIGALRM, signal.SIG_DFL)  # the alarm ends the process, whatever it runs
    signal.alarm(max(1, math.ceil(timeout_s)))
    _apply_limits(int(memory_mib), max(1, math.ceil(timeout_s)))
    with os.fdopen(file_fd, "rb") as fh:
        data = fh.read()
    answer.send(json.dumps(_verdict(data, int(max_pixels), int(max_pages)), ensure_ascii=False).encode())


def _reap(_signum: int = 0, _frame: object = None) -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def _serve(control: socket.socket) -> None:
    """The fork server: a child per request until the parent closes its end."""
    # Children are waited for (not left to SIG_IGN's automatic reaping), so that their CPU
    # time adds up in this server's, where the operator and bench/cpu_probe.py see it.
    signal.signal(signal.SIGCHLD, _reap)
    for name in ("PIL.Image", "pypdf"):  # imported once here, not in every child
        with contextlib.suppress(ImportError):  # each child then says so ("missing")
            __import__(name)
    while True:
        try:
            message, fds, _flags, _addr = socket.recv_fds(control, 4096, 2)
        except InterruptedError:
            continue
        if not message:
            return  # the parent is gone
        if len(fds) != 2:
            for fd in fds:
                os.close(fd)
            continue
        file_fd, answer_fd = fds
        if os.fork() == 0:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            code = 0
            try:
                control.close()
                with socket.socket(fileno=answer_fd) as answer:
                    _child(file_fd, answer, json.loads(message))
            except BaseException:
                code = 1
            os._exit(code)
        os.close(file_fd)
        os.close(answer_fd)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        _serve(socket.socket(fileno=int(sys.argv[2])))
