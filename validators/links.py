"""Video links: tell a cloud-drive share link from a direct link, and pick up its 提取码.

A share link cannot be opened from the server (it needs a browser session and often a code),
so it is recorded for the organisers' review and never reported as checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from .text import URL_TAIL, Invalid, Result, Valid, check_url, clean_text

# host suffix -> the drive's name as Chinese users know it
SHARE_HOSTS: dict[str, str] = {
    "pan.baidu.com": "百度网盘",
    "yun.baidu.com": "百度网盘",
    "alipan.com": "阿里云盘",
    "aliyundrive.com": "阿里云盘",
    "pan.quark.cn": "夸克网盘",
    "cloud.189.cn": "天翼云盘",
    "share.weiyun.com": "腾讯微云",
    "123pan.com": "123云盘",
    "123pan.cn": "123云盘",
    "123684.com": "123云盘",
    "123865.com": "123云盘",
    "lanzou.com": "蓝奏云",
    "lanzoui.com": "蓝奏云",
    "lanzoux.com": "蓝奏云",
    "lanzouw.com": "蓝奏云",
    "caiyun.139.com": "中国移动云盘",
    "yun.139.com": "中国移动云盘",
    "pan.xunlei.com": "迅雷云盘",
    "115.com": "115网盘",
    "drive.uc.cn": "UC网盘",
}
# 蓝奏云 rotates through many one-letter variants of its domain (lanzoui, lanzoum, lanzouw ...).
_LANZOU = re.compile(r"(?:.+\.)?lanzou[a-z]?\.com")
# The code is a whole word: "barcode12345" holds no code, and "提取码: abcd1234efgh" is not
# "abcd1234".  "pwd=abcd" is how 百度网盘 writes it outside the link as well.
_CODE = re.compile(
    r"(?:提取码|提取碼|访问码|密码|(?<![A-Za-z])(?:pwd|code))\s*[:：=]?\s*([A-Za-z0-9]{4,8})(?![A-Za-z0-9])",
    re.IGNORECASE,
)
# Addresses end where URL_TAIL says, so a 提取码 glued to the link stays out of it.
_HTTP_URL = re.compile(rf"https?://{URL_TAIL}", re.IGNORECASE)
# Another scheme is found as itself (and refused by check_url) rather than as a bare address
# after its "://": "ftp://x.cn/v.mp4" must not become https://x.cn/v.mp4.
_ANY_URL = re.compile(rf"(?<![a-z0-9+.\-])[a-z][a-z0-9+.\-]*://{URL_TAIL}?", re.IGNORECASE)
_BARE_URL = re.compile(rf"(?<![a-z0-9.@/:\-])(?:[a-z0-9-]+\.)+[a-z]{{2,}}/{URL_TAIL}?", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class VideoLink:
    url: str
    kind: str  # "share_link" or "link"
    drive: str = ""
    code: str = ""


def drive_of(host: str) -> str:
    host = host.lower().rstrip(".")
    for suffix, name in SHARE_HOSTS.items():
        if host == suffix or host.endswith("." + suffix):
            return name
    return "蓝奏云" if _LANZOU.fullmatch(host) else ""


def parse_video_link(raw: str) -> Result:
    """Find the link in what the entrant pasted (drives' share texts wrap it in prose) and
    classify it; a 提取码 in the text or in ``?pwd=`` is kept with it."""
    text = clean_text(raw)
    if not text:
        return Invalid("empty")
    m = _HTTP_URL.search(text) or _ANY_URL.search(text) or _BARE_URL.search(text)
    if not m:
        return Invalid("bad_url", {"value": text[:40]})
    checked = check_url(m.group(0))
    if not isinstance(checked, Valid):
        return checked
    url: str = checked.value
    parts = urlsplit(url)
    drive = drive_of(parts.hostname or "")
    if not drive:
        return Valid(VideoLink(url=url, kind="link"))
    code = (parse_qs(parts.query).get("pwd") or [""])[0]
    rest = text[: m.start()] + " " + text[m.end() :]
    if not code and (cm := _CODE.search(rest)):
        code = cm.group(1)
    return Valid(VideoLink(url=url, kind="share_link", drive=drive, code=code))
