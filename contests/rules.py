"""Contest rules as data: the typed models of one notice.

A contest is one YAML file (see ``contests/presets/``), read and checked by
:mod:`contests.registry`; :mod:`contests.editions` makes next year's from it.  Everything the
assistant asks and checks comes from these models: channels (推荐/自荐), the form each channel
uses and its fields, the video spec, the dates and the quota rules.  Where a notice is silent or
garbled, the preset records it in ``gaps`` instead of inventing a rule.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from contests.names import is_person

SHANGHAI = ZoneInfo("Asia/Shanghai")
_ID = r"^[a-z0-9][a-z0-9_-]{1,63}$"
# Characters a Windows folder name cannot hold, and their full-width forms (the net disks refuse
# them too), with controls.
_KIND_ONLY = re.compile(r"个人|团队|本人|个人团队|团队个人|个人/团队")
_FORM_NAME = re.compile(r"(推荐表|自荐表|申报表|报送表)$")  # a form's kind, the end of its title
_FOLDER_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f＜＞：＂／＼｜？＊]')


class _Model(BaseModel):
    # Unknown keys are errors: a typo in a preset must not silently drop a rule.
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldType(StrEnum):
    TEXT = "text"
    CHOICE = "choice"
    PHONE = "phone"
    EMAIL = "email"
    USCC = "uscc"  # 统一社会信用代码
    URL = "url"
    DATE = "date"
    INTEGER = "integer"
    PEOPLE = "people"  # 主创人员: names in order, the first is the first author
    PLEDGE = "pledge"  # 承诺: fixed text the entrant agrees to before signing by hand


class Window(_Model):
    """An inclusive date range such as a production or broadcast window."""

    start: dt.date | None = None
    end: dt.date | None = None
    note: str = ""

    def contains(self, day: dt.date) -> bool:
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end)


#: Written into a form's fixed text where the notice's own words are lost (许可其在土〔原文此处缺字〕
#: 动分发平台): the printed form shows it in bold, so that nobody signs a sentence broken unseen.
LOST_WORDS = "〔原文此处缺字〕"


class FormField(_Model):
    """One cell of a paper form that the entrant fills in through the dialog."""

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
    label: str
    type: FieldType = FieldType.TEXT
    required: bool = True
    min_chars: int | None = Field(default=None, ge=0)
    max_chars: int | None = Field(default=None, ge=1)
    multiline: bool = False
    options: tuple[str, ...] = ()
    allow_other: bool = False  # the notice's list is a suggestion, not a closed set
    min_value: int | None = None
    max_value: int | None = None
    must_contain_url: bool = False  # e.g. 播出平台及网址: the notice asks for the playing address
    window: Literal["production", "broadcast"] | None = None  # DATE must fall in that window
    text: str = ""  # PLEDGE: the commitment, word for word (LOST_WORDS where the notice's are lost)
    hint: str = ""  # shown under the prompt: what the notice says about this cell
    # ``recommender``: the unit the entrant submits *through* (cq: 报送区县), a CHOICE among the
    # units that select and recommend.  The entry waits for that unit's choice instead of using
    # a place at confirm; the paper form has no cell for it (the layout omits it).
    # ``review_way`` and ``reviewers``: who reviewed a self-nominated work and how (most-cas
    # 附件1 三、3: its unit, or two experts of 副高 title or above); ``province`` and ``cover``:
    # what the notice asks of the materials (cacsi's folder name, its 封面图); ``membership``:
    # the kind of member an entry is made as, which picks its quota rule (:attr:`QuotaRule.chosen_by`).
    role: (
        Literal[
            "title", "authors", "unit", "phone", "email", "summary", "recommender",
            "review_way", "reviewers", "province", "cover", "membership",
        ]
        | None
    ) = None  # fmt: skip
    # CHOICE: the options a channel allows, where the channel decides the answer (cacsi: 是否为
    # 会员 is 是 in the 会员 channel, 否 in 其他机构和个人自荐).  Channel id -> options.
    channel_options: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> FormField:
        if self.type is FieldType.CHOICE and not self.options:
            raise ValueError("a choice field needs options")
        if self.type is FieldType.PLEDGE and not self.text:
            raise ValueError("a pledge field needs its text")
        if self.min_chars and self.max_chars and self.min_chars > self.max_chars:
            raise ValueError("min_chars is larger than max_chars")
        if self.role == "recommender" and self.type is not FieldType.CHOICE:
            raise ValueError("a recommender field is a choice among the recommending units")
        for channel_id, allowed in self.channel_options.items():
            if not allowed or not set(allowed) <= set(self.options):
                raise ValueError(f"channel_options[{channel_id}] must be some of the field's options")
        return self


class Form(_Model):
    """A paper form of the notice (推荐表, 自荐表, 报送表, 申报表)."""

    id: Annotated[str, Field(pattern=_ID)]
    title: str
    attachment: str = ""  # 附件 number in the notice
    reproduced: bool = True  # False: the notice names the form but does not print it
    track: Literal["work", "account"] = "work"
    fields: tuple[FormField, ...]
    signatures: tuple[str, ...] = ()  # blanks signed or sealed by hand, as printed
    footnotes: tuple[str, ...] = ()

    @field_validator("fields")
    @classmethod
    def _unique_ids(cls, fields: tuple[FormField, ...]) -> tuple[FormField, ...]:
        seen: set[str] = set()
        for f in fields:
            if f.id in seen:
                raise ValueError(f"duplicate field id {f.id!r}")
            seen.add(f.id)
        return fields

    def field(self, field_id: str) -> FormField | None:
        return next((f for f in self.fields if f.id == field_id), None)

    def recommender(self) -> FormField | None:
        """The field naming the unit the entry is submitted through (role ``recommender``), if any."""
        return next((f for f in self.fields if f.role == "recommender"), None)

    def own_words(self, text: str) -> str:
        """A sentence of the notice with this form named where it names the 推荐表: most-cas
        writes "视频片头名称应与推荐表一致" for every route, and a 自荐 entrant's form is the 自荐表."""
        found = _FORM_NAME.search(self.title)
        if found is None or found.group(1) == "推荐表" or found.group(1) in text:
            return text
        return text.replace("推荐表", found.group(1))


class QuotaRule(_Model):
    """How many entries one recommending unit of a kind may send through a channel."""

    kind: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    label: str
    max_works: int | None = Field(default=None, ge=0)  # None: the notice sets no limit
    min_works: int | None = Field(default=None, ge=0)
    max_accounts: int | None = Field(default=None, ge=0)
    units: tuple[str, ...] = ()  # named units of this kind, when the notice lists them
    bonus_units: tuple[str, ...] = ()  # units granted ``bonus`` extra places (e.g. 三区 provinces)
    bonus: int = 0
    counted_in_parent: bool = True  # False: does not use up its province's places
    # The level of place a unit of this kind stands for, when the notice names a level rather
    # than a list (省、自治区、直辖市 / 计划单列市、副省级城市 / 新疆生产建设兵团): an imported
    # unit's name must name such a place (:mod:`contests.names`).
    places: tuple[Literal["province", "sub_provincial", "xpcc"], ...] = ()
    note: str = ""
    # The answer of the form's ``membership`` field that puts an entry under this rule (cacsi
    # 会员推荐/申报: 单位会员 or 个人会员), where the entrant says which kind of member they are.
    chosen_by: str = ""
    # The entrant holds these places themselves (个人会员: one 科普号, one work each), as a
    # self-entrant does; otherwise a unit does, and confirms the entries naming it.
    personal: bool = False


class EntryRoute(_Model):
    """A way in: 地方/部门推荐 (recommended by a unit) or 社会征集/自荐.  The notices and the
    YAML call it a channel (渠道); in code a channel is a chat platform."""

    id: Annotated[str, Field(pattern=_ID)]
    kind: Literal["recommend", "self"]
    label: str
    description: str = ""
    forms: dict[Literal["work", "account"], str]  # track -> form id
    quota: tuple[QuotaRule, ...] = ()
    submitter: str = ""  # who may submit (第一作者 / 第一制作单位 ...)
    # The ``schedule`` stage in which the recommending units choose among the entries submitted
    # through them (cq: 初审阶段, 6/1–7/31); used with a form field of role ``recommender``.
    selection_stage: str = ""

    def chosen_rule(self, form: Form, answers: Mapping[str, Any]) -> QuotaRule | None:
        """The quota rule the entrant's answer to ``form``'s ``membership`` field picks (cacsi
        会员推荐/申报: 个人会员 → 科普号1个，作品1部), or None."""
        fld = next((f for f in form.fields if f.role == "membership"), None)
        said = str(answers.get(fld.id) or "").strip() if fld is not None else ""
        return next((r for r in self.quota if said and r.chosen_by == said), None)


class ContentRule(_Model):
    """One content requirement of the notice, checked from the decoded video.

    ``clause`` quotes the notice; ``condition`` is True only where the notice makes the rule a
    condition of entry (取消资格, 不再参加): a failure is then ✗, otherwise a warning (⚠).
    """

    clause: str
    condition: bool = False


class DuplicateRule(ContentRule):
    """The notice's rule against a work entered twice, and whose works it speaks of: ``this``
    edition's entries (most-cas 重复推荐), ``earlier`` editions' works (hlj 已参加过历届), or
    ``all``.  Left out, it is read from the clause (历届/往届: earlier ones).  A match the clause
    does not speak of is told plainly, for the organisers to check, and never cites it."""

    editions: Literal["this", "earlier", "all"] | None = None

    def covers(self, *, earlier: bool) -> bool:
        """Whether the clause speaks of a match in an earlier edition (or in this one)."""
        editions = self.editions or ("earlier" if re.search("历届|往届", self.clause) else "all")
        return editions == "all" or editions == ("earlier" if earlier else "this")


class ContentSpec(_Model):
    """What the notice asks of the video's content; a None rule is not checked (the notice is silent).

    Things a machine cannot judge honestly (真人出镜, 声画同步 without a reference) go in
    ``manual``: the report lists them as 需人工确认 with their clause, never as passed.
    """

    loudness: ContentRule | None = None  # 音量适中、无时大时小 (EBU R128)
    silence: ContentRule | None = None  # long silences, a silent track
    picture: ContentRule | None = None  # black or frozen stretches, 跳帧漏帧
    subtitles: ContentRule | None = None  # soft track or burned-in Chinese subtitles
    simplified: bool = False  # the notice says 简体: traditional characters are reported
    title_card: ContentRule | None = None  # 片头名称应与推荐表一致: the opening shows the title
    credits: ContentRule | None = None  # 片尾应体现主创人员、制作单位、版权单位、录制时间
    credit_items: tuple[str, ...] = ()  # what the credits must name; empty: any closing text
    no_title_card: ContentRule | None = None  # cq 去除片头片尾: an opening title card is reported
    watermark: ContentRule | None = None  # 去除所有水印: platform marks in a corner
    duplicates: DuplicateRule | None = None  # 重复推荐取消资格 / 已参加过历届: told to the entrant
    manual: tuple[ContentRule, ...] = ()


class VideoSpec(_Model):
    """What the notice demands of the video file; None means the notice says nothing."""

    container: Literal["mp4"] | None = None
    min_duration_s: int | None = Field(default=None, ge=0)
    max_duration_s: int | None = Field(default=None, ge=0)
    resolutions: tuple[tuple[int, int], ...] = ()  # exact sizes allowed (cq: 1920×1080 or 1280×720)
    min_height: int | None = None  # "1080P以上"
    aspect_ratio: str | None = None  # "16:9"
    orientation: Literal["landscape", "portrait"] | None = None
    min_size_mib: float | None = None  # 兆/M in the notices are MiB
    max_size_mib: float | None = None
    audio_required: bool = False
    language: str = ""
    notes: tuple[str, ...] = ()
    content: ContentSpec = ContentSpec()

    @field_validator("aspect_ratio")
    @classmethod
    def _ratio(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"\d+:\d+", value):
            raise ValueError("aspect_ratio looks like '16:9'")
        return value


class Contact(_Model):
    role: str
    names: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    address: str = ""
    note: str = ""


class MaterialsDelivery(_Model):
    """How the materials reach the organisers."""

    accepts: tuple[Literal["file", "link", "share_link"], ...] = ("file", "link", "share_link")
    methods: tuple[str, ...]
    share_folder_name: str = ""  # a naming rule the notice prescribes
    # The form fields whose answers make that name, in its order (cacsi: 省+报送单位+视频名称).
    share_folder_fields: tuple[str, ...] = ()
    share_link_permanent: bool = False
    scan_limits: str = ""
    scan_max_files: int | None = Field(
        default=None, ge=1
    )  # the signed form's scans, when the notice limits them
    scan_max_mib: float | None = Field(default=None, gt=0)


class RubricItem(_Model):
    criterion: str
    points: float | None = None
    weight_percent: float | None = None
    description: str = ""


class Stage(_Model):
    name: str
    start: dt.date | None = None
    end: dt.date | None = None
    text: str = ""


class Notice(_Model):
    issuer: str
    document_no: str = ""
    date: dt.date | None = None
    seed: str = ""  # the source text this preset was written from


class Contest(_Model):
    """One edition of one contest, as its notice sets it."""

    id: Annotated[str, Field(pattern=_ID)]
    title: str
    short_title: str
    year: int = Field(ge=2000, le=2100)
    number_prefix: Annotated[str, Field(pattern=r"^[A-Z]{2,6}\d{4}$")]
    notice: Notice
    organisers: tuple[str, ...]
    theme: str
    audience: str = ""
    opens: dt.date | None = None
    deadline: dt.date
    schedule: tuple[Stage, ...] = ()
    production_window: Window | None = None
    broadcast_window: Window | None = None
    channels: tuple[EntryRoute, ...]
    forms: tuple[Form, ...]
    video: VideoSpec | None = None
    delivery: MaterialsDelivery
    rubric: tuple[RubricItem, ...] = ()
    rules: tuple[str, ...] = ()  # other rules from the notice, quoted or closely paraphrased
    contacts: tuple[Contact, ...] = ()
    gaps: tuple[str, ...] = ()  # what the notice leaves silent or garbled
    series: str = ""  # set by ``contests new`` so that later editions share the first one's lineage
    # Set by ``contests new`` when no opening date was given: a copy of last year's rules, not yet
    # checked against the new notice, is never open to entrants.  The organiser, having checked
    # it, writes ``opens`` and deletes ``draft: true``.
    draft: bool = False

    @model_validator(mode="after")
    def _references(self) -> Contest:
        form_ids = {f.id for f in self.forms}
        if len(form_ids) != len(self.forms):
            raise ValueError("duplicate form id")
        channel_ids = [c.id for c in self.channels]
        if len(set(channel_ids)) != len(channel_ids):
            raise ValueError("duplicate channel id")
        for channel in self.channels:
            for track, form_id in channel.forms.items():
                if form_id not in form_ids:
                    raise ValueError(f"channel {channel.id!r} names unknown form {form_id!r}")
                if self.form(form_id).track != track:
                    raise ValueError(f"channel {channel.id!r}: form {form_id!r} is not a {track} form")
        if self.opens and self.opens > self.deadline:
            raise ValueError("opens is after deadline")
        for field_id in self.delivery.share_folder_fields:
            if not any(f.field(field_id) for f in self.forms):
                raise ValueError(f"delivery.share_folder_fields names unknown field {field_id!r}")
        return self

    def share_folder(self, form: Form, answers: dict[str, Any]) -> str | None:
        """The net-disk folder's name the notice prescribes, made of this entry's answers (None
        while one of them is missing, or when the notice prescribes none for this form)."""
        ids = self.delivery.share_folder_fields
        # A part is the form's field of that id, else of that role: cacsi's 科普号申报表 names
        # its folder by the 科普号名称 (role title) where the 微视频申报表 has its 视频名称 (title).
        cells = [form.field(i) or next((f for f in form.fields if f.role == i), None) for i in ids]
        values = [answers.get(f.id) for f in cells if f is not None]
        # "个人" in 所属单位（团队、个人）: the kind of body, where the folder wants its name (报送单位
        # （或个人）): the person's, the form's first name of a person (主要负责人姓名).
        person = next((answers.get(f.id) for f in form.fields if f.label.endswith("姓名")), None)
        values = [person if person and isinstance(v, str) and _KIND_ONLY.fullmatch(v) else v for v in values]
        if not ids or len(values) != len(ids) or not all(isinstance(v, str) and v for v in values):
            return None
        # A folder's name holds no character Windows (and the net disks) refuse: the title
        # “宇宙有多大？” names the folder “宇宙有多大”.
        name = "+".join(_FOLDER_UNSAFE.sub("", str(v)) for v in values)
        return name.rstrip(". ")

    # --- lookups -------------------------------------------------------------------------
    def form(self, form_id: str) -> Form:
        for form in self.forms:
            if form.id == form_id:
                return form
        raise KeyError(form_id)

    def by_individual(self, channel_id: str | None, form_id: str | None, answers: dict[str, Any]) -> bool:
        """A 自荐 entry made by a person, not an organisation: the form's unit field (自荐机构
        （个人）) names a person.  Such an entrant signs by hand and has no seal to add."""
        try:
            channel, form = self.channel(channel_id or ""), self.form(form_id or "")
        except KeyError:
            return False
        unit = next((f for f in form.fields if f.role == "unit"), None)
        if channel.kind != "self" or unit is None or not isinstance(answers.get(unit.id), str):
            return False
        membership = next((f for f in form.fields if f.role == "membership"), None)
        if membership is not None and answers.get(membership.id) == "单位会员":
            return False  # cacsi's 单位会员 enters as the unit it is, whatever its name looks like
        authors = next((answers.get(f.id) for f in form.fields if f.role == "authors"), None)
        people = authors if isinstance(authors, list) else str(authors or "").split("、")
        return is_person(answers[unit.id], [str(p) for p in people])

    def channel(self, channel_id: str) -> EntryRoute:
        for channel in self.channels:
            if channel.id == channel_id:
                return channel
        raise KeyError(channel_id)

    def stage(self, name: str) -> Stage | None:
        """The schedule stage called ``name`` (None when there is none, e.g. a copied edition)."""
        return next((s for s in self.schedule if s.name == name), None) if name else None

    @property
    def lineage(self) -> str:
        """The contest across its editions (earlier works are compared against it): ``series``,
        else the id without its year (most-cas-2024-kepu → most-cas-kepu).  Not the numbering
        prefix: two contests of one ministry share KP."""
        return self.series or re.sub(r"-?\d{4}(?=-|$)", "", self.id)

    def tracks(self) -> list[str]:
        """Entry tracks in a stable order: ``work`` (微视频) first, then ``account`` (科普号)."""
        found = {t for c in self.channels for t in c.forms}
        return [t for t in ("work", "account") if t in found]

    # --- dates (Asia/Shanghai) -----------------------------------------------------------
    def closes_at(self) -> dt.datetime:
        """The deadline is the whole of its day in Beijing time."""
        return dt.datetime.combine(self.deadline + dt.timedelta(days=1), dt.time(), SHANGHAI)

    def day_of(self, now: dt.datetime) -> dt.date:
        """The calendar day ``now`` falls on where the contest is run (Beijing time)."""
        return now.astimezone(SHANGHAI).date()

    def opens_at(self) -> dt.datetime | None:
        return dt.datetime.combine(self.opens, dt.time(), SHANGHAI) if self.opens else None

    def status(self, now: dt.datetime) -> Literal["draft", "upcoming", "open", "closed"]:
        if self.draft:
            return "draft"
        opens = self.opens_at()
        if opens and now < opens:
            return "upcoming"
        return "open" if now < self.closes_at() else "closed"

    def window(self, name: str) -> Window | None:
        return {"production": self.production_window, "broadcast": self.broadcast_window}.get(name)

    def example_date(self, fld: FormField) -> dt.date:
        """A date to show as the example of ``fld``'s format: a real one of this edition (the
        first of the last month its window allows, before the deadline), not a fixed year."""
        window = self.window(fld.window) if fld.window else None
        last = min(d for d in (window.end if window else None, self.deadline) if d is not None)
        day = last.replace(day=1)
        return max(day, window.start) if window and window.start else day

    def summary(self) -> dict[str, Any]:
        """What ``contests --json`` prints for this contest."""
        return {
            "id": self.id,
            "title": self.title,
            "year": self.year,
            "opens": self.opens.isoformat() if self.opens else None,
            "deadline": self.deadline.isoformat(),
            "channels": [
                {"id": c.id, "kind": c.kind, "label": c.label, "forms": dict(c.forms)} for c in self.channels
            ],
            "forms": [
                {
                    "id": f.id,
                    "title": f.title,
                    "track": f.track,
                    "fields": [
                        {
                            "id": fld.id,
                            "label": fld.label,
                            "type": fld.type.value,
                            "required": fld.required,
                            "limits": _limits(fld),
                        }
                        for fld in f.fields
                    ],
                }
                for f in self.forms
            ],
        }


def _limits(fld: FormField) -> dict[str, Any]:
    limits: dict[str, Any] = {}
    for name in ("min_chars", "max_chars", "min_value", "max_value", "window"):
        value = getattr(fld, name)
        if value is not None:
            limits[name] = value
    if fld.options:
        limits["options"] = list(fld.options)
        limits["allow_other"] = fld.allow_other
    return limits
