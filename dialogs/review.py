"""The review page (every answer on one page: confirm, edit or cancel) and the edit menu."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from contests.events import Choice, Incoming, Reply
from dialogs.kit import DialogKit, norm
from dialogs.plans import Plan, StepRef, goto
from dialogs.results import Answer, Ask, StepResult, SubmitRequest
from dialogs.states import State, Step

_CONFIRM = {"确认提交", "确认", "提交", "confirm", "submit", "/confirm"}  # fmt: skip


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class Item:
    """One answer on the review page.  ``key`` is what the entrant replies to change it: a
    form field's number as its prompt counted it (【3/12】 is item 3), the video the number
    after the last field; the contest, channel and track, asked before the form, by name."""

    step: StepRef
    label: str
    value: str
    key: str

    @property
    def numbered(self) -> bool:
        return self.key.isdigit()

    def line(self, limit: int | None = None) -> str:
        value = _clip(self.value, limit) if limit else self.value
        return f"{self.key}. {self.label}：{value}" if self.numbered else f"{self.label}：{value}"


def items(kit: DialogKit, state: State) -> list[Item]:
    """Every answered step in review order: the choices made before the form, then its fields
    by their numbers, then the video."""
    plan = kit.plan(state)
    found: list[Item] = []
    after_form = str(len(plan.fields) + 1)
    for step in plan.steps:
        shown = kit.steps[step.name].shown
        item = shown(kit, state, step, plan) if shown is not None else None
        if item is None:
            continue
        label, value = item
        if step.name == Step.FIELD and isinstance(step.field_id, str) and step.field_id in plan.fields:
            key = str(plan.fields[step.field_id][0])
        elif step.name == Step.VIDEO:
            key = after_form
        else:
            key = label
        found.append(Item(step, label, value, key))
    return found


def _page(found: list[Item]) -> list[dict[str, str]]:
    return [{"label": i.label, "value": i.value, "key": i.key if i.numbered else ""} for i in found]


def ask_review(kit: DialogKit, state: State, step: StepRef, plan: Plan, now: dt.datetime) -> Reply:
    assert plan.contest is not None
    found = items(kit, state)
    token = step.token
    choices = (
        Choice(kit.fixed("button", "name", "confirm"), f"{token}|confirm"),
        Choice(kit.fixed("button", "name", "edit"), f"{token}|edit"),
        Choice(kit.fixed("button", "name", "cancel"), f"{token}|cancel"),
    )
    # The page's items are numbered already: its actions are answered by their words.
    named = [i.label for i in found if not i.numbered]
    page = kit.msg.render("review", contest=plan.contest, items=_page(found), named=named)
    return Reply(page, choices, numbered=False)


def read_review(
    kit: DialogKit, state: State, step: StepRef, event: Incoming, value: str, now: dt.datetime
) -> Answer:
    v = norm(value)
    if v in {"edit", "修改"}:
        return edit_menu(kit, state)
    if v == "cancel":
        state["return_to"] = [Step.REVIEW, None]
        state["step"] = Step.CANCEL
        return Ask()
    if v.isdigit():  # a number on the review page names the item to change
        return pick_edit(kit, state, v)
    if v not in _CONFIRM:
        return pick_edit(kit, state, v) if find_item(kit, state, v) is not None else Ask()
    contest, channel, form = kit.contest(state), kit.channel(state), kit.form(state)
    assert contest is not None
    if contest.status(now) != "open":
        return StepResult(state, [Reply(kit.closed_text(contest, now))])
    missing = kit.missing(state)
    if missing is not None or channel is None or form is None:
        target = missing or StepRef(Step.CHANNEL)
        goto(state, target)
        return Ask([Reply(kit.msg.render("submit_incomplete", label=kit.step_label(state, target)))])
    answers = {f.id: state["answers"][f.id] for f in form.fields if f.id in state["answers"]}
    request = SubmitRequest(
        prefix=contest.number_prefix,
        contest_id=contest.id,
        channel_id=channel.id,
        form_id=form.id,
        answers=answers,
        video=dict(state.get("video") or {}),
        amend=state.get("amend"),
    )
    return StepResult(state, [], submit=request)


def ask_edit(kit: DialogKit, state: State, step: StepRef, plan: Plan, now: dt.datetime) -> Reply:
    found = items(kit, state)
    # The buttons carry the items' own keys, and their words are the menu's lines: a channel
    # without buttons shows the lines once, with the numbers of the review page.
    choices = tuple(Choice(i.line(20), f"{step.token}|{i.key}") for i in found)
    lines = [i.line(20) for i in found]
    return Reply(kit.msg.render("prompt_edit", lines=lines), choices, numbered=False)


def read_edit(
    kit: DialogKit, state: State, step: StepRef, event: Incoming, value: str, now: dt.datetime
) -> Answer:
    return pick_edit(kit, state, value)


def edit_menu(kit: DialogKit, state: State) -> Ask:
    """The list of answers to change (the 修改 command, at any step)."""
    if not items(kit, state):
        return Ask([Reply(kit.msg.render("nothing_to_edit"))])
    if state["step"] not in (Step.EDIT, Step.CANCEL):
        state["edit_from"] = [state["step"], state.get("field")]
    goto(state, StepRef(Step.EDIT))
    return Ask()


def find_item(kit: DialogKit, state: State, value: str, *, loose: bool = True) -> Item | None:
    """The review page's item that ``value`` names: by its number, or by its name; ``loose``
    also by a part of its name that fits one item only ("渠道")."""
    found = items(kit, state)
    choice = norm(value)
    if not choice:
        return None
    exact = [i for i in found if norm(i.key) == choice or norm(i.label) == choice]
    if exact or not loose:
        return exact[0] if exact else None
    partial = [i for i in found if not choice.isdigit() and len(choice) >= 2 and choice in norm(i.label)]
    return partial[0] if len(partial) == 1 else None


def pick_edit(kit: DialogKit, state: State, value: str) -> Ask:
    """To the step of the item named (by number or label); after it, back to the review."""
    item = find_item(kit, state, value)
    if item is None:
        numbers = [int(i.key) for i in items(kit, state) if i.numbered]
        return Ask([Reply(kit.error("edit_number", {"max": max(numbers, default=0)}, ""))])
    state.pop("edit_from", None)
    state["editing"] = True
    goto(state, item.step)
    return Ask()
