"""The users' last stored drafts, kept in memory where one process alone writes them (SQLite).

A typed answer then costs one storage call (the save) instead of two.  Every writer of a draft
in the process keeps it current: the dialog (:class:`handlers.submit.SubmitHandler`) and the
content checks (:class:`handlers.content.ContentChecks`, which keep a video's report with the
draft).  A writer that bypassed it left the dialog holding a stale version, and the entrant's
next answer was refused by the store's compare-and-set and dropped (trial 9: a content report
that came while a field was being asked).
"""

from __future__ import annotations

import collections

from contests.records import Draft, UserKey


class DraftCache:
    """At most ``size`` users' drafts, the least recently used forgotten first; ``size`` 0 keeps
    none (several workers: another may have written the draft)."""

    def __init__(self, size: int = 0) -> None:
        self.size = size
        self._drafts: collections.OrderedDict[UserKey, Draft] = collections.OrderedDict()

    def get(self, user: UserKey) -> Draft | None:
        kept = self._drafts.get(user)
        if kept is not None:
            self._drafts.move_to_end(user)
        return kept

    def remember(self, user: UserKey, draft: Draft | None) -> None:
        """The draft the store now holds for ``user`` (None: not known, read it again)."""
        if draft is None or self.size <= 0:
            self._drafts.pop(user, None)
            return
        self._drafts[user] = draft
        self._drafts.move_to_end(user)
        while len(self._drafts) > self.size:
            self._drafts.popitem(last=False)

    def forget(self, user: UserKey) -> None:
        self._drafts.pop(user, None)

    def __len__(self) -> int:
        return len(self._drafts)

    def __contains__(self, user: object) -> bool:
        return user in self._drafts
