"""The Telegram channel end to end: real aiogram inside the real ``serve`` app, against the fake
Bot API server of ``tests/fakes/telegram_api.py`` (which fails the test on any unexpected or
malformed call), on SQLite and on real Redis."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web import Application
from pydantic import ValidationError
from pypdf import PdfWriter

from bot.app import create_app
from bot.channels.telegram import MENU, TELEGRAM, TelegramSettings, create
from bot.channels.telegram_files import IN_MEMORY_LIMIT
from bot.channels.telegram_replies import (
    MAX_CALLBACK_DATA,
    UNFIT_CALLBACK,
    callback_data,
    keyboard,
    merge_replies,
    split_text,
    utf16_len,
)
from bot.keys import SERVICES
from bot.services import Services, services
from bot.settings import Settings
from contests.events import Choice, Document, EventKind, Incoming, Reply
from contests.records import Turn, UserKey
from contests.rules import Contest
from handlers.outbound import turn_key
from tests.conftest import OPEN_ID, ChatDriver, valid_answer, write_open_edition
from tests.fakes.telegram_api import TOKEN, Call, FakeTelegram


def signed_pdf() -> bytes:
    """A real one-page PDF: a returned scan is opened with a PDF parser, not judged by "%PDF"."""
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.add_metadata({"/Title": "signed and sealed"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


SECRET = "test-webhook-secret_0123456789"
WEBHOOK_URL = "https://kepu.example.cn/telegram"
MB = 1024 * 1024
# Direct video links are probed over the network by the dialog; a cloud-drive share link is
# recorded as given (and works offline), so the tests answer the video step with one.
SHARE_LINK = "链接: https://pan.baidu.com/s/1AbCdEfG 提取码: k3p9"


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram()
    await server.start()
    yield server
    await server.close()
    server.assert_clean()


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    write_open_edition(tmp_path / "contests")
    return Settings(_env_file=None, data_dir=tmp_path, contests_dir=tmp_path / "contests")


def tg_config(fake: FakeTelegram, **overrides: Any) -> TelegramSettings:
    values: dict[str, Any] = {
        "token": TOKEN,
        "mode": "webhook",
        "api_server": fake.url,
        "webhook_url": WEBHOOK_URL,
        "webhook_secret": SECRET,
        **overrides,
    }
    return TelegramSettings(_env_file=None, **values)


@dataclass
class Running:
    client: TestClient[Any, Application]
    app: Application
    fake: FakeTelegram
    config: TelegramSettings

    @property
    def services(self) -> Services:
        return self.app[SERVICES]

    def user(self, user_id: int) -> TgUser:
        return TgUser(self, user_id)


@asynccontextmanager
async def running(settings: Settings, fake: FakeTelegram, **overrides: Any) -> AsyncIterator[Running]:
    """``serve``'s app with only the Telegram channel, started and stopped around the block."""
    config = tg_config(fake, **overrides)
    channel = create(settings, config)
    assert channel is not None
    app = create_app(settings, channels=[channel])
    async with TestClient(TestServer(app)) as client:
        yield Running(client, app, fake, config)


Run = Callable[..., AbstractAsyncContextManager[Running]]


class TgUser:
    """One entrant in a private chat: sends updates as Telegram POSTs them to the webhook and
    reads what the bot sent back (the webhook answers after the replies went out)."""

    def __init__(self, run: Running, user_id: int) -> None:
        self.run = run
        self.id = user_id
        self.key = UserKey("telegram", str(user_id))

    async def post(self, update: dict[str, Any], secret: str | None = SECRET) -> int:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        resp = await self.run.client.post("/telegram", json=update, headers=headers)
        await resp.read()
        return resp.status

    async def send(self, update: dict[str, Any]) -> str:
        """Post ``update``; the texts the bot sent in reply, joined."""
        before = len(self.run.fake.sent(self.id))
        assert await self.post(update) == 200
        return "\n".join(self.run.fake.texts(self.id)[before:])

    async def say(self, text: str) -> str:
        return await self.send(self.run.fake.text(self.id, text))

    async def press(self, data: str) -> str:
        return await self.send(self.run.fake.press(self.id, data))

    async def press_label(self, label: str) -> str:
        """Press the button whose label starts with ``label`` under the latest keyboard."""
        buttons = self.run.fake.last_keyboard(self.id)
        data = next((d for text, d in buttons if text.startswith(label)), None)
        assert data is not None, f"no button {label!r} in {buttons}"
        return await self.press(data)

    async def draft(self) -> dict[str, Any] | None:
        d = await self.run.services.storage.get_draft(self.key)
        return d.data if d else None


async def fill_to_review(user: TgUser, contest: Contest) -> str:
    """Every question answered correctly, with buttons where the bot offers them."""
    text = await user.say("/start")
    assert "请选择参赛渠道" in text
    text = await user.press_label("社会征集（自荐）")
    for field in contest.form("self").fields:
        assert f"「{field.label}」" in text, f"expected the prompt for {field.id}, got {text}"
        text = await user.say(valid_answer(field, contest))
    assert "请提交参赛视频" in text
    return await user.say(SHARE_LINK)


def open_contest(run: Running) -> Contest:
    contest = run.services.contests.get(OPEN_ID)
    assert contest is not None
    return contest


# ---------------------------------------------------------------------------- a whole submission
async def test_whole_submission_through_the_webhook_with_buttons(
    settings: Settings, fake: FakeTelegram, tmp_path: Path
) -> None:
    async with running(settings, fake) as run:
        contest = open_contest(run)
        user = run.user(5512345678)
        review = await fill_to_review(user, contest)
        assert "请核对报名信息" in review
        assert [label for label, _ in fake.last_keyboard(user.id)] == ["确认提交", "修改", "取消"]
        # Change one answer through the edit menu's buttons, then confirm by button.
        assert "要修改哪一项" in await user.press_label("修改")
        assert "请填写「作品名称」" in await user.press_label("2. 作品名称")  # as asked, 【2/14】
        assert "作品名称：星空下的实验室" in await user.say("星空下的实验室")
        done = await user.press_label("确认提交")
        number = f"{contest.number_prefix}-000001"
        assert f"提交成功！报名编号：{number}" in done
        assert await user.draft() is not None  # now waiting for the signed form

        # The form to print and sign arrives as documents (drawn after the reply and pushed),
        # with the number in their names.
        def documents() -> list[Call]:
            return [c for c in fake.sent(user.id) if c.method == "sendDocument"]

        await fake.wait_for(lambda: len(documents()) >= 2, within=30)
        forms = documents()
        names = sorted(u.filename for c in forms for u in c.files.values())
        assert [n.rsplit(".", 1)[1] for n in names] == ["docx", "pdf"] and all(number in n for n in names)
        pdf = next(u.content for c in forms for u in c.files.values() if u.filename.endswith(".pdf"))
        assert pdf.startswith(b"%PDF")

        # The signed scan goes back as a document: downloaded through the file endpoint, kept by
        # the dialog, and the channel's temporary copy removed.
        signed = signed_pdf()
        scan = fake.add_file(signed)
        text = await user.send(fake.document(user.id, scan, "签字盖章.pdf"))
        assert "已收到第1个扫描件" in text
        assert [c.method for c in fake.calls if c.method in ("getFile", "download")] == [
            "getFile",
            "download",
        ]
        receipt = await user.press_label("完成")
        assert f"报名 {number} 材料齐全" in receipt
        await fake.wait_for(lambda: len(documents()) == 3, within=30)
        assert [u.filename for u in documents()[-1].files.values()] == [f"{number}_回执.pdf"]
        assert any("【投稿回执】" in t for t in fake.texts(user.id))
        assert await user.draft() is None

        subs = await run.services.storage.list_submissions(user=user.key)
        assert [(s.number, s.status) for s in subs] == [(number, "complete")]
        assert subs[0].answers["title"] == "星空下的实验室"
        assert subs[0].answers["phone"] == "13800138000"
        (kept,) = subs[0].extra["scans"]
        assert Path(kept).read_bytes() == signed
        assert not list((settings.data_dir / "incoming").iterdir())  # no temp file left behind
        # Every press was answered exactly once; every keyboard fit Telegram's limits (the fake
        # checks callback_data and would have recorded an error).
        assert fake.callback_ids and all(fake.callback_ids.values())
        assert len(fake.called("answerCallbackQuery")) == len(fake.callback_ids)

    # The same conversation typed in the terminal (on a store of its own: the same work twice
    # in one contest is refused) stores the same submission.
    alone = Settings(_env_file=None, data_dir=tmp_path / "terminal", contests_dir=settings.contests_dir)
    async with services(alone) as svc:
        terminal = ChatDriver(svc.submit, UserKey("terminal", "same-answers"))
        await terminal.start()
        await terminal.say("自荐")
        for field in contest.form("self").fields:
            answer = "星空下的实验室" if field.id == "title" else valid_answer(field, contest)
            await terminal.say(answer)
        await terminal.say(SHARE_LINK)
        assert f"报名编号：{number}" in await terminal.say("确认提交")
        (twin,) = await svc.storage.list_submissions(user=terminal.user)
    assert (twin.contest_id, twin.channel_id, twin.form_id, twin.answers, twin.video) == (
        subs[0].contest_id,
        subs[0].channel_id,
        subs[0].form_id,
        subs[0].answers,
        subs[0].video,
    )


async def test_startup_fills_the_menu_and_sets_the_webhook_with_its_secret(
    sqlite_settings: Settings, fake: FakeTelegram
) -> None:
    async with running(sqlite_settings, fake) as run:
        assert run.services.notifiers["telegram"] is not None
        assert [(c["command"], c["description"]) for c in fake.commands] == list(MENU)
        assert all(any("\u4e00" <= ch <= "\u9fff" for ch in d) for _, d in MENU)  # Chinese
        assert fake.webhook == {
            "url": WEBHOOK_URL,
            "secret_token": SECRET,
            "allowed_updates": ["callback_query", "message"],
        }
        assert not fake.called("deleteWebhook") and not fake.called("getUpdates")
    assert "telegram" not in run.services.notifiers  # unregistered on shutdown


# ---------------------------------------------------------------------------- buttons
async def test_stale_button_restarts_its_step(settings: Settings, fake: FakeTelegram) -> None:
    async with running(settings, fake) as run:
        user = run.user(601)
        await user.say("/start")
        old_buttons = fake.last_keyboard(user.id)
        await user.press_label("社会征集（自荐）")
        before = await user.draft()
        assert before is not None and before["field"] == "unit"
        text = await user.press(old_buttons[0][1])  # the channel step is over: stale
        assert "按钮已过期" in text and "请填写「自荐机构（个人）」" in text
        assert await user.draft() == before


@pytest.mark.parametrize("data", ["", "garbage", "|", "field:title|1", "channel|99", "x" * 64, "review|1"])
async def test_malformed_or_unknown_button_data_is_a_stale_button(
    sqlite_settings: Settings, fake: FakeTelegram, data: str
) -> None:
    async with running(sqlite_settings, fake) as run:
        user = run.user(602)
        await user.say("/start")
        await user.press_label("社会征集（自荐）")
        before = await user.draft()
        text = await user.press(data)
        assert "按钮已过期" in text and "请填写「自荐机构（个人）」" in text
        assert await user.draft() == before
        assert all(fake.callback_ids.values())  # answered all the same


def test_long_payloads_become_short_numbered_callback_data() -> None:
    fits = Choice("自荐", "channel|2")
    assert callback_data(fits, 2) == "channel|2"
    long_value = Choice("某个很长的选项", "field:category|" + "科普" * 30)
    assert len(long_value.payload.encode()) > MAX_CALLBACK_DATA
    assert callback_data(long_value, 7) == "field:category|7"  # the dialog accepts the number
    hopeless = Choice("?", "t" * 70 + "|1")
    assert callback_data(hopeless, 1) == UNFIT_CALLBACK
    # Where numbers name something else (the review page's items), the words are sent instead.
    action = Choice("确认提交", "review|" + "confirm" * 10)
    assert callback_data(action, 1, numbered=False) == "review|确认提交"
    markup = keyboard(
        [Choice("确认提交", "review|1"), Choice("修改", "review|2"), Choice("取消", "review|3")]
    )
    assert markup is not None and len(markup.inline_keyboard) == 1  # short labels share a row
    markup = keyboard([Choice("作品名称：一个比较长的标题", "edit|1"), Choice("联系电话：138…", "edit|2")])
    assert markup is not None and len(markup.inline_keyboard) == 2
    assert keyboard([]) is None


def test_long_texts_are_split_at_lines_within_telegrams_limit() -> None:
    text = "\n".join(f"第{i}行：" + "科普" * 50 for i in range(100))
    pieces = split_text(text)
    assert len(pieces) > 1 and all(utf16_len(p) <= 4096 for p in pieces)
    assert "\n".join(pieces) == text
    emoji = "🔬" * 3000  # 2 UTF-16 units each: Telegram counts 6000
    assert all(utf16_len(p) <= 4096 for p in split_text(emoji)) and "".join(split_text(emoji)) == emoji


# ---------------------------------------------------------------------------- files
async def test_video_over_20_mb_gets_the_dialogs_upload_reply_without_getfile(
    settings: Settings, fake: FakeTelegram
) -> None:
    async with running(settings, fake) as run:
        contest = open_contest(run)
        user = run.user(701)
        await user.say("/start")
        text = await user.press_label("社会征集（自荐）")
        for field in contest.form("self").fields:
            text = await user.say(valid_answer(field, contest))
        assert "请提交参赛视频" in text
        big = fake.add_file(size=150 * MB)
        text = await user.send(fake.video(user.id, big, "作品.mp4"))
        assert "「作品.mp4」" in text and "超出了聊天软件允许机器人接收的大小" in text
        assert "系统" not in text  # not the internal-error message
        assert fake.called("getFile") == [] and fake.called("download") == []
        draft = await user.draft()
        assert draft is not None and draft["step"] == "video" and draft["video"] is None


@pytest.mark.parametrize(
    "size",
    [10_240, IN_MEMORY_LIMIT + 300_000],
    ids=["read-into-memory-then-written", "streamed-to-disk"],
)
async def test_a_document_is_downloaded_to_a_private_temp_path_and_removed(
    sqlite_settings: Settings, fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    content = (b"%PDF-1.7\n" + bytes(range(256)) * (size // 256 + 1))[:size]
    async with running(sqlite_settings, fake) as run:
        user = run.user(702)
        await user.say("/start")
        await user.press_label("社会征集（自荐）")
        seen: list[tuple[Incoming, bytes]] = []
        real = run.services.assistant.handle

        async def spy(event: Incoming, **kwargs: Any) -> list[Reply]:
            if event.file is not None:
                path = Path(event.file.path)
                seen.append((event, await asyncio.to_thread(path.read_bytes) if event.file.path else b""))
            return await real(event, **kwargs)

        monkeypatch.setattr(run.services.assistant, "handle", spy)
        doc = fake.add_file(content)
        text = await user.send(fake.document(user.id, doc, "../../../etc/报名表.PDF"))
        assert "这里需要输入文字" in text  # the dialog's answer at a text step

    ((event, got),) = seen
    assert event.kind is EventKind.FILE and event.file is not None
    info = event.file
    assert (info.name, info.size, info.mime, info.ref) == (
        "../../../etc/报名表.PDF",
        len(content),
        "application/pdf",
        doc,
    )
    assert got == content  # what the fake served arrived at the path
    path = Path(info.path)
    incoming = sqlite_settings.data_dir / "incoming"
    assert path.parent.parent == incoming and path.parent.name.startswith("telegram-")
    assert path.name == "upload.pdf"  # only a plain extension of the client's name is used
    assert not path.parent.exists()  # removed once handled
    assert [c.method for c in fake.calls if c.method in ("getFile", "download")] == ["getFile", "download"]


async def test_photo_takes_its_largest_size(
    sqlite_settings: Settings, fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running(sqlite_settings, fake) as run:
        user = run.user(703)
        await user.say("/start")
        seen: list[Incoming] = []
        real = run.services.assistant.handle

        async def spy(event: Incoming, **kwargs: Any) -> list[Reply]:
            seen.append(event)
            return await real(event, **kwargs)

        monkeypatch.setattr(run.services.assistant, "handle", spy)
        photo = fake.add_file(b"\xff\xd8\xff\xe0" + b"0" * 5000)
        await user.send(fake.photo(user.id, photo))
    assert seen[0].file is not None and seen[0].file.ref == photo and seen[0].file.mime == "image/jpeg"
    assert fake.called("getFile")[0].params["file_id"] == photo


async def test_local_bot_api_server_files_are_read_from_its_disk(
    sqlite_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeTelegram(local=True)
    await fake.start()
    try:
        server_dir = Path("/var/lib/telegram-bot-api")
        mounted = tmp_path / "bot-api-files"
        (mounted / TOKEN / "videos").mkdir(parents=True)
        (mounted / TOKEN / "videos" / "file_9.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
        # 150 MB as announced: beyond the cloud's 20 MB, within --local's 2000 MB.
        video = fake.add_file(size=150 * MB, path=f"{server_dir}/{TOKEN}/videos/file_9.mp4")
        async with running(
            sqlite_settings, fake, local=True, local_server_dir=server_dir, local_dir=mounted
        ) as run:
            user = run.user(704)
            await user.say("/start")
            seen: list[Incoming] = []
            real = run.services.assistant.handle

            async def spy(event: Incoming, **kwargs: Any) -> list[Reply]:
                seen.append(event)
                return await real(event, **kwargs)

            monkeypatch.setattr(run.services.assistant, "handle", spy)
            await user.send(fake.video(user.id, video))
        assert seen[0].file is not None
        assert seen[0].file.path == str(mounted / TOKEN / "videos" / "file_9.mp4")
        assert (mounted / TOKEN / "videos" / "file_9.mp4").exists()  # not ours to delete
        assert fake.called("download") == []  # read from disk, not over HTTP
    finally:
        await fake.close()
    fake.assert_clean()


# ---------------------------------------------------------------------------- the webhook's edges
@pytest.mark.parametrize("secret", [None, "", "wrong-secret", SECRET + "x"])
async def test_webhook_with_a_wrong_or_missing_secret_is_refused(
    sqlite_settings: Settings, fake: FakeTelegram, secret: str | None
) -> None:
    async with running(sqlite_settings, fake) as run:
        user = run.user(801)
        assert await user.post(fake.text(user.id, "/start"), secret=secret) in (401, 403)
        assert await user.draft() is None
        assert fake.sent() == []
        # The right secret on the same app works.
        assert await user.post(fake.text(user.id, "/start"), secret=SECRET) == 200
        assert fake.sent(user.id)


async def test_malformed_webhook_body_is_a_400_and_nothing_is_sent(
    sqlite_settings: Settings, fake: FakeTelegram
) -> None:
    async with running(sqlite_settings, fake) as run:
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
        for body in (b"{not json", b'{"update_id": "x", "message": 5}'):
            resp = await run.client.post("/telegram", data=body, headers=headers)
            assert resp.status == 400
        assert fake.sent() == []


async def test_without_a_configured_secret_one_is_derived_from_the_token(
    sqlite_settings: Settings, fake: FakeTelegram
) -> None:
    async with running(sqlite_settings, fake, webhook_secret=None) as run:
        derived = run.config.secret()
        assert fake.webhook is not None and fake.webhook["secret_token"] == derived
        assert len(derived) >= 40 and TOKEN.split(":")[1] not in derived
        other = TelegramSettings(_env_file=None, token="7000000002:AAOtherTokenOtherToken")
        assert other.secret() != derived  # a new token, a new secret
        user = run.user(802)
        assert await user.post(fake.text(user.id, "/start"), secret="") == 401
        assert await user.post(fake.text(user.id, "/start"), secret=derived) == 200


async def test_a_redelivered_update_is_handled_once(settings: Settings, fake: FakeTelegram) -> None:
    async with running(settings, fake) as run:
        user = run.user(803)
        await user.say("/start")
        update = fake.text(user.id, "自荐")
        await user.send(update)
        after_first = await user.draft()
        assert after_first is not None and after_first["channel"] == "self"
        sent = len(fake.sent())
        assert await user.post(update) == 200  # Telegram retries a delivery it thinks failed
        assert len(fake.sent()) == sent and await user.draft() == after_first


async def test_an_updates_claim_costs_no_store_round_trip_of_its_own_on_a_plain_answer(
    settings: Settings, fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The claim that makes an update once across restarts goes with the draft's save; a reply
    that stores nothing (help, a rejected answer) claims on its own, once."""
    async with running(settings, fake) as run:
        user = run.user(807)
        await user.say("/start")
        await user.press_label("社会征集（自荐）")
        storage = run.services.storage
        writes: list[str] = []

        def spy(name: str) -> Any:
            real = getattr(storage, name)

            def call(*args: Any, **kw: Any) -> Any:
                writes.append(name + (" with the claim" if kw.get("claim") is not None else ""))
                return real(*args, **kw)

            return call

        for name in ("claim_once", "claim_inbound", "save_draft", "touch_contact", "delete_draft"):
            monkeypatch.setattr(storage, name, spy(name))
        await user.say("某某科普中心")
        assert writes == ["save_draft with the claim"]
        writes.clear()
        await user.say("/help")
        assert writes == ["claim_inbound"]


async def test_group_messages_are_ignored(sqlite_settings: Settings, fake: FakeTelegram) -> None:
    async with running(sqlite_settings, fake) as run:
        user = run.user(804)
        assert await user.post(fake.group_text(user.id, "自荐")) == 200
        assert fake.sent() == [] and await user.draft() is None


async def test_commands_with_a_mention_and_other_content_get_polite_replies(
    sqlite_settings: Settings, fake: FakeTelegram
) -> None:
    async with running(sqlite_settings, fake) as run:
        user = run.user(805)
        await user.say("/start")
        await user.press_label("社会征集（自荐）")
        text = await user.say("/help@kepu_submit_bot")
        assert "返回：回到上一步" in text and "请填写「自荐机构（个人）」" in text
        text = await user.send(fake.location(user.id))  # not an answer to anything
        assert "返回：回到上一步" in text and "请填写「自荐机构（个人）」" in text
        await user.say("某某科普中心")
        assert "请填写「自荐机构（个人）」" in await user.say("/back")
        assert "已填写：1/14 项" in await user.say("/status")
        assert "确定要取消" in await user.say("/cancel")
        assert "已取消" in await user.press_label("确认取消")
        assert await user.draft() is None


async def test_start_deep_link_names_the_contest(sqlite_settings: Settings, fake: FakeTelegram) -> None:
    write_open_edition(sqlite_settings.data_dir / "contests", "hlj-tg-kepu", prefix="HTG2099")  # two open now
    async with running(sqlite_settings, fake) as run:
        chooser = run.user(806)
        assert "请选择要报名的大赛" in await chooser.say("/start")
        linked = run.user(807)
        text = await linked.say(f"/start {OPEN_ID}")
        assert "请选择要报名的大赛" not in text and "请选择参赛渠道" in text
        assert (await linked.draft() or {})["contest"] == OPEN_ID


# ---------------------------------------------------------------------------- sending
async def test_flood_control_retry_after_is_waited_out(sqlite_settings: Settings, fake: FakeTelegram) -> None:
    async with running(sqlite_settings, fake) as run:
        user = run.user(901)
        fake.fail_next("sendMessage", retry_after=1)
        text = await user.say("/start")
        assert "请选择参赛渠道" in text  # everything arrived in the end
        first, second = fake.called("sendMessage")[:2]
        assert first.params["text"] == second.params["text"]
        assert second.at - first.at >= 1.0  # the retry waited as told


async def test_flood_control_beyond_the_bound_drops_the_reply_not_the_answer(
    sqlite_settings: Settings, fake: FakeTelegram
) -> None:
    async with running(sqlite_settings, fake) as run:
        user = run.user(902)
        fake.fail_next("sendMessage", retry_after=3600)  # not worth holding the update for
        assert await user.post(fake.text(user.id, "/start")) == 200
        assert len(fake.called("sendMessage")) == 1  # the refused one; no retry, rest dropped
        assert (await user.draft() or {})["step"] == "channel"  # the dialog moved on
        assert "请选择参赛渠道" in await user.say("/start")  # and asks again when the user returns


async def test_notifier_pushes_texts_and_documents(sqlite_settings: Settings, fake: FakeTelegram) -> None:
    async with running(sqlite_settings, fake) as run:
        notifier = run.services.notifiers["telegram"]
        form = Document("推荐表.docx", b"PK\x03\x04fake-docx", "application/vnd.openxmlformats")
        await notifier.push(
            UserKey("telegram", "777"),
            [
                Reply("视频检查通过。", choices=(Choice("确认提交", "review|1"),)),
                Reply("请打印签字：", document=form),
            ],
        )
        message, document = fake.sent(777)
        assert message.method == "sendMessage" and message.params["text"] == "视频检查通过。"
        assert message.params["reply_markup"] == {
            "inline_keyboard": [[{"text": "确认提交", "callback_data": "review|1"}]]
        }
        assert document.method == "sendDocument" and document.params["caption"] == "请打印签字："
        (upload,) = document.files.values()
        assert document.params["document"] == f"attach://{next(iter(document.files))}"
        assert (upload.filename, upload.content) == ("推荐表.docx", b"PK\x03\x04fake-docx")
        with pytest.raises(ValueError, match="not a telegram user"):
            await notifier.push(UserKey("wechat", "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"), [Reply("x")])


# ---------------------------------------------------------------------------- polling
async def test_polling_receives_updates_and_stops_with_the_app(
    settings: Settings, fake: FakeTelegram
) -> None:
    fake.webhook = {"url": "https://old.example/telegram"}  # left by an earlier deployment
    async with running(settings, fake, mode="polling", webhook_url=None) as run:
        assert fake.webhook is None  # deleted, or getUpdates would be refused
        task = run.app[TELEGRAM]._polling
        assert task is not None and not task.done()
        fake.push_update(fake.text(808, "/start"))
        fake.push_update(fake.text(808, "自荐"))
        await fake.wait_for(lambda: any("请填写「自荐机构（个人）」" in t for t in fake.texts(808)))
        texts = fake.texts(808)
        # In order, although aiogram handles the two updates in concurrent tasks.
        assert "请选择参赛渠道" in texts[-2] and "请填写「自荐机构（个人）」" in texts[-1]
        draft = await run.services.storage.get_draft(UserKey("telegram", "808"))
        assert draft is not None and draft.data["channel"] == "self"
    assert task.done() and not task.cancelled()  # stopped through aiogram, and awaited
    polls = fake.called("getUpdates")
    assert polls and polls[0].params["allowed_updates"] == '["callback_query", "message"]'
    assert fake.called("deleteWebhook") and not fake.called("setWebhook")


# ---------------------------------------------------------------------------- settings
def test_create_reads_the_environment_when_called_not_at_import(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.delenv("BOT_TELEGRAM_TOKEN", raising=False)
    assert create(settings) is None
    monkeypatch.setenv("BOT_TELEGRAM_TOKEN", TOKEN)
    channel = create(settings)
    assert channel is not None and channel.name == "telegram" and channel.config.mode == "polling"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"mode": "webhook"}, "WEBHOOK_URL"),
        ({"mode": "webhook", "webhook_url": "http://kepu.example.cn/telegram"}, "WEBHOOK_URL"),
        ({"local": True}, "API_SERVER"),
        ({"api_server": "localhost:8081"}, "http"),
        ({"webhook_secret": "has spaces"}, "A-Z"),
        ({"token": "not-a-token"}, "bot token"),
        ({"api_server": "http://127.0.0.1:8081", "local_dir": "/srv/x"}, "LOCAL_SERVER_DIR"),
    ],
)
def test_bad_settings_are_refused_with_a_reason(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        TelegramSettings(_env_file=None, **{"token": TOKEN, **values})


async def test_incoming_events_carry_the_telegram_user_key(
    sqlite_settings: Settings, fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running(sqlite_settings, fake) as run:
        seen: list[tuple[Incoming, str | None]] = []
        real = run.services.assistant.handle

        async def spy(event: Incoming, **kwargs: Any) -> list[Reply]:
            seen.append((event, kwargs.get("contest_hint")))
            return await real(event, **kwargs)

        monkeypatch.setattr(run.services.assistant, "handle", spy)
        user = run.user(5512345678)
        await user.say("/start")
        await user.press("channel|2")
        await user.say("/edit 3")
    start, press, edit = (e for e, _ in seen)
    assert start == Incoming(UserKey("telegram", "5512345678"), EventKind.START)
    assert press == Incoming(UserKey("telegram", "5512345678"), EventKind.CHOICE, choice="channel|2")
    assert edit.kind is EventKind.TEXT and edit.text == "edit 3"


async def test_concurrent_entrants_do_not_mix(settings: Settings, fake: FakeTelegram) -> None:
    async with running(settings, fake) as run:
        users = [run.user(1000 + i) for i in range(20)]
        await asyncio.gather(*(u.say("/start") for u in users))
        await asyncio.gather(*(u.say("自荐") for u in users))
        await asyncio.gather(*(u.say(f"单位{u.id}") for u in users))
        for u in users:
            assert (await u.draft() or {})["answers"] == {"unit": f"单位{u.id}"}
            assert any("请填写「作品名称」" in t for t in fake.texts(u.id))


async def test_replies_to_quick_messages_do_not_interleave(
    settings: Settings, fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running(settings, fake) as run:

        async def three_messages(event: Incoming, **kwargs: Any) -> list[Reply]:
            # A text, a document and a text: three Telegram messages that cannot be merged.
            tag = event.text
            form = Document(f"{tag}.pdf", b"%PDF-1.7 " + tag.encode())
            return [Reply(f"{tag}-1"), Reply(f"{tag}-doc", document=form), Reply(f"{tag}-3")]

        monkeypatch.setattr(run.services.submit, "handle", three_messages)
        user = run.user(1100)
        fake.send_latency = 0.05  # a real round trip to Telegram: other updates run meanwhile
        # Telegram delivers a user's updates on parallel connections when they come quickly.
        await asyncio.gather(*(user.say(tag) for tag in ("甲", "乙", "丙")))
        got = fake.texts(user.id)
        assert len(got) == 9
        # Each update's three messages arrive together and in order.
        for i in range(0, 9, 3):
            tag = got[i].removesuffix("-1")
            assert got[i : i + 3] == [f"{tag}-1", f"{tag}-doc", f"{tag}-3"]
        # And a push (e.g. a video check finished) waits for the batch under way.
        update = asyncio.create_task(user.say("丁"))
        await fake.wait_for(lambda: "丁-1" in fake.texts(user.id))  # the batch has begun
        await run.services.reach.push(user.key, [Reply("检查完成", document=Document("r.pdf", b"%PDF"))])
        await update
        assert fake.texts(user.id)[9:] == ["丁-1", "丁-doc", "丁-3", "检查完成"]


def test_consecutive_text_replies_become_one_message() -> None:
    doc = Document("表.pdf", b"%PDF")
    replies = [
        Reply("欢迎"),
        Reply("已选择大赛"),
        Reply("请选择参赛渠道：", choices=(Choice("自荐", "channel|2"),)),
        Reply("按钮之后的新消息"),
        Reply("报名表", document=doc),
        Reply("下一步"),
    ]
    merged = merge_replies(replies)
    assert [r.text for r in merged] == [
        "欢迎\n\n已选择大赛\n\n请选择参赛渠道：",
        "按钮之后的新消息",
        "报名表",
        "下一步",
    ]
    assert merged[0].choices == (Choice("自荐", "channel|2"),) and merged[2].document is doc
    long = [Reply("科" * 3000), Reply("普" * 3000)]
    assert len(merge_replies(long)) == 2  # together they would not fit one message


async def test_a_push_to_the_same_chat_while_its_update_is_handled_does_not_deadlock(
    sqlite_settings: Settings, fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    """e.g. an operator who asks the helpdesk in their own chat is notified of the new ticket
    from inside the handling of that very message."""
    async with running(sqlite_settings, fake) as run:
        user = run.user(1200)
        notifier = run.services.notifiers["telegram"]

        async def asks_and_notifies(event: Incoming, **kwargs: Any) -> list[Reply]:
            await notifier.push(user.key, [Reply("新工单：如何填写播出时间？")])
            return [Reply("已转人工客服。")]

        monkeypatch.setattr(run.services.submit, "handle", asks_and_notifies)
        await asyncio.wait_for(user.say("人工客服"), 10)
        assert fake.texts(user.id) == ["新工单：如何填写播出时间？", "已转人工客服。"]


async def test_who_wrote_is_recorded_with_the_updates_claim_for_broadcasts_to_everyone(
    settings: Settings, fake: FakeTelegram
) -> None:
    async with running(settings, fake) as run:
        storage = run.services.storage
        quiet, busy = run.user(811), run.user(812)
        await quiet.say("/help")  # no draft: only the contact list knows this user
        first = await storage.last_contact(UserKey("telegram", "811"))
        assert first is not None
        await busy.say("/start")
        await quiet.say("/status")
        # Recorded in the same write as the update's claim, so it costs nothing to keep current.
        later = await storage.last_contact(UserKey("telegram", "811"))
        assert later is not None and later > first
        assert {UserKey("telegram", "811"), UserKey("telegram", "812")} <= set(await storage.list_contacts())


async def test_an_update_takes_its_users_lock_once_for_the_dialog_and_the_replies(
    settings: Settings, fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The channel's turn (held while the replies go out) and the dialog's are one turn: on
    Redis each is a round trip to take it and one to end it."""
    async with running(settings, fake) as run:
        isolation = run.services.isolation
        taken: list[str] = []
        real = isolation.turn

        def spy(key: str, who: UserKey) -> AbstractAsyncContextManager[Turn]:
            taken.append(key)
            return real(key, who)

        monkeypatch.setattr(isolation, "turn", spy)
        user = run.user(1300)
        assert "请选择参赛渠道" in await user.say("/start")
        assert "请填写「自荐机构（个人）」" in await user.press("channel|2")
        assert taken == ["user:telegram:1300", "user:telegram:1300"]
        assert (await user.draft() or {})["channel"] == "self"


async def test_the_dialog_waits_while_another_task_holds_the_users_turn(
    sqlite_settings: Settings, fake: FakeTelegram
) -> None:
    """e.g. the upload page finishing a video while the entrant's update is being answered."""
    async with running(sqlite_settings, fake) as run:
        user = run.user(1400)
        await user.say("/start")
        isolation, assistant = run.services.isolation, run.services.assistant
        held, release = asyncio.Event(), asyncio.Event()

        async def replying() -> None:
            async with isolation.lock(turn_key(user.key)):
                held.set()
                await release.wait()

        holder = asyncio.create_task(replying())
        await held.wait()
        other = asyncio.create_task(
            assistant.handle(Incoming(user.key, EventKind.CHOICE, choice="channel|2"))
        )
        for _ in range(10):
            await asyncio.sleep(0)
        assert not other.done() and (await user.draft() or {}).get("channel") is None
        release.set()
        await holder
        replies = await other
        assert any("自荐机构" in r.text for r in replies)
        assert (await user.draft() or {})["channel"] == "self"
        assert isolation.active_keys == frozenset()  # type: ignore[attr-defined]


async def test_a_turn_is_given_back_whatever_ends_it(sqlite_settings: Settings, fake: FakeTelegram) -> None:
    """An error while sending the replies, a cancellation while waiting, and a message posted to
    a second user from inside the first one's turn (an operator's answer relayed to the
    entrant) all leave nothing held."""
    async with running(sqlite_settings, fake) as run:
        alice, bob = run.user(1600).key, run.user(1601).key
        assistant, isolation, reach = run.services.assistant, run.services.isolation, run.services.reach
        start = Incoming(alice, EventKind.START)

        async def boom(replies: list[Reply]) -> None:
            raise ValueError("boom")

        with pytest.raises(ValueError, match="boom"):
            await assistant.handle(start, respond=boom)
        assert isolation.active_keys == frozenset()  # type: ignore[attr-defined]

        async def wait_then_post(replies: list[Reply]) -> None:
            waiting = asyncio.create_task(assistant.handle(start))
            for _ in range(5):
                await asyncio.sleep(0)
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            await reach.post(bob, [Reply("回复：已收到")])
            assert isolation.active_keys == frozenset({f"user:{alice}"})  # type: ignore[attr-defined]

        await assistant.handle(start, respond=wait_then_post)
        await reach.drain()
        assert isolation.active_keys == frozenset()  # type: ignore[attr-defined]
        assert any("已收到" in t for t in fake.texts(1601))


async def test_a_message_posted_to_oneself_inside_a_turn_does_not_deadlock(
    sqlite_settings: Settings, fake: FakeTelegram
) -> None:
    """An operator who asks a question themselves is told of their own ticket: the message is
    posted from their turn and goes out after it, instead of waiting for it forever."""
    async with running(sqlite_settings, fake) as run:
        key = run.user(1700).key
        assistant, reach = run.services.assistant, run.services.reach

        async def post_to_self(replies: list[Reply]) -> None:
            await reach.post(key, [Reply("新工单：HD-000001")])

        await asyncio.wait_for(assistant.handle(Incoming(key, EventKind.START), respond=post_to_self), 10)
        await asyncio.wait_for(reach.drain(), 10)
        assert any("新工单" in t for t in fake.texts(1700))


async def test_a_task_started_inside_a_turn_waits_for_it(
    sqlite_settings: Settings, fake: FakeTelegram
) -> None:
    """Documents drawn after the reply are pushed from a task started during the update: that
    task must wait until the replies to the update went out, not slip in between them."""
    async with running(sqlite_settings, fake) as run:
        key = run.user(1500).key
        assistant, reach = run.services.assistant, run.services.reach
        order: list[str] = []

        class Recorder:
            async def push(self, user: UserKey, replies: list[Reply]) -> None:
                order.append("documents")

        reach.register("recorder", Recorder())
        user = UserKey("recorder", key.user_id)
        later: list[asyncio.Task[bool]] = []

        async def respond(replies: list[Reply]) -> None:
            later.append(asyncio.create_task(reach.push(user, [Reply("报名表")])))
            for _ in range(10):
                await asyncio.sleep(0)
            order.append("replies")

        await assistant.handle(Incoming(user, EventKind.START), respond=respond)
        await later[0]
        assert order == ["replies", "documents"]
