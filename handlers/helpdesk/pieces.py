"""How one message splits into the things it asks: its pieces between question marks (and a
space or a comma where a chat has no marks), a short piece that leans on the one before it, "X呢"
asking the question before of X, and the contest's own title repeated in it."""

from __future__ import annotations

import re

from handlers.helpdesk.analyzer import ASKS, UNKNOWING

#: A piece asking for the exact value of what the piece before it asked ("具体是几号", "具体多少").
DETAIL_OF = re.compile(
    r"具体(?:是|在|要|为)?(?:几|多少|哪|啥|什么)"
    # …or whether it is the same for others ("区里能推荐几个？跟主城那几个区一样不"); the same in
    # another form ("跟推荐表写的一样吗") asks that form's (see the call).
    r"|^(?:那)?(?:跟|和|与|同)[^，。？?]{1,12}(?:一样|相同|一致|有区别|有啥区别|不同)"
    # …or says the asker cannot find it ("要填个啥子代码？我不晓得在哪点查"): the same question.
    + "|"
    + UNKNOWING.pattern
)


#: Where one message asks several things: question marks, and a comma before 又/还/另外 (“初审啥时候，
#: 评审又是啥时候”).
_PARTS = re.compile(
    r"[？?；;]+|[，,、](?=[^，,、？?]{0,6}(又|还有|另外|以及|同时))"
    # "两江新区能推几个，万州呢": the same question of another thing, after a comma.
    r"|[，,](?=(?:那|那么)?[^，,、？?。\s]{1,10}呢[？?。！!]*$)"
    # "When is the deadline, and how do we submit?": a second question joined by "and".
    r"|(?<=[a-z]),?\s+and\s+(?=(?:how|what|where|which|when|who|whom|whether|is|are|can|could|do|does|should"
    r"|must|may|by (?:what|which|when)|until when|before when)\b)"
    # a space between Chinese words: chats typed without punctuation ("想自己报 需要啥手续 能报几部")
    r"|(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])"
)


#: "X呢" after a question: the same question asked of X ("创意性占几分？艺术性呢", "万州呢").
_ELLIPSIS = re.compile(r"^(?:那|那么)?(?P<x>[^，,、？?。\s]{1,10}?)(?:的)?呢[？?。！!]*$")
#: An X of "X呢" that names no thing to ask the question of: a supposition ("如果晚了呢": what
#: follows), the asker's own figure ("我的是5分钟呢": whether it fits), a bare verb ("不盖呢") or a
#: nod ("好的呢").
_NO_THING = re.compile(
    r"如果|要是|假如|假设|万一|若|\d|的是|^(?:不|没)[^是]{0,2}$|^(?:好|好的|嗯|哦|行|那好)$"
)
#: Where the asking starts in a question: a modal or a question word after what it is about
#: ("两江新区|能推几个", "初审|啥时候", "推荐表|要盖章吗").
_PREDICATE = re.compile(
    r"(?:能|可以|可|要|需要|须|得|必须|是|有|算|占|限|截止|截至)?"
    r"(?:几|多少|多[大长久宽高少]|啥|什么|哪|谁|怎么|咋|如何|是否|能不能|可不可以|要不要|有没有|吗)"
    r"|(?:能|可以|要|需要|须|得|必须|有|占|限)(?=.{0,6}(?:几|多少|啥|什么|吗|哪|没))"
)


#: A run of the contest's title this long in a question only names the contest ("黑龙江省优秀科普微视频
#: 征集 几号截止": 优秀科普微视频 is no question of 优秀 works).
TITLE_RUN = 6


def without_title_runs(text: str, title: str) -> str:
    """``text`` without the runs of ``title`` it repeats, each at least :data:`TITLE_RUN` characters."""
    out, i = [], 0
    while i < len(text):
        n = TITLE_RUN
        while i + n <= len(text) and text[i : i + n] in title:
            n += 1
        if n > TITLE_RUN:
            out.append(" ")
            i += n - 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def same_asked_of(piece: str, before: str) -> str:
    """``piece`` read as the question before it asked of another thing ("万州呢" after "两江新区能推
    几个" asks "万州能推几个"), or "" when it is not such a follow-up or the question before has no
    asking part to lend."""
    follow = _ELLIPSIS.match(piece.strip())
    if follow is None or _NO_THING.search(follow.group("x")) or not ASKS.search(before):
        return ""
    asking = _PREDICATE.search(before)
    if asking is None or asking.start() == 0:
        return ""
    return follow.group("x") + before[asking.start() :]


def split_questions(question: str) -> list[str]:
    """The pieces of a message between its question marks (and 又/还有 after a comma)."""
    pieces = (p.strip() for p in _PARTS.split(question) if p)
    return [p for p in pieces if p and not CONNECTIVE.fullmatch(p)]


#: The longest part of a message the helpdesk reads (its end, where the question is).
MAX_QUESTION_CHARS = 600
#: A part of a message shorter than this, naming nothing of its own, is read with the part before it.
FOLLOW_UP_CHARS = 8
#: A short piece that starts by pointing at what the piece before it named ("附件最多传几个？每个多大？").
POINTS_BACK = re.compile(r"每个|每份|每部|每张|那它|它|其|这个|那个|该")
#: Words a follow-up may have and still lean on the question before it.
FOLLOW_UP_WORDS = frozenset({"名额", "提交", "几部", "一共", "通知", "要求", "作品", "视频"})
CONNECTIVE = re.compile(r"又|还有|另外|以及|同时")
