"""What the helpdesk says: the reply, its kind, and the fixed texts it says them with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

#: What kind of reply the helpdesk gives: a fact or clause of the notice; "the notice does not say";
#: about the asker's own submission (answered from the store, not the notice); not about the
#: contest at all; or unsure (handed to an operator).
AnswerKind = Literal["answer", "silent", "personal", "offtopic", "unsure"]


@dataclass(frozen=True, slots=True)
class HelpAnswer:
    """What the helpdesk says.  ``confident`` False means: tell the entrant it is unsure and hand off.

    ``suggestion`` is the best entry found even when not confident (for the operator who takes
    the question); ``source`` is its citation.
    """

    answer: str
    confident: bool
    source: str
    score: float
    contest_id: str | None
    suggestion: str = ""
    entry_id: str = ""
    terms: tuple[str, ...] = field(default=(), repr=False)
    kind: AnswerKind = "answer"
    english: bool = False


UNSURE = "这个问题我不确定，通知里没有找到明确的依据。"


NEAREST = "通知中最接近的内容（仅供参考）："


NEAREST_EN = "The closest the notice comes (for reference only):"


UNSURE_EN = "I am not sure: I found nothing in the notice that answers this."


SILENT_LEAD = "通知对此没有明确规定。"


SILENT_LEAD_EN = "The notice does not say."


PERSONAL_REPLY = "您问的是本人投稿的情况，这需要主办方工作人员查询，我无法从通知中回答。"


PERSONAL_REPLY_EN = (
    "You are asking about your own entry: the organisers' staff can look it up; the notice cannot answer it."
)


OFFTOPIC = (
    "这个问题不在大赛通知的范围内。我能回答本大赛的参赛资格、作品要求、截止日期、提交方式等问题；"
    "如与大赛有关，请换个说法再问。"
)


OFFTOPIC_EN = (
    "That is not about this contest. I can answer questions about who may enter, the video's requirements, "
    "the deadline and how to submit; if it is about the contest, please ask in other words."
)
