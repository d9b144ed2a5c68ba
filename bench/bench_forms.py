"""Filled-in forms per second, DOCX and PDF apart; receipts signed and verified per second.

    .venv/bin/python bench/bench_forms.py [--repeat 7] [--rounds 3] [--json]

Every form of every preset is filled with full-length answers (100字 cells at their limit)
and drawn ``--rounds`` times per repeat; each repeat is timed as a whole, in CPU time of the
process (what a render costs) and wall-clock time, and the median of the ``--repeat`` repeats
is reported for DOCX (python-docx) and PDF (jinja2 HTML + WeasyPrint) apart, with the ratio of
their costs and every repeat's figure.  A warm-up render first loads WeasyPrint, the fonts
and the templates, which a running service pays once.  Receipts: issue (Ed25519 sign) and
verify (token), and the receipt PDF.  One process, one thread: a second core does not help a
single render (the GIL, and PDF renders are serialised).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from contests.records import Submission, UserKey  # noqa: E402
from contests.rules import Contest, ContestRegistry, FieldType, Form  # noqa: E402

TEXT = "黑土是大自然给予人类的得天独厚的宝藏，是一种性状好、肥力高、适宜农耕的优质土地。" * 10


def answers(contest: Contest, form: Form) -> dict[str, Any]:
    """Answers as long as the notice allows: the slowest realistic form."""
    out: dict[str, Any] = {}
    for fld in form.fields:
        match fld.type:
            case FieldType.PEOPLE:
                out[fld.id] = ["张三（某研究院 研究员）", "李四（某大学 副教授）", "王五工作室"]
            case FieldType.DATE:
                out[fld.id] = f"{contest.year}-02-15"
            case FieldType.INTEGER:
                out[fld.id] = 12800
            case FieldType.CHOICE:
                out[fld.id] = fld.options[0]
            case FieldType.PLEDGE:
                out[fld.id] = "同意"
            case FieldType.URL:
                out[fld.id] = "https://pan.baidu.com/s/1AbCdEfGhIjKlMnOpQrSt?pwd=k3p9"
            case _:
                out[fld.id] = TEXT[: fld.max_chars or (120 if fld.multiline else 24)]
    return out


def timed(repeat: int, job: Callable[[], object]) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds of each repeat.  CPU time is what a render costs; wall time
    also holds whatever else the machine was doing (on a shared 2-core VM, a lot)."""
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        job()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed repeats; the median is reported")
    parser.add_argument("--rounds", type=int, default=3, help="renders of every form per repeat")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="one tiny round, seconds: the bench still runs, its figures mean nothing",
    )
    args = parser.parse_args()
    if args.smoke:
        args.repeat, args.rounds = 1, 1

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from forms.layout import find_layout
    from forms.pdf import sheet_pdf
    from forms.receipts import issue_receipt
    from forms.sheet import build_sheet
    from forms.verify import verify_receipt
    from forms.word import sheet_docx

    registry = ContestRegistry.load()
    sheets = []
    for contest in registry:
        for form in contest.forms:
            layout = find_layout(contest, form)
            sheets.append(
                build_sheet(
                    contest,
                    form,
                    layout,
                    answers(contest, form),
                    number="KP2024-000123",
                    verify_code="7KQ2-M9XD",
                )
            )
    if args.smoke:  # one form stands for them all: the bench runs end to end, nothing more
        sheets = sheets[:1]
    sheet_pdf(sheets[0])  # warm-up: WeasyPrint, Pango, fonts, templates
    sheet_docx(sheets[0])
    n = len(sheets) * args.rounds

    def all_docx() -> None:
        for _ in range(args.rounds):
            for sheet in sheets:
                sheet_docx(sheet)

    def all_pdf() -> None:
        for _ in range(args.rounds):
            for sheet in sheets:
                sheet_pdf(sheet)

    docx_wall, docx_cpu = timed(args.repeat, all_docx)
    pdf_wall, pdf_cpu = timed(args.repeat, all_pdf)
    docx_s, pdf_s = statistics.median(docx_cpu) / n, statistics.median(pdf_cpu) / n

    contest = registry.get("most-cas-2024-kepu")
    assert contest is not None
    key = Ed25519PrivateKey.generate()
    sub = Submission(
        "KP2024-000123", contest.id, UserKey("telegram", "42"), "recommend", "recommend",
        answers(contest, contest.form("recommend")),
        {"kind": "file", "sha256": "ab" * 32, "checked": True, "verdict": "passed"},
        dt.datetime(2024, 10, 1, tzinfo=dt.UTC),
    )  # fmt: skip
    receipt = issue_receipt(sub, contest, key)
    token, public, many = receipt.token, key.public_key(), 5 if args.smoke else 200
    _, sign = timed(args.repeat, lambda: [issue_receipt(sub, contest, key) for _ in range(many)])
    _, verify = timed(args.repeat, lambda: [verify_receipt(token, public) for _ in range(many)])
    _, receipt_pdf = timed(args.repeat, lambda: receipt.pdf())

    def ms(runs: list[float]) -> list[float]:
        return [round(r / n * 1000, 1) for r in runs]

    result = {
        "forms": len(sheets),
        "renders_per_repeat": n,
        "repeat": args.repeat,
        "docx_cpu_ms_per_form": round(docx_s * 1000, 2),
        "pdf_cpu_ms_per_form": round(pdf_s * 1000, 2),
        "docx_forms_per_cpu_s": round(1 / docx_s, 1),
        "pdf_forms_per_cpu_s": round(1 / pdf_s, 2),
        "pdf_to_docx_cost": round(pdf_s / docx_s, 1),
        "docx_wall_ms_per_form": round(statistics.median(docx_wall) / n * 1000, 2),
        "pdf_wall_ms_per_form": round(statistics.median(pdf_wall) / n * 1000, 2),
        "docx_repeats_cpu_ms_per_form": ms(docx_cpu),
        "pdf_repeats_cpu_ms_per_form": ms(pdf_cpu),
        "docx_repeats_wall_ms_per_form": ms(docx_wall),
        "pdf_repeats_wall_ms_per_form": ms(pdf_wall),
        "receipt_issue_per_cpu_s": round(many / statistics.median(sign)),
        "receipt_verify_token_per_cpu_s": round(many / statistics.median(verify)),
        "receipt_pdf_cpu_ms": round(statistics.median(receipt_pdf) * 1000, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    r = result
    which = "the first form only: a smoke run" if args.smoke else "every form of every preset"
    print(f"forms: {len(sheets)} ({which}), {n} renders a repeat, median of {args.repeat}")
    print(f"          CPU ms/form  forms/CPU-s  wall ms/form   (load average {r['load_average']})")
    for kind in ("docx", "pdf"):
        cpu_ms, per_s, wall_ms = (
            r[f"{kind}_{k}"] for k in ("cpu_ms_per_form", "forms_per_cpu_s", "wall_ms_per_form")
        )
        print(f"  {kind.upper():5} {cpu_ms:12.2f} {per_s:12.2f} {wall_ms:13.2f}")
    print(f"  a PDF costs {r['pdf_to_docx_cost']}× a DOCX (CPU)")
    for kind in ("docx", "pdf"):
        print(f"  {kind.upper()} repeats, ms/form: CPU {r[f'{kind}_repeats_cpu_ms_per_form']}")
        print(f"  {' ' * len(kind)}                wall {r[f'{kind}_repeats_wall_ms_per_form']}")
    issue, verify_per_s, pdf_ms = (
        r["receipt_issue_per_cpu_s"], r["receipt_verify_token_per_cpu_s"], r["receipt_pdf_cpu_ms"]
    )  # fmt: skip
    print(f"receipts (CPU): issue {issue}/s, verify a token {verify_per_s}/s, receipt PDF {pdf_ms} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
