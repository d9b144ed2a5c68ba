"""What can be wrong with a video link, and how the entrant is told.

Each problem has a code, a verdict and a sentence (:data:`PROBLEMS`): "unreachable", the video
could not be looked at; "failed", what is there is not an acceptable video.  The probe
(:mod:`validators.probe`), the fetcher (:mod:`validators.link_fetch`) and the download of a
whole video (:mod:`validators.download`) raise :class:`Problem` with a code and its sentence's
parameters.
"""

from __future__ import annotations

from typing import Any, Literal

MiB = 1024 * 1024

# problem code -> (verdict, message).  "unreachable": the video could not be looked at (exit 2);
# "failed": what is there is not an acceptable video (exit 1).
PROBLEMS: dict[str, tuple[Literal["failed", "unreachable"], str]] = {
    "bad_url": ("unreachable", "“{url}”不是有效的 http/https 链接。"),
    "refused_address": (
        "unreachable",
        "链接指向内网、本机或保留地址（{host} → {address}），出于安全原因不予访问。"
        "请提供公网上可以直接下载的视频链接。",
    ),
    "dns_failed": ("unreachable", "无法解析域名 {host}，请检查链接是否完整、正确。"),
    "connect_failed": ("unreachable", "无法连接到 {host}（{error}），请稍后重试或换一个链接。"),
    "timeout": (
        "unreachable",
        "{timeout:g}秒内没能读到视频信息（服务器响应太慢），请稍后重试、换一个链接，或直接发送视频文件。",
    ),
    "too_many_redirects": ("unreachable", "链接跳转次数过多（超过{max}次），无法打开。"),
    "bad_redirect": ("unreachable", "链接跳转到了无效的地址（{location}）。"),
    "not_found": (
        "unreachable",
        "链接打不开（HTTP {status}：文件不存在或已删除），请检查链接是否完整、是否已过期。",
    ),
    "forbidden": (
        "unreachable",
        "链接无权访问（HTTP {status}）：可能需要登录、已过期或设有防盗链。"
        "请提供可以直接下载的链接，或直接发送视频文件。",
    ),
    "http_error": ("unreachable", "服务器返回错误（HTTP {status}），请稍后重试或换一个链接。"),
    "no_length": (
        "unreachable",
        "服务器没有告知文件大小（缺少 Content-Length），无法核对视频大小。"
        "请换一个下载链接，或直接发送视频文件。",
    ),
    "no_range": (
        "unreachable",
        "服务器不支持分段读取（HTTP Range），而这个视频的索引在文件末尾，不下载整个文件就无法检查。"
        "请用“快速启动”（faststart）方式重新导出，或直接发送视频文件。",
    ),
    "over_cap": (
        "unreachable",
        "读取视频信息需要下载的数据超过上限（{cap}），为避免下载整个文件已停止。请直接发送视频文件。",
    ),
    "bad_response": ("unreachable", "服务器的响应无法使用（{detail}），请换一个链接或直接发送视频文件。"),
    "html_page": (
        "failed",
        "链接打开的是网页，不是视频文件（{content_type}）。视频网站的播放页（如哔哩哔哩、抖音）无法检查，"
        "请提供视频文件本身的下载地址；网盘链接请发送分享链接和提取码。",
    ),
    "not_video": ("failed", "链接的内容不是视频（{content_type}），请检查链接。"),
    "empty": ("failed", "链接指向的文件是空的（0 字节）。"),
    "not_mp4": ("failed", "链接指向的文件不是 MP4（看起来是 {detected}），通知要求 MP4 格式。"),
    "too_big": ("failed", "文件大小 {size}，远远超过任何视频的要求，请检查链接。"),
}


class Problem(Exception):
    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def size_text(size: int) -> str:
    return f"{size / MiB:.1f} MB" if size >= MiB else f"{size} 字节"
