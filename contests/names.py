"""Names as people write them: the one place where a typed or imported name is compared.

Organisers write a district's office as 科学技术局, 科技局 or 科委, a province's as 科学技术厅 or
科技厅, an association by its full or short name (中国科学技术协会 / 中国科协); entrants type
part of a contest's title or a place's short name.  Everything here is pure and knows no
contest: the callers pass the names to choose among.

* :func:`fold` — the comparison form every caller shares (NFKC, no spaces, case-folded);
* :func:`expand` — short forms spelled out, so two names of one unit compare equal;
* :func:`match_place` / :func:`place_of_unit` — the place (区县, 省) a name stands for;
* :func:`province_of`, :func:`city_of`, :func:`is_xpcc` — the country's own divisions;
* :func:`find_all` — every name a typed fragment could mean, for a choice rather than a guess;
* :func:`closest` — the listed names a name that maps to none was probably meant as (one
  character different, or the same sound), offered to be confirmed, never taken silently.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable

__all__ = [
    "PROVINCES",
    "SUB_PROVINCIAL_CITIES",
    "XPCC",
    "city_of",
    "closest",
    "county_base",
    "expand",
    "find_all",
    "fold",
    "is_person",
    "is_xpcc",
    "match_place",
    "name_keys",
    "office_core",
    "place_of_unit",
    "province_of",
    "same_name",
    "split_province",
]

# The 34 provincial-level divisions, as unit names begin with them.
PROVINCES: tuple[str, ...] = (
    *("北京市", "天津市", "上海市", "重庆市", "河北省", "山西省", "辽宁省", "吉林省", "黑龙江省", "江苏省"),
    *("浙江省", "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省", "湖南省", "广东省", "海南省"),
    *("四川省", "贵州省", "云南省", "陕西省", "甘肃省", "青海省", "台湾省", "内蒙古自治区", "广西壮族自治区"),
    *("西藏自治区", "宁夏回族自治区", "新疆维吾尔自治区", "香港特别行政区", "澳门特别行政区"),
)
XPCC = "新疆生产建设兵团"
# 副省级城市 (15; the five 计划单列市 大连、青岛、宁波、厦门、深圳 are among them) and their provinces.
SUB_PROVINCIAL_CITIES: dict[str, str] = {
    "哈尔滨市": "黑龙江省", "长春市": "吉林省", "沈阳市": "辽宁省", "大连市": "辽宁省",
    "济南市": "山东省", "青岛市": "山东省", "南京市": "江苏省", "杭州市": "浙江省",
    "宁波市": "浙江省", "厦门市": "福建省", "广州市": "广东省", "深圳市": "广东省",
    "武汉市": "湖北省", "成都市": "四川省", "西安市": "陕西省",
}  # fmt: skip

# Short forms people write, spelled out: longest first, so 科技厅 is not read as 科技 + 厅.
_SHORT_FORMS: tuple[tuple[str, str], ...] = (
    ("科学技术委员会", "科学技术委员会"),
    ("科技委员会", "科学技术委员会"),
    ("科委", "科学技术委员会"),
    ("科技厅", "科学技术厅"),
    ("科技局", "科学技术局"),
    ("科协", "科学技术协会"),
    ("中科院", "中国科学院"),
    ("社科院", "社会科学院"),
    ("科技教育工作者协会", "科技教育工作者协会"),
    ("科技教育协会", "科技教育工作者协会"),
    ("科技辅导员协会", "科技辅导员协会"),
)
_SHORT_RE = re.compile("|".join(re.escape(s) for s, _ in _SHORT_FORMS))
_SPELLED = dict(_SHORT_FORMS)
# What follows a place's name in the name of its office or association: not part of the place.
_OFFICE = re.compile(
    r"(?:科学技术|科技创新|科技)(?:局|厅|委员会|委|管理部门|主管部门|部门|行政主管部门)$"
    r"|科学技术协会$|科协$|科委$|科技局$|科技厅$"
)
# A leading province or city ("重庆市渝中区"): not part of a unit's short name.
_PLACE_PREFIX = re.compile(r"^\w{2,3}?[省市](?=\w{2})")
_PROVINCE_END = re.compile(r"(?:省|市|(?:壮族|回族|维吾尔)?自治区|特别行政区)$")
# What a province is called at the start of a unit's name: 北京市, 北京, 广西壮族自治区, 广西.
# The 兵团 counts as a province here (its full name only: "新疆" alone is the 自治区).
_PROVINCE_PREFIX = {
    XPCC: XPCC,
    **{short: full for full in PROVINCES for short in {full, _PROVINCE_END.sub("", full)}},
}
_CITY_PREFIX = {short: full for full in SUB_PROVINCIAL_CITIES for short in {full, full.removesuffix("市")}}
# The place names above are CJK, already in folded form; the longest is the 兵团's 8 characters.
_LONGEST = max(len(k) for k in (*_PROVINCE_PREFIX, *_CITY_PREFIX))
_XPCC_NAMES = ("新疆生产建设兵团", "新疆兵团", "兵团")
# The 55 nationalities an autonomous county's full name may list (石柱土家族自治县): the county is
# usually called by its place alone, 石柱县 or 石柱自治县.
_NATIONALITIES = (
    *("蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶", "白", "土家"),
    *("哈尼", "哈萨克", "傣", "黎", "傈僳", "佤", "畲", "高山", "拉祜", "水", "东乡", "纳西", "景颇"),
    *("柯尔克孜", "土", "达斡尔", "仫佬", "羌", "布朗", "撒拉", "毛南", "仡佬", "锡伯", "阿昌", "普米"),
    *("塔吉克", "怒", "乌孜别克", "俄罗斯", "鄂温克", "德昂", "保安", "裕固", "京", "塔塔尔", "独龙"),
    *("鄂伦春", "赫哲", "门巴", "珞巴", "基诺"),
)
_AUTONOMOUS_COUNTY = re.compile(
    "(?:"
    + "|".join(sorted(_NATIONALITIES, key=len, reverse=True))
    + ")族(?:(?:和|、)?(?:"
    + "|".join(sorted(_NATIONALITIES, key=len, reverse=True))
    + ")族)*自治县$"
)


def fold(name: str) -> str:
    """The comparison form of a name: NFKC, no whitespace, case-folded.

    Full-width and half-width forms, stray spaces (also U+3000) and Latin case do not make
    two names different; everything else does."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name)).casefold()


def expand(name: str) -> str:
    """``name`` folded, with its short forms spelled out: 河北省科技厅 and 河北省科学技术厅,
    中国科协 and 中国科学技术协会 give the same string."""
    return _SHORT_RE.sub(lambda m: _SPELLED[m.group(0)], fold(name))


def office_core(name: str) -> str:
    """``name`` folded, without the office or association that follows its place:
    重庆市江北区科学技术局 → 重庆市江北区, 河北省科技厅 → 河北省."""
    folded = fold(name)
    core = _OFFICE.sub("", folded)
    return core or folded


def county_base(name: str) -> str:
    """A county's own place name, without 县, 自治县 and the nationalities before it: 石柱土家族
    自治县, 石柱自治县 and 石柱县 give 石柱; "" for a name that is no county's (or a one-character
    one such as 忠县, which no short form shortens)."""
    folded = fold(name)
    found = _AUTONOMOUS_COUNTY.search(folded)
    if found:
        base = folded[: found.start()]
    elif folded.endswith("自治县"):
        base = folded[:-3]
    elif folded.endswith("县"):
        base = folded[:-1]
    else:
        return ""
    return base if len(base) >= 2 else ""


def _county_of(candidate: str, keyed: list[tuple[str, str]]) -> str | None:
    """The one autonomous county of ``keyed`` that ``candidate`` (folded) names by its short
    name: 石柱县, 石柱自治县, or the full name with its nationalities in another order."""
    base = county_base(candidate)
    if not base:
        return None
    found = {n for k, n in keyed if k.endswith("自治县") and county_base(k) == base}
    return found.pop() if len(found) == 1 else None


def match_place(text: str, names: Iterable[str]) -> str | None:
    """The one of ``names`` (place or unit names) that ``text`` means, else None.

    Accepts the name itself, a short form ("渝中" for 渝中区, "两江" for 两江新区, "高新区" for
    西部科学城重庆高新区, "石柱县" or "石柱自治县" for 石柱土家族自治县), and a longer name that
    starts with it ("重庆市渝中区科学技术局").  A short form that fits several names ("新区")
    matches none.
    """
    options = list(names)
    keyed = [(fold(n), n) for n in options]
    key = fold(text)
    if not key:
        return None
    for candidate in (key, _PLACE_PREFIX.sub("", key, count=1)):
        exact = [n for k, n in keyed if k == candidate]
        if exact:
            return exact[0]
        longer = [(len(k), n) for k, n in keyed if candidate.startswith(k)]
        if longer:
            return max(longer)[1]
        county = _county_of(candidate, keyed)
        if county:
            return county
        short = {
            n
            for k, n in keyed
            if (len(candidate) >= 2 and k.startswith(candidate)) or (len(candidate) >= 3 and candidate in k)
        }
        if len(short) == 1:
            return short.pop()
        if short:
            return None
    return None


def place_of_unit(name: str, places: Iterable[str]) -> str | None:
    """The one of ``places`` that a unit's ``name`` stands for, whatever office follows it:
    "江北区科技局", "江北科委" and "重庆市江北区科学技术局" all stand for 江北区."""
    options = list(places)
    return match_place(name, options) or match_place(office_core(name), options)


def _longest_prefix(text: str, table: dict[str, str]) -> str:
    """The longest key of ``table`` (names in folded form) that ``text`` (folded) begins with."""
    for length in range(min(len(text), _LONGEST), 1, -1):
        if text[:length] in table:
            return text[:length]
    return ""


def _prefixed(name: str, table: dict[str, str]) -> str:
    best = _longest_prefix(fold(name), table)
    return table[best] if best else ""


def province_of(name: str) -> str:
    """The province a unit's name begins with (黑龙江省科学技术馆 → 黑龙江省, 广西科技厅 →
    广西壮族自治区, 新疆生产建设兵团科技局 → the 兵团), or ""."""
    return _prefixed(name, _PROVINCE_PREFIX)


def split_province(name: str) -> tuple[str, str]:
    """(the province a name begins with, the rest of the folded name): 广西科技厅 →
    (广西壮族自治区, 科技厅); ("", the folded name) when it begins with none."""
    text = fold(name)
    best = _longest_prefix(text, _PROVINCE_PREFIX)
    return (_PROVINCE_PREFIX[best], text[len(best) :]) if best else ("", text)


def city_of(name: str) -> str:
    """The 副省级城市 a unit's name stands for (深圳市科技创新局 → 深圳市,
    广东省深圳市科技局 → 深圳市), or ""."""
    return _prefixed(split_province(name)[1], _CITY_PREFIX)


def is_xpcc(name: str) -> bool:
    """Whether a unit's name is the 新疆生产建设兵团's (its 科技局, or 兵团 for short)."""
    text = fold(name)
    return any(text.startswith(n) for n in _XPCC_NAMES)


def name_keys(name: str) -> frozenset[str]:
    """The forms under which two names of one unit meet: spelled out, and (when it begins
    with a province) the province's full name with the rest spelled out."""
    province, rest = split_province(name)
    keys = {expand(name)}
    if province:
        keys.add(province + "|" + expand(rest))
    return frozenset(keys)


def same_name(a: str, b: str) -> bool:
    """Whether two names of a unit are one: equal once short forms are spelled out, also when
    one leaves out its province's 省/市 (河北科技厅 and 河北省科学技术厅)."""
    return not name_keys(a).isdisjoint(name_keys(b))


def find_all(text: str, names: Iterable[tuple[str, Iterable[str]]], *, least: int = 2) -> list[str]:
    """The keys of ``names`` (key, its names) that a typed fragment means: a name equal to it,
    else the names that contain it (at least ``least`` characters) or that it contains.
    Several keys: the caller offers a choice rather than a guess."""
    key = expand(text)
    if len(key) < least:
        return []
    listed = [(k, [expand(n) for n in ns if n]) for k, ns in names]
    exact = [k for k, ns in listed if key in ns]
    if exact:
        return list(dict.fromkeys(exact))
    found = [k for k, ns in listed if any(key in n or (len(n) >= least and n in key) for n in ns)]
    return list(dict.fromkeys(found))


@functools.cache
def _pinyin() -> Callable[[str], list[str]]:
    from pypinyin import lazy_pinyin  # imported when first needed: it loads its dictionaries

    return lazy_pinyin


def _sound(text: str) -> tuple[str, ...]:
    """How ``text`` sounds on a pinyin keyboard, loosely (zh/z, ch/c, sh/s, l/n, -ng/-n)."""
    out = []
    for syllable in _pinyin()(text):
        for a, b in (("zh", "z"), ("ch", "c"), ("sh", "s"), ("l", "n")):
            if syllable.startswith(a):
                syllable = b + syllable[len(a) :]
        out.append(syllable.removesuffix("g") if syllable.endswith("ng") else syllable)
    return tuple(out)


def _one_apart(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` differ by one character changed, added or left out."""
    if a == b or abs(len(a) - len(b)) > 1:
        return a == b
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long_ = sorted((a, b), key=len)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def _forms(name: str) -> set[str]:
    """The forms of a place's name people write: the name, without its 区/县/市 (两江新区 without
    新区, 万盛经开区 without 经开区), and an autonomous county's short name."""
    folded = fold(name)
    forms = {folded}
    if len(folded) >= 3 and folded[-1] in "区县市":
        forms.add(folded[:-1])
    stem = _ZONE_END.sub("", folded)
    if len(stem) >= 2:
        forms.add(stem)
    if base := county_base(folded):
        forms.update({base, base + "县"})
    if folded in PROVINCES and len(short := _PROVINCE_END.sub("", folded)) >= 2:
        forms.add(short)  # "我在广东": 广东省, "内蒙古的": 内蒙古自治区
    return forms


_ZONE_END = re.compile(r"(?:高新区|经开区|新区)$")


def place_named_in(text: str, names: Iterable[str]) -> str | None:
    """The one of ``names`` a sentence names by one of its forms ("万州的，我们是三峡学院" → 万州区,
    "我们单位在江北嘛，就报江北噻" → 江北区), else None (none, or several: "江北和渝北都行")."""
    said = fold(text)
    named = {n: max((f for f in _forms(n) if len(f) >= 2 and f in said), key=len, default="") for n in names}
    found = {n for n, form in named.items() if form}
    # A form inside another name's form said is that name's ("新疆生产建设兵团" says 新疆 too).
    found = {n for n in found if not any(named[n] in named[m] and named[n] != named[m] for m in found)}
    # A short form that begins another name said by neither ("新疆": 新疆维吾尔自治区 or 新疆生产建设兵团)
    # is not one of them.
    if any(m not in found and fold(m).startswith(named[n]) for n in found for m in names):
        return None
    return found.pop() if len(found) == 1 else None


def closest(name: str, names: Iterable[str], *, limit: int = 3) -> list[str]:
    """The ``names`` that ``name`` (a unit's name that maps to none of them) was probably meant
    as: the place it names, once its office and province are taken off, is one character away
    from one of them (九龙波区 → 九龙坡区) or sounds the same (酉杨县 → 酉阳…).  To be offered to
    the organiser, who confirms; never taken as the answer."""
    core = _PLACE_PREFIX.sub("", office_core(name), count=1)
    if len(core) < 2:
        return []
    typed = _forms(core)
    scored: dict[str, int] = {}
    for option in names:
        forms = _forms(option)
        near = any(_one_apart(t, f) for t in typed for f in forms if min(len(t), len(f)) >= 3)
        same_sound = any(len(t) == len(f) >= 2 and _sound(t) == _sound(f) for t in typed for f in forms)
        if near or same_sound:
            scored[option] = min(scored.get(option, 9), (0 if near and same_sound else 1 if near else 2))
    return sorted(scored, key=lambda n: scored[n])[:limit]


#: How an organisation's name ends and a person's does not: 气象台, 科协, 某某工作室, 北京大学 物理学院
#: (a 2–4 character name is read as a person's only without it; spaced words are names only so).
ORGANISATION_END = re.compile(
    r"(?:单位|公司|集团|学校|大学|学院|中学|小学|幼儿园|医院|中心|协会|学会|研究|基地|工作室|团队|小组|科协"
    r"|政府|有限|编辑部|电视台|[院所局厅委馆站台部社厂办室处队会组校])$"
)
_PERSON = re.compile(r"^[\u4e00-\u9fff]{2,4}$|^[\u4e00-\u9fff]{1,10}·[\u4e00-\u9fff]{1,10}$")


def is_person(name: str, people: Iterable[str] = ()) -> bool:
    """Whether ``name``, typed where a form asks for 自荐机构（个人）, names a person and not an
    organisation: 个人 (张伟（个人）), one of ``people`` (the work's authors), or a name of 2–4
    characters (or 买买提·艾力) with no organisation's word in it."""
    folded = fold(name)
    if not folded:
        return False
    if folded in {fold(p) for p in people if p.strip()}:
        # An author's name that merely ends like an office (王台) is the person; a unit that
        # 主创人员（或单位） lists too (深圳市青少年科技教育协会) is still the unit.
        return bool(_PERSON.match(folded)) or not ORGANISATION_END.search(folded)
    if "个人" in folded:
        return not ORGANISATION_END.search(folded.replace("个人", "").strip("（）()"))
    return bool(_PERSON.match(folded)) and not ORGANISATION_END.search(folded)
