"""The organisers' and units' web console, end to end over HTTP on the real app (SQLite in
``tmp_path``): signing in with the chat's one-time link, who sees what on every page, API call
and download, the audit log, CSRF, Range requests and the ZIP layouts."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import re
import shutil
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.keys import SERVICES
from bot.services import Services
from bot.settings import Settings
from bot.storage.sqlite.drafts import SqliteStorage
from bot.web.access_log import redact_path
from bot.web.upload_links import UploadSettings
from contests.events import EventKind, Incoming
from contests.org import Role, Unit
from contests.records import Submission, UserKey
from contests.review import Decision

CAS = "most-cas-2024-kepu"
CACSI = "cacsi-2022-youth"
CHROMIUM = "/usr/bin/chromium"
SECRET = "test-console-secret-0123456789abcdef0123456789"
ORGANISER = UserKey("terminal", "org")
MEMBER_A = UserKey("telegram", "1001")
MEMBER_B = UserKey("wechat", "oB")
ENTRANT = UserKey("telegram", "2002")
UNIT_A = "河北省科学技术厅"
UNIT_B = "山西省科学技术厅"
VIDEO = bytes(range(256)) * 40  # 10 KiB that are not a real video: the route serves bytes
PDF = b"%PDF-1.4\n% scan\n" + b"0" * 100
PHONE_A = "13800138000"


@dataclass
class Env:
    client: TestClient[web.Request, web.Application]
    settings: Settings
    a: Submission  # unit A's work, its place committed
    b: Submission  # waiting for unit B's confirmation

    @property
    def svc(self) -> Services:
        return self.client.app[SERVICES]  # type: ignore[index]


def answers(title: str, unit: str, phone: str) -> dict[str, Any]:
    return {
        "unit": unit,
        "title": title,
        "category": "科普",
        "broadcast_date": "2024-05-01",
        "authors": ["张三", "李四"],
        "platform": "https://example.cn/v/1",
        "address": "石家庄市某路 1 号",
        "phone": phone,
        "email": "a@example.cn",
        "summary": "简介",
    }


async def submit(
    svc: Services, contest_id: str, user: UserKey, values: dict[str, Any], **extra: Any
) -> Submission:
    contest = svc.contests.get(contest_id)
    assert contest is not None
    channel = contest.channels[0]
    return await svc.storage.create_submission(
        prefix=contest.number_prefix,
        contest_id=contest_id,
        user=user,
        channel_id=channel.id,
        form_id=channel.forms["work"],
        answers=values,
        video={},
        now=dt.datetime.now(dt.UTC),
        extra=extra,
    )


async def attach_files(svc: Services, settings: Settings, sub: Submission) -> Submission:
    video = settings.data_dir / "videos" / f"{sub.number}.mp4"
    video.parent.mkdir(parents=True, exist_ok=True)
    video.write_bytes(VIDEO)
    scan = settings.data_dir / "scans" / sub.number / "scan1.pdf"
    scan.parent.mkdir(parents=True, exist_ok=True)
    scan.write_bytes(PDF)
    record = {
        "kind": "file",
        "name": "作品.mp4",
        "size": len(VIDEO),
        "checked": True,
        "verdict": "passed",
        "sha256": "ab" * 32,
        "stored": str(video),
        "report": "✅ 视频检查通过：1 项技术要求全部符合。\n✓ 分辨率 1920×1080，符合要求",
    }
    return await svc.storage.update_submission(
        sub.number, video=record, status="complete", extra={"scans": [str(scan)]}
    )


async def bind(svc: Services, user: UserKey, contest_id: str, role: Role, unit: str | None = None) -> None:
    invite = await svc.admin.create_invite(contest_id, role, unit)
    result = await svc.admin.bind(user, invite.code)  # type: ignore[union-attr]
    assert result.ok, result.text


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", contests_dir=tmp_path / "contests")  # type: ignore[call-arg]
    upload = UploadSettings(_env_file=None, secret=SECRET)  # type: ignore[call-arg]
    app = create_app(settings, channels=[], upload_settings=upload)
    async with TestClient(TestServer(app)) as client:
        svc: Services = app[SERVICES]
        await svc.stores.org.put_units(
            CAS, [Unit(CAS, UNIT_A, "province", "河北省"), Unit(CAS, UNIT_B, "province", "山西省")]
        )
        await bind(svc, ORGANISER, CAS, Role.ORGANISER)
        await bind(svc, MEMBER_A, CAS, Role.MEMBER, UNIT_A)
        await bind(svc, MEMBER_B, CAS, Role.MEMBER, UNIT_B)
        now = dt.datetime.now(dt.UTC)
        reservation = await svc.stores.org.reserve(
            contest_id=CAS, holder=f"unit:{UNIT_A}", track="work", limit=10, claims=(), owner=ENTRANT, now=now
        )
        a = await submit(svc, CAS, ENTRANT, answers("星空的秘密", UNIT_A, PHONE_A), unit=UNIT_A)
        assert await svc.stores.org.commit(reservation, a.number, now)  # type: ignore[arg-type]
        a = await attach_files(svc, settings, a)
        b = await submit(
            svc,
            CAS,
            UserKey("telegram", "3003"),
            answers("海洋之歌", UNIT_B, "13900139000"),
            awaiting_unit=UNIT_B,
        )
        yield Env(client, settings, a, b)


async def link_for(svc: Services, user: UserKey) -> str:
    [reply] = await svc.assistant.handle(Incoming(user, EventKind.TEXT, text="后台"))
    found = re.search(r"https?://\S+/console/login/([A-Za-z0-9_-]{43})", reply.text)
    assert found, reply.text
    return f"/console/login/{found.group(1)}"


async def sign_in(env: Env, user: UserKey) -> None:
    env.client.session.cookie_jar.clear()
    path = await link_for(env.svc, user)
    page = await env.client.get(path)
    assert page.status == 200 and "进入后台" in await page.text()
    done = await env.client.post(path, allow_redirects=False)
    assert done.status == 303 and done.headers["Location"] == "/console/"
    cookie = done.headers["Set-Cookie"]
    assert "kepu_console=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Path=/console" in cookie


async def csrf(env: Env, number: str) -> str:
    page = await (await env.client.get(f"/console/s/{number}")).text()
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
    assert found
    return found.group(1)


# --------------------------------------------------------------------------- sign-in


async def test_the_link_signs_in_once_and_a_get_does_not_use_it(env: Env) -> None:
    path = await link_for(env.svc, ORGANISER)
    for _ in range(2):  # a link preview's GET burns nothing
        assert "进入后台" in await (await env.client.get(path)).text()
    assert (await env.client.post(path, allow_redirects=False)).status == 303
    listing = await env.client.get("/console/")
    assert env.a.number in await listing.text()
    again = await env.client.post(path, allow_redirects=False)
    assert again.status == 403 and "无效或已过期" in await again.text()
    entries = await env.svc.stores.audit.list_entries(actor=str(ORGANISER), action_prefix="console.login")
    assert [(e.contest_id, e.role, e.source) for e in entries] == [(CAS, "organiser", "127.0.0.1")]


async def test_the_sign_in_page_names_the_persons_role_not_an_internal_id(env: Env) -> None:
    # Tried: "这是 web:wOZ_pdS0TvYUJ86D0wyvvzQ 的个人登录链接".
    short = env.svc.contests.get(CAS).short_title  # type: ignore[union-attr]
    page = await (await env.client.get(await link_for(env.svc, ORGANISER))).text()
    assert f"这是<strong>「{short}」主办方</strong>的个人登录链接" in page
    assert str(ORGANISER) not in page
    page = await (await env.client.get(await link_for(env.svc, MEMBER_A))).text()
    assert f"「{short}」{UNIT_A}的单位代表" in page and MEMBER_A.user_id not in page


async def test_an_expired_link_opens_nothing(env: Env) -> None:
    token = (await link_for(env.svc, MEMBER_A)).rsplit("/", 1)[1]
    # The store's own expiry: the session the link names is opened again with no time left.
    key = env.svc.sign_in._login_key(token)
    await env.svc.storage.open_session(key, MEMBER_A, dt.timedelta(milliseconds=1))
    await asyncio.sleep(0.05)
    page = await env.client.get(f"/console/login/{token}")
    assert page.status == 404 and "无效或已过期" in await page.text()
    post = await env.client.post(f"/console/login/{token}", allow_redirects=False)
    assert post.status == 403 and "kepu_console" not in post.headers.get("Set-Cookie", "")


async def test_an_entrant_without_a_role_is_refused_in_chinese(env: Env) -> None:
    [reply] = await env.svc.assistant.handle(Incoming(ENTRANT, EventKind.TEXT, text="后台"))
    assert "还没有绑定身份" in reply.text and "/console/login/" not in reply.text


async def test_without_a_session_nothing_is_shown(env: Env) -> None:
    for path in (
        "/console/",
        f"/console/s/{env.a.number}",
        f"/console/s/{env.a.number}/video",
        "/console/api/submissions",
    ):
        response = await env.client.get(path)
        assert response.status == 401, path
        assert env.a.number not in await response.text()


async def test_sign_out_closes_the_session(env: Env) -> None:
    await sign_in(env, ORGANISER)
    token = await csrf(env, env.a.number)
    out = await env.client.post("/console/logout", data={"csrf": token})
    assert "已退出" in await out.text()
    assert (await env.client.get("/console/")).status == 401


# --------------------------------------------------------------------------- who sees what


async def test_a_member_of_another_unit_sees_the_entry_nowhere(env: Env) -> None:
    await sign_in(env, MEMBER_B)
    number = env.a.number
    listing = await (await env.client.get("/console/")).text()
    assert env.b.number in listing and "海洋之歌" in listing  # waiting for unit B: B's to see
    assert number not in listing and "星空的秘密" not in listing
    api = await (await env.client.get(f"/console/api/submissions?contest={CAS}")).json()
    assert [s["number"] for s in api["submissions"]] == [env.b.number]
    for path in (
        f"/console/s/{number}",
        f"/console/api/submissions/{number}",
        f"/console/s/{number}/video",
        f"/console/s/{number}/scan/1",
        f"/console/s/{number}/form.pdf",
        f"/console/s/{number}.zip",
    ):
        response = await env.client.get(path)
        assert response.status == 404, path
        assert PHONE_A not in await response.text()
    archive = await env.client.get(f"/console/export/{CAS}.zip")
    names = zipfile.ZipFile(io.BytesIO(await archive.read())).namelist()
    assert not any(number in n or "星空的秘密" in n for n in names), names
    units = await (await env.client.get(f"/console/api/units?contest={CAS}")).json()
    assert [(u["unit"], u["waiting"]) for u in units["units"]] == [(UNIT_B, 1)]


async def test_the_member_of_the_unit_and_the_organiser_see_personal_data(env: Env) -> None:
    for user in (MEMBER_A, ORGANISER):
        await sign_in(env, user)
        page = await (await env.client.get(f"/console/s/{env.a.number}")).text()
        assert PHONE_A in page and "石家庄市某路 1 号" in page and "已隐藏" not in page
        assert "分辨率 1920×1080，符合要求" in page  # the video report, line by line
    listing = await (await env.client.get(f"/console/api/submissions?contest={CAS}")).json()
    assert {s["number"] for s in listing["submissions"]} == {env.a.number, env.b.number}
    assert PHONE_A not in str(listing)  # the list never carries personal data
    views = await env.svc.stores.audit.list_entries(target=env.a.number, action_prefix="submission.view")
    assert {(e.actor, e.role, e.detail["personal"]) for e in views} == {
        (str(MEMBER_A), "member", True),
        (str(ORGANISER), "organiser", True),
    }


async def test_personal_data_is_hidden_from_those_not_entitled(env: Env) -> None:
    # The pages never hand another unit's entry to its member (above); should a view of it be
    # built for them all the same, the entrant's phone, address and account stay hidden.
    console = env.svc.console
    viewer = await console.who(MEMBER_B)
    entry = await console.entry(await console.who(ORGANISER), env.a.number)
    assert entry is not None and await console.entry(viewer, env.a.number) is None
    seen = await console.detail(viewer, entry, source="test")
    assert seen["personal"] is False and PHONE_A not in str(seen["fields"])
    assert "（已隐藏）" in str(seen["fields"]) and seen["user"] == "（已隐藏）"


# --------------------------------------------------------------------------- changes


async def test_a_decision_needs_the_csrf_token_and_an_organiser(env: Env) -> None:
    await sign_in(env, ORGANISER)
    number = env.a.number
    refused = await env.client.post(
        f"/console/s/{number}/decision", data={"decision": "pass", "csrf": "0" * 64}
    )
    assert refused.status == 403 and "CSRF" in await refused.text()
    api = await env.client.post(f"/console/api/submissions/{number}/decision", json={"decision": "pass"})
    assert api.status == 403
    token = await csrf(env, number)
    foreign = await env.client.post(
        f"/console/s/{number}/decision",
        data={"decision": "pass", "csrf": token},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status == 403 and "来源" in await foreign.text()
    sub = await env.svc.storage.get_submission(number)
    assert sub is not None and "review" not in sub.extra
    ok = await env.client.post(
        f"/console/api/submissions/{number}/decision",
        json={"decision": "return", "reason": "请补充播出证明", "items": ["platform", "scan"]},
        headers={"X-CSRF-Token": token},
    )
    body = await ok.json()
    assert ok.status == 200 and body["ok"], body
    page = await (await env.client.get(f"/console/s/{number}")).text()
    assert "退回修改" in page and "请补充播出证明" in page and "播出平台及网址" in page
    decided = await env.svc.stores.audit.list_entries(target=number, action_prefix="review.")
    assert decided and decided[0].source == "127.0.0.1" and decided[0].actor == str(ORGANISER)


async def test_a_decision_made_in_the_console_is_said_to_be_the_consoles(env: Env) -> None:
    # Trial round: a decision made in the web console was shown as 主办方（终端）, the channel the
    # organiser chats in.  One made in the chat still names it.
    await sign_in(env, ORGANISER)
    number = env.a.number
    token = await csrf(env, number)
    ok = await env.client.post(
        f"/console/api/submissions/{number}/decision",
        json={"decision": "return", "reason": "请补充播出证明", "items": ["platform"]},
        headers={"X-CSRF-Token": token},
    )
    assert ok.status == 200 and (await ok.json())["ok"]
    contest = env.svc.contests.get(CAS)
    assert contest is not None
    before = contest.closes_at() - dt.timedelta(days=1)
    done = await env.svc.review.decide(number, Decision.REJECT, "不符合主题", by=ORGANISER, now=before)
    assert done.ok, done.text
    page = await (await env.client.get(f"/console/s/{number}")).text()
    history = page[page.index('id="history"') :]
    rows = history[: history.index("</table>")].split("<tr")
    console_row = next(r for r in rows if "请补充播出证明" in r)
    chat_row = next(r for r in rows if "不符合主题" in r)
    assert "主办方（后台）" in console_row and "终端" not in console_row, console_row
    assert "主办方（终端）" in chat_row, chat_row


async def test_a_member_may_not_decide(env: Env) -> None:
    await sign_in(env, MEMBER_A)
    token = await csrf(env, env.a.number)
    response = await env.client.post(
        f"/console/api/submissions/{env.a.number}/decision",
        json={"decision": "pass"},
        headers={"X-CSRF-Token": token},
    )
    assert response.status == 403 and (await response.json())["code"] == "forbidden"


# --------------------------------------------------------------------------- files


async def test_the_video_answers_a_range_with_206_and_the_right_bytes(env: Env) -> None:
    await sign_in(env, ORGANISER)
    response = await env.client.get(f"/console/s/{env.a.number}/video", headers={"Range": "bytes=100-199"})
    assert response.status == 206
    assert await response.read() == VIDEO[100:200]
    assert response.headers["Content-Range"] == f"bytes 100-199/{len(VIDEO)}"
    whole = await env.client.get(f"/console/s/{env.a.number}/video")
    assert await whole.read() == VIDEO
    scan = await env.client.get(f"/console/s/{env.a.number}/scan/1")
    assert await scan.read() == PDF and "frame-ancestors 'self'" in scan.headers["Content-Security-Policy"]
    files = await env.svc.stores.audit.list_entries(target=env.a.number, action_prefix="file.")
    # The session's first range is its viewing, the whole download another: the scan one.
    assert [e.action for e in files] == ["file.scan", "file.video", "file.video"]


async def test_one_work_as_a_zip_in_its_folder(env: Env) -> None:
    await sign_in(env, MEMBER_A)
    response = await env.client.get(f"/console/s/{env.a.number}.zip")
    assert response.status == 200
    archive = zipfile.ZipFile(io.BytesIO(await response.read()))
    folder = f"{env.a.number}+星空的秘密"
    names = archive.namelist()
    assert f"{folder}/星空的秘密.mp4" in names and f"{folder}/扫描件1.pdf" in names
    assert any(n.startswith(folder + "/") and n.endswith(".pdf") and "扫描件" not in n for n in names), names
    assert archive.read(f"{folder}/星空的秘密.mp4") == VIDEO
    downloads = await env.svc.stores.audit.list_entries(action_prefix="download.")
    assert [(e.action, e.target, e.role) for e in downloads] == [
        ("download.submission", env.a.number, "member")
    ]


async def test_the_whole_contest_as_one_zip_with_the_list(env: Env) -> None:
    await sign_in(env, ORGANISER)
    response = await env.client.get(f"/console/export/{CAS}.zip")
    archive = zipfile.ZipFile(io.BytesIO(await response.read()))
    names = archive.namelist()
    xlsx = [n for n in names if n.endswith(".xlsx")]
    assert len(xlsx) == 1 and archive.read(xlsx[0])[:2] == b"PK"
    assert any(n.endswith(f"{env.a.number}+星空的秘密/星空的秘密.mp4") for n in names)
    actions = {e.action for e in await env.svc.stores.audit.list_entries(actor=str(ORGANISER))}
    assert {"export.xlsx", "download.contest", "console.login"} <= actions


async def test_cacsi_folders_are_named_province_unit_title(env: Env) -> None:
    svc = env.svc
    unit = "河北省青少年科技辅导员协会"
    await svc.stores.org.put_units(CACSI, [Unit(CACSI, unit, "province", "河北省")])
    await bind(svc, ORGANISER, CACSI, Role.ORGANISER)
    values = {"unit": unit, "member": "是", "title": "小小实验室", "category": "科普", "authors": ["王五"]}
    sub = await attach_files(svc, env.settings, await submit(svc, CACSI, ENTRANT, values, awaiting_unit=unit))
    await sign_in(env, ORGANISER)
    response = await env.client.get(f"/console/s/{sub.number}.zip")
    names = zipfile.ZipFile(io.BytesIO(await response.read())).namelist()
    folder = f"河北省{unit}小小实验室"
    assert f"{folder}/小小实验室.mp4" in names and f"{folder}/扫描件1.pdf" in names, names


async def test_the_pages_are_chinese_and_self_contained(env: Env) -> None:
    await sign_in(env, ORGANISER)
    for path in ("/console/", f"/console/s/{env.a.number}", "/console/units"):
        response = await env.client.get(path)
        page = await response.text()
        assert response.status == 200 and '<html lang="zh-CN">' in page
        assert (
            "width=device-width" in page
            and "http://" not in page
            and "https://" not in page.replace("https://example.cn/v/1", "")
        )
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    units = await (await env.client.get("/console/units")).text()
    assert UNIT_A in units and "1/" in units


async def test_units_confirm_the_entries_waiting_for_them_on_the_page(env: Env) -> None:
    """Unit B's member confirms the entry named to it; the organiser may not while B has a
    member, and confirms for a unit nobody is bound to."""
    await sign_in(env, ORGANISER)
    page = await (await env.client.get(f"/console/units?contest={CAS}")).text()
    assert env.b.number in page and "待单位代表确认" in page  # B has its own member
    token = await csrf(env, env.a.number)
    refused = await env.client.post(
        "/console/units/confirm", data={"number": env.b.number, "contest": CAS, "csrf": token}
    )
    assert refused.status == 400 and "已有绑定的代表" in await refused.text()
    await sign_in(env, MEMBER_B)
    page = await (await env.client.get(f"/console/units?contest={CAS}")).text()
    assert "确认推荐" in page and UNIT_A not in page
    token = await csrf(env, env.b.number)
    forged = await env.client.post("/console/units/confirm", data={"number": env.b.number, "csrf": "0" * 64})
    assert forged.status == 403
    done = await env.client.post(
        "/console/units/confirm",
        data={"number": env.b.number, "contest": CAS, "csrf": token},
        allow_redirects=False,
    )
    assert done.status == 303
    usage = {u.name: u.used for u in await env.svc.quota.usage(CAS)}
    assert usage[UNIT_B] == 1
    (entry,) = await env.svc.stores.audit.list_entries(action_prefix="unit.confirm")
    assert entry.target == env.b.number and entry.actor == str(MEMBER_B)
    history = await (await env.client.get(f"/console/s/{env.b.number}")).text()
    history = history[history.index('id="history"') :]
    assert "代表（后台）</td><td>单位确认（已推荐）" in history, history  # confirmed here, not in a chat
    # A unit nobody is bound to: the organiser confirms on its behalf.
    await env.svc.stores.org.put_units(CAS, [Unit(CAS, "天津市科学技术局", "province", "天津市")])
    c = await submit(
        env.svc,
        CAS,
        UserKey("web", "wc"),
        {**answers("潮汐", "天津市科学技术局", "13700137000"), "authors": ["王五"]},
        awaiting_unit="天津市科学技术局",
    )
    await sign_in(env, ORGANISER)
    page = await (await env.client.get(f"/console/units?contest={CAS}")).text()
    assert "代为确认" in page and c.number in page
    token = await csrf(env, env.a.number)
    done = await env.client.post(
        "/console/units/confirm",
        data={"number": c.number, "contest": CAS, "csrf": token},
        allow_redirects=False,
    )
    assert done.status == 303
    assert {u.name: u.used for u in await env.svc.quota.usage(CAS)}["天津市科学技术局"] == 1


async def test_the_history_names_people_by_role_and_says_what_a_resubmission_changed(env: Env) -> None:
    """Sixth trial round (and the fifth's): the history showed `web:wYAciqWaoIE7…` as the
    operator and "重新提交" with no word of what was changed."""
    contest = env.svc.contests.get(CAS)
    assert contest is not None
    before = contest.closes_at() - dt.timedelta(days=1)
    done = await env.svc.review.decide(
        env.a.number, Decision.RETURN, "类别不对", by=ORGANISER, items=["category"], now=before
    )
    assert done.ok, done.text
    sub = await env.svc.storage.get_submission(env.a.number)
    assert sub is not None
    fixed = {**sub.answers, "category": "天文"}
    again = await env.svc.review.resubmit(ENTRANT, env.a.number, fixed, dict(sub.video), now=before)
    assert again.ok, again.text
    await sign_in(env, ORGANISER)
    page = await (await env.client.get(f"/console/s/{env.a.number}")).text()
    history = page[page.index('id="history"') :]
    history = history[: history.index("</table>")]
    assert "类别：科普 → 天文" in history, history
    assert "报名者（Telegram）" in history and "主办方（终端）" in history, history
    assert str(ENTRANT) not in history and str(ORGANISER) not in history


async def test_a_resubmissions_old_and_new_values_show_only_to_those_entitled(env: Env) -> None:
    """The history's "联系电话：旧 → 新" is personal data: another unit's member, should a view be
    built for them, reads only that the phone was changed."""
    contest = env.svc.contests.get(CAS)
    assert contest is not None
    before = contest.closes_at() - dt.timedelta(days=1)
    done = await env.svc.review.decide(
        env.a.number, Decision.RETURN, "电话打不通", by=ORGANISER, items=["phone"], now=before
    )
    assert done.ok, done.text
    sub = await env.svc.storage.get_submission(env.a.number)
    assert sub is not None
    again = await env.svc.review.resubmit(
        ENTRANT, env.a.number, {**sub.answers, "phone": "13900139000"}, dict(sub.video), now=before
    )
    assert again.ok, again.text
    console = env.svc.console
    entry = await console.entry(await console.who(ORGANISER), env.a.number)
    assert entry is not None
    shown = str((await console.detail(await console.who(ORGANISER), entry, source="test"))["history"])
    assert PHONE_A in shown and "13900139000" in shown
    hidden = str((await console.detail(await console.who(MEMBER_B), entry, source="test"))["history"])
    assert PHONE_A not in hidden and "13900139000" not in hidden and "已修改" in hidden, hidden
    assert str(ENTRANT) not in hidden


async def test_the_list_follows_every_change_made_anywhere(env: Env, tmp_path: Path) -> None:
    """The console keeps decoded submissions between requests: a decision, a new work and a
    change written by another worker (another store on the same database) all show at once."""
    await sign_in(env, ORGANISER)
    assert env.a.number in await (await env.client.get(f"/console/?contest={CAS}")).text()
    assert env.a.number not in await (await env.client.get(f"/console/?contest={CAS}&state=passed")).text()
    other = await SqliteStorage.open(env.settings.data_dir / "kepu.sqlite3")  # another worker
    try:
        await other.update_submission(
            env.a.number,
            extra={"review": {"decision": "pass", "reason": "", "items": [], "by": "x", "at": "t"}},
        )
        c = await submit(env.svc, CAS, UserKey("web", "wnew"), answers("新作品", UNIT_A, "13600136000"))
    finally:
        await other.close()
    listed = await (await env.client.get(f"/console/?contest={CAS}&state=passed")).text()
    assert env.a.number in listed and env.b.number not in listed
    assert c.number in await (await env.client.get(f"/console/?contest={CAS}&q=新作品")).text()


# --------------------------------------------------------------------------- a phone's browser


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")
async def test_an_organiser_reviews_on_a_phone_sized_browser(env: Env, tmp_path: Path) -> None:
    playwright_api = pytest.importorskip("playwright.async_api")
    link = str(env.client.make_url(await link_for(env.svc, ORGANISER)))
    async with playwright_api.async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = await chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
            page = await context.new_page()
            outside: list[str] = []
            page.on(  # the built-in PDF viewer's own chrome-extension:// requests are not the page's
                "request",
                lambda r: (
                    outside.append(r.url) if r.url.startswith("http") and "127.0.0.1" not in r.url else None
                ),
            )
            await page.goto(link)
            await page.get_by_role("button", name="进入后台").click()
            await page.wait_for_selector("#submissions")
            assert await page.evaluate("document.scrollingElement.scrollWidth") <= 390
            await page.get_by_role("link", name="星空的秘密").click()
            await page.wait_for_selector("video")
            assert await page.evaluate("document.scrollingElement.scrollWidth") <= 390
            assert PHONE_A in await page.inner_text("#fields")
            await page.screenshot(path=str(tmp_path / "submission.png"), full_page=True)
            shutil.copy(tmp_path / "submission.png", "/tmp/console-submission.png")
            await page.get_by_role("radio", name="退回修改").check()
            await page.get_by_role("checkbox", name="播出平台及网址").check()
            await page.fill("textarea[name=reason]", "播出证明缺失")
            await page.get_by_role("button", name="提交决定").click()
            await page.wait_for_selector("#notice")
            assert "退回修改" in await page.inner_text("#state")
            history = await page.inner_text("#history")
            assert "播出证明缺失" in history and "需修改：播出平台及网址" in history
            assert outside == []
        finally:
            await chromium.close()
    sub = await env.svc.storage.get_submission(env.a.number)
    assert sub is not None and sub.extra["review"]["items"] == ["platform"]


async def test_an_organiser_checks_a_cloud_link_on_the_page(env: Env) -> None:
    share = {
        "kind": "share_link",
        "url": "https://pan.baidu.com/s/1AbCdEfG",
        "code": "k3p9",
        "checked": False,
    }
    await env.svc.storage.update_submission(env.b.number, video=share)
    await sign_in(env, MEMBER_B)
    seen = await (await env.client.get(f"/console/s/{env.b.number}")).text()
    assert "提取码" in seen and "k3p9" in seen and "网盘链接核验" not in seen  # the unit sees, may not check
    await sign_in(env, ORGANISER)
    page = await (await env.client.get(f"/console/s/{env.b.number}")).text()
    assert "网盘链接核验" in page and "https://pan.baidu.com/s/1AbCdEfG" in page
    token = await csrf(env, env.b.number)
    form = [("csrf", token), ("checks", "opened"), ("checks", "plays"), ("note", "提取码错误")]
    done = await env.client.post(f"/console/s/{env.b.number}/link-check", data=form)
    text = await done.text()
    assert "链接核验未通过" in text and "提取码正确" in text
    sub = await env.svc.storage.get_submission(env.b.number)
    assert sub is not None and sub.extra["link_check"]["checks"]["opened"] is True
    assert sub.extra["link_check"]["checks"]["code_works"] is False


async def test_sign_in_tries_are_limited_per_address(env: Env) -> None:
    bogus = "/console/login/" + "x" * 43
    statuses = [(await env.client.post(bogus)).status for _ in range(21)]
    assert statuses[:20] == [403] * 20 and statuses[20] == 429
    path = await link_for(env.svc, ORGANISER)  # a genuine link from the same address waits too
    limited = await env.client.post(path)
    assert limited.status == 429 and "尝试次数过多" in await limited.text()


def test_the_access_log_keeps_no_sign_in_token() -> None:
    token = "A" * 43
    assert redact_path(f"/console/login/{token}?x=1") == "/console/login/…"
    assert redact_path("/console/s/KP2024-000001") == "/console/s/KP2024-000001"


# --------------------------------------------------------------------------- units imported here


async def units_csrf(env: Env) -> str:
    page = await (await env.client.get(f"/console/units?contest={CAS}")).text()
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
    assert found
    return found.group(1)


async def test_units_pasted_in_the_console_are_shown_mapped_before_they_are_saved(env: Env) -> None:
    await sign_in(env, ORGANISER)
    assert "导入推荐单位" in await (await env.client.get(f"/console/units?contest={CAS}")).text()
    token = await units_csrf(env)
    pasted = "名称\t类别\t省份\n广西科技厅\t\t\n深圳市科技创新局\t\t\n"  # copied out of a spreadsheet
    before = await env.svc.stores.org.list_units(CAS)
    shown = await env.client.post(
        "/console/units/preview", data={"contest": CAS, "csv": pasted, "csrf": token}
    )
    page = await shown.text()
    assert shown.status == 200 and "确认导入" in page
    assert "广西科技厅 → 广西壮族自治区 · province" in page and "5+1=6" in page
    assert "深圳市科技创新局 → 深圳市 · 广东省 · sub_provincial" in page
    assert await env.svc.stores.org.list_units(CAS) == before  # nothing saved yet
    digest = previewed(page)
    done = await env.client.post(
        "/console/units/import",
        data={"contest": CAS, "csv": pasted, "csrf": token, "preview": digest},
        allow_redirects=False,
    )
    assert done.status == 303
    names = [u.name for u in await env.svc.stores.org.list_units(CAS)]
    assert names[-2:] == ["广西科技厅", "深圳市科技创新局"]
    (entry,) = await env.svc.stores.audit.list_entries(action_prefix="units.import")
    assert entry.actor == str(ORGANISER) and entry.target == "新增 2 个，更新 0 个"


def previewed(page: str) -> str:
    """The digest of the mapping a preview page shows, which its 确认导入 carries."""
    found = re.search(r'name="preview" value="([0-9a-f]{64})"', page)
    assert found, page
    return found.group(1)


async def test_the_console_saves_only_what_its_preview_showed(env: Env) -> None:
    await sign_in(env, ORGANISER)
    token = await units_csrf(env)
    pasted = "名称,类别,省份\n辽宁省科学技术厅,province,辽宁省\n"
    page = await (
        await env.client.post("/console/units/preview", data={"contest": CAS, "csv": pasted, "csrf": token})
    ).text()
    digest = previewed(page)
    before = await env.svc.stores.org.list_units(CAS)
    for data in (
        {"csv": pasted.replace("辽宁", "吉林"), "preview": digest},  # the file changed under the button
        {"csv": pasted},  # no preview at all
    ):
        refused = await env.client.post("/console/units/import", data={"contest": CAS, "csrf": token, **data})
        assert refused.status == 400 and "请重新预览" in await refused.text()
        assert await env.svc.stores.org.list_units(CAS) == before
    # Someone else imports the same unit meanwhile: the row is now an update, not what was shown.
    await env.svc.admin.import_units(CAS, "名称,类别,省份\n辽宁省科技厅,province,辽宁省\n")
    meanwhile = await env.svc.stores.org.list_units(CAS)
    refused = await env.client.post(
        "/console/units/import", data={"contest": CAS, "csrf": token, "csv": pasted, "preview": digest}
    )
    assert refused.status == 400 and await env.svc.stores.org.list_units(CAS) == meanwhile
    assert await env.svc.stores.audit.list_entries(action_prefix="units.import") == []


async def test_the_console_refuses_what_it_cannot_map_and_members_import_nothing(env: Env) -> None:
    await sign_in(env, ORGANISER)
    token = await units_csrf(env)
    bad = await env.client.post(
        "/console/units/preview", data={"contest": CAS, "csv": "名称\n北京市海淀区科委\n", "csrf": token}
    )
    page = await bad.text()
    assert bad.status == 400 and "看不出“北京市海淀区科委”属于哪一类名额" in page and "确认导入" not in page
    await sign_in(env, MEMBER_A)
    page = await (await env.client.get(f"/console/units?contest={CAS}")).text()
    assert "导入推荐单位" not in page
    token = await units_csrf(env)
    denied = await env.client.post(
        "/console/units/import", data={"contest": CAS, "csv": "名称\n广西科技厅\n", "csrf": token}
    )
    assert denied.status == 403
    assert "广西科技厅" not in [u.name for u in await env.svc.stores.org.list_units(CAS)]


async def test_the_console_imports_the_lines_it_maps_and_shows_the_others_to_fix(env: Env) -> None:
    await sign_in(env, ORGANISER)
    token = await units_csrf(env)
    pasted = "名称\n广西科技厅\n河兆省科技厅\n"
    shown = await env.client.post(
        "/console/units/preview", data={"contest": CAS, "csv": pasted, "csrf": token}
    )
    page = await shown.text()
    assert shown.status == 200 and "确认导入 1 个单位（跳过 1 行）" in page
    assert "✗ 第 3 行：看不出“河兆省科技厅”" in page and "是否为“河北省”" in page
    done = await env.client.post(
        "/console/units/import",
        data={"contest": CAS, "csv": pasted, "csrf": token, "preview": previewed(page)},
        allow_redirects=False,
    )
    page = await done.text()
    assert done.status == 200 and "新增 1 个" in page and "另有 1 行未能对应" in page
    assert re.search(r'<textarea name="csv"[^>]*>名称,未导入原因,建议改为\n河兆省科技厅,', page)
    names = [u.name for u in await env.svc.stores.org.list_units(CAS)]
    assert "广西科技厅" in names and "河兆省科技厅" not in names
    (entry,) = await env.svc.stores.audit.list_entries(action_prefix="units.import")
    assert entry.target == "新增 1 个，更新 0 个，跳过 1 行" and "河兆省科技厅" in entry.detail["skipped"][0]
