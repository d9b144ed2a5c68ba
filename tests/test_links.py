"""validators/links.py: a pasted video link is classified (cloud-drive share link or direct link)
and a share link keeps its 提取码, wherever the drive's share text puts it."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from validators.links import SHARE_HOSTS, VideoLink, drive_of, parse_video_link
from validators.text import Invalid, Valid


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
