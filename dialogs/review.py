"""The review page (every answer on one page: confirm, edit or cancel) and the edit menu."""

from __future__ import annotations

import datetime as dt

from contests.events import Choice, Incoming, Reply
from dialogs.kit import DialogKit, norm
from dialogs.plans import Plan, StepRef, goto
from dialogs.results import Answer, Ask, StepResult, SubmitRequest
from dialogs.states import State, Step

_CONFIRM = {"确认提交", "确认", "提交", "confirm", "submit", "/confirm"}  # fmt: skip


def _clip(text: str, limit: int = 20) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def items(kit: DialogKit, state: State) -> list[tuple[StepRef, str, str]]:
    """(step, label, value) for every answered step, in review order."""
    plan = kit.plan(state)
    found: list[tuple[StepRef, str, str]] = []
    for step in plan.steps:
        shown = kit.steps[step.name].shown
        item = shown(kit, state, step, plan) if shown is not None else None
        if item is not None:
            found.append((step, *item))
    return found


def ask_review(kit: DialogKit, state: State, step: StepRef, plan: Plan, now: dt.datetime) -> Reply:
    assert plan.contest is not None
    page = [{"label": label, "value": value} for _s, label, value in items(kit, state)]
    token = step.token
    choices = (
        Choice(kit.fixed("button", "name", "confirm"), f"{token}|confirm"),
        Choice(kit.fixed("button", "name", "edit"), f"{token}|edit"),
        Choice(kit.fixed("button", "name", "cancel"), f"{token}|cancel"),
    )
    # The page's items are numbered already: its actions are answered by their words.
    return Reply(kit.msg.render("review", contest=plan.contest, items=page), choices, numbered=False)


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
        return Ask()
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
    page = [{"label": label, "value": value} for _s, label, value in items(kit, state)]
    choices = tuple(
        Choice(f"{i['label']}：{_clip(i['value'])}", f"{step.token}|{n}") for n, i in enumerate(page, 1)
    )
    return Reply(kit.msg.render("prompt_edit", items=page), choices)


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


def pick_edit(kit: DialogKit, state: State, value: str) -> Ask:
    """To the step of the item named (by number or label); after it, back to the review."""
    found = items(kit, state)
    choice = value.strip()
    index = (
        int(choice) - 1
        if choice.isdigit()
        else next((i for i, (_, label, _v) in enumerate(found) if norm(label) == norm(choice)), -1)
    )
    if not 0 <= index < len(found):
        return Ask([Reply(kit.error("choice_number", {"max": len(found)}, ""))])
    state.pop("edit_from", None)
    state["editing"] = True
    goto(state, found[index][0])
    return Ask()
