"""validators/links.py: a pasted video link is classified (cloud-drive share link or direct link)
and a share link keeps its 提取码, wherever the drive's share text puts it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contests.names import province_of
from contests.registry import ContestRegistry
from contests.rules import Contest
from validators.links import (
    SHARE_HOSTS,
    LinkAdvice,
    LinkCheck,
    VideoLink,
    assess_share_link,
    drive_of,
    drives_named,
    folder_name,
    parse_video_link,
    share_link_of,
)
from validators.text import Invalid, Valid, check_url


def link(raw: str) -> VideoLink:
    result = parse_video_link(raw)
    assert isinstance(result, Valid), f"expected Valid, got {result!r}"
    value: Any = result.value
    assert isinstance(value, VideoLink)
    return value


def refused(raw: str, code: str) -> Invalid:
    result = parse_video_link(raw)
    assert isinstance(result, Invalid), f"expected Invalid({code!r}), got {result!r}"
    assert result.code == code
    return result


# (share text as the drive's app copies it, url, drive, code)
SHARE_TEXTS = [
    pytest.param(
        "链接: https://pan.baidu.com/s/1Abc2DeF3gHiJkLmNoPqR4s?pwd=k7p2 提取码: k7p2 "
        "复制这段内容后打开百度网盘手机App，操作更方便哦 \n--来自百度网盘超级会员v4的分享",
        "https://pan.baidu.com/s/1Abc2DeF3gHiJkLmNoPqR4s?pwd=k7p2",
        "百度网盘",
        "k7p2",
        id="baidu-pwd-query",
    ),
    pytest.param(
        "链接：https://pan.baidu.com/s/1Abc2DeF3gHiJkLmNoPqR4s \n提取码：x9yz \n"
        "复制这段内容后打开百度网盘手机App，操作更方便哦",
        "https://pan.baidu.com/s/1Abc2DeF3gHiJkLmNoPqR4s",
        "百度网盘",
        "x9yz",
        id="baidu-code-separate",
    ),
    pytest.param(
        "链接:https://pan.baidu.com/s/1Abc2DeF3gHiJkLmNoPqR4s提取码:x9yz",
        "https://pan.baidu.com/s/1Abc2DeF3gHiJkLmNoPqR4s",
        "百度网盘",
        "x9yz",
        id="baidu-code-glued-to-link",
    ),
    pytest.param(
        "https://pan.baidu.com/share/init?surl=Abc2DeF3gHiJk 密码 ab12",
        "https://pan.baidu.com/share/init?surl=Abc2DeF3gHiJk",
        "百度网盘",
        "ab12",
        id="baidu-init-link",
    ),
    pytest.param(
        "「2024科普微视频.mp4」https://www.alipan.com/s/Ab3dEfGh1jK\n"
        "点击链接保存，或者复制本段内容，打开「阿里云盘」APP ，无需下载极速在线查看，视频原画倍速播放。",
        "https://www.alipan.com/s/Ab3dEfGh1jK",
        "阿里云盘",
        "",
        id="alipan",
    ),
    pytest.param(
        "「科普.mp4」https://www.aliyundrive.com/s/Ab3dEfGh1jK 提取码: 8x9y\n点击链接保存，或者复制本段内容，"
        "打开「阿里云盘」APP ，无需下载极速在线查看，视频原画倍速播放。",
        "https://www.aliyundrive.com/s/Ab3dEfGh1jK",
        "阿里云盘",
        "8x9y",
        id="aliyundrive",
    ),
    pytest.param(
        "我用夸克网盘分享了「科普微视频」，点击链接即可保存。打开「夸克APP」，无需下载在线播放视频，畅享原画5倍速，支持电视投屏。\n"
        "链接：https://pan.quark.cn/s/1a2b3c4d5e6f\n提取码：Ab12",
        "https://pan.quark.cn/s/1a2b3c4d5e6f",
        "夸克网盘",
        "Ab12",
        id="quark",
    ),
    pytest.param(
        "https://cloud.189.cn/t/AbCdEf123456（访问码：x7y8）",
        "https://cloud.189.cn/t/AbCdEf123456",
        "天翼云盘",
        "x7y8",
        id="tianyi",
    ),
    pytest.param(
        "链接：https://share.weiyun.com/AbCdEf12 密码：3x7k9p\n复制这段内容后打开腾讯微云App",
        "https://share.weiyun.com/AbCdEf12",
        "腾讯微云",
        "3x7k9p",
        id="weiyun",
    ),
    pytest.param(
        "https://www.123pan.com/s/Ab1C-dEfGh.html提取码:Xy12",
        "https://www.123pan.com/s/Ab1C-dEfGh.html",
        "123云盘",
        "Xy12",
        id="123pan",
    ),
    pytest.param(
        "链接：https://www.123684.com/s/Ab1C-dEfGh?提取码:Xy12",
        "https://www.123684.com/s/Ab1C-dEfGh",
        "123云盘",
        "Xy12",
        id="123pan-mirror",
    ),
    pytest.param(
        "https://wwi.lanzoui.com/iAbCd1234efg\n密码:5gh7",
        "https://wwi.lanzoui.com/iAbCd1234efg",
        "蓝奏云",
        "5gh7",
        id="lanzou",
    ),
    pytest.param(
        "https://wwp.lanzoum.com/iAbCd1234efg 密码:5gh7",
        "https://wwp.lanzoum.com/iAbCd1234efg",
        "蓝奏云",
        "5gh7",
        id="lanzou-other-domain",
    ),
    pytest.param(
        "https://caiyun.139.com/m/i?0F5CJUtSnVhX1 提取码:x8Jk 复制内容打开中国移动云盘手机APP，操作更方便哦",
        "https://caiyun.139.com/m/i?0F5CJUtSnVhX1",
        "中国移动云盘",
        "x8Jk",
        id="mobile-caiyun",
    ),
    pytest.param(
        "中国移动云盘分享：https://yun.139.com/shareweb/#/w/i/0a5CJ1Abc",
        "https://yun.139.com/shareweb/#/w/i/0a5CJ1Abc",
        "中国移动云盘",
        "",
        id="mobile-yun",
    ),
]


@pytest.mark.parametrize(("raw", "url", "drive", "code"), SHARE_TEXTS)
def test_share_texts(raw: str, url: str, drive: str, code: str) -> None:
    found = link(raw)
    assert found == VideoLink(url=url, kind="share_link", drive=drive, code=code)


def test_share_link_without_scheme_gets_https() -> None:
    found = link("pan.baidu.com/s/1Abc2DeF3gHiJk 提取码 ab12")
    assert found == VideoLink("https://pan.baidu.com/s/1Abc2DeF3gHiJk", "share_link", "百度网盘", "ab12")


def test_share_link_without_code_has_empty_code() -> None:
    assert link("https://pan.quark.cn/s/1a2b3c4d5e6f").code == ""


def test_code_longer_than_a_code_is_not_cut_to_a_prefix() -> None:
    """ "提取码: abcd1234efgh" is not a code; taking "abcd1234" would mislead the organisers."""
    assert link("https://pan.baidu.com/s/1Abc 提取码: abcd1234efgh").code == ""


def test_code_word_inside_another_word_is_not_a_code() -> None:
    assert link("https://pan.baidu.com/s/1Abc barcode12345").code == ""


@pytest.mark.parametrize(
    ("raw", "url"),
    [
        ("https://cdn.example.cn/kepu/video.mp4", "https://cdn.example.cn/kepu/video.mp4"),
        (
            "视频地址：https://cdn.example.cn/kepu/video.mp4，请查收。",
            "https://cdn.example.cn/kepu/video.mp4",
        ),
        ("https://www.bilibili.com/video/BV1GJ411x7h7", "https://www.bilibili.com/video/BV1GJ411x7h7"),
        ("www.example.cn/v/%E7%A7%91%E6%99%AE.mp4", "https://www.example.cn/v/%E7%A7%91%E6%99%AE.mp4"),
        (
            "https://oss.example.com.cn/a.mp4?sign=abc&expires=1",
            "https://oss.example.com.cn/a.mp4?sign=abc&expires=1",
        ),
    ],
)
def test_direct_links(raw: str, url: str) -> None:
    assert link(raw) == VideoLink(url=url, kind="link")


@pytest.mark.parametrize(
    ("raw", "url"),
    [
        # Sixth trial round: refused as "不是有效的网址，请粘贴以 http:// 开头…" though a browser opens
        # them as typed.  A machine's address or a port says a plain-HTTP server: http://.
        ("127.0.0.1:8099/phone.mp4", "http://127.0.0.1:8099/phone.mp4"),
        ("视频在这 example.com:8080/v.mp4", "http://example.com:8080/v.mp4"),
        ("192.168.1.5/kepu.mp4", "http://192.168.1.5/kepu.mp4"),
        ("www.example.com/v.mp4", "https://www.example.com/v.mp4"),
        ("cdn.example.cn:443/v.mp4", "https://cdn.example.cn:443/v.mp4"),
    ],
)
def test_a_bare_address_with_a_port_or_an_ip_gets_its_scheme(raw: str, url: str) -> None:
    assert link(raw) == VideoLink(url=url, kind="link")
    assert check_url(raw.split()[-1]) == Valid(url)  # a form's URL cell reads it the same


def test_lookalike_host_is_not_a_share_link() -> None:
    assert link("https://pan.baidu.com.evil.example/s/1abc").kind == "link"
    assert link("https://notpan.baidu.com/s/1abc").kind == "link"
    assert link("https://mypan.quark.cn/s/1abc").kind == "link"


def test_user_info_lookalike_is_refused() -> None:
    refused("https://pan.baidu.com@evil.example/s/1abc", "bad_url")


@pytest.mark.parametrize("raw", ["请看附件", "视频已发邮箱", "提取码：abcd", "pan.baidu.com", "科普.mp4"])
def test_text_without_url_is_bad_url(raw: str) -> None:
    assert refused(raw, "bad_url").params["value"] == raw


def test_other_scheme_is_refused_not_rewritten_to_https() -> None:
    """ "ftp://x.cn/v.mp4" must not be read as the bare address "x.cn/v.mp4"."""
    result = parse_video_link("ftp://files.example.cn/v.mp4")
    assert isinstance(result, Invalid)
    assert result.code in {"url_scheme", "bad_url"}


def test_empty() -> None:
    refused("", "empty")
    refused(" \n ", "empty")


@pytest.mark.parametrize(
    ("host", "drive"),
    [
        ("pan.baidu.com", "百度网盘"),
        ("PAN.BAIDU.COM.", "百度网盘"),
        ("yun.baidu.com", "百度网盘"),
        ("www.alipan.com", "阿里云盘"),
        ("www.aliyundrive.com", "阿里云盘"),
        ("pan.quark.cn", "夸克网盘"),
        ("cloud.189.cn", "天翼云盘"),
        ("h5.cloud.189.cn", "天翼云盘"),
        ("share.weiyun.com", "腾讯微云"),
        ("www.123pan.com", "123云盘"),
        ("wwi.lanzoui.com", "蓝奏云"),
        ("caiyun.139.com", "中国移动云盘"),
        ("pan.xunlei.com", "迅雷云盘"),
        ("example.cn", ""),
        ("baidu.com", ""),
        ("evilpan.baidu.com.cn", ""),
    ],
)
def test_drive_of(host: str, drive: str) -> None:
    assert drive_of(host) == drive


@given(st.sampled_from(sorted(SHARE_HOSTS)), st.from_regex(r"[A-Za-z0-9_-]{4,24}", fullmatch=True))
def test_every_known_drive_host_is_a_share_link(host: str, token: str) -> None:
    found = link(f"https://{host}/s/{token}")
    assert found.kind == "share_link"
    assert found.drive == SHARE_HOSTS[host]
    assert found.url == f"https://{host}/s/{token}"


@given(
    st.sampled_from(["提取码", "提取码：", "提取码: ", "密码:", "访问码：", "pwd=", "code "]),
    st.from_regex(r"[A-Za-z0-9]{4,8}", fullmatch=True),
    st.sampled_from([" ", "\n", "（", "，"]),
)
def test_code_is_picked_up_however_it_is_written(label: str, code: str, sep: str) -> None:
    found = link(f"https://pan.quark.cn/s/1a2b3c4d{sep}{label}{code}")
    assert found.code == code


@given(st.text(max_size=200))
def test_parse_video_link_never_raises(raw: str) -> None:
    result = parse_video_link(raw)
    assert isinstance(result, Valid | Invalid)
    if isinstance(result, Valid):
        assert result.value.kind in {"share_link", "link"}
        assert result.value.url.lower().startswith(("http://", "https://"))


# ---- canonical share links ------------------------------------------------------------------

# (share text as the drive's app or web page copies it, canonical url, drive key, share id, code)
CANONICAL = [
    pytest.param(
        "链接: https://pan.baidu.com/s/1Abc2DeF3gHiJkLmNoPqR4s?pwd=k7p2 提取码: k7p2 "
        "复制这段内容后打开百度网盘手机App，操作更方便哦",
        "https://pan.baidu.com/s/1Abc2DeF3gHiJkLmNoPqR4s?pwd=k7p2",
        "baidu",
        "1Abc2DeF3gHiJkLmNoPqR4s",
        "k7p2",
        id="baidu-app-text",
    ),
    pytest.param(
        "链接：https://pan.baidu.com/s/1Abc2DeF3gHiJkLmNoPqR4s \n提取码：x9yz",
        "https://pan.baidu.com/s/1Abc2DeF3gHiJkLmNoPqR4s?pwd=x9yz",  # the code goes into the link
        "baidu",
        "1Abc2DeF3gHiJkLmNoPqR4s",
        "x9yz",
        id="baidu-code-typed-separately",
    ),
    pytest.param(
        "https://pan.baidu.com/share/init?surl=Abc2DeF3gHiJk 密码 ab12",
        "https://pan.baidu.com/s/1Abc2DeF3gHiJk?pwd=ab12",  # the old form's id lacks its leading 1
        "baidu",
        "1Abc2DeF3gHiJk",
        "ab12",
        id="baidu-share-init",
    ),
    pytest.param(
        "https://pan.baidu.com/wap/init?surl=Abc2DeF3gHiJk&pwd=ab12",
        "https://pan.baidu.com/s/1Abc2DeF3gHiJk?pwd=ab12",
        "baidu",
        "1Abc2DeF3gHiJk",
        "ab12",
        id="baidu-wap-init",
    ),
    pytest.param(
        "https://yun.baidu.com/s/1Abc2DeF3gHiJk#list/path=%2F",
        "https://pan.baidu.com/s/1Abc2DeF3gHiJk",
        "baidu",
        "1Abc2DeF3gHiJk",
        "",
        id="baidu-yun-host-and-fragment",
    ),
    pytest.param(
        "「科普.mp4」https://www.aliyundrive.com/s/Ab3dEfGh1jK 提取码: 8x9y\n点击链接保存",
        "https://www.alipan.com/s/Ab3dEfGh1jK",  # aliyundrive.com moved to alipan.com
        "aliyun",
        "Ab3dEfGh1jK",
        "8x9y",
        id="aliyundrive-to-alipan",
    ),
    pytest.param(
        "https://www.alipan.com/s/Ab3dEfGh1jK/folder/64f1a2b3c4d5e6f7a8b9c0d1",
        "https://www.alipan.com/s/Ab3dEfGh1jK/folder/64f1a2b3c4d5e6f7a8b9c0d1",
        "aliyun",
        "Ab3dEfGh1jK",
        "",
        id="alipan-folder",
    ),
    pytest.param(
        "https://alywp.net/Ab3dEfGh1jK",
        "https://www.alipan.com/s/Ab3dEfGh1jK",
        "aliyun",
        "Ab3dEfGh1jK",
        "",
        id="alipan-short-link",
    ),
    pytest.param(
        "链接：https://pan.quark.cn/s/1a2b3c4d5e6f#/list/share\n提取码：Ab12",
        "https://pan.quark.cn/s/1a2b3c4d5e6f",  # no ?pwd= for 夸克: it would be ignored
        "quark",
        "1a2b3c4d5e6f",
        "Ab12",
        id="quark",
    ),
    pytest.param(
        "https://cloud.189.cn/t/AbCdEf123456（访问码：x7y8）",
        "https://cloud.189.cn/t/AbCdEf123456",
        "tianyi",
        "AbCdEf123456",
        "x7y8",
        id="tianyi",
    ),
    pytest.param(
        "https://cloud.189.cn/web/share?code=AbCdEf123456",
        "https://cloud.189.cn/t/AbCdEf123456",
        "tianyi",
        "AbCdEf123456",
        "",  # "code" in this link is the share id, not the 访问码
        id="tianyi-web-share",
    ),
    pytest.param(
        "https://h5.cloud.189.cn/share.html#/t/AbCdEf123456",
        "https://cloud.189.cn/t/AbCdEf123456",
        "tianyi",
        "AbCdEf123456",
        "",
        id="tianyi-h5",
    ),
    pytest.param(
        "链接：https://share.weiyun.com/AbCdEf12 密码：3x7k9p",
        "https://share.weiyun.com/AbCdEf12",
        "weiyun",
        "AbCdEf12",
        "3x7k9p",
        id="weiyun",
    ),
    pytest.param(
        "https://www.123pan.com/s/Ab1C-dEfGh.html提取码:Xy12",
        "https://www.123pan.com/s/Ab1C-dEfGh",
        "123pan",
        "Ab1C-dEfGh",
        "Xy12",
        id="123pan",
    ),
    pytest.param(
        "我通过123云盘分享的文件：科普.mp4\n链接：https://www.123912.com/s/Ab1C-dEfGh?提取码:Xy12\n通过123云盘App下载",
        "https://www.123pan.com/s/Ab1C-dEfGh",
        "123pan",
        "Ab1C-dEfGh",
        "Xy12",
        id="123pan-wechat-domain",
    ),
    pytest.param(
        "https://wwi.lanzoui.com/iAbCd1234efg\n密码:5gh7",
        "https://wwi.lanzoui.com/iAbCd1234efg",  # 蓝奏云 rotates domains: the given one is kept
        "lanzou",
        "iAbCd1234efg",
        "5gh7",
        id="lanzou",
    ),
    pytest.param(
        "https://caiyun.139.com/w/i/0F5CJUtSnVhX1 提取码:x8Jk",
        "https://caiyun.139.com/m/i?0F5CJUtSnVhX1",
        "caiyun",
        "0F5CJUtSnVhX1",
        "x8Jk",
        id="caiyun",
    ),
    pytest.param(
        "中国移动云盘分享：https://yun.139.com/shareweb/#/w/i/0a5CJ1Abc",
        "https://yun.139.com/shareweb/#/w/i/0a5CJ1Abc",
        "caiyun",
        "0a5CJ1Abc",
        "",
        id="caiyun-shareweb",
    ),
    pytest.param(
        "链接：https://pan.xunlei.com/s/VNabc123DEF456ghi789JKLmn?pwd=ab12#\n复制这段内容后打开手机迅雷App，查看更方便",
        "https://pan.xunlei.com/s/VNabc123DEF456ghi789JKLmn?pwd=ab12",
        "xunlei",
        "VNabc123DEF456ghi789JKLmn",
        "ab12",
        id="xunlei",
    ),
    pytest.param(
        "https://115.com/s/sw3abcd1234?password=x9y8#\n科普视频\n访问码：x9y8\n复制这段内容，可在115App中直接打开！",
        "https://115.com/s/sw3abcd1234?password=x9y8",
        "115",
        "sw3abcd1234",
        "x9y8",
        id="115",
    ),
    pytest.param(
        "https://115cdn.com/s/sw3abcd1234 访问码：x9y8",
        "https://115.com/s/sw3abcd1234?password=x9y8",
        "115",
        "sw3abcd1234",
        "x9y8",
        id="115cdn",
    ),
    pytest.param(
        "「科普」https://drive.uc.cn/s/1a2b3c4d5e6f7?public=1",
        "https://drive.uc.cn/s/1a2b3c4d5e6f7",
        "uc",
        "1a2b3c4d5e6f7",
        "",
        id="uc",
    ),
    pytest.param(
        "https://www.jianguoyun.com/p/DAbCdEf1gHiJkLmN 访问密码：ab12",
        "https://www.jianguoyun.com/p/DAbCdEf1gHiJkLmN",
        "jianguoyun",
        "DAbCdEf1gHiJkLmN",
        "ab12",
        id="jianguoyun",
    ),
    pytest.param(
        "https://t.wss.ink/f/abc123def4 取件码：1234",
        "https://www.wenshushu.cn/f/abc123def4",
        "wenshushu",
        "abc123def4",
        "1234",
        id="wenshushu",
    ),
    pytest.param(
        "https://cowtransfer.com/s/1a2b3c4d5e6f4a 口令：123456",
        "https://cowtransfer.com/s/1a2b3c4d5e6f4a",
        "cowtransfer",
        "1a2b3c4d5e6f4a",
        "123456",
        id="cowtransfer",
    ),
    pytest.param(
        "https://yunpan.360.cn/surl_yAbCdEfGhIj （提取码：ab12）",
        "https://yunpan.360.cn/surl_yAbCdEfGhIj",
        "360",
        "yAbCdEfGhIj",
        "ab12",
        id="360",
    ),
    pytest.param(
        "https://drive.google.com/file/d/1AbCdEfGhIjKlMnOpQ/view?usp=sharing",
        "https://drive.google.com/file/d/1AbCdEfGhIjKlMnOpQ",
        "gdrive",
        "1AbCdEfGhIjKlMnOpQ",
        "",
        id="google-drive",
    ),
]


@pytest.mark.parametrize(("raw", "url", "drive", "share_id", "code"), CANONICAL)
def test_share_links_are_normalised(raw: str, url: str, drive: str, share_id: str, code: str) -> None:
    share = share_link_of(link(raw))
    assert share is not None
    assert (share.url, share.drive.key, share.share_id, share.code) == (url, drive, share_id, code)
    # The canonical link reads back as itself: what the organisers get is stable.
    again = share_link_of(link(share.url))
    assert again is not None and (again.url, again.share_id) == (share.url, share.share_id)


def test_a_direct_link_has_no_share_form() -> None:
    assert share_link_of(link("https://cdn.example.cn/kepu/video.mp4")) is None


@pytest.mark.parametrize(
    "raw",
    [
        "https://pan.baidu.com/disk/main#/index?category=all&path=%2F科普",  # the entrant's own files
        "https://pan.baidu.com/disk/home",
        "https://www.alipan.com/drive/file/backup",
        "https://pan.quark.cn/list#/list/all",
        "https://cloud.189.cn/web/main/file/folder/-11",
    ],
)
def test_a_drive_page_that_is_not_a_share_has_no_share_id(raw: str) -> None:
    share = share_link_of(link(raw))
    assert share is not None and share.share_id == ""
    assert share.url == link(raw).url  # left as sent, for the organisers to see


def test_a_bad_code_is_not_put_into_the_link() -> None:
    share = share_link_of(link("https://pan.baidu.com/s/1Abc 提取码 abcde"))
    assert share is not None and share.url == "https://pan.baidu.com/s/1Abc"


@given(st.sampled_from(sorted(SHARE_HOSTS)), st.from_regex(r"[A-Za-z0-9_-]{5,24}", fullmatch=True))
def test_normalising_is_idempotent(host: str, token: str) -> None:
    share = share_link_of(link(f"https://{host}/s/{token}"))
    assert share is not None and share.drive.name == SHARE_HOSTS[host]
    again = share_link_of(link(share.url))
    assert again is not None and again.url == share.url and again.drive == share.drive


# ---- what the entrant still has to do --------------------------------------------------------


@pytest.fixture(scope="module")
def cacsi(contests: ContestRegistry) -> Contest:
    contest = contests.get("cacsi-2022-youth")
    assert contest is not None
    return contest


@pytest.fixture(scope="module")
def kepu(contests: ContestRegistry) -> Contest:
    contest = contests.get("most-cas-2024-kepu")
    assert contest is not None
    return contest


def advise(raw: str, contest: Contest, answers: dict[str, Any] | None = None) -> LinkAdvice:
    return assess_share_link(link(raw), contest, answers or {})


def by_id(advice: LinkAdvice) -> dict[str, LinkCheck]:
    return {c.id: c for c in advice.checks}


def test_cacsi_baidu_link_without_code(cacsi: Contest) -> None:
    advice = advise(
        "链接：https://pan.baidu.com/s/1Abc2DeF3gHiJk",
        cacsi,
        {"unit": "黑龙江省科学技术馆", "title": "光的旅行"},
    )
    assert not advice.ok
    assert advice.missing == ("code",)
    assert advice.reminders == ("permanent", "folder_name", "review")
    notes = advice.notes_zh()
    assert notes[0] == "已识别为百度网盘分享链接：https://pan.baidu.com/s/1Abc2DeF3gHiJk。"
    assert "需要提取码" in notes[1] and "?pwd=" in notes[1]
    assert any("永久有效" in n and "无法打开网盘核实" in n for n in notes)
    assert any("黑龙江省+黑龙江省科学技术馆+光的旅行" in n and "根据单位名称推断" in n for n in notes)
    assert "人工审核" in notes[-1]


def test_cacsi_baidu_link_with_code_and_all_answers(cacsi: Contest) -> None:
    answers = {"province": "北京市", "unit": "海淀区实验小学", "title": "光的旅行"}
    advice = advise("https://pan.baidu.com/s/1Abc2DeF3gHiJk?pwd=k7p2", cacsi, answers)
    assert advice.ok and advice.missing == ()
    assert advice.folder is not None and advice.folder.complete and advice.folder.guessed == ()
    assert advice.folder.text == "北京市+海淀区实验小学+光的旅行"
    checks = by_id(advice)
    assert checks["code"].ok is True
    # Nothing that needs the drive opened is ever reported as passed.
    assert checks["permanent"].ok is None and checks["folder_name"].ok is None and checks["review"].ok is None
    data = json.loads(json.dumps(advice.to_dict(), ensure_ascii=False))
    assert data["ok"] is True and data["kind"] == "share_link" and data["checked"] is False
    assert data["url"] == "https://pan.baidu.com/s/1Abc2DeF3gHiJk?pwd=k7p2"
    assert data["folder_name"] == "北京市+海淀区实验小学+光的旅行"
    assert {c["id"]: c["severity"] for c in data["checks"]}["permanent"] == "reminder"


def test_cacsi_folder_name_without_answers_has_placeholders(cacsi: Contest) -> None:
    advice = advise("https://pan.baidu.com/s/1Abc2DeF3gHiJk?pwd=k7p2", cacsi)
    assert advice.folder is not None and not advice.folder.complete
    assert advice.folder.text == "【省】+【报送单位（或个人）】+【视频名称】"
    assert any("【】处请换成实际内容" in n for n in advice.notes_zh())


def test_cacsi_names_baidu_so_another_drive_gets_a_reminder(cacsi: Contest) -> None:
    advice = advise("https://www.alipan.com/s/Ab3dEfGh1jK", cacsi)
    assert advice.ok  # not refused: the organisers decide, the entrant is warned
    assert advice.reminders[:2] == ("drive", "code")
    assert any("通知要求用百度网盘提交，您发送的是阿里云盘链接" in n for n in advice.notes_zh())


def test_most_cas_needs_neither_permanence_nor_folder_name(kepu: Contest) -> None:
    advice = advise("链接：https://pan.baidu.com/s/1Abc2DeF3gHiJk 提取码：k7p2", kepu)
    assert advice.ok
    assert advice.reminders == ("review",)
    assert advice.folder is None
    assert not any("永久有效" in n or "文件夹" in n for n in advice.notes_zh())


def test_most_cas_optional_code_is_a_reminder_not_a_failure(kepu: Contest) -> None:
    advice = advise("https://pan.quark.cn/s/1a2b3c4d5e6f", kepu)
    assert advice.ok
    assert by_id(advice)["code"].ok is None
    assert "如果分享时设置了提取码" in advice.notes_zh()[1]


def test_most_cas_baidu_link_without_code_is_missing_it(kepu: Contest) -> None:
    assert advise("https://pan.baidu.com/s/1Abc2DeF3gHiJk", kepu).missing == ("code",)


def test_baidu_code_of_the_wrong_shape(kepu: Contest) -> None:
    advice = advise("https://pan.baidu.com/s/1Abc2DeF3gHiJk?pwd=abcde", kepu)
    assert advice.missing == ("code_format",)
    assert "应为4位字母或数字" in advice.notes_zh()[1]


def test_drive_page_instead_of_share_link(kepu: Contest) -> None:
    advice = advise("https://pan.baidu.com/disk/main#/index?category=all", kepu)
    assert advice.missing == ("share_id", "code")
    assert "点“分享”" in advice.notes_zh()[1]


def test_overseas_drive_gets_a_reminder_and_no_code_question(kepu: Contest) -> None:
    advice = advise("https://drive.google.com/file/d/1AbCdEfGhIjKlMnOpQ/view", kepu)
    assert advice.reminders == ("overseas", "review")


def test_contest_without_share_links(kepu: Contest) -> None:
    files_only = kepu.model_copy(update={"delivery": kepu.delivery.model_copy(update={"accepts": ("file",)})})
    advice = advise("https://pan.baidu.com/s/1Abc2DeF3gHiJk?pwd=k7p2", files_only)
    assert advice.missing == ("not_accepted",)
    assert "不接受网盘链接" in advice.notes_zh()[1]


def test_direct_link_is_not_assessed_as_a_share(kepu: Contest) -> None:
    with pytest.raises(ValueError, match="not a share link"):
        assess_share_link(link("https://cdn.example.cn/v.mp4"), kepu, {})


def test_video_record_is_json_and_never_checked(cacsi: Contest) -> None:
    record = advise(
        "链接：https://pan.baidu.com/s/1Abc 提取码：k7p2", cacsi, {"unit": "某单位"}
    ).video_record()
    assert json.loads(json.dumps(record, ensure_ascii=False)) == record
    assert record["checked"] is False
    assert record["url"] == "https://pan.baidu.com/s/1Abc?pwd=k7p2"
    assert record["original"] == "https://pan.baidu.com/s/1Abc"


def test_drives_named(cacsi: Contest, kepu: Contest) -> None:
    assert drives_named(cacsi) == ("百度网盘",)
    assert drives_named(kepu) == ()


# ---- folder names -------------------------------------------------------------------------------


def test_folder_name_takes_answers_by_role_and_cleans_them() -> None:
    name = folder_name(
        "省＋作品名称+作者", {"province": "四川省", "title": "光/的:旅行?", "authors": ["张三", "李四"]}
    )
    assert name.parts == (("省", "四川省"), ("作品名称", "光/的:旅行?"), ("作者", "张三"))
    assert name.text == "四川省+光_的_旅行_+张三"  # 百度网盘 refuses / : ? in names
    assert name.complete


def test_folder_name_unknown_part_stays_a_placeholder() -> None:
    name = folder_name("报送单位+联系人电话", {"unit": "某中学"})
    assert name.text == "某中学+【联系人电话】"
    assert not name.complete


@pytest.mark.parametrize(
    ("unit", "province"),
    [
        ("黑龙江省科学技术馆", "黑龙江省"),
        ("黑龙江科技馆", "黑龙江省"),
        ("北京市海淀区实验小学", "北京市"),
        ("广西壮族自治区科协", "广西壮族自治区"),
        ("广西科技馆", "广西壮族自治区"),
        ("内蒙古科技馆", "内蒙古自治区"),
        ("新疆生产建设兵团第一师", "新疆生产建设兵团"),
        ("新疆维吾尔自治区科技馆", "新疆维吾尔自治区"),
        ("中国科学院物理研究所", ""),
        ("张三", ""),
        ("", ""),
    ],
)
def test_province_of(unit: str, province: str) -> None:
    assert province_of(unit) == province
