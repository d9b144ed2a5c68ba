"""The video step: a file sent in the chat, a link, or a cloud-drive share link.

The dialog never reads files: the handler checks a file or probes a link before the event
arrives and attaches the result as ``event.media``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from contests.events import Choice, EventKind, Incoming, Reply
from contests.rules import FieldType
from dialogs import typed_links
from dialogs.kit import KEEP, DialogKit, norm
from dialogs.plans import Plan, StepRef
from dialogs.results import Advance, Answer, StepResult
from dialogs.states import State, Step
from validators.content import problems_of
from validators.link_fields import code_alone, with_code
from validators.links import VideoLink, assess_share_link, parse_video_link
from validators.text import Invalid

_UPLOAD = {"上传", "上传链接", "大文件", "大文件上传", "upload", "/upload"}
#: The video will not go through the chat ("视频太大了发不了怎么办", "传不上去"): the upload page is
#: the answer, from the video step itself rather than the helpdesk (which knows no such page).
CANNOT_SEND = re.compile(
    r"太大|过大|超过.{0,6}(?:限制|大小)|发不了|发不出|发不上|传不了|传不上|上传失败|发送失败"
    r"|too (?:big|large)"
)
# The share link the form already holds, taken again for the video (cacsi: one folder for both).
_SAME = {"同上", "同表", "一样", "同一个链接", "用表里的链接", "用表中的链接", "就用这个链接", "same"}


def form_link(kit: DialogKit, state: State) -> tuple[str, str] | None:
    """(label, answer) of the form's first link field holding a share link, for a contest that
    takes the video as a share link: the video is often in the same folder."""
    contest, form = kit.contest(state), kit.form(state)
    if contest is None or form is None or "share_link" not in contest.delivery.accepts:
        return None
    for fld in form.fields:
        answer = state["answers"].get(fld.id)
        if fld.type is FieldType.URL and isinstance(answer, str) and answer:
            parsed = parse_video_link(answer)
            if not isinstance(parsed, Invalid) and parsed.value.kind == "share_link":
                return fld.label, answer
    return None


def size_text(size: int | None) -> str:
    """A file size as the entrant reads it: 12.3MB, 800KB."""
    if size is None:
        return ""
    mib = size / (1024 * 1024)
    return f"{mib:.1f}MB" if mib >= 1 else f"{size / 1024:.0f}KB"


def ask_video(kit: DialogKit, state: State, step: StepRef, plan: Plan, now: dt.datetime) -> Reply:
    contest = plan.contest
    assert contest is not None
    video = state.get("video")
    # The folder the notice prescribes is named from the answers: such a prompt is not kept.
    folder = contest.share_folder(plan.form, state["answers"]) if plan.form else None
    if not video and folder is None and step.token in plan.prompts:
        return Reply(*plan.prompts[step.token])
    current = kit.msg.render("describe_video", video=video) if video else None
    same = None if video else form_link(kit, state)
    # The notice's notes with the entrant's own form named (most-cas: 片头名称应与推荐表一致).
    form = plan.form
    notes = tuple(form.own_words(n) for n in contest.video.notes) if contest.video and form else None
    text = kit.msg.render(
        "prompt_video",
        contest=contest,
        spec=contest.video,
        current=current,
        folder=folder,
        same=same,
        notes=notes,
    )
    if same is not None:
        return Reply(text, (Choice("同上", f"{step.token}|同上"),))
    if not video and folder is None:
        plan.prompts[step.token] = (text, ())
    return Reply(text)


def shown_video(kit: DialogKit, state: State, step: StepRef, plan: Plan) -> tuple[str, str] | None:
    if not state.get("video"):
        return None
    video = state["video"]
    problems = problems_of(video.get("content"))  # the content check's report came back failed
    return kit.label(step.name), kit.msg.render("describe_video", video=video, problems=problems)


def read_video(
    kit: DialogKit, state: State, step: StepRef, event: Incoming, value: str, now: dt.datetime
) -> Answer:
    contest = kit.contest(state)
    assert contest is not None
    accepts = contest.delivery.accepts
    label = kit.label(Step.VIDEO)
    if event.kind is not EventKind.FILE and norm(value) in _UPLOAD:
        if "file" not in accepts:
            return kit.reject(state, "video_file_not_accepted", {}, label)
        return StepResult(state, [], actions=["upload_link"])
    if event.kind is not EventKind.FILE and CANNOT_SEND.search(value):
        if "file" in accepts:
            return StepResult(state, [Reply(kit.msg.render("cannot_send_video"))], actions=["upload_link"])
        # cacsi takes a net-disk link only: the file never goes through the chat (fourth trial round:
        # "视频太大了发不了怎么办" was told it is not a valid address).
        return StepResult(state, [Reply(kit.msg.render("video_by_link_only"))])
    if event.kind is EventKind.FILE and event.file is not None:
        return _read_file(kit, state, event, label)
    if norm(value) in KEEP:
        if state.get("video"):
            return Advance([Reply(kit.msg.render("kept"))])
        return kit.reject(state, "nothing_to_keep", {}, label)
    same = form_link(kit, state) if norm(value) in _SAME else None
    if same is not None:
        value = same[1]
    pending = state.pop("pending_share", None)
    if pending and (code := code_alone(value)):
        value = with_code(pending, code)  # the code asked for, typed on its own ("提取码：ab12")
    result = parse_video_link(value)
    if isinstance(result, Invalid):
        code = "video_expected" if result.code == "empty" else result.code
        return kit.reject(state, code, result.params, label)
    link: VideoLink = result.value
    if link.kind == "link" and "link" not in accepts:
        code = "video_share_link_required" if "share_link" in accepts else "video_link_not_accepted"
        return kit.reject(state, code, {"value": link.url}, label)
    if link.kind == "share_link" and "share_link" not in accepts:
        return kit.reject(state, "video_link_not_accepted", {}, label)
    if link.kind == "share_link":
        advice = assess_share_link(link, contest, _answers_by_role(kit, state))
        notes = Reply("\n".join(advice.notes_zh()))
        if not advice.ok:
            if "code" in advice.missing:
                state["pending_share"] = value
            return StepResult(state, [notes])
        state["video"] = advice.video_record()
        typed_links.remember_link(state, Step.VIDEO, value)  # its code may follow on its own
        return Advance([notes])
    if event.media is not None:  # the handler probed the link
        probe = Reply(str(event.media.get("text", "")))
        if event.media.get("verdict") != "passed":
            return StepResult(state, [probe, Reply(kit.msg.render("video_retry"))])
        probed: dict[str, Any] = event.media.get("report") or {}
        state["video"] = {
            "kind": "link",
            "url": link.url,
            "checked": True,
            "verdict": "passed",
            "size": event.media.get("size"),
            "size_text": size_text(event.media.get("size")),
            "sha256": None,
            "duration_s": probed.get("duration_s"),
            "report": str(event.media.get("text", "")),
        }
        return Advance([probe])
    return _recorded(kit, state, {"kind": "link", "url": link.url, "checked": False})


def _read_file(kit: DialogKit, state: State, event: Incoming, label: str) -> Answer:
    """A video file sent in the chat, checked by the handler (``event.media``) or not yet."""
    contest = kit.contest(state)
    assert contest is not None and event.file is not None
    info = event.file
    if "file" not in contest.delivery.accepts:
        return kit.reject(state, "video_file_not_accepted", {}, label)
    if info.mime and not info.mime.startswith("video/") and not info.name.lower().endswith((".mp4", ".mov")):
        return kit.reject(state, "video_not_video", {"name": info.name}, label)
    spec = contest.video
    # A file the handler could read was judged against every rule, its size among them: the
    # report tells all that fails at once.  The size alone is judged only where nothing else is.
    probed = event.media is not None and bool(event.media.get("readable"))
    if spec and info.size is not None and not probed:
        mib = info.size / (1024 * 1024)
        if spec.max_size_mib is not None and mib > spec.max_size_mib:
            params = {"actual": size_text(info.size), "max": f"{spec.max_size_mib:g}MB"}
            return kit.reject(state, "video_too_big", params, label)
        if spec.min_size_mib is not None and mib < spec.min_size_mib:
            params = {"actual": size_text(info.size), "min": f"{spec.min_size_mib:g}MB"}
            return kit.reject(state, "video_too_small", params, label)
    if not info.path and event.media is None:
        # The chat platform would not hand the file over (too large for bots): the personal
        # upload page takes it instead.
        limit = size_text(info.limit)  # the channel's own limit, where it says it (the web chat)
        too_big = Reply(
            kit.msg.render("file_too_big_for_chat", name=info.name, size=size_text(info.size), limit=limit)
        )
        return StepResult(state, [too_big], actions=["upload_link"])
    if event.media is None:
        return _recorded(
            kit,
            state,
            {
                "kind": "file", "name": info.name, "size": info.size, "mime": info.mime,
                "size_text": size_text(info.size), "checked": False, "stored": info.path,
            },
        )  # fmt: skip
    report = Reply(str(event.media.get("text", "")), meta={"media_ok": str(bool(event.media.get("ok")))})
    if not event.media.get("ok"):
        return StepResult(state, [report, Reply(kit.msg.render("video_retry"))])
    size = event.media.get("size", info.size)
    state["video"] = {
        "kind": "file",
        "name": info.name,
        "size": size,
        "mime": info.mime,
        "size_text": size_text(size),
        "checked": True,
        "verdict": "passed",
        "sha256": event.media.get("sha256"),
        "stored": event.media.get("stored", ""),
        # The check's lines (✓/✗ with the values), as the entrant read them: the organisers'
        # page shows them line by line.
        "report": str(event.media.get("text", "")),
    }
    return Advance([report])


def _recorded(kit: DialogKit, state: State, video: dict[str, Any]) -> Advance:
    """A video taken as given, not checked (no prober, or a file the check has not seen)."""
    state["video"] = video
    return Advance([Reply(kit.msg.render("video_recorded", video=video))])


def _answers_by_role(kit: DialogKit, state: State) -> dict[str, Any]:
    """Answers by field id and by role (unit, title, ...), as the link advice reads them."""
    form = kit.form(state)
    answers = dict(state["answers"])
    for fld in form.fields if form else ():
        if fld.role and fld.id in answers:
            answers.setdefault(fld.role, answers[fld.id])
    return answers
