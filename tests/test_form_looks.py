"""The documents' speed tricks (bench/README.md 'Forms') leave them as they were.

* DOCX: drawn once per shape of sheet with the values written in
  (:func:`forms.word.filled_docx`); every part must be what python-docx writes itself.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest

from contests.rules import Contest, ContestRegistry, FieldType, Form
from forms.layout import find_layout
from forms.sheet import build_sheet
from forms.word import filled_docx, sheet_docx

CONTESTS = [
    "most-2023-tech-envoy",
    "cq-2023-scientist-spirit",
    "most-cas-2024-kepu",
    "hlj-2022-kepu",
    "cacsi-2022-youth",
]
#: A name's character outside GB 2312: drawn from the full font, next in the stylesheet.
RARE = "堃"


@pytest.fixture(scope="module")
def registry() -> ContestRegistry:
    return ContestRegistry.load()


def typical(contest: Contest, form: Form, *, odd: bool = False) -> dict[str, Any]:
    """Answers as entrants give them; ``odd`` adds what XML and Word treat specially."""
    text = "黑土是大自然给予人类的得天独厚的宝藏，是一种性状好、肥力高、适宜农耕的优质土地。"
    if odd:
        text = " 甲&乙 <丙> “引号”\t制表\n第二行 "
    out: dict[str, Any] = {}
    for fld in form.fields:
        match fld.type:
            case FieldType.PEOPLE:
                out[fld.id] = [f"张{RARE}（某研究院 研究员）", "李四（某大学 副教授）"]
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
                out[fld.id] = text[: fld.max_chars or 24]
    return out


def parts(docx: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(docx)) as package:
        return {name: package.read(name) for name in package.namelist()}


@pytest.mark.parametrize("contest_id", CONTESTS)
def test_docx_drawn_once_per_shape_is_what_python_docx_writes(
    registry: ContestRegistry, contest_id: str
) -> None:
    contest = registry.get(contest_id)
    assert contest is not None
    for form in contest.forms:
        answers = typical(contest, form)
        for values, number, code in (
            (answers, "KP2024-000001", "7KQ2-M9XD"),
            (typical(contest, form, odd=True), "KP2024-000002", "AB12-CD34"),
            ({k: v for n, (k, v) in enumerate(answers.items()) if n % 2}, "KP2024-000003", None),
            (answers, None, None),
        ):
            sheet = build_sheet(
                contest, form, find_layout(contest, form), values, number=number, verify_code=code
            )
            written, filled = parts(sheet_docx(sheet)), parts(filled_docx(sheet))
            assert written.keys() == filled.keys()
            assert [name for name in written if written[name] != filled[name]] == [], (form.id, number)
