"""The content checks' queue (attack review M2): one check per entrant and video, a new video
cancelling the check of the one it replaced, and a bounded queue beyond which a video is not
checked, the entrant told politely and nothing of the entry lost."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.services import Services, services
from bot.settings import Settings
from contests.events import EventKind, FileInfo, Incoming
from contests.records import Submission, UserKey
from contests.registry import load_contest, preset_dir
from contests.rules import Contest
from handlers.console.views import content_lines, video_lines
from handlers.content import NOT_QUEUED
from tests.conftest import valid_answer
from tests.media_factory import MediaFactory, Video
from tests.test_console_desk import Inbox
from tests.test_upload import CONTEST_ID, write_contest
from validators.content import ContentReport
from validators.content_rules import ContentItem, Readings, title_card

FIRST, SECOND, THIRD = UserKey("terminal", "q1"), UserKey("terminal", "q2"), UserKey("terminal", "q3")


class Held:
    """A content check that waits until it is let go: what it started, what was cancelled."""

    def __init__(self) -> None:
        self.go = asyncio.Event()
        self.started: list[str] = []
        self.cancelled: list[str] = []

    async def __call__(self, path: Path, contest: Contest, title: str) -> ContentReport:
        self.started.append(path.name)
        try:
            await self.go.wait()
        except asyncio.CancelledError:
            self.cancelled.append(path.name)
            raise
        return ContentReport(True, ())


@pytest.fixture
async def svc(tmp_path: Path) -> AsyncIterator[Services]:
    write_contest(tmp_path / "contests")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=tmp_path / "data", contests_dir=tmp_path / "contests", content_queue=2
    )
    async with services(settings) as built:
        yield built


def video(folder: Path, name: str) -> dict[str, object]:
    """A video record the container check passed, its file kept."""
    path = folder / name
    path.write_bytes(b"not decoded: the check is a fake")
    return {"kind": "file", "checked": True, "verdict": "passed", "stored": str(path), "sha256": name * 8}


async def until(done: Callable[[], bool]) -> None:
    """Wait (a few seconds at most) for the background tasks to get somewhere."""
    async with asyncio.timeout(10):
        while not done():  # noqa: ASYNC110  the tasks are the service's: nothing to wait on
            await asyncio.sleep(0.01)


async def test_one_check_per_video_and_a_new_video_cancels_the_check_of_the_old(
    svc: Services, tmp_path: Path
) -> None:
    held = Held()
    svc.content.check = held
    a, b = video(tmp_path, "a"), video(tmp_path, "b")
    assert svc.content.start(FIRST, CONTEST_ID, a, "") == "queued"
    await until(lambda: held.started == ["a"])
    assert svc.content.start(FIRST, CONTEST_ID, dict(a), "") == "queued"  # the same video again
    assert svc.content.queued() == 1 and held.started == ["a"]
    assert svc.content.start(FIRST, CONTEST_ID, b, "") == "queued"  # a new video replaces it
    assert svc.content.queued() == 1
    await until(lambda: held.started == ["a", "b"])
    assert held.cancelled == ["a"]
    held.go.set()
    await svc.content.drain()
    assert held.started == ["a", "b"] and svc.content.queued() == 0


async def test_a_submitted_videos_check_is_not_cancelled_by_the_next_video(
    svc: Services, tmp_path: Path
) -> None:
    held = Held()
    svc.content.check = held
    a, b = video(tmp_path, "a"), video(tmp_path, "b")
    assert svc.content.start(FIRST, CONTEST_ID, a, "") == "queued"
    sub = Submission("KP0000-000001", CONTEST_ID, FIRST, "self", "work", {}, a, dt.datetime.now(dt.UTC))
    await svc.content.submitted(sub)  # confirmed while its check waits
    assert svc.content.start(FIRST, CONTEST_ID, b, "") == "queued"
    await until(lambda: len(held.started) == 1)
    assert svc.content.queued() == 2 and held.cancelled == []
    held.go.set()
    await svc.content.drain()
    assert sorted(held.started) == ["a", "b"] and held.cancelled == []


async def test_beyond_the_queue_a_video_is_not_queued_and_closing_cancels_the_rest(
    svc: Services, tmp_path: Path
) -> None:
    held = Held()
    svc.content.check = held
    assert svc.content.start(FIRST, CONTEST_ID, video(tmp_path, "a"), "") == "queued"
    assert svc.content.start(SECOND, CONTEST_ID, video(tmp_path, "b"), "") == "queued"
    assert svc.content.start(THIRD, CONTEST_ID, video(tmp_path, "c"), "") == "busy"
    assert svc.content.queued() == 2
    await until(lambda: held.started == ["a"])
    await svc.content.aclose()
    assert held.started == ["a"] and held.cancelled == ["a"]  # b waited for the one slot
    assert svc.content.queued() == 0
    assert svc.content.start(THIRD, CONTEST_ID, video(tmp_path, "d"), "") == ""  # closed


async def say(svc: Services, user: UserKey, text: str) -> str:
    return "\n".join(r.text for r in await svc.assistant.handle(Incoming(user, EventKind.TEXT, text=text)))


async def send_video(svc: Services, user: UserKey, clip: Path) -> str:
    """Fill in the form and send ``clip`` as a chat file: the verdict's reply."""
    contest = svc.contests.get(CONTEST_ID)
    assert contest is not None
    await say(svc, user, "开始")
    await say(svc, user, "自荐")
    for field in contest.form(contest.channel("self").forms["work"]).fields:
        await say(svc, user, valid_answer(field, contest))
    info = FileInfo("作品.mp4", clip.stat().st_size, "video/mp4", f"ref-{user.user_id}", path=str(clip))
    return "\n".join(r.text for r in await svc.assistant.handle(Incoming(user, EventKind.FILE, file=info)))


async def test_an_entrant_beyond_the_queue_is_told_and_the_report_says_so_for_the_organisers(
    svc: Services, tmp_path: Path
) -> None:
    held = Held()
    svc.content.check = held
    inbox = Inbox()
    svc.reach.register("terminal", inbox)
    clip = MediaFactory(tmp_path / "media").video(Video(seconds=4, bitrate="1M"))
    for user in (FIRST, SECOND):
        assert "正在后台检查" in await send_video(svc, user, clip)
    told = await send_video(svc, THIRD, clip)
    assert "视频检查通过" in told and "正在后台检查" not in told
    assert "没能排上自动检查" in told and "组委会将人工查看" in told
    done = await say(svc, THIRD, "确认提交")  # nothing else of the entry is lost
    number = re.search(r"[A-Z]{2}\d{4}-\d{6}", done)
    assert number is not None, done
    held.go.set()
    await svc.content.drain()
    sub = await svc.storage.get_submission(number.group(0))
    assert sub is not None and sub.video["content"]["checked"] is False
    assert sub.video["content"]["failure"] == NOT_QUEUED
    assert ContentReport.from_dict(sub.video["content"]).summary_zh() == f"未完成：{NOT_QUEUED}"
    # Told once, at the verdict; the first entrants get their reports.
    assert not any(who == THIRD for who, _ in inbox.sent)
    assert sum("【视频内容检查】" in text for who, text in inbox.sent if who in (FIRST, SECOND)) == 2


async def test_the_report_names_the_entrants_own_form(svc: Services, tmp_path: Path) -> None:
    # Trial round: a 自荐 entrant's content report quoted most-cas's "视频片头名称应与推荐表一致";
    # the entrant fills the 自荐表.
    contest_rules = contest_of(svc)
    clause = contest_rules.video.content.title_card.clause if contest_rules.video else ""
    assert clause and "推荐表" in clause

    async def check(path: Path, contest: Contest, title: str) -> ContentReport:
        items = (
            ContentItem("title_card", "warning", f"片头没有找到作品名称「{title}」", clause),
            ContentItem("manual_0", "manual", f"{clause}（机器无法可靠判断）", clause),
        )
        return ContentReport(True, items)

    svc.content.check = check
    inbox = Inbox()
    svc.reach.register("terminal", inbox)
    clip = MediaFactory(tmp_path / "media").video(Video(seconds=4, bitrate="1M"))
    assert "正在后台检查" in await send_video(svc, FIRST, clip)
    await svc.content.drain()
    report = "\n".join(text for who, text in inbox.sent if who == FIRST)
    assert "【视频内容检查】" in report and "（通知：视频片头名称应与自荐表一致）" in report, report
    assert "需人工确认 视频片头名称应与自荐表一致" in report and "推荐表" not in report
    # The stored report keeps the notice's words, for the organisers.
    draft = await svc.storage.get_draft(FIRST)
    assert draft is not None
    stored = draft.data["video"]["content"]
    assert {c["clause"] for c in stored["checks"] if c["id"] != "duplicates"} == {clause}
    # The 推荐 route's form is the 推荐表 the notice names.
    recommend = contest_rules.form(contest_rules.channel("recommend").forms["work"])
    assert recommend.own_words(clause) == clause


def contest_of(svc: Services) -> Contest:
    found = svc.contests.get(CONTEST_ID)
    assert found is not None
    return found


def test_console_names_the_works_own_form_in_the_clauses() -> None:
    """The console's content lines say the notice's clause in the words of the work's form, as
    its entrant was told: most-cas's "片头名称应与推荐表一致" is a 自荐 work's 自荐表."""
    contest = load_contest(preset_dir() / "most-cas-2024-kepu.yaml")
    clause = contest.video.content.title_card.clause if contest.video and contest.video.content else ""
    assert clause and "推荐表" in clause
    items = (ContentItem("title_card", "warning", "片头没有找到作品名称「宇宙」", clause),)
    video = {"kind": "file", "name": "v.mp4", "content": ContentReport(True, items).to_dict()}
    own = contest.form(contest.channel("self").forms["work"])
    said = "\n".join(text for _mark, text in video_lines(video, personal=True, form=own))
    assert "（通知：视频片头名称应与自荐表一致）" in said and "推荐表" not in said, said
    recommend = contest.form(contest.channel("recommend").forms["work"])
    said = "\n".join(text for _mark, text in content_lines(video, recommend))
    assert "（通知：视频片头名称应与推荐表一致）" in said, said


async def test_the_report_names_the_work_as_it_is_now(svc: Services, tmp_path: Path) -> None:
    """Trial round: the entrant renamed the work on the review page while its video was being
    checked, and the report came back headed 《the old title》, its 片头 line judged against the
    old title too; a rename after the report is judged again when the work is submitted."""
    contest = contest_of(svc)
    rule = contest.video.content.title_card if contest.video else None
    assert rule is not None
    go = asyncio.Event()

    async def check(path: Path, contest: Contest, title: str) -> ContentReport:
        await go.wait()
        opening = Readings(None, True, (), ((1, ("海洋之歌",)),), (), (), {})
        return ContentReport(True, (title_card(rule, opening, title),))

    svc.content.check = check
    inbox = Inbox()
    svc.reach.register("terminal", inbox)
    clip = MediaFactory(tmp_path / "media").video(Video(seconds=4, bitrate="1M"))
    assert "正在后台检查" in await send_video(svc, FIRST, clip)
    fields = contest.form(contest.channel("self").forms["work"]).fields
    index = next(i for i, f in enumerate(fields, 1) if f.role == "title")
    old = valid_answer(fields[index - 1], contest)
    await say(svc, FIRST, f"修改 {index}")
    assert "请核对报名信息" in await say(svc, FIRST, "海洋之歌")
    go.set()
    await svc.content.drain()
    report = "\n".join(text for who, text in inbox.sent if who == FIRST)
    assert "【视频内容检查】《海洋之歌》" in report and old not in report, report
    assert "片头名称与作品名称「海洋之歌」一致" in report
    draft = await svc.storage.get_draft(FIRST)
    assert draft is not None
    [item] = [c for c in draft.data["video"]["content"]["checks"] if c["id"] == "title_card"]
    assert item["status"] == "ok" and item["values"]["title"] == "海洋之歌"

    # Renamed once more after the report: the submission keeps the report for its own title.
    await say(svc, FIRST, f"修改 {index}")
    await say(svc, FIRST, "深海之歌")
    done = await say(svc, FIRST, "确认提交")
    number = re.search(r"[A-Z]{2}\d{4}-\d{6}", done)
    assert number is not None, done
    sub = await svc.storage.get_submission(number.group(0))
    assert sub is not None
    shown = "\n".join(text for _mark, text in content_lines(sub.video))
    assert "片头没有找到作品名称「深海之歌」" in shown and "海洋之歌」一致" not in shown, shown
