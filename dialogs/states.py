"""The submission dialog's states, named once.

Stored drafts keep these strings, so renaming one needs a migration in
:func:`dialogs.engine.migrate` (``DRAFT_VERSION`` counts the layouts).
"""

from __future__ import annotations

from typing import Final

DRAFT_VERSION: Final = 1


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


FLOW_STEPS: Final = (
    Step.CONTEST,
    Step.CHANNEL,
    Step.TRACK,
    Step.FIELD,
    Step.VIDEO,
    Step.REVIEW,
)
