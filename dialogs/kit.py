"""What a step may use, and the shape of a step in the dialog's table.

:class:`DialogKit` holds the contests, the messages and the draft's plan; the steps of
:mod:`dialogs.steps` are plain functions that take it.  :class:`StepSpec` is one row of the
table: how a step is asked, how its answer is read, where it occurs and how it is shown.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from contests.events import Incoming, Reply
from contests.registry import ContestRegistry
from contests.rules import Contest, EntryRoute, Form, FormField
from dialogs.messages import Messages
from dialogs.plans import Plan, Planner, Route, StepRef
from dialogs.results import Answer, StepResult
from dialogs.states import State, Step
from validators.spoken import without_marks

# Words that answer any step the same way: keep the answer given before, skip an optional one.
KEEP = {"保留", "不变", "keep"}
SKIP = {"跳过", "无", "skip", "/skip"}
# "是" to the one thing offered for a near name (a contest, a place).
YES_THAT = {"是", "是的", "对", "对的", "嗯", "嗯嗯", "好", "好的", "就是它", "是这个", "对就是", "yes", "y"}


def norm(text: str) -> str:
    """An answer as compared: NFKC (full-width digits), trimmed, case-folded."""
    return unicodedata.normalize("NFKC", text).strip().casefold()


def bare(text: str) -> str:
    """A short reply as read for its words alone: :func:`norm`, then
    :func:`validators.spoken.without_marks`."""
    return without_marks(norm(text))


def show_answer(value: Any) -> str:
    """A stored answer as the entrant reads it (lists joined with 、)."""
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)


class DialogKit:
    """The services the steps share: contests, messages, plans, and the texts of one word."""

    def __init__(self, contests: ContestRegistry, messages: Messages, steps: Mapping[str, StepSpec]) -> None:
        self.contests = contests
        self.steps = steps
        self.planner = Planner(contests, [spec.occurs for spec in steps.values() if spec.occurs])
        self._msg = messages

    @property
    def msg(self) -> Messages:
        """The messages replies are rendered with."""
        return self._msg

    @msg.setter
    def msg(self, messages: Messages) -> None:
        # Plans keep prompts, rendered by the messages replaced.
        self._msg = messages
        self.planner.clear()

    # ------------------------------------------------------------------ the draft
    def plan(self, state: State) -> Plan:
        """The draft's plan: its contest, channel, form and steps."""
        return self.planner.plan(state)

    def contest(self, state: State) -> Contest | None:
        cid = state.get("contest")
        return self.contests.get(cid) if cid else None

    def channel(self, state: State) -> EntryRoute | None:
        return self.planner.plan(state).channel

    def form(self, state: State) -> Form | None:
        return self.planner.plan(state).form

    def unit_named(self, state: State) -> str | None:
        """The unit the draft enters through, as answered at its form's recommender field (cq's
        报送区县): the asker of "我们区能推几个"."""
        form = self.form(state)
        field = form.recommender() if form is not None else None
        value = state.get("answers", {}).get(field.id) if field is not None else None
        return value if isinstance(value, str) and value else None

    def field(self, state: State, field_id: str | None) -> FormField | None:
        """The field ``field_id`` of the draft's form (None without a form or such a field)."""
        return self.planner.plan(state).form_field(field_id)

    def missing(self, state: State) -> StepRef | None:
        """The first step whose answer is still missing."""
        for step in self.planner.plan(state).steps:
            answered = self.steps[step.name].answered
            if answered is not None and not answered(state, step):
                return step
        return None

    # ------------------------------------------------------------------ texts
    def fixed(self, name: str, arg: str, value: Any) -> str:
        """``msg.render(name, arg=value)`` for a message of one word (a button, a step's name)."""
        return self.msg.render(name, **{arg: value})

    def label(self, step_name: str) -> str:
        """A step's name as the entrant reads it."""
        return self.fixed("step_label", "name", step_name)

    def step_label(self, state: State, step: StepRef) -> str:
        """A step's name, or its field's label."""
        if step.name == Step.FIELD:
            fld = self.field(state, step.field_id)
            return fld.label if fld else ""
        return self.label(step.name)

    def error(self, code: str, params: dict[str, Any], label: str) -> str:
        return self.msg.render("error", code=code, p=params, label=label)

    def reject(self, state: State, code: str, params: dict[str, Any], label: str) -> StepResult:
        """A wrong answer: one sentence on what is wrong, the step asked again, nothing lost."""
        return StepResult(state, [Reply(self.error(code, params, label), meta={"error": code})])

    def closed_text(self, contest: Contest, now: dt.datetime) -> str:
        status = contest.status(now)
        if status == "draft":  # made by ``contests new`` without an opening date: not checked yet
            return self.msg.render("contest_draft", contest=contest)
        if status == "upcoming":
            return self.msg.render("contest_upcoming", contest=contest)
        return self.msg.render("contest_closed", contest=contest)

    def no_open(self, now: dt.datetime) -> Reply:
        """Says that no contest is open: which closed lately, which come next."""
        closed = [c for c in self.contests if c.status(now) == "closed"][-5:]
        upcoming = [c for c in self.contests if c.status(now) == "upcoming"]
        return Reply(self.msg.render("no_open_contests", closed=closed, upcoming=upcoming))


Prompt = Callable[[DialogKit, State, StepRef, Plan, dt.datetime], Reply]
"""Asks a step: ``prompt(kit, state, step, plan, now)``."""

Read = Callable[[DialogKit, State, StepRef, Incoming, str, dt.datetime], Answer]
"""Reads an answer to a step: ``read(kit, state, step, event, value, now)``; ``value`` is the
typed text or the payload of the button pressed."""

Shown = Callable[[DialogKit, State, StepRef, Plan], tuple[str, str] | None]
"""A step's (label, answer) on the review page; None while it is unanswered."""


@dataclass(frozen=True, slots=True)
class StepSpec:
    """One step of the dialog, as the engine interprets it."""

    prompt: Prompt
    read: Read
    # Where the step occurs in a draft's sequence; None: not in it (review pages, cancel).
    occurs: Callable[[Route], Iterable[StepRef]] | None = None
    # Whether the draft has the step's answer; None: the step has nothing to answer.
    answered: Callable[[State, StepRef], bool] | None = None
    # Passed over when already answered on the way to it (a track named with the channel); or
    # when this says so of the step (a 是否为会员 named with the channel, as the channel allows).
    skip_answered: bool | Callable[[DialogKit, State, StepRef], bool] = False
    shown: Shown | None = None
    files: bool = False  # a file is an answer (at other steps: "please type")
    # The answer is read before typed commands, and a button of any step counts.
    first: bool = False
    # Typed commands that mean something else at this step than at the others.
    commands: Mapping[str, Callable[[DialogKit, State], StepResult]] = field(default_factory=dict)
