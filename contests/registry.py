"""Contest files read, validated and written, and the registry of the contests one process knows.

A contest is one YAML file in ``presets/`` (shipped) or in the operator's folder, read into the
models of :mod:`contests.rules`.  A file that breaks the schema is refused with the file and the
field named (:class:`ContestError`), and no two contests known together may share a numbering
prefix.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from contests.rules import Contest


class ContestError(Exception):
    """A contest file is missing, unreadable or breaks the schema; the message names file and field."""


def _describe(error: ValidationError) -> str:
    parts = []
    for err in error.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def load_contest(path: Path) -> Contest:
    """Read and validate one contest file; :class:`ContestError` names the file and the field."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ContestError(f"{path}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ContestError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ContestError(f"{path}: expected a mapping at the top level")
    try:
        contest = Contest.model_validate(raw)
    except ValidationError as exc:
        raise ContestError(f"{path}: {_describe(exc)}") from exc
    if path.stem != contest.id:
        raise ContestError(f"{path}: id {contest.id!r} does not match the file name")
    return contest


def preset_dir() -> Path:
    return Path(__file__).with_name("presets")


class ContestRegistry:
    """The contests known to one process: the shipped presets, then the operator's folder.

    A contest in the operator's folder with the same id as a preset replaces it, so an
    organiser can correct a preset without touching the package.
    """

    def __init__(self, contests: Iterable[Contest]) -> None:
        self._by_id = {c.id: c for c in contests}
        # One prefix is one numbering sequence: two contests holding it would issue numbers
        # from the same counter and each number would name a work of either.
        holders: dict[str, Contest] = {}
        for contest in sorted(self._by_id.values(), key=lambda c: c.id):
            other = holders.setdefault(contest.number_prefix, contest)
            if other is not contest:
                raise ContestError(
                    f"编号前缀 {contest.number_prefix} 同时用于「{other.title}」（{other.id}）"
                    f"和「{contest.title}」（{contest.id}）：两个大赛不能共用一个编号序列，"
                    "请修改其中一个的 number_prefix"
                )

    @classmethod
    def load(cls, *folders: Path) -> ContestRegistry:
        found: dict[str, Contest] = {}
        for folder in (preset_dir(), *folders):
            if not folder.is_dir():
                continue
            for path in sorted(folder.glob("*.yaml")):
                contest = load_contest(path)
                found[contest.id] = contest
        return cls(found.values())

    def __iter__(self) -> Iterator[Contest]:
        return iter(sorted(self._by_id.values(), key=lambda c: (c.deadline, c.id)))

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, contest_id: str) -> Contest | None:
        return self._by_id.get(contest_id)

    def open(self, now: dt.datetime) -> list[Contest]:
        return [c for c in self if c.status(now) == "open"]


def dump_contest(data: dict[str, Any], path: Path) -> Contest:
    """Validate ``data`` and write it as YAML; refuses to overwrite an existing file."""
    contest = Contest.model_validate(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
    with path.open("x", encoding="utf-8") as fh:  # "x": never clobber an organiser's edits
        fh.write(text)
    return contest
