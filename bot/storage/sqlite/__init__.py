"""The embedded backend: SQLite files in the data directory, for one worker process.

Drafts, submissions, the organisation, the delivery jobs, the audit log and the videos'
fingerprints share ``kepu.sqlite3`` (each in its own tables); the helpdesk's tickets live in
``helpdesk.sqlite3``.
"""

from __future__ import annotations

from pathlib import Path

from bot.storage.memory_lock import LocalIsolation
from bot.storage.sqlite.audit import SqliteAuditLog
from bot.storage.sqlite.drafts import SqliteStorage
from bot.storage.sqlite.fingerprints import SqliteFingerprintStore
from bot.storage.sqlite.jobs import SqliteJobStore
from bot.storage.sqlite.org import SqliteOrgStore
from bot.storage.sqlite.tickets import HELPDESK_SQLITE_FILENAME, SqliteTicketStore
from contests.ports import (
    AuditLog,
    EventIsolation,
    FingerprintStore,
    JobStore,
    OrgStore,
    Storage,
    TicketStore,
)

#: Name of the SQLite database inside the data directory.
SQLITE_FILENAME = "kepu.sqlite3"


class SqliteBackend:
    """:class:`~bot.storage.base.Backend` on the files of ``data_dir``."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / SQLITE_FILENAME
        self.tickets_path = Path(data_dir) / HELPDESK_SQLITE_FILENAME

    async def open_storage(self) -> tuple[Storage, EventIsolation]:
        return await SqliteStorage.open(self.path), LocalIsolation()

    async def open_org(self) -> OrgStore:
        return await SqliteOrgStore.open(self.path)

    async def open_jobs(self) -> JobStore:
        return await SqliteJobStore.open(self.path)

    async def open_tickets(self) -> TicketStore:
        return await SqliteTicketStore.open(self.tickets_path)

    async def open_audit(self) -> AuditLog:
        return await SqliteAuditLog.open(self.path)

    async def open_fingerprints(self) -> FingerprintStore:
        return await SqliteFingerprintStore.open(self.path)
