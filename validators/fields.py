"""Checks one answer against the form field it fills: dispatches on :class:`contests.rules.FieldType`."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from contests.rules import Contest, FieldType, FormField
from validators.link_fields import check_link_field, platform_named
from validators.questions import contest_question
from validators.requirements import check_cover_name, person_as_unit, unit_needs_name
from validators.spoken import (
    email_words,
    person_said,
    phone_words,
    without_hedge,
    without_label,
    without_marks,
    without_ours,
    without_particle,
    without_self_intro,
    without_title_lead,
)
from validators.text import (
    Invalid,
    Result,
    Valid,
    check_choice,
    check_contains_url,
    check_date,
    check_email,
    check_integer,
    check_people,
    check_phone,
    check_text,
    check_uscc,
    find_urls,
)

_AGREE = {"同意", "我同意", "确认", "是", "yes", "y", "agree", "1"}
# 要得/要得嘛/得行 are Chongqing's 好的 ("要得，同意").
_AROUND_AGREEING = re.compile(r"^(?:好的|好|嗯|行|可以|没问题|ok|要得|得行)+|(?:了|的|啊|吧|哈|嘛|噻)+$")
# "嗯嗯 没问题", "没问题", "可以的": agreeing without the word 同意 ("好的吧" is not: it says little).
_AFFIRMING = re.compile(
    r"(?:嗯+|哦+|好的?|行|ok|okay|对)*(?:没问题|没有问题|可以的?|是的|当然|接受|认可|没意见|没有意见|要得|得行)"
    r"(?:的|了|啊|哈|嘛|噻)*"
)
# The label of a cell that holds a person's or a unit's name (not the work's: 微视频名称).
_NAME_LABEL = re.compile(r"姓名|单位|机构|联系人|代表人|负责人|主创|作者|申报人|个人|团队")
#: A phone number or an e-mail address alone, and the cells that may hold one.
_BARE_CONTACT = re.compile(
    r"(?:\+?86[-\s]?)?1[3-9]\d{9}|0\d{2,3}[-\s]?\d{7,8}|[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.ASCII
)
# 联系地址 and 联系人姓名 hold no phone number: only a cell named for one may take it.
_CONTACT_LABEL = re.compile(r"电话|手机|邮箱|邮件|联系方式|email|e-mail|微信|QQ", re.IGNORECASE)
#: A cell for one person's name (法定代表人, 负责人姓名, 联系人) …
_PERSON_LABEL = re.compile(r"姓名|代表人|负责人|联系人")
#: A Chinese name of 2–4 characters typed with spaces in it ("杨 凌", "欧阳 娜娜").
_SPACED_NAME = re.compile(r"(?=(?:\s*[\u4e00-\u9fff]){2,4}$)[\u4e00-\u9fff]+(?:\s+[\u4e00-\u9fff]+)+")
#: … typed as a sentence saying who it is ("法人是刘校长，刘大成", "我们的负责人是王老师").
_TELLS_WHO = re.compile(
    r"^(?:我|我们|咱|俺|本|单位|公司|学校|法人|法定代表|负责人|联系人|校长|院长|所长|经理|老板)[^，,。]{0,8}"
    r"(?:是|叫|为)[^，,。]{1,12}(?:[，,。]|$)"
)
#: Saying who one is, then more after a comma: no name or unit can be printed from it as typed.
_SAYS_WHO_THEN_MORE = re.compile(r"^(?:我|我们)(?:是|叫)[^，,。]+[，,。]\s*\S")
#: The most characters of a title (作品名称, 科普号名称) where the form sets none: the notices set
#: none and the cell is one line of a one-page form.  Every preset's form stays one page with a
#: title of 50 characters beside its longest answers (most-cas's 自荐表 runs to two at 80).
TITLE_MAX_CHARS = 50
#: The marks a title is typed inside ("《追光的人》"): the form and the messages add their own.
_TITLE_MARKS = (("《", "》"), ("“", "”"), ('"', '"'))
#: A reply that leaves the cell to someone else ("随便", "都行", "不知道", "你看着填吧"): it is no
#: category, title or name, and the form would print it.
_NO_REAL_ANSWER = re.compile(
    r"(?:嗯|呃|额|哦)?(?:随便|随意|都行|都可以|啥都行|什么都行|无所谓|不知道|不清楚|不晓得|没想好|还没想好|待定"
    r"|你定|你们定|你看着办|你看着填|你帮我填|看着填|看着办)(?:填|写|吧|啊|呀|哈|了|就行|都行)*"
)
_COMMAND_WORDS = re.compile(r"确认提交|确定提交|提交报名|确认无误")
#: Agreeing and nothing else ("同意", "好的", "没问题"): the pledge's answer typed a step early, no name.
_AGREEING_ALONE = re.compile(
    r"(?:嗯+|哦+)?(?:我?同意|好的?|确认|确定|可以|没问题|是的|对的?|ok|okay|行)(?:的|了|啊|哈|嘛|吧)*",
    re.IGNORECASE,
)
_BARE_ADDRESS = re.compile(r"(?:^|[\s:：])(?:www\.|[\w-]+\.(?:com|cn|net|org|tv)(?:/|$))", re.IGNORECASE)


# A clause about how one enters ("不走推荐", "我选的是自荐", "自己报"), with a comma between clauses:
# no unit or person is called that.
_ROUTE_SENTENCE = re.compile(
    r"[，,].{0,12}(?:推荐|自荐|报名|社会征集)|(?:推荐|自荐|报名)[^，,]{0,6}[，,]|(?:不走|不是|选的是|我要|我想)(?:推荐|自荐)"
)


def _choice_like(fld: FormField) -> bool:
    """A one-line cell answered with a word or two, like a choice (类别), not a name, a title,
    an address or prose: a modal particle after its answer is not part of it."""
    if fld.multiline or fld.must_contain_url or fld.role is not None or is_name_field(fld):
        return False
    return "地址" not in fld.label


def max_chars_of(fld: FormField) -> int | None:
    """The most characters ``fld`` takes: the form's limit, else a title's :data:`TITLE_MAX_CHARS`."""
    return fld.max_chars or (TITLE_MAX_CHARS if fld.role == "title" else None)


def unquoted_title(raw: str) -> str:
    """A title without one pair of marks around it: "《追光的人》" is 追光的人, "《光》与《影》" stays."""
    text = raw.strip()
    for start, end in _TITLE_MARKS:
        inner = text[len(start) : -len(end)]
        if len(text) > 2 and text.startswith(start) and text.endswith(end) and not {start, end} & set(inner):
            return inner.strip()
    return raw


def is_name_field(fld: FormField) -> bool:
    """Whether ``fld`` holds names of people or units (authors, unit, contact person…)."""
    if fld.type is FieldType.PEOPLE or fld.role in ("unit", "authors"):
        return True
    return fld.type is FieldType.TEXT and fld.role is None and bool(_NAME_LABEL.search(fld.label))


#: Authors said as oneself instead of named ("我一个人做的", "就我自己", "本人").
_ONESELF = re.compile(
    r"(?:就|只有|都是|全是)?(?:我|我自己|本人|自己)(?:自己)?(?:一个人?|一人|独立)?"
    r"(?:做的|拍的|制作的|完成的|剪的|创作的)?(?:啊|呀|哦|吧)?"
)


def _misplaced(fld: FormField, raw: str, confirmed: bool) -> Invalid | None:
    """What cannot be this field's answer whatever its form: a link or a number as a name, a question
    about the contest as a title (unless the entrant confirmed it is the title)."""
    if is_name_field(fld) and (find_urls(raw) or _BARE_ADDRESS.search(raw)):
        return Invalid("name_is_url", {})
    if fld.role == "authors" and _ONESELF.fullmatch(without_marks(raw)):
        return Invalid("authors_need_names", {"value": raw.strip()[:20]})
    if is_name_field(fld) and _ROUTE_SENTENCE.search(raw):
        # "自己单位报，不走推荐": a sentence about the way in, typed where a unit's name is asked.
        return Invalid("name_is_sentence", {"value": raw.strip()[:30]})
    if is_name_field(fld) and _SAYS_WHO_THEN_MORE.match(raw.strip()):
        # "我是杭州市青少年科技中心的周老师，周晓燕" at 单位名称（申报人） (trial 9): who is asked for?
        return Invalid("name_said_in_sentence", {"value": raw.strip()[:30]})
    if _PERSON_LABEL.search(fld.label) and _TELLS_WHO.search(raw):
        # "法人是刘校长，刘大成": the name is in there, but the cell prints what is typed.
        return Invalid("name_in_sentence", {"value": raw.strip()[:30]})
    if is_name_field(fld) and _AGREEING_ALONE.fullmatch(without_marks(raw.strip())):
        # "同意" at 法定代表人 (trial 7): the pledge's word typed one step early, printed as the name.
        return Invalid("agreement_as_name", {"value": raw.strip()[:20]})
    if is_name_field(fld) and raw.strip() and not any(ch.isalpha() for ch in raw):
        # Digits and signs only: a phone number or a date typed one step too early or late.
        return Invalid("name_is_number", {"value": raw.strip()})
    if (
        fld.type is FieldType.TEXT
        and not _CONTACT_LABEL.search(fld.label)
        and _BARE_CONTACT.fullmatch(phone_words(email_words(raw)).strip())
    ):
        # "13611112222" as 职务, "wxm@example.com" as 职称 (fourth trial round), "我的电话是138…，
        # 谢谢" as 联系地址 (sixth): typed one cell off, with or without the words said around it.
        return Invalid("contact_as_text", {"value": raw.strip()[:40]})
    bare = unicodedata.normalize("NFKC", raw).strip()
    if fld.role != "title" and bare.isdigit() and len(bare) <= 2:
        # "1" for 类别: an option's number, where the field has no options to number.
        return Invalid("number_not_option", {"value": bare})
    if not confirmed and _NO_REAL_ANSWER.fullmatch(without_marks(bare)):
        # "随便" for 类别 (fifth and sixth trial rounds): what the cell takes is in its hint.
        return Invalid("no_real_answer", {"value": raw.strip()[:20], "hint": fld.hint.rstrip("。")})
    if _COMMAND_WORDS.fullmatch(bare.strip(" 。.!！")):
        # The review page's word typed while a field is still asked (a clarification missed).
        return Invalid("command_as_answer", {"value": raw.strip()})
    if fld.role == "title" and not confirmed and contest_question(raw):
        return Invalid("title_is_question", {})
    return None


def check_answer(
    fld: FormField, raw: str, contest: Contest, *, confirmed: bool = False, today: dt.date | None = None
) -> Result:
    """Check ``raw`` for ``fld``; the value in :class:`Valid` is what the form will print.
    ``confirmed``: the entrant said this is the answer, though it reads as a question;
    ``today``: the day a date said as "去年10月15号" counts from."""
    required = fld.required
    raw = without_label(raw, fld.label)
    if fld.type is FieldType.TEXT and is_name_field(fld):
        raw = without_ours(raw)  # "就是我们公司，福建山海…": the unit's name is what follows
    if fld.type is FieldType.TEXT and fld.role == "unit":
        raw = without_self_intro(raw)  # "我叫王晓明，个人" at 自荐机构（个人）: the name is 王晓明
    if fld.type is FieldType.TEXT and _PERSON_LABEL.search(fld.label):
        raw = person_said(raw) or raw  # "联系人是张丽", "负责联系的是刘波老师": the name is 张丽, 刘波
    misplaced = _misplaced(fld, raw, confirmed) if fld.type in (FieldType.TEXT, FieldType.PEOPLE) else None
    if misplaced is not None:
        return misplaced
    if fld.role == "cover":
        return check_cover_name(raw)
    if fld.type is FieldType.TEXT and (refused := person_as_unit(fld, raw, contest, confirmed=confirmed)):
        return refused
    if fld.type is FieldType.TEXT and (refused := unit_needs_name(fld, raw)):
        return refused
    match fld.type:
        case FieldType.TEXT:
            if fld.must_contain_url:
                checked = check_contains_url(raw, max_chars=fld.max_chars)
                return Valid(platform_named(checked.value)) if isinstance(checked, Valid) else checked
            if _choice_like(fld) and not confirmed and isinstance(check_date(raw, today=today), Valid):
                # "去年10月15号" at 类别 (trial round): the 播出时间 typed a step early; no
                # category, 职务 or 职称 is a date.
                return Invalid("date_as_text", {"value": raw.strip()[:30]})
            if _choice_like(fld):  # "科普动画吧" for 类别: the particle is a tone, not the category
                raw = without_hedge(without_particle(raw))
            if fld.role == "title":
                raw = unquoted_title(without_title_lead(raw))  # "作品叫《…》": the title
            if _PERSON_LABEL.search(fld.label) and _SPACED_NAME.fullmatch(raw.strip()):
                raw = re.sub(r"\s+", "", raw)  # "杨 凌": a name typed with a space in it
            most = max_chars_of(fld)
            checked = check_text(
                raw, min_chars=fld.min_chars, max_chars=most, multiline=fld.multiline, required=required
            )
            if isinstance(checked, Invalid) and checked.code == "too_long" and fld.max_chars is None:
                return Invalid("too_long", {**checked.params, "ours": True})  # not the notice's limit
            return checked
        case FieldType.CHOICE:
            return check_choice(raw, fld.options, allow_other=fld.allow_other)
        case FieldType.PHONE:
            return check_phone(raw, required=required)
        case FieldType.EMAIL:
            return check_email(raw, required=required)
        case FieldType.USCC:
            return check_uscc(raw, required=required)
        case FieldType.URL:
            return check_link_field(raw, required=required, share_only="网盘" in fld.label)
        case FieldType.DATE:
            window = contest.window(fld.window) if fld.window else None
            return check_date(
                raw,
                start=window.start if window else None,
                end=window.end if window else None,
                required=required,
                today=today,
            )
        case FieldType.INTEGER:
            return check_integer(raw, min_value=fld.min_value, max_value=fld.max_value, required=required)
        case FieldType.PEOPLE:
            return check_people(raw, max_chars=fld.max_chars)
        case FieldType.PLEDGE:
            # "同意。" and "同意！" agree too; a question ("同意？") does not.  NFKC folds
            # full-width "ｙｅｓ" and "！".
            answer = unicodedata.normalize("NFKC", raw).strip().rstrip("。.! ").casefold()
            # "好的同意", "嗯，我同意了": the agreement with the words people put around it.
            bare = re.sub(r"[，,、\s]+", "", answer)
            answer = _AROUND_AGREEING.sub("", bare) or answer
            if check_text(raw).ok and (answer in _AGREE or _AFFIRMING.fullmatch(bare)):
                return Valid("同意")
            return Invalid("pledge_required", {})
    return Invalid("unsupported", {"type": str(fld.type)})  # pragma: no cover - exhaustive match
