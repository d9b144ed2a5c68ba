"""Whether a typed message reads as a question, and how surely: pure, a few regexes, no I/O.

The dialog asks for names, titles and summaries, and entrants also type questions in the middle
of it without any prefix ("视频可以多大？", "截止日期是哪天", "推荐表要盖章吗").  Many real
answers carry the same words ("宇宙有多大？", "为什么天是蓝的", a summary that says what and
how, "几何画板工作室"), so this module only grades a message; the step being asked decides
what to do with the grade (:mod:`dialogs.questions`).

* :data:`NOT_A_QUESTION` (0): no question form at all.
* :data:`LOOKS_LIKE` (1): a question word in a short, single sentence ("为什么天是蓝的",
  "how stars are born"), with nothing else that says it is a question.
* :data:`QUESTION` (2): the form itself asks: a final ？/?, a final 吗, an A-not-A
  ("要不要", "能不能"), "可以…吗", an English question ending with "?", a question mark
  inside a short message ("推荐单位填谁？我们是大学").

:func:`about_contest` says whether a question asks about taking part (the deadline, the forms,
the seal, the video's size…): such a question is never a title.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from importlib import resources
from typing import Final

import zhconv

NOT_A_QUESTION: Final = 0
LOOKS_LIKE: Final = 1
QUESTION: Final = 2

# Links and addresses are set aside first: "…?pwd=k3p9" is not a question mark.
_LINKS = re.compile(
    r"(?:https?://|www\.)[^\s，。；、]+|(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.IGNORECASE
)
# A question quoted in prose is cited, not asked ("评论区最多的问题是“这是真的吗”").
_QUOTED = re.compile(r"“[^“”]*”|「[^「」]*」|『[^『』]*』|\"[^\"]*\"")
_TRAILING = "。.!！~～…\u3000 \t\n)）」』\"'”"
_FINAL_MARK = re.compile(r"[?？][" + re.escape(_TRAILING) + r"]*$")
# A final particle that asks ("…吗", "…么" as in "可以么", "…嘛"); 呢/吧 ask only with a mark.
_FINAL_PARTICLE = re.compile(r"(?:吗|嘛|(?<![什怎那这多])么)[" + re.escape(_TRAILING) + r"]*$")
# "…了没", "…过没有": asking whether something happened (A-not-A with its second half left off).
_FINAL_NOT = re.compile(r"(?:了|过)(?:没|没有|没得)[" + re.escape(_TRAILING) + r"]*$")
# A-not-A and other forms that ask whatever the length: "要不要盖章", "能不能用AI".
_ASKING_FORMS = re.compile(
    r"能不能|可不可以|可以不可以|需不需要|要不要|有没有|是不是|会不会|行不行|用不用|算不算|对不对"
    r"|该不该|允不允许|准不准|是否|可以.{0,12}?吗|能否"
    # Chongqing and Sichuan: 有没得 (有没有), 要得不 / 得行不 (行不行), 得不得; "多少…才能报"
    r"|有没得|要得不|得行不|得不得|多少.{0,6}才(?:能|可以|行|算)"
)
# A verb or adjective and a final 不, the A-not-A with its second half left off ("能报不", "要得不嘛").
_FINAL_BU = re.compile(
    r"(?:要得|得行|行|能|可以|算|对|好|够|是|有|报|用|要|写|填|交|签|盖|传|加|放)不(?:嘛|哦|喃|啊|呀|哇)?"
    + r"["
    + re.escape(_TRAILING)
    + r"]*$"
)
# Question words.  几 asks only before a measure word (几何, 几乎, 茶几 do not); 哪 not in 哪吒.
_QUESTION_WORDS = re.compile(
    r"多少|多大|多长|多久|多高|多宽|多重|什么|啥|怎么|怎样|咋|如何|为什么|为何|何时|何地|谁"
    # …nor after a tens figure ("四十几个", "20几个": forty-odd, a figure said loosely).
    r"|哪(?!吒)|(?<![十0-9])几(?:个|天|号|月|日|点|分钟|秒|岁|部|件|项|位|张|次|页|年|种|级|人|兆|[mMgG]|号前|时)"
    # 那 typed for 哪 at the end ("截至日期是那天"): the day asked, not a day told
    r"|是那(?:天|一天)(?=[" + re.escape(_TRAILING) + r"啊呀呢]*$)"
)
_SENTENCE_END = re.compile(r"[。！!；;？?\n]")
# "写单位的还是家里的", "写科普还是写天文": a choice of two put as a question.
_EITHER_OR = re.compile(
    r"(?:的|写|填|选|用|交|报|发|传)还是|还是(?:写|填|选|用|交|报|发|传)|^(?:写|填|选|用)[\u4e00-\u9fff]{1,10}还是"
)
# "写单位地址可以吧", "留座机行吧": asking to be told yes.
_TAG_ASK = re.compile(r"(?:可以|行|对|没问题|没错)吧[" + re.escape(_TRAILING) + r"]*$")
_EN_WH = re.compile(r"^(?:what|how|when|where|why|which|who|whom|whose)\b", re.IGNORECASE)
_EN_AUX = re.compile(
    r"^(?:can|could|may|might|must|is|are|am|was|were|do|does|did|should|shall|will|would|have|has)\s+\w+",
    re.IGNORECASE,
)
# What taking part is about: a question with one of these asks the organisers, not the form.
_CONTEST_WORDS = re.compile(
    r"截止|截至|报名|参赛|投稿|盖章|公章|签字|推荐表|自荐表|报名表|申报|名额|评审|评选|奖金"
    r"|主办方|附件|提交|上传|网盘|提取码|分辨率|格式|时长|大赛"
    r"|原创|素材|占比|比例|字幕|水印|片头|片尾|横屏|竖屏|配乐|版权|授权|高清|画质|普通话|方言|人工智能|粉丝"
    r"|最多|最少|最长|最短|最大|最晚|最迟"
    r"|(?:推荐|推|报|交|送|投)(?:几|多少)|(?:能|可以|可)(?:推荐|自荐)"
    # who hands in, signs or seals ("两家单位合拍的谁来交"): no name says 谁来交
    r"|由谁|谁(?:来|去)?(?:交|报|提交|报送|填|签|盖|审)"
    # Whether one may take part, and on what terms ("还能报吗", "时间有啥要求", "能参加吗").
    r"|要求|还能报|能报吗|能不能报|可以报吗|能参加|可以参加|参加吗|能不能参加|算不算数|算数吗"
    r"|(?:视频|作品|片子|文件).{0,6}(?:多大|多长|好大|好长|几分钟|大小|尺寸|多少|几个|几部)"
    # The characters one wrote against a cell's limit ("简介写了120字超了吗", "写了95个字够吗").
    r"|\d+\s*个?字.{0,3}(?:超|多了|够|行|可以|没问题)"
    r"|deadline|submit|submission|entry|entries|video|stamp|seal|contest",
    re.IGNORECASE,
)
# A question word after a verb that tells or shows is prose about the work ("本片介绍了什么是黑洞").
_EMBEDDED = re.compile(
    r"(?:介绍|讲述|讲解|讲清|讲明|说清|弄清|搞清|展示|揭示|探讨|探究|解释|说明|告诉|带你|带您|了解|认识|演示"
    r"|呈现|阐述|描述|分析|揭秘)"
    r"[了过着]?.{0,8}?(?:什么|如何|怎么|怎样|为什么|为何|多少|哪)"
)
LOOKS_LIKE_MAX_CHARS = 30
# A short message with a question mark inside asks first and then adds a few words of context
# or a second question ("推荐单位填谁？我们是大学", "片子要求多长时间？另外截止日期是什么时候");
# a rhetorical question before a statement ("全网播放量多少？截至目前超过120万次") is prose.
_INNER_MARK = re.compile(r"[^?？\s][?？]")
INNER_QUESTION_MAX_CHARS = 40
CONTEXT_MAX_CHARS = 8
# Longer than any question typed in a chat: a pasted summary, graded as an answer at no cost.
MAX_QUESTION_CHARS = 300  # a question word in a longer text is prose ("本片介绍了如何…")


@lru_cache(maxsize=1)
def _traditional_only() -> frozenset[str]:
    # zhconv's own loader leaves its file open when it finds the table by itself; given the path,
    # it closes it. The table then lives in zhconv's module, loaded on the first question.
    zhconv.loaddict(str(resources.files("zhconv") / "zhcdict.json"))
    return frozenset(zhconv.zhconv.zhcdicts["TRADONLY"]) - _ALSO_SIMPLIFIED


def simplified(text: str) -> str:
    """``text`` in simplified characters ("參賽要交報名費嗎" → "参赛要交报名费吗"). Text with fewer
    than two characters used only in traditional writing is left exactly as it is: zhconv would
    also "correct" a simplified name (哪吒路: its table counts 吒 as traditional)."""
    only = _traditional_only()
    return zhconv.convert(text, "zh-hans") if sum(c in only for c in text) >= 2 else text


#: Characters zhconv's table counts as traditional that simplified text uses too (乾坤, 哪吒, 於是…):
#: they never make a message traditional.
_ALSO_SIMPLIFIED = frozenset("乾藉瞭於吒著")


def _plain(text: str) -> str:
    # A question in traditional characters ("能用手機拍嗎") is read in simplified ones, like the notices.
    text = simplified(text)
    text = _LINKS.sub(" ", unicodedata.normalize("NFKC", text).strip()).strip()
    unquoted = _QUOTED.sub("", text).strip()
    return unquoted if unquoted.strip(_TRAILING + "，,") else text


_LATIN = re.compile(r"[A-Za-z]")
_HAN = re.compile(r"[\u4e00-\u9fff]")


def is_english(text: str) -> bool:
    """Mostly Latin letters and no more than a few Chinese characters (a unit's name may be quoted):
    the asker reads English, and is answered in it."""
    latin, han = len(_LATIN.findall(text)), len(_HAN.findall(text))
    return latin >= 6 and han * 4 <= latin


def question_grade(text: str) -> int:
    """How surely ``text`` is a question: :data:`NOT_A_QUESTION`, :data:`LOOKS_LIKE` or :data:`QUESTION`."""
    if len(text) > MAX_QUESTION_CHARS:
        return NOT_A_QUESTION
    plain = _plain(text)
    if not plain:
        return NOT_A_QUESTION
    if _FINAL_MARK.search(plain):
        # A bare "?" is the help command, and a mark after a link alone asks nothing.
        return QUESTION if len(plain.rstrip("?？ ")) > 0 else NOT_A_QUESTION
    inner = _INNER_MARK.search(plain) if len(plain) <= INNER_QUESTION_MAX_CHARS else None
    if inner is not None:
        rest = plain[inner.end() :].strip(_TRAILING + "，,")
        if len(rest) <= CONTEXT_MAX_CHARS or question_grade(rest) >= LOOKS_LIKE:
            return QUESTION
    if _EN_WH.match(plain) or _EN_AUX.match(plain):
        return LOOKS_LIKE if len(plain.split()) >= 3 else NOT_A_QUESTION
    if _FINAL_PARTICLE.search(plain) or _TAG_ASK.search(plain):
        return QUESTION
    single = not _SENTENCE_END.search(plain.rstrip(_TRAILING))
    if _ASKING_FORMS.search(plain) and single and len(plain) <= LOOKS_LIKE_MAX_CHARS * 2:
        return QUESTION
    left_off = _FINAL_NOT.search(plain) or _FINAL_BU.search(plain)
    if left_off and single and len(plain) <= LOOKS_LIKE_MAX_CHARS:
        return QUESTION  # no name ends so; a title that does ("你吃了没") is still asked about
    if _EITHER_OR.search(plain) and single and len(plain) <= LOOKS_LIKE_MAX_CHARS:
        # "写学校还是学院": asking which to write, whatever the cell (a name too) holds
        return QUESTION if re.search(r"[写填选]", plain) else LOOKS_LIKE
    if _QUESTION_WORDS.search(plain) and single and len(plain) <= LOOKS_LIKE_MAX_CHARS:
        return NOT_A_QUESTION if _EMBEDDED.search(plain) and not about_contest(plain) else LOOKS_LIKE
    return NOT_A_QUESTION


def asked_part(text: str) -> str:
    """What a message asks, without the few words of context after its question mark
    ("推荐单位要盖章吗？我们是科技馆" → "推荐单位要盖章吗？"): the context is for a person, and
    an answerer reading it looks for a fact the notice does not hold (a hand-off's ticket then
    carries the question alone).  Anything else whole."""
    plain = text.strip()  # not NFKC-folded: the entrant's own ？ is kept
    inner = _INNER_MARK.search(plain) if len(plain) <= INNER_QUESTION_MAX_CHARS else None
    if inner is None or _LINKS.search(plain):
        return text
    rest = plain[inner.end() :].strip(_TRAILING + "，,")
    if not rest or question_grade(rest) >= LOOKS_LIKE:
        return text  # a second question is asked too
    return plain[: inner.end()]


# What one must or may do ("必须有真人出镜吗", "能用AI生成吗？", "Can I…?"): asked of the organisers.
_MUST_OR_MAY = re.compile(
    r"必须|一定要|非得|非要|需要|需不需要|要不要|要求|允许|允不允许|准许|可以|可不可以|能不能|能否|能用|能不"
    r"|是否|行不行|算不算|^(?:要|能|得)|^(?:can|may|must|should|do|does|is it|are)\b",
    re.IGNORECASE,
)
# The stricter half, for a title ("我们能移居火星吗？" is a title; "必须有真人出镜吗" is not).
_MUST = re.compile(
    r"必须|一定要|非得|非要|需要|需不需要|要求|允许|允不允许|准许|是否|^(?:must|should)\b", re.I
)
# Of oneself or to the organisers: "我们全是动画", "你们收到了吗".
_SPEAKER = re.compile(r"我们|我|咱|你们|贵方|主办方|组委会|老师")


def obviously_asks(text: str, *, title: bool) -> bool:
    """Whether a message that reads as a question is plainly one, not a ``title`` or a summary
    that happens to ask: it asks what one must or may do, or adds a word about the asker after
    its question mark ("要真人出镜吗？我们全是动画").  "宇宙有多大？" is not (still asked about)."""
    if question_grade(text) < QUESTION:
        return False
    plain = _plain(text)
    inner = _INNER_MARK.search(plain)
    context = plain[inner.end() :].strip(_TRAILING + "，,") if inner else ""
    if context and _SPEAKER.search(context):
        return True
    if title:
        return bool(_MUST.search(plain))
    return len(plain) <= INNER_QUESTION_MAX_CHARS and bool(
        _MUST_OR_MAY.search(plain) or _SPEAKER.search(plain)
    )


def about_contest(text: str) -> bool:
    """Whether a question asks about taking part (deadline, forms, seal, video size…)."""
    return bool(_CONTEST_WORDS.search(_plain(text)))


def contest_question(text: str) -> bool:
    """A question about taking part, which no title or name is ("截止日期是哪天", "视频可以多大？")."""
    return question_grade(text) >= LOOKS_LIKE and about_contest(text)
