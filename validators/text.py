"""Pure checks for the answers an entrant types.

Every check takes the raw text and returns :class:`Valid` with the normalised value or
:class:`Invalid` with an error ``code`` and ``params``; the dialog renders the code with a
zh-CN template (``dialogs/templates/zh_CN/errors.j2``), so nothing here knows a language.
"""

from __future__ import annotations

import calendar
import datetime as dt
import ipaddress
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import regex

from contests.names import ORGANISATION_END
from validators.spoken import (
    ROLE_MARK,
    date_words,
    email_words,
    figure_words,
    phone_words,
    role_place,
    without_hour,
    without_thanks,
)

# Bounded before any other work, so that a pasted novel costs the same as a sentence.
MAX_INPUT_CHARS = 4000


@dataclass(frozen=True, slots=True)
class Valid:
    value: Any
    ok: bool = True


@dataclass(frozen=True, slots=True)
class Invalid:
    code: str
    params: dict[str, Any] = field(default_factory=dict)
    ok: bool = False


Result = Valid | Invalid

# ---- characters -------------------------------------------------------------------------

_GRAPHEME = regex.compile(r"\X")
# A character that may join its neighbours into one grapheme (combining marks, ZWJ, variation
# selectors, emoji modifiers, regional indicators, Hangul jamo...).  Text without any, which is
# nearly every answer, has one grapheme per code point and is counted without the \X scan.
_JOINER = regex.compile(r"[^\p{Grapheme_Cluster_Break=Other}]")
_SPACES = re.compile(r"[ \t\u00a0\u3000\u2000-\u200a\u202f\u205f]+")
# Every kind of white space and line break, including U+2028/U+2029 pasted from Word or a PDF.
_WHITESPACE = re.compile(r"\s+")
# Direction marks and other invisible format characters a person never counts or sees.
_INVISIBLE = re.compile(
    r"[\u00ad\u061c\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)


# bench/README.md 'WeChat' session 4: ~170 µs of GIL waiting less per typed answer.
def count_chars(text: str) -> int:
    """Characters as a person counts them: one per visible character (grapheme), whatever the bytes.

    一个汉字、一个字母、一个全角标点、一个 emoji（含组合 emoji）都算 1 字；空白不计。
    """
    visible = _INVISIBLE.sub("", _WHITESPACE.sub("", text))
    # concurrent=False: by default ``regex`` lets go of the GIL while it matches, and in a server
    # with other threads (SQLite, the drawing pool's) each answer then waited for the GIL to
    # come back: ~2 µs of matching became ~250 µs of wall time and a few thread switches.
    if _JOINER.search(visible, concurrent=False) is None:
        return len(visible)
    return len(_GRAPHEME.findall(visible, concurrent=False))


def _control_chars(text: str, *, multiline: bool) -> list[str]:
    allowed = {"\n"} if multiline else set()
    return [c for c in text if unicodedata.category(c) in {"Cc", "Cs", "Co"} and c not in allowed]


def clean_text(text: str, *, multiline: bool = False) -> str:
    """NFC, unified line ends, trimmed, runs of spaces folded; single-line text loses its newlines."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    # Unicode line and paragraph separators (pasted from Word or a PDF) are line breaks too:
    # left alone they would survive in a single-line answer.
    text = text.replace("\u2028", "\n").replace("\u2029", "\n")
    if not multiline:
        text = text.replace("\n", " ")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def check_text(
    raw: str,
    *,
    min_chars: int | None = None,
    max_chars: int | None = None,
    multiline: bool = False,
    required: bool = True,
) -> Result:
    """Free text: no control characters, within the character limits of the form cell.

    A cell without ``max_chars`` still takes at most :data:`MAX_INPUT_CHARS` characters."""
    limit = MAX_INPUT_CHARS if max_chars is None else max_chars
    if len(raw) > MAX_INPUT_CHARS * 4:
        # Far longer than any cell: refuse before normalising it.  count_chars is one linear
        # pass, so the entrant is told the real count, not the count of a prefix.
        n = count_chars(raw)
        if n > limit:
            return Invalid("too_long", {"max": limit, "actual": n, "over": n - limit})
    bad = _control_chars(raw.replace("\r", "").replace("\t", " "), multiline=True)
    if bad:
        return Invalid("control_chars", {"char": f"U+{ord(bad[0]):04X}"})
    text = clean_text(raw, multiline=multiline)
    n = count_chars(text)
    if n == 0:
        return Invalid("empty") if required else Valid("")
    if n > limit:
        return Invalid("too_long", {"max": limit, "actual": n, "over": n - limit})
    if min_chars is not None and n < min_chars:
        return Invalid("too_short", {"min": min_chars, "actual": n})
    return Valid(text)


# ---- phone numbers ----------------------------------------------------------------------

_MOBILE = re.compile(r"1[3-9]\d{9}")
# Area codes are 010 and 02X (three digits) or 0[3-9]XX (four), so no digit run is ambiguous.
_LANDLINE = re.compile(
    r"(0(?:10|2\d|[3-9]\d{2}))-?(\d{7,8})(?:(?:转分机|转|分机|ext\.?|x|#|-)(\d{1,6}))?", re.IGNORECASE
)
_SERVICE = re.compile(r"([48]00)-?(\d{3})-?(\d{4})")
_PHONE_SPLIT = re.compile(r"[、,，;；/]+")
_AREA = r"0(?:10|2\d|[3-9]\d{2})"
_LOCAL = re.compile(r"\d{7,8}")  # a landline number without its area code


def _compact(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return re.sub(r"[\s()]", "", text).replace("—", "-").replace("–", "-")


def _one_phone(text: str) -> str | None:
    text = _compact(text)
    text = re.sub(r"^(?:\+86|0086)-?", "", text)
    # "023-6386-1234": a number written in two groups, not an extension.
    if m := re.fullmatch(rf"({_AREA})-(\d{{3,4}})-(\d{{4}})", text):
        text = f"{m[1]}-{m[2]}{m[3]}"
    if _MOBILE.fullmatch(text.replace("-", "")):
        return text.replace("-", "")
    if m := _LANDLINE.fullmatch(text):
        area, number, ext = m.groups()
        return f"{area}-{number}" + (f"转{ext}" if ext else "")
    if m := _SERVICE.fullmatch(text):
        return "-".join(m.groups())
    return None


def _phone_words(piece: str) -> list[str]:
    """The numbers in one piece: "138 0013 8000" and "5192 0576" are one, "0451-51920576 51872266"
    is two, and in "0451 51920576 51872266" the lone area code belongs to the word after it."""
    if not piece:
        return []
    if _one_phone(piece) is not None or _LOCAL.fullmatch(_compact(piece).replace("-", "")):
        return [piece]
    words: list[str] = []
    for word in piece.split():
        if words and re.fullmatch(_AREA, _compact(words[-1])):
            words[-1] += "-" + word
        else:
            words.append(word)
    return words


def check_phone(raw: str, *, required: bool = True) -> Result:
    """One or more phone numbers: mobile (1xxxxxxxxxx, optional +86), landline with area code
    and optional extension (010-58882950转8008), 400/800 numbers.  Returns them normalised,
    joined by "、"."""
    text = phone_words(clean_text(raw))
    if not text:
        return Invalid("empty") if required else Valid("")
    if _EMAIL.search(unicodedata.normalize("NFKC", text)):
        return Invalid("phone_is_email", {"value": text[:40]})
    if len(text) > 80:
        return Invalid("bad_phone", {"value": text[:20] + "…"})
    found: list[str] = []
    for piece in _PHONE_SPLIT.split(text):
        for sub in _phone_words(piece.strip()):
            number = _one_phone(sub)
            if number is None:
                local = _compact(sub).replace("-", "")
                if found and re.fullmatch(r"[\u4e00-\u9fff，,。.\s]+", sub):  # "…，晚上打": a remark
                    return Invalid("phone_remark", {"value": sub[:30], "number": found[-1]})
                if not _LOCAL.fullmatch(local):
                    return Invalid("bad_phone", {"value": sub[:30]})
                # The notices' own habit: a second local number shares the area code of the
                # landline before it.  A mobile or 400 number has no area code to share.
                if not (found and found[-1].startswith("0")):
                    return Invalid("phone_needs_area_code", {"value": local})
                number = f"{found[-1].split('-')[0]}-{local}"
            found.append(number)
    if not found:
        return Invalid("bad_phone", {"value": text})
    return Valid("、".join(found))


# ---- e-mail, URL --------------------------------------------------------------------------

_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}"
)


# Slips in a domain: a comma or 、 for its dot ("xx.gov,cn"), spaces for its dots ("xx gov cn") or
# a stray space ("q q.com"), the dot left out before the last label ("qqcom").
_DOMAIN_SEPARATOR = re.compile(r"\s*[,，、;；]\s*")
_DOT_LEFT_OUT = re.compile(r"^([a-z0-9-]{2,})(com|cn|net|org)$")


# Last labels no domain has that are .com mistyped ("qq.con", "163.cmo"): the address is
# well formed but mail to it is lost, so the one meant is offered as for a slip in the domain.
_TLD_SLIPS = {
    "con": "com",
    "cmo": "com",
    "ocm": "com",
    "cpm": "com",
    "vom": "com",
    "xom": "com",
    "comm": "com",
}


def email_near(text: str) -> str | None:
    """The address a refused one was meant to be ("abc@xx.gov,cn": abc@xx.gov.cn), offered to
    the entrant, never taken; None when no slip in its domain explains it."""
    local, at, domain = text.partition("@")
    if not at or not local or "@" in domain:
        return None
    domain = _DOMAIN_SEPARATOR.sub(".", domain.strip().lower())
    domain = re.sub(r"\s+", "" if "." in domain else ".", domain).strip(".")
    domain = re.sub(r"\.{2,}", ".", domain)
    if "." not in domain and (found := _DOT_LEFT_OUT.match(domain)):
        domain = f"{found[1]}.{found[2]}"
    near = f"{local.strip()}@{domain}"
    if near == text or len(near) > 254 or len(local) > 64 or not _EMAIL.fullmatch(near):
        return None
    return near


def check_email(raw: str, *, required: bool = True) -> Result:
    """An address like name@example.cn; full-width ＠ and ． typed by Chinese IMEs are accepted.
    A refused address that a slip in its domain explains carries the address meant (``near``)."""
    # NFKC folds ＠, ． and letters typed in full-width mode; 。 is a dot typed in Chinese mode.
    text = email_words(unicodedata.normalize("NFKC", clean_text(raw)).replace("。", "."))
    # The full stop (or comma) typed after the address ends the sentence, not the domain.
    text = text.rstrip(".,;!?、 ")
    if not text:
        return Invalid("empty") if required else Valid("")
    if len(text) > 254 or not _EMAIL.fullmatch(text):
        if "@" not in text and isinstance(check_phone(text), Valid):
            return Invalid("email_is_phone", {"value": text[:40]})
        near = email_near(text)
        return Invalid("bad_email", {"value": text[:40], **({"near": near} if near else {})})
    local, _, domain = text.partition("@")
    if len(local) > 64:
        return Invalid("bad_email", {"value": text[:40]})
    head, _, last = domain.lower().rpartition(".")
    if (meant := _TLD_SLIPS.get(last)) is not None:  # "lihua@qq.con": no such domain, .com meant
        return Invalid("bad_email", {"value": text[:40], "near": f"{local}@{head}.{meant}"})
    return Valid(f"{local}@{domain.lower()}")


# Where an address inside prose ends: white space, control and invisible characters, quotes,
# ")", CJK and full-width punctuation (，。、；：！？（）「」【】“” …) and hanzi, because entrants
# glue the next words straight on ("网址https://b23.tv/abc播放量2万", "…/s/1abc提取码:x9yz").
# Share and platform links never contain hanzi; a browser copies a Chinese path percent-encoded.
URL_STOP = (
    r"\s\x00-\x1f\x7f<>\"'`)"
    r"\u2000-\u206f\u2e80-\u2fff\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\ufe10-\ufe6f\ufeff\uff00-\uffef"
)
# The address's last character is not sentence punctuation: "见 https://x.cn/a." ends at "a".
URL_TAIL = rf"(?:[^{URL_STOP}]*[^{URL_STOP}.,;:!?])"
_URL_IN_TEXT = re.compile(rf"https?://{URL_TAIL}", re.IGNORECASE)
_SCHEME = re.compile(r"[a-z][a-z0-9+.\-]*:(?!\d)", re.IGNORECASE)  # "host:8080" is a port, not a scheme
# An address typed without its scheme inside prose: "B站 www.bilibili.com/video/BV…",
# "pan.baidu.com/s/…" (a host and a path, or www. and a host); not an e-mail's host.
_BARE_IN_TEXT = re.compile(
    rf"(?<![a-z0-9.@/:\-])(?:www\.(?:[a-z0-9-]+\.)+[a-z]{{2,}}(?:/{URL_TAIL})?|(?:[a-z0-9-]+\.)+[a-z]{{2,}}/{URL_TAIL}?)",
    re.IGNORECASE,
)


def _url_problem(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "bad_url"
    del port
    if not parts.scheme:
        return "bad_url"
    if parts.scheme.lower() not in {"http", "https"}:
        return "url_scheme"
    # Spaces, control and invisible characters (a pasted RLO can disguise a host) make no address.
    if any(c.isspace() or unicodedata.category(c)[0] == "C" for c in url):
        return "bad_url"
    # "https://pan.baidu.com@evil.example/" opens evil.example: user info only disguises a host.
    if "@" in parts.netloc:
        return "bad_url"
    host = parts.hostname or ""
    if not host:
        return "bad_url"
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    if len(labels) < 2 or not all(
        re.fullmatch(r"(?!-)[a-z0-9\-\u0080-\uffff]{1,63}(?<!-)", lb) for lb in labels
    ):
        return "bad_url"
    return None


def _bare_scheme(host_port: str) -> str:
    """The scheme a browser's user means by an address typed without one: https://, but a
    machine's address or a port of its own ("127.0.0.1:8099", "example.com:8080") is a plain
    HTTP server's, as such a server's address is handed round."""
    host, _, port = host_port.partition(":")
    if (port and port not in ("443", "8443")) or re.fullmatch(r"\d{1,3}(?:\.\d{1,3}){3}", host):
        return "http://"
    return "https://"


def check_url(raw: str, *, required: bool = True) -> Result:
    """An http(s) address.  A bare ``www.example.cn/...`` gets ``https://`` put in front
    (``http://`` where it names an IP address or a port: ``127.0.0.1:8099/v.mp4``)."""
    text = clean_text(raw)
    if not text:
        return Invalid("empty") if required else Valid("")
    if " " in text or len(text) > 2000:
        return Invalid("bad_url", {"value": text[:40]})
    # An IME in Chinese mode types "https：//": that colon is no reason to refuse the address.
    text = re.sub(r"^(https?)[:：][/／]{2}", r"\1://", text, flags=re.IGNORECASE)
    # A bare "www.example.cn/..." gets https://; "mailto:a@b.cn" has a scheme and must not be
    # read as user "mailto" at host b.cn.
    if _SCHEME.match(text) is None and "." in text.split("/")[0]:
        text = _bare_scheme(text.split("/")[0]) + text
    problem = _url_problem(text)
    if problem:
        return Invalid(problem, {"value": text[:60]})
    return Valid(text)


def find_urls(text: str) -> list[str]:
    """The http(s) addresses inside free text (e.g. 播出平台及网址: "哔哩哔哩 https://b23.tv/x")."""
    return [u for u in _URL_IN_TEXT.findall(text) if _url_problem(u) is None]


# ---- 统一社会信用代码 (GB 32100-2015) -------------------------------------------------------

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, Z, S, V
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_char(first17: str) -> str:
    """The 18th character of a 统一社会信用代码, from its first 17 (GB 32100-2015 §5)."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def check_uscc(raw: str, *, required: bool = True) -> Result:
    """An 18-character 统一社会信用代码 with a correct check character.

    Letters are upper-cased and full-width characters folded, as people type them."""
    text = without_thanks(unicodedata.normalize("NFKC", clean_text(raw)))
    text = text.replace(" ", "").replace("-", "").upper()
    # "信用代码12500000450405117W", "代码是…。": the words around it are no part of a code of
    # letters and digits.
    text = re.sub(r"^[^0-9A-Z]+|[^0-9A-Z]+$", "", text) or text
    if not text:
        return Invalid("empty") if required else Valid("")
    if len(text) != 18:
        return Invalid("uscc_length", {"actual": len(text)})
    bad = [c for c in text if c not in USCC_ALPHABET]
    if bad:
        return Invalid("uscc_chars", {"char": bad[0]})
    if not text[2:8].isdigit():
        return Invalid("uscc_region", {})
    if uscc_check_char(text[:17]) != text[17]:
        return Invalid("uscc_check", {})
    return Valid(text)


# ---- dates, numbers, choices, people --------------------------------------------------------

_DATE_PATTERNS = (
    re.compile(r"(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*[日号]?"),
    re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})"),
    re.compile(r"(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*月?"),
)


_MONTH_DAY = re.compile(r"\s*\d{1,2}\s*[月/.-]\s*\d{1,2}\s*[日号]?\s*")


def parse_date(text: str) -> tuple[dt.date, str] | None:
    """``2023-05-01``, ``2023/5/1``, ``2023.5.1``, ``2023年5月1日``, ``20230501``, or a month
    (``2023年5月``).  Returns the date and its precision, ``day`` or ``month``."""
    text = unicodedata.normalize("NFKC", text).strip()
    for pattern in _DATE_PATTERNS:
        m = pattern.fullmatch(text)
        if not m:
            continue
        y, mo = int(m["y"]), int(m["m"])
        d = int(m.groupdict().get("d") or 1)
        try:
            return dt.date(y, mo, d), ("day" if m.groupdict().get("d") else "month")
        except ValueError:
            return None
    return None


def _no_such_day(text: str) -> dict[str, int] | None:
    """A date written in a right form whose day its month lacks ("2025.6.31", "2025年2月29日"):
    its year, month and the month's days, so that the entrant is told that, not the form."""
    text = unicodedata.normalize("NFKC", text).strip()
    for pattern in _DATE_PATTERNS:
        m = pattern.fullmatch(text)
        if m and m.groupdict().get("d") and 1 <= int(m["m"]) <= 12 and 1 <= int(m["y"]) <= 9999:
            y, mo, d = int(m["y"]), int(m["m"]), int(m["d"])
            days = calendar.monthrange(y, mo)[1]
            if d > days:
                return {"year": y, "month": mo, "days": days}
    return None


_DATE_PIECES = re.compile(r"[，,。、；;\s]+")


def _explicit_beside_relative(text: str, today: dt.date | None) -> tuple[dt.date, str] | None:
    """The one date written out in ``text`` where every other piece of it is a day said relative
    to ``today``: "今天吧，2026年12月7号", "2026年12月1日，也就是昨天" (the date written out wins when
    the two differ); None where a piece is anything else or two dates are written out."""
    if today is None:
        return None
    pieces = [p for p in _DATE_PIECES.split(unicodedata.normalize("NFKC", text)) if p]
    explicit = [d for p in pieces if (d := parse_date(date_words(p)))]
    relative = [p for p in pieces if not parse_date(date_words(p)) and parse_date(date_words(p, today))]
    if len(explicit) != 1 or not relative or len(explicit) + len(relative) != len(pieces):
        return None
    return explicit[0]


#: A date that has not come yet ("还没播出", "尚未发布", "还没上线").
_NOT_YET = re.compile(r"还没|尚未|未播|没播|没有播|没发布|没上线|没公开|还不到")


def check_date(
    raw: str,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    required: bool = True,
    today: dt.date | None = None,
) -> Result:
    """A date, inside ``start``..``end`` when given.  A month counts when any day of it fits.
    The words said around it are set aside ("哦，是2025年3月8日", "去年10月15号发的": 去年 is the
    year before ``today``'s)."""
    text = clean_text(raw)
    if not text:
        return Invalid("empty") if required else Valid("")
    said = date_words(text, today)
    parsed = parse_date(text) or parse_date(said) or parse_date(date_words(without_hour(said)))
    parsed = parsed or _explicit_beside_relative(text, today)
    if parsed is None and _MONTH_DAY.fullmatch(unicodedata.normalize("NFKC", said)):
        return Invalid("date_without_year", {"value": text[:30]})  # "五月一号": which year?
    if parsed is None and _NOT_YET.search(text):  # "还没播出": no date yet, which is the rule's matter
        return Invalid("date_not_yet", {"value": text[:30], "start": start, "end": end})
    if parsed is None and (slip := _no_such_day(text) or _no_such_day(said)) is not None:
        return Invalid("no_such_day", {"value": text[:30], **slip})  # "2025.6.31": 6月只有30天
    if parsed is None:
        return Invalid("bad_date", {"value": text[:30]})
    day, precision = parsed
    last = day
    if precision == "month":  # monthrange, not "first of next month - 1": 9999-12 has no next month
        last = day.replace(day=calendar.monthrange(day.year, day.month)[1])
    if (start and last < start) or (end and day > end):
        return Invalid("date_outside", {"value": text, "start": start, "end": end})
    return Valid(day.isoformat() if precision == "day" else day.strftime("%Y-%m"))


def check_integer(
    raw: str, *, min_value: int | None = None, max_value: int | None = None, required: bool = True
) -> Result:
    """A whole number; thousands separators, a trailing 万 (×10000), and 约/超过/多 around it
    are understood."""
    text = unicodedata.normalize("NFKC", clean_text(raw)).replace(",", "").replace(" ", "")
    if not text:
        return Invalid("empty") if required else Valid(None)
    # "约60部", "超过1.2万人", "60多部": the number as people write it; the figure before 多 or
    # after 超过 is what the notice's minimum is checked against.
    figure = figure_words(text)  # "大概1.2万吧", "差不多1500个左右"
    # "2.3w" and "1.5W粉丝": 万 as people type it; "120多个视频": the count and what it counts.
    m = re.fullmatch(
        r"(?:约|大约|共|超过|逾)?(\d+(?:\.\d+)?)(万|w|W)?[多余]?[人个部条篇期集]?(?:粉丝|视频|作品|条视频)?",
        figure,
    )
    if not m or (m[1].count(".") and not m[2]) or len(m[1]) > 12:
        return Invalid("bad_integer", {"value": text[:20]})
    value = round(float(m[1]) * 10000) if m[2] else int(m[1])
    if min_value is not None and value < min_value:
        return Invalid("integer_too_small", {"min": min_value, "actual": value})
    if max_value is not None and value > max_value:
        return Invalid("integer_too_large", {"max": max_value, "actual": value})
    return Valid(value)


def check_choice(raw: str, options: tuple[str, ...], *, allow_other: bool = False) -> Result:
    """One of ``options``, by its number (1-based) or its words; other text only if allowed."""
    text = unicodedata.normalize("NFKC", clean_text(raw))
    if not text:
        return Invalid("empty")
    if text.isdigit():
        # No list has a million options; a longer digit string is out of range (and int()
        # refuses strings over 4300 digits).
        n = int(text) if len(text) <= 6 else 0
        if 1 <= n <= len(options):
            return Valid(options[n - 1])
        return Invalid("choice_number", {"max": len(options)})
    # The input is NFKC-folded, so the labels are too: "是（会员）" typed as shown must match.
    key = text.casefold()
    folded = {option: unicodedata.normalize("NFKC", option).casefold() for option in options}
    for option, label in folded.items():
        if key == label:
            return Valid(option)
    if allow_other:
        return check_text(text, max_chars=30)
    # Three or more characters of one option's words ("两位副高" for 两位副高级职称及以上专家审核;
    # "科普" is too little to choose 科普动画), or one option said in a sentence ("选所在单位审核吧"):
    # that option, when no other one fits as well.
    part_of = [option for option, label in folded.items() if len(key) >= 3 and key in label]
    said_in = [option for option, label in folded.items() if len(label) >= 2 and label in key]
    for found in (part_of, said_in):
        if len(found) == 1:
            return Valid(found[0])
    # A yes/no cell answered in words ("不是会员", "我是会员"): 是否为会员 offers 是 and 否.
    for option, said in (("否", _SAYS_NO), ("是", _SAYS_YES)):
        if option in options and said.fullmatch(key):
            return Valid(option)
    return Invalid("not_a_choice", {"options": options})


_MEMBER = r"(?:协会)?(?:的)?(?:会员|成员)?[。.!！]?"
_SAYS_NO = re.compile(r"(?:我|我们)?(?:不是|并非|非|没有|没|还不是|不)" + _MEMBER)
_SAYS_YES = re.compile(r"(?:我|我们)?(?:是|是的|对|对的|当然是)" + _MEMBER)


_PEOPLE_SPLIT = re.compile(r"[、,，;；/\n]+")
# A Chinese person's name: two to four Han characters (a middle dot makes it one name, never a list).
_HAN_NAME = re.compile(r"[\u4e00-\u9fff]{2,4}")


#: Two-character surnames ("欧阳 娜娜" is one person, not 欧阳 and 娜娜).
_COMPOUND_SURNAMES = frozenset(
    {"欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "令狐", "慕容", "尉迟", "公孙"}
    | {"夏侯", "长孙", "宇文", "司徒", "端木", "独孤", "南宫", "西门", "百里", "呼延"}
)


def _spaced_names(words: list[str]) -> list[str]:
    """Words of a list of Chinese names with the spaces typed inside one name closed up: "王 强",
    "王 小明" (a single character beside a name of three at most) and "欧阳 娜娜" (a two-character
    surname) are one name each."""
    han = all(re.fullmatch(r"[\u4e00-\u9fff]+", w) for w in words)
    if len(words) > 1 and han and sum(map(len, words)) <= 3:
        return ["".join(words)]
    joined: list[str] = []
    for word in words:
        if joined and joined[-1] in _COMPOUND_SURNAMES and re.fullmatch(r"[\u4e00-\u9fff]{1,2}", word):
            joined[-1] += word
        else:
            joined.append(word)
    return joined


def split_names(piece: str) -> list[str]:
    """One piece of a list of names, split where spaces separate names: "陈晓明 周雪" (ASCII or
    full-width spaces) is two people.  Only a run of Chinese names (2-4 Han characters each, none a
    unit's word) is split; "John Smith", "阿卜杜拉·艾买提" and "北京大学 物理学院" stay one name."""
    words = _spaced_names(clean_text(piece).split(" "))
    if len(words) > 1 and all(_HAN_NAME.fullmatch(w) and not ORGANISATION_END.search(w) for w in words):
        return words
    # "张三和李四", "张三与李四": two people joined by a word, where each side is a Chinese name
    # ("王和平" is one name; "北京大学和清华大学" two units, left as typed).
    joined = re.split(r"和|与|及", clean_text(piece))
    if len(joined) > 1 and all(_HAN_NAME.fullmatch(w) and not ORGANISATION_END.search(w) for w in joined):
        return joined
    return ["".join(words)] if len(words) == 1 else [clean_text(piece)]


def _in_signing_order(names: list[str], places: dict[int, int]) -> list[str] | None:
    """``names`` with those whose role says their place ("（第一作者）") put there and the others in
    the order typed; None when two claim one place or a place is past the list's end."""
    if len(set(places.values())) != len(places) or not all(1 <= p <= len(names) for p in places.values()):
        return None
    ordered: list[str | None] = [None] * len(names)
    for index, place in places.items():
        ordered[place - 1] = names[index]
    rest = iter(n for i, n in enumerate(names) if i not in places)
    return [n if n is not None else next(rest) for n in ordered]


def check_people(raw: str, *, max_chars: int | None = None) -> Result:
    """Names in signing order, separated by 、, commas or (between Chinese names) spaces; the first
    is the first author."""
    base = check_text(raw, max_chars=max_chars, multiline=True)
    if not isinstance(base, Valid):
        return base
    names: list[str] = []
    places: dict[int, int] = {}  # a name's index -> the place its role in brackets gives it
    for piece in _PEOPLE_SPLIT.split(base.value):
        start = 0
        for mark in ROLE_MARK.finditer(piece):
            names += [n for n in split_names(piece[start : mark.start()]) if n]
            if names and mark.start() > start and (place := role_place(mark[0])) is not None:
                places[len(names) - 1] = place
            start = mark.end()
        names += [n for n in split_names(piece[start:]) if n]
    if not names:
        return Invalid("empty")
    if places:
        ordered = _in_signing_order(names, places)
        if ordered is None:
            return Invalid("people_order_conflict", {"value": raw.strip()[:60]})
        names = ordered
    if any(count_chars(n) > 40 for n in names):
        return Invalid("people_separator", {})
    return Valid(names)


# The words said between two platforms ("四川卫视，还有B站", "抖音和快手", "B站以及西瓜视频"): the
# cell lists them with 、.  Only between two words (a leading 和 is a name's: 和讯网), and not the 和
# of 共和, 和平, 和谐, 和睦; hanzi, so never inside an address.
_BETWEEN_PLATFORMS = re.compile(
    r"(?<=\S)[，,、；;\s]*(?:还有|以及|另外|(?<!共)和(?![平谐讯睦]))在?[，,、\s]*(?=\S)"
)


def platforms_listed(text: str) -> str:
    """``text`` with the connecting words between its platforms replaced by 、."""
    return _BETWEEN_PLATFORMS.sub("、", text)


def check_contains_url(raw: str, *, max_chars: int | None = None) -> Result:
    """Free text that must include the playing address (播出平台及网址); the words joining two
    platforms are not kept (:func:`platforms_listed`)."""
    base = check_text(platforms_listed(raw), max_chars=max_chars)
    if not isinstance(base, Valid):
        return base
    if find_urls(base.value):
        return base
    bare = _BARE_IN_TEXT.search(base.value)
    if bare is None or _url_problem("https://" + bare.group(0)) is not None:
        return Invalid("url_missing", {})
    # The form prints an address that opens: the scheme the entrant left out is put back.
    return Valid(base.value[: bare.start()] + "https://" + base.value[bare.start() :])
