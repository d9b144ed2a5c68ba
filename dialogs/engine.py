"""The submission dialog as a state machine over a JSON-able draft.

``DialogEngine.handle(state, event, now)`` is pure: it reads the draft state and one event and
returns the new state, the replies, and (at the confirm step) a :class:`SubmitRequest` that the
caller stores before calling :meth:`DialogEngine.submitted`.  It knows no channel and no store,
so every path is tested without Telegram, WeChat or a database.

The steps of a draft are computed from its contest: contest → channel → track → each field of
the form the channel uses → video → review.  Steps with one possible answer are filled in and
skipped.  The draft remembers the *field id*, not a position, so a preset that gains a field
does not shift the answers of drafts already under way.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from contests.events import Choice, EventKind, Incoming, Reply
from contests.rules import Channel, Contest, ContestRegistry, FieldType, Form, FormField, match_place
from dialogs.messages import Messages
from dialogs.states import DRAFT_VERSION, Step
from validators.fields import check_answer
from validators.links import VideoLink, assess_share_link, parse_video_link
from validators.text import MAX_INPUT_CHARS, Invalid

State = dict[str, Any]

# Typed words that are commands at every step.  Only a whole message counts, so a summary that
# happens to contain "返回" is still a summary.
COMMANDS: dict[str, str] = {
    "帮助": "help", "help": "help", "/help": "help", "?": "help", "？": "help",
    "返回": "back", "上一步": "back", "back": "back", "/back": "back",
    "修改": "edit", "edit": "edit", "/edit": "edit",
    "取消": "cancel", "cancel": "cancel", "/cancel": "cancel", "退出": "cancel",
    "进度": "status", "status": "status", "/status": "status",
    "开始": "start", "/start": "start", "start": "start", "继续": "start",
}  # fmt: skip
_KEEP = {"保留", "不变", "keep"}
_SKIP = {"跳过", "无", "skip", "/skip"}
_SHARE_CODE = re.compile(r"[A-Za-z0-9]{4,8}")
_UPLOAD = {"上传", "上传链接", "大文件", "大文件上传", "upload", "/upload"}
_CONFIRM = {"确认提交", "确认", "提交", "confirm", "submit", "/confirm"}  # fmt: skip
_YES = {"确认取消", "是", "确定", "yes", "y"}
_NO = {"继续填写", "否", "不", "no", "n", "继续"}
# A message longer than this is not an answer to any step: refuse it before any work.
MAX_EVENT_CHARS = MAX_INPUT_CHARS * 4
# A choice with more options than this (cq's 41 区县) is listed in the prompt's text and
# answered by name, not offered as a wall of buttons.
MAX_CHOICE_BUTTONS = 12


def copy_state(value: Any) -> Any:
    """A deep copy of a draft state (JSON data: dicts, lists, and immutable scalars).

    ``copy.deepcopy`` took a fifth of the dialog's CPU per event, most of it on its memo and
    dispatch machinery that JSON does not need."""
    if isinstance(value, dict):
        # Scalars are kept without a call: most of a draft is strings.
        return {k: v if type(v) in _SCALARS else copy_state(v) for k, v in value.items()}
    if isinstance(value, list):
        return [v if type(v) in _SCALARS else copy_state(v) for v in value]
    if isinstance(value, tuple):
        return tuple(copy_state(v) for v in value)
    return value


_SCALARS = frozenset({str, int, float, bool, type(None)})


@dataclass(frozen=True, slots=True)
class SubmitRequest:
    """What the store needs to create the submission."""

    prefix: str
    contest_id: str
    channel_id: str
    form_id: str
    answers: dict[str, Any]
    video: dict[str, Any]


@dataclass(slots=True)
class StepResult:
    """The result of one event: ``state`` None means "drop the draft"."""

    state: State | None
    replies: list[Reply] = field(default_factory=list)
    submit: SubmitRequest | None = None
    # Work only the caller can do, named: "upload_link" (mint a personal large-file upload link).
    actions: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Step:
    name: str
    field_id: str | None = None

    @property
    def token(self) -> str:
        return f"{self.name}:{self.field_id}" if self.field_id else self.name


@dataclass(frozen=True, slots=True, eq=False)
class _Plan:
    """What a draft's contest, channel and track resolve to, and the steps that follow.

    Computed once per (contest, channel, track, contest_fixed) and reused across events: the
    contests are immutable, and the draft's answers play no part in it."""

    contest: Contest | None
    channel: Channel | None
    form: Form | None
    steps: tuple[_Step, ...]
    position: dict[str, int]  # step token -> its first index in ``steps``
    fields: dict[str, tuple[int, FormField]]  # field id -> (1-based number, field)
    # Prompts (text, choices) by step token, for steps whose prompt depends on the plan alone
    # (the channel; a field or the video while unanswered); filled in as they are asked.
    prompts: dict[str, tuple[str, tuple[Choice, ...]]] = field(default_factory=dict)


# Plans kept per engine; more than this (drafts naming channels a preset no longer has) and
# the cache starts over, so it cannot grow without bound.
_MAX_PLANS = 512


def migrate(state: State | None) -> State | None:
    """Bring a stored draft to the current layout; unknown future layouts start over."""
    if state is None:
        return None
    if state.get("v") == DRAFT_VERSION:
        return state
    return None


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


def _clip(text: str, limit: int = 20) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _size_text(size: int | None) -> str:
    if size is None:
        return ""
    mib = size / (1024 * 1024)
    return f"{mib:.1f}MB" if mib >= 1 else f"{size / 1024:.0f}KB"


class DialogEngine:
    """The submission dialog.  Holds no per-user state; all of it lives in the draft."""

    def __init__(self, contests: ContestRegistry, messages: Messages) -> None:
        self.contests = contests
        self.msg = messages
        self._plans: dict[tuple[Any, ...], _Plan] = {}
        self._fixed_texts: dict[tuple[str, str], str] = {}
        self._rendered_by = messages  # what the cached prompts and texts were rendered by

    # ------------------------------------------------------------------ entry point
    def handle(
        self, state: State | None, event: Incoming, now: dt.datetime, *, contest_hint: str | None = None
    ) -> StepResult:
        """One event in, the new draft state and replies out.  ``contest_hint`` preselects a
        contest for a new draft (``chat --contest ID`` or a deep link)."""
        state = migrate(copy_state(state))
        text = event.text if event.kind in (EventKind.TEXT, EventKind.START) else ""
        if len(text) > MAX_EVENT_CHARS:
            replies = [Reply(self.msg.render("input_too_long", limit=MAX_INPUT_CHARS))]
            if state is not None:
                replies.append(self._prompt(state, now))
            return StepResult(state, replies)
        norm = _norm(text)
        command = "start" if event.kind is EventKind.START else COMMANDS.get(norm) if text else None

        if state is None:
            if command == "cancel":
                return StepResult(None, [Reply(self.msg.render("nothing_to_cancel"))])
            return self._new_draft(now, contest_hint, show_help=command == "help")

        if state["step"] == Step.CANCEL and command is None:
            return self._on_cancel_answer(state, event, now)
        if state["step"] == Step.SCAN:
            if command in ("back", "edit"):  # the submission is stored: it is not a draft any more
                return StepResult(
                    state, [Reply(self.msg.render("submitted_locked", number=state.get("number", "")))]
                )
            if command == "cancel":
                dropped = Reply(self.msg.render("scan_dropped", number=state.get("number", "")))
                return StepResult(None, [dropped])
            if command is None:
                value = (event.choice or "").partition("|")[2] if event.kind is EventKind.CHOICE else text
                return self._on_scan(state, event, value, now)
        match command:
            case "start":
                return StepResult(state, [Reply(self.msg.render("welcome_back")), self._prompt(state, now)])
            case "help":
                return StepResult(state, [Reply(self._help(state)), self._prompt(state, now)])
            case "status":
                return StepResult(state, [Reply(self._status(state, now)), self._prompt(state, now)])
            case "back":
                return self._back(state, now)
            case "edit":
                return self._edit_menu(state, now)
            case "cancel":
                if state["step"] != Step.CANCEL:
                    state["return_to"] = [state["step"], state.get("field")]  # a list, as JSON gives it back
                state["step"] = Step.CANCEL
                return StepResult(state, [self._prompt(state, now)])

        if event.kind is EventKind.CHOICE:
            token, _, value = (event.choice or "").partition("|")
            if token != self._current(state).token:
                return StepResult(state, [Reply(self.msg.render("stale_button")), self._prompt(state, now)])
            return self._answer(state, event, value, now)
        if norm.startswith(("修改", "edit")):
            rest = norm.removeprefix("修改").removeprefix("edit").strip()
            if rest.isdigit():  # "修改 3": straight to item 3 of the review page
                return self._pick_edit(state, rest, now)
        return self._answer(state, event, text, now)

    def submitted(self, state: State, number: str, *, via: str = "") -> StepResult:
        """After the store accepted the :class:`SubmitRequest`.  The draft becomes a small one
        that waits for the signed, sealed and scanned form; the submission itself is stored.
        ``via`` is the chat channel (the scan prompt says what that app can send)."""
        contest = self._contest(state)
        form = self._form(state)
        assert contest is not None and form is not None
        text = self.msg.render(
            "submitted", number=number, contest=contest, form=form, delivery=contest.delivery
        )
        scan: State = {
            "v": DRAFT_VERSION,
            "step": Step.SCAN,
            "contest": contest.id,
            "channel": state.get("channel"),
            "track": state.get("track"),
            "contest_fixed": True,
            "answers": {},
            "video": None,
            "number": number,
            "form_id": form.id,
            "scans": [],
            "via": via,
        }
        recommender = form.recommender()
        if recommender is not None and state["answers"].get(recommender.id):
            scan["recommender"] = state["answers"][recommender.id]  # shown by 进度: 待区县推荐
        return StepResult(scan, [Reply(text, meta={"number": number})])

    def scan_prompt(self, state: State) -> Reply:
        contest = self._contest(state)
        assert contest is not None
        limits = scan_limits(contest)
        return Reply(
            self.msg.render(
                "prompt_scan",
                form_title=self._scan_form_title(state),
                max_files=limits[0],
                max_mib=limits[1],
                received=len(state.get("scans") or []),
                # A WeChat official account receives pictures from its users, never files.
                photos_only=state.get("via") == "wechat",
            ),
            (Choice(self._fixed("button", "name", "scan_done"), f"{Step.SCAN}|完成"),),
        )

    def _scan_form_title(self, state: State) -> str:
        contest = self._contest(state)
        try:
            return contest.form(state.get("form_id") or "").title if contest else ""
        except KeyError:
            return ""

    def _on_scan(self, state: State, event: Incoming, value: str, now: dt.datetime) -> StepResult:
        contest = self._contest(state)
        assert contest is not None
        max_files, _max_mib = scan_limits(contest)
        scans: list[dict[str, Any]] = state.setdefault("scans", [])
        if event.kind is EventKind.FILE:
            media = event.media or {}
            if not media.get("scan_ok"):
                code = str(media.get("error") or "scan_unchecked")
                error = Reply(self._error(code, dict(media), "扫描件"), meta={"error": code})
                return StepResult(state, [error])
            if len(scans) >= max_files:
                return StepResult(state, [Reply(self._error("scan_too_many", {"max": max_files}, "扫描件"))])
            scans.append({"name": event.file.name if event.file else "", "stored": media.get("stored", "")})
            if len(scans) >= max_files:
                return StepResult(state, [], actions=["complete"])
            return StepResult(
                state, [Reply(self.msg.render("scan_received", n=len(scans), max_files=max_files))]
            )
        v = _norm(value)
        if v in {"完成", "提交", "done", "确认", "1"}:
            if not scans:
                return StepResult(
                    state, [Reply(self._error("scan_none", {}, "扫描件")), self.scan_prompt(state)]
                )
            return StepResult(state, [], actions=["complete"])
        if v in {"表格", "报名表", "form"}:
            return StepResult(state, [], actions=["send_form"])
        if v in {"新报名", "新投稿", "再报名", "new"}:  # the scan can still be sent later
            return self._new_draft(now, None, show_help=False)
        if v in _SKIP | {"稍后", "later"}:
            return StepResult(state, [Reply(self.msg.render("scan_later"))])
        return StepResult(state, [self.scan_prompt(state)])

    def completed(self, state: State, receipt_text: str = "") -> StepResult:
        """The scan arrived and the submission is complete: the receipt ends the dialog."""
        number = state.get("number", "")
        replies = [Reply(self.msg.render("completed", number=number, receipt=bool(receipt_text)))]
        if receipt_text:
            replies.append(Reply(receipt_text))
        return StepResult(None, replies)

    # ------------------------------------------------------------------ draft creation
    def _new_draft(self, now: dt.datetime, hint: str | None, *, show_help: bool) -> StepResult:
        state: State = {"v": DRAFT_VERSION, "step": Step.CONTEST, "answers": {}, "video": None}
        open_now = self.contests.open(now)
        replies = [Reply(self.msg.render("welcome", contests=open_now))]
        if show_help:
            replies.append(Reply(self._help(state)))
        if hint:
            contest = self.contests.get(hint)
            if contest is None:
                replies.append(Reply(self._error("contest_unknown", {}, self._label(Step.CONTEST))))
            elif contest.status(now) != "open":
                return StepResult(None, [*replies, Reply(self._closed_text(contest, now))])
            else:
                state["contest_fixed"] = True
                return self._choose_contest(state, contest, now, replies)
        if not open_now:
            return StepResult(None, [*replies, self._no_open(now)])
        if len(open_now) == 1:
            state["contest_fixed"] = True
            return self._choose_contest(state, open_now[0], now, replies)
        replies.append(self._prompt(state, now))
        return StepResult(state, replies)

    def _choose_contest(
        self, state: State, contest: Contest, now: dt.datetime, replies: list[Reply]
    ) -> StepResult:
        if state.get("contest") != contest.id:
            state["contest"] = contest.id
            state["channel"] = state["track"] = None
        replies.append(Reply(self.msg.render("contest_intro", contest=contest)))
        return self._advance(state, _Step(Step.CONTEST), now, replies)

    # ------------------------------------------------------------------ the steps
    def _contest(self, state: State) -> Contest | None:
        cid = state.get("contest")
        return self.contests.get(cid) if cid else None

    def _channel(self, state: State) -> Channel | None:
        return self._plan(state).channel

    def _form(self, state: State) -> Form | None:
        return self._plan(state).form

    def _sequence(self, state: State) -> tuple[_Step, ...]:
        """Every step this draft goes through, in order, given what it has chosen so far."""
        return self._plan(state).steps

    def _plan(self, state: State) -> _Plan:
        get = state.get
        cid = get("contest")
        contest = self.contests.get(cid) if cid else None
        # Every falsy channel or track means "not chosen": one key for all of them.
        key = (
            cid if contest is not None else None,
            get("channel") or None,
            get("track") or None,
            not get("contest_fixed"),
        )
        if self._rendered_by is not self.msg:
            self._forget_texts()
        try:
            plan = self._plans.get(key)
        except TypeError:  # a corrupt draft (a list for a channel id): resolve it uncached
            return self._make_plan(state, contest)
        # The registry may have been replaced: a plan is only good for the very same contest.
        if plan is None or plan.contest is not contest:
            plan = self._make_plan(state, contest)
            if len(self._plans) >= _MAX_PLANS:
                self._plans.clear()
            self._plans[key] = plan
        return plan

    def _make_plan(self, state: State, contest: Contest | None) -> _Plan:
        steps: list[_Step] = []
        channel = form = None
        if not state.get("contest_fixed"):
            steps.append(_Step(Step.CONTEST))
        if contest is not None:
            if len(contest.channels) > 1:
                steps.append(_Step(Step.CHANNEL))
            if state.get("channel"):
                try:
                    channel = contest.channel(state["channel"])
                except KeyError:
                    channel = None
        if contest is not None and channel is not None:
            if len(channel.forms) > 1:
                steps.append(_Step(Step.TRACK))
            track = state.get("track") or next(iter(channel.forms))
            form_id = channel.forms.get(track)
            form = contest.form(form_id) if form_id else None
        if form is not None:
            steps.extend(_Step(Step.FIELD, f.id) for f in form.fields)
            if (state.get("track") or "work") == "work":
                steps.append(_Step(Step.VIDEO))
            steps.append(_Step(Step.REVIEW))
        position: dict[str, int] = {}
        for i, step in enumerate(steps):
            position.setdefault(step.token, i)
        fields = {f.id: (n, f) for n, f in enumerate(form.fields, 1)} if form else {}
        return _Plan(contest, channel, form, tuple(steps), position, fields)

    def _forget_texts(self) -> None:
        self._plans.clear()
        self._fixed_texts.clear()
        self._rendered_by = self.msg

    def _fixed(self, name: str, arg: str, value: Any) -> str:
        """``msg.render(name, arg=value)`` for a message of one word (a button, a step's name):
        rendered once per value."""
        if type(value) is not str:
            return self.msg.render(name, **{arg: value})
        if self._rendered_by is not self.msg:
            self._forget_texts()
        key = (name, value)
        text = self._fixed_texts.get(key)
        if text is None:
            if len(self._fixed_texts) >= _MAX_PLANS:
                self._fixed_texts.clear()
            text = self._fixed_texts[key] = self.msg.render(name, **{arg: value})
        return text

    def _field(self, state: State, field_id: str | None) -> FormField | None:
        """The field ``field_id`` of the draft's form (None without a form or such a field)."""
        # Ids from a corrupt draft (not a string) name no field, as in a search by equality.
        entry = self._plan(state).fields.get(field_id) if type(field_id) is str else None
        return entry[1] if entry else None

    def _current(self, state: State) -> _Step:
        return _Step(state["step"], state.get("field") if state["step"] == Step.FIELD else None)

    def _goto(self, state: State, step: _Step) -> None:
        state["step"] = step.name
        state["field"] = step.field_id

    def _autofill(self, state: State) -> _Plan:
        """Steps with a single possible answer are answered for the entrant; returns the plan
        of the draft as filled in."""
        plan = self._plan(state)
        contest = plan.contest
        if contest is not None and len(contest.channels) == 1 and not state.get("channel"):
            state["channel"] = contest.channels[0].id
            plan = self._plan(state)
        channel = plan.channel
        if channel is not None and len(channel.forms) == 1 and not state.get("track"):
            state["track"] = next(iter(channel.forms))
            plan = self._plan(state)
        return plan

    def _missing(self, state: State) -> _Step | None:
        """The first step whose answer is still missing."""
        for step in self._sequence(state):
            if step.name == Step.CONTEST and not state.get("contest"):
                return step
            if step.name == Step.CHANNEL and not state.get("channel"):
                return step
            if step.name == Step.TRACK and not state.get("track"):
                return step
            if step.name == Step.FIELD and step.field_id not in state["answers"]:
                return step
            if step.name == Step.VIDEO and not state.get("video"):
                return step
        return None

    def _advance(self, state: State, done: _Step, now: dt.datetime, replies: list[Reply]) -> StepResult:
        """Move on after ``done`` was answered: to the next step, or back to the review page
        when the entrant was changing one answer."""
        plan = self._autofill(state)
        seq = plan.steps
        if state.pop("editing", False):
            target = self._missing(state) or _Step(Step.REVIEW)
        else:
            i = plan.position.get(done.token)
            if i is not None and i + 1 < len(seq):
                target = seq[i + 1]
            else:  # the last step, or one the preset no longer has
                target = self._missing(state) or _Step(Step.REVIEW)
        self._goto(state, target)
        replies.append(self._prompt(state, now, plan))
        return StepResult(state, replies)

    def _back(self, state: State, now: dt.datetime) -> StepResult:
        step = state["step"]
        if step == Step.EDIT:
            name, field_id = state.pop("edit_from", None) or (Step.REVIEW, None)
            self._goto(state, _Step(name, field_id))
            return StepResult(state, [self._prompt(state, now)])
        if step == Step.CANCEL:
            self._goto(state, self._return_step(state))
            return StepResult(state, [self._prompt(state, now)])
        plan = self._plan(state)
        seq = plan.steps
        i = plan.position.get(self._current(state).token, len(seq))
        if i <= 0:
            return StepResult(state, [Reply(self.msg.render("already_first")), self._prompt(state, now)])
        state.pop("editing", None)
        self._goto(state, seq[i - 1])
        return StepResult(state, [self._prompt(state, now)])

    def _return_step(self, state: State) -> _Step:
        name, field_id = state.pop("return_to", (Step.CONTEST, None))
        return _Step(name, field_id)

    # ------------------------------------------------------------------ review and edit
    def _items(self, state: State) -> list[tuple[_Step, str, str]]:
        """(step, label, value) for every answerable step, in review order."""
        items: list[tuple[_Step, str, str]] = []
        plan = self._plan(state)
        contest, channel, form = self._contest(state), plan.channel, plan.form
        for step in plan.steps:
            if step.name == Step.CONTEST and contest:
                items.append((step, self._step_label(state, step), contest.title))
            elif step.name == Step.CHANNEL and channel:
                items.append((step, self._step_label(state, step), channel.label))
            elif step.name == Step.TRACK and state.get("track"):
                items.append(
                    (
                        step,
                        self._step_label(state, step),
                        self._fixed("track_label", "track", state["track"]),
                    )
                )
            elif step.name == Step.FIELD and form and step.field_id in state["answers"]:
                fld = self._field(state, step.field_id)
                if fld is not None:
                    items.append((step, fld.label, self._show(fld, state["answers"][fld.id])))
            elif step.name == Step.VIDEO and state.get("video"):
                items.append(
                    (
                        step,
                        self._step_label(state, step),
                        self.msg.render("describe_video", video=state["video"]),
                    )
                )
        return items

    def _edit_menu(self, state: State, now: dt.datetime) -> StepResult:
        items = self._items(state)
        if not items:
            return StepResult(state, [Reply(self.msg.render("nothing_to_edit")), self._prompt(state, now)])
        if state["step"] not in (Step.EDIT, Step.CANCEL):
            state["edit_from"] = [state["step"], state.get("field")]
        self._goto(state, _Step(Step.EDIT))
        return StepResult(state, [self._prompt(state, now)])

    def _pick_edit(self, state: State, value: str, now: dt.datetime) -> StepResult:
        items = self._items(state)
        choice = value.strip()
        index = (
            int(choice) - 1
            if choice.isdigit()
            else next((i for i, (_, label, _v) in enumerate(items) if _norm(label) == _norm(choice)), -1)
        )
        if not 0 <= index < len(items):
            return StepResult(
                state,
                [Reply(self._error("choice_number", {"max": len(items)}, "")), self._prompt(state, now)],
            )
        step = items[index][0]
        state.pop("edit_from", None)
        state["editing"] = True
        self._goto(state, step)
        return StepResult(state, [self._prompt(state, now)])

    # ------------------------------------------------------------------ answers
    def _answer(self, state: State, event: Incoming, value: str, now: dt.datetime) -> StepResult:
        step = self._current(state)
        if event.kind is EventKind.FILE and step.name != Step.VIDEO:
            label = self._step_label(state, step)
            return StepResult(
                state, [Reply(self.msg.render("text_expected", label=label)), self._prompt(state, now)]
            )
        match step.name:
            case Step.CONTEST:
                return self._on_contest(state, value, now)
            case Step.CHANNEL:
                return self._on_channel(state, value, now)
            case Step.TRACK:
                return self._on_track(state, value, now)
            case Step.FIELD:
                return self._on_field(state, step, value, now)
            case Step.VIDEO:
                return self._on_video(state, event, value, now)
            case Step.REVIEW:
                return self._on_review(state, value, now)
            case Step.EDIT:
                return self._pick_edit(state, value, now)
        return self._new_draft(now, None, show_help=False)  # an unknown step: start over cleanly

    def _match_option(self, value: str, options: list[tuple[str, list[str]]]) -> str | int | None:
        """Pick by 1-based number or by any of an option's names; -1 for a bad number."""
        v = _norm(value)
        if v.isdigit():
            n = int(v)
            return options[n - 1][0] if 1 <= n <= len(options) else -1
        for key, names in options:
            if any(v == _norm(name) for name in names):
                return key
        return None

    def _on_contest(self, state: State, value: str, now: dt.datetime) -> StepResult:
        open_now = self.contests.open(now)
        key = self._match_option(value, [(c.id, [c.id, c.title, c.short_title]) for c in open_now])
        if isinstance(key, str):
            contest = self.contests.get(key)
            assert contest is not None
            return self._choose_contest(state, contest, now, [])
        if key == -1:
            return self._reject(
                state, "choice_number", {"max": len(open_now)}, self._label(Step.CONTEST), now
            )
        # Named a contest that is not open: say why rather than "not found".
        for contest in self.contests:
            if _norm(value) in {_norm(contest.id), _norm(contest.title), _norm(contest.short_title)}:
                return StepResult(state, [Reply(self._closed_text(contest, now)), self._prompt(state, now)])
        return self._reject(state, "contest_unknown", {}, self._label(Step.CONTEST), now)

    def _on_channel(self, state: State, value: str, now: dt.datetime) -> StepResult:
        contest = self._contest(state)
        assert contest is not None
        options = []
        for ch in contest.channels:
            names = [ch.id, ch.label]
            same_kind = [c for c in contest.channels if c.kind == ch.kind]
            if len(same_kind) == 1:  # "推荐"/"自荐" name the channel only when it is unambiguous
                names += (
                    ["推荐", "地方推荐", "单位推荐"]
                    if ch.kind == "recommend"
                    else ["自荐", "社会征集", "个人自荐"]
                )
            options.append((ch.id, names))
        key = self._match_option(value, options)
        if not isinstance(key, str):
            labels = tuple(c.label for c in contest.channels)
            if key == -1:
                return self._reject(
                    state, "choice_number", {"max": len(labels)}, self._label(Step.CHANNEL), now
                )
            return self._reject(
                state, "not_a_choice", {"options": labels}, self._label(Step.CHANNEL), now
            )
        if state.get("channel") != key:
            state["channel"] = key
            state["track"] = None
        return self._advance(state, _Step(Step.CHANNEL), now, [])

    def _on_track(self, state: State, value: str, now: dt.datetime) -> StepResult:
        channel = self._channel(state)
        assert channel is not None
        names = {"work": ["work", "微视频", "微视频作品", "作品", "视频"], "account": ["account", "科普号"]}
        key = self._match_option(value, [(t, names[t]) for t in channel.forms])
        if not isinstance(key, str):
            labels = tuple(self._fixed("track_label", "track", t) for t in channel.forms)
            return self._reject(
                state, "not_a_choice", {"options": labels}, self._label(Step.TRACK), now
            )
        state["track"] = key
        return self._advance(state, _Step(Step.TRACK), now, [])

    def _on_field(self, state: State, step: _Step, value: str, now: dt.datetime) -> StepResult:
        fld = self._field(state, step.field_id)
        if fld is None:  # the preset lost this field since the draft began
            return self._advance(state, step, now, [])
        v = _norm(value)
        if v in _KEEP and fld.id in state["answers"]:
            return self._advance(state, step, now, [Reply(self.msg.render("kept"))])
        if v in _SKIP and not fld.required:
            state["answers"][fld.id] = ""
            return self._advance(state, step, now, [])
        contest = self._contest(state)
        assert contest is not None
        if fld.role == "recommender" and not v.isdigit():
            value = match_place(value, fld.options) or value  # "渝中" names 渝中区
        result = check_answer(fld, value, contest)
        if isinstance(result, Invalid):
            return self._reject(state, result.code, result.params, fld.label, now)
        state["answers"][fld.id] = result.value
        return self._advance(state, step, now, [])

    def _on_video(self, state: State, event: Incoming, value: str, now: dt.datetime) -> StepResult:
        contest = self._contest(state)
        assert contest is not None
        accepts = contest.delivery.accepts
        label = self._label(Step.VIDEO)
        if event.kind is not EventKind.FILE and _norm(value) in _UPLOAD:
            if "file" not in accepts:
                return self._reject(state, "video_file_not_accepted", {}, label, now)
            return StepResult(state, [], actions=["upload_link"])
        if event.kind is EventKind.FILE and event.file is not None:
            info = event.file
            if "file" not in accepts:
                return self._reject(state, "video_file_not_accepted", {}, label, now)
            if (
                info.mime
                and not info.mime.startswith("video/")
                and not info.name.lower().endswith((".mp4", ".mov"))
            ):
                return self._reject(state, "video_not_video", {"name": info.name}, label, now)
            spec = contest.video
            if spec and info.size is not None:
                mib = info.size / (1024 * 1024)
                if spec.max_size_mib is not None and mib > spec.max_size_mib:
                    params = {"actual": _size_text(info.size), "max": f"{spec.max_size_mib:g}MB"}
                    return self._reject(state, "video_too_big", params, label, now)
                if spec.min_size_mib is not None and mib < spec.min_size_mib:
                    params = {"actual": _size_text(info.size), "min": f"{spec.min_size_mib:g}MB"}
                    return self._reject(state, "video_too_small", params, label, now)
            if not info.path and event.media is None:
                # The chat platform would not hand the file over (too large for bots): the
                # personal upload page takes it instead.
                too_big = Reply(
                    self.msg.render("file_too_big_for_chat", name=info.name, size=_size_text(info.size))
                )
                return StepResult(state, [too_big], actions=["upload_link"])
            if event.media is not None:
                report = Reply(
                    str(event.media.get("text", "")), meta={"media_ok": str(bool(event.media.get("ok")))}
                )
                if not event.media.get("ok"):
                    return StepResult(state, [report, Reply(self.msg.render("video_retry"))])
                size = event.media.get("size", info.size)
                checked: dict[str, Any] = {
                    "kind": "file",
                    "name": info.name,
                    "size": size,
                    "mime": info.mime,
                    "size_text": _size_text(size),
                    "checked": True,
                    "verdict": "passed",
                    "sha256": event.media.get("sha256"),
                    "stored": event.media.get("stored", ""),
                }
                state["video"] = checked
                return self._advance(state, _Step(Step.VIDEO), now, [report])
            video: dict[str, Any] = {
                "kind": "file", "name": info.name, "size": info.size, "mime": info.mime,
                "size_text": _size_text(info.size), "checked": False, "stored": info.path,
            }  # fmt: skip
        else:
            if _norm(value) in _KEEP and state.get("video"):
                return self._advance(state, _Step(Step.VIDEO), now, [Reply(self.msg.render("kept"))])
            pending = state.pop("pending_share", None)
            if pending and _SHARE_CODE.fullmatch(value.strip()):
                value = f"{pending} 提取码 {value.strip()}"  # the code asked for, typed on its own
            result = parse_video_link(value)
            if isinstance(result, Invalid):
                code = "video_expected" if result.code == "empty" else result.code
                return self._reject(state, code, result.params, label, now)
            link: VideoLink = result.value
            if link.kind == "link" and "link" not in accepts:
                code = "video_share_link_required" if "share_link" in accepts else "video_link_not_accepted"
                return self._reject(state, code, {"value": link.url}, label, now)
            if link.kind == "share_link" and "share_link" not in accepts:
                return self._reject(state, "video_link_not_accepted", {}, label, now)
            if link.kind == "share_link":
                advice = assess_share_link(link, contest, self._answers_by_role(state))
                notes = Reply("\n".join(advice.notes_zh()))
                if not advice.ok:
                    if "code" in advice.missing:
                        state["pending_share"] = value
                    return StepResult(state, [notes])
                state["video"] = advice.video_record()
                return self._advance(state, _Step(Step.VIDEO), now, [notes])
            if event.media is not None:  # the handler probed the link
                probe = Reply(str(event.media.get("text", "")))
                if event.media.get("verdict") != "passed":
                    return StepResult(state, [probe, Reply(self.msg.render("video_retry"))])
                probed: dict[str, Any] = event.media.get("report") or {}
                video = {
                    "kind": "link",
                    "url": link.url,
                    "checked": True,
                    "verdict": "passed",
                    "size": event.media.get("size"),
                    "size_text": _size_text(event.media.get("size")),
                    "sha256": None,
                    "duration_s": probed.get("duration_s"),
                }
                state["video"] = video
                return self._advance(state, _Step(Step.VIDEO), now, [probe])
            video = {"kind": "link", "url": link.url, "checked": False}
        state["video"] = video
        recorded = Reply(self.msg.render("video_recorded", video=video))
        return self._advance(state, _Step(Step.VIDEO), now, [recorded])

    def _answers_by_role(self, state: State) -> dict[str, Any]:
        """Answers by field id and by role (unit, title, ...), as the link advice reads them."""
        form = self._form(state)
        answers = dict(state["answers"])
        for fld in form.fields if form else ():
            if fld.role and fld.id in answers:
                answers.setdefault(fld.role, answers[fld.id])
        return answers

    def _on_review(self, state: State, value: str, now: dt.datetime) -> StepResult:
        v = _norm(value)
        if v in {"edit", "修改"}:
            return self._edit_menu(state, now)
        if v == "cancel":
            state["return_to"] = [Step.REVIEW, None]
            state["step"] = Step.CANCEL
            return StepResult(state, [self._prompt(state, now)])
        if v.isdigit():  # a number on the review page names the item to change
            return self._pick_edit(state, v, now)
        if v not in _CONFIRM:
            return StepResult(state, [self._prompt(state, now)])
        contest, channel, form = self._contest(state), self._channel(state), self._form(state)
        assert contest is not None
        if contest.status(now) != "open":
            return StepResult(state, [Reply(self._closed_text(contest, now))])
        missing = self._missing(state)
        if missing is not None or channel is None or form is None:
            step = missing or _Step(Step.CHANNEL)
            self._goto(state, step)
            label = self._step_label(state, step)
            return StepResult(
                state, [Reply(self.msg.render("submit_incomplete", label=label)), self._prompt(state, now)]
            )
        answers = {f.id: state["answers"][f.id] for f in form.fields if f.id in state["answers"]}
        request = SubmitRequest(
            prefix=contest.number_prefix,
            contest_id=contest.id,
            channel_id=channel.id,
            form_id=form.id,
            answers=answers,
            video=dict(state.get("video") or {}),
        )
        return StepResult(state, [], submit=request)

    def _on_cancel_answer(self, state: State, event: Incoming, now: dt.datetime) -> StepResult:
        value = (
            event.choice.partition("|")[2] if event.kind is EventKind.CHOICE and event.choice else event.text
        )
        v = _norm(value)
        if v in _YES or v == "1":
            return StepResult(None, [Reply(self.msg.render("cancelled"))])
        if v in _NO or v == "2":
            self._goto(state, self._return_step(state))
            return StepResult(state, [Reply(self.msg.render("cancel_aborted")), self._prompt(state, now)])
        return StepResult(state, [self._prompt(state, now)])

    # ------------------------------------------------------------------ rendering
    def _prompt(self, state: State, now: dt.datetime, plan: _Plan | None = None) -> Reply:
        """The current step's question; ``plan`` is the draft's, when the caller has it."""
        step = self._current(state)
        token = step.token
        if plan is None:
            plan = self._plan(state)
        contest = plan.contest
        choices: tuple[Choice, ...] = ()
        match step.name:
            case Step.CONTEST:
                open_now = self.contests.open(now)
                if not open_now:
                    return self._no_open(now)
                choices = tuple(Choice(c.title, f"{token}|{i}") for i, c in enumerate(open_now, 1))
                return Reply(self.msg.render("prompt_contest", contests=open_now), choices)
            case Step.CHANNEL:
                assert contest is not None
                if token not in plan.prompts:
                    choices = tuple(
                        Choice(c.label, f"{token}|{i}") for i, c in enumerate(contest.channels, 1)
                    )
                    plan.prompts[token] = (self.msg.render("prompt_channel", contest=contest), choices)
                return Reply(*plan.prompts[token])
            case Step.TRACK:
                channel = plan.channel
                assert contest is not None and channel is not None
                choices = tuple(
                    Choice(self._fixed("track_label", "track", t), f"{token}|{t}") for t in channel.forms
                )
                return Reply(self.msg.render("prompt_track", contest=contest), choices)
            case Step.FIELD:
                form = plan.form
                entry = plan.fields.get(step.field_id) if type(step.field_id) is str else None
                assert form is not None and entry is not None
                number, fld = entry
                current = state["answers"].get(fld.id)
                blank = current in (None, "")
                # Without an answer the prompt depends on the form alone: render it once.
                if blank and token in plan.prompts:
                    return Reply(*plan.prompts[token])
                inline = fld.type is FieldType.CHOICE and len(fld.options) > MAX_CHOICE_BUTTONS
                text = self.msg.render(
                    "prompt_field",
                    field=fld,
                    index=number,
                    total=len(form.fields),
                    current=None if blank else self._show(fld, current),
                    form=form,
                    inline_options=inline,
                )
                if fld.type is FieldType.CHOICE and not inline:
                    choices = tuple(Choice(o, f"{token}|{i}") for i, o in enumerate(fld.options, 1))
                elif fld.type is FieldType.PLEDGE:
                    choices = (Choice(self._fixed("button", "name", "agree"), f"{token}|同意"),)
                if blank:
                    plan.prompts[token] = (text, choices)
                return Reply(text, choices)
            case Step.VIDEO:
                assert contest is not None
                video = state.get("video")
                if not video and token in plan.prompts:
                    return Reply(*plan.prompts[token])
                current = self.msg.render("describe_video", video=video) if video else None
                text = self.msg.render("prompt_video", contest=contest, spec=contest.video, current=current)
                if not video:
                    plan.prompts[token] = (text, ())
                return Reply(text)
            case Step.REVIEW:
                assert contest is not None
                items = [{"label": label, "value": value} for _s, label, value in self._items(state)]
                choices = (
                    Choice(self._fixed("button", "name", "confirm"), f"{token}|confirm"),
                    Choice(self._fixed("button", "name", "edit"), f"{token}|edit"),
                    Choice(self._fixed("button", "name", "cancel"), f"{token}|cancel"),
                )
                # The page's items are numbered already: its actions are answered by their words.
                return Reply(self.msg.render("review", contest=contest, items=items), choices, numbered=False)
            case Step.EDIT:
                items = [{"label": label, "value": value} for _s, label, value in self._items(state)]
                choices = tuple(
                    Choice(f"{i['label']}：{_clip(i['value'])}", f"{token}|{n}")
                    for n, i in enumerate(items, 1)
                )
                return Reply(self.msg.render("prompt_edit", items=items), choices)
            case Step.SCAN:
                return self.scan_prompt(state)
            case Step.CANCEL:
                choices = (
                    Choice(self._fixed("button", "name", "cancel_yes"), f"{token}|1"),
                    Choice(self._fixed("button", "name", "cancel_no"), f"{token}|2"),
                )
                return Reply(self.msg.render("prompt_cancel"), choices)
        return Reply(self.msg.render("welcome", contests=[]))

    def _show(self, fld: FormField, value: Any) -> str:
        if isinstance(value, list):
            return "、".join(str(v) for v in value)
        return str(value)

    def _step_label(self, state: State, step: _Step) -> str:
        if step.name == Step.FIELD:
            fld = self._field(state, step.field_id)
            return fld.label if fld else ""
        return self._fixed("step_label", "name", step.name)

    def _label(self, step_name: str) -> str:
        return self._fixed("step_label", "name", step_name)

    def _error(self, code: str, params: dict[str, Any], label: str) -> str:
        return self.msg.render("error", code=code, p=params, label=label)

    def _reject(
        self, state: State, code: str, params: dict[str, Any], label: str, now: dt.datetime
    ) -> StepResult:
        """A wrong answer: one sentence on what is wrong, the step asked again, nothing lost."""
        return StepResult(state, [Reply(self._error(code, params, label), meta={"error": code})])

    def _help(self, state: State) -> str:
        step = self._current(state)
        fld = None
        if step.name == Step.FIELD:
            fld = self._field(state, step.field_id)
        return self.msg.render("help", step_name=step.name, contest=self._contest(state), field=fld)

    def _status(self, state: State, now: dt.datetime) -> str:
        contest, channel = self._contest(state), self._channel(state)
        seq = [s for s in self._sequence(state) if s.name in (Step.FIELD, Step.VIDEO)]
        answered = sum(
            1
            for s in seq
            if (s.name == Step.FIELD and s.field_id in state["answers"])
            or (s.name == Step.VIDEO and state.get("video"))
        )
        days = None
        if contest is not None:
            days = (contest.deadline - now.astimezone(contest.closes_at().tzinfo).date()).days
        return self.msg.render(
            "status",
            contest=contest,
            channel_label=channel.label if channel else "",
            answered=answered,
            total=len(seq),
            current_label=self._step_label(state, self._current(state)),
            days_left=days,
            number=state.get("number") if state["step"] == Step.SCAN else None,
            recommender=state.get("recommender") or "",
        )

    def _closed_text(self, contest: Contest, now: dt.datetime) -> str:
        if contest.status(now) == "upcoming":
            return self.msg.render("contest_upcoming", contest=contest)
        return self.msg.render("contest_closed", contest=contest)

    def _no_open(self, now: dt.datetime) -> Reply:
        closed = [c for c in self.contests if c.status(now) == "closed"][-5:]
        upcoming = [c for c in self.contests if c.status(now) == "upcoming"]
        return Reply(self.msg.render("no_open_contests", closed=closed, upcoming=upcoming))


def scan_limits(contest: Contest) -> tuple[int, float]:
    """How many scanned files, of what size (MiB), the signed form may come back as: the
    notice's own limits where it sets them (hlj: 最多3个、每个20M以内), else a generous cap."""
    return (contest.delivery.scan_max_files or 5, contest.delivery.scan_max_mib or 20.0)


def choices_as_text(reply: Reply) -> str:
    """A reply for a channel without buttons: its choices as a numbered list under the text,
    or, where the text numbers something else already, as the words to reply with."""
    if not reply.choices:
        return reply.text
    if not reply.numbered:
        return reply.text + "\n" + " / ".join(f"“{c.label}”" for c in reply.choices)
    lines = [f"{i}. {c.label}" for i, c in enumerate(reply.choices, 1)]
    return reply.text + "\n" + "\n".join(lines)
