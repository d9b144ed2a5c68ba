"""The organisers' desk in the console, end to end over HTTP on the real app (SQLite in
``tmp_path``, the fixtures of :mod:`tests.test_console`): helpdesk tickets answered from the
page, broadcasts counted per channel before they are confirmed, the overview's charts, and the
audit log read and exported."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pytest
from aiohttp import web

from bot.web.console import broadcasts as broadcasts_page
from contests.audit import AuditEntry
from contests.events import Reply
from contests.org import Role
from contests.records import UserKey
from contests.rules import SHANGHAI
from handlers.console.auditlog import action_label
from handlers.console.charts import column_chart, row_chart
from handlers.console.overview import failures_of
from handlers.remind.service import RemindService
from tests.test_console import (
    CACSI,
    CAS,
    CHROMIUM,
    ENTRANT,
    MEMBER_A,
    ORGANISER,
    UNIT_A,
    UNIT_B,
    Env,
    answers,
    bind,
    env,
    link_for,
    sign_in,
)

__all__ = ["env"]  # the fixture, shared with tests.test_console

DESK_PAGES = ("/console/tickets", "/console/broadcasts", "/console/overview", "/console/audit")


class Inbox:
    """A channel's notifier that keeps what was pushed to whom."""

    def __init__(self) -> None:
        self.sent: list[tuple[UserKey, str]] = []

    async def push(self, user: UserKey, replies: list[Reply]) -> None:
        self.sent.extend((user, r.text) for r in replies)


async def page_csrf(env: Env, path: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', await (await env.client.get(path)).text())
    assert found, path
    return found.group(1)


# --------------------------------------------------------------------------- who may look


async def test_the_desk_is_for_organisers_only(env: Env) -> None:
    for path in DESK_PAGES:
        response = await env.client.get(path)  # no session: how to sign in
        assert response.status == 401 and "后台" in await response.text(), path
    await sign_in(env, MEMBER_A)
    for path in (*DESK_PAGES, "/console/audit.csv"):
        response = await env.client.get(path)
        assert response.status == 403 and "只对大赛主办方开放" in await response.text(), path
    token = await page_csrf(env, f"/console/s/{env.a.number}")
    ticket = await env.svc.helpdesk.store.create(
        contest_id=CAS, user=ENTRANT, question="能用竖屏吗？", suggestion="", now=dt.datetime.now(dt.UTC)
    )
    refused = await env.client.post(
        f"/console/tickets/{ticket.id}/answer", data={"csrf": token, "text": "可以。", "close": "1"}
    )
    assert refused.status == 403
    kept = await env.svc.helpdesk.store.get(ticket.id)
    assert kept is not None and kept.status == "open" and kept.reply == ""


# --------------------------------------------------------------------------- helpdesk


async def test_an_answer_from_the_page_is_relayed_to_the_entrant_and_closes_the_ticket(env: Env) -> None:
    inbox = Inbox()
    env.svc.reach.register("telegram", inbox)
    now = dt.datetime.now(dt.UTC)
    store = env.svc.helpdesk.store
    ticket = await store.create(
        contest_id=CAS, user=ENTRANT, question="作品可以用竖屏拍摄吗？", suggestion="视频要求：横屏", now=now
    )
    await sign_in(env, ORGANISER)
    page = await (await env.client.get("/console/tickets")).text()
    assert ticket.id in page and "作品可以用竖屏拍摄吗？" in page and "视频要求：横屏" in page
    assert "Telegram" in page and str(ENTRANT) not in page  # the channel, not the account
    token = await page_csrf(env, "/console/tickets")
    without = await env.client.post(
        f"/console/tickets/{ticket.id}/answer", data={"text": "不行", "close": "1"}
    )
    assert without.status == 403 and "CSRF" in await without.text()
    done = await env.client.post(
        f"/console/tickets/{ticket.id}/answer",
        data={"csrf": token, "text": "请按通知要求横屏拍摄。", "close": "1", "contest": CAS},
    )
    assert done.status == 200 and "已转告报名者" in await done.text()
    await env.svc.reach.drain()
    assert [(u, t) for u, t in inbox.sent if "请按通知要求横屏拍摄。" in t and ticket.id in t] == [
        (ENTRANT, inbox.sent[0][1])
    ]
    closed = await store.get(ticket.id)
    assert closed is not None and closed.status == "closed" and closed.reply == "请按通知要求横屏拍摄。"
    assert closed.operator == str(ORGANISER)
    assert ticket.id not in await (await env.client.get("/console/tickets")).text()
    assert ticket.id in await (await env.client.get("/console/tickets?status=closed")).text()
    [entry] = await env.svc.stores.audit.list_entries(action_prefix="ticket.")
    assert (entry.action, entry.target, entry.actor, entry.role, entry.source) == (
        "ticket.answer",
        ticket.id,
        str(ORGANISER),
        "organiser",
        "127.0.0.1",
    )
    assert entry.detail["relayed"] is True and entry.detail["closed"] is True


async def test_an_entrant_no_channel_reaches_keeps_the_ticket_open(env: Env) -> None:
    # No notifier at all (no operators' chat, no channel): the answer is kept, the page says so.
    ticket = await env.svc.helpdesk.store.create(
        contest_id=CAS, user=ENTRANT, question="几号截止？", suggestion="", now=dt.datetime.now(dt.UTC)
    )
    await sign_in(env, ORGANISER)
    token = await page_csrf(env, "/console/tickets")
    response = await env.client.post(
        f"/console/tickets/{ticket.id}/answer", data={"csrf": token, "text": "5 月 31 日。", "close": "1"}
    )
    assert response.status == 502 and "未能转告报名者" in await response.text()
    kept = await env.svc.helpdesk.store.get(ticket.id)
    assert kept is not None and kept.status == "answered" and kept.reply == "5 月 31 日。"
    closing = await env.client.post(f"/console/tickets/{ticket.id}/close", data={"csrf": token})
    assert "已关闭" in await closing.text()
    closed = await env.svc.helpdesk.store.get(ticket.id)
    assert closed is not None and closed.status == "closed"


# --------------------------------------------------------------------------- audit log


async def test_the_audit_log_lists_and_exports_its_entries_and_the_export_is_audited(env: Env) -> None:
    await env.svc.stores.audit.append(
        AuditEntry(
            at=dt.datetime.now(dt.UTC),
            actor="cli:root",
            role="system",
            action="export.contest",
            contest_id=CAS,
            target="=HYPERLINK(1)",
            source="cli",
        )
    )
    await env.svc.stores.audit.append(  # another contest's entry: not this organiser's to read
        AuditEntry(
            at=dt.datetime.now(dt.UTC),
            actor="cli:x",
            role="system",
            action="x.y",
            contest_id="other",
            source="cli",
        )
    )
    await sign_in(env, ORGANISER)
    await env.client.get(f"/console/s/{env.a.number}")  # a view of personal data, audited
    page = await (await env.client.get("/console/audit")).text()
    # Each action in words, its code in the cell's title (trial round: raw codes only).
    assert '<td title="console.login">登录后台</td>' in page
    assert '<td title="submission.view">查看作品详情</td>' in page and env.a.number in page
    assert '<td title="export.contest">导出报名信息</td>' in page
    assert "cli:x" not in page
    assert page.index('title="submission.view"') < page.index('title="console.login"')  # newest first
    only = await (await env.client.get("/console/audit?action=submission.&limit=1")).text()
    assert 'title="submission.view"' in only and 'title="console.login"' not in only
    response = await env.client.get(f"/console/audit.csv?contest={CAS}")
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/csv")
    body = await response.read()
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:5] == ["序号", "时间（北京）", "操作人", "身份", "操作"]
    actions = [r[4] for r in rows[1:]]
    assert actions == ["export.contest", "console.login", "submission.view"]  # oldest first
    # The codes stay where they were; the words follow in a last column.
    assert rows[0][-1] == "操作说明" and len(rows[0]) == 10
    assert [r[-1] for r in rows[1:]] == ["导出报名信息", "登录后台", "查看作品详情"]
    assert rows[1][6] == "'=HYPERLINK(1)" and "cli:x" not in body.decode("utf-8-sig")
    [exported] = await env.svc.stores.audit.list_entries(action_prefix="export.audit")
    assert (exported.actor, exported.role, exported.contest_id, exported.source) == (
        str(ORGANISER),
        "organiser",
        CAS,
        "127.0.0.1",
    )
    assert exported.detail["entries"] == 3
    assert "export.audit" in await (await env.client.get("/console/audit")).text()


# --------------------------------------------------------------------------- broadcasts


async def test_a_broadcast_shows_its_reach_per_channel_and_is_made_only_when_confirmed(env: Env) -> None:
    jobs = env.svc.stores.jobs
    await sign_in(env, ORGANISER)
    page = await (await env.client.get("/console/broadcasts")).text()
    assert "撰写广播" in page and "推荐单位：河北省科学技术厅" in page and "not-running" not in page
    token = await page_csrf(env, "/console/broadcasts")
    form = {"contest": CAS, "audience": "all", "text": "提醒：5 月 31 日截止。", "at": ""}
    preview = await env.client.post("/console/broadcasts/preview", data={**form, "csrf": token})
    text = await preview.text()
    assert preview.status == 200
    total = re.search(r'id="reach-total">(\d+)<', text)
    channels = re.findall(r"<div>([^<：]+)：(\d+) 人</div>", text)
    # the two entrants and unit A's member on Telegram, unit B's on WeChat, the organiser's terminal
    assert total and total.group(1) == "5"
    assert channels == [("Telegram", "3"), ("终端", "1"), ("微信", "1")]  # most first
    assert await jobs.list_jobs(contest_id=CAS) == []  # counted, nothing made
    nonce = re.search(r'name="nonce" value="([A-Za-z0-9_-]{22})"', text)
    assert nonce
    form["nonce"] = nonce.group(1)
    refused = await env.client.post("/console/broadcasts/send", data=form)
    assert refused.status == 403 and "CSRF" in await refused.text()
    wrong = await env.client.post("/console/broadcasts/send", data={**form, "csrf": "0" * 64})
    assert wrong.status == 403 and await jobs.list_jobs(contest_id=CAS) == []
    sent = await env.client.post("/console/broadcasts/send", data={**form, "csrf": token})
    assert sent.status == 200 and "已确认" in await sent.text()
    again = await env.client.post("/console/broadcasts/send", data={**form, "csrf": token})  # a double tap
    assert again.status == 409 and "已经处理过" in await again.text()
    [job] = await jobs.list_jobs(contest_id=CAS)
    assert job.kind == "broadcast" and job.audience == "all" and job.created_by == str(ORGANISER)
    assert job.text.startswith("提醒：5 月 31 日截止。") and job.state != "held"  # held, then confirmed
    page = await (await env.client.get("/console/broadcasts")).text()
    assert f"job-{job.id}" in page and "发送报告" in page
    [entry] = await env.svc.stores.audit.list_entries(action_prefix="broadcast.")
    assert (entry.action, entry.target, entry.role, entry.detail["reach"]) == (
        "broadcast.create",
        job.id,
        "organiser",
        5,
    )


async def test_a_broadcast_for_an_unknown_unit_or_a_past_time_is_refused_before_sending(env: Env) -> None:
    await sign_in(env, ORGANISER)
    token = await page_csrf(env, "/console/broadcasts")
    for nonce, changes, why in (
        ("A" * 22, {"audience": "unit:不存在的单位"}, "没有登记"),
        ("B" * 22, {"at": "2001-01-01T09:00"}, "已经过去"),
    ):
        form = {
            "csrf": token,
            "contest": CAS,
            "audience": "all",
            "text": "你好",
            "at": "",
            "nonce": nonce,
            **changes,
        }
        response = await env.client.post("/console/broadcasts/preview", data=form)
        assert response.status == 400 and why in await response.text()
        response = await env.client.post("/console/broadcasts/send", data=form)
        assert response.status == 400 and why in await response.text()
    assert await env.svc.stores.jobs.list_jobs(contest_id=CAS) == []


# --------------------------------------------------------------------------- overview


def test_the_charts_draw_one_bar_per_item_and_escape_their_labels() -> None:
    svg = column_chart(
        [("5/1", 2), ("5/2", 0), ("<5/3>", 7)], title="每日&提交", marker=1, marker_label="截止"
    )
    assert svg.startswith("<svg") and svg.endswith("</svg>") and svg.count('class="bar"') == 3
    assert "&lt;5/3&gt;" in svg and "<5/3>" not in svg and "每日&amp;提交" in svg
    assert 'class="marker"' in svg and "截止" in svg and "style=" not in svg and "<script" not in svg
    rows = row_chart([("河北省科学技术厅", 3), ('"><script>', 1)], title="按单位")
    assert rows.count('class="bar"') == 2 and "<script>" not in rows and "&lt;script&gt;" in rows
    assert "暂无数据" in row_chart([], title="空")


def test_a_video_records_failed_checks_and_warnings_are_named() -> None:
    video = {
        "checks": [
            {"id": "resolution", "ok": False, "message": "分辨率 1280×720"},
            {"id": "duration", "ok": True},
        ],
        "warnings": [{"id": "variable_frame_rate", "message": "可变帧率"}],
    }
    assert failures_of(video) == ["分辨率", "⚠ 可变帧率"]
    assert failures_of({"verdict": "failed"}) == ["视频未通过（无明细）"] and failures_of({}) == []
    kept = {
        "report": "✅ 视频检查通过\n✓ 时长 2分钟，要求 不超过3分钟\n"
        "⚠ 视频是可变帧率（手机录制常见），建议导出为恒定帧率"
    }
    assert failures_of(kept) == ["⚠ 视频是可变帧率"]
    assert failures_of({"report": "✗ 分辨率 1280×720，要求 1920×1080"}) == ["分辨率"]


async def test_the_overview_draws_a_bar_per_day_and_counts_by_channel_unit_state_and_failure(
    env: Env,
) -> None:
    svc = env.svc
    now = dt.datetime.now(dt.UTC)
    contest = svc.contests.get(CAS)
    assert contest is not None
    route = contest.channels[0]
    for days_ago, unit in ((3, "<script>单位</script>"), (3, UNIT_A)):
        await svc.storage.create_submission(
            prefix=contest.number_prefix,
            contest_id=CAS,
            user=UserKey("web", f"w{days_ago}{len(unit)}"),
            channel_id=route.id,
            form_id=route.forms["work"],
            answers=answers("早来的作品", unit, "13700137000"),
            video={"kind": "file", "verdict": "passed", "checks": [{"id": "resolution", "ok": False}]},
            now=now - dt.timedelta(days=days_ago),
            extra={"unit": unit},
        )
    await sign_in(env, ORGANISER)
    response = await env.client.get(f"/console/overview?contest={CAS}")
    page = await response.text()
    assert response.status == 200 and "<script" not in page and "&lt;script&gt;单位" in page
    assert "共 <strong>4</strong> 件作品" in page and "已截止" in page  # the 2024 contest is over

    def section(name: str) -> str:
        start = page.index(f'id="chart-{name}"')
        return page[start : page.index("</section>", start)]

    first = (now - dt.timedelta(days=3)).astimezone(SHANGHAI).date()
    days = (now.astimezone(SHANGHAI).date() - first).days + 1
    assert days == 4 and section("days").count('class="bar"') == days  # the empty days too
    assert f"{first.month}/{first.day}：2" in section("days") and "：0<" in section("days")
    assert section("routes").count('class="bar"') == 1 and f"{route.label}：4" in section("routes")
    assert f"{UNIT_A}：2" in section("units") and f"{UNIT_B}：1" in section("units")
    states = section("states")
    assert all(f"{label}：{n}<" in states for label, n in (("已提交", 2), ("待单位确认", 1), ("材料齐全", 1)))
    assert section("failures").count('class="bar"') == 1 and "分辨率：2" in section("failures")
    assert "http://" not in page and "https://" not in page  # nothing fetched from elsewhere


async def test_without_the_reminder_worker_the_page_says_broadcasts_cannot_go(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The app's REMIND key as if the reminders' lifetime had not started: an absent key.
    monkeypatch.setattr(broadcasts_page, "REMIND", web.AppKey("remind-absent", RemindService))
    await sign_in(env, ORGANISER)
    page = await (await env.client.get("/console/broadcasts")).text()
    assert 'id="not-running"' in page and "广播服务没有运行" in page and "撰写广播" not in page
    token = await page_csrf(env, f"/console/s/{env.a.number}")
    form = {"csrf": token, "contest": CAS, "audience": "all", "text": "你好"}
    response = await env.client.post("/console/broadcasts/send", data=form)
    assert response.status == 503 and "广播服务没有运行" in await response.text()
    assert await env.svc.stores.jobs.list_jobs(contest_id=CAS) == []


# --------------------------------------------------------------------------- a phone's browser


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")
async def test_the_desk_fits_a_phone_and_fetches_nothing_from_elsewhere(env: Env) -> None:
    playwright_api = pytest.importorskip("playwright.async_api")
    await env.svc.helpdesk.store.create(
        contest_id=CAS,
        user=ENTRANT,
        question="能用竖屏吗？" * 8,
        suggestion="横屏",
        now=dt.datetime.now(dt.UTC),
    )
    link = str(env.client.make_url(await link_for(env.svc, ORGANISER)))
    async with playwright_api.async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = await chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
            page = await context.new_page()
            outside: list[str] = []
            page.on("request", lambda r: outside.append(r.url) if "127.0.0.1" not in r.url else None)
            await page.goto(link)
            await page.get_by_role("button", name="进入后台").click()
            await page.wait_for_selector("#submissions")
            for name, selector in (
                ("工单", "#tickets"),
                ("广播", "textarea"),
                ("概览", "svg.chart"),
                ("审计", "#audit"),
            ):
                await page.get_by_role("link", name=name, exact=True).click()
                await page.wait_for_selector(selector)
                width = await page.evaluate("document.scrollingElement.scrollWidth")
                assert width <= 390, (name, width)
            await page.goto(str(env.client.make_url("/console/broadcasts")))
            await page.fill("textarea[name=text]", "提醒：本周五截止。")
            await page.get_by_role("button", name="预览受众人数").click()
            await page.wait_for_selector("#reach-channels")
            assert "Telegram：3 人" in await page.inner_text("#reach-channels")
            assert outside == []
        finally:
            await chromium.close()


async def test_a_contest_the_organiser_does_not_organise_is_refused_not_swapped(env: Env) -> None:
    await sign_in(env, ORGANISER)
    token = await page_csrf(env, "/console/broadcasts")
    form = {"csrf": token, "contest": "cacsi-2022-youth", "audience": "all", "text": "你好"}
    response = await env.client.post("/console/broadcasts/send", data=form)
    assert response.status == 403 and "只对大赛主办方开放" in await response.text()
    assert await env.svc.stores.jobs.list_jobs() == []
    for path in ("/console/audit.csv", "/console/overview", "/console/tickets", "/console/audit"):
        refused = await env.client.get(f"{path}?contest=cacsi-2022-youth")
        assert refused.status == 403, path
    assert await env.svc.stores.audit.list_entries(action_prefix="export.") == []


async def test_every_audited_action_has_words_and_a_sign_in_shows_under_each_contest(env: Env) -> None:
    """Every action code the project writes reads in Chinese on the page; a sign-in is a
    person's, not a contest's: it is kept under every contest it opens the console for."""
    codes = {
        "console.login", "submission.view", "submission.decide_refused", "review.decide",
        "review.link_check", "review.link_check_refused", "file.video", "file.scan", "file.form",
        "file.receipt", "download.submission", "download.contest", "export.contest", "export.audit",
        "export.xlsx", "export.csv", "export.json", "units.import", "unit.confirm", "unit.cancel",
        "ticket.answer", "ticket.close", "broadcast.create",
    }  # fmt: skip
    assert all(re.search(r"[\u4e00-\u9fff]", action_label(c)) for c in codes)
    assert action_label("export.xlsx") == "导出报名信息（Excel）" and action_label("x.y") == "x.y"
    await bind(env.svc, ORGANISER, CACSI, Role.ORGANISER)
    await sign_in(env, ORGANISER)
    for contest in (CAS, CACSI):
        page = await (await env.client.get(f"/console/audit?contest={contest}")).text()
        assert page.count('<td title="console.login">登录后台</td>') == 1, contest
