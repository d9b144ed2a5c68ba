"""Video links: tell a cloud-drive share link from a direct link, and pick up its 提取码.

A share link cannot be opened from the server (it needs a browser session and often a code),
so it is recorded for the organisers' review and never reported as checked.
:func:`share_link_of` puts a share link in its canonical form (host, path, code) and
:func:`assess_share_link` says what the entrant still has to do for a given contest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from contests.names import province_of
from contests.rules import Contest, FieldType
from validators.text import URL_TAIL, Invalid, Result, Valid, check_url, clean_text

# ---- the drives ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Drive:
    """One cloud drive: its hosts, the shapes of its share links and how it takes a code."""

    key: str
    name: str  # as Chinese users know it
    hosts: tuple[str, ...]  # host suffixes its share links use (a subdomain counts)
    # (pattern over "host/path?query#fragment", canonical URL with {id} and {host}[, a prefix
    # the id lacks in this form]).  A pattern matches from the start; what follows the id (a
    # file name, "#list/path=...") is dropped.
    forms: tuple[tuple[str, ...], ...]
    code: Literal["required", "optional", "none"] = "optional"  # "none": the drive has no codes
    code_param: str = ""  # the link itself carries the code as ?<param>=<code>
    code_word: str = "提取码"  # what the drive's own pages call it
    code_shape: str = r"[A-Za-z0-9]{2,12}"
    code_hint: str = ""  # the shape in words, where the drive fixes it
    aliases: tuple[str, ...] = ()  # other names a notice may use (百度云)
    overseas: bool = False  # often unreachable from mainland China


_ID = r"(?P<id>[A-Za-z0-9_-]+)"
_END = r"(?=$|[/?#.])"
_H = r"[^/]+"  # any host of the drive: drive_for has already matched it

DRIVES: tuple[Drive, ...] = (
    Drive(
        "baidu",
        "百度网盘",
        ("pan.baidu.com", "yun.baidu.com"),
        (
            (rf"{_H}/s/{_ID}{_END}", "https://pan.baidu.com/s/{id}"),
            # The old form carries the id without its leading "1": /share/init?surl=Abc == /s/1Abc.
            (rf"{_H}/(?:share|wap)/init\?(?:.*&)?surl={_ID}", "https://pan.baidu.com/s/{id}", "1"),
        ),
        code="required",  # a 百度网盘 share opens only with its 4-character 提取码
        code_param="pwd",
        code_shape=r"[A-Za-z0-9]{4}",
        code_hint="4位字母或数字",
        aliases=("百度云", "百度网盘", "百度云盘"),
    ),
    Drive(
        "aliyun",
        "阿里云盘",
        ("alipan.com", "aliyundrive.com", "alywp.net"),
        (
            (rf"{_H}/s/{_ID}(?P<rest>/folder/[A-Za-z0-9]+)?{_END}", "https://www.alipan.com/s/{id}{rest}"),
            (rf"alywp\.net/{_ID}$", "https://www.alipan.com/s/{id}"),  # the app's short link
        ),
        aliases=("阿里云盘", "阿里网盘", "阿里云网盘"),
    ),
    Drive(
        "quark",
        "夸克网盘",
        ("pan.quark.cn",),
        ((rf"{_H}/s/{_ID}{_END}", "https://pan.quark.cn/s/{id}"),),
        aliases=("夸克网盘", "夸克云盘"),
    ),
    Drive(
        "tianyi",
        "天翼云盘",
        ("cloud.189.cn",),
        (
            (rf"{_H}/t/{_ID}{_END}", "https://cloud.189.cn/t/{id}"),
            # In /web/share?code=... the "code" is the share id, not the 访问码.
            (rf"{_H}/web/share\?(?:.*&)?code={_ID}", "https://cloud.189.cn/t/{id}"),
            (rf"{_H}/share\.html#/t/{_ID}", "https://cloud.189.cn/t/{id}"),  # h5.cloud.189.cn
        ),
        code_word="访问码",
        aliases=("天翼云盘", "天翼云"),
    ),
    Drive(
        "weiyun",
        "腾讯微云",
        ("share.weiyun.com",),
        ((rf"{_H}/{_ID}/?(?=$|[?#])", "https://share.weiyun.com/{id}"),),
        code_word="密码",
        aliases=("腾讯微云", "微云"),
    ),
    Drive(
        "123pan",
        "123云盘",
        ("123pan.com", "123pan.cn", "123684.com", "123865.com", "123912.com", "123592.com"),
        # The numbered domains are the same service (made for links opened inside WeChat).
        ((rf"{_H}/s/{_ID}(?:\.html)?{_END}", "https://www.123pan.com/s/{id}"),),
        aliases=("123云盘", "123网盘", "123盘"),
    ),
    Drive(
        "lanzou",
        "蓝奏云",
        ("lanzou.com", "lanzoui.com", "lanzoux.com", "lanzouw.com", "lanzn.com"),
        # 蓝奏云 rotates its domains and blocks old ones: keep the host the entrant was given.
        ((rf"{_H}/(?:tp/)?(?P<id>[A-Za-z0-9_-]{{5,}})/?(?=$|[?#])", "https://{host}/{id}"),),
        code_word="密码",
        aliases=("蓝奏云", "蓝奏"),
    ),
    Drive(
        "caiyun",
        "中国移动云盘",
        ("caiyun.139.com", "yun.139.com"),
        (
            (rf"{_H}/[mw]/i[?/]{_ID}", "https://caiyun.139.com/m/i?{id}"),
            (rf"{_H}/shareweb/#/w/i/{_ID}", "https://yun.139.com/shareweb/#/w/i/{id}"),
        ),
        aliases=("中国移动云盘", "移动云盘", "和彩云"),
    ),
    Drive(
        "xunlei",
        "迅雷云盘",
        ("pan.xunlei.com",),
        ((rf"{_H}/s/{_ID}{_END}", "https://pan.xunlei.com/s/{id}"),),
        code_param="pwd",
        aliases=("迅雷云盘", "迅雷网盘"),
    ),
    Drive(
        "115",
        "115网盘",
        ("115.com", "115cdn.com", "anxia.com"),
        ((rf"{_H}/s/{_ID}{_END}", "https://115.com/s/{id}"),),
        code_param="password",
        code_word="访问码",
        aliases=("115网盘",),
    ),
    Drive(
        "uc",
        "UC网盘",
        ("drive.uc.cn",),
        ((rf"{_H}/s/{_ID}{_END}", "https://drive.uc.cn/s/{id}"),),
        aliases=("UC网盘",),
    ),
    Drive(
        "jianguoyun",
        "坚果云",
        ("jianguoyun.com",),
        ((rf"{_H}/p/{_ID}{_END}", "https://www.jianguoyun.com/p/{id}"),),
        code_word="访问密码",
        aliases=("坚果云",),
    ),
    Drive(
        "cowtransfer",
        "奶牛快传",
        ("cowtransfer.com",),
        ((rf"{_H}/s/{_ID}{_END}", "https://cowtransfer.com/s/{id}"),),
        code_word="口令",
        aliases=("奶牛快传",),
    ),
    Drive(
        "wenshushu",
        "文叔叔",
        ("wenshushu.cn", "wss.ink", "wss1.cn"),
        ((rf"{_H}/f/{_ID}{_END}", "https://www.wenshushu.cn/f/{id}"),),
        code_word="取件码",
        aliases=("文叔叔",),
    ),
    Drive(
        "360",
        "360安全云盘",
        ("yunpan.360.cn", "yunpan.com"),
        ((rf"{_H}/surl_{_ID}{_END}", "https://yunpan.360.cn/surl_{id}"),),
        aliases=("360安全云盘", "360云盘"),
    ),
    Drive(
        "ctfile",
        "城通网盘",
        ("ctfile.com",),
        ((rf"{_H}/[fd]/{_ID}{_END}", "https://{host}/f/{id}"),),
        code_word="访问密码",
        aliases=("城通网盘",),
    ),
    Drive(
        "gdrive",
        "Google Drive",
        ("drive.google.com",),
        (
            (rf"{_H}/file/d/{_ID}{_END}", "https://drive.google.com/file/d/{id}"),
            (rf"{_H}/drive/(?:u/\d+/)?folders/{_ID}{_END}", "https://drive.google.com/drive/folders/{id}"),
            (rf"{_H}/open\?(?:.*&)?id={_ID}", "https://drive.google.com/open?id={id}"),
        ),
        code="none",
        overseas=True,
    ),
    Drive(
        "onedrive",
        "OneDrive",
        ("1drv.ms", "onedrive.live.com"),
        ((rf"{_H}/(?P<id>.+)", "https://{host}/{id}"),),  # short links carry their whole path
        code="none",
        overseas=True,
    ),
    Drive(
        "dropbox",
        "Dropbox",
        ("dropbox.com",),
        ((rf"{_H}/(?P<id>(?:s|scl/f[io])/[A-Za-z0-9_-]+)", "https://www.dropbox.com/{id}"),),
        code="none",
        overseas=True,
    ),
)
_BY_KEY = {d.key: d for d in DRIVES}

# host suffix -> the drive's name as Chinese users know it
SHARE_HOSTS: dict[str, str] = {host: d.name for d in DRIVES for host in d.hosts}
# 蓝奏云 rotates through many one-letter variants of its domain (lanzoui, lanzoum, lanzouw ...).
_LANZOU = re.compile(r"(?:.+\.)?lanzou[a-z]?\.com")
# The code is a whole word: "barcode12345" holds no code, and "提取码: abcd1234efgh" is not
# "abcd1234".  "pwd=abcd" is how 百度网盘 writes it outside the link as well.
_CODE = re.compile(
    r"(?:提取码|提取碼|访问码|取件码|口令|密码|(?<![A-Za-z])(?:pwd|code))\s*[:：=]?\s*([A-Za-z0-9]{4,8})(?![A-Za-z0-9])",
    re.IGNORECASE,
)
# Addresses end where URL_TAIL says, so a 提取码 glued to the link stays out of it.
_HTTP_URL = re.compile(rf"https?://{URL_TAIL}", re.IGNORECASE)
# Another scheme is found as itself (and refused by check_url) rather than as a bare address
# after its "://": "ftp://x.cn/v.mp4" must not become https://x.cn/v.mp4.
_ANY_URL = re.compile(rf"(?<![a-z0-9+.\-])[a-z][a-z0-9+.\-]*://{URL_TAIL}?", re.IGNORECASE)
# A bare address: a name or an IPv4 address, and a port ("127.0.0.1:8099/phone.mp4").
_BARE_URL = re.compile(
    rf"(?<![a-z0-9.@/:\-])(?:(?:[a-z0-9-]+\.)+[a-z]{{2,}}|\d{{1,3}}(?:\.\d{{1,3}}){{3}})(?::\d{{1,5}})?/{URL_TAIL}?",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class VideoLink:
    url: str
    kind: str  # "share_link" or "link"
    drive: str = ""
    code: str = ""


def drive_for(host: str) -> Drive | None:
    """The drive whose share links live on ``host`` (a subdomain counts; a lookalike does not)."""
    host = host.lower().rstrip(".")
    for drive in DRIVES:
        for suffix in drive.hosts:
            if host == suffix or host.endswith("." + suffix):
                return drive
    return _BY_KEY["lanzou"] if _LANZOU.fullmatch(host) else None


def drive_of(host: str) -> str:
    drive = drive_for(host)
    return drive.name if drive else ""


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
    drive = drive_for(parts.hostname or "")
    if drive is None:
        return Valid(VideoLink(url=url, kind="link"))
    query = parse_qs(parts.query)
    code = (query.get("pwd") or query.get(drive.code_param or "pwd") or [""])[0]
    rest = text[: m.start()] + " " + text[m.end() :]
    if not code and (cm := _CODE.search(rest)):
        code = cm.group(1)
    return Valid(VideoLink(url=url, kind="share_link", drive=drive.name, code=code))


# ---- one share link, normalised -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShareLink:
    """A share link in canonical form: what the organisers are given to open."""

    url: str  # canonical host and path; the code as ?pwd= where the drive reads it there
    drive: Drive
    share_id: str  # "" when the link is not a share of this drive (e.g. its home page)
    code: str
    original: str  # the link as the entrant sent it


def share_link_of(link: VideoLink) -> ShareLink | None:
    """The canonical form of a share link; ``None`` for a direct link."""
    parts = urlsplit(link.url)
    host = (parts.hostname or "").lower().rstrip(".")
    drive = drive_for(host)
    if link.kind != "share_link" or drive is None:
        return None
    locator = host + (parts.path or "/")
    if parts.query:
        locator += "?" + parts.query
    if parts.fragment:
        locator += "#" + parts.fragment
    for pattern, template, *prefix in drive.forms:
        m = re.match(pattern, locator)
        if m is None:
            continue
        groups = {k: v or "" for k, v in m.groupdict().items()}
        groups["id"] = "".join(prefix) + groups["id"]
        url = template.format(host=host, **groups)
        if drive.code_param and link.code and re.fullmatch(drive.code_shape, link.code):
            url += ("&" if "?" in url else "?") + f"{drive.code_param}={link.code}"
        return ShareLink(url, drive, groups["id"], link.code, link.url)
    return ShareLink(link.url, drive, "", link.code, link.url)


# ---- the folder name a notice prescribes ----------------------------------------------------

# Which answer fills which part of a naming rule such as "省+报送单位（或个人）+视频名称".
# Keys are roles (contests.rules.FormField.role) or field ids, tried in order.
_PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"省|地区|地市", ("province",)),
    (r"单位|个人|机构", ("unit",)),
    (r"作者|姓名", ("authors", "author", "name")),
    (r"名称|题目|标题", ("title",)),
)
# Characters 百度网盘 and Windows refuse in a file or folder name.
_NOT_IN_NAMES = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


@dataclass(frozen=True, slots=True)
class FolderName:
    """A folder name filled in from the draft; unknown parts stay as 【label】 placeholders."""

    rule: str
    parts: tuple[tuple[str, str], ...]  # (the rule's label, the value or "")
    guessed: tuple[str, ...] = ()  # labels whose value was inferred (a province from the unit)

    @property
    def text(self) -> str:
        # Joined as the notice writes the rule ("省+报送单位+视频名称"), as the form's prompt shows it.
        return "+".join(_NOT_IN_NAMES.sub("_", v) if v else f"【{label}】" for label, v in self.parts)

    @property
    def complete(self) -> bool:
        return all(v for _, v in self.parts)


def _answer_text(value: Any) -> str:
    if isinstance(value, list | tuple):
        value = value[0] if value else ""  # people: the first author names the work
    return clean_text(str(value)) if value is not None else ""


def folder_name(rule: str, answers: Mapping[str, Any]) -> FolderName:
    """Fill a naming rule (``省+报送单位（或个人）+视频名称``) from draft answers keyed by role or
    field id (``province``, ``unit``, ``title``, ``authors``).  A missing province is taken from
    the start of the unit's name when it begins with one, and marked as guessed."""
    parts: list[tuple[str, str]] = []
    guessed: list[str] = []
    for label in (p.strip() for p in re.split(r"[+＋]", rule)):
        if not label:
            continue
        keys = next((keys for pattern, keys in _PARTS if re.search(pattern, label)), ())
        value = next((v for k in keys if (v := _answer_text(answers.get(k)))), "")
        if not value and "province" in keys and (value := province_of(_answer_text(answers.get("unit")))):
            guessed.append(label)
        parts.append((label, value))
    return FolderName(rule, tuple(parts), tuple(guessed))


# ---- what the entrant still has to do -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LinkCheck:
    """One point about a share link.  ``ok`` is None where nobody can tell without opening the
    drive (永久有效, the folder's name, the video itself): a reminder, never a pass."""

    id: str
    ok: bool | None
    actual: str
    expected: str
    message: str

    @property
    def severity(self) -> str:
        return {True: "info", False: "error", None: "reminder"}[self.ok]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ok": self.ok,
            "actual": self.actual,
            "expected": self.expected,
            "message": self.message,
            "severity": self.severity,
        }


@dataclass(frozen=True, slots=True)
class LinkAdvice:
    """What a share link still needs for one contest.  Nothing here was verified online."""

    share: ShareLink
    checks: tuple[LinkCheck, ...]
    folder: FolderName | None = None

    @property
    def missing(self) -> tuple[str, ...]:
        """What the entrant must act on: ``not_accepted``, ``share_id``, ``code``, ``code_format``."""
        return tuple(c.id for c in self.checks if c.ok is False)

    @property
    def reminders(self) -> tuple[str, ...]:
        """What nobody can verify here: ``drive``, ``overseas``, ``code`` (if one was set),
        ``permanent``, ``folder_name``, ``review``."""
        return tuple(c.id for c in self.checks if c.ok is None)

    @property
    def ok(self) -> bool:
        return not self.missing

    def notes_zh(self) -> list[str]:
        """What to tell the entrant: the link as it will be recorded, then what is wrong, then
        what to see to, one sentence each."""
        s, d = self.share, self.share.drive
        code = f"（{d.code_word} {s.code}）" if s.code else ""
        notes = [f"已识别为{d.name}分享链接：{s.url}{code}。"]
        notes += [c.message for c in self.checks if c.ok is False]
        notes += [c.message for c in self.checks if c.ok is None]
        return notes

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``check-link --json`` for a share link."""
        return {
            "ok": self.ok,
            "kind": "share_link",
            "checked": False,  # a share link is never opened by the server
            "review": "organiser",
            **self.video_record(),
            "drive_id": self.share.drive.key,
            "reminders": list(self.reminders),
            "folder_complete": self.folder.complete if self.folder else None,
            "checks": [c.to_dict() for c in self.checks],
            "notes": self.notes_zh(),
        }

    def video_record(self) -> dict[str, Any]:
        """What the dialog stores as the draft's video for this link (JSON-safe)."""
        s = self.share
        return {
            "kind": "share_link",
            "url": s.url,
            "original": s.original,
            "drive": s.drive.name,
            "share_id": s.share_id,
            "code": s.code,
            "checked": False,
            "missing": list(self.missing),
            "folder_name": self.folder.text if self.folder else "",
        }


def drives_named(contest: Contest) -> tuple[str, ...]:
    """The drives a notice prescribes, read from its delivery methods and its link fields."""
    texts = list(contest.delivery.methods)
    for form in contest.forms:
        texts += [f"{f.label} {f.hint}" for f in form.fields if f.type is FieldType.URL]
    blob = " ".join(texts)
    return tuple(d.name for d in DRIVES if any(alias in blob for alias in (d.name, *d.aliases)))


def assess_share_link(
    link: VideoLink, contest: Contest, answers: Mapping[str, Any] | None = None
) -> LinkAdvice:
    """What the entrant must still do for this share link in this contest, and what to remind
    them of.  ``answers`` (by role or field id: ``unit``, ``title``, ``province``) fill in the
    folder name the notice prescribes.  Raises ValueError for a direct link."""
    share = share_link_of(link)
    if share is None:
        raise ValueError(f"not a share link: {link.url}")
    d, delivery = share.drive, contest.delivery
    checks: list[LinkCheck] = []
    accepts = "、".join(_ACCEPTS.get(a, a) for a in delivery.accepts)

    if "share_link" not in delivery.accepts:
        checks.append(
            LinkCheck(
                "not_accepted",
                False,
                "网盘链接",
                accepts,
                f"本大赛不接受网盘链接，请按通知要求提交（{accepts}）。",
            )
        )
    if not share.share_id:
        checks.append(
            LinkCheck(
                "share_id",
                False,
                share.original,
                f"{d.name}分享链接",
                f"这不是{d.name}的分享链接（可能是网盘首页或个人文件页，别人打不开）："
                f"请在{d.name}里选中视频或文件夹，点“分享”，复制分享链接后发送。",
            )
        )
    named = drives_named(contest)
    if named and d.name not in named:
        checks.append(
            LinkCheck(
                "drive",
                None,
                d.name,
                "或".join(named),
                f"通知要求用{'或'.join(named)}提交，您发送的是{d.name}链接，请先向主办方确认是否接受。",
            )
        )
    if d.overseas:
        checks.append(
            LinkCheck("overseas", None, d.name, "国内网盘", f"{d.name}在国内常常打不开，建议改用国内网盘。")
        )
    if d.code != "none":
        checks.append(_code_check(share))
    if delivery.share_link_permanent:
        checks.append(
            LinkCheck(
                "permanent",
                None,
                "无法核实",
                "永久有效",
                "通知要求网盘链接设置为“永久有效”：系统无法打开网盘核实，请在分享时把有效期选为“永久有效”。",
            )
        )
    folder = None
    if delivery.share_folder_name:
        folder = folder_name(delivery.share_folder_name, answers or {})
        checks.append(LinkCheck("folder_name", None, folder.text, folder.rule, _folder_note(folder)))
    checks.append(
        LinkCheck(
            "review",
            None,
            "未打开",
            "主办方人工审核",
            "网盘链接无法由系统打开检查，已记录，将由主办方人工审核；请自行确认视频符合通知要求。",
        )
    )
    return LinkAdvice(share, tuple(checks), folder)


_ACCEPTS = {"file": "视频文件", "link": "视频下载链接", "share_link": "网盘分享链接"}


def _code_check(share: ShareLink) -> LinkCheck:
    """The 提取码: given and plausible, missing where the drive needs one, or a reminder."""
    d, code, word = share.drive, share.code, share.drive.code_word
    if code and not re.fullmatch(d.code_shape, code):
        hint = f"（应为{d.code_hint}）" if d.code_hint else ""
        return LinkCheck(
            "code_format", False, code, word, f"“{code}”不像{d.name}的{word}{hint}，请核对后重新发送。"
        )
    if code:
        return LinkCheck("code", True, code, word, f"{word} {code}")
    if d.code == "required":
        param = f"（含 ?{d.code_param}=）" if d.code_param else ""
        return LinkCheck(
            "code",
            False,
            "未提供",
            word,
            f"{d.name}的分享链接需要{word}才能打开，请把{word}一并发送（如“{word}：ab12”），"
            f"或发送分享时复制的完整链接{param}。",
        )
    return LinkCheck(
        "code",
        None,
        "未提供",
        f"如设置了{word}须提供",
        f"如果分享时设置了{word}，请一并发送，否则主办方打不开。",
    )


def _folder_note(folder: FolderName) -> str:
    note = f"通知规定文件夹命名为“{folder.rule}”，请命名为：{folder.text}"
    if folder.guessed:
        note += f"（{'、'.join(folder.guessed)}根据单位名称推断，请核对）"
    if not folder.complete:
        note += "（【】处请换成实际内容）"
    return note + "。"
