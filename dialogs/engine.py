"""The submission dialog: an interpreter of the steps declared in :mod:`dialogs.steps`.

``DialogEngine.handle(state, event, now)`` is pure: it reads the draft state and one event and
returns the new state, the replies, and (at the confirm step) a
:class:`~dialogs.results.SubmitRequest` that the caller stores before calling
:meth:`DialogEngine.submitted`.  It knows no channel and no store, so every path is tested
without Telegram, WeChat or a database.

What the engine itself decides is what every step shares: the typed commands (帮助, 返回,
修改, 取消, 进度, 开始), stale buttons, and where a draft goes once a step is answered.
"""

from __future__ import annotations

import datetime as dt
import re

from contests.events import EventKind, Incoming, Reply
from contests.registry import ContestRegistry
from dialogs import questions as questions_mod
from dialogs import refit, review, scan, typed_links
from dialogs.choosing import (
    channel_correction,
    contest_correction,
    contest_in_clauses,
    contests_meant,
    contests_near,
    kind_not_offered,
    picked_number,
)
from dialogs.kit import DialogKit, StepSpec, bare, norm
from dialogs.messages import Messages
from dialogs.plans import StepRef, current, goto
from dialogs.results import Advance, Answer, Ask, Restart, StepResult
from dialogs.states import DRAFT_VERSION, State, Step, copy_state, migrate
from dialogs.steps import STEPS, choose_contest, fill_only_options, only_option, return_step
from validators.link_fields import without_link
from validators.questions import LOOKS_LIKE, asked_part, question_grade
from validators.text import MAX_INPUT_CHARS

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
# "不对，上一个填错了", "填错了，返回": the last answer was wrong, which is 返回 (a whole message, its
# punctuation taken off; "填错了怎么办" is a question, and a summary that mentions 填错 a summary).
_WENT_WRONG = re.compile(
    r"^(?:不对|错了|哎呀|哎|啊|呀|等等|等一下|抱歉|不好意思|sorry|返回)*"
    r"(?:(?:上一个|上一条|上一项|上一步|上一题|上个|上条|上面那个|上面的|前一个|前面那个|前面的|刚才那个|刚才的"
    r"|刚才|刚刚)(?:的|那个)?(?:我)?(?:填|写|输|打|选|弄|搞)?错了?|(?:我)?(?:填|写|输|打|选|弄|搞)错了?)"
    r"(?:要|想|请|我要|我想)?(?:返回|回去|退回|回到上一步|上一步|改一下|改下|重填|重新填|改)?(?:一下)?$"
)
# Where "不对，我选的是自荐" or "换成重庆那个" takes the channel or the contest back: at a field, and on
# the review page and its list (trial 9: there it opened 自荐机构 for its 单位).
_CORRECTED_AT = frozenset({Step.FIELD, Step.REVIEW, Step.EDIT})
# A message longer than this is not an answer to any step: refuse it before any work.
MAX_EVENT_CHARS = MAX_INPUT_CHARS * 4


def went_wrong(state: State | None, typed: str) -> bool:
    """Whether ``typed`` says the last answer was wrong ("上一个填错了"), at a step where that is 返回
    (the review page and its edit menu take a change in their own words)."""
    if state is None or state.get("step") in (Step.REVIEW, Step.EDIT):
        return False
    return _WENT_WRONG.match(bare(typed)) is not None


class DialogEngine(DialogKit):
    """The submission dialog.  Holds no per-user state; all of it lives in the draft."""

    def __init__(self, contests: ContestRegistry, messages: Messages) -> None:
        super().__init__(contests, messages, STEPS)

    def asks_without_draft(self, text: str) -> bool:
        """Whether ``text``, typed with no draft, is a question :meth:`handle` would hand to the
        helpdesk (not a command, not "答：…")."""
        if not text or COMMANDS.get(norm(text)) is not None or questions_mod.forced_answer(text) is not None:
            return False
        return question_grade(text) >= LOOKS_LIKE

    # ------------------------------------------------------------------ entry point
    def handle(
        self,
        state: State | None,
        event: Incoming,
        now: dt.datetime,
        *,
        contest_hint: str | None = None,
        questions: bool = False,
        answered: dict[str, str] | None = None,
    ) -> StepResult:
        """One event in, the new draft state and replies out.  ``contest_hint`` preselects a
        contest for a new draft (``chat --contest ID`` or a deep link).  With ``questions``
        (the caller answers :attr:`StepResult.question`), a typed question is recognised at
        any step without a prefix (:mod:`dialogs.questions`).  ``answered``: the message the
        event before answered as a question (its :attr:`StepResult.answered`), held by the
        caller outside the draft."""
        state = migrate(copy_state(state))
        text = event.text if event.kind in (EventKind.TEXT, EventKind.START) else ""
        if len(text) > MAX_EVENT_CHARS:
            replies = [Reply(self.msg.render("input_too_long", limit=MAX_INPUT_CHARS))]
            if state is not None:
                replies.append(self._prompt(state, now))
            return StepResult(state, replies)
        typed = norm(text)
        command = "start" if event.kind is EventKind.START else COMMANDS.get(typed) if text else None
        if command is None and event.kind is EventKind.TEXT and went_wrong(state, typed):
            command = "back"
        forced = questions_mod.forced_answer(text) if event.kind is EventKind.TEXT else None
        asks = questions and event.kind is EventKind.TEXT and command is None and forced is None

        if state is None:
            if command == "cancel":
                return StepResult(None, [Reply(self.msg.render("nothing_to_cancel"))])
            started = self._new_draft(now, contest_hint, show_help=command == "help")
            if asks and self.asks_without_draft(text):
                started.question = text
            elif command is None and forced is None and event.kind is EventKind.TEXT and not contest_hint:
                return self._first_named(started, event, now, questions=questions)
            return started

        step = current(state)
        spec = self._spec(step)
        # The 提取码 of the share link just taken, sent on its own: added to that link.
        late = (
            typed_links.late_code(self, state, text)
            if event.kind is EventKind.TEXT and command is None
            else None
        )
        if late is not None:
            return StepResult(state, [late, self._prompt(state, now)])
        pending = state.pop(questions_mod.PENDING, None)  # answered by this event, or dropped
        if pending is not None and command is None and spec is not None:
            label = self.step_label(state, step) if step.name == Step.FIELD else ""
            made = questions_mod.choice_made(pending, step, event, text, label)
            if made is not None:
                return self._clarified(state, step, spec, event, *made, now)
            held = questions_mod.held(pending, step)
            if held is not None and event.kind is EventKind.TEXT and forced is None:
                return self._held_and_new(state, step, spec, event, held, text, now)
        if (
            spec is not None
            and step.name == Step.FIELD
            and event.kind is EventKind.TEXT
            and command is None
            and forced is None
            and questions_mod.says_answer(text)
        ):  # "是答案" after a question answered at once: that message, never these words
            return self._said_answer(
                state, step, spec, event, questions_mod.answered_held(answered, step), now
            )
        if (
            command is None
            and event.kind is EventKind.TEXT
            and review.changes_another_item(self, state, step, text)
        ):
            # Another item's change in plain words while one is open: that change, as on the page.
            return self._settle(state, step, review.change_in_words(self, state, event, text, now), now)
        if step.name == Step.REVIEW and asks and review.wants_change(self, state, text):
            asks = False  # "电话能改一下吗？" on the review page: the change, not a question
        if asks and self._edit_named(state, step, typed) is not None:
            asks = False  # "修改 是否为会员": the item to change, though its label reads as a question
        if asks and spec is not None:
            asked = self._question(state, step, event, text, now)
            if asked is not None:
                return asked
        if forced is not None and spec is not None and step.name == Step.FIELD:
            return self._clarified(state, step, spec, event, "fill", forced, now)
        if forced is not None:
            text = forced
        if spec is not None and spec.first and command is None:
            value = (event.choice or "").partition("|")[2] if event.kind is EventKind.CHOICE else text
            return self._settle(state, step, spec.read(self, state, step, event, value, now), now)
        if spec is not None and command is not None and command in spec.commands:
            return spec.commands[command](self, state)
        match command:
            case "start":
                # "Welcome back" only to someone who filled something in: a new entrant whose chat
                # opened on a contest has a draft already, and nothing of theirs in it.
                filled = bool(state.get("answers"))
                back = [Reply(self.msg.render("welcome_back"))] if filled else []
                return StepResult(state, [*back, self._prompt(state, now)])
            case "help":
                return StepResult(state, [Reply(self._help(state)), self._prompt(state, now)])
            case "status":
                return StepResult(state, [Reply(self._status(state, now)), self._prompt(state, now)])
            case "back":
                return self._back(state, now)
            case "edit":
                return self._settle(state, step, review.edit_menu(self, state), now)
            case "cancel":
                if state["step"] != Step.CANCEL:
                    state["return_to"] = [state["step"], state.get("field")]  # a list, as JSON gives it back
                state["step"] = Step.CANCEL
                return StepResult(state, [self._prompt(state, now)])

        if event.kind is EventKind.CHOICE:
            token, _, value = (event.choice or "").partition("|")
            if token != step.token:
                return StepResult(state, [Reply(self.msg.render("stale_button")), self._prompt(state, now)])
            return self._answer(state, step, spec, event, value, now)
        if (rest := self._edit_named(state, step, typed)) is not None:
            return self._settle(state, step, review.pick_edit(self, state, rest), now)
        contest = self.contest(state)
        other = (
            contest_correction(text, self.contests.open(now), state.get("contest"))
            if contest is not None and step.name in _CORRECTED_AT
            else None
        )
        if other is not None and review.locked(state, StepRef(Step.CONTEST)):  # a reopened work keeps it
            return StepResult(
                state, [review.refuse_locked(self, state, StepRef(Step.CONTEST)), self._prompt(state, now)]
            )
        if other is not None:  # "换成重庆那个": another contest, not this field's answer
            advance = choose_contest(self, state, other, [])
            return self._advance(state, StepRef(Step.CONTEST), now, advance.replies)
        fix = (
            channel_correction(text, contest.channels, state.get("channel"))
            if contest is not None and step.name in _CORRECTED_AT
            else None
        )
        if fix is not None and review.locked(state, StepRef(Step.CHANNEL)):  # a reopened work keeps it
            return StepResult(
                state, [review.refuse_locked(self, state, StepRef(Step.CHANNEL)), self._prompt(state, now)]
            )
        if fix is not None:  # "不对，我选的是自荐": the channel again, not this field's answer
            refit.leaving(self, state)
            state["channel"], state["track"] = fix.id, None
            said = Reply(self.msg.render("channel_changed", label=fix.label))
            return self._advance(state, StepRef(Step.CHANNEL), now, [said])
        if contest is not None and step.name in _CORRECTED_AT and kind_not_offered(text, contest.channels):
            said = Reply(self.msg.render("channel_not_offered", channels=contest.channels))
            return StepResult(state, [said, self._prompt(state, now)])
        return self._answer(state, step, spec, event, text, now)

    def _edit_named(self, state: State, step: StepRef, typed: str) -> str | None:
        """The item "修改 …" names, as :func:`review.pick_edit` takes it, or None: "修改 3" is
        item 3 of the review page (the field asked as 【3/…】), "修改 参赛渠道" an item by its
        name, which no answer to another step is."""
        if not typed.startswith(("修改", "edit")):
            return None
        rest = typed.removeprefix("修改").removeprefix("edit").strip()
        loose = step.name in (Step.REVIEW, Step.EDIT)
        if rest.isdigit() or (rest and review.find_item(self, state, rest, loose=loose) is not None):
            return rest
        return None

    def _question(
        self, state: State, step: StepRef, event: Incoming, text: str, now: dt.datetime
    ) -> StepResult | None:
        """A typed message that reads as a question at ``step``, answered or asked about; None
        when it is read as the answer."""
        match questions_mod.reading(self, state, step, text):
            case "ask" if questions_mod.carries_link(self, state, step, text):
                return self._link_and_question(state, step, event, text, now)
            case "ask":
                return self._question_answered(state, step, text, now)
            case "field":
                return self._settle(state, step, questions_mod.field_answer(self, state, step), now)
            case "clarify":
                return questions_mod.clarify(self, state, step, text)
        return None

    def _clarified(
        self,
        state: State,
        step: StepRef,
        spec: StepSpec,
        event: Incoming,
        choice: str,
        text: str,
        now: dt.datetime,
    ) -> StepResult:
        """The entrant said whether the message asked about was the answer or a question."""
        if choice == "ask":
            return self._question_answered(state, step, text, now)
        state[questions_mod.CONFIRMED] = True
        typed = Incoming(event.user, EventKind.TEXT, text=text)
        result = self._settle(state, step, spec.read(self, state, step, typed, text, now), now)
        if result.state is not None:
            result.state.pop(questions_mod.CONFIRMED, None)
        return result

    def _said_answer(
        self, state: State, step: StepRef, spec: StepSpec, event: Incoming, held: str | None, now: dt.datetime
    ) -> StepResult:
        """ "是答案" at a field: the message just answered as a question (``held``) is the
        answer, checked as any; with none held, the entrant is asked to send the value itself."""
        label = self.step_label(state, step)
        if held is None:
            said = Reply(
                self.msg.render("said_answer_nothing_held", label=label), meta={"error": "nothing_held"}
            )
            return StepResult(state, [said, self._prompt(state, now)])
        result = self._clarified(state, step, spec, event, "fill", held, now)
        if not any("error" in r.meta for r in result.replies):  # taken: say which message
            result.replies = [Reply(self.msg.render("held_filled", held=held, label=label)), *result.replies]
        return result

    def _held_and_new(
        self,
        state: State,
        step: StepRef,
        spec: StepSpec,
        event: Incoming,
        held: str,
        text: str,
        now: dt.datetime,
    ) -> StepResult:
        """Asked whether a message was the answer or a question, the entrant sent something else.
        The same words without "？": the answer.  Another question: both are answered.  Else the
        held message is answered as a question and the new one read as the step's answer, and
        the entrant is told which became which: nothing is lost, nothing silent."""
        if questions_mod.same_words(held, text):
            return self._clarified(state, step, spec, event, "fill", text, now)
        if questions_mod.reading(self, state, step, text) != "answer":
            return self._question_answered(state, step, f"{held}\n{text}", now)
        answer = spec.read(self, state, step, event, text, now)
        filled = isinstance(answer, Advance)
        result = self._settle(state, step, answer, now)
        label = self.step_label(state, step)
        note = Reply(self.msg.render("held_question_answered", held=held, label=label, filled=filled))
        result.replies = [note, *result.replies]
        result.question = asked_part(held)
        return result

    def _link_and_question(
        self, state: State, step: StepRef, event: Incoming, text: str, now: dt.datetime
    ) -> StepResult:
        """A link and a question in one message where a link is asked for ("https://b23.tv/x
        这个链接可以吗？"): the link is read as the answer, and the question answered too."""
        spec = self.steps[step.name]
        # A text field that must hold its URL (播出平台及网址) keeps the words beside the link,
        # not the question ("央视频 w.yangshipin.cn/… ，电视台播的也算吗？" → "央视频 w.yangshipin.cn/…").
        value = questions_mod.without_question(text) if step.name == Step.FIELD else text
        result = self._settle(state, step, spec.read(self, state, step, event, value or text, now), now)
        label = self.step_label(state, step) if step.name == Step.FIELD else ""
        result.replies = [Reply(self.msg.render("link_kept_with_question", label=label)), *result.replies]
        result.question = without_link(text) or text
        return result

    def _question_answered(self, state: State, step: StepRef, text: str, now: dt.datetime) -> StepResult:
        ask, question = questions_mod.question_answer(self, state, step, text)
        result = self._settle(state, step, ask, now)
        result.question = question
        if step.name == Step.FIELD:  # held by the caller: "是答案" next fills the field with it
            result.answered = {"at": step.token, "text": text}
        return result

    def refuse(self, before: State, text: str, now: dt.datetime) -> StepResult:
        """An answer the caller refused after its step took it (a first author who holds the
        contest's one work already): the draft as it was, the reason, the step asked again."""
        state = migrate(copy_state(before))
        assert state is not None
        return StepResult(state, [Reply(text, meta={"error": "claimed"}), self._prompt(state, now)])

    def submitted(self, state: State, number: str, *, via: str = "") -> StepResult:
        """After the store accepted the :class:`SubmitRequest`.  The draft becomes a small one
        that waits for the signed, sealed and scanned form; the submission itself is stored.
        ``via`` is the chat channel (the scan prompt says what that app can send)."""
        return scan.submitted(self, state, number, via)

    def scan_prompt(self, state: State) -> Reply:
        """The question of a submitted draft: the scanned form, please."""
        return scan.scan_prompt(self, state)

    def completed(self, state: State, receipt_text: str = "") -> StepResult:
        """The scan arrived and the submission is complete: the receipt ends the dialog."""
        return scan.completed(self, state, receipt_text)

    # ------------------------------------------------------------------ interpreting the steps
    def _spec(self, step: StepRef) -> StepSpec | None:
        # A corrupt draft's step (not a string) names no step, as an unknown one.
        return self.steps.get(step.name) if type(step.name) is str else None

    def _answer(
        self,
        state: State,
        step: StepRef,
        spec: StepSpec | None,
        event: Incoming,
        value: str,
        now: dt.datetime,
    ) -> StepResult:
        if event.kind is EventKind.FILE and not (spec is not None and spec.files):
            label = self.step_label(state, step)
            return StepResult(
                state,
                [
                    # A scan sent before 确认提交 is the form's, not a 核对信息 to type.
                    Reply(self.msg.render("text_expected", label=label, review=step.name == Step.REVIEW)),
                    self._prompt(state, now),
                ],
            )
        if spec is None:  # an unknown step: start over cleanly
            return self._new_draft(now, None, show_help=False)
        return self._settle(state, step, spec.read(self, state, step, event, value, now), now)

    def _settle(self, state: State, step: StepRef, answer: Answer, now: dt.datetime) -> StepResult:
        """What a step answered with, carried out: ``step`` is the step that was answered."""
        if isinstance(answer, Advance):
            return self._advance(state, step, now, answer.replies)
        if isinstance(answer, Ask):
            return StepResult(state, [*answer.replies, self._prompt(state, now)])
        if isinstance(answer, Restart):
            return self._new_draft(now, None, show_help=False)
        return answer

    def _prompt(self, state: State, now: dt.datetime) -> Reply:
        """The current step's question."""
        step = current(state)
        spec = self._spec(step)
        if spec is None:
            return Reply(self.msg.render("welcome", contests=[]))
        return spec.prompt(self, state, step, self.plan(state), now)

    def _advance(self, state: State, done: StepRef, now: dt.datetime, replies: list[Reply]) -> StepResult:
        """Move on after ``done`` was answered: to the next step, or back to the review page
        when the entrant was changing one answer."""
        plan = self.planner.autofill(state)
        # Another contest, channel or track: the answers its form lacks or refuses are cleared
        # before the next step is chosen (it may be one of them).
        replies = [*replies, *refit.refit(self, state, now)]
        replies += fill_only_options(self, state)  # 是否为会员 where the channel allows 否 alone
        seq = plan.steps
        if state.pop("editing", False):
            target = self.missing(state) or StepRef(Step.REVIEW)
            if target.name != Step.REVIEW:  # an answer the change made missing: then back again
                state["editing"] = True
        else:
            i = plan.position.get(done.token)
            while i is not None and i + 1 < len(seq) and self._answered_ahead(state, seq[i + 1]):
                i += 1
            if i is not None and i + 1 < len(seq):
                target = seq[i + 1]
            else:  # the last step, or one the preset no longer has
                target = self.missing(state) or StepRef(Step.REVIEW)
        goto(state, target)
        spec = self.steps[target.name]
        return StepResult(state, [*replies, spec.prompt(self, state, target, plan, now)])

    def _answered_ahead(self, state: State, step: StepRef) -> bool:
        """A step answered before it was reached ("想报我的科普号" at the channel names the track)."""
        spec = self.steps[step.name]
        if callable(spec.skip_answered):
            return spec.skip_answered(self, state, step)
        return spec.skip_answered and spec.answered is not None and spec.answered(state, step)

    def _filled_for_channel(self, state: State, step: StepRef) -> bool:
        """A field the channel leaves one answer to, filled in with it (:func:`fill_only_options`)."""
        fld = self.field(state, step.field_id) if step.name == Step.FIELD else None
        channel = self.channel(state)
        if fld is None or channel is None:
            return False
        only = only_option(channel.id, fld)
        return only is not None and state["answers"].get(fld.id) == only

    def _back(self, state: State, now: dt.datetime) -> StepResult:
        step = state["step"]
        if step == Step.EDIT:
            name, field_id = state.pop("edit_from", None) or (Step.REVIEW, None)
            goto(state, StepRef(name, field_id))
            return StepResult(state, [self._prompt(state, now)])
        if step == Step.CANCEL:
            goto(state, return_step(state))
            return StepResult(state, [self._prompt(state, now)])
        plan = self.plan(state)
        seq = plan.steps
        i = plan.position.get(current(state).token, len(seq))
        while i > 0 and self._filled_for_channel(state, seq[i - 1]):  # never asked: not gone back to
            i -= 1
        if i <= 0 or review.locked(state, seq[i - 1]):  # a reopened work's channel is not gone back to
            return StepResult(state, [Reply(self.msg.render("already_first")), self._prompt(state, now)])
        state.pop("editing", None)
        goto(state, seq[i - 1])
        return StepResult(state, [self._prompt(state, now)])

    # ------------------------------------------------------------------ draft creation
    def _first_named(
        self, started: StepResult, event: Incoming, now: dt.datetime, *, questions: bool
    ) -> StepResult:
        """A first message (no draft; WeChat users type before anything is shown) that names a
        contest ("我想报名大美科技特派团"): the new draft goes on with it, as if it had been typed at
        the list, rather than the list alone with the contest named dropped."""
        text = event.text
        if started.state is None or picked_number(text) is not None or norm(text).isdigit():
            return started
        named = contests_meant(text, list(self.contests)) or contests_near(text, self.contests.open(now))
        if not named and (said := contest_in_clauses(text, self.contests.open(now))[0]) is not None:
            named = [said]  # "我要报黑龙江的，个人自荐": a clause names it
        if not named:
            return started
        if current(started.state).name == Step.CONTEST:  # several open: the list's step reads it
            then = self.handle(started.state, event, now, questions=questions)
            return StepResult(then.state, [*started.replies[:-1], *then.replies])
        chosen = started.state.get("contest")
        if len(named) == 1 and named[0].id != chosen and named[0].status(now) != "open":
            # The one open contest was taken; the one named is closed (or not open yet): said so.
            started.replies.insert(1, Reply(self.closed_text(named[0], now)))
        return started

    def _new_draft(self, now: dt.datetime, hint: str | None, *, show_help: bool) -> StepResult:
        state: State = {"v": DRAFT_VERSION, "step": Step.CONTEST, "answers": {}, "video": None}
        first = StepRef(Step.CONTEST)
        open_now = self.contests.open(now)
        replies = [Reply(self.msg.render("welcome", contests=open_now))]
        if show_help:
            replies.append(Reply(self._help(state)))
        if hint:
            contest = self.contests.get(hint)
            if contest is None:
                replies.append(Reply(self.error("contest_unknown", {}, self.label(Step.CONTEST))))
            elif contest.status(now) != "open":
                return StepResult(None, [*replies, Reply(self.closed_text(contest, now))])
            else:
                state["contest_fixed"] = True
                return self._settle(state, first, choose_contest(self, state, contest, replies), now)
        if not open_now:
            return StepResult(None, [*replies, self.no_open(now)])
        if len(open_now) == 1:
            state["contest_fixed"] = True
            return self._settle(state, first, choose_contest(self, state, open_now[0], replies), now)
        replies.append(self._prompt(state, now))
        return StepResult(state, replies)

    # ------------------------------------------------------------------ help and status
    def _help(self, state: State) -> str:
        step = current(state)
        fld = self.field(state, step.field_id) if step.name == Step.FIELD else None
        return self.msg.render("help", step_name=step.name, contest=self.contest(state), field=fld)

    def _status(self, state: State, now: dt.datetime) -> str:
        """进度, counted as the prompts count (【4/13】: the form's fields) and the review page
        numbers (the video is the item after the last field), so one page shows one numbering."""
        contest, channel = self.contest(state), self.channel(state)
        plan = self.plan(state)
        answered = sum(1 for field_id in plan.fields if field_id in state["answers"])
        has_video = any(s.name == Step.VIDEO for s in plan.steps)
        step = current(state)
        entry = plan.fields.get(step.field_id) if isinstance(step.field_id, str) else None
        days = None
        if contest is not None:
            days = (contest.deadline - contest.day_of(now)).days
        return self.msg.render(
            "status",
            contest=contest,
            channel_label=channel.label if channel else "",
            answered=answered,
            total=len(plan.fields),
            video=bool(state.get("video")) if has_video else None,
            current_number=entry[0] if entry else None,
            current_label=self.step_label(state, step),
            days_left=days,
            number=state.get("number") if state["step"] == Step.SCAN else None,
            recommender=state.get("recommender") or "",
        )


def choices_as_text(reply: Reply) -> str:
    """A reply for a channel without buttons: its choices as a numbered list under the text,
    or, where the text numbers something else already, as the words to reply with."""
    if not reply.choices:
        return reply.text
    if not reply.numbered:
        # Choices the text lists already, line for line (the edit menu's items), are not repeated.
        shown = set(reply.text.splitlines())
        words = [c.label for c in reply.choices if c.label not in shown]
        return reply.text + "\n" + " / ".join(f"“{w}”" for w in words) if words else reply.text
    numbered = [f"{i}. {c.label}" for i, c in enumerate(reply.choices, 1)]
    return reply.text + "\n" + "\n".join(numbered)
