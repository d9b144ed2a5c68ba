"""Whether a person may enter on their own, said plainly before the rule that decides it.

"个人能报吗" asked of a contest that only units enter (cq: 创作单位为在渝企业、本科院校、科研院所) is
answered by the notice's 参与对象 clause, which never says "no": the entrant must infer it.
"""

from __future__ import annotations

import re

from contests.rules import Contest

#: The asker is a person on their own ("我是自由职业者", "个人拍的", "没有单位").
AS_A_PERSON = re.compile(r"个人|自由职业|私人|没有单位|没单位|不属于任何单位")
#: …asking whether they may take part (not about the people filmed: "宣传主体个人").
MAY_ENTER = re.compile(r"报名|参赛|参加|报(?:吗|不|得|嘛|么|哦)|能报|可以报|投稿")


def plainly_barred(contest: Contest, entry_id: str, text: str) -> str:
    """The plain "no" for a person asking to enter a contest no 自荐 route is open to, else ""."""
    if entry_id != "fact:audience" or any(route.kind == "self" for route in contest.channels):
        return ""
    if not (AS_A_PERSON.search(text) and MAY_ENTER.search(text)):
        return ""
    who = next((route.submitter for route in contest.channels if route.submitter), "")
    return f"不能以个人名义报名：报名者须为{who}。" if who else "不能以个人名义报名。"
