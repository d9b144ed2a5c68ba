"""The organisers' units file: the recommending units of a contest, as organisers name them,
mapped onto the notice's lists and tiers before anything is imported.

A district's office may be written 科学技术局, 科技局 or 科委, a province's 科学技术厅 or 科技厅,
an association by its full or short name, an autonomous county by its short name (石柱县);
:mod:`contests.names` says which place or unit the name stands for.  :func:`read_units` gives
the mapping of every line (name → matched place, kind, places) that the organiser is shown and
confirms before :meth:`AdminService.import_units` saves it.  A line that cannot be mapped (a
name that is none of the notice's, a province column that names none of its provinces) is
shown with its reason and the listed names it was probably meant as (:class:`SkippedRow`):
the organiser may import the other lines and fix it, never have it saved as a guess.  The
preview carries a digest of what it shows (:attr:`UnitsPreview.digest`): a confirmation whose
file, mapped again, no longer gives the same digest saves nothing and asks for a new preview.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass

from contests.names import (
    PROVINCES,
    SUB_PROVINCIAL_CITIES,
    XPCC,
    city_of,
    closest,
    expand,
    is_xpcc,
    office_core,
    place_of_unit,
    split_province,
)
from contests.names import province_of as province_in
from contests.org import Unit, normalise_name
from contests.rules import Contest, EntryRoute, QuotaRule
from handlers.quota.rules import limit_for, selection_field

__all__ = [
    "ImportSummary",
    "SkippedRow",
    "UnitRow",
    "UnitsImportError",
    "UnitsPreview",
    "UnitsPreviewChanged",
    "lines_to_fix",
    "parse_units_csv",
    "read_units",
]


class UnitsImportError(ValueError):
    """The units file cannot be imported as it is; ``errors`` names each line.  Nothing was
    imported."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


class UnitsPreviewChanged(UnitsImportError):
    """The file, mapped again at confirmation, is not what the organiser was shown."""

    def __init__(self) -> None:
        super().__init__(
            [
                "导入结果与刚才预览的不一致（预览之后单位名单或已导入的单位有了变化），"
                "未导入任何单位。请重新预览、核对后再确认导入。"
            ]
        )


@dataclass(frozen=True, slots=True)
class UnitRow:
    """One line of the file, mapped: what the organiser is shown before it is saved."""

    line: int
    typed: str  # the name as the file writes it
    # What is saved: under the notice's listed name it stands for (江北科委 → 江北区), else as
    # typed; an existing unit's name when it is the same unit.
    unit: Unit
    matched: str  # the notice's place or listed unit it stands for ("江北区", "河北省"), or ""
    rule: QuotaRule
    places: str  # the places of its tier in words: "作品 3—5 部", "作品不超过 5+1=6 部"
    updates: str = ""  # the name of the imported unit it replaces, if any

    def text(self) -> str:
        """The line of the preview: 第 2 行 重庆市江北区科学技术局 → 江北区 · district_core（…）·
        作品 3—5 部（新增）."""
        label = self.rule.label if len(self.rule.label) <= 24 else self.rule.label[:22] + "…"
        mapped = f" → {self.matched}" if self.matched and self.matched != self.typed else ""
        province = (
            f" · {self.unit.province}" if self.unit.province and self.unit.province != self.matched else ""
        )
        update = f"（更新已导入的“{self.updates}”）" if self.updates else "（新增）"
        return (
            f"第 {self.line} 行 {self.typed}{mapped}{province} · {self.unit.kind}（{label}）· "
            f"{self.places}{update}"
        )


@dataclass(frozen=True, slots=True)
class SkippedRow:
    """A line that cannot be mapped: not imported, shown with its reason and the listed names
    it was probably meant as, for the organiser to fix and import again."""

    line: int
    typed: str  # the name as the file writes it ("" when the cell is empty)
    reason: str  # "第 3 行：…"
    cells: tuple[str, ...]  # the line as the file has it, for the file of lines to fix
    suggestions: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        """第 3 行：“重庆市九龙波区科学技术局”不是通知所列的区县…；是否为“九龙坡区”？请核对、改正后再导入"""
        if not self.suggestions:
            return self.reason
        meant = "”或“".join(self.suggestions)
        return f"{self.reason}；是否为“{meant}”？请核对、改正后再导入"

    def text(self) -> str:
        """The line of the preview: the message, marked as not imported."""
        return f"✗ {self.message}（未导入）"


@dataclass(frozen=True, slots=True)
class UnitsPreview:
    """The whole file mapped, nothing saved yet: the lines to import and the lines skipped."""

    rows: tuple[UnitRow, ...]
    notes: tuple[str, ...] = ()
    skipped: tuple[SkippedRow, ...] = ()
    header: tuple[str, ...] = ()  # the file's header row, for the file of lines to fix

    @property
    def units(self) -> list[Unit]:
        return [r.unit for r in self.rows]

    @property
    def errors(self) -> list[str]:
        """Why each skipped line is skipped, with the names it was probably meant as."""
        return [s.message for s in self.skipped]

    @property
    def digest(self) -> str:
        """What the preview shows and an import saves, as one hex string: carried by the
        confirmation, so that what is saved (and what is skipped) is what was shown."""
        shown = [
            [r.line, r.typed, r.unit.name, r.unit.kind, r.unit.province, r.matched, r.places, r.updates]
            for r in self.rows
        ]
        left = [[s.line, s.typed, s.reason, list(s.suggestions)] for s in self.skipped]
        contest = self.rows[0].unit.contest_id if self.rows else ""
        text = json.dumps([contest, shown, list(self.notes), *([left] if left else [])])
        return hashlib.sha256(text.encode()).hexdigest()

    def lines(self) -> list[str]:
        """The preview as the organiser reads it: one line per line of the file, in its order
        (the skipped ones marked ✗ with their reason), then the notes."""
        added = sum(1 for r in self.rows if not r.updates)
        head = f"共 {len(self.rows)} 个单位：新增 {added} 个，更新 {len(self.rows) - added} 个。"
        if self.skipped:
            total, kept, left = len(self.rows) + len(self.skipped), len(self.rows), len(self.skipped)
            head = (
                f"共 {total} 行：将导入 {kept} 个单位（新增 {added} 个，更新 {kept - added} 个），"
                f"跳过 {left} 行（标 ✗，未能对应，不导入）。"
            )
        shown = sorted([(r.line, r.text()) for r in self.rows] + [(s.line, s.text()) for s in self.skipped])
        return [head, *(text for _, text in shown), *(f"注意：{n}" for n in self.notes)]

    def to_fix(self) -> str:
        """The skipped lines as a CSV file to fix and import again (:func:`lines_to_fix`)."""
        return lines_to_fix(self.header, self.skipped)


def lines_to_fix(header: Sequence[str], skipped: Sequence[SkippedRow]) -> str:
    """Skipped lines as a CSV file: the file's header, then each line as it was, with why it
    was skipped and the names suggested in columns an import ignores.  Fixed, it is imported
    again."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    width = max([len(header), *(len(s.cells) for s in skipped)])
    writer.writerow([*header, *[""] * (width - len(header)), "未导入原因", "建议改为"])
    for s in skipped:
        writer.writerow([*s.cells, *[""] * (width - len(s.cells)), s.reason, "、".join(s.suggestions)])
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What an import did: units added and updated, notes on lines taken with a change, and
    the lines skipped (shown in the preview the organiser confirmed), to fix."""

    added: int
    updated: int
    notes: tuple[str, ...] = ()
    rows: tuple[UnitRow, ...] = ()
    skipped: tuple[SkippedRow, ...] = ()
    header: tuple[str, ...] = ()

    def to_fix(self) -> str:
        """The skipped lines as a CSV file to fix and import again (:func:`lines_to_fix`)."""
        return lines_to_fix(self.header, self.skipped)


_HEADER = {
    "name": "name", "名称": "name", "单位名称": "name", "单位": "name",
    "kind": "kind", "类别": "kind", "类型": "kind", "名额类别": "kind",
    "province": "province", "省份": "province", "所在省份": "province", "省": "province",
}  # fmt: skip


# A file without a header row: its columns in the README's order, name[,kind,province]; the
# lines left to fix are written under this header.
_BARE_COLUMNS = ("name", "kind", "province")
_BARE_HEADER = ("名称", "类别", "省份")


def _decode(data: bytes) -> str:
    # Excel saves UTF-8 with a BOM; WPS and Excel on Chinese Windows save GB18030 ("ANSI").
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            raise UnitsImportError(["文件既不是 UTF-8 也不是 GBK 编码，请另存为 CSV UTF-8"]) from None


def parse_units_csv(
    data: bytes | str, contest: Contest, existing: Sequence[Unit] = ()
) -> tuple[list[Unit], list[str]]:
    """Units from CSV ``name,kind,province`` (a header row, or none), mapped onto the contest's
    quota kinds, all or nothing.  Returns the units and notes; raises :class:`UnitsImportError`
    naming every line that cannot be mapped."""
    preview = read_units(data, contest, existing)
    if preview.skipped:
        raise UnitsImportError(preview.errors)
    return preview.units, list(preview.notes)


@dataclass(frozen=True, slots=True)
class _Kinds:
    """The contest's importable quota rules, and where each takes its names from."""

    rules: dict[str, QuotaRule]
    routes: dict[str, EntryRoute]
    options: dict[str, tuple[str, ...]]  # kind -> the 区县 its channel's entries name (cq)

    @classmethod
    def of(cls, contest: Contest) -> _Kinds:
        rules: dict[str, QuotaRule] = {}
        routes: dict[str, EntryRoute] = {}
        options: dict[str, tuple[str, ...]] = {}
        for channel in contest.channels:
            fld = selection_field(contest, channel)
            for rule in channel.quota:
                if rule.kind == "self":
                    continue
                rules.setdefault(rule.kind, rule)
                routes.setdefault(rule.kind, channel)
                if fld is not None and fld.options:
                    options[rule.kind] = tuple(fld.options)
        return cls(rules, routes, options)

    def named(self, text: str) -> str | None:
        """The kind a 类别 cell names: its id, or its label or a part of it (单位会员)."""
        if text in self.rules:
            return text
        key = expand(text)
        if not key:
            return None
        found = [k for k, r in self.rules.items() if expand(r.label) == key]
        found = found or [k for k, r in self.rules.items() if len(key) >= 2 and key in expand(r.label)]
        return found[0] if len(found) == 1 else None

    def listed(self, name: str) -> list[tuple[str, str]]:
        """(kind, place) of the notice's lists that ``name`` stands for: the rule that names it
        (cq's 12 districts), else the channel's 区县 under the rule that names no unit."""
        found: list[tuple[str, str]] = []
        for kind, rule in self.rules.items():
            if rule.units and (m := place_of_unit(name, rule.units)):
                found.append((kind, m))
        if found:
            return found
        for kind, opts in self.options.items():
            if not self.rules[kind].units and (m := place_of_unit(name, opts)):
                found.append((kind, m))
        return found

    def placed(self, name: str, province: str) -> list[tuple[str, str]]:
        """(kind, place) of the rules that name a level of place (省 / 副省级城市 / 兵团) that
        ``name`` (or its province column) is of."""
        level, place = _level(name, province)
        return [(k, place) for k, r in self.rules.items() if level and level in r.places]

    def hint(self) -> str:
        return "、".join(f"{k}（{r.label}）" for k, r in self.rules.items()) or "（无）"

    def unlisted(self, name: str) -> str:
        """For a name that maps to no tier: the tiers the notice defines without naming their
        units or places (most-cas's 全国科普工作联席会议成员单位), and how to write ``name`` as
        one of them; "" unless there is exactly one.  Membership is the organiser's to say:
        never read into a name."""
        tiers = [(k, r) for k, r in self.rules.items() if not (r.units or r.places or k in self.options)]
        if len(tiers) != 1:
            return ""
        ((k, r),) = tiers
        return f"；通知没有列出“{r.label}”的名单，“{name}”若是其中之一，请写“{name},{k}”或“{name},{r.label}”"

    def suggest(self, name: str) -> tuple[str, ...]:
        """The notice's names (listed units, 区县, provinces or 副省级城市 where a rule takes
        them) that ``name``, mapped to none, was probably meant as."""
        names = [u for r in self.rules.values() for u in r.units]
        names += [o for opts in self.options.values() for o in opts]
        levels = {level for r in self.rules.values() for level in r.places}
        names += [*PROVINCES] if "province" in levels else []
        names += [*SUB_PROVINCIAL_CITIES] if "sub_provincial" in levels else []
        return tuple(closest(name, dict.fromkeys(names)))


# A lower place after the province (海淀区, 深圳市, 某县): the unit is not the province's own.
_LOWER_PLACE = ("市", "区", "县", "州", "盟", "旗")


def notice_provinces(contest: Contest) -> tuple[str, ...]:
    """The provinces a unit may be of: the options of the notice's own 所在省份 field, else
    the 34 provincial-level divisions and the 兵团."""
    for form in contest.forms:
        for fld in form.fields:
            if fld.role == "province" and fld.options:
                return tuple(fld.options)
    return (*PROVINCES, XPCC)


def _province_cell(line: int, name: str, cell: str, provinces: Sequence[str]) -> str | tuple[str]:
    """The province a 省份 cell names, spelled out (河北 → 河北省), as a one-tuple; or why the
    line is refused: not a province's name, or not one of the notice's."""
    if not cell:
        return ("",)
    full, rest = split_province(cell)
    if not full and is_xpcc(cell):
        full, rest = XPCC, ""
    if not full or rest:
        return f"第 {line} 行：“{name}”的省份列“{cell}”不是省、自治区、直辖市的名称，请核对后再导入"
    if full not in provinces:
        return f"第 {line} 行：“{name}”的省份列“{cell}”不在本赛事通知所列的省份之中，请核对后再导入"
    return (full,)


def _level(name: str, province: str) -> tuple[str, str]:
    """("province" | "sub_provincial" | "xpcc", the place) a unit's name stands for, or ("", "")."""
    if is_xpcc(name):
        return "xpcc", "新疆生产建设兵团"
    city = city_of(name)
    if city:
        return "sub_provincial", city
    own, _ = split_province(name)
    if own:
        _, rest = split_province(office_core(name))
        if not any(mark in rest for mark in _LOWER_PLACE):
            return "province", own
        return "", ""
    if not province:
        return "", ""
    return ("province", province) if province in PROVINCES else ("", "")


def _places_text(rule: QuotaRule, unit: Unit) -> str:
    """The places of ``unit``'s tier in words, with the bonus the notice grants it."""
    limit = limit_for(rule, unit, "work")
    parts: list[str] = []
    if limit is None:
        parts.append("作品数量不限")
    elif rule.min_works is not None:
        parts.append(f"作品 {rule.min_works}—{limit} 部")
    elif rule.max_works is not None and limit > rule.max_works:
        parts.append(
            f"作品不超过 {rule.max_works}+{limit - rule.max_works}={limit} 部（通知所列增加名额的地区）"
        )
    else:
        parts.append(f"作品不超过 {limit} 部")
    if rule.max_accounts is not None:
        parts.append(f"科普号不超过 {rule.max_accounts} 个")
    return "，".join(parts)


def read_units(data: bytes | str, contest: Contest, existing: Sequence[Unit] = ()) -> UnitsPreview:
    """Map every line of a units file onto the notice's lists and tiers, saving nothing.

    ``existing``: the units already imported, so that "江北区科技局" updates an imported
    "江北区" instead of becoming a second unit for one district.  A line that cannot be mapped
    is skipped with its reason (:attr:`UnitsPreview.skipped`).  The header row may be left
    out: a first row with none of the header's words (name, 名称, …) is a unit, and the
    columns are then name[,kind,province].  A file that cannot be read at all (a header with
    no name column, not UTF-8 or GBK, empty) raises :class:`UnitsImportError`."""
    text = _decode(data) if isinstance(data, bytes) else data.removeprefix("\ufeff")
    kinds = _Kinds.of(contest)
    provinces = notice_provinces(contest)
    skipped: list[SkippedRow] = []
    notes: list[str] = []
    rows: list[UnitRow] = []
    seen: dict[str, int] = {}
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    # Rows copied out of a spreadsheet arrive separated by tabs.
    reader = csv.reader(io.StringIO(text), delimiter="\t" if "\t" in first and "," not in first else ",")
    columns: list[str] | None = None
    header: tuple[str, ...] = ()
    bare = False  # no header row: the columns are name[,kind,province]

    def skip(line: int, name: str, row: list[str], reason: str, suggest: bool = False) -> None:
        meant = kinds.suggest(name) if suggest and name else ()
        skipped.append(SkippedRow(line, name, reason, tuple(row), meant))

    for row in reader:
        line = reader.line_num
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if columns is None:
            named = [_HEADER.get(c.casefold(), "") for c in cells]
            if "name" not in named and not all(n for n, c in zip(named, cells, strict=True) if c):
                # No header row ("河北省科学技术厅,province,河北省"): the first unit, its
                # columns name[,kind,province].
                header, columns, bare = _BARE_HEADER, list(_BARE_COLUMNS), True
            elif "name" not in named:
                got = ",".join(row)
                raise UnitsImportError(
                    [
                        f"第 {line} 行的表头没有名称列：应为 name,kind,province"
                        f"（或 名称,类别,省份），实为：{got}"
                    ]
                )
            else:
                header, columns = tuple(cells), named
                continue
        rec = dict(zip(columns, cells, strict=False))
        name = rec.get("name", "")
        if len(cells) > len(columns) and any(cells[len(columns) :]):
            extra = len(cells) - len(columns)
            has = "只有 名称,类别,省份 三列" if bare else f"表头只有 {len(columns)} 列"
            skip(line, name, row, f"第 {line} 行：多出 {extra} 列（{has}）")
            continue
        typed_kind, province = rec.get("kind", ""), rec.get("province", "")
        if not name:
            skip(line, name, row, f"第 {line} 行：单位名称为空")
            continue
        if len(name) > 100:
            skip(line, name, row, f"第 {line} 行：单位名称超过 100 字")
            continue
        cell = _province_cell(line, name, province, provinces)
        if isinstance(cell, str):
            skip(line, name, row, cell)
            continue
        (province,) = cell
        mapped = _map_line(line, name, typed_kind, province, kinds, notes)
        if isinstance(mapped, str):
            skip(line, name, row, mapped, suggest=True)
            continue
        kind, matched, province = mapped
        rule = kinds.rules[kind]
        keys = [expand(name)] + ([f"{kind}|{matched}"] if matched else [])
        twice = next((seen[k] for k in keys if k in seen), None)
        if twice is not None:
            skip(line, name, row, f"第 {line} 行：“{name}”与第 {twice} 行重复")
            continue
        seen.update(dict.fromkeys(keys, line))
        same = _same_unit(existing, name, kind, matched, kinds)
        # Saved under the name the notice lists (万州科委 → 万州区), so that it is found, shown
        # and invited by that name; a unit of no list (a province's office) as written.
        listed = matched if matched and (kind, matched) in kinds.listed(name) else ""
        unit = Unit(contest.id, same.name if same else listed or name, kind, province)
        updates = same.name if same else ""
        if same is not None and same.key != normalise_name(listed or name):
            notes.append(f"第 {line} 行：“{name}”与已导入的“{same.name}”是同一单位，按已导入的名称更新")
        rows.append(UnitRow(line, name, unit, matched, rule, _places_text(rule, unit), updates))
    if columns is None:
        raise UnitsImportError(["文件是空的：应每行一个单位，名称[,类别,省份]"])
    return UnitsPreview(tuple(rows), tuple(notes), tuple(skipped), header)


def _map_line(
    line: int, name: str, typed_kind: str, province: str, kinds: _Kinds, notes: list[str]
) -> tuple[str, str, str] | str:
    """(kind, matched place, province) of one line, or the reason it cannot be mapped."""
    at = f"第 {line} 行："
    if typed_kind == "self" or typed_kind in {"自荐", "个人"}:
        return f"{at}“{name}”的类别 {typed_kind} 指自荐者本人，不需要导入"
    kind = kinds.named(typed_kind) if typed_kind else None
    if typed_kind and kind is None:
        known = "、".join(kinds.rules) or "（无）"
        return f"{at}“{name}”的类别“{typed_kind}”不是本赛事的名额类别（可用：{known}）"
    listed = kinds.listed(name)
    placed = kinds.placed(name, province)
    level, place = _level(name, "")
    named_province = province_in(name) if level != "xpcc" else ""
    if level == "sub_provincial":
        named_province = SUB_PROVINCIAL_CITIES[place]
    if province and named_province and named_province != province and province in PROVINCES:
        return f"{at}“{name}”的省份列是“{province}”，名称却是{named_province}的单位：请核对后再导入"
    province = province or named_province
    if kind is None:
        found = listed or placed
        if not found and len(kinds.rules) == 1:
            found = [(next(iter(kinds.rules)), "")]
        if not found and kinds.options and len(kinds.options) == len(kinds.rules):
            sample = "、".join(next(iter(kinds.options.values()))[:3])
            return f"{at}“{name}”不是通知所列的区县（如 {sample}），请写区县名称"
        if len({k for k, _ in found}) != 1:
            # A name of no place (中国科协) may be of a tier the notice names no member of.
            unlisted = kinds.unlisted(name) if not level and not named_province else ""
            return f"{at}看不出“{name}”属于哪一类名额，请在类别列填写：{kinds.hint()}{unlisted}"
        kind, matched = found[0]
        return kind, matched, province
    rule = kinds.rules[kind]
    if listed:
        listed_kind, matched = listed[0]
        if listed_kind != kind:
            notes.append(f"第 {line} 行：“{name}”在通知名单中，类别按通知改为 {listed_kind}")
        return listed_kind, matched, province
    if rule.units:
        others = [k for k, r in kinds.rules.items() if not r.units and k != kind]
        hint = f"；其他单位请用 {'、'.join(others)}" if others else ""
        return f"{at}“{name}”不在通知列出的 {kind} 名单中{hint}"
    if kind in kinds.options:
        sample = "、".join(kinds.options[kind][:3])
        return f"{at}“{name}”不是通知所列的{kinds.routes[kind].label}单位（如 {sample}），请写区县名称"
    if rule.places:
        mine = [m for k, m in placed if k == kind]
        if mine:
            return kind, mine[0], province
        other = next((k for k, _ in placed), None)
        if other is not None:
            return f"{at}“{name}”是{kinds.rules[other].label}，类别应为 {other}，不是 {kind}"
        return (
            f"{at}看不出“{name}”是哪个{rule.label}：请把名称写全（如“河北省科学技术厅”），"
            "或在省份列填写所在省份"
        )
    return kind, "", province


def _same_unit(existing: Sequence[Unit], name: str, kind: str, matched: str, kinds: _Kinds) -> Unit | None:
    """The imported unit that ``name`` is another name of (same spelled-out name, or the same
    listed place of the same kind)."""
    key = expand(name)
    for unit in existing:
        if expand(unit.name) == key:
            return unit
        if matched and unit.kind == kind and matched in {m for _, m in kinds.listed(unit.name)}:
            return unit
    return None
