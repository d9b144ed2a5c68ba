"""The submission dialog's steps, named once, and the draft that records where an entrant is.

Stored drafts keep these strings, so renaming one needs a migration in :func:`migrate`
(``DRAFT_VERSION`` counts the layouts).  The order of the steps and what each one does are
declared in :mod:`dialogs.steps`.
"""

from __future__ import annotations

from typing import Any, Final

DRAFT_VERSION: Final = 1

State = dict[str, Any]
"""A draft: JSON data (dicts, lists, strings, numbers), stored between events."""


class Step:
    """The names of the dialog's steps, as a draft's ``step`` stores them."""

    CONTEST: Final = "contest"  # which contest (asked when several are open)
    CHANNEL: Final = "channel"  # 推荐 or 自荐
    TRACK: Final = "track"  # 微视频 or 科普号 (contests with both)
    FIELD: Final = "field"  # one form field; the draft names which (``field_id``)
    VIDEO: Final = "video"  # the video file or link
    REVIEW: Final = "review"  # every answer on one page: confirm, edit or cancel
    EDIT: Final = "edit"  # picking which answer to change
    CANCEL: Final = "cancel"  # confirming that the draft is dropped
    SCAN: Final = "scan"  # submitted: waiting for the signed and sealed form, scanned


def migrate(state: State | None) -> State | None:
    """Bring a stored draft to the current layout; unknown future layouts start over."""
    if state is None:
        return None
    if state.get("v") == DRAFT_VERSION:
        return state
    return None


def copy_state(value: Any) -> Any:
    """A deep copy of a draft state (JSON data: dicts, lists, and immutable scalars).

    ``copy.deepcopy`` took a fifth of the dialog's CPU per event, most of it on its memo and
    dispatch machinery that JSON does not need."""
    if isinstance(value, dict):
        # Scalars are kept without a call: most of a draft is strings.
        return {k: v if type(v) in _SCALARS else copy_state(v) for k, v in value.items()}
    if isinstance(value, list):
        return [v if type(v) in _SCALARS else copy_state(v) for v in value]
    if isinstance(value, tuple):
        return tuple(copy_state(v) for v in value)
    return value


_SCALARS = frozenset({str, int, float, bool, type(None)})
