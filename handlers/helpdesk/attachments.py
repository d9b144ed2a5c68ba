"""Which attachment a form is ("自荐表是附件几来着", "推荐表是哪个附件"), said plainly.

Entrants download the notice's attachments by number and lose track of which is which; the search
would answer with some fact of the form that happens to name its 附件 in passing, or with the scans'
upload limit (上传…附件).  The numbers are the preset's own (``Form.attachment``).
"""

from __future__ import annotations

import re

from contests.rules import Contest, Form
from handlers.helpdesk.analyzer import ASKS
from handlers.helpdesk.foreign import FORM_NAMES

#: Asking an attachment's number: 附件几, 哪个附件, 第几个附件, 附件号.
ASKS_NUMBER = re.compile(r"附件\s*(?:几|多少|哪个|第几)|(?:哪个|哪一个|第几个?)附件|附件(?:号|编号|序号)")
#: 附件 as a file uploaded or sent ("推荐表扫描件上传到哪个附件里", "邮件附件放哪个表"): a slot of
#: the upload page or of a mail, not the notice's numbered attachment.
#: Asking which form to fill or use ("个人自荐要填附件几", "推荐用哪个附件"), which a route's name
#: answers; not a rule's own attachment ("推荐要求是附件几").
_FILLS = re.compile(r"填|用")
_UPLOADED = re.compile(r"上传|传到|传哪|放到|放在|放进|添加|邮件|发送|扫描件|位置")


def _names(contest: Contest, form: Form) -> tuple[str, str]:
    """A form's own name ("区县推荐表", "科普号申报表": the title after its contest's) and its kind
    ("推荐表")."""
    kind = next((n for n in FORM_NAMES if form.title.endswith(n)), "")
    own = re.split(r"作品|活动|大赛", form.title)[-1] or kind
    return own, kind


def form_attachment(contest: Contest, text: str) -> tuple[str, str] | None:
    """The reply to a question asking which attachment a form is, and the id of the form it is
    about; None for any other question or where the question names no form of ``contest``."""
    if not ASKS_NUMBER.search(text) or _UPLOADED.search(text):
        return None
    # A second question ("推荐表在附件几，要盖章吗"): the search's fact of the form says its number too.
    if any(ASKS.search(p) and not ASKS_NUMBER.search(p) for p in re.split(r"[，,；;]", text)):
        return None
    forms = [f for f in contest.forms if f.attachment]
    named = [f for f in forms if _names(contest, f)[0] in text]
    if not named:
        named = [f for f in forms if (kind := _names(contest, f)[1]) and kind in text]
    if not named and _FILLS.search(text):
        # The route named, the form asked ("个人自荐要填附件几": the 自荐表), not its quota
        named = [f for f in forms if (kind := _names(contest, f)[1]) and kind.removesuffix("表") in text]
    if not named:
        return None
    said = "\n".join(f"《{f.title}》是{f.attachment}。\n（依据：通知 {f.attachment}）" for f in named)
    return said, f"fact:forms.{named[0].id}"
