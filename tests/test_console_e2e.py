"""The whole loop of issue 16 in Debian's Chromium: an entrant submits through the Telegram
fake, naming a unit; the organiser signs in with the link the chat gives, filters the list,
opens the work, plays its video, views its scan and returns it with a reason; the entrant is
told in the chat, fixes the field and resubmits under the same number; the unit's place is
confirmed, the organiser passes the work and downloads the contest's ZIP, which holds what the
notice asks for.  A member of another unit sees the work nowhere, and naming a unit took none
of its places.  Screenshots (desktop and a 390×844 phone) go to ``/tmp/kepu-console-shots``."""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer, unused_port

from bot.app import create_app
from bot.channels.telegram import create
from bot.keys import SERVICES
from bot.services import Services
from bot.settings import Settings
from bot.web.upload_links import UploadSettings
from contests.org import Role, Unit
from contests.records import UserKey
from contests.review import ReviewState, state_of
from tests.conftest import valid_answer
from tests.fakes.telegram_api import FakeTelegram
from tests.media_factory import MediaFactory, Video
from tests.test_telegram import TgUser, signed_pdf, tg_config
from tests.test_upload import CONTEST_ID, write_contest

playwright_api = pytest.importorskip("playwright.async_api")

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]
SHOTS = Path("/tmp/kepu-console-shots")
HEBEI, SHANXI = "河北省科学技术厅", "山西省科学技术厅"
ENTRANT, ORGANISER, OTHER_MEMBER = 7001, 7002, 7003
pytestmark = pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium")


async def bind(svc: Services, user: UserKey, role: Role, unit: str | None = None) -> None:
    invite = await svc.admin.create_invite(CONTEST_ID, role, unit)
    assert (await svc.admin.bind(user, invite.code)).ok  # type: ignore[union-attr]


async def console_link(user: TgUser) -> str:
    text = await user.say("后台")
    found = re.search(r"(https?://\S+/console/login/[A-Za-z0-9_-]+)", text)
    assert found, text
    return found.group(1)


async def submit_through_telegram(user: TgUser, fake: FakeTelegram, video: Path, svc: Services) -> str:
    contest = svc.contests.get(CONTEST_ID)
    assert contest is not None
    assert "请选择参赛渠道" in await user.say("/start")
    text = await user.press_label("地方、部门推荐")
    for fld in contest.form("recommend").fields:
        answer = HEBEI if fld.id == "unit" else "星空下的实验室" if fld.id == "title" else None
        text = await user.say(answer or valid_answer(fld, contest))
    assert "请提交参赛视频" in text
    text = await user.send(fake.document(user.id, fake.add_file(video.read_bytes()), "作品.mp4"))
    assert "请核对报名信息" in text, text
    done = await user.press_label("确认提交")
    found = re.search(r"报名编号：(\S+)", done)
    assert found and f"待“{HEBEI}”确认推荐" in done, done
    number = found.group(1)
    scan = await user.send(fake.document(user.id, fake.add_file(signed_pdf()), "签字盖章.pdf"))
    assert "已收到第1个扫描件" in scan
    assert "材料齐全" in await user.press_label("完成")
    return number


async def shoot(page: Any, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def test_the_whole_review_loop_in_a_real_browser(tmp_path: Path) -> None:
    port = unused_port()
    write_contest(tmp_path / "contests")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=tmp_path / "data",
        contests_dir=tmp_path / "contests",
        http_port=port,
        public_base_url=f"http://127.0.0.1:{port}",
    )
    video = MediaFactory(tmp_path / "media").video(Video(seconds=4, bitrate="3M"))
    fake = FakeTelegram()
    await fake.start()
    channel = create(settings, tg_config(fake))
    assert channel is not None
    upload = UploadSettings(_env_file=None, secret="e2e-console-secret-0123456789abcdef0123")  # type: ignore[call-arg]
    app = create_app(settings, channels=[channel], upload_settings=upload)
    client = TestClient(TestServer(app, host="127.0.0.1", port=port))
    await client.start_server()
    pw = await playwright_api.async_playwright().start()
    chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, timeout=20_000)
    try:
        svc: Services = app[SERVICES]
        run = _Run(client, app, fake)
        await svc.stores.org.put_units(
            CONTEST_ID,
            [Unit(CONTEST_ID, HEBEI, "province", "河北省"), Unit(CONTEST_ID, SHANXI, "province", "山西省")],
        )
        entrant, organiser, other = (TgUser(run, i) for i in (ENTRANT, ORGANISER, OTHER_MEMBER))  # type: ignore[arg-type]
        await bind(svc, organiser.key, Role.ORGANISER)
        await bind(svc, other.key, Role.MEMBER, SHANXI)

        number = await submit_through_telegram(entrant, fake, video, svc)
        # Naming the unit took none of its places: the unit (here, an organiser on its behalf) confirms.
        assert {u.name: u.used for u in await svc.quota.usage(CONTEST_ID)} == {HEBEI: 0, SHANXI: 0}

        # -- the organiser, on a desktop ------------------------------------------------------
        desk = await chromium.new_context(
            locale="zh-CN", viewport={"width": 1280, "height": 900}, accept_downloads=True
        )
        page = await desk.new_page()
        await page.goto(await console_link(organiser))
        await page.get_by_role("button", name="进入后台").click()
        await page.wait_for_url(re.compile(r"/console/"))
        await page.select_option("select[name=state]", ReviewState.AWAITING_UNIT.value)
        await page.get_by_role("button", name="筛选").click()
        await page.wait_for_load_state()
        assert number in await page.content()
        await shoot(page, "list-desktop")
        await page.get_by_role("link", name=re.compile(number)).first.click()
        await page.wait_for_url(re.compile(rf"/console/s/{number}$"))
        # The video plays (streamed with Range) and the scan shows inline.
        played = await page.evaluate(
            """async () => { const v = document.querySelector('video'); v.muted = true;
                 await v.play(); await new Promise(r => setTimeout(r, 600));
                 return {t: v.currentTime, w: v.videoWidth}; }"""
        )
        assert played["t"] > 0 and played["w"] == 1920, played
        scan = page.locator("iframe, embed, object, img.scan").first
        assert await scan.count() == 1
        # Headless Chromium has no PDF viewer to paint the frame: check what the frame loads.
        source = await scan.get_attribute("src") or await scan.get_attribute("data") or ""
        shown = await page.request.get(f"http://127.0.0.1:{port}{source}")
        assert shown.status == 200 and (await shown.body()) == signed_pdf()
        assert shown.headers["content-type"].startswith("application/pdf")
        await shoot(page, "submission-desktop")
        await page.locator("input[name=decision][value=return]").check()
        await page.locator("input[name=items][value=title]").check()
        await page.fill("textarea[name=reason]", "片头名称与推荐表不一致，请核对作品名称")
        await page.get_by_role("button", name="提交决定").click()
        await page.wait_for_load_state()
        assert "退回修改" in await page.content()

        # -- the entrant is told, fixes the title and resubmits under the same number ----------
        await fake.wait_for(
            lambda: any("片头名称与推荐表不一致" in t for t in fake.texts(ENTRANT)), within=20
        )
        assert any(f"修改 {number}" in t for t in fake.texts(ENTRANT))
        assert f"正在修改 {number}" in await entrant.say(f"修改 {number}")
        await entrant.say("修改 2")  # the title, asked as 【2/…】
        await entrant.say("星空下的实验室（修订版）")
        again = await entrant.press_label("确认提交")
        assert f"已重新提交 {number}" in again, again
        await entrant.send(fake.document(ENTRANT, fake.add_file(signed_pdf()), "签字盖章-修订.pdf"))
        assert "材料齐全" in await entrant.press_label("完成")
        assert len(await svc.storage.list_submissions()) == 1

        # -- the unit's place (nobody bound for it: the organiser confirms), then the pass ------
        assert "已推荐" in await organiser.say(f"推荐 {number}")
        assert {u.name: u.used for u in await svc.quota.usage(CONTEST_ID)}[HEBEI] == 1
        await page.reload()
        await page.locator("input[name=decision][value=pass]").check()
        await page.get_by_role("button", name="提交决定").click()
        await page.wait_for_load_state()
        sub = await svc.storage.get_submission(number)
        assert sub is not None and state_of(sub) is ReviewState.PASSED
        assert sub.answers["title"] == "星空下的实验室（修订版）"
        await fake.wait_for(lambda: any("已通过形式审查" in t for t in fake.texts(ENTRANT)), within=20)

        # -- the contest ZIP --------------------------------------------------------------------
        async with page.expect_download() as got:
            await page.evaluate(f"window.location.href = '/console/export/{CONTEST_ID}.zip'")
        path = await (await got.value).path()
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            assert archive.testzip() is None
            assert any(n.endswith(".xlsx") for n in names), names
            mine = [n for n in names if "星空下的实验室（修订版）" in n]
            # The notice's materials, in the work's folder: the form, the signed scan, the video.
            assert any(n.endswith(".pdf") and "推荐表" in n for n in mine), names
            assert any(n.endswith(".pdf") and "扫描件" in n for n in mine), names
            assert any(n.endswith(".mp4") for n in mine), names
            mp4 = next(n for n in mine if n.endswith(".mp4"))
            assert archive.read(mp4) == video.read_bytes()

        # -- a member of another unit sees it nowhere -------------------------------------------
        phone = await chromium.new_context(
            locale="zh-CN", viewport={"width": 390, "height": 844}, accept_downloads=True
        )
        theirs = await phone.new_page()
        await theirs.goto(await console_link(other))
        await theirs.get_by_role("button", name="进入后台").click()
        await theirs.wait_for_url(re.compile(r"/console/"))
        assert number not in await theirs.content()
        assert await theirs.locator("nav a[href='/console/audit']").count() == 0  # organisers' pages
        await shoot(theirs, "list-phone-other-unit")
        for path_ in (
            f"/console/s/{number}",
            f"/console/api/submissions/{number}",
            f"/console/s/{number}/video",
            f"/console/s/{number}/scan/0",
            f"/console/s/{number}.zip",
        ):
            resp = await theirs.request.get(f"http://127.0.0.1:{port}{path_}")
            assert resp.status in (403, 404), (path_, resp.status)
            assert "星空下的实验室" not in await resp.text()
        listed = await theirs.request.get(f"http://127.0.0.1:{port}/console/api/submissions")
        assert number not in await listed.text()
        zipped = await theirs.request.get(f"http://127.0.0.1:{port}/console/export/{CONTEST_ID}.zip")
        if zipped.status == 200:
            names = zipfile.ZipFile(io.BytesIO(await zipped.body())).namelist()
            assert not [n for n in names if "星空下的实验室" in n], names
        exported = await other.say("导出 csv")
        assert number not in exported

        # -- the organiser's pages on a phone, for the record -----------------------------------
        mobile = await chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
        small = await mobile.new_page()
        await small.goto(await console_link(organiser))
        await small.get_by_role("button", name="进入后台").click()
        await small.wait_for_url(re.compile(r"/console/"))
        await shoot(small, "list-phone")
        await small.goto(f"http://127.0.0.1:{port}/console/s/{number}")
        await shoot(small, "submission-phone")
        await small.goto(f"http://127.0.0.1:{port}/console/units")
        await shoot(small, "units-phone")
        await page.goto(f"http://127.0.0.1:{port}/console/units")
        await shoot(page, "units-desktop")
        for name in ("overview", "audit", "tickets", "broadcasts"):
            await page.goto(f"http://127.0.0.1:{port}/console/{name}?contest={CONTEST_ID}")
            assert "console/login" not in page.url
            await shoot(page, f"{name}-desktop")
            if name == "audit":  # the decisions and the download above, with who and from where
                logged = await page.content()
                assert "review.decide" in logged and "download.contest" in logged
                assert "unit.confirm" in logged  # the organiser's 推荐 in the chat, on the unit's behalf
    finally:
        await chromium.close()
        await pw.stop()
        await client.close()
        await fake.close()


class _Run:
    """What :class:`tests.test_telegram.TgUser` needs of a running app."""

    def __init__(self, client: TestClient[Any, Any], app: Any, fake: FakeTelegram) -> None:
        self.client = client
        self.app = app
        self.fake = fake

    @property
    def services(self) -> Services:
        return self.app[SERVICES]  # type: ignore[no-any-return]
