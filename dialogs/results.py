"""What a step answers with, and what the dialog hands back for one event.

A step's answer function (see :mod:`dialogs.steps`) returns a :class:`StepResult` when it has
decided everything itself, or asks the engine to go on with :class:`Advance` (answered: the next
step), :class:`Ask` (the current step's question again, after some replies) or
:class:`Restart` (a new draft).  Keeping the moves as data is what lets every step stay a plain
function of the draft, with the engine alone deciding what comes next.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from contests.events import Reply
from dialogs.states import State


@dataclass(frozen=True, slots=True)
class SubmitRequest:
    """What the store needs to create the submission."""

    prefix: str
    contest_id: str
    channel_id: str
    form_id: str
    answers: dict[str, Any]
    video: dict[str, Any]
    amend: str | None = None  # a returned submission's number: stored again under it


@dataclass(slots=True)
class StepResult:
    """The result of one event: ``state`` None means "drop the draft"."""

    state: State | None
    replies: list[Reply] = field(default_factory=list)
    submit: SubmitRequest | None = None
    # Work only the caller can do, named: "upload_link" (mint a personal large-file upload
    # link), "complete" (the scan is in), "send_form" (the form again).
    actions: list[str] = field(default_factory=list)
    # A question typed in the dialog (see dialogs.questions): the caller's helpdesk answers it
    # and its answer goes before ``replies`` (which end with the step's prompt).
    question: str = ""
    # A message answered as a question at a field, ``{"at": the step's token, "text": …}``: the
    # caller holds it outside the draft and hands it back with the next event (its "是答案"
    # fills the field with it).
    answered: dict[str, str] | None = None


@dataclass(slots=True)
class Advance:
    """The step is answered: these replies, then the next step's question."""

    replies: list[Reply] = field(default_factory=list)


@dataclass(slots=True)
class Ask:
    """These replies, then the question of the step the draft is at (it may have moved)."""

    replies: list[Reply] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Restart:
    """Start a new draft, as if the entrant had just arrived."""


Answer = StepResult | Advance | Ask | Restart
