"""The delivery report of a job, for the organiser: sent (and how), failed and why, skipped
and why, still waiting."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contests.deliveries import Delivery, DeliveryState, Job, JobKind, JobState
from handlers.remind.texts import REASONS, STATE_LABELS, VIA, audience_label, beijing

__all__ = ["DeliveryReport"]


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What became of a job's deliveries, for the organiser."""

    job: Job
    counts: dict[str, int]
    problems: tuple[Delivery, ...]  # failed and skipped, in recipient order

    def _by(self, state: str) -> dict[str, int]:
        head = state + ":"
        return {k[len(head) :]: v for k, v in sorted(self.counts.items()) if k.startswith(head)}

    @property
    def sent_by(self) -> dict[str, int]:
        return self._by("sent")

    @property
    def failed_by(self) -> dict[str, int]:
        return self._by("failed")

    @property
    def skipped_by(self) -> dict[str, int]:
        return self._by("skipped")

    @property
    def sent(self) -> int:
        return sum(self.sent_by.values())

    @property
    def failed(self) -> int:
        return sum(self.failed_by.values())

    @property
    def skipped(self) -> int:
        return sum(self.skipped_by.values())

    @property
    def waiting(self) -> int:
        return sum(self.counts.get(s, 0) for s in ("pending", "claimed", "sending"))

    def to_json(self) -> dict[str, Any]:
        j = self.job
        return {
            "job": j.id,
            "kind": j.kind.value,
            "contest": j.contest_id,
            "audience": j.audience,
            "state": j.state.value,
            "at": j.at.isoformat(),
            "started_at": j.started_at.isoformat() if j.started_at else None,
            "finished_at": j.finished_at.isoformat() if j.finished_at else None,
            "total": j.total,
            "sent": self.sent,
            "failed": self.failed,
            "skipped": self.skipped,
            "waiting": self.waiting,
            "sent_by": self.sent_by,
            "failed_by": self.failed_by,
            "skipped_by": self.skipped_by,
            "problems": [
                {"user": str(d.user), "state": d.state.value, "reason": d.reason, "detail": d.detail}
                for d in self.problems
            ],
        }

    def text(self, *, listed: int = 10) -> str:
        """The report in Chinese; up to ``listed`` failed or skipped recipients by name."""
        j = self.job
        what = {JobKind.REMINDER: "截止提醒", JobKind.NOTICE: "投稿状态通知"}.get(j.kind, "广播")
        lines = [f"【{what} {j.id}】{audience_label(j.audience)}，共 {j.total} 人"]
        state = STATE_LABELS[j.state]
        if j.started_at:
            state += f"（{beijing(j.started_at)} 开始"
            state += f"，{beijing(j.finished_at)} 结束）" if j.finished_at else "）"
        elif j.state in (JobState.HELD, JobState.SCHEDULED):
            state += f"（{beijing(j.at)} 发送）"
        lines.append("状态：" + state)
        lines.append(f"已送达 {self.sent}" + _breakdown(self.sent_by, VIA))
        lines.append(f"失败 {self.failed}" + _breakdown(self.failed_by, REASONS))
        lines.append(f"跳过 {self.skipped}" + _breakdown(self.skipped_by, REASONS))
        if self.waiting:
            lines.append(f"等待发送 {self.waiting}")
        for d in self.problems[:listed]:
            word = "失败" if d.state is DeliveryState.FAILED else "跳过"
            detail = f"（{d.detail}）" if d.detail else ""
            lines.append(f"· {d.user} {word}：{REASONS.get(d.reason, d.reason)}{detail}")
        if len(self.problems) > listed:
            lines.append(
                f"……另有 {len(self.problems) - listed} 人，完整名单：python -m bot broadcast --report {j.id}"
            )
        return "\n".join(lines)


def _breakdown(counts: Mapping[str, int], words: Mapping[str, str]) -> str:
    if not counts:
        return ""
    return "：" + "；".join(f"{words.get(k, k or '其他')} {v}" for k, v in counts.items())
