"""Questions typed in the dialog without "问：": answered, asked about once, or read as answers.

An entrant in the middle of the form types "视频可以多大？" at 自荐机构 or "截止日期是哪天" at
作品名称.  Such a message must be answered (by the helpdesk, which the caller owns: the result
names the question in :attr:`~dialogs.results.StepResult.question`) and the entrant brought
back to the step with nothing recorded.  How a message reads is graded in
:mod:`validators.questions`; what the grade means depends on the step, decided here (pure):

* a step whose answer never reads as a question (a choice, a date, a phone number, a name,
  the review page, the scan…): anything that reads as one is one;
* a free-text step whose answer may (a title, a summary): a question about taking part is
  answered, anything else that reads as a question is asked about once — 「填写」 or 「提问」,
  kept in the draft under :data:`PENDING` until the next message;
* a message answered at once is held by the caller, outside the draft, for one more message
  (:attr:`~dialogs.results.StepResult.answered`): "是答案" then fills the field with it;
* a yes/no question about the field itself ("可以不填吗", "要写多少字") is answered from the
  form, here.

"答：…" (or "填：…") forces a message to be read as the answer.
"""

from __future__ import annotations

import re
from typing import Literal

from contests.events import Choice, Incoming, Reply
from contests.rules import FieldType, FormField
from dialogs.kit import DialogKit, bare, norm
from dialogs.plans import StepRef
from dialogs.results import Ask, StepResult
from dialogs.states import State, Step
from dialogs.video import CANNOT_SEND
from validators.fields import is_name_field
from validators.link_fields import without_link
from validators.links import parse_video_link
from validators.questions import (
    LOOKS_LIKE,
    QUESTION,
    asked_part,
    contest_question,
    is_english,
    obviously_asks,
    question_grade,
)
from validators.text import Valid

PENDING = "maybe_question"  # {"text": the message, "at": the step's token}
CONFIRMED = "answer_confirmed"  # set for one read: the entrant said the text is the answer

_FORCED = re.compile(r"^\s*(?:答|填|填写|回答)\s*[:：]\s*(?P<a>\S.*)$", re.DOTALL)
# A question about the field being asked rather than about the contest.
_ABOUT_FIELD = re.compile(
    r"(?:不填|不写|空着|留空|空白|不选|省略|跳过)|(?:填|写|选)(?:什么|啥|哪个|哪些|哪一个|哪项)"
    r"|(?:怎么|如何|怎样|咋)(?:填|写|选)|(?:必须|一定要|非得|非要|需要|要)(?:填|写|选)(?:吗|么|嘛|[?？]|$)"
    r"|(?:多少|几个)字|字数|必填|选填"
)
# A message at the pledge that is about agreeing and nothing else ("同意？", "必须同意吗"); a longer
# question that names the pledge ("签了这个承诺以后有人说我侵权，是我个人担责任吗") asks something.
_ABOUT_PLEDGE = re.compile(
    r"^(?:我|那)?(?:要|必须|一定要|需要|得|非得)?(?:同意|承诺|答应|agree|yes|ok)(?:吗|么|嘛|不|了吗)?$",
    re.IGNORECASE,
)
_ASKED = "?"  # the clarification's buttons: the step's token and this
_FILL = {"1", "fill", "yes", "y", "ok"}
_ASK = {"2", "ask", "no", "n"}
# The reply to 「这是要填写的…，还是想问问题？」 in the entrant's words, its punctuation taken off:
# "是答案", "是要填写的", "对", "是", "对，是要填写的", "是作品名称" fill the field with the held
# message; "是问题", "我是想问一下", "不是" ask it.  Anything else is a new answer to the field.
_YES = r"(?:对|是|嗯|恩|没错|对的|是的|对啊|是啊|对呀|是呀|嗯嗯|好的?)"
_FILL_SAID = re.compile(
    rf"^(?:{_YES}|(?:{_YES})?(?:我|这|这个|它|那)?(?:就)?(?:是)?(?:要)?"
    r"(?:填写?|填进去|填上|答案|回答|作品名称?|名称|标题|题目|这个名字)(?:的|啊|呀|吧|哦|内容)?)$"
)
_NAMING = re.compile(rf"^(?:{_YES})?(?:我|这|这个|它|那)?(?:就)?(?:是)?(?:要)?(?:填)?")
_ASK_SAID = re.compile(
    r"^(?:我|这|这个|它|那)?(?:就)?(?:是)?(?:要|想)?"
    r"(?:提问题?|问问题|问一下|问个问题|问题|问|咨询(?:一下)?)(?:的|呢|啊|呀|吧|哦)?$"
)
_NOT = re.compile(r"^(?:不是|不对|不)(?:的|啊|呀)?")  # "不是", "不是问题", "不是，是要填写的"

Reading = Literal["answer", "ask", "field", "clarify"]

# "是答案", "这是答案", "刚才那条是要填写的", "不是问题": said after a question was answered at
# once, the last message was the answer.  Words that only agree ("好的", "对", "是") are not this:
# they may acknowledge the answer given, or answer the field ("是" agrees to a pledge).
_SAYS_ANSWER = re.compile(
    rf"^(?:{_YES})?(?:不是问题|不是提问|(?:我|这|这个|它|那|那个|刚才|刚才的|刚才那个|刚才那条|上一条|上面的|上面那个)?"
    r"(?:就|都)?(?:是)?(?:要)?(?:填写?的?|填进去|填上|答案|回答|要填写?的内容))(?:的|啊|呀|吧|哦|内容)?$"
)


def says_answer(text: str) -> bool:
    """Whether ``text`` says only that the message before was the answer ("是答案", "这是答案"):
    never a value of the field itself."""
    return _SAYS_ANSWER.match(bare(text)) is not None


def answered_held(answered: object, step: StepRef) -> str | None:
    """The message answered as a question at ``step`` by the event before (the caller holds it
    outside the draft: asking leaves the draft as it was), if that is where the draft is."""
    if not isinstance(answered, dict) or answered.get("at") != step.token or not answered.get("text"):
        return None
    return str(answered["text"])


def forced_answer(text: str) -> str | None:
    """The answer in "答：…", or None without the prefix."""
    m = _FORCED.match(text)
    return m["a"] if m else None


def ambiguous(fld: FormField) -> bool:
    """Whether a real answer to ``fld`` may read as a question (a title, a summary, prose)."""
    if fld.type is not FieldType.TEXT or fld.must_contain_url:
        return False
    return fld.role in ("title", "summary") or fld.multiline


def reading(kit: DialogKit, state: State, step: StepRef, text: str) -> Reading:
    """How a typed message is taken at ``step``: an answer, a question, a question about the
    field, or unclear (ask which)."""
    grade = question_grade(text)
    if grade < LOOKS_LIKE or step.name == Step.CANCEL:
        return "answer"
    if step.name == Step.VIDEO and CANNOT_SEND.search(text):
        return "answer"  # "视频太大了发不了怎么办": the video step offers its upload page
    if step.name != Step.FIELD:
        return "ask"
    fld = kit.field(state, step.field_id)
    if fld is None:
        return "answer"
    if contest_question(text):
        return "ask"
    if fld.type is FieldType.PLEDGE:
        # "同意？" is not agreeing, and the pledge's refusal says so; a question about anything
        # else ("视频里一定要有人出镜吗", "法人出差了，可以让副总代签吗？") is answered.
        bare = re.sub(r"[\s?？。.!！,，~～]", "", text)
        return "answer" if _ABOUT_PLEDGE.match(bare) else "ask"
    if _ABOUT_FIELD.search(text) and len(text) <= 30:
        return "field"
    if ambiguous(fld):  # asked about only where it may be the answer ("宇宙有多大？")
        return "ask" if obviously_asks(text, title=fld.role == "title") else "clarify"
    if grade < QUESTION and is_name_field(fld):
        return "answer"  # "什么值得买科技有限公司", "何时雨、李四": names, unless a mark asks
    return "ask"


def carries_link(kit: DialogKit, state: State, step: StepRef, text: str) -> bool:
    """Whether a message that reads as a question also holds the link the step asks for (the
    video step, a URL field): the link must not be lost to the question."""
    if step.name == Step.FIELD:
        fld = kit.field(state, step.field_id)
        # 播出平台及网址 is text that must hold a URL: its link is kept too.
        if fld is None or (fld.type is not FieldType.URL and not fld.must_contain_url):
            return False
    elif step.name != Step.VIDEO:
        return False
    return isinstance(parse_video_link(text), Valid)


def without_question(text: str) -> str:
    """A message without its clauses that ask ("央视频 x.cn/v ，电视台播的也算吗？" → "央视频 x.cn/v")."""
    clauses = re.split(r"(?<=[，,。；;！!？?])", text)
    # graded without its link: "?vid=abc" is no question mark
    kept = [c for c in clauses if c.strip() and question_grade(without_link(c).strip(" ，,。；;")) < QUESTION]
    return "".join(kept).strip(" ，,。；;")


def question_answer(kit: DialogKit, state: State, step: StepRef, text: str) -> tuple[Ask, str]:
    """A question at ``step``: answered by the caller, then the step's prompt again."""
    label = _field_label(kit, state, step)
    reply = Reply(kit.msg.render("question_not_recorded", label=label, english=is_english(text)))
    return Ask([reply]), asked_part(text)


def field_answer(kit: DialogKit, state: State, step: StepRef) -> Ask:
    """A question about the field itself, answered from the form."""
    fld = kit.field(state, step.field_id)
    return Ask([Reply(kit.msg.render("about_field", field=fld))])


def clarify(kit: DialogKit, state: State, step: StepRef, text: str) -> StepResult:
    """Ask once whether ``text`` is the answer or a question; the draft keeps it until then."""
    state[PENDING] = {"text": text, "at": step.token}
    label = kit.step_label(state, step)
    token = step.token + _ASKED  # a press after the choice was made is a stale button
    choices = (Choice("填写", f"{token}|填写"), Choice("提问", f"{token}|提问"))
    return StepResult(state, [Reply(kit.msg.render("maybe_question", label=label), choices)])


def choice_made(
    pending: object, step: StepRef, event: Incoming, text: str, label: str = ""
) -> tuple[str, str] | None:
    """``("fill" | "ask", the message asked about)`` when ``event`` answers the clarification
    (the field's ``label`` named is filling it: "是简介"), else None (the clarification is
    dropped and the event read as usual)."""
    if not isinstance(pending, dict) or pending.get("at") != step.token or not pending.get("text"):
        return None
    said = text
    if event.choice:
        token, _, said = event.choice.partition("|")
        if token != step.token + _ASKED:
            return None
    meant = _meant(bare(said), norm(label))
    return (meant, str(pending["text"])) if meant else None


def _meant(said: str, label: str) -> Literal["fill", "ask"] | None:
    """What a reply to the clarification means, without its punctuation."""
    if said in _FILL or _FILL_SAID.match(said):
        return "fill"
    named = _NAMING.sub("", said).removesuffix("的")
    if len(named) >= 2 and named in label:  # "是简介" at 内容简介
        return "fill"
    if said in _ASK or _ASK_SAID.match(said):
        return "ask"
    negated = _NOT.match(said)
    if negated is None:
        return None
    rest = said[negated.end() :]
    if not rest:  # "不是": not the answer to fill in
        return "ask"
    if "是" in rest:  # "不是问题，是答案": what it is comes after
        return _meant(rest.rsplit("是", 1)[1], label)
    meant = _meant(rest, label)  # "不是问题": the opposite
    return {"fill": "ask", "ask": "fill", None: None}[meant]


def held(pending: object, step: StepRef) -> str | None:
    """The message a clarification at ``step`` holds, if it does."""
    if not isinstance(pending, dict) or pending.get("at") != step.token or not pending.get("text"):
        return None
    return str(pending["text"])


def same_words(held_text: str, text: str) -> bool:
    """Whether ``text`` is the held message again without its question mark ("宇宙有多大")."""
    bare = re.compile(r"[\s?？。.!！~～]")
    return bare.sub("", norm(held_text)) == bare.sub("", norm(text))


def _field_label(kit: DialogKit, state: State, step: StepRef) -> str:
    return kit.step_label(state, step) if step.name == Step.FIELD else ""
