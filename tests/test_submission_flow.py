"""The whole submission with the real parts around the dialog: the media check of a real
video, the quota at confirm, the filled-in form, the signed scan and the verifiable receipt."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from bot.storage import choose_backend
from contests.editions import new_edition
from contests.org import Invite, Role, Unit, hash_code
from contests.ports import EventIsolation, OrgStore, Storage
from contests.records import Draft, UserKey
from contests.registry import ContestRegistry
from contests.rules import Contest
from dialogs.engine import DialogEngine
from dialogs.messages import Messages
from forms.paperwork import Paperwork
from forms.receipts import ReceiptSettings, load_signing_key
from forms.verify import verify_receipt
from handlers.quota.service import QuotaService
from handlers.submit import SubmitHandler
from tests.conftest import ChatDriver, Clock, beijing, valid_answer
from tests.media_factory import MediaFactory, Video
from validators.media import check_video

NOW = beijing(2026, 11, 21)


def png_scan() -> bytes:
    """A real PNG (a frame, not a blank page): a scan is opened with an image parser."""
    out = io.BytesIO()
    page = Image.new("L", (600, 800), 255)
    ImageDraw.Draw(page).rectangle((30, 30, 570, 770), outline=0, width=6)  # the form's frame: not blank
    page.save(out, "PNG")
    return out.getvalue()


def small_video_edition(source: Contest) -> Contest:
    """This year's edition of the 2024 contest, with a video spec scaled down so that test
    videos stay a few seconds and a few hundred KB; every other rule is the notice's."""
    data = new_edition(source, "kepu-test-2026", dt.date(2026, 12, 31), dt.date(2026, 11, 1))
    contest = Contest.model_validate(data)
    assert contest.video is not None
    video = contest.video.model_copy(
        update={"min_duration_s": 2, "max_duration_s": 10, "min_size_mib": None, "max_size_mib": 50}
    )
    return contest.model_copy(update={"video": video})


@pytest.fixture(scope="module")
def factory(tmp_path_factory: pytest.TempPathFactory) -> MediaFactory:
    return MediaFactory(tmp_path_factory.mktemp("flow-media"))


@pytest.fixture
def contest(contests: ContestRegistry) -> Contest:
    source = contests.get("most-cas-2024-kepu")
    assert source is not None
    return small_video_edition(source)


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[tuple[Storage, EventIsolation, OrgStore]]:
    storage, isolation = await choose_backend(data_dir=tmp_path, redis_url=None).open_storage()
    org = await choose_backend(data_dir=tmp_path, redis_url=None).open_org()
    yield storage, isolation, org
    await org.close()
    await isolation.close()
    await storage.close()


@pytest.fixture
async def paperwork(tmp_path: Path) -> AsyncIterator[Paperwork]:
    work = Paperwork(load_signing_key(tmp_path, ReceiptSettings()))
    yield work
    await work.aclose()


def make_handler(
    contest: Contest,
    stores: tuple[Storage, EventIsolation, OrgStore],
    tmp_path: Path,
    *,
    paperwork: Paperwork | None = None,
    draft_cache: int = 0,
) -> SubmitHandler:
    storage, _isolation, org = stores
    registry = ContestRegistry([contest])
    clock = Clock(NOW)
    return SubmitHandler(
        DialogEngine(registry, Messages()),
        storage,
        clock,
        media_checker=check_video,
        video_dir=tmp_path / "videos",
        scan_dir=tmp_path / "scans",
        quota=QuotaService(registry, storage, org, clock),
        paperwork=paperwork,
        draft_cache=draft_cache,
    )


async def answer_fields(chat: ChatDriver, contest: Contest, channel: str, form_id: str) -> None:
    await chat.start()
    await chat.say(channel)
    for field in contest.form(form_id).fields:
        await chat.say(valid_answer(field, contest))


async def test_file_video_form_scan_and_receipt(
    contest: Contest,
    stores: tuple[Storage, EventIsolation, OrgStore],
    tmp_path: Path,
    factory: MediaFactory,
    paperwork: Paperwork,
) -> None:
    handler = make_handler(contest, stores, tmp_path, paperwork=paperwork)
    chat = ChatDriver(handler, UserKey("terminal", "alice"))
    await answer_fields(chat, contest, "自荐", "self")

    portrait = factory.video(Video(width=1080, height=1920, seconds=4))
    text = await chat.upload("竖屏.mp4", portrait.stat().st_size, path=str(portrait))
    assert "✗" in text and "横" in text  # the report says what is wrong
    assert (await chat.draft() or {})["video"] is None  # and nothing was recorded

    good = factory.video(Video(seconds=4))
    text = await chat.upload("作品.mp4", good.stat().st_size, path=str(good))
    assert "✓" in text and "请核对报名信息" in text
    video = (await chat.draft() or {})["video"]
    assert video["checked"] is True and len(video["sha256"]) == 64
    assert Path(video["stored"]) == tmp_path / "videos" / f"{video['sha256']}.mp4"
    assert Path(video["stored"]).read_bytes() == good.read_bytes()

    await chat.say("确认提交")
    docs = [r.document for r in chat.last if r.document is not None]
    assert [d.filename.rsplit(".", 1)[1] for d in docs] == ["pdf", "docx"]
    drawn = docs[0].read()
    assert drawn.startswith(b"%PDF-")
    assert "KP2026-000001" in docs[0].filename
    assert "按表上的签字、盖章栏（" in chat.last[-1].text
    said = "\n".join(r.text for r in chat.last)
    assert "已计入您的自荐" in said and "已自荐 1/1 部" in said and "已推荐" not in said  # one's own entry

    fake_scan = tmp_path / "not-an-image.jpg"
    fake_scan.write_text("这不是图片", encoding="utf-8")
    text = await chat.upload("scan.jpg", fake_scan.stat().st_size, "image/jpeg", path=str(fake_scan))
    assert "只能是 jpg、png 或 pdf" in text
    # The drawn form sent straight back (tried in the web chat: taken as 签字盖章): refused.
    unsigned = tmp_path / "unsigned.pdf"
    unsigned.write_bytes(drawn)
    text = await chat.upload("推荐表.pdf", unsigned.stat().st_size, "application/pdf", path=str(unsigned))
    assert "这是助手生成的原表，还没有签字盖章" in text and "已收到第1个" not in text
    scan = tmp_path / "scan.png"
    scan.write_bytes(png_scan())
    text = await chat.upload("签字盖章.png", scan.stat().st_size, "image/png", path=str(scan))
    assert "已收到第1个扫描件" in text
    text = await chat.say("完成")
    assert "材料齐全" in text and "【投稿回执】" in text
    receipt_pdf = next(r.document for r in chat.last if r.document is not None)
    assert await chat.draft() is None

    sub = await handler.storage.get_submission("KP2026-000001")
    assert sub is not None
    assert sub.status == "complete"
    assert sub.extra["scans"] == [str(tmp_path / "scans" / "KP2026-000001" / "scan-1.png")]
    key = load_signing_key(tmp_path, ReceiptSettings())
    verdict = verify_receipt(receipt_pdf.read(), key.public)
    assert verdict.ok, verdict.problem
    assert verdict.payload is not None
    assert verdict.payload["number"] == "KP2026-000001"
    assert video["sha256"] in str(verdict.payload)


async def test_a_small_video_is_told_every_rule_it_fails_not_only_its_size(
    contest: Contest, stores: tuple[Storage, EventIsolation, OrgStore], tmp_path: Path, factory: MediaFactory
) -> None:
    """A 4:3, 1-second file under the notice's minimum size: the entrant hears the size, the
    shape and the length at once, not the size first and the rest after re-exporting."""
    assert contest.video is not None
    video = contest.video.model_copy(update={"min_size_mib": 1})
    small = contest.model_copy(update={"video": video})
    handler = make_handler(small, stores, tmp_path)
    chat = ChatDriver(handler, UserKey("terminal", "bad43"))
    await answer_fields(chat, small, "自荐", "self")
    bad = factory.video(Video(width=640, height=480, seconds=1))
    assert bad.stat().st_size < 1024 * 1024
    text = await chat.upload("bad43.mp4", bad.stat().st_size, path=str(bad))
    failed = [line for line in text.splitlines() if line.startswith("✗")]
    assert any("文件大小" in line for line in failed), text
    assert any("画面比例" in line for line in failed), text
    assert any("时长" in line for line in failed), text
    assert "请导出更高画质的版本" not in text
    assert (await chat.draft() or {})["video"] is None


async def test_quota_refuses_past_the_limit_and_keeps_the_draft(
    contest: Contest, stores: tuple[Storage, EventIsolation, OrgStore], tmp_path: Path
) -> None:
    storage, _, org = stores
    await org.put_units(contest.id, [Unit(contest.id, "测试科技厅", "sub_provincial")])  # ≤3 works
    # The unit's member enters its works (an entrant who only names the unit waits for it:
    # tests/test_unit_confirmation.py).
    member = UserKey("terminal", "member")
    now = dt.datetime.now(dt.UTC)
    invite = Invite(hash_code("M-1"), contest.id, Role.MEMBER, "测试科技厅", now, now + dt.timedelta(days=1))
    await org.add_invite(invite)
    assert (await org.redeem_invite(hash_code("M-1"), member, now)).membership is not None
    handler = make_handler(contest, stores, tmp_path, paperwork=None)
    for n in range(4):
        chat = ChatDriver(handler, member)
        await answer_fields(chat, contest, "推荐", "recommend")
        draft = await chat.draft()
        assert draft is not None
        draft_unit = draft["answers"]["unit"]
        await chat.say("修改 1")  # 推荐单位, asked as 【1/12】
        await chat.say("测试科技厅")
        assert draft_unit != "测试科技厅"
        # Different works by different first authors: one work per first author is a rule too.
        await chat.say("修改 2")  # 作品名称, 【2/12】
        await chat.say(f"第{n}部作品")
        await chat.say("修改 5")  # 主创人员, 【5/12】
        await chat.say(f"作者{n}、李四")
        await chat.say(f"https://video.example.cn/{n}.mp4")
        text = await chat.say("确认提交")
        if n < 3:
            assert f"KP2026-00000{n + 1}" in text
            assert f"{n + 1}/3" in text
            await chat.say("新报名")
        else:
            assert "提交成功" not in text
            assert "3" in text and "测试科技厅" in text
            after = await chat.draft()
            assert after is not None and after["step"] == "review"  # nothing lost
    assert len(await storage.list_submissions(contest_id=contest.id)) == 3


async def test_a_second_work_of_a_first_author_is_refused_when_the_author_is_named(
    contest: Contest, stores: tuple[Storage, EventIsolation, OrgStore], tmp_path: Path
) -> None:
    """附件1 三、1 "同一作者只能申报一部作品": said at 主创人员, not after every other field."""
    handler = make_handler(contest, stores, tmp_path, paperwork=None)
    first = ChatDriver(handler, UserKey("terminal", "first"))
    await answer_fields(first, contest, "自荐", "self")
    await first.say("https://video.example.cn/1.mp4")
    assert "提交成功" in await first.say("确认提交")
    number = next(s.number for s in await stores[0].list_submissions(contest_id=contest.id))

    second = ChatDriver(handler, UserKey("terminal", "second"))
    await second.start()
    text = await second.say("自荐")
    form = contest.form("self")
    for fld in form.fields[: [f.role for f in form.fields].index("authors")]:
        text = await second.say(f"另一部作品{fld.id}" if fld.role == "title" else valid_answer(fld, contest))
    assert "「主创人员（或单位）」" in text
    before = await second.draft()
    text = await second.say("张三、王五")  # 张三 is the first author of the work submitted above
    assert "第一作者“张三”已有作品报送本赛事" in text
    assert number not in text  # another entrant's work: its number is theirs (third trial round)
    assert "同一作者只能申报一部作品" in text and "「主创人员（或单位）」" in text  # asked again
    assert await second.draft() == before  # nothing recorded
    text = await second.say("王五、张三")  # 张三 as the second author is not the rule's business
    assert "「播出平台及网址」" in text
    assert (await second.draft() or {})["answers"]["authors"] == ["王五", "张三"]


async def test_a_first_author_separated_by_spaces_is_still_the_first_author(
    contest: Contest, stores: tuple[Storage, EventIsolation, OrgStore], tmp_path: Path
) -> None:
    """Tried as the tester did: "陈晓明、周雪" was refused but "陈晓明 周雪" was taken as one name
    (the one-work rule dodged, and the receipt said "第一作者：李娜 赵敏 孙浩")."""
    handler = make_handler(contest, stores, tmp_path, paperwork=None)
    first = ChatDriver(handler, UserKey("terminal", "first"))
    await answer_fields(first, contest, "自荐", "self")
    await first.say("修改 5")  # 主创人员, 【5/…】
    await first.say("李娜 赵敏 孙浩")
    assert (await first.draft() or {})["answers"]["authors"] == ["李娜", "赵敏", "孙浩"]
    await first.say("https://video.example.cn/1.mp4")
    assert "提交成功" in await first.say("确认提交")

    second = ChatDriver(handler, UserKey("terminal", "second"))
    await second.start()
    await second.say("自荐")
    form = contest.form("self")
    for fld in form.fields[: [f.role for f in form.fields].index("authors")]:
        await second.say(f"另一部作品{fld.id}" if fld.role == "title" else valid_answer(fld, contest))
    before = await second.draft()
    for typed in ("李娜 周雪", "李娜\u3000周雪", "李娜  周雪 王五"):
        text = await second.say(typed)
        assert "第一作者“李娜”已有作品报送本赛事" in text, typed
        assert await second.draft() == before
    text = await second.say("周雪 李娜")  # 李娜 second: not the rule's business
    assert "「播出平台及网址」" in text
    assert (await second.draft() or {})["answers"]["authors"] == ["周雪", "李娜"]


async def test_a_first_author_changed_in_words_on_the_review_page_is_checked_at_once(
    contest: Contest, stores: tuple[Storage, EventIsolation, OrgStore], tmp_path: Path
) -> None:
    """ "主创人员改成 张三 王五" on the review page is the authors' answer: the rule is said then."""
    handler = make_handler(contest, stores, tmp_path, paperwork=None)
    first = ChatDriver(handler, UserKey("terminal", "first"))
    await answer_fields(first, contest, "自荐", "self")  # 张三、李四
    await first.say("https://video.example.cn/1.mp4")
    assert "提交成功" in await first.say("确认提交")

    second = ChatDriver(handler, UserKey("terminal", "second"))
    await second.start()
    await second.say("自荐")
    for fld in contest.form("self").fields:
        typed = {"title": "另一部作品", "authors": "王五、赵六"}.get(fld.role or "")
        await second.say(typed or valid_answer(fld, contest))
    assert "请核对报名信息" in await second.say("https://video.example.cn/2.mp4")
    before = await second.draft()
    text = await second.say("主创人员改成 张三 王五")
    assert "第一作者“张三”已有作品报送本赛事" in text and "请核对报名信息" in text
    assert await second.draft() == before
    text = await second.say("主创人员改成 王五 张三")
    assert "已把「主创人员（或单位）」改为：王五、张三" in text
    assert (await second.draft() or {})["answers"]["authors"] == ["王五", "张三"]


async def test_an_entrant_naming_a_unit_sees_its_places_and_waits_for_it(
    contest: Contest, stores: tuple[Storage, EventIsolation, OrgStore], tmp_path: Path
) -> None:
    """Tried as the issue did: an unbound entrant types a unit's name; nothing is counted."""
    _, _, org = stores
    await org.put_units(contest.id, [Unit(contest.id, "测试科技厅", "sub_provincial")])  # ≤3 works
    handler = make_handler(contest, stores, tmp_path, paperwork=None)
    chat = ChatDriver(handler, UserKey("terminal", "stranger"))
    await answer_fields(chat, contest, "推荐", "recommend")
    await chat.say("修改 1")  # 推荐单位, asked as 【1/12】
    text = await chat.say("测试科技厅")
    assert "“测试科技厅”目前已推荐 0/3 部，还可推荐 3 部。提交后须由该单位确认推荐" in text
    await chat.say("https://video.example.cn/v.mp4")
    done = await chat.say("确认提交")
    assert "KP2026-000001" in done and "待“测试科技厅”确认推荐" in done and "已计入" not in done
    assert await org.list_places(contest.id) == []


async def test_recommended_entry_without_imported_units_is_taken_and_flagged(
    contest: Contest, stores: tuple[Storage, EventIsolation, OrgStore], tmp_path: Path
) -> None:
    handler = make_handler(contest, stores, tmp_path, paperwork=None)
    chat = ChatDriver(handler, UserKey("terminal", "bob"))
    await answer_fields(chat, contest, "推荐", "recommend")
    await chat.say("https://video.example.cn/v.mp4")
    text = await chat.say("确认提交")
    assert "KP2026-000001" in text
    assert "尚未导入推荐单位名单" in text
    sub = await handler.storage.get_submission("KP2026-000001")
    assert sub is not None and sub.extra.get("unit_unverified") is True


async def test_scan_step_commands(
    contest: Contest, stores: tuple[Storage, EventIsolation, OrgStore], tmp_path: Path
) -> None:
    handler = make_handler(contest, stores, tmp_path, paperwork=None)
    chat = ChatDriver(handler, UserKey("terminal", "carol"))
    await answer_fields(chat, contest, "自荐", "self")
    await chat.say("https://video.example.cn/v.mp4")
    await chat.say("确认提交")
    assert "已经提交，不能再返回修改" in await chat.say("返回")
    assert "还没有收到扫描件" in await chat.say("完成")
    assert "随时发送扫描件" in await chat.say("稍后")
    assert "请打印" in await chat.start()  # resumes at the scan step
    text = await chat.say("新报名")
    assert "请选择参赛渠道" in text
    assert (await chat.draft() or {})["step"] == "channel"


@pytest.mark.parametrize("said", ["发完了", "都传好了，完成", "已经上传完毕"])
async def test_the_scan_step_is_finished_in_plain_words(
    said: str, contest: Contest, stores: tuple[Storage, EventIsolation, OrgStore], tmp_path: Path
) -> None:
    """Tried as the tester did: "发完了" and "都传好了，完成" were not taken as 完成."""
    handler = make_handler(contest, stores, tmp_path, paperwork=None)
    chat = ChatDriver(handler, UserKey("terminal", "dave"))
    await answer_fields(chat, contest, "自荐", "self")
    await chat.say("https://video.example.cn/v.mp4")
    await chat.say("确认提交")
    assert "还没有收到扫描件" in await chat.say(said)  # nothing sent yet: told so, not completed
    scan = tmp_path / "scan.png"
    scan.write_bytes(png_scan())
    assert "已收到第1个扫描件" in await chat.upload(
        "签字盖章.png", scan.stat().st_size, "image/png", path=str(scan)
    )
    assert "材料齐全" not in await chat.say("还没传完")
    assert "材料齐全" in await chat.say(said)
    assert await chat.draft() is None


# -- the draft cache (one worker on SQLite) --------------------------------------------------


class CountingReads:
    """The store, counting the handler's draft reads."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self.reads = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)

    async def get_draft(self, user: UserKey) -> Draft | None:
        self.reads += 1
        return await self._storage.get_draft(user)


def cached_handler(
    contest: Contest, stores: tuple[Storage, EventIsolation, OrgStore], tmp_path: Path, size: int = 100
) -> tuple[SubmitHandler, CountingReads]:
    counter = CountingReads(stores[0])
    handler = make_handler(contest, stores, tmp_path, draft_cache=size)
    handler.storage = counter  # type: ignore[assignment]
    return handler, counter


async def test_typed_answers_read_the_draft_from_memory_and_store_every_one(
    contest: Contest, stores: tuple[Storage, EventIsolation, OrgStore], tmp_path: Path
) -> None:
    handler, counter = cached_handler(contest, stores, tmp_path)
    user = UserKey("terminal", "alice")
    chat = ChatDriver(handler, user)
    await answer_fields(chat, contest, "自荐", "self")
    fields = contest.form("self").fields
    assert counter.reads == 1, "only the first event reads the store"
    stored = await stores[0].get_draft(user)
    assert stored is not None
    assert stored.data["step"] == "video"
    assert set(stored.data["answers"]) == {f.id for f in fields}
    assert stored.version == 1 + 1 + len(fields)  # the new draft, the channel, each field


async def test_a_draft_written_by_someone_else_costs_one_answer_not_the_draft(
    contest: Contest, stores: tuple[Storage, EventIsolation, OrgStore], tmp_path: Path
) -> None:
    handler, _ = cached_handler(contest, stores, tmp_path)
    storage = stores[0]
    user = UserKey("terminal", "bob")
    chat = ChatDriver(handler, user)
    await chat.start()
    await chat.say("自荐")
    first = contest.form("self").fields[0]
    # Another process (a misconfigured second worker) answers the first field meanwhile.
    theirs = await storage.get_draft(user)
    assert theirs is not None
    data = {**theirs.data, "answers": {**theirs.data["answers"], first.id: "别处写入的答案"}}
    written = await storage.save_draft(Draft(user, data, theirs.version))

    await chat.say(valid_answer(first, contest))
    assert chat.last[0].meta == {"error": "stale"}, "the answer is refused, not applied to a stale draft"
    kept = await storage.get_draft(user)
    assert kept is not None
    assert (kept.version, kept.data["answers"][first.id]) == (written.version, "别处写入的答案")

    await chat.say(valid_answer(first, contest))  # sent again: from the stored draft
    now = await storage.get_draft(user)
    assert now is not None
    assert now.version == written.version + 1
    assert now.data["answers"][first.id] == valid_answer(first, contest)


async def test_confirm_reads_the_stored_draft_not_the_one_in_memory(
    contest: Contest, stores: tuple[Storage, EventIsolation, OrgStore], tmp_path: Path, factory: MediaFactory
) -> None:
    handler, counter = cached_handler(contest, stores, tmp_path)
    storage = stores[0]
    user = UserKey("terminal", "carol")
    chat = ChatDriver(handler, user)
    await answer_fields(chat, contest, "自荐", "self")
    good = factory.video(Video(seconds=4))
    assert "请核对报名信息" in await chat.upload("作品.mp4", good.stat().st_size, path=str(good))
    title = next(f for f in contest.form("self").fields if f.role == "title")
    theirs = await storage.get_draft(user)
    assert theirs is not None
    data = {**theirs.data, "answers": {**theirs.data["answers"], title.id: "另一个进程改过的标题"}}
    await storage.save_draft(Draft(user, data, theirs.version))
    before = counter.reads

    await chat.say("确认提交")
    assert counter.reads == before + 1
    (submission,) = await storage.list_submissions(contest_id=contest.id)
    assert submission.answers[title.id] == "另一个进程改过的标题"


async def test_a_full_draft_cache_forgets_the_least_recent_user(
    contest: Contest, stores: tuple[Storage, EventIsolation, OrgStore], tmp_path: Path
) -> None:
    handler, counter = cached_handler(contest, stores, tmp_path, size=1)
    alice = ChatDriver(handler, UserKey("terminal", "alice"))
    bob = ChatDriver(handler, UserKey("terminal", "bob"))
    await alice.start()
    await bob.start()
    reads = counter.reads
    await alice.say("自荐")  # bob's draft pushed alice's out
    await bob.say("自荐")
    assert counter.reads == reads + 2
    await bob.say(valid_answer(contest.form("self").fields[0], contest))
    assert counter.reads == reads + 2  # bob's is the one kept
    assert [d.user.user_id for d in await stores[0].list_drafts()] == ["alice", "bob"]
    assert all(d.data["step"] == "field" for d in await stores[0].list_drafts())
