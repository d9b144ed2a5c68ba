"""The console attacked, over HTTP on the real app (the fixtures of :mod:`tests.test_console`):
number guessing and path tricks, forged stored paths, Range abuse, sign-in tricks (cookie
fixation, a spoofed ``X-Forwarded-For``, a cookie reused after sign-out), CSRF on every POST
route, entrant-controlled text in every page, and absurd input."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import re
import zipfile
from pathlib import Path
from urllib.parse import urlencode

import openpyxl
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.keys import SERVICES
from bot.services import Services
from bot.settings import Settings
from bot.web.console.auth import COOKIE
from bot.web.upload_links import UploadSettings
from contests.org import Role
from contests.records import UserKey
from forms.receipts import KEY_FILENAME
from tests.test_console import (
    CACSI,
    CAS,
    ENTRANT,
    MEMBER_A,
    MEMBER_B,
    ORGANISER,
    PHONE_A,
    SECRET,
    VIDEO,
    Env,
    answers,
    bind,
    csrf,
    env,
    link_for,
    sign_in,
    submit,
)

__all__ = ["env"]  # the fixture, shared with tests.test_console

EVIL = "<script>alert(1)</script>"


async def page_csrf(env: Env, path: str = "/console/units") -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', await (await env.client.get(path)).text())
    assert found, path
    return found.group(1)


# --------------------------------------------------------------------------- who sees what


async def test_another_units_member_finds_nothing_by_guessing_or_path_tricks(env: Env) -> None:
    await sign_in(env, MEMBER_B)
    number = env.a.number
    tricks = [
        f"/console/s/{number.lower()}",
        f"/console/s/{env.b.number}/..%2F{number}",
        f"/console/s/{env.b.number}%2F..%2F{number}",
        f"/console/s/{number}%2Fvideo",
        f"/console/s/{number}/receipt.pdf",
        f"/console/s/{number}/form.docx",
        f"/console/s/{number}/scan/01",
        f"/console/s/{number}.zip?contest={CAS}",
        f"/console/api/submissions/{number}?contest={CAS}",
        f"/console/?contest={CAS}&unit=unit:河北省科学技术厅&q={number}",
        f"/console/?q={number}&sort=unit&state=submitted",
        f"/console/api/submissions?contest={CAS}&unit=unit:河北省科学技术厅",
        "/console/export/cacsi-2022-youth.zip",
        f"/console/export/{CAS}.zip/../{CAS}.zip",
        f"/console/units?contest={CAS}",
        "/console/api/units?contest=cacsi-2022-youth",
    ]
    for path in tricks:
        response = await env.client.get(path)
        body = await response.read()
        # The number itself may come back (the search box, a path that names it); nothing of the work.
        for secret in (PHONE_A, "星空的秘密", "石家庄市某路", "a@example.cn"):
            assert secret.encode() not in body, (path, secret)
        assert response.status in (200, 404), (path, response.status)


async def test_a_members_contest_zip_lists_only_their_units_works(env: Env) -> None:
    await sign_in(env, MEMBER_B)
    archive = zipfile.ZipFile(io.BytesIO(await (await env.client.get(f"/console/export/{CAS}.zip")).read()))
    for name in archive.namelist():
        data = archive.read(name)
        if name.endswith(".xlsx"):
            book = openpyxl.load_workbook(io.BytesIO(data))
            text = str([row for sheet in book for row in sheet.iter_rows(values_only=True)])
            assert PHONE_A not in text and "星空的秘密" not in text and "海洋之歌" in text


async def test_the_desk_pages_and_their_posts_refuse_a_member_even_naming_the_contest(env: Env) -> None:
    await sign_in(env, MEMBER_A)
    token = await page_csrf(env)
    for path in ("/console/tickets", "/console/audit", "/console/audit.csv", "/console/broadcasts"):
        response = await env.client.get(f"{path}?contest={CAS}")
        assert response.status == 403, path
    for path in (
        "/console/broadcasts/preview",
        "/console/broadcasts/send",
        "/console/tickets/HD-000001/close",
    ):
        response = await env.client.post(
            path, data={"csrf": token, "contest": CAS, "text": "x", "audience": "all"}
        )
        assert response.status == 403, path


# --------------------------------------------------------------------------- files


async def _forge(env: Env, stored: str) -> None:
    video = {**env.a.video, "stored": stored}
    await env.svc.storage.update_submission(env.a.number, video=video, extra={"scans": [stored]})


async def test_a_forged_stored_path_outside_the_files_folders_is_not_served(env: Env) -> None:
    await sign_in(env, ORGANISER)
    data = env.settings.data_dir
    key = data / KEY_FILENAME
    if not key.exists():
        key.write_bytes(b"-----BEGIN PRIVATE KEY-----\nsecret\n")
    secret = key.read_bytes()
    outside = data.parent / "outside.txt"
    outside.write_bytes(b"outside the data folder")
    link = data / "videos" / "link.mp4"
    link.symlink_to(outside)
    for stored in (
        "/etc/passwd",
        str(outside),
        str(link),
        str(key),
        str(data / "videos" / ".." / KEY_FILENAME),
    ):
        await _forge(env, stored)
        for path in ("video", "scan/1"):
            response = await env.client.get(f"/console/s/{env.a.number}/{path}")
            assert response.status == 404, (stored, path)
        archive = await (await env.client.get(f"/console/s/{env.a.number}.zip")).read()
        assert secret not in archive and b"root:" not in archive and b"outside the data" not in archive


async def test_range_abuse_gets_no_more_than_the_file(env: Env) -> None:
    await sign_in(env, ORGANISER)
    path = f"/console/s/{env.a.number}/video"
    for ranged in (
        "bytes=abc",
        "bytes=0-1,5-6",
        "bytes=" + ",".join(f"{i}-{i}" for i in range(500)),
        "bytes=0-" + "9" * 30,
        "bytes=" + "9" * 30 + "-",
        "bytes=-" + "9" * 30,
        "bytes=20-10",
        "items=0-10",
    ):
        response = await env.client.get(path, headers={"Range": ranged})
        body = await response.read()
        assert response.status in (200, 206, 416), (ranged, response.status)
        assert len(body) <= len(VIDEO), ranged
        if response.status == 206:
            assert VIDEO.find(body) >= 0


# --------------------------------------------------------------------------- sign-in


async def test_a_pre_set_cookie_does_not_survive_sign_in_nor_a_signed_out_one(env: Env) -> None:
    fixed = "A" * 43
    env.client.session.cookie_jar.update_cookies({COOKIE: fixed})
    path = await link_for(env.svc, ORGANISER)
    done = await env.client.post(path, allow_redirects=False)
    assert done.status == 303 and done.cookies[COOKIE].value != fixed
    assert await env.svc.sign_in.user_of(fixed) is None
    old = done.cookies[COOKIE].value
    token = await page_csrf(env)
    assert (await env.client.post("/console/logout", data={"csrf": token})).status == 200
    env.client.session.cookie_jar.update_cookies({COOKIE: old})
    assert (await env.client.get("/console/")).status == 401
    assert (await env.client.post(path, allow_redirects=False)).status == 403  # the link is spent


async def test_a_spoofed_forwarded_for_does_not_escape_the_sign_in_limit(env: Env) -> None:
    statuses = []
    for i in range(25):
        response = await env.client.post(
            "/console/login/" + "x" * 43,
            headers={
                "X-Forwarded-For": f"10.0.0.{i}",
                "X-Real-IP": f"10.0.1.{i}",
                "Forwarded": f"for=10.0.2.{i}",
            },
            allow_redirects=False,
        )
        statuses.append(response.status)
    assert statuses[-1] == 429, statuses


async def test_an_idle_session_expires(env: Env) -> None:
    await sign_in(env, ORGANISER)
    cookie = next(c.value for c in env.client.session.cookie_jar if c.key == COOKIE)
    key = env.svc.sign_in._session_key(cookie)
    await env.svc.storage.open_session(key, ORGANISER, dt.timedelta(milliseconds=1))
    await asyncio.sleep(0.05)
    assert (await env.client.get("/console/")).status == 401


# --------------------------------------------------------------------------- CSRF


async def test_every_post_route_wants_this_sessions_token_and_our_origin(env: Env) -> None:
    number = env.a.number
    ticket = await env.svc.helpdesk.store.create(
        contest_id=CAS, user=ENTRANT, question="?", suggestion="", now=dt.datetime.now(dt.UTC)
    )
    forms = {
        "/console/logout": {},
        f"/console/s/{number}/decision": {"decision": "pass"},
        f"/console/s/{number}/link-check": {"checks": "reachable"},
        "/console/units/confirm": {"number": env.b.number, "contest": CAS},
        f"/console/tickets/{ticket.id}/answer": {"text": "好", "close": "1"},
        f"/console/tickets/{ticket.id}/close": {},
        "/console/broadcasts/preview": {"audience": "all", "text": "hi"},
        "/console/broadcasts/send": {"audience": "all", "text": "hi", "nonce": "n" * 22},
    }
    api = [f"/console/api/submissions/{number}/decision", f"/console/api/submissions/{number}/link-check"]
    await sign_in(env, ORGANISER)
    stale = await page_csrf(env)
    await sign_in(env, ORGANISER)  # a second session: the first one's token is not this one's
    token = await page_csrf(env)
    assert stale != token
    for path, form in forms.items():
        for sent, headers in (
            (None, {}),
            (stale, {}),
            ("", {}),
            (token, {"Origin": "https://evil.example"}),
            (token, {"Referer": "https://evil.example/console/"}),
        ):
            data = form if sent is None else {**form, "csrf": sent}
            response = await env.client.post(path, data=data, headers=headers)
            assert response.status == 403, (path, sent == stale, headers)
    for path in api:
        for headers in (
            {},
            {"X-CSRF-Token": stale},
            {"X-CSRF-Token": token, "Origin": "https://evil.example"},
        ):
            response = await env.client.post(path, json={"decision": "pass", "checks": {}}, headers=headers)
            assert response.status == 403, (path, headers)
    sub = await env.svc.storage.get_submission(number)
    assert sub is not None and "review" not in sub.extra and "link_check" not in sub.extra
    kept = await env.svc.helpdesk.store.get(ticket.id)
    assert kept is not None and kept.status == "open"
    assert (await env.client.get("/console/")).status == 200  # still signed in
    foreign = await env.client.post(
        await link_for(env.svc, ORGANISER), headers={"Origin": "https://evil.example"}, allow_redirects=False
    )
    assert foreign.status == 403


# --------------------------------------------------------------------------- XSS


async def test_entrant_text_is_escaped_everywhere(env: Env) -> None:
    values = {**answers(EVIL, EVIL, "13700137000"), "authors": [EVIL], "summary": EVIL}
    evil = await submit(env.svc, CAS, UserKey("telegram", "4004"), values, awaiting_unit=EVIL)
    video = {"kind": "file", "name": 'x"\r\nX-Evil: 1;.mp4', "stored": env.a.video["stored"]}
    await env.svc.storage.update_submission(evil.number, video=video)
    await env.svc.helpdesk.store.create(
        contest_id=CAS, user=ENTRANT, question=EVIL, suggestion=EVIL, now=dt.datetime.now(dt.UTC)
    )
    await sign_in(env, ORGANISER)
    for path in (
        "/console/",
        f"/console/?q={EVIL}",
        f"/console/s/{evil.number}",
        f"/console/s/{evil.number}?notice={EVIL}",
        "/console/units",
        f"/console/units?notice={EVIL}",
        "/console/tickets",
        "/console/overview",
        "/console/audit",
        f"/console/audit?target={EVIL}",
    ):
        text = await (await env.client.get(path)).text()
        assert EVIL not in text and "<script" not in text, path
    response = await env.client.get(f"/console/s/{evil.number}/video")
    assert response.status == 200 and "X-Evil" not in response.headers
    disposition = response.headers["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition and disposition.count('"') == 2
    api = await env.client.get(f"/console/api/submissions/{evil.number}")
    assert api.content_type == "application/json"


async def test_a_crafted_link_cannot_put_its_words_in_the_done_box(env: Env) -> None:
    """A notice shows only when the console itself signed it (after a change it made)."""
    await sign_in(env, ORGANISER)
    phishing = "请立即向以下账户缴纳报名费"
    for path in (f"/console/s/{env.a.number}", "/console/units", "/console/tickets", "/console/broadcasts"):
        page = await (await env.client.get(f"{path}?contest={CAS}&notice={phishing}&ns=0")).text()
        assert phishing not in page, path
    token = await csrf(env, env.a.number)
    done = await env.client.post(
        f"/console/s/{env.a.number}/decision",
        data={"decision": "return", "reason": "请补充播出证明", "items": "platform", "csrf": token},
    )
    page = await done.text()
    assert done.status == 200 and "已记录" in page  # the console's own notice, after the redirect
    assert "ns=" in str(done.url)


# --------------------------------------------------------------------------- input


async def test_absurd_input_is_refused_politely(env: Env) -> None:
    await sign_in(env, ORGANISER)
    number = env.a.number
    for query in ("page=-1", "page=" + "9" * 21, "page=1e9", "sort=__class__", "state=%00", "scan=maybe"):
        assert (await env.client.get(f"/console/?{query}")).status == 200, query
        assert (await env.client.get(f"/console/api/submissions?{query}")).status == 200, query
    for query in ("after_seq=-5", "limit=" + "9" * 30, "order=%00", "limit=abc"):
        assert (await env.client.get(f"/console/audit?{query}")).status == 200, query
    token = await page_csrf(env)
    headers = {"X-CSRF-Token": token}
    url = f"/console/api/submissions/{number}/decision"
    for body in (
        {"decision": "approve"},
        {"decision": "return", "reason": "改", "items": ["no_such_field"]},
        {"decision": "return", "reason": "改", "items": "title"},
        {"decision": ["pass"]},
        [],
        "pass",
    ):
        response = await env.client.post(url, json=body, headers=headers)
        assert response.status == 400, body
    big = io.BytesIO(json.dumps({"decision": "reject", "reason": "长" * 10_000_000}).encode())
    huge = await env.client.post(url, data=big, headers={**headers, "Content-Type": "application/json"})
    assert huge.status == 413
    long = await env.client.post(url, json={"decision": "reject", "reason": "长" * 5000}, headers=headers)
    assert long.status == 400
    sub = await env.svc.storage.get_submission(number)
    assert sub is not None and "review" not in sub.extra
    posted = urlencode({"csrf": token, "decision": "reject", "reason": "长" * 2_000_000}).encode()
    form = await env.client.post(
        f"/console/s/{number}/decision",
        data=io.BytesIO(posted),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status == 413


async def test_control_characters_in_a_reason_are_not_kept(env: Env) -> None:
    await sign_in(env, ORGANISER)
    token = await page_csrf(env)
    response = await env.client.post(
        f"/console/api/submissions/{env.a.number}/decision",
        json={"decision": "return", "reason": "请\x00补充\x1b[2J证明\u202e\x7f", "items": ["title"]},
        headers={"X-CSRF-Token": token},
    )
    assert response.status == 200, await response.text()
    sub = await env.svc.storage.get_submission(env.a.number)
    assert sub is not None
    reason = sub.extra["review"]["reason"]
    assert reason.startswith("请") and not re.search(r"[\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]", reason)


async def test_member_a_still_sees_their_own(env: Env) -> None:
    # A control for the refusals above: the same routes answer the entitled viewer.
    await sign_in(env, MEMBER_A)
    assert PHONE_A in await (await env.client.get(f"/console/s/{env.a.number}")).text()
    assert (await env.client.get(f"/console/s/{env.a.number}/video")).status == 200
    assert MEMBER_B != MEMBER_A


async def test_a_kept_file_named_like_a_page_is_not_served_as_one(env: Env) -> None:
    # A stale or forged record naming an .html or .svg file among the kept ones: served inline
    # as a page of ours, its script would run with the organiser's session.
    await sign_in(env, ORGANISER)
    for name in ("evil.html", "evil.svg", "evil.js", "evil.xhtml"):
        kept = env.settings.data_dir / "videos" / name
        kept.write_text("<html><script>alert(1)</script></html>")
        await _forge(env, str(kept))
        for path in ("video", "scan/1"):
            response = await env.client.get(f"/console/s/{env.a.number}/{path}")
            kind = response.headers.get("Content-Type", "")
            assert not any(t in kind for t in ("html", "svg", "javascript", "xml")), (name, path, kind)


async def test_another_contests_organiser_reaches_nothing_of_this_one(env: Env) -> None:
    other = UserKey("telegram", "5005")
    await bind(env.svc, other, CACSI, Role.ORGANISER)
    ticket = await env.svc.helpdesk.store.create(
        contest_id=CAS, user=ENTRANT, question="竖屏？", suggestion="", now=dt.datetime.now(dt.UTC)
    )
    await sign_in(env, other)
    number = env.a.number
    for path in (
        f"/console/s/{number}",
        f"/console/s/{number}/video",
        f"/console/s/{number}/receipt.pdf",
        f"/console/s/{number}.zip",
        f"/console/api/submissions/{number}",
        f"/console/export/{CAS}.zip",
        f"/console/api/units?contest={CAS}",
    ):
        assert (await env.client.get(path)).status == 404, path
    for path in ("/console/tickets", "/console/audit", "/console/audit.csv", "/console/overview"):
        assert (await env.client.get(f"{path}?contest={CAS}")).status == 403, path
    listing = await (await env.client.get(f"/console/api/submissions?contest={CAS}")).json()
    assert listing["contest"] == CACSI and listing["submissions"] == []
    token = await page_csrf(env, f"/console/tickets?contest={CACSI}")
    for path, data in (
        (f"/console/tickets/{ticket.id}/answer", {"text": "可以", "close": "1"}),
        (f"/console/tickets/{ticket.id}/close", {}),
    ):
        for contest in (CACSI, CAS):
            response = await env.client.post(path, data={**data, "csrf": token, "contest": contest})
            assert response.status in (403, 404), (path, contest)
    kept = await env.svc.helpdesk.store.get(ticket.id)
    assert kept is not None and kept.status == "open" and kept.reply == ""
    api = await env.client.post(
        f"/console/api/submissions/{number}/decision",
        json={"decision": "pass"},
        headers={"X-CSRF-Token": token},
    )
    assert api.status == 404
    confirm = await env.client.post("/console/units/confirm", data={"csrf": token, "number": env.b.number})
    assert confirm.status == 400 and "海洋之歌" not in await confirm.text()


async def test_behind_a_trusted_proxy_one_client_cannot_lock_everybody_out(tmp_path: Path) -> None:
    # Behind nginx (README) every request comes from 127.0.0.1: without knowing the proxy, 20 junk
    # tries by anybody refused every organiser's sign-in for ten minutes, and the audit log's
    # source was the proxy's address.  With BOT_TRUSTED_PROXIES the client's own address counts.
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        contests_dir=tmp_path / "contests",
        trusted_proxies="127.0.0.1",
    )
    app = create_app(settings, channels=[], upload_settings=UploadSettings(_env_file=None, secret=SECRET))  # type: ignore[call-arg]
    async with TestClient(TestServer(app)) as client:
        svc: Services = app[SERVICES]
        await bind(svc, ORGANISER, CAS, Role.ORGANISER)
        statuses = []
        for _ in range(25):
            junk = await client.post(
                "/console/login/" + "x" * 43,
                headers={"X-Forwarded-For": "203.0.113.9"},
                allow_redirects=False,
            )
            statuses.append(junk.status)
        assert statuses[-1] == 429
        spoofed = await client.post(
            "/console/login/" + "x" * 43,
            headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.9"},  # the proxy appends the real one
            allow_redirects=False,
        )
        assert spoofed.status == 429
        path = await link_for(svc, ORGANISER)
        done = await client.post(path, headers={"X-Forwarded-For": "198.51.100.7"}, allow_redirects=False)
        assert done.status == 303
        [entry] = await svc.stores.audit.list_entries(action_prefix="console.login")
        assert entry.source == "198.51.100.7"


async def test_no_range_trick_watches_a_video_without_an_audit_entry(env: Env) -> None:
    # Only a range starting with "bytes=0-" was recorded: "bytes=1-" (all but one byte),
    # "bytes=00-" or a suffix range as long as the file fetched it unrecorded.
    for ranged in ("bytes=1-", "bytes=00-", f"bytes=-{len(VIDEO)}", "bytes=0000-"):
        await sign_in(env, ORGANISER)
        before = await env.svc.stores.audit.list_entries(target=env.a.number, action_prefix="file.video")
        response = await env.client.get(f"/console/s/{env.a.number}/video", headers={"Range": ranged})
        assert response.status == 206 and len(await response.read()) >= len(VIDEO) - 1, ranged
        after = await env.svc.stores.audit.list_entries(target=env.a.number, action_prefix="file.video")
        assert len(after) == len(before) + 1, ranged
    # A player's many ranges of one viewing are one entry.
    for ranged in ("bytes=0-", "bytes=4096-", "bytes=8192-"):
        await env.client.get(f"/console/s/{env.a.number}/video", headers={"Range": ranged})
    assert len(await env.svc.stores.audit.list_entries(target=env.a.number, action_prefix="file.video")) == 4


async def test_a_member_cannot_confirm_another_units_entry(env: Env) -> None:
    await sign_in(env, MEMBER_A)
    token = await page_csrf(env)
    for number in (env.b.number, env.b.number.lower() + " ", "KP2024-999999"):
        response = await env.client.post(
            "/console/units/confirm", data={"csrf": token, "number": number, "contest": CAS}
        )
        assert response.status == 400, number
        assert "海洋之歌" not in await response.text() and "13900139000" not in await response.text()
    kept = await env.svc.storage.get_submission(env.b.number)
    assert kept is not None and kept.extra.get("awaiting_unit")
    assert not await env.svc.stores.audit.list_entries(action_prefix="unit.confirm")
