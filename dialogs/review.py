"""The review page (every answer on one page: confirm, edit or cancel) and the edit menu."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from contests.events import Choice, Incoming, Reply
from contests.rules import FieldType
from dialogs.kit import DialogKit, norm
from dialogs.plans import Plan, StepRef, goto
from dialogs.results import Advance, Answer, Ask, StepResult, SubmitRequest
from dialogs.states import State, Step

_CONFIRM = {
    "确认提交", "确认", "提交", "确定提交", "提交报名", "确认无误", "confirm", "submit", "/confirm",
}  # fmt: skip
# A change asked for in plain words ("类别改一下", "我想把联系电话改成手机 13904511234", "邮箱写错了").
_CHANGE = re.compile(r"改|换|更正|更新|错了|不对|有误|写错|填错|重填|重新填|重写")
# The new value, when the message gives it: what follows "改成", "换成", "应该是"...
_NEW_VALUE = re.compile(
    r"(?:改成|改为|换成|换为|更正为|更改为|更新为|改一下为|应该是|应该为|应为|应是)[\s:：，,]*(?P<value>.+)$"
)
# Words entrants use for an item instead of its label, by the field's type or role.
_SAID_FOR: dict[str, tuple[str, ...]] = {
    "phone": ("电话", "手机", "手机号", "号码", "联系方式"),
    "email": ("邮箱", "邮件", "电邮", "email", "e-mail", "mail"),
    # "视频名称改成…": the work's title, not the video (cacsi's cell is 微视频名称).
    "title": ("名称", "片名", "标题", "题目", "作品名", "视频名称", "视频名", "视频标题", "视频题目"),
    "summary": ("简介", "介绍"),
    "authors": ("作者", "主创", "署名", "第一作者"),
    "unit": ("单位", "机构"),
    "date": ("日期", "时间"),
    "video": ("视频", "片子", "作品文件", "视频链接"),
}
_BY_LABEL = {
    "地址": ("地址", "住址", "邮寄地址"),
    "类别": ("类别", "类型", "分类"),
    "法定代表人": ("法人", "法人代表"),
}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class Item:
    """One answer on the review page.  ``key`` is what the entrant replies to change it: a
    form field's number as its prompt counted it (【3/12】 is item 3), the video the number
    after the last field; the contest, channel and track, asked before the form, by name.
    ``locked``: shown, not to be changed here (see :func:`locked`)."""

    step: StepRef
    label: str
    value: str
    key: str
    locked: bool = False

    @property
    def numbered(self) -> bool:
        return self.key.isdigit()

    def line(self, limit: int | None = None) -> str:
        value = _clip(self.value, limit) if limit else self.value
        return f"{self.key}. {self.label}：{value}" if self.numbered else f"{self.label}：{value}"


# What a submitted work's number and place follow: not changed while it is reopened by 修改 编号.
_LOCKED = {Step.CONTEST: ("改报", "大赛"), Step.CHANNEL: ("改走", "渠道"), Step.TRACK: ("改报", "申报类型")}


def locked(state: State, step: StepRef) -> bool:
    """Whether ``step`` may not be changed in this draft: the contest, channel and track of a
    submitted work reopened by 修改 编号 (its number and its unit's place go with them; another
    channel is a new entry, after 撤回)."""
    return bool(state.get("amend")) and step.name in _LOCKED


def refuse_locked(kit: DialogKit, state: State, step: StepRef) -> Reply:
    """Why a locked step (see :func:`locked`) is not changed, and what to do instead."""
    verb, other = _LOCKED[step.name]
    said = kit.msg.render(
        "amend_locked", label=kit.label(step.name), verb=verb, other=other, number=state["amend"]
    )
    return Reply(said)


def items(kit: DialogKit, state: State) -> list[Item]:
    """Every answered step in review order: the choices made before the form, then its fields
    by their numbers, then the video.  A reopened work's contest, channel and track are listed
    as locked (its contest too, which no step asks there)."""
    plan = kit.plan(state)
    found: list[Item] = []
    if state.get("amend") and plan.contest is not None and StepRef(Step.CONTEST) not in plan.steps:
        name = kit.label(Step.CONTEST)
        found.append(Item(StepRef(Step.CONTEST), name, plan.contest.title, name, locked=True))
    after_form = str(len(plan.fields) + 1)
    for step in plan.steps:
        shown = kit.steps[step.name].shown
        item = shown(kit, state, step, plan) if shown is not None else None
        if item is None:
            continue
        label, value = item
        if step.name == Step.FIELD and isinstance(step.field_id, str) and step.field_id in plan.fields:
            key = str(plan.fields[step.field_id][0])
        elif step.name == Step.VIDEO:
            key = after_form
        else:
            key = label
        found.append(Item(step, label, value, key, locked(state, step)))
    return found


def editable(kit: DialogKit, state: State) -> list[Item]:
    """The review page's items that may be changed here (the edit menu's)."""
    return [i for i in items(kit, state) if not i.locked]


def _page(found: list[Item]) -> list[dict[str, str]]:
    return [{"label": i.label, "value": i.value, "key": i.key if i.numbered else ""} for i in found]


def ask_review(kit: DialogKit, state: State, step: StepRef, plan: Plan, now: dt.datetime) -> Reply:
    assert plan.contest is not None
    found = items(kit, state)
    token = step.token
    choices = (
        Choice(kit.fixed("button", "name", "confirm"), f"{token}|confirm"),
        Choice(kit.fixed("button", "name", "edit"), f"{token}|edit"),
        Choice(kit.fixed("button", "name", "cancel"), f"{token}|cancel"),
    )
    # The page's items are numbered already: its actions are answered by their words.
    named = [i.label for i in found if not i.numbered and not i.locked]
    lines = _page(found)
    if not any(i.step.name == Step.CONTEST for i in found):
        # A contest not to be changed here (a link that named it, the only one open; a returned
        # work reopened by 修改 编号 lists it among its items) is still named, as on a page where
        # it was chosen.
        lines.insert(0, {"label": kit.label(Step.CONTEST), "value": plan.contest.title, "key": ""})
    page = kit.msg.render("review", contest=plan.contest, items=lines, named=named)
    return Reply(page, choices, numbered=False)


def read_review(
    kit: DialogKit, state: State, step: StepRef, event: Incoming, value: str, now: dt.datetime
) -> Answer:
    v = norm(value)
    if v in {"edit", "修改"}:
        return edit_menu(kit, state)
    if v == "cancel":
        state["return_to"] = [Step.REVIEW, None]
        state["step"] = Step.CANCEL
        return Ask()
    if v.isdigit():  # a number on the review page names the item to change
        return pick_edit(kit, state, v)
    if v not in _CONFIRM:
        if find_item(kit, state, v) is not None:
            return pick_edit(kit, state, v)
        return change_in_words(kit, state, event, value, now)
    contest, channel, form = kit.contest(state), kit.channel(state), kit.form(state)
    assert contest is not None
    if contest.status(now) != "open":
        return StepResult(state, [Reply(kit.closed_text(contest, now))])
    missing = kit.missing(state)
    if missing is not None or channel is None or form is None:
        target = missing or StepRef(Step.CHANNEL)
        goto(state, target)
        return Ask([Reply(kit.msg.render("submit_incomplete", label=kit.step_label(state, target)))])
    answers = {f.id: state["answers"][f.id] for f in form.fields if f.id in state["answers"]}
    request = SubmitRequest(
        prefix=contest.number_prefix,
        contest_id=contest.id,
        channel_id=channel.id,
        form_id=form.id,
        answers=answers,
        video=dict(state.get("video") or {}),
        amend=state.get("amend"),
    )
    return StepResult(state, [], submit=request)


def ask_edit(kit: DialogKit, state: State, step: StepRef, plan: Plan, now: dt.datetime) -> Reply:
    found = editable(kit, state)
    # The buttons carry the items' own keys, and their words are the menu's lines: a channel
    # without buttons shows the lines once, with the numbers of the review page.
    choices = tuple(Choice(i.line(20), f"{step.token}|{i.key}") for i in found)
    lines = [i.line(20) for i in found]
    return Reply(kit.msg.render("prompt_edit", lines=lines), choices, numbered=False)


def read_edit(
    kit: DialogKit, state: State, step: StepRef, event: Incoming, value: str, now: dt.datetime
) -> Answer:
    # "地址应该是 …" typed at the list, as on the review page: the change in plain words.
    worded = not norm(value).isdigit() and find_item(kit, state, value) is None
    if worded and (_NEW_VALUE.search(value) or named_items(kit, state, value)):
        return change_in_words(kit, state, event, value, now)
    return pick_edit(kit, state, value)


def edit_menu(kit: DialogKit, state: State) -> Ask:
    """The list of answers to change (the 修改 command, at any step)."""
    if not editable(kit, state):
        return Ask([Reply(kit.msg.render("nothing_to_edit"))])
    if state["step"] not in (Step.EDIT, Step.CANCEL):
        state["edit_from"] = [state["step"], state.get("field")]
    goto(state, StepRef(Step.EDIT))
    return Ask()


def find_item(kit: DialogKit, state: State, value: str, *, loose: bool = True) -> Item | None:
    """The review page's item that ``value`` names: by its number, or by its name; ``loose``
    also by a part of its name that fits one item only ("渠道")."""
    found = items(kit, state)
    choice = norm(value)
    if not choice:
        return None
    exact = [i for i in found if norm(i.key) == choice or norm(i.label) == choice]
    if exact or not loose:
        return exact[0] if exact else None
    partial = [i for i in found if not choice.isdigit() and len(choice) >= 2 and choice in norm(i.label)]
    return partial[0] if len(partial) == 1 else None


def pick_edit(kit: DialogKit, state: State, value: str) -> Ask:
    """To the step of the item named (by number or label); after it, back to the review."""
    item = find_item(kit, state, value)
    if item is None:
        numbers = [int(i.key) for i in items(kit, state) if i.numbered]
        return Ask([Reply(kit.error("edit_number", {"max": max(numbers, default=0)}, ""))])
    if item.locked:
        return Ask([refuse_locked(kit, state, item.step)])
    state.pop("edit_from", None)
    state["editing"] = True
    goto(state, item.step)
    return Ask()


# ---------------------------------------------------------------------- changes in plain words
def _said_names(kit: DialogKit, state: State, item: Item) -> list[str]:
    """The words that name ``item``: its label, the label's parts, and the words entrants use."""
    label = norm(item.label)
    core = re.sub(r"[（(].*?[）)]", "", label)
    names = {label, core, *(p for p in re.split(r"或|及|和|、|/", core) if len(p) >= 2)}
    if core.endswith("姓名") and len(core) >= 4:  # "联系人改成张敏": 联系人姓名
        names.add(core.removesuffix("姓名"))
    # "信用代码改成…" (统一社会信用代码), "创新点": the label's last words of three characters or more.
    names.update(core[i:] for i in range(1, len(core) - 2))
    # "申报人改成…" (单位名称（申报人）): the words in its brackets, but "或单位" or "如点击量等".
    for inner in re.findall(r"[（(]([^）)]*)[）)]", label):
        names.update(w for w in re.split(r"[、，,/]", inner) if len(w) >= 3 and w[0] not in "或如注")
    if item.step.name == Step.VIDEO:
        names.update(_SAID_FOR["video"])
    fld = kit.field(state, item.step.field_id) if item.step.name == Step.FIELD else None
    if fld is not None:
        names.update(_SAID_FOR.get(str(fld.type), ()))
        names.update(_SAID_FOR.get(fld.role or "", ()))
        for word, said in _BY_LABEL.items():
            if word in label:
                names.update(said)
    return [n for n in names if n]


def named_items(kit: DialogKit, state: State, text: str) -> list[Item]:
    """The review page's items a message names, by the longest name it holds (several when the
    same words name several: two dates, say)."""
    said = norm(text)
    found: list[tuple[int, Item]] = []
    for item in items(kit, state):
        longest = max((len(n) for n in _said_names(kit, state, item) if n in said), default=0)
        if longest:
            found.append((longest, item))
    best = max((n for n, _ in found), default=0)
    return [item for n, item in found if n == best]


# A change asked for as a question ("电话能改一下吗？", "可以把邮箱换成…吗"), not a question about
# changing ("视频改了以后要重新提交吗？").
_CHANGE_ASKED = re.compile(
    r"(?:改|换)(?:一下|下|成|为|掉|个|一个)|(?:能|可以|想|要|帮我|请|麻烦)(?:把|再|帮我)?.{0,8}?(?:修改|改|换)"
)


def wants_change(kit: DialogKit, state: State, text: str) -> bool:
    """Whether a question on the review page asks to change an item ("电话能改一下吗？"): read as
    the change, not as a question for the helpdesk."""
    return bool(_CHANGE_ASKED.search(text)) and len(named_items(kit, state, text)) == 1


def changes_another_item(kit: DialogKit, state: State, step: StepRef, text: str) -> bool:
    """Whether ``text``, typed while an item opened from the review page is asked, changes another
    item in plain words ("作品名称改成「追光者」" while 内容简介 is open): the item's name said alone
    before "改成 …", not words that merely mention it ("本片介绍作品名称的由来")."""
    given = _NEW_VALUE.search(text)
    if not state.get("editing") or step.name != Step.FIELD or given is None:
        return False
    asked = norm(_asked_name(text[: given.start()]))
    named = [i for i in items(kit, state) if asked and asked in _said_names(kit, state, i)]
    return len(named) == 1 and named[0].step.token != step.token


def _new_value(kit: DialogKit, state: State, item: Item, text: str) -> str | None:
    """The new value a change gives ("…改成手机 13904511234" → "13904511234"), if it gives one."""
    m = _NEW_VALUE.search(text)
    if m is None:
        return None
    value = m["value"].strip().strip("“”「」\"'")
    fld = kit.field(state, item.step.field_id) if item.step.name == Step.FIELD else None
    if fld is not None and fld.type in (FieldType.PHONE, FieldType.EMAIL):
        value = re.sub(r"^[\u4e00-\u9fff\s:：]+", "", value)  # "手机 139…", "邮箱 a@b.cn"
    return value.rstrip("。.！!") or None


# What is said before the item's name in "我想把联系人改成…", "请把…", and after it ("…的").
_ASKED_LEAD = re.compile(r"^(?:我|我们)?(?:想|要|想要|需要)?(?:请|麻烦|帮我|帮忙)?(?:把|将)?")
_ASKED_TAIL = re.compile(r"(?:的|这一项|这项|一栏|这一栏|那一项|那项)?[\s，,:：]*$")


def _asked_name(head: str) -> str:
    """The item's name as said before "改成" ("我想把联系人" → "联系人")."""
    return _ASKED_TAIL.sub("", _ASKED_LEAD.sub("", head.strip())).strip("“”「」\"' ")


def change_in_words(kit: DialogKit, state: State, event: Incoming, text: str, now: dt.datetime) -> Answer:
    """A message on the review page that is no command: a change asked for in plain words is
    carried out (the item opened, or changed at once when the new value is given and passes its
    check); anything else is said not to be understood, with how to change an item.  Where the
    new value is given ("地址应该是 …"), the item is named before it: only those words name it."""
    given = _NEW_VALUE.search(text)
    head = text[: given.start()] if given else text
    named = named_items(kit, state, head)
    change = bool(_CHANGE.search(head)) or given is not None
    if len(named) == 1 and (change or len(norm(text)) <= 6):
        item = named[0]
        value = _new_value(kit, state, item, text) if item.step.name == Step.FIELD else None
        if value is None:
            return pick_edit(kit, state, item.key)
        pick_edit(kit, state, item.key)
        spec = kit.steps[Step.FIELD]
        answer = spec.read(kit, state, item.step, event, value, now)
        if isinstance(answer, Advance):
            shown = spec.shown(kit, state, item.step, kit.plan(state)) if spec.shown else None
            said = kit.msg.render("changed_in_words", label=item.label, value=shown[1] if shown else value)
            return Advance([Reply(said), *answer.replies])
        if isinstance(answer, StepResult):  # refused: the item stays open, its question asked again
            prompt = spec.prompt(kit, state, item.step, kit.plan(state), now)
            return StepResult(answer.state, [*answer.replies, prompt])
        return answer
    numbered = [i for i in items(kit, state) if i.numbered]
    asked = _asked_name(head) if given is not None and not named else ""
    if change and not named and not asked:
        return edit_menu(kit, state)  # "我想改一下": the list to pick from
    said = kit.msg.render(
        "review_not_understood",
        several=[i.line() for i in named],
        example="3" if any(i.key == "3" for i in numbered) else "1",
        asked=asked,
        lines=[f"{i.key}. {i.label}" for i in numbered if not i.locked],
    )
    return Ask([Reply(said)])
