"""The audit log: who viewed, downloaded, exported or decided what, when and from where.

Entries are only ever appended (:class:`~contests.ports.AuditLog` has no update or delete);
organisers read and export them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """One recorded act.  ``seq`` is given by the store (0 until appended); ``at`` must be
    timezone-aware and is kept in UTC."""

    seq: int = 0
    at: dt.datetime
    actor: str  # "telegram:1001", "cli:root"
    role: str  # "organiser", "member", "entrant", "system"
    action: str  # a short dotted verb: "submission.view", "export.contest", "console.login"
    contest_id: str
    target: str = ""  # a submission number, a unit …; "" when none
    detail: dict[str, Any] = field(default_factory=dict)  # small and JSON-able
    source: str  # the client's IP address, or "chat" / "cli"

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError(f"naive datetime {self.at!r}: an audit entry needs a timezone-aware time")
        if self.seq < 0:
            raise ValueError(f"seq {self.seq} < 0")
        object.__setattr__(self, "at", self.at.astimezone(dt.UTC))
        object.__setattr__(self, "detail", dict(self.detail))  # the caller's dict may change later

    def with_seq(self, seq: int) -> AuditEntry:
        return dataclasses.replace(self, seq=seq)

    def to_json(self) -> str:
        """One line of JSON (Chinese text kept readable), e.g. for an export."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["at"] = self.at.isoformat(timespec="microseconds")
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> AuditEntry:
        data = json.loads(text)
        data["at"] = dt.datetime.fromisoformat(data["at"])
        return cls(**data)
