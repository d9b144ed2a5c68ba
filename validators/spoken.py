"""Answers as people type them in a chat: the words around a value that are not the value.

"哦，是2025年3月8日", "去年10月15号发的", "大概1.2万吧", "科普动画吧", "嗯嗯 没问题": the date, the
figure, the category and the agreement are in there, with a filler, a relative year, a hedge or a
particle around them.  These helpers take the words off (pure, no I/O); the checks of
:mod:`validators.text` and :mod:`validators.fields` then read what is left as they read any answer.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

# Said before a date: an interjection, "是", "应该是", "大概在"... (any run of them, with commas).
_DATE_LEAD = re.compile(
    r"^(?:哦|噢|喔|嗯|啊|呃|额|唔|那个|也就是|就是|应该是|应该|大概是|大概|大约|约|差不多是|差不多|好像是|好像"
    r"|记得是|我记得是|我记得|印象中是|是在|是|在|于)[，,。、\s:：~～]*"
)
# Said after it: "发的", "播出的", "左右", "那天"... and where: "在B站播的", "在快手上发布的".
_DATE_TAIL = re.compile(
    r"[，,。、\s!！~～]*(?:(?:(?:在|于)[^\d，,。、\s]{1,12}?上?)?"
    r"(?:发的|发布的|播出的|播的|首播的|上线的|发出的|发布|播出|首播|上线|发了|播了|发)"
    r"|左右|前后|那天|当天|的时候|吧|的|了|啊|呀|哈|哦)$"
)
# A year said relative to today: "去年10月15号" is last year's.
_RELATIVE_YEAR = {"大前年": 3, "前年": 2, "去年": 1, "今年": 0}
_RELATIVE = re.compile(r"^(大前年|前年|去年|今年)")
# A year written with two digits before 年 and a month ("25年12月1日"): 2025, as people write it.
_SHORT_YEAR = re.compile(r"^(\d{2})(?=\s*年\s*\d{1,2}\s*月)")


# A day said relative to today: "昨天", "3天前", "上周三", "上个月20号" (and ahead: "明天", "下周一").
_DAYS_AGO = {
    "今天": 0, "今日": 0, "当天": 0, "today": 0, "昨天": 1, "昨日": 1, "yesterday": 1,
    "前天": 2, "大前天": 3, "明天": -1, "明日": -1, "tomorrow": -1, "后天": -2,
}  # fmt: skip
_WEEKS_AGO = {"上上": 2, "上": 1, "这": 0, "本": 0, "下": -1}
_MONTHS_AGO = {"上上": 2, "上": 1, "这": 0, "本": 0, "下": -1}
_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_NUMBER = r"\d{1,2}|[一二两三四五六七八九十]{1,3}"
_N_DAYS_AGO = re.compile(rf"^({_NUMBER})(?:天|日)(?:以)?前$")
_WEEKDAY = re.compile(r"^(上上|上|这|本|下)(?:个)?(?:周|星期|礼拜)([一二三四五六日天1-7])$")
_MONTH_DAY = re.compile(rf"^(上上|上|这|本|下)(?:个)?月(?:的)?(?:({_NUMBER})(?:日|号))?$")


def _figure(text: str) -> int | None:
    """A small number as written: "20", "二十", "十五", "三十一"."""
    if text.isdigit():
        return int(text)
    return cn_count(text) if text and set(text) <= set(_CN_DIGITS) | set("十") else None


def _relative_day(text: str, today: dt.date) -> str | None:
    """A day said relative to ``today``, written as a date ("上周三" → "2026年12月2日"); a month
    said so ("上个月") as a month; None when ``text`` says none (or names no real day)."""
    if (days := _DAYS_AGO.get(text.casefold())) is not None:
        day = today - dt.timedelta(days=days)
    elif m := _N_DAYS_AGO.match(text):
        figure = _figure(m[1])
        if figure is None:
            return None
        day = today - dt.timedelta(days=figure)
    elif m := _WEEKDAY.match(text):
        # Weeks run Monday to Sunday (周日 is the last day of its week).
        weekday = "一二三四五六".find(m[2]) + 1 or (int(m[2]) if m[2].isdigit() else 7)
        monday = today - dt.timedelta(days=today.weekday() + 7 * _WEEKS_AGO[m[1]])
        day = monday + dt.timedelta(days=weekday - 1)
    elif m := _MONTH_DAY.match(text):
        months = today.year * 12 + today.month - 1 - _MONTHS_AGO[m[1]]
        year, month = divmod(months, 12)
        if not m[2]:
            return f"{year}年{month + 1}月"
        figure = _figure(m[2])
        try:
            day = dt.date(year, month + 1, figure or 0)
        except ValueError:  # "上个月31号" in a month of 30 days: no such day
            return None
    else:
        return None
    return f"{day.year}年{day.month}月{day.day}日"


def _full_year(text: str, today: dt.date | None) -> str:
    """A two-digit year written out: "25年12月1日" is "2025年12月1日", this century's, unless that
    puts it more than a year past ``today`` ("98年5月1日" is 1998's)."""
    m = _SHORT_YEAR.match(text)
    if m is None:
        return text
    year = 2000 + int(m[1])
    if today is not None and year > today.year + 1:
        year -= 100
    return f"{year}{text[m.end() :]}"


_CN_YEAR = re.compile(r"([〇零一二三四五六七八九]{4})(?=\s*年)")
_YEAR_DIGITS = str.maketrans("〇零一二三四五六七八九", "00123456789")  # a year is said digit by digit
_CN_MONTH = re.compile(r"(?<![一二两三四五六七八九十\d])([一二两三四五六七八九十]{1,2})(?=\s*月)")
_CN_DAY = re.compile(r"(?<=月)(\s*)([一二两三四五六七八九十]{1,3})(?=\s*[日号])")


def _cn_numerals(text: str) -> str:
    """A date's year, month and day written in Chinese numerals, in digits: "二〇二五年五月一号"
    is "2025年5月1号"."""
    text = _CN_YEAR.sub(lambda m: m[1].translate(_YEAR_DIGITS), text)
    text = _CN_MONTH.sub(lambda m: str(_figure(m[1]) or m[1]), text)
    return _CN_DAY.sub(lambda m: m[1] + str(_figure(m[2]) or m[2]), text)


def date_words(text: str, today: dt.date | None = None) -> str:
    """``text`` without the words said around a date, with 去年/前年/今年 written as the year and a
    day said relative to today ("昨天", "上周三", "上个月20号") written as that day (relative to
    ``today``; without it they are left as typed)."""
    text = _cn_numerals(unicodedata.normalize("NFKC", text).strip())
    if today is not None and (day := _relative_day(text, today)):  # "当天" is no tail here
        return day
    before = None
    while before != text:
        before = text
        text = _DATE_TAIL.sub("", _DATE_LEAD.sub("", text)).strip()
    text = _full_year(text, today)
    if today is None:
        return text
    m = _RELATIVE.match(text)
    if m:
        text = f"{today.year - _RELATIVE_YEAR[m[1]]}年" + text[m.end() :].lstrip("的")
    return _relative_day(text, today) or text


# Hedging around a figure ("大概1.2万吧", "差不多1500个左右", "有3000多人了"): it says nothing of it.
_FIGURE_LEAD = re.compile(
    r"^(?:大概|大约是?|差不多|将近|接近|目前|现在|已经|有|发了|发过|一共|总共)+(?=\d|约)"
)
_FIGURE_TAIL = re.compile(r"(?:左右|上下|的样子)?(?:吧|啊|呀|哦|嘛|了)*[。.!！~～]*$")
#: "四十几个", "20几个": forty-odd is at least forty, said as 40多.
_ODD = re.compile(r"(\d+0)几")


#: A count in Chinese numerals ("一百二十", "两千五百", "一万二"): begins with a digit or 十.
_CN_COUNT = re.compile(r"(?<![\d.])[零一二两三四五六七八九十][零一二两三四五六七八九十百千万]*")
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}


def cn_count(text: str) -> int | None:
    """A count in Chinese numerals; a digit after 百/千/万 with no 零 is a tenth of it, as people
    say it ("一千二" is 1200, "一万二" 12000).  None where the words make no number."""
    total = section = 0
    digit: int | None = None
    last = 0  # the unit last read: a digit after it is its tenth
    for c in text:
        if c == "零":
            digit, last = None, 0
        elif c in _CN_UNITS:
            section += (1 if digit is None else digit) * _CN_UNITS[c]
            digit, last = None, _CN_UNITS[c]
        elif c == "万":
            total, section = (section + (digit or 0)) * 10000, 0
            digit, last = None, 10000
        elif digit is not None:  # two digits in a row ("二三") make no count
            return None
        else:
            digit = _CN_DIGITS[c]
    if digit is not None:
        section += digit * last // 10 if last >= 100 else digit
    return total + section


def number_of(text: str) -> float | None:
    """A figure as written, in digits or Chinese numerals: "3.5", "三", "十五", "两百三十", "一万二"."""
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    count = cn_count(text)
    return float(count) if count is not None else None


def figure_words(text: str) -> str:
    """``text`` without the hedging words said around a figure, its Chinese numerals in digits."""
    text = _CN_COUNT.sub(lambda m: str(n) if (n := cn_count(m[0])) is not None else m[0], text)
    text = _ODD.sub(r"\1多", text)
    return _FIGURE_TAIL.sub("", _FIGURE_LEAD.sub("", text))


# A modal particle after a short answer ("科普动画吧", "生命科学呗"): a tone, not part of the value.
_PARTICLE = re.compile(r"(?P<value>.*[\u4e00-\u9fffA-Za-z0-9])(?:吧|呗|啊|呀|哈|啦|哦)+[。.!！~～\s]*")
PARTICLE_MAX_CHARS = 12


def without_particle(text: str) -> str:
    """A short answer without the modal particle after it; anything else as it is."""
    stripped = text.strip()
    m = _PARTICLE.fullmatch(stripped)
    if m is None or len(stripped) > PARTICLE_MAX_CHARS or len(m["value"]) < 2:
        return text
    if not set(m["value"]) - set("吧呗啊呀哈啦哦"):  # "哈哈哈" is all tone: left as typed
        return text
    return m["value"]


#: A hedge said before a short answer ("算生态保护", "应该算是医药健康", "属于农业科技"): the
#: answer is what follows; "算法科普", "算力" are words of their own.
_HEDGE_LEAD = re.compile(
    r"^(?:应该|大概|可能|就|我觉得|我看)?(?:算是|算(?![法力术数盘命账])|属于|归为|归到)(?=\S{2})"
)


def without_hedge(text: str) -> str:
    """A short answer without "算"/"属于" said before it; anything else as it is."""
    stripped = text.strip()
    if len(stripped) > PARTICLE_MAX_CHARS:
        return text
    return _HEDGE_LEAD.sub("", stripped)


# Said around phone numbers: a label before them ("手机：", "我的电话是"); said after any value typed
# (a number, an address): thanks ("，谢谢", "麻烦了") and "（微信同号）". None of it goes on the form.
_PHONE_LEAD = re.compile(
    r"^(?:我的|我|本人)?(?:联系电话|联系方式|手机号码|手机号|手机|电话号码|电话|座机|固话)"
    r"(?:是|为)?[：:，,\s]*"
)
_THANKS_TAIL = re.compile(
    r"(?:[，,。.、；;\s!！~～]*(?:谢谢(?:您|你|啦|了)?|多谢|感谢|麻烦了|麻烦您了|辛苦了|好的|哈+"
    r"|[（(]?(?:微信同号|同微信号?|微信同|微信号同)[）)]?))+[。.!！~～\s]*$"
)


def phone_words(text: str) -> str:
    """``text`` without a label said before its phone numbers and thanks said after them."""
    bare = _THANKS_TAIL.sub("", _PHONE_LEAD.sub("", text.strip()))
    return bare.strip() or text


#: The words that say a label's value ("推荐单位是…", "自荐机构就是…"), as a colon does.
_LABEL_SAYS = r"(?:[：:]|(?:就是|也就是|是|为|叫)[：:，,\s]*)"
#: "我们公司，…", "就是我们单位，…", "我们单位是…", "我们公司的全称叫…": the unit said as one's own
#: before its name is given.
_OURS_LEAD = re.compile(
    r"^(?:就是|是)?(?:我们|咱们|我|本)(?:的)?(?:公司|单位|学校|机构|团队|协会|学会|中心)"
    r"(?:[，,、：:\s]+|(?:的)?(?:全称|全名|名称|名字)?(?:就是|是|叫|为)[：:，,\s]*)(?=\S)"
)


def without_label(text: str, label: str) -> str:
    """``text`` without the field's own ``label`` typed or said before it ("推荐理由：团队带动…" at
    推荐理由, "传播效果：…" at 传播效果（如点击量等）, "推荐单位是…", "创新点：…" at 主要创新点: the
    label's last words of two characters or more); anything else as it is."""
    bare = re.sub(r"[（(][^）)]*[）)]", "", label).strip()
    names = {label.strip(), bare, *(bare[i:] for i in range(1, len(bare) - 1))}
    # A label of two things ("播出平台及网址"): either said alone before its part ("播出平台：抖音 …").
    names |= {part for part in re.split(r"及|和|与|、", bare) if len(part) >= 2}
    # What the cell names, without the word for a name ("科普号叫…" at 科普号名称, "联系人是…").
    if len(short := _NAME_WORD.sub("", bare)) >= 2:
        names.add(short)
    for name in sorted((n for n in names if n), key=len, reverse=True):
        m = re.match(rf"\s*(?:{_OURS}(?:的)?)?{re.escape(name)}\s*{_LABEL_SAYS}\s*", text)
        if m is None:
            continue
        rest = text[m.end() :]
        if rest.strip() or m[0].rstrip()[-1:] in "：:":  # "推荐理由：" alone is an empty answer
            return rest
    return text


#: The word for a name at the end of a label (科普号名称, 联系人姓名).
_NAME_WORD = re.compile(r"(?:名称|姓名|名字)$")
#: Said before a label as one's own ("我们法人是…", "我们单位的名称是…").
_OURS = r"(?:我们|咱们|本)(?:的)?(?:公司|单位|学校|机构|团队)?"


def without_ours(text: str) -> str:
    """A unit's name without "我们公司，" said before it ("就是我们公司，福建山海农业科技有限公司")."""
    return _OURS_LEAD.sub("", text.strip()) or text


#: What a work is called said before its title ("作品叫《茶园里的科技特派员》", "片名：…", "名字叫…"):
#: with the title in marks after any of them, or after a word that only ever names (叫, 名为).
_TITLE_LEAD = re.compile(
    r"^(?:我们的|我的|这部|这个)?(?:作品|片子|视频|微视频|短视频|片名|名字|题目|标题|作品名称|作品名|名称)"
    r"(?:的名字|的名称|的题目)?(?P<says>叫做|叫|名为|就是|是|为|[：:])(?P<colon>[：:])?\s*(?=\S)"
)


def without_title_lead(text: str) -> str:
    """A title without "作品叫" said before it; "视频是怎样炼成的" (是, no marks) is left as typed."""
    m = _TITLE_LEAD.match(text.strip())
    if m is None:
        return text
    rest = text.strip()[m.end() :]
    said_plainly = m["says"] in ("是", "就是", "为") and not m["colon"]
    if said_plainly and not rest.startswith(("《", "“", '"', "「")):
        return text
    return rest


#: A person named at the end of a short sentence saying who they are ("联系人是张丽", "我们法人是王志刚",
#: "法人：陈刚", "负责联系的是刘波老师"), with the polite title said after the name left off.
_PERSON_SAID = re.compile(
    r"^(?P<lead>[^，,。；;\s]{0,10}?)(?:是|叫|为|[：:])\s*(?P<name>[\u4e00-\u9fff]{2,6})[。.!！~～]*$"
)
_TITLE_AFTER = re.compile(r"(?:老师|先生|女士|同志|同学|主任|经理|校长|院长|所长|教授|博士)$")


def person_said(text: str) -> str | None:
    """The name a short sentence gives for a person's cell, if it gives one of 2–4 characters
    ("法人是刘校长" gives none: 刘 is no name); None otherwise, the text left to be checked as typed."""
    m = _PERSON_SAID.match(text.strip())
    if m is None or (len(m["lead"]) == 1 and m["lead"] != "我"):  # "司为民生": a name with 为 in it
        return None
    name = _TITLE_AFTER.sub("", m["name"])
    return name if 2 <= len(name) <= 4 else None


#: A person introducing themselves before their name ("我叫王晓明", "本人王晓明") and saying after it,
#: past a comma, that they enter as a person ("，个人", "，个人自荐"): neither goes on the form.
_SELF_LEAD = re.compile(r"^(?:我叫|我名叫|我的名字(?:是|叫)|本人(?:叫|名叫|是)?)[：:，,\s]*(?=\S)")
_SELF_TAIL = re.compile(r"[，,、\s]+(?:是|我是)?(?:个人|本人)(?:自荐|报名|参赛|报)?[。.!！~～\s]*$")


def without_self_intro(text: str) -> str:
    """A name without "我叫" said before it and "，个人" after it; "张伟（个人）" is left as typed."""
    bare = _SELF_TAIL.sub("", _SELF_LEAD.sub("", text.strip()))
    return bare.strip() or text


# Said around an e-mail address: "邮箱：", "我的邮箱是", "E-mail:" before it, thanks after it.
_EMAIL_LEAD = re.compile(
    r"^(?:我的|我|本人)?(?:电子邮箱|电子邮件|邮箱地址|邮箱|邮件|e-?mail|mail)(?:地址)?(?:是|为)?[：:，,\s]*",
    re.IGNORECASE,
)


def email_words(text: str) -> str:
    """``text`` without a label said before its address, thanks said after it, and the spaces
    typed around its @ ("wxm @ 163.com")."""
    bare = _THANKS_TAIL.sub("", _EMAIL_LEAD.sub("", text.strip()))
    bare = re.sub(r"\s*@\s*", "@", bare.strip())
    return bare or text


def without_thanks(text: str) -> str:
    """``text`` without the thanks and the full stop typed after a value ("…147。", "…，谢谢")."""
    return _THANKS_TAIL.sub("", text).rstrip("。.，,；;！!~～ ") or text


# The hour and the weekday said after a day of broadcast ("2023-05-01 20:00", "5月1日晚上8点",
# "（周一）"): the day is the date asked for.
_CLOCK_TAIL = re.compile(
    r"(?:[\s，,]*(?:\d{1,2}[:：]\d{2}(?:[:：]\d{2})?|(?:早上|上午|中午|下午|傍晚|晚上|晚间|夜里|凌晨)"
    r"|\d{1,2}[点时](?:半|\d{1,2}分?)?|[（(]?(?:周|星期|礼拜)[一二三四五六日天1-7][）)]?))+\s*$"
)


def without_hour(text: str) -> str:
    """A date without the hour and the weekday said after it; anything else as it is."""
    return _CLOCK_TAIL.sub("", text).strip() or text


_MARKS = re.compile(r"[\s，,。.!！~～、…]")


def without_marks(text: str) -> str:
    """A short reply as read for its words alone ("对，是要填写的。" → "对是要填写的", "就我 自己。"):
    without spaces and the punctuation people put between such words."""
    return _MARKS.sub("", text)


# A role said in brackets after a name ("刘强（第一作者）", "王芳(负责人)", "李明【主创】"): the
# form's order says who signs where, and the cell prints names, not roles.
_NTH = r"[一二三四五六七八九十]{1,2}|\d{1,2}"
_ROLE = (
    rf"第(?P<nth>{_NTH})(?:作者|主创|制作人|制作单位|制作机构|完成人|署名人?)"
    r"|(?:项目|主要)?负责人|主创(?:人员)?|作者|制作人|导演|编导|编剧|摄像|摄影|剪辑|后期|配音|策划|出镜"
)
ROLE_MARK = re.compile(rf"\s*[（(【\[]\s*(?:是|为)?\s*(?:{_ROLE})\s*[）)】\]]\s*")


def role_place(mark: str) -> int | None:
    """The place a role in brackets gives its name in the signing order ("（第二作者）": 2), if any."""
    m = ROLE_MARK.fullmatch(mark)
    nth = m["nth"] if m else None
    return None if nth is None else _figure(nth)
