"""What an answer just given tells the entrant beyond the dialog's own reply.

Two things, each said once, when the answer is given (at its field, or changed from the review
page), and never a refusal: the answer is kept whatever is said.

* The recommending unit the entrant named (not being its member): its places now, and that the
  entry waits for its confirmation (:meth:`handlers.quota.service.QuotaService.unit_notice`).
* A 统一社会信用代码 that another entry of the contest gave for a unit of another name (cq's
  创作单位): one code is one unit's, so one of the two is likely mistyped.  Like the first
  author another work holds (:meth:`~handlers.quota.service.QuotaService.named_claim`), it is
  said to the entrant as soon as it is typed, not left for the organisers to find; and, as
  there, nothing of the other entry is named (its number, its unit or its entrant).
"""

from __future__ import annotations

from typing import Any

from contests.names import same_name
from contests.ports import Storage
from contests.records import UserKey
from contests.review import ReviewState, state_of
from contests.rules import FieldType, Form
from dialogs.engine import DialogEngine
from dialogs.states import Step
from handlers.quota.service import QuotaService

__all__ = ["AnswerNotices"]


class AnswerNotices:
    """The notices of one event's answers (see the module's docstring)."""

    def __init__(self, engine: DialogEngine, storage: Storage, quota: QuotaService | None) -> None:
        self.engine = engine
        self.storage = storage
        self.quota = quota

    async def unit_places(self, user: UserKey, before: dict[str, Any], after: dict[str, Any]) -> str | None:
        """The places of the recommending unit this event named, if it named one."""
        named = self._unit_named(before, after)
        if not named or self.quota is None:
            return None
        channel = after.get("channel") or ""
        return await self.quota.unit_notice(user, after["contest"], channel, named)

    def _unit_named(self, before: dict[str, Any], after: dict[str, Any]) -> str:
        """The recommending unit this event answered, if it did (so its places can be shown)."""
        if before.get("step") != Step.FIELD or not after.get("contest"):
            return ""
        fld = self.engine.field(after, before.get("field"))
        if fld is None or fld.role != "unit":
            return ""
        value = (after.get("answers") or {}).get(fld.id)
        return str(value) if value and value != (before.get("answers") or {}).get(fld.id) else ""

    async def code_elsewhere(self, before: dict[str, Any], after: dict[str, Any]) -> str | None:
        """Said when the 统一社会信用代码 and unit this event answered (either one, the other given
        before) meet another live entry of the contest with the same code and a unit of another
        name; None otherwise."""
        if before.get("step") not in (Step.FIELD, Step.REVIEW) or not after.get("contest"):
            return None
        contest, form = self.engine.contest(after), self.engine.form(after)
        pair = _code_and_unit(form, after.get("answers") or {}) if form is not None else None
        if contest is None or form is None or pair is None:
            return None
        if pair == _code_and_unit(form, before.get("answers") or {}):
            return None  # neither was answered by this event
        code, unit = pair
        for sub in await self.storage.list_submissions(contest_id=contest.id):
            if sub.number == after.get("amend") or state_of(sub) is ReviewState.WITHDRAWN:
                continue
            try:
                theirs = _code_and_unit(contest.form(sub.form_id), sub.answers)
            except KeyError:  # a form the preset no longer has
                continue
            if theirs is not None and theirs[0] == code and not same_name(theirs[1], unit):
                labels = {
                    "code_label": next(f.label for f in form.fields if f.type is FieldType.USCC),
                    "unit_label": next(f.label for f in form.fields if f.role == "unit"),
                }
                return self.engine.msg.render("code_of_another_unit", code=code, unit=unit, **labels)
        return None


def _code_and_unit(form: Form, answers: dict[str, Any]) -> tuple[str, str] | None:
    """The form's 统一社会信用代码 and unit as answered (both), else None."""
    code = next((answers.get(f.id) for f in form.fields if f.type is FieldType.USCC), None)
    unit = next((answers.get(f.id) for f in form.fields if f.role == "unit"), None)
    if isinstance(code, str) and code and isinstance(unit, str) and unit.strip():
        return code, unit.strip()
    return None
