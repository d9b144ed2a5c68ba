"""The helpdesk's files: a contest's notice, clause by clause, and its FAQ."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from contests.rules_data import faq_dir


class KnowledgeError(Exception):
    """A notice or FAQ file is unreadable or malformed; the message names the file."""


@dataclass(frozen=True, slots=True)
class Clause:
    cite: str  # "附件1 一、作品要求 （三）作品规格 2."
    text: str
    headings: str  # the titles above it, searched with it


@dataclass(frozen=True, slots=True)
class NoticeText:
    contest_id: str
    title: str
    aliases: tuple[str, ...]
    cites: dict[str, str]
    clauses: tuple[Clause, ...]
    #: Set when this is an earlier edition's notice lent to a new edition that ships none: only
    #: its undated clauses are kept, and they are cited as the earlier notice's.
    borrowed_from: str = ""

    @property
    def name(self) -> str:
        """How answers name it: "通知", or "上届通知" for a lent one."""
        return "上届通知" if self.borrowed_from else "通知"

    def clause_for(self, cite: str) -> Clause | None:
        return next((c for c in self.clauses if c.cite == cite or c.cite.startswith(cite + " ")), None)


_ENUM = re.compile(r"^(（[一二三四五六七八九十]+）|（\d+）|\d+[.．、])")


#: A date or a year in a clause: last year's, in a notice lent to a new edition.
_DATED = re.compile(r"\d{4}\s*年|\d{1,2}\s*月\s*\d{1,2}\s*日|\d{4}-\d{1,2}-\d{1,2}")


#: The pieces a clause is cut into when it names a date: its sentences' comma-separated parts, and
#: a bracketed aside of its own (hlj: "…2022年2月28日前完成并播出过的原创微视频作品（已参加过历届本活动的
#: 作品不再参加本次活动）" keeps its rule on earlier editions' works).
_PIECE = re.compile(r"（[^（）]*）[，,。；;]?|[^，,。；;（]+[，,。；;]?")
#: What must be left of a dated clause, its dated pieces cut, for it still to say a rule.
_UNDATED_LEFT = 16


def _undated(clause: Clause) -> Clause | None:
    """The clause without last year's dates: whole when it names none; else its pieces that name none,
    each cut marked "……" as a quotation marks a cut (a delivery clause keeps its folder-naming rule
    without "2022年10月31日前"); None when too little is left to say anything."""
    if not _DATED.search(clause.text):
        return clause
    pieces = [p if not _DATED.search(p) else "……" for p in _PIECE.findall(clause.text)]
    text = re.sub(r"(?:……)+", "……", "".join(pieces))
    if len(re.sub(r"[…，,。；;\s]", "", text)) < _UNDATED_LEFT:
        return None
    return Clause(clause.cite, text, clause.headings)


def lend(notice: NoticeText) -> NoticeText:
    """An earlier edition's notice as a new edition may use it: its clauses without the dates and
    years they name (the rules of the form, the video, the delivery stay), cited as the earlier
    notice's."""
    clauses = tuple(c for c in map(_undated, notice.clauses) if c is not None)
    kept = {c.cite for c in clauses}
    cites = {k: v for k, v in notice.cites.items() if any(c == v or c.startswith(v + " ") for c in kept)}
    return NoticeText(notice.contest_id, notice.title, notice.aliases, cites, clauses, notice.contest_id)


def lineage_of(contest_id: str) -> str:
    """A contest id without its year (most-cas-2024-kepu -> most-cas-kepu), as editions share it."""
    return re.sub(r"-?\d{4}(?=-|$)", "", contest_id)


def parse_notice(text: str, where: str = "<notice>") -> NoticeText:
    """Read a notice file: YAML front matter between ``---`` lines, then headings and clauses.

    A heading ``LABEL | TITLE`` is cited as LABEL and searched as TITLE; each non-empty line
    under a heading is one clause, cited by the labels above it and its own enumerator.
    """
    parts = text.split("\n---\n", 1)
    if not text.startswith("---\n") or len(parts) != 2:
        raise KnowledgeError(f"{where}: expected YAML front matter between '---' lines")
    try:
        meta = yaml.safe_load(parts[0][4:]) or {}
    except yaml.YAMLError as exc:
        raise KnowledgeError(f"{where}: front matter is not valid YAML: {exc}") from exc
    if not isinstance(meta, dict) or not isinstance(meta.get("contest"), str):
        raise KnowledgeError(f"{where}: front matter needs `contest: <id>`")
    headings: list[tuple[str, str]] = []
    clauses: list[Clause] = []
    lead: tuple[tuple[tuple[str, str], ...], str] | None = None
    for lineno, raw in enumerate(parts[1].splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            label, _, title = line[level:].strip().partition(" | ")
            del headings[level - 1 :]
            headings.extend([("", "")] * (level - 1 - len(headings)))
            headings.append((label.strip(), (title or label).strip()))
            continue
        if not headings:
            raise KnowledgeError(f"{where}: line {lineno}: a clause before any heading")
        enum = _ENUM.match(line)
        cite = " ".join(label for label, _ in headings if label)
        context = " ".join(t for _, t in headings if t)
        if enum:
            cite += " " + enum.group(1)
            # A list item is read with the sentence that introduces the list ("…同时通过以下两种方式
            # 提交材料。" then "2. …发至邮箱"): search it with that lead-in, as a reader would.
            if lead and lead[0] == tuple(headings):
                context += " " + lead[1]
        else:
            lead = (tuple(headings), line)
        clauses.append(Clause(cite, line, context))
    cites = {str(k): str(v) for k, v in (meta.get("cites") or {}).items()}
    notice = NoticeText(
        contest_id=meta["contest"],
        title=str(meta.get("notice", "")),
        aliases=tuple(str(a) for a in meta.get("aliases") or ()),
        cites=cites,
        clauses=tuple(clauses),
    )
    for key, cite in cites.items():
        if notice.clause_for(cite) is None:
            raise KnowledgeError(f"{where}: cites.{key}: no clause is cited as {cite!r}")
    return notice


class FaqItem(BaseModel):
    """One organiser-written answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
    questions: tuple[str, ...] = ()
    answer: str = ""
    source: str = ""
    disabled: bool = False

    @model_validator(mode="after")
    def _complete(self) -> FaqItem:
        if not self.disabled and (not self.questions or not self.answer.strip()):
            raise ValueError("an FAQ entry needs questions and an answer (or disabled: true)")
        return self


class _FaqFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    entries: tuple[FaqItem, ...] = ()


_CJK_GAP = re.compile(r"(?<=[\u3000-\u9fff\uff00-\uffef])\s+(?=[\u3000-\u9fff\uff00-\uffef])")


def _join_cjk(text: str) -> str:
    """Drop the spaces YAML folding puts where a Chinese line was broken (``>-`` blocks)."""
    return _CJK_GAP.sub("", text.strip())


def faq_files(contest_id: str, dirs: Sequence[Path]) -> list[Path]:
    """The FAQ files of a contest that exist, shipped first, overrides after."""
    return [d / f"{contest_id}.yaml" for d in (faq_dir(), *dirs) if (d / f"{contest_id}.yaml").is_file()]


def load_faq(contest_id: str, dirs: Sequence[Path] = ()) -> list[FaqItem]:
    """The contest's FAQ: shipped entries, then each folder's entries replacing those of the same id."""
    merged: dict[str, FaqItem] = {}
    for path in faq_files(contest_id, dirs):
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            items = _FaqFile.model_validate(raw).entries
        except (OSError, yaml.YAMLError) as exc:
            raise KnowledgeError(f"{path}: cannot read: {exc}") from exc
        except ValidationError as exc:
            raise KnowledgeError(f"{path}: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}") from exc
        for item in items:
            merged[item.id] = item.model_copy(update={"answer": _join_cjk(item.answer)})
    return [item for item in merged.values() if not item.disabled]
