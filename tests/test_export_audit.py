"""Every export is in the audit log (README: "Every view of personal data, download, export,
decision and sign-in goes to the audit log"): the operator's ``python -m bot export`` and a
unit member's or an organiser's 导出 in the chat, each with who, which contest and unit, the
format and how many rows."""

from __future__ import annotations

import asyncio
import getpass
from pathlib import Path

from bot.services import services
from bot.settings import Settings
from contests.audit import AuditEntry
from contests.events import EventKind, Incoming
from contests.org import Role, Unit
from contests.records import UserKey
from handlers.quota.service import QuotaService
from tests.cli_runner import run_bot
from tests.conftest import Clock, beijing
from tests.test_quota import TECH, World, make_request

MEMBER = UserKey("telegram", "alice")  # 河北 member
BOSS = UserKey("terminal", "boss")  # organiser
UNIT = "河北省科学技术厅"


async def _chat_exports(data_dir: Path) -> list[str]:
    """Two works of the unit and one of nobody's; the member and the organiser send 导出."""
    async with services(Settings(data_dir=data_dir)) as svc:
        contests, storage, org = svc.contests, svc.storage, svc.stores.org
        clock = Clock(beijing(2023, 6, 1))
        w = World(contests, storage, org, clock, QuotaService(contests, storage, org, clock))
        await org.put_units(TECH, [Unit(TECH, UNIT, "province", "河北省")])
        await w.bind(MEMBER, TECH, Role.MEMBER, UNIT)
        await w.bind(BOSS, TECH, Role.ORGANISER)
        tech = w.contest(TECH)
        for _ in range(2):
            await w.accepted(MEMBER, make_request(tech, "recommend"))
        await w.accepted(UserKey("wechat", "bob"), make_request(tech, "self"))
        said = []
        for user, text in ((MEMBER, "导出"), (BOSS, "导出 csv")):
            [reply] = await svc.assistant.handle(Incoming(user, EventKind.TEXT, text=text))
            assert reply.document is not None, reply.text
            said.append(reply.document.filename)
        return said


async def _exports(data_dir: Path) -> list[AuditEntry]:
    async with services(Settings(data_dir=data_dir)) as svc:
        return await svc.stores.audit.list_entries(action_prefix="export.", newest_first=False)


def test_chat_and_command_line_exports_are_audited(tmp_path: Path) -> None:
    asyncio.run(_chat_exports(tmp_path))
    out = tmp_path / "hebei.csv"
    done = run_bot(
        ["export", "--contest", TECH, "--format", "csv", "--out", str(out), "--unit", UNIT],
        env={"BOT_DATA_DIR": str(tmp_path)},
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    member, boss, cli = asyncio.run(_exports(tmp_path))

    assert (member.actor, member.role, member.action, member.contest_id) == (
        str(MEMBER),
        "member",
        "export.xlsx",
        TECH,
    )
    assert member.target == UNIT and member.source == "chat"
    assert member.detail == {"format": "xlsx", "rows": 2, "unit": UNIT}

    assert (boss.actor, boss.role, boss.action, boss.target, boss.source) == (
        str(BOSS),
        "organiser",
        "export.csv",
        "",
        "chat",
    )
    assert boss.detail == {"format": "csv", "rows": 3}

    assert (cli.actor, cli.role, cli.action, cli.target, cli.source) == (
        f"cli:{getpass.getuser()}",
        "operator",
        "export.csv",
        UNIT,
        "cli",
    )
    assert cli.detail == {"format": "csv", "rows": 2, "unit": UNIT, "file": str(out)}


def test_a_refused_export_is_not_audited(tmp_path: Path) -> None:
    refused = run_bot(
        ["export", "--contest", TECH, "--format", "csv", "--out", "x.csv", "--unit", "甲"],
        env={"BOT_DATA_DIR": str(tmp_path)},
        cwd=tmp_path,
    )
    assert refused.returncode == 2
    assert asyncio.run(_exports(tmp_path)) == []
