"""The message a question typed at a field was answered as, held for the entrant's next message.

A question asked in the dialog leaves the draft exactly as it was, so what was asked is not kept
in it.  When the entrant then says it was the answer after all ("是答案"), the dialog needs that
message (:attr:`dialogs.results.StepResult.answered`): it is held here, per user, in this
process's memory, for the next event only and for :data:`HELD_FOR` at most.

It lives beside the draft, not in the store: with several workers the next message may reach
another one, which holds nothing, and the dialog then asks for the value itself.  A held message
is lost with the process, which costs the entrant one retyped answer.
"""

from __future__ import annotations

import collections
import datetime as dt

from contests.records import UserKey

#: How long a question's message is held for the "是答案" that may follow it.
HELD_FOR = dt.timedelta(minutes=30)
#: Users held for at most (the oldest are forgotten first).
MAX_HELD = 10_000


class AnsweredQuestions:
    """Per user, the message the last event answered as a question at a field."""

    def __init__(self, limit: int = MAX_HELD) -> None:
        self._held: collections.OrderedDict[UserKey, tuple[dict[str, str], dt.datetime]] = (
            collections.OrderedDict()
        )
        self._limit = limit

    def take(self, user: UserKey, now: dt.datetime) -> dict[str, str] | None:
        """What the user's previous event held (forgotten now: it is for one event only)."""
        held = self._held.pop(user, None)
        if held is None or now - held[1] > HELD_FOR:
            return None
        return held[0]

    def hold(self, user: UserKey, answered: dict[str, str] | None, now: dt.datetime) -> None:
        """Hold ``answered`` (a :attr:`~dialogs.results.StepResult.answered`) for the user's next event."""
        if not answered:
            return
        self._held[user] = (dict(answered), now)
        self._held.move_to_end(user)
        while len(self._held) > self._limit:
            self._held.popitem(last=False)
