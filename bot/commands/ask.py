"""``ask [--contest ID] "QUESTION" [--json]``: the helpdesk's answer, as an entrant would get it.

Answers from the preset, the notice and the FAQ (shipped, plus ``DATA_DIR/faq/<id>.yaml``).
Nothing is stored: a question the helpdesk is unsure about is reported as such (``confident:
false``); tickets are opened only in chat.
"""

from __future__ import annotations

import argparse
import json
import sys

from bot.settings import Settings
from contests.registry import ContestRegistry
from handlers.helpdesk.answer import Helpdesk
from handlers.helpdesk.sources import KnowledgeError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    ask = sub.add_parser("ask", help="ask the helpdesk a question about a contest")
    ask.add_argument("question", help="the question, in your own words (e.g. 视频可以多大？)")
    ask.add_argument("--contest", help="contest id; default: the contest the question names, else the latest")
    ask.add_argument("--json", action="store_true", help="machine-readable output")
    ask.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    registry = ContestRegistry.load(settings.contest_folder)
    if args.contest is not None and registry.get(args.contest) is None:
        print(f"没有找到大赛 {args.contest!r}；可用：{', '.join(c.id for c in registry)}", file=sys.stderr)
        return 2
    helpdesk = Helpdesk(registry, [settings.data_dir / "faq"])
    try:
        result = helpdesk.ask(args.contest, args.question)
    except KnowledgeError as exc:
        print(f"知识库文件有误：{exc}", file=sys.stderr)
        return 2
    if args.json:
        payload = {
            "answer": result.answer,
            "confident": result.confident,
            "source": result.source,
            "contest_id": result.contest_id,
            "score": result.score,
        }
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0
    print(result.answer)
    if not result.confident:
        print("（不确定：在聊天中提问时，这个问题会转交主办方工作人员。）")
        if result.suggestion and result.suggestion not in result.answer:
            print(f"最接近的内容（供参考）：{result.suggestion}")
    return 0
