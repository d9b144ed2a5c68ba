"""The organisers' units file: the recommending units of a contest, checked against its
quota kinds before anything is imported."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from contests.org import Unit, normalise_name
from contests.rules import Contest

__all__ = ["ImportSummary", "UnitsImportError", "parse_units_csv"]


class UnitsImportError(ValueError):
    """The units file has errors; ``errors`` names each line.  Nothing was imported."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What an import did: units added and updated, and notes on lines taken with a change."""

    added: int
    updated: int
    notes: tuple[str, ...] = ()


_HEADER = {
    "name": "name", "名称": "name", "单位名称": "name", "单位": "name",
    "kind": "kind", "类别": "kind", "类型": "kind", "名额类别": "kind",
    "province": "province", "省份": "province", "所在省份": "province", "省": "province",
}  # fmt: skip


def _decode(data: bytes) -> str:
    # Excel saves UTF-8 with a BOM; WPS and Excel on Chinese Windows save GB18030 ("ANSI").
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            raise UnitsImportError(["文件既不是 UTF-8 也不是 GBK 编码，请另存为 CSV UTF-8"]) from None


def parse_units_csv(data: bytes | str, contest: Contest) -> tuple[list[Unit], list[str]]:
    """Units from CSV ``name,kind,province`` (a header row first), checked against the contest's
    quota kinds.  Returns the units and notes; raises :class:`UnitsImportError` naming every
    bad line."""
    text = _decode(data) if isinstance(data, bytes) else data.removeprefix("\ufeff")
    rules = {r.kind: r for c in contest.channels for r in c.quota if r.kind != "self"}
    listed = {normalise_name(u): r for c in contest.channels for r in c.quota for u in r.units}
    kinds = "、".join(rules) or "（无）"
    errors: list[str] = []
    notes: list[str] = []
    units: list[Unit] = []
    seen: dict[str, int] = {}
    reader = csv.reader(io.StringIO(text))
    columns: list[str] | None = None
    for row in reader:
        line = reader.line_num
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if columns is None:
            columns = [_HEADER.get(c.casefold(), "") for c in cells]
            if "name" not in columns or "kind" not in columns:
                got = ",".join(row)
                raise UnitsImportError(
                    [f"第 {line} 行应为表头 name,kind,province（或 名称,类别,省份），实为：{got}"]
                )
            continue
        if len(cells) > len(columns) and any(cells[len(columns) :]):
            errors.append(f"第 {line} 行：多出 {len(cells) - len(columns)} 列（表头只有 {len(columns)} 列）")
            continue
        rec = dict(zip(columns, cells, strict=False))
        name, kind, province = rec.get("name", ""), rec.get("kind", ""), rec.get("province", "")
        if not name:
            errors.append(f"第 {line} 行：单位名称为空")
            continue
        if len(name) > 100:
            errors.append(f"第 {line} 行：单位名称超过 100 字")
            continue
        if kind == "self":
            errors.append(f"第 {line} 行：“{name}”的类别 self 指自荐者本人，不需要导入")
            continue
        if kind not in rules:
            errors.append(f"第 {line} 行：“{name}”的类别“{kind}”不是本赛事的名额类别（可用：{kinds}）")
            continue
        key = normalise_name(name)
        named_in = listed.get(key)
        if named_in is not None and named_in.kind != kind:
            notes.append(f"第 {line} 行：“{name}”在通知名单中，类别按通知改为 {named_in.kind}")
            kind = named_in.kind
        elif rules[kind].units and named_in is None:
            others = [k for k, r in rules.items() if not r.units and k != kind]
            hint = f"；其他单位请用 {'、'.join(others)}" if others else ""
            errors.append(f"第 {line} 行：“{name}”不在通知列出的 {kind} 名单中{hint}")
            continue
        rule = rules[kind]
        bonus = {normalise_name(u) for u in rule.bonus_units}
        if bonus and key not in bonus and not province:
            notes.append(
                f"第 {line} 行：“{name}”未填省份，无法判断是否属于通知所列"
                "可增加名额的地区（如附件2“三区”），按不增加计"
            )
        if key in seen:
            errors.append(f"第 {line} 行：“{name}”与第 {seen[key]} 行重复")
            continue
        seen[key] = line
        units.append(Unit(contest.id, name, kind, province))
    if columns is None:
        errors.append("文件是空的：第一行应为表头 name,kind,province")
    if errors:
        raise UnitsImportError(errors)
    return units, notes
