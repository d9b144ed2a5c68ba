"""The steps of the form's fields: how each cell is asked, and how its answer is read.

One step per field of the form the entrant's channel and track use (the table in
:mod:`dialogs.steps`).  Beyond the field's own check (:func:`validators.fields.check_answer`)
the answer is read as people give it: a place by a short or a near name (offered, never
taken), a choice the channel narrows, a date against its window and today, a link with its
提取码 sent apart, the reviewers as the way of review chosen says; what was read from words is
said back.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from contests.events import Choice, Incoming, Reply
from contests.names import closest, match_place, place_named_in
from contests.rules import Contest, FieldType, Form, FormField
from dialogs import typed_links
from dialogs.kit import KEEP, SKIP, YES_THAT, DialogKit, norm, show_answer
from dialogs.plans import Plan, StepRef
from dialogs.questions import CONFIRMED
from dialogs.results import Advance, Answer, StepResult
from dialogs.states import State
from validators.fields import check_answer
from validators.link_fields import other_drive
from validators.links import parse_video_link
from validators.requirements import check_reviewers, review_way_meant, self_not_first_maker
from validators.spoken import ROLE_MARK, date_words
from validators.text import Invalid, Valid

# A choice with more options than this (cq's 41 区县) is listed in the prompt's text and
# answered by name, not offered as a wall of buttons.
MAX_CHOICE_BUTTONS = 12
NEAR_OFFERED = "offered_places"  # {"at": a field's token, "options": the places a near name was offered as}


def ask_field(kit: DialogKit, state: State, step: StepRef, plan: Plan, now: dt.datetime) -> Reply:
    form, contest = plan.form, plan.contest
    entry = plan.fields.get(step.field_id) if type(step.field_id) is str else None
    assert form is not None and entry is not None and contest is not None
    number, fld = entry
    token = step.token
    current = state["answers"].get(fld.id)
    blank = current in (None, "")
    # The net-disk link's prompt names the folder the notice prescribes, made of the answers.
    folder = contest.share_folder(form, state["answers"]) if fld.type is FieldType.URL else None
    pledge = _pledge_filled(form, fld, state["answers"]) if fld.type is FieldType.PLEDGE else None
    # Without an answer the prompt depends on the form alone: render it once.
    if blank and folder is None and pledge is None and token in plan.prompts:
        return Reply(*plan.prompts[token])
    inline = fld.type is FieldType.CHOICE and len(fld.options) > MAX_CHOICE_BUTTONS
    options = channel_options(plan.channel.id if plan.channel else "", fld)
    text = kit.msg.render(
        "prompt_field",
        field=fld,
        index=number,
        total=len(form.fields),
        current=None if blank else show_answer(current),
        form=form,
        inline_options=inline,
        only=options if options != fld.options else (),
        channel=plan.channel,
        example=contest.example_date(fld) if fld.type is FieldType.DATE else None,
        window=contest.window(fld.window) if fld.window else None,
        folder=folder,
        pledge=pledge,
        rule=_window_rule(contest),
    )
    choices: tuple[Choice, ...] = ()
    if fld.type is FieldType.CHOICE and not inline:
        choices = tuple(Choice(o, f"{token}|{i}") for i, o in enumerate(options, 1))
    elif fld.type is FieldType.PLEDGE:
        choices = (Choice(kit.fixed("button", "name", "agree"), f"{token}|同意"),)
    if blank and folder is None:
        plan.prompts[token] = (text, choices)
    return Reply(text, choices)


def channel_options(channel_id: str, fld: FormField) -> tuple[str, ...]:
    """The options of a choice that the chosen channel allows (all, unless it rules some out)."""
    return fld.channel_options.get(channel_id) or fld.options


def read_field(
    kit: DialogKit, state: State, step: StepRef, event: Incoming, value: str, now: dt.datetime
) -> Answer:
    confirmed = bool(state.pop(CONFIRMED, False))  # "答：…", or 「填写」 after being asked
    fld = kit.field(state, step.field_id)
    if fld is None:  # the preset lost this field since the draft began
        return Advance()
    v = norm(value)
    if v in KEEP:  # "保留" where nothing was given is no answer: it would be printed as the name
        if fld.id in state["answers"]:
            return Advance([Reply(kit.msg.render("kept"))])
        return kit.reject(state, "nothing_to_keep", {}, fld.label)
    if v in SKIP and not fld.required:
        state["answers"][fld.id] = ""
        return Advance()
    contest = kit.contest(state)
    assert contest is not None
    offered = state.pop(NEAR_OFFERED, None)
    if (
        (fld.role in ("recommender", "province") or fld.type is FieldType.EMAIL)
        and isinstance(offered, dict)
        and offered.get("at") == step.token
    ):
        # "是" or "1" to the places just offered for a near name: the place offered, not the list's;
        # "是" to the address offered for a mistyped one (abc@xx.gov,cn): that address.
        near_said = list(offered.get("options") or [])
        said = v.strip("。.!！ ")
        if said in YES_THAT and len(near_said) == 1:
            value = v = near_said[0]
        elif said.isdigit() and 1 <= int(said[:3]) <= len(near_said):
            value = v = near_said[int(said[:3]) - 1]
    if fld.role in ("recommender", "province") and not v.isdigit():
        matched = match_place(value, fld.options)  # "渝中" names 渝中区, "广西" 广西壮族自治区
        matched = matched or place_named_in(value, fld.options)  # "我们单位在江北嘛，就报江北噻"
        several = [o for o in fld.options if len(v) >= 2 and v in norm(o)] if matched is None else []
        if len(several) > 1:  # "新疆": 新疆维吾尔自治区 or 新疆生产建设兵团, asked rather than guessed
            return kit.reject(
                state, "choice_ambiguous", {"value": value.strip(), "options": several}, fld.label
            )
        near = closest(value, fld.options) if matched is None and not several else []
        if near and value.strip() not in fld.options:  # "沙平坝区": 沙坪坝区 offered, never taken
            state[NEAR_OFFERED] = {"at": step.token, "options": near}
            said = kit.error("choice_near", {"value": value.strip(), "options": near}, fld.label)
            buttons = tuple(Choice(o, f"{step.token}|{o}") for o in near)
            return StepResult(
                state, [Reply(said, buttons, meta={"error": "choice_near"}, numbered=len(near) > 1)]
            )
        value = matched or value
    if fld.type is FieldType.URL:
        value = typed_links.joined(state, step.token, value)  # its 提取码, sent on its own
    if fld.must_contain_url:
        value = typed_links.with_platform(state, step.token, value)  # "抖音", then its address
    channel = kit.channel(state)
    allowed = fld.channel_options.get(channel.id) if channel is not None else None
    if allowed and v.isdigit():
        # The buttons and numbers offered were the channel's: so are the numbers refused.
        if not 1 <= int(v[:6]) <= len(allowed):
            return kit.reject(state, "choice_number", {"max": len(allowed)}, fld.label)
        value = allowed[int(v) - 1]
    if fld.role == "review_way" and not v.isdigit():  # "找了两个专家，都是副教授": the experts' way
        value = review_way_meant(value, fld.options) or value
    if fld.role == "reviewers":  # the unit's name, or two experts: as the way chosen says
        result = check_reviewers(value, experts="专家" in str(_answer_of(kit, state, "review_way")))
    else:
        result = check_answer(fld, value, contest, confirmed=confirmed, today=contest.day_of(now))
    if isinstance(result, Invalid):
        params = result.params
        if result.code == "share_code_missing":
            typed_links.keep_pending(state, step.token, value)
        if result.code == "url_missing" and fld.must_contain_url:
            params = {**params, "kept": typed_links.keep_platform(state, step.token, value)}
        if result.code == "not_a_choice" and allowed:
            params = {**params, "options": allowed}  # the channel's, as the prompt listed them
        if result.code in ("bad_date", "date_without_year"):  # a date of this edition, both formats
            params = {**params, "example": contest.example_date(fld)}
        if result.code in ("date_outside", "date_not_yet"):
            params = {**params, "rule": _window_rule(contest)}
        if result.code == "bad_email" and params.get("near"):  # offered, never taken
            meant = str(params["near"])
            state[NEAR_OFFERED] = {"at": step.token, "options": [meant]}
            said = kit.error(result.code, params, fld.label)
            button = (Choice(meant, f"{step.token}|{meant}"),)
            return StepResult(state, [Reply(said, button, meta={"error": result.code}, numbered=False)])
        return kit.reject(state, result.code, params, fld.label)
    if _after_today(contest, fld, str(result.value), now):
        # A work's 播出时间 or 完成时间 is a day that has passed, whatever the window's end says.
        return kit.reject(
            state, "date_in_future", {"value": value.strip(), "today": contest.day_of(now)}, fld.label
        )
    if allowed and result.value not in allowed:
        return _not_in_channel(kit, state, contest, fld, str(result.value))
    form = kit.form(state)
    if fld.role in ("unit", "authors") and form is not None:  # the later of the two is checked
        answers = {**state["answers"], fld.id: result.value}
        if (late := self_not_first_maker(contest, state.get("channel"), form.id, answers)) is not None:
            return kit.reject(state, late.code, late.params, fld.label)
    if fld.role == "review_way" and state["answers"].get(fld.id) not in (None, result.value):
        # Another way of review: the reviewers named for the old one are asked again.
        reviewers = next((f for f in form.fields if f.role == "reviewers"), None) if form else None
        if reviewers is not None:
            state["answers"].pop(reviewers.id, None)
    notes = []
    today = contest.day_of(now)
    if fld.type is FieldType.DATE and date_words(value, today) != date_words(value):
        # "上个月20号", "上周三", "昨天": the day reckoned from today, said back to be checked.
        said = kit.msg.render("date_read", label=fld.label, typed=value.strip(), day=result.value)
        notes.append(Reply(said))
    if fld.type is FieldType.PEOPLE and isinstance(result.value, list) and ROLE_MARK.search(value):
        # "张三、刘强（第一作者）": the role is left off the form, and the order it gives is said back.
        roles = [m[0].strip().strip("（()）【】[]").strip().lstrip("是为") for m in ROLE_MARK.finditer(value)]
        said = kit.msg.render("people_roles", label=fld.label, roles=roles, names=result.value)
        notes.append(Reply(said))
    if fld.type is FieldType.URL and _video_follows(state, state["answers"].get(fld.id), result.value):
        # The video was this field's link (同上): it is not kept pointing at the old folder.
        state.pop("video", None)
        notes.append(Reply(kit.msg.render("video_link_changed", label=fld.label)))
    state["answers"][fld.id] = result.value
    if fld.type is FieldType.URL and isinstance(result.value, str) and result.value:
        typed_links.remember_link(state, fld.id, result.value)
        drives = other_drive(fld.label, result.value)
        if drives is not None:  # kept (nothing lost), but the notice names its drive
            said = kit.msg.render("other_drive", label=fld.label, drive=drives[0], wanted=drives[1])
            notes.append(Reply(said))
    return Advance(notes)


def _window_rule(contest: Contest) -> str:
    """Whose a date window is: the notice's, or (a new edition's, moved from the last notice's)
    this edition's as its organisers set it."""
    return "本届规则" if contest.series else "通知规定"


def _pledge_filled(form: Form, fld: FormField, answers: Mapping[str, Any]) -> str | None:
    """The pledge with the blanks the entrant has already answered filled in (cq: "我单位（填写单位全称）
    （统一社会信用代码为____）"), as the form prints them; None when nothing is filled."""
    unit = next((answers.get(f.id) for f in form.fields if f.role == "unit" and answers.get(f.id)), None)
    uscc = next(
        (answers.get(f.id) for f in form.fields if f.type is FieldType.USCC and answers.get(f.id)), None
    )
    text = fld.text
    if isinstance(unit, str):
        text = text.replace("（填写单位全称）", f"（{unit}）")
    if isinstance(uscc, str):
        text = text.replace("____", uscc)
    return text if text != fld.text else None


def _video_follows(state: State, old: object, new: object) -> bool:
    """Whether the draft's video is the share link ``old`` that a field's new answer replaces."""
    video = state.get("video") or {}
    if not isinstance(old, str) or not old or old == new or video.get("kind") != "share_link":
        return False
    parsed = parse_video_link(old)
    return isinstance(parsed, Valid) and parsed.value.url == video.get("url")


def _not_in_channel(kit: DialogKit, state: State, contest: Contest, fld: FormField, value: str) -> StepResult:
    """An answer the chosen channel rules out (cacsi: 是否为会员 “否” in the 会员 channel): the
    entrant is told which channel takes it."""
    channel = kit.channel(state)
    assert channel is not None
    allowed = fld.channel_options[channel.id]
    others = tuple(
        c.label for c in contest.channels if c.id != channel.id and value in fld.channel_options.get(c.id, ())
    )
    params = {"channel": channel.label, "allowed": allowed, "value": value, "others": others}
    return kit.reject(state, "not_in_channel", params, fld.label)


def _answer_of(kit: DialogKit, state: State, role: str) -> object:
    """The draft's answer to its form's field of ``role``, if any."""
    form = kit.form(state)
    fld = next((f for f in form.fields if f.role == role), None) if form else None
    return state["answers"].get(fld.id) if fld else None


def shown_field(kit: DialogKit, state: State, step: StepRef, plan: Plan) -> tuple[str, str] | None:
    if plan.form is None or step.field_id not in state["answers"]:
        return None
    fld = plan.form_field(step.field_id)
    return (fld.label, show_answer(state["answers"][fld.id])) if fld is not None else None


_WORK_DAY = re.compile(r"播出|完成|制作")


def _after_today(contest: Contest, fld: FormField, value: str, now: dt.datetime) -> bool:
    """Whether a work's date (a field with a window: 播出时间, 完成时间) is still to come.  A window
    that lies wholly ahead is the organiser's to answer for, and is left as set."""
    # A 播出时间 with no window (envoy's notice sets none) still names a day that has passed.
    if fld.type is not FieldType.DATE or not (fld.window or _WORK_DAY.search(fld.label)):
        return False
    window = contest.window(fld.window) if fld.window else None
    today = contest.day_of(now)
    if window is not None and window.start is not None and window.start > today:
        return False
    return value > today.isoformat()
