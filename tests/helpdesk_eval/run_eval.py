"""Evaluate the helpdesk: answer rate, hand-off rate and confident errors, reported separately.

    .venv/bin/python -m tests.helpdesk_eval.run_eval [--set seen|unseen|all] [--split dev|test|all] [-v]

Sets: ``questions.yaml`` (written with the first helpdesk) and ``unseen*.yaml`` (written later
from the notices alone by someone who had not read the helpdesk or its lexicon, in entrants' words:
colloquial, long-winded, typos, English, two facts at once, edge cases, things the notice does
not say, personal and off-topic questions).  Its ``test`` split is not read while tuning.

Each question has a ``kind``: ``answer`` (the notice answers it), ``silent`` (the notice does not
say: the right reply says so), ``personal`` (about the asker's own submission: answered from the
store) or ``offtopic``.  Outcomes:

* **correct**: the reply the question needs: for ``answer``, a confident answer about the right
  contest holding every expected fact and no forbidden one; for ``silent``, "the notice does not
  say"; for ``personal``, routed to the asker's submissions; for ``offtopic``, the scope reply;
* **handed off**: not confident (an operator takes it).  Never counted as correct;
* **declined**: an answerable question given the off-topic reply (nothing false said, nothing useful);
* **wrong** (confident error): anything else said confidently: a missing or forbidden fact, the
  wrong contest, "the notice does not say" where it does, a fact where the notice is silent.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from contests.registry import ContestRegistry
from handlers.helpdesk.answer import HelpAnswer, Helpdesk

QUESTIONS = Path(__file__).with_name("questions.yaml")

Outcome = Literal["correct", "handoff", "declined", "wrong"]
Kind = Literal["answer", "silent", "personal", "offtopic"]
NOT_STATED = re.compile(
    r"未在通知中公布|原文空白|通知(没有|未|并未)(写明|规定|提到|公布|说明|给出)|没有(规定|提到|写明)"
)
SETS = {
    "seen": QUESTIONS,
    "unseen": QUESTIONS.with_name("unseen.yaml"),
    "unseen2": QUESTIONS.with_name("unseen2.yaml"),
    "unseen3": QUESTIONS.with_name("unseen3.yaml"),
    "unseen4": QUESTIONS.with_name("unseen4.yaml"),
    "unseen5": QUESTIONS.with_name("unseen5.yaml"),
    "unseen6": QUESTIONS.with_name("unseen6.yaml"),
    "unseen7": QUESTIONS.with_name("unseen7.yaml"),
    "unseen8": QUESTIONS.with_name("unseen8.yaml"),
    "unseen9": QUESTIONS.with_name("unseen9.yaml"),
    "unseen10": QUESTIONS.with_name("unseen10.yaml"),
    "unseen11": QUESTIONS.with_name("unseen11.yaml"),
    "unseen12": QUESTIONS.with_name("unseen12.yaml"),
    "unseen13": QUESTIONS.with_name("unseen13.yaml"),
    "unseen14": QUESTIONS.with_name("unseen14.yaml"),
    "unseen15": QUESTIONS.with_name("unseen15.yaml"),
    "unseen16": QUESTIONS.with_name("unseen16.yaml"),
    "unseen17": QUESTIONS.with_name("unseen17.yaml"),
    "unseen18": QUESTIONS.with_name("unseen18.yaml"),
    "unseen19": QUESTIONS.with_name("unseen19.yaml"),
    "unseen20": QUESTIONS.with_name("unseen20.yaml"),
    "unseen21": QUESTIONS.with_name("unseen21.yaml"),
    "unseen22": QUESTIONS.with_name("unseen22.yaml"),
    "unseen23": QUESTIONS.with_name("unseen23.yaml"),
}


#: ASCII: ``\b10\b`` must match "10部" (a Chinese character is not a word character there).
_FLAGS = re.IGNORECASE | re.ASCII


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    contest: str | None
    q: str
    split: str
    expect: tuple[str, ...] = ()
    kind: Kind = "answer"
    expect_contest: str | None = None
    forbid: tuple[str, ...] = ()
    set: str = "seen"
    regex: bool = False  # the set's patterns are regular expressions (``match: regex`` in its file)

    def facts_in(self, text: str) -> bool:
        """Every expected fact (``a|b``: either) is in ``text``, and no forbidden one."""
        if self.regex:
            return (
                bool(self.expect)
                and all(re.search(key, text, _FLAGS) for key in self.expect)
                and not any(re.search(f, text, _FLAGS) for f in self.forbid)
            )
        low = text.lower()
        return (
            bool(self.expect)
            and all(any(alt.lower() in low for alt in key.split("|")) for key in self.expect)
            and not any(f.lower() in low for f in self.forbid)
        )


def load_questions(path: Path = QUESTIONS) -> list[Question]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw, regex = loaded["questions"], loaded.get("match") == "regex"
    name = next((k for k, v in SETS.items() if v == path), path.stem)
    out = []
    for item in raw:
        data: dict[str, Any] = dict(item)
        if data.pop("handoff", False):  # the first set's word for "the notice cannot answer it"
            data["kind"] = "silent"
        data["expect"] = tuple(str(x) for x in data.get("expect", ()))
        data["forbid"] = tuple(str(x) for x in data.get("forbid", ()))
        out.append(Question(**data, set=name, regex=regex))
    return out


@dataclass(frozen=True, slots=True)
class Result:
    question: Question
    answer: HelpAnswer
    outcome: Outcome
    top1: bool  # the best entry holds the expected facts (answerable questions only)


def judge(question: Question, answer: HelpAnswer) -> Result:
    right_contest = answer.contest_id == (question.expect_contest or question.contest or answer.contest_id)
    answerable = question.kind == "answer"
    top1 = answerable and right_contest and question.facts_in(answer.suggestion or answer.answer)
    outcome: Outcome
    if question.kind == "personal":
        outcome = "correct" if answer.kind == "personal" else ("handoff" if not answer.confident else "wrong")
    elif not answer.confident:
        outcome = "handoff"
    elif question.kind == "offtopic":
        outcome = "correct" if answer.kind in ("offtopic", "silent") else "wrong"
    elif question.kind == "silent":
        # An answer that states the notice's silence in its own words ("邮箱未在通知中公布") is that reply.
        said = answer.kind == "silent" or bool(NOT_STATED.search(answer.answer))
        outcome = "correct" if said and right_contest else "wrong"
    elif answer.kind == "offtopic":
        outcome = "declined"
    elif answer.kind in ("answer", "silent") and right_contest and question.facts_in(answer.answer):
        outcome = "correct"
    else:
        outcome = "wrong"
    return Result(question, answer, outcome, top1)


@dataclass(frozen=True, slots=True)
class Report:
    results: tuple[Result, ...]
    seconds: float

    def _count(self, outcome: Outcome) -> int:
        return sum(r.outcome == outcome for r in self.results)

    @property
    def n(self) -> int:
        return len(self.results)

    @property
    def answerable(self) -> int:
        return sum(r.question.kind == "answer" for r in self.results)

    def _answerable_rate(self, outcome: Outcome) -> float:
        part = [r for r in self.results if r.question.kind == "answer"]
        return sum(r.outcome == outcome for r in part) / len(part) if part else 0.0

    @property
    def answered_rate(self) -> float:
        """Of the questions the notice answers, how many were answered correctly: the target is ≥ 85 %."""
        return self._answerable_rate("correct")

    @property
    def correct_rate(self) -> float:
        """Every kind: the reply each question needs."""
        return self._count("correct") / self.n

    @property
    def handoff_rate(self) -> float:
        return self._count("handoff") / self.n

    @property
    def declined_rate(self) -> float:
        return self._count("declined") / self.n

    @property
    def wrong_rate(self) -> float:
        """Confident errors over all questions: the target is ≤ 1 in 80 (1.25 %)."""
        return self._count("wrong") / self.n

    @property
    def top1_accuracy(self) -> float:
        answerable = [r for r in self.results if r.question.kind == "answer"]
        return sum(r.top1 for r in answerable) / len(answerable) if answerable else 0.0

    def summary(self, label: str = "") -> str:
        return (
            f"{label}questions {self.n} (answerable {self.answerable}): "
            f"answerable answered correctly {self.answered_rate:.1%} | all correct {self.correct_rate:.1%} | "
            f"handed off {self.handoff_rate:.1%} | declined {self.declined_rate:.1%} | "
            f"confident errors {self._count('wrong')} ({self.wrong_rate:.1%}) | "
            f"top-1 {self.top1_accuracy:.1%} | {1000 * self.seconds / max(self.n, 1):.1f} ms/question"
        )


def evaluate(helpdesk: Helpdesk, questions: Sequence[Question]) -> Report:
    start = time.perf_counter()
    results = tuple(judge(q, helpdesk.ask(q.contest, q.q)) for q in questions)
    return Report(results, time.perf_counter() - start)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=[*SETS, "all"], default="all")
    parser.add_argument("--split", choices=["dev", "test", "all"], default="all")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="print every question that is not correct"
    )
    args = parser.parse_args(argv)

    questions = [
        q
        for name, path in SETS.items()
        if args.set in ("all", name) and path.is_file()
        for q in load_questions(path)
        if args.split in ("all", q.split)
    ]
    started = time.perf_counter()
    helpdesk = Helpdesk(ContestRegistry.load())
    helpdesk.warm()
    print(f"index built for {len(helpdesk.contests)} contests in {time.perf_counter() - started:.2f} s")
    report = evaluate(helpdesk, questions)
    for name in SETS:
        for split in ("dev", "test"):
            part = tuple(r for r in report.results if r.question.split == split and r.question.set == name)
            if part:
                print(Report(part, report.seconds * len(part) / report.n).summary(f"[{name:>6} {split:>4}] "))
    print(report.summary("[   all     ] "))
    if args.verbose:
        for r in report.results:
            if r.outcome != "correct":
                a = r.answer
                print(
                    f"- {r.outcome:8} {r.question.id} {r.question.kind} {r.question.q!r}"
                    f" expect={list(r.question.expect)} conf={a.score:.2f} top1={r.top1}"
                    f" {a.kind} {a.entry_id} terms={list(a.terms)}\n"
                    f"    {(a.suggestion or a.answer)[:160]!r}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
