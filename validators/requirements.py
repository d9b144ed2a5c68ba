"""Cells that carry one of the notice's own requirements, checked against it.

* The reviewers of a self-nominated work (most-cas 附件1 三、3: "需由所在单位或两位相关领域副高级
  职称及以上人员开展审核"): a unit's name, or two people each with a title of 副高 or above.
* The cover image the notice asks for among the materials (cacsi: "视频作品成稿、封面图、简介、
  申报表" in the net-disk folder): the name of an image file.
* Who enters: a unit's cell that only a unit fills (cq's 创作单位: "创作单位为在渝企业、本科院校、
  科研院所", every 推荐单位, tech-envoy's 自荐机构: "可由单位或组织（需加盖公章）自荐") takes no
  person's name; a person who nominates themselves where the route says only the first maker may
  (hlj, most-cas: "多人参与制作的，须由第一制作人自荐") is the first of the work's 主创人员.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from contests.names import city_of, fold, is_person, is_xpcc, province_of
from contests.rules import Contest, FormField
from validators.spoken import without_marks
from validators.text import Invalid, Result, Valid, check_text, clean_text, find_urls

# Titles of 副高级 and above, as people write them after a name.  "助理研究员" (中级) contains
# "研究员" and "主治医师" is not "主任医师": the look-behinds and the full words keep them apart.
_SENIOR = re.compile(
    r"副高|正高"
    r"|(?<!助理)(?<!实习)研究员|副研究员|研究馆员"
    r"|(?<!助理)教授"
    r"|(?:正)?高级(?:工程师|实验师|讲师|教师|农艺师|畜牧师|兽医师|经济师|会计师|统计师|编辑|记者|工艺美术师)"
    r"|教授级高级工程师|(?:副)?主任(?:医师|药师|护师|技师|编辑|记者)|(?:副)?编审"
)
_SPLIT = re.compile(r"[、,，;；/\n]+")
_IMAGE = re.compile(r"\.(?:jpe?g|png|bmp|gif|webp|tiff?)$", re.IGNORECASE)
#: The file's name after the words that introduce it ("在文件夹里叫 cover.png", "文件名是：封面.jpg").
_NAMED_FILE = re.compile(
    r"(?:叫做?|名为|名叫|是|为|[:：])\s*([^\s:：“”「」\"'，,。]+\.(?:jpe?g|png|bmp|gif|webp|tiff?))$",
    re.IGNORECASE,
)
EXPERTS_NEEDED = 2


def is_senior_title(text: str) -> bool:
    """Whether ``text`` names a professional title of 副高级 or above."""
    return _SENIOR.search(text) is not None


# How an entrant says who reviewed the work, in words rather than the option's: "找了两个专家，都是
# 副教授" (experts: a title of 副高 or above, or the word 专家), "单位审的" (the unit).
_BY_EXPERTS = re.compile(r"专家|职称|副高|正高|教授|研究员|高工|高级|两位|两个人|俩人|2位|二位")
_BY_UNIT = re.compile(r"单位|学校|公司|机构|本院|本所|院里|所里|学院|医院|领导")


def review_way_meant(text: str, options: tuple[str, ...]) -> str | None:
    """The option of the review way (所在单位审核 / 两位副高级职称及以上专家审核) that ``text`` says
    in its own words, when it says one of the two and not both; else None."""
    experts = bool(_BY_EXPERTS.search(text)) or is_senior_title(text)
    unit = bool(_BY_UNIT.search(text))
    if experts == unit:
        return None
    word = "专家" if experts else "单位"
    meant = [o for o in options if word in o]
    return meant[0] if len(meant) == 1 else None


def check_reviewers(raw: str, *, experts: bool) -> Result:
    """The unit that reviewed the work (``experts`` False), or the two experts, each written
    with their title ("张三 研究员、李四 副教授")."""
    text = clean_text(raw)
    if not text:
        return Invalid("empty")
    if find_urls(text):
        return Invalid("name_is_url", {})
    if not experts:
        return check_text(text, min_chars=2, max_chars=60)
    people = [p.strip() for p in _SPLIT.split(text) if p.strip()]
    if len(people) < EXPERTS_NEEDED:
        return Invalid("reviewers_count", {"count": len(people), "need": EXPERTS_NEEDED})
    junior = [p for p in people if not is_senior_title(p)]
    if junior:
        return Invalid("reviewer_title", {"who": junior[0]})
    names = [_SENIOR.sub("", p).strip(" ：:（）()") for p in people]
    if any(not n for n in names):
        return Invalid("reviewer_name", {})
    if len(set(names)) < len(names):
        return Invalid("reviewers_same", {})
    return Valid("、".join(people))


def check_cover_name(raw: str) -> Result:
    """The cover image's file name, as it is in the materials' folder."""
    text = clean_text(raw)
    if not text:
        return Invalid("empty")
    if find_urls(text) or not _IMAGE.search(text) or "\n" in text or len(text) > 80:
        return Invalid("cover_name", {"value": text[:40]})
    # "封面图在文件夹里叫 cover.png": the file's name, not the sentence around it (trial round).
    named = _NAMED_FILE.search(text)
    return Valid(named.group(1) if named is not None else text)


#: The label of a unit's cell that a person may fill as well: 自荐机构（个人）, 单位名称（申报人）,
#: 所属单位（团队、个人）.
_PERSON_MAY_FILL = re.compile(r"个人|申报人|本人")
#: What a person says they are instead of their name ("个人", "我自己", "以个人名义").
_ONLY_PERSON = re.compile(r"(?:以)?(?:个人|本人|我|我自己|自己)(?:自荐|申报|报名|名义|身份)?(?:的)?")


def unit_needs_name(fld: FormField, raw: str) -> Invalid | None:
    """ "个人" typed in a cell a person fills with their name (自荐机构（个人）): it would be printed
    on the form as the entrant's name.  Not where the cell asks what kind of body registered
    (所属单位（团队、个人）: "如以团队或个人为主体注册")."""
    # 自荐机构（个人）, and cacsi's 单位名称（申报人） (trial 9), both a name; not a kind of body.
    named = "自荐机构" in fld.label or "申报人" in fld.label
    if fld.role != "unit" or not named or not _PERSON_MAY_FILL.search(fld.label):
        return None
    bare = without_marks(clean_text(raw))
    return Invalid("unit_needs_name", {"value": bare}) if _ONLY_PERSON.fullmatch(bare) else None


#: A short name of a unit that names its place ("新疆兵团", "北京市", "海淀区"): a 推荐单位 said so.
_PLACE_END = re.compile(r"[省市区县州盟旗镇乡村]$|兵团$")


def _names_a_place(name: str) -> bool:
    return bool(_PLACE_END.search(name) or province_of(name) or city_of(name) or is_xpcc(name))


def person_as_unit(fld: FormField, raw: str, contest: Contest, *, confirmed: bool = False) -> Invalid | None:
    """A person's name (:func:`contests.names.is_person`) typed in a unit's cell that only a unit
    or an organisation fills, refused with the rule of the route that says so; None otherwise.
    A short name of a unit reads as a person's too ("华为"): ``confirmed`` (typed after "答：")
    takes it, unless it says itself that it is a person's ("王小二（个人）")."""
    if fld.role != "unit" or _PERSON_MAY_FILL.search(fld.label):
        return None
    name = clean_text(raw)
    says_person = "个人" in name
    if not is_person(name) or (confirmed and not says_person) or (not says_person and _names_a_place(name)):
        return None
    routes = [c for c in contest.channels if any(fld in contest.form(f).fields for f in c.forms.values())]
    # A 自荐 route's description says who may nominate themselves ("可由单位或组织（需加盖公章）自荐
    # 1部作品"); else the route's sentence that names the cell ("创作单位（在渝企业、本科院校、科研
    # 院所），以创作单位的名义参加").  A 推荐单位's route has none to quote.
    own = [route.description for route in routes if route.kind == "self" and route.description]
    texts = own or [t for route in routes for t in (route.submitter, route.description) if fld.label in t]
    params = {"value": name[:30], "rule": texts[0] if texts else "", "sure": says_person, "self": bool(own)}
    return Invalid("unit_is_person", params)


#: A 自荐 route's rule that a person nominating themselves made the work first (hlj: "只能由第一
#: 制作人自荐", most-cas: "须由第一制作人自荐").
_FIRST_MAKER = re.compile(r"第一制作人|第一作者")
_ASIDE = re.compile(r"[（(][^）)]*[）)]|个人")


def _bare_name(text: str) -> str:
    """A person's name without what is said around it: "李小龙（个人）" and "李小龙 研究员" are 李小龙."""
    words = _ASIDE.sub(" ", text).strip(" ：:，,").split()
    return words[0] if words else ""


def self_not_first_maker(
    contest: Contest, channel_id: str | None, form_id: str | None, answers: Mapping[str, Any]
) -> Invalid | None:
    """A person nominating themselves (:meth:`Contest.by_individual`) who is not the first of the
    work's 主创人员, where the route says only the first maker may; None until both are answered."""
    if not contest.by_individual(channel_id, form_id, dict(answers)):
        return None
    route, form = contest.channel(channel_id or ""), contest.form(form_id or "")
    if not _FIRST_MAKER.search(route.submitter):
        return None
    unit = next(f for f in form.fields if f.role == "unit")
    authors = next((f for f in form.fields if f.role == "authors"), None)
    people = answers.get(authors.id) if authors is not None else None
    if authors is None or not isinstance(people, list) or not people:
        return None
    who = _bare_name(str(answers[unit.id]))
    names = [fold(_bare_name(str(p))) for p in people]
    if not who or names[0] == fold(who):
        return None
    position = names.index(fold(who)) + 1 if fold(who) in names else 0
    # The route's clause about persons (most-cas: "自荐个人须为原创作者或原创制作人（多人参与制作的，
    # 须由第一制作人自荐）", not the one about 机构 before it).
    clauses = [c for c in re.split(r"[；;]", route.submitter) if "个人" in c and _FIRST_MAKER.search(c)]
    params = {
        "who": who,
        "first": str(people[0]),
        "position": position,
        "rule": (clauses or [route.submitter])[0],
    }
    params |= {"unit": unit.label, "authors": authors.label}
    return Invalid("self_not_first_maker", params)
