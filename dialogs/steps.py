"""The submission dialog, declared: every step, how it is asked, how its answer is read.

:data:`STEPS` is the dialog's graph.  The steps that occur in a draft's sequence are listed in
order (contest → channel → track → each form field → video → review), each with when it occurs;
"next" is the following step of the sequence, or the review page when the entrant was changing
one answer.  The steps after them are pages off the sequence: the edit menu, the cancel
confirmation and, once submitted, the wait for the scanned form.  :mod:`dialogs.engine`
interprets the table; the steps of the contest, channel, track and the cancel confirmation are
here, the form fields' in :mod:`dialogs.form_fields`, the others in :mod:`dialogs.video`,
:mod:`dialogs.review` and :mod:`dialogs.scan`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from types import MappingProxyType

from contests.events import Choice, EventKind, Incoming, Reply
from contests.rules import Contest, EntryRoute, FormField
from dialogs import form_fields, refit, review, scan, video
from dialogs.choosing import channels_meant, contest_in_clauses, contests_meant, contests_near, picked_number
from dialogs.form_fields import channel_options
from dialogs.kit import YES_THAT, DialogKit, StepSpec, norm, show_answer
from dialogs.plans import Plan, Route, StepRef, goto
from dialogs.results import Advance, Answer, Ask, StepResult
from dialogs.states import State, Step

_YES = {"确认取消", "是", "是的", "确定", "确定取消", "取消吧", "yes", "y"}
# As people answer "确定要取消吗？" when they changed their mind.
_NO = {
    "继续填写", "否", "不", "no", "n", "继续",
    "不取消", "不取消了", "不要取消", "别取消", "不了", "先不取消",
}  # fmt: skip
OFFERED = "offered_contests"  # the contests a near name was offered as (ids), for one reply
# "不是" to the contests offered for a near name: none of those (``YES_THAT`` takes the one offered).
_NO_THAT = {"不是", "不是的", "不", "不对", "否", "都不是", "不是这个", "没有", "不要", "no", "n"}
_GREETING = re.compile(
    r"^(?:你好|您好|你们好|大家好|hi|hello|hey|在吗|在不在|哈喽|嗨|老师好)[!！。.～~，,]*$"
)
_PIECES = re.compile(r"[，,。.!！~～、\s]+")
_KEEP = re.compile(r"不取消|别取消|不要取消|先不|不想取消|继续(?:填|报|写)?")
# "推荐"/"自荐" name a channel only when the contest has one channel of that kind.
_KIND_NAMES = {"recommend": ["推荐", "地方推荐", "单位推荐"], "self": ["自荐", "社会征集", "个人自荐"]}
_TRACK_NAMES = {"work": ["work", "微视频", "微视频作品", "作品", "视频"], "account": ["account", "科普号"]}


def match_option(value: str, options: list[tuple[str, list[str]]]) -> str | int | None:
    """Pick by 1-based number or by any of an option's names; -1 for a bad number."""
    v = norm(value)
    if v.isdigit():
        n = int(v)
        return options[n - 1][0] if 1 <= n <= len(options) else -1
    for key, names in options:
        if any(v == norm(name) for name in names):
            return key
    return None


# ---------------------------------------------------------------------- contest
def ask_contest(kit: DialogKit, state: State, step: StepRef, plan: Plan, now: dt.datetime) -> Reply:
    open_now = kit.contests.open(now)
    if not open_now:
        return kit.no_open(now)
    choices = tuple(Choice(c.title, f"{step.token}|{i}") for i, c in enumerate(open_now, 1))
    return Reply(kit.msg.render("prompt_contest", contests=open_now), choices)


def read_contest(
    kit: DialogKit, state: State, step: StepRef, event: Incoming, value: str, now: dt.datetime
) -> Answer:
    open_now = kit.contests.open(now)
    offered_ids = state.pop(OFFERED, None) or ()
    near_offered = [c for c in open_now if c.id in offered_ids]
    if len(near_offered) == 1 and norm(value).strip("。.!！ ") in YES_THAT:  # "是" to the one offered
        return choose_contest(kit, state, near_offered[0], [])
    if near_offered and norm(value).strip("。.!！，, ") in _NO_THAT:  # none of those: the whole list
        return Ask([Reply(kit.msg.render("offer_declined"))])
    key = match_option(value, [(c.id, [c.id, c.title, c.short_title]) for c in open_now])
    if isinstance(key, str):
        contest = kit.contests.get(key)
        assert contest is not None
        return choose_contest(kit, state, contest, [])
    if key == -1:
        return kit.reject(state, "choice_number", {"max": len(open_now)}, kit.label(Step.CONTEST))
    # Part of a name ("黑龙江", "全国科普微视频大赛"): one contest is taken, several offered.
    meant = contests_meant(value, open_now)
    if len(meant) == 1:
        return choose_contest(kit, state, meant[0], [])
    in_clause, rest = contest_in_clauses(value, open_now) if not meant else (None, "")
    if in_clause is not None:  # "我要报黑龙江的，个人自荐": the contest, and its channel where named
        return _with_channel(kit, state, choose_contest(kit, state, in_clause, []), event, rest, now)
    if meant:
        text = kit.msg.render("which_contest", typed=value.strip(), contests=meant)
        offered = tuple(Choice(c.title, f"{step.token}|{c.id}") for c in meant)
        return StepResult(state, [Reply(text, offered, numbered=False)])
    if _GREETING.match(norm(value)):  # "你好" first: a greeting back, then the list again
        return Ask([Reply(kit.msg.render("greeting"))])
    # Named a contest that is not open: say why rather than "not found".
    closed = [c for c in kit.contests if c.status(now) != "open"]
    named = [c for c in closed if norm(value) in {norm(c.id), norm(c.title), norm(c.short_title)}]
    named = named or contests_meant(value, closed)
    if len(named) == 1:
        return Ask([Reply(kit.closed_text(named[0], now))])
    near = contests_near(value, open_now)  # "黑龙家省的科普视频征集": offered, not taken
    if near:
        state[OFFERED] = [c.id for c in near]
        text = kit.msg.render("near_contest", typed=value.strip(), contests=near)
        offered = tuple(Choice(c.title, f"{step.token}|{c.id}") for c in near)
        return StepResult(state, [Reply(text, offered, numbered=False)])
    if near_offered:  # "我再看看" to the offer: the offer stands, and the whole list is shown with it
        state[OFFERED] = [c.id for c in near_offered]
        said = kit.msg.render("offer_unclear", typed=value.strip()[:30], offered=near_offered)
        return Ask([Reply(said)])
    return kit.reject(state, "contest_unknown", {}, kit.label(Step.CONTEST))


#: The channel was named with the contest ("我要报黑龙江的，个人自荐"): its step is not asked.
CHANNEL_SAID = "channel_said"


def _with_channel(
    kit: DialogKit, state: State, chosen: Advance, event: Incoming, rest: str, now: dt.datetime
) -> Advance:
    """The contest chosen, and the channel too where the rest of the message names one of its
    channels and nothing else ("个人自荐"); else the channel is asked as usual."""
    contest = kit.contest(state)
    if contest is None or len(contest.channels) < 2 or not rest:
        return chosen
    names = (contest.title, contest.short_title)
    if len(channels_meant(rest, contest.channels, names)) != 1:
        return chosen
    said = read_channel(kit, state, StepRef(Step.CHANNEL), event, rest, now)
    if not isinstance(said, Advance):
        return chosen
    state[CHANNEL_SAID] = True
    return Advance([*chosen.replies, *said.replies])


def _channel_said(kit: DialogKit, state: State, step: StepRef) -> bool:
    return bool(state.pop(CHANNEL_SAID, False)) and bool(state.get("channel"))


def choose_contest(kit: DialogKit, state: State, contest: Contest, replies: list[Reply]) -> Advance:
    """The draft is for ``contest`` (picked, or the only one open): its introduction follows."""
    if state.get("contest") != contest.id:
        refit.leaving(kit, state)  # the answers are fitted to the new form once it is known
        state["contest"] = contest.id
        state["channel"] = state["track"] = None
    return Advance([*replies, Reply(kit.msg.render("contest_intro", contest=contest))])


def shown_contest(kit: DialogKit, state: State, step: StepRef, plan: Plan) -> tuple[str, str] | None:
    contest = kit.contest(state)
    return (kit.label(step.name), contest.title) if contest else None


# ---------------------------------------------------------------------- channel
def ask_channel(kit: DialogKit, state: State, step: StepRef, plan: Plan, now: dt.datetime) -> Reply:
    contest = plan.contest
    assert contest is not None
    if step.token not in plan.prompts:
        choices = tuple(Choice(c.label, f"{step.token}|{i}") for i, c in enumerate(contest.channels, 1))
        plan.prompts[step.token] = (kit.msg.render("prompt_channel", contest=contest), choices)
    return Reply(*plan.prompts[step.token])


def read_channel(
    kit: DialogKit, state: State, step: StepRef, event: Incoming, value: str, now: dt.datetime
) -> Answer:
    contest = kit.contest(state)
    assert contest is not None
    options = []
    for ch in contest.channels:
        names = [ch.id, ch.label]
        if sum(c.kind == ch.kind for c in contest.channels) == 1:
            names += _KIND_NAMES["recommend" if ch.kind == "recommend" else "self"]
        options.append((ch.id, names))
    key = match_option(value, options)
    if key is None:
        words = _channel_in_words(contest, value)
        if isinstance(words, list):
            text = kit.msg.render("which_channel", typed=value.strip(), channels=words)
            offered = tuple(Choice(ch.label, f"{step.token}|{ch.id}") for ch in words)
            return StepResult(state, [Reply(text, offered, numbered=False)])
        key = words
    if not isinstance(key, str):
        labels = tuple(c.label for c in contest.channels)
        if key == -1:
            return kit.reject(state, "choice_number", {"max": len(labels)}, kit.label(Step.CHANNEL))
        return kit.reject(state, "not_a_choice", {"options": labels}, kit.label(Step.CHANNEL))
    channel = contest.channel(key)
    # "我是协会的个人会员，想报我的科普号": the track named with the channel is chosen with it.
    named = track_named(value, tuple(channel.forms))
    if state.get("channel") != key or (named is not None and named != state.get("track")):
        refit.leaving(kit, state)
    if state.get("channel") != key:
        state["channel"] = key
        state["track"] = None
    if named is not None and len(channel.forms) > 1:
        state["track"] = named
    # "我是协会的个人会员": 是否为会员 is answered with the channel, and not asked again.
    member = _membership_named(contest, channel, value)
    if member is not None:
        state["answers"].update(dict.fromkeys(member[2], member[1]))
    elif norm(value) in {norm(n) for n in (key, channel.label)} or picked_number(value) is not None:
        return Advance()
    # Chosen from a phrase: say which, so a wrong reading is caught at once.
    label, answer = (member[0], member[1]) if member else ("", "")
    return Advance([Reply(kit.msg.render("channel_read", label=channel.label, field=label, answer=answer))])


_NOT_MEMBER = re.compile(r"不是|并非|非|没|不属于")


def _membership_named(contest: Contest, channel: EntryRoute, value: str) -> tuple[str, str, list[str]] | None:
    """The kind of member a phrase says the entrant is ("我是协会的个人会员"), as the channel's
    forms ask it (a field of role ``membership``, cacsi's 是否为会员) and the channel allows it:
    (the field's label, the option, the fields' ids); None when it names none, or says not."""
    fields = [
        f for form_id in dict.fromkeys(channel.forms.values()) for f in contest.form(form_id).fields
        if f.role == "membership"
    ]  # fmt: skip
    said = norm(value)
    options = {o for f in fields for o in channel_options(channel.id, f) if len(o) > 1 and norm(o) in said}
    if len(options) != 1:
        return None
    option = options.pop()
    if _NOT_MEMBER.search(said.split(norm(option))[0][-4:]):  # "我不是个人会员"
        return None
    ids = [f.id for f in fields if option in channel_options(channel.id, f)]
    return fields[0].label, option, ids


def _membership_said(kit: DialogKit, state: State, step: StepRef) -> bool:
    """Whether a field is a 是否为会员 answered already as the channel allows (with the channel),
    or a choice the channel leaves one answer to, filled in by :func:`fill_only_options`."""
    fld, channel = kit.field(state, step.field_id), kit.channel(state)
    if fld is None or channel is None:
        return False
    if fld.role != "membership" and only_option(channel.id, fld) is None:
        return False
    return state["answers"].get(fld.id) in channel_options(channel.id, fld)


def only_option(channel_id: str, fld: FormField) -> str | None:
    """The one answer the channel allows at ``fld`` (cacsi's 其他机构和个人自荐: 是否为会员 “否”),
    or None where it allows several or does not narrow the field."""
    allowed = fld.channel_options.get(channel_id) or ()
    return allowed[0] if len(allowed) == 1 else None


def fill_only_options(kit: DialogKit, state: State) -> list[Reply]:
    """Once the draft's form is settled (its channel and, where the channel has two, the track
    chosen): each choice its channel leaves one answer to is filled in with it and the entrant
    told, rather than asked a question with one answer."""
    plan = kit.plan(state)
    if plan.channel is None or plan.form is None or (len(plan.channel.forms) > 1 and not state.get("track")):
        return []
    said = []
    for fld in plan.form.fields:
        only = only_option(plan.channel.id, fld)
        before = state["answers"].get(fld.id)
        if only is not None and before != only:
            state["answers"][fld.id] = only
            params = {"label": fld.label, "channel": plan.channel.label, "answer": only}
            said.append(
                Reply(kit.msg.render("only_option_filled", **params, before=show_answer(before or "")))
            )
    return said


def _channel_in_words(contest: Contest, value: str) -> str | int | list[EntryRoute] | None:
    """A channel named by a phrase ("我是单位推荐的", "我是个人会员，选2"): its id; -1 for a bad
    number; the candidates when the phrase fits several or its words and number disagree."""
    meant = channels_meant(value, contest.channels, (contest.title, contest.short_title))
    number = picked_number(value)
    if number is not None:
        if not 1 <= number <= len(contest.channels):
            return -1
        picked = contest.channels[number - 1]
        if not meant or picked in meant:
            return picked.id
        return [picked, *(ch for ch in meant if ch is not picked)]
    if len(meant) == 1:
        return meant[0].id
    return meant or None


def shown_channel(kit: DialogKit, state: State, step: StepRef, plan: Plan) -> tuple[str, str] | None:
    return (kit.label(step.name), plan.channel.label) if plan.channel else None


# ---------------------------------------------------------------------- track
def ask_track(kit: DialogKit, state: State, step: StepRef, plan: Plan, now: dt.datetime) -> Reply:
    contest, channel = plan.contest, plan.channel
    assert contest is not None and channel is not None
    choices = tuple(Choice(kit.fixed("track_label", "track", t), f"{step.token}|{t}") for t in channel.forms)
    return Reply(kit.msg.render("prompt_track", contest=contest), choices)


def read_track(
    kit: DialogKit, state: State, step: StepRef, event: Incoming, value: str, now: dt.datetime
) -> Answer:
    channel = kit.channel(state)
    assert channel is not None
    key = match_option(value, [(t, _TRACK_NAMES[t]) for t in channel.forms])
    if not isinstance(key, str):
        key = track_named(value, tuple(channel.forms))  # "报视频", "想报我的科普号"
    if not isinstance(key, str):
        labels = tuple(kit.fixed("track_label", "track", t) for t in channel.forms)
        return kit.reject(state, "not_a_choice", {"options": labels}, kit.label(Step.TRACK))
    if state.get("track") != key:
        refit.leaving(kit, state)
    state["track"] = key
    return Advance()


_TRACK_WORDS = {"account": re.compile(r"科普号|账号|帐号"), "work": re.compile(r"视频|片子|作品|短片")}


def track_named(text: str, tracks: tuple[str, ...]) -> str | None:
    """The one track of ``tracks`` a phrase names in words ("报视频" → work), if exactly one."""
    found = [t for t in ("account", "work") if t in tracks and _TRACK_WORDS[t].search(text)]
    return found[0] if len(found) == 1 else None


def shown_track(kit: DialogKit, state: State, step: StepRef, plan: Plan) -> tuple[str, str] | None:
    if not state.get("track"):
        return None
    return kit.label(step.name), kit.fixed("track_label", "track", state["track"])


# ---------------------------------------------------------------------- cancel
def ask_cancel(kit: DialogKit, state: State, step: StepRef, plan: Plan, now: dt.datetime) -> Reply:
    choices = (
        Choice(kit.fixed("button", "name", "cancel_yes"), f"{step.token}|1"),
        Choice(kit.fixed("button", "name", "cancel_no"), f"{step.token}|2"),
    )
    return Reply(kit.msg.render("prompt_cancel"), choices)


def read_cancel(
    kit: DialogKit, state: State, step: StepRef, event: Incoming, value: str, now: dt.datetime
) -> Answer:
    # Any button of the page answers it, and so does text typed without the commands' words.
    said = event.choice.partition("|")[2] if event.kind is EventKind.CHOICE and event.choice else event.text
    v = norm(said)
    # "算了，不取消了", "不了，继续": the part that says it decides.
    pieces = [p for p in _PIECES.split(v) if p]
    keep = v in _NO or v == "2" or any(p in _NO or _KEEP.search(p) for p in pieces)
    if not keep and (v in _YES or v == "1" or any(p in _YES for p in pieces)):
        return StepResult(None, [Reply(kit.msg.render("cancelled"))])
    if keep:
        goto(state, return_step(state))
        return Ask([Reply(kit.msg.render("cancel_aborted"))])
    return Ask()


def return_step(state: State) -> StepRef:
    """Where a cancel confirmation returns to (and forgets it)."""
    name, field_id = state.pop("return_to", (Step.CONTEST, None))
    return StepRef(name, field_id)


# ---------------------------------------------------------------------- the table
def _if(name: str, applies: Callable[[Route], bool]) -> Callable[[Route], tuple[StepRef, ...]]:
    """A step that occurs once in a route where ``applies``, else not at all."""
    step = (StepRef(name),)
    return lambda route: step if applies(route) else ()


def _fields(route: Route) -> tuple[StepRef, ...]:
    """One step per field of the route's form."""
    return tuple(StepRef(Step.FIELD, f.id) for f in route.form.fields) if route.form else ()


STEPS: Mapping[str, StepSpec] = MappingProxyType(
    {
        # The sequence, in order.
        Step.CONTEST: StepSpec(
            ask_contest,
            read_contest,
            occurs=_if(Step.CONTEST, lambda r: not r.contest_fixed),
            answered=lambda state, step: bool(state.get("contest")),
            shown=shown_contest,
        ),
        Step.CHANNEL: StepSpec(
            ask_channel,
            read_channel,
            occurs=_if(Step.CHANNEL, lambda r: r.contest is not None and len(r.contest.channels) > 1),
            answered=lambda state, step: bool(state.get("channel")),
            skip_answered=_channel_said,  # named with the contest ("我要报黑龙江的，个人自荐")
            shown=shown_channel,
        ),
        Step.TRACK: StepSpec(
            ask_track,
            read_track,
            occurs=_if(Step.TRACK, lambda r: r.channel is not None and len(r.channel.forms) > 1),
            answered=lambda state, step: bool(state.get("track")),
            skip_answered=True,  # named with the channel ("我是个人会员，想报我的科普号")
            shown=shown_track,
        ),
        Step.FIELD: StepSpec(
            form_fields.ask_field,
            form_fields.read_field,
            occurs=_fields,
            answered=lambda state, step: step.field_id in state["answers"],
            skip_answered=_membership_said,  # "我是协会的个人会员" at the channel
            shown=form_fields.shown_field,
        ),
        Step.VIDEO: StepSpec(
            video.ask_video,
            video.read_video,
            # A 科普号 (account) entry has no video of its own.
            occurs=_if(Step.VIDEO, lambda r: r.form is not None and (r.track or "work") == "work"),
            answered=lambda state, step: bool(state.get("video")),
            shown=video.shown_video,
            files=True,
        ),
        Step.REVIEW: StepSpec(
            review.ask_review,
            review.read_review,
            occurs=_if(Step.REVIEW, lambda r: r.form is not None),
        ),
        # Pages off the sequence.
        Step.EDIT: StepSpec(review.ask_edit, review.read_edit),
        Step.CANCEL: StepSpec(ask_cancel, read_cancel, first=True),
        Step.SCAN: StepSpec(
            scan.ask_scan,
            scan.read_scan,
            files=True,
            first=True,
            commands={"back": scan.locked, "edit": scan.locked, "cancel": scan.dropped},
        ),
    }
)
