"""The scans' fork server: one per process, a child per file, started again after it died,
gone with its parent; its children keep the limits of the child processes they replaced."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfWriter

from validators.scan import ScanLimits, _Forks, inspect_scan


def _pdf(tmp_path: Path, name: str = "scan.pdf") -> Path:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    out = io.BytesIO()
    writer.write(out)
    path = tmp_path / name
    path.write_bytes(out.getvalue())
    return path


@pytest.fixture
def forks(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Forks]:
    """A fork server of the test's own, so that its start and death are the test's."""
    own = _Forks()
    monkeypatch.setattr("validators.scan._forks", lambda: own)
    yield own
    own.close()


def test_many_scans_at_once_share_one_server_and_each_gets_its_verdict(forks: _Forks, tmp_path: Path) -> None:
    good = _pdf(tmp_path)
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.4\n<html><script>alert(1)</script></html>")
    paths = [good, bad] * 20
    with ThreadPoolExecutor(8) as pool:  # as the event loop's worker threads call it
        verdicts = list(pool.map(inspect_scan, paths))
    assert [v.ok for v in verdicts] == [True, False] * 20
    assert all(v.details.get("pages") == 1 for v in verdicts[::2])
    assert all("网页代码" in v.reason for v in verdicts[1::2])
    server = forks._server
    assert server is not None and server.poll() is None
    assert inspect_scan(good).ok and forks._server is server  # still the same server


def test_a_server_that_died_is_started_again(forks: _Forks, tmp_path: Path) -> None:
    good = _pdf(tmp_path)
    assert inspect_scan(good).ok
    first = forks._server
    assert first is not None
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert inspect_scan(good).ok
    assert forks._server is not None and forks._server is not first


def test_a_child_over_its_memory_cap_is_refused_and_the_server_lives_on(
    forks: _Forks, tmp_path: Path
) -> None:
    # A PNG that decodes to 20000×20000 (400 MB) under a 200 MiB address space: the child fails,
    # the server, which never parses anything itself, stays up for the next file.
    big = tmp_path / "big.png"
    Image.new("1", (20000, 20000)).save(big)
    verdict = inspect_scan(big, ScanLimits(memory_mib=200, max_pixels=500_000_000))
    assert not verdict.ok and verdict.problem == "broken"
    assert forks._server is not None and forks._server.poll() is None
    assert inspect_scan(_pdf(tmp_path)).ok


def test_the_server_ends_with_the_process_that_started_it(tmp_path: Path) -> None:
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from validators.scan import _forks, inspect_scan
        assert inspect_scan(Path({str(_pdf(tmp_path))!r})).ok
        print(_forks()._server.pid, flush=True)
        _forks()._control.detach()  # as if the process were killed: no orderly close
    """)
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=60, check=True
    )
    server = int(done.stdout.strip())
    for _ in range(100):  # it sees its control socket close, then exits
        try:
            os.kill(server, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(server, signal.SIGKILL)
    raise AssertionError("the scan server outlived its parent")
