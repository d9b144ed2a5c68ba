"""The answers of a draft whose contest, channel or track changed, fitted to the new form.

Answers are kept by field id, and forms of different contests share ids for different cells:
hlj's ``unit`` is its 推荐单位, cq's ``unit`` its 创作单位.  So when the route changes the answers
are not carried over blindly.  Before the change, :func:`leaving` notes which form they were
given for (in the draft, under :data:`FITTED`); once the new form is known (the contest, its
channel and, where it has two, the track chosen), :func:`refit` keeps each answer that the new
form has as the same cell (the same id and type, and the same label or, but for a unit, the same
role) and that passes the new form's checks as if typed there, and clears the others, saying
which and why.  A pledge is the notice's own text: agreeing to another's is asked again.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from contests.events import EventKind, Incoming, Reply
from contests.records import UserKey
from contests.rules import Form, FormField
from dialogs.kit import DialogKit, show_answer
from dialogs.plans import StepRef, goto
from dialogs.questions import CONFIRMED
from dialogs.results import Advance
from dialogs.states import State, Step, copy_state

FITTED = "answers_for"  # "contest_id/form_id": the form the draft's answers were given for
_ASIDE = re.compile(r"[（(][^）)]*[）)]")
# Refusals that the entrant may have waived with "答：" (a title that reads as a question), and
# that say nothing about the new contest: such an answer is checked again as confirmed.
_WAIVED = {"title_is_question"}
_NOBODY = UserKey("dialog", "refit")


def _form_key(kit: DialogKit, state: State) -> str | None:
    """The form the draft's route has settled on (its contest, channel and track chosen)."""
    plan = kit.plan(state)
    if plan.contest is None or plan.channel is None or plan.form is None:
        return None
    if len(plan.channel.forms) > 1 and not state.get("track"):
        return None  # the form follows the track, not chosen yet
    return f"{plan.contest.id}/{plan.form.id}"


def leaving(kit: DialogKit, state: State) -> None:
    """Called before the draft's contest, channel or track changes: note which form its answers
    were given for (the first such form, until :func:`refit` has fitted them)."""
    if FITTED not in state and state.get("answers") and (key := _form_key(kit, state)) is not None:
        state[FITTED] = key


def _old_form(kit: DialogKit, key: str) -> Form | None:
    contest_id, _, form_id = key.partition("/")
    contest = kit.contests.get(contest_id)
    try:
        return contest.form(form_id) if contest is not None else None
    except KeyError:
        return None


def _core(label: str) -> str:
    """A label without its asides: 传播效果（如点击量等） and 传播效果（点击量等） are one cell."""
    return _ASIDE.sub("", label).strip()


def same_cell(old: FormField, new: FormField) -> bool:
    """Whether ``new`` asks what ``old`` asked (the same id assumed)."""
    if old.type is not new.type:
        return False
    if old.type.value == "pledge":
        return old.text == new.text
    if old.role is not None and old.role == new.role and old.role != "unit":
        return True  # 作品名称/名称/微视频名称, 内容简介/作品简介
    return _core(old.label) == _core(new.label)  # a unit's cell: 推荐单位 is no 创作单位


def _check(kit: DialogKit, state: State, fld: FormField, value: Any, now: dt.datetime) -> tuple[Any, str]:
    """``value`` read as if typed at ``fld`` of the draft's new form, on a copy of the draft:
    (the value as the new form keeps it, "") or (None, why it is refused)."""
    text = show_answer(value)
    step = StepRef(Step.FIELD, fld.id)
    reason = ""
    for confirmed in (False, True):
        scratch = copy_state(state)
        scratch["answers"].pop(fld.id, None)
        goto(scratch, step)
        if confirmed:
            scratch[CONFIRMED] = True
        event = Incoming(_NOBODY, EventKind.TEXT, text=text)
        answer = kit.steps[Step.FIELD].read(kit, scratch, step, event, text, now)
        if isinstance(answer, Advance) and fld.id in scratch["answers"]:
            return scratch["answers"][fld.id], ""
        replies = getattr(answer, "replies", [])
        reason = replies[0].text if replies else ""
        if not any(r.meta.get("error") in _WAIVED for r in replies):
            break
    return None, reason


def refit(kit: DialogKit, state: State, now: dt.datetime) -> list[Reply]:
    """Once the new form is known: the answers that do not fit it cleared, and the entrant told
    which (nothing said when all fit)."""
    old_key = state.get(FITTED)
    new_key = _form_key(kit, state) if old_key is not None else None
    if new_key is None:
        return []
    state.pop(FITTED)
    if new_key == old_key:
        return []
    old_form = _old_form(kit, str(old_key))
    cleared: list[dict[str, str]] = []
    for field_id, value in list(state["answers"].items()):
        old = old_form.field(field_id) if old_form is not None else None
        new = kit.field(state, field_id)
        label = old.label if old is not None else new.label if new is not None else field_id
        shown = show_answer(value)
        if new is None or (old is not None and not same_cell(old, new)):
            # A cell the new form lacks (cq has no 推荐单位), or a pledge of other words.
            why = "pledge" if new is not None and new.type.value == "pledge" else "absent"
            cleared.append({"label": label, "value": shown, "why": why})
            del state["answers"][field_id]
            continue
        kept, reason = _check(kit, state, new, value, now)
        if kept is None:
            cleared.append({"label": label, "value": shown, "why": "refused", "reason": reason})
            del state["answers"][field_id]
        else:
            state["answers"][field_id] = kept
    if not cleared:
        return []
    plan = kit.plan(state)
    said = kit.msg.render("answers_cleared", contest=plan.contest, form=plan.form, cleared=cleared)
    return [Reply(said)]
