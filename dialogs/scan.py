"""After the submission: the draft waits for the signed, sealed and scanned form.

The submission itself is stored by then; the draft left is a small one that collects the
scanned files and ends with the receipt.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from contests.events import Choice, EventKind, Incoming, Reply
from contests.rules import Contest, EntryRoute, Form
from dialogs.kit import SKIP, DialogKit, norm
from dialogs.plans import Plan, StepRef
from dialogs.results import Answer, Restart, StepResult
from dialogs.states import DRAFT_VERSION, State, Step
from validators.content import problems_of

_DONE = {"完成", "提交", "done", "确认", "1"}
# "发完了", "都传好了，完成", "扫描件已经上传完毕": every file is sent.  A piece saying it is not
# ("还没传完", "没发完") keeps the step waiting.
_SAID_DONE = re.compile(
    r"^(?:都|全|全部|已经|已|我|我都|我已经|扫描件|文件|材料)*(?:发|传|上传|交|提交|扫描|扫)?"
    r"(?:完|好|完毕|完成|齐)(?:了|啦|咯|毕)?$|^(?:完成|好)了?$|^就这些了?$|^没有?了$"
)
_NOT_YET = re.compile(r"还没|没(?:发|传|上传|交|扫)|未|不")
_PIECE = re.compile(r"[，,。.!！~～、；;\s]+")


def said_done(value: str) -> bool:
    """Whether a typed message says every scan is sent (the button's "完成" in other words)."""
    v = norm(value)
    pieces = [p for p in _PIECE.split(v) if p]
    if not pieces or _NOT_YET.search(v):
        return False
    return v in _DONE or all(p in _DONE or _SAID_DONE.match(p) for p in pieces)


_FORM = {"表格", "报名表", "form"}
_NEW = {"新报名", "新投稿", "再报名", "new"}
_LATER = SKIP | {"稍后", "later"}


def scan_limits(contest: Contest) -> tuple[int, float]:
    """How many scanned files, of what size (MiB), the signed form may come back as: the
    notice's own limits where it sets them (hlj: 最多3个、每个20M以内), else a generous cap."""
    return (contest.delivery.scan_max_files or 5, contest.delivery.scan_max_mib or 20.0)


def route_methods(contest: Contest, route: EntryRoute | None) -> list[str]:
    """The delivery methods that concern an entrant of ``route``: a method the notice writes for
    one route ("社会征集：将微视频光盘…") is not shown to entrants of the other."""
    kept = []
    for method in contest.delivery.methods:
        head, sep, _rest = method.partition("：")
        owners = [c for c in contest.channels if sep and (head in c.label or c.label in head)]
        if route is None or not owners or route in owners:
            kept.append(method)
    return kept


def submitted(kit: DialogKit, state: State, number: str, via: str) -> StepResult:
    """The draft after the store accepted the submission: it waits for the scan."""
    contest = kit.contest(state)
    form = kit.form(state)
    assert contest is not None and form is not None
    methods = route_methods(contest, kit.channel(state))
    channel = kit.channel(state)
    individual = contest.by_individual(channel.id if channel else None, form.id, state["answers"])
    # A person in cacsi's 会员推荐/申报 enters as the 个人会员 they are, not 自荐.
    chosen = channel.chosen_rule(form, state["answers"]) if channel is not None else None
    member = chosen.label if individual and chosen is not None and chosen.personal else ""
    # A self-nominated entry has no recommending unit to seal its 推荐单位 blank (cacsi's non-members,
    # its individual members); a 单位会员 recommends as the unit it is.
    unrecommended = (
        channel is not None and channel.kind == "self" and "单位会员" not in state["answers"].values()
    )
    signatures, notes = _signing(form, individual, unrecommended)
    text = kit.msg.render(
        "submitted",
        number=number,
        contest=contest,
        form=form,
        methods=methods,
        signatures=signatures,
        notes=notes,
        individual=individual,
        member=member,
        problems=problems_of((state.get("video") or {}).get("content")),
        folder=contest.share_folder(form, state["answers"]),
    )
    scan: State = {
        "v": DRAFT_VERSION,
        "step": Step.SCAN,
        "contest": contest.id,
        "channel": state.get("channel"),
        "track": state.get("track"),
        "contest_fixed": True,
        "answers": {},
        "video": None,
        "number": number,
        "form_id": form.id,
        "scans": [],
        "via": via,
    }
    if individual:
        scan["individual"] = True  # the scan prompt asks for a signature only
    if member:
        scan["member"] = member  # and says as whom the person enters
    if unrecommended:
        scan["unrecommended"] = True  # nor does it list the recommending unit's blank
    recommender = form.recommender()
    if recommender is not None and state["answers"].get(recommender.id):
        scan["recommender"] = state["answers"][recommender.id]  # shown by 进度: 待区县推荐
    return StepResult(scan, [Reply(text, meta={"number": number})])


def scan_prompt(kit: DialogKit, state: State) -> Reply:
    """Asks for the scanned form: how many files, how large, how many came."""
    contest = kit.contest(state)
    assert contest is not None
    max_files, max_mib = scan_limits(contest)
    form = _form(kit, state)
    individual = bool(state.get("individual"))
    unrecommended = bool(state.get("unrecommended"))
    signatures, notes = _signing(form, individual, unrecommended) if form else ((), [])
    return Reply(
        kit.msg.render(
            "prompt_scan",
            form_title=form.title if form else "",
            # The form's own blanks and notes: an individual entrant signs and has no seal to add.
            signatures=signatures,
            notes=notes,
            individual=individual,
            member=str(state.get("member") or ""),
            max_files=max_files,
            max_mib=max_mib,
            received=len(state.get("scans") or []),
            # A WeChat official account receives pictures from its users, never files.
            photos_only=state.get("via") == "wechat",
        ),
        (Choice(kit.fixed("button", "name", "scan_done"), f"{Step.SCAN}|完成"),),
    )


def ask_scan(kit: DialogKit, state: State, step: StepRef, plan: Plan, now: dt.datetime) -> Reply:
    return scan_prompt(kit, state)


def _form(kit: DialogKit, state: State) -> Form | None:
    contest = kit.contest(state)
    try:
        return contest.form(state.get("form_id") or "") if contest else None
    except KeyError:
        return None


def _signing(form: Form, individual: bool, unrecommended: bool = False) -> tuple[tuple[str, ...], list[str]]:
    """The form's blanks signed or sealed by hand, and its notes on who signs and who seals
    ("单位推荐需加盖公章，个人自荐需手写签字").  A person entering on their own (``individual``)
    has no seal: the sealed blanks and the notes' words about seals are left out; an entry no
    unit recommends (``unrecommended``) has no recommending unit's blank to fill."""
    notes = [n for n in form.footnotes if _SIGNS.search(n)]
    blanks = tuple(c for c in form.signatures if not (unrecommended and c.startswith("推荐单位")))
    if not individual:
        return blanks, notes
    own = [
        part for n in notes for part in re.split("[，,；;。]", n) if _SIGNS.search(part) and "章" not in part
    ]
    return tuple(c for c in blanks if "盖章" not in c), own


_SIGNS = re.compile(r"签|章")


def read_scan(
    kit: DialogKit, state: State, step: StepRef, event: Incoming, value: str, now: dt.datetime
) -> Answer:
    contest = kit.contest(state)
    assert contest is not None
    max_files, _max_mib = scan_limits(contest)
    scans: list[dict[str, Any]] = state.setdefault("scans", [])
    if event.kind is EventKind.FILE:
        media = event.media or {}
        if not media.get("scan_ok"):
            code = str(media.get("error") or "scan_unchecked")
            return StepResult(state, [Reply(kit.error(code, dict(media), "扫描件"), meta={"error": code})])
        if len(scans) >= max_files:
            return StepResult(state, [Reply(kit.error("scan_too_many", {"max": max_files}, "扫描件"))])
        scans.append({"name": event.file.name if event.file else "", "stored": media.get("stored", "")})
        if len(scans) >= max_files:
            return StepResult(state, [], actions=["complete"])
        return StepResult(state, [Reply(kit.msg.render("scan_received", n=len(scans), max_files=max_files))])
    v = norm(value)
    if said_done(v):
        if not scans:
            return StepResult(state, [Reply(kit.error("scan_none", {}, "扫描件")), scan_prompt(kit, state)])
        return StepResult(state, [], actions=["complete"])
    if v in _FORM:
        return StepResult(state, [], actions=["send_form"])
    if v in _NEW:  # the scan can still be sent later
        return Restart()
    if v in _LATER:
        return StepResult(
            state, [Reply(kit.msg.render("scan_later", individual=bool(state.get("individual"))))]
        )
    # Asked again without the plan: a submitted draft's form is its ``form_id``.
    return StepResult(state, [scan_prompt(kit, state)])


def locked(kit: DialogKit, state: State) -> StepResult:
    """返回 or 修改 after the submission: it is stored, not a draft any more."""
    return StepResult(state, [Reply(kit.msg.render("submitted_locked", number=state.get("number", "")))])


def dropped(kit: DialogKit, state: State) -> StepResult:
    """取消 while the scan is awaited: the draft goes, the submission stays."""
    return StepResult(None, [Reply(kit.msg.render("scan_dropped", number=state.get("number", "")))])


def completed(kit: DialogKit, state: State, receipt_text: str) -> StepResult:
    """The scan arrived and the submission is complete: the receipt ends the dialog."""
    number = state.get("number", "")
    individual = bool(state.get("individual"))
    replies = [
        Reply(kit.msg.render("completed", number=number, receipt=bool(receipt_text), individual=individual))
    ]
    if receipt_text:
        replies.append(Reply(receipt_text))
    return StepResult(None, replies)
