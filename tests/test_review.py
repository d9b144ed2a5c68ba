"""The formal review loop in chat: an organiser returns a submission with a reason, the
entrant sees it in 我的投稿, fixes the named field under the same number, and is passed."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import subprocess
from pathlib import Path

from bot.services import Services, services
from bot.settings import Settings
from bot.terminal import tell_decisions
from contests.deliveries import JobKind
from contests.events import EventKind, FileInfo, Incoming, Reply
from contests.org import Invite, Role, hash_code
from contests.records import UserKey
from contests.registry import ContestRegistry
from contests.review import Decision, ReviewState, history_of, state_of
from dialogs.engine import DialogEngine, choices_as_text
from dialogs.messages import Messages
from dialogs.states import DRAFT_VERSION, Step
from handlers.review.service import LINK_CHECKS
from tests.cli_runner import run_bot
from tests.conftest import OPEN_ID, beijing, valid_answer, write_open_edition
from tests.test_submission_flow import png_scan

ENTRANT = UserKey("terminal", "entrant")
BOSS = UserKey("terminal", "boss")


class Inbox:
    """The terminal channel's notifier: what the entrant is told outside their own turn."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    async def push(self, user: UserKey, replies: list[Reply]) -> None:
        if user == ENTRANT:
            self.texts.extend(r.text for r in replies)


async def say(svc: Services, user: UserKey, text: str) -> str:
    replies = await svc.assistant.handle(Incoming(user, EventKind.TEXT, text=text))
    return "\n".join(choices_as_text(r) for r in replies)


async def bind(svc: Services, user: UserKey, role: Role, code: str) -> None:
    now = dt.datetime.now(dt.UTC)
    await svc.stores.org.add_invite(
        Invite(hash_code(code), OPEN_ID, role, None, now, now + dt.timedelta(days=1))
    )
    assert (await svc.stores.org.redeem_invite(hash_code(code), user, now)).membership is not None


async def submit_complete(svc: Services, tmp_path: Path) -> str:
    contest = svc.contests.get(OPEN_ID)
    assert contest is not None
    await say(svc, ENTRANT, "开始")
    await say(svc, ENTRANT, "自荐")
    for field in contest.form(contest.channel("self").forms["work"]).fields:
        await say(svc, ENTRANT, valid_answer(field, contest))
    await say(svc, ENTRANT, "链接: https://pan.baidu.com/s/1AbCdEfG 提取码: k3p9")  # probed by nobody
    text = await say(svc, ENTRANT, "确认提交")
    found = re.search(r"[A-Z]{2}\d{4}-\d{6}", text)
    assert found is not None, text
    number = found.group(0)
    scan = tmp_path / "scan.png"
    scan.write_bytes(png_scan())
    info = FileInfo(scan.name, scan.stat().st_size, "image/png", "ref-1", path=str(scan))
    await svc.assistant.handle(Incoming(ENTRANT, EventKind.FILE, file=info))  # the signed form, scanned
    assert "材料齐全" in await say(svc, ENTRANT, "完成")
    return number


async def test_return_fix_resubmit_and_pass_in_chat(tmp_path: Path) -> None:
    write_open_edition(tmp_path / "contests")
    settings = Settings(_env_file=None, data_dir=tmp_path, contests_dir=tmp_path / "contests")
    async with services(settings) as svc:
        inbox = Inbox()
        svc.reach.register("terminal", inbox)
        number = await submit_complete(svc, tmp_path)
        await bind(svc, BOSS, Role.ORGANISER, "BOSS-1")

        # Only organisers decide; a return needs a reason and names what is to be fixed.
        assert "只有本大赛的主办方" in await say(svc, ENTRANT, f"审核 {number} 通过")
        refused = await say(svc, BOSS, f"审核 {number} 退回")
        assert "须写明理由" in refused
        answer = await say(svc, BOSS, f"审核 {number} 退回 作品名称 片头名称与推荐表不一致")
        assert f"已记录：{number}" in answer and "退回修改" in answer
        await svc.reach.drain()
        told = "\n".join(inbox.texts)
        assert "被退回修改" in told and "片头名称与推荐表不一致" in told and "需要修改：作品名称" in told
        assert f"修改 {number}" in told

        asked = await say(svc, ENTRANT, "问：我的作品审核通过了吗")  # answered, not handed off
        assert "【退回修改】" in asked and "HD-" not in asked
        mine = await say(svc, ENTRANT, "我的投稿")
        assert f"{number}" in mine and "【退回修改】" in mine and "理由：片头名称与推荐表不一致" in mine

        # Asked without a prefix, the question starts an empty draft: it must not block 修改.
        await say(svc, ENTRANT, "我的作品审核通过了吗")
        # The entrant reopens the submission, fixes the title and confirms: same number.
        page = await say(svc, ENTRANT, f"修改 {number}")
        assert f"正在修改 {number}" in page and "确认提交" in page
        # Sixth trial round: the reopened page said nothing of what the return asked to fix.
        assert "退回理由：片头名称与推荐表不一致" in page and "需要修改：作品名称" in page, page
        draft = await svc.storage.get_draft(ENTRANT)
        assert draft is not None and draft.data["amend"] == number
        await say(svc, ENTRANT, "修改 2")  # the title, asked as 【2/…】
        await say(svc, ENTRANT, "新的作品名称")
        done = await say(svc, ENTRANT, "确认提交")
        assert f"已重新提交 {number}" in done and "提交成功" not in done
        # The reply names the work by its new title, not the one it was returned with.
        assert "《新的作品名称》" in done and "科学精神照亮前行之路" not in done, done
        sub = await svc.storage.get_submission(number)
        assert sub is not None and "新的作品名称" in sub.answers.values()
        assert state_of(sub) is ReviewState.SUBMITTED  # the form changed: sign and scan again
        assert len(await svc.storage.list_submissions()) == 1  # no second number
        scan = tmp_path / "scan2.png"
        scan.write_bytes(png_scan())
        info = FileInfo(scan.name, scan.stat().st_size, "image/png", "ref-2", path=str(scan))
        await svc.assistant.handle(Incoming(ENTRANT, EventKind.FILE, file=info))
        assert "材料齐全" in await say(svc, ENTRANT, "完成")

        blocked = await svc.review.decide(number, Decision.PASS, "", by=BOSS)
        assert (blocked.ok, blocked.code) == (False, "not_ready") and "链接核验" in blocked.text
        checks = dict.fromkeys(LINK_CHECKS, True)
        bad = await svc.review.check_link(number, by=BOSS, checks={**checks, "code_works": False})
        assert bad.ok and "提取码正确" in bad.text
        assert not (await svc.review.decide(number, Decision.PASS, "", by=BOSS)).ok
        assert not (await svc.review.check_link(number, by=ENTRANT, checks=checks)).ok
        assert (await svc.review.check_link(number, by=BOSS, checks=checks)).text == "链接核验通过。"
        passed = await svc.review.decide(number, Decision.PASS, "", by=BOSS)
        assert passed.ok, passed.text
        sub = await svc.storage.get_submission(number)
        assert sub is not None and state_of(sub) is ReviewState.PASSED
        events = [h.event for h in history_of(sub)]
        assert events == [
            "submitted",
            "complete",
            "decided",
            "resubmitted",
            "complete",
            "link_checked",
            "link_checked",
            "decided",
        ]
        assert "【通过形式审查】" in await say(svc, ENTRANT, "我的投稿")
        assert "不需要修改" in await say(svc, ENTRANT, f"修改 {number}")
        audit = await svc.stores.audit.list_entries(target=number, newest_first=False)
        assert [(e.actor, e.action) for e in audit][-1] == (str(BOSS), "review.decide")
        assert [e.detail.get("decision") for e in audit if e.action == "review.decide"] == ["return", "pass"]
        svc.reach.unregister("terminal")


async def test_a_return_naming_the_video_is_not_resubmitted_unchanged_unasked(tmp_path: Path) -> None:
    """Tried on cq-2026: a return said “需要修改：参赛视频（文件或链接）”, and 修改 then 确认提交
    without a new video answered “已重新提交…主办方将再次审查”."""
    write_open_edition(tmp_path / "contests")
    settings = Settings(_env_file=None, data_dir=tmp_path, contests_dir=tmp_path / "contests")
    async with services(settings) as svc:
        number = await submit_complete(svc, tmp_path)
        await bind(svc, BOSS, Role.ORGANISER, "BOSS-2")
        assert "退回修改" in await say(svc, BOSS, f"审核 {number} 退回 视频 片头缺少作品名称")
        await say(svc, ENTRANT, f"修改 {number}")
        asked = await say(svc, ENTRANT, "确认提交")
        assert "“参赛视频（文件或链接）”与退回前相同，还没有改动" in asked and "已重新提交" not in asked
        sub = await svc.storage.get_submission(number)
        assert sub is not None and state_of(sub) is ReviewState.RETURNED
        # Said again on purpose: it goes back as it is.
        assert f"已重新提交 {number}" in await say(svc, ENTRANT, "确认提交")


def _listed(page: str) -> list[str]:
    """The unnumbered lines of a review page: the contest, channel and track."""
    return [line for line in page.splitlines() if line.startswith("· ")]


async def test_a_reopened_work_shows_the_lines_of_its_first_review_page(tmp_path: Path) -> None:
    # 修改 编号 reopened the review page without its “· 大赛：” line: the draft's contest is fixed
    # there (it cannot be changed), and only a contest to choose was shown.
    write_open_edition(tmp_path / "contests")
    write_open_edition(tmp_path / "contests", "most-cas-tg-other", prefix="KQ2099")  # a contest to choose
    settings = Settings(_env_file=None, data_dir=tmp_path, contests_dir=tmp_path / "contests")
    async with services(settings) as svc:
        contest = svc.contests.get(OPEN_ID)
        assert contest is not None
        await say(svc, ENTRANT, "开始")
        await say(svc, ENTRANT, OPEN_ID)
        await say(svc, ENTRANT, "自荐")
        for field in contest.form(contest.channel("self").forms["work"]).fields:
            await say(svc, ENTRANT, valid_answer(field, contest))
        first = await say(svc, ENTRANT, "链接: https://pan.baidu.com/s/1AbCdEfG 提取码: k3p9")
        assert f"· 大赛：{contest.title}" in first
        found = re.search(r"[A-Z]{2}\d{4}-\d{6}", await say(svc, ENTRANT, "确认提交"))
        assert found is not None
        await bind(svc, BOSS, Role.ORGANISER, "BOSS-3")
        assert "退回修改" in await say(svc, BOSS, f"审核 {found[0]} 退回 作品名称 片名有误")
        again = await say(svc, ENTRANT, f"修改 {found[0]}")
        assert _listed(again) == _listed(first)
        assert "修改 大赛" not in again  # named, not to be changed here
        assert "大赛" not in await say(svc, ENTRANT, "修改")  # nor offered in the edit menu


async def test_my_submissions_mention_the_form_being_filled_in(tmp_path: Path) -> None:
    write_open_edition(tmp_path / "contests")
    settings = Settings(_env_file=None, data_dir=tmp_path, contests_dir=tmp_path / "contests")
    async with services(settings) as svc:
        assert "发送“开始”报名" in await say(svc, ENTRANT, "我的投稿")
        await svc.assistant.handle(Incoming(ENTRANT, EventKind.START), contest_hint=OPEN_ID)
        await say(svc, ENTRANT, "自荐")
        assert "正在填写" not in await say(svc, ENTRANT, "我的投稿")  # nothing filled in yet
        await say(svc, ENTRANT, "某某科普中心")
        mine = await say(svc, ENTRANT, "我的投稿")
        assert (
            "还没有提交过作品" in mine and "正在填写的报名还没有提交" in mine and "发送“开始”报名" not in mine
        )
        draft = await svc.storage.get_draft(ENTRANT)
        assert draft is not None and draft.data["step"] != "scan"  # 我的投稿 left it as it was


async def test_a_question_after_the_submission_is_finished_starts_no_new_dialog(tmp_path: Path) -> None:
    """Seventh trial round (web chat): "我的作品审核通过了吗" after the submission was complete was
    answered, then a welcome and the contest's channels followed as if a new dialog had begun."""
    write_open_edition(tmp_path / "contests")
    settings = Settings(_env_file=None, data_dir=tmp_path, contests_dir=tmp_path / "contests")
    async with services(settings) as svc:
        await submit_complete(svc, tmp_path)
        assert await svc.storage.get_draft(ENTRANT) is None
        for question in ("我的作品审核通过了吗", "视频可以多大？"):
            said = await say(svc, ENTRANT, question)
            assert "您好！我是" not in said and "请选择参赛渠道" not in said, said
            assert "请选择要报名的大赛" not in said and "报名草稿没有改动" not in said, said
            assert "发送“开始”" in said, said  # how to enter another work
            assert await svc.storage.get_draft(ENTRANT) is None
        assert "【材料齐全】" in await say(svc, ENTRANT, "我的作品审核通过了吗")
        assert "您好！我是" in await say(svc, ENTRANT, "开始")  # a new dialog when asked for


def test_review_from_the_command_line(tmp_path: Path) -> None:
    """``python -m bot review``: the server's operator decides, with the same checks."""
    write_open_edition(tmp_path / "contests")
    settings = Settings(_env_file=None, data_dir=tmp_path, contests_dir=tmp_path / "contests")

    async def seed() -> str:
        async with services(settings) as svc:
            return await submit_complete(svc, tmp_path)

    number = asyncio.run(seed())
    env = {"BOT_DATA_DIR": str(tmp_path), "BOT_CONTESTS_DIR": str(tmp_path / "contests")}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return run_bot(["review", number, *args], env=env)

    refused = cli("--decision", "return")
    assert refused.returncode == 2 and "须写明理由" in refused.stderr
    done = cli("--decision", "return", "--reason", "扫描件不清晰", "--items", "scan")
    assert done.returncode == 0 and "退回修改" in done.stdout, done.stderr

    async def check() -> None:
        async with services(settings) as svc:
            sub = await svc.storage.get_submission(number)
            assert sub is not None and state_of(sub) is ReviewState.RETURNED
            assert history_of(sub)[-1].by.startswith("cli:")
            entries = await svc.stores.audit.list_entries(target=number)
            assert entries[0].source == "cli" and entries[0].action == "review.decide"

    asyncio.run(check())


async def test_a_wechat_entrant_is_told_through_a_notice_job(tmp_path: Path) -> None:
    """WeChat's 48-hour window and templates are the delivery worker's business: a decision
    about a WeChat entrant's work becomes a notice job for them alone."""
    write_open_edition(tmp_path / "contests")
    settings = Settings(_env_file=None, data_dir=tmp_path, contests_dir=tmp_path / "contests")
    wx = UserKey("wechat", "oEntrant")
    async with services(settings) as svc:
        contest = svc.contests.get(OPEN_ID)
        assert contest is not None
        sub = await svc.storage.create_submission(
            prefix=contest.number_prefix,
            contest_id=contest.id,
            user=wx,
            channel_id="self",
            form_id="self",
            answers={"title": "星空"},
            video={"kind": "share_link", "url": "https://pan.baidu.com/s/1x"},
            now=dt.datetime.now(dt.UTC),
        )
        await bind(svc, BOSS, Role.ORGANISER, "BOSS-2")
        done = await svc.review.decide(sub.number, Decision.RETURN, "缺少片尾字幕", by=BOSS, items=["video"])
        assert done.ok, done.text
        (job,) = await svc.stores.jobs.list_jobs()
        assert job.kind is JobKind.NOTICE and job.audience == "user:wechat:oEntrant"
        assert job.contest_id == contest.id and "缺少片尾字幕" in job.text and "参赛视频" in job.text


async def test_a_person_entering_alone_is_asked_for_a_signed_scan_not_a_sealed_one(tmp_path: Path) -> None:
    # Fourth trial round: 我的投稿 told an individual 自荐 entrant "还缺：签字盖章的扫描件".
    from contests.records import Submission

    write_open_edition(tmp_path / "contests")
    settings = Settings(_env_file=None, data_dir=tmp_path, contests_dir=tmp_path / "contests")
    async with services(settings) as svc:
        contest = svc.contests.get(OPEN_ID)
        assert contest is not None
        form = contest.form(contest.channel("self").forms["work"])
        unit = next(f for f in form.fields if f.role == "unit")
        authors = next(f for f in form.fields if f.role == "authors")
        now = dt.datetime.now(dt.UTC)

        def entry(who: str) -> Submission:
            answers = {unit.id: who, authors.id: ["张伟", "李娜"]}
            return Submission("KP2026-000009", OPEN_ID, ENTRANT, "self", form.id, answers, {}, now)

        alone = svc.review._explain(contest, entry("张伟"), ReviewState.SUBMITTED, now)
        assert any("还缺：签字的扫描件" in line for line in alone), alone
        body = svc.review._explain(contest, entry("某某科普中心"), ReviewState.SUBMITTED, now)
        assert any("还缺：签字盖章的扫描件" in line for line in body), body


async def test_a_reopened_work_keeps_its_channel(tmp_path: Path) -> None:
    # Found by a tester: 修改 编号, then 修改 参赛渠道 and another channel, its fields, 确认提交:
    # “已重新提交…（编号和名额不变）” while the submission kept its old channel and form.
    write_open_edition(tmp_path / "contests")
    settings = Settings(_env_file=None, data_dir=tmp_path, contests_dir=tmp_path / "contests")
    async with services(settings) as svc:
        number = await submit_complete(svc, tmp_path)
        await bind(svc, BOSS, Role.ORGANISER, "BOSS-5")
        assert "退回修改" in await say(svc, BOSS, f"审核 {number} 退回 作品名称 片名有误")
        page = await say(svc, ENTRANT, f"修改 {number}")
        assert "· 参赛渠道：社会征集（自荐）" in page and "修改 参赛渠道" not in page
        assert "参赛渠道" not in await say(svc, ENTRANT, "修改")  # not offered in the edit menu
        await say(svc, ENTRANT, "返回")
        for said in ("修改 参赛渠道", "参赛渠道", "参赛渠道改成地方推荐"):
            refused = await say(svc, ENTRANT, said)
            assert "已提交的作品不能更换参赛渠道" in refused and f"撤回 {number}" in refused, said
        assert "不能更换" in await say(svc, ENTRANT, "修改 大赛")
        await say(
            svc, ENTRANT, "修改 1"
        )  # the first field: neither 返回 nor a correction reaches the channel
        assert "已经是第一步" in await say(svc, ENTRANT, "返回")
        assert "已提交的作品不能更换参赛渠道" in await say(svc, ENTRANT, "不对，我选的是推荐")
        draft = await svc.storage.get_draft(ENTRANT)
        assert draft is not None and draft.data["channel"] == "self" and draft.data["step"] == "field"
        assert draft.data["amend"] == number


def test_a_reopened_work_keeps_its_track() -> None:
    # The same for cacsi's 申报类型: a 科普号 entry reopened by 修改 编号 does not become a 微视频.
    contests = ContestRegistry.load()
    engine = DialogEngine(contests, Messages())
    contest = contests.get("cacsi-2022-youth")
    assert contest is not None
    form = contest.form(contest.channel("member").forms["account"])
    answers = {f.id: valid_answer(f, contest) for f in form.fields}
    state = {
        "v": DRAFT_VERSION, "step": Step.REVIEW, "field": None, "contest": contest.id, "contest_fixed": True,
        "channel": "member", "track": "account", "answers": answers, "video": {}, "amend": "QS2022-000001",
    }  # fmt: skip
    now = beijing(2022, 10, 1)

    def say(text: str) -> str:
        done = engine.handle(state, Incoming(ENTRANT, EventKind.TEXT, text=text), now)
        assert done.state is not None
        state.update(done.state)
        return "\n".join(choices_as_text(r) for r in done.replies)

    page = say("进度")
    assert "· 申报类型：科普号" in page and "修改 申报类型" not in page and "修改 参赛渠道" not in page
    for said in ("修改 申报类型", "申报类型", "修改 参赛渠道"):
        refused = say(said)
        assert "已提交的作品不能更换" in refused and "「撤回 QS2022-000001」" in refused, said
    assert "已提交的作品不能更换申报类型" in say("修改 申报类型")
    assert (state["channel"], state["track"], state["step"]) == ("member", "account", Step.REVIEW)


async def test_a_reason_ending_its_sentence_is_not_punctuated_twice_when_reopened(tmp_path: Path) -> None:
    # Trial 9 (console, most-cas): a reason typed with its full stop read "退回理由：…一致。；需要修改：…"
    # on the reopened page.
    write_open_edition(tmp_path / "contests")
    settings = Settings(_env_file=None, data_dir=tmp_path, contests_dir=tmp_path / "contests")
    async with services(settings) as svc:
        svc.reach.register("terminal", Inbox())
        number = await submit_complete(svc, tmp_path)
        await bind(svc, BOSS, Role.ORGANISER, "BOSS-2")
        await say(svc, BOSS, f"审核 {number} 退回 作品名称 片头名称与推荐表不一致。")
        page = await say(svc, ENTRANT, f"修改 {number}")
        assert "退回理由：片头名称与推荐表不一致；需要修改：作品名称。" in page, page


async def test_a_terminal_entrant_is_told_a_decision_made_by_another_process(tmp_path: Path) -> None:
    """Trial 9: an organiser returned a terminal entrant's work in the console (``serve``); the
    terminal chat, another process, heard nothing ("terminal:… is not reachable from this process;
    not told"), though the README says the entrant is told at once.  The terminal now watches
    its entrant's submissions and prints a decision made elsewhere, once."""
    write_open_edition(tmp_path / "contests")
    settings = Settings(_env_file=None, data_dir=tmp_path, contests_dir=tmp_path / "contests")
    async with services(settings) as terminal, services(settings) as console:
        inbox = Inbox()
        terminal.reach.register("terminal", inbox)
        number = await submit_complete(terminal, tmp_path)
        watching = asyncio.create_task(tell_decisions(terminal, ENTRANT, interval=0.05))
        try:
            await asyncio.sleep(0.2)
            # Nothing decided yet (the form drawn after 确认提交 is all it was sent).
            assert not any("形式审查" in t or "退回" in t for t in inbox.texts)
            await bind(console, BOSS, Role.ORGANISER, "BOSS-3")
            done = await console.review.decide(
                number, Decision.RETURN, "片头名称与推荐表不一致", by=BOSS, items=("title",)
            )
            assert done.ok
            for _ in range(100):
                if any("被退回修改" in t for t in inbox.texts):
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.2)
        finally:
            watching.cancel()
        told = "\n".join(inbox.texts)
        assert told.count("被退回修改") == 1 and "片头名称与推荐表不一致" in told and f"修改 {number}" in told


def test_complete_materials_still_waiting_for_their_unit_are_told_so() -> None:
    # Trial round: 完成 said 材料齐全, then 我的投稿 said 待单位确认: both are said at once now.
    from contests.records import Submission
    from contests.review import waiting_note

    now = dt.datetime.now(dt.UTC)

    def entry(extra: dict[str, str]) -> Submission:
        return Submission(
            "KP2026-000010", OPEN_ID, ENTRANT, "recommend", "recommend", {}, {}, now, extra=extra
        )

    assert "仍待“湖南省科学技术厅”确认推荐" in waiting_note(entry({"awaiting_unit": "湖南省科学技术厅"}))
    assert waiting_note(entry({})) == ""
