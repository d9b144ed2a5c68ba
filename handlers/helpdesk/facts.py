"""The helpdesk's entries of one contest: facts made from the preset, notice clauses, FAQ answers.

A fact states exactly what the dialog's checks accept (sizes, durations, dates, quotas), cited
to the notice where its front matter says which clause says so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from contests.rules import Contest, Form, QuotaRule
from handlers.helpdesk.analyzer import normalise
from handlers.helpdesk.index import Entry
from handlers.helpdesk.lexicon import QUANT_TOPICS, SYNONYMS
from handlers.helpdesk.quoting import best_clause, quote_of, states_all
from handlers.helpdesk.sources import Clause, FaqItem, NoticeText
from handlers.helpdesk.wanted import UNDATED


def _day(d: Any) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _span(start: Any, end: Any) -> str:
    if start and end:
        return f"{_day(start)}—{_day(end)}"
    if end:
        return f"至{_day(end)}"
    if start:
        return f"{_day(start)}起"
    return UNDATED


_OPENS_WITH_DATE = re.compile(r"\s*(?:\d{4}\s*年|\d{1,2}\s*月)")


def _minutes(seconds: int) -> str:
    return f"{seconds // 60}" if seconds % 60 == 0 else f"{seconds / 60:.1f}"


def quota_text(rule: QuotaRule, *, whole: bool = True) -> str:
    """A quota rule in the notice's words: 不超过5部, 3—5部, 科普号不超过2个 …; ``whole`` False leaves
    out the lists of units (for an answer about one unit, which says where that one stands)."""
    parts = []
    if rule.max_works is None:
        parts.append("推荐作品数量不限")
    elif rule.min_works:
        parts.append(
            f"每个限推荐作品{rule.min_works}—{rule.max_works}部（至少{rule.min_works}部，至多{rule.max_works}部）"
        )
    else:
        parts.append(f"作品不超过{rule.max_works}部")
    if rule.max_accounts is not None:
        parts.append(f"科普号不超过{rule.max_accounts}个")
    if rule.bonus and rule.bonus_units and whole:
        parts.append(f"其中{'、'.join(rule.bonus_units)}各增加{rule.bonus}部")
    if not rule.counted_in_parent:
        parts.append("不占所在省份的名额")
    text = "，".join(parts)
    if rule.units and whole:
        text += f"（适用于：{'、'.join(rule.units)}）"
    if rule.note and whole:
        text += f"。{rule.note}"
    return text


#: A cite key no section has: the clause is sought in the whole notice.  A form's minimum (粉丝量
#: 不少于1000) is stated where the notice says what may enter, not in the form's table.
_ANYWHERE = "anywhere"


class _Facts:
    """Builds the fact entries of one contest, each cited to the notice clause that states it."""

    def __init__(self, contest: Contest, notice: NoticeText | None) -> None:
        self.contest = contest
        self.notice = notice
        self.cites = notice.cites if notice else {}
        self.out: list[Entry] = []

    def cite(self, key: str, text: str) -> tuple[str, str]:
        """The notice's clause behind a fact (its citation as the notice names it, and the words quoted),
        or the contest's own rules where no notice ships (a new edition)."""
        if self.notice is None:
            return "本届大赛规则（主办方设置）", ""
        if not key:  # a cell of a form the notice names but does not print
            return "大赛规则（通知未附表样，按往年同类表格推定）", ""
        probe = key
        while probe and probe not in self.cites:
            probe = probe.rpartition(".")[0]
        clause = best_clause(self.notice, text, self.cites.get(probe, ""))
        if self.notice.borrowed_from and (clause is None or not states_all(clause.text, text)):
            # Last year's words back this year's rule only where they state its very figures.
            return "本届大赛规则（主办方设置）", ""
        if clause is None:
            return (f"{self.notice.name} {self.cites[probe]}" if probe else self.notice.name), ""
        return f"{self.notice.name} {clause.cite}", quote_of(clause.text, text)

    def add(
        self,
        fid: str,
        text: str,
        cite_key: str,
        path: str,
        keys: str = "",
        topics: Iterable[str] = (),
        *,
        silent: bool = False,
        needs: tuple[str, ...] = (),
        cite_text: str = "",
    ) -> None:
        """``cite_text``: the words to find the clause by, where ``text`` names more (a form's title
        with its 附件1 and year would find the list of attachments)."""
        del path  # the preset's key is for the organiser's eyes (tests name it); entrants see the notice
        text = _once(text)
        # "The notice does not say" has no clause to quote: only where one would have been.
        source, quote = ("通知（未规定）", "") if silent else self.cite(cite_key, cite_text or text)
        self.out.append(
            Entry(f"fact:{fid}", "fact", text, source, keys, frozenset(topics), silent, quote, needs)
        )

    def build(self) -> list[Entry]:
        self._general()
        self._dates()
        self._video()
        self._channels()
        for form in self.contest.forms:
            self._form(form)
        self._delivery()
        self._rubric_and_contacts()
        for i, gap in enumerate(self.contest.gaps):
            self.out.append(
                Entry(f"fact:gaps.{i}", "fact", f"通知没有写明：{gap}", "通知（未写明）", silent=True)
            )
        return self.out

    def _general(self) -> None:
        c = self.contest
        notice = f"{c.notice.issuer}{'（' + c.notice.document_no + '）' if c.notice.document_no else ''}"
        self.add(
            "title",
            f"本大赛为“{c.title}”，由{notice}发文，主办：{'、'.join(c.organisers)}。",
            "theme",
            "title",
            "主办 主办方 主办单位 组织 发文 文号 大赛名称 哪个单位",
        )
        theme_keys = "主题 题材 内容 方向 拍什么 领域 范围"
        self.add("theme", f"大赛主题：{c.theme}。", "theme", "theme", theme_keys, {"主题"})
        if c.audience:
            self.add(
                "audience",
                f"参赛对象：{c.audience}。",
                "audience",
                "audience",
                "参加 参赛 对象 资格 哪些单位 个人 单位 报名",
                {"参加", "资格"},
            )

    def _dates(self) -> None:
        c = self.contest
        # The entrants' deadline alone: the stages after it (cq's districts until 7月31日) have their
        # own entries, and a date beside it would be read as the deadline.
        text = f"截止日期：{_day(c.deadline)}（含当天，北京时间）。"
        if c.opens:
            text += f"征集开始：{_day(c.opens)}。"
        self.add(
            "deadline", text, "deadline", "deadline", "截止 截止日期 什么时候 提交 日期 时间 日程", {"截止"}
        )
        if c.opens:
            self.add(
                "opens",
                f"征集开始日期：{_day(c.opens)}；截止日期：{_day(c.deadline)}。",
                "opens",
                "opens",
                "开始 征集 时间 什么时候",
                {"开始"},
            )
        else:
            self.add(
                "opens",
                "通知没有写明征集开始日期（发文即可报名）。",
                "opens",
                "opens",
                "开始 征集 时间",
                {"开始"},
                silent=True,
            )
        for i, stage in enumerate(c.schedule):
            # A text that opens with its own dates ("2027年2月25日—3月6日，评审…") is not given them twice.
            span = "" if _OPENS_WITH_DATE.match(stage.text) else f"{_span(stage.start, stage.end)}。"
            self.add(
                f"schedule.{i}",
                f"{stage.name}：{span}{stage.text}",
                "schedule",
                f"schedule[{i}]",
                f"日程 安排 时间 什么时候 {stage.name}",
                # A stage that ends with a hand-over (cq's districts to the committee by 7月31日) is
                # another deadline: the words of the question (区县, 组委会) tell it from the entrants'.
                {"日程", "截止"}
                if stage.end and stage.end != c.deadline and "报送" in stage.text
                else {"日程"},
            )
        keys = "制作 完成 时间 年份 拍摄 哪年 作品 时间范围"
        if c.production_window:
            w = c.production_window
            self.add(
                "production_window",
                f"作品须在{_span(w.start, w.end)}之间完成制作。{w.note}",
                "production_window",
                "production_window",
                keys,
                {"年份", "制作"},
            )
        if c.broadcast_window:
            w = c.broadcast_window
            self.add(
                "broadcast_window",
                f"作品须在{_span(w.start, w.end)}之间公开播出过。{w.note}",
                "broadcast_window",
                "broadcast_window",
                "播出 公开 播放 平台 网址 证明 播过 上线 " + keys,
                {"年份", "播出"},
            )
        if not c.production_window and not c.broadcast_window:
            self.add(
                "windows",
                "通知没有规定作品的制作或播出时间范围。",
                "production_window",
                "production_window",
                keys + " 播出 公开",
                {"年份", "制作"},
                silent=True,
            )

    def _video(self) -> None:
        v = self.contest.video
        if v is None:
            self.add(
                "video",
                "通知没有给出视频的技术要求。",
                "video",
                "video",
                "视频 要求 技术 格式 时长 大小",
                {"格式", "时长", "大小", "分辨率"},
                silent=True,
            )
            return

        def spec(fid: str, text: str | None, missing: str, path: str, keys: str, topics: set[str]) -> None:
            if text:
                self.add(f"video.{fid}", text, "video", path, keys, topics)
            else:  # "the notice sets no size" answers only a question about the size
                needs = tuple(topics)
                self.add(f"video.{fid}", missing, "video", path, keys, topics, silent=True, needs=needs)

        fmt = f"视频格式须为{v.container.upper()}。" if v.container else None
        spec("format", fmt, "通知没有规定视频文件格式。", "video.container", "视频 格式 文件", {"格式"})
        lo, hi = v.min_duration_s, v.max_duration_s
        if lo and hi:
            dur: str | None = f"视频时长须为{_minutes(lo)}～{_minutes(hi)}分钟（{lo}～{hi}秒）。"
        elif hi:
            dur = f"视频时长不超过{_minutes(hi)}分钟（{hi}秒）。"
        elif lo:
            dur = f"视频时长不少于{_minutes(lo)}分钟（{lo}秒）。"
        else:
            dur = None
        spec(
            "duration",
            dur,
            "通知没有规定视频时长。",
            "video.min_duration_s/max_duration_s",
            "视频 时长 分钟 长",
            {"时长"},
        )
        smin, smax = v.min_size_mib, v.max_size_mib
        size = None
        if smin is not None and smax is not None:
            size = f"单个视频大小须在{smin:g}～{smax:g}兆（MiB）之间。"
        elif smax is not None:
            size = f"单个视频大小不超过{smax:g}兆（MiB）。"
        elif smin is not None:
            size = f"单个视频大小不小于{smin:g}兆（MiB）。"
        spec(
            "size",
            size,
            "通知没有规定视频文件大小。",
            "video.min_size_mib/max_size_mib",
            "视频 文件 大小 兆",
            {"大小"},
        )
        if v.resolutions:
            res: str | None = "视频分辨率须为" + "或".join(f"{w}×{h}" for w, h in v.resolutions) + "。"
        elif v.min_height:
            res = f"视频分辨率须为{v.min_height}P及以上（画面高度不低于{v.min_height}像素）。"
        else:
            res = None
        # "最好为高清视频" is advice, not a resolution: said with the silence, in one entry (as two,
        # the note alone won "分辨率要多少" and read like a rule).
        advice = None if res else next((n for n in v.notes if "高清" in n or "清晰" in n), None)
        if advice:
            res = f"通知没有规定具体的视频分辨率，只说{advice}。"
        spec(
            "resolution",
            res,
            "通知没有规定视频分辨率。",
            "video.resolutions/min_height",
            "视频 分辨率 清晰",
            {"分辨率"},
        )
        shape = {"landscape": "横屏（横版）", "portrait": "竖屏（竖版）", None: ""}[v.orientation]
        aspect = (
            f"画面比例须为{v.aspect_ratio}{shape}。"
            if v.aspect_ratio
            else (f"画面须为{shape}。" if shape else None)
        )
        spec(
            "aspect",
            aspect,
            "通知没有规定画面比例或横竖屏。",
            "video.aspect_ratio/orientation",
            "视频 画面 比例 横竖",
            {"画幅"},
        )
        spec(
            "language",
            # A language rule that names no subtitles leaves them to the entrant: said, not implied.
            (f"语言和字幕：{v.language}。" + ("" if "字幕" in v.language else "通知没有写明是否必须加字幕。"))
            if v.language
            else None,
            "通知没有规定视频的语言和字幕。",
            "video.language",
            "视频 语言 字幕 配音 解说",
            {"语言"},
        )
        if v.audio_required:
            self.add(
                "video.audio",
                "视频须有声音（音轨）。",
                "video",
                "video.audio_required",
                "声音 音轨 配音",
            )
        for i, note in enumerate(v.notes):
            if note == advice:
                continue  # said in the resolution's entry
            # A note is free text; it answers the intents it names (最好为高清 -> 分辨率).
            topics = {
                t
                for t in QUANT_TOPICS
                if any(len(w) > 1 and w in normalise(note) for w in SYNONYMS.get(t, ()))
            }
            if "%" in note:  # a share of the length ("非原创…不得超过总时长的10%") is no rule of length
                topics.discard("时长")
            self.add(
                f"video.notes.{i}", f"视频要求：{note}。", "video", f"video.notes[{i}]", "视频 要求", topics
            )

    def _channels(self) -> None:
        c = self.contest
        for ch in c.channels:
            forms = "、".join(f"《{c.form(fid).title}》" for fid in ch.forms.values())
            text = f"{ch.label}：{ch.description}。"
            if ch.submitter:
                text += f"提交人：{ch.submitter}。"
            text += f"使用{forms}。"
            keys = "推荐 单位推荐 推荐单位 渠道 报名 参加 资格"
            if ch.kind == "self":
                keys = "自荐 社会征集 个人 机构 渠道 报名 参加 资格"
            self.add(f"channels.{ch.id}", text, f"channels.{ch.id}", f"channels[{ch.id}]", keys, {"资格"})
            for rule in ch.quota:
                keys = f"名额 推荐 数量 上限 几部 {rule.label} {' '.join(rule.units)}"
                self.add(
                    f"quota.{ch.id}.{rule.kind}",
                    f"{ch.label}·{rule.label}：{quota_text(rule)}。",
                    f"quota.{ch.id}",
                    f"channels[{ch.id}].quota[{rule.kind}]",
                    keys,
                    {"名额"},
                )

    def _form(self, form: Form) -> None:
        name = f"《{form.title}》" + (f"（{form.attachment}）" if form.attachment else "")
        key = f"forms.{form.id}"
        labels = "、".join(f.label for f in form.fields if f.type.value != "pledge")
        text = f"{name}的栏目：{labels}。"
        if not form.reproduced:
            text += "通知只列出表名、未附表样，以主办方下发的表样为准。"
        # A question about the form's cells asks of a table (表, 栏, 填, 哪些): "没有单位给我审核怎么办"
        # shares 自荐/审核/个人 with the list of cells but asks of the review itself.
        self.add(
            f"{key}.fields", text, key, f"forms[{form.id}].fields", f"{form.title} 表 表格 栏目 填写 模板",
            needs=_ASKS_OF_CELLS,
        )  # fmt: skip
        if form.signatures:
            text = f"{name}的签字、盖章栏：{'；'.join(form.signatures)}。"
            if form.footnotes:
                text += "表注：" + "；".join(form.footnotes) + "。"
            if not form.reproduced:  # the columns are inferred: say so, do not pass them off as the notice's
                text += "（通知没有给出表样，以上按往年同类表格推定，以主办方下发的表样为准。）"
            self.add(
                f"{key}.signatures",
                text,
                key,
                f"forms[{form.id}].signatures",
                f"{form.title} 盖章 签字 手写 印章",
                {"盖章", "签字", "手写"},
            )
        required = [
            f"「{f.label}」"
            + "，".join(
                ([f"限{f.max_chars}字以内"] if f.max_chars else [])
                + ([f"不少于{f.min_value}"] if f.min_value else [])
            )
            + (f"（{f.hint}）" if f.hint and f.min_value else "")  # the hint names the rule and its unit
            for f in form.fields
            if f.max_chars or f.min_value
        ]
        if len(required) > 1:
            minimums = any(f.min_value for f in form.fields)
            self.add(
                f"{key}.requirements",
                f"{name}的填写要求（申报条件）：{'；'.join(required)}。",
                _ANYWHERE if minimums else key,
                f"forms[{form.id}].fields",
                f"{form.title} 要求 条件 填写 申报 字数"
                # minimums are what an entry must reach to take part ("需要满足啥条件才能参评")
                + (" 满足 达到 最低 参评 参加" if minimums else ""),
                {"字数"} if any(f.max_chars for f in form.fields) else set(),
            )
        for f in form.fields:
            limits = []
            if f.max_chars and not form.reproduced:
                # A limit read off last year's form: said as such, not as this notice's rule.
                limits.append(
                    f"通知未附表样，没有写明字数（往年同类表格限{f.max_chars}字以内，以主办方下发的表样为准）"
                )
            elif f.max_chars:
                limits.append(f"限{f.max_chars}字以内")
            if f.min_value is not None:
                limits.append(f"不少于{f.min_value}")
            if f.options:
                limits.append("可选：" + "、".join(f.options))
            if f.type.value == "pledge":
                limits.append(f"承诺原文：{f.text}")
            window = self.contest.production_window if f.window == "production" else (
                self.contest.broadcast_window if f.window == "broadcast" else None
            )  # fmt: skip
            if window is not None:  # "播出时间有什么要求": the date must fall in the notice's window
                limits.append(f"须在{_span(window.start, window.end)}之间")
            if f.hint:
                limits.append(f.hint)
            if limits:
                self.add(
                    f"{key}.{f.id}",
                    f"{name}「{f.label}」：{'；'.join(limits)}。",
                    # the window's clause where the cell has one; a form the notice does not
                    # reproduce has no clause of its own to quote
                    f"{f.window}_window"
                    if window is not None
                    else (_ANYWHERE if f.min_value is not None else (key if form.reproduced else "")),
                    f"forms[{form.id}].fields[{f.id}]",
                    f"{form.title} {f.label} 填写{' 字数' if f.max_chars else ''}",
                    {"字数"} if f.max_chars else set(),
                    cite_text=f"{f.label}不少于{f.min_value}；{f.hint}" if f.min_value is not None else "",
                )

    def _delivery(self) -> None:
        d = self.contest.delivery
        for i, method in enumerate(d.methods):
            self.add(
                f"delivery.{i}",
                f"提交方式：{method}。",
                "delivery",
                f"delivery.methods[{i}]",
                "提交方式 提交 报送 渠道 邮箱 邮寄 上传 报名",
                {"提交方式"},
            )
        if d.share_folder_name:
            self.add(
                "delivery.folder",
                f"网盘文件夹以“{d.share_folder_name}”命名。",
                "delivery",
                "delivery.share_folder_name",
                "网盘 文件夹 命名 名称",
                {"命名"},
            )
        if d.share_link_permanent:
            self.add(
                "delivery.permanent",
                "网盘链接地址需设置为永久有效链接。",
                "delivery",
                "delivery.share_link_permanent",
                "网盘 链接 有效 永久",
            )
        if d.scan_limits:
            self.add(
                "delivery.scan_limits",
                f"推荐表或自荐表扫描件的上传限制：{d.scan_limits}。",
                "delivery.scan_limits",
                "delivery.scan_limits",
                "推荐表 自荐表 扫描件 附件 上传 大小 文件",
                {"大小"},
                needs=("扫描件", "附件", "推荐表", "自荐表", "申报表", "报送表", "表", "扫描"),
            )

    def _rubric_and_contacts(self) -> None:
        c = self.contest
        if c.rubric:
            items = []
            for r in c.rubric:
                weight = (
                    f"{r.points:g}分"
                    if r.points is not None
                    else (f"{r.weight_percent:g}%" if r.weight_percent is not None else "")
                )
                items.append(f"{r.criterion}{weight}" + (f"（{r.description}）" if r.description else ""))
            self.add(
                "rubric",
                "评分标准：" + "；".join(items) + "。" + _rubric_totals(c),
                "rubric",
                "rubric",
                "评分 评审 评选 标准",
                {"评分"},
            )
        else:
            self.add(
                "rubric",
                "通知没有给出评分标准。",
                "rubric",
                "rubric",
                "评分 评审 评选 标准",
                {"评分"},
                silent=True,
            )
        for i, ct in enumerate(c.contacts):
            parts = [f"联系方式·{ct.role}："]
            if ct.names:
                parts.append(f"联系人 {'、'.join(ct.names)}；")
            if ct.phones:
                parts.append(f"电话 {'、'.join(ct.phones)}；")
            if ct.emails:
                parts.append(f"邮箱 {'、'.join(ct.emails)}；")
            if ct.address:
                parts.append(f"地址 {ct.address}；")
            if ct.note:
                parts.append(f"（{ct.note}）")
            self.add(
                f"contacts.{i}",
                "".join(parts).rstrip("；") + "。",
                "contacts",
                f"contacts[{i}]",
                f"联系 电话 联系人 咨询 邮箱 找谁 {ct.role}",
                {"联系方式"},
            )
        if not c.contacts:
            self.add(
                "contacts",
                "通知没有公布联系人和联系电话。",
                "contacts",
                "contacts",
                "联系 电话 联系人 咨询 找谁",
                {"联系方式"},
                silent=True,
            )


#: Words one of which a question about a form's list of cells has (表, 栏目, 填, 哪些 …).
_ASKS_OF_CELLS = (
    "推荐表",
    "自荐表",
    "申报表",
    "报送表",
    "表",
    "表格",
    "栏",
    "栏目",
    "填",
    "填写",
    "写",
    "项",
    "项目",
    "模板",
    "内容",
    "信息",
    "格",
    "哪些",
    "样表",
    "表样",
)


def _once(text: str) -> str:
    """``text`` without a sentence that repeats the end of the one before ("单位推荐·…：推荐作品数量
    不限。推荐作品数量不限。": the rule's words and the notice's note, which here say the same)."""
    out: list[str] = []
    for sentence in re.findall(r"[^。]+。?", text):
        if not out or not out[-1].strip().endswith(sentence.strip()):  # "…：数量不限。数量不限。"
            out.append(sentence)
    return "".join(out)


def _rubric_totals(contest: Contest) -> str:
    """Each criterion's points added up, where the notice lists one criterion in several rows (cq's
    题材内容 30 + 30): "题材内容一共多少分" is asked, and the sum is the reader's to do otherwise."""
    totals: dict[str, list[float]] = {}
    for r in contest.rubric:
        if r.points is None:
            return ""
        totals.setdefault(r.criterion, []).append(r.points)
    if all(len(p) == 1 for p in totals.values()):
        return ""
    said = "、".join(
        f"{name}共{sum(p):g}分" + (f"（{'+'.join(f'{x:g}' for x in p)}）" if len(p) > 1 else "")
        for name, p in totals.items()
    )
    return f"各项合计：{said}；满分{sum(sum(p) for p in totals.values()):g}分。"


#: "以下两种方式", "参考以下建议": a list follows; "（以下简称协会）" only names (cacsi's greeting, which
#: took the whole notice in as its list).
INTRODUCES_A_LIST = re.compile(r"以下(?!简称|称)")


def with_its_list(clauses: Sequence[Clause], i: int) -> str:
    """A clause that introduces a list ("…同时通过以下两种方式提交材料。") with the list's items, so
    that quoting it answers the question ("哪两种方式") rather than announcing the answer."""
    text = clauses[i].text
    if not INTRODUCES_A_LIST.search(text):
        return text
    items = []
    for later in clauses[i + 1 :]:
        if not later.cite.startswith(clauses[i].cite + " "):
            break
        items.append(later.text)
    return " ".join([text, *items]) if items else text


def build_entries(contest: Contest, notice: NoticeText | None, faq: Sequence[FaqItem] = ()) -> list[Entry]:
    """Every entry of one contest: preset facts, notice clauses, FAQ answers."""
    entries = _Facts(contest, notice).build()
    if notice:
        clauses = notice.clauses
        for i, clause in enumerate(clauses):
            entries.append(
                Entry(
                    f"clause:{i}",
                    "clause",
                    with_its_list(clauses, i),
                    f"{notice.name} {clause.cite}",
                    clause.headings,
                )
            )
    for item in faq:
        source = f"常见问题（主办方）{'；' + item.source if item.source else ''}"
        # An organiser's answer that says the notice is silent is a "the notice does not say" reply.
        silent = item.answer.lstrip().startswith(("通知没有", "通知未"))
        entries.append(
            Entry(
                f"faq:{item.id}", "faq", item.answer.strip(), source, " ".join(item.questions), silent=silent
            )
        )
    return entries
