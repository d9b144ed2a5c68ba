"""Video links: tell a cloud-drive share link from a direct link, and pick up its 提取码.

A share link cannot be opened from the server (it needs a browser session and often a code),
so it is recorded for the organisers' review and never reported as checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from .text import Invalid, Result, Valid, check_url, clean_text

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
_CODE = re.compile(r"(?:提取码|提取碼|访问码|密码|pwd|code)\s*[:：]?\s*([A-Za-z0-9]{4,8})", re.IGNORECASE)
_URL = re.compile(r"https?://[^\s，。；、<>\"'）)]+|(?:[a-z0-9-]+\.)+[a-z]{2,}/\S+", re.IGNORECASE)


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
    return ""


def parse_video_link(raw: str) -> Result:
    """Find the link in what the entrant pasted (drives' share texts wrap it in prose) and
    classify it; a 提取码 in the text or in ``?pwd=`` is kept with it."""
    text = clean_text(raw)
    if not text:
        return Invalid("empty")
    m = _URL.search(text)
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
