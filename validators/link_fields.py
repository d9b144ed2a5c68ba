"""A link typed into a form field as people type it: prose around it ("百度网盘 pan.baidu.com/s/…
提取码 abcd"), no https://, its 提取码 in the same message or the next one.

A net-disk link printed on a form is useless to the organisers without its 提取码, so a
field's share link of a drive whose shares need one (百度网盘) is refused until the code comes;
the value printed carries it ("https://pan.baidu.com/s/1Ab?pwd=abcd 提取码：abcd").
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

from validators.links import DRIVES, VideoLink, drive_for, parse_video_link, share_link_of
from validators.text import Invalid, Result, Valid, check_contains_url, check_url, clean_text, find_urls

__all__ = ["check_link_field", "code_alone", "platform_named", "with_code", "without_link"]

#: The platform a playing address is on, by its host: 播出平台及网址 wants the platform named, and
#: an entrant who pastes the address alone has said it only in the address.
_HOST_PLATFORMS = (
    (("douyin.com", "iesdouyin.com"), "抖音"),
    (("bilibili.com", "b23.tv"), "哔哩哔哩"),
    (("kuaishou.com", "gifshow.com"), "快手"),
    (("ixigua.com",), "西瓜视频"),
    (("channels.weixin.qq.com",), "微信视频号"),
    (("v.qq.com",), "腾讯视频"),
    (("youku.com",), "优酷"),
    (("iqiyi.com",), "爱奇艺"),
    (("xiaohongshu.com", "xhslink.com"), "小红书"),
    (("weibo.com", "weibo.cn"), "微博"),
    (("toutiao.com",), "今日头条"),
    (("cctv.com", "cctv.cn"), "央视网"),
)


def platform_named(value: str) -> str:
    """``value`` (a checked 播出平台及网址) with its platform named before it where it is only an
    address on a platform known by its host ("https://v.douyin.com/x" → "抖音 https://v.douyin.com/x");
    else ``value`` as it is."""
    urls = find_urls(value)
    rest = value
    for url in urls:
        rest = rest.replace(url, "")
    if not urls or re.search(r"[\w\u4e00-\u9fff]", rest):
        return value  # the entrant named it, or said more than the address
    named = value.strip()
    for url in dict.fromkeys(urls):  # each address named by its own host
        host = (urlsplit(url).hostname or "").lower()
        name = next(
            (n for hosts, n in _HOST_PLATFORMS if any(host == h or host.endswith("." + h) for h in hosts)), ""
        )
        if name:
            named = named.replace(url, f"{name} {url}")
    return named


# A message that is only a code: "abcd", "提取码：abcd", "密码 abcd", "pwd=abcd".
_CODE_ALONE = re.compile(
    r"(?:(?:提取码|提取碼|访问码|取件码|口令|密码|码|pwd|code)\s*(?:是|为)?\s*[:：=]?\s*)?"
    r"(?P<code>[A-Za-z0-9]{4,8})[。.！!]?",
    re.IGNORECASE,
)
_CODE_WORD = re.compile(r"提取码|提取碼|访问码|取件码|口令|密码|码|pwd|code", re.IGNORECASE)
# What a message holds besides its question: the address (with or without its scheme), its
# code, the word 链接 before it.
_LINK_PARTS = re.compile(
    r"(?:链接|网址|地址)?\s*[:：]?\s*(?:[a-z][a-z0-9+.\-]*://|www\.)?(?:[a-z0-9-]+\.)+[a-z]{2,}(?:/[\x21-\x7e]*)?"
    r"|(?:提取码|提取碼|访问码|密码|pwd|code)\s*(?:是|为)?\s*[:：=]?\s*[A-Za-z0-9]{4,8}",
    re.IGNORECASE,
)


def code_alone(text: str, *, bare: bool = True) -> str | None:
    """The 提取码 of a message that says nothing else, else None.  Without ``bare`` the
    message must name it ("提取码 abcd"): a bare word then may be an answer to the next step."""
    said = unicodedata.normalize("NFKC", clean_text(text)).strip()
    m = _CODE_ALONE.fullmatch(said)
    if m is None or (not bare and not _CODE_WORD.match(said)):
        return None
    return m["code"]


def without_link(text: str) -> str:
    """The rest of a message once its link and code are taken out ("链接 x.cn/a 提取码 ab12，视频
    可以多大？" → "视频可以多大？"): what a question-answerer should read."""
    rest = _LINK_PARTS.sub(" ", clean_text(text))
    return re.sub(r"^[\s，,。；;:：]+", "", re.sub(r"\s+", " ", rest)).strip()


# What may be said around an address sent alone: "网址是", "链接：", punctuation.
_ADDRESS_WORDS = re.compile(r"(?:播放|视频|原视频|作品)?(?:网址|链接|地址)(?:是|为|如下)?|[\s，,。.；;:：]+")


def platform_then_address(platform: str, text: str) -> str | None:
    """An address sent alone (``text``) after its platform sent in the message before ("抖音",
    then "https://v.douyin.com/x"): the two as one answer of 播出平台及网址, "抖音 https://…";
    None when ``text`` is no address, or says more than one (it names its platform itself)."""
    checked = check_contains_url(text)
    if not isinstance(checked, Valid):
        return None
    urls = find_urls(checked.value)
    rest = checked.value
    for url in urls:
        rest = rest.replace(url, " ")
    if not urls or _ADDRESS_WORDS.sub("", rest):
        return None
    return f"{platform.strip()} {' '.join(urls)}"


def with_code(link_text: str, code: str) -> str:
    """A message of a link and, after it, its code as the entrant sent it apart."""
    return f"{link_text} 提取码 {code}"


def check_link_field(raw: str, *, required: bool = True, share_only: bool = False) -> Result:
    """The address in what was typed for a URL field.  A share link keeps its 提取码 in the
    value; one of a drive that needs a code and has none is ``share_code_missing``.
    ``share_only``: the field asks for a net-disk folder (cacsi's 百度网盘), so another link
    (a video page) is ``not_share_link``."""
    text = clean_text(raw)
    if not text:
        return Invalid("empty") if required else Valid("")
    plain = check_url(text)
    if isinstance(plain, Valid) and drive_for(urlsplit(plain.value).hostname or "") is None:
        return Invalid("not_share_link", {"value": plain.value}) if share_only else plain
    found = parse_video_link(text)
    if not isinstance(found, Valid):
        return plain if isinstance(plain, Invalid) else found
    link: VideoLink = found.value
    share = share_link_of(link)
    if share is None:
        return Invalid("not_share_link", {"value": link.url}) if share_only else Valid(link.url)
    if share.drive.code == "required" and not share.code:
        hint = f"（{share.drive.code_hint}）" if share.drive.code_hint else ""
        params = {"drive": share.drive.name, "word": share.drive.code_word, "hint": hint, "value": share.url}
        return Invalid("share_code_missing", params)
    if share.code:
        return Valid(f"{share.url} {share.drive.code_word}：{share.code}")
    return Valid(share.url)


def other_drive(label: str, value: str) -> tuple[str, str] | None:
    """(the drive ``value`` is on, the drive ``label`` names) when a field naming its drive
    (「网盘链接地址（百度网盘）」) was given another drive's link; None otherwise."""
    wanted = next((d for d in DRIVES if any(n in label for n in (d.name, *d.aliases))), None)
    found = parse_video_link(value)
    if wanted is None or not isinstance(found, Valid):
        return None
    share = share_link_of(found.value)
    return (share.drive.name, wanted.name) if share is not None and share.drive is not wanted else None
