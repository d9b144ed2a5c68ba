"""The command line as an operator uses it: real subprocesses, real files, a real web server."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app, freeze_heap
from bot.settings import Settings
from tests.cli_runner import run_bot
from tests.conftest import OPEN_ID, write_open_edition

ROOT = Path(__file__).resolve().parents[1]


def run(args: list[str], data_dir: Path, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    environ.update({"BOT_DATA_DIR": str(data_dir), **env})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=data_dir,  # no .env of the developer's is picked up
        env=environ,
        # A whole terminal submission (a video checked, forms drawn) took over 60 s on a machine
        # loaded by other work: the bound is for a hung process, not a speed test.
        timeout=240,
        check=False,
    )


def command(args: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    """A command's own behaviour, run in this process (tests/cli_runner.py); ``run`` is kept
    for what needs the real entry point: a terminal chat, a closed pipe, a served port."""
    return run_bot(args, env={"BOT_DATA_DIR": str(data_dir)}, cwd=data_dir)


def test_contests_json_lists_every_preset_with_forms_and_field_limits(tmp_path: Path) -> None:
    result = command(["contests", "--json"], tmp_path)
    assert result.returncode == 0, result.stderr
    rows = {row["id"]: row for row in json.loads(result.stdout)}
    assert set(rows) == {
        "most-2023-tech-envoy",
        "cq-2023-scientist-spirit",
        "most-cas-2024-kepu",
        "hlj-2022-kepu",
        "cacsi-2022-youth",
    }
    assert all(row["status"] == "closed" for row in rows.values())  # all five are past their deadlines
    kepu = rows["most-cas-2024-kepu"]
    assert [c["id"] for c in kepu["channels"]] == ["recommend", "self"]
    fields = {f["id"]: f for f in kepu["forms"][0]["fields"]}
    assert fields["summary"]["label"] == "内容简介"
    assert fields["summary"]["limits"] == {"max_chars": 100}
    cacsi_video = next(f for f in rows["cacsi-2022-youth"]["forms"] if f["id"] == "video")
    assert next(f for f in cacsi_video["fields"] if f["id"] == "summary")["limits"]["max_chars"] == 300


def test_two_editions_never_share_a_numbering_sequence(tmp_path: Path) -> None:
    """most-cas 2024 and envoy 2023 both rolled to KP2026: envoy now has letters of its own, and
    a prefix another contest holds is refused until the edition is given another."""
    first = [
        "contests",
        "new",
        "--from",
        "most-cas-2024-kepu",
        "--id",
        "most-cas-2026",
        "--deadline",
        "2026-10-25",
    ]
    assert command(first, tmp_path).returncode == 0
    second = [
        "contests",
        "new",
        "--from",
        "most-2023-tech-envoy",
        "--id",
        "envoy-2026",
        "--deadline",
        "2026-06-30",
    ]
    refused = command([*second, "--prefix", "KP2026"], tmp_path)
    assert refused.returncode == 2 and "KP2026" in refused.stderr and "most-cas-2026" in refused.stderr
    assert not (tmp_path / "contests" / "envoy-2026.yaml").exists()
    assert command(second, tmp_path).returncode == 0
    listed = json.loads(command(["contests", "--json"], tmp_path).stdout)
    assert {"most-cas-2026", "envoy-2026"} <= {r["id"] for r in listed}
    written = (tmp_path / "contests" / "envoy-2026.yaml").read_text(encoding="utf-8")
    assert "number_prefix: TP2026" in written


def test_a_contest_file_taking_another_contests_prefix_is_refused_at_load(tmp_path: Path) -> None:
    """A hand-edited file can still name a prefix in use: every command refuses to start."""
    folder = tmp_path / "contests"
    folder.mkdir()
    text = (ROOT / "contests" / "presets" / "hlj-2022-kepu.yaml").read_text(encoding="utf-8")
    text = text.replace("id: hlj-2022-kepu", "id: hlj-copy").replace("HLJ2022", "QK2022")
    (folder / "hlj-copy.yaml").write_text(text, encoding="utf-8")
    result = command(["contests"], tmp_path)
    assert result.returncode == 2
    assert "QK2022" in result.stderr and "hlj-copy" in result.stderr and "cacsi-2022-youth" in result.stderr


def test_new_edition_moves_the_prose_dates_and_shows_every_line_to_check(tmp_path: Path) -> None:
    args = ["contests", "new", "--from", "hlj-2022-kepu", "--id", "hlj-2027-kepu"]
    made = command([*args, "--deadline", "2027-05-20", "--opens", "2027-04-01"], tmp_path)
    assert made.returncode == 0, made.stderr
    written = (tmp_path / "contests" / "hlj-2027-kepu.yaml").read_text(encoding="utf-8")
    assert (
        "请于5月20日前，使用微信扫描二维码进入活动页面（“2027年黑龙江省科普微视频征集评选活动”）" in written
    )
    assert "5月9日" not in written
    out = made.stdout
    assert "delivery.methods[0]：5月9日 → 5月20日" in out
    lines = out.splitlines()
    check = lines.index(next(line for line in lines if "仍需对照新通知核对" in line))
    listed = "\n".join(lines[check:])
    # The activity page's line, the names given the new year and the old notice's number.
    assert "delivery.methods[0]（" in listed and "活动页面" in listed
    assert "title（名称中的年份已改为新一届的年份" in listed
    assert "notice（上一届通知的文号和日期" in listed and "〔2022〕175号" in listed


def test_a_new_edition_without_opens_is_a_draft_not_open_to_entrants(tmp_path: Path) -> None:
    """Trial: ``contests new`` without --opens said to check the file before opening, yet the
    edition was listed as [征集中] at once and offered to new entrants."""
    args = ["contests", "new", "--from", "cq-2023-scientist-spirit", "--id", "cq-2027-x"]
    made = command([*args, "--deadline", "2027-05-31"], tmp_path)
    assert made.returncode == 0, made.stderr
    assert "尚未开放报名" in made.stdout and "opens:" in made.stdout and "draft: true" in made.stdout
    assert "draft: true" in (tmp_path / "contests" / "cq-2027-x.yaml").read_text(encoding="utf-8")
    listed = command(["contests"], tmp_path).stdout
    line = next(x for x in listed.splitlines() if x.startswith("cq-2027-x "))
    assert "征集中" not in line and "草稿" in line, line
    rows = {r["id"]: r for r in json.loads(command(["contests", "--json"], tmp_path).stdout)}
    assert rows["cq-2027-x"]["status"] == "draft"
    # With --opens the organiser has said when it opens: no draft.
    opened = command([*args[:-1], "cq-2099-y", "--deadline", "2099-05-31", "--opens", "2026-11-01"], tmp_path)
    assert opened.returncode == 0, opened.stderr
    assert "draft" not in (tmp_path / "contests" / "cq-2099-y.yaml").read_text(encoding="utf-8")
    rows = {r["id"]: r for r in json.loads(command(["contests", "--json"], tmp_path).stdout)}
    assert rows["cq-2099-y"]["status"] == "open"


def test_contests_new_opening_after_its_deadline_is_refused_in_plain_words(tmp_path: Path) -> None:
    args = ["contests", "new", "--from", "cq-2023-scientist-spirit", "--id", "cq-2027-x"]
    refused = command([*args, "--opens", "2027-12-30", "--deadline", "2027-12-25"], tmp_path)
    assert refused.returncode == 2
    assert "开始日期" in refused.stderr and "晚于截止日期" in refused.stderr, refused.stderr
    assert "2027-12-30" in refused.stderr and "2027-12-25" in refused.stderr
    assert "validation error" not in refused.stderr and "pydantic" not in refused.stderr
    assert not (tmp_path / "contests" / "cq-2027-x.yaml").exists()
    # Last year's opening moved by a year can fall after an earlier deadline: not written, listed.
    moved = ["contests", "new", "--from", "hlj-2022-kepu", "--id", "hlj-2027-x", "--deadline", "2027-02-01"]
    made = command(moved, tmp_path)
    assert made.returncode == 0, made.stderr
    assert "opens" in made.stdout and "2027-03-28" in made.stdout
    written = (tmp_path / "contests" / "hlj-2027-x.yaml").read_text(encoding="utf-8")
    assert "opens:" not in written and "draft: true" in written


def test_new_edition_then_a_whole_submission_in_the_terminal(tmp_path: Path) -> None:
    args = ["contests", "new", "--from", "hlj-2022-kepu", "--id", "hlj-2099-kepu", "--deadline", "2099-05-09"]
    made = command([*args, "--opens", "2026-01-01"], tmp_path)
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "contests" / "hlj-2099-kepu.yaml").is_file()
    again = command(args, tmp_path)
    assert again.returncode == 2 and "已存在" in again.stderr

    listed = json.loads(command(["contests", "--json"], tmp_path).stdout)
    assert {r["id"]: r["status"] for r in listed}["hlj-2099-kepu"] == "open"

    answers = [
        "2",  # 个人自荐
        "张三工作室", "黑土地上的科学", "农业科技", "2098年6月1日", "张三、李四",
        "哔哩哔哩 https://www.bilibili.com/video/BV1xx411c7mD", "哈尔滨市南岗区某街1号",
        "0451-51920576", "zhang@example.cn", "介绍黑土保护的科学知识。", "用动画讲清黑土形成过程。",
        "播放量1.2万", "同意", "链接: https://pan.baidu.com/s/1AbCdEfG 提取码: k3p9", "确认提交",
    ]  # fmt: skip
    chat = run(["chat", "--user", "zhang"], tmp_path, stdin="\n".join(answers) + "\n")
    assert chat.returncode == 0, chat.stderr
    assert "提交成功！报名编号：HLJ2099-000001" in chat.stdout, chat.stdout[-2000:]

    # The draft of a half-finished chat is there for the next run, as after a restart.
    first = run(["chat", "--user", "wang"], tmp_path, stdin="2\n王五\n")
    assert "请填写「作品名称」" in first.stdout
    second = run(["chat", "--user", "wang"], tmp_path, stdin="进度\n")
    assert "欢迎回来" in second.stdout and "已填写：1/13 项" in second.stdout


def test_the_terminal_sends_a_video_and_the_signed_scan_with_file(tmp_path: Path) -> None:
    """Regression: ``/file PATH`` handed the dialog no local copy, so every file, even a small valid
    MP4 or a JPG scan, was taken for one too large for the chat and refused."""
    import datetime as dt

    from PIL import Image, ImageDraw

    from contests.editions import new_edition
    from contests.registry import ContestRegistry, dump_contest
    from tests.media_factory import MediaFactory, Video

    source = ContestRegistry.load().get("hlj-2022-kepu")
    assert source is not None
    data = new_edition(source, "hlj-2099-kepu", dt.date(2099, 5, 9), opens=dt.date(2026, 1, 1))
    data["video"].update(min_duration_s=1, max_duration_s=10, max_size_mib=4)
    del data["video"]["min_size_mib"]  # a small test video, every other rule the notice's
    dump_contest(data, tmp_path / "contests" / "hlj-2099-kepu.yaml")
    media = MediaFactory(tmp_path / "media")
    video = media.video(Video(width=640, height=360, seconds=2))
    scan = tmp_path / "media" / "签字盖章.jpg"
    page = Image.new("RGB", (600, 800), "white")  # the form's frame: a page, not a photo
    ImageDraw.Draw(page).rectangle((30, 30, 570, 770), outline="black", width=6)
    page.save(scan, "JPEG")
    folder = tmp_path / "media" / "一个文件夹"
    folder.mkdir()
    loop = tmp_path / "media" / "loop.mp4"
    loop.symlink_to(loop)  # no file behind it: unreadable even for root

    answers = [
        "2",  # 个人自荐
        "张三工作室", "黑土地上的科学", "农业科技", "2098年6月1日", "张三、李四",
        "哔哩哔哩 https://www.bilibili.com/video/BV1xx411c7mD", "哈尔滨市南岗区某街1号",
        "0451-51920576", "zhang@example.cn", "介绍黑土保护的科学知识。", "用动画讲清黑土形成过程。",
        "播放量1.2万", "同意",
        "/file", f"/file {tmp_path / 'nope.mp4'}", f"/file {folder}", f"/file {loop}",
        f'/file "{video}"', "确认提交", f"/file {scan}", "完成",
    ]  # fmt: skip
    shared = tmp_path / "shared"  # BOT_MEDIA_DIR: the files, apart from the keys and the database
    chat = run(
        ["chat", "--user", "zhang"], tmp_path, stdin="\n".join(answers) + "\n", BOT_MEDIA_DIR=str(shared)
    )
    assert chat.returncode == 0, chat.stderr
    out = chat.stdout
    assert "用法：/file 文件路径" in out
    assert f"找不到文件：{tmp_path / 'nope.mp4'}" in out
    assert f"{folder} 是一个文件夹" in out
    assert f"无法读取文件：{loop}" in out
    assert "超出了聊天软件允许机器人接收的大小" not in out, out[-3000:]
    assert "✅ 视频检查通过" in out, out[-3000:]
    assert "提交成功！报名编号：HLJ2099-000001" in out, out[-3000:]
    assert "已收到第1个扫描件" in out, out[-3000:]
    # The drawn form is saved where the entrant can open it, and the path is printed (tried: only
    # "[文件] 名字" was shown, the file sat under a temporary name and was swept hours later).
    saved = re.search(r"\[文件\] [^\n]*推荐表\.pdf，已保存到：(\S+)", out) or re.search(
        r"\[文件\] [^\n]*\.pdf，已保存到：(\S+)", out
    )
    assert saved is not None, out[-3000:]
    assert Path(saved[1]).read_bytes().startswith(b"%PDF-")
    # The service's log (an operator's hand-off ticket among it) is in its file, not the chat.
    logged = (tmp_path / "logs" / "chat.log").read_text(encoding="utf-8")
    assert "receipt signing key" in logged and "receipt signing key" not in out + chat.stderr
    # What the dialog kept are copies; the entrant's own files are where they were.
    [kept] = (shared / "videos").iterdir()
    assert kept.read_bytes() == video.read_bytes()
    [kept_scan] = (shared / "scans" / "HLJ2099-000001").iterdir()
    assert kept_scan.name == "scan-1.jpg" and kept_scan.read_bytes() == scan.read_bytes()
    assert list((shared / "incoming").iterdir()) == []
    assert not any((tmp_path / name).exists() for name in ("videos", "scans", "incoming", "drawn"))


def test_contests_new_from_an_unknown_contest_fails_clearly(tmp_path: Path) -> None:
    result = command(
        ["contests", "new", "--from", "nope", "--id", "x-2099", "--deadline", "2099-01-01"], tmp_path
    )
    assert result.returncode == 2
    assert "没有找到大赛 'nope'" in result.stderr
    bad_date = command(
        ["contests", "new", "--from", "hlj-2022-kepu", "--id", "x-2099", "--deadline", "明年"], tmp_path
    )
    assert bad_date.returncode == 2 and "日期格式应为 YYYY-MM-DD" in bad_date.stderr


def test_a_broken_contest_file_is_named_with_its_field(tmp_path: Path) -> None:
    folder = tmp_path / "contests"
    folder.mkdir()
    (folder / "broken-2099.yaml").write_text("id: broken-2099\ntitle: 1\n", encoding="utf-8")
    result = command(["contests"], tmp_path)
    assert result.returncode == 2
    assert "broken-2099.yaml" in result.stderr and "deadline" in result.stderr


def test_chat_with_a_closed_contest_says_so(tmp_path: Path) -> None:
    result = run(["chat", "--contest", "most-cas-2024-kepu", "--user", "x"], tmp_path, stdin="")
    assert result.returncode == 0
    assert "已于2024年10月25日（北京时间）截止征集" in result.stdout


def test_bad_settings_fail_with_a_message(tmp_path: Path) -> None:
    result = run_bot(
        ["contests"], env={"BOT_DATA_DIR": str(tmp_path), "BOT_HTTP_PORT": "not-a-port"}, cwd=tmp_path
    )
    assert result.returncode == 2 and "配置有误" in result.stderr


@pytest.mark.parametrize("args", [["contests"], ["contests", "--json"]])
def test_a_listing_into_a_closed_pipe_ends_quietly(tmp_path: Path, args: list[str]) -> None:
    """Regression: ``python -m bot contests | head`` ended in a BrokenPipeError traceback."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    environ["BOT_DATA_DIR"] = str(tmp_path)
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before anything is written, as after `head` quits
    try:
        result = subprocess.run(
            [sys.executable, "-m", "bot", *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            env=environ,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 1  # as Python's documentation recommends for EPIPE
    assert "Traceback" not in result.stderr and "BrokenPipeError" not in result.stderr, result.stderr
    assert "Exception ignored" not in result.stderr, result.stderr


@pytest.mark.parametrize("redis", [False, True])
async def test_serve_answers_healthz(tmp_path: Path, redis: bool) -> None:
    settings = Settings(
        data_dir=tmp_path,
        redis_url="redis://127.0.0.1:6379/0" if redis else None,
        redis_prefix="kepu-test-healthz",
    )
    async with TestClient(TestServer(create_app(settings))) as client:
        resp = await client.get("/healthz")
        assert resp.status == 200
        body = await resp.json()
    assert body == {
        "status": "ok",
        "storage": "redis" if redis else "sqlite",
        "store": "ok",
        "contests": 5,
        "channels": ["web"],  # no chat platform configured: the web chat page is served
    }


async def test_freeze_heap_takes_what_exists_out_of_the_gcs_scans() -> None:
    import gc

    from aiohttp import web

    before = gc.get_freeze_count()
    try:
        await freeze_heap(web.Application())
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()  # back to the oldest generation: this test process goes on collecting


def test_serve_freezes_the_heap_after_everything_else_has_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import argparse

    from aiohttp import web

    from bot.commands import serve

    for key in [k for k in os.environ if k.startswith("BOT_")]:
        monkeypatch.delenv(key)
    started: list[web.Application] = []
    monkeypatch.setattr(web, "run_app", lambda app, **kwargs: started.append(app))
    assert serve.run(argparse.Namespace(), Settings(_env_file=None, data_dir=tmp_path)) == 0
    [app] = started
    assert app.on_startup[-1] is freeze_heap
    # Not in create_app: the tests build many apps in one process.
    assert freeze_heap not in create_app(Settings(_env_file=None, data_dir=tmp_path)).on_startup


def test_serve_access_log_keeps_no_tokens_or_query(tmp_path: Path) -> None:
    """Upload links are bearer tokens and WeChat's query names the user: neither may reach the
    log that operators ship elsewhere; the route, method and status still do."""
    import contextlib
    import socket
    import time
    import urllib.error
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    environ.update({"BOT_DATA_DIR": str(tmp_path), "BOT_HTTP_PORT": str(port), "BOT_REMIND_WORKER": "false"})
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"],
        cwd=tmp_path,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    token = "SeCrEtToKeN.abcdef0123456789"
    base = f"http://127.0.0.1:{port}"
    try:
        # Until it answers or dies: starting took over 20 s on a loaded machine.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        for path in (f"/upload/{token}/status", f"/wechat/files/{token}", "/healthz?openid=oPrivateOpenId"):
            # Refused (no such link): what matters is the log line.
            with contextlib.suppress(urllib.error.HTTPError):
                urllib.request.urlopen(base + path, timeout=5).close()
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=30)
    assert '"GET /upload/…/status" 403' in output, output  # a forged link is refused, and logged
    assert '"GET /wechat/files/…" 404' in output
    assert '"GET /healthz" 200' in output
    assert token not in output and "oPrivateOpenId" not in output


def test_a_bound_organiser_broadcasts_from_the_terminal(tmp_path: Path) -> None:
    """Tried in ``python -m bot chat``: “广播 全部 …” was answered “没有找到这个大赛”."""
    write_open_edition(tmp_path / "contests")
    issued = command(["invite", "--contest", OPEN_ID, "--role", "organiser"], tmp_path)
    code = re.search(r"KP-[A-Z0-9-]+", issued.stdout)
    assert code is not None, issued.stdout
    lines = f"绑定 {code.group(0)}\n广播 全部 明天截止，请尽快提交\n"
    done = run(["chat", "--user", "boss"], tmp_path, stdin=lines)
    assert "没有找到这个大赛" not in done.stdout and "回复“确认广播 B" in done.stdout, done.stdout
    assert "广播由运行中的 python -m bot serve 发送" in done.stdout
