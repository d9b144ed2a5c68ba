"""aiohttp's access log without the secrets that travel in URLs.

An upload link (``/upload/<token>``), a form download link (``/wechat/files/<token>``), a
web chat document (``/chat/api/doc/<id>``) and a console sign-in link (``/console/login/<token>``)
are capabilities: whoever reads the log could use
them.  WeChat's pushes carry the user's openid, the signature and the nonce in the query.  So
the log keeps the route, the status and the timing, and drops the token and the query.
"""

from __future__ import annotations

import logging
import re

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

__all__ = ["RedactingAccessLogger", "redact_path"]

# The first path segment after these prefixes is a bearer token.
_CAPABILITY = re.compile(r"^(/upload/|/wechat/files/|/chat/api/doc/|/console/login/)[^/]+")


def redact_path(path: str) -> str:
    """``/upload/abc.def/chunk?x=1`` → ``/upload/…/chunk``: no token, no query."""
    path = path.split("?", 1)[0]
    return _CAPABILITY.sub(r"\1…", path)


class RedactingAccessLogger(AbstractAccessLogger):
    """``remote "METHOD path" status bytes time`` with :func:`redact_path` applied; pass as
    ``access_log_class`` to ``web.run_app``."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        if not self.logger.isEnabledFor(logging.INFO):
            return
        self.logger.info(
            '%s "%s %s" %s %s %.3fs',
            request.remote or "-",
            request.method,
            redact_path(request.raw_path),
            response.status,
            response.body_length,
            time,
        )
