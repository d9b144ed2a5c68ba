"""The returned signed scan, judged and kept in one worker-thread call (``handlers.submit.take_scan``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from handlers.submit import take_scan

JPEG = b"\xff\xd8\xff\xe0" + bytes(1000)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(1000)
PDF = b"%PDF-1.7\n" + bytes(1000)


@pytest.mark.parametrize(("content", "kind"), [(JPEG, "jpg"), (PNG, "png"), (PDF, "pdf")])
def test_a_scan_is_judged_by_content_and_kept_under_the_submission(
    tmp_path: Path, content: bytes, kind: str
) -> None:
    received = tmp_path / "incoming" / "upload.bin"  # the client's name and type are not trusted
    received.parent.mkdir()
    received.write_bytes(content)
    folder = tmp_path / "scans" / "KP2026-000001"
    size, got, kept = take_scan(received, 20 * 1024 * 1024, folder, 2)
    assert (size, got) == (len(content), kind)
    assert kept == folder / f"scan-2.{kind}"
    assert kept.read_bytes() == content
    received.unlink()  # the channel removes its temp copy; the kept one stays
    assert kept.read_bytes() == content


def test_a_scan_over_the_limit_is_refused_without_being_read_or_kept(tmp_path: Path) -> None:
    received = tmp_path / "big.pdf"
    with received.open("wb") as fh:  # sparse: 21 MiB that a read would notice
        fh.truncate(21 * 1024 * 1024)
    folder = tmp_path / "scans"
    size, kind, kept = take_scan(received, 20 * 1024 * 1024, folder, 1)
    assert (size, kind, kept) == (21 * 1024 * 1024, None, received)
    assert not folder.exists()


@pytest.mark.parametrize(
    "content",
    [b"", b"MZ\x90\x00" + bytes(100), b"<html><script>alert(1)</script>", b"GIF89a" + bytes(10)],
    ids=["empty", "exe", "html", "gif"],
)
def test_anything_but_jpg_png_pdf_is_refused_and_not_kept(tmp_path: Path, content: bytes) -> None:
    received = tmp_path / "scan.pdf"  # a PDF by name only
    received.write_bytes(content)
    folder = tmp_path / "scans"
    assert take_scan(received, 20 * 1024 * 1024, folder, 1) == (len(content), None, received)
    assert not folder.exists()


def test_without_a_scan_folder_the_file_stays_where_it_is(tmp_path: Path) -> None:
    received = tmp_path / "scan"
    received.write_bytes(PNG)
    assert take_scan(received, 1024 * 1024, None, 1) == (len(PNG), "png", received)
