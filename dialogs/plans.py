"""Which steps a draft goes through: its contest, channel and track, resolved into a plan.

The steps of a draft follow from its contest: contest → channel → track → each field of the
form the channel uses → video → review (the table in :mod:`dialogs.steps` says when each one
occurs).  Steps with one possible answer are filled in and skipped.  The draft remembers the
*field id*, not a position, so a preset that gains a field does not shift the answers of drafts
already under way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from contests.events import Choice
from contests.registry import ContestRegistry
from contests.rules import Contest, EntryRoute, Form, FormField
from dialogs.states import State, Step


@dataclass(frozen=True, slots=True)
class StepRef:
    """One step of one draft: its name and, for a form field, which field."""

    name: str
    field_id: str | None = None

    @property
    def token(self) -> str:
        """The step as buttons name it (``field:phone``), so a stale button is recognised."""
        return f"{self.name}:{self.field_id}" if self.field_id else self.name


@dataclass(frozen=True, slots=True)
class Route:
    """What decides a draft's steps: its contest, channel and form, resolved."""

    contest: Contest | None
    channel: EntryRoute | None
    form: Form | None
    track: str | None
    contest_fixed: bool


Occurs = Callable[[Route], Iterable[StepRef]]
"""Where a step occurs in a route (none, once, or once per form field)."""


@dataclass(frozen=True, slots=True, eq=False)
class Plan:
    """What a draft's contest, channel and track resolve to, and the steps that follow.

    Computed once per (contest, channel, track, contest_fixed) and reused across events: the
    contests are immutable, and the draft's answers play no part in it."""

    contest: Contest | None
    channel: EntryRoute | None
    form: Form | None
    steps: tuple[StepRef, ...]
    position: dict[str, int]  # step token -> its first index in ``steps``
    fields: dict[str, tuple[int, FormField]]  # field id -> (1-based number, field)
    # Prompts (text, choices) by step token, for steps whose prompt depends on the plan alone
    # (the channel; a field or the video while unanswered); filled in as they are asked.
    prompts: dict[str, tuple[str, tuple[Choice, ...]]] = field(default_factory=dict)

    def form_field(self, field_id: Any) -> FormField | None:
        """The form's field ``field_id`` (None without a form or such a field)."""
        # Ids from a corrupt draft (not a string) name no field, as in a search by equality.
        entry = self.fields.get(field_id) if type(field_id) is str else None
        return entry[1] if entry else None


# Plans kept per planner; more than this (drafts naming channels a preset no longer has) and
# the cache starts over, so it cannot grow without bound.
MAX_CACHED = 512


def current(state: State) -> StepRef:
    """The step the draft is at."""
    return StepRef(state["step"], state.get("field") if state["step"] == Step.FIELD else None)


def goto(state: State, step: StepRef) -> None:
    """Move the draft to ``step``."""
    state["step"] = step.name
    state["field"] = step.field_id


# bench/README.md 'WeChat' session 4: the engine 199 → 134 µs per event.
class Planner:
    """Resolves drafts into plans, and keeps the plans (they are asked for on every event)."""

    def __init__(self, contests: ContestRegistry, flow: Sequence[Occurs]) -> None:
        self.contests = contests
        self.flow = tuple(flow)
        self._plans: dict[tuple[Any, ...], Plan] = {}

    def clear(self) -> None:
        """Forget every plan (the prompts they keep were rendered by other messages)."""
        self._plans.clear()

    def plan(self, state: State) -> Plan:
        """The draft's plan."""
        get = state.get
        cid = get("contest")
        contest = self.contests.get(cid) if cid else None
        # Every falsy channel or track means "not chosen": one key for all of them.
        key = (
            cid if contest is not None else None,
            get("channel") or None,
            get("track") or None,
            not get("contest_fixed"),
        )
        try:
            plan = self._plans.get(key)
        except TypeError:  # a corrupt draft (a list for a channel id): resolve it uncached
            return self._make(state, contest)
        # The registry may have been replaced: a plan is only good for the very same contest.
        if plan is None or plan.contest is not contest:
            plan = self._make(state, contest)
            if len(self._plans) >= MAX_CACHED:
                self._plans.clear()
            self._plans[key] = plan
        return plan

    def autofill(self, state: State) -> Plan:
        """Steps with a single possible answer are answered for the entrant; returns the plan
        of the draft as filled in."""
        plan = self.plan(state)
        contest = plan.contest
        if contest is not None and len(contest.channels) == 1 and not state.get("channel"):
            state["channel"] = contest.channels[0].id
            plan = self.plan(state)
        channel = plan.channel
        if channel is not None and len(channel.forms) == 1 and not state.get("track"):
            state["track"] = next(iter(channel.forms))
            plan = self.plan(state)
        return plan

    def _make(self, state: State, contest: Contest | None) -> Plan:
        channel = form = None
        if contest is not None and state.get("channel"):
            try:
                channel = contest.channel(state["channel"])
            except KeyError:
                channel = None
        if contest is not None and channel is not None:
            track = state.get("track") or next(iter(channel.forms))
            form_id = channel.forms.get(track)
            form = contest.form(form_id) if form_id else None
        route = Route(contest, channel, form, state.get("track"), bool(state.get("contest_fixed")))
        steps = tuple(step for occurs in self.flow for step in occurs(route))
        position: dict[str, int] = {}
        for i, step in enumerate(steps):
            position.setdefault(step.token, i)
        fields = {f.id: (n, f) for n, f in enumerate(form.fields, 1)} if form else {}
        return Plan(contest, channel, form, steps, position, fields)
