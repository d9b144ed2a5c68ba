"""The helpdesk: a question in, an answer with its source out, or an honest "unsure"."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from contests.registry import ContestRegistry
from contests.rules import Contest
from contests.rules_data import notices_dir
from handlers.helpdesk.analyzer import ASKS, Analyzer, Query, contest_terms, normalise
from handlers.helpdesk.combine import (
    clear_lead,
    is_lost,
    more_topics,
    says_what_was_implied,
    siblings,
    together,
)
from handlers.helpdesk.counts import quota_rule, verdict_for
from handlers.helpdesk.english import (
    about_the_contest,
    chinese_terms,
    english_answer,
    place_terms,
    with_english_terms,
)
from handlers.helpdesk.facts import build_entries
from handlers.helpdesk.foreign import (
    FORM_NAMES,
    TRACK_WORDS,
    forms_alike,
    names_no_track,
    route_named,
    sink_foreign,
)
from handlers.helpdesk.index import Hit, KnowledgeBase
from handlers.helpdesk.naming import contest_preface, other_named, pick_contest
from handlers.helpdesk.parts import (
    ASKS_A_LIST,
    ROUTE_WORDS,
    at_stage,
    items_of,
    lead_of,
    other_size,
    route_through,
    route_word,
    selection_stage,
    unit_recommends,
    with_route_named,
)
from handlers.helpdesk.personal import about_own_submission
from handlers.helpdesk.pieces import (
    DETAIL_OF,
    FOLLOW_UP_CHARS,
    FOLLOW_UP_WORDS,
    MAX_QUESTION_CHARS,
    POINTS_BACK,
    same_asked_of,
    split_questions,
    without_title_runs,
)
from handlers.helpdesk.places import (
    each_unit,
    of_own_unit,
    place_of,
    with_unit_named,
)
from handlers.helpdesk.polarity import ASKS_MAY, plain_no, plain_yes
from handlers.helpdesk.replies import (
    NEAREST,
    NEAREST_EN,
    OFFTOPIC,
    OFFTOPIC_EN,
    PERSONAL_REPLY,
    PERSONAL_REPLY_EN,
    SILENT_LEAD,
    SILENT_LEAD_EN,
    UNSURE,
    UNSURE_EN,
    AnswerKind,
    HelpAnswer,
)
from handlers.helpdesk.routes_places import (
    SEVERAL,
    every_tier,
    names_whose,
    other_quotas,
    routes_compared,
    unit_places,
)
from handlers.helpdesk.silence import asks_a_silence, out_of_scope, silent_topic
from handlers.helpdesk.sources import (
    KnowledgeError,
    NoticeText,
    faq_files,
    lend,
    lineage_of,
    load_faq,
    parse_notice,
)
from handlers.helpdesk.wanted import by_wanted
from handlers.helpdesk.windows import WINDOW_ENTRIES, inside_windows
from handlers.helpdesk.worked import Worked, makers_and_forms, may_enter, own_days, own_figures
from validators.questions import is_english, simplified

#: Confidence at or above which an answer is given without hand-off, chosen on the evaluation's dev
#: halves.  On held-out halves no threshold meets the error target without giving up the answer
#: rate (0.45: 80.7 % answered, 15 wrong of 296; 0.70: 60.8 %, 8 wrong): bench/README.md,
#: "Helpdesk, session 14".
DEFAULT_THRESHOLD = 0.45
#: Below the threshold but at least this sure: the closest entry is shown beside the hand-off.
NEAREST_SHOWN = 0.25


class Helpdesk:
    """Answers questions about the contests of a registry.

    ``faq_dirs`` are folders of organiser overrides (``<contest-id>.yaml``), read after the shipped
    ``bot/faq``; a contest's index is built on its first question and rebuilt when one of its FAQ
    files changes, so an organiser's edit takes effect on the next question.
    """

    def __init__(
        self,
        contests: ContestRegistry,
        faq_dirs: Sequence[Path] = (),
        *,
        notices: Path | None = None,
        threshold: float = DEFAULT_THRESHOLD,
    ) -> None:
        self.contests = contests
        self.faq_dirs = tuple(Path(d) for d in faq_dirs)
        self.notices = notices or notices_dir()
        self.threshold = threshold
        self.analyzer = Analyzer()
        self._lock = threading.Lock()
        self._bases: dict[str, tuple[tuple[tuple[str, float], ...], KnowledgeBase]] = {}
        self._notices: dict[str, NoticeText | None] = {}
        self._taught = False

    # -- building ---------------------------------------------------------------------------

    def notice(self, contest_id: str) -> NoticeText | None:
        """The contest's notice text; for a new edition that ships none, the latest earlier
        edition's undated clauses (:func:`lend`); None when there is neither."""
        with self._lock:
            if contest_id not in self._notices:
                path = self.notices / f"{contest_id}.md"
                notice = None
                if path.is_file():
                    notice = parse_notice(path.read_text(encoding="utf-8"), str(path))
                    if notice.contest_id != contest_id:
                        raise KnowledgeError(
                            f"{path}: contest {notice.contest_id!r} does not match the file name"
                        )
                else:
                    notice = self._earlier_notice(contest_id)
                self._notices[contest_id] = notice
            return self._notices[contest_id]

    def _earlier_notice(self, contest_id: str) -> NoticeText | None:
        contest = self.contests.get(contest_id)
        lineage = contest.lineage if contest is not None else lineage_of(contest_id)
        earlier = sorted(
            (p for p in self.notices.glob("*.md") if lineage_of(p.stem) == lineage and p.stem != contest_id),
            key=lambda p: p.stem,
        )
        if not earlier:
            return None
        path = earlier[-1]
        return lend(parse_notice(path.read_text(encoding="utf-8"), str(path)))

    # bench/README.md 'Helpdesk': an index takes ~3 s to build, a question ~0.7 ms.
    def knowledge(self, contest_id: str) -> KnowledgeBase:
        """The contest's index, built now if new or if its FAQ files changed since."""
        contest = self.contests.get(contest_id)
        if contest is None:
            raise KeyError(contest_id)
        stamp = tuple((str(p), p.stat().st_mtime) for p in faq_files(contest_id, self.faq_dirs))
        cached = self._bases.get(contest_id)
        if cached and cached[0] == stamp:
            return cached[1]
        self._teach_every_contest()
        notice = self.notice(contest_id)
        self.analyzer.add_terms(contest_terms(contest) | self._quoted_names(notice))
        base = KnowledgeBase(
            contest,
            build_entries(contest, notice, load_faq(contest_id, self.faq_dirs)),
            self.analyzer,
            " ".join(notice.aliases) if notice else "",
        )
        with self._lock:
            self._bases[contest_id] = (stamp, base)
        return base

    def _teach_every_contest(self) -> None:
        """Teach the tokenizer every contest's words before the first index is built: taught one
        contest at a time, as each was first asked about, the same question about one contest was
        cut into other words, and answered otherwise, depending on which contests were asked first."""
        if self._taught:
            return
        terms: set[str] = set()
        for contest in self.contests:
            terms |= contest_terms(contest) | self._quoted_names(self.notice(contest.id))
        self.analyzer.add_terms(terms)
        self._taught = True

    def _quoted_names(self, notice: NoticeText | None) -> set[str]:
        """The notice's quoted names that jieba would cut into loose characters (创作之星: 创作 之 星);
        not those made of whole words (“提交作品”), which every contest's questions share."""
        names = {name for c in (notice.clauses if notice else ()) for name in _QUOTED_NAME.findall(c.text)}
        return {name for name in names if any(len(w) == 1 for w in self.analyzer.words(name))}

    def warm(self) -> None:
        """Build every contest's index now (at start-up, in a thread), and fail on a broken file."""
        for contest in self.contests:
            self.knowledge(contest.id)

    # -- choosing the contest ---------------------------------------------------------------

    def pick_contest(self, question: str) -> tuple[Contest, bool]:
        """The contest a question names (True), else the one with the latest deadline (False)."""
        return pick_contest(self.contests, self.notice, question)

    def other_named(self, contest_id: str, question: str) -> Contest | None:
        """Another contest than ``contest_id`` a question names by a name of its own (:func:`other_named`)."""
        return other_named(self.contests, self.notice, contest_id, question)

    # -- asking -----------------------------------------------------------------------------

    def ask(
        self,
        contest_id: str | None,
        question: str,
        route: str | None = None,
        track: str | None = None,
        unit: str | None = None,
    ) -> HelpAnswer:
        """Answer ``question`` about ``contest_id`` (None: pick one, and say which).

        ``route`` is the entry route the asker chose in their draft (推荐/自荐 …): a question about
        "the form" is then about that route's form; ``track`` what the draft enters (cacsi: a 微视频
        or a 科普号), which a question naming neither is about; ``unit`` the unit it enters through
        (cq's 报送区县), whose places "我们区能推几个" asks.  A message asking two things
        ("能推荐几部？要盖什么章？") gets both answers, and is sure only if both are.
        """
        # What is asked sits at the end of a long message; the rest is story, and an unbounded
        # message would cost every user of this process its time (the regexes share the GIL).
        question = _REPLY_IN.sub(" ", question[-MAX_QUESTION_CHARS:]).strip() or question
        # Traditional characters ("參賽要交報名費嗎") read as the notices' simplified ones; zhconv's
        # phrase table leaves simplified text as it is (著作权 stays 著作权).
        question = simplified(question)
        english = is_english(question)
        preface = ""
        if track in TRACK_WORDS and not english and names_no_track(question):
            question = f"{TRACK_WORDS[track]}：{question}"
        if contest_id is None:
            picked, named = self.pick_contest(chinese_terms(question) if english else question)
            contest_id = picked.id
            if len(self.contests) > 1:
                preface = contest_preface(picked.title, named, english)
        else:
            # "重庆那个科学家精神短视频要求的分辨率是多少" asked from a hlj draft is about cq.
            other = self.other_named(contest_id, chinese_terms(question) if english else question)
            if other is not None:
                contest_id, route, track, unit = other.id, None, None, None
                preface = contest_preface(other.title, True, english)
        contest = self.contests.get(contest_id)
        if contest is None:
            raise KeyError(contest_id)
        if unit:
            question = of_own_unit(question, contest, unit)
        pieces = [p for p in split_questions(self._unnamed(contest, question)) if p.strip(" ，。?？")]
        parts: list[str] = []
        leaning = ""
        for piece in pieces:
            if parts and (same := same_asked_of(piece, parts[-1])):
                parts.append(same)
                continue
            # A short piece without an intent of its own ("一共几部", "通知里找不到", "用啥交") leans on the
            # question beside it; "时长可以吗" asks something itself.
            if (
                (
                    len(piece) < FOLLOW_UP_CHARS
                    and not self._says_what(contest, piece)
                    and not asks_a_silence(normalise(piece))
                )
                or (piece is not pieces[-1] and not ASKS.search(piece))
                or (parts and len(piece) < FOLLOW_UP_CHARS and POINTS_BACK.match(piece.strip()))
                # The detail of the answer just asked for ("截到哪天啊？听说是六月底，具体是几号").
                or (parts and DETAIL_OF.search(piece) and not any(f in piece for f in FORM_NAMES))
                # The same thing asked again in other words ("时长有要求吗？多长合适").
                or (parts and len(piece) < FOLLOW_UP_CHARS and self._asked_again(contest, piece, parts[-1]))
                # Story told after the question ("…交上去啊？我们片子还在剪，怕赶不上") asks nothing.
                or (parts and piece is pieces[-1] and not english and not ASKS.search(piece))
            ):
                if parts:
                    parts[-1] += "，" + piece
                else:
                    leaning += piece + "，"
            else:
                parts.append(leaning + piece)
                leaning = ""
        if leaning and parts:
            parts[-1] += "，" + leaning.rstrip("，")
        parts = parts if len(parts) > 1 else each_unit(question, contest) if not english else [question]
        if len(parts) > 1:  # the unit one part names is the asker of every part
            selecting = selection_stage(contest, normalise(question))
            stage = selecting[1] if selecting is not None else None
            parts = [at_stage(p, stage, contest) for p in with_route_named(parts)]
            parts = with_unit_named(parts, contest, read=place_terms if english else lambda part: part)
        answers = [self._one(contest, part, route, english) for part in parts]
        for i in range(len(answers) - 1, 0, -1):
            # A part with no word of the contest beside one that has ("视频得整多长啊？俺们剪了六分来
            # 钟，能行不"), or that nothing in the notice matches ("通知上头我翻了几遍都没看到"; "能不能
            # 把U盘直接寄过去？寄到哪个地址"), tells that question's story: asked with it, it is understood.
            before, after = answers[i - 1], answers[i]
            # A part only unsure beside a sure one may be its detail ("…网友投票吗？中间有没有啥审查
            # 环节"): asked together, the same answer must then be sure on its own, not by its lead.
            weak_after = is_lost(after) or (not after.confident and before.confident)
            strong = before if weak_after and before.kind != "offtopic" else None
            weak_before = is_lost(before) or not before.confident
            strong = after if strong is None and weak_before and after.confident else strong
            if strong is not None:
                joined = self._one(contest, f"{parts[i - 1]}，{parts[i]}", route, english)
                # Only as the story of the other part: the same answer, now sure.
                lost = is_lost(after) if strong is before else is_lost(before)
                sure = joined.confident and (lost or joined.score >= self.threshold)
                if sure and (joined.entry_id, joined.kind) == (strong.entry_id, strong.kind):
                    answers[i - 1 : i + 1] = [joined]
        result = answers[0] if len(answers) == 1 else together(answers)
        if english and len(parts) > 1 and not result.confident:
            # English parts split at "and" lean on each other more than Chinese ones ("…and should it
            # have background music?"): asked whole, the question may still be understood.
            whole = self._one(contest, question, route, english)
            result = whole if whole.confident else result
        if preface and result.kind in ("answer", "silent"):
            result = replace(result, answer=preface + result.answer)
        return result

    def _unnamed(self, contest: Contest, text: str) -> str:
        """The question without the contest's own names: "2024全国科普微视频大赛 自荐邮箱" asks about
        the e-mail, not about the year 2024."""
        notice = self.notice(contest.id)
        names = {contest.title, contest.short_title, *(notice.aliases if notice else ())}
        for name in sorted((n for n in names if n and len(n) >= 4), key=len, reverse=True):
            # An alias that is also a route's name ("区县推荐") is what a question asks about ("区县推荐
            # 截止是哪天"), but not inside the name of a form ("区县推荐表").
            after = "(?=表)" if ROUTE_WORDS.fullmatch(name) else ""
            text = re.sub(re.escape(name) + after, " ", text)
        return without_title_runs(text, contest.title)

    def _asked_again(self, contest: Contest, piece: str, before: str) -> bool:
        """Whether ``piece`` asks no intent that ``before`` did not ask already, of nothing else: "省科技厅
        推几部" after "联席会议成员单位推几部" asks the same of another unit."""
        asked = self.analyzer.query(piece).topics
        place = place_of(normalise(piece), contest)
        if place is not None and place != place_of(normalise(before), contest):
            return False
        return bool(asked) and asked <= self.analyzer.query(before).topics

    def _says_what(self, contest: Contest, piece: str) -> bool:
        """Whether a piece of a message names something of its own to ask about (配音, 时长), beyond
        a count or a verb that needs the question before it (一共几部, 通知里找不到)."""
        base = self.knowledge(contest.id)
        query = self.analyzer.query(piece)
        own = [t for t in query.terms if len(t) > 1 and base.index.knows(t) and t not in FOLLOW_UP_WORDS]
        return bool(own or query.topics - {"名额"})

    def _one(self, contest: Contest, question: str, route: str | None, english: bool) -> HelpAnswer:
        """One question's answer, without the preface naming the contest."""
        text = chinese_terms(question) if english else with_english_terms(question)
        text, note = _own_form(self._unnamed(contest, text), contest, route)
        if english:  # the form words are the lexicon's guesses for "form", not the asker's own
            note = ""
        base = self.knowledge(contest.id)
        query = self.analyzer.query(text)

        def reply(answer: str, kind: AnswerKind, source: str = "", confident: bool = True) -> HelpAnswer:
            return HelpAnswer(
                answer, confident, source, 1.0 if confident else 0.0, contest.id, terms=query.terms,
                kind=kind, english=english,
            )  # fmt: skip

        # "帮我查一下明天的火车票" asks a favour no contest is about, not the asker's entry.
        errand = out_of_scope(normalise(question)) and not query.about_contests
        if not errand and (about_own_submission(normalise(question)) or (english and "我的投稿" in text)):
            said = PERSONAL_REPLY_EN if english else PERSONAL_REPLY
            return reply(said, "personal", "转人工：本人投稿情况", confident=False)
        notice = self.notice(contest.id)
        stated = [c.text for c in notice.clauses] if notice else []
        stated += [f"{stage.name}：{stage.text}" for stage in contest.schedule]
        stated += list(contest.rules)  # a rule a lent notice lost with its dated clause (hlj's 历届)
        silence = silent_topic(normalise(self._unnamed(contest, question)), stated)
        if silence is not None:
            said = silence.english if english else silence.chinese
            near = base.search(self.analyzer.query(silence.nearby), limit=2) if silence.nearby else []
            near = [h for h in near if h.confidence >= self.threshold and not h.entry.silent]
            # a clause a fact beside it already quotes is said once
            near = [
                h for h in near
                if not any(o is not h and h.entry.text[:20] in o.entry.quote for o in near)
            ]  # fmt: skip
            if near and not english:
                said += "\n通知写到的相关内容：\n" + "\n".join(h.entry.render() for h in near)
            return reply(said + self._contacts(contest, english), "silent", "通知（未提及）")
        # An entrant's own figure ("剪了六分来钟，能行不") is judged before anything could call the
        # message off-topic: its words are few and unlike the notice's.
        say_en = (lambda entry: english_answer(entry, contest)) if english else None
        figures = own_figures(base, contest, normalise(question), normalise(text), say_en)
        if figures is not None:
            return _worked(figures, contest, query)
        plainly_errand = out_of_scope(normalise(question), plainly=True)
        if (
            base.off_topic(query, normalise(question))
            or (english and not about_the_contest(question))
            or plainly_errand
        ):
            return reply(OFFTOPIC_EN if english else OFFTOPIC, "offtopic")
        days = None if english else own_days(base, contest, normalise(text))
        if days is not None:
            return _worked(days, contest, query)
        route_said = route or route_named(contest, text)
        made = (
            None
            if english
            else makers_and_forms(base, contest, normalise(text), normalise(question), route_said)
        )
        if made is not None:  # "两家合拍的，能各报一次吗", "自荐表是附件几", "可以几个人组队做吗"
            return _worked(made, contest, query)
        places = unit_places(contest, base, query, text, english)
        if places is not None:
            return self._with_other_topics(places, base, query, contest, route, text, english)
        routes = routes_compared(base, contest, normalise(text))
        if routes:  # "推荐和自荐有什么区别": each route as the notice states it
            said = "\n".join(english_answer(e, contest) if english else e.render() for e in routes)
            return HelpAnswer(said, True, routes[0].source, 1.0, contest.id, said, routes[0].id, query.terms,
                              "answer", english)  # fmt: skip
        through = None if english else route_through(contest, normalise(text))
        routed = base.entry(f"fact:channels.{through}") if through else None
        if routed is not None:  # "能不能直接发到组委会": the route says who sends to whom
            said = english_answer(routed, contest) if english else routed.render()
            return HelpAnswer(said, True, routed.source, 1.0, contest.id, said, routed.id, query.terms,
                              "answer", english)  # fmt: skip
        entering = None if english else may_enter(base, contest, normalise(text))
        if entering is not None:  # "个人能报吗", "我们是县委宣传部的，也能报吗": 可以 or 不能, then the rule
            return _worked(entering, contest, query)
        # before _unnamed: 区县推荐 is an alias
        stage = unit_recommends(contest, normalise(chinese_terms(question) if english else question))
        if stage is not None:
            query = self.analyzer.query(f"{text} {stage.name}")
        said_route = route if route is not None else route_named(contest, text)
        hits = by_wanted(
            sink_foreign(base.search(query, limit=8), contest, said_route, text), normalise(text)
        )
        if not hits:
            if out_of_scope(normalise(question)):
                return reply(OFFTOPIC_EN if english else OFFTOPIC, "offtopic")
            return reply(UNSURE_EN if english else UNSURE, "unsure", confident=False)
        top = hits[0]
        # A word only this notice uses ("宣传主体") makes a question the notice's business, however
        # little of the rest of the message it covers.
        own_word = any(
            len(t) > 1 and base.index.idf(t) >= OWN_WORD_IDF for t in query.terms if base.index.knows(t)
        )
        unrelated = top.confidence < OFFTOPIC_BELOW and not (
            query.about_contests or query.figures or own_word
        )
        if unrelated or (top.confidence < self.threshold and out_of_scope(normalise(question))):
            return reply(OFFTOPIC_EN if english else OFFTOPIC, "offtopic")
        items = items_of(base, top) if ASKS_A_LIST.search(text) else []
        more = (
            more_topics(hits[1:], query.topics, top.entry.topics, self.threshold)
            if len(query.topics) > 1
            else []
        )
        chosen = items or [top, *more]
        if top.entry.id.startswith("fact:quota.") and SEVERAL.search(text):
            chosen += other_quotas(base, hits, top, query.terms)
        elif top.entry.id.startswith("fact:quota.") and not names_whose(contest, top.entry.id, text):
            # "能推几部" says nothing of who asks: every tier of the route, not the search's guess
            chosen += every_tier(base, contest, top, every_route=said_route is None)
        heading = lead_of(base, top)
        if heading is not None and all(h.entry is not heading.entry for h in chosen):
            chosen.insert(0, heading)
        size = other_size(base, top, normalise(question if english else text))
        if size is not None and all(h.entry is not size.entry for h in chosen):
            chosen.append(size)
        chosen += siblings(hits, top, chosen, route if route is not None else route_word(text))
        for alike in forms_alike(contest, top.entry, route, text):
            entry = base.entry(alike)
            if entry is not None and all(h.entry is not entry for h in chosen):
                chosen.append(Hit(entry, top.score, top.confidence))

        def say(hit: Hit) -> str:
            return english_answer(hit.entry, contest) if english else hit.entry.render()

        rendered = "\n".join(say(h) for h in chosen)
        kind: AnswerKind = "answer"
        confident = True
        text = rendered
        asked = normalise(question)
        # The piece that asks may-I is what 可以 answers ("我们没有专业设备，用手机拍的可以吗": the
        # phone); the rest is the asker's story.
        piece = next((p for p in reversed(re.split(r"[，,]", asked)) if ASKS_MAY.search(p)), asked)
        # What the asker offers collides with what the entry's clause requires ("片头…能保留吗" against
        # 去除所有水印和片头片尾): the entry is the one asked about, however few words it shares.
        refused = "" if english else plain_no(asked, top.entry.text, piece)
        if (
            top.confidence < self.threshold
            and not clear_lead(hits, self.threshold)
            and not says_what_was_implied(query, top)
            and not (refused and top.confidence >= NEAREST_SHOWN)
        ):
            text, confident, kind = (UNSURE_EN if english else UNSURE), False, "unsure"
            if top.confidence >= NEAREST_SHOWN:  # an operator confirms; the entrant may already find it here
                lead = NEAREST_EN if english else NEAREST
                text += f"\n{lead}\n{say(top)}"
        elif top.entry.silent:
            # An entry that already says the notice is silent needs no lead saying it first.
            # (in English too: "The notice does not say (in Chinese): 通知没有规定…" said it already)
            said_silent = top.entry.text.startswith(("通知没有", "通知未", "通知对此"))
            lead = "" if said_silent else (SILENT_LEAD_EN if english else SILENT_LEAD)
            text, kind = f"{lead}\n{rendered}".lstrip("\n") + self._contacts(contest, english), "silent"
        if not english:
            terms = self.analyzer.query(piece).terms if piece != asked else query.terms
            rule = quota_rule(contest, top.entry.id, asked)
            counted = verdict_for(contest, rule, asked) if rule is not None else ""
            note = counted or plain_yes(piece, top.entry.text, terms) or refused or note
            if top.entry.id in WINDOW_ENTRIES:
                note = inside_windows(contest, asked) or note
        if note and confident:
            text = f"{note}\n{text}"
        return HelpAnswer(
            text, confident, top.entry.source, top.confidence, contest.id, rendered, top.entry.id,
            query.terms, kind, english,
        )  # fmt: skip

    def _with_other_topics(
        self,
        said: HelpAnswer,
        base: KnowledgeBase,
        query: Query,
        contest: Contest,
        route: str | None,
        text: str,
        english: bool,
    ) -> HelpAnswer:
        """A unit's places, and the best entry of each other intent the question asks about
        ("最多能推荐几个，最晚什么时候报"): the places' rule answers only the count."""
        others = query.topics - {"名额"}
        if not others:
            return said
        selecting = selection_stage(contest, normalise(text), any_unit=True)
        if selecting is not None:  # a recommending unit's deadline is its stage's (cq 初审阶段)
            query = self.analyzer.query(f"{text} {selecting[1].name}")
        hits = sink_foreign(base.search(query, limit=8), contest, route, text)
        more = more_topics(hits, others, frozenset(), self.threshold)
        if not more:
            return said
        extra = "\n".join(english_answer(h.entry, contest) if english else h.entry.render() for h in more)
        answer = f"{said.answer}\n{extra}"
        return replace(said, answer=answer, suggestion=f"{said.suggestion}\n{extra}")

    def _contacts(self, contest: Contest, english: bool) -> str:
        """Where to ask the organisers when the notice is silent, as the notice gives it."""
        phones = [f"{c.role} {'、'.join(c.phones)}" for c in contest.contacts if c.phones]
        if not phones:
            return ""
        if english:
            return "\nTo ask the organisers: " + "; ".join(phones) + "."
        return "\n如需确认，可咨询主办方：" + "；".join(phones) + "。"

    async def ask_async(
        self,
        contest_id: str | None,
        question: str,
        route: str | None = None,
        track: str | None = None,
        unit: str | None = None,
    ) -> HelpAnswer:
        """:meth:`ask` in a worker thread: building an index and searching must not block the loop."""
        return await asyncio.to_thread(self.ask, contest_id, question, route, track, unit)


def _worked(worked: Worked, contest: Contest, query: Query) -> HelpAnswer:
    """A reply worked out from what the asker told (``worked.py``), as sure as the rule it quotes."""
    return HelpAnswer(
        worked.said, True, worked.source or worked.entry_id, 1.0, contest.id, worked.said, worked.entry_id,
        query.terms, worked.kind,
    )  # fmt: skip


def _own_form(text: str, contest: Contest, route: str | None) -> tuple[str, str]:
    """A question naming another route's form (a 自荐 entrant asking about "推荐表") is about the
    asker's own form: the text with the form named as the route names it, and a note saying so."""
    channel = next((c for c in contest.channels if c.id == route), None)
    if channel is None:
        return text, ""
    mine = [contest.form(fid) for fid in channel.forms.values()]
    own = next((n for f in mine for n in FORM_NAMES if n in f.title), None)
    named = next((n for n in FORM_NAMES if n in text), None)
    if own is None or named is None or named == own:
        return text, ""
    form = next(f for f in mine if own in f.title)
    return text.replace(
        named, own
    ), f"（您选择的是“{channel.label}”，对应的是《{form.title}》，以下按此回答）"


#: A name the notice puts in quotation marks (“创作之星”, “科创筑梦”): one word, not jieba's 创作 + 之 + 星.
_QUOTED_NAME = re.compile(r"[“「]([\u4e00-\u9fff]{3,8})[”」]")


#: How to answer, not what to answer ("…? Answer in English."): it asks nothing of the notice.
_REPLY_IN = re.compile(
    r"(?i)\b(?:please\s+)?(?:answer|reply|respond|write)(?:\s+(?:to\s+)?me)?\s+in\s+english\b[.!。]?"
    r"|请?(?:用|以)(?:英文|英语)(?:回答|回复|作答)[。！]?"
)


#: A question that no entry covers even this much, with no word of any contest's business and no
#: figure, is not about the contest ("孩子五年级了，报什么兴趣班好": 报 and 推荐 alone are known words).
#: helpdesk_eval, tuning sets: +5 off-topic replies, none given to an answerable question (at 0.15:
#: +6, but 4 answerable ones declined).
OFFTOPIC_BELOW = 0.05


#: A word this rare in a notice's entries (few entries have it) is the notice's own.
OWN_WORD_IDF = 3.0
