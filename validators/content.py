"""The video's content against the notice: one bounded decode, then one line per content rule.

After the container verdict (:mod:`validators.media`), :func:`inspect_content` decodes the whole
file once in a child process (:mod:`validators.content_probe`: ffmpeg's loudness, silence,
black and freeze filters, OCR of sampled frames, a perceptual fingerprint) under a wall-clock
timeout, an address-space cap, a CPU limit and a lowered priority, and judges what it measured
against the contest's :class:`~contests.rules.ContentSpec` (:mod:`validators.content_rules`).
Duplicates need the other submissions: the caller adds that item with
:meth:`ContentReport.with_duplicates`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import math
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import validators.content_probe as content_probe
from contests.rules import ContentRule, Contest, DuplicateRule, Form
from validators.content_log import read_log
from validators.content_rules import (
    CHECK_NAMES,
    ContentItem,
    Readings,
    Status,
    duplicates,
    judge,
    retitled,
)
from validators.fingerprint import Fingerprint, Match

_PROBE_SCRIPT = Path(content_probe.__file__)


@dataclass(frozen=True, slots=True)
class ContentLimits:
    """Bounds on one content check: wall time, address space per process, CPU seconds."""

    timeout_s: float = 900.0  # an 8-minute 1080p film decodes in about a minute on one core
    memory_mib: int = 3072  # the OCR model and its runtime reserve ~1.5 GiB of address space
    cpu_s: int = 1800
    # The child's report: its ffmpeg log's tail (1 MiB) and a fingerprint of an hour of picture
    # come to a few MiB; more is a child gone wrong, not read into the service's memory.
    report_bytes: int = 16 << 20


DEFAULT_CONTENT_LIMITS = ContentLimits()


@dataclass(frozen=True, slots=True)
class ContentReport:
    """The content checks of one file for one contest, as shown in the chat and stored."""

    checked: bool
    items: tuple[ContentItem, ...]
    fingerprint: Fingerprint | None = None
    failure: str = ""  # why the check could not run, when ``checked`` is False
    seconds: int = 0  # seconds of picture decoded
    size: tuple[int, int] | None = None  # the stream's own picture size (the codec's, not the header's)
    timings: dict[str, float] = dataclasses.field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """No ✗: warnings and 需人工确认 do not stop a submission."""
        return all(item.status != "fail" for item in self.items)

    def with_duplicates(
        self,
        rule: DuplicateRule | None,
        matches: list[Match],
        describe: dict[str, str],
        earlier: Collection[str] = (),
    ) -> ContentReport:
        """The report with its duplicates item (replacing any earlier one: the stored works
        change as others submit); ``earlier``: the matches that are earlier editions' works."""
        kept = tuple(i for i in self.items if i.id != "duplicates")
        return dataclasses.replace(self, items=(*kept, duplicates(rule, matches, describe, earlier)))

    def titled(self, rule: ContentRule | None, title: str) -> ContentReport:
        """The report for the work named ``title`` as it is now: its title-card item (片头名称
        与作品名称「…」一致) judged again where the entrant renamed the work since the check
        (trial round: the report pushed after a rename on the review page named the old
        title).  ``rule``: the contest's ``title_card`` rule; without it, as it is."""
        if rule is None or not title:
            return self
        return dataclasses.replace(self, items=tuple(retitled(i, rule, title) for i in self.items))

    def for_entrant(self, rule: DuplicateRule | None) -> ContentReport:
        """What the entrant is shown: a duplicate only where the notice forbids it (it names
        other entrants' works otherwise, which is the organisers' business)."""
        if rule is not None:
            return self
        return dataclasses.replace(self, items=tuple(i for i in self.items if i.id != "duplicates"))

    def in_words_of(self, form: Form | None) -> ContentReport:
        """The report as the entrant of ``form`` reads it: the notice's clauses name their own
        form (:meth:`~contests.rules.Form.own_words`: most-cas's 片头名称应与推荐表一致 is the
        自荐表 for a 自荐 entrant), the clause that is a line's message too."""
        if form is None:
            return self

        def own(item: ContentItem) -> ContentItem:
            message = item.message
            if item.clause and message.startswith(item.clause):  # 需人工确认: the clause is the line
                message = form.own_words(message)
            return dataclasses.replace(item, message=message, clause=form.own_words(item.clause))

        return dataclasses.replace(self, items=tuple(own(i) for i in self.items))

    def to_dict(self) -> dict[str, Any]:
        """The ``check-video --content --json`` shape; JSON-safe, stored with the submission."""
        return {
            "checked": self.checked,
            "ok": self.ok,
            "failure": self.failure or None,
            "seconds_decoded": self.seconds,
            "decoded_size": list(self.size) if self.size else None,
            "checks": [item.to_dict() for item in self.items],
            "fingerprint": self.fingerprint.to_bytes().hex() if self.fingerprint else None,
            "timings": self.timings,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ContentReport:
        items = tuple(
            ContentItem(c["id"], c["status"], c["message"], c.get("clause", ""), c.get("values", {}))
            for c in data.get("checks", ())
        )
        fingerprint = (
            Fingerprint.from_bytes(bytes.fromhex(data["fingerprint"])) if data.get("fingerprint") else None
        )
        size = data.get("decoded_size")
        return cls(
            bool(data.get("checked")),
            items,
            fingerprint,
            data.get("failure") or "",
            int(data.get("seconds_decoded", 0)),
            (int(size[0]), int(size[1])) if size else None,
        )

    def summary_zh(self) -> str:
        """One cell of the export: the verdict, then what failed or warned, in a few words."""
        if not self.checked:
            return f"未完成：{self.failure}"
        failed = [i.message for i in self.items if i.status == "fail"]
        warned = [i.message for i in self.items if i.status == "warning"]
        manual = sum(1 for i in self.items if i.status == "manual")
        parts = [f"✗ {m}" for m in failed] + [f"⚠ {m}" for m in warned]
        head = "不符合" if failed else "建议修改" if warned else "通过"
        tail = f"；{manual} 项需人工确认" if manual else ""
        return f"{head}{'：' if parts else ''}{'；'.join(parts)}{tail}"

    def text_zh(self) -> str:
        """The chat report: a verdict line, then one ✓/⚠/✗/需人工确认 line per rule."""
        if not self.checked:
            return f"⚠ 视频内容检查没有完成：{self.failure}。组委会将人工查看。"
        failed = [i for i in self.items if i.status == "fail"]
        warned = [i for i in self.items if i.status == "warning"]
        if failed:
            head = f"❌ 视频内容有 {len(failed)} 项不符合通知要求："  # how to replace it follows, by state
        elif warned:
            head = f"⚠ 视频内容检查：{len(warned)} 项建议修改（不影响提交，评审时可能扣分）："
        else:
            head = "✅ 视频内容检查完成，未发现问题："
        return "\n".join([head, *(i.line() for i in self.items)])


def problems_of(stored: Any, status: Status = "fail") -> list[str]:
    """The checks of a stored report (``ContentReport.to_dict``) found ``status``, each in a few
    words (:data:`CHECK_NAMES`): no message, so no other entrant's work is named."""
    if not isinstance(stored, dict) or not stored.get("checked"):
        return []
    items = ContentReport.from_dict(stored).items
    return list(dict.fromkeys(CHECK_NAMES.get(i.id, i.id) for i in items if i.status == status))


def unnamed(
    stored: Mapping[str, Any], rule: DuplicateRule | None, contest_id: str, shown: Callable[[str], bool]
) -> dict[str, Any]:
    """A stored report (``ContentReport.to_dict``) for a viewer who may see only the works
    ``shown`` says (by their key, ``contest_id/number``): its duplicates item said again with
    the others plainly (本届的另一件投稿, 往届作品), their number, title and key gone, as the
    entrant is told (:mod:`handlers.content`)."""
    checks = list(stored.get("checks") or ())
    for n, check in enumerate(checks):
        if not isinstance(check, Mapping) or check.get("id") != "duplicates":
            continue
        found = [m for m in (check.get("values") or {}).get("matches") or () if isinstance(m, Mapping)]
        hidden = {str(m.get("key")) for m in found if not shown(str(m.get("key")))}
        if not hidden:
            continue
        matches = [Match(str(m.get("key")), float(m.get("score") or 0)) for m in found]
        names = {
            m.key: (
                ("本届的另一件投稿" if m.key.partition("/")[0] == contest_id else "往届作品")
                if m.key in hidden
                else str(f.get("what") or m.key)
            )
            for m, f in zip(matches, found, strict=True)
        }
        earlier = {m.key for m in matches if m.key.partition("/")[0] != contest_id}
        item = duplicates(rule, matches, names, earlier).to_dict()
        item["values"] = {
            "matches": [{**v, "key": ""} if v["key"] in hidden else v for v in item["values"]["matches"]]
        }
        checks[n] = item
    return {**stored, "checks": checks}


def _fail(reason: str) -> ContentReport:
    return ContentReport(False, (), failure=reason)


def _command(path: Path, limits: ContentLimits) -> tuple[list[str], dict[str, str]]:
    command = [
        sys.executable,
        "-I",
        str(_PROBE_SCRIPT),
        str(path.resolve()),
        str(limits.memory_mib),
        str(limits.cpu_s),
    ]
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LD_LIBRARY_PATH", "HOME")}
    env["OMP_NUM_THREADS"] = "1"
    return command, env


def _parsed(returncode: int, out: bytes) -> dict[str, Any] | str:
    if returncode != 0:
        reason = f"信号 {-returncode}" if returncode < 0 else f"退出码 {returncode}"
        return f"内容检查程序出错（{reason}）"
    try:
        report = json.loads(out)
    except ValueError:
        return "内容检查程序的结果无法读取"
    return report if isinstance(report, dict) else "内容检查程序的结果无法读取"


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # ended on its own just before
        os.killpg(pid, signal.SIGKILL)


def run_probe(path: Path, limits: ContentLimits) -> dict[str, Any] | str:
    """The child's JSON report, or why there is none (in Chinese).  Blocking: for the CLI and
    tests, never on a running event loop (use :func:`run_probe_async` there)."""
    return asyncio.run(run_probe_async(path, limits))


async def _read_capped(stream: asyncio.StreamReader, cap: int) -> bytes | None:
    """``stream`` to its end, or None once it is longer than ``cap`` bytes."""
    out = bytearray()
    while chunk := await stream.read(1 << 16):
        out += chunk
        if len(out) > cap:
            return None
    return bytes(out)


async def run_probe_async(path: Path, limits: ContentLimits) -> dict[str, Any] | str:
    """The child's JSON report, or why there is none (in Chinese), from the event loop: a
    cancelled caller (a service shutting down) ends the child and its ffmpeg at once, where a
    worker thread would wait for them.  Its report is read up to ``limits.report_bytes``."""
    if not sys.executable:
        return "服务器缺少 Python 解释器"
    command, env = _command(path, limits)
    try:
        child = await asyncio.create_subprocess_exec(
            *command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # the OCR runtime's chatter; the report is on stdout
            env=env,
            start_new_session=True,  # its ffmpeg is in the group: a timeout ends both
        )
    except OSError:
        return "无法启动内容检查程序"
    assert child.stdout is not None
    try:
        async with asyncio.timeout(limits.timeout_s):
            out = await _read_capped(child.stdout, limits.report_bytes)
            if out is None:
                _kill_group(child.pid)
                await child.wait()
                cap = limits.report_bytes
                size = f"{cap >> 20} MB" if cap >= 1 << 20 else f"{cap} 字节"
                return f"内容检查程序的结果过大（超过 {size}），已停止"
            await child.wait()
    except TimeoutError:
        _kill_group(child.pid)
        await child.wait()
        return f"内容检查超时（{limits.timeout_s:g} 秒）"
    except BaseException:
        _kill_group(child.pid)
        await asyncio.shield(child.wait())
        raise
    assert child.returncode is not None
    return _parsed(child.returncode, out)


def _readings(report: dict[str, Any]) -> Readings:
    info = report.get("probe", {})
    duration = info.get("duration")
    seconds = int(report.get("seconds_read", 0))
    return Readings(
        duration=float(duration)
        if isinstance(duration, int | float) and math.isfinite(duration)
        else seconds or None,
        audio=bool(info.get("audio")),
        subtitle_tracks=tuple(info.get("subtitle_tracks", ())),
        opening=tuple((int(s), tuple(t)) for s, t in report.get("opening", ())),
        subtitles=tuple((int(s), str(t)) for s, t in report.get("subtitles", ())),
        closing=tuple((int(s), tuple(t)) for s, t in report.get("closing", ())),
        corners={k: tuple(v) for k, v in report.get("corners", {}).items()},
    )


def inspect_content(
    path: Path, contest: Contest, *, title: str = "", limits: ContentLimits = DEFAULT_CONTENT_LIMITS
) -> ContentReport:
    """Decode ``path`` once and judge it against ``contest``'s content rules (blocking, bounded).

    Never raises for a bad file: a report with ``checked`` False says why.
    """
    if contest.video is None:
        return _fail("本大赛通知没有规定视频内容要求")
    return judge_probe(run_probe(path, limits), contest, title=title)


def judge_probe(report: dict[str, Any] | str, contest: Contest, *, title: str = "") -> ContentReport:
    """The child's report (or why there is none) judged against ``contest``'s content rules."""
    if isinstance(report, str):
        return _fail(report)
    if contest.video is None:
        return _fail("本大赛通知没有规定视频内容要求")
    if report.get("error") == "no_video":
        return _fail("文件里没有可以解码的画面")
    readings = _readings(report)
    log = read_log(str(report.get("log", "")), readings.duration)
    seconds = int(report.get("seconds_read", 0))
    if seconds == 0:
        return _fail("视频数据无法解码出画面")
    items = judge(contest.video, log, readings, title=title)
    timings = {k: float(report[k]) for k in ("wall_s", "ocr_s") if isinstance(report.get(k), int | float)}
    timings["ocr_calls"] = float(report.get("ocr_calls", 0))
    info = report.get("probe", {})
    return ContentReport(
        True,
        items,
        Fingerprint.from_pairs(report.get("fingerprint", ())),
        seconds=seconds,
        size=(int(info.get("width", 0)), int(info.get("height", 0))),
        timings=timings,
    )


async def check_content(
    path: Path, contest: Contest, *, title: str = "", limits: ContentLimits = DEFAULT_CONTENT_LIMITS
) -> ContentReport:
    """:func:`inspect_content` without blocking the event loop; cancelling it ends the child."""
    if contest.video is None:
        return _fail("本大赛通知没有规定视频内容要求")
    return judge_probe(await run_probe_async(path, limits), contest, title=title)
