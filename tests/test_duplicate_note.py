"""A duplicate video's note names the other work only to those who may see it (README: the
other work is not named to those who cannot see it): a unit's member reads 疑似重复 about
their unit's entry without another unit's number or title, on the console's page and in the
unit's export; the organisers still read both."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from contests.records import Submission, UserKey
from tests.test_console import CAS, MEMBER_B, ORGANISER, UNIT_B, Env, answers, sign_in, submit
from tests.test_console import env as env
from validators.content import ContentReport
from validators.fingerprint import Match


async def flag(env: Env, sub: Submission, *others: Submission) -> None:
    """``sub``'s video reported as the same picture as ``others``, as the content checks keep it
    (:mod:`handlers.content`: each other work named with its number and title)."""
    contest = env.svc.contests.get(CAS)
    assert contest is not None and contest.video is not None
    rule = contest.video.content.duplicates
    assert rule is not None  # most-cas: 重复推荐取消资格
    matches = [Match(f"{CAS}/{o.number}", 0.97) for o in others]
    names = {f"{CAS}/{o.number}": f"{o.number}《{o.answers['title']}》" for o in others}
    report = ContentReport(True, ()).with_duplicates(rule, matches, names)
    video: dict[str, Any] = {"kind": "file", "name": "作品.mp4", "checked": True, "verdict": "passed"}
    await env.svc.storage.update_submission(sub.number, video={**video, "content": report.to_dict()})


async def page(env: Env, number: str) -> str:
    response = await env.client.get(f"/console/s/{number}")
    assert response.status == 200
    return await response.text()


async def test_a_member_is_not_told_which_other_units_work_is_the_same(env: Env) -> None:
    # Unit B's second entry, which its member may see, and unit A's, which they may not.
    ours = await submit(
        env.svc, CAS, UserKey("telegram", "4004"), answers("山川", UNIT_B, "1"), awaiting_unit=UNIT_B
    )
    await flag(env, env.b, env.a, ours)

    await sign_in(env, MEMBER_B)
    assert (await env.client.get(f"/console/s/{env.a.number}")).status == 404  # not B's to see
    seen = await page(env, env.b.number)
    assert "疑似重复" in seen
    assert env.a.number not in seen and "星空的秘密" not in seen  # another unit's work
    assert "本届的另一件投稿" in seen
    assert f"{ours.number}《山川》" in seen  # a work the member may open stays named

    await sign_in(env, ORGANISER)
    seen = await page(env, env.b.number)
    assert f"{env.a.number}《星空的秘密》" in seen and f"{ours.number}《山川》" in seen


async def test_the_units_export_does_not_name_another_units_work(env: Env) -> None:
    await flag(env, env.b, env.a)
    for fmt in ("csv", "json"):
        document, _ = await env.svc.admin.export_counted(CAS, fmt, unit=UNIT_B)
        text = document.read().decode("utf-8-sig")
        assert env.b.number in text and "与已有投稿画面相同" in text, fmt
        assert env.a.number not in text and "星空的秘密" not in text, fmt
    rows = list(
        csv.reader(
            io.StringIO(
                (await env.svc.admin.export_counted(CAS, "csv", unit=UNIT_B))[0].read().decode("utf-8-sig")
            )
        )
    )
    assert any("与已有投稿画面相同：本届的另一件投稿" in cell for cell in rows[1])
    whole, _ = await env.svc.admin.export_counted(CAS, "json")
    flagged = next(s for s in json.loads(whole.read())["submissions"] if s["number"] == env.b.number)
    assert f"{env.a.number}《星空的秘密》" in json.dumps(flagged, ensure_ascii=False)  # the organisers'
