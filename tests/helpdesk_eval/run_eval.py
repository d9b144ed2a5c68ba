"""Evaluate the helpdesk on ``questions.yaml``: top-1 accuracy, hand-off rate, confidently-wrong rate.

    .venv/bin/python -m tests.helpdesk_eval.run_eval [--split dev|test|all] [-v] [--sweep]

Outcomes per question:

* **correct**: answered confidently, about the right contest, and every expected fact is in the answer;
* **handed off**: not confident (the entrant is told so and an operator takes it);
* **wrong**: answered confidently but a fact is missing, the contest is wrong, or the notices
  cannot answer it (``handoff: true``).

Top-1 accuracy looks past the threshold: of the questions the notices can answer, how many have
the expected facts in the best entry found (answered or only suggested to the operator).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from contests.rules import ContestRegistry
from handlers.helpdesk.answer import HelpAnswer, Helpdesk

QUESTIONS = Path(__file__).with_name("questions.yaml")

Outcome = Literal["correct", "handoff", "wrong"]


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    contest: str | None
    q: str
    split: str
    expect: tuple[str, ...] = ()
    handoff: bool = False
    expect_contest: str | None = None

    def facts_in(self, text: str) -> bool:
        """Every expected fact (``a|b``: either) is in ``text``."""
        return bool(self.expect) and all(any(alt in text for alt in key.split("|")) for key in self.expect)


def load_questions(path: Path = QUESTIONS) -> list[Question]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["questions"]
    out = []
    for item in raw:
        data: dict[str, Any] = dict(item)
        data["expect"] = tuple(str(x) for x in data.get("expect", ()))
        out.append(Question(**data))
    return out


@dataclass(frozen=True, slots=True)
class Result:
    question: Question
    answer: HelpAnswer
    outcome: Outcome
    top1: bool  # the best entry holds the expected facts (answerable questions only)


def judge(question: Question, answer: HelpAnswer) -> Result:
    right_contest = answer.contest_id == (question.expect_contest or question.contest or answer.contest_id)
    top1 = right_contest and question.facts_in(answer.suggestion or answer.answer)
    if not answer.confident:
        outcome: Outcome = "handoff"
    elif not question.handoff and right_contest and question.facts_in(answer.answer):
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
        return sum(not r.question.handoff for r in self.results)

    @property
    def correct_rate(self) -> float:
        return self._count("correct") / self.n

    @property
    def handoff_rate(self) -> float:
        return self._count("handoff") / self.n

    @property
    def wrong_rate(self) -> float:
        return self._count("wrong") / self.n

    @property
    def ok_rate(self) -> float:
        """Answered correctly or handed off: the target is ≥ 90 %."""
        return 1 - self.wrong_rate

    @property
    def top1_accuracy(self) -> float:
        answerable = [r for r in self.results if not r.question.handoff]
        return sum(r.top1 for r in answerable) / len(answerable) if answerable else 0.0

    def summary(self, label: str = "") -> str:
        return (
            f"{label}questions {self.n} (answerable {self.answerable}): "
            f"top-1 accuracy {self.top1_accuracy:.1%} | answered correctly {self.correct_rate:.1%} | "
            f"handed off {self.handoff_rate:.1%} | confidently wrong {self.wrong_rate:.1%} | "
            f"correct or handed off {self.ok_rate:.1%} | "
            f"{1000 * self.seconds / max(self.n, 1):.1f} ms/question"
        )


def evaluate(helpdesk: Helpdesk, questions: Sequence[Question]) -> Report:
    start = time.perf_counter()
    results = tuple(judge(q, helpdesk.ask(q.contest, q.q)) for q in questions)
    return Report(results, time.perf_counter() - start)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["dev", "test", "all"], default="all")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="print every question that is not correct"
    )
    parser.add_argument(
        "--sweep", action="store_true", help="metrics for thresholds 0.30 … 0.90 (calibration)"
    )
    args = parser.parse_args(argv)

    questions = [q for q in load_questions() if args.split in ("all", q.split)]
    started = time.perf_counter()
    helpdesk = Helpdesk(ContestRegistry.load())
    helpdesk.warm()
    print(f"index built for {len(helpdesk.contests)} contests in {time.perf_counter() - started:.2f} s")
    report = evaluate(helpdesk, questions)
    for split in ("dev", "test"):
        part = tuple(r for r in report.results if r.question.split == split)
        if part and args.split == "all":
            print(Report(part, report.seconds * len(part) / report.n).summary(f"[{split:>4}] "))
    print(report.summary(f"[{args.split:>4}] "))
    if args.verbose:
        for r in report.results:
            if r.outcome != "correct":
                a = r.answer
                print(
                    f"- {r.outcome:7} {r.question.id} {r.question.q!r} conf={a.score:.2f} top1={r.top1} "
                    f"{a.entry_id} terms={list(a.terms)}\n    {(a.suggestion or a.answer)[:150]!r}"
                )
    if args.sweep:
        for step in range(30, 95, 5):
            helpdesk.threshold = step / 100
            swept = evaluate(helpdesk, questions)
            print(f"threshold {step / 100:.2f}: " + swept.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
