"""The pages in a real browser: Debian's headless Chromium driven by playwright.

Only the browser is borrowed from the system (``/usr/bin/chromium``, apt packages ``chromium``
and ``fonts-noto-cjk``); playwright's own browser download is never used.  Screenshots go to
``/tmp`` for a human to look at, never into the repository.
"""

from __future__ import annotations

import asyncio
import errno
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, unused_port

from bot.settings import Settings
from bot.web import upload as upload_module
from bot.web import upload_disk
from contests.records import UserKey
from tests.conftest import valid_answer
from tests.media_factory import MediaFactory, Video
from tests.test_upload import Env, RecordingNotifier, build_app, to_video_step, upload_link, write_contest

playwright_api = pytest.importorskip("playwright.async_api")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
TIMEOUT_MS = 20_000
pytestmark = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None, reason="needs Debian's chromium (apt-get install chromium fonts-noto-cjk)"
)


@pytest.fixture(scope="module")
def video_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    made = MediaFactory(tmp_path_factory.mktemp("browser-media")).video(Video(seconds=4, bitrate="3M"))
    path = made.with_name("我的作品.mp4")  # the name the entrant's file has
    shutil.copyfile(made, path)
    return path


@dataclass
class ChunkGate:
    """Stands between the browser and the chunk handler, as a bad network or server would: holds
    one chunk until the test has reloaded the page, cuts one connection half-way through its
    body (Chromium itself retries that PUT), and fails one chunk with a 503 half-way."""

    hold_at: int | None = None
    drop_at: int | None = None
    fail_at: int | None = None
    ranges: list[str] = field(default_factory=list)
    held: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    dropped: asyncio.Event = field(default_factory=asyncio.Event)

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.method != "PUT" or not request.path.endswith("/chunk"):
            return await handler(request)
        n = len(self.ranges)
        self.ranges.append(request.headers.get("Content-Range", ""))
        if n == self.hold_at:
            self.held.set()
            await self.release.wait()  # the page is reloaded meanwhile: nobody hears the answer
            raise web.HTTPServiceUnavailable()
        if n == self.drop_at:
            await request.content.readexactly((request.content_length or 2) // 2)
            assert request.transport is not None
            request.transport.close()  # the browser sees a network error
            self.dropped.set()
            raise web.HTTPServiceUnavailable()
        if n == self.fail_at:
            await request.content.readexactly((request.content_length or 2) // 2)
            return web.json_response({"error": "unavailable", "message": "维护中"}, status=503)
        return await handler(request)

    def starts(self) -> list[int]:
        return [int(re.match(r"bytes (\d+)-", r).group(1)) for r in self.ranges]  # type: ignore[union-attr]


@dataclass
class Browser:
    env: Env
    base: str
    context: Any  # playwright BrowserContext


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Callable[[ChunkGate], Awaitable[Browser]]]:
    """A factory: the app on a real loopback port (so that minted links are right) behind
    ``gate``, and a fresh Chromium context."""
    port = unused_port()
    contest = write_contest(tmp_path / "contests")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=tmp_path / "data", contests_dir=tmp_path / "contests", http_port=port
    )
    stack: list[Any] = []

    async def make(gate: ChunkGate) -> Browser:
        notifier = RecordingNotifier()
        app = build_app(settings, notifier, chunk_kib=128)
        app.middlewares.append(gate.middleware)
        client = TestClient(TestServer(app, host="127.0.0.1", port=port))
        await client.start_server()
        stack.append(client)
        pw = await playwright_api.async_playwright().start()
        stack.append(pw)
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=TIMEOUT_MS)
        stack.append(chromium)
        context = await chromium.new_context(locale="zh-CN", viewport={"width": 1000, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        return Browser(
            Env(client, settings, notifier, contest, tmp_path), f"http://127.0.0.1:{port}", context
        )

    yield make
    for thing in reversed(stack):
        if isinstance(thing, TestClient):
            await thing.close()
        elif hasattr(thing, "stop"):
            await thing.stop()
        else:
            await thing.close()


async def test_the_web_chat_takes_an_entrant_through_upload_to_submission(
    browser: Callable[[ChunkGate], Awaitable[Browser]], video_file: Path
) -> None:
    b = await browser(ChunkGate())
    expect = playwright_api.expect
    page = await b.context.new_page()
    await page.goto(f"{b.base}/chat")
    last_bot = page.locator(".msg.bot").last
    await expect(last_bot).to_contain_text("请选择参赛渠道", timeout=TIMEOUT_MS)
    # The question says 回复序号或名称: its buttons show the numbers (the second route is 自荐).
    await page.get_by_role("button", name="2. 社会征集（自荐）", exact=True).click()
    await expect(page.locator(".msg.me").last).to_have_text("社会征集（自荐）")

    form = b.env.contest.form(b.env.contest.channel("self").forms["work"])
    for fld in form.fields:
        await expect(last_bot).to_contain_text(f"「{fld.label}」", timeout=TIMEOUT_MS)
        await page.fill("#text", valid_answer(fld, b.env.contest))
        await page.press("#text", "Enter")
    await expect(last_bot).to_contain_text("请提交参赛视频", timeout=TIMEOUT_MS)
    # The buttons of answered questions are retired.
    assert await page.get_by_role("button", name="社会征集（自荐）").is_disabled()
    await page.fill("#text", "上传")
    await page.press("#text", "Enter")
    link = page.locator("a.upload-link").last
    await expect(link).to_have_text("打开上传页面", timeout=TIMEOUT_MS)
    href = await link.get_attribute("href")
    assert href and href.startswith(f"{b.base}/upload/")
    await page.screenshot(path="/tmp/kepu-webchat.png", full_page=True)

    async with b.context.expect_page() as opened:
        await link.click()
    upload = await opened.value
    await upload.set_input_files("#file", str(video_file))
    await upload.click("#go")
    await expect(upload.locator("#verdict-title")).to_have_text("✓ 视频检查通过", timeout=TIMEOUT_MS)
    await expect(upload.locator("#percent")).to_have_text("100%")
    await expect(upload.locator("#verdict-next")).to_contain_text("已同时发送到您的聊天窗口")

    # The chat page got the report by its long poll and asks for confirmation.
    await expect(page.locator(".msg.bot", has_text="视频检查通过")).to_have_count(1, timeout=TIMEOUT_MS)
    await expect(last_bot).to_contain_text("请核对报名信息", timeout=TIMEOUT_MS)
    await page.get_by_role("button", name="确认提交").click()
    await expect(page.locator(".msg.bot", has_text="提交成功！报名编号")).to_have_count(1, timeout=TIMEOUT_MS)
    await expect(last_bot).to_contain_text("请打印")  # now the signed scan is asked for
    # The filled-in form arrives as a download link; the browser gets the PDF.
    link = page.locator("a.doc-link", has_text=".pdf")
    await expect(link).to_have_count(1, timeout=TIMEOUT_MS)  # drawn after the reply: slower under load
    async with page.expect_download() as download_info:
        await link.click()
    download = await download_info.value
    assert download.suggested_filename.endswith(".pdf") and "KP" in download.suggested_filename
    # The drawn form sent straight back is no signed scan: refused.
    drawn = b.env.root / "原表.pdf"
    await download.save_as(drawn)
    await page.set_input_files("#file", str(drawn))
    await expect(last_bot).to_contain_text("这是助手生成的原表，还没有签字盖章", timeout=TIMEOUT_MS)
    # The signed scan goes back through the page's 附件 button (here the form as a scanner's PDF
    # would carry it), then 完成 gives the signed receipt.
    scan = b.env.root / "签字盖章.pdf"
    scan.write_bytes(scanned(drawn.read_bytes()))
    await page.set_input_files("#file", str(scan))
    await expect(page.locator(".msg.me", has_text="签字盖章.pdf")).to_have_count(1, timeout=TIMEOUT_MS)
    await expect(last_bot).to_contain_text("已收到第1个扫描件", timeout=TIMEOUT_MS)
    await page.fill("#text", "完成")
    await page.press("#text", "Enter")
    await expect(page.locator(".msg.bot", has_text="【投稿回执】")).to_have_count(1, timeout=TIMEOUT_MS)
    await page.screenshot(path="/tmp/kepu-webchat-done.png", full_page=True)
    [sub] = await b.env.svc.storage.list_submissions()
    assert sub.user.channel == "web" and sub.video["checked"] is True
    assert sub.status == "complete" and len(sub.extra["scans"]) == 1


async def test_the_web_chat_loses_nothing_to_a_failed_send_or_a_report_pushed_later(
    browser: Callable[[ChunkGate], Awaitable[Browser]],
) -> None:
    """A message that never reached the dialog leaves its text in the box and the question's
    buttons live; a report pushed later without buttons of its own leaves them live too."""
    b = await browser(ChunkGate())
    expect = playwright_api.expect
    page = await b.context.new_page()
    pushed = {"done": False}

    async def one_report(route: Any) -> None:  # the long poll brings one report, then waits as usual
        if pushed["done"]:
            await route.continue_()
            return
        pushed["done"] = True
        await route.fulfill(json={"replies": [{"text": "【内容检查】后台推送的报告"}]})

    await page.route("**/chat/api/poll*", one_report)
    await page.goto(f"{b.base}/chat")
    await expect(page.locator(".msg.bot", has_text="后台推送的报告")).to_have_count(1, timeout=TIMEOUT_MS)
    await expect(page.locator(".msg.bot", has_text="请选择参赛渠道")).to_have_count(1, timeout=TIMEOUT_MS)
    channel = page.get_by_role("button", name="社会征集（自荐）")
    await expect(channel).to_be_enabled()

    await page.route("**/chat/api/send", lambda route: route.abort())
    await page.fill("#text", "社会征集")
    await page.press("#text", "Enter")
    await expect(page.locator(".msg.error", has_text="网络错误")).to_have_count(1, timeout=TIMEOUT_MS)
    await expect(page.locator("#text")).to_have_value("社会征集")
    await expect(channel).to_be_enabled()

    await page.unroute("**/chat/api/send")
    await channel.click()
    await expect(page.locator(".msg.bot").last).to_contain_text("「", timeout=TIMEOUT_MS)  # the first field


async def test_the_upload_page_resumes_after_a_reload_and_a_dropped_chunk(
    browser: Callable[[ChunkGate], Awaitable[Browser]], video_file: Path
) -> None:
    size = (await asyncio.to_thread(video_file.stat)).st_size
    chunk = 128 * 1024
    assert size > 10 * chunk
    gate = ChunkGate(hold_at=4, drop_at=7, fail_at=10)
    b = await browser(gate)
    expect = playwright_api.expect
    alice = UserKey("test", "alice")
    await to_video_step(b.env, alice)
    path = await upload_link(b.env, alice)
    page = await b.context.new_page()
    # Every line the status shows, however briefly, on every load of the page.
    await page.add_init_script(
        "window.statusLog = [];"
        "addEventListener('DOMContentLoaded', () => new MutationObserver(() =>"
        " statusLog.push(document.getElementById('status').textContent))"
        ".observe(document.getElementById('status'), {childList: true, characterData: true, subtree: true}));"
    )
    await page.goto(b.base + path)
    await expect(page.locator("h1")).to_have_text("上传参赛视频")
    await page.set_input_files("#file", str(video_file))
    await page.click("#go")

    # Four chunks in, the fifth is held: the entrant closes the tab (here: reloads it).
    async with asyncio.timeout(TIMEOUT_MS / 1000):
        await gate.held.wait()
    # Four chunks are acknowledged; the bar also counts what XHR has sent of the held fifth,
    # which a busy machine may have pushed into the socket already.
    shown = "|".join(str(p) for p in range(4 * chunk * 100 // size, 5 * chunk * 100 // size + 1))
    await expect(page.locator("#percent")).to_have_text(re.compile(rf"^({shown})%$"))
    await page.reload()
    gate.release.set()
    resume = page.locator("#resume")
    await expect(resume).to_contain_text("请重新选择同一个文件", timeout=TIMEOUT_MS)
    await expect(resume).to_contain_text(f"已完成 {4 * chunk * 100 // size}%")  # 4 chunks were kept
    await page.set_input_files("#file", str(video_file))
    await page.click("#go")

    # Later one connection drops half-way through a chunk, and the server fails another chunk:
    # the page carries on from the server's offset.
    await expect(page.locator("#verdict-title")).to_have_text("✓ 视频检查通过", timeout=TIMEOUT_MS)
    assert gate.dropped.is_set()
    said = await page.evaluate("statusLog")
    assert any(line.startswith("从断点继续：已上传 ") for line in said), said
    assert any("网络中断" in line and "自动从断点继续" in line for line in said), said
    assert await page.eval_on_selector("#progress", "el => el.value") == 100
    await expect(page.locator("#percent")).to_have_text("100%")
    await expect(page.locator("#verdict-text")).to_contain_text("✓ 分辨率 1920×1080")
    await page.screenshot(path="/tmp/kepu-upload.png", full_page=True)

    starts = gate.starts()
    assert starts[:4] == [0, chunk, 2 * chunk, 3 * chunk]
    # After the reload the page went on from the server's offset, not from 0, and the
    # dropped chunk was sent again from where the server stood.
    assert starts[5] == 4 * chunk and 0 not in starts[5:]
    assert starts[7] == starts[8] == 6 * chunk  # Chromium's own retry of the dropped PUT
    assert starts[10] == starts[11] == 8 * chunk  # the page's retry of the failed chunk
    assert len(starts) == -(-size // chunk) + 3  # every chunk once, the held one, two retries
    [(user, replies)] = b.env.notifier.pushes
    assert user == alice and replies[0].meta["media_ok"] == "True"

    # The link is spent: opening it again shows the verdict, not the form.
    again = await b.context.new_page()
    response = await again.goto(b.base + path)
    assert response is not None and response.status == 410
    await expect(again.locator("h1")).to_have_text("链接已使用")
    await expect(again.locator("pre")).to_contain_text("视频检查通过")


async def test_the_upload_page_shows_the_full_disk_message_and_resumes_later(
    browser: Callable[[ChunkGate], Awaitable[Browser]], video_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chunk = 128 * 1024
    gate = ChunkGate()  # only records the chunks
    b = await browser(gate)
    expect = playwright_api.expect
    alice = UserKey("test", "alice")
    await to_video_step(b.env, alice)
    path = await upload_link(b.env, alice)
    # The disk fills up while the third chunk is written: the writer thread gets ENOSPC.
    real_write_all = upload_disk.write_all

    def write_all(fd: int, pieces: list[bytes]) -> None:
        if len(gate.ranges) > 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write_all(fd, pieces)

    monkeypatch.setattr(upload_disk, "write_all", write_all)
    page = await b.context.new_page()
    await page.goto(b.base + path)
    await page.set_input_files("#file", str(video_file))
    await page.click("#go")
    status = page.locator("#status")
    await expect(status).to_have_text(upload_module.DISK_FULL, timeout=TIMEOUT_MS)
    await expect(status).to_have_class("error")
    await expect(page.locator("#go")).to_be_enabled()  # no retry loop: the entrant decides
    assert gate.starts() == [0, chunk, 2 * chunk]

    # Room again: the same file carries on from the two chunks the server kept.
    monkeypatch.setattr(upload_disk, "write_all", real_write_all)
    await page.click("#go")
    await expect(page.locator("#verdict-title")).to_have_text("✓ 视频检查通过", timeout=TIMEOUT_MS)
    assert gate.starts()[3] == 2 * chunk


def scanned(pdf: bytes) -> bytes:
    """``pdf`` as a scanner would send it back: the same pages, the scanner's producer."""
    import io

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.add_metadata({"/Producer": "Canon iR-ADV C5535 scan"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
