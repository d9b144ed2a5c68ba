"""Issue 18's "how it runs", end to end on the real app: an entrant sends a video in the chat, the
container verdict answers at once and the content report follows in the chat; it is kept with
the draft, carried into the submission, shown on the console's page and in the export.  A
second entrant sends the same work re-encoded at another bit rate: told (most-cas forbids
重复推荐), and both works are flagged to the organisers with each other's number."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.keys import SERVICES
from bot.services import Services, services
from bot.settings import Settings
from bot.web.upload_links import UploadSettings
from contests.events import EventKind, FileInfo, Incoming
from contests.org import Role
from contests.records import UserKey
from tests.conftest import valid_answer
from tests.media_factory import MediaFactory, Video
from tests.test_console import bind, link_for
from tests.test_console_desk import Inbox
from tests.test_upload import CONTEST_ID, write_contest

FIRST, SECOND = UserKey("terminal", "first"), UserKey("terminal", "second")
ORGANISER = UserKey("terminal", "organiser")


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    write_contest(tmp_path / "contests")
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", contests_dir=tmp_path / "contests")  # type: ignore[call-arg]
    upload = UploadSettings(_env_file=None, secret="content-flow-secret-0123456789abcdef0123")  # type: ignore[call-arg]
    async with TestClient(TestServer(create_app(settings, channels=[], upload_settings=upload))) as client:
        yield client


def svc_of(client: TestClient[web.Request, web.Application]) -> Services:
    return client.app[SERVICES]  # type: ignore[index]


async def say(svc: Services, user: UserKey, text: str) -> str:
    return "\n".join(r.text for r in await svc.assistant.handle(Incoming(user, EventKind.TEXT, text=text)))


async def enter(
    svc: Services, user: UserKey, video: Path, by_role: dict[str, str] | None = None
) -> tuple[str, str]:
    """Fill in the form (``by_role``: answers of the fields with that role), send ``video`` as a
    chat file, confirm: (the video's reply, the number)."""
    contest = svc.contests.get(CONTEST_ID)
    assert contest is not None
    await say(svc, user, "开始")
    await say(svc, user, "自荐")
    for field in contest.form(contest.channel("self").forms["work"]).fields:
        await say(svc, user, (by_role or {}).get(field.role or "", "") or valid_answer(field, contest))
    info = FileInfo("作品.mp4", video.stat().st_size, "video/mp4", f"ref-{user.user_id}", path=str(video))
    verdict = "\n".join(r.text for r in await svc.assistant.handle(Incoming(user, EventKind.FILE, file=info)))
    done = await say(svc, user, "确认提交")
    found = re.search(r"[A-Z]{2}\d{4}-\d{6}", done)
    assert found is not None, done
    return verdict, found.group(0)


def told(inbox: Inbox, user: UserKey) -> str:
    return "\n".join(text for who, text in inbox.sent if who == user)


async def console_page(client: TestClient[web.Request, web.Application], number: str) -> str:
    client.session.cookie_jar.clear()
    path = await link_for(svc_of(client), ORGANISER)
    await client.post(path, allow_redirects=False)
    page = await client.get(f"/console/s/{number}")
    assert page.status == 200
    return await page.text()


async def test_the_content_report_follows_the_verdict_and_a_re_entered_work_is_flagged(
    app: TestClient[web.Request, web.Application], tmp_path: Path
) -> None:
    svc = svc_of(app)
    inbox = Inbox()
    svc.reach.register("terminal", inbox)
    await bind(svc, ORGANISER, CONTEST_ID, Role.ORGANISER)
    media = MediaFactory(tmp_path / "media")
    original = media.video(Video(seconds=6, bitrate="3M"))

    verdict, first = await enter(svc, FIRST, original)
    # The container verdict answers at once and says the content report is on its way.
    assert "正在后台检查" in verdict and "【视频内容检查】" not in verdict
    await svc.content.drain()
    report = told(inbox, FIRST)
    assert "【视频内容检查】" in report and "字幕" in report and "需人工确认" in report
    assert "如需更换视频" in report and "与已有投稿画面相同" not in report
    stored = await svc.storage.get_submission(first)
    assert stored is not None and stored.video["content"]["checked"] is True
    assert {c["id"] for c in stored.video["content"]["checks"]} >= {"subtitles", "title_card", "duplicates"}
    assert await svc.stores.fingerprints.get(CONTEST_ID, first) is not None

    # The same work at another bit rate, by someone else: a different file, the same picture.
    copy = media.video(Video(seconds=6, bitrate="2M"))
    assert copy.read_bytes() != original.read_bytes()
    # Another title and author: the dialog's own claims (one work per first author) let it through.
    _, second = await enter(svc, SECOND, copy, {"title": "海洋之歌", "authors": "王五"})
    assert second != first
    await svc.content.drain()
    warned = told(inbox, SECOND)
    assert "✗ 与已有投稿画面相同：本届的另一件投稿" in warned and "重复推荐" in warned
    assert first not in warned  # the other entrant's work is not named to them

    page = await console_page(app, second)
    assert "疑似重复" in page and first in page and "内容检查" in page
    earlier = await console_page(app, first)
    assert "疑似重复" in earlier and second in earlier  # the first entry of the work is flagged too

    export, _ = await svc.admin.export_counted(CONTEST_ID, "csv")
    rows = list(csv.DictReader(io.StringIO(export.read().decode("utf-8-sig"))))
    cells = {r["报名编号"]: r["视频内容检查"] for r in rows}
    assert cells[second].startswith("不符合") and "与已有投稿画面相同" in cells[second]
    assert cells[first].startswith("不符合") and "字幕" in cells[first]


async def test_a_failed_content_check_is_recalled_at_review_and_submit_and_shown_in_the_list(
    app: TestClient[web.Request, web.Application], tmp_path: Path
) -> None:
    """Tried: 确认提交 went through with no word of the failed content check, and the console's
    list read 视频通过 while the work's page flagged it."""
    svc = svc_of(app)
    inbox = Inbox()
    svc.reach.register("terminal", inbox)
    await bind(svc, ORGANISER, CONTEST_ID, Role.ORGANISER)
    media = MediaFactory(tmp_path / "media")
    await enter(svc, FIRST, media.video(Video(seconds=6, bitrate="3M")))
    await svc.content.drain()
    contest = svc.contests.get(CONTEST_ID)
    assert contest is not None
    await say(svc, SECOND, "开始")
    await say(svc, SECOND, "自荐")
    answers = {"title": "海洋之歌", "authors": "王五"}  # another work, as the dialog sees it
    for field in contest.form(contest.channel("self").forms["work"]).fields:
        await say(svc, SECOND, answers.get(field.role or "", "") or valid_answer(field, contest))
    copy = media.video(Video(seconds=6, bitrate="2M"))  # the same picture: most-cas's 重复推荐
    info = FileInfo("作品.mp4", copy.stat().st_size, "video/mp4", "ref-second", path=str(copy))
    await svc.assistant.handle(Incoming(SECOND, EventKind.FILE, file=info))
    await svc.content.drain()
    assert "❌ 视频内容有 1 项不符合" in told(inbox, SECOND)

    page = await say(svc, SECOND, "核对")
    assert "请核对报名信息" in page
    assert "⚠ 视频内容检查有 1 项不符合通知要求（与已有作品画面相同" in page
    done = await say(svc, SECOND, "确认提交")
    assert "提交成功" in done and "提醒：视频内容检查有 1 项不符合通知要求（与已有作品画面相同）" in done
    assert "KP" not in done.split("提醒：", 1)[1]  # the other entrant's number is not told

    client = app
    client.session.cookie_jar.clear()
    await client.post(await link_for(svc, ORGANISER), allow_redirects=False)
    listing = await (await client.get("/console/")).text()
    assert "视频通过<br>内容不符合：与已有作品画面相同" in listing


async def test_a_direct_link_is_downloaded_for_the_content_checks(tmp_path: Path) -> None:
    clip = MediaFactory(tmp_path / "media").video(Video(seconds=6, bitrate="3M"))

    async def serve(request: web.Request) -> web.FileResponse:
        return web.FileResponse(clip)

    served = web.Application()
    served.router.add_get("/v.mp4", serve)
    write_contest(tmp_path / "contests")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=tmp_path / "data",
        contests_dir=tmp_path / "contests",
        links_allow_private=True,  # the server below is on loopback
    )
    async with TestServer(served, host="127.0.0.1") as server, services(settings) as svc:
        inbox = Inbox()
        svc.reach.register("terminal", inbox)
        contest = svc.contests.get(CONTEST_ID)
        assert contest is not None
        await say(svc, FIRST, "开始")
        await say(svc, FIRST, "自荐")
        for field in contest.form(contest.channel("self").forms["work"]).fields:
            await say(svc, FIRST, valid_answer(field, contest))
        verdict = await say(svc, FIRST, str(server.make_url("/v.mp4")))
        assert "视频检查通过" in verdict and "正在后台检查" in verdict
        await svc.content.drain()
        report = told(inbox, FIRST)
        assert "【视频内容检查】" in report and "没有完成" not in report and "字幕" in report
        draft = await svc.storage.get_draft(FIRST)
        assert draft is not None and draft.data["video"]["kind"] == "link"
        assert draft.data["video"]["content"]["seconds_decoded"] == 6
        # The fetched copy is gone once checked: only the link is kept.
        assert not any((tmp_path / "data" / "fetched").iterdir())


async def test_an_answer_after_the_content_report_is_kept_not_dropped(
    app: TestClient[web.Request, web.Application], tmp_path: Path
) -> None:
    """Trial 9 (hlj, terminal): the content report came while a field opened from the review page
    was asked; the next answer was "抱歉，系统刚才出了点问题" (the report's write of the draft made the
    answer's cached draft stale, and it was dropped)."""
    svc = svc_of(app)
    svc.reach.register("terminal", Inbox())
    contest = svc.contests.get(CONTEST_ID)
    assert contest is not None
    media = MediaFactory(tmp_path / "media")
    video = media.video(Video(seconds=6, bitrate="3M"))
    await say(svc, FIRST, "开始")
    await say(svc, FIRST, "自荐")
    fields = contest.form(contest.channel("self").forms["work"]).fields
    for field in fields:
        await say(svc, FIRST, valid_answer(field, contest))
    info = FileInfo("作品.mp4", video.stat().st_size, "video/mp4", "ref-first", path=str(video))
    await svc.assistant.handle(Incoming(FIRST, EventKind.FILE, file=info))
    title = next(i for i, f in enumerate(fields, 1) if f.role == "title")
    assert "「" in await say(svc, FIRST, f"修改 {title}")
    await svc.content.drain()  # the report is kept with the draft meanwhile
    reply = await say(svc, FIRST, "新的作品名称")
    assert "出了点问题" not in reply and "请核对报名信息" in reply
    draft = await svc.storage.get_draft(FIRST)
    assert draft is not None and draft.data["answers"][fields[title - 1].id] == "新的作品名称"
    assert draft.data["video"]["content"]["checked"] is True  # the report is still there
